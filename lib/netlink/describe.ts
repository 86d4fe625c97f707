// Operations as one human-readable line each, tc style: what the CLI prints, the lab logs and
// errors name. Each kind's parameters come from its descriptor (kinds.ts).
import { CLASS_KINDS, FILTER_KINDS, LINK_KINDS, QDISC_KINDS, describeAction } from './kinds';
import { linkTarget } from './link/link';
import type { ChainState, ClassState, FilterState, Operation, QdiscState } from './types';

/** "add tbf qdisc on veth0 root": the operation and its object, without parameters. */
export function summarizeOperation(op: Operation): string {
  if ('qdisc' in op) {
    const q = op.qdisc as { kind?: string; dev: string | number; parent?: string | number };
    const hook = q.kind !== undefined && QDISC_KINDS.get(q.kind)?.hooks !== undefined;
    const where = hook ? '' : ` ${q.parent ?? 'root'}`;
    return `${op.op} ${q.kind ? `${q.kind} ` : ''}qdisc on ${q.dev}${where}`;
  }
  if ('filter' in op) {
    const f = op.filter;
    return `${op.op} ${f.kind ? `${f.kind} ` : ''}filter on ${f.dev} ${f.parent}${f.priority ? ` priority ${f.priority}` : ''}`;
  }
  if ('class' in op) {
    const c = op.class;
    const parent = c.parent !== undefined ? ` parent ${c.parent}` : '';
    return `${op.op} ${c.kind ? `${c.kind} ` : ''}class ${c.classid} on ${c.dev}${parent}`;
  }
  if ('chain' in op) {
    const c = op.chain;
    const template =
      'template' in op.chain && op.chain.template ? ` with a ${op.chain.template.kind} template` : '';
    return `${op.op} chain ${c.chain} on ${c.dev} ${c.parent}${template}`;
  }
  const target = linkTarget(op.link);
  return target === undefined
    ? `${op.op} links of group ${(op.link as { group: number }).group}`
    : `${op.op} link ${target}`;
}

/**
 * The operation with its parameters, e.g.
 * `replace tbf qdisc on cali0 root: rate 10Mbit burst 12500b limit 43750b`.
 */
export function describeOperation(op: Operation): string {
  const head = summarizeOperation(op);
  if ('class' in op) {
    if (op.op === 'delete') return head;
    const params = CLASS_KINDS.get(op.class.kind)?.describe(op.class as never) ?? '';
    return params ? `${head}: ${params}` : head;
  }
  if ('chain' in op) {
    const t = op.op === 'add' ? op.chain.template : undefined;
    const params = t ? (FILTER_KINDS.get(t.kind)?.describe(t as never) ?? '') : '';
    return params ? `${head}: ${params}` : head;
  }
  if ('link' in op) {
    if (op.op !== 'add') return head;
    const l = op.link;
    const params = LINK_KINDS.get(l.kind)?.describe(l as never) ?? '';
    return `add ${l.kind} link ${l.name}${params ? `: ${params}` : ''}`;
  }
  if ('qdisc' in op) {
    if (op.op === 'delete')
      return op.qdisc.handle !== undefined && !op.qdisc.kind ? `${head} (handle ${op.qdisc.handle})` : head;
    const params = QDISC_KINDS.get(op.qdisc.kind)?.describe(op.qdisc as never) ?? '';
    return params ? `${head}: ${params}` : head;
  }
  const protocol = op.filter.protocol !== undefined ? ` protocol ${op.filter.protocol}` : '';
  if (op.op === 'delete') return `${head}${protocol}`;
  const f = op.filter;
  const own = FILTER_KINDS.get(f.kind)?.describe(f as never) ?? '';
  const parts = [own, ...(f.actions ?? []).map(describeAction)].filter(Boolean);
  return `${head}${protocol}${parts.length ? `: ${parts.join(' | ')}` : ''}`;
}

/** A qdisc as read back, tc style: "netem 1: delay 50ms loss 10%" (its kind, handle, parameters). */
export function describeQdisc(q: Pick<QdiscState, 'kind' | 'handle'>): string {
  const params = QDISC_KINDS.get(q.kind)?.describe(q as never) ?? '';
  return `${q.kind} ${q.handle}${params ? ` ${params}` : ''}`;
}

/**
 * Any object read back, on one line: "netem qdisc 1: root: delay 50ms", "htb class 1:10 parent
 * 1:1: rate 5Mbit ceil 20Mbit", "flower filter ingress priority 1: ip_proto tcp | gact drop".
 */
export function describeObject(o: QdiscState | ClassState | FilterState | ChainState): string {
  const params = (text: string) => (text ? `: ${text}` : '');
  switch (o.type) {
    case 'qdisc':
      return `${o.kind} qdisc ${o.handle} ${o.parent}${params(QDISC_KINDS.get(o.kind)?.describe(o as never) ?? '')}`;
    case 'class':
      return `${o.kind} class ${o.classid} parent ${o.parent}${params(CLASS_KINDS.get(o.kind)?.describe(o as never) ?? '')}`;
    case 'chain': {
      const t = o.template;
      return `chain ${o.chain} ${o.parent}${t ? `: ${t.kind} template ${FILTER_KINDS.get(t.kind)?.describe(t as never) ?? ''}`.trimEnd() : ''}`;
    }
    default: {
      const own = FILTER_KINDS.get(o.kind)?.describe(o as never) ?? '';
      const parts = [own, ...(o.actions ?? []).map(describeAction)].filter(Boolean);
      const chain = o.chain ? ` chain ${o.chain}` : '';
      return `${o.kind} filter ${o.parent} priority ${o.priority}${chain}${params(parts.join(' | '))}`;
    }
  }
}

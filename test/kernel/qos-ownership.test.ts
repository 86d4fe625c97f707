// Ownership is kind + name + mark, never the name alone: a link that carries the name of the IFB
// netqos would create for a pod, but is not netqos's IFB, is never used, replaced or deleted, and
// an atomic batch never destroys an object its rollback could not put back.
import { spawnSync } from 'child_process';
import * as path from 'path';
import {
  applyQos,
  clearQos,
  ifbNameFor,
  isOwnIfb,
  openNetlink,
  QosConflictError,
  type LinkState,
} from '../../lib';
import { NETQOS_DOOMED_GROUP, NETQOS_IFB_GROUP } from '../../lib/qos/policy';
import { sh, tempNetns, type Netns } from '../helpers/netns';

const CLI = path.resolve(__dirname, '..', '..', 'dist/lib/cli/main.js');
const OUT = 'qos.projectcalico.org/egressBandwidth';
const IN = 'qos.projectcalico.org/ingressBandwidth';
const IFB = ifbNameFor('cali0');

/** What tc and ip show of the namespace: every qdisc, the hooks' filters, every link and its kind. */
function kernel(ns: Netns): unknown {
  return {
    qdiscs: ns
      .tcJson('qdisc', 'show')
      .map((q: any) => `${q.dev} ${q.kind} ${q.handle} ${q.root ? 'root' : q.parent}`)
      .sort(),
    filters: [ns.hookFilters('cali0'), ns.hookFilters(IFB)],
    links: JSON.parse(ns.ip('-j', '-d', 'link', 'show'))
      .map((l: any) => `${l.ifname} ${l.linkinfo?.info_kind ?? '-'} group ${l.group}`)
      .sort(),
  };
}

/** A namespace with the pod interface cali0 and, squatting its IFB's name, `squatter`. */
function squatted(squatter: 'veth' | 'ifb'): Netns {
  const ns = tempNetns('nqo').veth('cali0', 'eth0');
  if (squatter === 'veth') ns.veth(IFB, 'sq0');
  else {
    ns.ip('link', 'add', IFB, 'type', 'ifb');
    ns.ip('link', 'set', IFB, 'up');
  }
  sh('tc', ['-n', ns.name, 'qdisc', 'add', 'dev', IFB, 'root', 'handle', '1:', 'htb', 'default', '10']);
  return ns;
}

describe('a link squatting the IFB name', () => {
  test('CLI: egress bandwidth is a conflict (exit 3), nothing touched, the htb kept', () => {
    const ns = squatted('veth');
    const before = kernel(ns);
    const r = spawnSync(process.execPath, [CLI, 'apply', 'cali0', '--netns', ns.name, '-a', `${OUT}=10M`], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.stderr).toContain(`that name is taken by a veth link that is not netqos's`);
    expect(r.stderr).toContain(IFB);
    expect(r.status).toBe(3);
    expect(kernel(ns)).toEqual(before);
    expect(ns.tcJson('qdisc', 'show', 'dev', IFB)[0]).toMatchObject({ kind: 'htb', handle: '1:' });
    ns.remove();
  });

  test.each(['veth', 'ifb'] as const)(
    'library: a %s squatter is a QosConflictError; ingress-only QoS and clear leave it alone',
    async (squatter) => {
      const ns = squatted(squatter);
      const before = kernel(ns);
      const target = { ifname: 'cali0', netns: ns.name };
      const err = await applyQos([{ ...target, annotations: { [OUT]: '10M' } }]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(QosConflictError);
      expect(err).toMatchObject({ code: 'ERR_NETQOS_CONFLICT', ifname: 'cali0' });
      expect(kernel(ns)).toEqual(before);

      // To the pod needs no IFB: applied; the squatter stays as it was, through clear too.
      const r = await applyQos([{ ...target, annotations: { [IN]: '10M' } }]);
      expect(r.sent).toBe(1);
      expect(ns.tcJson('qdisc', 'show', 'dev', 'cali0')[0]).toMatchObject({ kind: 'tbf', handle: '4e51:' });
      await clearQos(target);
      expect(kernel(ns)).toEqual(before);
      ns.remove();
    },
  );

  test('isOwnIfb: kind ifb, a netqos IFB name and netqos group, all three', async () => {
    const ns = tempNetns('nqo').veth('cali0', 'eth0');
    await applyQos([{ ifname: 'cali0', netns: ns.name, annotations: { [OUT]: '10M' } }]);
    ns.veth('nqifb0123456789', 'sq1');
    ns.ip('link', 'add', 'nqifb0123456780', 'type', 'ifb');
    ns.ip('link', 'add', 'ifbplain0', 'type', 'ifb', 'group', String(NETQOS_IFB_GROUP));
    const nl = openNetlink({ netns: ns.name });
    const links = new Map((await nl.dump({ type: 'link' })).map((l) => [l.name, l]));
    nl.close();
    expect(isOwnIfb(links.get(IFB))).toBe(true);
    expect(isOwnIfb(links.get('nqifb0123456789'))).toBe(false); // a veth
    expect(isOwnIfb(links.get('nqifb0123456780'))).toBe(false); // group 0
    expect(isOwnIfb(links.get('ifbplain0'))).toBe(false); // not a netqos name
    expect(isOwnIfb({ ...(links.get(IFB) as LinkState), group: NETQOS_DOOMED_GROUP })).toBe(true);
    expect(isOwnIfb(undefined)).toBe(false);
    ns.remove();
  });
});

describe('atomic batches never destroy what they cannot restore', () => {
  test("replacing another tool's qdisc of a kind netqos cannot restore is refused before anything is sent", async () => {
    const ns = squatted('veth');
    // htb netqos restores; pfifo_head_drop (built into every kernel) it does not know.
    sh('tc', ['-n', ns.name, 'qdisc', 'del', 'dev', IFB, 'root']);
    sh('tc', ['-n', ns.name, 'qdisc', 'add', 'dev', IFB, 'root', 'handle', '1:', 'pfifo_head_drop']);
    const before = kernel(ns);
    const nl = openNetlink({ netns: ns.name });
    const err = await nl
      .apply(
        [
          { op: 'add', qdisc: { kind: 'clsact', dev: 'cali0' } },
          {
            op: 'replace',
            qdisc: {
              kind: 'tbf',
              dev: IFB,
              parent: 'root',
              handle: '4e51:',
              rate: 1e7,
              burst: 12500,
              limit: 40000,
            },
          },
        ],
        { atomic: true },
      )
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_NETQOS_INVALID_ARGUMENT' });
    expect((err as Error).message).toMatch(
      /ops\[1\]: replace would remove the root qdisc pfifo_head_drop 1: on nqifb/,
    );
    expect(() => nl.applySync([{ op: 'delete', link: { name: IFB } }], { atomic: true })).toThrow(
      /ops\[0\]: delete would remove nqifb[0-9a-f]+, a veth/,
    );
    nl.close();
    expect(kernel(ns)).toEqual(before);
    ns.remove();
  });

  test('a failed batch puts back link attributes it changed (an IFB moved to the deletion group)', async () => {
    const ns = tempNetns('nqo').veth('cali0', 'eth0');
    await applyQos([{ ifname: 'cali0', netns: ns.name, annotations: { [OUT]: '10M' } }]);
    const before = kernel(ns);
    const nl = openNetlink({ netns: ns.name });
    const err = await nl
      .apply(
        [
          { op: 'change', link: { name: IFB, group: NETQOS_DOOMED_GROUP } },
          { op: 'delete', qdisc: { dev: 'cali0', parent: 'root', handle: '4e51:' } }, // none: fails
        ],
        { atomic: true },
      )
      .catch((e: unknown) => e);
    nl.close();
    expect(err).toMatchObject({ rolledBack: true });
    expect(kernel(ns)).toEqual(before);
    ns.remove();
  });
});

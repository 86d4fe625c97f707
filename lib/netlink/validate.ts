// Checks of what a caller hands the handle itself (options, queries, the operations list), before
// the engine reads the operations field by field: each mistake is a TypeError with code
// ERR_NETQOS_INVALID_ARGUMENT naming the field, a short prefix of the value and what is allowed.

import { NetqosArgumentError } from '../errors';

/** Longest part of a caller's string an error message quotes (the engine uses the same). */
const QUOTE_MAX = 64;
const IFNAMSIZ = 16;
const PATH_MAX = 4096;

/** A caller's mistake: `field` is the path of the offending value ("options.atomic"). */
export function invalidArgument(field: string, what: string): NetqosArgumentError & { field: string } {
  return Object.assign(new NetqosArgumentError(`${field}: ${what}`), { field });
}

/** A value for a message: a string quoted (at most a short prefix of it), else its type or number. */
export function describeValue(v: unknown): string {
  if (typeof v === 'string') {
    const cut =
      v.length > QUOTE_MAX ? `${JSON.stringify(v.slice(0, QUOTE_MAX))}... (${v.length} characters)` : '';
    return cut || JSON.stringify(v);
  }
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'bigint') return `${v}n`.length > QUOTE_MAX ? 'a bigint' : `${v}n`;
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'symbol') return 'a symbol';
  return 'an object';
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `v` must be undefined or an object holding only `allowed` keys. */
function checkObject(field: string, v: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (v === undefined) return {};
  if (!isPlainObject(v)) throw invalidArgument(field, `expected an object, got ${describeValue(v)}`);
  for (const key of Object.keys(v)) {
    if (!allowed.includes(key) && v[key] !== undefined)
      throw invalidArgument(
        `${field}.${describeKey(key)}`,
        `is not an option (allowed: ${allowed.join(', ')})`,
      );
  }
  return v;
}

function describeKey(key: string): string {
  return key.length > QUOTE_MAX || /[^\w$]/.test(key) ? `[${describeValue(key)}]` : key;
}

function checkBoolean(field: string, v: unknown): void {
  if (v !== undefined && typeof v !== 'boolean')
    throw invalidArgument(field, `expected true or false, got ${describeValue(v)}`);
}

/** A string sent to the kernel as a C string: a NUL inside would end it there. */
function checkText(field: string, v: string): void {
  if (v.includes('\0'))
    throw invalidArgument(
      field,
      `${describeValue(v)} contains a NUL character (not allowed in a string sent to the kernel)`,
    );
}

/** An interface: a name of 1..15 bytes, or an index. */
export function checkDev(field: string, v: unknown): void {
  if (typeof v === 'string') {
    checkText(field, v);
    const bytes = Buffer.byteLength(v);
    if (bytes === 0 || bytes >= IFNAMSIZ)
      throw invalidArgument(field, `${describeValue(v)} is not an interface name (1..15 characters)`);
    return;
  }
  if (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 0x7fffffff) return;
  throw invalidArgument(
    field,
    `expected an interface name (1..15 characters) or index (1..2147483647), got ${describeValue(v)}`,
  );
}

/**
 * The network namespace option: undefined for the caller's own, else a name or path. Anything
 * else ('', 0, {}, a path with a NUL) is refused: a mistake must never mean "here".
 */
export function checkOpenOptions(options: unknown): string | undefined {
  const o = checkObject('options', options, ['netns']);
  const netns = o.netns;
  if (netns === undefined) return undefined;
  if (typeof netns !== 'string')
    throw invalidArgument(
      'options.netns',
      `expected the name or path of a network namespace (a string), got ${describeValue(netns)}`,
    );
  checkText('options.netns', netns);
  if (netns.length === 0 || Buffer.byteLength(netns) >= PATH_MAX)
    throw invalidArgument(
      'options.netns',
      `${describeValue(netns)} is not a namespace name or path (1..${PATH_MAX - 1} bytes)`,
    );
  return netns;
}

const APPLY_OPTIONS = ['atomic', 'snapshot', 'throwOnFailure', 'interfaces'] as const;

export function checkApplyOptions(options: unknown): void {
  const o = checkObject('options', options, APPLY_OPTIONS);
  checkBoolean('options.atomic', o.atomic);
  checkBoolean('options.throwOnFailure', o.throwOnFailure);
  if (o.snapshot !== undefined) {
    if (!o.atomic) throw invalidArgument('options.snapshot', 'is used only with atomic: true');
    const s = o.snapshot as { links?: unknown; devices?: unknown } | null;
    if (!isPlainObject(s) || !Array.isArray(s.links) || !(s.devices instanceof Map))
      throw invalidArgument(
        'options.snapshot',
        `expected a snapshot read with planSnapshot ({ links, devices }), got ${describeValue(s)}`,
      );
  }
  if (o.interfaces !== undefined) {
    if (!(o.interfaces instanceof Map))
      throw invalidArgument(
        'options.interfaces',
        `expected a Map of interface names to indexes, got ${describeValue(o.interfaces)}`,
      );
    for (const [name, index] of o.interfaces as Map<unknown, unknown>) {
      if (typeof name !== 'string')
        throw invalidArgument('options.interfaces', `keys are interface names, got ${describeValue(name)}`);
      const at = `options.interfaces[${describeValue(name)}]`;
      checkDev(at, name);
      if (typeof index !== 'number' || !Number.isInteger(index) || index < 1 || index > 0x7fffffff)
        throw invalidArgument(at, `expected an interface index (1..2147483647), got ${describeValue(index)}`);
    }
  }
}

/** The operations are a list (the engine bounds its length and reads each one). */
export function checkOperations(ops: unknown): void {
  if (!Array.isArray(ops))
    throw invalidArgument('operations', `expected an array, got ${describeValue(ops)}`);
}

const QUERY_TYPES = ['qdisc', 'class', 'filter', 'chain', 'link'] as const;
const QUERY_FIELDS: Record<(typeof QUERY_TYPES)[number], readonly string[]> = {
  qdisc: ['type', 'dev'],
  class: ['type', 'dev'],
  filter: ['type', 'dev', 'parent'],
  chain: ['type', 'dev', 'parent'],
  link: ['type', 'dev', 'kind'],
};
/** What each query type reads: for messages ("to read filters"). */
const QUERY_WHAT: Partial<Record<(typeof QUERY_TYPES)[number], string>> = {
  class: 'classes',
  filter: 'filters',
  chain: 'chains',
};

/** dump()'s query: a known type, its own fields only, an interface where one is needed. */
export function checkDumpQuery(query: unknown): void {
  if (!isPlainObject(query))
    throw invalidArgument(
      'query',
      `expected an object such as { type: 'qdisc' }, got ${describeValue(query)}`,
    );
  const type = query.type;
  if (typeof type !== 'string' || !(QUERY_TYPES as readonly string[]).includes(type))
    throw invalidArgument(
      'query.type',
      `${type === undefined ? 'is required' : `${describeValue(type)} is not a type`} (allowed: ${QUERY_TYPES.join(', ')})`,
    );
  checkObject('query', query, QUERY_FIELDS[type as (typeof QUERY_TYPES)[number]]);
  if (query.dev !== undefined) checkDev('query.dev', query.dev);
  else if (QUERY_WHAT[type as keyof typeof QUERY_WHAT])
    throw invalidArgument('query.dev', `is required to read ${QUERY_WHAT[type as keyof typeof QUERY_WHAT]}`);
  const kind = query.kind;
  if (kind !== undefined) {
    if (typeof kind !== 'string' || kind.length === 0 || Buffer.byteLength(kind) >= 64)
      throw invalidArgument('query.kind', `expected a link kind such as 'ifb', got ${describeValue(kind)}`);
    checkText('query.kind', kind);
    if (query.dev !== undefined)
      throw invalidArgument('query.kind', 'lists links of a kind: give it without dev');
  }
  const parent = query.parent;
  if (parent === undefined && type === 'chain')
    throw invalidArgument('query.parent', 'is required to read chains (ingress, egress, root, or a handle)');
  if (parent !== undefined) {
    if (typeof parent === 'string') checkText('query.parent', parent);
    else if (typeof parent !== 'number')
      throw invalidArgument(
        'query.parent',
        `expected a handle (a string or a number), got ${describeValue(parent)}`,
      );
  }
}

export function checkWatchOptions(options: unknown): number | undefined {
  const o = checkObject('options', options, ['receiveBuffer']);
  const size = o.receiveBuffer;
  if (size === undefined) return undefined;
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 4096 || size > 2 ** 30)
    throw invalidArgument(
      'options.receiveBuffer',
      `${describeValue(size)} is not a whole number of bytes from 4096 to 1073741824`,
    );
  return size;
}

/** read()'s plan: a generator (see dump.ts). */
export function checkPlan(plan: unknown): void {
  const p = plan as { next?: unknown } | null;
  if (typeof p !== 'object' || p === null || typeof p.next !== 'function')
    throw invalidArgument(
      'plan',
      `expected a read plan (a generator, see dump.ts), got ${describeValue(plan)}`,
    );
}

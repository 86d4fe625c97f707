// The fields an operation's object may carry: the common ones of its family, its kind's own
// (each kind lists them, checked by the compiler against its type) and those a read adds, so
// that an object read back can be sent again. The engine reads objects field by field and
// ignores any other key; without this check a misspelt key ("dstport", "burts") would be
// dropped silently and a filter would match more than meant, a bucket get its default.

import { ACTION_KINDS, CLASS_KINDS, FILTER_KINDS, LINK_KINDS, QDISC_KINDS } from './kinds';
import { invalidArgument } from './validate';

type Family = 'qdisc' | 'class' | 'filter' | 'chain' | 'link' | 'action';

/** Every family's own fields, and what a read adds (type, ifindex, statistics, ...). */
const COMMON: Record<Family, readonly string[]> = {
  qdisc: ['kind', 'dev', 'parent', 'handle', 'type', 'ifindex', 'stats'],
  class: ['kind', 'dev', 'classid', 'parent', 'type', 'ifindex', 'leaf', 'stats'],
  filter: ['kind', 'dev', 'parent', 'priority', 'protocol', 'chain', 'handle', 'actions', 'type', 'ifindex'],
  chain: ['dev', 'parent', 'chain', 'template', 'type', 'ifindex'],
  // Every link operation (add, change, delete) and what a link read carries.
  link: ['kind', 'name', 'index', 'up', 'mtu', 'group', 'txqlen', 'type', 'flags'],
  action: ['kind', 'cookie', 'index', 'stats'],
};
const LINK_READ = ['linkIndex', 'linkNetnsId', 'address'];

const TABLES: Record<Family, ReadonlyMap<string, { fields: readonly string[] }> | undefined> = {
  qdisc: QDISC_KINDS,
  class: CLASS_KINDS,
  filter: FILTER_KINDS,
  chain: undefined,
  link: LINK_KINDS,
  action: ACTION_KINDS,
};

/** The allowed keys of (family, kind), built once; undefined for a kind netqos does not know. */
const allowed = new Map<Family, Map<string | undefined, ReadonlySet<string> | undefined>>();
function allowedFields(family: Family, value: unknown): ReadonlySet<string> | undefined {
  // A kind that is not a string is the engine's to refuse (and never a key of this cache).
  if (value !== undefined && typeof value !== 'string') return undefined;
  const kind = value;
  let byKind = allowed.get(family);
  if (!byKind) allowed.set(family, (byKind = new Map()));
  if (byKind.has(kind)) return byKind.get(kind);
  // An unknown kind is the engine's to refuse; an object without a kind (a delete by
  // reference, a link change) is held to the common fields (a link's, its reads' too).
  const own = typeof kind === 'string' ? TABLES[family]?.get(kind)?.fields : [];
  const set = own && new Set([...COMMON[family], ...own, ...(family === 'link' ? LINK_READ : [])]);
  if (typeof kind === 'string' && byKind.size > 256) return set; // bounded: kinds are few
  byKind.set(kind, set);
  return set;
}

const FAMILIES: readonly Family[] = ['qdisc', 'class', 'filter', 'chain', 'link'];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Edits (insert, delete, substitute, swap two neighbours) from `a` to `b`: Damerau-Levenshtein. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** The allowed key `key` most likely misspells (case, dashes and underscores aside), if one is close. */
function suggestion(key: string, fields: ReadonlySet<string>): string | undefined {
  const plain = (s: string) => s.toLowerCase().replace(/[-_]/g, '');
  if (key.length > 64) return undefined;
  let best: string | undefined;
  let bestDistance = key.length < 5 ? 1 : 2;
  for (const f of fields) {
    const d = distance(plain(key), plain(f));
    if (d <= bestDistance && (best === undefined || d < bestDistance)) [best, bestDistance] = [f, d];
  }
  return best;
}

function checkObjectFields(field: string, o: object, family: Family): void {
  const keys = Object.keys(o);
  const kind = keys.includes('kind') ? dataValue(o, 'kind') : undefined;
  const fields = allowedFields(family, kind);
  if (!fields) return;
  for (const key of keys) {
    if (fields.has(key) || dataValue(o, key) === undefined) continue;
    const close = suggestion(key, fields);
    const what =
      typeof kind === 'string'
        ? `the ${kind} ${family} kind`
        : `${family === 'action' ? 'an' : 'a'} ${family}`;
    const path = key.length > 64 || /[^\w$]/.test(key) ? `[${JSON.stringify(key.slice(0, 64))}]` : `.${key}`;
    throw invalidArgument(
      `${field}${path}`,
      `is not a field of ${what} (${close ? `did you mean ${close}?` : `allowed: ${[...fields].join(', ')}`})`,
    );
  }
}

/**
 * An own data property's value; undefined for a getter, which is not run: the engine reads each
 * field once, itself, so a getter that answers differently, mutates or closes the handle meets
 * the engine's own guards, as if this check were not there.
 */
function dataValue(o: object, key: string | number): unknown {
  const d = Object.getOwnPropertyDescriptor(o, key);
  return d && 'value' in d ? d.value : undefined;
}

const builtHere = new WeakSet<readonly unknown[]>();

/**
 * Marks a list of operations netqos built itself (the QoS policy's plan, a rollback from a
 * read): checkKnownFields passes it without a look, sparing a fresh process that walk of
 * thousands of objects. Not exported from the package.
 */
export function builtByNetqos<T extends readonly unknown[]>(ops: T): T {
  builtHere.add(ops);
  return ops;
}

/**
 * Refuses an operation whose object (or one of a filter's actions) carries a key its kind does
 * not have: "ops[2].filter.dstport: is not a field of the flower filter kind (did you mean
 * dstPort?)". What is not a plain object, or names no known kind, is left to the engine.
 */
export function checkKnownFields(ops: readonly unknown[]): void {
  if (builtHere.has(ops)) return;
  const length = dataValue(ops, 'length');
  if (typeof length !== 'number') return;
  for (let i = 0; i < length; i++) {
    const op = dataValue(ops, i);
    if (!isObject(op)) continue;
    for (const family of Object.keys(op)) {
      if (!FAMILIES.includes(family as Family)) continue;
      const o = dataValue(op, family);
      if (!isObject(o)) continue;
      checkObjectFields(`ops[${i}].${family}`, o, family as Family);
      const actions = family === 'filter' ? dataValue(o, 'actions') : undefined;
      if (!Array.isArray(actions)) continue;
      for (let j = 0; j < actions.length; j++) {
        const a = dataValue(actions, j);
        if (isObject(a)) checkObjectFields(`ops[${i}].filter.actions[${j}]`, a, 'action');
      }
    }
  }
}

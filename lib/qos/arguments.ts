// The QoS calls' arguments checked before anything is read or sent, so a caller's mistake is a
// QosArgumentError naming the target (targets[i].field) instead of a TypeError from deep inside,
// or worse, a call on another namespace than meant (a netns of 5 or '' once meant "this one").
import { NetlinkHandle } from '../handle';
import { native } from '../netlink/binding';
import { checkDataplane } from './dataplane';
import { QosArgumentError, quoteValue } from './errors';
import { isValidInterfaceName, MAX_INTERFACE_NAME_LENGTH } from './naming';

/** Linux's PATH_MAX: no namespace path is longer. */
export const MAX_NETNS_LENGTH = 4095;

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Map);

/** The namespace file a netns argument names, as the engine opens it (a bare name: /var/run/netns/NAME). */
export const netnsPath = (netns: string | undefined): string =>
  netns === undefined ? '/proc/self/ns/net' : netns.includes('/') ? netns : `/var/run/netns/${netns}`;

/**
 * One key per network namespace, whatever names it (a name, /var/run/netns/NAME, /proc/PID/ns/net):
 * the namespace file's device and inode; the path itself when it cannot be read (opening the
 * namespace then fails with its own error).
 */
export function namespaceKey(netns: string | undefined): string {
  if (netns === undefined) return (ownKey ??= keyOf(netnsPath(undefined)));
  return keyOf(netnsPath(netns));
}
const keyOf = (path: string) => native().fileId(path) ?? `path:${path}`;
/** This process's namespace: fixed for its life (the engine enters others only in threads of its own). */
let ownKey: string | undefined;

function checkNetns(field: string, netns: unknown): void {
  if (netns === undefined) return;
  if (typeof netns !== 'string')
    throw new QosArgumentError(
      field,
      `${quoteValue(netns)} is not a network namespace: give a name under /var/run/netns or a path, or leave it out for this process's namespace`,
    );
  if (netns === '') throw new QosArgumentError(field, `is empty: leave it out for this process's namespace`);
  if (netns.includes('\0'))
    throw new QosArgumentError(field, `${quoteValue(netns)} contains a NUL character`);
  if (netns.length > MAX_NETNS_LENGTH)
    throw new QosArgumentError(
      field,
      `is ${netns.length} characters long; a path has at most ${MAX_NETNS_LENGTH}`,
    );
}

/**
 * What a call takes as its targets: applyQos and planQos need annotations ('annotated'),
 * clearQos does not ('interface'); readQos may name an interface twice ('read').
 */
export type TargetKind = 'annotated' | 'interface' | 'read';

/**
 * Checks targets: an array of objects, each with a valid `ifname`, an optional string `netns`
 * and (annotated) an `annotations` object; no interface twice in one call (which of two
 * settings would win?), however its namespace is named. Returns each target's namespace key
 * (namespaceKey of the handle given for it, else of its netns). Call checkOptions first.
 */
export function checkTargets(
  targets: unknown,
  kind: TargetKind,
  handles?: ReadonlyMap<string, NetlinkHandle>,
): string[] {
  if (!Array.isArray(targets)) {
    const shape = kind === 'annotated' ? '{ ifname, netns?, annotations }' : '{ ifname, netns? }';
    throw new QosArgumentError('targets', `${quoteValue(targets)} is not an array of targets (${shape})`);
  }
  const seen = new Map<string, number>();
  const keys = new Map<string | undefined, string>();
  const keyOf = (netns: string | undefined): string => {
    let key = keys.get(netns);
    if (key === undefined) {
      const given = handles?.get(netns ?? '');
      keys.set(netns, (key = namespaceKey(given ? given.netns : netns)));
    }
    return key;
  };
  return targets.map((t: unknown, i) => {
    const at = `targets[${i}]`;
    if (!isPlainObject(t)) throw new QosArgumentError(at, `${quoteValue(t)} is not a target object`);
    if (!isValidInterfaceName(t.ifname as string))
      throw new QosArgumentError(
        `${at}.ifname`,
        `${quoteValue(t.ifname)} is not an interface name (1 to ${MAX_INTERFACE_NAME_LENGTH} bytes, not "." or "..", no "/", ":" or whitespace)`,
      );
    checkNetns(`${at}.netns`, t.netns);
    if (kind === 'annotated' && !isPlainObject(t.annotations))
      throw new QosArgumentError(
        `${at}.annotations`,
        `${quoteValue(t.annotations)} is not an object of annotations; give {} for none (which removes netqos's objects, as clearQos does)`,
      );
    const nsKey = keyOf(t.netns as string | undefined);
    const key = `${nsKey}\0${t.ifname as string}`;
    const first = seen.get(key);
    if (first !== undefined && kind !== 'read')
      throw new QosArgumentError(
        at,
        `names ${t.ifname as string}${t.netns ? ` in ${quoteValue(t.netns)}` : ''} again (targets[${first}] names it too): give each interface once`,
      );
    seen.set(key, i);
    return nsKey;
  });
}

const MODES = ['strict', 'calico'];
const PROFILES = ['netqos', 'calico'];

/** Checks QosOptions (undefined is the defaults). */
export function checkOptions(options: unknown): void {
  if (options === undefined) return;
  if (!isPlainObject(options))
    throw new QosArgumentError('options', `${quoteValue(options)} is not an options object`);
  if (options.mode !== undefined && !MODES.includes(options.mode as string))
    throw new QosArgumentError('options.mode', `${quoteValue(options.mode)} is not 'strict' or 'calico'`);
  if (options.profile !== undefined && !PROFILES.includes(options.profile as string))
    throw new QosArgumentError(
      'options.profile',
      `${quoteValue(options.profile)} is not 'netqos' or 'calico'`,
    );
  checkDataplane(options.dataplane);
  const handles = options.handles;
  if (handles === undefined) return;
  if (!(handles instanceof Map))
    throw new QosArgumentError(
      'options.handles',
      `${quoteValue(handles)} is not a Map of network namespace ('' for this one) to NetlinkHandle`,
    );
  for (const [key, h] of handles as Map<unknown, unknown>) {
    if (typeof key !== 'string')
      throw new QosArgumentError('options.handles', `the key ${quoteValue(key)} is not a string`);
    if (!(h instanceof NetlinkHandle))
      throw new QosArgumentError(
        `options.handles[${quoteValue(key)}]`,
        `${quoteValue(h)} is not a NetlinkHandle (openNetlink)`,
      );
  }
}

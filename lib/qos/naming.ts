/**
 * Interface names: netqos's IFB for a pod interface, and Calico's names for comparison, cleanup
 * of Calico/CNI leftovers and the lab.
 *
 * Linux interface names are at most 15 bytes (IFNAMSIZ 16 with the NUL), not "." or "..", and
 * contain no '/', ':' or whitespace (net/core/dev.c dev_valid_name).
 */

import { hash } from 'node:crypto';
import { BoundedCache } from './bounded-cache';

export const MAX_INTERFACE_NAME_LENGTH = 15;

/** Every netqos IFB starts with this, so orphans can be found and collected safely. */
export const NETQOS_IFB_PREFIX = 'nqifb';
/** Calico Felix's IFB prefix (felix/dataplane/linux/qos/qos.go ifbDevicePrefix). */
export const CALICO_IFB_PREFIX = 'bwcali';
/** Calico's default host-side workload interface prefix (FELIX_INTERFACEPREFIX unset). */
export const CALICO_INTERFACE_PREFIX = 'cali';

// One-shot (Node >= 20.12): a createHash object per name cost tens of microseconds each.
const hexDigest = (algorithm: 'sha1' | 'sha256' | 'sha512', text: string): string =>
  hash(algorithm, text, 'hex');

/** True when `name` is a valid Linux interface name. */
export function isValidInterfaceName(name: string): boolean {
  return (
    typeof name === 'string' &&
    name.length > 0 &&
    Buffer.byteLength(name, 'utf8') <= MAX_INTERFACE_NAME_LENGTH &&
    name !== '.' &&
    name !== '..' &&
    !/[/:\s]/.test(name)
  );
}

function requireInterfaceName(name: string): void {
  if (!isValidInterfaceName(name)) {
    throw new TypeError(
      `${JSON.stringify(name)} is not a valid interface name: 1 to 15 bytes, not "." or "..", ` +
        'no "/", ":" or whitespace',
    );
  }
}

/**
 * The IFB netqos creates for the egress shaping of `ifname`: "nqifb" + the first 10 hex digits
 * of sha256(ifname), 15 characters. Deterministic (found again after a restart), distinct from
 * Calico's "bwcali..." and the CNI plugin's "bwp..." so none of them touches the others', and
 * 40 bits of hash make a collision between two interfaces of one namespace negligible.
 */
export function ifbNameFor(ifname: string): string {
  // Every reconcile asks again for every pod: a hash per call is most of a no-op pass's cost.
  const known = ifbNames.get(ifname);
  if (known !== undefined) return known;
  requireInterfaceName(ifname);
  return ifbNames.set(
    ifname,
    NETQOS_IFB_PREFIX +
      hexDigest('sha256', ifname).slice(0, MAX_INTERFACE_NAME_LENGTH - NETQOS_IFB_PREFIX.length),
  );
}
const ifbNames = new BoundedCache<string, string>(65536);

/** True for names ifbNameFor can produce ("nqifb" + 10 lowercase hex digits). */
export function isNetqosIfbName(name: string): boolean {
  return /^nqifb[0-9a-f]{10}$/.test(name);
}

/**
 * Calico's IFB for a workload interface: utils.MustFormatHashWithPrefix(15, "bwcali", ifname),
 * i.e. "bwcali" + the first 9 hex digits of sha512(ifname).
 */
export function calicoIfbName(ifname: string): string {
  return (CALICO_IFB_PREFIX + hexDigest('sha512', ifname)).slice(0, MAX_INTERFACE_NAME_LENGTH);
}

/**
 * Calico's host-side interface for a pod (VethNameForWorkload): prefix + the first 11 hex digits
 * of sha1("<namespace>.<pod>"). With the default "cali" prefix that is 15 characters.
 */
export function calicoInterfaceName(
  namespace: string,
  podName: string,
  prefix = CALICO_INTERFACE_PREFIX,
): string {
  return prefix + hexDigest('sha1', `${namespace}.${podName}`).slice(0, 11);
}

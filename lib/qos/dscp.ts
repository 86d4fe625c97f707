/**
 * DSCP (Differentiated Services Code Point, the upper six bits of the IPv4 TOS / IPv6 traffic
 * class byte): names, parsing and the skb priority the kernel derives from it.
 *
 * Accepted forms (netqos): a decimal number 0..63 ("46", leading zeros allowed, no sign), or a
 * name in any case: DF (0), CS0..CS7 (8n), AF11..AF43 (AFxy = 8x + 2y), EF (46).
 *
 * Calico (api/pkg/lib/numorstring/dscp.go) differs slightly, and `{ calico: true }` reproduces it:
 * it knows CS0..CS6 but not CS7, and it trims surrounding whitespace from names (" ef " is EF)
 * but not from numbers (" 46" is invalid).
 */

import { NetqosError } from '../errors';
import { quoteValue } from './errors';

export const DSCP_MIN = 0;
export const DSCP_MAX = 63;

/** Every DSCP name netqos accepts, upper case, with its value. */
export const DSCP_VALUES: Readonly<Record<string, number>> = Object.freeze({
  DF: 0,
  EF: 46,
  AF11: 10,
  AF12: 12,
  AF13: 14,
  AF21: 18,
  AF22: 20,
  AF23: 22,
  AF31: 26,
  AF32: 28,
  AF33: 30,
  AF41: 34,
  AF42: 36,
  AF43: 38,
  CS0: 0,
  CS1: 8,
  CS2: 16,
  CS3: 24,
  CS4: 32,
  CS5: 40,
  CS6: 48,
  CS7: 56,
});

/** Calico's AllDSCPValues: the same table without CS7. */
const CALICO_DSCP_NAMES = new Set(Object.keys(DSCP_VALUES).filter((name) => name !== 'CS7'));

export const DSCP_ALLOWED_FORMS = 'a number 0-63 or a name DF, EF, CS0-CS7, AF11-AF43, in any case';

export type DscpErrorReason = 'unknown' | 'out-of-range';

export class DscpError extends NetqosError {
  readonly code = 'ERR_NETQOS_DSCP';
  /** The string that failed to parse, unchanged. */
  readonly input: string;
  readonly reason: DscpErrorReason;
  /** Calico's own wording for the same failure ("DSCP must be between 0 and 63", ...). */
  readonly calicoMessage: string;

  constructor(input: string, reason: DscpErrorReason, calicoMessage: string) {
    super(
      reason === 'out-of-range'
        ? `DSCP ${quoteValue(input)} is out of range: use ${DSCP_ALLOWED_FORMS}`
        : `${quoteValue(input)} is not a valid DSCP value: use ${DSCP_ALLOWED_FORMS}`,
    );
    this.name = 'DscpError';
    this.input = input;
    this.reason = reason;
    this.calicoMessage = calicoMessage;
  }
}

export interface ParseDscpOptions {
  /** Reproduce Calico's acceptance: no CS7, names may carry surrounding whitespace. */
  calico?: boolean;
}

/** Parse a DSCP annotation value into 0..63. Throws DscpError naming the value and the forms. */
export function parseDscp(input: string, options: ParseDscpOptions = {}): number {
  const text = String(input);
  // Numbers first, as Calico does: strconv.ParseUint(s, 10, 8), then "must be <= 63".
  if (/^[0-9]+$/.test(text)) {
    const value = Number(text); // digits only, so leading zeros are harmless
    if (value <= DSCP_MAX) return value;
    // ParseUint(…, 8) fails above 255, and Calico then reports the string as an unknown name.
    const calicoMessage =
      value <= 255 ? 'DSCP must be between 0 and 63' : `${text} is not a valid DSCP value`;
    throw new DscpError(text, 'out-of-range', calicoMessage);
  }

  const candidate = options.calico ? text.trim() : text;
  // ASCII only: toUpperCase() folds some non-ASCII letters (U+017F long s) onto ASCII ones.
  if (options.calico || /^[A-Za-z0-9]+$/.test(candidate)) {
    const name = candidate.toUpperCase();
    const known = options.calico ? CALICO_DSCP_NAMES.has(name) : Object.hasOwn(DSCP_VALUES, name);
    const value = known ? DSCP_VALUES[name] : undefined;
    if (value !== undefined) return value;
  }
  throw new DscpError(text, 'unknown', `${text} is not a valid DSCP value`);
}

export { dscpName } from '../netlink/dsfield';

/** Linux TC_PRIO_* values (include/uapi/linux/pkt_sched.h). */
export const TC_PRIO = Object.freeze({
  BESTEFFORT: 0,
  FILLER: 1,
  BULK: 2,
  INTERACTIVE_BULK: 4,
  INTERACTIVE: 6,
  CONTROL: 7,
});

/**
 * net/ipv4/route.c ip_tos2prio[], indexed by IPTOS_TOS(tos) >> 1. The odd entries are the
 * ECN_OR_COST() ones, which equal their even neighbour on current kernels.
 */
const IP_TOS_TO_PRIO: readonly number[] = [
  TC_PRIO.BESTEFFORT,
  TC_PRIO.BESTEFFORT,
  TC_PRIO.BESTEFFORT,
  TC_PRIO.BESTEFFORT,
  TC_PRIO.BULK,
  TC_PRIO.BULK,
  TC_PRIO.BULK,
  TC_PRIO.BULK,
  TC_PRIO.INTERACTIVE,
  TC_PRIO.INTERACTIVE,
  TC_PRIO.INTERACTIVE,
  TC_PRIO.INTERACTIVE,
  TC_PRIO.INTERACTIVE_BULK,
  TC_PRIO.INTERACTIVE_BULK,
  TC_PRIO.INTERACTIVE_BULK,
  TC_PRIO.INTERACTIVE_BULK,
];

/**
 * The skb priority the kernel gives a packet whose DS field carries `dscp`, exactly as
 * rt_tos2priority(tos) does for sockets that set IP_TOS: `ip_tos2prio[IPTOS_TOS(tos) >> 1]`
 * with tos = dscp << 2 and IPTOS_TOS(tos) = tos & 0x1E.
 *
 * That table predates DiffServ: it reads the old RFC 1349 TOS bits, which are the low three
 * DSCP bits, and ignores the class (the upper three). So:
 *   dscp & 7 = 0 or 1 -> 0 (BESTEFFORT)   e.g. DF, every CSn
 *   dscp & 7 = 2 or 3 -> 2 (BULK)         e.g. AF11, AF21, AF31, AF41
 *   dscp & 7 = 4 or 5 -> 6 (INTERACTIVE)  e.g. AF12, AF22, AF32, AF42
 *   dscp & 7 = 6 or 7 -> 4 (INTERACTIVE_BULK)  e.g. EF, AF13, AF23, AF33, AF43
 * netqos sets this with skbedit so a packet rewritten in tc ends up with the priority the kernel
 * would have given a socket that set the same TOS byte itself.
 */
export function dscpToPriority(dscp: number): number {
  if (!Number.isInteger(dscp) || dscp < DSCP_MIN || dscp > DSCP_MAX) {
    throw new RangeError(`DSCP must be an integer between 0 and 63, got ${dscp}`);
  }
  const tos = dscp << 2;
  return IP_TOS_TO_PRIO[(tos & 0x1e) >> 1]!; // 0..15: the table's 16 entries
}

// The DS field's code point names (RFC 2474, 2597, 3246), for describing what a packet edit sets.

/** The conventional name of a DSCP value (0 is "DF"), or undefined when it has none. */
export function dscpName(value: number): string | undefined {
  if (!Number.isInteger(value) || value < 0 || value > 63) return undefined;
  if (value === 0) return 'DF';
  if (value === 46) return 'EF';
  if (value % 8 === 0) return `CS${value / 8}`;
  const assuredClass = value >> 3;
  const dropPrecedence = (value & 7) >> 1;
  if (
    assuredClass >= 1 &&
    assuredClass <= 4 &&
    (value & 1) === 0 &&
    dropPrecedence >= 1 &&
    dropPrecedence <= 3
  ) {
    return `AF${assuredClass}${dropPrecedence}`;
  }
  return undefined;
}

/** "46 (EF)", or the bare number when the value has no name. */
export function dscpText(value: number): string {
  const name = dscpName(value);
  return name ? `${value} (${name})` : String(value);
}

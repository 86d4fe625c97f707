/**
 * A data value (cmp, bitwise, immediate): exactly one form. Host-order integers are what the
 * kernel keeps in host order (meta mark, meta priority, ct state); be16/be32/be64 for header
 * fields (ports, EtherTypes). Read back as `{ hex }`.
 */
export type NftData =
  | { hex: string }
  /** An interface name, NUL padded to 16 bytes (what meta iifname/oifname load). */
  | { ifname: string }
  /** Bytes of a string, NUL padded to `length` (default: the string's length, no NUL). */
  | { string: string; length?: number }
  | { ipv4: string }
  | { ipv6: string }
  | { u8: number }
  | { u16: number }
  | { u32: number }
  | { u64: number | bigint }
  | { be16: number }
  | { be32: number }
  | { be64: number | bigint };

/** Registers: 1..4 (128-bit, what nft uses), 8..23 (32-bit). */
export type NftRegister = number;

export type NftVerdict =
  { verdict: 'accept' | 'drop' | 'continue' | 'return' } | { verdict: 'jump' | 'goto'; chain: string };

import type { NftRegister } from './data';

interface PayloadCommon {
  kind: 'payload';
  base: 'link' | 'network' | 'transport' | 'inner';
  /** Bytes from the start of that header. */
  offset: number;
  /** Bytes, 1..64. */
  len: number;
}

/**
 * Packet bytes: loaded into `dreg`, or written from `sreg`. A write with `csumType: 'inet'` has
 * the kernel update the checksum at `csumOffset` of the same header (the IPv4 header checksum,
 * offset 10, for a DSCP rewrite); 'l4pseudohdr' also fixes the transport checksum.
 */
export type PayloadExpr =
  | (PayloadCommon & { dreg?: NftRegister; sreg?: never })
  | (PayloadCommon & {
      sreg: NftRegister;
      dreg?: never;
      csumType?: 'none' | 'inet' | 'sctp';
      csumOffset?: number;
      csumFlags?: 'l4pseudohdr'[];
    });

// Whether two expression lists mean the same: what netqos sent and what the kernel reads back
// differ in form (data values come back as hex, defaults come back explicit, bitwise names its
// operation, counters carry their counts), so a reconcile compares canonical forms.
import * as os from 'os';
import type { NftData } from './expr/data';
import type { NftExpr } from './types';

type Raw = Record<string, unknown>;

const little = os.endianness() === 'LE';

function integerBytes(value: number | bigint, bytes: number, bigEndian: boolean): Buffer {
  const out = Buffer.alloc(bytes);
  let v = BigInt(value);
  for (let i = 0; i < bytes; i++) {
    out[bigEndian ? bytes - 1 - i : i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

function addressBytes(text: string, v6: boolean): Buffer {
  if (!v6) return Buffer.from(text.split('.').map(Number));
  const [head = '', tail = ''] = text.includes('::') ? text.split('::') : [text];
  const words = (s: string) => (s ? s.split(':').map((w) => parseInt(w, 16)) : []);
  const h = words(head);
  const t = text.includes('::') ? words(tail) : [];
  const all = [...h, ...Array(8 - h.length - t.length).fill(0), ...t];
  return Buffer.from(all.flatMap((w) => [w >> 8, w & 0xff]));
}

/** The bytes a data value stands for, as lower-case hex (what the kernel reads back). */
export function dataHex(d: NftData): string {
  const v = d as Raw;
  if ('hex' in v) return String(v.hex).toLowerCase();
  if ('ifname' in v) {
    const out = Buffer.alloc(16);
    out.write(String(v.ifname), 'latin1');
    return out.toString('hex');
  }
  if ('string' in v) {
    const s = Buffer.from(String(v.string), 'latin1');
    const out = Buffer.alloc((v.length as number | undefined) ?? s.length);
    s.copy(out);
    return out.toString('hex');
  }
  if ('ipv4' in v) return addressBytes(String(v.ipv4), false).toString('hex');
  if ('ipv6' in v) return addressBytes(String(v.ipv6), true).toString('hex');
  const sizes: Record<string, [number, boolean]> = {
    u8: [1, false],
    u16: [2, !little],
    u32: [4, !little],
    u64: [8, !little],
    be16: [2, true],
    be32: [4, true],
    be64: [8, true],
  };
  for (const [key, [bytes, bigEndian]] of Object.entries(sizes))
    if (key in v) return integerBytes(v[key] as number | bigint, bytes, bigEndian).toString('hex');
  throw new TypeError(`not a data value: ${JSON.stringify(d)}`);
}

const REJECT_CODE: Record<string, number> = { 'tcp-reset': 0, icmp: 3, icmpx: 1 };

/** One expression with every default made explicit and every data value as hex; counts dropped. */
export function canonicalExpression(e: NftExpr): Raw {
  const x = { ...(e as Raw) };
  const hex = (k: string) => {
    if (x[k] !== undefined) x[k] = { hex: dataHex(x[k] as NftData) };
  };
  const register = (k: string) => (x[k] ??= 1);
  switch (e.kind) {
    case 'meta':
    case 'ct':
    case 'payload':
      if (x.sreg === undefined) register('dreg');
      if (x.csumType === 'none') delete x.csumType;
      if (x.csumType === undefined) delete x.csumOffset;
      if ((x.csumFlags as unknown[] | undefined)?.length === 0) delete x.csumFlags;
      break;
    case 'bitwise':
      x.op ??= 'mask-xor';
      register('sreg');
      register('dreg');
      hex('mask');
      hex('xor');
      break;
    case 'cmp':
      x.op ??= 'eq';
      register('sreg');
      hex('data');
      break;
    case 'limit':
      x.unit ??= 'second';
      x.type ??= 'packets';
      x.burst ??= x.type === 'packets' ? 5 : 0;
      x.over ??= false;
      break;
    case 'connlimit':
      x.over ??= false;
      break;
    case 'counter':
      delete x.packets;
      delete x.bytes;
      break;
    case 'reject':
      x.code ??= REJECT_CODE[x.type as string];
      break;
    case 'immediate':
      if (x.verdict === undefined) {
        register('dreg');
        hex('data');
      }
      break;
    case 'lookup':
      register('sreg');
      x.invert ??= false;
      break;
  }
  return Object.fromEntries(
    Object.keys(x)
      .sort()
      .map((k) => [k, x[k]]),
  );
}

/** Whether two expression lists do the same (see canonicalExpression). */
export function sameExpressions(a: readonly NftExpr[], b: readonly NftExpr[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((e, i) => {
    const other = b[i]; // the lengths are equal
    return (
      other !== undefined &&
      JSON.stringify(canonicalExpression(e)) === JSON.stringify(canonicalExpression(other))
    );
  });
}

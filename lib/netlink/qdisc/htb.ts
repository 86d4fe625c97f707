import { ownFields, type ClassKind, type QdiscKind } from '../kind';
import type { ClassCommon, QdiscCommon } from '../types';
import { formatRate, sizeText } from '../units';

/** Hierarchical token bucket (tc-htb(8)): a tree of classes that share a link by rate and ceil. */
export interface HtbQdisc extends QdiscCommon {
  kind: 'htb';
  /** Minor of the class unclassified packets go to: 0x10 for class 1:10 (tc's `default 10`); 0: sent unshaped. */
  defaultClass?: number;
  /** Classes' quantum (bytes) is rate (bytes/s) / r2q unless they give one; default 10. */
  r2q?: number;
  /** Packets the direct (unclassified, unshaped) queue holds; default the interface's txqueuelen. */
  directQlen?: number;
}

/** One HTB class. Rates in bit/s (64-bit rates too), sizes in bytes. */
export interface HtbClass extends ClassCommon {
  kind: 'htb';
  /** Guaranteed rate, bit/s. */
  rate: number;
  /** Most it may take by borrowing from its parent, bit/s; default rate. */
  ceil?: number;
  /** Bytes it may send at once at full speed; default rate / HZ + mtu, as tc computes it. */
  burst?: number;
  /** The same for ceil. */
  cburst?: number;
  /** 0..7, lower is served first when borrowing. */
  prio?: number;
  /** Bytes a leaf sends per round; default rate (bytes/s) / r2q. Leaves only read it back. */
  quantum?: number;
  /** Largest packet (bytes) the default bursts account for; default 1600. Not read back. */
  mtu?: number;
  /** Minimum packet size counted, bytes. */
  mpu?: number;
  /** Bytes added to every packet's size when counted (link-layer framing). */
  overhead?: number;
}

/** An HTB class's extended statistics (tc -s class show). */
export interface HtbClassXstats {
  lends: number;
  borrows: number;
  /** Packets larger than the class's mtu. */
  giants: number;
  /** Its buckets now, in scheduler ticks (negative: in debt). */
  tokens: number;
  ctokens: number;
}

export const htb: QdiscKind<HtbQdisc> = {
  family: 'qdisc',
  kind: 'htb',
  fields: ownFields<HtbQdisc, QdiscCommon>()('defaultClass', 'r2q', 'directQlen'),
  restorable: true,
  describe(q) {
    const parts: string[] = [];
    if (q.defaultClass !== undefined) parts.push(`default ${q.defaultClass.toString(16)}`);
    if (q.r2q !== undefined) parts.push(`r2q ${q.r2q}`);
    if (q.directQlen !== undefined) parts.push(`direct_qlen ${q.directQlen}`);
    return parts.join(' ');
  },
};

export const htbClass: ClassKind<HtbClass> = {
  family: 'class',
  kind: 'htb',
  fields: ownFields<HtbClass, ClassCommon>()(
    'rate',
    'mpu',
    'burst',
    'ceil',
    'cburst',
    'prio',
    'quantum',
    'mtu',
    'overhead',
  ),
  describe(c) {
    const parts = [`rate ${formatRate(c.rate)}`];
    if (c.ceil !== undefined) parts.push(`ceil ${formatRate(c.ceil)}`);
    if (c.burst !== undefined) parts.push(`burst ${sizeText(c.burst)}`);
    if (c.cburst !== undefined) parts.push(`cburst ${sizeText(c.cburst)}`);
    if (c.prio !== undefined) parts.push(`prio ${c.prio}`);
    if (c.quantum !== undefined) parts.push(`quantum ${c.quantum}`);
    return parts.join(' ');
  },
};

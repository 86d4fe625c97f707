// Decode an rtnetlink tc / link request into a comparable tree, diff two such trees, and render
// one as indented text for failure messages. Used to compare our encoder's output with the
// requests iproute2 sends (test/fixtures/tc-requests.json, made by scripts/gen-fixtures.sh).
//
// Whether an attribute is nested is decided from the tc / link attribute layout (per message
// type, per TCA_KIND / TCA_ACT_KIND / IFLA_INFO_KIND), never guessed from the bytes. An attribute
// whose layout is unknown is kept as a hex leaf.

import * as fs from 'fs';
import * as path from 'path';

export const NLA_F_NESTED = 0x8000;
export const NLA_F_NET_BYTEORDER = 0x4000;
const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

export interface NlAttr {
  /** attribute type with NLA_F_NESTED / NLA_F_NET_BYTEORDER masked off */
  type: number;
  /** name from the layout, for messages only: diffTrees ignores it */
  name?: string;
  /** NLA_F_NESTED was set on the wire */
  nestedFlag?: true;
  /** NLA_F_NET_BYTEORDER was set on the wire */
  netByteOrder?: true;
  /** children, when the layout says this attribute is a nest */
  nested?: NlAttr[];
  /** payload as lower-case hex, for a leaf */
  hex?: string;
  /** set when the layout says nest but the payload does not parse as attributes (kept as hex) */
  malformed?: string;
}

export interface TcMsgHeader {
  kind: 'tcmsg';
  family: number;
  ifindex: number;
  handle: number;
  parent: number;
  info: number;
}

export interface IfInfoMsgHeader {
  kind: 'ifinfomsg';
  family: number;
  /** ifi_type (ARPHRD_*) */
  type: number;
  index: number;
  flags: number;
  change: number;
}

export interface TcaMsgHeader {
  kind: 'tcamsg';
  family: number;
}

/** nfnetlink's header (test/helpers/nfttree.ts decodes nf_tables messages). */
export interface NfGenMsgHeader {
  kind: 'nfgenmsg';
  family: number;
  version: number;
  /** res_id as sent (network order for the batch messages' subsystem id) */
  resId: number;
}

export type FixedHeader = TcMsgHeader | IfInfoMsgHeader | TcaMsgHeader | NfGenMsgHeader;

export interface Tree {
  /** nlmsghdr without len / seq / pid */
  nlmsg: { type: number; flags: number };
  header: FixedHeader;
  attrs: NlAttr[];
  /** bytes after nlmsg_len in the buffer, or after the last attribute, if any */
  trailingHex?: string;
}

// ---------------------------------------------------------------------------------------------
// Attribute layouts

export type Fmt = 'string' | 'u8' | 'u16' | 'u32' | 'u64' | 'handle';

export interface AttrSpec {
  name: string;
  /** rendering hint for leaves */
  fmt?: Fmt;
  /** a nest with this layout */
  nested?: Layout;
  /** a nest whose children are all nests of this layout, whatever their type (action lists) */
  listOf?: Layout;
  /** a nest or leaf depending on the "kind" sibling (Layout.kindAttr) */
  byKind?: (kind: string | undefined) => Layout | undefined;
}

export interface Layout {
  name: string;
  attrs: Record<number, AttrSpec>;
  /** sibling attribute whose string value selects the byKind layouts */
  kindAttr?: number;
}

/** A nest whose children are not described: they are decoded as leaves. */
export const GENERIC: Layout = { name: 'generic', attrs: {} };

// TBF: include/uapi/linux/pkt_sched.h
const TBF_OPTIONS: Layout = {
  name: 'tbf',
  attrs: {
    1: { name: 'TCA_TBF_PARMS' },
    2: { name: 'TCA_TBF_RTAB' },
    3: { name: 'TCA_TBF_PTAB' },
    4: { name: 'TCA_TBF_RATE64', fmt: 'u64' },
    5: { name: 'TCA_TBF_PRATE64', fmt: 'u64' },
    6: { name: 'TCA_TBF_BURST', fmt: 'u32' },
    7: { name: 'TCA_TBF_PBURST', fmt: 'u32' },
    8: { name: 'TCA_TBF_PAD' },
  },
};

// actions: include/uapi/linux/tc_act/*.h
const MIRRED_OPTIONS: Layout = {
  name: 'mirred',
  attrs: {
    1: { name: 'TCA_MIRRED_TM' },
    2: { name: 'TCA_MIRRED_PARMS' },
    3: { name: 'TCA_MIRRED_PAD' },
    4: { name: 'TCA_MIRRED_BLOCKID', fmt: 'u32' },
  },
};

const POLICE_OPTIONS: Layout = {
  name: 'police',
  attrs: {
    1: { name: 'TCA_POLICE_TBF' },
    2: { name: 'TCA_POLICE_RATE' },
    3: { name: 'TCA_POLICE_PEAKRATE' },
    4: { name: 'TCA_POLICE_AVRATE', fmt: 'u32' },
    5: { name: 'TCA_POLICE_RESULT', fmt: 'u32' },
    6: { name: 'TCA_POLICE_TM' },
    7: { name: 'TCA_POLICE_PAD' },
    8: { name: 'TCA_POLICE_RATE64', fmt: 'u64' },
    9: { name: 'TCA_POLICE_PEAKRATE64', fmt: 'u64' },
    10: { name: 'TCA_POLICE_PKTRATE64', fmt: 'u64' },
    11: { name: 'TCA_POLICE_PKTBURST64', fmt: 'u64' },
  },
};

const PEDIT_KEY_EX: Layout = {
  name: 'pedit key ex',
  attrs: {
    1: { name: 'TCA_PEDIT_KEY_EX_HTYPE', fmt: 'u16' },
    2: { name: 'TCA_PEDIT_KEY_EX_CMD', fmt: 'u16' },
  },
};

const PEDIT_KEYS_EX: Layout = {
  name: 'pedit keys ex',
  attrs: { 6: { name: 'TCA_PEDIT_KEY_EX', nested: PEDIT_KEY_EX } },
};

const PEDIT_OPTIONS: Layout = {
  name: 'pedit',
  attrs: {
    1: { name: 'TCA_PEDIT_TM' },
    2: { name: 'TCA_PEDIT_PARMS' },
    3: { name: 'TCA_PEDIT_PAD' },
    4: { name: 'TCA_PEDIT_PARMS_EX' },
    5: { name: 'TCA_PEDIT_KEYS_EX', nested: PEDIT_KEYS_EX },
  },
};

const CSUM_OPTIONS: Layout = {
  name: 'csum',
  attrs: {
    1: { name: 'TCA_CSUM_PARMS' },
    2: { name: 'TCA_CSUM_TM' },
    3: { name: 'TCA_CSUM_PAD' },
  },
};

const SKBEDIT_OPTIONS: Layout = {
  name: 'skbedit',
  attrs: {
    1: { name: 'TCA_SKBEDIT_TM' },
    2: { name: 'TCA_SKBEDIT_PARMS' },
    3: { name: 'TCA_SKBEDIT_PRIORITY', fmt: 'handle' },
    4: { name: 'TCA_SKBEDIT_QUEUE_MAPPING', fmt: 'u16' },
    5: { name: 'TCA_SKBEDIT_MARK', fmt: 'u32' },
    6: { name: 'TCA_SKBEDIT_PAD' },
    7: { name: 'TCA_SKBEDIT_PTYPE', fmt: 'u16' },
    8: { name: 'TCA_SKBEDIT_MASK', fmt: 'u32' },
    9: { name: 'TCA_SKBEDIT_FLAGS', fmt: 'u64' },
    10: { name: 'TCA_SKBEDIT_QUEUE_MAPPING_MAX', fmt: 'u16' },
  },
};

const GACT_OPTIONS: Layout = {
  name: 'gact',
  attrs: {
    1: { name: 'TCA_GACT_TM' },
    2: { name: 'TCA_GACT_PARMS' },
    3: { name: 'TCA_GACT_PROB' },
    4: { name: 'TCA_GACT_PAD' },
  },
};

const ACTION_OPTIONS: Record<string, Layout> = {
  mirred: MIRRED_OPTIONS,
  police: POLICE_OPTIONS,
  pedit: PEDIT_OPTIONS,
  csum: CSUM_OPTIONS,
  skbedit: SKBEDIT_OPTIONS,
  gact: GACT_OPTIONS,
};

/** One element of an action list (its type is the action's order, 1..N). */
const ACTION: Layout = {
  name: 'action',
  kindAttr: 1,
  attrs: {
    1: { name: 'TCA_ACT_KIND', fmt: 'string' },
    // TCA_ACT_OPTIONS is a nest for every action kind; unknown kinds get undescribed children.
    2: { name: 'TCA_ACT_OPTIONS', byKind: (k) => (k !== undefined && ACTION_OPTIONS[k]) || GENERIC },
    3: { name: 'TCA_ACT_INDEX', fmt: 'u32' },
    4: { name: 'TCA_ACT_STATS', nested: GENERIC },
    5: { name: 'TCA_ACT_PAD' },
    6: { name: 'TCA_ACT_COOKIE' },
    7: { name: 'TCA_ACT_FLAGS' },
    8: { name: 'TCA_ACT_HW_STATS' },
    9: { name: 'TCA_ACT_USED_HW_STATS' },
    10: { name: 'TCA_ACT_IN_HW_COUNT', fmt: 'u32' },
  },
};

// classifiers: include/uapi/linux/pkt_cls.h
const U32_OPTIONS: Layout = {
  name: 'u32',
  attrs: {
    1: { name: 'TCA_U32_CLASSID', fmt: 'handle' },
    2: { name: 'TCA_U32_HASH', fmt: 'u32' },
    3: { name: 'TCA_U32_LINK', fmt: 'u32' },
    4: { name: 'TCA_U32_DIVISOR', fmt: 'u32' },
    5: { name: 'TCA_U32_SEL' },
    6: { name: 'TCA_U32_POLICE', nested: POLICE_OPTIONS },
    7: { name: 'TCA_U32_ACT', listOf: ACTION },
    8: { name: 'TCA_U32_INDEV', fmt: 'string' },
    9: { name: 'TCA_U32_PCNT' },
    10: { name: 'TCA_U32_MARK' },
    11: { name: 'TCA_U32_FLAGS', fmt: 'u32' },
    12: { name: 'TCA_U32_PAD' },
  },
};

const MATCHALL_OPTIONS: Layout = {
  name: 'matchall',
  attrs: {
    1: { name: 'TCA_MATCHALL_CLASSID', fmt: 'handle' },
    2: { name: 'TCA_MATCHALL_ACT', listOf: ACTION },
    3: { name: 'TCA_MATCHALL_FLAGS', fmt: 'u32' },
    4: { name: 'TCA_MATCHALL_PCNT' },
    5: { name: 'TCA_MATCHALL_PAD' },
  },
};

// The newer classifiers: their action lists decoded, the rest as leaves.
const withActions = (name: string, act: number): Layout => ({
  name,
  attrs: { [act]: { name: `${name.toUpperCase()}_ACT`, listOf: ACTION } },
});
const FLOWER_OPTIONS = withActions('flower', 3);
const FW_OPTIONS = withActions('fw', 4);
const BPF_OPTIONS = withActions('bpf', 1);
const BASIC_OPTIONS: Layout = {
  name: 'basic',
  attrs: {
    1: { name: 'TCA_BASIC_CLASSID', fmt: 'handle' },
    2: {
      name: 'TCA_BASIC_EMATCHES',
      nested: {
        name: 'ematch tree',
        attrs: { 1: { name: 'TCA_EMATCH_TREE_HDR' }, 2: { name: 'TCA_EMATCH_TREE_LIST', nested: GENERIC } },
      },
    },
    3: { name: 'TCA_BASIC_ACT', listOf: ACTION },
  },
};

const QDISC_OPTIONS: Record<string, Layout> = { tbf: TBF_OPTIONS };
/** qdiscs / classes whose TCA_OPTIONS is a plain nest (pfifo, prio, netem, sfq, ... are structs) */
const QDISC_NESTED_GENERIC = new Set([
  'htb',
  'fq_codel',
  'fq',
  'cake',
  'codel',
  'red',
  'drr',
  'qfq',
  'pie',
  'fq_pie',
  'hhf',
  'ets',
  'choke',
  'sfb',
  'taprio',
  'ingress',
  'clsact',
]);
const FILTER_OPTIONS: Record<string, Layout> = {
  u32: U32_OPTIONS,
  matchall: MATCHALL_OPTIONS,
  flower: FLOWER_OPTIONS,
  fw: FW_OPTIONS,
  bpf: BPF_OPTIONS,
  basic: BASIC_OPTIONS,
};
const FILTER_NESTED_GENERIC = new Set(['flower', 'basic', 'bpf', 'fw', 'route', 'cgroup', 'flow']);

function tcTopLayout(options: (kind: string | undefined) => Layout | undefined): Layout {
  return {
    name: 'tc',
    kindAttr: 1,
    attrs: {
      1: { name: 'TCA_KIND', fmt: 'string' },
      2: { name: 'TCA_OPTIONS', byKind: options },
      3: { name: 'TCA_STATS' },
      4: { name: 'TCA_XSTATS' },
      5: { name: 'TCA_RATE' },
      6: { name: 'TCA_FCNT' },
      7: { name: 'TCA_STATS2', nested: GENERIC },
      8: { name: 'TCA_STAB', nested: GENERIC },
      9: { name: 'TCA_PAD' },
      10: { name: 'TCA_DUMP_INVISIBLE' },
      11: { name: 'TCA_CHAIN', fmt: 'u32' },
      12: { name: 'TCA_HW_OFFLOAD', fmt: 'u8' },
      13: { name: 'TCA_INGRESS_BLOCK', fmt: 'u32' },
      14: { name: 'TCA_EGRESS_BLOCK', fmt: 'u32' },
      15: { name: 'TCA_DUMP_FLAGS' },
      16: { name: 'TCA_EXT_WARN_MSG', fmt: 'string' },
    },
  };
}

const QDISC_TOP = tcTopLayout((k) =>
  k === undefined ? undefined : QDISC_OPTIONS[k] || (QDISC_NESTED_GENERIC.has(k) ? GENERIC : undefined),
);
const FILTER_TOP = tcTopLayout((k) =>
  k === undefined ? undefined : FILTER_OPTIONS[k] || (FILTER_NESTED_GENERIC.has(k) ? GENERIC : undefined),
);

const ACTION_TOP: Layout = {
  name: 'tc action',
  attrs: {
    1: { name: 'TCA_ROOT_TAB', listOf: ACTION },
    2: { name: 'TCA_ROOT_FLAGS' },
    3: { name: 'TCA_ROOT_COUNT', fmt: 'u32' },
    4: { name: 'TCA_ROOT_TIME_DELTA', fmt: 'u32' },
    5: { name: 'TCA_ROOT_EXT_WARN_MSG', fmt: 'string' },
  },
};

// links: include/uapi/linux/if_link.h
const LINKINFO: Layout = {
  name: 'linkinfo',
  kindAttr: 1,
  attrs: {
    1: { name: 'IFLA_INFO_KIND', fmt: 'string' },
    // INFO_DATA is kind-specific (ifb has none); no kind is described yet, so it stays hex.
    2: { name: 'IFLA_INFO_DATA', byKind: () => undefined },
    3: { name: 'IFLA_INFO_XSTATS' },
    4: { name: 'IFLA_INFO_SLAVE_KIND', fmt: 'string' },
    5: { name: 'IFLA_INFO_SLAVE_DATA' },
  },
};

const LINK_TOP: Layout = {
  name: 'link',
  attrs: {
    1: { name: 'IFLA_ADDRESS' },
    2: { name: 'IFLA_BROADCAST' },
    3: { name: 'IFLA_IFNAME', fmt: 'string' },
    4: { name: 'IFLA_MTU', fmt: 'u32' },
    5: { name: 'IFLA_LINK', fmt: 'u32' },
    6: { name: 'IFLA_QDISC', fmt: 'string' },
    7: { name: 'IFLA_STATS' },
    10: { name: 'IFLA_MASTER', fmt: 'u32' },
    13: { name: 'IFLA_TXQLEN', fmt: 'u32' },
    16: { name: 'IFLA_OPERSTATE', fmt: 'u8' },
    17: { name: 'IFLA_LINKMODE', fmt: 'u8' },
    18: { name: 'IFLA_LINKINFO', nested: LINKINFO },
    19: { name: 'IFLA_NET_NS_PID', fmt: 'u32' },
    20: { name: 'IFLA_IFALIAS', fmt: 'string' },
    26: { name: 'IFLA_AF_SPEC', nested: GENERIC },
    27: { name: 'IFLA_GROUP', fmt: 'u32' },
    28: { name: 'IFLA_NET_NS_FD', fmt: 'u32' },
    29: { name: 'IFLA_EXT_MASK', fmt: 'u32' },
    31: { name: 'IFLA_NUM_TX_QUEUES', fmt: 'u32' },
    32: { name: 'IFLA_NUM_RX_QUEUES', fmt: 'u32' },
    52: { name: 'IFLA_PROP_LIST', nested: GENERIC },
    53: { name: 'IFLA_ALT_IFNAME', fmt: 'string' },
  },
};

// ---------------------------------------------------------------------------------------------
// Message types

export const RTM: Record<string, number> = {
  RTM_NEWLINK: 16,
  RTM_DELLINK: 17,
  RTM_GETLINK: 18,
  RTM_SETLINK: 19,
  RTM_NEWQDISC: 36,
  RTM_DELQDISC: 37,
  RTM_GETQDISC: 38,
  RTM_NEWTCLASS: 40,
  RTM_DELTCLASS: 41,
  RTM_GETTCLASS: 42,
  RTM_NEWTFILTER: 44,
  RTM_DELTFILTER: 45,
  RTM_GETTFILTER: 46,
  RTM_NEWACTION: 48,
  RTM_DELACTION: 49,
  RTM_GETACTION: 50,
  RTM_NEWCHAIN: 100,
  RTM_DELCHAIN: 101,
  RTM_GETCHAIN: 102,
};
const RTM_NAME: Record<number, string> = Object.fromEntries(Object.entries(RTM).map(([k, v]) => [v, k]));

export function rtmName(type: number): string {
  return RTM_NAME[type] ?? `type ${type}`;
}

type MsgClass = 'link' | 'qdisc' | 'filter' | 'action';

function msgClass(type: number): MsgClass {
  if (type >= 16 && type <= 19) return 'link';
  if (type >= 36 && type <= 43) return 'qdisc'; // qdisc and class
  if ((type >= 44 && type <= 47) || (type >= 100 && type <= 103)) return 'filter'; // filter, chain
  if (type >= 48 && type <= 51) return 'action';
  throw new Error(`nltree: unsupported netlink message type ${type}`);
}

// ---------------------------------------------------------------------------------------------
// Decoding

interface RawAttr {
  type: number;
  flags: number;
  payload: Buffer;
}

function parseRawAttrs(buf: Buffer): RawAttr[] {
  const out: RawAttr[] = [];
  let off = 0;
  while (off < buf.length) {
    if (buf.length - off < 4) throw new Error(`${buf.length - off} stray byte(s) at offset ${off}`);
    const len = buf.readUInt16LE(off);
    const rawType = buf.readUInt16LE(off + 2);
    if (len < 4) throw new Error(`nla_len ${len} < 4 at offset ${off}`);
    if (off + len > buf.length)
      throw new Error(`nla_len ${len} at offset ${off} overruns ${buf.length} bytes`);
    out.push({
      type: rawType & NLA_TYPE_MASK,
      flags: rawType & ~NLA_TYPE_MASK,
      payload: buf.subarray(off + 4, off + len),
    });
    off += (len + 3) & ~3;
  }
  return out;
}

function kindOf(raws: RawAttr[], kindAttr: number | undefined): string | undefined {
  if (kindAttr === undefined) return undefined;
  const k = raws.find((r) => r.type === kindAttr);
  if (!k) return undefined;
  const nul = k.payload.indexOf(0);
  return k.payload.subarray(0, nul < 0 ? k.payload.length : nul).toString('latin1');
}

export function decodeAttrs(buf: Buffer, layout: Layout): NlAttr[] {
  const raws = parseRawAttrs(buf);
  const kind = kindOf(raws, layout.kindAttr);
  return raws.map((r) => decodeAttr(r, layout.attrs[r.type], kind));
}

function decodeAttr(r: RawAttr, spec: AttrSpec | undefined, kind: string | undefined): NlAttr {
  const a: NlAttr = { type: r.type };
  if (spec) a.name = spec.name;
  if (r.flags & NLA_F_NESTED) a.nestedFlag = true;
  if (r.flags & NLA_F_NET_BYTEORDER) a.netByteOrder = true;
  let children: ((p: Buffer) => NlAttr[]) | undefined;
  if (spec?.nested) {
    const l = spec.nested;
    children = (p) => decodeAttrs(p, l);
  } else if (spec?.listOf) {
    const elem = spec.listOf;
    children = (p) =>
      parseRawAttrs(p).map((e) => decodeAttr(e, { name: `#${e.type}`, nested: elem }, undefined));
  } else if (spec?.byKind) {
    const l = spec.byKind(kind);
    if (l) children = (p) => decodeAttrs(p, l);
  }
  if (children) {
    try {
      a.nested = children(r.payload);
      return a;
    } catch (e) {
      a.malformed = (e as Error).message;
    }
  }
  a.hex = r.payload.toString('hex');
  return a;
}

function decodeHeader(cls: MsgClass, b: Buffer): { header: FixedHeader; size: number } {
  const need = cls === 'link' ? 16 : cls === 'action' ? 4 : 20;
  if (b.length < need) throw new Error(`nltree: fixed header needs ${need} bytes, have ${b.length}`);
  if (cls === 'link') {
    return {
      header: {
        kind: 'ifinfomsg',
        family: b.readUInt8(0),
        type: b.readUInt16LE(2),
        index: b.readInt32LE(4),
        flags: b.readUInt32LE(8),
        change: b.readUInt32LE(12),
      },
      size: 16,
    };
  }
  if (cls === 'action') return { header: { kind: 'tcamsg', family: b.readUInt8(0) }, size: 4 };
  return {
    header: {
      kind: 'tcmsg',
      family: b.readUInt8(0),
      ifindex: b.readInt32LE(4),
      handle: b.readUInt32LE(8),
      parent: b.readUInt32LE(12),
      info: b.readUInt32LE(16),
    },
    size: 20,
  };
}

/** Decode one netlink request (nlmsghdr + fixed header + attributes). */
export function decodeRequest(buf: Buffer): Tree {
  if (buf.length < 16) throw new Error(`nltree: ${buf.length} bytes is shorter than an nlmsghdr`);
  const len = buf.readUInt32LE(0);
  if (len < 16 || len > buf.length)
    throw new Error(`nltree: nlmsg_len ${len} but buffer has ${buf.length} bytes`);
  const type = buf.readUInt16LE(4);
  const flags = buf.readUInt16LE(6);
  const cls = msgClass(type);
  const body = buf.subarray(16, len);
  const { header, size } = decodeHeader(cls, body);
  const top =
    cls === 'link' ? LINK_TOP : cls === 'qdisc' ? QDISC_TOP : cls === 'filter' ? FILTER_TOP : ACTION_TOP;
  const tree: Tree = { nlmsg: { type, flags }, header, attrs: [] };
  const attrBytes = body.subarray(size);
  try {
    tree.attrs = decodeAttrs(attrBytes, top);
  } catch (e) {
    throw new Error(`nltree: top-level attributes do not parse: ${(e as Error).message}`);
  }
  const trailing = buf.subarray((len + 3) & ~3);
  if (trailing.length > 0) tree.trailingHex = trailing.toString('hex');
  return tree;
}

export function decodeHex(hex: string): Tree {
  return decodeRequest(Buffer.from(hex, 'hex'));
}

// ---------------------------------------------------------------------------------------------
// Lookup and rewriting helpers

/** Find an attribute by a path of types, e.g. [2, 7, 1, 2] = TCA_OPTIONS/TCA_U32_ACT/#1/TCA_ACT_OPTIONS. */
export function findAttr(attrs: NlAttr[] | Tree, typePath: number[]): NlAttr | undefined {
  let level: NlAttr[] | undefined = Array.isArray(attrs) ? attrs : attrs.attrs;
  let found: NlAttr | undefined;
  for (const t of typePath) {
    found = level?.find((a) => a.type === t);
    if (!found) return undefined;
    level = found.nested;
  }
  return found;
}

/** Payload of a leaf as a Buffer. */
export function payload(a: NlAttr | undefined): Buffer {
  if (!a || a.hex === undefined) throw new Error('nltree: not a leaf attribute');
  return Buffer.from(a.hex, 'hex');
}

/** struct tc_mirred: tc_gen (20 bytes), eaction (s32), ifindex (u32) */
const MIRRED_IFINDEX_OFFSET = 24;

/**
 * Copy of `tree` with interface indexes replaced through `map` (old -> new): the tcmsg ifindex /
 * ifinfomsg index, IFLA_LINK / IFLA_MASTER, and the ifindex inside TCA_MIRRED_PARMS. Lets a
 * fixture captured in another namespace be compared with a request built here.
 */
export function remapIfindex(tree: Tree, map: Record<number, number>): Tree {
  const t: Tree = JSON.parse(JSON.stringify(tree));
  const sub = (n: number) => (Object.prototype.hasOwnProperty.call(map, n) ? map[n] : n);
  if (t.header.kind === 'tcmsg') t.header.ifindex = sub(t.header.ifindex);
  if (t.header.kind === 'ifinfomsg') t.header.index = sub(t.header.index);
  const walk = (attrs: NlAttr[], ctx: 'link' | 'tc' | 'mirred') => {
    for (const a of attrs) {
      if (a.hex !== undefined) {
        const b = Buffer.from(a.hex, 'hex');
        if (ctx === 'link' && (a.type === 5 || a.type === 10) && b.length === 4) {
          b.writeUInt32LE(sub(b.readUInt32LE(0)) >>> 0, 0);
          a.hex = b.toString('hex');
        } else if (ctx === 'mirred' && a.type === 2 && b.length >= MIRRED_IFINDEX_OFFSET + 4) {
          b.writeUInt32LE(sub(b.readUInt32LE(MIRRED_IFINDEX_OFFSET)) >>> 0, MIRRED_IFINDEX_OFFSET);
          a.hex = b.toString('hex');
        }
      }
      if (a.nested) {
        const isMirredOptions =
          ctx !== 'link' &&
          a.name === 'TCA_ACT_OPTIONS' &&
          attrs.some(
            (s) =>
              s.name === 'TCA_ACT_KIND' &&
              s.hex !== undefined &&
              Buffer.from(s.hex, 'hex').toString('latin1').replace(/\0+$/, '') === 'mirred',
          );
        walk(a.nested, ctx === 'link' ? 'link' : isMirredOptions ? 'mirred' : 'tc');
      }
    }
  };
  walk(t.attrs, t.header.kind === 'ifinfomsg' ? 'link' : 'tc');
  return t;
}

// ---------------------------------------------------------------------------------------------
// Diffing

export interface DiffOptions {
  /** also report attributes that match but sit in a different order (default false) */
  strictOrder?: boolean;
  /** do not report NLA_F_NESTED differences (default false) */
  ignoreNestedFlag?: boolean;
}

function attrLabel(a: NlAttr): string {
  return a.name ? `${a.name}(${a.type})` : `attr(${a.type})`;
}

function hexDiff(ah: string, bh: string): string {
  const a = Buffer.from(ah, 'hex');
  const b = Buffer.from(bh, 'hex');
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const from = Math.max(0, i - 4);
  const win = (x: Buffer) =>
    x
      .subarray(from, from + 16)
      .toString('hex')
      .replace(/(..)/g, '$1 ')
      .trim();
  const sizes = a.length === b.length ? `${a.length} bytes` : `a: ${a.length} bytes, b: ${b.length} bytes`;
  return `payload differs (${sizes}; first difference at byte ${i}; from byte ${from}: a=[${win(a)}] b=[${win(b)}])`;
}

function diffAttrLists(a: NlAttr[], b: NlAttr[], where: string, o: DiffOptions, out: string[]): void {
  // Match by (type, occurrence): the kernel reads attributes into a table by type, so order
  // only matters with strictOrder.
  const key = (list: NlAttr[]) => {
    const seen = new Map<number, number>();
    return list.map((x) => {
      const n = seen.get(x.type) ?? 0;
      seen.set(x.type, n + 1);
      return `${x.type}#${n}`;
    });
  };
  const ka = key(a);
  const kb = key(b);
  const ib = new Map(kb.map((k, i) => [k, i]));
  const ia = new Map(ka.map((k, i) => [k, i]));
  ka.forEach((k, i) => {
    const j = ib.get(k);
    const label = `${where}/${attrLabel(a[i])}${k.endsWith('#0') ? '' : `[${k.split('#')[1]}]`}`;
    if (j === undefined) {
      out.push(`${label}: only in a`);
      return;
    }
    diffAttr(a[i], b[j], label, o, out);
  });
  kb.forEach((k, j) => {
    if (!ia.has(k)) out.push(`${where}/${attrLabel(b[j])}: only in b`);
  });
  if (o.strictOrder) {
    const common = ka.filter((k) => ib.has(k));
    const commonB = kb.filter((k) => ia.has(k));
    if (common.join(',') !== commonB.join(',')) {
      out.push(`${where || '/'}: attribute order differs (a: ${common.join(' ')}; b: ${commonB.join(' ')})`);
    }
  }
}

function diffAttr(a: NlAttr, b: NlAttr, where: string, o: DiffOptions, out: string[]): void {
  if (!o.ignoreNestedFlag && !!a.nestedFlag !== !!b.nestedFlag) {
    out.push(
      `${where}: NLA_F_NESTED ${a.nestedFlag ? 'set' : 'clear'} in a, ${b.nestedFlag ? 'set' : 'clear'} in b`,
    );
  }
  if (!!a.netByteOrder !== !!b.netByteOrder) {
    out.push(
      `${where}: NLA_F_NET_BYTEORDER ${a.netByteOrder ? 'set' : 'clear'} in a, ${b.netByteOrder ? 'set' : 'clear'} in b`,
    );
  }
  if (a.nested && b.nested) {
    diffAttrLists(a.nested, b.nested, where, o, out);
  } else if (a.hex !== undefined && b.hex !== undefined) {
    if (a.hex !== b.hex) out.push(`${where}: ${hexDiff(a.hex, b.hex)}`);
  } else {
    const d = (x: NlAttr) =>
      x.nested
        ? `a nest of ${x.nested.length}`
        : `a leaf${x.malformed ? ` (malformed nest: ${x.malformed})` : ''}`;
    out.push(`${where}: ${d(a)} in a, ${d(b)} in b`);
  }
}

const hx = (n: number) => `0x${(n >>> 0).toString(16)}`;

/** Human-readable differences between two trees; empty when they are equal. */
export function diffTrees(a: Tree, b: Tree, opts: DiffOptions = {}): string[] {
  const out: string[] = [];
  if (a.nlmsg.type !== b.nlmsg.type)
    out.push(`nlmsg_type: a=${rtmName(a.nlmsg.type)} b=${rtmName(b.nlmsg.type)}`);
  if (a.nlmsg.flags !== b.nlmsg.flags) {
    out.push(
      `nlmsg_flags: a=${hx(a.nlmsg.flags)} (${nlmFlagNames(a.nlmsg)}) b=${hx(b.nlmsg.flags)} (${nlmFlagNames(b.nlmsg)})`,
    );
  }
  if (a.header.kind !== b.header.kind) {
    out.push(`header: a is ${a.header.kind}, b is ${b.header.kind}`);
  } else {
    const ha = a.header as unknown as Record<string, number | string>;
    const hb = b.header as unknown as Record<string, number | string>;
    for (const k of Object.keys(ha)) {
      if (ha[k] !== hb[k]) {
        const fmt = (v: number | string) =>
          typeof v === 'number' && k !== 'family' && k !== 'ifindex' && k !== 'index' ? hx(v) : String(v);
        out.push(`${a.header.kind}.${k}: a=${fmt(ha[k])} b=${fmt(hb[k])}`);
      }
    }
  }
  diffAttrLists(a.attrs, b.attrs, '', opts, out);
  if ((a.trailingHex ?? '') !== (b.trailingHex ?? '')) {
    out.push(`trailing bytes: a=${a.trailingHex ?? '(none)'} b=${b.trailingHex ?? '(none)'}`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Rendering

function nlmFlagNames(n: { type: number; flags: number }): string {
  const names: string[] = [];
  const common: [number, string][] = [
    [1, 'REQUEST'],
    [2, 'MULTI'],
    [4, 'ACK'],
    [8, 'ECHO'],
    [0x10, 'DUMP_INTR'],
    [0x20, 'DUMP_FILTERED'],
  ];
  const op = n.type & 3;
  const specific: [number, string][] =
    op === 0
      ? [
          [0x100, 'REPLACE'],
          [0x200, 'EXCL'],
          [0x400, 'CREATE'],
          [0x800, 'APPEND'],
        ]
      : op === 1
        ? [
            [0x100, 'NONREC'],
            [0x200, 'BULK'],
          ]
        : op === 2
          ? [
              [0x100, 'ROOT'],
              [0x200, 'MATCH'],
              [0x400, 'ATOMIC'],
            ]
          : [];
  let rest = n.flags;
  for (const [bit, name] of [...common, ...specific]) {
    if (n.flags & bit) {
      names.push(name);
      rest &= ~bit;
    }
  }
  if (rest) names.push(hx(rest));
  return names.join('|') || '0';
}

/** tc handle notation: maj:min in hex, "root", "ingress"-style specials */
export function fmtHandle(h: number): string {
  h >>>= 0;
  if (h === 0xffffffff) return 'root';
  if (h === 0xfffffff1) return 'ingress/clsact';
  if (h === 0xfffffff2) return 'clsact ingress';
  if (h === 0xfffffff3) return 'clsact egress';
  if (h === 0) return 'none';
  const maj = (h >>> 16).toString(16);
  const min = h & 0xffff;
  return min ? `${maj}:${min.toString(16)}` : `${maj}:`;
}

function leafText(a: NlAttr, fmt: Fmt | undefined, maxHexBytes: number): string {
  const b = Buffer.from(a.hex ?? '', 'hex');
  if (fmt === 'string') {
    const nul = b.indexOf(0);
    const s = b.subarray(0, nul < 0 ? b.length : nul).toString('latin1');
    return `${JSON.stringify(s)}${nul === b.length - 1 ? '' : nul < 0 ? ' (no NUL)' : ` (NUL at ${nul} of ${b.length})`}`;
  }
  const num = (): string | undefined => {
    if (fmt === 'u8' && b.length === 1) return String(b.readUInt8(0));
    if (fmt === 'u16' && b.length === 2) return String(b.readUInt16LE(0));
    if (fmt === 'u32' && b.length === 4) return `${b.readUInt32LE(0)} (${hx(b.readUInt32LE(0))})`;
    if (fmt === 'handle' && b.length === 4)
      return `${hx(b.readUInt32LE(0))} (${fmtHandle(b.readUInt32LE(0))})`;
    if (fmt === 'u64' && b.length === 8) return b.readBigUInt64LE(0).toString();
    return undefined;
  };
  const n = num();
  if (n !== undefined) return n;
  const shown = b.subarray(0, maxHexBytes).toString('hex').replace(/(..)/g, '$1 ').trim();
  return `[${b.length} bytes] ${shown}${b.length > maxHexBytes ? ' …' : ''}`;
}

/** display format of each named leaf (names are unique across layouts) */
const FMT_BY_NAME = new Map<string, Fmt>();
/** Registers the display formats of these layouts' leaves (for renderTree). */
export function addFormats(layouts: Layout[]): void {
  const seen = new Set<Layout>();
  const visit = (l: Layout) => {
    if (seen.has(l)) return;
    seen.add(l);
    for (const s of Object.values(l.attrs)) {
      if (s.fmt) FMT_BY_NAME.set(s.name, s.fmt);
      if (s.nested) visit(s.nested);
      if (s.listOf) visit(s.listOf);
    }
  };
  layouts.forEach(visit);
}
addFormats([
  QDISC_TOP,
  FILTER_TOP,
  ACTION_TOP,
  LINK_TOP,
  ...Object.values(ACTION_OPTIONS),
  ...Object.values(QDISC_OPTIONS),
  ...Object.values(FILTER_OPTIONS),
]);

export interface RenderOptions {
  /** leaves longer than this are cut in the text (default 48) */
  maxHexBytes?: number;
}

/** Render a tree as indented text (for failure messages). */
export function renderTree(t: Tree, opts: RenderOptions = {}): string {
  const maxHexBytes = opts.maxHexBytes ?? 48;
  const lines: string[] = [];
  lines.push(
    `${rtmName(t.nlmsg.type)} (${t.nlmsg.type}) flags=${hx(t.nlmsg.flags)} ${nlmFlagNames(t.nlmsg)}`,
  );
  const h = t.header;
  if (h.kind === 'tcmsg') {
    const info =
      t.nlmsg.type >= 44 && t.nlmsg.type <= 47
        ? ` (prio ${h.info >>> 16}, protocol 0x${((((h.info & 0xff) << 8) | ((h.info >>> 8) & 0xff)) >>> 0).toString(16).padStart(4, '0')})`
        : '';
    lines.push(
      `tcmsg family=${h.family} ifindex=${h.ifindex} handle=${hx(h.handle)} (${fmtHandle(h.handle)}) ` +
        `parent=${hx(h.parent)} (${fmtHandle(h.parent)}) info=${hx(h.info)}${info}`,
    );
  } else if (h.kind === 'ifinfomsg') {
    lines.push(
      `ifinfomsg family=${h.family} type=${h.type} index=${h.index} flags=${hx(h.flags)} change=${hx(h.change)}`,
    );
  } else if (h.kind === 'nfgenmsg') {
    lines.push(`nfgenmsg family=${h.family} version=${h.version} res_id=${hx(h.resId)}`);
  } else {
    lines.push(`tcamsg family=${h.family}`);
  }
  const walk = (attrs: NlAttr[], depth: number) => {
    const pad = '  '.repeat(depth);
    for (const a of attrs) {
      const flags = `${a.nestedFlag ? ' +NESTED' : ''}${a.netByteOrder ? ' +NET_BYTEORDER' : ''}`;
      const label = `${pad}${a.name ?? 'attr'} (${a.type})${flags}`;
      if (a.nested) {
        if (a.nested.length === 0) {
          lines.push(`${label} {}`);
        } else {
          lines.push(`${label} {`);
          walk(a.nested, depth + 1);
          lines.push(`${pad}}`);
        }
      } else {
        const m = a.malformed ? ` (malformed nest: ${a.malformed})` : '';
        lines.push(`${label} ${leafText(a, a.name ? FMT_BY_NAME.get(a.name) : undefined, maxHexBytes)}${m}`);
      }
    }
  };
  walk(t.attrs, 0);
  if (t.trailingHex) lines.push(`trailing: ${t.trailingHex}`);
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Fixtures

export interface TcFixtureCase {
  name: string;
  command: string;
  note?: string;
  ifindex: Record<string, number>;
  msgType: string;
  exitCode: number | null;
  stderr?: string;
  hex: string;
}

export interface TcFixtureFile {
  psched: string;
  iproute2: string;
  cases: TcFixtureCase[];
}

export const TC_FIXTURES_PATH = path.join(__dirname, '..', 'fixtures', 'tc-requests.json');

export function loadTcFixtures(file: string = TC_FIXTURES_PATH): TcFixtureFile {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as TcFixtureFile;
}

export function tcFixture(name: string, file?: string): TcFixtureCase {
  const c = loadTcFixtures(file).cases.find((x) => x.name === name);
  if (!c) throw new Error(`no fixture case ${name}`);
  return c;
}

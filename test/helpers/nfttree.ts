// Decode an nf_tables request (or an nfnetlink batch marker) into the comparable tree of
// nltree.ts, from the uapi attribute layouts (linux/netfilter/nf_tables.h), independently of the
// native encoder. Used to compare netqos's batches with what Debian's nft sends
// (test/fixtures/nft-requests.json, made by scripts/gen-nft-fixtures.sh).
import * as fs from 'fs';
import * as path from 'path';
import { GENERIC, addFormats, decodeAttrs, type Layout, type Tree } from './nltree';

const L = (name: string, attrs: Layout['attrs'], kindAttr?: number): Layout => ({ name, attrs, kindAttr });

const VERDICT = L('verdict', {
  1: { name: 'NFTA_VERDICT_CODE' },
  2: { name: 'NFTA_VERDICT_CHAIN', fmt: 'string' },
  3: { name: 'NFTA_VERDICT_CHAIN_ID' },
});
const DATA = L('data', { 1: { name: 'NFTA_DATA_VALUE' }, 2: { name: 'NFTA_DATA_VERDICT', nested: VERDICT } });

const EXPRESSIONS: Record<string, Layout> = {
  meta: L('meta', {
    1: { name: 'NFTA_META_DREG' },
    2: { name: 'NFTA_META_KEY' },
    3: { name: 'NFTA_META_SREG' },
  }),
  payload: L('payload', {
    1: { name: 'NFTA_PAYLOAD_DREG' },
    2: { name: 'NFTA_PAYLOAD_BASE' },
    3: { name: 'NFTA_PAYLOAD_OFFSET' },
    4: { name: 'NFTA_PAYLOAD_LEN' },
    5: { name: 'NFTA_PAYLOAD_SREG' },
    6: { name: 'NFTA_PAYLOAD_CSUM_TYPE' },
    7: { name: 'NFTA_PAYLOAD_CSUM_OFFSET' },
    8: { name: 'NFTA_PAYLOAD_CSUM_FLAGS' },
  }),
  bitwise: L('bitwise', {
    1: { name: 'NFTA_BITWISE_SREG' },
    2: { name: 'NFTA_BITWISE_DREG' },
    3: { name: 'NFTA_BITWISE_LEN' },
    4: { name: 'NFTA_BITWISE_MASK', nested: DATA },
    5: { name: 'NFTA_BITWISE_XOR', nested: DATA },
    6: { name: 'NFTA_BITWISE_OP' },
    7: { name: 'NFTA_BITWISE_DATA', nested: DATA },
  }),
  cmp: L('cmp', {
    1: { name: 'NFTA_CMP_SREG' },
    2: { name: 'NFTA_CMP_OP' },
    3: { name: 'NFTA_CMP_DATA', nested: DATA },
  }),
  limit: L('limit', {
    1: { name: 'NFTA_LIMIT_RATE' },
    2: { name: 'NFTA_LIMIT_UNIT' },
    3: { name: 'NFTA_LIMIT_BURST' },
    4: { name: 'NFTA_LIMIT_TYPE' },
    5: { name: 'NFTA_LIMIT_FLAGS' },
  }),
  connlimit: L('connlimit', { 1: { name: 'NFTA_CONNLIMIT_COUNT' }, 2: { name: 'NFTA_CONNLIMIT_FLAGS' } }),
  ct: L('ct', {
    1: { name: 'NFTA_CT_DREG' },
    2: { name: 'NFTA_CT_KEY' },
    3: { name: 'NFTA_CT_DIRECTION' },
    4: { name: 'NFTA_CT_SREG' },
  }),
  counter: L('counter', { 1: { name: 'NFTA_COUNTER_BYTES' }, 2: { name: 'NFTA_COUNTER_PACKETS' } }),
  reject: L('reject', { 1: { name: 'NFTA_REJECT_TYPE' }, 2: { name: 'NFTA_REJECT_ICMP_CODE' } }),
  immediate: L('immediate', {
    1: { name: 'NFTA_IMMEDIATE_DREG' },
    2: { name: 'NFTA_IMMEDIATE_DATA', nested: DATA },
  }),
  lookup: L('lookup', {
    1: { name: 'NFTA_LOOKUP_SET', fmt: 'string' },
    2: { name: 'NFTA_LOOKUP_SREG' },
    3: { name: 'NFTA_LOOKUP_DREG' },
    4: { name: 'NFTA_LOOKUP_SET_ID' },
    5: { name: 'NFTA_LOOKUP_FLAGS' },
  }),
};

const EXPR = L(
  'expr',
  {
    1: { name: 'NFTA_EXPR_NAME', fmt: 'string' },
    2: { name: 'NFTA_EXPR_DATA', byKind: (k) => (k !== undefined && EXPRESSIONS[k]) || GENERIC },
  },
  1,
);

const TABLE = L('table', {
  1: { name: 'NFTA_TABLE_NAME', fmt: 'string' },
  2: { name: 'NFTA_TABLE_FLAGS' },
  3: { name: 'NFTA_TABLE_USE' },
  4: { name: 'NFTA_TABLE_HANDLE' },
  6: { name: 'NFTA_TABLE_USERDATA' },
  7: { name: 'NFTA_TABLE_OWNER' },
});

const HOOK = L('hook', {
  1: { name: 'NFTA_HOOK_HOOKNUM' },
  2: { name: 'NFTA_HOOK_PRIORITY' },
  3: { name: 'NFTA_HOOK_DEV', fmt: 'string' },
  4: { name: 'NFTA_HOOK_DEVS', nested: GENERIC },
});

const CHAIN = L('chain', {
  1: { name: 'NFTA_CHAIN_TABLE', fmt: 'string' },
  2: { name: 'NFTA_CHAIN_HANDLE' },
  3: { name: 'NFTA_CHAIN_NAME', fmt: 'string' },
  4: { name: 'NFTA_CHAIN_HOOK', nested: HOOK },
  5: { name: 'NFTA_CHAIN_POLICY' },
  6: { name: 'NFTA_CHAIN_USE' },
  7: { name: 'NFTA_CHAIN_TYPE', fmt: 'string' },
  8: { name: 'NFTA_CHAIN_COUNTERS', nested: GENERIC },
  10: { name: 'NFTA_CHAIN_FLAGS' },
  11: { name: 'NFTA_CHAIN_ID' },
  12: { name: 'NFTA_CHAIN_USERDATA' },
});

const RULE = L('rule', {
  1: { name: 'NFTA_RULE_TABLE', fmt: 'string' },
  2: { name: 'NFTA_RULE_CHAIN', fmt: 'string' },
  3: { name: 'NFTA_RULE_HANDLE' },
  4: { name: 'NFTA_RULE_EXPRESSIONS', listOf: EXPR },
  5: { name: 'NFTA_RULE_COMPAT', nested: GENERIC },
  6: { name: 'NFTA_RULE_POSITION' },
  7: { name: 'NFTA_RULE_USERDATA' },
  9: { name: 'NFTA_RULE_ID' },
  10: { name: 'NFTA_RULE_POSITION_ID' },
  11: { name: 'NFTA_RULE_CHAIN_ID' },
});

const SET = L('set', {
  1: { name: 'NFTA_SET_TABLE', fmt: 'string' },
  2: { name: 'NFTA_SET_NAME', fmt: 'string' },
  3: { name: 'NFTA_SET_FLAGS' },
  4: { name: 'NFTA_SET_KEY_TYPE' },
  5: { name: 'NFTA_SET_KEY_LEN' },
  6: { name: 'NFTA_SET_DATA_TYPE' },
  7: { name: 'NFTA_SET_DATA_LEN' },
  8: { name: 'NFTA_SET_POLICY' },
  9: { name: 'NFTA_SET_DESC', nested: L('set desc', { 1: { name: 'NFTA_SET_DESC_SIZE' } }) },
  10: { name: 'NFTA_SET_ID' },
  11: { name: 'NFTA_SET_TIMEOUT' },
  12: { name: 'NFTA_SET_GC_INTERVAL' },
  13: { name: 'NFTA_SET_USERDATA' },
  16: { name: 'NFTA_SET_HANDLE' },
});

const ELEMENT = L('set element', {
  1: { name: 'NFTA_SET_ELEM_KEY', nested: DATA },
  2: { name: 'NFTA_SET_ELEM_DATA', nested: DATA },
  3: { name: 'NFTA_SET_ELEM_FLAGS' },
  4: { name: 'NFTA_SET_ELEM_TIMEOUT' },
  5: { name: 'NFTA_SET_ELEM_EXPIRATION' },
  6: { name: 'NFTA_SET_ELEM_USERDATA' },
  9: { name: 'NFTA_SET_ELEM_OBJREF', fmt: 'string' },
  10: { name: 'NFTA_SET_ELEM_KEY_END', nested: DATA },
});

const ELEMENTS = L('set elements', {
  1: { name: 'NFTA_SET_ELEM_LIST_TABLE', fmt: 'string' },
  2: { name: 'NFTA_SET_ELEM_LIST_SET', fmt: 'string' },
  3: { name: 'NFTA_SET_ELEM_LIST_ELEMENTS', listOf: ELEMENT },
  4: { name: 'NFTA_SET_ELEM_LIST_SET_ID' },
});

const BATCH = L('batch', { 1: { name: 'NFNL_BATCH_GENID' } });
const GEN = L('gen', {
  1: { name: 'NFTA_GEN_ID' },
  2: { name: 'NFTA_GEN_PROC_PID' },
  3: { name: 'NFTA_GEN_PROC_NAME' },
});

addFormats([TABLE, CHAIN, RULE, SET, ELEMENTS, ...Object.values(EXPRESSIONS)]);

export const NFNL_SUBSYS_NFTABLES = 10;
const MSG_NAMES = [
  'NEWTABLE',
  'GETTABLE',
  'DELTABLE',
  'NEWCHAIN',
  'GETCHAIN',
  'DELCHAIN',
  'NEWRULE',
  'GETRULE',
  'DELRULE',
  'NEWSET',
  'GETSET',
  'DELSET',
  'NEWSETELEM',
  'GETSETELEM',
  'DELSETELEM',
  'NEWGEN',
  'GETGEN',
];
/** "NFT_MSG_NEWRULE", "NFNL_MSG_BATCH_BEGIN", ... */
export function nftMsgName(type: number): string {
  if (type === 0x10) return 'NFNL_MSG_BATCH_BEGIN';
  if (type === 0x11) return 'NFNL_MSG_BATCH_END';
  const msg = type & 0xff;
  if (type >> 8 !== NFNL_SUBSYS_NFTABLES) return `type ${type}`;
  if (msg >= 26 && msg <= 30)
    return `NFT_MSG_DESTROY${['TABLE', 'CHAIN', 'RULE', 'SET', 'SETELEM'][msg - 26]}`;
  return MSG_NAMES[msg] ? `NFT_MSG_${MSG_NAMES[msg]}` : `nf_tables message ${msg}`;
}

function layoutOf(type: number): Layout {
  if (type === 0x10 || type === 0x11) return BATCH;
  if (type >> 8 !== NFNL_SUBSYS_NFTABLES) throw new Error(`nfttree: not an nf_tables message: type ${type}`);
  const msg = type & 0xff;
  if (msg === 15 || msg === 16) return GEN;
  if (msg >= 26 && msg <= 30) return [TABLE, CHAIN, RULE, SET, ELEMENTS][msg - 26];
  const byGroup = [TABLE, CHAIN, RULE, SET, ELEMENTS];
  if (msg <= 14) return byGroup[Math.floor(msg / 3)];
  throw new Error(`nfttree: no layout for nf_tables message ${msg}`);
}

/** One nfnetlink message (nlmsghdr + nfgenmsg + attributes) as a tree. */
export function decodeNft(buf: Buffer): Tree {
  const len = buf.readUInt32LE(0);
  if (len < 20 || len > buf.length) throw new Error(`nfttree: nlmsg_len ${len} with ${buf.length} bytes`);
  const type = buf.readUInt16LE(4);
  const tree: Tree = {
    nlmsg: { type, flags: buf.readUInt16LE(6) },
    header: {
      kind: 'nfgenmsg',
      family: buf.readUInt8(16),
      version: buf.readUInt8(17),
      resId: buf.readUInt16BE(18),
    },
    attrs: decodeAttrs(buf.subarray(20, len), layoutOf(type)),
  };
  const trailing = buf.subarray((len + 3) & ~3);
  if (trailing.length > 0) tree.trailingHex = trailing.toString('hex');
  return tree;
}

export interface NftFixtureCase {
  name: string;
  setup: string;
  command: string;
  note?: string;
  exitCode: number | null;
  stderr?: string;
  begin: string;
  messages: string[];
  end: string;
}

export const NFT_FIXTURES_PATH = path.join(__dirname, '..', 'fixtures', 'nft-requests.json');

export function loadNftFixtures(file: string = NFT_FIXTURES_PATH): {
  nft: string;
  kernel: string;
  cases: NftFixtureCase[];
} {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

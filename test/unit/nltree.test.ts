import {
  decodeHex,
  decodeRequest,
  diffTrees,
  findAttr,
  loadTcFixtures,
  payload,
  remapIfindex,
  renderTree,
  tcFixture,
  NlAttr,
  Tree,
} from '../helpers/nltree';

const RTM_NEWQDISC = 36;
const RTM_NEWTFILTER = 44;
const RTM_NEWLINK = 16;

const str = (a: NlAttr | undefined) => payload(a).toString('latin1');

describe('nltree decoder on iproute2 fixtures', () => {
  const fixtures = loadTcFixtures();

  test('fixture file records psched, iproute2 version and every case decodes', () => {
    expect(fixtures.psched).toMatch(/^[0-9a-f]{8} [0-9a-f]{8} [0-9a-f]{8} [0-9a-f]{8}$/);
    expect(fixtures.iproute2).toMatch(/iproute2/);
    expect(fixtures.cases.length).toBeGreaterThan(10);
    for (const c of fixtures.cases) {
      const t = decodeHex(c.hex);
      // no layout-described nest fell back to hex
      expect(renderTree(t)).not.toMatch(/malformed/);
      expect(diffTrees(t, decodeHex(c.hex))).toEqual([]);
    }
  });

  test('tbf_basic: RTM_NEWQDISC, TCA_KIND "tbf", TCA_OPTIONS with a 36-byte TCA_TBF_PARMS', () => {
    const c = tcFixture('tbf_basic');
    const t = decodeHex(c.hex);
    expect(t.nlmsg.type).toBe(RTM_NEWQDISC);
    // NLM_F_REQUEST|NLM_F_ACK|NLM_F_EXCL|NLM_F_CREATE
    expect(t.nlmsg.flags).toBe(0x1 | 0x4 | 0x200 | 0x400);
    expect(t.header).toEqual({
      kind: 'tcmsg',
      family: 0,
      ifindex: c.ifindex.v0,
      handle: 0x10000,
      parent: 0xffffffff,
      info: 0,
    });
    expect(str(findAttr(t, [1]))).toBe('tbf\0');
    const opts = findAttr(t, [2]);
    expect(opts?.name).toBe('TCA_OPTIONS');
    expect(opts?.nested).toBeDefined();
    const parms = findAttr(t, [2, 1]);
    expect(parms?.name).toBe('TCA_TBF_PARMS');
    expect(payload(parms)).toHaveLength(36);
    // struct tc_tbf_qopt starts with struct tc_ratespec: cell_log, linklayer, overhead, ..., rate
    expect(payload(parms).readUInt32LE(8)).toBe(10_000_000 / 8);
    expect(payload(findAttr(t, [2, 6])).readUInt32LE(0)).toBe(32 * 1024); // TCA_TBF_BURST
    expect(payload(findAttr(t, [2, 2]))).toHaveLength(1024); // TCA_TBF_RTAB
  });

  test('tbf_rate64: rates above 32 bits travel in TCA_TBF_RATE64', () => {
    const t = decodeHex(tcFixture('tbf_rate64').hex);
    const rate64 = findAttr(t, [2, 4]);
    expect(rate64?.name).toBe('TCA_TBF_RATE64');
    expect(payload(rate64).readBigUInt64LE(0)).toBe(40_000_000_000n / 8n);
  });

  test('u32_mirred_ifb: mirred nest inside TCA_U32_ACT redirects to the ifb index', () => {
    const c = tcFixture('u32_mirred_ifb');
    const t = decodeHex(c.hex);
    expect(t.nlmsg.type).toBe(RTM_NEWTFILTER);
    expect(t.header.kind).toBe('tcmsg');
    if (t.header.kind !== 'tcmsg') return;
    expect(t.header.ifindex).toBe(c.ifindex.v0);
    expect(t.header.parent).toBe(0xffff0000);
    expect(t.header.info >>> 16).toBe(1); // prio
    expect(t.header.info & 0xffff).toBe(0x0300); // htons(ETH_P_ALL)
    expect(str(findAttr(t, [1]))).toBe('u32\0');

    const act = findAttr(t, [2, 7]);
    expect(act?.name).toBe('TCA_U32_ACT');
    expect(act?.nested).toHaveLength(1);
    const first = act!.nested![0];
    expect(first.type).toBe(1);
    expect(first.nested).toBeDefined();
    expect(str(findAttr(first.nested!, [1]))).toBe('mirred\0');
    const actOpts = findAttr(first.nested!, [2]);
    expect(actOpts?.name).toBe('TCA_ACT_OPTIONS');
    expect(actOpts?.nestedFlag).toBe(true); // iproute2 sets NLA_F_NESTED on TCA_ACT_OPTIONS
    const parms = payload(findAttr(actOpts!.nested!, [2])); // TCA_MIRRED_PARMS, struct tc_mirred
    expect(parms).toHaveLength(28);
    expect(parms.readInt32LE(8)).toBe(4); // tc_gen.action = TC_ACT_STOLEN
    expect(parms.readInt32LE(20)).toBe(1); // eaction = TCA_EGRESS_REDIR
    expect(parms.readUInt32LE(24)).toBe(c.ifindex.ifbx);
  });

  test('remapIfindex substitutes header and mirred indexes', () => {
    const c = tcFixture('u32_mirred_ifb');
    const t = decodeHex(c.hex);
    const moved = remapIfindex(t, { [c.ifindex.v0]: 42, [c.ifindex.ifbx]: 43 });
    const d = diffTrees(t, moved);
    expect(d).toHaveLength(2);
    expect(d[0]).toBe(`tcmsg.ifindex: a=${c.ifindex.v0} b=42`);
    expect(d[1]).toMatch(/TCA_MIRRED_PARMS\(2\): payload differs .*first difference at byte 24/);
    expect(moved.header).toMatchObject({ kind: 'tcmsg', ifindex: 42 });
    expect(diffTrees(remapIfindex(moved, { 42: c.ifindex.v0, 43: c.ifindex.ifbx }), t)).toEqual([]);
  });

  test('pedit keys: TCA_PEDIT_KEYS_EX -> TCA_PEDIT_KEY_EX nests', () => {
    const t = decodeHex(tcFixture('pedit_dscp_v4').hex);
    const acts = findAttr(t, [2, 7])!.nested!;
    expect(acts.map((a) => str(findAttr(a.nested!, [1])))).toEqual(['pedit\0', 'csum\0']);
    const keysEx = findAttr(acts[0].nested!, [2, 5]);
    expect(keysEx?.name).toBe('TCA_PEDIT_KEYS_EX');
    expect(keysEx?.nested?.length).toBeGreaterThan(0);
    for (const k of keysEx!.nested!) {
      expect(k.type).toBe(6);
      expect(k.nested!.map((x) => x.type).sort()).toEqual([1, 2]);
    }
  });

  test('link request decodes ifinfomsg and IFLA_LINKINFO', () => {
    const t = decodeHex(tcFixture('link_ifb').hex);
    expect(t.nlmsg.type).toBe(RTM_NEWLINK);
    expect(t.header.kind).toBe('ifinfomsg');
    expect(str(findAttr(t, [3]))).toBe('nqifb0\0');
    expect(payload(findAttr(t, [4])).readUInt32LE(0)).toBe(1400);
    // ip sends IFLA_INFO_KIND without the terminating NUL (addattr_l(..., strlen(type)))
    expect(str(findAttr(t, [18, 1]))).toBe('ifb');
  });
});

describe('nltree diff and render', () => {
  const base = () => decodeHex(tcFixture('tbf_basic').hex);

  test('seq and pid are ignored; a changed rate is reported with its path', () => {
    const buf = Buffer.from(tcFixture('tbf_basic').hex, 'hex');
    const other = Buffer.from(buf);
    other.writeUInt32LE(12345, 8); // seq
    other.writeUInt32LE(777, 12); // pid
    expect(diffTrees(decodeRequest(buf), decodeRequest(other))).toEqual([]);

    const changed = Buffer.from(buf);
    // TCA_TBF_PARMS payload starts at 16 (nlmsghdr) + 20 (tcmsg) + 8 (TCA_KIND) + 4 + 4
    changed.writeUInt32LE(999, 16 + 20 + 8 + 4 + 4 + 8);
    const d = diffTrees(decodeRequest(buf), decodeRequest(changed));
    expect(d).toHaveLength(1);
    expect(d[0]).toMatch(
      /^\/TCA_OPTIONS\(2\)\/TCA_TBF_PARMS\(1\): payload differs \(36 bytes; first difference at byte 8/,
    );
  });

  test('missing attributes, flags and NLA_F_NESTED differences are reported', () => {
    const a = base();
    const b: Tree = JSON.parse(JSON.stringify(a));
    b.nlmsg.flags &= ~0x200;
    b.attrs[1].nestedFlag = true;
    b.attrs[1].nested = b.attrs[1].nested!.filter((x) => x.type !== 6);
    const d = diffTrees(a, b);
    expect(d).toEqual([
      expect.stringMatching(/^nlmsg_flags: a=0x605 .* b=0x405/),
      '/TCA_OPTIONS(2): NLA_F_NESTED clear in a, set in b',
      '/TCA_OPTIONS(2)/TCA_TBF_BURST(6): only in a',
    ]);
    expect(diffTrees(a, b, { ignoreNestedFlag: true })).toHaveLength(2);
  });

  test('order is ignored unless strictOrder', () => {
    const a = base();
    const b: Tree = JSON.parse(JSON.stringify(a));
    b.attrs[1].nested!.reverse();
    expect(diffTrees(a, b)).toEqual([]);
    expect(diffTrees(a, b, { strictOrder: true })).toEqual([
      expect.stringMatching(/^\/TCA_OPTIONS\(2\): attribute order differs/),
    ]);
  });

  test('renderTree shows names, strings, numbers and nesting', () => {
    const text = renderTree(decodeHex(tcFixture('u32_mirred_ifb').hex));
    expect(text).toContain('RTM_NEWTFILTER (44) flags=0x605 REQUEST|ACK|EXCL|CREATE');
    expect(text).toContain('TCA_KIND (1) "u32"');
    expect(text).toMatch(/\n {2}TCA_U32_ACT \(7\)( \+NESTED)? \{\n {4}#1 \(1\)/);
    expect(text).toContain('TCA_ACT_KIND (1) "mirred"');
    expect(text).toContain('TCA_ACT_OPTIONS (2) +NESTED {');
    expect(text).toMatch(/TCA_MIRRED_PARMS \(2\) \[28 bytes\]/);
  });

  test('truncated buffers are rejected', () => {
    const buf = Buffer.from(tcFixture('tbf_basic').hex, 'hex');
    expect(() => decodeRequest(buf.subarray(0, 100))).toThrow(/nlmsg_len/);
  });
});

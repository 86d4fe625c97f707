// Which keys an operation's object may carry (lib/netlink/known-fields.ts): each kind's own
// fields, its family's, and what a read adds; a misspelt key is refused with a suggestion.
import { builtByNetqos, checkKnownFields } from '../../lib/netlink/known-fields';
import { ACTION_KINDS, CLASS_KINDS, FILTER_KINDS, QDISC_KINDS } from '../../lib/netlink/kinds';
import type { Operation } from '../../lib';

const refusal = (ops: unknown[]) => {
  try {
    checkKnownFields(ops);
  } catch (e) {
    return { code: (e as { code: string }).code, message: (e as Error).message };
  }
  return undefined;
};

test('operations of every family pass with their own fields', () => {
  const ops: Operation[] = [
    {
      op: 'add',
      qdisc: {
        dev: 'cali0',
        parent: 'root',
        handle: '1:',
        kind: 'tbf',
        rate: 1e7,
        burst: 12_500,
        limit: 43_750,
      },
    },
    { op: 'add', class: { dev: 'cali0', parent: '1:', classid: '1:10', kind: 'htb', rate: 1e6, ceil: 2e6 } },
    {
      op: 'add',
      filter: {
        dev: 'cali0',
        parent: 'ingress',
        priority: 1,
        protocol: 'ip',
        kind: 'flower',
        ipProto: 'tcp',
        dstPort: 80,
        actions: [{ kind: 'gact', control: 'drop', cookie: 'ab' }],
      },
    },
    { op: 'add', chain: { dev: 'cali0', parent: 'ingress', chain: 3 } },
    { op: 'add', link: { kind: 'ifb', name: 'nqifb0', up: true } },
    { op: 'change', link: { name: 'nqifb0', mtu: 1400 } },
    { op: 'delete', qdisc: { dev: 'cali0', parent: 'root' } },
    { op: 'delete', filter: { dev: 'cali0', parent: 'ingress', priority: 1 } },
  ];
  expect(refusal(ops)).toBeUndefined();
});

test('what a read adds (type, ifindex, statistics, leaf, action index) is accepted back', () => {
  const stats = { bytes: 1, packets: 1, drops: 0, overlimits: 0, requeues: 0, backlog: 0, qlen: 0 };
  expect(
    refusal([
      {
        op: 'replace',
        qdisc: {
          type: 'qdisc',
          dev: 'a0',
          ifindex: 2,
          parent: 'root',
          handle: '1:',
          kind: 'htb',
          r2q: 10,
          stats,
        },
      },
      {
        op: 'change',
        class: {
          type: 'class',
          dev: 'a0',
          ifindex: 2,
          parent: '1:',
          classid: '1:1',
          leaf: '10:',
          kind: 'htb',
          rate: 1,
          stats,
        },
      },
      {
        op: 'add',
        filter: {
          type: 'filter',
          dev: 'a0',
          ifindex: 2,
          parent: 'ingress',
          priority: 1,
          protocol: 'all',
          handle: 1,
          chain: 0,
          kind: 'matchall',
          actions: [
            {
              kind: 'mirred',
              index: 3,
              stats,
              control: 'stolen',
              direction: 'egress',
              mode: 'redirect',
              dev: 'x',
            },
          ],
        },
      },
      {
        op: 'delete',
        link: {
          type: 'link',
          index: 7,
          name: 'v0',
          kind: 'veth',
          up: true,
          flags: 4099,
          mtu: 1500,
          linkIndex: 8,
          address: '02:00:00:00:00:01',
        },
      },
    ]),
  ).toBeUndefined();
});

test('a misspelt field is refused, naming the operation, the field and the likely one', () => {
  const tbf = { dev: 'cali0', parent: 'root', kind: 'tbf', rate: 1e7, limit: 1000 };
  expect(
    refusal([
      { op: 'add', qdisc: { ...tbf, burst: 1000 } },
      { op: 'add', qdisc: { ...tbf, burts: 1000 } },
    ]),
  ).toEqual({
    code: 'ERR_NETQOS_INVALID_ARGUMENT',
    message: 'ops[1].qdisc.burts: is not a field of the tbf qdisc kind (did you mean burst?)',
  });
  expect(
    refusal([{ op: 'add', filter: { dev: 'c', parent: 'ingress', kind: 'flower', dst_port: 80 } }])?.message,
  ).toBe('ops[0].filter.dst_port: is not a field of the flower filter kind (did you mean dstPort?)');
  expect(
    refusal([
      {
        op: 'add',
        filter: { dev: 'c', parent: 'ingress', kind: 'u32', actions: [{ kind: 'police', rates: 1 }] },
      },
    ])?.message,
  ).toBe('ops[0].filter.actions[0].rates: is not a field of the police action kind (did you mean rate?)');
  // Far from every field: the list of what is allowed.
  expect(
    refusal([{ op: 'add', qdisc: { dev: 'c', parent: 'ingress', kind: 'ingress', rate: 1 } }])?.message,
  ).toBe(
    'ops[0].qdisc.rate: is not a field of the ingress qdisc kind (allowed: kind, dev, parent, handle, type, ifindex, stats)',
  );
  // A field of another kind is not one of this kind.
  expect(
    refusal([{ op: 'add', qdisc: { dev: 'c', parent: 'root', kind: 'pfifo', rate: 1 } }])?.message,
  ).toMatch(/^ops\[0\]\.qdisc\.rate: is not a field of the pfifo qdisc kind \(allowed: /);
  // Without a kind, the family's own fields.
  expect(refusal([{ op: 'delete', chain: { dev: 'c', parent: 'ingress', chian: 1 } }])?.message).toBe(
    'ops[0].chain.chian: is not a field of a chain (did you mean chain?)',
  );
});

test('a hostile key is quoted short; undefined values and unknown kinds are left alone', () => {
  const long = 'k'.repeat(10_000);
  const message = refusal([
    { op: 'add', qdisc: { dev: 'c', parent: 'root', kind: 'tbf', [long]: 1 } },
  ])!.message;
  expect(message.length).toBeLessThan(400);
  expect(message).toMatch(/^ops\[0\]\.qdisc\["k{64}"\]: is not a field of the tbf qdisc kind/);
  expect(
    refusal([{ op: 'add', qdisc: { dev: 'c', parent: 'root', kind: 'tbf', rate: 1, burts: undefined } }]),
  ).toBeUndefined();
  // A kind that is not a string is the engine's to refuse: no check of the fields beside it.
  expect(
    refusal([{ op: 'add', qdisc: { dev: 'c', kind: { toString: () => 'tbf' }, rate: 1 } }]),
  ).toBeUndefined();
  // The engine names the kind it does not know, and the family of a non-object.
  expect(
    refusal([
      { op: 'add', qdisc: { dev: 'c', kind: 'nonesuch', anything: 1 } },
      { op: 'add', qdisc: 5 },
      null,
    ]),
  ).toBeUndefined();
});

test('every registered kind lists its fields once, and not kind', () => {
  const families = [QDISC_KINDS, CLASS_KINDS, FILTER_KINDS, ACTION_KINDS];
  for (const table of families) {
    for (const [kind, d] of table) {
      expect([kind, new Set(d.fields).size]).toEqual([kind, d.fields.length]);
      expect(d.fields).not.toContain('kind');
    }
  }
  // Spot checks against the kinds' documented fields.
  expect(QDISC_KINDS.get('tbf')!.fields).toEqual(
    expect.arrayContaining(['rate', 'burst', 'bufferTicks', 'limit']),
  );
  expect(FILTER_KINDS.get('flower')!.fields).toEqual(expect.arrayContaining(['dstPort', 'srcIp', 'classid']));
});

test('getters are not run (the engine reads each field once, itself)', () => {
  let reads = 0;
  const qdisc = { dev: 'c', parent: 'root', kind: 'tbf', rate: 1 };
  Object.defineProperty(qdisc, 'burts', { enumerable: true, get: () => ++reads });
  const op = {};
  Object.defineProperty(op, 'qdisc', { enumerable: true, get: () => (++reads, { kind: 'tbf', burts: 1 }) });
  expect(refusal([{ op: 'add', qdisc }, op])).toBeUndefined();
  expect(reads).toBe(0);
});

test('a list netqos built itself is passed without a look; a copy of it is checked', () => {
  const ops = [{ op: 'add', qdisc: { dev: 'c', parent: 'root', kind: 'tbf', rate: 1, burts: 1 } }];
  expect(refusal(builtByNetqos(ops))).toBeUndefined();
  expect(refusal([...ops])?.message).toMatch(/^ops\[0\]\.qdisc\.burts: /);
});

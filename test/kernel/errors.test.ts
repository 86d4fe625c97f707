// Every mistake a caller can make comes back as a NetlinkError (kernel and socket failures) or
// a TypeError (malformed operations), naming what was wrong, with the kernel's own words.
import { execFileSync } from 'child_process';
import * as path from 'path';
import { NetlinkError, openNetlink, type NetlinkHandle } from '../../lib';
import { tempNetns, type Netns } from '../helpers/netns';

let ns: Netns;
let nl: NetlinkHandle;

beforeAll(() => {
  ns = tempNetns().veth('v0', 'v1');
  nl = openNetlink({ netns: ns.name });
});
afterAll(() => nl.close());

async function failure(promise: Promise<unknown>): Promise<NetlinkError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(NetlinkError);
  return err as NetlinkError;
}

test('a missing interface: ENODEV naming it', async () => {
  const err = await failure(
    nl.apply([
      { op: 'add', qdisc: { dev: 'nosuch0', kind: 'tbf', rate: 1e6, burst: 10_000, limit: 10_000 } },
    ]),
  );
  expect(err).toMatchObject({ code: 'ENODEV', errno: 19, index: 0 });
  expect(err.message).toContain('"nosuch0" does not exist');
});

test('a missing namespace: ENOENT naming the path', () => {
  let err: unknown;
  try {
    openNetlink({ netns: 'nqt-no-such-namespace' });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(NetlinkError);
  expect(err).toMatchObject({ code: 'ENOENT', errno: 2 });
  expect((err as Error).message).toContain('/var/run/netns/nqt-no-such-namespace');
});

test('a classifier this kernel lacks: the kernel says so', async () => {
  await nl.apply([{ op: 'replace', qdisc: { dev: 'v1', kind: 'clsact' } }]);
  const err = await failure(
    nl.apply([
      {
        op: 'add',
        filter: { dev: 'v1', parent: 'egress', kind: 'matchall', actions: [{ kind: 'gact', control: 'ok' }] },
      },
    ]),
  );
  expect(['ENOENT', 'EOPNOTSUPP']).toContain(err.code);
  expect(err.kernelMessage).toMatch(/classifier not found/i);
});

test('an action this kernel lacks: the kernel says so', async () => {
  const err = await failure(
    nl.apply([
      {
        op: 'add',
        filter: {
          dev: 'v1',
          parent: 'egress',
          kind: 'u32',
          priority: 9,
          actions: [{ kind: 'police', rate: 1e6, burst: 10_000, exceed: 'drop' }],
        },
      },
    ]),
  );
  expect(['ENOENT', 'EOPNOTSUPP']).toContain(err.code);
  expect(err.kernelMessage).toMatch(/Failed to load TC action module/);
});

test('parameters the kernel rejects: its extended-ack text, and which operation', async () => {
  let err = await failure(
    nl.apply([
      { op: 'add', qdisc: { dev: 'v0', parent: '5:', kind: 'tbf', rate: 1e6, burst: 10_000, limit: 10_000 } },
    ]),
  );
  expect(err).toMatchObject({ code: 'ENOENT', kernelMessage: 'Failed to find specified qdisc' });

  err = await failure(
    nl.apply([
      { op: 'replace', qdisc: { dev: 'v0', kind: 'ingress' } },
      { op: 'add', filter: { dev: 'v0', parent: 'ingress', kind: 'u32', priority: 3, protocol: 'ip' } },
      { op: 'add', filter: { dev: 'v0', parent: 'ingress', kind: 'u32', priority: 3, protocol: 'ipv6' } },
    ]),
  );
  expect(err).toMatchObject({
    code: 'EINVAL',
    index: 2,
    kernelMessage: 'Protocol mismatch for filter with specified priority',
  });
  expect(err.operation).toMatchObject({ op: 'add', filter: { protocol: 'ipv6' } });
  expect(err.message).toContain('operation 2');

  err = await failure(nl.apply([{ op: 'add', qdisc: { dev: 'v0', kind: 'ingress' } }]));
  expect(err.code).toBe('EEXIST');
});

test('a malformed operation is a TypeError naming the field, and nothing is sent', async () => {
  const before = nl.counters().messages;
  const bad = [
    { op: 'add', qdisc: { dev: 'v0', kind: 'tbf', rate: 1e6, burst: 10_000, limit: 10_000 } },
    { op: 'add', qdisc: { dev: 'v0', kind: 'tbf', rate: -5, burst: 10_000, limit: 10_000 } },
  ];
  await expect(nl.apply(bad as never)).rejects.toThrow(
    /ops\[1\]\.qdisc\.rate: -5 is not a non-negative integer/,
  );
  await expect(nl.apply([{ op: 'add', qdisc: { dev: 'v0', kind: 'red' } } as never])).rejects.toThrow(
    /ops\[0\]\.qdisc\.kind: "red" is not a qdisc kind netqos knows \(allowed: tbf, ingress, clsact, htb, .*netem\)/,
  );
  await expect(
    nl.apply([{ op: 'add', qdisc: { dev: 'v0', kind: 'tbf', rate: 1e6, burst: 1 } } as never]),
  ).rejects.toThrow(/limit \(queue bytes\) or latencyUs/);
  try {
    nl.applySync([{ op: 'upsert', qdisc: { dev: 'v0', kind: 'ingress' } } as never]);
    throw new Error('expected a TypeError');
  } catch (e) {
    expect((e as Error).name).toBe('TypeError'); // from the addon's realm, not jest's sandbox
    expect(e).toMatchObject({ code: 'ERR_NETQOS_INVALID_ARGUMENT' });
    expect((e as Error).message).toContain(
      'ops[0].op: "upsert" is not an operation (allowed: add, replace, change, delete)',
    );
  }
  expect(nl.counters().messages).toBe(before);
});

test('without CAP_NET_ADMIN: EPERM', () => {
  // An unprivileged process inside the namespace (it cannot enter one by itself).
  const lib = path.resolve(__dirname, '../../dist/lib');
  const script = `
    const { openNetlink } = require(${JSON.stringify(lib)});
    const nl = openNetlink();
    try { nl.applySync([{ op: 'add', qdisc: { dev: 'v0', parent: 'root', kind: 'tbf', rate: 1e6, burst: 10000, limit: 10000 } }]); console.log('{"applied":true}'); }
    catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, errno: e.errno, message: e.message })); }`;
  const out = execFileSync(
    'ip',
    [
      'netns',
      'exec',
      ns.name,
      'setpriv',
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      '--inh-caps=-all',
      '--bounding-set=-all',
      process.execPath,
      '-e',
      script,
    ],
    { encoding: 'utf8' },
  );
  expect(JSON.parse(out)).toMatchObject({ name: 'NetlinkError', code: 'EPERM', errno: 1 });
  expect(ns.tcJson('qdisc', 'show', 'dev', 'v0', 'root')[0].kind).not.toBe('tbf');
});

test('a closed handle says so', async () => {
  const h = openNetlink({ netns: ns.name });
  h.close();
  await expect(h.apply([])).rejects.toMatchObject({ code: 'EBADF' });
});

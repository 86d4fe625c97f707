// The handles and lock files the QoS calls keep between calls (lib/qos/handles.ts, locks.ts):
// a kept handle never reaches a namespace other than the one named now, never reaches an
// interface by a name it had before, and neither handles nor lock files outlive their idle time.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { applyQos, applyQosSync, type QosTarget } from '../../lib';
import { namespaceKey } from '../../lib/qos/arguments';
import { closeIdleHandles, HANDLE_KEEP_MS } from '../../lib/qos/handles';
import { closeIdleLockFiles, LOCK_DIR, LOCK_KEEP_MS } from '../../lib/qos/locks';
import { ipIn, sh, tempNetns, type Netns } from '../helpers/netns';

const Q = 'qos.projectcalico.org/';
const rate = (r: string) => ({ [`${Q}ingressBandwidth`]: r });
const target = (ns: Netns | string, ifname: string, annotations: Record<string, string>): QosTarget => ({
  ifname,
  netns: typeof ns === 'string' ? ns : ns.name,
  annotations,
});
/** The root TBF's rate on a device, as tc prints it (undefined: none). */
const tbfRate = (ns: string, dev: string): number | undefined =>
  JSON.parse(sh('tc', ['-n', ns, '-j', 'qdisc', 'show', 'dev', dev, 'root']) || '[]').find(
    (q: { kind: string }) => q.kind === 'tbf',
  )?.options?.rate;
const fdCount = () => fs.readdirSync('/proc/self/fd').length;
const lockFileOf = (netns: string) =>
  path.join(LOCK_DIR, `netns-${namespaceKey(netns).replace(/[^0-9A-Za-z]/g, '-')}.lock`);

afterEach(() => {
  closeIdleHandles();
  closeIdleLockFiles();
});

test('a namespace deleted and made again under its name: the next call reaches the new one', async () => {
  const ns = tempNetns('nqh').veth('cali0', 'eth0');
  await applyQos([target(ns, 'cali0', rate('10M'))]);
  applyQosSync([target(ns, 'cali0', rate('20M'))]); // through the kept handle
  expect(tbfRate(ns.name, 'cali0')).toBe(2_500_000);
  // The kept handle's socket keeps the old namespace alive; the name now means another one.
  sh('ip', ['netns', 'del', ns.name]);
  sh('ip', ['netns', 'add', ns.name]);
  ipIn(ns.name, 'link', 'add', 'cali0', 'type', 'veth', 'peer', 'name', 'eth0');
  ipIn(ns.name, 'link', 'set', 'cali0', 'up');
  expect(tbfRate(ns.name, 'cali0')).toBeUndefined();
  expect((await applyQos([target(ns, 'cali0', rate('30M'))])).sent).toBe(1);
  expect(tbfRate(ns.name, 'cali0')).toBe(3_750_000);
  expect(applyQosSync([target(ns, 'cali0', rate('40M'))]).sent).toBe(1);
  expect(tbfRate(ns.name, 'cali0')).toBe(5_000_000);
});

test("interfaces swap names between calls: each call's QoS lands on the interface named now", async () => {
  const ns = tempNetns('nqh').veth('cali0', 'eth0').veth('cali1', 'eth1');
  const index0 = ns.ifindex('cali0');
  const index1 = ns.ifindex('cali1');
  await applyQos([target(ns, 'cali0', rate('10M'))]);
  for (const [from, to] of [
    ['cali0', 'tmp0'],
    ['cali1', 'cali0'],
    ['tmp0', 'cali1'],
  ]) {
    ns.ip('link', 'set', from, 'down');
    ns.ip('link', 'set', from, 'name', to);
    ns.ip('link', 'set', to, 'up');
  }
  expect([ns.ifindex('cali0'), ns.ifindex('cali1')]).toEqual([index1, index0]);
  await applyQos([target(ns, 'cali0', rate('20M'))]);
  applyQosSync([target(ns, 'cali1', rate('30M'))]);
  expect([tbfRate(ns.name, 'cali0'), tbfRate(ns.name, 'cali1')]).toEqual([2_500_000, 3_750_000]);
  expect(ns.ifindex('cali0')).toBe(index1);
});

test('kept handles and lock files are closed once idle, whatever the number of namespaces', async () => {
  closeIdleHandles();
  closeIdleLockFiles();
  const before = fdCount();
  const spaces = [0, 1, 2].map(() => tempNetns('nqh').veth('cali0', 'eth0'));
  for (let round = 0; round < 3; round++)
    for (const ns of spaces) await applyQos([target(ns, 'cali0', rate(`${10 + round}M`))]);
  // Per namespace a route socket, an nftables socket and a lock file, however many calls.
  expect(fdCount() - before).toBeLessThanOrEqual(3 * 3);
  expect(spaces.every((ns) => fs.existsSync(lockFileOf(ns.name)))).toBe(true);
  const deadline = Date.now() + 3 * Math.max(HANDLE_KEEP_MS, LOCK_KEEP_MS);
  while (fdCount() > before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  expect(fdCount()).toBe(before);
  expect(spaces.filter((ns) => fs.existsSync(lockFileOf(ns.name)))).toEqual([]);
}, 30_000);

test('a failed call does not leave its handle to the next', async () => {
  const ns = tempNetns('nqh').veth('cali0', 'eth0');
  closeIdleHandles();
  closeIdleLockFiles();
  const before = fdCount();
  await expect(applyQos([target(ns, 'nosuch0', rate('10M'))])).rejects.toThrow(/nosuch0/);
  // The lock file stays open for the next call; no socket does.
  expect(fdCount() - before).toBe(1);
  await applyQos([target(ns, 'cali0', rate('10M'))]);
  expect(tbfRate(ns.name, 'cali0')).toBe(1_250_000);
});

test('a lock file unlinked while kept: the next call locks the one at the path, and waits for its holder', async () => {
  const ns = tempNetns('nqh').veth('cali0', 'eth0');
  await applyQos([target(ns, 'cali0', rate('10M'))]);
  const file = lockFileOf(ns.name);
  // Another process (an older netqos unlinks its file on release) replaces the file, and holds it.
  fs.unlinkSync(file);
  const holder = spawn('flock', ['-x', file, 'sleep', '1']);
  try {
    while (!fs.existsSync(file)) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    await applyQos([target(ns, 'cali0', rate('20M'))]);
    expect(Date.now() - t0).toBeGreaterThan(500);
    expect(tbfRate(ns.name, 'cali0')).toBe(2_500_000);
  } finally {
    holder.kill();
  }
});

test('a process that ends within the keeping time leaves no lock file', () => {
  const ns = tempNetns('nqh').veth('cali0', 'eth0');
  const dist = path.resolve(__dirname, '..', '..', 'dist');
  const code = `require(${JSON.stringify(dist)} + '/lib').applyQosSync([{ ifname: 'cali0', netns: ${JSON.stringify(ns.name)}, annotations: { '${Q}ingressBandwidth': '10M' } }])`;
  sh(process.execPath, ['-e', code]);
  expect(tbfRate(ns.name, 'cali0')).toBe(1_250_000);
  expect(fs.existsSync(lockFileOf(ns.name))).toBe(false);
});

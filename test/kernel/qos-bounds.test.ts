// Validation accepts exactly what the engine applies: rates to the documented 1P apply and read
// back (a second plan sends nothing), in both TBF profiles; what the engine or the kernel cannot
// hold is refused by `plan` and `apply` alike, with exit 2, before anything is sent.
import { spawnSync } from 'child_process';
import * as path from 'path';
import { applyQos, planQos, clearQos } from '../../lib';
import { tempNetns, type Netns } from '../helpers/netns';

const CLI = path.resolve(__dirname, '..', '..', 'dist/lib/cli/main.js');
const Q = 'qos.projectcalico.org/';
let ns: Netns;

beforeAll(() => {
  ns = tempNetns('nqb').veth('cali0', 'eth0');
});

const netqos = (...args: string[]) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

test.each([
  ['1T both ways (the queue limit passed 32 bits)', { ingressBandwidth: '1T', egressBandwidth: '1T' }],
  ['1P both ways (the default bucket too)', { ingressBandwidth: '1P', egressBandwidth: '1P' }],
  ['1P with the largest burst', { ingressBandwidth: '1P', ingressBurst: '34359738360' }],
  [
    '1P with a peak rate of 1.01P',
    { ingressBandwidth: '1P', ingressPeakrate: '1010T', ingressMinburst: '100M' },
  ],
  ['1001 bit/s (not whole bytes)', { ingressBandwidth: '1001' }],
  ['a peak rate of 1010 bit/s', { ingressBandwidth: '1k', ingressPeakrate: '1010' }],
  ['the longest bucket at 1k', { ingressBandwidth: '1k', ingressBurst: '274872' }],
])(
  '%s: applies, then nothing more to do, in both profiles',
  async (_name, fields) => {
    const annotations = Object.fromEntries(Object.entries(fields).map(([k, v]) => [`${Q}${k}`, v]));
    for (const profile of ['netqos', 'calico'] as const) {
      const target = { ifname: 'cali0', netns: ns.name, annotations };
      const r = await applyQos([target], { profile, mode: profile === 'calico' ? 'calico' : 'strict' });
      expect(r.sent).toBeGreaterThan(0);
      const again = await planQos([target], { profile, mode: profile === 'calico' ? 'calico' : 'strict' });
      expect(again.batches.flatMap((b) => b.operations)).toEqual([]);
      await clearQos({ ifname: 'cali0', netns: ns.name });
    }
  },
  60_000,
);

test('CLI: 1P plans and applies (exit 0), then plans no change', () => {
  const args = ['cali0', '--netns', ns.name, '-a', `${Q}ingressBandwidth=1P`, '-a', `${Q}egressBandwidth=1P`];
  expect(netqos('plan', ...args)).toMatchObject({ code: 0 });
  expect(netqos('apply', ...args)).toMatchObject({ code: 0, stderr: '' });
  expect(netqos('plan', ...args)).toMatchObject({ code: 0, stdout: 'no change\n' });
  expect(netqos('clear', 'cali0', '--netns', ns.name).code).toBe(0);
});

test.each([
  [
    'a packet burst of 10k at 1 packet/s (the engine refused it after plan said yes)',
    [`${Q}ingressPacketRate=1`, `${Q}ingressPacketBurst=10k`],
    `${Q}ingressPacketBurst: 10000 packets at 1 packets/s is a 10000.000 s bucket`,
  ],
  [
    'a minburst of 100M at 1010 bit/s (never read back as written)',
    [`${Q}egressBandwidth=1k`, `${Q}egressPeakrate=1010`, `${Q}egressMinburst=100M`],
    `${Q}egressMinburst: 100000000 bytes at 1010 bit/s`,
  ],
])('CLI: %s: plan and apply both refuse it, exit 2, nothing sent', (_name, pairs, message) => {
  const before = JSON.stringify(ns.tcJson('qdisc', 'show'));
  for (const cmd of ['plan', 'apply']) {
    const r = netqos(cmd, 'cali0', '--netns', ns.name, ...pairs.flatMap((p) => ['-a', p]));
    expect(r.stderr).toContain(message);
    expect(r.code).toBe(2);
  }
  expect(JSON.stringify(ns.tcJson('qdisc', 'show'))).toBe(before);
});

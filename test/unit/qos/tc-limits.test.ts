// Every bound in lib/qos/tc-limits.ts against the engine's own checks (its encoder, no kernel):
// at the bound the operation encodes, one past it the engine refuses. The annotation bounds and
// the policy derive from these constants, so this is what keeps validation and engine in step.
import { native } from '../../../lib/netlink/binding';
import type { Operation } from '../../../lib';
import {
  MAX_PACKET_BURST,
  MAX_TBF_BURST_BYTES,
  MAX_TBF_LIMIT_BYTES,
  MIN_RATE_BPS,
  bucketFits,
  largestBucket,
} from '../../../lib/qos/tc-limits';
import { QOS_LIMITS } from '../../../lib/qos/annotations';

const encodes = (op: Operation): boolean => {
  try {
    native().encode([op]);
    return true;
  } catch (e) {
    expect(e).toMatchObject({ code: 'ERR_NETQOS_INVALID_ARGUMENT' });
    return false;
  }
};
const tbf = (fields: Record<string, number>): Operation =>
  ({
    op: 'replace',
    qdisc: {
      kind: 'tbf',
      dev: 'x0',
      parent: 'root',
      handle: '4e51:',
      rate: 1e9,
      burst: 1e6,
      limit: 1e6,
      ...fields,
    },
  }) as Operation;
const police = (pktRate: number, pktBurst: number): Operation => ({
  op: 'add',
  filter: {
    kind: 'u32',
    dev: 'x0',
    parent: 'ingress',
    actions: [{ kind: 'police', pktRate, pktBurst, conform: 'ok', exceed: 'drop' }],
  },
});

test('TBF bucket, peak bucket and queue: 32 bits of bytes', () => {
  expect(encodes(tbf({ burst: MAX_TBF_BURST_BYTES }))).toBe(true);
  expect(encodes(tbf({ burst: MAX_TBF_BURST_BYTES + 1 }))).toBe(false);
  expect(encodes(tbf({ limit: MAX_TBF_LIMIT_BYTES }))).toBe(true);
  expect(encodes(tbf({ limit: MAX_TBF_LIMIT_BYTES + 1 }))).toBe(false);
  expect(encodes(tbf({ peakrate: 2e9, minburst: MAX_TBF_BURST_BYTES }))).toBe(true);
  expect(encodes(tbf({ peakrate: 2e9, minburst: MAX_TBF_BURST_BYTES + 1 }))).toBe(false);
});

test('the lowest rate: 8 bit/s', () => {
  expect(encodes(tbf({ rate: MIN_RATE_BPS }))).toBe(true);
  expect(encodes(tbf({ rate: MIN_RATE_BPS - 1 }))).toBe(false);
});

test.each([1, 3, 7, 100, 9_999, 10_000, 12_345_678])(
  'a packet bucket at %p packets/s: the largest that fits encodes, one more does not',
  (pps) => {
    const largest = largestBucket(pps);
    expect(bucketFits(largest, pps)).toBe(true);
    expect(encodes(police(pps, largest))).toBe(true);
    expect(encodes(police(pps, largest + 1))).toBe(false);
  },
);

test('a packet burst: 32 bits', () => {
  expect(encodes(police(1e9, MAX_PACKET_BURST))).toBe(true);
  expect(encodes(police(1e9, MAX_PACKET_BURST + 1))).toBe(false);
});

test("the annotations' largest burst is the TBF's largest bucket, in bits", () => {
  expect(QOS_LIMITS.burst.max).toBe(MAX_TBF_BURST_BYTES * 8);
});

test('the largest bucket at rates beyond 2^53 bytes of bucket: found, and it fits', () => {
  // 1 Pbit/s in bytes/s: a bucket of ~3.4e16 bytes, where counting down by one never moves.
  for (const perSecond of [1.25e14, 1.2624999999999919e14, 2 ** 60]) {
    const largest = largestBucket(perSecond);
    expect(bucketFits(largest, perSecond)).toBe(true);
    expect(largest).toBeGreaterThan(perSecond * 274);
  }
});

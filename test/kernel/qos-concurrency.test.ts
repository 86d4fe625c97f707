// Concurrent QoS calls on one interface: in one process they are serialized per namespace +
// interface (the later call wins, whole; a failed call's rollback never undoes another's
// success); two processes racing converge on the input of the one that changed last.
import { spawn, type ChildProcessWithoutNullStreams } from 'child_process';
import * as path from 'path';
import * as readline from 'readline';
import { applyQos, applyQosSync, clearQos, readQos, QosBusyError, type QosTarget } from '../../lib';
import { tempNetns, type Netns } from '../helpers/netns';

const Q = 'qos.projectcalico.org/';
const ROUNDS = 80;

/** Round r's two inputs: different rates, and the egress IFB present in one and not the other. */
function inputs(r: number): [Record<string, string>, Record<string, string>] {
  const a = { [`${Q}ingressBandwidth`]: `${10 + (r % 7)}M`, [`${Q}egressBandwidth`]: `${20 + (r % 5)}M` };
  const b = { [`${Q}ingressBandwidth`]: `${30 + (r % 3)}M` } as Record<string, string>;
  if (r % 2) b[`${Q}egressBandwidth`] = `${40 + (r % 4)}M`;
  return r % 3 ? [a, b] : [b, a];
}

/** The rates in force, as one string to compare with an input's. */
async function inForce(ns: Netns): Promise<string> {
  const s = await readQos({ ifname: 'cali0', netns: ns.name });
  return `${s.ingress.bandwidth ?? '-'}/${s.egress.bandwidth ?? '-'}/${s.egress.ifb ? 'ifb' : 'no-ifb'}`;
}
const expected = (a: Record<string, string>) => {
  const rate = (v: string | undefined) => (v ? String(parseInt(v, 10) * 1e6) : '-');
  return `${rate(a[`${Q}ingressBandwidth`])}/${rate(a[`${Q}egressBandwidth`])}/${a[`${Q}egressBandwidth`] ? 'ifb' : 'no-ifb'}`;
};

describe('in one process', () => {
  let ns: Netns;
  const target = (annotations: Record<string, string>): QosTarget => ({
    ifname: 'cali0',
    netns: ns.name,
    annotations,
  });
  beforeAll(() => {
    ns = tempNetns('nqc').veth('cali0', 'eth0');
  });

  test(`${ROUNDS} rounds of two applyQos at once: the later call's input, whole, every round`, async () => {
    const wrong: string[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const [first, second] = inputs(r);
      const settled = await Promise.allSettled([applyQos([target(first)]), applyQos([target(second)])]);
      const failed = settled.flatMap((x) => (x.status === 'rejected' ? [String(x.reason)] : []));
      const got = await inForce(ns);
      if (got !== expected(second) || failed.length)
        wrong.push(`round ${r}: ${got}, wanted ${expected(second)} ${failed.join('; ')}`);
    }
    expect(`${wrong.length} of ${ROUNDS} rounds wrong: ${wrong.slice(0, 3).join(' | ')}`).toBe(
      `0 of ${ROUNDS} rounds wrong: `,
    );
  }, 60_000);

  test("a failing call's rollback never undoes the other call's success", async () => {
    // A packet rate on tc needs act_police, which this kernel lacks: that batch fails and rolls back.
    const failing = { [`${Q}egressBandwidth`]: '5M', [`${Q}egressPacketRate`]: '100' };
    const wrong: string[] = [];
    for (let r = 0; r < 20; r++) {
      const good = inputs(r)[r % 2];
      const calls = [applyQos([target(failing)], { dataplane: 'tc' }), applyQos([target(good)])];
      if (r % 2) calls.reverse();
      const settled = await Promise.allSettled(calls);
      const failed = settled.filter((x) => x.status === 'rejected').length;
      // Started second, the good call wins; started first, the failure rolls back to it.
      const got = await inForce(ns);
      if (got !== expected(good) || failed !== 1)
        wrong.push(`round ${r}: ${got}, wanted ${expected(good)}, ${failed} failed`);
    }
    expect(`${wrong.length} of 20 rounds wrong: ${wrong.slice(0, 3).join(' | ')}`).toBe(
      '0 of 20 rounds wrong: ',
    );
  }, 60_000);

  test('a blocking call while a Promise call holds the interface: QosBusyError, nothing sent', async () => {
    const [a, b] = inputs(1);
    await applyQos([target(a)]);
    const pending = applyQos([target(b)]);
    expect(() => applyQosSync([target(a)])).toThrow(QosBusyError);
    expect(() => applyQosSync([target(a)])).toThrow(expect.objectContaining({ code: 'ERR_NETQOS_BUSY' }));
    await pending;
    expect(await inForce(ns)).toBe(expected(b));
    // Another interface is not held: the blocking call goes ahead (and waits for nobody).
    ns.veth('cali1', 'eth1');
    const other = applyQos([target(a)]);
    expect(applyQosSync([{ ...target(b), ifname: 'cali1' }]).sent).toBeGreaterThan(0);
    await other;
    await clearQos([
      { ifname: 'cali0', netns: ns.name },
      { ifname: 'cali1', netns: ns.name },
    ]);
  });
});

/** A child process applying the round's input on command; reports when its batch completed. */
const CHILD = `
const dist = process.argv[1];
const { applyQos } = require(dist + '/lib/qos');
const { NetlinkHandle } = require(dist + '/lib/handle');
let done = 0n;
const apply = NetlinkHandle.prototype.apply;
NetlinkHandle.prototype.apply = async function (...args) {
  const r = await apply.apply(this, args);
  done = process.hrtime.bigint(); // still inside applyQos, so inside its lock
  return r;
};
require('readline').createInterface({ input: process.stdin }).on('line', async (line) => {
  const { netns, annotations } = JSON.parse(line);
  done = 0n;
  try {
    await applyQos([{ ifname: 'cali0', netns, annotations }]);
    process.stdout.write(JSON.stringify({ done: String(done) }) + '\\n');
  } catch (e) {
    process.stdout.write(JSON.stringify({ error: String(e && e.message) }) + '\\n');
  }
});
`;

class Child {
  readonly proc: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterator<string>;

  constructor() {
    this.proc = spawn(process.execPath, ['-e', CHILD, path.resolve(__dirname, '..', '..', 'dist')]);
    this.lines = readline.createInterface({ input: this.proc.stdout })[Symbol.asyncIterator]();
  }

  async apply(
    netns: string,
    annotations: Record<string, string>,
  ): Promise<{ done?: string; error?: string }> {
    this.proc.stdin.write(`${JSON.stringify({ netns, annotations })}\n`);
    return JSON.parse((await this.lines.next()).value as string);
  }

  stop(): void {
    this.proc.stdin.end();
    this.proc.kill();
  }
}

describe('two processes', () => {
  test(`${ROUNDS} rounds of one applyQos each at once: the input of the one whose batch ran last`, async () => {
    const ns = tempNetns('nqc').veth('cali0', 'eth0');
    const children = [new Child(), new Child()];
    try {
      const wrong: string[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        const pair = inputs(r);
        const results = await Promise.all(children.map((c, i) => c.apply(ns.name, pair[i])));
        const failed = results.flatMap((x) => (x.error ? [x.error] : []));
        const last = BigInt(results[0].done ?? 0) > BigInt(results[1].done ?? 0) ? 0 : 1;
        const got = await inForce(ns);
        if (got !== expected(pair[last]) || failed.length)
          wrong.push(`round ${r}: ${got}, wanted ${expected(pair[last])} ${failed.join('; ')}`);
      }
      expect(`${wrong.length} of ${ROUNDS} rounds wrong: ${wrong.slice(0, 3).join(' | ')}`).toBe(
        `0 of ${ROUNDS} rounds wrong: `,
      );
    } finally {
      for (const c of children) c.stop();
    }
  }, 120_000);
});

// The QoS calls' arguments are checked before anything is read or sent: every malformed one is
// a QosArgumentError (code ERR_NETQOS_INVALID_ARGUMENT) naming the target and field, never a
// TypeError from inside, and never a call on this process's namespace instead of the one meant.
// The interface names do not exist anywhere, so even a missing check could change nothing.
import {
  applyQos,
  applyQosSync,
  clearQos,
  clearQosSync,
  planQos,
  planQosSync,
  readQos,
  QosArgumentError,
  quoteValue,
  openNetlink,
} from '../../../lib';

const IF = 'nqt-none0';
const LIMIT = { 'qos.projectcalico.org/ingressBandwidth': '10M' };
const target = (extra: Record<string, unknown> = {}) => ({ ifname: IF, annotations: LIMIT, ...extra });

/** The error of both twins: the Promise call rejects, the blocking one throws, the same way. */
async function refusal(
  call: (sync: boolean) => unknown,
): Promise<{ field: string; message: string; code: string }> {
  let fromSync: unknown;
  try {
    call(true);
  } catch (e) {
    fromSync = e;
  }
  const fromAsync = await Promise.resolve()
    .then(() => call(false))
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  expect(fromSync).toBeInstanceOf(QosArgumentError);
  expect(fromAsync).toBeInstanceOf(QosArgumentError);
  expect((fromAsync as Error).message).toBe((fromSync as Error).message);
  return fromSync as QosArgumentError;
}
const apply = (targets: unknown, options?: unknown) => (sync: boolean) =>
  sync ? applyQosSync(targets as never, options as never) : applyQos(targets as never, options as never);
const plan = (targets: unknown, options?: unknown) => (sync: boolean) =>
  sync ? planQosSync(targets as never, options as never) : planQos(targets as never, options as never);
const clear = (targets: unknown, options?: unknown) => (sync: boolean) =>
  sync ? clearQosSync(targets as never, options as never) : clearQos(targets as never, options as never);

describe('targets', () => {
  test.each([null, undefined, 5, 'cali0', { ifname: IF }])('%p is not an array of targets', async (t) => {
    const e = await refusal(apply(t));
    expect(e).toMatchObject({ field: 'targets', code: 'ERR_NETQOS_INVALID_ARGUMENT' });
    expect((await refusal(plan(t))).field).toBe('targets');
  });

  test.each([null, 5, [], 'x'])('targets[1] = %p is not a target object', async (t) => {
    expect((await refusal(apply([target(), t]))).field).toBe('targets[1]');
  });

  test.each([undefined, null, '', 5, 'a/b', 'has space', 'x'.repeat(16), '.', {}])(
    'ifname %p is refused, naming the field',
    async (ifname) => {
      const e = await refusal(apply([target({ ifname })]));
      expect(e.field).toBe('targets[0].ifname');
      expect(e.message).toContain('is not an interface name');
    },
  );

  test.each([5, {}, [], true, 0, '', 'ns\0evil', 'x'.repeat(5000)])(
    'netns %p never means this namespace: refused',
    async (netns) => {
      const e = await refusal(apply([target({ netns })]));
      expect(e.field).toBe('targets[0].netns');
      expect((await refusal(clear([{ ifname: IF, netns }]))).field).toBe('targets[0].netns');
      await expect(readQos([{ ifname: IF, netns } as never])).rejects.toThrow(QosArgumentError);
    },
  );

  test.each([null, undefined, [], 'x', 5])(
    'annotations %p is refused (null once cleared every netqos object silently)',
    async (annotations) => {
      const e = await refusal(apply([{ ifname: IF, annotations }]));
      expect(e.field).toBe('targets[0].annotations');
      expect(e.message).toContain('give {} for none');
    },
  );

  test('the same interface twice in one call is an error naming both indexes', async () => {
    const e = await refusal(apply([target(), target({ ifname: 'nqt-other0' }), target()]));
    expect(e.message).toBe(
      `targets[2]: names ${IF} again (targets[0] names it too): give each interface once`,
    );
    expect((await refusal(clear([{ ifname: IF }, { ifname: IF }]))).field).toBe('targets[1]');
    // In different namespaces it is two interfaces; reading one twice is fine.
    await expect(planQos([target(), target({ netns: 'nqt-none-ns' })])).rejects.not.toThrow(QosArgumentError);
  });

  test('clearQos and readQos take one target or an array; anything else is refused', async () => {
    expect((await refusal(clear(null))).field).toBe('targets');
    expect((await refusal(clear('cali0'))).field).toBe('targets');
    await expect(readQos(null as never)).rejects.toMatchObject({ field: 'targets' });
  });
});

describe('options', () => {
  test.each([
    [null, 'options'],
    ['fast', 'options'],
    [[], 'options'],
    [{ mode: 'lenient' }, 'options.mode'],
    [{ profile: 'cilium' }, 'options.profile'],
    [{ handles: {} }, 'options.handles'],
    [{ handles: [] }, 'options.handles'],
    [{ handles: new Map([['', {}]]) }, 'options.handles[""]'],
    [{ handles: new Map([[5, null]]) }, 'options.handles'],
  ])('%p is refused at %s', async (options, field) => {
    expect((await refusal(apply([target()], options))).field).toBe(field);
    expect((await refusal(clear([{ ifname: IF }], options))).field).toBe(field);
  });

  test('a real handle passes the check', async () => {
    const nl = openNetlink();
    try {
      // The interface does not exist: a conflict, not an argument error.
      await expect(planQos([target()], { handles: new Map([['', nl]]) })).rejects.toMatchObject({
        code: 'ERR_NETQOS_CONFLICT',
      });
    } finally {
      nl.close();
    }
  });
});

describe('quoting values in messages', () => {
  test('at most 64 characters of a value, then its length', () => {
    expect(quoteValue('10M')).toBe('"10M"');
    expect(quoteValue('x'.repeat(1 << 20))).toBe(`"${'x'.repeat(64)}"... (1048576 characters)`);
    expect([5, true, null, undefined, [1], {}, new Map()].map(quoteValue)).toEqual([
      '5',
      'true',
      'null',
      'undefined',
      'an array',
      'an object',
      'a Map',
    ]);
  });

  test('a 1 MB value in an error: the message stays short', async () => {
    const huge = 'x'.repeat(1 << 20);
    for (const e of [
      await refusal(apply([target({ netns: huge })])),
      await refusal(apply([target({ ifname: huge })])),
    ])
      expect(e.message.length).toBeLessThan(400);
  });
});

// The mirror's bookkeeping (lib/netlink/mirror.ts) driven by an event source of the test's own:
// which reads it makes (none when the notifications tell everything), how each notification
// changes what it holds, what it infers that the kernel does not announce, and what it reads
// again when a notification cannot tell. Objects have the shapes the engine decodes (captured
// from this kernel: a veth with clsact, a u32 filter redirecting to an IFB, a TBF at the root);
// test/kernel/mirror.test.ts holds the mirror against the kernel itself.
import type { DumpRequest } from '../../lib/netlink/dump';
import { TcMirror, type EventSource, type TcEvent } from '../../lib/netlink/mirror';

type Raw = Record<string, unknown>;

const V0 = 3;
const IFB = 4;
const link = (index: number, name: string, kind?: string): Raw => ({
  type: 'link',
  index,
  name,
  ...(kind ? { kind } : {}),
  mtu: 1500,
  group: 0,
});
const clsact = (ifindex = V0): Raw => ({
  type: 'qdisc',
  ifindex,
  kind: 'clsact',
  parent: 'ingress',
  handle: 'ffff:',
});
const tbf = (ifindex = V0, rate = 10_000_000): Raw => ({
  type: 'qdisc',
  ifindex,
  kind: 'tbf',
  parent: 'root',
  handle: '4e51:',
  rate,
  burst: 12_500,
  limit: 43_750,
});
const redirect = (priority = 1, target = IFB, index = 1): Raw => ({
  type: 'filter',
  ifindex: V0,
  kind: 'u32',
  parent: 'ingress',
  priority,
  protocol: 'all',
  handle: 0x80000800,
  chain: 0,
  keys: [{ value: 0, mask: 0, offset: 0 }],
  actions: [{ kind: 'mirred', direction: 'egress', mode: 'redirect', dev: target, control: 'stolen', index }],
});

/** What the namespace holds now, as dumps return it (fresh objects on every read). */
class Namespace {
  links = () => [link(1, 'lo'), link(2, 'v1', 'veth'), link(V0, 'v0', 'veth'), link(IFB, 'nqifb0', 'ifb')];
  qdiscs = () => [tbf(), clsact()];
  filters = (ifindex: number, parent: string): Raw[] =>
    ifindex === V0 && parent === 'ingress' ? [redirect()] : [];
  answer(requests: DumpRequest[]): Raw[][] {
    return requests.map((r) => {
      if (r.type === 'link') return this.links();
      if (r.type === 'qdisc') return this.qdiscs();
      return this.filters(r.dev as number, r.parent as string);
    });
  }
}

/** An event source of the test's own: what it is given, then nothing. */
class Events implements EventSource {
  private queue: TcEvent[] = [];
  private lost = false;
  push(...events: Raw[]): void {
    this.queue.push(...(events as TcEvent[]));
  }
  overflow(): void {
    this.lost = true;
  }
  events(): { events: TcEvent[]; overflow: boolean } {
    const out = { events: this.queue, overflow: this.lost };
    this.queue = [];
    this.lost = false;
    return out;
  }
}

/** Runs one plan() against `ns`; the requests it made, batch by batch. */
function sync(mirror: TcMirror, ns: Namespace): DumpRequest[][] {
  const asked: DumpRequest[][] = [];
  const plan = mirror.plan();
  let step = plan.next(undefined as unknown as Raw[][]);
  while (!step.done) {
    asked.push(step.value);
    step = plan.next(ns.answer(step.value));
  }
  return asked;
}

const ev = (event: 'new' | 'del', o: Raw, extra: Raw = {}): Raw => ({ event, ...o, ...extra });

function setup() {
  const ns = new Namespace();
  const events = new Events();
  const mirror = new TcMirror(events);
  return { ns, events, mirror, first: sync(mirror, ns) };
}

describe('filling', () => {
  test('the first sync reads links and qdiscs, then the hooks of each hook qdisc', () => {
    const { mirror, first } = setup();
    expect(first).toEqual([
      [{ type: 'link' }, { type: 'qdisc' }],
      [
        { type: 'filter', dev: V0, parent: 'ingress' },
        { type: 'filter', dev: V0, parent: 'egress' },
      ],
    ]);
    expect(mirror.link('v0')).toMatchObject({ index: V0, kind: 'veth' });
    expect(mirror.linkByIndex(IFB)?.name).toBe('nqifb0');
    expect([...mirror.allLinks()].map((l) => l.name)).toEqual(['lo', 'v1', 'v0', 'nqifb0']);
    const { root, hook } = mirror.qdiscs(V0);
    expect(root).toMatchObject({ kind: 'tbf', dev: 'v0', rate: 10_000_000 });
    expect(hook).toMatchObject({ kind: 'clsact', dev: 'v0' });
    // The redirect's target by name, as a read names it.
    expect(mirror.filters(V0)).toEqual([
      expect.objectContaining({ dev: 'v0', actions: [expect.objectContaining({ dev: 'nqifb0' })] }),
    ]);
    expect(mirror.counters).toEqual({ events: 0, rereads: 0, fills: 1 });
  });

  test('with nothing announced, a sync asks the kernel nothing', () => {
    const { ns, mirror } = setup();
    expect(sync(mirror, ns)).toEqual([]);
    expect(mirror.counters.fills).toBe(1);
  });

  test('lost notifications, or invalidate(): everything is read again', () => {
    const { ns, events, mirror } = setup();
    events.push(ev('new', tbf(V0, 5_000_000)));
    events.overflow();
    expect(sync(mirror, ns)[0]).toEqual([{ type: 'link' }, { type: 'qdisc' }]);
    // The read is the truth: the queued event came before it.
    expect(mirror.qdiscs(V0).root).toMatchObject({ rate: 10_000_000 });
    mirror.invalidate();
    expect(sync(mirror, ns)).toHaveLength(2);
    expect(mirror.counters.fills).toBe(3);
  });

  test('one plan at a time', () => {
    const { ns, mirror } = setup();
    mirror.invalidate();
    const plan = mirror.plan();
    plan.next(undefined as unknown as Raw[][]);
    expect(mirror.busy).toBe(true);
    expect(() => mirror.plan().next(undefined as unknown as Raw[][])).toThrow(/already running/);
    let step = plan.next(ns.answer([{ type: 'link' }, { type: 'qdisc' }]));
    while (!step.done) step = plan.next(ns.answer(step.value));
    expect(mirror.busy).toBe(false);
  });
});

describe('notifications', () => {
  test('a root qdisc replaced, then deleted: taken as announced, nothing read', () => {
    const { ns, events, mirror } = setup();
    events.push(ev('new', tbf(V0, 20_000_000)));
    expect(sync(mirror, ns)).toEqual([]);
    expect(mirror.qdiscs(V0).root).toMatchObject({ rate: 20_000_000, dev: 'v0' });
    expect(mirror.qdiscs(V0).root).not.toHaveProperty('event');
    // A deletion naming another handle is of a root already replaced: the newer one stays.
    events.push(ev('del', { ...tbf(), handle: '1:' }));
    sync(mirror, ns);
    expect(mirror.qdiscs(V0).root?.handle).toBe('4e51:');
    events.push(ev('del', tbf()));
    sync(mirror, ns);
    expect(mirror.qdiscs(V0).root).toBeUndefined();
    expect(mirror.counters.events).toBe(3);
  });

  test("the kernel's default root (handle 0:) is not mirrored", () => {
    const { ns, events, mirror } = setup();
    events.push(ev('new', { type: 'qdisc', ifindex: V0, kind: 'noqueue', parent: 'root', handle: '0:' }));
    sync(mirror, ns);
    expect(mirror.qdiscs(V0).root).toBeUndefined();
  });

  test('a filter announced as created is added as it is; any other filter news is read again', () => {
    const { ns, events, mirror } = setup();
    events.push(ev('new', redirect(2, IFB, 2), { created: true }));
    expect(sync(mirror, ns)).toEqual([]);
    expect(mirror.filters(V0).map((f) => f.priority)).toEqual([1, 2]);
    expect(mirror.filters(V0)[1]).not.toHaveProperty('created');
    expect(mirror.filters(V0)[1].actions?.[0]).toMatchObject({ dev: 'nqifb0' });

    // A replace in place is announced with the old contents: only that interface is read again.
    events.push(ev('new', redirect(1)));
    expect(sync(mirror, ns)).toEqual([
      [
        { type: 'filter', dev: V0, parent: 'ingress' },
        { type: 'filter', dev: V0, parent: 'egress' },
      ],
    ]);
    expect(mirror.filters(V0).map((f) => f.priority)).toEqual([1]);
    expect(mirror.counters.rereads).toBe(1);
  });

  test('a filter deleted: that one; handle 0 takes its whole priority', () => {
    const { ns, events, mirror } = setup();
    events.push(ev('new', { ...redirect(2), handle: 0x80000801 }, { created: true }));
    events.push(ev('new', { ...redirect(2), handle: 0x80000802 }, { created: true }));
    sync(mirror, ns);
    expect(mirror.filters(V0)).toHaveLength(3);
    events.push(ev('del', { ...redirect(2), handle: 0x80000801 }));
    sync(mirror, ns);
    expect(mirror.filters(V0).map((f) => f.handle)).toEqual([0x80000800, 0x80000802]);
    events.push(ev('del', { ...redirect(2), handle: 0 }));
    sync(mirror, ns);
    expect(mirror.filters(V0).map((f) => f.priority)).toEqual([1]);
  });

  test('the hook qdisc deleted: its filters went with it (unannounced)', () => {
    const { ns, events, mirror } = setup();
    events.push(ev('del', clsact()));
    expect(sync(mirror, ns)).toEqual([]);
    expect(mirror.qdiscs(V0).hook).toBeUndefined();
    expect(mirror.filters(V0)).toEqual([]);
  });

  test('an interface deleted: its objects go; filters redirecting to it are read again', () => {
    const { ns, events, mirror } = setup();
    events.push(ev('del', link(IFB, 'nqifb0', 'ifb')));
    ns.filters = () => [];
    expect(sync(mirror, ns)).toEqual([
      [
        { type: 'filter', dev: V0, parent: 'ingress' },
        { type: 'filter', dev: V0, parent: 'egress' },
      ],
    ]);
    expect(mirror.link('nqifb0')).toBeUndefined();
    expect(mirror.filters(V0)).toEqual([]);

    events.push(ev('del', link(V0, 'v0', 'veth')));
    sync(mirror, ns);
    expect(mirror.qdiscs(V0)).toEqual({ root: undefined, hook: undefined });
    expect(mirror.stamp('v0')).toBeUndefined();
  });

  test('an interface renamed: the objects naming it follow', () => {
    const { ns, events, mirror } = setup();
    events.push(ev('new', link(IFB, 'nqifb9', 'ifb')), ev('new', link(V0, 'pod0', 'veth')));
    expect(sync(mirror, ns)).toEqual([]);
    expect(mirror.link('nqifb0')).toBeUndefined();
    expect(mirror.link('pod0')?.index).toBe(V0);
    expect(mirror.filters(V0)[0]).toMatchObject({
      dev: 'pod0',
      actions: [expect.objectContaining({ dev: 'nqifb9' })],
    });
    expect(mirror.qdiscs(V0).root?.dev).toBe('pod0');
    expect(mirror.qdiscs(V0).hook?.dev).toBe('pod0');
  });

  test('an action changed on its own: the filters holding it are read again', () => {
    const { ns, events, mirror } = setup();
    events.push({ event: 'new', type: 'actions', actions: [{ kind: 'mirred', index: 7 }] });
    expect(sync(mirror, ns)).toEqual([]);
    events.push({ event: 'new', type: 'actions', actions: [{ kind: 'mirred', index: 1 }] });
    expect(sync(mirror, ns)).toHaveLength(1);
    expect(mirror.counters.rereads).toBe(1);
  });
});

describe('stamps', () => {
  test('change with any object of the interface, never repeat, and say nothing of other interfaces', () => {
    const { ns, events, mirror } = setup();
    const v0 = mirror.stamp('v0');
    const v1 = mirror.stamp('v1');
    expect(v0).toEqual(expect.any(Number));
    expect(mirror.stamp('nope')).toBeUndefined();
    sync(mirror, ns);
    expect(mirror.stamp('v0')).toBe(v0);

    const seen = new Set([v0, v1]);
    for (const e of [
      ev('new', tbf(V0, 1_000_000)),
      ev('new', redirect(3, IFB, 3), { created: true }),
      ev('del', { ...redirect(3), handle: 0 }),
      ev('new', link(V0, 'v0', 'veth'), { mtu: 9000 }),
    ]) {
      events.push(e);
      sync(mirror, ns);
      const now = mirror.stamp('v0');
      expect(seen.has(now)).toBe(false);
      seen.add(now);
    }
    expect(mirror.stamp('v1')).toBe(v1);
    // A fill starts afresh, and still never repeats a stamp.
    mirror.invalidate();
    sync(mirror, ns);
    expect(seen.has(mirror.stamp('v0'))).toBe(false);
  });
});

// Hostile callers of the engine, one case per child process (a crash there must not take the
// test runner with it): getters that close the handle, throw, mutate the operations or re-enter
// the handle while it reads them; setters put on Object.prototype that run while results are
// built; strings with NULs inside. Run as
//
//   ip netns exec NS node hostile-cases.js CASE      (the namespace holds a veth pair v0/v1)
//
// and prints one JSON line: { value } or { error: { name, code, message } }. The parent checks the
// exit status and the outcome, and the namespace's state with tc.
'use strict';
const path = require('path');

const lib = require(path.resolve(__dirname, '../../dist/lib'));
const { native } = require(path.resolve(__dirname, '../../dist/lib/netlink/binding'));

const tbf = (dev = 'v0', extra = {}) => ({
  dev,
  kind: 'tbf',
  parent: 'root',
  rate: 8_000_000,
  burst: 10_000,
  limit: 10_000,
  ...extra,
});
const add = (qdisc) => ({ op: 'add', qdisc });
const replace = (qdisc) => ({ op: 'replace', qdisc });
/** An operation whose `qdisc` is read through a getter that runs `effect` first. */
const withGetter = (effect, qdisc = tbf()) => ({
  op: 'replace',
  get qdisc() {
    effect();
    return qdisc;
  },
});
/** A batch that goes to the worker pool (more than the few messages run inline). */
const bigBatch = (dev = 'v0') =>
  Array.from({ length: 12 }, (_, i) => replace(tbf(dev, { rate: 8_000_000 + 8000 * i })));
/** Something that fails with a per-operation result (so failure objects are built). */
const failing = () => [add(tbf('nosuch0'))];

/** Runs `f` with a setter on Object.prototype[key] (every plain object built meets it). */
async function withPrototypeSetter(key, set, f) {
  Object.defineProperty(Object.prototype, key, { set, configurable: true });
  try {
    return await f();
  } finally {
    delete Object.prototype[key];
  }
}

/** An nf_tables table read through a getter that runs `effect` first. */
const nftWithGetter = (effect) => ({
  op: 'add',
  get table() {
    effect();
    return { family: 'inet', name: 'hostile' };
  },
});
/** An nf_tables operation the kernel refuses (so failure objects are built). */
const nftFailing = () => [{ op: 'delete', table: { family: 'inet', name: 'nosuch' } }];

/** A setter (or getter) that closes the handle and throws. */
const closeAndThrow = (handle) => () => {
  handle.close();
  throw new Error('thrown by a setter');
};

const cases = {
  // ---- the handle closed by a getter while the engine reads the operations ----
  'close in op getter, applySync': () => {
    const nl = lib.openNetlink();
    return nl.applySync([withGetter(() => nl.close())]);
  },
  'close in op getter, apply': () => {
    const nl = lib.openNetlink();
    return nl.apply([withGetter(() => nl.close())]);
  },
  'close in field getter, apply (worker path)': () => {
    const nl = lib.openNetlink();
    const ops = bigBatch();
    Object.defineProperty(ops[5].qdisc, 'rate', {
      get() {
        nl.close();
        return 8_000_000;
      },
    });
    return nl.apply(ops);
  },
  'close in raw known-interfaces getter': () => {
    const h = new (native().Handle)();
    const known = ['v0', 1];
    Object.defineProperty(known, 1, {
      get() {
        h.close();
        return 2;
      },
    });
    return h.applySync([replace(tbf())], known);
  },
  'close in raw dump request getter, dumpSync': () => {
    const h = new (native().Handle)();
    return h.dumpSync([
      {
        get type() {
          h.close();
          return 'link';
        },
      },
    ]);
  },
  'close in raw dump request getter, dump': () => {
    const h = new (native().Handle)();
    return h.dump([
      {
        get type() {
          h.close();
          return 'qdisc';
        },
      },
    ]);
  },
  'close in read plan getter': () => {
    const nl = lib.openNetlink();
    function* plan() {
      const [links] = yield [
        {
          get type() {
            nl.close();
            return 'link';
          },
        },
      ];
      return links;
    }
    return nl.read(plan());
  },
  'close in nft op getter, applySync': () => {
    const nl = lib.openNetlink();
    return nl.nftables.applySync([nftWithGetter(() => nl.close())]);
  },
  'close in nft op getter, apply': () => {
    const nft = lib.openNftables();
    return nft.apply([nftWithGetter(() => nft.close())]);
  },
  'close in raw nft dump request getter, dumpSync': () => {
    const h = new (native().NftHandle)();
    return h.dumpSync([
      {
        get type() {
          h.close();
          return 'table';
        },
      },
    ]);
  },
  'close in raw nft dump request getter, dump': () => {
    const h = new (native().NftHandle)();
    return h.dump([
      {
        get type() {
          h.close();
          return 'table';
        },
      },
    ]);
  },
  'close while an apply is queued, then use it': async () => {
    const nl = lib.openNetlink();
    const pending = nl.apply(bigBatch());
    nl.close();
    nl.close();
    const result = await pending;
    let after;
    try {
      nl.applySync([replace(tbf())]);
    } catch (e) {
      after = e.code;
    }
    return { count: result.count, after };
  },

  // ---- getters that throw, mutate, answer differently each time, or return odd values ----
  'throwing getter': () => {
    const nl = lib.openNetlink();
    return nl.applySync([
      withGetter(() => {
        throw new RangeError('thrown by a getter');
      }),
    ]);
  },
  'throwing getter, apply': () => {
    const nl = lib.openNetlink();
    return nl.apply([
      withGetter(() => {
        throw 42;
      }),
    ]);
  },
  'getter empties the operations': () => {
    const nl = lib.openNetlink();
    const ops = [];
    ops.push(
      withGetter(() => {
        ops.length = 0;
      }),
      replace(tbf('v1')),
    );
    return nl.applySync(ops);
  },
  'getter swaps a later operation': () => {
    const nl = lib.openNetlink();
    const ops = [];
    ops.push(
      withGetter(() => {
        ops[1] = replace(tbf('v1', { rate: 16_000_000 }));
      }),
      { op: 'delete', qdisc: { dev: 'v1', parent: 'root' } },
    );
    return nl.applySync(ops);
  },
  'getter grows the operations': () => {
    const nl = lib.openNetlink();
    const ops = [];
    ops.push(
      withGetter(() => {
        for (let i = 0; i < 1000; i++) ops.push(null);
      }),
    );
    return nl.applySync(ops);
  },
  'getter answers differently each read (dev)': () => {
    const nl = lib.openNetlink();
    let reads = 0;
    const qdisc = tbf();
    Object.defineProperty(qdisc, 'dev', { get: () => (reads++ % 2 === 0 ? 'v0' : 'v1'), enumerable: true });
    const result = nl.applySync([replace(qdisc)]);
    return { count: result.count, reads };
  },
  'getter answers differently each read (link index)': () => {
    const nl = lib.openNetlink();
    let reads = 0;
    const link = {};
    Object.defineProperty(link, 'index', {
      get: () => (reads++ === 0 ? 999_999 : undefined),
      enumerable: true,
    });
    return nl.applySync([{ op: 'delete', link }]);
  },
  'getter returns a megabyte': () => {
    const nl = lib.openNetlink();
    return nl.applySync([withGetter(() => {}, tbf('x'.repeat(1 << 20)))]);
  },
  'getter returns odd values': () => {
    const nl = lib.openNetlink();
    const odd = [
      NaN,
      -Infinity,
      -0.5,
      2 ** 64,
      2n ** 70n,
      Symbol('x'),
      () => 1,
      new Date(),
      /re/,
      new Proxy({}, {}),
    ];
    const outcomes = [];
    for (const value of odd) {
      try {
        nl.applySync([replace(tbf('v0', { rate: value }))]);
        outcomes.push('applied');
      } catch (e) {
        outcomes.push(e.code);
      }
    }
    return outcomes;
  },
  'proxy operation': () => {
    const nl = lib.openNetlink();
    const op = new Proxy(replace(tbf()), {
      get(target, key) {
        if (key === 'qdisc')
          return new Proxy(target.qdisc, { get: (q, k) => (k === 'rate' ? 24_000_000 : q[k]) });
        return target[key];
      },
    });
    return nl.applySync([op]);
  },
  'proxy operations list': () => {
    const nl = lib.openNetlink();
    return nl.applySync(new Proxy([replace(tbf())], {}));
  },
  'proxy trap closes the handle': () => {
    const nl = lib.openNetlink();
    const op = new Proxy(replace(tbf()), {
      get(target, key) {
        nl.close();
        return target[key];
      },
    });
    return nl.apply([op]);
  },

  // ---- getters and setters that re-enter the handle ----
  're-entering applySync from a getter': () => {
    const nl = lib.openNetlink();
    const inner = nl.applySync.bind(nl, [replace(tbf('v1'))]);
    return nl.applySync([withGetter(inner)]);
  },
  're-entering dumpSync from a getter': () => {
    const nl = lib.openNetlink();
    let links = 0;
    const result = nl.applySync([withGetter(() => (links = nl.dumpSync({ type: 'link' }).length))]);
    return { count: result.count, links };
  },
  're-entering apply from a getter': async () => {
    const nl = lib.openNetlink();
    let inner;
    const outer = await nl.apply([withGetter(() => (inner = nl.apply(bigBatch('v1'))))]);
    return { outer: outer.count, inner: (await inner).count };
  },
  'unbounded recursion through a getter': () => {
    const nl = lib.openNetlink();
    const op = withGetter(() => nl.applySync([op]));
    return nl.applySync([op]);
  },
  'prototype setter closes and throws, applySync': () => {
    const nl = lib.openNetlink();
    const set = closeAndThrow(nl);
    return withPrototypeSetter('index', set, () => nl.applySync(failing(), { throwOnFailure: false }));
  },
  'prototype setter closes and throws, apply inline': () => {
    const nl = lib.openNetlink();
    const set = closeAndThrow(nl);
    return withPrototypeSetter('index', set, () => nl.apply(failing(), { throwOnFailure: false }));
  },
  'prototype setter closes and throws, apply on the worker pool': () => {
    const nl = lib.openNetlink();
    const set = closeAndThrow(nl);
    const ops = [...bigBatch(), ...failing()];
    return withPrototypeSetter('index', set, () => nl.apply(ops, { throwOnFailure: false }));
  },
  'prototype setter closes and throws, nft apply': () => {
    const nft = lib.openNftables();
    const set = closeAndThrow(nft);
    return withPrototypeSetter('index', set, () => nft.apply(nftFailing(), { throwOnFailure: false }));
  },
  'prototype setter closes and throws, nft applySync': () => {
    const nft = lib.openNftables();
    const set = closeAndThrow(nft);
    return withPrototypeSetter('index', set, () => nft.applySync(nftFailing(), { throwOnFailure: false }));
  },
  'prototype setter re-enters applySync': () => {
    const nl = lib.openNetlink();
    let inner = 0;
    const set = function (v) {
      Object.defineProperty(this, 'index', { value: v, enumerable: true });
      if (inner++ === 0) nl.applySync([replace(tbf('v1'))]);
    };
    return withPrototypeSetter('index', set, () => {
      const r = nl.applySync(failing(), { throwOnFailure: false });
      return { failures: r.failures.length, inner };
    });
  },
  'prototype setter re-enters dumpSync': () => {
    const nl = lib.openNetlink();
    let inner = 0;
    const set = function (v) {
      Object.defineProperty(this, 'kind', { value: v, enumerable: true, writable: true });
      if (inner++ === 0) nl.dumpSync({ type: 'link' });
    };
    return withPrototypeSetter('kind', set, () => ({ qdiscs: nl.dumpSync({ type: 'qdisc' }).length, inner }));
  },
  'prototype setter closes and throws, dump on the worker pool': () => {
    const nl = lib.openNetlink();
    const set = closeAndThrow(nl);
    return withPrototypeSetter('kind', set, () => nl.dump({ type: 'qdisc' }));
  },
  'prototype setter closes and throws, dump inline': () => {
    const h = new (native().Handle)();
    const set = closeAndThrow(h);
    return withPrototypeSetter('kind', set, () => h.dump([{ type: 'qdisc', dev: 'lo', parent: 'root' }]));
  },
  'prototype setter closes and throws, events': () => {
    const nl = lib.openNetlink();
    const mirror = nl.watchSync();
    nl.applySync([replace(tbf())]);
    const set = closeAndThrow(nl);
    return withPrototypeSetter('event', set, () => nl.readSync(mirror.plan()));
  },

  'methods called on other objects (raw)': () => {
    const Handle = native().Handle;
    const outcomes = new Set();
    for (const self of [{}, 5, undefined, Handle.prototype, Object.create(Handle.prototype)])
      for (const m of ['apply', 'applySync', 'dump', 'dumpSync', 'close', 'counters', 'watch', 'events'])
        try {
          Handle.prototype[m].call(self, []);
          outcomes.add(`${m} ran`);
        } catch (e) {
          outcomes.add(`${e.name}: ${e.message}`);
        }
    return [...outcomes];
  },

  // ---- strings the kernel would cut at a NUL ----
  'NUL in dev': () => lib.openNetlink().applySync([replace(tbf('v0\0evil'))]),
  'NUL in known interfaces (raw)': () => new (native().Handle)().applySync([replace(tbf())], ['v0\0evil', 2]),
  'NUL in dump dev (raw)': () => new (native().Handle)().dumpSync([{ type: 'link', dev: 'v0\0evil' }]),
  'NUL in action dump kind (raw)': () =>
    new (native().Handle)().dumpSync([{ type: 'action', kind: 'mirred\0' }]),
  'NUL in netns': () => lib.openNetlink({ netns: `/proc/self/ns/net\0${process.env.NS}` }),
  'number as netns (raw)': () => new (native().Handle)(5),
  'number as nft netns (raw)': () => new (native().NftHandle)(5),
  'number as netns, openNftables': () => lib.openNftables({ netns: 5 }),
  'NUL in nft table name': () =>
    lib.openNftables().applySync([{ op: 'add', table: { family: 'inet', name: 'hostile\0evil' } }]),

  // ---- loose edges ----
  'dump of an unknown type': () => lib.openNetlink().dumpSync({ type: 'bogus' }),
  'dump with null': () => lib.openNetlink().dump(null),
  'apply with null options': () => lib.openNetlink().apply([replace(tbf())], null),
  'applySync with null operations': () => lib.openNetlink().applySync(null),
  'nft applySync with null operations': () => lib.openNftables().applySync(null),
  'apply with an object for operations': () => lib.openNetlink().apply({ 0: replace(tbf()), length: 1 }),
  'watch with null options': () => lib.openNetlink().watchSync(null),
  'operation with qdisc and filter': () =>
    lib
      .openNetlink()
      .applySync([{ op: 'add', qdisc: tbf(), filter: { dev: 'v0', parent: 'ingress', kind: 'u32' } }]),
  'atomic apply with malformed operations': () =>
    lib.openNetlink().apply([replace(tbf()), null, { op: 'add', qdisc: null }], { atomic: true }),
};

async function main() {
  const name = process.argv[2];
  const run = cases[name];
  if (!run) throw new Error(`no case ${JSON.stringify(name)}`);
  let outcome;
  try {
    outcome = { value: await run() };
  } catch (e) {
    const err = e instanceof Error ? e : { name: typeof e, message: String(e) };
    outcome = { error: { name: err.name, code: err.code, field: err.field, message: err.message } };
  }
  process.stdout.write(
    `${JSON.stringify(outcome, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v === undefined ? null : v))}\n`,
  );
}

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`${e.stack}\n`);
    process.exit(3);
  });
}

module.exports = { caseNames: Object.keys(cases) };

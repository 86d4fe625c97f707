// A hostile caller of the engine never crashes Node, never programs a namespace or an interface
// it did not mean, and gets a clear error or the right result: getters that close the handle
// (this killed Node with SIGSEGV), throw, mutate the operations or re-enter the handle while it
// reads them; setters on Object.prototype reached while results are built; NULs inside strings;
// loose options. Each case runs in its own Node process inside a throwaway namespace (see
// test/helpers/hostile-cases.js), so a crash fails one case instead of killing jest.
import { spawnSync } from 'child_process';
import * as path from 'path';
import { tempNetns, type Netns } from '../helpers/netns';

const script = path.resolve(__dirname, '../helpers/hostile-cases.js');

interface Outcome {
  value?: any;
  error?: { name: string; code?: string; field?: string; message: string };
}

let ns: Netns;
beforeAll(() => {
  ns = tempNetns().veth('v0', 'v1');
});

beforeEach(() => {
  for (const dev of ['v0', 'v1']) {
    try {
      ns.ip('link', 'set', dev, 'up'); // fails if a case deleted it: then the case's test says so
      spawnSync('tc', ['-n', ns.name, 'qdisc', 'del', 'dev', dev, 'root']);
    } catch {
      /* checked by the case */
    }
  }
});

/** Runs one case in a child process in the namespace: it must exit by itself, with status 0. */
function run(name: string): Outcome {
  const child = spawnSync('ip', ['netns', 'exec', ns.name, process.execPath, script, name], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, NS: ns.name },
  });
  const how = `case "${name}": status ${child.status}, signal ${child.signal}\n${child.stderr}`;
  if (child.error || child.signal !== null || child.status !== 0) throw new Error(how);
  return JSON.parse(child.stdout.trim().split('\n').pop()!) as Outcome;
}

function rootKind(dev: string): string | undefined {
  const [root] = ns.tcJson('qdisc', 'show', 'dev', dev, 'root');
  return root?.kind;
}
/** The root TBF's rate in bit/s, as tc reads it. */
function rootRate(dev: string): number | undefined {
  const [root] = ns.tcJson('qdisc', 'show', 'dev', dev, 'root');
  return root?.kind === 'tbf' ? root.options.rate * 8 : undefined;
}
/** bigBatch()'s last operation. */
const LAST_OF_BATCH = 8_088_000;
/** The namespace's nf_tables tables, as nft lists them. */
const nftTables = () => ns.nft('list', 'tables').trim();
const links = () =>
  (JSON.parse(ns.ip('-j', 'link', 'show')) as { ifname: string }[]).map((l) => l.ifname).sort();

const closedWhileRead = {
  code: 'EBADF',
  message: expect.stringMatching(/closed while its arguments were read/),
};
const invalid = (message: RegExp, field?: string) => ({
  // The engine's checks throw a TypeError, the TypeScript ones its subclass NetqosArgumentError.
  name: expect.stringMatching(/^(TypeError|NetqosArgumentError)$/),
  code: 'ERR_NETQOS_INVALID_ARGUMENT',
  ...(field ? { field } : {}),
  message: expect.stringMatching(message),
});

describe('a getter closes the handle while its operations are read: EBADF, nothing sent', () => {
  test.each([
    'close in op getter, applySync',
    'close in op getter, apply',
    'close in field getter, apply (worker path)',
    'close in raw known-interfaces getter',
    'close in raw dump request getter, dumpSync',
    'close in raw dump request getter, dump',
    'close in read plan getter',
    'proxy trap closes the handle',
  ])('%s', (name) => {
    expect(run(name).error).toMatchObject(closedWhileRead);
    expect(rootKind('v0')).not.toBe('tbf');
  });

  test.each([
    'close in nft op getter, applySync',
    'close in nft op getter, apply',
    'close in raw nft dump request getter, dumpSync',
    'close in raw nft dump request getter, dump',
  ])('nftables: %s', (name) => {
    expect(run(name).error).toMatchObject(closedWhileRead);
    expect(nftTables()).toBe('');
  });

  test('closed while an apply is queued: the queued work finishes, later calls say EBADF', () => {
    expect(run('close while an apply is queued, then use it').value).toEqual({ count: 12, after: 'EBADF' });
    expect(rootRate('v0')).toBe(LAST_OF_BATCH);
  });
});

describe('getters that throw, mutate or answer oddly', () => {
  test('a thrown error comes back as it was, and nothing is sent', () => {
    expect(run('throwing getter').error).toMatchObject({ name: 'RangeError', message: 'thrown by a getter' });
    expect(run('throwing getter, apply').error).toMatchObject({ message: '42' });
    expect(rootKind('v0')).not.toBe('tbf');
  });

  test('operations emptied while read: a typed error for the missing one, nothing sent', () => {
    expect(run('getter empties the operations').error).toMatchObject(
      invalid(/^ops\[1\]: expected an operation object/),
    );
    expect(rootKind('v0')).not.toBe('tbf');
    expect(rootKind('v1')).not.toBe('tbf');
  });

  test('an operation replaced while read: the one read is the one applied', () => {
    expect(run('getter swaps a later operation').value).toMatchObject({ count: 2, failures: [] });
    expect(rootRate('v1')).toBe(16_000_000);
  });

  test('operations added while read: the list is read at its length when called', () => {
    expect(run('getter grows the operations').value).toMatchObject({ count: 1, failures: [] });
  });

  test('a getter answering differently each time is read once', () => {
    expect(run('getter answers differently each read (dev)').value).toEqual({ count: 1, reads: 1 });
    expect(rootKind('v0')).toBe('tbf');
    expect(rootKind('v1')).not.toBe('tbf');
  });

  test('a link index that vanishes on the second read never becomes a group-wide delete', () => {
    const before = links();
    expect(run('getter answers differently each read (link index)').error).toMatchObject({ code: 'ENODEV' });
    expect(links()).toEqual(before);
  });

  test('a megabyte string: a typed error quoting 64 characters of it', () => {
    const { error } = run('getter returns a megabyte');
    expect(error).toMatchObject(
      invalid(/^ops\[0\]\.qdisc\.dev: "x{64}"\.\.\. \(1048576 bytes\) is not an interface/),
    );
    expect(error!.message.length).toBeLessThan(200);
  });

  test('NaN, infinities, fractions, huge numbers and BigInts, symbols, functions, objects: typed errors', () => {
    const { value } = run('getter returns odd values');
    expect(value).toEqual(Array(10).fill('ERR_NETQOS_INVALID_ARGUMENT'));
  });

  test('proxies: read through their traps', () => {
    expect(run('proxy operation').value).toMatchObject({ count: 1, failures: [] });
    expect(rootRate('v0')).toBe(24_000_000);
    const list = run('proxy operations list');
    // A proxy of an array is not an array to the engine: refused as such, or applied.
    if (list.error) expect(list.error).toMatchObject(invalid(/^operations: expected an array/));
    else expect(list.value).toMatchObject({ count: 1 });
  });
});

describe('re-entering the handle from a getter or a setter', () => {
  test('applySync and dumpSync from a getter: both done', () => {
    expect(run('re-entering applySync from a getter').value).toMatchObject({ count: 1, failures: [] });
    expect(rootKind('v0')).toBe('tbf');
    expect(rootKind('v1')).toBe('tbf');
    expect(run('re-entering dumpSync from a getter').value).toEqual({ count: 1, links: 3 });
  });

  test('apply from a getter: both done', () => {
    expect(run('re-entering apply from a getter').value).toEqual({ outer: 1, inner: 12 });
    expect(rootKind('v0')).toBe('tbf');
    expect(rootRate('v1')).toBe(LAST_OF_BATCH);
  });

  test('unbounded recursion: a RangeError, not a crash', () => {
    expect(run('unbounded recursion through a getter').error).toMatchObject({ name: 'RangeError' });
  });

  test('a setter on Object.prototype that closes the handle and throws: its error, as a rejection when async', () => {
    const thrown = { message: 'thrown by a setter' };
    expect(run('prototype setter closes and throws, applySync').error).toMatchObject(thrown);
    expect(run('prototype setter closes and throws, apply inline').error).toMatchObject(thrown);
    expect(run('prototype setter closes and throws, apply on the worker pool').error).toMatchObject(thrown);
    expect(rootRate('v0')).toBe(LAST_OF_BATCH);
    expect(run('prototype setter closes and throws, nft apply').error).toMatchObject(thrown);
    expect(run('prototype setter closes and throws, nft applySync').error).toMatchObject(thrown);
  });

  test('reads build their objects as literals: a setter on Object.prototype never runs, the read answers', () => {
    const qdiscs = expect.arrayContaining([expect.objectContaining({ type: 'qdisc', parent: 'root' })]);
    expect(run('prototype setter closes and throws, dump on the worker pool').value).toEqual(qdiscs);
    expect(run('prototype setter closes and throws, dump inline').value).toEqual([qdiscs]); // raw: one per request
    expect(run('prototype setter closes and throws, events').value).toEqual({ root: 'tbf', usable: true });
  });

  test('a setter that calls the same handle while results are built: no deadlock', () => {
    expect(run('prototype setter re-enters applySync').value).toEqual({ failures: 1, inner: 1 });
    expect(rootKind('v1')).toBe('tbf');
    expect(run('prototype setter re-enters dumpSync').value).toMatchObject({ qdiscs: expect.any(Number) });
  });
});

test('raw methods called on something that is not a handle: refused by V8, not run', () => {
  expect(run('methods called on other objects (raw)').value).toEqual(['TypeError: Illegal invocation']);
});

describe('strings the kernel would cut at a NUL: refused', () => {
  test.each([
    ['NUL in dev', /^ops\[0\]\.qdisc\.dev: "v0\\u0000evil" contains a NUL character/],
    ['NUL in known interfaces (raw)', /^known interfaces\[0\]: "v0\\u0000evil" contains a NUL/],
    ['NUL in dump dev (raw)', /^requests\[0\]\.dev: "v0\\u0000evil" contains a NUL/],
    ['NUL in action dump kind (raw)', /^requests\[0\]\.kind: "mirred\\u0000" contains a NUL/],
    ['NUL in netns', /^options\.netns: .* contains a NUL/],
    ['number as netns (raw)', /^netns: expected the name or path of a network namespace, got 5/],
    ['number as nft netns (raw)', /^netns: expected the name or path of a network namespace, got 5/],
    ['number as netns, openNftables', /^options\.netns: expected the name or path of a network namespace/],
    ['NUL in nft table name', /^ops\[0\]\.table\.name: "hostile\\u0000evil" contains a NUL/],
  ])('%s', (name, message) => {
    expect(run(name).error).toMatchObject(invalid(message));
    expect(rootKind('v0')).not.toBe('tbf');
    expect(nftTables()).toBe('');
  });
});

describe('loose edges: typed errors naming the field', () => {
  test.each([
    [
      'dump of an unknown type',
      /^query\.type: "bogus" is not a type \(allowed: qdisc, class, filter, chain, link\)/,
      'query.type',
    ],
    ['dump with null', /^query: expected an object/, 'query'],
    ['apply with null options', /^options: expected an object, got null/, 'options'],
    ['applySync with null operations', /^operations: expected an array, got null/, 'operations'],
    ['nft applySync with null operations', /^operations: expected an array, got null/, 'operations'],
    ['apply with an object for operations', /^operations: expected an array, got an object/, 'operations'],
    ['watch with null options', /^options: expected an object, got null/, 'options'],
    [
      'operation with qdisc and filter',
      /^ops\[0\]: an operation carries one of qdisc, class, filter, chain or link/,
      undefined,
    ],
    [
      'atomic apply with malformed operations',
      /^ops\[1\]: expected an operation object, got null/,
      undefined,
    ],
  ])('%s', (name, message, field) => {
    expect(run(name).error).toMatchObject(invalid(message, field));
    expect(rootKind('v0')).not.toBe('tbf');
  });
});

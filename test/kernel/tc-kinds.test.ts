// The kinds beyond Calico's set that this machine's kernel has (HTB with its classes, the bpf
// classifier, the fifos, chains), on real packets; a kind it lacks answered in the kernel's own
// words; and the atomic rollback of an HTB tree. The others run in User-Mode Linux
// (test/uml/tc-kinds.test.ts).
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  openNetlink,
  type ClassState,
  type FilterState,
  type HtbClass,
  type NetlinkHandle,
  type Operation,
  type QdiscState,
} from '../../lib';
import { runClient, startServer, stop } from '../helpers/iperf';
import { sh, tempPair } from '../helpers/netns';

jest.setTimeout(120_000);

const mbit = 1_000_000;
const sorted = <T extends { classid: string }>(list: T[]) =>
  [...list].sort((x, y) => (x.classid < y.classid ? -1 : 1));

/** The HTB tree the tests build on a0: 20 Mbit/s shared by 1:10 (5..20) and 1:20 (15..20). */
function htbTree(dev: string): Operation[] {
  return [
    { op: 'add', qdisc: { dev, parent: 'root', handle: '1:', kind: 'htb', defaultClass: 0x20 } },
    { op: 'add', class: { dev, parent: 'root', classid: '1:1', kind: 'htb', rate: 20 * mbit } },
    {
      op: 'add',
      class: { dev, parent: '1:1', classid: '1:10', kind: 'htb', rate: 5 * mbit, ceil: 20 * mbit, prio: 1 },
    },
    {
      op: 'add',
      class: { dev, parent: '1:1', classid: '1:20', kind: 'htb', rate: 15 * mbit, ceil: 20 * mbit },
    },
  ];
}

/** A u32 filter sending TCP to `port` (the destination port's word at offset 20) to `classid`. */
function portFilter(dev: string, port: number, classid: string, priority: number): Operation {
  return {
    op: 'add',
    filter: {
      dev,
      parent: '1:',
      protocol: 'ip',
      priority,
      kind: 'u32',
      keys: [{ value: port, mask: 0xffff, offset: 20 }],
      classid,
    },
  };
}

const classes = async (nl: NetlinkHandle, dev: string) => sorted(await nl.dump({ type: 'class', dev }));

test('HTB: the qdisc and its classes read back as written, with statistics and xstats', async () => {
  const { a } = tempPair('nqk');
  const nl = openNetlink({ netns: a.name });
  try {
    await nl.apply(htbTree('a0'));
    const [q] = (await nl.dump({ type: 'qdisc', dev: 'a0' })).filter((x) => x.parent === 'root');
    expect(q).toMatchObject({ kind: 'htb', handle: '1:', defaultClass: 0x20, r2q: 10 });
    const list = await classes(nl, 'a0');
    expect(list).toMatchObject([
      {
        type: 'class',
        dev: 'a0',
        kind: 'htb',
        classid: '1:1',
        parent: 'root',
        rate: 20 * mbit,
        ceil: 20 * mbit,
      },
      { classid: '1:10', parent: '1:1', rate: 5 * mbit, ceil: 20 * mbit, prio: 1, burst: 1600, cburst: 1600 },
      { classid: '1:20', parent: '1:1', rate: 15 * mbit, ceil: 20 * mbit, prio: 0 },
    ]);
    for (const c of list) {
      // The interface's own IPv6 solicitations may have gone through the default class already;
      // HTB counts each packet a class sends within its own rate as a "lend".
      expect(c.stats).toMatchObject({ bytes: expect.any(Number), packets: expect.any(Number), drops: 0 });
      expect(c.stats.xstats).toEqual({
        lends: expect.any(Number),
        borrows: 0,
        giants: 0,
        tokens: expect.any(Number),
        ctokens: expect.any(Number),
      });
      expect((c.stats.xstats as { lends: number }).lends).toBeLessThanOrEqual(c.stats.packets);
    }
    // tc sees the same tree (iproute2 6.1 prints classes as text only).
    expect(sh('tc', ['-n', a.name, 'class', 'show', 'dev', 'a0'])).toMatch(
      /class htb 1:10 parent 1:1 prio 1 rate 5Mbit ceil 20Mbit burst 1600b cburst 1600b/,
    );

    // What a read returns is an operation's object again (its statistics and indexes included;
    // the HTB qdisc itself cannot be changed in place); a misspelt field is refused before
    // anything is sent.
    await nl.apply(list.map((c) => ({ op: 'change' as const, class: c })));
    expect(
      (await classes(nl, 'a0')).map((c) => [c.classid, (c as HtbClass).rate, (c as HtbClass).ceil]),
    ).toEqual(list.map((c) => [c.classid, (c as HtbClass).rate, (c as HtbClass).ceil]));
    const typo = { ...list[1]!, ciel: 30 * mbit } as unknown as HtbClass;
    await expect(nl.apply([{ op: 'change', class: typo }])).rejects.toMatchObject({
      code: 'ERR_NETQOS_INVALID_ARGUMENT',
      message: 'ops[0].class.ciel: is not a field of the htb class kind (did you mean ceil?)',
    });
    expect((await classes(nl, 'a0'))[1]).toMatchObject({ classid: '1:10', ceil: 20 * mbit });

    // change keeps the class, replace creates or changes, delete removes a leaf.
    await nl.apply([
      {
        op: 'change',
        class: { dev: 'a0', parent: '1:1', classid: '1:10', kind: 'htb', rate: 8 * mbit, ceil: 20 * mbit },
      },
      { op: 'replace', class: { dev: 'a0', parent: '1:1', classid: '1:30', kind: 'htb', rate: 1 * mbit } },
      { op: 'delete', class: { dev: 'a0', classid: '1:20' } },
    ]);
    expect((await classes(nl, 'a0')).map((c) => [c.classid, (c as HtbClass).rate])).toEqual([
      ['1:1', 20 * mbit],
      ['1:10', 8 * mbit],
      ['1:30', 1 * mbit],
    ]);
  } finally {
    nl.close();
  }
});

test('HTB: two classes share a 20 Mbit/s parent by their rates, each alone reaches its ceil', async () => {
  const { a, b, bAddr } = tempPair('nqk');
  const nl = openNetlink({ netns: a.name });
  const servers = [startServer(b.name, 5201), startServer(b.name, 5202)];
  try {
    await nl.apply([...htbTree('a0'), portFilter('a0', 5201, '1:10', 1), portFilter('a0', 5202, '1:20', 2)]);
    await new Promise((r) => setTimeout(r, 300));
    // 1:10 alone borrows up to its ceil (20 Mbit/s); goodput is at most 95.6 % of it at MTU 1500.
    const alone = await runClient(a.name, bAddr, 4, { port: 5201, omit: 1 });
    servers[0] = startServer(b.name, 5201);
    await new Promise((r) => setTimeout(r, 300));
    expect(alone.receivedBps).toBeGreaterThan(17 * mbit);
    expect(alone.receivedBps).toBeLessThan(20 * mbit);
    // Together each gets its rate: 5 and 15 Mbit/s, 20 in all.
    const [low, high] = await Promise.all([
      runClient(a.name, bAddr, 6, { port: 5201, omit: 2 }),
      runClient(a.name, bAddr, 6, { port: 5202, omit: 2 }),
    ]);
    expect(low.receivedBps).toBeGreaterThan(3.8 * mbit);
    expect(low.receivedBps).toBeLessThan(6.5 * mbit);
    expect(high.receivedBps).toBeGreaterThan(12 * mbit);
    expect(high.receivedBps).toBeLessThan(16.5 * mbit);
    expect(low.receivedBps + high.receivedBps).toBeGreaterThan(17 * mbit);
    expect(low.receivedBps + high.receivedBps).toBeLessThan(20 * mbit);
    console.log(
      `HTB 20 Mbit/s: 1:10 alone ${(alone.receivedBps / mbit).toFixed(2)}, together 1:10 ${(low.receivedBps / mbit).toFixed(2)} + 1:20 ${(high.receivedBps / mbit).toFixed(2)} Mbit/s`,
    );
    // Each class counted its own flow; the one over its rate borrowed.
    const [, c10, c20] = await classes(nl, 'a0');
    expect(c10.stats.bytes).toBeGreaterThan(5_000_000);
    expect(c20.stats.bytes).toBeGreaterThan(5_000_000);
    expect((c10.stats.xstats as { borrows: number }).borrows).toBeGreaterThan(0);
  } finally {
    servers.forEach(stop);
    nl.close();
  }
});

/** The test helper that loads and pins a tiny eBPF program, built with the system compiler. */
function bpfPin(): {
  pin: (type: 'cls' | 'act', value: number, file: string) => void;
  dir: string;
  done: () => void;
} {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nqbpf-'));
  const helper = path.join(dir, 'bpf-pin');
  execFileSync('cc', ['-O2', '-o', helper, path.join(__dirname, '..', 'helpers', 'bpf-pin.c')]);
  const fsDir = path.join(dir, 'fs');
  fs.mkdirSync(fsDir);
  sh('mount', ['-t', 'bpf', 'bpf', fsDir]);
  return {
    dir: fsDir,
    pin: (type, value, file) => void sh(helper, [type, String(value), path.join(fsDir, file)]),
    done: () => {
      sh('umount', [fsDir]);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const pings = (ns: string, addr: string, count: number) => {
  try {
    return Number(
      /(\d+) received/.exec(
        sh('ip', ['netns', 'exec', ns, 'ping', '-q', '-c', String(count), '-i', '0.05', '-W', '1', addr]),
      )?.[1],
    );
  } catch (e) {
    return Number(/(\d+) received/.exec(String((e as { stdout?: string }).stdout))?.[1] ?? 0);
  }
};

test('bpf classifier: classic BPF steers to a class, a pinned eBPF program drops in direct-action mode', async () => {
  const { a, bAddr } = tempPair('nqk');
  const nl = openNetlink({ netns: a.name });
  const bpf = bpfPin();
  try {
    // Classic BPF "ret #-1": every packet matches and goes to the filter's class.
    await nl.apply([
      ...htbTree('a0'),
      {
        op: 'add',
        filter: {
          dev: 'a0',
          parent: '1:',
          priority: 1,
          kind: 'bpf',
          program: { bytecode: [{ code: 6, jt: 0, jf: 0, k: 0xffffffff }] },
          classid: '1:10',
        },
      },
    ]);
    expect(pings(a.name, bAddr, 20)).toBe(20);
    const [, c10, c20] = await classes(nl, 'a0');
    expect(c10.stats.packets).toBeGreaterThanOrEqual(20);
    expect(c20.stats.packets).toBeLessThan(5); // the default class: only what is not IP
    const [cls] = await nl.dump({ type: 'filter', dev: 'a0', parent: '1:' });
    expect(cls).toMatchObject({
      kind: 'bpf',
      classid: '1:10',
      program: { bytecode: [{ code: 6, jt: 0, jf: 0, k: 0xffffffff }] },
    });

    // An eBPF program returning TC_ACT_SHOT (2) on egress, pinned, attached in direct-action mode.
    bpf.pin('cls', 2, 'drop');
    await nl.apply([
      { op: 'add', qdisc: { dev: 'a0', kind: 'clsact' } },
      {
        op: 'add',
        filter: {
          dev: 'a0',
          parent: 'egress',
          priority: 1,
          kind: 'bpf',
          program: { pinned: path.join(bpf.dir, 'drop') },
          directAction: true,
        },
      },
    ]);
    expect(pings(a.name, bAddr, 5)).toBe(0);
    const [dropper] = await nl.dump({ type: 'filter', dev: 'a0', parent: 'egress' });
    expect(dropper).toMatchObject({
      kind: 'bpf',
      name: 'drop:[*fsobj]',
      directAction: true,
      program: { id: expect.any(Number), tag: expect.stringMatching(/^[0-9a-f]{16}$/) },
    });
    // The read-back is an operation: by id, the same program attaches again (to ingress here).
    const {
      type: _t,
      dev: _d,
      ifindex: _i,
      handle: _h,
      parent: _p,
      chain: _c,
      ...again
    } = dropper as FilterState & Record<string, unknown>;
    await nl.apply([{ op: 'add', filter: { ...again, dev: 'a0', parent: 'ingress' } as never }]);
    const [ingress] = await nl.dump({ type: 'filter', dev: 'a0', parent: 'ingress' });
    expect(ingress).toMatchObject({ kind: 'bpf', program: (dropper as { program: unknown }).program });
  } finally {
    nl.close();
    bpf.done();
  }
});

test('pfifo and bfifo under HTB classes, and chains of a hook', async () => {
  const { a } = tempPair('nqk');
  const nl = openNetlink({ netns: a.name });
  try {
    await nl.apply([
      ...htbTree('a0'),
      { op: 'add', qdisc: { dev: 'a0', parent: '1:10', handle: '10:', kind: 'pfifo', limit: 50 } },
      { op: 'add', qdisc: { dev: 'a0', parent: '1:20', handle: '20:', kind: 'bfifo', limit: 64_000 } },
      { op: 'add', qdisc: { dev: 'a0', kind: 'clsact' } },
      { op: 'add', chain: { dev: 'a0', parent: 'ingress', chain: 3 } },
    ]);
    const qdiscs = await nl.dump({ type: 'qdisc', dev: 'a0' });
    expect(qdiscs.filter((q) => q.parent === '1:10' || q.parent === '1:20')).toMatchObject([
      { kind: 'pfifo', handle: '10:', limit: 50 },
      { kind: 'bfifo', handle: '20:', limit: 64_000 },
    ]);
    const leaves = (await classes(nl, 'a0')).map((c) => [c.classid, c.leaf]);
    expect(leaves).toEqual(
      expect.arrayContaining([
        ['1:10', '10:'],
        ['1:20', '20:'],
      ]),
    );
    expect(await nl.dump({ type: 'chain', dev: 'a0', parent: 'ingress' })).toMatchObject([
      { type: 'chain', dev: 'a0', parent: 'ingress', chain: 3 },
    ]);
    await nl.apply([{ op: 'delete', chain: { dev: 'a0', parent: 'ingress', chain: 3 } }]);
    expect(await nl.dump({ type: 'chain', dev: 'a0', parent: 'ingress' })).toEqual([]);
  } finally {
    nl.close();
  }
});

test('a kind this kernel lacks: the kernel says so in its own words, and the operation names the kind', async () => {
  const { a } = tempPair('nqk');
  const nl = openNetlink({ netns: a.name });
  try {
    await expect(
      nl.apply([{ op: 'add', qdisc: { dev: 'a0', parent: 'root', kind: 'netem', delayUs: 50_000 } }]),
    ).rejects.toMatchObject({
      code: 'ENOENT',
      message: expect.stringMatching(/^add netem qdisc on a0 root .*Specified qdisc kind is unknown/),
      kernelMessage: expect.stringMatching(/qdisc kind is unknown/),
    });
    await nl.apply([{ op: 'add', qdisc: { dev: 'a0', kind: 'clsact' } }]);
    await expect(
      nl.apply([
        {
          op: 'add',
          filter: { dev: 'a0', parent: 'ingress', kind: 'flower', ipProto: 'tcp', protocol: 'ip' },
        },
      ]),
    ).rejects.toMatchObject({
      message: expect.stringMatching(/^add flower filter on a0 ingress .*TC classifier not found/),
    });
  } finally {
    nl.close();
  }
});

test('atomic: a failed batch puts an HTB tree back, its classes, leaf qdiscs and filters too', async () => {
  const { a } = tempPair('nqk');
  const nl = openNetlink({ netns: a.name });
  const state = async () => ({
    qdiscs: (await nl.dump({ type: 'qdisc', dev: 'a0' })).map(
      ({ stats: _s, ...q }) => q,
    ) as Partial<QdiscState>[],
    classes: (await classes(nl, 'a0')).map(({ stats: _s, leaf: _l, ...c }) => c) as Partial<ClassState>[],
    filters: await nl.dump({ type: 'filter', dev: 'a0', parent: '1:' }),
  });
  try {
    await nl.apply([
      ...htbTree('a0'),
      { op: 'add', qdisc: { dev: 'a0', parent: '1:10', handle: '10:', kind: 'pfifo', limit: 50 } },
      portFilter('a0', 5201, '1:10', 1),
    ]);
    const before = await state();
    expect(before.classes).toHaveLength(3);
    const failing: Operation = { op: 'add', qdisc: { dev: 'a0', parent: '1:30', kind: 'netem' } };

    // Classes changed, removed and added, the leaf replaced, a filter added; then a failure.
    const r1 = await nl.apply(
      [
        { op: 'change', class: { dev: 'a0', parent: '1:1', classid: '1:10', kind: 'htb', rate: 9 * mbit } },
        { op: 'delete', class: { dev: 'a0', classid: '1:20' } },
        { op: 'add', class: { dev: 'a0', parent: '1:1', classid: '1:30', kind: 'htb', rate: 1 * mbit } },
        { op: 'replace', qdisc: { dev: 'a0', parent: '1:10', handle: '11:', kind: 'bfifo', limit: 9000 } },
        portFilter('a0', 5202, '1:30', 2),
        failing,
      ],
      { atomic: true, throwOnFailure: false },
    );
    expect(r1.rolledBack).toBe(true);
    expect(await state()).toEqual(before);

    // The root itself replaced by a TBF: the whole tree comes back.
    const r2 = await nl.apply(
      [
        {
          op: 'replace',
          qdisc: {
            dev: 'a0',
            parent: 'root',
            handle: '2:',
            kind: 'tbf',
            rate: mbit,
            burst: 10_000,
            limit: 10_000,
          },
        },
        failing,
      ],
      { atomic: true, throwOnFailure: false },
    );
    expect(r2.rolledBack).toBe(true);
    expect(await state()).toEqual(before);
  } finally {
    nl.close();
  }
});

// The tc pieces this machine's kernel lacks, in User-Mode Linux: police, pedit + csum, skbedit,
// gact and matchall are accepted, read back as written, and act on real packets.
import { openNetlink, type FilterState, type NetlinkHandle } from '../../lib';
import { runClient, startServer, stop, udpFlood } from '../helpers/iperf';
import { sh, tempPair } from '../helpers/netns';

jest.setTimeout(120_000);

function ping(ns: string, addr: string, count: number, tos?: number): string {
  const args = ['netns', 'exec', ns, 'ping', '-q', '-c', String(count), '-i', '0.01', '-W', '1', addr];
  if (tos !== undefined) args.push('-Q', String(tos));
  try {
    return sh('ip', args);
  } catch (e) {
    return String((e as { stdout?: string }).stdout ?? '');
  }
}
const received = (pingOut: string) => Number(/(\d+) received/.exec(pingOut)?.[1] ?? 0);

async function filters(nl: NetlinkHandle, dev: string, parent: string): Promise<FilterState[]> {
  return nl.dump({ type: 'filter', dev, parent });
}

test('matchall + police (bytes): read back, and drops what exceeds the rate', async () => {
  const { a, b, bAddr } = tempPair('nqu');
  const nl = openNetlink({ netns: a.name });
  try {
    await nl.apply([
      { op: 'add', qdisc: { dev: 'a0', kind: 'clsact' } },
      {
        op: 'add',
        filter: {
          dev: 'a0',
          parent: 'egress',
          kind: 'matchall',
          priority: 1,
          protocol: 'ip',
          actions: [
            {
              kind: 'police',
              rate: 2_000_000,
              burst: 20_000,
              mtu: 2000,
              exceed: 'drop',
              conform: 'ok',
              cookie: '6e71aa01',
            },
          ],
        },
      },
    ]);
    const [f] = await filters(nl, 'a0', 'egress');
    expect(f).toMatchObject({
      kind: 'matchall',
      priority: 1,
      protocol: 'ip',
      actions: [{ kind: 'police', rate: 2_000_000, exceed: 'drop', conform: 'ok', cookie: '6e71aa01' }],
    });
    const police = f.actions![0] as { burst: number };
    expect(Math.abs(police.burst - 20_000)).toBeLessThanOrEqual(2); // kernel ticks

    // 10 Mbit/s of UDP into a 2 Mbit/s policer: most of it dropped, what passes is near 2 Mbit/s.
    const server = startServer(b.name);
    try {
      await new Promise((r) => setTimeout(r, 300));
      const result = await runClient(a.name, bAddr, 4, { udp: '10M' });
      expect(result.receivedBps).toBeGreaterThan(1_000_000);
      expect(result.receivedBps).toBeLessThan(3_000_000);
    } finally {
      stop(server);
    }
    const [after] = await filters(nl, 'a0', 'egress');
    expect(after.actions![0].stats!.drops).toBeGreaterThan(100);
  } finally {
    nl.close();
  }
});

test('police (packets per second): read back, and limits the packet rate', async () => {
  const { a, bAddr } = tempPair('nqu');
  const nl = openNetlink({ netns: a.name });
  try {
    await nl.apply([
      { op: 'add', qdisc: { dev: 'a0', kind: 'clsact' } },
      {
        op: 'add',
        filter: {
          dev: 'a0',
          parent: 'egress',
          kind: 'matchall',
          protocol: 'ip',
          actions: [{ kind: 'police', pktRate: 100, pktBurst: 5, exceed: 'drop' }],
        },
      },
    ]);
    const [f] = await filters(nl, 'a0', 'egress');
    expect(f.actions![0]).toMatchObject({ kind: 'police', pktRate: 100, pktBurst: 5, exceed: 'drop' });
    // 400 UDP datagrams a second for 3 s into a 100 packets/s policer (a sender with no control
    // connection, so the policer sees only this flow).
    await udpFlood(a.name, bAddr, 400, 3);
    const [after] = await filters(nl, 'a0', 'egress');
    const { packets, drops } = after.actions![0].stats!;
    const passedPerSecond = (packets - drops) / 3;
    expect(drops).toBeGreaterThan(packets / 3);
    expect(passedPerSecond).toBeGreaterThan(60);
    expect(passedPerSecond).toBeLessThan(160);
  } finally {
    nl.close();
  }
});

test('pedit + csum: DSCP EF written with ECN kept and a valid IPv4 checksum; pedit for IPv6 reads back', async () => {
  const { a, b, bAddr } = tempPair('nqu');
  const nl = openNetlink({ netns: a.name });
  const rx = openNetlink({ netns: b.name });
  try {
    await nl.apply([
      { op: 'add', qdisc: { dev: 'a0', kind: 'clsact' } },
      {
        op: 'add',
        filter: {
          dev: 'a0',
          parent: 'egress',
          kind: 'u32',
          priority: 10,
          protocol: 'ip',
          actions: [
            {
              kind: 'pedit',
              keys: [{ htype: 'ipv4', cmd: 'set', offset: 0, value: 0x00b80000, mask: 0xff03ffff }],
              control: 'pipe',
            },
            { kind: 'csum', update: ['ipv4h'] },
          ],
        },
      },
      {
        op: 'add',
        filter: {
          dev: 'a0',
          parent: 'egress',
          kind: 'u32',
          priority: 11,
          protocol: 'ipv6',
          actions: [
            {
              kind: 'pedit',
              keys: [{ htype: 'ipv6', cmd: 'set', offset: 0, value: 0x0b800000, mask: 0xf03fffff }],
            },
          ],
        },
      },
    ]);
    const fs = await filters(nl, 'a0', 'egress');
    expect(fs.find((f) => f.priority === 10)!.actions).toMatchObject([
      {
        kind: 'pedit',
        keys: [{ htype: 'ipv4', cmd: 'set', offset: 0, value: 0x00b80000, mask: 0xff03ffff }],
        control: 'pipe',
      },
      { kind: 'csum', update: ['ipv4h'], control: 'ok' },
    ]);
    expect(fs.find((f) => f.priority === 11)!.actions).toMatchObject([
      { kind: 'pedit', keys: [{ htype: 'ipv6', value: 0x0b800000, mask: 0xf03fffff }] },
    ]);

    // The receiver counts packets whose whole TOS byte is EF (0xb8) | ECT(1) (0x01).
    await rx.apply([
      { op: 'add', qdisc: { dev: 'b0', kind: 'clsact' } },
      {
        op: 'add',
        filter: {
          dev: 'b0',
          parent: 'ingress',
          kind: 'u32',
          priority: 1,
          protocol: 'ip',
          keys: [{ value: 0x00b90000, mask: 0x00ff0000, offset: 0 }],
          actions: [{ kind: 'gact', control: 'ok' }],
        },
      },
    ]);
    // ping -Q 1 sends TOS 0x01 (DSCP 0, ECN ECT(1)); every echo must arrive rewritten and be
    // answered, which the IP stack only does when the header checksum is valid.
    expect(received(ping(a.name, bAddr, 20, 0x01))).toBe(20);
    const [marked] = await filters(rx, 'b0', 'ingress');
    expect(marked.actions![0].stats!.packets).toBe(20);
  } finally {
    nl.close();
    rx.close();
  }
});

test('skbedit sets the priority that an HTB root then classifies by; gact drops', async () => {
  const { a, bAddr } = tempPair('nqu');
  const nl = openNetlink({ netns: a.name });
  try {
    sh('tc', ['-n', a.name, 'qdisc', 'add', 'dev', 'a0', 'root', 'handle', '1:', 'htb', 'default', '20']);
    sh('tc', [
      '-n',
      a.name,
      'class',
      'add',
      'dev',
      'a0',
      'parent',
      '1:',
      'classid',
      '1:10',
      'htb',
      'rate',
      '100mbit',
    ]);
    sh('tc', [
      '-n',
      a.name,
      'class',
      'add',
      'dev',
      'a0',
      'parent',
      '1:',
      'classid',
      '1:20',
      'htb',
      'rate',
      '100mbit',
    ]);
    await nl.apply([
      { op: 'add', qdisc: { dev: 'a0', kind: 'clsact' } },
      {
        op: 'add',
        filter: {
          dev: 'a0',
          parent: 'egress',
          kind: 'matchall',
          priority: 1,
          protocol: 'ip',
          actions: [{ kind: 'skbedit', priority: '1:10', inheritDsfield: false }],
        },
      },
    ]);
    const [f] = await filters(nl, 'a0', 'egress');
    expect(f.actions![0]).toMatchObject({ kind: 'skbedit', priority: '1:10', control: 'pipe' });
    expect(received(ping(a.name, bAddr, 10))).toBe(10);
    // iproute2 6.1 prints no JSON for HTB classes: read "class htb 1:10 ... Sent B bytes N pkt".
    const classes = sh('tc', ['-n', a.name, '-s', 'class', 'show', 'dev', 'a0']);
    const sent = (id: string) =>
      Number(new RegExp(`class htb ${id} [^]*?Sent \\d+ bytes (\\d+) pkt`).exec(classes)?.[1]);
    expect(sent('1:10')).toBeGreaterThanOrEqual(10);
    expect(sent('1:20')).toBeLessThan(5);

    // matchall keeps one filter per priority and cannot change it in place (the kernel answers
    // EEXIST to a replace): swap it by delete + add in one batch.
    await nl.apply([
      { op: 'delete', filter: { dev: 'a0', parent: 'egress', priority: 1, protocol: 'ip' } },
      {
        op: 'add',
        filter: {
          dev: 'a0',
          parent: 'egress',
          kind: 'matchall',
          priority: 1,
          protocol: 'ip',
          actions: [{ kind: 'gact', control: 'drop' }],
        },
      },
    ]);
    const [g] = await filters(nl, 'a0', 'egress');
    expect(g.actions![0]).toMatchObject({ kind: 'gact', control: 'drop' });
    expect(received(ping(a.name, bAddr, 5))).toBe(0);
    const [after] = await filters(nl, 'a0', 'egress');
    expect(after.actions![0].stats!.drops).toBeGreaterThanOrEqual(5);
  } finally {
    nl.close();
  }
});

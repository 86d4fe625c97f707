// Pod QoS controls the host kernel cannot run, on real packets in User-Mode Linux: packet rates
// both ways and DSCP marking (IPv4 checksum valid, ECN kept), applied from annotations;
// a second apply sends nothing, and clearing leaves only other tools' objects.
import { applyQos, clearQos, readQos, openNetlink } from '../../lib';
import { udpFlood } from '../helpers/iperf';
import { sh, tempPair } from '../helpers/netns';

jest.setTimeout(120_000);

const ANNOTATIONS = {
  'qos.projectcalico.org/dscp': 'EF',
  'qos.projectcalico.org/egressPacketRate': '100',
  'qos.projectcalico.org/ingressPacketRate': '100',
};

test('packet rates and DSCP from annotations act on real packets', async () => {
  // A node namespace with the pod's host-side interface cali0, and the pod's eth0 peered to it.
  const { a: node, b: pod } = tempPair('nqu', { a: 'cali0', b: 'eth0' });
  const target = { ifname: 'cali0', netns: node.name, annotations: ANNOTATIONS };

  const first = await applyQos([target]);
  expect(first.sent).toBe(5); // clsact + DSCP v4 + DSCP v6 + police from the pod + police to it
  expect((await applyQos([target])).sent).toBe(0);

  const [status] = await readQos([target]);
  expect(status.ingress).toMatchObject({ packetRate: 100, packetBurst: 5 });
  expect(status.egress).toMatchObject({ packetRate: 100, packetBurst: 5, dscp: 46 });

  // The pod pings the node with TOS 0x01 (ECT(1)); the node answers only if the rewritten header's
  // checksum is valid, and its echo replies carry the request's TOS back: a counter on the pod's
  // eth0 sees EF | ECT(1) = 0xb9 in all of them.
  const nl = openNetlink({ netns: node.name });
  const podNl = openNetlink({ netns: pod.name });
  try {
    await podNl.apply([
      { op: 'add', qdisc: { dev: 'eth0', kind: 'clsact' } },
      {
        op: 'add',
        filter: {
          dev: 'eth0',
          parent: 'ingress',
          kind: 'u32',
          priority: 1,
          protocol: 'ip',
          keys: [{ value: 0x00b90000, mask: 0x00ff0000, offset: 0 }],
          actions: [{ kind: 'gact', control: 'ok' }],
        },
      },
    ]);
    const out = sh('ip', [
      'netns',
      'exec',
      pod.name,
      'ping',
      '-q',
      '-c',
      '20',
      '-i',
      '0.05',
      '-W',
      '1',
      '-Q',
      '1',
      '198.18.0.1',
    ]);
    expect(out).toContain('20 received');
    const [counter] = await podNl.dump({ type: 'filter', dev: 'eth0', parent: 'ingress' });
    expect(counter.actions![0].stats!.packets).toBe(20);

    // 250 UDP datagrams a second for 3 s each way into 100 packets/s policers; the sender has no
    // control connection of its own, so the policers see only this flow (and the pings above).
    await udpFlood(pod.name, '198.18.0.1', 250, 3);
    await udpFlood(node.name, '198.18.0.2', 250, 3);
    const [after] = await readQos([target]);
    // A watching handle reads the same: configuration from its mirror, the policers' counters live.
    const watching = openNetlink({ netns: node.name });
    try {
      await watching.watch();
      expect(await readQos([target], { handles: new Map([[node.name, watching]]) })).toEqual([after]);
      expect((await applyQos([target], { handles: new Map([[node.name, watching]]) })).sent).toBe(0);
    } finally {
      watching.close();
    }
    for (const policer of [after.egress.policer!, after.ingress.policer!]) {
      const passedPerSecond = (policer.packets - policer.drops) / 3;
      expect(policer.drops).toBeGreaterThan(policer.packets / 3);
      expect(passedPerSecond).toBeGreaterThan(60);
      expect(passedPerSecond).toBeLessThan(170); // 100/s plus the burst and the ping/handshake packets
    }

    // Clearing removes netqos's filters and the clsact it added; another tool's filter would
    // have kept the clsact (see test/kernel/qos.test.ts).
    expect((await clearQos([target])).sent).toBe(5);
    expect(await nl.dump({ type: 'filter', dev: 'cali0' })).toEqual([]);
    expect(sh('tc', ['-n', node.name, 'qdisc', 'show', 'dev', 'cali0'])).not.toContain('clsact');
  } finally {
    nl.close();
    podNl.close();
  }
});

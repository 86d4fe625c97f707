// Choosing the dataplane in User-Mode Linux, whose kernel (Debian's 6.1) has every tc action as a
// module but builds nf_tables with the bridge family only (no inet, ip, ip6 or netdev tables):
// 'auto' finds the actions loadable and puts packet rate and DSCP on tc; a connection limit,
// which only nftables enforces, is one clear error naming what the kernel lacks, and nothing of
// the call stays (its tc half undone).
import { applyQos, clearQos, QosDataplaneError } from '../../lib';
import { sh, tempPair } from '../helpers/netns';

jest.setTimeout(120_000);

const Q = 'qos.projectcalico.org/';

test('auto: packet rate and DSCP on tc, whose actions this kernel loads as modules', async () => {
  const { a: node } = tempPair('nquo', { a: 'cali0', b: 'eth0' });
  const target = {
    ifname: 'cali0',
    netns: node.name,
    annotations: { [`${Q}egressPacketRate`]: '100', [`${Q}dscp`]: 'EF', [`${Q}ingressBandwidth`]: '10M' },
  };
  const r = await applyQos([target]);
  expect(r.targets[0].enforcedBy).toEqual({ bandwidth: 'tc', packetRate: 'tc', dscp: 'tc' });
  expect(r.batches[0].nftables).toEqual([]);
  await clearQos([{ ifname: 'cali0', netns: node.name }]);
});

test('a connection limit without the inet family: one error naming it, nothing applied', async () => {
  const { a: node } = tempPair('nqui', { a: 'cali0', b: 'eth0' });
  const qdiscs = () => sh('tc', ['-n', node.name, 'qdisc', 'show', 'dev', 'cali0']);
  const before = qdiscs();
  for (const [annotations, dataplane, control] of [
    [
      { [`${Q}ingressBandwidth`]: '10M', [`${Q}ingressMaxConnections`]: '3' },
      'auto',
      `${Q}ingressMaxConnections`,
    ],
    [
      { [`${Q}ingressBandwidth`]: '10M', [`${Q}egressPacketRate`]: '100' },
      'nftables',
      `${Q}egressPacketRate`,
    ],
  ] as const) {
    const err = await applyQos([{ ifname: 'cali0', netns: node.name, annotations }], { dataplane }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(QosDataplaneError);
    expect(err).toMatchObject({
      code: 'ERR_NETQOS_DATAPLANE',
      ifname: 'cali0',
      control,
      missing: ['nf_tables inet family'],
    });
    expect((err as Error).message).toContain('CONFIG_NF_TABLES_INET');
    expect((err as Error).message).toContain('nothing was applied');
    // The TBF the tc half added is gone again.
    expect(qdiscs()).toBe(before);
  }
});

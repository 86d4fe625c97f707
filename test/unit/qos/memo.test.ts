// The memos on the reconcile path: parsed annotations by content, IFB names by interface.
import { planQos } from '../../../lib/qos/qos';
import { AnnotationError, qosEntries, sameQosEntries } from '../../../lib/qos/annotations';
import { ifbNameFor } from '../../../lib/qos/naming';
import { createHash } from 'crypto';

describe('qosEntries and sameQosEntries', () => {
  test('only the keys the parser reads count, in their order', () => {
    const a = {
      'qos.projectcalico.org/ingressBandwidth': '10M',
      'app.kubernetes.io/name': 'web',
      'kubernetes.io/egress-bandwidth': '1M',
    };
    expect(qosEntries(a)).toEqual([
      'qos.projectcalico.org/ingressBandwidth',
      '10M',
      'kubernetes.io/egress-bandwidth',
      '1M',
    ]);
    expect(qosEntries({ other: 'x' })).toEqual([]);
    expect(qosEntries(undefined)).toBeUndefined();
  });

  test('values that are not strings make no entries (the parser must see them)', () => {
    expect(
      qosEntries({ 'qos.projectcalico.org/ingressBandwidth': 10 } as unknown as Record<string, string>),
    ).toBeUndefined();
    expect(qosEntries({ unrelated: 10 } as unknown as Record<string, string>)).toEqual([]);
  });

  test('an annotations object changed in place no longer matches what it held', () => {
    const a: Record<string, string> = { 'qos.projectcalico.org/ingressBandwidth': '10M', unrelated: 'x' };
    const entries = qosEntries(a)!;
    expect(sameQosEntries(a, entries)).toBe(true);
    a.unrelated = 'y';
    expect(sameQosEntries(a, entries)).toBe(true);
    a['qos.projectcalico.org/ingressBandwidth'] = '20M';
    expect(sameQosEntries(a, entries)).toBe(false);
    a['qos.projectcalico.org/ingressBandwidth'] = '10M';
    a['qos.projectcalico.org/egressBandwidth'] = '10M';
    expect(sameQosEntries(a, entries)).toBe(false);
    delete a['qos.projectcalico.org/egressBandwidth'];
    delete a['qos.projectcalico.org/ingressBandwidth'];
    expect(sameQosEntries(a, entries)).toBe(false);
  });
});

describe('the parse memo', () => {
  // Annotations are parsed before anything touches the kernel, so this needs no namespace.
  const bad = [{ ifname: 'cali0', annotations: { 'qos.projectcalico.org/ingressBandwidth': 'lots' } }];

  test('a bad annotation fails every time, not only the first', async () => {
    await expect(planQos(bad)).rejects.toThrow(AnnotationError);
    await expect(planQos(bad)).rejects.toThrow(AnnotationError);
  });

  test('an annotations object made bad in place after a good parse fails', async () => {
    const annotations: Record<string, string> = { 'qos.projectcalico.org/ingressBandwidth': 'lots' };
    await expect(planQos([{ ifname: 'cali0', annotations }])).rejects.toThrow(AnnotationError);
    annotations['qos.projectcalico.org/ingressBandwidth'] = 'more';
    await expect(planQos([{ ifname: 'cali0', annotations }])).rejects.toThrow(/more/);
  });
});

test('ifbNameFor: the memo gives what the hash gives', () => {
  for (const name of ['cali0', 'cali1234567890a', 'veth0', 'cali0']) {
    const want = 'nqifb' + createHash('sha256').update(name).digest('hex').slice(0, 10);
    expect(ifbNameFor(name)).toBe(want);
  }
  expect(() => ifbNameFor('no/slash')).toThrow(/not a valid interface name/);
  expect(() => ifbNameFor('no/slash')).toThrow(/not a valid interface name/);
});

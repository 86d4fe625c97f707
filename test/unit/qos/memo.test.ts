// The memos on the reconcile path: parsed annotations by content, IFB names by interface.
import { planQos } from '../../../lib/qos/qos';
import { AnnotationError, qosAnnotationKey } from '../../../lib/qos/annotations';
import { ifbNameFor } from '../../../lib/qos/naming';
import { createHash } from 'crypto';

describe('qosAnnotationKey', () => {
  test('only the keys the parser reads count, in their order', () => {
    const a = { 'qos.projectcalico.org/ingressBandwidth': '10M', 'app.kubernetes.io/name': 'web' };
    const b = { 'qos.projectcalico.org/ingressBandwidth': '10M', 'other/x': 'y' };
    expect(qosAnnotationKey(a)).toBe(qosAnnotationKey(b));
    expect(qosAnnotationKey({ 'kubernetes.io/egress-bandwidth': '1M' })).not.toBe(qosAnnotationKey({}));
    expect(qosAnnotationKey({ 'qos.projectcalico.org/ingressBandwidth': '20M' })).not.toBe(qosAnnotationKey(a));
  });

  test('values that are not strings make no key (the parser must see them)', () => {
    expect(qosAnnotationKey({ 'qos.projectcalico.org/ingressBandwidth': 10 } as unknown as Record<string, string>)).toBeUndefined();
    expect(qosAnnotationKey({ unrelated: 10 } as unknown as Record<string, string>)).toBe('[]');
    expect(qosAnnotationKey(undefined)).toBeUndefined();
  });

  test('keys and values cannot run into each other', () => {
    const k1 = qosAnnotationKey({ 'qos.projectcalico.org/a': 'b,c' });
    const k2 = qosAnnotationKey({ 'qos.projectcalico.org/a': 'b', 'qos.projectcalico.org/c': '' });
    expect(k1).not.toBe(k2);
  });
});

describe('the parse memo', () => {
  // Annotations are parsed before anything touches the kernel, so this needs no namespace.
  const bad = [{ ifname: 'cali0', annotations: { 'qos.projectcalico.org/ingressBandwidth': 'lots' } }];

  test('a bad annotation fails every time, not only the first', async () => {
    await expect(planQos(bad)).rejects.toThrow(AnnotationError);
    await expect(planQos(bad)).rejects.toThrow(AnnotationError);
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

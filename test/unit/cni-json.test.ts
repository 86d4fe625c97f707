// The CNI configuration read as Go's encoding/json reads it (lib/cni/go-json.ts and the struct
// config.ts declares): keys matched case-insensitively, later keys overwriting earlier ones,
// null, merging, map keys exact; what containerd and CRI-O really send; and the parser against
// JSON.parse on generated input.
import fc from 'fast-check';
import { decodeConfig, mergeQos, readPluginConfig } from '../../lib/cni/config';
import { CniError } from '../../lib/cni/errors';
import { MAX_DEPTH, decodeStruct, foldKey, parseJson, toPlain, STRING, NUMBER } from '../../lib/cni/go-json';

const RUNS = Number(process.env.NETQOS_FUZZ_RUNS ?? 300);
const PREV = { cniVersion: '1.0.0', interfaces: [{ name: 'veth1' }, { name: 'eth0', sandbox: '/x' }] };

describe('keys as Go reads them', () => {
  test("containerd's runtimeConfig.bandwidth (go-cni's untagged struct): capitalised keys shape the pod", () => {
    // What containerd 1.6 writes for kubernetes.io/ingress-bandwidth: 10M, egress-bandwidth: 20M.
    const stdin = JSON.stringify({
      cniVersion: '1.0.0',
      name: 'k8s-pod-network',
      type: 'netqos',
      prevResult: PREV,
      runtimeConfig: {
        bandwidth: {
          IngressRate: 10000000,
          IngressBurst: 4294967295,
          EgressRate: 20000000,
          EgressBurst: 4294967295,
        },
      },
    });
    const { config, spec } = readPluginConfig(decodeConfig(stdin), 'ADD');
    expect(config.sources).toEqual({ ingress: 'runtimeConfig', egress: 'runtimeConfig' });
    expect(spec.ingress.bandwidth).toBe(10_000_000);
    expect(spec.egress.bandwidth).toBe(20_000_000);
    // The placeholder bursts mean "none given", however the key is spelt.
    expect(spec.ingress.burst).toBeUndefined();
  });

  test('every key of the configuration and of runtimeConfig, in any case (the exact name too)', () => {
    const stdin = JSON.stringify({
      CNIVERSION: '1.0.0',
      Name: 'pods',
      TYPE: 'netqos',
      PrevResult: PREV,
      MODE: 'calico',
      Profile: 'calico',
      DATADIR: '/var/lib/x',
      INGRESSRATE: 1_000_000,
      ingressburst: 100_000,
      RuntimeConfig: { BANDWIDTH: { egressrate: 5_000_000, EGRESSBURST: 50_000 } },
    });
    const conf = decodeConfig(stdin);
    expect(conf).toMatchObject({
      cniVersion: '1.0.0',
      name: 'pods',
      mode: 'calico',
      profile: 'calico',
      dataDir: '/var/lib/x',
      ingressRate: 1_000_000,
      ingressBurst: 100_000,
      runtimeConfig: { bandwidth: { egressRate: 5_000_000, egressBurst: 50_000 } },
    });
    expect(conf.prevResult).toEqual(PREV);
    const annotations = { 'qos.projectcalico.org/dscp': 'AF11' };
    const withPod = decodeConfig(
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'pods',
        runtimeConfig: { 'IO.Kubernetes.CRI.Pod-Annotations': annotations },
        'CNI.dev/Valid-Attachments': [{ ContainerId: 'c1', IFNAME: 'eth0' }],
      }),
    );
    expect(withPod.runtimeConfig).toEqual({ 'io.kubernetes.cri.pod-annotations': annotations });
    expect(withPod['cni.dev/valid-attachments']).toEqual([{ containerID: 'c1', ifname: 'eth0' }]);
  });

  test('Unicode folding as Go: KELVIN SIGN is k, LONG S is s; nothing else folds onto ASCII', () => {
    expect(foldKey('\u212Aey')).toBe(foldKey('key'));
    expect(foldKey('cniVer\u017Fion')).toBe(foldKey('cniVersion'));
    expect(decodeConfig('{"na\\u006de":"x","cniVer\\u017fion":"1.0.0"}')).toMatchObject({
      name: 'x',
      cniVersion: '1.0.0',
    });
    // Dotless i upper-cases to I in JavaScript, but Go does not fold it onto i.
    expect(foldKey('\u0131ngressRate')).not.toBe(foldKey('ingressRate'));
    expect(decodeConfig('{"\u0131ngressRate": 5}').ingressRate).toBeUndefined();
    expect(foldKey('straße')).toBe(foldKey('STRAẞE'));
  });

  test('keys in document order: a later spelling overwrites an earlier one; null leaves a number as it was', () => {
    expect(decodeConfig('{"ingressRate": 1, "IngressRate": 2}').ingressRate).toBe(2);
    expect(decodeConfig('{"IngressRate": 2, "ingressRate": 1}').ingressRate).toBe(1);
    expect(decodeConfig('{"ingressRate": 1, "INGRESSRATE": null}').ingressRate).toBe(1);
    // Equal keys too (JSON.parse would keep the first one's position with the last one's value).
    expect(decodeConfig('{"ingressRate": 1, "IngressRate": 2, "ingressRate": 3}').ingressRate).toBe(3);
  });

  test('objects merge into a struct or map already there; null clears a pointer or map; map keys are exact', () => {
    const conf = decodeConfig(
      JSON.stringify({
        runtimeConfig: { bandwidth: { ingressRate: 1 }, 'io.kubernetes.cri.pod-annotations': { a: '1' } },
        RuntimeConfig: { Bandwidth: { EgressRate: 2 }, 'io.kubernetes.cri.pod-annotations': { A: '2' } },
      }),
    );
    expect(conf.runtimeConfig).toEqual({
      bandwidth: { ingressRate: 1, egressRate: 2 },
      'io.kubernetes.cri.pod-annotations': { a: '1', A: '2' },
    });
    const cleared = decodeConfig('{"runtimeConfig": {"bandwidth": {"ingressRate": 1}, "BANDWIDTH": null}}');
    expect(cleared.runtimeConfig).toEqual({});
    const prev = decodeConfig('{"prevResult": {"ips": [1]}, "PREVRESULT": {"dns": {}}}');
    expect(prev.prevResult).toEqual({ ips: [1], dns: {} });
  });

  test('a value of the wrong type sticks (Go fails the decode): the validator names it', () => {
    const conf = decodeConfig('{"ingressRate": "10M", "IngressRate": 5}');
    expect(conf.ingressRate).toBe('10M');
    expect(() => mergeQos(conf)).toThrow('invalid ingressRate');
    expect(() => mergeQos(decodeConfig('{"runtimeConfig": 5, "RuntimeConfig": {}}'))).toThrow(
      'runtimeConfig must be an object',
    );
  });

  test('the pod annotations keep their own keys: a differently-cased Calico key is unknown (strict: refused)', () => {
    const conf = decodeConfig(
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'pods',
        prevResult: PREV,
        runtimeConfig: {
          'io.kubernetes.cri.pod-annotations': { 'QOS.projectcalico.org/ingressBandwidth': '1M' },
        },
      }),
    );
    expect(readPluginConfig(conf, 'ADD').spec.ingress).toEqual({});
    const calicoKey = decodeConfig(
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'pods',
        prevResult: PREV,
        runtimeConfig: {
          'io.kubernetes.cri.pod-annotations': { 'qos.projectcalico.org/IngressBandwidth': '1M' },
        },
      }),
    );
    expect(() => readPluginConfig(calicoKey, 'ADD')).toThrow('unknown QoS annotation');
  });

  test('nesting deeper than MAX_DEPTH is a decoding failure (code 6), not a stack overflow', () => {
    const deep = (n: number) => `{"prevResult": ${'['.repeat(n)}${']'.repeat(n)}}`;
    expect(decodeConfig(deep(MAX_DEPTH - 1)).prevResult).toBeDefined();
    expect(() => decodeConfig(deep(MAX_DEPTH))).toThrow(
      expect.objectContaining({
        code: 6,
        details: expect.stringContaining(`nested deeper than ${MAX_DEPTH}`),
      }),
    );
  });
});

describe('the parser against JSON.parse (generated input)', () => {
  const accepts = (text: string, parse: (t: string) => unknown): boolean => {
    try {
      parse(text);
      return true;
    } catch (e) {
      if (parse === parseJson && !(e instanceof CniError)) throw e;
      return false;
    }
  };

  test('any JSON text: the same value as JSON.parse', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), fc.constantFrom(0, 2), (v, indent) => {
        const text = JSON.stringify(v, null, indent);
        expect(toPlain(parseJson(text))).toEqual(JSON.parse(text));
      }),
      { numRuns: RUNS },
    );
  });

  test('any text, mangled JSON above all: accepted exactly when JSON.parse accepts it', () => {
    const mangled = fc
      .tuple(
        fc.json({ maxDepth: 4 }),
        fc.nat(),
        fc.constantFrom('', '"', ',', '}', ']', '\\', '\u0001', ' ', 'x', '-'),
      )
      .map(([text, at, insert]) => {
        const i = text.length ? at % text.length : 0;
        return at % 3 === 0
          ? text.slice(0, i) + text.slice(i + 1)
          : text.slice(0, i) + insert + text.slice(i);
      });
    fc.assert(
      fc.property(
        fc.oneof(
          mangled,
          fc.string({ unit: 'binary' }),
          fc.string({ unit: fc.constantFrom(...'{}[]",:0-1e.tfnul\\ ') }),
        ),
        (text) => {
          expect(accepts(text, parseJson)).toBe(accepts(text, JSON.parse));
        },
      ),
      { numRuns: RUNS * 5 },
    );
  });

  test('duplicate keys: JSON.parse semantics for interface{} values, the last for struct fields', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('a', 'A', 'b', 'ª', 'K', '\u212A', 'k'), fc.integer()), {
          maxLength: 8,
        }),
        (pairs) => {
          const text = `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
          expect(toPlain(parseJson(text))).toEqual(JSON.parse(text));
          const fields = decodeStruct(text, { a: NUMBER, k: NUMBER, b: STRING });
          const last = (names: string[]) => [...pairs].reverse().find(([k]) => names.includes(k))?.[1];
          expect(fields.a).toBe(last(['a', 'A']));
          expect(fields.k).toBe(last(['k', 'K', '\u212A']));
          // A number into a string field: the first one sticks, for the validator to refuse.
          expect(fields.b).toBe(pairs.find(([k]) => k === 'b')?.[1]);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

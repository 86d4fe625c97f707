// Property tests of what a CNI caller controls, without a kernel: the configuration on standard
// input (generated from the keys netqos reads, in any case, with values of every type) and the
// CNI_* variables must end in a result or a CniError with a documented code and a short message;
// the resident server's framing must give back any request however the stream is cut, and turn
// any bytes into a ProtocolError at worst. NETQOS_FUZZ_RUNS scales the runs (CI: the default).
import fc from 'fast-check';
import {
  COMMANDS,
  decodeConfig,
  readEnvironment,
  readPluginConfig,
  validAttachments,
} from '../../lib/cni/config';
import { CNI_CODE, CniError } from '../../lib/cni/errors';
import {
  HEADER_BYTES,
  MessageCollector,
  ProtocolError,
  REQUEST_MAGIC,
  decodeRequestBody,
  encodeRequest,
  type CniRequest,
} from '../../lib/cni/protocol';

const RUNS = Number(process.env.NETQOS_FUZZ_RUNS ?? 300);
const CODES = new Set<number>([...Object.values(CNI_CODE)]);

/** A key in some spelling Go would match (or not quite). */
const spelling = (key: string) =>
  fc
    .array(fc.boolean(), { minLength: key.length, maxLength: key.length })
    .chain((upper) =>
      fc.constantFrom(
        key,
        [...key].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join(''),
        key.replace(/k/g, '\u212a').replace(/s/g, '\u017f'),
        `${key}x`,
      ),
    );
const scalar = fc.oneof(
  fc.constantFrom(
    0,
    1,
    1000,
    4294967295,
    34359738359,
    10_000_000,
    -1,
    1.5,
    2 ** 53,
    1e300,
    '',
    'x',
    true,
    null,
  ),
  fc.integer(),
  fc.string({ maxLength: 12 }),
);
const value = fc.oneof({ weight: 3, arbitrary: scalar }, fc.jsonValue({ maxDepth: 2 }));
const annotationValue = fc.oneof(
  fc.constantFrom('10M', '1P', '2P', '0', '-5', '10Mb', 'AF11', '4Gi', '1e3', ''),
  fc.string({ maxLength: 8 }),
  value,
);
const annotations = fc.dictionary(
  fc.constantFrom(
    ...['Bandwidth', 'Burst', 'Peakrate', 'Minburst', 'PacketRate', 'PacketBurst', 'MaxConnections'].flatMap(
      (f) => [`qos.projectcalico.org/ingress${f}`, `qos.projectcalico.org/egress${f}`],
    ),
    'qos.projectcalico.org/dscp',
    'kubernetes.io/ingress-bandwidth',
    'kubernetes.io/egress-bandwidth',
    'qos.projectcalico.org/nonsense',
  ),
  annotationValue,
  { maxKeys: 5 },
);
const bandwidth = fc.dictionary(
  fc
    .constantFrom('ingressRate', 'ingressBurst', 'egressRate', 'egressBurst', 'unshapedSubnets')
    .chain(spelling),
  value,
  { maxKeys: 5 },
);
const prevResult = fc.oneof(
  fc.constant({ cniVersion: '1.0.0', interfaces: [{ name: 'veth1' }, { name: 'eth0', sandbox: '/x' }] }),
  value,
);
/** A configuration: entries in generated order, as text (so keys may repeat in spellings). */
const configuration = fc
  .array(
    fc.oneof(
      fc.tuple(fc.constant('cniVersion').chain(spelling), fc.constantFrom('1.0.0', '0.4.0', '1.1.0', '9', 1)),
      fc.tuple(fc.constant('name').chain(spelling), fc.oneof(fc.constantFrom('pods', 'a b', ''), value)),
      fc.tuple(
        fc.constantFrom('mode', 'profile').chain(spelling),
        fc.oneof(fc.constantFrom('strict', 'calico', 'netqos'), value),
      ),
      fc.tuple(fc.constant('dataDir').chain(spelling), fc.oneof(fc.constantFrom('/var/lib/x', 'rel'), value)),
      fc.tuple(fc.constant('prevResult').chain(spelling), prevResult),
      fc.tuple(
        fc.constantFrom('ingressRate', 'ingressBurst', 'egressRate', 'egressBurst').chain(spelling),
        value,
      ),
      fc.tuple(
        fc.constant('runtimeConfig').chain(spelling),
        fc.oneof(
          fc.record(
            {
              bandwidth: fc.oneof(bandwidth, value),
              'io.kubernetes.cri.pod-annotations': fc.oneof(annotations, value),
            },
            { requiredKeys: [] },
          ),
          value,
        ),
      ),
      fc.tuple(fc.constant('cni.dev/valid-attachments').chain(spelling), value),
    ),
    { maxLength: 10 },
  )
  .map(
    (entries) =>
      `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}`).join(',')}}`,
  );

/** A CniError as the spec wants it: a documented code, a message, details without a stack. */
function expectCniError(e: unknown): void {
  if (!(e instanceof CniError)) throw e;
  expect(CODES.has(e.code)).toBe(true);
  expect(e.msg.length).toBeGreaterThan(0);
  expect(`${e.msg}\n${e.details ?? ''}`).not.toMatch(/\n\s+at /);
}

describe('the configuration, generated', () => {
  test('every verb: a configuration or a CniError with a documented code, never another exception', () => {
    fc.assert(
      fc.property(configuration, fc.constantFrom<'ADD' | 'CHECK'>('ADD', 'CHECK'), (text, command) => {
        try {
          const { config, spec } = readPluginConfig(decodeConfig(text), command);
          for (const d of ['ingress', 'egress'] as const) {
            if (spec[d].bandwidth) expect(Number.isSafeInteger(spec[d].bandwidth)).toBe(true);
          }
          expect(typeof config.name).toBe('string');
        } catch (e) {
          expectCniError(e);
        }
        try {
          validAttachments(decodeConfig(text));
        } catch (e) {
          expectCniError(e);
        }
      }),
      { numRuns: RUNS * 3 },
    );
  });

  test('calico mode: whatever the pod annotations say, the configuration is accepted', () => {
    fc.assert(
      fc.property(annotations, fc.constantFrom('netqos', 'calico'), (pod, profile) => {
        const text = JSON.stringify({
          cniVersion: '1.0.0',
          name: 'pods',
          mode: 'calico',
          profile,
          prevResult: { interfaces: [{ name: 'veth1' }] },
          runtimeConfig: { 'io.kubernetes.cri.pod-annotations': pod },
        });
        readPluginConfig(decodeConfig(text), 'ADD');
      }),
      { numRuns: RUNS * 3 },
    );
  });

  test('CNI_* variables: an invocation or a CniError (code 4), whatever their content', () => {
    const text = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.string({ unit: 'binary', maxLength: 20 }),
      fc.constant('c'.repeat(300)),
    );
    fc.assert(
      fc.property(
        fc.record({
          CNI_COMMAND: fc.oneof(fc.constantFrom(...COMMANDS), fc.string({ maxLength: 6 })),
          CNI_CONTAINERID: text,
          CNI_NETNS: text,
          CNI_IFNAME: text,
          CNI_PATH: text,
          CNI_ARGS: text,
        }),
        (env) => {
          try {
            const inv = readEnvironment(env);
            if (inv && inv.command === 'ADD')
              expect(Buffer.byteLength(`${inv.containerId}@${inv.ifname}.json`)).toBeLessThanOrEqual(255);
          } catch (e) {
            expectCniError(e);
            expect((e as CniError).code).toBe(4);
            expect(((e as CniError).details ?? '').length).toBeLessThan(400);
          }
        },
      ),
      { numRuns: RUNS * 3 },
    );
  });
});

describe("the server's framing, generated", () => {
  const fileId = fc.record({
    dev: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    ino: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  });
  const request: fc.Arbitrary<CniRequest> = fc.record({
    pid: fc.nat({ max: 2 ** 32 - 1 }),
    netns: fileId,
    mntns: fileId,
    cniNetns: fc.record({
      errno: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
      dev: fileId.map((f) => f.dev),
      ino: fileId.map((f) => f.ino),
    }),
    env: fc.dictionary(fc.stringMatching(/^CNI_[A-Z]{1,8}$/), fc.string({ maxLength: 40 }), { maxKeys: 8 }),
    stdin: fc.option(
      fc.uint8Array({ maxLength: 3000 }).map((a) => Buffer.from(a)),
      { nil: undefined },
    ),
  });

  test('a request, however the stream is cut, comes back whole', () => {
    fc.assert(
      fc.property(request, fc.array(fc.nat(), { maxLength: 12 }), (req, cuts) => {
        const wire = encodeRequest(req);
        const points = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
        const collector = new MessageCollector(REQUEST_MAGIC);
        let body: Buffer | undefined;
        let from = 0;
        for (const to of [...points, wire.length]) {
          const got = collector.feed(wire.subarray(from, to));
          if (got) body ??= got;
          from = to;
        }
        const back = decodeRequestBody(body!);
        expect(back).toEqual({ ...req, stdin: req.stdin ?? undefined });
      }),
      { numRuns: RUNS },
    );
  });

  test('any bytes: a body, nothing yet, or a ProtocolError; never another exception', () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 400 }),
      request.chain((r) =>
        fc.tuple(fc.nat(), fc.nat({ max: 255 })).map(([at, byte]) => {
          const wire = Buffer.from(encodeRequest(r));
          wire[at % wire.length] = byte;
          return new Uint8Array(wire);
        }),
      ),
    );
    fc.assert(
      fc.property(bytes, (raw) => {
        const wire = Buffer.from(raw);
        try {
          const body = new MessageCollector(REQUEST_MAGIC).feed(wire);
          if (body) decodeRequestBody(body);
        } catch (e) {
          if (!(e instanceof ProtocolError)) throw e;
        }
        try {
          decodeRequestBody(wire.subarray(Math.min(HEADER_BYTES, wire.length)));
        } catch (e) {
          if (!(e instanceof ProtocolError)) throw e;
        }
      }),
      { numRuns: RUNS * 3 },
    );
  });
});

// Property-based tests (fast-check) of the inputs users and runtimes hand netqos: quantities,
// pod annotations and manifests. Whatever they are, the parsers answer with a value or their own
// typed error, and what the annotation check accepts is what planning builds and the engine
// takes (its encoder, every bound it enforces; test/kernel/qos-bounds.test.ts applies a sample).
import fc from 'fast-check';
import { stringify } from 'yaml';
import { native } from '../../../lib/netlink/binding';
import {
  AnnotationError,
  CALICO_QOS_KEYS,
  QOS_LIMITS,
  QosArgumentError,
  QuantityError,
  desiredState,
  parseAnnotations,
  parseQosAnnotations,
  parseQuantity,
  type Operation,
} from '../../../lib';
import { ManifestError, podsFromManifest } from '../../../lib/manifest';
import { emptyPhases, flatten, reconcile } from '../../../lib/qos/reconcile';

const RUNS = Number(process.env.NETQOS_PROPERTY_RUNS ?? 300);
const Q = 'qos.projectcalico.org/';
const KEYS = [
  ...CALICO_QOS_KEYS,
  'kubernetes.io/ingress-bandwidth',
  'kubernetes.io/egress-bandwidth',
  `${Q}ingressPackets`,
  `${Q}ingresBandwidth`,
  'app',
];
const SUFFIXES = [
  '',
  'n',
  'u',
  'm',
  'k',
  'M',
  'G',
  'T',
  'P',
  'E',
  'Ki',
  'Mi',
  'Gi',
  'Ti',
  'Pi',
  'Ei',
  'e3',
  'E-2',
];

/** Strings shaped like quantities (valid or nearly), and anything at all. */
const quantityLike = fc.oneof(
  fc
    .tuple(
      fc.constantFrom('', '+', '-'),
      fc.stringMatching(/^[0-9]{0,6}$/),
      fc.option(fc.stringMatching(/^\.[0-9]{0,4}$/), { nil: '' }),
      fc.constantFrom(...SUFFIXES),
    )
    .map(([sign, int, frac, suffix]) => `${sign}${int}${frac}${suffix}`),
  fc.string({ maxLength: 12 }),
  fc.constantFrom('EF', 'af41', 'CS7', 'cs0', '63', '64', ' 46', 'DF'),
);
const anyValue = fc.oneof(
  { weight: 8, arbitrary: quantityLike },
  {
    weight: 1,
    arbitrary: fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.object(), fc.array(fc.string())),
  },
);
const annotations = fc.dictionary(fc.constantFrom(...KEYS), anyValue, { maxKeys: 8 });

/** Annotations within every bound Calico documents, each value spelled as a plain integer. */
const inRange = (field: keyof typeof QOS_LIMITS) =>
  fc
    .double({ min: Math.log10(QOS_LIMITS[field].min), max: Math.log10(QOS_LIMITS[field].max), noNaN: true })
    .map((e) =>
      String(Math.min(QOS_LIMITS[field].max, Math.max(QOS_LIMITS[field].min, Math.round(10 ** e)))),
    );
const direction = (d: 'ingress' | 'egress') =>
  fc.record(
    {
      [`${Q}${d}Bandwidth`]: inRange('bandwidth'),
      [`${Q}${d}Burst`]: inRange('burst'),
      [`${Q}${d}Peakrate`]: inRange('peakrate'),
      [`${Q}${d}Minburst`]: inRange('minburst'),
      [`${Q}${d}PacketRate`]: inRange('packetRate'),
      [`${Q}${d}PacketBurst`]: inRange('packetBurst'),
      [`${Q}${d}MaxConnections`]: inRange('maxConnections'),
    },
    { requiredKeys: [] },
  );
const validish = fc
  .tuple(direction('ingress'), direction('egress'), fc.option(fc.integer({ min: 0, max: 63 })))
  .map(([i, e, dscp]) => ({ ...i, ...e, ...(dscp === null ? {} : { [`${Q}dscp`]: String(dscp) }) }));

/** Packet rates, connection limits and DSCP alone: valid whatever their values within bounds. */
const controls = fc.record(
  {
    [`${Q}ingressPacketRate`]: inRange('packetRate'),
    [`${Q}egressPacketRate`]: inRange('packetRate'),
    [`${Q}ingressMaxConnections`]: inRange('maxConnections'),
    [`${Q}egressMaxConnections`]: inRange('maxConnections'),
    [`${Q}dscp`]: fc.integer({ min: 0, max: 63 }).map(String),
  },
  { requiredKeys: [] },
);

/** The operations planning builds for a spec on an empty interface. */
function planFor(
  spec: Parameters<typeof desiredState>[1],
  mtu: number,
  profile: 'netqos' | 'calico',
): Operation[] {
  const out = emptyPhases();
  reconcile(
    desiredState('cali0', spec, { mtu, ifindex: 7, profile }),
    {
      ifname: 'cali0',
      link: { type: 'link', index: 7, name: 'cali0', up: true, flags: 0, mtu },
      own: new Map(),
      foreign: [],
    },
    out,
  );
  return flatten(out);
}

describe('parseQuantity', () => {
  test('a bigint or a QuantityError, for any string', () => {
    fc.assert(
      fc.property(fc.oneof(quantityLike, fc.string({ maxLength: 40 })), fc.boolean(), (s, digitless) => {
        try {
          expect(typeof parseQuantity(s, { acceptDigitlessAsZero: digitless })).toBe('bigint');
        } catch (e) {
          expect(e).toBeInstanceOf(QuantityError);
        }
      }),
      { numRuns: RUNS * 5 },
    );
  });

  test('integers and decimal suffixes read back exactly', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 15n }),
        fc.constantFrom(['', 1n], ['k', 1000n], ['M', 10n ** 6n], ['Ki', 1024n]),
        (n, [suffix, scale]) => {
          expect(parseQuantity(`${n}${suffix}`)).toBe(n * scale);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('parseAnnotations', () => {
  test('strict: a spec or an AnnotationError; calico: never throws', () => {
    fc.assert(
      fc.property(annotations, (a) => {
        try {
          parseAnnotations(a as Record<string, string>);
        } catch (e) {
          expect(e).toBeInstanceOf(AnnotationError);
          expect((e as AnnotationError).code).toBe('ERR_NETQOS_ANNOTATION');
          for (const p of (e as AnnotationError).problems) expect(p.message.length).toBeLessThan(1200);
        }
        expect(() => parseAnnotations(a as Record<string, string>, { mode: 'calico' })).not.toThrow();
      }),
      { numRuns: RUNS * 3 },
    );
  });

  test('what is not an annotations object is a QosArgumentError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer(), fc.string(), fc.boolean(), fc.array(fc.anything())), (a) => {
        expect(() => parseAnnotations(a as never)).toThrow(QosArgumentError);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('what the check accepts, planning builds and the engine takes', () => {
  test.each([
    ['strict', 'netqos'],
    ['calico', 'netqos'],
    ['strict', 'calico'],
    ['calico', 'calico'],
  ] as const)('mode %s, profile %s: every accepted spec encodes, at any MTU', (mode, profile) => {
    let accepted = 0;
    fc.assert(
      fc.property(
        fc.oneof(validish, annotations, controls),
        fc.integer({ min: 68, max: 65535 }),
        (a, mtu) => {
          let spec;
          try {
            spec = parseQosAnnotations(a as Record<string, string>, { mode, profile }).spec;
          } catch (e) {
            expect(e).toBeInstanceOf(AnnotationError);
            return;
          }
          accepted++;
          const ops = planFor(spec, mtu, profile);
          expect(() => native().encode(ops)).not.toThrow();
        },
      ),
      { numRuns: RUNS * 3 },
    );
    expect(accepted).toBeGreaterThan(RUNS / 4);
  });
});

describe('manifests', () => {
  test('any text: Pods or a ManifestError', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.jsonValue().map((v) => stringify(v)),
        ),
        (text) => {
          try {
            podsFromManifest('m.yaml', text);
          } catch (e) {
            expect(e).toBeInstanceOf(ManifestError);
          }
        },
      ),
      { numRuns: RUNS * 3 },
    );
  });

  test("a Pod's string annotations come back as written; other values are input errors", () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ minLength: 1, maxLength: 30 }), fc.oneof(fc.string(), fc.integer())),
        (a) => {
          const text = stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', annotations: a } });
          const strings = Object.values(a).every((v) => typeof v === 'string');
          if (strings) expect(podsFromManifest('m.yaml', text).pods[0].annotations).toEqual(a);
          else expect(() => podsFromManifest('m.yaml', text)).toThrow(ManifestError);
        },
      ),
      { numRuns: RUNS },
    );
  });
});

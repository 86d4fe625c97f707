import {
  AnnotationError,
  AnnotationProblem,
  CALICO_DEFAULT_BURST_BITS,
  CALICO_QOS_KEYS,
  DEFAULT_PACKET_BURST,
  parseAnnotations,
  QOS_LIMITS,
} from '../../../lib/qos/annotations';

const Q = 'qos.projectcalico.org/';
const K8S_INGRESS = 'kubernetes.io/ingress-bandwidth';
const K8S_EGRESS = 'kubernetes.io/egress-bandwidth';

const strict = (annotations: Record<string, string>) => parseAnnotations(annotations);
const calico = (annotations: Record<string, string>) => parseAnnotations(annotations, { mode: 'calico' });

function problemsOf(annotations: Record<string, string>): AnnotationProblem[] {
  try {
    strict(annotations);
  } catch (error) {
    if (error instanceof AnnotationError) return [...error.problems];
    throw error;
  }
  throw new Error('expected an AnnotationError');
}

function onlyProblem(annotations: Record<string, string>): AnnotationProblem {
  const problems = problemsOf(annotations);
  expect(problems).toHaveLength(1);
  return problems[0];
}

describe('strict mode: accepted annotations', () => {
  test('no annotations, no QoS', () => {
    expect(strict({})).toEqual({ spec: { ingress: {}, egress: {} }, warnings: [] });
  });

  test('the lab pod: 10M both ways, burst left to the caller', () => {
    const { spec, warnings } = strict({ [`${Q}ingressBandwidth`]: '10M', [`${Q}egressBandwidth`]: '10M' });
    expect(spec).toEqual({ ingress: { bandwidth: 10_000_000 }, egress: { bandwidth: 10_000_000 } });
    expect(warnings).toEqual([]);
  });

  test('every key of both directions', () => {
    const annotations: Record<string, string> = {};
    for (const direction of ['ingress', 'egress']) {
      Object.assign(annotations, {
        [`${Q}${direction}Bandwidth`]: '100M',
        [`${Q}${direction}Burst`]: '4Mi',
        [`${Q}${direction}Peakrate`]: '200M',
        [`${Q}${direction}Minburst`]: '3k',
        [`${Q}${direction}PacketRate`]: '1k',
        [`${Q}${direction}PacketBurst`]: '20',
      });
    }
    annotations[`${Q}dscp`] = 'AF41';
    const expected = {
      bandwidth: 100_000_000,
      burst: 4 * 1024 * 1024,
      peakrate: 200_000_000,
      minburst: 3000,
      packetRate: 1000,
      packetBurst: 20,
    };
    expect(strict(annotations)).toEqual({
      spec: { ingress: expected, egress: { ...expected, dscp: 34 } },
      warnings: [],
    });
  });

  test('the key list covers every qos.projectcalico.org key netqos reads', () => {
    expect([...CALICO_QOS_KEYS].sort()).toEqual(
      [
        'dscp',
        ...['ingress', 'egress'].flatMap((d) =>
          ['Bandwidth', 'Burst', 'Peakrate', 'Minburst', 'PacketRate', 'PacketBurst', 'MaxConnections'].map(
            (f) => `${d}${f}`,
          ),
        ),
      ]
        .map((name) => Q + name)
        .sort(),
    );
  });

  test.each<[string, string, Record<string, unknown>]>([
    ['ingressBandwidth', '1G', { ingress: { bandwidth: 1e9 }, egress: {} }],
    ['egressBandwidth', '500k', { ingress: {}, egress: { bandwidth: 500_000 } }],
    [
      'ingressPacketRate',
      '100',
      { ingress: { packetRate: 100, packetBurst: DEFAULT_PACKET_BURST }, egress: {} },
    ],
    ['egressPacketRate', '10k', { ingress: {}, egress: { packetRate: 10_000, packetBurst: 5 } }],
    ['dscp', 'EF', { ingress: {}, egress: { dscp: 46 } }],
    ['dscp', 'cs7', { ingress: {}, egress: { dscp: 56 } }],
    ['dscp', '0', { ingress: {}, egress: { dscp: 0 } }],
    ['dscp', '63', { ingress: {}, egress: { dscp: 63 } }],
  ])('%s: %s', (name, value, spec) => {
    expect(strict({ [Q + name]: value }).spec).toEqual(spec);
  });

  test('fractions and exponents are quantities too', () => {
    expect(strict({ [`${Q}ingressBandwidth`]: '1.5M', [`${Q}egressBandwidth`]: '2e6' }).spec).toEqual({
      ingress: { bandwidth: 1_500_000 },
      egress: { bandwidth: 2_000_000 },
    });
    expect(strict({ [`${Q}ingressPacketRate`]: '1.5' }).spec.ingress.packetRate).toBe(2); // rounded up
  });

  test('a packet burst given explicitly replaces the default 5', () => {
    expect(strict({ [`${Q}egressPacketRate`]: '50', [`${Q}egressPacketBurst`]: '1' }).spec.egress).toEqual({
      packetRate: 50,
      packetBurst: 1,
    });
  });

  test('other annotation prefixes are ignored', () => {
    const { spec, warnings } = strict({
      'cni.projectcalico.org/ipAddrs': '["10.0.0.1"]',
      'kubernetes.io/psp': 'restricted',
      'example.com/ingressBandwidth': 'garbage',
      'qos.projectcalico.org.evil/ingressBandwidth': 'garbage',
      ingressBandwidth: 'garbage',
    });
    expect(spec).toEqual({ ingress: {}, egress: {} });
    expect(warnings).toEqual([]);
  });
});

describe('kubernetes.io bandwidth annotations', () => {
  test('read on their own, both modes', () => {
    for (const parse of [strict, calico]) {
      const { spec } = parse({ [K8S_INGRESS]: '5M', [K8S_EGRESS]: '7M' });
      expect(spec.ingress.bandwidth).toBe(5_000_000);
      expect(spec.egress.bandwidth).toBe(7_000_000);
    }
  });

  test('the Calico key wins, with a warning', () => {
    for (const parse of [strict, calico]) {
      const { spec, warnings } = parse({ [K8S_INGRESS]: '5M', [`${Q}ingressBandwidth`]: '10M' });
      expect(spec.ingress.bandwidth).toBe(10_000_000);
      expect(warnings).toContain(`${K8S_INGRESS} ("5M") is overridden by ${Q}ingressBandwidth ("10M")`);
    }
  });

  test('bounds apply to them as to the Calico keys', () => {
    expect(onlyProblem({ [K8S_EGRESS]: '999' }).message).toBe(
      `${K8S_EGRESS}: "999" is below the minimum 1k bit/s (allowed: 1k to 1P bit/s)`,
    );
    expect(calico({ [K8S_EGRESS]: '2P' }).spec.egress.bandwidth).toBe(1e15);
  });

  test('strict: an invalid Kubernetes key is reported even when the Calico key overrides it', () => {
    const problem = onlyProblem({ [K8S_INGRESS]: '5Mbit', [`${Q}ingressBandwidth`]: '10M' });
    expect(problem.key).toBe(K8S_INGRESS);
  });

  test('they satisfy the bandwidth dependency of burst and peakrate', () => {
    expect(
      strict({ [K8S_INGRESS]: '10M', [`${Q}ingressBurst`]: '1M', [`${Q}ingressPeakrate`]: '20M' }).spec
        .ingress,
    ).toEqual({
      bandwidth: 10_000_000,
      burst: 1_000_000,
      peakrate: 20_000_000,
    });
  });
});

describe('packet-rate aliases (ingressPackets / egressPackets)', () => {
  test.each(['strict', 'calico'] as const)(
    'accepted with a warning naming the canonical key (%s)',
    (mode) => {
      const { spec, warnings } = parseAnnotations(
        { [`${Q}ingressPackets`]: '100', [`${Q}egressPackets`]: '200' },
        { mode },
      );
      expect(spec.ingress).toEqual({ packetRate: 100, packetBurst: 5 });
      expect(spec.egress).toEqual({ packetRate: 200, packetBurst: 5 });
      expect(warnings).toEqual([
        `${Q}ingressPackets is an alias: use ${Q}ingressPacketRate (Calico itself reads only ${Q}ingressPacketRate)`,
        `${Q}egressPackets is an alias: use ${Q}egressPacketRate (Calico itself reads only ${Q}egressPacketRate)`,
      ]);
    },
  );

  test('the canonical key wins when both are given', () => {
    const { spec, warnings } = strict({ [`${Q}ingressPacketRate`]: '100', [`${Q}ingressPackets`]: '200' });
    expect(spec.ingress.packetRate).toBe(100);
    expect(warnings).toEqual([
      `${Q}ingressPackets is ignored: ${Q}ingressPacketRate is also set and takes precedence`,
    ]);
  });

  test('an alias is validated like the canonical key, under its own name', () => {
    expect(onlyProblem({ [`${Q}egressPackets`]: '20k' }).message).toBe(
      `${Q}egressPackets: "20k" is above the maximum 10k packets/s (allowed: 1 to 10k packets/s)`,
    );
  });

  test('an alias satisfies the packet-burst dependency', () => {
    expect(strict({ [`${Q}ingressPackets`]: '100', [`${Q}ingressPacketBurst`]: '10' }).spec.ingress).toEqual({
      packetRate: 100,
      packetBurst: 10,
    });
  });
});

describe('MaxConnections annotations', () => {
  test('parsed as quantities, 1 .. 4294967295 connections', () => {
    const { spec, warnings } = parseAnnotations({
      [`${Q}ingressMaxConnections`]: '100',
      [`${Q}egressMaxConnections`]: '2k',
    });
    expect(spec).toEqual({ ingress: { maxConnections: 100 }, egress: { maxConnections: 2000 } });
    expect(warnings).toEqual([]);
  });

  test('strict: garbage and out-of-range values are problems naming the key', () => {
    expect(() => parseAnnotations({ [`${Q}egressMaxConnections`]: 'garbage' })).toThrow(
      new RegExp(`${Q}egressMaxConnections: "garbage" is not a quantity`),
    );
    expect(() => parseAnnotations({ [`${Q}ingressMaxConnections`]: '0' })).toThrow(
      /ingressMaxConnections: "0" is below the minimum 1 connections/,
    );
    expect(() => parseAnnotations({ [`${Q}ingressMaxConnections`]: '5G' })).toThrow(
      /ingressMaxConnections: "5G" is above the maximum 4294967295 connections/,
    );
  });

  test('calico: unparseable is off, out of range clamped, as Calico does', () => {
    const { spec, warnings } = parseAnnotations(
      { [`${Q}ingressMaxConnections`]: '5G', [`${Q}egressMaxConnections`]: 'garbage' },
      { mode: 'calico' },
    );
    expect(spec).toEqual({ ingress: { maxConnections: 4294967295 }, egress: {} });
    expect(warnings).toHaveLength(2);
  });
});

describe('unknown qos.projectcalico.org keys', () => {
  test('strict: an error, with a suggestion for a near miss', () => {
    expect(onlyProblem({ [`${Q}ingressBandwith`]: '10M' })).toEqual({
      key: `${Q}ingressBandwith`,
      value: '10M',
      message: `${Q}ingressBandwith: unknown QoS annotation (did you mean ${Q}ingressBandwidth?); its value was "10M"`,
    });
    expect(onlyProblem({ [`${Q}IngressBandwidth`]: '10M' }).message).toContain(
      `did you mean ${Q}ingressBandwidth?`,
    );
  });

  test('strict: without a near miss the known keys are listed', () => {
    const { message } = onlyProblem({ [`${Q}speed`]: 'fast' });
    expect(message).toContain(`${Q}speed: unknown QoS annotation (known keys: `);
    expect(message).toContain(`${Q}egressPacketBurst`);
    expect(message).toContain(`${Q}dscp`);
  });

  test('calico: a warning, the rest still applies', () => {
    const { spec, warnings } = calico({ [`${Q}ingressBandwith`]: '10M', [`${Q}egressBandwidth`]: '1M' });
    expect(spec.egress.bandwidth).toBe(1_000_000);
    expect(spec.ingress).toEqual({});
    expect(warnings).toEqual([
      `${Q}ingressBandwith: unknown QoS annotation, ignored as Calico ignores it (did you mean ${Q}ingressBandwidth?)`,
    ]);
  });
});

describe("strict mode: bounds (exactly Calico's)", () => {
  const withDependencies = (direction: string, field: string): Record<string, string> => {
    switch (field) {
      case 'Burst':
        return { [`${Q}${direction}Bandwidth`]: '1k' };
      case 'Peakrate': // the lowest peakrate, 1.01k, is still above this bandwidth
        return { [`${Q}${direction}Bandwidth`]: '1k' };
      case 'Minburst':
        return { [`${Q}${direction}Bandwidth`]: '1k', [`${Q}${direction}Peakrate`]: '1P' };
      case 'PacketBurst':
        return { [`${Q}${direction}PacketRate`]: '1' };
      default:
        return {};
    }
  };

  test.each<[string, string, string, number, string, number, string, string]>([
    ['Bandwidth', 'bandwidth', '1k', 1000, '1P', 1e15, '999', '1000000000000001'],
    ['Burst', 'burst', '1k', 1000, '34359738360', 34359738360, '999', '34359738361'],
    ['Peakrate', 'peakrate', '1.01k', 1010, '1.01P', 1.01e15, '1009', '1010000000000001'],
    ['Minburst', 'minburst', '1k', 1000, '100M', 1e8, '999', '100000001'],
    ['PacketRate', 'packetRate', '1', 1, '10k', 10_000, '0', '10001'],
    ['PacketBurst', 'packetBurst', '1', 1, '10k', 10_000, '0', '10001'],
  ])('%s: %s..%s', (suffix, field, low, lowValue, high, highValue, below, above) => {
    for (const direction of ['ingress', 'egress'] as const) {
      const key = `${Q}${direction}${suffix}`;
      const base = withDependencies(direction, suffix);
      const lowest = strict({ ...base, [key]: low }).spec[direction] as Record<string, number>;
      expect(lowest[field]).toBe(lowValue);
      const highest = strict({ ...base, [key]: high }).spec[direction] as Record<string, number>;
      expect(highest[field]).toBe(highValue);

      const tooSmall = onlyProblem({ ...base, [key]: below });
      expect(tooSmall.key).toBe(key);
      expect(tooSmall.value).toBe(below);
      expect(tooSmall.message).toMatch(
        new RegExp(`^${escape(key)}: "${below}" is below the minimum ${escape(low)} `),
      );
      const tooLarge = onlyProblem({ ...base, [key]: above });
      expect(tooLarge.message).toMatch(
        new RegExp(`^${escape(key)}: "${above}" is above the maximum ${escape(high)} `),
      );
      expect(tooLarge.message).toContain(`(allowed: ${low} to ${high} `);
    }
  });

  test('messages name the key, the value and what is allowed', () => {
    expect(onlyProblem({ [`${Q}ingressBandwidth`]: '10Mb' }).message).toBe(
      `${Q}ingressBandwidth: "10Mb" is not a quantity (use e.g. 10M, 500k, 1G)`,
    );
    expect(onlyProblem({ [`${Q}ingressBandwidth`]: '500' }).message).toBe(
      `${Q}ingressBandwidth: "500" is below the minimum 1k bit/s (allowed: 1k to 1P bit/s)`,
    );
    expect(onlyProblem({ [`${Q}egressBandwidth`]: '2P' }).message).toBe(
      `${Q}egressBandwidth: "2P" is above the maximum 1P bit/s (allowed: 1k to 1P bit/s)`,
    );
    expect(onlyProblem({ [`${Q}egressBandwidth`]: '1e500' }).message).toContain(
      'is above the maximum 1P bit/s',
    );
    expect(onlyProblem({ [`${Q}ingressBurst`]: 'lots', [`${Q}ingressBandwidth`]: '1M' }).message).toBe(
      `${Q}ingressBurst: "lots" is not a quantity (use e.g. 1M, 4Mi, 100k)`,
    );
    expect(onlyProblem({ [`${Q}egressMinburst`]: '1.5 k' }).message).toContain('(use e.g. 1514, 3k, 64Ki)');
    expect(onlyProblem({ [`${Q}egressPacketRate`]: 'ten' }).message).toContain('(use e.g. 100, 1k, 10k)');
    expect(onlyProblem({ [`${Q}ingressBandwidth`]: 'M' }).message).toBe(
      `${Q}ingressBandwidth: "M" has no digits (use e.g. 10M, 500k, 1G)`,
    );
  });

  test('hints: milli, and zero or negative limits', () => {
    expect(onlyProblem({ [`${Q}ingressBandwidth`]: '10m' }).message).toBe(
      `${Q}ingressBandwidth: "10m" is below the minimum 1k bit/s ("m" means milli; write M for mega) (allowed: 1k to 1P bit/s)`,
    );
    expect(onlyProblem({ [`${Q}ingressBandwidth`]: '0' }).message).toContain(
      '(remove the annotation to leave this unlimited)',
    );
    expect(onlyProblem({ [`${Q}ingressBandwidth`]: '-10M' }).message).toContain(
      'is below the minimum 1k bit/s',
    );
  });

  test('empty and whitespace values are not quantities', () => {
    expect(onlyProblem({ [`${Q}ingressBandwidth`]: '' }).message).toContain('"" is not a quantity');
    expect(onlyProblem({ [`${Q}ingressBandwidth`]: ' 10M' }).message).toContain('" 10M" is not a quantity');
  });

  test('a value that is not a string (an unquoted YAML number) is refused', () => {
    const problem = onlyProblem({ [`${Q}ingressPacketRate`]: 100 as unknown as string });
    expect(problem.message).toBe(
      `${Q}ingressPacketRate: 100 must be a string (quote it in YAML), e.g. "100"`,
    );
    expect(onlyProblem({ [`${Q}dscp`]: 46 as unknown as string }).message).toContain('quote it in YAML');
  });

  test('DSCP values', () => {
    expect(onlyProblem({ [`${Q}dscp`]: 'XX' }).message).toBe(
      `${Q}dscp: "XX" is not a valid DSCP value: use a number 0-63 or a name DF, EF, CS0-CS7, AF11-AF43, in any case`,
    );
    expect(onlyProblem({ [`${Q}dscp`]: '64' }).message).toBe(
      `${Q}dscp: "64" is out of range: use a number 0-63 or a name DF, EF, CS0-CS7, AF11-AF43, in any case`,
    );
    expect(onlyProblem({ [`${Q}dscp`]: ' EF' }).message).toContain('is not a valid DSCP value');
  });
});

describe('strict mode: dependencies', () => {
  test.each(['ingress', 'egress'])('%s burst needs a bandwidth', (direction) => {
    expect(onlyProblem({ [`${Q}${direction}Burst`]: '1M' })).toEqual({
      key: `${Q}${direction}Burst`,
      value: '1M',
      message:
        `${Q}${direction}Burst: "1M" needs a bandwidth: set ${Q}${direction}Bandwidth ` +
        `(or kubernetes.io/${direction}-bandwidth) as well`,
    });
  });

  test('peakrate needs a bandwidth', () => {
    expect(onlyProblem({ [`${Q}egressPeakrate`]: '20M' }).message).toBe(
      `${Q}egressPeakrate: "20M" needs a bandwidth: set ${Q}egressBandwidth (or ${K8S_EGRESS}) as well`,
    );
  });

  test.each(['10M', '5M', '10000000'])('peakrate %s is not above a 10M bandwidth', (peakrate) => {
    expect(onlyProblem({ [`${Q}ingressBandwidth`]: '10M', [`${Q}ingressPeakrate`]: peakrate }).message).toBe(
      `${Q}ingressPeakrate: "${peakrate}" must be greater than the ingress bandwidth (${Q}ingressBandwidth: "10M")`,
    );
  });

  test('peakrate one bit/s above the bandwidth is fine', () => {
    expect(
      strict({ [`${Q}ingressBandwidth`]: '10M', [`${Q}ingressPeakrate`]: '10000001' }).spec.ingress.peakrate,
    ).toBe(10_000_001);
  });

  test('minburst needs a peakrate', () => {
    expect(onlyProblem({ [`${Q}ingressBandwidth`]: '10M', [`${Q}ingressMinburst`]: '1514' }).message).toBe(
      `${Q}ingressMinburst: "1514" needs a peakrate: set ${Q}ingressPeakrate as well (minburst is the peak bucket)`,
    );
  });

  test('packet burst needs a packet rate', () => {
    expect(onlyProblem({ [`${Q}egressPacketBurst`]: '10' }).message).toBe(
      `${Q}egressPacketBurst: "10" needs a packet rate: set ${Q}egressPacketRate as well`,
    );
  });

  test('a dependency on an invalid value is not reported twice', () => {
    const problems = problemsOf({
      [`${Q}ingressBandwidth`]: '10Mb',
      [`${Q}ingressBurst`]: '1M',
      [`${Q}ingressPeakrate`]: '5M',
    });
    expect(problems.map((p) => p.key)).toEqual([`${Q}ingressBandwidth`]);
  });

  test('every problem is reported at once, and nothing is returned', () => {
    let caught: unknown;
    try {
      strict({
        [`${Q}ingressBandwidth`]: '10Mb',
        [`${Q}egressBurst`]: '1M',
        [`${Q}egressPacketRate`]: '0',
        [`${Q}dscp`]: 'XX',
        [`${Q}bogus`]: '1',
      });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(AnnotationError);
    const error = caught as AnnotationError;
    expect(error.name).toBe('AnnotationError');
    expect(error.problems.map((p) => p.key)).toEqual([
      `${Q}ingressBandwidth`,
      `${Q}egressPacketRate`,
      `${Q}egressBurst`,
      `${Q}dscp`,
      `${Q}bogus`,
    ]);
    expect(error.message.split('\n')).toEqual([
      'invalid QoS annotations (5 problems):',
      ...error.problems.map((p) => `  - ${p.message}`),
    ]);
    for (const problem of error.problems) {
      expect(problem.message.startsWith(`${problem.key}: `)).toBe(true);
      expect(problem.message).toContain(JSON.stringify(problem.value));
    }
  });

  test('one problem reads naturally', () => {
    expect(() => strict({ [`${Q}ingressBandwidth`]: '10Mb' })).toThrow(
      `invalid QoS annotations (1 problem):\n  - ${Q}ingressBandwidth: "10Mb" is not a quantity (use e.g. 10M, 500k, 1G)`,
    );
  });
});

describe('calico mode: reproduces handleQoSControlsAnnotations', () => {
  test("the lab pod gets Calico's 4Gi-bit default burst", () => {
    const { spec, warnings } = calico({ [`${Q}ingressBandwidth`]: '10M', [`${Q}egressBandwidth`]: '10M' });
    expect(spec).toEqual({
      ingress: { bandwidth: 10_000_000, burst: CALICO_DEFAULT_BURST_BITS },
      egress: { bandwidth: 10_000_000, burst: 4294967296 },
    });
    expect(warnings).toEqual([]);
  });

  test('never throws, whatever it is given', () => {
    const { spec, warnings } = calico({
      [`${Q}ingressBandwidth`]: '10Mb',
      [`${Q}ingressBurst`]: '1M',
      [`${Q}egressPeakrate`]: 'x',
      [`${Q}egressMinburst`]: '1k',
      [`${Q}egressPacketBurst`]: '7',
      [`${Q}dscp`]: 'XX',
      [`${Q}bogus`]: '?',
      [K8S_EGRESS]: '',
    });
    expect(spec).toEqual({ ingress: {}, egress: {} });
    expect(warnings.length).toBeGreaterThanOrEqual(7);
  });

  test("an unparseable value turns the control off, with Calico's error", () => {
    const { spec, warnings } = calico({ [`${Q}ingressBandwidth`]: '10Mb' });
    expect(spec.ingress).toEqual({});
    expect(warnings).toEqual([
      `${Q}ingressBandwidth: "10Mb": error parsing ingress bandwidth annotation: quantities must match the ` +
        "regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'; control off",
    ]);
    expect(calico({ [`${Q}egressPacketRate`]: '1K' }).warnings[0]).toBe(
      `${Q}egressPacketRate: "1K": error parsing egress packet rate annotation: unable to parse quantity's suffix; control off`,
    );
  });

  test('a bad Calico key overrides a good Kubernetes key, switching the limit off as Calico does', () => {
    const { spec } = calico({ [K8S_INGRESS]: '5M', [`${Q}ingressBandwidth`]: 'fast' });
    expect(spec.ingress).toEqual({});
  });

  test.each<[string, string, string, number, string]>([
    [
      'ingressBandwidth',
      '500',
      'bandwidth',
      1000,
      'resource specified is too small (less than 1k), setting it to 1k',
    ],
    [
      'egressBandwidth',
      '2P',
      'bandwidth',
      1e15,
      'resource specified is too large (more than 1P), setting it to 1P',
    ],
    [
      'ingressBandwidth',
      '10m',
      'bandwidth',
      1000,
      'resource specified is too small (less than 1k), setting it to 1k',
    ],
    [
      'ingressBandwidth',
      '-5M',
      'bandwidth',
      1000,
      'resource specified is too small (less than 1k), setting it to 1k',
    ],
    [
      'ingressBandwidth',
      '0',
      'bandwidth',
      1000,
      'resource specified is too small (less than 1k), setting it to 1k',
    ],
    // apimachinery reads a bare suffix as 0, which Calico then clamps.
    [
      'ingressBandwidth',
      'M',
      'bandwidth',
      1000,
      'resource specified is too small (less than 1k), setting it to 1k',
    ],
    [
      'egressBandwidth',
      '1e500',
      'bandwidth',
      1e15,
      'resource specified is too large (more than 1P), setting it to 1P',
    ],
    [
      'ingressPacketRate',
      '0',
      'packetRate',
      1,
      'resource specified is too small (less than 1), setting it to 1',
    ],
    [
      'ingressPacketRate',
      '20k',
      'packetRate',
      10_000,
      'resource specified is too large (more than 10k), setting it to 10k',
    ],
  ])('%s %s is clamped', (name, value, field, expected, calicoMessage) => {
    const direction = name.startsWith('ingress') ? 'ingress' : 'egress';
    const { spec, warnings } = calico({ [Q + name]: value });
    expect((spec[direction] as Record<string, number>)[field]).toBe(expected);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      new RegExp(`^${escape(Q + name)}: "${escape(value)}": error parsing ${direction} `),
    );
    expect(warnings[0]).toContain(calicoMessage);
  });

  test("clamping of the dependent fields uses Calico's canonical bound texts", () => {
    const bandwidth = { [`${Q}ingressBandwidth`]: '1k' };
    expect(calico({ ...bandwidth, [`${Q}ingressBurst`]: '34359738361' }).warnings[0]).toContain(
      'too large (more than 34359738360), setting it to 34359738360',
    );
    expect(calico({ ...bandwidth, [`${Q}ingressBurst`]: '34359738361' }).spec.ingress.burst).toBe(
      34359738360,
    );
    const peak = calico({ ...bandwidth, [`${Q}ingressPeakrate`]: '1k' });
    expect(peak.warnings[0]).toContain('too small (less than 1010), setting it to 1010');
    expect(peak.spec.ingress.peakrate).toBe(1010); // clamped, then above the 1k bandwidth: kept
    expect(calico({ [`${Q}ingressBandwidth`]: '1P', [`${Q}ingressPeakrate`]: '2P' }).warnings[0]).toContain(
      'too large (more than 1010T), setting it to 1010T',
    );
    const minburst = calico({ ...bandwidth, [`${Q}ingressPeakrate`]: '1M', [`${Q}ingressMinburst`]: '1G' });
    expect(minburst.spec.ingress.minburst).toBe(100_000_000);
    expect(minburst.warnings[0]).toContain('too large (more than 100M), setting it to 100M');
    expect(
      calico({ [`${Q}egressPacketRate`]: '1', [`${Q}egressPacketBurst`]: '0' }).spec.egress.packetBurst,
    ).toBe(1);
  });

  test('burst without bandwidth is dropped', () => {
    const { spec, warnings } = calico({ [`${Q}ingressBurst`]: '1M' });
    expect(spec.ingress).toEqual({});
    expect(warnings).toEqual([
      `${Q}ingressBurst: "1M": ingress bandwidth must be specified when ingress burst is specified; burst dropped`,
    ]);
  });

  test('a peakrate not above the bandwidth is dropped, and its minburst with it', () => {
    const { spec, warnings } = calico({
      [`${Q}egressBandwidth`]: '10M',
      [`${Q}egressPeakrate`]: '10M',
      [`${Q}egressMinburst`]: '3k',
    });
    expect(spec.egress).toEqual({ bandwidth: 10_000_000, burst: CALICO_DEFAULT_BURST_BITS });
    expect(warnings).toEqual([
      `${Q}egressPeakrate: "10M": egress peakrate must be greater than egress bandwidth when specified; peakrate dropped`,
      `${Q}egressMinburst: "3k": egress peakrate must be specified when egress minburst is specified; minburst dropped`,
    ]);
  });

  test('a peakrate without bandwidth is dropped', () => {
    expect(calico({ [`${Q}ingressPeakrate`]: '20M' }).spec.ingress).toEqual({});
  });

  test('packet burst without packet rate is dropped; a packet rate alone gets burst 5', () => {
    const dropped = calico({ [`${Q}ingressPacketBurst`]: '10' });
    expect(dropped.spec.ingress).toEqual({});
    expect(dropped.warnings).toEqual([
      `${Q}ingressPacketBurst: "10": ingress packet rate must be specified when ingress packet burst is specified; packet burst dropped`,
    ]);
    expect(calico({ [`${Q}ingressPacketRate`]: '100' }).spec.ingress).toEqual({
      packetRate: 100,
      packetBurst: 5,
    });
  });

  test('an unparseable burst falls back to the default burst', () => {
    const { spec } = calico({ [`${Q}ingressBandwidth`]: '10M', [`${Q}ingressBurst`]: 'big' });
    expect(spec.ingress).toEqual({ bandwidth: 10_000_000, burst: 4294967296 });
  });

  test('a full valid set passes through unchanged', () => {
    const { spec, warnings } = calico({
      [`${Q}ingressBandwidth`]: '100M',
      [`${Q}ingressBurst`]: '4Mi',
      [`${Q}ingressPeakrate`]: '200M',
      [`${Q}ingressMinburst`]: '3k',
      [`${Q}ingressPacketRate`]: '1k',
      [`${Q}ingressPacketBurst`]: '20',
      [`${Q}dscp`]: 'ef',
    });
    expect(warnings).toEqual([]);
    expect(spec).toEqual({
      ingress: {
        bandwidth: 1e8,
        burst: 4194304,
        peakrate: 2e8,
        minburst: 3000,
        packetRate: 1000,
        packetBurst: 20,
      },
      egress: { dscp: 46 },
    });
  });

  test('DSCP: invalid is left unset with a warning; CS7 is unknown to Calico; names are trimmed', () => {
    const invalid = calico({ [`${Q}dscp`]: 'XX' });
    expect(invalid.spec.egress).toEqual({});
    expect(invalid.warnings).toEqual([
      `${Q}dscp: "XX": error parsing DSCP annotation: XX is not a valid DSCP value; DSCP left unset`,
    ]);
    expect(calico({ [`${Q}dscp`]: '64' }).warnings).toEqual([
      `${Q}dscp: "64": error parsing DSCP annotation: DSCP must be between 0 and 63; DSCP left unset`,
    ]);
    const cs7 = calico({ [`${Q}dscp`]: 'CS7' });
    expect(cs7.spec.egress.dscp).toBeUndefined();
    expect(cs7.warnings[0]).toContain('(Calico does not know CS7; write 56)');
    expect(calico({ [`${Q}dscp`]: ' af41 ' }).spec.egress.dscp).toBe(34);
  });
});

describe('options', () => {
  test('strict is the default', () => {
    expect(() => parseAnnotations({ [`${Q}ingressBandwidth`]: 'x' })).toThrow(AnnotationError);
    expect(() => parseAnnotations({ [`${Q}ingressBandwidth`]: 'x' }, {})).toThrow(AnnotationError);
  });

  test('an unknown mode is a TypeError', () => {
    expect(() => parseAnnotations({}, { mode: 'lenient' as never })).toThrow(TypeError);
  });

  test('missing annotations are no annotations; anything else must be an object', () => {
    expect(parseAnnotations(undefined)).toEqual({ spec: { ingress: {}, egress: {} }, warnings: [] });
    expect(parseAnnotations(null, { mode: 'calico' })).toEqual({
      spec: { ingress: {}, egress: {} },
      warnings: [],
    });
    expect(() => parseAnnotations('qos' as never)).toThrow(TypeError);
  });

  test('QOS_LIMITS exposes the bounds as numbers', () => {
    expect(QOS_LIMITS.bandwidth).toEqual({ min: 1000, max: 1e15, unit: 'bit/s' });
    expect(QOS_LIMITS.burst).toEqual({ min: 1000, max: 34359738360, unit: 'bits' });
    expect(QOS_LIMITS.peakrate).toEqual({ min: 1010, max: 1.01e15, unit: 'bit/s' });
    expect(QOS_LIMITS.minburst).toEqual({ min: 1000, max: 1e8, unit: 'bytes' });
    expect(QOS_LIMITS.packetRate).toEqual({ min: 1, max: 10_000, unit: 'packets/s' });
    expect(QOS_LIMITS.packetBurst).toEqual({ min: 1, max: 10_000, unit: 'packets' });
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

// Bounds and error codes of the CNI plugin without a kernel (issue 10, items 6-8; issue 11's calico
// mode): CNI_* variables bounded by what the record store can hold, standard input bounded in the
// Node plugin and the native shim, errors that quote only a short prefix, a bucket clamped in
// calico mode, and no JavaScript failure ever reported as 999 with a stack.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  MAX_DATA_DIR_BYTES,
  MAX_ENV_VALUE_BYTES,
  MAX_STDIN_BYTES,
  decodeConfig,
  readEnvironment,
  readPluginConfig,
} from '../../lib/cni/config';
import { CniError, internalError } from '../../lib/cni/errors';
import { AnnotationError } from '../../lib/qos/annotations';
import { toCniError } from '../../lib/cni/kernel';
import { runPlugin } from '../../lib/cni/plugin';
import { pluginMain, shimBinary } from '../../lib/cni/install';

const ENV = {
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'c1',
  CNI_NETNS: '/var/run/netns/nq-none',
  CNI_IFNAME: 'eth0',
  CNI_PATH: '/opt/cni/bin',
};
const PREV = { cniVersion: '1.0.0', interfaces: [{ name: 'veth1' }, { name: 'eth0', sandbox: '/x' }] };
const IN_KEY = 'qos.projectcalico.org/ingressBandwidth';
const conf = (extra: Record<string, unknown> = {}) => ({
  cniVersion: '1.0.0',
  name: 'pods',
  type: 'netqos',
  prevResult: PREV,
  ...extra,
});
const pod = (annotations: Record<string, string>, extra: Record<string, unknown> = {}) =>
  conf({ runtimeConfig: { 'io.kubernetes.cri.pod-annotations': annotations }, ...extra });

function failure(fn: () => unknown): CniError {
  try {
    fn();
  } catch (e) {
    if (e instanceof CniError) return e;
    throw e;
  }
  throw new Error('no error');
}

describe('CNI_* variables: bounded before anything is touched (code 4)', () => {
  test('a 10 KB CNI_CONTAINERID: ADD and CHECK refused naming the bound; DEL goes on (no record can exist)', () => {
    const long = 'c'.repeat(10_000);
    for (const command of ['ADD', 'CHECK']) {
      const e = failure(() => readEnvironment({ ...ENV, CNI_COMMAND: command, CNI_CONTAINERID: long }));
      expect(e.code).toBe(4);
      expect(e.msg).toBe(
        'CNI_CONTAINERID is too long: 10000 bytes; netqos records the attachment as <containerID>@<ifname>.json, a file name of at most 255 bytes, so at most 245 with CNI_IFNAME eth0',
      );
    }
    expect(readEnvironment({ ...ENV, CNI_COMMAND: 'DEL', CNI_CONTAINERID: long })).toMatchObject({
      command: 'DEL',
    });
    // The longest that fits is accepted.
    expect(readEnvironment({ ...ENV, CNI_CONTAINERID: 'c'.repeat(245) })).toBeDefined();
    expect(failure(() => readEnvironment({ ...ENV, CNI_CONTAINERID: 'c'.repeat(246) })).code).toBe(4);
  });

  test('a NUL in any CNI_* variable, or a value over 128 KiB: refused, quoting a short prefix', () => {
    const nul = failure(() => readEnvironment({ ...ENV, CNI_NETNS: '/var/run/netns/a\0b' }));
    expect([nul.code, nul.msg]).toEqual([4, 'CNI_NETNS contains a NUL character']);
    const big = failure(() =>
      readEnvironment({ ...ENV, CNI_ARGS: `K8S_POD_NAME=${'x'.repeat(MAX_ENV_VALUE_BYTES)}` }),
    );
    expect([big.code, big.msg]).toEqual([4, 'CNI_ARGS is too long']);
    expect(big.details!.length).toBeLessThan(200);
    const chars = failure(() => readEnvironment({ ...ENV, CNI_CONTAINERID: `-${'x'.repeat(100_000)}` }));
    expect(chars.msg).toBe('invalid characters in containerID');
    expect(chars.details!.length).toBeLessThan(200);
  });

  test('network name: one directory name (255 bytes); dataDir: absolute, no NUL, room below it', () => {
    expect(failure(() => readPluginConfig(conf({ name: 'n'.repeat(256) }), 'ADD')).msg).toBe(
      'network name is too long',
    );
    expect(readPluginConfig(conf({ name: 'n'.repeat(255) }), 'ADD').config.name).toHaveLength(255);
    expect(failure(() => readPluginConfig(conf({ dataDir: '/a\0b' }), 'ADD')).code).toBe(7);
    expect(
      failure(() => readPluginConfig(conf({ dataDir: `/${'d'.repeat(MAX_DATA_DIR_BYTES)}` }), 'ADD')).msg,
    ).toBe('dataDir is too long');
  });
});

describe('standard input: at most MAX_STDIN_BYTES (code 7), never read to the end', () => {
  const TOO_LARGE = {
    cniVersion: '1.1.0',
    code: 7,
    msg: 'network configuration too large',
    details: `more than ${MAX_STDIN_BYTES} bytes on standard input`,
  };

  test('in process: a configuration over the bound', async () => {
    const padded = JSON.stringify(conf({ pad: 'x'.repeat(MAX_STDIN_BYTES) }));
    const out = await runPlugin(ENV, () => padded);
    expect(JSON.parse(out.stdout)).toEqual(TOO_LARGE); // not decoded: the newest version
    // Just under it is read (and fails later, on the missing namespace, not on its size).
    expect(() =>
      decodeConfig(JSON.stringify(conf({ pad: 'x'.repeat(MAX_STDIN_BYTES - 200) }))),
    ).not.toThrow();
  });

  test('the Node plugin and the native shim reading /dev/zero: the same error, at once', () => {
    const zero = fs.openSync('/dev/zero', 'r');
    try {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nq-stdin-'));
      const env = { ...ENV, PATH: process.env.PATH, NETQOS_CNI_SOCKET: path.join(dir, 'none.sock') };
      const runs = [[process.execPath, pluginMain()]];
      if (fs.existsSync(shimBinary())) runs.push([shimBinary()]);
      for (const [cmd, ...args] of runs) {
        const t0 = Date.now();
        const r = spawnSync(cmd, args, {
          stdio: [zero, 'pipe', 'pipe'],
          env,
          encoding: 'utf8',
          timeout: 20_000,
        });
        expect({ status: r.status, out: JSON.parse(r.stdout) }).toEqual({ status: 1, out: TOO_LARGE });
        expect(Date.now() - t0).toBeLessThan(15_000);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    } finally {
      fs.closeSync(zero);
    }
  });
});

describe('calico mode: a bucket the kernel cannot hold is clamped, with a warning; strict refuses it', () => {
  test('kubernetes.io/ingress-bandwidth: 10M alone (Calico fills its 4Gi-bit burst): clamped to 274.9 s', () => {
    const { spec, warnings } = readPluginConfig(
      pod({ 'kubernetes.io/ingress-bandwidth': '10M' }, { mode: 'calico' }),
      'ADD',
    );
    expect(spec.ingress).toEqual({ bandwidth: 10_000_000, burst: 2748779064 });
    expect(warnings).toEqual([
      'qos.projectcalico.org/ingressBurst: 4294967296 bits at 10000000 bit/s is a 429.497 s bucket; the kernel holds at most 274.878 s (at most 2748779064 bits at this rate): using 2748779064',
    ]);
    // Strict mode fills no default burst: nothing to clamp.
    expect(readPluginConfig(pod({ 'kubernetes.io/ingress-bandwidth': '10M' }), 'ADD').spec.ingress).toEqual({
      bandwidth: 10_000_000,
    });
  });

  test('an explicit burst too long for the rate: strict refuses (7), calico clamps', () => {
    const annotations = {
      'qos.projectcalico.org/egressBandwidth': '1M',
      'qos.projectcalico.org/egressBurst': '1G',
    };
    const e = failure(() => readPluginConfig(pod(annotations), 'ADD'));
    expect([e.code, e.msg]).toEqual([7, 'egress burst too large for the rate']);
    expect(e.details).toBe(
      "qos.projectcalico.org/egressBurst: 1000000000 bits at 1000000 bit/s is a 1000.000 s bucket; the kernel holds at most 274.878 s (at most 274877904 bits at this rate) (from the pod's annotations)",
    );
    const calico = readPluginConfig(pod(annotations, { mode: 'calico' }), 'ADD');
    expect(calico.spec.egress.burst).toBe(274877904);
    expect(calico.warnings).toHaveLength(1);
  });

  test('an annotation value that is a JSON object, even one with its own "toString": refused (strict) or ignored (calico), never a TypeError', () => {
    const hostile = { [IN_KEY]: { toString: false } } as unknown as Record<string, string>;
    const e = failure(() => readPluginConfig(pod(hostile), 'ADD'));
    expect([e.code, e.msg]).toEqual([7, 'invalid QoS configuration']);
    expect(e.details).toContain('{\\"toString\\":false}');
    expect(readPluginConfig(pod(hostile, { mode: 'calico' }), 'ADD').spec.ingress).toEqual({});
  });

  test('no QoS annotation value fails a pod in calico mode (generated values)', () => {
    const values = [
      '10M',
      '0',
      '-1',
      '1P',
      '2P',
      '10Mb',
      '',
      'M',
      '1e400',
      '1k',
      '999',
      '4Gi',
      'AF11',
      'CS7',
      '64',
      'x',
    ];
    const keys = [
      'kubernetes.io/ingress-bandwidth',
      'kubernetes.io/egress-bandwidth',
      ...[
        'Bandwidth',
        'Burst',
        'Peakrate',
        'Minburst',
        'PacketRate',
        'PacketBurst',
        'MaxConnections',
        'Packets',
      ].flatMap((f) => [`qos.projectcalico.org/ingress${f}`, `qos.projectcalico.org/egress${f}`]),
      'qos.projectcalico.org/dscp',
      'qos.projectcalico.org/bogus',
    ];
    let seed = 1;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 500; i++) {
      const annotations: Record<string, string> = {};
      for (let j = next(6); j >= 0; j--) annotations[keys[next(keys.length)]] = values[next(values.length)];
      expect(() => readPluginConfig(pod(annotations, { mode: 'calico' }), 'ADD')).not.toThrow();
    }
  });
});

describe('no JavaScript failure becomes 999 with a stack', () => {
  test("the engine's refusal of a value (ERR_NETQOS_INVALID_ARGUMENT): 7 with its words", () => {
    const refused = Object.assign(
      new TypeError('ops[0].qdisc.burst: 1250000000000 is out of range (allowed 1..4294967295)'),
      {
        code: 'ERR_NETQOS_INVALID_ARGUMENT',
      },
    );
    expect(toCniError(refused).toJSON('1.0.0')).toEqual({
      cniVersion: '1.0.0',
      code: 7,
      msg: 'the configuration asks for values the kernel cannot hold',
      details: 'ops[0].qdisc.burst: 1250000000000 is out of range (allowed 1..4294967295)',
    });
  });

  test('an annotation refused while applying (the policy and the configuration check disagree): 7', () => {
    const e = toCniError(new AnnotationError([{ key: 'k', value: 'v', message: 'k: "v" is wrong' }]));
    expect([e.code, e.msg, e.details]).toEqual([7, 'invalid QoS configuration', 'k: "v" is wrong']);
  });

  test('anything else: 999 with the error in one line, bounded, never its stack', () => {
    const e = toCniError(new RangeError('x'.repeat(5000)));
    expect(e.code).toBe(999);
    expect(e.details).toMatch(/^RangeError: x+\.\.\.$/);
    expect(e.details!.length).toBeLessThanOrEqual(1003);
    expect(internalError(new Error('boom')).details).toBe('Error: boom');
    expect(toCniError(new Error('boom')).details).not.toContain('    at ');
  });
});

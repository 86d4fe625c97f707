// The CNI plugin without a kernel: the CNI_* variables, the configuration's checks and their
// error codes, the precedence of the bandwidth fields and the pod's annotations, the result's
// pieces, the installer's files and the one-file bundle.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  decodeConfig,
  mergeQos,
  readEnvironment,
  readPluginConfig,
  validAttachments,
  versionAtLeast,
} from '../../lib/cni/config';
import { CniError } from '../../lib/cni/errors';
import { runPlugin } from '../../lib/cni/plugin';
import { macAddress } from '../../lib/cni/kernel';
import { installPlugin, readTrailer, sampleConflist, shimBinary, wrapperScript } from '../../lib/cni/install';
import { bundleSource, loadBundle, writeBundle } from '../../lib/cni/bundle';
import { run } from '../../lib/cli/commands';

const ROOT = path.join(__dirname, '..', '..');

const ENV = {
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'c1',
  CNI_NETNS: '/var/run/netns/pod',
  CNI_IFNAME: 'eth0',
  CNI_PATH: '/opt/cni/bin',
};
const PREV = {
  cniVersion: '1.0.0',
  interfaces: [
    { name: 'veth1', mac: '02:00:00:00:00:01' },
    { name: 'eth0', sandbox: '/var/run/netns/pod' },
  ],
  ips: [],
};
const IN = 'qos.projectcalico.org/ingressBandwidth';
const IN_BURST = 'qos.projectcalico.org/ingressBurst';
const OUT = 'qos.projectcalico.org/egressBandwidth';
const OUT_BURST = 'qos.projectcalico.org/egressBurst';

const conf = (extra: Record<string, unknown> = {}) => ({
  cniVersion: '1.0.0',
  name: 'pods',
  type: 'netqos',
  prevResult: PREV,
  ...extra,
});

/** Runs the plugin in-process on input that never reaches the kernel. */
async function invoke(env: Record<string, string | undefined>, stdin: unknown) {
  let reads = 0;
  const out = await runPlugin(env, () => {
    reads++;
    return typeof stdin === 'string' ? stdin : JSON.stringify(stdin);
  });
  return { ...out, reads, json: out.stdout ? JSON.parse(out.stdout) : undefined };
}

function codeOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof CniError) return e.code;
    throw e;
  }
  return undefined;
}

describe('CNI_* variables', () => {
  test('unset CNI_COMMAND: none (run by hand); an unknown one is code 4', () => {
    expect(readEnvironment({})).toBeUndefined();
    expect(codeOf(() => readEnvironment({ ...ENV, CNI_COMMAND: 'FROB' }))).toBe(4);
  });

  test('ADD needs the container ID, the interface, the netns and CNI_PATH; DEL no netns; GC and STATUS none', () => {
    expect(() => readEnvironment({ CNI_COMMAND: 'ADD' })).toThrow(
      'required env variables [CNI_CONTAINERID,CNI_IFNAME,CNI_PATH,CNI_NETNS] missing',
    );
    expect(codeOf(() => readEnvironment({ ...ENV, CNI_NETNS: undefined }))).toBe(4);
    expect(readEnvironment({ ...ENV, CNI_COMMAND: 'DEL', CNI_NETNS: undefined })).toMatchObject({
      command: 'DEL',
      netns: undefined,
    });
    expect(readEnvironment({ CNI_COMMAND: 'GC' })).toMatchObject({ command: 'GC' });
    expect(readEnvironment({ CNI_COMMAND: 'STATUS' })).toMatchObject({ command: 'STATUS' });
  });

  test('container ID and interface name as the spec allows them (code 4)', () => {
    expect(codeOf(() => readEnvironment({ ...ENV, CNI_CONTAINERID: '-bad' }))).toBe(4);
    expect(codeOf(() => readEnvironment({ ...ENV, CNI_IFNAME: 'a-name-far-too-long' }))).toBe(4);
    expect(codeOf(() => readEnvironment({ ...ENV, CNI_IFNAME: 'eth:0' }))).toBe(4);
    expect(readEnvironment(ENV)).toMatchObject({
      containerId: 'c1',
      ifname: 'eth0',
      netns: '/var/run/netns/pod',
    });
  });
});

describe('errors before the kernel: code, message, cniVersion of the configuration', () => {
  test('VERSION: every version netqos speaks; standard input is not read', async () => {
    const r = await invoke({ CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.0.0"}');
    expect(r).toMatchObject({
      code: 0,
      reads: 0,
      json: { cniVersion: '1.1.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] },
    });
  });

  test('no CNI_COMMAND: says what it is on standard error, exit 0, reads nothing', async () => {
    const r = await invoke({}, '');
    expect(r).toMatchObject({ code: 0, stdout: '', reads: 0 });
    expect(r.stderr).toMatch(/CNI protocol versions supported: 0\.3\.0, .*1\.1\.0/);
  });

  test('malformed JSON: 6', async () => {
    const r = await invoke(ENV, '{"cniVersion": "1.0.0", "name": ');
    expect(r).toMatchObject({
      code: 1,
      json: { cniVersion: '1.1.0', code: 6, msg: 'error decoding the network configuration' },
    });
  });

  test('missing name: 7; unsupported or missing version: 1', async () => {
    expect((await invoke(ENV, { cniVersion: '1.0.0', type: 'netqos' })).json).toMatchObject({
      code: 7,
      msg: 'missing network name',
    });
    expect((await invoke(ENV, conf({ cniVersion: '0.2.0' }))).json).toMatchObject({
      cniVersion: '0.2.0',
      code: 1,
      msg: 'incompatible CNI versions',
    });
    expect((await invoke(ENV, conf({ cniVersion: '2.0.0' }))).json).toMatchObject({ code: 1 });
    expect((await invoke(ENV, conf({ cniVersion: undefined }))).json).toMatchObject({
      code: 1,
      details: expect.stringContaining('"0.1.0"'),
    });
  });

  test('verbs newer than the configuration: CHECK before 0.4.0, GC and STATUS before 1.1.0 (code 1)', async () => {
    expect(
      (await invoke({ ...ENV, CNI_COMMAND: 'CHECK' }, conf({ cniVersion: '0.3.1' }))).json,
    ).toMatchObject({ code: 1, msg: 'config version does not allow CHECK' });
    expect((await invoke({ CNI_COMMAND: 'GC' }, conf({ cniVersion: '1.0.0' }))).json).toMatchObject({
      code: 1,
      msg: 'config version does not allow GC',
    });
    expect((await invoke({ CNI_COMMAND: 'STATUS' }, conf({ cniVersion: '1.0.0' }))).json).toMatchObject({
      code: 1,
      msg: 'config version does not allow STATUS',
    });
  });

  test("environment errors carry the configuration's version", async () => {
    const r = await invoke({ CNI_COMMAND: 'ADD' }, conf({ cniVersion: '0.4.0' }));
    expect(r.json).toMatchObject({ cniVersion: '0.4.0', code: 4 });
  });

  test("the reference plugin's errors, word for word (code 7)", async () => {
    const msg = async (extra: Record<string, unknown>) => (await invoke(ENV, conf(extra))).json;
    expect(await msg({ ingressRate: 10_000_000 })).toMatchObject({
      code: 7,
      msg: 'if rate is set, burst must also be set',
    });
    expect(await msg({ egressBurst: 100_000 })).toMatchObject({
      code: 7,
      msg: 'if burst is set, rate must also be set',
    });
    expect(await msg({ ingressRate: 10_000_000, ingressBurst: 8 * 4294967295 })).toMatchObject({
      code: 7,
      msg: 'burst cannot be more than 4GB',
    });
    expect(await msg({ prevResult: undefined })).toMatchObject({
      code: 7,
      msg: 'must be called as chained plugin',
    });
    expect(await msg({ runtimeConfig: { bandwidth: { ingressRate: 10_000_000 } } })).toMatchObject({
      code: 7,
      msg: 'if rate is set, burst must also be set',
    });
    expect(await msg({ ingressRate: -1, ingressBurst: 1 })).toMatchObject({
      code: 7,
      msg: expect.stringContaining('invalid ingressRate'),
    });
    expect(await msg({ ingressRate: '10M', ingressBurst: 1 })).toMatchObject({ code: 7 });
  });

  test('fields netqos knows and cannot honour: 2, naming the key', async () => {
    expect((await invoke(ENV, conf({ unshapedSubnets: ['198.18.0.0/24'] }))).json).toMatchObject({
      code: 2,
      msg: 'unsupported field: unshapedSubnets',
    });
    expect((await invoke(ENV, conf({ shapedSubnets: ['198.18.0.0/24'] }))).json).toMatchObject({
      code: 2,
      msg: 'unsupported field: shapedSubnets',
    });
  });

  test('bad pod annotations (strict mode): 7, every problem in details, converted fields named', async () => {
    const r = await invoke(
      ENV,
      conf({
        ingressRate: 500,
        ingressBurst: 8000,
        runtimeConfig: { 'io.kubernetes.cri.pod-annotations': { [OUT]: '10Mb' } },
      }),
    );
    expect(r.json).toMatchObject({ code: 7, msg: 'invalid QoS configuration' });
    expect(r.json.details).toContain('qos.projectcalico.org/ingressBandwidth: "500" is below the minimum');
    expect(r.json.details).toContain('egressBandwidth: "10Mb"');
    expect(r.json.details).toContain('ingressRate / ingressBurst');
  });

  test('options: mode, profile, dataDir', async () => {
    expect((await invoke(ENV, conf({ mode: 'lenient' }))).json).toMatchObject({
      code: 7,
      msg: expect.stringContaining('invalid mode'),
    });
    expect((await invoke(ENV, conf({ profile: 'fast' }))).json).toMatchObject({ code: 7 });
    expect((await invoke(ENV, conf({ dataDir: 'relative' }))).json).toMatchObject({
      code: 7,
      msg: expect.stringContaining('dataDir'),
    });
  });
});

describe('precedence: top-level fields > pod annotations > runtimeConfig.bandwidth, per direction', () => {
  test('top-level fields become Calico annotations (rate -> Bandwidth, burst bits -> Burst)', () => {
    const m = mergeQos(
      conf({
        ingressRate: 10_000_000,
        ingressBurst: 1_000_000,
        egressRate: 20_000_000,
        egressBurst: 2_000_000,
      }),
    );
    expect(m.annotations).toEqual({
      [IN]: '10000000',
      [IN_BURST]: '1000000',
      [OUT]: '20000000',
      [OUT_BURST]: '2000000',
    });
    expect(m.sources).toEqual({ ingress: 'config', egress: 'config' });
  });

  test('like the reference: a non-zero top-level field hides runtimeConfig.bandwidth entirely', () => {
    const m = mergeQos(
      conf({
        ingressRate: 10_000_000,
        ingressBurst: 1_000_000,
        runtimeConfig: { bandwidth: { egressRate: 5_000_000, egressBurst: 100_000 } },
      }),
    );
    expect(m.annotations).toEqual({ [IN]: '10000000', [IN_BURST]: '1000000' });
    const zero = mergeQos(
      conf({ ingressRate: 0, runtimeConfig: { bandwidth: { egressRate: 5_000_000, egressBurst: 100_000 } } }),
    );
    expect(zero.annotations).toEqual({ [OUT]: '5000000', [OUT_BURST]: '100000' });
    expect(zero.sources).toEqual({ ingress: undefined, egress: 'runtimeConfig' });
  });

  test("runtimes' placeholder bursts (containerd MaxUint32, CRI-O MaxUint32*8-1) mean netqos's default bucket", () => {
    const containerd = mergeQos(
      conf({
        runtimeConfig: {
          bandwidth: {
            ingressRate: 10_000_000,
            ingressBurst: 4294967295,
            egressRate: 10_000_000,
            egressBurst: 34359738359,
          },
        },
      }),
    );
    expect(containerd.annotations).toEqual({ [IN]: '10000000', [OUT]: '10000000' });
    const { spec } = readPluginConfig(
      conf({ runtimeConfig: { bandwidth: { ingressRate: 10_000_000, ingressBurst: 4294967295 } } }),
      'ADD',
    );
    expect(spec.ingress).toEqual({ bandwidth: 10_000_000 });
    // A top-level burst is the administrator's: kept (and here refused: a 429 s bucket).
    expect(() =>
      readPluginConfig(conf({ ingressRate: 10_000_000, ingressBurst: 4294967295 }), 'ADD'),
    ).toThrow('ingress burst too large for the rate');
  });

  test("the pod's annotations win over runtimeConfig.bandwidth, direction by direction", () => {
    const m = mergeQos(
      conf({
        runtimeConfig: {
          bandwidth: {
            ingressRate: 10_000_000,
            ingressBurst: 4294967295,
            egressRate: 20_000_000,
            egressBurst: 4294967295,
          },
          'io.kubernetes.cri.pod-annotations': {
            [IN]: '5M',
            'qos.projectcalico.org/egressPacketRate': '100',
            app: 'x',
          },
        },
      }),
    );
    expect(m.annotations).toEqual({
      [IN]: '5M',
      'qos.projectcalico.org/egressPacketRate': '100',
      app: 'x',
      [OUT]: '20000000',
    });
    expect(m.sources).toEqual({ ingress: 'annotations', egress: 'runtimeConfig' });
    // containerd passes kubernetes.io/ingress-bandwidth both ways: the annotation counts as the pod's.
    const k8s = mergeQos(
      conf({
        runtimeConfig: {
          bandwidth: { ingressRate: 10_000_000, ingressBurst: 4294967295 },
          'io.kubernetes.cri.pod-annotations': { 'kubernetes.io/ingress-bandwidth': '10M' },
        },
      }),
    );
    expect(k8s.sources.ingress).toBe('annotations');
    expect(
      readPluginConfig(
        conf({
          runtimeConfig: {
            bandwidth: { ingressRate: 10_000_000, ingressBurst: 4294967295 },
            'io.kubernetes.cri.pod-annotations': { 'kubernetes.io/ingress-bandwidth': '10M' },
          },
        }),
        'ADD',
      ).spec.ingress,
    ).toEqual({ bandwidth: 10_000_000 });
  });

  test("the top-level fields win over the pod's annotations for the shaper of their direction", () => {
    const m = mergeQos(
      conf({
        ingressRate: 10_000_000,
        ingressBurst: 1_000_000,
        runtimeConfig: {
          'io.kubernetes.cri.pod-annotations': {
            [IN]: '50M',
            'qos.projectcalico.org/ingressPeakrate': '60M',
            'kubernetes.io/ingress-bandwidth': '40M',
            [OUT]: '7M',
            'qos.projectcalico.org/ingressPacketRate': '200',
          },
        },
      }),
    );
    expect(m.annotations).toEqual({
      [IN]: '10000000',
      [IN_BURST]: '1000000',
      [OUT]: '7M',
      'qos.projectcalico.org/ingressPacketRate': '200',
    });
    expect(m.sources).toEqual({ ingress: 'config', egress: 'annotations' });
  });

  test('the resulting spec, in both modes', () => {
    const strict = readPluginConfig(
      conf({
        ingressRate: 10_000_000,
        ingressBurst: 1_000_000,
        runtimeConfig: { 'io.kubernetes.cri.pod-annotations': { [OUT]: '10M' } },
      }),
      'ADD',
    );
    expect(strict.spec).toEqual({
      ingress: { bandwidth: 10_000_000, burst: 1_000_000 },
      egress: { bandwidth: 10_000_000 },
    });
    const calico = readPluginConfig(
      conf({ mode: 'calico', runtimeConfig: { 'io.kubernetes.cri.pod-annotations': { [OUT]: '10Mb' } } }),
      'ADD',
    );
    expect(calico.spec.egress).toEqual({});
    expect(calico.warnings.length).toBeGreaterThan(0);
    expect(calico.config).toMatchObject({
      mode: 'calico',
      profile: 'netqos',
      dataDir: '/var/lib/cni/netqos',
    });
  });

  test('a bucket a TBF cannot hold is refused, not wrapped (netqos profile)', () => {
    expect(() =>
      readPluginConfig(conf({ ingressRate: 1_000_000, ingressBurst: 300_000_000 }), 'ADD'),
    ).toThrow(CniError);
    expect(
      readPluginConfig(conf({ ingressRate: 1_000_000, ingressBurst: 200_000_000 }), 'ADD').spec.ingress.burst,
    ).toBe(200_000_000);
  });
});

describe('pieces', () => {
  test('versions compare numerically', () => {
    expect(versionAtLeast('1.1.0', '1.1.0')).toBe(true);
    expect(versionAtLeast('0.10.0', '0.4.0')).toBe(true);
    expect(versionAtLeast('1.0.0', '1.1.0')).toBe(false);
    expect(versionAtLeast('x', '0.4.0')).toBe(false);
  });

  test('GC list: cni.dev/valid-attachments, or cni.dev/attachments; absent means none judged stale', () => {
    const list = [{ containerID: 'a', ifname: 'eth0' }];
    expect(validAttachments({ 'cni.dev/valid-attachments': list })).toEqual(list);
    expect(validAttachments({ 'cni.dev/attachments': list })).toEqual(list);
    expect(validAttachments({})).toBeUndefined();
    expect(codeOf(() => validAttachments({ 'cni.dev/valid-attachments': [{ containerID: 1 }] }))).toBe(7);
  });

  test('decodeConfig: only a JSON object', () => {
    expect(codeOf(() => decodeConfig('[1]'))).toBe(6);
    expect(codeOf(() => decodeConfig('null'))).toBe(6);
  });

  test('MAC addresses as CNI results carry them', () => {
    expect(macAddress('ead4cd3d3daa')).toBe('ea:d4:cd:3d:3d:aa');
    expect(macAddress('02:00:00:00:00:01')).toBe('02:00:00:00:00:01');
  });

  test('the installed executable: this Node, main.js, no NODE_OPTIONS / NODE_EXTRA_CA_CERTS', () => {
    const s = wrapperScript('/usr/bin/node', "/opt/net'qos/dist/lib/cni/main.js");
    expect(s).toMatch(/^#!\/bin\/sh\n/);
    expect(s).toContain('unset NODE_OPTIONS NODE_EXTRA_CA_CERTS');
    expect(s).toContain(`exec '/usr/bin/node' '/opt/net'\\''qos/dist/lib/cni/main.js' "$@"`);
    expect(sampleConflist()).toMatchObject({
      plugins: [
        { type: 'ptp' },
        { type: 'netqos', capabilities: { bandwidth: true, 'io.kubernetes.cri.pod-annotations': true } },
      ],
    });
  });

  test('netqos cni-install --dir: the native plugin with its trailer (or the shell script), the conflist on standard output', async () => {
    if (!fs.existsSync(path.join(ROOT, 'dist/lib/cni/main.js'))) return; // `npm test` builds dist first
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nq-install-'));
    try {
      let stdout = '';
      let stderr = '';
      const code = await run(['cni-install', '--dir', path.join(dir, 'bin'), '--no-bundle'], {
        stdout: (t) => void (stdout += t),
        stderr: (t) => void (stderr += t),
      });
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      const exe = path.join(dir, 'bin', 'netqos');
      expect(fs.statSync(exe).mode & 0o777).toBe(0o755);
      const main = path.join(ROOT, 'dist/lib/cni/main.js');
      if (fs.existsSync(shimBinary())) {
        // The native shim, its socket and fallback recorded at its end; one file in the bin dir.
        expect(readTrailer(exe)).toEqual({ node: process.execPath, main, socket: '/run/netqos/cni.sock' });
        expect(fs.readFileSync(exe).subarray(0, 4)).toEqual(Buffer.from('\x7fELF', 'latin1'));
        expect(stdout).toContain(
          `installed ${exe}: the native plugin, forwarding to the netqos CNI server at /run/netqos/cni.sock`,
        );
      } else {
        expect(fs.readFileSync(exe, 'utf8')).toBe(wrapperScript(process.execPath, main));
      }
      expect(fs.readdirSync(path.join(dir, 'bin'))).toEqual(['netqos']);
      expect(JSON.parse(stdout.slice(stdout.indexOf('{')))).toEqual(sampleConflist());
      // --socket and --no-fallback are recorded; without the shim (or asked not to use it) the shell script.
      expect(
        await run(
          [
            'cni-install',
            '--dir',
            path.join(dir, 'b2'),
            '--no-bundle',
            '--socket',
            '/run/x/y.sock',
            '--no-fallback',
          ],
          { stdout: () => {}, stderr: () => {} },
        ),
      ).toBe(fs.existsSync(shimBinary()) ? 0 : 1);
      if (fs.existsSync(shimBinary()))
        expect(readTrailer(path.join(dir, 'b2', 'netqos'))).toEqual({
          node: '',
          main: '',
          socket: '/run/x/y.sock',
        });
      const script = installPlugin({ dir: path.join(dir, 'b3'), bundle: false, shim: false });
      expect(script.kind).toBe('script');
      expect(fs.readFileSync(script.executable, 'utf8')).toBe(wrapperScript(process.execPath, main));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('examples/cni/10-netqos.conflist is valid JSON: ptp then netqos, capabilities declared', () => {
    const c = JSON.parse(
      fs.readFileSync(path.join(__dirname, '../../examples/cni/10-netqos.conflist'), 'utf8'),
    );
    expect(c.plugins.map((p: { type: string }) => p.type)).toEqual(['ptp', 'netqos']);
    expect(c.plugins[1].capabilities).toEqual({ bandwidth: true, 'io.kubernetes.cri.pod-annotations': true });
  });
});

describe('one-file bundle with a code cache', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nq-bundle-'));
    fs.mkdirSync(path.join(dir, 'sub'));
    fs.writeFileSync(
      path.join(dir, 'entry.js'),
      `const b = require("./sub/b"); const p = require('path'); exports.answer = () => b.n + 1; exports.dir = __dirname; exports.sep = p.sep;`,
    );
    fs.writeFileSync(path.join(dir, 'sub', 'b.js'), `exports.n = 41; exports.file = __filename;`);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('modules keep their own file names; outside modules load as usual; the cache is accepted', () => {
    const { manifest } = bundleSource(path.join(dir, 'entry.js'));
    expect(manifest.map((m) => path.relative(dir, m.file))).toEqual(['sub/b.js', 'entry.js']);
    const w = writeBundle(path.join(dir, 'entry.js'), dir);
    expect(w.files).toBe(2);
    const m = loadBundle<{ answer(): number; dir: string; sep: string }>(dir)!;
    expect(m.answer()).toBe(42);
    expect(m.dir).toBe(dir);
    expect(m.sep).toBe('/');
  });

  test('the engine loader inside the bundle finds the addon from its original directory', () => {
    const binding = path.join(ROOT, 'dist/lib/netlink/binding.js');
    if (!fs.existsSync(binding)) return; // `npm test` builds dist first
    writeBundle(binding, dir);
    const m = loadBundle<{ native(): { kinds(): { qdisc: string[] } } }>(dir)!;
    expect(m.native().kinds().qdisc).toContain('tbf');
  });

  test('a changed source file makes the bundle stale: not loaded', () => {
    writeBundle(path.join(dir, 'entry.js'), dir);
    fs.writeFileSync(path.join(dir, 'sub', 'b.js'), `exports.n = 1;`);
    expect(loadBundle(dir)).toBeUndefined();
    fs.rmSync(path.join(dir, 'cni-bundle.js'));
    expect(loadBundle(dir)).toBeUndefined();
  });
});

// The netqos CLI, driven as users drive it: the compiled binary (dist/lib/cli/main.js, built by
// `npm test` before jest runs) in a throwaway namespace. Results on stdout, errors on stderr,
// documented exit codes, and bad input leaves the kernel exactly as it was.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { sh, tempNetns, type Netns } from '../helpers/netns';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist/lib/cli/main.js');
const SERVER = path.join(ROOT, 'examples/iperf-server-qos.yaml');
const IN = 'qos.projectcalico.org/ingressBandwidth';
const OUT = 'qos.projectcalico.org/egressBandwidth';
const COLUMNS = [
  'INTERFACE',
  'DIRECTION',
  'RATE',
  'BURST',
  'LIMIT',
  'PKT RATE',
  'DSCP',
  'MAX CONN',
  'BYTES',
  'PACKETS',
  'DROPS',
  'OVERLIMITS',
  'RESETS',
  'DATAPLANE',
];

let ns: Netns;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Runs the binary; waits out a native addon that is being rebuilt right now (it reappears). */
function runCli(args: string[], cli = CLI): Run {
  for (let attempt = 0; ; attempt++) {
    const r = spawnSync(process.execPath, [cli, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
    const run = { code: r.status, stdout: r.stdout, stderr: r.stderr };
    if (!run.stderr.includes('cannot load the native engine') || attempt >= 30) return run;
    sleep(2000);
  }
}
const netqos = (...args: string[]) => runCli(args);

/** Everything tc and ip show of the namespace (no statistics), to prove "no change". */
function kernel(): unknown {
  return {
    qdiscs: JSON.parse(sh('tc', ['-n', ns.name, '-j', 'qdisc', 'show']) || '[]'),
    filters: { cali0: ns.hookFilters('cali0'), eth0: ns.hookFilters('eth0') },
    links: JSON.parse(ns.ip('-j', 'link', 'show'))
      .map((l: { ifname: string; flags: string[] }) => `${l.ifname} ${l.flags.join(',')}`)
      .sort(),
  };
}

/** Is cali0 shaped to `rate` both ways (root TBF, IFB TBF)? */
function shapedRates(): { root?: number; ifb?: number } {
  const qdiscs = JSON.parse(sh('tc', ['-n', ns.name, '-j', 'qdisc', 'show'])) as {
    dev: string;
    kind: string;
    handle: string;
    options?: { rate?: number };
  }[];
  const root = qdiscs.find((q) => q.dev === 'cali0' && q.kind === 'tbf' && q.handle === '4e51:');
  const ifb = qdiscs.find((q) => /^nqifb[0-9a-f]{10}$/.test(q.dev) && q.kind === 'tbf');
  // tc -j prints TBF rates in bytes/s.
  return {
    root: root?.options?.rate && root.options.rate * 8,
    ifb: ifb?.options?.rate && ifb.options.rate * 8,
  };
}

/** A failure: the documented exit code, "error: " lines on stderr, nothing on stdout, no change. */
function expectFailure(args: string[], code: number, message: RegExp): Run {
  const before = kernel();
  const r = netqos(...args);
  expect({ code: r.code, stdout: r.stdout }).toEqual({ code, stdout: '' });
  expect(r.stderr).toMatch(message);
  expect(r.stderr.split('\n')[0]).toMatch(/^error: /);
  expect(kernel()).toEqual(before);
  return r;
}

beforeAll(() => {
  if (!fs.existsSync(CLI))
    throw new Error(`${CLI} is missing: build first with \`npx tsc -p tsconfig.json\` (npm test does)`);
  const built = fs.statSync(CLI).mtimeMs;
  const stale = fs
    .readdirSync(path.join(ROOT, 'lib/cli'))
    .filter((f) => fs.statSync(path.join(ROOT, 'lib/cli', f)).mtimeMs > built + 1000);
  if (stale.length)
    throw new Error(
      `dist/ is older than lib/cli/${stale.join(', lib/cli/')}: rebuild with \`npx tsc -p tsconfig.json\``,
    );
  ns = tempNetns('nqc').veth('cali0', 'eth0');
});

afterAll(() => ns?.remove());

describe('help', () => {
  test.each(['', 'apply ', 'plan ', 'show ', 'clear '])(
    'netqos %s--help: usage, examples and exit codes on stdout',
    (cmd) => {
      const r = netqos(...cmd.split(' ').filter(Boolean), '--help');
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^Usage: netqos/);
      expect(r.stdout).toContain('Examples:');
      expect(r.stdout).toContain('Exit codes:');
      expect(r.stdout).toMatch(/^ {2}3 {2}conflict/m);
    },
  );

  test('no command at all is a usage error (help on stderr)', () => {
    const r = netqos();
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('Usage: netqos');
  });
});

describe('apply, plan, show, clear on a live interface', () => {
  let ifb: string;

  test('apply -a: one line per change, the lab limits in the kernel', () => {
    const r = netqos('apply', 'cali0', '--netns', ns.name, '-a', `${IN}=10M`, '-a', `${OUT}=10M`);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    ifb = /^add ifb link (nqifb[0-9a-f]{10}): mtu 1500, up$/.exec(lines[0])![1];
    expect(lines).toEqual([
      `add ifb link ${ifb}: mtu 1500, up`,
      `replace tbf qdisc on ${ifb} root: rate 10Mbit burst 12500b limit 43750b`,
      'replace tbf qdisc on cali0 root: rate 10Mbit burst 12500b limit 43750b',
      'add clsact qdisc on cali0',
      `add u32 filter on cali0 ingress priority 49003 protocol all: mirred egress redirect to ${ifb}`,
    ]);
    expect(shapedRates()).toEqual({ root: 10_000_000, ifb: 10_000_000 });
  });

  test('the same annotations from the lab Pod manifest: no change; plan shows nothing', () => {
    const before = kernel();
    expect(netqos('apply', 'cali0', '--netns', ns.name, '-f', SERVER)).toEqual({
      code: 0,
      stdout: 'no change\n',
      stderr: '',
    });
    expect(netqos('plan', 'cali0', '--netns', ns.name, '-f', SERVER)).toEqual({
      code: 0,
      stdout: 'no change\n',
      stderr: '',
    });
    const json = netqos('plan', 'cali0', '--netns', ns.name, '-f', SERVER, '--json');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({
      version: 1,
      sent: 0,
      targets: [
        {
          ifname: 'cali0',
          netns: ns.name,
          operations: [],
          nftables: [],
          enforcedBy: { bandwidth: 'tc' },
          warnings: [],
        },
      ],
    });
    expect(kernel()).toEqual(before);
  });

  test('-a overrides the manifest: plan and --dry-run print the one change and send nothing', () => {
    const before = kernel();
    const args = ['cali0', '--netns', ns.name, '-f', SERVER, '-a', `${OUT}=20M`];
    const expected = `replace tbf qdisc on ${ifb} root: rate 20Mbit burst 25000b limit 87500b\n`;
    expect(netqos('plan', ...args)).toEqual({ code: 0, stdout: expected, stderr: '' });
    expect(netqos('apply', ...args, '--dry-run')).toEqual({ code: 0, stdout: expected, stderr: '' });
    expect(kernel()).toEqual(before);
  });

  test('apply --json: the change, as sent', () => {
    const r = netqos('apply', 'cali0', '--netns', ns.name, '-f', SERVER, '-a', `${OUT}=20M`, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      version: 1,
      sent: 1,
      targets: [
        {
          ifname: 'cali0',
          netns: ns.name,
          operations: [
            {
              description: `replace tbf qdisc on ${ifb} root: rate 20Mbit burst 25000b limit 87500b`,
              operation: {
                op: 'replace',
                qdisc: {
                  kind: 'tbf',
                  dev: ifb,
                  parent: 'root',
                  handle: '4e51:',
                  rate: 20_000_000,
                  burst: 25_000,
                  limit: 87_500,
                },
              },
            },
          ],
          nftables: [],
          enforcedBy: { bandwidth: 'tc' },
          warnings: [],
        },
      ],
    });
    expect(shapedRates()).toEqual({ root: 10_000_000, ifb: 20_000_000 });
    // Back to the manifest's limits.
    expect(netqos('apply', 'cali0', '--netns', ns.name, '-f', SERVER).stdout).toBe(
      `replace tbf qdisc on ${ifb} root: rate 10Mbit burst 12500b limit 43750b\n`,
    );
  });

  test('show: a table of the interfaces that carry netqos objects (not eth0, not the IFB)', () => {
    const r = netqos('show', '--netns', ns.name);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rows = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => l.split(/ {2,}/).map((c) => c.trim()));
    expect(rows[0]).toEqual(COLUMNS);
    expect(rows).toHaveLength(3);
    expect(rows[1].slice(0, 8)).toEqual(['cali0', 'ingress', '10Mbit', '12500b', '43750b', '-', '-', '-']);
    expect(rows[2].slice(0, 8)).toEqual(['cali0', 'egress', '10Mbit', '12500b', '43750b', '-', '-', '-']);
    for (const row of rows.slice(1))
      expect(row.slice(8)).toEqual([
        expect.stringMatching(/^\d+$/),
        expect.stringMatching(/^\d+$/),
        '0',
        expect.stringMatching(/^\d+$/),
        '-',
        'tc',
      ]);
  });

  test('show with names: an interface without netqos objects shows (none)', () => {
    const r = netqos('show', 'eth0', 'cali0', '--netns', ns.name);
    expect(r.code).toBe(0);
    const rows = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => l.split(/ {2,}/));
    expect(rows.map((row) => row.slice(0, 2))).toEqual([
      ['INTERFACE', 'DIRECTION'],
      ['eth0', '(none)'],
      ['cali0', 'ingress'],
      ['cali0', 'egress'],
    ]);
  });

  test('show --json: the documented document', () => {
    const r = netqos('show', '--netns', ns.name, '--json');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    const stats = {
      bytes: expect.any(Number),
      packets: expect.any(Number),
      drops: 0,
      overlimits: expect.any(Number),
      requeues: 0,
      backlog: 0,
      qlen: 0,
    };
    expect(doc).toEqual({
      version: 1,
      interfaces: [
        {
          ifname: 'cali0',
          netns: ns.name,
          exists: true,
          ingress: {
            bandwidth: 10_000_000,
            burst: 12_500,
            limit: 43_750,
            shaper: stats,
            enforcedBy: { bandwidth: 'tc' },
          },
          egress: {
            bandwidth: 10_000_000,
            burst: 12_500,
            limit: 43_750,
            shaper: stats,
            ifb,
            enforcedBy: { bandwidth: 'tc' },
          },
          foreign: { filters: 0 },
        },
      ],
    });
  });

  test('--mode calico: what Calico would drop is dropped with a warning on stderr', () => {
    const r = netqos(
      'plan',
      'cali0',
      '--netns',
      ns.name,
      '-f',
      SERVER,
      '--mode',
      'calico',
      '-a',
      'qos.projectcalico.org/ingressPeakrate=5M',
      '--json',
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      /^warning: qos\.projectcalico\.org\/ingressPeakrate: "5M": .*peakrate dropped\n/,
    );
    // Calico's default 4Gi-bit burst is a 429 s bucket at 10M: clamped to what the kernel holds.
    expect(r.stderr).toMatch(
      /^warning: qos\.projectcalico\.org\/ingressBurst: 4294967296 bits .* using 2748779064$/m,
    );
    const doc = JSON.parse(r.stdout);
    expect(doc.targets[0].warnings).toEqual([
      expect.stringContaining('peakrate dropped'),
      expect.stringContaining('ingressBurst'),
      expect.stringContaining('egressBurst'),
    ]);
    // The same annotation in strict mode is an input error.
    expectFailure(
      ['apply', 'cali0', '--netns', ns.name, '-f', SERVER, '-a', 'qos.projectcalico.org/ingressPeakrate=5M'],
      2,
      /^error: qos\.projectcalico\.org\/ingressPeakrate: "5M" must be greater/,
    );
  });

  test("DSCP on --dataplane tc: applied where the kernel has pedit/csum/skbedit, else exit 1 with the kernel's words and nothing changed", () => {
    const before = kernel();
    const r = netqos(
      'apply',
      'cali0',
      '--netns',
      ns.name,
      '-f',
      SERVER,
      '-a',
      'qos.projectcalico.org/dscp=EF',
      '--dataplane',
      'tc',
    );
    if (r.code === 0) {
      expect(r.stdout).toContain(
        'add u32 filter on cali0 ingress priority 49001 protocol ip: pedit ipv4 dscp 46 (EF) | csum ipv4h | skbedit priority',
      );
      expect(netqos('show', 'cali0', '--netns', ns.name).stdout).toContain('46 (EF)');
      expect(netqos('apply', 'cali0', '--netns', ns.name, '-f', SERVER).code).toBe(0);
    } else {
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^error: add u32 filter on cali0 ingress .*\nkernel: .+\n$/);
      expect(kernel()).toEqual(before);
    }
  });

  test('DSCP and a connection limit on --dataplane auto: nftables rules where the kernel lacks the tc actions; show says which', () => {
    const r = netqos(
      'apply',
      'cali0',
      '--netns',
      ns.name,
      '-f',
      SERVER,
      '-a',
      'qos.projectcalico.org/dscp=EF',
      '-a',
      'qos.projectcalico.org/ingressMaxConnections=3',
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const viaTc = r.stdout.includes('pedit ipv4 dscp 46');
    if (!viaTc) expect(r.stdout).toMatch(/^add rule inet netqos from-cali0-\d+: dscp ip$/m);
    expect(r.stdout).toMatch(/^add rule inet netqos to-cali0-\d+: connections ip$/m);
    const shown = netqos('show', 'cali0', '--netns', ns.name);
    expect(shown.stdout).toMatch(
      viaTc ? /egress .*46 \(EF\).*tc\s*$/m : /egress .*46 \(EF\).*tc\+nftables\s*$/m,
    );
    expect(shown.stdout).toMatch(/ingress .* 3 .*nftables\s*$/m);
    const doc = JSON.parse(netqos('show', 'cali0', '--netns', ns.name, '--json').stdout);
    expect(doc.interfaces[0].ingress).toMatchObject({
      maxConnections: 3,
      rejectedConnections: 0,
      enforcedBy: { bandwidth: 'tc', maxConnections: 'nftables' },
    });
    expect(doc.interfaces[0].egress.enforcedBy.dscp).toBe(viaTc ? 'tc' : 'nftables');
    // The same again: nothing to do, in either subsystem.
    const again = netqos(
      'apply',
      'cali0',
      '--netns',
      ns.name,
      '-f',
      SERVER,
      '-a',
      'qos.projectcalico.org/dscp=EF',
      '-a',
      'qos.projectcalico.org/ingressMaxConnections=3',
      '--json',
    );
    expect(JSON.parse(again.stdout)).toMatchObject({ sent: 0 });
    expect(netqos('apply', 'cali0', '--netns', ns.name, '-f', SERVER).code).toBe(0);
    expect(sh('ip', ['netns', 'exec', ns.name, 'nft', 'list', 'ruleset']).trim()).toBe('');
  });

  describe('bad input: the documented exit code, the message on stderr, the kernel unchanged', () => {
    const base = () => ['apply', 'cali0', '--netns', ns.name];

    test('an unknown flag (2)', () => {
      expectFailure([...base(), '-a', `${IN}=1M`, '--bogus'], 2, /^error: unknown option '--bogus'/);
    });
    test('-a without = (2)', () => {
      expectFailure(
        [...base(), '-a', 'ingressBandwidth'],
        2,
        /^error: .*'ingressBandwidth' is invalid\. expected KEY=VALUE/,
      );
    });
    test('ingressBandwidth=10Mb (2): each problem on its own line', () => {
      const r = expectFailure(
        [...base(), '-a', `${IN}=10Mb`, '-a', 'qos.projectcalico.org/egressBurst=1M'],
        2,
        /"10Mb"/,
      );
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^error: qos\.projectcalico\.org\/ingressBandwidth: "10Mb" is not a quantity/);
      expect(lines[1]).toMatch(/^error: qos\.projectcalico\.org\/egressBurst: "1M" needs a bandwidth/);
    });
    test('a missing manifest file (2)', () => {
      expectFailure(
        [...base(), '-f', path.join(ROOT, 'examples/no-such-pod.yaml')],
        2,
        /no-such-pod\.yaml: cannot read the manifest: no such file/,
      );
    });
    test('an invalid manifest (2)', () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nqc-'));
      try {
        fs.writeFileSync(
          path.join(dir, 'bad.yaml'),
          `kind: Pod\nmetadata:\n  annotations:\n    ${IN}: [10M\n`,
        );
        expectFailure([...base(), '-f', path.join(dir, 'bad.yaml')], 2, /bad\.yaml: .*line \d+/);
        fs.writeFileSync(
          path.join(dir, 'two.yaml'),
          fs.readFileSync(SERVER, 'utf8') +
            '\n---\n' +
            fs.readFileSync(path.join(ROOT, 'examples/iperf-client-qos.yaml'), 'utf8'),
        );
        expectFailure(
          [...base(), '-f', path.join(dir, 'two.yaml')],
          2,
          /^error: 2 Pods found \(iperf-server-qos .*; iperf-client-qos .*\)/,
        );
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
    test('an invalid --mode (2)', () => {
      expectFailure([...base(), '-f', SERVER, '--mode', 'lenient'], 2, /Allowed choices are strict, calico/);
    });
    test('a missing interface (1), for apply, plan, clear and show', () => {
      expectFailure(
        ['apply', 'nope0', '--netns', ns.name, '-f', SERVER],
        1,
        /^error: nope0: no such interface in network namespace nqc-/,
      );
      expectFailure(
        ['plan', 'nope0', '--netns', ns.name, '-f', SERVER],
        1,
        /^error: nope0: no such interface/,
      );
      expectFailure(['clear', 'nope0', '--netns', ns.name], 1, /^error: nope0: no such interface/);
      const r = netqos('show', 'nope0', '--netns', ns.name, '--json');
      expect(r.code).toBe(1);
      expect(JSON.parse(r.stdout).interfaces[0]).toMatchObject({ ifname: 'nope0', exists: false });
      expect(r.stderr).toBe(`error: nope0: no such interface in network namespace ${ns.name}\n`);
    });
    test('a missing namespace (1)', () => {
      const missing = `${ns.name}-gone`;
      expectFailure(
        ['apply', 'cali0', '--netns', missing, '-f', SERVER],
        1,
        new RegExp(`^error: .*${missing}`),
      );
      expectFailure(['show', '--netns', missing], 1, new RegExp(`^error: .*${missing}`));
    });
    test("another tool's root qdisc (3)", () => {
      sh('tc', [
        '-n',
        ns.name,
        'qdisc',
        'add',
        'dev',
        'eth0',
        'root',
        'handle',
        '1:',
        'pfifo',
        'limit',
        '100',
      ]);
      try {
        expectFailure(
          ['apply', 'eth0', '--netns', ns.name, '-a', `${IN}=10M`],
          3,
          /^error: eth0: the root qdisc pfifo 1: belongs to another tool/,
        );
      } finally {
        sh('tc', ['-n', ns.name, 'qdisc', 'del', 'dev', 'eth0', 'root']);
      }
    });
  });

  test('clear removes every netqos object, the IFB included; then there is nothing to clear', () => {
    const r = netqos('clear', 'cali0', '--netns', ns.name);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toContain('delete qdisc on cali0 root (handle 4e51:)');
    expect(lines).toContain(`delete link ${ifb} (with the others below)`);
    expect(lines).toContain('delete the links above, in one step');
    expect(shapedRates()).toEqual({});
    expect(JSON.parse(ns.ip('-j', 'link', 'show')).map((l: { ifname: string }) => l.ifname)).not.toContain(
      ifb,
    );
    expect(netqos('clear', 'cali0', '--netns', ns.name)).toEqual({
      code: 0,
      stdout: 'no change\n',
      stderr: '',
    });
    expect(JSON.parse(netqos('clear', 'cali0', '--netns', ns.name, '--json').stdout)).toEqual({
      version: 1,
      sent: 0,
      targets: [
        { ifname: 'cali0', netns: ns.name, operations: [], nftables: [], enforcedBy: {}, warnings: [] },
      ],
    });
    expect(netqos('show', '--netns', ns.name)).toEqual({
      code: 0,
      stdout: `no interface in network namespace ${ns.name} carries netqos objects\n`,
      stderr: '',
    });
    expect(JSON.parse(netqos('show', '--netns', ns.name, '--json').stdout)).toEqual({
      version: 1,
      interfaces: [],
    });
  });
});

describe('netqos lab: every argument goes to runLab', () => {
  // A copy of the compiled CLI with a stand-in lib/lab, so this holds whatever the real lab does.
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nqc-lab-'));
    fs.cpSync(path.join(ROOT, 'dist/lib'), path.join(dir, 'dist/lib'), {
      recursive: true,
      filter: (src) => !src.startsWith(path.join(ROOT, 'dist/lib/lab')),
    });
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('without lib/lab: a clear message, exit 1', () => {
    const r = runCli(['lab', '--help'], path.join(dir, 'dist/lib/cli/main.js'));
    expect(r).toEqual({
      code: 1,
      stdout: '',
      stderr: 'error: the lab is not part of this build of netqos (lib/lab is missing)\n',
    });
  });

  test('--help, unknown options and operands reach runLab in order; its return is the exit code', () => {
    fs.mkdirSync(path.join(dir, 'dist/lib/lab'), { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'dist/lib/lab/index.js'),
      'exports.runLab = async (argv) => { process.stdout.write(JSON.stringify(argv) + "\\n"); return 7; };\n',
    );
    const argv = ['--help', '--json', '-x', '5', 'short', '--netns', 'n', '-V'];
    expect(runCli(['lab', ...argv], path.join(dir, 'dist/lib/cli/main.js'))).toEqual({
      code: 7,
      stdout: `${JSON.stringify(argv)}\n`,
      stderr: '',
    });
    expect(runCli(['lab'], path.join(dir, 'dist/lib/cli/main.js')).stdout).toBe('[]\n');
  });
});

// The npm package as a user gets it: `npm pack` (prepack makes the prebuilt binaries), then in an
// empty directory `npm install <tarball> --ignore-scripts`, so nothing can compile, with the
// dependencies from npm's cache or registry. The prebuilt engine then reads a namespace this test
// made (CommonJS and ES modules, and TypeScript sees both), its install script compiles nothing,
// `netqos --version` prints the package's version, `netqos cni-install` installs the prebuilt shim
// and it answers, through the resident server and through its Node fallback; and without libmnl
// the loader's message says what to install. Slow (the pack compiles): minutes.
import { spawn, spawnSync, type SpawnSyncOptions } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { tempNetns } from '../helpers/netns';

const ROOT = path.resolve(__dirname, '..', '..');
const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const PREBUILDS = `prebuilds/linux-${process.arch}`;

let tmp: string;
let app: string;
let installed: string;
let packed: { filename: string; size: number; unpackedSize: number; files: { path: string; mode: number }[] };

function run(cmd: string, args: string[], options: SpawnSyncOptions = {}) {
  const r = spawnSync(cmd, args, { cwd: app, encoding: 'utf8', timeout: 600_000, ...options });
  const out = { code: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
  if (r.error) throw r.error;
  return out;
}
function ok(cmd: string, args: string[], options: SpawnSyncOptions = {}): string {
  const r = run(cmd, args, options);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.code}\n${r.stderr}${r.stdout}`);
  return r.stdout;
}
const node = (args: string[], options: SpawnSyncOptions = {}) => ok(process.execPath, args, options);

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'nq-package-'));
  // The report is the JSON array at the end of standard output (lifecycle scripts may print before it).
  const report = ok('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: ROOT });
  packed = JSON.parse(report.slice(report.search(/^\[$/m)))[0];
  app = path.join(tmp, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }));
  ok('npm', [
    'install',
    path.join(tmp, packed.filename),
    '--ignore-scripts',
    '--prefer-offline',
    '--no-audit',
    '--no-fund',
  ]);
  installed = path.join(app, 'node_modules', 'netqos');
}, 1_200_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('the tarball: prebuilt addon and shim, both entries, sources to build from; no build output', () => {
  const files = new Map(packed.files.map((f) => [f.path, f.mode]));
  for (const f of [`${PREBUILDS}/netqos.napi.glibc.node`, `${PREBUILDS}/netqos-cni.glibc`])
    expect(files.get(f)! & 0o111).toBe(0o111);
  for (const f of [
    'dist/lib/index.js',
    'dist/lib/index.mjs',
    'dist/lib/index.d.ts',
    'dist/lib/index.d.mts',
    'dist/lib/cli/main.js',
    'binding.gyp',
    'scripts/native-sources.js',
    'lib/cni/shim/netqos-cni.c',
    'native/addon.cc',
  ])
    expect(files.has(f)).toBe(true);
  expect([...files.keys()].filter((f) => /^(build|test|bench|node_modules)\//.test(f))).toEqual([]);
  console.log(
    `${packed.filename}: ${packed.files.length} files, ${packed.size} bytes packed, ${packed.unpackedSize} unpacked`,
  );
});

test('installed with --ignore-scripts: nothing compiled, the prebuilt engine reads a namespace', () => {
  expect(fs.existsSync(path.join(installed, 'build'))).toBe(false);
  const ns = tempNetns('nqpkg');
  ns.veth('pkg0', 'pkg1');
  const out = JSON.parse(
    node([
      '-e',
      `const h = require('netqos').openNetlink({ netns: process.argv[1] });
       const links = h.dumpSync({ type: 'link' }).map((l) => l.name).sort();
       h.close();
       const addons = Object.keys(require.cache).filter((f) => f.endsWith('.node'));
       console.log(JSON.stringify({ links, addons }));`,
      ns.name,
    ]),
  );
  expect(out.links).toEqual(['lo', 'pkg0', 'pkg1']);
  expect(out.addons).toEqual([path.join(installed, PREBUILDS, 'netqos.napi.glibc.node')]);
});

test('its install script (node-gyp-build), when run, finds the prebuild fits and compiles nothing', () => {
  // npm 11 skips a dependency's install script until approved, but runs it for `npm rebuild <name>`.
  const r = run('npm', ['rebuild', 'netqos', '--foreground-scripts']);
  expect(r.code).toBe(0);
  expect(r.stdout + r.stderr).toContain('node-gyp-build');
  expect(fs.existsSync(path.join(installed, 'build'))).toBe(false);
});

test('an ES module imports it; TypeScript types it for ES modules and CommonJS', () => {
  const ns = tempNetns('nqpkg');
  fs.writeFileSync(
    path.join(app, 'probe.mjs'),
    `import netqos, { openNetlink, applyQos } from 'netqos';
     const h = openNetlink({ netns: process.argv[2] });
     console.log(JSON.stringify({ links: h.dumpSync({ type: 'link' }).map((l) => l.name),
       applyQos: typeof applyQos, same: netqos.openNetlink === openNetlink }));
     h.close();`,
  );
  expect(JSON.parse(node(['probe.mjs', ns.name]))).toEqual({
    links: ['lo'],
    applyQos: 'function',
    same: true,
  });
  // A consumer's TypeScript in Node's own module mode: named and default imports both type.
  const esm = `import netqos, { openNetlink, type QosSpec } from 'netqos';
    const h: ReturnType<typeof openNetlink> = netqos.openNetlink({ netns: 'x' });
    export const spec: QosSpec | undefined = undefined; void h;`;
  const cjs = `import { openNetlink, NetlinkError } from 'netqos';
    export const e: NetlinkError | undefined = undefined; void openNetlink;`;
  fs.writeFileSync(path.join(app, 'esm.mts'), esm);
  fs.writeFileSync(path.join(app, 'cjs.cts'), cjs);
  fs.writeFileSync(path.join(app, 'bad.mts'), `import { notAnExport } from 'netqos'; void notAnExport;`);
  const tsc = [
    path.join(ROOT, 'node_modules/typescript/bin/tsc'),
    '--noEmit',
    '--strict',
    '--module',
    'nodenext',
    '--skipLibCheck',
    '--typeRoots',
    path.join(ROOT, 'node_modules/@types'),
    '--types',
    'node',
  ];
  node([...tsc, 'esm.mts', 'cjs.cts']);
  const bad = run(process.execPath, [...tsc, 'bad.mts']);
  expect(bad.stdout).toMatch(/has no exported member .*notAnExport/);
});

test('npx netqos --version prints the package version', () => {
  expect(ok('npx', ['netqos', '--version']).trim()).toBe(PKG.version);
});

test('netqos cni-install puts the prebuilt shim in place; it answers through the server and without it', async () => {
  const bin = path.join(tmp, 'cni-bin');
  const socket = path.join(tmp, 'cni.sock');
  const said = ok('npx', ['netqos', 'cni-install', '--dir', bin, '--socket', socket]);
  expect(said).toContain('the native plugin');
  const shim = path.join(bin, 'netqos');
  expect(fs.readFileSync(shim).subarray(0, 4)).toEqual(Buffer.from('\x7fELF', 'latin1'));
  const version = () =>
    JSON.parse(ok(shim, [], { env: { ...process.env, CNI_COMMAND: 'VERSION', CNI_PATH: bin }, input: '' }));
  // No server: the shim runs the installed package's Node plugin.
  expect(version().supportedVersions).toContain('1.0.0');
  // With the installed package's server: answered there.
  const server = spawn(
    process.execPath,
    [path.join(installed, 'dist/lib/cli/main.js'), 'cni-server', '--socket', socket, '--verbose'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  server.stderr!.setEncoding('utf8').on('data', (d: string) => (log += d));
  try {
    for (let i = 0; i < 3000 && !log.includes('listening on'); i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(log).toContain('listening on');
    expect(version().supportedVersions).toContain('1.0.0');
    for (let i = 0; i < 300 && !log.includes('served'); i++) await new Promise((r) => setTimeout(r, 10));
    expect(log).toMatch(/served .*VERSION/);
  } finally {
    server.kill('SIGKILL');
  }
});

test('without libmnl, the loader lists what it tried and names the package to install', () => {
  // libmnl hidden in a private mount namespace of this one command (the machine's is untouched).
  const lib = /libmnl\.so\.0 => (\S+)/.exec(
    ok('ldd', [path.join(installed, PREBUILDS, 'netqos.napi.glibc.node')]),
  )![1];
  const r = run('unshare', [
    '--mount',
    '--propagation',
    'private',
    'sh',
    '-c',
    `mount --bind /dev/null "$1" && exec "$2" -e "require('netqos').openNetlink()"`,
    'sh',
    fs.realpathSync(lib),
    process.execPath,
  ]);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('cannot load the native engine');
  expect(r.stderr).toContain(`${path.join(installed, 'build/Release/netqos.node')}: not found`);
  expect(r.stderr).toMatch(new RegExp(`${PREBUILDS}/netqos.napi.glibc.node: .*libmnl`));
  expect(r.stderr).toContain('apt-get install libmnl0');
  expect(r.stderr).toContain('npm_config_build_from_source=true npm rebuild netqos');
});

// Where the engine is looked for: the loader's candidates agree with node-gyp-build (the install
// script, which compiles only when no prebuild loads), and its message when none loads.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { NativeEngineMissingError, NetqosError } from '../../lib';
import { addonCandidates, engineMissing, loadAddon, prebuiltFile } from '../../lib/netlink/binding';

let root: string;
beforeEach(() => (root = fs.mkdtempSync(path.join(os.tmpdir(), 'nq-prebuilds-'))));
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

const nodeGypBuild = require('node-gyp-build') as { path(dir: string): string };
const touch = (file: string) => {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, '');
};

test("the prebuilt addon is the file node-gyp-build's install check loads", () => {
  const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  // Beside it: the shim (not an addon), each C library's build, an ABI-specific build of another Node.
  for (const f of ['netqos-cni.glibc', 'netqos.napi.glibc.node', 'netqos.napi.musl.node', 'netqos.abi1.node'])
    touch(path.join(dir, f));
  const libc = fs.existsSync('/etc/alpine-release') ? 'musl' : 'glibc';
  const candidates = addonCandidates(root);
  expect(candidates[2]).toBe(path.join(dir, `netqos.napi.${libc}.node`));
  expect(nodeGypBuild.path(root)).toBe(candidates[2]);
  expect(prebuiltFile('netqos-cni', '', root)).toBe(path.join(dir, `netqos-cni.${libc}`));
  // A build from source comes first, for both.
  touch(candidates[0]);
  expect(nodeGypBuild.path(root)).toBe(candidates[0]);
});

test('the message names every path tried and how to build', () => {
  const tried = addonCandidates(root).map((f) => `${f}: not found`);
  const m = engineMissing(tried);
  for (const f of addonCandidates(root)) expect(m).toContain(f);
  expect(m).toContain('npm_config_build_from_source=true npm rebuild netqos');
  expect(m).toContain('libmnl-dev');
  expect(m).not.toContain('libmnl0');
});

test('a missing libmnl or a too old glibc is named', () => {
  const m = engineMissing([
    '/x/netqos.napi.glibc.node: libmnl.so.0: cannot open shared object file: No such file or directory',
  ]);
  expect(m).toMatch(/apt-get install libmnl0 .*dnf install libmnl .*apk add libmnl/);
  const g = engineMissing(["/x/netqos.napi.glibc.node: /lib/libc.so.6: version `GLIBC_2.34' not found"]);
  expect(g).toContain('glibc 2.34 or later');
});

test('no engine: a NativeEngineMissingError with its code, the paths tried and the message', () => {
  const candidates = addonCandidates(root);
  let caught: unknown;
  try {
    loadAddon(candidates);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(NativeEngineMissingError);
  expect(caught).toBeInstanceOf(NetqosError);
  const e = caught as NativeEngineMissingError;
  expect(e.code).toBe('ERR_NETQOS_ENGINE_MISSING');
  expect(e.name).toBe('NativeEngineMissingError');
  expect(e.tried).toEqual(candidates.map((f) => `${f}: not found`));
  expect(e.message).toBe(engineMissing(e.tried));
});

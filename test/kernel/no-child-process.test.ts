// The library never starts a process: strace follows a Node process that opens a handle,
// applies, dumps and fails, and sees no execve beyond node's own and only thread clones.
import { execFileSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { tempNetns } from '../helpers/netns';

test('no child process while applying, dumping and failing', () => {
  const ns = tempNetns().veth('v0', 'v1');
  const dir = mkdtempSync(path.join(tmpdir(), 'nqt-strace-'));
  try {
    const lib = path.resolve(__dirname, '../../dist/lib');
    const script = `
      const { openNetlink } = require(${JSON.stringify(lib)});
      (async () => {
        const nl = openNetlink({ netns: ${JSON.stringify(ns.name)} });
        await nl.apply([
          { op: 'add', link: { kind: 'ifb', name: 'nqifb-nc', up: true } },
          { op: 'replace', qdisc: { dev: 'v0', parent: 'root', kind: 'tbf', rate: 1e7, burst: 32768, latencyUs: 25000 } },
          { op: 'add', qdisc: { dev: 'v0', kind: 'ingress' } },
          { op: 'add', filter: { dev: 'v0', parent: 'ingress', kind: 'u32', actions: [{ kind: 'mirred', dev: 'nqifb-nc' }] } },
        ]);
        nl.applySync([{ op: 'replace', qdisc: { dev: 'v1', parent: 'root', kind: 'tbf', rate: 1e7, burst: 32768, latencyUs: 25000 } }]);
        await nl.dump({ type: 'filter', dev: 'v0' });
        nl.dumpSync({ type: 'qdisc' });
        await nl.apply([{ op: 'add', qdisc: { dev: 'nosuch', kind: 'ingress' } }], { atomic: true }).catch(() => {});
        nl.close();
        console.log('done');
      })();`;
    const trace = path.join(dir, 'trace');
    const out = execFileSync(
      'strace',
      [
        '-f',
        '-qq',
        '-e',
        'trace=execve,execveat,fork,vfork,clone,clone3',
        '-o',
        trace,
        process.execPath,
        '-e',
        script,
      ],
      { encoding: 'utf8' },
    );
    expect(out.trim()).toBe('done');
    const lines = readFileSync(trace, 'utf8')
      .split('\n')
      .filter((l) => /(execve|execveat|fork|vfork|clone3?)\(/.test(l));
    const execs = lines.filter((l) => /execve(at)?\(/.test(l));
    expect(execs).toHaveLength(1);
    expect(execs[0]).toContain(process.execPath);
    const clones = lines.filter((l) => /clone3?\(|fork\(/.test(l));
    expect(clones.length).toBeGreaterThan(0); // node's and libuv's threads
    for (const c of clones) expect(c).toContain('CLONE_THREAD');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// The machine line: CPU, cores, kernel, Node, date, and the versions of the other contenders.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export interface Machine {
  cpu: string;
  cores: number;
  kernel: string;
  node: string;
  date: string;
  iproute2?: string;
  pyroute2?: string;
  cniPlugins?: string;
  /** The netqos checkout measured: commit, and the files of lib/ native/ bench/floor changed since. */
  git?: { commit: string; dirty: string[] };
  /** 1-minute load average when the run started (other work on the machine skews timings). */
  loadAvg: number;
}

function tryRun(cmd: string, args: string[]): string | undefined {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

function gitState(): Machine['git'] {
  const repo = path.resolve(__dirname, '..', '..', '..');
  const commit = tryRun('git', ['-C', repo, 'rev-parse', '--short', 'HEAD']);
  if (!commit) return undefined;
  let status = '';
  try {
    status = execFileSync(
      'git',
      ['-C', repo, 'status', '--porcelain', '--', 'lib', 'native', 'bench/floor', 'binding.gyp'],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
    );
  } catch {
    /* not a checkout */
  }
  return {
    commit,
    dirty: status
      .split('\n')
      .filter((l) => l.length > 3)
      .map((l) => l.slice(3)),
  };
}

export function machine(): Machine {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown CPU';
  return {
    cpu: model,
    cores: os.cpus().length,
    kernel: os.release(),
    node: process.version,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    iproute2: tryRun('tc', ['-V'])?.replace(/^tc utility, /, ''),
    pyroute2: tryRun('dpkg-query', ['-W', '-f', '${Version}', 'python3-pyroute2']),
    cniPlugins: tryRun('dpkg-query', ['-W', '-f', '${Version}', 'containernetworking-plugins']),
    git: gitState(),
    loadAvg: os.loadavg()[0] ?? NaN,
  };
}

export function machineLine(m: Machine): string {
  const git = m.git
    ? ` · netqos ${m.git.commit}${m.git.dirty.length ? ` + ${m.git.dirty.length} uncommitted files` : ''}`
    : '';
  return (
    `${m.cpu}, ${m.cores} cores · Linux ${m.kernel} · Node ${m.node} · ${m.date}` +
    ` · ${m.iproute2 ?? 'iproute2 ?'} · pyroute2 ${m.pyroute2 ?? '?'} · CNI plugins ${m.cniPlugins ?? '?'}${git}`
  );
}

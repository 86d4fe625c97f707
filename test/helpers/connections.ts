// TCP connections held open at once, between test namespaces: a server in one namespace keeps
// every connection it accepts; a client in another opens several at once, reports how many were
// established and how many reset, closes one and tries once more. Node scripts run through
// `ip netns exec`, bounded in time, killed by pid.
import { spawn, type ChildProcess } from 'child_process';

export interface ConnectionOutcome {
  connected: number;
  /** Answered with a reset (ECONNREFUSED). */
  refused: number;
  /** After one held connection was closed: 'connected' or the error code of the next attempt. */
  afterClose: string;
}

function spawnNode(ns: string, script: string): ChildProcess {
  return spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** The child's output lines, in order: next(prefix) waits (10 s at most) for the next one starting so. */
export function lines(child: ChildProcess): { next(prefix: string): Promise<string> } {
  const queue: string[] = [];
  let partial = '';
  let wake: (() => void) | undefined;
  child.stdout!.on('data', (d: Buffer) => {
    const parts = (partial + d.toString()).split('\n');
    partial = parts.pop()!;
    queue.push(...parts);
    wake?.();
  });
  return {
    async next(prefix) {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const i = queue.findIndex((l) => l.startsWith(prefix));
        if (i >= 0) return queue.splice(0, i + 1)[i];
        if (Date.now() > deadline)
          throw new Error(`no "${prefix}" line within 10 s (got: ${queue.join(' | ')})`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 200);
        });
      }
    },
  };
}

/**
 * A server on address:port in `serverNs` holding every connection; `count` connections opened at
 * once from `clientNs`, one closed after 300 ms, and a new one tried 500 ms later.
 */
export async function holdConnections(
  serverNs: string,
  clientNs: string,
  address: string,
  count: number,
  port = 8080,
): Promise<ConnectionOutcome> {
  const host = JSON.stringify(address);
  const children: ChildProcess[] = [];
  try {
    const server = spawnNode(
      serverNs,
      `const sockets = [];
       require('net').createServer((s) => { sockets.push(s); s.on('error', () => {}); })
         .listen(${port}, ${host}, () => console.log('listening'));
       setTimeout(() => process.exit(0), 30000);`,
    );
    children.push(server);
    await lines(server).next('listening');
    const client = spawnNode(
      clientNs,
      `const net = require('net');
       const open = () => new Promise((resolve) => {
         const s = net.connect({ host: ${host}, port: ${port} });
         s.on('connect', () => resolve({ s, ok: true }));
         s.on('error', (e) => resolve({ ok: false, code: e.code }));
         setTimeout(() => resolve({ ok: false, code: 'TIMEOUT' }), 5000);
       });
       (async () => {
         const results = await Promise.all(Array.from({ length: ${count} }, open));
         const held = results.filter((r) => r.ok);
         await new Promise((r) => setTimeout(r, 300));
         if (held.length) held[0].s.end();
         await new Promise((r) => setTimeout(r, 500));
         const next = await open();
         console.log(JSON.stringify({
           connected: held.length,
           refused: results.filter((r) => r.code === 'ECONNREFUSED').length,
           afterClose: next.ok ? 'connected' : next.code,
         }));
         setTimeout(() => process.exit(0), 200);
       })();`,
    );
    children.push(client);
    return JSON.parse(await lines(client).next('{')) as ConnectionOutcome;
  } finally {
    for (const c of children) if (c.exitCode === null && c.pid) process.kill(c.pid, 'SIGKILL');
  }
}

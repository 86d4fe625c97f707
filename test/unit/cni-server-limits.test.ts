// The resident CNI server under hostile clients (issue 10, item 8): a declared length over the bound
// is refused at once, a request that does not arrive whole in time is dropped however slowly it
// trickles, and the memory clients can make it hold is bounded (16 clients each sending a large
// partial frame), while real requests are still answered. Nothing here changes the kernel
// (VERSION only).
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { startCniServer, MEMORY_BUDGET_BYTES, type CniServer } from '../../lib/cni/server';
import { MAX_STDIN_BYTES } from '../../lib/cni/limits';
import {
  HEADER_BYTES,
  MAX_BODY_BYTES,
  MessageCollector,
  PROTOCOL_VERSION,
  REQUEST_MAGIC,
  RESPONSE_MAGIC,
  decodeResponseBody,
  encodeRequest,
  type CniResponse,
} from '../../lib/cni/protocol';
import { CniServerProcess } from '../../bench/lib/cni-testbed';

const built = fs.existsSync(path.join(__dirname, '../../build/Release/netqos.node'));
const maybe = built ? describe : describe.skip;

const header = (length: number) => {
  const h = Buffer.alloc(HEADER_BYTES);
  h.write(REQUEST_MAGIC, 0, 'latin1');
  h.writeUInt16LE(PROTOCOL_VERSION, 4);
  h.writeUInt32LE(length, 8);
  return h;
};
const version = () => {
  const id = { dev: 0n, ino: 0n };
  const netns = fs.statSync('/proc/self/ns/net', { bigint: true });
  const mntns = fs.statSync('/proc/self/ns/mnt', { bigint: true });
  return encodeRequest({
    pid: process.pid,
    netns: { dev: netns.dev, ino: netns.ino },
    mntns: { dev: mntns.dev, ino: mntns.ino },
    cniNetns: { errno: -1, ...id },
    env: { CNI_COMMAND: 'VERSION' },
  });
};

/** A connection that sends `bytes` and resolves when the server closes it, with the time taken. */
function hold(socket: string, bytes: Buffer): { closed: Promise<number>; conn: net.Socket } {
  const t0 = Date.now();
  const conn = net.connect(socket);
  conn.on('error', () => {});
  conn.write(bytes);
  return { conn, closed: new Promise((resolve) => conn.on('close', () => resolve(Date.now() - t0))) };
}

function exchange(socket: string, bytes: Buffer): Promise<CniResponse | 'closed'> {
  return new Promise((resolve) => {
    const c = net.connect(socket);
    const collector = new MessageCollector(RESPONSE_MAGIC);
    let answer: CniResponse | undefined;
    c.on('data', (d: Buffer) => {
      const body = collector.feed(d);
      if (body) answer = decodeResponseBody(body);
    });
    c.on('error', () => {});
    c.on('close', () => resolve(answer ?? 'closed'));
    c.end(bytes);
  });
}

const rssOf = (pid: number) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nq-limits-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

maybe('the CNI server against hostile clients', () => {
  let server: CniServer;
  const logs: string[] = [];
  beforeAll(async () => {
    server = await startCniServer({
      socket: path.join(dir, 'in.sock'),
      requestTimeoutMs: 800,
      log: (level, msg) => logs.push(`${level}: ${msg}`),
    });
  });
  afterAll(() => server?.close());

  test('a declared length over the bound: dropped at once, before any body arrives', async () => {
    const { closed } = hold(server.socket, header(MAX_BODY_BYTES + 1));
    expect(await closed).toBeLessThan(500);
    expect(logs.at(-1)).toBe(
      `warn: dropped a connection: message body of ${MAX_BODY_BYTES + 1} bytes is over the limit of ${MAX_BODY_BYTES}`,
    );
  });

  test('a partial frame times out, however slowly it keeps trickling', async () => {
    const { conn, closed } = hold(server.socket, header(1000));
    const drip = setInterval(() => conn.write(Buffer.alloc(1)), 50);
    const ms = await closed;
    clearInterval(drip);
    expect(ms).toBeGreaterThanOrEqual(700);
    expect(ms).toBeLessThan(2000);
    expect(logs.at(-1)).toMatch(
      /^warn: dropped a connection: no complete request within 800 ms \(\d+ bytes received\)$/,
    );
    expect(server.heldBytes).toBe(0);
  });

  test('16 clients with large partial frames: held bytes stay within the budget, real requests are still served', async () => {
    const big = Buffer.concat([header(MAX_BODY_BYTES), Buffer.alloc(1024 * 1024)]);
    const dropped = server.counts.dropped;
    const clients = Array.from({ length: 16 }, () => hold(server.socket, big));
    let peak = 0;
    const watch = setInterval(() => (peak = Math.max(peak, server.heldBytes)), 5);
    await new Promise((r) => setTimeout(r, 300));
    expect(await exchange(server.socket, version())).toMatchObject({ status: 'done', code: 0 });
    await Promise.all(clients.map((c) => c.closed));
    clearInterval(watch);
    expect(peak).toBeGreaterThan(MAX_BODY_BYTES);
    expect(peak).toBeLessThanOrEqual(MEMORY_BUDGET_BYTES);
    // The budget holds four of the largest requests: the others were dropped on arrival.
    expect(server.counts.dropped - dropped).toBe(16);
    expect(logs.filter((l) => l.includes('no room for a request of')).length).toBe(12);
    expect(server.heldBytes).toBe(0);
  });

  test('whole requests from clients that leave at once stay charged until served: never over the budget', async () => {
    const netns = fs.statSync('/proc/self/ns/net', { bigint: true });
    const mntns = fs.statSync('/proc/self/ns/mnt', { bigint: true });
    // Four MiB of white space: refused as not JSON (code 6) once read, without the kernel.
    const whole = encodeRequest({
      pid: process.pid,
      netns: { dev: netns.dev, ino: netns.ino },
      mntns: { dev: mntns.dev, ino: mntns.ino },
      cniNetns: { errno: -1, dev: 0n, ino: 0n },
      env: { CNI_COMMAND: 'STATUS' },
      stdin: Buffer.alloc(MAX_STDIN_BYTES, 0x20),
    });
    const before = { ...server.counts };
    let peak = 0;
    const watch = setInterval(() => (peak = Math.max(peak, server.heldBytes)), 2);
    const clients = Array.from({ length: 12 }, () => {
      const { conn, closed } = hold(server.socket, whole);
      conn.end();
      conn.on('finish', () => conn.destroy()); // gone before any answer
      return closed;
    });
    await Promise.all(clients);
    const settled = Date.now() + 20_000;
    while (
      (server.heldBytes > 0 ||
        server.counts.failed + server.counts.dropped - before.failed - before.dropped < 12) &&
      Date.now() < settled
    )
      await new Promise((r) => setTimeout(r, 20));
    clearInterval(watch);
    expect(peak).toBeLessThanOrEqual(MEMORY_BUDGET_BYTES);
    expect(server.heldBytes).toBe(0);
    expect(server.counts.failed - before.failed + server.counts.dropped - before.dropped).toBe(12);
  });
});

maybe('netqos cni-server as a process', () => {
  test("16 clients each sending a 4 MiB partial frame: the server's memory grows by the budget at most", async () => {
    const socket = path.join(dir, 'proc.sock');
    const server = await CniServerProcess.start(socket, [], false);
    const clients: ReturnType<typeof hold>[] = [];
    try {
      const before = rssOf(server.pid);
      const chunk = Buffer.alloc(4 * 1024 * 1024, 1);
      for (let i = 0; i < 16; i++) clients.push(hold(socket, Buffer.concat([header(MAX_BODY_BYTES), chunk])));
      await new Promise((r) => setTimeout(r, 1500));
      const during = rssOf(server.pid);
      process.stdout.write(
        `cni-server RSS with 16 hostile clients: ${(before / 2 ** 20).toFixed(1)} -> ${(during / 2 ** 20).toFixed(1)} MiB (budget ${(MEMORY_BUDGET_BYTES / 2 ** 20).toFixed(1)} MiB)\n`,
      );
      expect(during - before).toBeLessThan(MEMORY_BUDGET_BYTES + 24 * 2 ** 20);
      expect(await exchange(socket, version())).toMatchObject({ status: 'done', code: 0 });
    } finally {
      for (const c of clients) c.conn.destroy();
      await server.stop();
    }
  });
});

// The resident CNI server (lib/cni/server.ts) in this process, driven over its socket with the
// framing of lib/cni/protocol.ts: the socket file's life (mode 0600, a stale one replaced,
// anything else refused), answers to what is not a valid request, the identity checks that
// make it answer "fallback", and requests that fail answering CNI errors while the server
// carries on. Nothing here reaches a pod or changes the kernel (VERSION, STATUS, bad input).
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { startCniServer, sameDirectoryFor, type CniServer } from '../../lib/cni/server';
import { runPlugin } from '../../lib/cni/plugin';
import {
  HEADER_BYTES,
  MessageCollector,
  RESPONSE_MAGIC,
  decodeResponseBody,
  encodeRequest,
  type CniRequest,
  type CniResponse,
  type FileId,
} from '../../lib/cni/protocol';

const built = fs.existsSync(path.join(__dirname, '../../build/Release/netqos.node'));
const maybe = built ? describe : describe.skip;

const id = (p: string): FileId => {
  const st = fs.statSync(p, { bigint: true });
  return { dev: st.dev, ino: st.ino };
};
const NONE = { errno: -1, dev: 0n, ino: 0n };
/** A request as the shim in this process's place would send it. */
const request = (
  env: Record<string, string>,
  stdin?: string,
  over: Partial<CniRequest> = {},
): CniRequest => ({
  pid: process.pid,
  netns: id('/proc/self/ns/net'),
  mntns: id('/proc/self/ns/mnt'),
  cniNetns: NONE,
  env,
  stdin: stdin === undefined ? undefined : Buffer.from(stdin),
  ...over,
});

/** Sends raw bytes, returns the decoded answer, or 'closed' when the server hung up without one. */
function exchange(socket: string, bytes: Buffer): Promise<CniResponse | 'closed'> {
  return new Promise((resolve, reject) => {
    const c = net.connect(socket);
    const collector = new MessageCollector(RESPONSE_MAGIC);
    let answer: CniResponse | undefined;
    c.on('data', (d: Buffer) => {
      const body = collector.feed(d);
      if (body) answer = decodeResponseBody(body);
    });
    c.on('error', reject);
    c.on('close', () => resolve(answer ?? 'closed'));
    c.end(bytes);
  });
}

let dir: string;
let socket: string;
let server: CniServer;
const logs: string[] = [];

beforeAll(async () => {
  if (!built) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nq-server-'));
  socket = path.join(dir, 'run', 'sub', 'cni.sock');
  server = await startCniServer({ socket, log: (level, msg) => logs.push(`${level}: ${msg}`) });
});
afterAll(async () => {
  await server?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

maybe('the resident CNI server', () => {
  test('the socket: its directory made, mode 0600, removed by close(); a stale one is replaced; a file or a live server is refused', async () => {
    expect(fs.statSync(socket).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(socket)).isDirectory()).toBe(true);
    await expect(startCniServer({ socket })).rejects.toThrow(
      `another server is already listening on ${socket}`,
    );
    const plain = path.join(dir, 'plain');
    fs.writeFileSync(plain, 'x');
    await expect(startCniServer({ socket: plain })).rejects.toThrow(
      `${plain} exists and is not a socket: remove it or choose another path (--socket)`,
    );
    expect(fs.readFileSync(plain, 'utf8')).toBe('x');
    await expect(startCniServer({ socket: `/${'x'.repeat(120)}` })).rejects.toThrow(
      'a unix socket path is at most 107',
    );
    // A socket file nobody listens on: replaced.
    const stale = path.join(dir, 'stale.sock');
    const first = await startCniServer({ socket: stale });
    fs.renameSync(stale, `${stale}.moved`); // keep the file while the first server goes away
    await first.close();
    fs.renameSync(`${stale}.moved`, stale);
    const second = await startCniServer({ socket: stale });
    expect(await exchange(stale, encodeRequest(request({ CNI_COMMAND: 'VERSION' })))).toMatchObject({
      status: 'done',
      code: 0,
    });
    await second.close();
    expect(fs.existsSync(stale)).toBe(false);
    // A successor's socket at the path (this one's was removed under it) survives close().
    const third = await startCniServer({ socket: stale });
    fs.rmSync(stale);
    const successor = await startCniServer({ socket: stale });
    await third.close();
    expect(await exchange(stale, encodeRequest(request({ CNI_COMMAND: 'VERSION' })))).toMatchObject({
      status: 'done',
      code: 0,
    });
    await successor.close();
    expect(fs.readdirSync(dir).filter((f) => f.includes('stale') || f.startsWith('.netqos'))).toEqual([]);
  });

  test('VERSION and STATUS answered as the Node plugin answers them', async () => {
    const direct = await runPlugin({ CNI_COMMAND: 'VERSION' }, () => '');
    expect(await exchange(socket, encodeRequest(request({ CNI_COMMAND: 'VERSION' })))).toEqual({
      status: 'done',
      ...direct,
    });
    const conf = '{"cniVersion":"1.1.0","name":"n","type":"netqos"}';
    expect(await exchange(socket, encodeRequest(request({ CNI_COMMAND: 'STATUS' }, conf)))).toEqual({
      status: 'done',
      code: 0,
      stdout: '',
      stderr: '',
    });
  });

  test('another protocol version or a malformed body: "fallback"; not netqos\'s protocol at all: the connection is dropped', async () => {
    const v2 = encodeRequest(request({ CNI_COMMAND: 'VERSION' }));
    v2.writeUInt16LE(2, 4);
    expect(await exchange(socket, v2)).toEqual({
      status: 'fallback',
      reason: 'protocol version 2; this server speaks 1',
    });
    const cut = encodeRequest(request({ CNI_COMMAND: 'VERSION' }));
    cut.writeUInt32LE(cut.length - HEADER_BYTES - 4, 8);
    expect(await exchange(socket, cut.subarray(0, cut.length - 4))).toMatchObject({
      status: 'fallback',
      reason: expect.stringMatching(/^malformed request: truncated message/),
    });
    expect(await exchange(socket, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))).toBe('closed');
  });

  test('"fallback" when the client\'s namespace cannot be established here: its pid shows another namespace, CNI_NETNS is another file', async () => {
    const other = request({ CNI_COMMAND: 'VERSION' }, undefined, { netns: { dev: 4n, ino: 1n } });
    expect(await exchange(socket, encodeRequest(other))).toEqual({
      status: 'fallback',
      reason: `/proc/${process.pid}/ns/net is not the client's network namespace (pid ${process.pid} not visible here)`,
    });
    expect(await exchange(socket, encodeRequest({ ...other, pid: 0x7ffffff0 }))).toMatchObject({
      status: 'fallback',
      reason: expect.stringContaining("the client's network namespace: ENOENT"),
    });
    const env = { CNI_COMMAND: 'STATUS', CNI_NETNS: '/proc/self/ns/net' };
    expect(
      await exchange(socket, encodeRequest(request(env, '{}', { cniNetns: { errno: 0, dev: 4n, ino: 1n } }))),
    ).toEqual({
      status: 'fallback',
      reason: 'CNI_NETNS /proc/self/ns/net is not the same file here as for the client',
    });
    expect(
      await exchange(socket, encodeRequest(request(env, '{}', { cniNetns: { errno: 2, dev: 0n, ino: 0n } }))),
    ).toMatchObject({ status: 'fallback' });
    expect(await exchange(socket, encodeRequest(request({ ...env, CNI_NETNS: 'relative' }, '{}')))).toEqual({
      status: 'fallback',
      reason: 'CNI_NETNS relative is not an absolute path',
    });
    // The same file on both sides (this process is both): served.
    const same = await exchange(
      socket,
      encodeRequest(
        request(env, '{"cniVersion":"1.1.0","name":"n"}', {
          cniNetns: { errno: 0, ...id('/proc/self/ns/net') },
        }),
      ),
    );
    expect(same).toMatchObject({ status: 'done', code: 0 });
  });

  test('a request that fails answers a CNI error and the server carries on', async () => {
    // ADD without the standard input the plugin reads: CNI code 5 (I/O failure).
    const env = {
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'c',
      CNI_NETNS: '/nonexistent',
      CNI_IFNAME: 'eth0',
      CNI_PATH: '/x',
    };
    const r = await exchange(
      socket,
      encodeRequest(request(env, undefined, { cniNetns: { errno: 2, dev: 0n, ino: 0n } })),
    );
    expect(r).toMatchObject({ status: 'done', code: 1 });
    expect(JSON.parse((r as { stdout: string }).stdout)).toMatchObject({
      code: 5,
      msg: 'error reading from stdin',
      details: 'the client sent no standard input',
    });
    expect(await exchange(socket, encodeRequest(request({ CNI_COMMAND: 'VERSION' })))).toMatchObject({
      status: 'done',
      code: 0,
    });
    expect(server.counts.failed).toBeGreaterThanOrEqual(1);
  });

  test('requests sent together are answered, each its own', async () => {
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        exchange(
          socket,
          encodeRequest(request(i % 2 ? { CNI_COMMAND: 'VERSION' } : { CNI_COMMAND: 'FROB' }, '{}')),
        ),
      ),
    );
    answers.forEach((a, i) => expect(a).toMatchObject({ status: 'done', code: i % 2 ? 0 : 1 }));
    expect(JSON.parse((answers[0] as { stdout: string }).stdout)).toMatchObject({
      code: 4,
      msg: 'unknown CNI_COMMAND: FROB',
    });
  });
});

describe('sameDirectoryFor: a directory as another process sees it', () => {
  test("this process sees its own directories as they are, also ones not made yet, and a file's child (that no one can make)", () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'nq-same-'));
    try {
      expect(sameDirectoryFor(d, process.pid)).toBe(true);
      expect(sameDirectoryFor(path.join(d, 'not', 'yet'), process.pid)).toBe(true);
      fs.writeFileSync(path.join(d, 'file'), '');
      expect(sameDirectoryFor(path.join(d, 'file', 'child'), process.pid)).toBe(true);
      // A symbolic link on the client's side is refused (/proc/<pid>/root would resolve it here).
      fs.symlinkSync(d, `${d}-link`);
      expect(sameDirectoryFor(path.join(`${d}-link`, 'x'), process.pid)).toBe(false);
      expect(sameDirectoryFor(d, 0x7ffffff0)).toBe(false);
    } finally {
      fs.rmSync(`${d}-link`, { force: true });
      fs.rmSync(d, { recursive: true, force: true });
    }
  });
});

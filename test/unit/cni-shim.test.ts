// The compiled native plugin (build/Release/netqos-cni, installed by cni-install with its
// trailer) without a kernel: the request it sends as lib/cni/protocol.ts decodes it, the answer
// it prints byte for byte with its exit code, and every way it falls back to the Node plugin
// (here a stand-in script that reports what it was given) or refuses to: no socket, a refused
// connection, a server that dies before answering, a garbled answer, a "fallback" answer; a
// server that never answers gets CNI code 11 and no second run.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { decodeConfig, versionOf, type RawConfig } from '../../lib/cni/config';
import { installPlugin, readTrailer, shimBinary } from '../../lib/cni/install';
import {
  MessageCollector,
  REQUEST_MAGIC,
  decodeRequestBody,
  encodeResponse,
  type CniRequest,
  type CniResponse,
} from '../../lib/cni/protocol';

const built =
  fs.existsSync(shimBinary()) && fs.existsSync(path.join(__dirname, '../../dist/lib/cni/main.js'));
const maybe = built ? describe : describe.skip;

let dir: string;
let socket: string;
let shim: string;
let standIn: string;

/** The fallback's stand-in: prints what it received as JSON and exits 7. */
const STAND_IN = `
const fs = require('fs');
const stdin = fs.readFileSync(0);
fs.writeSync(1, JSON.stringify({ fallback: true, stdin: stdin.toString('base64'), argv: process.argv.slice(2),
  nodeOptions: process.env.NODE_OPTIONS ?? null, extraCerts: process.env.NODE_EXTRA_CA_CERTS ?? null, command: process.env.CNI_COMMAND ?? null }));
process.exit(7);
`;

beforeAll(() => {
  if (!built) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nq-shim-'));
  socket = path.join(dir, 'cni.sock');
  standIn = path.join(dir, 'stand-in.js');
  fs.writeFileSync(standIn, STAND_IN);
  shim = installPlugin({ dir: path.join(dir, 'bin'), socket, bundle: false }).executable;
  // The stand-in takes main.js's place in the trailer: same shim bytes, another fallback.
  const bytes = fs.readFileSync(shim);
  const t = readTrailer(shim)!;
  const { encodeTrailer } = require('../../lib/cni/install') as typeof import('../../lib/cni/install');
  const bare = bytes.subarray(0, bytes.length - encodeTrailer(t).length);
  fs.writeFileSync(shim, Buffer.concat([bare, encodeTrailer({ ...t, main: standIn })]), { mode: 0o755 });
});
afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: Buffer;
  stderr: Buffer;
  pid: number;
}

function runShim(
  env: Record<string, string>,
  stdin: Buffer | string,
  exe = shim,
  args: string[] = [],
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(exe, args, {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d) => out.push(d));
    child.stderr.on('data', (d) => err.push(d));
    child.on('error', reject);
    child.stdin.on('error', () => {}); // a shim that does not read stdin (VERSION)
    child.on('close', (code) =>
      resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err), pid: child.pid! }),
    );
    child.stdin.end(stdin);
  });
}

type Behaviour = (req: CniRequest, conn: net.Socket) => CniResponse | 'close' | 'garbage' | 'hang';

/** A stand-in server on `socket`: decodes each request and answers as told. */
async function withServer<T>(behave: Behaviour, fn: (seen: CniRequest[]) => Promise<T>): Promise<T> {
  const seen: CniRequest[] = [];
  const conns = new Set<net.Socket>();
  const server = net.createServer((conn) => {
    conns.add(conn);
    const c = new MessageCollector(REQUEST_MAGIC);
    conn.on('data', (chunk: Buffer) => {
      const body = c.feed(chunk);
      if (!body) return;
      const req = decodeRequestBody(body);
      seen.push(req);
      const what = behave(req, conn);
      if (what === 'close') conn.destroy();
      else if (what === 'garbage') conn.end(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n'));
      else if (what !== 'hang') conn.end(encodeResponse(what));
    });
  });
  await new Promise<void>((r) => server.listen(socket, r));
  try {
    return await fn(seen);
  } finally {
    for (const c of conns) c.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

const ENV = {
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'c1',
  CNI_NETNS: '/nonexistent/netns',
  CNI_IFNAME: 'eth0',
  CNI_PATH: '/opt/cni/bin',
  CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=p',
};
const CONF = '{"cniVersion":"0.4.0","name":"n","type":"netqos"}';
// Every byte value, a NUL and invalid UTF-8 included: stdin is passed as bytes.
const BINARY = Buffer.concat([
  Buffer.from(CONF),
  Buffer.from([0, 255, 254, 10]),
  Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
]);
const fileId = (p: string) => {
  const st = fs.statSync(p, { bigint: true });
  return { dev: st.dev, ino: st.ino };
};

maybe('the native CNI plugin (shim)', () => {
  test('the request: its pid and namespaces, only the CNI_* variables, stdin byte for byte; the answer printed exactly with its exit code', async () => {
    const answer: CniResponse = {
      status: 'done',
      code: 3,
      stdout: '{"cniVersion":"0.4.0","code":7,"msg":"ä"}\n',
      stderr: 'netqos: warning: x\n',
    };
    await withServer(
      () => answer,
      async (seen) => {
        const r = await runShim({ ...ENV, OTHER: 'not sent', NODE_OPTIONS: '--no' }, BINARY);
        expect({ code: r.code, stdout: r.stdout.toString(), stderr: r.stderr.toString() }).toEqual({
          code: 3,
          stdout: answer.stdout,
          stderr: answer.stderr,
        });
        expect(seen).toHaveLength(1);
        const req = seen[0];
        expect(req.pid).toBe(r.pid);
        expect(req.netns).toEqual(fileId('/proc/self/ns/net'));
        expect(req.mntns).toEqual(fileId('/proc/self/ns/mnt'));
        expect(req.cniNetns).toEqual({ errno: 2, dev: 0n, ino: 0n }); // ENOENT
        expect(req.env).toEqual(ENV);
        expect(req.stdin).toEqual(BINARY);
      },
    );
  });

  test('CNI_NETNS identity as the shim sees it; VERSION reads no stdin; an unset CNI_NETNS is -1', async () => {
    await withServer(
      () => ({ status: 'done', code: 0, stdout: 'v\n', stderr: '' }),
      async (seen) => {
        expect((await runShim({ ...ENV, CNI_NETNS: '/proc/self/ns/net' }, CONF)).code).toBe(0);
        expect(seen[0].cniNetns).toEqual({ errno: 0, ...fileId('/proc/self/ns/net') });
        const v = await runShim({ CNI_COMMAND: 'VERSION' }, CONF);
        expect(v.stdout.toString()).toBe('v\n');
        expect(seen[1].stdin).toBeUndefined();
        expect(seen[1].cniNetns).toEqual({ errno: -1, dev: 0n, ino: 0n });
      },
    );
  });

  test('a large stdin (2 MiB) reaches the server and the fallback intact', async () => {
    const big = Buffer.alloc(2 * 1024 * 1024, 'x');
    await withServer(
      () => ({ status: 'fallback', reason: 'test' }),
      async (seen) => {
        const r = await runShim(ENV, big);
        expect(seen[0].stdin!.equals(big)).toBe(true);
        expect(Buffer.from(JSON.parse(r.stdout.toString()).stdin, 'base64').equals(big)).toBe(true);
      },
    );
  });

  const fallsBack = (r: Run, stdin: Buffer | string) => {
    expect(r.code).toBe(7);
    const got = JSON.parse(r.stdout.toString());
    expect(got).toEqual({
      fallback: true,
      stdin: Buffer.from(stdin).toString('base64'),
      argv: ['extra', 'args'],
      nodeOptions: null,
      extraCerts: null,
      command: 'ADD',
    });
    expect(r.stderr.toString()).toBe('');
  };
  const withNode = {
    ...ENV,
    NODE_OPTIONS: '--max-old-space-size=64',
    NODE_EXTRA_CA_CERTS: '/etc/ssl/none.pem',
  };

  test('no socket: the fallback runs with stdin intact, its arguments, without NODE_OPTIONS and NODE_EXTRA_CA_CERTS', async () => {
    fallsBack(await runShim(withNode, BINARY, shim, ['extra', 'args']), BINARY);
  });

  test('a socket nobody listens on (connection refused): the fallback', async () => {
    const stale = path.join(dir, 'stale.sock');
    // A socket file whose server is gone, as a crashed server leaves it.
    const r = await new Promise<number | null>((resolve) => {
      const p = spawn('python3', [
        '-c',
        `import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])`,
        stale,
      ]);
      p.on('close', resolve);
    });
    expect(r).toBe(0);
    fallsBack(
      await runShim({ ...withNode, NETQOS_CNI_SOCKET: stale }, BINARY, shim, ['extra', 'args']),
      BINARY,
    );
  });

  test.each([
    ['the server closes the connection without answering (it died mid-way)', 'close' as const],
    ["the answer is not netqos's protocol", 'garbage' as const],
    ['the server answers "fallback"', { status: 'fallback', reason: 'pid not visible' } as CniResponse],
  ])('%s: the fallback', async (_name, what) => {
    await withServer(
      () => what,
      async (seen) => {
        fallsBack(await runShim(withNode, BINARY, shim, ['extra', 'args']), BINARY);
        expect(seen).toHaveLength(1);
      },
    );
  });

  test('NETQOS_CNI_SOCKET overrides the socket cni-install recorded', async () => {
    const other = path.join(dir, 'other.sock');
    const server = net.createServer((conn) => {
      const c = new MessageCollector(REQUEST_MAGIC);
      conn.on(
        'data',
        (d: Buffer) =>
          c.feed(d) && conn.end(encodeResponse({ status: 'done', code: 0, stdout: 'other\n', stderr: '' })),
      );
    });
    await new Promise<void>((r) => server.listen(other, r));
    try {
      expect((await runShim({ ...ENV, NETQOS_CNI_SOCKET: other }, CONF)).stdout.toString()).toBe('other\n');
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  test("a server that never answers: CNI code 11 (try again later) in the configuration's version, exit 1, and no second run", async () => {
    await withServer(
      () => 'hang',
      async (seen) => {
        const r = await runShim({ ...ENV, NETQOS_CNI_TIMEOUT_MS: '300' }, CONF);
        expect(r.code).toBe(1);
        expect(JSON.parse(r.stdout.toString())).toEqual({
          cniVersion: '0.4.0',
          code: 11,
          msg: 'the netqos CNI server did not answer in time',
          details: `no answer from the netqos CNI server at ${socket} within 300 ms (the request may still be in progress)`,
        });
        expect(seen).toHaveLength(1);
      },
    );
  });

  test('installed with --no-fallback and no server: code 11 naming the socket; without a trailer: told to run cni-install', async () => {
    const none = installPlugin({
      dir: path.join(dir, 'nofb'),
      socket,
      bundle: false,
      fallback: false,
    }).executable;
    expect(readTrailer(none)).toEqual({ node: '', main: '', socket });
    const r = await runShim(ENV, CONF, none);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout.toString())).toMatchObject({
      cniVersion: '0.4.0',
      code: 11,
      msg: 'the netqos CNI server is not available',
    });
    expect(JSON.parse(r.stdout.toString()).details).toBe(
      `connect ${socket}: No such file or directory; this netqos plugin was installed without a fallback (cni-install --no-fallback)`,
    );
    const bare = await runShim({ ...ENV, NETQOS_CNI_SOCKET: socket }, CONF, shimBinary());
    expect(JSON.parse(bare.stdout.toString()).details).toContain(
      'no install trailer: run `netqos cni-install`',
    );
  });

  test("the error object's cniVersion is the configuration's as the Node plugin reads it (Go's key matching)", async () => {
    const none = installPlugin({
      dir: path.join(dir, 'nofb2'),
      socket,
      bundle: false,
      fallback: false,
    }).executable;
    const cases = [
      '{"CNIVERSION":"0.4.0","name":"n"}',
      '{"prevResult":{"cniVersion":"1.0.0"},"cniVersion":"0.3.1"}',
      '{"cniVersion":"0.4.0","CniVersion":"1.0.0"}',
      '{"cniVer\\u017fion":"0.3.0"}',
      '{"cniVer\u017fion":"0.3.0"}',
      '{"cniVersion":"0.4.0","cniversion":null}',
      '{"a":"\\"cniVersion\\":\\"9.9.9\\"","b":["cniVersion",{"cniVersion":"9.9.8"}],"cniVersion":"0.3.1"}',
      '{"cniVersion":1}',
      '{"cniVersion":"not a version"}',
      '{"cniVersion":"0.4.0"',
    ];
    for (const conf of cases) {
      const r = await runShim(ENV, conf, none);
      let node: RawConfig | undefined;
      try {
        node = decodeConfig(conf);
      } catch {
        node = undefined;
      }
      expect([conf, JSON.parse(r.stdout.toString()).cniVersion]).toEqual([conf, versionOf(node) ?? '1.1.0']);
    }
  });

  test('the fallback is the real Node plugin by default: VERSION and a decoding error as it prints them', async () => {
    const real = installPlugin({ dir: path.join(dir, 'real'), socket, bundle: false }).executable;
    expect(readTrailer(real)).toEqual({
      node: process.execPath,
      main: path.join(__dirname, '../../dist/lib/cni/main.js'),
      socket,
    });
    const v = await runShim({ CNI_COMMAND: 'VERSION' }, '', real);
    expect({ code: v.code, stdout: v.stdout.toString() }).toEqual({
      code: 0,
      stdout: '{"cniVersion":"1.1.0","supportedVersions":["0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}\n',
    });
    const bad = await runShim(ENV, '{"cniVersion":"1.0.0",', real);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout.toString())).toMatchObject({
      cniVersion: '1.1.0',
      code: 6,
      msg: 'error decoding the network configuration',
    });
  });
});

/**
 * The resident CNI server: the Node half of the plugin, kept running so that a pod's ADD costs
 * the exec of a small native program (lib/cni/shim/netqos-cni.c) and one round trip on a unix
 * socket instead of a Node start. Each request is one CNI invocation, run in-process by the same
 * runPlugin the Node plugin runs (nothing is spawned), one at a time.
 *
 * The invocation runs as if in the client's place: its network namespace is the node's side
 * (the client's own when it differs from this process's, opened through /proc/<pid>/ns/net and
 * checked against the identity the client sent), CNI_NETNS must name the same namespace here as
 * there, and when the client sees another mount namespace, the records directory must be the
 * same directory in both. When any of that cannot be established the answer is "fallback": the
 * client then runs the Node plugin itself, so the server never acts on the wrong namespace or
 * files. Nothing is cached between requests (a renamed interface must never receive another
 * pod's QoS): every request reads the kernel afresh.
 *
 * Served by `netqos cni-server [--socket PATH]` and `netqos agent --cni-socket PATH`.
 */
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { dataDirOf, decodeConfig, versionOf } from './config';
import { internalError } from './errors';
import { openNetlink, type NetlinkHandle } from '../handle';
import { runPlugin, preload } from './plugin';
import {
  DEFAULT_SOCKET,
  HEADER_BYTES,
  MAX_BODY_BYTES,
  MessageCollector,
  PROTOCOL_VERSION,
  REQUEST_MAGIC,
  decodeRequestBody,
  encodeResponse,
  type CniRequest,
  type CniResponse,
  type FileId,
} from './protocol';
import { LATEST_VERSION } from './version';

export { DEFAULT_SOCKET };
/**
 * A client that has not sent its whole request this long after connecting is dropped: the shim
 * sends all of it at once, so one that trickles is stuck or hostile.
 */
export const REQUEST_TIMEOUT_MS = 10_000;
/**
 * Request bytes held for all clients together: a request's declared length is reserved from
 * this when its header arrives, and a connection that does not fit is dropped at once (its
 * client falls back to the Node plugin). Room for four requests of the largest size and a
 * mebibyte beside them for real ones (kilobytes each).
 */
export const MEMORY_BUDGET_BYTES = 4 * (MAX_BODY_BYTES + HEADER_BYTES) + 1024 * 1024;
/** Connections beyond this are closed on arrival (their clients fall back). */
export const MAX_CONNECTIONS = 256;
/** sockaddr_un.sun_path holds 108 bytes with the terminating NUL. */
const MAX_SOCKET_PATH = 107;

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type ServerLog = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => void;

export interface CniServerOptions {
  /** The unix socket (default /run/netqos/cni.sock); its directory is created when missing. */
  socket?: string;
  log?: ServerLog;
  /** Tests: REQUEST_TIMEOUT_MS and MEMORY_BUDGET_BYTES otherwise. */
  requestTimeoutMs?: number;
  memoryBudget?: number;
}

export interface CniServer {
  readonly socket: string;
  /** Requests answered so far, by outcome, and connections dropped (bad, too slow, no room). */
  readonly counts: { done: number; fallback: number; failed: number; dropped: number };
  /** Request bytes held or reserved for clients now (at most the memory budget). */
  readonly heldBytes: number;
  /** Stops accepting, answers queued requests "fallback", waits for the one running, removes the socket. */
  close(): Promise<void>;
}

const sameFile = (a: FileId, b: FileId) => a.dev === b.dev && a.ino === b.ino;

/** stat's identity, or undefined when the file cannot be reached (missing, no access, ...). */
function statId(p: string): FileId | undefined {
  try {
    const st = fs.statSync(p, { bigint: true });
    return { dev: st.dev, ino: st.ino };
  } catch {
    return undefined;
  }
}

/**
 * Whether `dir` is (or, created, would be) the same directory for process `pid` as for this
 * one: the deepest part of it that exists for the client must be the same file here, and what
 * is missing there must be missing here too. Components are read through /proc/<pid>/root one
 * by one and a symbolic link there is refused, because /proc/<pid>/root resolves an absolute
 * link against this process's root, not the client's.
 */
export function sameDirectoryFor(dir: string, pid: number): boolean {
  const root = `/proc/${pid}/root`;
  const parts = path.resolve(dir).split('/').filter(Boolean);
  let deepest = '/';
  for (let i = 0; i < parts.length; i++) {
    const prefix = `/${parts.slice(0, i + 1).join('/')}`;
    let theirs: fs.BigIntStats;
    try {
      theirs = fs.lstatSync(root + prefix, { bigint: true });
    } catch (e) {
      // Missing (or below a file) there: it must be missing here too.
      const code = (e as NodeJS.ErrnoException).code;
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || statId(prefix)) return false;
      break;
    }
    if (theirs.isSymbolicLink()) return false;
    deepest = prefix;
  }
  const mine = statId(deepest);
  const theirs = statId(root + deepest);
  return !!mine && !!theirs && sameFile(mine, theirs);
}

// This process's own namespaces: fixed for its life (the engine enters others only in threads
// of its own), so read once.
let self: { net?: FileId; mnt?: FileId } | undefined;
const ownNamespaces = () => (self ??= { net: statId('/proc/self/ns/net'), mnt: statId('/proc/self/ns/mnt') });

/**
 * Where the request runs (its host namespace here: undefined for this process's), or why it
 * cannot run here (see the top). A descriptor it opens goes into `fds` for the caller to close.
 */
function place(req: CniRequest, fds: number[]): { hostNetns?: string } | { fallback: string } {
  const env = req.env;
  const own = ownNamespaces();
  let hostNetns: string | undefined;
  if (!own.net || !sameFile(own.net, req.netns)) {
    if (!req.netns.ino) return { fallback: 'the client could not read its network namespace' };
    const nsPath = `/proc/${req.pid}/ns/net`;
    let fd: number;
    try {
      fd = fs.openSync(nsPath, 'r');
    } catch (e) {
      return { fallback: `the client's network namespace: ${(e as Error).message}` };
    }
    fds.push(fd);
    // The descriptor is what the handles open (/proc/self/fd/N), so the namespace checked is
    // the one used even if the pid were reused meanwhile.
    if (!sameFile(fs.fstatSync(fd, { bigint: true }), req.netns)) {
      return {
        fallback: `${nsPath} is not the client's network namespace (pid ${req.pid} not visible here)`,
      };
    }
    hostNetns = `/proc/self/fd/${fd}`;
  }
  const netns = env.CNI_NETNS;
  if (netns) {
    if (!netns.startsWith('/')) return { fallback: `CNI_NETNS ${netns} is not an absolute path` };
    const mine = statId(netns);
    const c = req.cniNetns;
    if (c.errno === 0 ? !mine || !sameFile(mine, c) : c.errno < 0 || mine) {
      return { fallback: `CNI_NETNS ${netns} is not the same file here as for the client` };
    }
  }
  const command = env.CNI_COMMAND;
  if (
    (command === 'ADD' || command === 'DEL' || command === 'GC') &&
    req.stdin &&
    (!own.mnt || !req.mntns.ino || !sameFile(own.mnt, req.mntns))
  ) {
    let dataDir: string | undefined;
    try {
      dataDir = dataDirOf(decodeConfig(req.stdin.toString('utf8')));
    } catch {
      dataDir = undefined; // the plugin refuses this configuration before it touches any file
    }
    if (dataDir && !sameDirectoryFor(dataDir, req.pid)) {
      return {
        fallback: `the client sees another mount namespace, and dataDir ${dataDir} is not the same directory there`,
      };
    }
  }
  return { hostNetns };
}

/**
 * One request, answered; never throws. `own`: a handle on this process's namespace to use when
 * the client shares it (it holds no state: every request reads the kernel afresh).
 */
export async function serveRequest(req: CniRequest, own?: NetlinkHandle): Promise<CniResponse> {
  const fds: number[] = [];
  try {
    const where = place(req, fds);
    if ('fallback' in where) return { status: 'fallback', reason: where.fallback };
    const stdin = req.stdin;
    const out = await runPlugin(
      req.env,
      () => {
        if (!stdin) throw new Error('the client sent no standard input');
        return stdin.toString('utf8');
      },
      where.hostNetns ? { hostNetns: where.hostNetns } : { host: own },
    );
    return { status: 'done', ...out };
  } catch (e) {
    // runPlugin answers every failure with a CNI error; this is the server's own fault.
    let version = LATEST_VERSION;
    try {
      version = versionOf(decodeConfig(req.stdin?.toString('utf8') ?? '')) ?? version;
    } catch {
      /* keep the latest */
    }
    const err = internalError(e, 'internal error in the netqos CNI server');
    return { status: 'done', code: 1, stdout: `${JSON.stringify(err.toJSON(version))}\n`, stderr: '' };
  } finally {
    for (const fd of fds) fs.closeSync(fd);
  }
}

/** Checks that `socket` is free or a socket file nobody listens on; refuses anything else. */
async function checkReplaceable(socket: string): Promise<void> {
  const st = fs.lstatSync(socket, { throwIfNoEntry: false });
  if (!st) return;
  if (!st.isSocket())
    throw new Error(`${socket} exists and is not a socket: remove it or choose another path (--socket)`);
  const live = await new Promise<boolean>((resolve) => {
    const c = net.connect(socket);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (live) throw new Error(`another server is already listening on ${socket}`);
}

let serverSeq = 0;

export async function startCniServer(options: CniServerOptions = {}): Promise<CniServer> {
  const log: ServerLog = options.log ?? (() => {});
  const socket = path.resolve(options.socket ?? DEFAULT_SOCKET);
  if (Buffer.byteLength(socket) > MAX_SOCKET_PATH)
    throw new Error(
      `socket path ${socket} is ${Buffer.byteLength(socket)} bytes; a unix socket path is at most ${MAX_SOCKET_PATH}`,
    );
  // Bound under a private name, then renamed into place: clients never see it before its mode
  // is set, a stale socket is replaced in one step, and the name libuv unlinks on close is the
  // private one (close() removes the real one only while it is still this server's).
  const bound = path.join(path.dirname(socket), `.netqos-cni.${process.pid}.${++serverSeq}`);
  if (Buffer.byteLength(bound) > MAX_SOCKET_PATH)
    throw new Error(
      `socket directory ${path.dirname(socket)} is too long for a unix socket path (at most ${MAX_SOCKET_PATH - 30} bytes)`,
    );
  fs.mkdirSync(path.dirname(socket), { recursive: true, mode: 0o755 });
  await checkReplaceable(socket);
  fs.rmSync(bound, { force: true });
  // The engine and the policy load now, not on the first pod. The handle on this namespace
  // stays open: opening one costs more than a request's own kernel work.
  preload();
  const own = openNetlink();

  const counts = { done: 0, fallback: 0, failed: 0, dropped: 0 };
  const timeoutMs = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
  const budget = Math.max(options.memoryBudget ?? MEMORY_BUDGET_BYTES, HEADER_BYTES);
  let held = 0;
  let closing = false;
  // One request at a time: two ADDs never interleave their reads and writes of the kernel.
  let tail: Promise<unknown> = Promise.resolve();
  const enqueue = (req: CniRequest): Promise<CniResponse> => {
    const job = tail.then(async (): Promise<CniResponse> => {
      if (closing) return { status: 'fallback', reason: 'the server is shutting down' };
      const t0 = process.hrtime.bigint();
      const resp = await serveRequest(req, own);
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      const fields = {
        command: req.env.CNI_COMMAND,
        containerID: req.env.CNI_CONTAINERID,
        pid: req.pid,
        ms: +ms.toFixed(3),
      };
      if (resp.status === 'fallback') log('warn', `fallback: ${resp.reason}`, fields);
      else log('debug', 'served', { ...fields, code: resp.code });
      return resp;
    });
    tail = job;
    return job;
  };
  const sockets = new Set<net.Socket>();

  const server = net.createServer((conn) => {
    sockets.add(conn);
    const collector = new MessageCollector(REQUEST_MAGIC);
    // What this connection counts against the budget: the bytes received until the header is
    // in, then its whole declared length; released once it is answered, dropped, or gone before
    // its request was whole.
    let charged = 0;
    const charge = (bytes: number) => {
      held += bytes - charged;
      charged = bytes;
    };
    let received = false;
    const drop = (why: string) => {
      received = true;
      counts.dropped++;
      charge(0);
      log('warn', `dropped a connection: ${why}`);
      conn.destroy();
    };
    const deadline = setTimeout(
      () => drop(`no complete request within ${timeoutMs} ms (${collector.have} bytes received)`),
      timeoutMs,
    );
    conn.on('close', () => {
      clearTimeout(deadline);
      if (!received) charge(0); // a whole request stays charged until it is served
      sockets.delete(conn);
    });
    conn.on('error', () => {}); // the client went away: nothing to answer
    const reply = (resp: CniResponse) => {
      charge(0);
      counts[resp.status === 'fallback' ? 'fallback' : resp.code === 0 ? 'done' : 'failed']++;
      if (!conn.destroyed) conn.end(encodeResponse(resp));
    };
    conn.on('data', (chunk: Buffer) => {
      if (received) return;
      const hadHeader = !!collector.header;
      if (!hadHeader && held - charged + Math.min(collector.have + chunk.length, HEADER_BYTES) > budget) {
        drop('no room for another request');
        return;
      }
      let body: Buffer | undefined;
      try {
        body = collector.feed(chunk);
      } catch (e) {
        drop((e as Error).message);
        return;
      }
      if (collector.header) {
        const want = HEADER_BYTES + collector.header.length;
        if (!hadHeader && held - charged + want > budget) {
          drop(`no room for a request of ${collector.header.length} bytes now`);
          return;
        }
        charge(want);
      } else {
        charge(collector.have);
      }
      if (!body) return;
      // Still charged while it waits its turn: queued requests count against the budget too.
      received = true;
      clearTimeout(deadline);
      if (collector.header!.version !== PROTOCOL_VERSION) {
        reply({
          status: 'fallback',
          reason: `protocol version ${collector.header!.version}; this server speaks ${PROTOCOL_VERSION}`,
        });
        return;
      }
      let req: CniRequest;
      try {
        req = decodeRequestBody(body);
      } catch (e) {
        reply({ status: 'fallback', reason: `malformed request: ${(e as Error).message}` });
        return;
      }
      void enqueue(req).then(reply);
    });
  });
  server.maxConnections = MAX_CONNECTIONS;

  // Owner-only from the moment it exists (bind creates it with the umask's mode).
  const umask = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(bound, () => {
        server.off('error', reject);
        resolve();
      });
    });
    fs.chmodSync(bound, 0o600);
    fs.renameSync(bound, socket);
  } catch (e) {
    server.close();
    own.close();
    throw e;
  } finally {
    process.umask(umask);
  }
  const identity = statId(socket);
  log('info', `listening on ${socket}`, { socket });

  let closed: Promise<void> | undefined;
  return {
    socket,
    counts,
    get heldBytes() {
      return held;
    },
    close() {
      closed ??= (async () => {
        closing = true;
        // Remove the file while it is still ours, so a successor's socket is never removed.
        const now = statId(socket);
        if (now && identity && sameFile(now, identity)) fs.rmSync(socket, { force: true });
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        await tail.catch(() => {});
        // Answers are written; connections still open belong to clients that never sent a request.
        for (const s of sockets) if (!s.writableLength) s.destroy();
        await stopped;
        own.close();
        log('info', 'stopped', { ...counts });
      })();
      return closed;
    },
  };
}

/** `netqos cni-server`: serves until SIGTERM or SIGINT. Resolves with the exit code. */
export async function runCniServer(
  options: { socket?: string; verbose?: boolean },
  stderr: (s: string) => void,
): Promise<number> {
  const log: ServerLog = (level, msg, fields) => {
    if (level === 'debug' && !options.verbose) return;
    const extra = fields && Object.keys(fields).length ? ` ${JSON.stringify(fields)}` : '';
    stderr(`netqos cni-server: ${level === 'info' || level === 'debug' ? '' : `${level}: `}${msg}${extra}\n`);
  };
  let server: CniServer;
  try {
    server = await startCniServer({ socket: options.socket, log });
  } catch (e) {
    stderr(`error: ${(e as Error).message}\n`);
    return 1;
  }
  await new Promise<void>((resolve) => {
    const on = () => {
      process.off('SIGTERM', on);
      process.off('SIGINT', on);
      resolve();
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
  });
  await server.close();
  return 0;
}

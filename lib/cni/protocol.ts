/**
 * The wire format between the native plugin executable (lib/cni/shim/netqos-cni.c) and the
 * resident CNI server (server.ts), one request and one response per connection on a unix
 * stream socket. Both sides live on one machine; integers are little-endian. Pure: no I/O.
 *
 * Every message: a 12-byte header, then the body.
 *   magic   4 bytes   "NQCR" (request) or "NQCA" (answer)
 *   version u16       1
 *   flags   u16       0
 *   length  u32       bytes of body that follow
 *
 * Request body:
 *   pid u32                                  the plugin process (blocked until the answer)
 *   netnsDev u64, netnsIno u64               its /proc/self/ns/net (the runtime's, "host" side)
 *   mntnsDev u64, mntnsIno u64               its /proc/self/ns/mnt (0, 0 when unreadable)
 *   cniNetnsErrno i32, dev u64, ino u64      stat(CNI_NETNS) in its view: 0 and the file's
 *                                            identity, an errno, or -1 when CNI_NETNS is unset
 *   envCount u32, then envCount x (u32 length, "KEY=VALUE")   its CNI_* variables
 *   stdinPresent u32 (0 or 1), stdinLength u32, stdin bytes  (not read for VERSION / no command)
 *
 * Response body:
 *   status u32                               0: done (below); 1: fallback (run the Node plugin)
 *   exitCode i32
 *   stdoutLength u32, stdout bytes
 *   stderrLength u32, stderr bytes           for a fallback: the reason (the shim ignores it)
 *
 * The C side must change with this file: tests (test/kernel/cni-shim.test.ts) drive the
 * compiled shim against this decoder.
 */

import { NetqosError } from '../errors';
import { MAX_ENV_BYTES, MAX_STDIN_BYTES } from './limits';

/** Where the shim looks for the server unless cni-install or NETQOS_CNI_SOCKET says otherwise. */
export const DEFAULT_SOCKET = '/run/netqos/cni.sock';
export const REQUEST_MAGIC = 'NQCR';
export const RESPONSE_MAGIC = 'NQCA';
export const PROTOCOL_VERSION = 1;
export const HEADER_BYTES = 12;
/**
 * Larger request bodies are refused as soon as the header says so: a configuration within the
 * plugin's bound, the CNI_* variables within theirs, the fixed fields.
 */
export const MAX_BODY_BYTES = MAX_STDIN_BYTES + MAX_ENV_BYTES + 4096;
export const MAX_ENV_ENTRIES = 64;

export const STATUS_DONE = 0;
export const STATUS_FALLBACK = 1;

/** A file's identity: stat's st_dev and st_ino. */
export interface FileId {
  dev: bigint;
  ino: bigint;
}

export interface CniRequest {
  pid: number;
  netns: FileId;
  mntns: FileId;
  /** stat(CNI_NETNS) as the client saw it: errno 0 with its identity, an errno, or -1 (unset). */
  cniNetns: { errno: number } & FileId;
  env: Record<string, string>;
  /** Undefined when the client did not read its standard input. */
  stdin?: Buffer;
}

export type CniResponse =
  { status: 'done'; code: number; stdout: string; stderr: string } | { status: 'fallback'; reason: string };

export class ProtocolError extends NetqosError {
  readonly code = 'ERR_NETQOS_CNI_PROTOCOL';

  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/** Appends little-endian fields to a list of chunks. */
class Writer {
  readonly parts: Buffer[] = [];
  u32(v: number): this {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32LE(v >>> 0);
    this.parts.push(b);
    return this;
  }
  i32(v: number): this {
    const b = Buffer.allocUnsafe(4);
    b.writeInt32LE(v);
    this.parts.push(b);
    return this;
  }
  u64(v: bigint): this {
    const b = Buffer.allocUnsafe(8);
    b.writeBigUInt64LE(v);
    this.parts.push(b);
    return this;
  }
  bytes(v: Buffer): this {
    this.u32(v.length);
    this.parts.push(v);
    return this;
  }
  message(magic: string): Buffer {
    const body = Buffer.concat(this.parts);
    const head = Buffer.alloc(HEADER_BYTES);
    head.write(magic, 0, 'latin1');
    head.writeUInt16LE(PROTOCOL_VERSION, 4);
    head.writeUInt32LE(body.length, 8);
    return Buffer.concat([head, body]);
  }
}

/** Reads little-endian fields, each bounds-checked, naming what was cut short. */
class Reader {
  private at = 0;
  constructor(private readonly b: Buffer) {}
  private need(n: number, what: string): void {
    if (this.at + n > this.b.length)
      throw new ProtocolError(
        `truncated message: ${what} needs ${n} bytes at offset ${this.at}, body is ${this.b.length}`,
      );
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.b.readUInt32LE(this.at);
    this.at += 4;
    return v;
  }
  i32(what: string): number {
    this.need(4, what);
    const v = this.b.readInt32LE(this.at);
    this.at += 4;
    return v;
  }
  u64(what: string): bigint {
    this.need(8, what);
    const v = this.b.readBigUInt64LE(this.at);
    this.at += 8;
    return v;
  }
  bytes(what: string): Buffer {
    const n = this.u32(`${what} length`);
    this.need(n, what);
    const v = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }
  end(): void {
    if (this.at !== this.b.length)
      throw new ProtocolError(`${this.b.length - this.at} unexpected bytes after the message`);
  }
}

export interface Header {
  magic: string;
  version: number;
  length: number;
}

/** The header at the start of `buf` (which holds at least HEADER_BYTES). */
export function readHeader(buf: Buffer, expectMagic: string): Header {
  const magic = buf.toString('latin1', 0, 4);
  if (magic !== expectMagic)
    throw new ProtocolError(`bad magic ${JSON.stringify(magic)} (expected ${expectMagic})`);
  const h = { magic, version: buf.readUInt16LE(4), length: buf.readUInt32LE(8) };
  if (h.length > MAX_BODY_BYTES)
    throw new ProtocolError(`message body of ${h.length} bytes is over the limit of ${MAX_BODY_BYTES}`);
  return h;
}

export function encodeRequest(r: CniRequest): Buffer {
  const w = new Writer().u32(r.pid).u64(r.netns.dev).u64(r.netns.ino).u64(r.mntns.dev).u64(r.mntns.ino);
  w.i32(r.cniNetns.errno).u64(r.cniNetns.dev).u64(r.cniNetns.ino);
  const env = Object.entries(r.env);
  w.u32(env.length);
  for (const [k, v] of env) w.bytes(Buffer.from(`${k}=${v}`, 'utf8'));
  w.u32(r.stdin ? 1 : 0).bytes(r.stdin ?? Buffer.alloc(0));
  return w.message(REQUEST_MAGIC);
}

/** A request body (after a header with version PROTOCOL_VERSION). */
export function decodeRequestBody(body: Buffer): CniRequest {
  const r = new Reader(body);
  const pid = r.u32('pid');
  const netns = { dev: r.u64('netns dev'), ino: r.u64('netns ino') };
  const mntns = { dev: r.u64('mntns dev'), ino: r.u64('mntns ino') };
  const cniNetns = {
    errno: r.i32('CNI_NETNS errno'),
    dev: r.u64('CNI_NETNS dev'),
    ino: r.u64('CNI_NETNS ino'),
  };
  const count = r.u32('environment count');
  if (count > MAX_ENV_ENTRIES)
    throw new ProtocolError(`${count} environment entries is over the limit of ${MAX_ENV_ENTRIES}`);
  const env: Record<string, string> = {};
  let envBytes = 0;
  for (let i = 0; i < count; i++) {
    const raw = r.bytes(`environment entry ${i}`);
    envBytes += raw.length;
    if (envBytes > MAX_ENV_BYTES)
      throw new ProtocolError(`environment entries of more than ${MAX_ENV_BYTES} bytes in all`);
    const entry = raw.toString('utf8');
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new ProtocolError(`environment entry ${i} is not KEY=VALUE`);
    env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  const present = r.u32('stdin flag');
  const stdin = r.bytes('stdin');
  if (stdin.length > MAX_STDIN_BYTES)
    throw new ProtocolError(
      `standard input of ${stdin.length} bytes is over the limit of ${MAX_STDIN_BYTES}`,
    );
  r.end();
  return { pid, netns, mntns, cniNetns, env, stdin: present ? stdin : undefined };
}

export function encodeResponse(r: CniResponse): Buffer {
  const w = new Writer();
  if (r.status === 'done') {
    w.u32(STATUS_DONE).i32(r.code).bytes(Buffer.from(r.stdout, 'utf8')).bytes(Buffer.from(r.stderr, 'utf8'));
  } else {
    w.u32(STATUS_FALLBACK).i32(0).bytes(Buffer.alloc(0)).bytes(Buffer.from(r.reason, 'utf8'));
  }
  return w.message(RESPONSE_MAGIC);
}

export function decodeResponseBody(body: Buffer): CniResponse {
  const r = new Reader(body);
  const status = r.u32('status');
  const code = r.i32('exit code');
  const stdout = r.bytes('stdout').toString('utf8');
  const stderr = r.bytes('stderr').toString('utf8');
  r.end();
  if (status === STATUS_DONE) return { status: 'done', code, stdout, stderr };
  if (status === STATUS_FALLBACK) return { status: 'fallback', reason: stderr };
  throw new ProtocolError(`unknown status ${status}`);
}

/**
 * Collects one message from a stream's chunks: feed() returns the body once the header's
 * length has arrived (the header itself is checked as soon as it is complete).
 */
export class MessageCollector {
  private chunks: Buffer[] = [];
  /** Bytes received so far. */
  have = 0;
  header?: Header;

  constructor(private readonly magic: string) {}

  feed(chunk: Buffer): Buffer | undefined {
    this.chunks.push(chunk);
    this.have += chunk.length;
    if (!this.header && this.have >= HEADER_BYTES) {
      const joined = Buffer.concat(this.chunks);
      this.chunks = [joined];
      this.header = readHeader(joined, this.magic);
    }
    if (!this.header || this.have < HEADER_BYTES + this.header.length) return undefined;
    const [only, ...more] = this.chunks;
    const all = only && more.length === 0 ? only : Buffer.concat(this.chunks);
    return all.subarray(HEADER_BYTES, HEADER_BYTES + this.header.length);
  }
}

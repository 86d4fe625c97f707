// The framing between the native CNI shim and the resident server (lib/cni/protocol.ts), and the
// trailer cni-install appends to the shim: round trips, every truncation, limits, and chunked
// arrival as a stream delivers it.
import {
  HEADER_BYTES,
  MAX_BODY_BYTES,
  MessageCollector,
  ProtocolError,
  REQUEST_MAGIC,
  RESPONSE_MAGIC,
  decodeRequestBody,
  decodeResponseBody,
  encodeRequest,
  encodeResponse,
  readHeader,
  type CniRequest,
} from '../../lib/cni/protocol';
import { encodeTrailer } from '../../lib/cni/install';

const REQ: CniRequest = {
  pid: 4242,
  netns: { dev: 4n, ino: 4026531840n },
  mntns: { dev: 4n, ino: 4026531841n },
  cniNetns: { errno: 0, dev: 4n, ino: 4026532999n },
  env: {
    CNI_COMMAND: 'ADD',
    CNI_ARGS: 'K8S_POD_NAME=a;IgnoreUnknown=1',
    CNI_PATH: '/opt/cni/bin',
    CNI_EMPTY: '',
    CNI_EQ: 'a=b=c',
  },
  stdin: Buffer.from('{"cniVersion":"1.0.0","name":"é"}'),
};

const body = (msg: Buffer, magic: string) => {
  const h = readHeader(msg, magic);
  expect(msg.length).toBe(HEADER_BYTES + h.length);
  return msg.subarray(HEADER_BYTES);
};

describe('requests', () => {
  test('round trip: identities as 64-bit values, every CNI_* entry (empty values, "=" in values), stdin bytes', () => {
    const msg = encodeRequest(REQ);
    expect(msg.toString('latin1', 0, 4)).toBe('NQCR');
    expect(msg.readUInt16LE(4)).toBe(1);
    expect(decodeRequestBody(body(msg, REQUEST_MAGIC))).toEqual(REQ);
  });

  test('no stdin (VERSION) is told apart from an empty one; errno -1 for an unset CNI_NETNS survives', () => {
    const none = { ...REQ, stdin: undefined, cniNetns: { errno: -1, dev: 0n, ino: 0n } };
    expect(decodeRequestBody(body(encodeRequest(none), REQUEST_MAGIC))).toEqual(none);
    const empty = { ...REQ, stdin: Buffer.alloc(0) };
    expect(decodeRequestBody(body(encodeRequest(empty), REQUEST_MAGIC)).stdin).toEqual(Buffer.alloc(0));
  });

  test('every truncation is a ProtocolError naming the field; trailing bytes too', () => {
    const b = body(encodeRequest(REQ), REQUEST_MAGIC);
    for (let n = 0; n < b.length; n++)
      expect(() => decodeRequestBody(b.subarray(0, n))).toThrow(ProtocolError);
    expect(() => decodeRequestBody(b.subarray(0, 2))).toThrow(
      'truncated message: pid needs 4 bytes at offset 0, body is 2',
    );
    expect(() => decodeRequestBody(Buffer.concat([b, Buffer.from([0])]))).toThrow(
      '1 unexpected bytes after the message',
    );
  });

  test('an environment entry without "=" and an absurd entry count are refused', () => {
    const bad = encodeRequest({ ...REQ, env: { X: 'y' } });
    const b = Buffer.from(body(bad, REQUEST_MAGIC));
    const at = b.indexOf('X=y');
    b[at + 1] = '_'.charCodeAt(0);
    expect(() => decodeRequestBody(b)).toThrow('environment entry 0 is not KEY=VALUE');
    const many = Buffer.from(body(encodeRequest({ ...REQ, env: {} }), REQUEST_MAGIC));
    many.writeUInt32LE(5000, 4 + 8 * 4 + 4 + 16);
    expect(() => decodeRequestBody(many)).toThrow('5000 environment entries is over the limit of 64');
  });
});

describe('responses', () => {
  test('done and fallback round trip', () => {
    const done = { status: 'done' as const, code: 1, stdout: '{"code":7}\n', stderr: 'netqos: warning: ü\n' };
    expect(decodeResponseBody(body(encodeResponse(done), RESPONSE_MAGIC))).toEqual(done);
    const fb = { status: 'fallback' as const, reason: 'pid not visible' };
    expect(decodeResponseBody(body(encodeResponse(fb), RESPONSE_MAGIC))).toEqual(fb);
  });

  test('an unknown status is refused', () => {
    const b = Buffer.from(body(encodeResponse({ status: 'fallback', reason: '' }), RESPONSE_MAGIC));
    b.writeUInt32LE(7, 0);
    expect(() => decodeResponseBody(b)).toThrow('unknown status 7');
  });
});

describe('headers and the stream collector', () => {
  test('a wrong magic, and a body over the limit, are refused from the header alone', () => {
    const msg = encodeRequest(REQ);
    expect(() => readHeader(msg, RESPONSE_MAGIC)).toThrow('bad magic "NQCR" (expected NQCA)');
    const big = Buffer.from(msg.subarray(0, HEADER_BYTES));
    big.writeUInt32LE(MAX_BODY_BYTES + 1, 8);
    expect(() => new MessageCollector(REQUEST_MAGIC).feed(big)).toThrow(
      `over the limit of ${MAX_BODY_BYTES}`,
    );
  });

  test('one byte at a time: the body appears exactly when its last byte arrives', () => {
    const msg = encodeRequest(REQ);
    const c = new MessageCollector(REQUEST_MAGIC);
    for (let i = 0; i < msg.length - 1; i++) expect(c.feed(msg.subarray(i, i + 1))).toBeUndefined();
    const b = c.feed(msg.subarray(msg.length - 1))!;
    expect(decodeRequestBody(b)).toEqual(REQ);
    expect(c.header).toEqual({ magic: 'NQCR', version: 1, length: msg.length - HEADER_BYTES });
  });

  test('bytes after the message in the same chunk are not part of the body', () => {
    const msg = encodeRequest(REQ);
    const b = new MessageCollector(REQUEST_MAGIC).feed(Buffer.concat([msg, Buffer.from('junk')]))!;
    expect(decodeRequestBody(b)).toEqual(REQ);
  });
});

test("cni-install's trailer: three NUL-terminated strings, their length, the magic", () => {
  const t = encodeTrailer({
    node: '/usr/bin/node',
    main: '/opt/netqos/dist/lib/cni/main.js',
    socket: '/run/netqos/cni.sock',
  });
  const data = '/usr/bin/node\0/opt/netqos/dist/lib/cni/main.js\0/run/netqos/cni.sock\0';
  expect(t.toString('utf8', 0, t.length - 12)).toBe(data);
  expect(t.readUInt32LE(t.length - 12)).toBe(Buffer.byteLength(data));
  expect(t.toString('latin1', t.length - 8)).toBe('NQCNITR1');
});

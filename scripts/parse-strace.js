#!/usr/bin/env node
'use strict';
// Helper for scripts/gen-fixtures.sh (plain JS, no dependencies).
//
// Reads strace output produced with
//   strace -f -e trace=sendmsg,sendto -e write=all -xx -s 65536 -o FILE CMD...
// and recovers the exact bytes handed to the kernel from strace's hex dumps
// (" | 00000  28 00 00 00 ...  ascii |" lines; sendmsg dumps each iovec buffer after a
// " * N bytes in buffer K" line). The decoded strace text itself is never parsed for bytes.
//
// Usage:
//   node scripts/parse-strace.js dump FILE
//       print every netlink message found, one per line: "<type> <flags> <hex>"
//   node scripts/parse-strace.js case --strace FILE --name N --command C [--note T]
//        [--ifindex-json J] [--exit RC] [--stderr-file F]
//       print one fixture entry (JSON) for the RTM_NEW*/RTM_DEL* request in FILE;
//       exits 3 when FILE holds no such request.
//   node scripts/parse-strace.js assemble [--merge EXISTING] --psched-file F --iproute2 V OUT ENTRY.json...
//       write the fixture file { psched, iproute2, cases: [...] } to OUT; with --merge, the cases
//       of EXISTING are kept, those of the same name replaced in place and new ones appended.

const fs = require('fs');

const RTM_NAMES = {
  16: 'RTM_NEWLINK',
  17: 'RTM_DELLINK',
  18: 'RTM_GETLINK',
  19: 'RTM_SETLINK',
  36: 'RTM_NEWQDISC',
  37: 'RTM_DELQDISC',
  38: 'RTM_GETQDISC',
  40: 'RTM_NEWTCLASS',
  41: 'RTM_DELTCLASS',
  42: 'RTM_GETTCLASS',
  44: 'RTM_NEWTFILTER',
  45: 'RTM_DELTFILTER',
  46: 'RTM_GETTFILTER',
  48: 'RTM_NEWACTION',
  49: 'RTM_DELACTION',
  50: 'RTM_GETACTION',
  100: 'RTM_NEWCHAIN',
  101: 'RTM_DELCHAIN',
  102: 'RTM_GETCHAIN',
};

/** Parse strace output into a list of syscalls, each with the bytes it sent. */
function parseStrace(text) {
  const calls = [];
  let cur = null;
  let expectOffset = 0;
  for (const line of text.split('\n')) {
    const start = /^(?:(\d+)\s+)?(sendmsg|sendto)\((\d+),/.exec(line);
    if (start) {
      cur = {
        pid: start[1] ? Number(start[1]) : null,
        syscall: start[2],
        fd: Number(start[3]),
        line,
        buffers: [],
        ret: null,
      };
      const ret = /\)\s+=\s+(-?\d+)/.exec(line);
      if (ret) cur.ret = Number(ret[1]);
      calls.push(cur);
      expectOffset = 0;
      continue;
    }
    const resumed = /^(?:(\d+)\s+)?<\.\.\. (sendmsg|sendto) resumed>.*\)\s+=\s+(-?\d+)/.exec(line);
    if (resumed && cur) {
      cur.ret = Number(resumed[3]);
      continue;
    }
    const buf = /^ \* (\d+) bytes in buffer (\d+)/.exec(line);
    if (buf && cur) {
      cur.buffers.push({ declared: Number(buf[1]), bytes: [] });
      expectOffset = 0;
      continue;
    }
    const dump = /^ \| ([0-9a-f]{5,}) {2}/.exec(line);
    if (dump && cur) {
      if (cur.buffers.length === 0) cur.buffers.push({ declared: null, bytes: [] });
      const b = cur.buffers[cur.buffers.length - 1];
      const off = parseInt(dump[1], 16);
      if (off !== expectOffset)
        throw new Error(`hex dump offset ${off} != expected ${expectOffset}: ${line}`);
      // Fixed layout: 16 bytes as "xx " with one extra space after the 8th byte (49 columns).
      const hexPart = line.slice(dump[0].length, dump[0].length + 49);
      const bytes = hexPart.match(/[0-9a-f]{2}/g) || [];
      if (bytes.length === 0 || bytes.length > 16) throw new Error(`bad hex dump line: ${line}`);
      for (const h of bytes) b.bytes.push(parseInt(h, 16));
      expectOffset += bytes.length;
    }
  }
  for (const c of calls) {
    for (const b of c.buffers) {
      if (b.declared !== null && b.declared !== b.bytes.length) {
        throw new Error(`buffer declared ${b.declared} bytes, dump has ${b.bytes.length}`);
      }
    }
    c.data = Buffer.from(c.buffers.flatMap((b) => b.bytes));
  }
  return calls;
}

/** Split one syscall's payload into netlink messages. */
function splitNetlink(data) {
  const msgs = [];
  let off = 0;
  while (off + 16 <= data.length) {
    const len = data.readUInt32LE(off);
    if (len < 16 || off + len > data.length) throw new Error(`bad nlmsg_len ${len} at ${off}`);
    msgs.push({
      len,
      type: data.readUInt16LE(off + 4),
      flags: data.readUInt16LE(off + 6),
      seq: data.readUInt32LE(off + 8),
      pid: data.readUInt32LE(off + 12),
      buf: data.subarray(off, off + len),
    });
    off += (len + 3) & ~3;
  }
  return msgs;
}

function allMessages(file) {
  const calls = parseStrace(fs.readFileSync(file, 'utf8'));
  const out = [];
  for (const c of calls) {
    if (c.data.length === 0) continue; // failed call or no dump
    for (const m of splitNetlink(c.data)) out.push({ ...m, syscall: c.syscall, ret: c.ret });
  }
  return out;
}

/** RTM_NEW* / RTM_DEL* (not GET/SET, not control messages). */
function isModifyRequest(m) {
  return m.type >= 16 && (m.type & 3) <= 1;
}

/**
 * `ip link` first sends an empty RTM_NEWLINK probe (seq 0, bare ifinfomsg) to see whether the
 * kernel speaks RTM_NEWLINK; that is not the request. Pick the last modifying message.
 */
function pickRequest(msgs) {
  const mods = msgs.filter(isModifyRequest);
  if (mods.length === 0) return null;
  return { msg: mods[mods.length - 1], candidates: mods.length };
}

function parseArgs(argv) {
  const opts = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i].startsWith('--')) opts[argv[i].slice(2)] = argv[++i];
    else opts._.push(argv[i]);
  }
  return opts;
}

function main() {
  const [mode, ...rest] = process.argv.slice(2);
  const o = parseArgs(rest);
  if (mode === 'dump') {
    for (const m of allMessages(o._[0])) {
      console.log(`${RTM_NAMES[m.type] || m.type} 0x${m.flags.toString(16)} ${m.buf.toString('hex')}`);
    }
    return;
  }
  if (mode === 'case') {
    const msgs = allMessages(o.strace);
    const picked = pickRequest(msgs);
    if (!picked) {
      process.stderr.write(`no RTM_NEW*/RTM_DEL* request in ${o.strace}\n`);
      process.exit(3);
    }
    const entry = { name: o.name, command: o.command };
    if (o.note) entry.note = o.note;
    entry.ifindex = o['ifindex-json'] ? JSON.parse(o['ifindex-json']) : {};
    entry.msgType = RTM_NAMES[picked.msg.type] || String(picked.msg.type);
    entry.exitCode = o.exit !== undefined ? Number(o.exit) : null;
    const stderr = o['stderr-file'] ? fs.readFileSync(o['stderr-file'], 'utf8').trim() : '';
    if (stderr) entry.stderr = stderr;
    entry.hex = picked.msg.buf.toString('hex');
    process.stdout.write(JSON.stringify(entry) + '\n');
    return;
  }
  if (mode === 'assemble') {
    const [out, ...files] = o._;
    let cases = files.map((f) => JSON.parse(fs.readFileSync(f, 'utf8')));
    if (o.merge) {
      const existing = JSON.parse(fs.readFileSync(o.merge, 'utf8'));
      const psched = fs.readFileSync(o['psched-file'], 'utf8').trim();
      if (existing.psched !== psched)
        throw new Error(
          `--merge: ${o.merge} was captured with psched "${existing.psched}", this machine has "${psched}"`,
        );
      const fresh = new Map(cases.map((c) => [c.name, c]));
      const merged = existing.cases.map((c) => fresh.get(c.name) ?? c);
      const kept = new Set(existing.cases.map((c) => c.name));
      cases = [...merged, ...cases.filter((c) => !kept.has(c.name))];
    }
    const doc = {
      psched: fs.readFileSync(o['psched-file'], 'utf8').trim(),
      iproute2: (o.iproute2 || '').trim(),
      generatedBy: 'scripts/gen-fixtures.sh',
      cases,
    };
    fs.writeFileSync(out, JSON.stringify(doc, null, 2) + '\n');
    return;
  }
  process.stderr.write('usage: parse-strace.js dump FILE | case ... | assemble ...\n');
  process.exit(2);
}

module.exports = {
  parseStrace,
  splitNetlink,
  allMessages,
  pickRequest,
  isModifyRequest,
  parseArgs,
  RTM_NAMES,
};

if (require.main === module) main();

#!/usr/bin/env node
'use strict';
// Helper for scripts/gen-nft-fixtures.sh (plain JS, no dependencies): the nfnetlink batch nft
// sent, recovered from strace's hex dumps by parse-strace.js.
//
//   node scripts/parse-nft-strace.js case --strace FILE --name N --setup S --command C
//        [--note T] [--exit RC] [--stderr-file F]
//       one fixture entry (JSON): every message between NFNL_MSG_BATCH_BEGIN and BATCH_END
//       (both kept apart), in order; exits 3 when FILE holds no batch.
//   node scripts/parse-nft-strace.js assemble --nft V --kernel K OUT ENTRY.json...

const fs = require('fs');
const { allMessages, parseArgs } = require('./parse-strace');

const NFNL_MSG_BATCH_BEGIN = 0x10;
const NFNL_MSG_BATCH_END = 0x11;

/** The first batch in the trace: { begin, messages, end } as hex strings. */
function findBatch(msgs) {
  const start = msgs.findIndex((m) => m.type === NFNL_MSG_BATCH_BEGIN);
  if (start < 0) return null;
  const end = msgs.findIndex((m, i) => i > start && m.type === NFNL_MSG_BATCH_END);
  if (end < 0) throw new Error('batch without BATCH_END');
  return {
    begin: msgs[start].buf.toString('hex'),
    messages: msgs.slice(start + 1, end).map((m) => m.buf.toString('hex')),
    end: msgs[end].buf.toString('hex'),
  };
}

function main() {
  const [mode, ...rest] = process.argv.slice(2);
  const o = parseArgs(rest);
  if (mode === 'case') {
    const batch = findBatch(allMessages(o.strace));
    if (!batch) {
      process.stderr.write(`no nfnetlink batch in ${o.strace}\n`);
      process.exit(3);
    }
    const entry = { name: o.name, setup: o.setup || '', command: o.command };
    if (o.note) entry.note = o.note;
    entry.exitCode = o.exit !== undefined ? Number(o.exit) : null;
    const stderr = o['stderr-file'] ? fs.readFileSync(o['stderr-file'], 'utf8').trim() : '';
    if (stderr) entry.stderr = stderr;
    Object.assign(entry, batch);
    process.stdout.write(JSON.stringify(entry) + '\n');
    return;
  }
  if (mode === 'assemble') {
    const [out, ...files] = o._;
    const doc = {
      nft: (o.nft || '').trim(),
      kernel: (o.kernel || '').trim(),
      generatedBy: 'scripts/gen-nft-fixtures.sh',
      cases: files.map((f) => JSON.parse(fs.readFileSync(f, 'utf8'))),
    };
    fs.writeFileSync(out, JSON.stringify(doc, null, 2) + '\n');
    return;
  }
  process.stderr.write('usage: parse-nft-strace.js case ... | assemble ...\n');
  process.exit(2);
}

module.exports = { findBatch };

if (require.main === module) main();

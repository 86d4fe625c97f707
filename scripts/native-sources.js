#!/usr/bin/env node
// The native engine's sources, for binding.gyp (which cannot glob): every .cc under native/
// except the plain (non-N-API) field reader, which only the CMake build (ASan suite, floor,
// fuzzers) uses. A new kind file is picked up without editing any build file.
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const skip = new Set(['native/plain_fields.cc']);
const out = [];
(function walk(dir) {
  for (const entry of fs
    .readdirSync(path.join(root, dir), { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const rel = `${dir}/${entry.name}`;
    if (entry.isDirectory()) walk(rel);
    else if (entry.name.endsWith('.cc') && !skip.has(rel)) out.push(rel);
  }
})('native');
process.stdout.write(out.join('\n') + '\n');

#!/usr/bin/env bash
# The whole test suite: TypeScript build, lint and format checks, the host projects (unit, kernel,
# and e2e: netqos under containerd + runc), then the tc pieces this kernel lacks inside User-Mode
# Linux, then the native engine under ASan/UBSan, then its fuzzers for a few seconds each (fuzz/).
# Ends with one "N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp -d /tmp/netqos-test.XXXXXX)
trap 'rm -rf "$out"' EXIT

npx tsc -p tsconfig.json || exit 1
bash scripts/lint.sh || exit 1
npx jest --runInBand --selectProjects unit kernel e2e --json --outputFile="$out/host.json"
host=$?
node dist/scripts/soak.js --short; soak=$?  # the agent's soak, short: 200 pods, about 90 s
bash scripts/uml-run.sh -- npx jest --runInBand --selectProjects uml --json --outputFile="$out/uml.json" </dev/null
uml=$?
# The engine alone under AddressSanitizer and UBSan (ends with its own "N passed, N failed").
bash test/native/run-asan.sh | tee "$out/asan.txt"
asan=${PIPESTATUS[0]}
# The decoders and field readers under libFuzzer, about a minute in all (ends with "fuzz: N passed, N failed").
bash scripts/fuzz.sh --short | tee "$out/fuzz.txt"
fuzz=${PIPESTATUS[0]}

node -e '
  const fs = require("fs");
  let passed = 0, failed = 0;
  // Each native program (the tc engine, nf_tables) ends with its own "N passed, N failed".
  const asanText = fs.existsSync(process.argv[3]) ? fs.readFileSync(process.argv[3], "utf8") : "";
  const counts = [...asanText.matchAll(/^(\d+) passed, (\d+) failed$/gm)];
  const asan = counts.length && [0, 1, 2].map((i) => i && counts.reduce((n, m) => n + Number(m[i]), 0));
  const fuzz = /fuzz: (\d+) passed, (\d+) failed/.exec(fs.existsSync(process.argv[4]) ? fs.readFileSync(process.argv[4], "utf8") : "");
  for (const [name, file] of [["host (unit + kernel + e2e)", process.argv[1]], ["UML", process.argv[2]]]) {
    if (!fs.existsSync(file)) { console.log(`${name}: no results`); failed++; continue; }
    const r = JSON.parse(fs.readFileSync(file, "utf8"));
    console.log(`${name}: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests} skipped`);
    passed += r.numPassedTests; failed += r.numFailedTests;
  }
  if (asan) { console.log(`native (ASan/UBSan): ${asan[1]} passed, ${asan[2]} failed`); passed += +asan[1]; failed += +asan[2]; }
  else { console.log("native (ASan/UBSan): no results"); failed++; }
  if (fuzz) { console.log(`native fuzzers (short): ${fuzz[1]} passed, ${fuzz[2]} failed`); passed += +fuzz[1]; failed += +fuzz[2]; }
  else { console.log("native fuzzers: no results"); failed++; }
  console.log(`${passed} passed, ${failed} failed`);
' "$out/host.json" "$out/uml.json" "$out/asan.txt" "$out/fuzz.txt"
[ "$host" -eq 0 ] && [ "$uml" -eq 0 ] && [ "$asan" -eq 0 ] && [ "$fuzz" -eq 0 ] && [ "$soak" -eq 0 ]

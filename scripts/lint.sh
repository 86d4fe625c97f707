#!/usr/bin/env bash
# Lint and format checks (npm test runs this first): eslint and prettier for TypeScript and
# JavaScript, clang-format for the native engine, the CNI shim, the floors and the native tests.
# `bash scripts/lint.sh --fix` rewrites what the formatters can fix.
set -uo pipefail
cd "$(dirname "$0")/.."
native=$(git ls-files --cached --others --exclude-standard '*.cc' '*.h' '*.c' 2>/dev/null || find native lib bench test -name '*.cc' -o -name '*.h' -o -name '*.c')
if [ "${1:-}" = --fix ]; then
  npx eslint --fix . ; npx prettier --log-level warn --write . ; clang-format -i $native
  exit 0
fi
rc=0
npx eslint --max-warnings 0 . || rc=1
npx prettier --log-level warn --check . || rc=1
if command -v clang-format >/dev/null; then
  clang-format --dry-run -Werror $native || rc=1
else
  echo "lint: clang-format not installed (bash scripts/setup.sh installs it)" >&2
  rc=1
fi
[ $rc -eq 0 ] && echo "lint: eslint, prettier and clang-format clean"
exit $rc

#!/usr/bin/env bash
# Every C file follows .clang-format (STYLE.md: a formatter in the repo, checked in CI).
# Fix with: clang-format -i $(git ls-files '*.c' '*.h')
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "format: clang-format is not installed" >&2; exit 1; }
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build*')
bad=0
for f in $files; do
  if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then echo "format: $f"; bad=$((bad + 1)); fi
done
n=$(wc -w <<<"$files")
echo "format: $((n - bad)) passed, $bad failed"
[ "$bad" -eq 0 ]

#!/usr/bin/env bash
# Regenerates src/gen/ from proto/ with protoc-gen-es (through buf, both from node_modules).
# `--check` regenerates into a temporary copy and fails when the committed output is stale.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"
if [ "${1:-}" = "--check" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  cp -r proto buf.gen.yaml "$tmp/"
  (cd "$tmp" && buf generate)
  if ! diff -r "$tmp/src/gen" src/gen; then
    echo "src/gen is stale: run 'npm run generate' and commit the result." >&2
    exit 1
  fi
  echo "src/gen is fresh."
else
  rm -rf src/gen
  buf generate
fi

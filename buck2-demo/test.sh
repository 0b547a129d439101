#!/usr/bin/env bash
# Builds the demos in each mode with a real buck2 and checks `buck2 log what-ran`, like Buck2's own
# examples/persistent_worker/test.sh. Remote modes need BUILDBUDDY_API_KEY (skipped otherwise).
# Without a buck2 binary, `npx vitest run test/buck2/demo.test.ts` drives the local modes through
# the fake-Buck2 harness instead.
set -euo pipefail
cd "$(dirname "$0")"

check() { # mode, expected count, jq condition on one what-ran entry
  local mode=$1 count=$2 condition=$3
  echo "::group::$mode" >&2
  echo "<file:.buckconfig.$mode>" > .buckconfig.local
  buck2 clean
  buck2 build : -vstderr
  buck2 log what-ran --show-std-err --format json | jq -s "
    [ .[] | select(.identity | startswith(\"root//:demo-\")) ]
    | if length == $count then . else error(\"$mode: expected $count entries, got \" + (length | tostring)) end
    | .[] | if $condition then true else error(\"$mode: unexpected \" + ([.reproducer.executor, .std_err] | tostring)) end"
  echo "::endgroup::" >&2
}

check no-workers 4 '.reproducer.executor == "Local" and (.std_err | startswith("WORKER_SOCKET=\n"))'
# One more entry than targets: the WorkerInit stage of the first action.
check local-persistent-workers 5 '(.reproducer.executor == "Worker" or .reproducer.executor == "WorkerInit") and (.std_err | startswith("WORKER_SOCKET=/tmp/buck2_worker/"))'
if [ -n "${BUILDBUDDY_API_KEY:-}" ]; then
  check remote 4 '.reproducer.executor == "Re" and (.std_err | startswith("WORKER_SOCKET=\n"))'
  check remote-persistent-workers 4 '.reproducer.executor == "Re" and (.std_err | startswith("WORKER_SOCKET=\n"))'
else
  echo "remote modes skipped: BUILDBUDDY_API_KEY is not set" >&2
fi
rm -f .buckconfig.local

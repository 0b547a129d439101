#!/bin/sh
# Writes what this action sees on the executor (argv, working directory, environment, the files
# of its input root with their modes) to the file named by $1, then runs the bridge with the rest.
set -eu
report=$1
shift
cwd=$(pwd)
listing=$(find . -mindepth 1 -exec stat -c '%A %n' {} + | LC_ALL=C sort)
{
  printf 'argv0=%s\n' "$0"
  for arg in "$@"; do printf 'arg=%s\n' "$arg"; done
  printf 'cwd=%s\n' "$cwd"
  env | LC_ALL=C sort | sed 's/^/env=/'
  printf '%s\n' "$listing" | sed 's/^/file=/'
} >"$report"
exec "${0%/*}/bridge.sh" "$@"

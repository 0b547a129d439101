#!/usr/bin/env bash
# Builds the Buildbarn test cluster's binaries (bb_scheduler, bb_worker, bb_runner, bazel-remote)
# from the Go module proxy through the wrapper modules in buildbarn/go/, with CGO_ENABLED=0.
#
# The binaries are cached outside the checkout under
#   ${WORKER_BRIDGE_BUILDBARN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/worker-bridge/buildbarn}/<key>/bin
# where <key> digests everything that decides them: the wrapper modules (go.mod/go.sum pin every
# module, the patches' source included), the go-fuse patches applied, the Go version and
# $recipe below (bump it when a change to this script changes the binaries). They are rebuilt only when missing. Prints the bin directory on the
# last line of stdout; progress goes to stderr.
#
# Usage: bash buildbarn/build.sh [--print-dir]   (--print-dir: print the directory, build nothing;
#        exits 1 when the binaries are not built yet)
set -euo pipefail

# One function, called on the last line: bash parses it whole before running it, so editing this
# file while a build runs cannot derail that build.
main() {
  here=$(cd "$(dirname "$0")" && pwd)
  log() { echo "buildbarn/build.sh: $*" >&2; }

  if ! command -v go >/dev/null; then
    log "go is not installed (needed to build the Buildbarn cluster)"
    exit 2
  fi

  recipe=1
  go_fuse_version=v2.5.1
  go_fuse_patches=(direntrylist-offsets-and-testability writeback-cache notify-testability)
  commands=(bb_scheduler bb_worker bb_runner)

  key=$(
    {
      echo "recipe $recipe"
      go env GOVERSION GOOS GOARCH
      echo "go-fuse $go_fuse_version ${go_fuse_patches[*]}"
      for module in buildbarn bazel-remote; do
        cat "$here/go/$module/go.mod" "$here/go/$module/go.sum" "$here/go/$module/tools.go"
      done
    } | sha256sum | cut -c1-16
  )
  root=${WORKER_BRIDGE_BUILDBARN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/worker-bridge/buildbarn}
  out=$root/$key
  bin=$out/bin

  complete() {
    local name
    for name in "${commands[@]}" bazel-remote; do
      [ -x "$bin/$name" ] || return 1
    done
  }

  if [ "${1:-}" = "--print-dir" ]; then
    echo "$bin"
    complete
    exit
  fi

  # One build at a time per cache: a second caller waits, then finds the binaries built.
  mkdir -p "$root"
  exec 9>"$root/.lock"
  flock 9
  if complete; then
    log "cached: $bin"
    echo "$bin"
    exit 0
  fi

  export CGO_ENABLED=0
  # The proxy here answers 403 to version lists; every version below is exact, so -mod=readonly
  # never needs one. The checksum database is still consulted for modules not in go.sum.
  export GOFLAGS="-mod=readonly -buildvcs=false -trimpath"

  started=$SECONDS
  work=$(mktemp -d "${TMPDIR:-/tmp}/buildbarn-build.XXXXXX")
  trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
  mkdir -p "$work/bin"
  cp -R "$here/go/buildbarn" "$here/go/bazel-remote" "$work/"

  # go-fuse with the patches the pinned bb-remote-execution ships, in the order its MODULE.bazel
  # applies them. Buildbarn's go.mod pins go-fuse to v2.5.1; the wrapper replaces it with this copy.
  log "fetching modules (go mod download)"
  (cd "$work/buildbarn" && mkdir -p third_party/go-fuse && printf 'module github.com/hanwen/go-fuse/v2\n' >third_party/go-fuse/go.mod)
  bbre_dir=$(cd "$work/buildbarn" && go mod download -json github.com/buildbarn/bb-remote-execution | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  fuse_dir=$(cd "$work/buildbarn" && GOFLAGS=-mod=mod go mod download -json "github.com/hanwen/go-fuse/v2@$go_fuse_version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  if [ -z "$bbre_dir" ] || [ -z "$fuse_dir" ]; then
    log "could not download bb-remote-execution or go-fuse $go_fuse_version from the module proxy"
    exit 1
  fi
  rm -rf "$work/buildbarn/third_party/go-fuse"
  cp -R "$fuse_dir" "$work/buildbarn/third_party/go-fuse"
  chmod -R u+w "$work/buildbarn/third_party/go-fuse"
  for patch in "${go_fuse_patches[@]}"; do
    log "applying go-fuse patch $patch.diff"
    diff=$bbre_dir/patches/com_github_hanwen_go_fuse_v2/$patch.diff
    if command -v patch >/dev/null; then
      (cd "$work/buildbarn/third_party/go-fuse" && patch -p0 --quiet --forward <"$diff")
    else
      # No patch(1) on the machine: git applies the same diff (outside any repository, to cwd).
      (cd "$work/buildbarn/third_party/go-fuse" && git apply -p0 "$diff")
    fi
  done

  for name in "${commands[@]}"; do
    log "building $name"
    (cd "$work/buildbarn" && go build -o "$work/bin/$name" "github.com/buildbarn/bb-remote-execution/cmd/$name")
  done
  log "building bazel-remote"
  (cd "$work/bazel-remote" && go build -o "$work/bin/bazel-remote" github.com/buchgr/bazel-remote/v2)

  mkdir -p "$out"
  rm -rf "$bin"
  mv "$work/bin" "$bin"
  log "built in $((SECONDS - started)) s: $bin"
  echo "$bin"
}

main "$@"; exit

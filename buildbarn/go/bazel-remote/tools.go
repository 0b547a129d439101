//go:build tools

// Keeps bazel-remote's dependencies in go.mod/go.sum; build.sh builds it.
package tools

import _ "github.com/buchgr/bazel-remote/v2"

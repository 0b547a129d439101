#!/bin/sh
# Runs the single-file bridge next to this script with the node found on the action's PATH.
exec node "${0%/*}/worker-bridge.mjs" "$@"

#!/bin/bash -eu
#
# Benchmark tcp_zc against UCX's tcp with ucx_perftest on lo, all sizes.
#
#   bench.sh <tree-build-dir>
#

exec "$(dirname "$0")/perf-compare.sh" "$1" full

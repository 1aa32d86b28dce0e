#!/bin/bash -eu
#
# Benchmark tcp_zc against UCX's tcp with ucx_perftest.
#
#   bench.sh <tree-build-dir>
#

echo "tcp_zc: the data path is not available yet, so there is nothing to"
echo "benchmark against UCX's tcp. This target runs ucx_perftest once the"
echo "transport issue lands."

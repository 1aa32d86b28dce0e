#!/bin/bash -eu
#
# Benchmark tcp_zc against UCX's tcp with ucx_perftest on lo and veth
# (perf-compare.sh: table with median, min and max of REPEATS runs, ratios,
# sender CPU per GB, the goals of issue 15 per row, CSV and PNG), then, if
# contrib/tcp_zc/mpi-bench.sh exists and MPI_BENCH is not "n", the MPI table.
#
#   bench.sh <tree-build-dir> [quick|full]
#
# The preset is the second argument, else PRESET, else full (about 1,300
# ucx_perftest runs per tree). REPEATS, LINKS and TESTS pass through to
# perf-compare.sh; LINKS also to mpi-bench.sh, veth there named "hosts".
#

dir=$(dirname "$0")
preset=${2:-${PRESET:-full}}

case "$preset" in
quick|full) ;;
*) echo "unknown preset '$preset' (quick, full)" >&2; exit 1 ;;
esac

echo "== load before: $(uptime)"
"$dir/perf-compare.sh" "$1" "$preset"
echo "== load after: $(uptime)"

if [ -e "$dir/mpi-bench.sh" ] && [ "${MPI_BENCH:-y}" != "n" ]
then
    echo
    echo "== MPI ($dir/mpi-bench.sh $preset)"
    # its links are lo and "hosts", the counterpart of veth here
    if [ -n "${LINKS:-}" ]
    then
        LINKS=$(echo "$LINKS" | sed 's/\bveth\b/hosts/')
    fi
    "$dir/mpi-bench.sh" "$1" "$preset"
fi

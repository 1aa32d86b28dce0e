#!/bin/bash -eu
#
# Run an MPI program over tcp_zc with Debian's Open MPI (pml ucx), which
# loads the UCX of a tcp_zc build instead of the system one: ping-pong
# latency and bandwidth up to 64 MiB, an allreduce and a large non-blocking
# exchange, data verified, with 2 and 4 ranks, on lo inside a network
# namespace this script creates. Checks in UCX's own log that the ranks
# talked over tcp_zc (UCX_TLS=tcp_zc,self; pml ucx only, so no fallback to
# Open MPI's own transports). Prints "[ OK ]"/"[ FAILED ]" per run.
#
#   mpi-test.sh <tree-build-dir>
#

treedir=$(cd "$1" && pwd)
srcdir=$(cd "$(dirname "$0")" && pwd)/mpi
logdir=$treedir/test-logs
prog=$treedir/tcp_zc_mpi_check
mkdir -p "$logdir"

if ! command -v mpicc >/dev/null || ! command -v mpirun >/dev/null
then
    echo "tcp_zc: Open MPI (openmpi-bin, libopenmpi-dev) is not installed" >&2
    exit 1
fi

mpicc -O2 -Wall -Werror -o "$prog" "$srcdir/tcp_zc_mpi_check.c"

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
netns=tcpzc-mpi-$$
cleanup() { $sudo ip netns delete "$netns" 2>/dev/null || true; }
trap cleanup EXIT INT TERM
$sudo ip netns add "$netns"
$sudo ip netns exec "$netns" ip link set lo up

failed=0
for np in 2 4
do
    log=$logdir/mpi-np$np.log
    set +e
    $sudo ip netns exec "$netns" env OMPI_ALLOW_RUN_AS_ROOT=1 \
        OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
        timeout 300 mpirun -np $np --oversubscribe \
        --mca pml ucx --mca pml_ucx_tls any --mca pml_ucx_devices any \
        --mca osc ucx --mca btl ^vader,tcp,openib,uct \
        --mca oob_tcp_if_include lo \
        -x LD_LIBRARY_PATH="$treedir/install/lib" \
        -x UCX_TLS=tcp_zc,self -x UCX_NET_DEVICES=lo \
        -x UCX_LOG_LEVEL=info \
        "$prog" >"$log" 2>&1
    rc=$?
    set -e
    # UCX prints the transports of each endpoint configuration at info level
    if [ $rc -eq 0 ] && grep -q "verified" "$log" &&
       grep -E "ep_cfg\[[0-9]+\]" "$log" | grep -q "tcp_zc/lo" &&
       ! grep -E "ep_cfg\[[0-9]+\]" "$log" | grep -v "tcp_zc/lo" |
         grep -qv "self/memory"
    then
        echo "[       OK ] mpi $np ranks over tcp_zc"
        grep -E "^pingpong|verified" "$log" | sed 's/^/    /'
    else
        echo "[  FAILED  ] mpi $np ranks (exit $rc, see $log)"
        tail -n 20 "$log"
        failed=$((failed + 1))
    fi
done

[ $failed -eq 0 ]

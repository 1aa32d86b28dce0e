#!/bin/bash -eu
#
# MPI programs over tcp_zc with Debian's Open MPI (pml ucx) and MPICH
# (ch4:ucx), which load the UCX of a tcp_zc build instead of the system one
# (LD_LIBRARY_PATH; UCX keeps its ABI backward compatible, so this works for
# UCX 1.13 and master alike), with UCX_TLS=tcp_zc,self. The ranks run on
# separate "hosts" (mpi-hosts.sh: one network namespace, hostname and
# /dev/shm per rank, veths to a bridge, 198.51.100.0/24, UCX_NET_DEVICES=tzc0
# so lo is not used):
#  - mpi/tcp_zc_mpi_check.c "check" with 2 and 4 ranks: ping-pong 1 B..64 MiB,
#    allreduce, alltoall, a non-blocking exchange between all ranks;
#  - "threads" with 2 ranks: MPI_THREAD_MULTIPLE, two threads per rank
#    exchanging at the same time;
# all data verified. Each run passes only if, besides, every rank loaded the
# build's libucp (UCX's log), every endpoint configuration of UCX has only
# tcp_zc over tzc0 (and self to itself; on master none says intra-node),
# each rank ran on a host of its own, and each rank's host received at least
# the payload bytes the rank received from other ranks on its veth.
# Prints "[ OK ]"/"[ FAILED ]"/"[ SKIP ]" per run.
#
#   mpi-test.sh <tree-build-dir>
#
# MPI_IMPLS (default "openmpi mpich") selects the MPI libraries, MPI_MODES
# (default "check:2 check:4 threads:2") the runs.
#

treedir=$(cd "$1" && pwd)
scripts=$(cd "$(dirname "$0")" && pwd)
logdir=$treedir/test-logs
mkdir -p "$logdir" "$treedir/mpi"

. "$scripts/mpi-hosts.sh"
MPI_UCX_LIB=$treedir/install/lib
# (MPI_TEST_TLS: another transport, to see the checks fail)
MPI_UCX_ENV="UCX_TLS=${MPI_TEST_TLS:-tcp_zc},self UCX_NET_DEVICES=tzc0"
MPI_UCX_ENV+=" UCX_LOG_LEVEL=info"
ucx_version=$("$treedir/install/bin/ucx_info" -v |
              awk '/[Vv]ersion/ { print $NF; exit }')

# check_log <log> <n> <mpi>: the assertions on UCX's log and the veths
check_log() {
    local log=$1 n=$2 bad i host rx min hosts

    grep -q "verified" "$log" || { echo "no \"verified\""; return 1; }
    # every rank loaded our libucp
    i=$(grep -c "UCX  INFO  Version .* (loaded from $MPI_UCX_LIB/libucp" \
        "$log" || true)
    [ "$i" -eq "$n" ] || {
        echo "$i of $n ranks loaded $MPI_UCX_LIB/libucp"; return 1; }
    # the transports of every endpoint configuration (1.13: "ep_cfg[1]:
    # tag(tcp_zc/tzc0) ...", master: "... inter-node cfg#1 tag(...) ...")
    grep -E "ep_cfg\[[0-9]+\]:| cfg#[0-9]+ " "$log" |
        grep -q "tcp_zc/tzc0" || { echo "no endpoint over tcp_zc/tzc0"
                                   return 1; }
    bad=$(grep -E "ep_cfg\[[0-9]+\]:| cfg#[0-9]+ " "$log" |
          sed -E 's/.*(ep_cfg\[|cfg#)//' | grep -oE "\([^)]*\)" |
          tr -d '()' | tr ' ' '\n' | sed '/^$/d' | sort -u |
          grep -vE "^(tcp_zc/tzc0|self/memory[0-9]*)$" || true)
    [ -z "$bad" ] || { echo "endpoint lanes over" $bad; return 1; }
    if grep -q " intra-node cfg#" "$log"
    then
        echo "UCX saw ranks on the same node"
        return 1
    fi
    # one host per rank, and its veth received what the rank received
    hosts=$(grep -E "^rank [0-9]+ on tzc-host[0-9]+ received" "$log" |
            awk '{ print $4 }' | sort -u | wc -l)
    [ "$hosts" -eq "$n" ] || { echo "ranks on $hosts hosts, not $n"
                               return 1; }
    while read -r host min
    do
        i=${host#tzc-host}
        rx=$(mpi_host_rx_bytes "$i")
        echo "    $host: $min payload bytes received by its rank," \
             "$rx bytes by its veth"
        [ "$rx" -ge "$min" ] || return 1
    done < <(awk '/^rank [0-9]+ on tzc-host[0-9]+ received/ {
                      print $4, $6 }' "$log")
}

# run_case <mpi> <mode> <n>
run_case() {
    local mpi=$1 mode=$2 n=$3 prog=$treedir/mpi/tcp_zc_mpi_check-$1
    local name="mpi $mpi $mode $n ranks on $n hosts over tcp_zc"
    local log=$logdir/mpi-$mpi-$mode-np$n.log rc=0 start=$SECONDS why

    mpi_hosts_up "$n"
    mpi_run "$mpi" "$n" "$log" 120 "$prog" "$mode" || rc=$?
    if [ $rc -eq 0 ] && why=$(check_log "$log" "$n" "$mpi")
    then
        echo "[       OK ] $name ($((SECONDS - start)) s)"
        printf "%s\n" "$why"
        grep -E "^pingpong +(1|65536|67108864) bytes|verified" "$log" |
            sed 's/^/    /'
    else
        echo "[  FAILED  ] $name (exit $rc: ${why:-}; see $log)"
        grep -vE "UCX  INFO" "$log" | tail -n 15 | sed 's/^/    /'
    fi
    mpi_hosts_down
}

echo "tcp_zc: MPI over UCX $ucx_version of $treedir" >&2
for mpi in ${MPI_IMPLS:-openmpi mpich}
do
    if ! command -v "mpicc.$mpi" >/dev/null
    then
        echo "[     SKIP ] mpi $mpi: mpicc.$mpi is not installed" \
             "(deps.sh installs it)"
        continue
    fi
    log=$logdir/mpi-$mpi-build.log
    if ! "mpicc.$mpi" -O2 -Wall -Werror -pthread \
         -o "$treedir/mpi/tcp_zc_mpi_check-$mpi" \
         "$scripts/mpi/tcp_zc_mpi_check.c" >"$log" 2>&1
    then
        echo "[  FAILED  ] mpi $mpi: compiling the program (see $log)"
        continue
    fi
    for spec in ${MPI_MODES:-check:2 check:4 threads:2}
    do
        run_case "$mpi" "${spec%:*}" "${spec#*:}"
    done
done

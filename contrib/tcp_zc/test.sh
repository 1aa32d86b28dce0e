#!/bin/bash -eu
#
# Run the tcp_zc tests of a UCX build inside network namespaces which this
# script creates, so no test can reach an interface of the machine:
#  - the module's own tests (test_tcp_zc*) with "lo" and a veth pair with
#    addresses from 198.51.100.0/24 and 2001:db8:5133::/64, as root and again
#    as an unprivileged user (nobody, no capabilities, the 8 MiB locked-memory
#    limit to which MSG_ZEROCOPY and io_uring charge the pages they pin);
#  - the module compiled in UCX's release configuration with gcc and clang
#    (release-build.sh), and a short run of each fuzz target (fuzz.sh);
#  - UCX's generic UCT tests instantiated for tcp_zc (tcp_zc/*) with "lo" only,
#    once per zero-copy send engine, with zero-copy forced on for all sizes
#    (on lo the kernel copies, so the default "auto" would soon stop using it);
#  - UCX's UCP tests instantiated for tcp_zc, the groups in UCP_FILTER, with
#    "lo" only;
#  - UCX's protocol report (ucx_info) of an endpoint with peer error
#    handling, and with UCX's default transports on lo and veth;
#  - ucx_perftest over UCP with UCX_TLS=tcp_zc,self (eager and rendezvous
#    sizes), with "lo" only, and a check that large tagged messages go by
#    rendezvous with tcp_zc's zero-copy RMA (UCX's own protocol report, and
#    the bytes tcp_zc sent zero-copy);
#  - MPI programs with Debian's Open MPI and MPICH over tcp_zc, 2 and 4
#    ranks, each rank on a "host" of its own (network namespaces joined by
#    veths and a bridge), on either tree (mpi-test.sh);
#  - the guest tests (test/vm/vm-test.sh: a QEMU guest whose virtio-net
#    sends to a namespace, the real zero-copy path), under a minute.
# Ends with one line "N passed, N failed, N skipped"; exits non-zero if a test
# failed or none ran.
#
#   test.sh <tree-build-dir>
#
# MODULE_FILTER, GENERIC_FILTER, UCP_FILTER and UNPRIV_FILTER override the
# gtest filters ("-" skips); RELEASE_BUILD=n, FUZZ_TEST=n, UCP_PERFTEST=n,
# MPI_TEST=n and VM_TEST=n skip those stages.
#

treedir=$(cd "$1" && pwd)
gtest=$treedir/obj/test/gtest/gtest
logdir=$treedir/test-logs
timeout_sec=${TCP_ZC_TEST_TIMEOUT:-1200}
module_filter=${MODULE_FILTER:-*test_tcp_zc*}
# as an unprivileged user too: privileges change the locked-memory limit
# which zero-copy sends are charged to, and netlink and ethtool answer EPERM
unpriv_filter=${UNPRIV_FILTER:-$module_filter}
# UCX's UCT tests: all tcp_zc instances but the UCP ones, and UCX 1.13's
# test_md.invalidate, which expects registrations of one buffer to share one
# registration (as the ib md's cache does; master's test does not)
generic_filter=${GENERIC_FILTER:-tcp_zc/*:-tcp_zc/test_ucp*:tcp_zc/test_proto_reset*:tcp_zc/test_md.invalidate/*}
# UCP: tag matching (eager, rendezvous), active messages (eager,
# rendezvous), RMA, atomics (emulated), memory mapping, stream, peer failure,
# wireup, protocol restart
ucp_groups="test_ucp_tag_match test_ucp_tag_match_rndv test_ucp_tag_xfer
            test_ucp_tag_probe test_ucp_tag_cancel test_ucp_am test_ucp_am_nbx
            test_ucp_am_nbx_rndv test_ucp_rma test_ucp_atomic32
            test_ucp_atomic64 test_ucp_mmap test_ucp_stream
            test_ucp_peer_failure test_ucp_wireup_1sided
            test_ucp_wireup_2sided test_proto_reset"
# (the wireup stress tests take 20 s each on 1.13, tcp's 80 s: not in CI)
ucp_filter=${UCP_FILTER:-$(printf "tcp_zc/%s.*:" $ucp_groups)-*.stress_connect*}

if [ ! -x "$gtest" ]
then
    echo "tcp_zc: $gtest is missing: build with gtest first" >&2
    exit 1
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

netns=tcpzc-test-$$
veth0=tzc$$a
veth1=tzc$$b
cleanup() {
    $sudo ip netns delete "$netns" 2>/dev/null || true
}
trap cleanup EXIT INT TERM

nsrun() { $sudo ip netns exec "$netns" "$@"; }

# new namespace with lo up, and a veth pair if asked
make_netns() {
    cleanup
    $sudo ip netns add "$netns"
    nsrun ip link set lo up
    if [ "$1" = "veth" ]
    then
        nsrun ip link add "$veth0" type veth peer name "$veth1"
        nsrun ip addr add 198.51.100.1/24 dev "$veth0"
        nsrun ip addr add 198.51.100.2/24 dev "$veth1"
        nsrun ip addr add 2001:db8:5133::1/64 dev "$veth0" nodad
        nsrun ip addr add 2001:db8:5133::2/64 dev "$veth1" nodad
        nsrun ip link set "$veth0" up
        nsrun ip link set "$veth1" up
    fi
}

passed=0
failed=0
skipped=0

# run_gtest <name> <netns kind> <filter> [env...]
run_gtest() {
    local name=$1 kind=$2 filter=$3 log=$logdir/gtest-$1.log
    shift 3

    [ "$filter" != "-" ] || return 0
    make_netns "$kind"
    echo "tcp_zc: gtest '$filter' in network namespace $netns ($kind)" >&2
    set +e
    nsrun env "$@" $as_user timeout -k 10 "$timeout_sec" "$gtest" \
        --gtest_filter="$filter" 2>&1 | tee "$log"
    local rc=${PIPESTATUS[0]}
    set -e

    # UCX's gtest reports a skipped test as "[ SKIP ]" followed by "[ OK ]"
    local p f s
    read -r p f s < <(awk '
        /^\[ RUN      \]/                { skip = 0 }
        /\[ *SKIP/                       { skip = 1 }
        /^\[       OK \]/                { if (skip) s++; else p++ }
        /^\[  FAILED  \] .*\([0-9]+ ms\)/ { f++ }
        END { printf "%d %d %d\n", p, f, s }' "$log")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]
    then
        echo "tcp_zc: gtest exited with status $rc" >&2
        f=$((f + 1))
    fi

    echo "tcp_zc: $name: $p passed, $f failed, $s skipped" >&2
    passed=$((passed + p))
    failed=$((failed + f))
    skipped=$((skipped + s))
}

# run_gtest_unprivileged <name> <netns kind> <filter> [env...]: run_gtest as
# the user nobody without capabilities, with an ordinary user's locked-memory
# limit (Linux's default, 8 MiB), in a working directory of its own
as_user=""
run_gtest_unprivileged() {
    local workdir

    [ "$3" != "-" ] || return 0
    workdir=$($sudo mktemp -d /tmp/tcp_zc-unpriv.XXXXXX)
    $sudo chown nobody "$workdir"
    as_user="env -C $workdir prlimit --memlock=8388608
             setpriv --reuid=nobody --regid=$(id -g nobody) --clear-groups
             --inh-caps=-all --bounding-set=-all --no-new-privs"
    run_gtest "$@"
    as_user=""
    $sudo rm -rf "$workdir"
}

# run_perftest <test> <size>: one UCP ucx_perftest run over tcp_zc
run_perftest() {
    local test=$1 size=$2 port=$((30000 + $$ % 10000 + RANDOM % 1000))
    local log=$logdir/perftest-$test-$size.log
    local perftest=$treedir/install/bin/ucx_perftest
    local env="UCX_TLS=tcp_zc,self UCX_NET_DEVICES=lo"

    nsrun env $env timeout 60 "$perftest" -p $port >"$log.server" 2>&1 &
    local server=$!
    sleep 0.5
    if nsrun env $env timeout 60 "$perftest" 127.0.0.1 -p $port -t "$test"            -s "$size" -n 200 >"$log" 2>&1 && grep -q "^Final:" "$log" &&
       wait $server
    then
        echo "[       OK ] ucp perftest $test $size"
        passed=$((passed + 1))
    else
        echo "[  FAILED  ] ucp perftest $test $size (see $log)"
        tail -n 5 "$log"
        failed=$((failed + 1))
        kill $server 2>/dev/null || true
    fi
}

# protocol_report <name> <features> <dev> [env...]: UCX's own report of the
# protocols of an endpoint to another host (ucx_info -P inter) has large
# tagged messages go by rendezvous zero-copy over tcp_zc/<dev> (master: the
# protocol selected per size; 1.13: the rendezvous threshold and the RMA
# lane). "e" in the features asks for peer error handling, where UCP takes
# RMA lanes only from mds which invalidate memory.
protocol_report() {
    local name=$1 features=$2 dev=$3 log=$logdir/proto-report-$1.log ok=1
    shift 3

    nsrun env "$@" timeout 60 "$treedir/install/bin/ucx_info" -e \
        -u "$features" -P inter >"$log" 2>&1 || ok=0
    if grep -q "| *Range *|" "$log"
    then
        awk '/tagged message by ucp_tag_send\* from host memory/ { t = 1 }
             t && /\.\.inf/ { print; exit }' "$log" |
            grep -E "rendezvous zero-copy.*\| *tcp_zc/$dev" >/dev/null ||
            ok=0
    else
        grep -E "^# +tag_send: .*<rndv>\.\.\(inf\)" "$log" >/dev/null &&
            grep -E "lane\[[0-9]+\]: .*tcp_zc/$dev.* rma_bw" "$log" \
                >/dev/null || ok=0
    fi

    if [ "$ok" -eq 1 ]
    then
        echo "[       OK ] ucp protocol report: $name"
        passed=$((passed + 1))
    else
        echo "[  FAILED  ] ucp protocol report: $name (see $log)"
        grep -E "tag_send|lane\[|rendezvous|\.\.inf" "$log" | head -n 20
        failed=$((failed + 1))
    fi
}

# rendezvous_check: large tagged messages go by rendezvous with tcp_zc's
# zero-copy RMA. UCX's own report of an endpoint's protocols must say so
# (master: the protocol selected per size; 1.13: the rendezvous threshold and
# the RMA lane), and a transfer of 4 MiB messages must have its bytes sent
# zero-copy by tcp_zc (the GET answers of the sender; zero-copy forced on,
# since the kernel copies on lo)
rendezvous_check() {
    local size=4194304 iters=20 port=$((30000 + $$ % 10000 + RANDOM % 1000))
    local log=$logdir/rendezvous env ok=1 bytes
    env="UCX_TLS=tcp_zc,self UCX_NET_DEVICES=lo UCX_TCP_ZC_ZCOPY=y"

    # an endpoint to itself: without self, tcp_zc carries it
    nsrun env $env UCX_TLS=tcp_zc timeout 60 "$treedir/install/bin/ucx_info" \
        -e -u t \
        >"$log-info.log" 2>&1 || ok=0
    if grep -q "| *Range *|" "$log-info.log"
    then
        # the row up to "inf" of the plain tag_send table
        awk '/tagged message by ucp_tag_send\* from host memory/ { t = 1 }
             t && /\.\.inf/ { print; exit }' "$log-info.log" |
            grep -E "rendezvous zero-copy.*\| *tcp_zc/lo" || ok=0
    else
        grep -E "^# +tag_send: .*<rndv>\.\.\(inf\)" "$log-info.log" &&
            grep -E "lane\[[0-9]+\]: .*tcp_zc/lo.* rma_bw" "$log-info.log" ||
            ok=0
    fi

    nsrun env $env timeout 60 "$treedir/install/bin/ucx_perftest" -p $port \
        >"$log-server.log" 2>&1 &
    local server=$!
    sleep 0.5
    nsrun env $env UCX_LOG_LEVEL=debug timeout 60 \
        "$treedir/install/bin/ucx_perftest" 127.0.0.1 -p $port -t tag_bw \
        -s $size -n $iters >"$log-client.log" 2>&1 || ok=0
    wait $server || ok=0
    bytes=$(awk '/tcp_zc iface .*zero-copy engine/ {
                     for (i = 1; i < NF; ++i) if ($(i + 1) == "bytes,") s += $i
                 } END { print s + 0 }' "$log-client.log")
    echo "tcp_zc: rendezvous: $bytes bytes sent zero-copy by the sender" >&2
    if [ "$ok" -eq 1 ] && [ "$bytes" -ge $((size * iters)) ]
    then
        echo "[       OK ] ucp rendezvous over tcp_zc zero-copy RMA"
        passed=$((passed + 1))
    else
        echo "[  FAILED  ] ucp rendezvous over tcp_zc zero-copy RMA (see $log-*)"
        failed=$((failed + 1))
    fi
}

# run_lines <name> <command...>: a stage which prints one gtest-like line
# per result ("[       OK ]", "[  FAILED  ]", "[     SKIP ]")
run_lines() {
    local name=$1 log=$logdir/$1.log
    shift

    set +e
    "$@" 2>&1 | tee "$log"
    local rc=${PIPESTATUS[0]}
    set -e

    local p f s
    p=$(grep -c "^\[       OK \]" "$log" || true)
    f=$(grep -c "^\[  FAILED  \]" "$log" || true)
    s=$(grep -c "^\[     SKIP \]" "$log" || true)
    if [ $((p + f + s)) -eq 0 ] || { [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; }
    then
        echo "[  FAILED  ] $name: exit status $rc (see $log)"
        f=$((f + 1))
    fi

    echo "tcp_zc: $name: $p passed, $f failed, $s skipped" >&2
    passed=$((passed + p))
    failed=$((failed + f))
    skipped=$((skipped + s))
}

mkdir -p "$logdir"
run_gtest module veth "$module_filter" TCP_ZC_TEST_VETH="$veth0 $veth1"
run_gtest_unprivileged module-unprivileged veth "$unpriv_filter" \
    TCP_ZC_TEST_VETH="$veth0 $veth1"

# the module compiles without warnings in UCX's release configuration and
# with clang; the fuzz targets run a short time each
if [ "${RELEASE_BUILD:-y}" = "y" ]
then
    run_lines release-build "$(dirname "$0")/release-build.sh" "$treedir"
fi
if [ "${FUZZ_TEST:-y}" = "y" ]
then
    run_lines fuzz "$(dirname "$0")/fuzz.sh" --test "$treedir"
fi
for engine in errqueue uring
do
    run_gtest generic-$engine lo "$generic_filter" UCX_TCP_ZC_TX_ENGINE=$engine \
        UCX_TCP_ZC_ZCOPY=y UCX_TCP_ZC_ZCOPY_THRESH=1
done
# test_proto_reset.get_offload_bcopy restarts a request which has sent the
# first of its two GET fragments and not the second. The answers of one
# connection come in pairs, so with an even window of PUT/GET operations
# (the default, 256) the window always ends between two requests and the
# test finds none in the middle: an odd one makes it find one
run_gtest ucp lo "$ucp_filter" UCX_TCP_ZC_MAX_RMA_OUTSTANDING=255

if [ "${UCP_PERFTEST:-y}" = "y" ]
then
    make_netns lo
    for spec in tag_lat:8 tag_bw:65536 tag_bw:1048576 ucp_put_bw:1048576 \
                ucp_get:1048576
    do
        run_perftest "${spec%:*}" "${spec#*:}"
    done
    rendezvous_check

    # peer error handling keeps tcp_zc's rendezvous zero-copy (its md
    # invalidates); UCX's default transports pick tcp_zc on lo and veth
    make_netns veth
    protocol_report peer-error-handling te lo UCX_TLS=tcp_zc \
        UCX_NET_DEVICES=lo
    protocol_report default-tls-lo t lo UCX_NET_DEVICES=lo
    protocol_report default-tls-veth t "$veth0" UCX_NET_DEVICES="$veth0"
fi

if [ "${MPI_TEST:-y}" = "y" ]
then
    # UCX keeps its ABI backward compatible: Debian's MPIs, built against
    # UCX 1.13, run over either tree's libraries
    run_lines mpi "$(dirname "$0")/mpi-test.sh" "$treedir"
fi

if [ "${VM_TEST:-y}" = "y" ]
then
    vm_log=$logdir/vm-test.log
    set +e
    "$(dirname "$0")/../../test/vm/vm-test.sh" "$treedir" 2>&1 | tee "$vm_log"
    set -e
    p=""
    read -r p f s < <(awk '/^[0-9]+ passed, [0-9]+ failed/ {
                              print $1, $3, $5 }' "$vm_log" | tail -n 1) ||
        true
    if [ -z "$p" ]
    then
        echo "[  FAILED  ] vm: no test summary (see $vm_log)"
        failed=$((failed + 1))
    else
        passed=$((passed + p))
        failed=$((failed + f))
        skipped=$((skipped + s))
    fi
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ $((passed + skipped)) -gt 0 ]

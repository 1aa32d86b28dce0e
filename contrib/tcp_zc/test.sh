#!/bin/bash -eu
#
# Run the tcp_zc tests of a UCX build inside a network namespace which this
# script creates: "lo" plus a veth pair with addresses from 198.51.100.0/24
# and 2001:db8:5133::/64 (documentation ranges).
# No test can reach an interface of the machine. Ends with one line
# "N passed, N failed, N skipped"; exits non-zero if a test failed or none ran.
#
#   test.sh <tree-build-dir> [gtest filter]
#

treedir=$(cd "$1" && pwd)
filter=${2:-${GTEST_FILTER:-*tcp_zc*}}
gtest=$treedir/obj/test/gtest/gtest
logdir=$treedir/test-logs
timeout_sec=${TCP_ZC_TEST_TIMEOUT:-1200}

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

$sudo ip netns add "$netns"
nsrun() { $sudo ip netns exec "$netns" "$@"; }
nsrun ip link set lo up
nsrun ip link add "$veth0" type veth peer name "$veth1"
nsrun ip addr add 198.51.100.1/24 dev "$veth0"
nsrun ip addr add 198.51.100.2/24 dev "$veth1"
nsrun ip addr add 2001:db8:5133::1/64 dev "$veth0" nodad
nsrun ip addr add 2001:db8:5133::2/64 dev "$veth1" nodad
nsrun ip link set "$veth0" up
nsrun ip link set "$veth1" up

mkdir -p "$logdir"
log=$logdir/gtest.log
echo "tcp_zc: running gtest '$filter' in network namespace $netns" >&2
set +e
nsrun env TCP_ZC_TEST_VETH="$veth0 $veth1" \
    timeout -k 10 "$timeout_sec" "$gtest" --gtest_filter="$filter" \
    2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e

# UCX's gtest reports a skipped test as "[ SKIP ]" followed by "[ OK ]"
read -r passed failed skipped < <(awk '
    /^\[ RUN      \]/                { skip = 0 }
    /\[ *SKIP/                       { skip = 1 }
    /^\[       OK \]/                { if (skip) s++; else p++ }
    /^\[  FAILED  \] .*\([0-9]+ ms\)/ { f++ }
    END { printf "%d %d %d\n", p, f, s }' "$log")

if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]
then
    echo "tcp_zc: gtest exited with status $rc" >&2
    failed=$((failed + 1))
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ $((passed + skipped)) -gt 0 ]

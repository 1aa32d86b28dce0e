#!/bin/bash -eu
#
# Run ucx_perftest for UCX's tcp and for tcp_zc side by side, on lo inside a
# network namespace this script creates (no traffic leaves it), and print
# one table with the ratio tcp_zc/tcp for each test and size.
#
#   perf-compare.sh <tree-build-dir> [short|full]
#

treedir=$(cd "$1" && pwd)
preset=${2:-short}
perftest=$treedir/install/bin/ucx_perftest
port=$((20000 + $$ % 10000))

case "$preset" in
short)
    iters=2000
    tests="uct:am_bw:bcopy:8192 uct:put_bw:zcopy:65536 uct:put_bw:zcopy:1048576
           ucp:tag_lat::8 ucp:tag_bw::65536 ucp:tag_bw::1048576"
    ;;
full)
    iters=5000
    tests=""
    for size in 8 1024 8192 65536; do
        tests="$tests uct:am_lat:short:$size uct:am_bw:bcopy:$size"
    done
    for size in 65536 262144 1048576 4194304 16777216; do
        tests="$tests uct:put_bw:zcopy:$size uct:get_bw:zcopy:$size"
    done
    for size in 8 1024 65536 1048576 16777216; do
        tests="$tests ucp:tag_lat::$size ucp:tag_bw::$size ucp:ucp_put_bw::$size"
    done
    ;;
*)
    echo "unknown preset '$preset' (short, full)" >&2
    exit 1
    ;;
esac

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
netns=tcpzc-perf-$$
cleanup() { $sudo ip netns delete "$netns" 2>/dev/null || true; }
trap cleanup EXIT INT TERM
$sudo ip netns add "$netns"
$sudo ip netns exec "$netns" ip link set lo up

# run_one <api> <test> <data layout> <size> <tl>: prints "latency bandwidth"
run_one() {
    local api=$1 test=$2 layout=$3 size=$4 tl=$5 args out
    local n=$iters

    [ "$size" -lt 4194304 ] || n=$((iters / 20))
    if [ "$api" = "uct" ]
    then
        args="-t $test -x $tl -d lo -D $layout"
    else
        args="-t $test"
    fi

    port=$((port + 1))
    $sudo ip netns exec "$netns" env UCX_TLS="$tl,self" UCX_NET_DEVICES=lo \
        taskset -c 0 timeout 60 "$perftest" -p $port $args \
        >/dev/null 2>&1 &
    local server=$!
    sleep 0.3
    out=$($sudo ip netns exec "$netns" env UCX_TLS="$tl,self" \
              UCX_NET_DEVICES=lo taskset -c 1 timeout 60 "$perftest" \
              127.0.0.1 -p $port $args -s "$size" -n "$n" 2>&1 || true)
    wait $server 2>/dev/null || true
    echo "$out" | awk '/^Final:/ { print $5, $7; found = 1 }
                       END { if (!found) print "n/a n/a" }'
}

printf "%-4s %-11s %-6s %9s | %12s %12s %7s | %12s %12s %7s\n" \
       api test layout size "tcp us" "tcp_zc us" ratio \
       "tcp MB/s" "tcp_zc MB/s" ratio
for spec in $tests
do
    IFS=: read -r api test layout size <<< "$spec"
    read -r tcp_lat tcp_bw <<< "$(run_one $api $test "$layout" $size tcp)"
    read -r zc_lat zc_bw <<< "$(run_one $api $test "$layout" $size tcp_zc)"
    ratio() { awk -v a="$1" -v b="$2" \
                  'BEGIN { if (a + 0 > 0 && b != "n/a") printf "%.2f", b / a;
                           else printf "n/a" }'; }
    printf "%-4s %-11s %-6s %9s | %12s %12s %7s | %12s %12s %7s\n" \
           "$api" "$test" "${layout:--}" "$size" "$tcp_lat" "$zc_lat" \
           "$(ratio "$tcp_lat" "$zc_lat")" "$tcp_bw" "$zc_bw" \
           "$(ratio "$tcp_bw" "$zc_bw")"
done
echo "(latency: average usec per operation; bandwidth: average MB/s;"
echo " ratio = tcp_zc / tcp; on lo the kernel copies every send)"

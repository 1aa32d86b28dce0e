#!/bin/bash -eu
#
# Run ucx_perftest for UCX's tcp and for tcp_zc side by side, on lo in a
# network namespace and on a veth pair between two namespaces (198.51.100.1
# and .2, both ends named tzc0: ucx_perftest's server opens the device which
# the client names), all created and deleted by this script, so no traffic
# leaves them. Prints one table with the ratio tcp_zc/tcp for each link,
# test and size (latency for *_lat tests, bandwidth for the others), writes
# it as CSV, and draws a PNG (python3-matplotlib) next to it.
#
#   perf-compare.sh <tree-build-dir> [short|full]
#
# LINKS selects the links (default "lo veth"). Progress goes to stderr.
#

treedir=$(cd "$1" && pwd)
preset=${2:-short}
perftest=$treedir/install/bin/ucx_perftest
port=$((20000 + $$ % 10000))
links=${LINKS:-lo veth}
csv=$treedir/perf-compare-$preset.csv
png=$treedir/perf-compare-$preset.png

# api:test:layout:sizes
case "$preset" in
short)
    iters=2000
    tests="uct:am_lat:short:8 uct:am_bw:bcopy:8192 uct:put_bw:zcopy:65536,1048576
           ucp:tag_lat::8 ucp:tag_bw::65536,1048576 ucp:ucp_put_bw::1048576"
    ;;
full)
    iters=5000
    small="8,64,512,4096,32768"
    all="$small,65536,262144,1048576,4194304,16777216"
    # AM is one segment: bcopy up to the send buffer (8k for tcp and
    # tcp_zc), zcopy up to the receive segment (64k)
    tests="uct:am_lat:short:8,64,512,4096 uct:am_bw:bcopy:8,64,512,4096
           uct:am_bw:zcopy:16384,32768
           uct:put_bw:zcopy:$all uct:get_bw:zcopy:$all
           ucp:tag_lat::$all ucp:tag_bw::$all ucp:ucp_put_bw::$all"
    ;;
*)
    echo "unknown preset '$preset' (short, full)" >&2
    exit 1
    ;;
esac

. "$(dirname "$0")/netns-pair.sh" tcpzc-perf

# run_one <link> <api> <test> <layout> <size> <tl>: prints "latency bandwidth"
run_one() {
    local link=$1 api=$2 test=$3 layout=$4 size=$5 tl=$6 args out
    local n=$iters server_ns=$ns_a dev=lo addr=127.0.0.1

    [ "$size" -lt 1048576 ] || n=$((iters / 20 + 10))
    if [ "$link" = "veth" ]
    then
        server_ns=$ns_b dev=tzc0 addr=198.51.100.2
    fi
    if [ "$api" = "uct" ]
    then
        args="-t $test -x $tl -d $dev -D $layout"
    else
        args="-t $test"
    fi

    port=$((port + 1))
    $sudo ip netns exec "$server_ns" env UCX_TLS="$tl,self" \
        UCX_NET_DEVICES="$dev" taskset -c 0 timeout 60 "$perftest" \
        -p $port $args >/dev/null 2>&1 &
    local server=$!
    sleep 0.3
    out=$($sudo ip netns exec "$ns_a" env UCX_TLS="$tl,self" \
              UCX_NET_DEVICES="$dev" taskset -c 1 timeout 60 "$perftest" \
              "$addr" -p $port $args -s "$size" -n "$n" 2>&1 || true)
    wait $server 2>/dev/null || true
    echo "$out" | awk '/^Final:/ { print $5, $7; found = 1 }
                       END { if (!found) print "n/a n/a" }'
}

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b != "n/a")
                                         printf "%.2f", b / a;
                                     else printf "n/a" }'
}

echo "link,api,test,layout,size,tcp_lat_us,tcp_zc_lat_us,tcp_bw_MBs,tcp_zc_bw_MBs,ratio" \
     > "$csv"
printf "%-4s %-4s %-11s %-6s %9s | %10s %10s | %10s %10s | %6s\n" \
       link api test layout size "tcp us" "tcp_zc us" "tcp MB/s" \
       "tcp_zc MB/s" ratio
for link in $links
do
    for spec in $tests
    do
        IFS=: read -r api test layout sizes <<< "$spec"
        for size in ${sizes//,/ }
        do
            echo "tcp_zc: $link $api $test $size ..." >&2
            read -r tcp_lat tcp_bw <<< \
                "$(run_one $link $api $test "$layout" $size tcp)"
            read -r zc_lat zc_bw <<< \
                "$(run_one $link $api $test "$layout" $size tcp_zc)"
            if [[ "$test" == *_lat ]]
            then
                r=$(ratio "$tcp_lat" "$zc_lat")
            else
                r=$(ratio "$tcp_bw" "$zc_bw")
            fi
            printf "%-4s %-4s %-11s %-6s %9s | %10s %10s | %10s %10s | %6s\n" \
                   "$link" "$api" "$test" "${layout:--}" "$size" "$tcp_lat" \
                   "$zc_lat" "$tcp_bw" "$zc_bw" "$r"
            echo "$link,$api,$test,${layout:--},$size,$tcp_lat,$zc_lat,$tcp_bw,$zc_bw,$r" \
                >> "$csv"
        done
    done
done
echo "(latency: average usec per operation; bandwidth: average MB/s;"
echo " ratio = tcp_zc/tcp of latency for *_lat tests, of bandwidth otherwise;"
echo " on lo and veth the kernel copies every send)"
echo "CSV: $csv"

# Debian's python3, which python3-matplotlib belongs to
python=/usr/bin/python3
[ -x "$python" ] || python=python3
if "$python" "$(dirname "$0")/perf-plot.py" "$csv" "$png" 2>/dev/null
then
    echo "PNG: $png"
else
    echo "(no plot: python3-matplotlib is not installed)"
fi

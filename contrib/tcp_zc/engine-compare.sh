#!/bin/bash -eu
#
# Compare the send engines of tcp_zc in one run: plain (copying) sends,
# MSG_ZEROCOPY with the error queue, io_uring SENDMSG_ZC, and the default
# "auto" mode, with ucx_perftest UCT put_bw and am_bw (zcopy). Links: lo in a
# network namespace, and a veth pair between two namespaces (198.51.100.1 and
# .2, both ends named tzc0: ucx_perftest's server opens the device which the
# client names); the script creates and deletes them, no traffic leaves them. Prints
# bandwidth, the sender's CPU time per GB, the ratio to the plain engine,
# and which share of the zero-copy bytes the kernel reported copied.
#
#   engine-compare.sh <tree-build-dir> [short|full]
#
# Each case runs REPEAT times (default 3), engines interleaved, and the
# median bandwidth is reported. LINKS selects the links (default "lo veth"),
# ENGINES the engines (default "plain errqueue uring auto", plain first),
# TESTS the tests (default "put_bw am_bw").
#

treedir=$(cd "$1" && pwd)
preset=${2:-short}
perftest=$treedir/install/bin/ucx_perftest
port=$((20000 + $$ % 10000))

case "$preset" in
short) sizes="65536 1048576 16777216";           bytes=$((2 << 30)) ;;
full)  sizes="65536 262144 1048576 4194304 16777216"; bytes=$((4 << 30)) ;;
*)     echo "unknown preset '$preset' (short, full)" >&2; exit 1 ;;
esac
engines=${ENGINES:-plain errqueue uring auto}
repeat=${REPEAT:-3}
links=${LINKS:-lo veth}

. "$(dirname "$0")/netns-pair.sh" tcpzc-eng

engine_env() {
    case "$1" in
    plain)    echo "UCX_TCP_ZC_ZCOPY=n" ;;
    errqueue) echo "UCX_TCP_ZC_ZCOPY=y UCX_TCP_ZC_TX_ENGINE=errqueue" ;;
    uring)    echo "UCX_TCP_ZC_ZCOPY=y UCX_TCP_ZC_TX_ENGINE=uring" ;;
    auto)     echo "" ;;
    esac
}

# run_one <link> <test> <size> <engine>:
#   prints "MB/s cpu-s-per-GB zcopy-bytes copied-bytes"
run_one() {
    local link=$1 test=$2 size=$3 engine=$4
    local iters=$((bytes / size)) out timefile
    local env="UCX_TLS=tcp_zc UCX_TCP_ZC_SEG_SIZE=17m $(engine_env "$engine")"
    local server_ns=$ns_a dev=lo addr=127.0.0.1

    if [ "$link" = "veth" ]
    then
        server_ns=$ns_b dev=tzc0 addr=198.51.100.2
    fi

    port=$((port + 1))
    $sudo ip netns exec "$server_ns" env $env taskset -c 0 timeout 60 \
        "$perftest" -p $port -t "$test" -x tcp_zc -d "$dev" -D zcopy \
        >/dev/null 2>&1 &
    local server=$!
    sleep 0.3
    timefile=$(mktemp)
    out=$($sudo ip netns exec "$ns_a" env $env UCX_LOG_LEVEL=debug \
              taskset -c 1 timeout 60 /usr/bin/time -f "%U %S" -o "$timefile" \
              "$perftest" "$addr" -p $port -t "$test" -x tcp_zc \
              -d "$dev" -D zcopy -s "$size" -n "$iters" 2>&1 || true)
    wait $server 2>/dev/null || true
    awk -v total="$((iters * size))" -v cpu="$(cat "$timefile")" '
        /^Final:/ { bw = $7 }
        /zero-copy engine .*: [0-9]+ sends/ {
            for (i = 1; i <= NF; ++i) {
                if ($i == "bytes,")  { zbytes += $(i - 1) }
                if ($i == "reported") { cbytes += $(i - 2) }
            }
        }
        END {
            split(cpu, t, " ")
            if (bw == "") { print "n/a n/a 0 0"; exit }
            printf "%.0f %.3f %d %d\n", bw, (t[1] + t[2]) * 1e9 / total,
                   zbytes, cbytes
        }' <<< "$out"
    rm -f "$timefile"
}

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b != "n/a")
                                         printf "%.3f", b / a;
                                     else printf "n/a" }'
}

copied() {
    awk -v z="$1" -v c="$2" 'BEGIN { if (z > 0) printf "%d%%", 100 * c / z;
                                     else printf "-" }'
}

# median <values...>: the middle one ("n/a" sorts last)
median() {
    printf "%s\n" "$@" | sort -g | awk '{ v[NR] = $0 }
        END { print v[int((NR + 1) / 2)] }'
}

printf "%-4s %-6s %9s | %-8s %9s %9s %7s %7s\n" link test size engine \
       "MB/s" "cpu s/GB" "/plain" copied
for link in $links
do
    for test in ${TESTS:-put_bw am_bw}
    do
        for size in $sizes
        do
            declare -A bws=() cpus=() zbytes=() cbytes=()
            for rep in $(seq "$repeat")
            do
                for engine in $engines
                do
                    echo "tcp_zc: $link $test $size $engine #$rep ..." >&2
                    read -r bw cpu zb cb <<< \
                        "$(run_one $link $test $size $engine)"
                    bws[$engine]="${bws[$engine]:-} $bw"
                    cpus[$engine]="${cpus[$engine]:-} $cpu"
                    zbytes[$engine]=$(( ${zbytes[$engine]:-0} + zb ))
                    cbytes[$engine]=$(( ${cbytes[$engine]:-0} + cb ))
                done
            done
            plain_bw=$(median ${bws[plain]})
            for engine in $engines
            do
                printf "%-4s %-6s %9s | %-8s %9s %9s %7s %7s\n" "$link" \
                       "$test" "$size" "$engine" \
                       "$(median ${bws[$engine]})" \
                       "$(median ${cpus[$engine]})" \
                       "$(ratio "$plain_bw" "$(median ${bws[$engine]})")" \
                       "$(copied "${zbytes[$engine]}" "${cbytes[$engine]}")"
            done
            unset bws cpus zbytes cbytes
        done
    done
done
echo "(MB/s: median of $repeat ucx_perftest average bandwidths; cpu s/GB:"
echo " user+system time of"
echo " the sending process per GB sent, it polls so this follows 1/bandwidth;"
echo " /plain: bandwidth ratio to the plain engine; copied: share of the"
echo " zero-copy bytes whose notifications reported a kernel copy)"

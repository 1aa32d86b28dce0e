#!/bin/bash -eu
#
# Run ucx_perftest for UCX's tcp and for tcp_zc side by side, on lo in a
# network namespace and on a veth pair between two namespaces (198.51.100.1
# and .2, both ends named tzc0: ucx_perftest's server opens the device which
# the client names), all created and deleted by this script, so no traffic
# leaves them.
#
#   perf-compare.sh <tree-build-dir> [quick|full|short]
#
# Presets: "quick" (a few points of every row, 3 repeats, for iterating),
# "full" (every size, 5 repeats: the goals of issue 15), "short" (the demo's
# few points, 1 run each).
#
# Every point runs REPEATS times (default: quick 3, full 5, short 1), the
# two transports interleaved (tcp first in odd repeats, tcp_zc first in even
# ones), so drift of the shared machine hits both alike. The table gives the
# median with min and max per transport (latency: ucx_perftest's overall
# average usec per operation for *_lat tests; bandwidth: its overall MB/s
# for the others), the ratio tcp_zc/tcp of the medians, and for bandwidth
# tests the sending process's CPU seconds per GB (see below). A judgement
# per row against the goals of issue 15 follows, then the CSV path, and a PNG
# plot (python3-matplotlib) next to it.
#
# Sender CPU: user + system seconds of the sending ucx_perftest process
# (getrusage of the waited-for child, read with bash's "times", millisecond
# precision) over its whole life, start-up, wire-up and the <= 100 ms warm-up
# included, divided by the bytes of the measured iterations; the table gives
# it as "cpu/sys", sys being the system (kernel) part alone. The sender is
# the client for am_bw, put_bw, tag_bw and ucp_put_bw, and the server (the
# target, which answers) for get_bw and ucp_get. ucx_perftest polls, so on
# an idle machine the sender's CPU time is close to its wall time and cpu
# s/GB mostly follows 1/bandwidth; the fixed start-up part weighs more in
# short runs. The runs CSV keeps every run (iterations, values, both
# processes' user and system seconds, the client's wall time).
#
# Environment: LINKS (default "lo veth"), REPEATS, TESTS (only these test
# names of the preset, e.g. "am_lat tag_bw"), NICE (see below). Progress
# goes to stderr. Each run is bounded by a 60 s timeout; a failed run counts
# as missing (a note under the point), a transport without the operation is
# n/a.
#

treedir=$(cd "$1" && pwd)
preset=${2:-full}
bin=$treedir/install/bin
perftest=$bin/ucx_perftest
# the tree's own libraries and modules, also where the install was copied
export LD_LIBRARY_PATH=$treedir/install/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
links=${LINKS:-lo veth}
# NICE=<n>: both ucx_perftest processes at that nice value (e.g. -10, as
# root), ahead of builds on a shared machine; they poll, so for the length
# of the benchmark the rest of the machine gets little CPU
nice=""
[ -z "${NICE:-}" ] || nice="nice -n $NICE"
csv=$treedir/perf-compare-$preset.csv
runs_csv=$treedir/perf-compare-$preset-runs.csv
png=$treedir/perf-compare-$preset.png
run_count=0

small="8,64,512,4096"
all="8,64,512,4096,32768,65536,262144,1048576,4194304,16777216"
# api:test:layout:sizes; AM is one segment: bcopy up to the send buffer (8k
# for tcp and tcp_zc), zcopy up to the receive segment (64k)
case "$preset" in
quick)
    repeats=${REPEATS:-3}
    lat_iters=5000 bw_bytes=$((128 << 20)) bw_max_iters=50000
    tests="uct:am_lat:short:8,4096 ucp:tag_lat::8,4096,1048576
           uct:am_bw:bcopy:4096 uct:put_bw:zcopy:65536,1048576
           uct:get_bw:zcopy:1048576 ucp:tag_bw::65536,1048576
           ucp:ucp_put_bw::1048576 ucp:ucp_get::1048576"
    ;;
full)
    repeats=${REPEATS:-5}
    lat_iters=10000 bw_bytes=$((512 << 20)) bw_max_iters=20000
    tests="uct:am_lat:short:$small uct:am_bw:bcopy:$small
           uct:am_bw:zcopy:16384,32768
           uct:put_bw:zcopy:$all uct:get_bw:zcopy:$all
           ucp:tag_lat::$all ucp:tag_bw::$all ucp:ucp_put_bw::$all
           ucp:ucp_get::$all"
    ;;
short)
    repeats=${REPEATS:-1}
    lat_iters=2000 bw_bytes=$((64 << 20)) bw_max_iters=20000
    tests="uct:am_lat:short:8 uct:am_bw:bcopy:8192 uct:put_bw:zcopy:65536,1048576
           ucp:tag_lat::8 ucp:tag_bw::65536,1048576 ucp:ucp_put_bw::1048576"
    ;;
*)
    echo "unknown preset '$preset' (quick, full, short)" >&2
    exit 1
    ;;
esac
if [ -n "${TESTS:-}" ]
then
    selected=""
    for spec in $tests
    do
        IFS=: read -r api test layout sizes <<< "$spec"
        [[ " $TESTS " != *" $test "* ]] || selected="$selected $spec"
    done
    tests=$selected
fi

# UCX 1.13 names UCT's get bandwidth test "get" (window 1): the same test
# with master's window of 32 outstanding operations
get_bw_args="-t get_bw"
"$perftest" -h 2>&1 | grep -qw get_bw || get_bw_args="-t get -O 32"

. "$(dirname "$0")/netns-pair.sh" tcpzc-perf

# iterations <test> <size>: latency tests a fixed count (fewer for large
# messages), bandwidth tests about bw_bytes per run; ucp_get has a window of
# one operation and a round trip each, so it is bounded lower
iterations() {
    local test=$1 size=$2 n max=$bw_max_iters

    case "$test" in
    *_lat)   n=$(( (256 << 20) / size )); max=$lat_iters ;;
    ucp_get) n=$(( bw_bytes / size ));    max=$((lat_iters / 5)) ;;
    *)       n=$(( bw_bytes / size )) ;;
    esac
    [ "$n" -le "$max" ] || n=$max
    [ "$n" -ge 16 ] || n=16
    echo "$n"
}

# missing_cap <tl> <test> <layout>: the UCT operation a test needs, if the
# transport lacks it (ucx_info -d)
missing_cap() {
    local tl=$1 test=$2 layout=$3 op

    case "$test" in
    am_*)   op=am_$layout ;;
    put_*)  op=put_$layout ;;
    get_*)  op=get_$layout ;;
    *)      return 0 ;;
    esac
    $sudo ip netns exec "$ns_a" "$bin/ucx_info" -d -t "$tl" |
        grep -q "^# *$op:" || echo "$op"
}

# wait_listen <ns> <port>: until ucx_perftest's server listens (5 s at most)
wait_listen() {
    local i

    for i in $(seq 250)
    do
        $sudo ip netns exec "$1" ss -Hltn "sport = :$2" 2>/dev/null |
            grep -q . && return 0
        sleep 0.02
    done
}

# run_one <link> <api> <test> <layout> <size> <tl>: prints "iterations
# latency typical-latency bandwidth client-user client-sys server-user
# server-sys client-wall error"
run_one() {
    local link=$1 api=$2 test=$3 layout=$4 size=$5 tl=$6 args out
    local server_ns=$ns_a dev=lo addr=127.0.0.1 port n
    local stime t0 wall

    n=$(iterations "$test" "$size")
    if [ "$link" = "veth" ]
    then
        server_ns=$ns_b dev=tzc0 addr=198.51.100.2
    fi
    if [ "$api" = "uct" ]
    then
        args="-x $tl -d $dev -D $layout"
        if [ "$test" = "get_bw" ]
        then
            args="$get_bw_args $args"
        else
            args="-t $test $args"
        fi
    else
        args="-t $test"
    fi

    port=$((20000 + ($$ + run_count) % 12000))
    stime=$(mktemp)
    # bash's times: user and system seconds (ms) of the waited-for children,
    # here the one ucx_perftest process (getrusage, RUSAGE_CHILDREN)
    ( $sudo ip netns exec "$server_ns" env UCX_TLS="$tl,self" \
          UCX_NET_DEVICES="$dev" $nice taskset -c 0 timeout 60 "$perftest" \
          -p $port $args >/dev/null 2>&1 || true; times > "$stime" ) &
    local server=$!
    wait_listen "$server_ns" $port
    t0=$EPOCHREALTIME
    out=$($sudo ip netns exec "$ns_a" env UCX_TLS="$tl,self" \
              UCX_NET_DEVICES="$dev" $nice taskset -c 1 timeout 60 "$perftest" \
              "$addr" -p $port $args -s "$size" -n "$n" 2>&1 || true
          times)
    wall=$(awk -v a="$t0" -v b="$EPOCHREALTIME" \
               'BEGIN { printf "%.2f", b - a }')
    wait $server 2>/dev/null || true
    awk -v ct="$(tail -n 1 <<< "$out")" -v st="$(tail -n 1 "$stime")" \
        -v wall="$wall" -v size="$size" '
        function sec(t,    a) {
            split(t, a, "m"); sub(/s$/, "", a[2]); return a[1] * 60 + a[2]
        }
        # bandwidth from the overall usec per operation (3 decimals), not
        # the printed MB/s (2 decimals: 0.00 for small messages); MB = MiB
        /^Final:/ {
            n = $2; lat = $5; typ = $3
            bw = (lat > 0) ? sprintf("%.6g", size / (lat * 1.048576)) : "n/a"
        }
        /[Ee]rror|unsupported|not supported|failed/ && err == "" {
            err = $0; gsub(/[ \t]+/, " ", err); gsub(/,/, ";", err)
        }
        END {
            split(ct, c, " "); split(st, s, " ")
            if (err == "") err = "no result"
            if (n == "") {
                print "0 n/a n/a n/a 0 0 0 0", wall, substr(err, 1, 120)
                exit
            }
            print n, lat, typ, bw, sec(c[1]), sec(c[2]), sec(s[1]),
                  sec(s[2]), wall, "-"
        }' <<< "$out"
    rm -f "$stime"
}

# stats <values...>: "median min max count" of the numeric ones
stats() {
    printf "%s\n" "$@" | grep -E '^[0-9.]+$' | sort -g | awk '
        { v[NR] = $1 }
        END {
            if (NR == 0) { print "n/a n/a n/a 0"; exit }
            m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            print m, v[1], v[NR], NR
        }'
}

# fmt <value>: three significant digits or so
fmt() {
    awk -v v="$1" 'BEGIN {
        if (v !~ /^[0-9.e+-]+$/) { printf "%s", v; exit }
        if (v >= 100) printf "%.0f", v; else if (v >= 10) printf "%.1f", v;
        else if (v >= 1) printf "%.2f", v; else printf "%.3g", v }'
}

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b != "n/a")
                                         printf "%.3f", b / a;
                                     else printf "n/a" }'
}

echo "link,api,test,layout,size,tl,repeat,iterations,lat_us,typ_lat_us,bw_MBs,client_user_s,client_sys_s,server_user_s,server_sys_s,client_wall_s,error" \
     > "$runs_csv"
echo "link,api,test,layout,size,metric,tcp_runs,tcp_med,tcp_min,tcp_max,tcp_zc_runs,tcp_zc_med,tcp_zc_min,tcp_zc_max,ratio,cpu_side,tcp_cpu_s_per_GB,tcp_zc_cpu_s_per_GB,tcp_sys_s_per_GB,tcp_zc_sys_s_per_GB,tcp_typ_med,tcp_zc_typ_med,typ_ratio,note" \
     > "$csv"
hdr="%-4s %-3s %-10s %-5s %8s | %-22s | %-22s | %6s | %11s %11s | %5s\n"
printf "$hdr" link api test lay size "tcp med [min-max]" \
       "tcp_zc med [min-max]" ratio "tcp cpu/sys" "zc cpu/sys" typ
start=$(date +%s)
for link in $links
do
    for spec in $tests
    do
        IFS=: read -r api test layout sizes <<< "$spec"
        metric=bw_MBs side=client
        [[ "$test" != *_lat ]] || metric=lat_us side=-
        [[ "$test" != *get* ]] || side=server
        declare -A nocap=()
        for tl in tcp tcp_zc
        do
            nocap[$tl]=$(missing_cap $tl "$test" "$layout")
        done
        for size in ${sizes//,/ }
        do
            declare -A vals=() typs=() cpus=() syss=() errs=()
            for rep in $(seq "$repeats")
            do
                order="tcp tcp_zc"
                [ $((rep % 2)) -eq 1 ] || order="tcp_zc tcp"
                for tl in $order
                do
                    [ -z "${nocap[$tl]}" ] || continue
                    echo "tcp_zc: $link $api $test $size $tl #$rep ..." >&2
                    run_count=$((run_count + 1))
                    read -r n lat typ bw cu cs su ss wall err <<< \
                        "$(run_one $link $api $test "${layout:-x}" $size $tl)"
                    echo "$link,$api,$test,${layout:--},$size,$tl,$rep,$n,$lat,$typ,$bw,$cu,$cs,$su,$ss,$wall,$err" \
                        >> "$runs_csv"
                    if [ "$lat" = "n/a" ]
                    then
                        errs[$tl]=${errs[$tl]:-$err}
                        continue
                    fi
                    if [ "$metric" = "lat_us" ]
                    then
                        vals[$tl]="${vals[$tl]:-} $lat"
                        typs[$tl]="${typs[$tl]:-} $typ"
                        continue
                    fi
                    vals[$tl]="${vals[$tl]:-} $bw"
                    [ "$side" = "client" ] || { cu=$su; cs=$ss; }
                    cpus[$tl]="${cpus[$tl]:-} $(awk -v u=$cu -v s=$cs \
                        -v b=$((n * size)) 'BEGIN { print (u + s) * 1e9 / b }')"
                    syss[$tl]="${syss[$tl]:-} $(awk -v s=$cs \
                        -v b=$((n * size)) 'BEGIN { print s * 1e9 / b }')"
                done
            done
            declare -A med=() min=() max=() cnt=() cpu=() sys=() tmed=()
            note=""
            for tl in tcp tcp_zc
            do
                read -r med[$tl] min[$tl] max[$tl] cnt[$tl] <<< \
                    "$(stats ${vals[$tl]:-})"
                cpu[$tl]=$(stats ${cpus[$tl]:-} | cut -d' ' -f1)
                sys[$tl]=$(stats ${syss[$tl]:-} | cut -d' ' -f1)
                tmed[$tl]=$(stats ${typs[$tl]:-} | cut -d' ' -f1)
                if [ -n "${nocap[$tl]}" ]
                then
                    note="$note$tl has no ${nocap[$tl]} (ucx_info -d); "
                elif [ "${cnt[$tl]}" -lt "$repeats" ]
                then
                    note="$note$tl $((repeats - cnt[$tl])) failed: ${errs[$tl]:-}; "
                fi
            done
            r=$(ratio "${med[tcp]}" "${med[tcp_zc]}")
            tr=$(ratio "${tmed[tcp]}" "${tmed[tcp_zc]}")
            [ "$metric" = "lat_us" ] || tr=-
            cell() {
                [ "${cnt[$1]}" -gt 0 ] || { echo "n/a"; return; }
                echo "$(fmt ${med[$1]}) [$(fmt ${min[$1]})-$(fmt ${max[$1]})]"
            }
            cpucell() {
                [ "${cpu[$1]}" != "n/a" ] || { echo "-"; return; }
                echo "$(fmt ${cpu[$1]})/$(fmt ${sys[$1]})"
            }
            printf "$hdr" "$link" "$api" "$test" "${layout:--}" "$size" \
                   "$(cell tcp)" "$(cell tcp_zc)" "$r" \
                   "$(cpucell tcp)" "$(cpucell tcp_zc)" "${tr/n\/a/-}"
            [ -z "$note" ] || echo "     note: ${note%; }"
            echo "$link,$api,$test,${layout:--},$size,$metric,${cnt[tcp]},${med[tcp]},${min[tcp]},${max[tcp]},${cnt[tcp_zc]},${med[tcp_zc]},${min[tcp_zc]},${max[tcp_zc]},$r,$side,${cpu[tcp]},${cpu[tcp_zc]},${sys[tcp]},${sys[tcp_zc]},${tmed[tcp]},${tmed[tcp_zc]},$tr,${note%; }" \
                >> "$csv"
            unset vals typs cpus syss errs med min max cnt cpu sys tmed
        done
        unset nocap
    done
done
elapsed=$(( $(date +%s) - start ))
echo "(median [min-max] of $repeats runs per transport, interleaved; latency:"
echo " overall average usec per operation for *_lat tests, else MB/s; ratio ="
echo " tcp_zc/tcp of the medians; cpu/sys: the sender's user+system and system"
echo " CPU seconds per GB, medians (client; server for get_bw and ucp_get),"
echo " whole process; typ: ratio of the medians of ucx_perftest's typical"
echo " latency, the median operation of a run; on lo and veth the kernel copies"
echo " every send)"
echo

# Judgement per row (link, test, layout) against the goals of issue 15:
# latency (*_lat, 8 B-4 KiB) <= 1.00x tcp, bandwidth >= 1.00x tcp; with this
# machine's noise, every point's ratio within 3% of the goal and the median
# of the row's ratios at or past it; latency rows also by the typical
# latency (ucx_perftest's median operation of a run)
echo "== goals of issue 15 (ratio tcp_zc/tcp of medians of $repeats runs; PASS:"
echo "   every point within 3% of the goal, the median over the row's points at"
echo "   or past it)"
awk -F, -v repeats="$repeats" '
    function median(list,    n, v, i, j, t) {
        n = split(list, v, " ")
        for (i = 2; i <= n; ++i)
            for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; --j) {
                t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
            }
        return (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    }
    function row(key, goal, lat) {
        if (!(key in order)) { order[key] = ++nrows; keys[nrows] = key }
        isLat[key] = lat; goalText[key] = goal
    }
    function add(key, ratio) {
        sizes[key] = sizes[key] (sizes[key] == "" ? "" : ",") $5
        ratios[key] = ratios[key] " " ratio
        if (lo[key] == "" || ratio + 0 < lo[key]) lo[key] = ratio + 0
        if (hi[key] == "" || ratio + 0 > hi[key]) hi[key] = ratio + 0
    }
    NR == 1 { next }
    {
        lat = ($6 == "lat_us")
        key = sprintf("%-4s %-3s %-10s %-5s %-6s", $1, $2, $3, $4,
                      (lat && $5 > 4096) ? ">4K" : "")
        if (lat && $5 > 4096) {
            row(key, "none (informational)", 1)
        } else if (lat) {
            row(key, "<= 1.00x", 1)
        } else {
            row(key, ">= 1.00x", 0)
        }
        if ($15 == "n/a") {
            sizes[key] = sizes[key] (sizes[key] == "" ? "" : ",") $5
            if (index(na[key], $24) == 0) na[key] = na[key] $24 "; "
            next
        }
        add(key, $15)
        # the same by the typical (median) latency of an operation, which
        # a busy machine disturbs less than the average
        if (lat && $5 <= 4096 && $23 != "n/a") {
            k2 = sprintf("%-4s %-3s %-10s %-5s %-6s", $1, $2, $3, $4, "typ")
            row(k2, "<= 1.00x, typical latency", 1)
            add(k2, $23)
        }
        # master: rendezvous zero-copy lead of tag_bw >= 256 KiB
        if ($3 == "tag_bw" && $5 >= 262144) {
            k2 = sprintf("%-4s %-3s %-10s %-5s %-6s", $1, $2, $3, $4,
                         ">=256K")
            row(k2, "> 1.00x (lead, master)", 0)
            add(k2, $15)
        }
    }
    END {
        for (i = 1; i <= nrows; ++i) {
            key = keys[i]
            n = split(sizes[key], s, ",")
            range = (n > 1) ? s[1] "-" s[n] : s[1]
            if (ratios[key] == "") {
                note = na[key]; sub(/; $/, "", note)
                printf "%s %-19s n/a   %s\n", key, range, note
                continue
            }
            m = median(ratios[key])
            if (goalText[key] ~ /^none/) {
                verdict = "info"
            } else if (goalText[key] ~ /lead/) {
                verdict = (lo[key] > 1.0) ? "PASS" : "MISS"
            } else if (isLat[key]) {
                verdict = (hi[key] <= 1.03 && m <= 1.0) ? "PASS" : "MISS"
            } else {
                verdict = (lo[key] >= 0.97 && m >= 1.0) ? "PASS" : "MISS"
            }
            if (na[key] != "") { verdict = verdict "*"; star = 1 }
            printf "%s %-19s %-4s  median %.2f, points %.2f-%.2f (goal %s)\n",
                   key, range, verdict, m, lo[key], hi[key], goalText[key]
        }
        if (star) print "(*: some points n/a, see the table)"
    }' "$csv"
echo
echo "CSV: $csv (every run: $runs_csv)"
echo "time: $elapsed s for $run_count runs"

# Debian's python3, which python3-matplotlib belongs to
python=/usr/bin/python3
[ -x "$python" ] || python=python3
if "$python" "$(dirname "$0")/perf-plot.py" "$csv" "$png" 2>/dev/null
then
    echo "PNG: $png"
else
    echo "(no plot: python3-matplotlib is not installed)"
fi

#!/bin/bash -eu
#
# The main job, on one screen: what the tcp_zc build provides and what it
# does, in four steps, each with its progress:
#  1. the build: UCX version, where it is installed, tcp_zc's devices;
#  2. what this machine's kernel and network devices offer tcp_zc (the
#     summary of the capability report, ucx_tcp_zc_caps);
#  3. tcp_zc and UCX's tcp side by side on lo (perf-compare.sh short, lo
#     only), the plot written and its path printed; on lo the kernel copies
#     every send, so this shows the transport, not zero-copy;
#  4. the real zero-copy path: a QEMU guest whose virtio-net sends to a
#     network namespace (test/vm/vm-test.sh, its perftest runs only), tcp
#     and tcp_zc side by side: bytes sent zero-copy, bytes copied, bandwidth
#     as a ratio; measured under emulation (TCG).
# Details of each step go to logs in the tree's build directory.
#
#   demo.sh <tree-build-dir>
#
# DEMO_VM=n leaves step 4 out.
#

treedir=$(cd "$1" && pwd)
scripts=$(cd "$(dirname "$0")" && pwd)
bin=$treedir/install/bin
logdir=$treedir/demo-logs
steps=4
mkdir -p "$logdir"

step() {
    echo
    echo "[$1/$steps] $2"
}

# quietly <out> <err> <command...>: the command's output into files; on a
# terminal its latest progress line (stderr) is shown until it ends
quietly() {
    local out=$1 err=$2 pid rc=0 start=$SECONDS line
    shift 2

    "$@" >"$out" 2>"$err" &
    pid=$!
    while kill -0 "$pid" 2>/dev/null
    do
        if [ -t 1 ]
        then
            line=$(tail -n 1 "$err" 2>/dev/null | tr -d '\r' | cut -c1-60)
            printf "\r      %4d s  %-60s" $((SECONDS - start)) "$line"
        fi
        sleep 1
    done
    wait "$pid" || rc=$?
    if [ -t 1 ]
    then
        printf "\r%78s\r" ""
    fi
    echo "      ($((SECONDS - start)) s)"
    return "$rc"
}

# ---- 1. the build
version=$("$bin/ucx_info" -v | awk '/[Vv]ersion/ { print $NF; exit }')
step 1 "UCX $version with tcp_zc, installed in $treedir/install"
devices=$("$bin/ucx_info" -d -t tcp_zc 2>/dev/null |
          awk '/Transport: tcp_zc/ { t = 1; next }
               t && /Device:/ { printf "%s ", $3; t = 0 }')
echo "      tcp_zc devices (ucx_info -d -t tcp_zc): ${devices:-none}"
echo "      use it: UCX_TLS=tcp_zc,self <your UCX program>; settings:" \
     "ucx_info -c -f | grep TCP_ZC"

# ---- 2. the capability report's summary
step 2 "What this machine offers tcp_zc (kernel $(uname -r))"
caps=$bin/ucx_tcp_zc_caps
if [ -x "$caps" ]
then
    "$caps" >"$logdir/caps.log" 2>&1 || true
    # one line per device: the paths, and why a devmem path is not there
    awk '
        /^# device / { dev = $3; rx = ""; tx = ""; next }
        /^#   [a-z]/ && $4 == "no" {
            why = $0; sub(/^#   [^ ]+ +[^ ]+ +no +/, "", why)
            sub(/;.*/, "", why)
            why = $2 ": " why
            if ($3 ~ /devmem-rx/ && rx == "") rx = why
            if ($3 ~ /devmem-tx/ && tx == "") tx = why
        }
        /^#   paths:/ {
            line = sprintf("%-8s MSG_ZEROCOPY %s, io_uring %s, devmem-rx %s," \
                           " devmem-tx %s", dev, $4, $6, $8, $10)
            print "      " line
            if (rx != "") printf "%15s devmem-rx: %.58s\n", "", rx
            if (tx != "" && tx != rx) printf "%15s devmem-tx: %.58s\n", "", tx
        }' "$logdir/caps.log"
    echo "      (full report: $caps; here: $logdir/caps.log)"
else
    echo "      this tree has no ucx_tcp_zc_caps"
fi
echo "      lo and veth: the kernel copies every zero-copy send (step 4 shows" \
     "the real path)"

# ---- 3. tcp_zc and tcp on lo
step 3 "tcp_zc and UCX's tcp on lo (ucx_perftest, one run per point)"
rc=0
LINKS=lo quietly "$logdir/perf.log" "$logdir/perf-progress.log" \
    "$scripts/perf-compare.sh" "$treedir" short || rc=$?
if [ $rc -eq 0 ]
then
    # the table without its CPU columns, then the files written
    awk -F '|' 'NR == 1 || /^lo / {
                    printf "      %s|%s|%s|%s\n", $1, $2, $3, $4 }
                /^\(median/ { exit }' "$logdir/perf.log"
    echo "      (latency usec, bandwidth MB/s; ratio tcp_zc/tcp; on lo the" \
         "kernel copies every send)"
    grep -E "^(PNG|CSV):|no plot" "$logdir/perf.log" | sed 's/^/      /'
else
    echo "      failed (exit $rc): $(tail -n 1 "$logdir/perf-progress.log")"
    echo "      see $logdir/perf.log"
fi

# ---- 4. the guest's real zero-copy sends
if [ "${DEMO_VM:-y}" != "y" ]
then
    exit 0
fi
step 4 "Real zero-copy: a QEMU guest's virtio-net sends to a namespace"
perf_tests="uct:put_bw:zcopy:1048576:32 ucp:tag_bw::1048576:32"
rc=0
ENGINES="" TCP_ZC_VM_DEVMEM=n PERF_TESTS="$perf_tests" \
    quietly "$logdir/vm.log" "$logdir/vm-progress.log" \
    "$scripts/../../test/vm/vm-test.sh" "$treedir" || rc=$?
if ! grep -q "^vm: ucx_perftest" "$logdir/vm.log"
then
    echo "      the guest did not run (exit $rc):"
    grep -v "^ *$" "$logdir/vm-progress.log" | tail -n 2 | cut -c1-74 |
        sed 's/^/      /'
    echo "      see $logdir/vm.log and $logdir/vm-progress.log"
    exit 0
fi
echo "      measured under emulation (QEMU TCG): this shows the path, the"
echo "      ratios are no performance figures"
kernel=$(sed -n 's/^vm: guest Linux \([^;]*\);.*/\1/p' "$logdir/vm.log")
echo "      guest Linux ${kernel:-?}, sender in the guest, receiver in the" \
     "host's namespace"
printf "      %-18s %8s %9s %6s  %-30s\n" "test" "tcp MB/s" "tcp_zc" \
       "ratio" "bytes: zero-copy / copied"
for spec in $perf_tests
do
    IFS=: read -r api test layout size iters <<< "$spec"
    row=$(grep -E "^$api +$test " "$logdir/vm.log" | tail -n 1)
    read -r _ _ _ _ tcp zc rest <<< "$row"
    counters=$(sed -E 's/.*zero-copy engine [a-z_]+: //' <<< "$rest")
    zc_bytes=$(sed -nE 's/.* ([0-9]+) bytes, ([0-9]+) bytes reported.*/\1/p' \
               <<< "$counters")
    copied=$(sed -nE 's/.* ([0-9]+) bytes reported copied.*/\1/p' \
             <<< "$counters")
    ratio=$(awk -v a="${tcp:-0}" -v b="${zc:-0}" \
            'BEGIN { if (a > 0 && b > 0) printf "%.2f", b / a; else print "-" }')
    printf "      %-18s %8s %9s %6s  tcp_zc %s / %s\n" \
           "$api $test ${layout:+$layout }$((size >> 20))M" "${tcp:--}" \
           "${zc:--}" "$ratio" "${zc_bytes:-?}" "${copied:-?}"
    printf "      %-18s %8s %9s %6s  tcp    0 / all %d (kernel copies)\n" \
           "" "" "" "" $((size * iters))
done
echo "      sender CPU per GB: not recorded by the guest harness"
grep -E "^[0-9]+ passed, [0-9]+ failed" "$logdir/vm.log" |
    sed 's/^/      guest checks: /'
echo "      (details: $logdir/vm.log; every guest test: make test-vm)"

#!/bin/bash -eu
#
# MPI benchmark: latency (8 B ping-pong, half the round trip) and streaming
# bandwidth by message size between two ranks (mpi/tcp_zc_mpi_check.c
# "bench"), for what users of an Ethernet-only cluster can run:
#   - Open MPI (pml ucx) and MPICH (ch4:ucx) over tcp_zc and over UCX's tcp
#     (UCX_TLS=<tl>,self), with the UCX of each tree given (both trees'
#     builds when their directories are given);
#   - Open MPI's own TCP transport (pml ob1, btl tcp);
#   - libfabric's tcp provider through Open MPI's mtl ofi (pml cm).
# On two links: lo (both ranks in one network namespace) and "hosts" (each
# rank in a namespace, hostname and /dev/shm of its own, joined by veths and
# a bridge, mpi-hosts.sh). Each case runs <repeats> times in one job; the
# table shows the median and the largest deviation of a repeat from it. A
# case which does not run is listed with the launcher's last message.
# Writes the results as CSV and a PNG (python3-matplotlib, if installed)
# into the first tree's build directory and prints their paths.
#
#   mpi-bench.sh <tree-build-dir> [quick|full] [<second tree-build-dir>]
#
# quick: 5 repeats, 4 KiB .. 4 MiB; full: 9 repeats, 4 KiB .. 16 MiB.
# LINKS (default "lo hosts") and CASES (default all: ompi-tcp_zc ompi-tcp
# mpich-tcp_zc mpich-tcp ompi-btl-tcp ompi-ofi-tcp) select. Progress goes to
# stderr.
#

treedir=$(cd "$1" && pwd)
preset=${2:-quick}
trees="$treedir"
[ -z "${3:-}" ] || trees="$trees $(cd "$3" && pwd)"
scripts=$(cd "$(dirname "$0")" && pwd)
links=${LINKS:-lo hosts}
cases=${CASES:-ompi-tcp_zc ompi-tcp mpich-tcp_zc mpich-tcp ompi-btl-tcp
               ompi-ofi-tcp}
case "$preset" in
quick) repeats=5; max_size=$((4 << 20)) ;;
full)  repeats=9; max_size=$((16 << 20)) ;;
*) echo "unknown preset '$preset' (quick, full)" >&2; exit 1 ;;
esac
csv=$treedir/mpi-bench-$preset.csv
png=$treedir/mpi-bench-$preset.png
logdir=$treedir/mpi-bench-logs
raw=$logdir/raw.txt
mkdir -p "$logdir" "$treedir/mpi"

. "$scripts/mpi-hosts.sh"

for mpi in openmpi mpich
do
    "mpicc.$mpi" -O2 -Wall -pthread -o "$treedir/mpi/tcp_zc_mpi_check-$mpi" \
        "$scripts/mpi/tcp_zc_mpi_check.c"
done

tree_name() {
    "$1/install/bin/ucx_info" -v | awk '/[Vv]ersion/ { print $NF; exit }'
}

# run_bench <link> <case> <tree dir>: appends "link case tree metric size
# value" lines to $raw
run_bench() {
    local link=$1 name=$2 tdir=$3 mpi tl="" tree=- log rc=0 dev=lo
    [ "$link" = "lo" ] || dev=tzc0
    MPI_OMPI_PML=ucx
    case "$name" in
    ompi-btl-tcp) mpi=openmpi; MPI_OMPI_PML=btl-tcp ;;
    ompi-ofi-tcp) mpi=openmpi; MPI_OMPI_PML=ofi-tcp ;;
    ompi-*)       mpi=openmpi; tl=${name#ompi-} ;;
    mpich-*)      mpi=mpich; tl=${name#mpich-} ;;
    esac
    MPI_UCX_LIB=$tdir/install/lib
    MPI_UCX_ENV=""
    if [ -n "$tl" ]
    then
        tree=$(tree_name "$tdir")
        # info: the endpoint configurations, checked below
        MPI_UCX_ENV="UCX_TLS=$tl,self UCX_NET_DEVICES=$dev UCX_LOG_LEVEL=info"
    fi
    log=$logdir/$link-$name-$tree.log
    echo "tcp_zc: mpi bench $link $name${tl:+ (UCX $tree)}" >&2
    mpi_run "$mpi" 2 "$log" 300 "$treedir/mpi/tcp_zc_mpi_check-$mpi" \
        bench "$repeats" "$max_size" || rc=$?
    if [ $rc -ne 0 ] || ! grep -q "^bench bw" "$log"
    then
        echo "$link $name $tree failed $rc" \
             "$(grep -v "UCX  INFO" "$log" | grep -v "^ *$" | tail -n 1 |
                cut -c1-120)" >>"$raw"
        return 0
    fi
    if [ -n "$tl" ] &&
       grep -E "ep_cfg\[[0-9]+\]:| cfg#[0-9]+ " "$log" |
       sed -E 's/.*(ep_cfg\[|cfg#)//' | grep -oE "\([^)]*\)" | tr -d '()' |
       tr ' ' '\n' | sed '/^$/d' | sort -u |
       grep -qvE "^($tl/$dev|self/memory[0-9]*)$"
    then
        echo "$link $name $tree failed 0 UCX used other transports than" \
             "$tl/$dev (see $log)" >>"$raw"
        return 0
    fi
    if [ "$name" = "ompi-ofi-tcp" ] &&
       ! grep -q "mtl:ofi:prov: tcp;ofi_rxm" "$log"
    then
        echo "$link $name $tree failed 0 no \"mtl:ofi:prov: tcp;ofi_rxm\"" \
             "(see $log)" >>"$raw"
        return 0
    fi
    awk -v p="$link $name $tree" '
        /^bench lat/ { print p, "lat_usec", $3, $4 }
        /^bench bw/  { print p, "bw_MBps", $3, $4 }' "$log" >>"$raw"
}

: >"$raw"
for link in $links
do
    if [ "$link" = "lo" ]
    then
        mpi_lo_up
    else
        mpi_hosts_up 2
    fi
    for name in $cases
    do
        case "$name" in
        ompi-btl-tcp|ompi-ofi-tcp) run_bench "$link" "$name" "$treedir" ;;
        *)
            for tdir in $trees
            do
                run_bench "$link" "$name" "$tdir"
            done
            ;;
        esac
    done
    mpi_hosts_down
done

# the table: rows link/case/tree, columns latency and bandwidth by size
awk -v csv="$csv" '
    function sort(a, n,   i, j, t) {
        for (i = 2; i <= n; ++i)
            for (j = i; j > 1 && a[j - 1] > a[j]; --j) {
                t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
            }
    }
    $4 == "failed" {
        key = $1 " " $2 " " $3
        if (!(key in seen)) { seen[key] = 1; order[++nkeys] = key }
        why[key] = $0; sub(/^[^ ]+ [^ ]+ [^ ]+ failed [0-9]+ /, "", why[key])
        next
    }
    {
        key = $1 " " $2 " " $3; col = $4 " " $5
        if (!(key in seen)) { seen[key] = 1; order[++nkeys] = key }
        if (!(col in cseen)) { cseen[col] = 1; cols[++ncols] = col }
        n = ++cnt[key, col]; val[key, col, n] = $6
    }
    END {
        print "link,case,ucx,metric,size,median,min,max,repeats" > csv
        printf "%-6s %-13s %-7s %13s", "link", "case", "ucx", "lat 8B"
        for (c = 1; c <= ncols; ++c) {
            split(cols[c], cc, " ")
            if (cc[1] == "bw_MBps") {
                s = cc[2]
                s = (s >= 1048576) ? (s / 1048576) "M" : (s / 1024) "K"
                printf " %13s", "bw " s
            }
        }
        printf "\n%-28s %13s %13s ...  (median(largest deviation of" \
               " a repeat))\n", "", "usec", "MB/s"
        for (k = 1; k <= nkeys; ++k) {
            key = order[k]; split(key, kk, " ")
            printf "%-6s %-13s %-7s", kk[1], kk[2], kk[3]
            if (key in why) { printf " did not run: %s\n", why[key]; continue }
            for (c = 1; c <= ncols; ++c) {
                n = cnt[key, cols[c]]
                delete a
                for (i = 1; i <= n; ++i) a[i] = val[key, cols[c], i] + 0
                sort(a, n)
                med = (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
                dev = med - a[1]
                if (a[n] - med > dev) dev = a[n] - med
                dev = (med > 0) ? 100 * dev / med : 0
                split(cols[c], cc, " ")
                printf "%s,%s,%s,%s,%s,%g,%g,%g,%d\n", kk[1], kk[2], kk[3],
                       cc[1], cc[2], med, a[1], a[n], n > csv
                printf " %13s", sprintf("%.4g(%d%%)", med, dev + 0.5)
            }
            printf "\n"
        }
    }' "$raw"
echo
echo "CSV: $csv"

# Debian's python3, which python3-matplotlib belongs to
python=/usr/bin/python3
[ -x "$python" ] || python=python3
if "$python" -c "import matplotlib" 2>/dev/null
then
    "$python" - "$csv" "$png" <<'EOF'
import csv, sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

rows = list(csv.DictReader(open(sys.argv[1])))
links = sorted({r["link"] for r in rows}, key=lambda l: l != "lo")
fig, axes = plt.subplots(len(links), 2, figsize=(13, 4.5 * len(links)),
                         squeeze=False,
                         gridspec_kw={"width_ratios": [2.2, 1]})
for i, link in enumerate(links):
    lr = [r for r in rows if r["link"] == link]
    series = []
    for r in lr:
        s = (r["case"], r["ucx"])
        if s not in series:
            series.append(s)
    ax, axl = axes[i]
    labels, lats = [], []
    for case, ucx in series:
        label = case if ucx == "-" else "%s (UCX %s)" % (case, ucx)
        bw = sorted((int(r["size"]), float(r["median"]), float(r["min"]),
                     float(r["max"])) for r in lr
                    if (r["case"], r["ucx"]) == (case, ucx) and
                    r["metric"] == "bw_MBps")
        style = "-" if "tcp_zc" in case else "--"
        if bw:
            x = [b[0] for b in bw]
            ax.errorbar(x, [b[1] for b in bw],
                        yerr=[[b[1] - b[2] for b in bw],
                              [b[3] - b[1] for b in bw]],
                        fmt=style, marker="o", ms=3, capsize=2, label=label)
        lat = [float(r["median"]) for r in lr
               if (r["case"], r["ucx"]) == (case, ucx) and
               r["metric"] == "lat_usec"]
        if lat:
            labels.append(label)
            lats.append(lat[0])
    ax.set_xscale("log", base=2)
    ax.set_xlabel("message size (bytes)")
    ax.set_ylabel("bandwidth (MB/s), median, min..max")
    ax.set_title("MPI streaming bandwidth, 2 ranks, %s" % link)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    axl.barh(range(len(lats)), lats,
             color=["C%d" % k for k in range(len(lats))])
    axl.set_yticks(range(len(lats)))
    axl.set_yticklabels(labels, fontsize=7)
    axl.invert_yaxis()
    axl.set_xlabel("8 B latency (usec), median")
    axl.set_title("latency, %s" % link)
fig.tight_layout()
fig.savefig(sys.argv[2], dpi=110)
EOF
    echo "PNG: $png"
else
    echo "no plot: python3-matplotlib is not installed"
fi

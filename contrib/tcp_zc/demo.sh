#!/bin/bash -eu
#
# The main job: show what the tcp_zc build provides.
#
#   demo.sh <tree-build-dir>
#

treedir=$(cd "$1" && pwd)
bin=$treedir/install/bin

echo "== UCX $("$bin/ucx_info" -v | sed -n 's/^# Version //p' | head -n 1) with tcp_zc, installed in $treedir/install"
echo
echo "== ucx_info -d -t tcp_zc"
"$bin/ucx_info" -d -t tcp_zc
echo
echo "== tcp_zc configuration (ucx_info -c -f)"
"$bin/ucx_info" -c -f | awk '/^#/ { doc = doc $0 "\n"; next }
                            /^UCX_TCP_ZC_/ { printf "%s%s\n\n", doc, $0 }
                            { doc = "" }'
echo "== ucx_perftest: UCX's tcp and tcp_zc side by side on lo (short preset)"
"$(dirname "$0")/perf-compare.sh" "$treedir" short

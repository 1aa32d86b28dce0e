#!/bin/bash
#
# Runs in the test guest (vm-test.sh): the devmem tests on the patched
# netdevsim (test/vm/netdevsim/). Two netdevsim ports, linked, in two network
# namespaces of the guest: tzcdm0 (198.51.100.21, "rx") and tzcdm1
# (198.51.100.22, "tx"), 4 queues each; udmabuf is the dmabuf exporter.
#  - ncdevmem -f tzcdm0: the kernel's own binding checks (no queues, header
#    split off, a bound queue cannot be deactivated);
#  - ncdevmem RX (-l, -v 7): its own payload check of a 1 MiB pattern sent
#    from the tx namespace, each fragment a SCM_DEVMEM_DMABUF cmsg whose
#    token it returns;
#  - ncdevmem TX: lines sent from a udmabuf (bind-tx, SCM_DEVMEM_DMABUF), the
#    receiver in the rx namespace compares the bytes;
#  - tcp_zc's capability report (--probe-bind) on tzcdm0 and tzcdm1, and
#    UCX_TCP_ZC_DEVMEM_SETUP=y with its changes read back while the iface is
#    open and after it closed;
#  - tcp_zc's own gtests of its RX pool (bind-rx of a udmabuf, EEXIST of a
#    second binding), of bind-tx of a dmabuf registration and of udmabuf
#    registrations, with TCP_ZC_TEST_DEVMEM_IF naming the device;
#  - tcp_zc's devmem data path end to end: the gtest
#    test_tcp_zc_devmem_xfer in two processes, one per namespace, each with
#    an iface of UCX_TCP_ZC_DEVMEM=y: PUT (then GET back, compared) of 1 B
#    to 64 MiB between udmabuf registrations and host memory both ways, the
#    data on data connections steered into each side's RX pool, sent from
#    the dmabuf, every token given back;
#  - io_uring zero-copy receive (iou-zcrx) on tzcdm0, where it was built.
# Each result is a line "PASS|FAIL|SKIP: <text>" in <res>/devmem-results.
#
#   devmem-guest.sh <dir of netdevsim.ko, psample.ko, ncdevmem, iou-zcrx>
#                   <res> <ucx install dir> <tcp_zc_vm_check>
#

dir=$1
res=$2
install=$3
out=$res/devmem-results
: > "$out"

rx_ns=tzcdm-rx
tx_ns=tzcdm-tx
rx_if=tzcdm0
tx_if=tzcdm1
rx_addr=198.51.100.21
tx_addr=198.51.100.22
queues=4

result() {
    local verdict=$1

    shift
    echo "$verdict: $*" >> "$out"
    echo "devmem: $verdict: $*"
}
# the kernel's netlink CLI: ynl <ns> <spec> <args...>
ynl() {
    local ns=$1 spec=$2

    shift 2
    ip netns exec "$ns" timeout 60 python3 "$dir/ynl/pyynl/cli.py" \
        --no-schema --spec "$dir/ynl/specs/$spec.yaml" "$@"
}
t0=$EPOCHREALTIME
elapsed() {
    awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f s", b - a }'
}
say() { echo "devmem: $*"; }
rx() { ip netns exec $rx_ns "$@"; }
tx() { ip netns exec $tx_ns "$@"; }
counters() {
    local f line=""

    for f in /sys/kernel/debug/netdevsim/netdevsim$1/ports/0/devmem/*
    do
        line+=" $(basename "$f")=$(cat "$f")"
    done
    echo "${line# }"
}

# wait_listen <ns> <port> <pid>: up to 60 s for a TCP listener, while the
# process which is to listen runs
wait_listen() {
    local i

    for i in $(seq 300)
    do
        [ -z "$(ip netns exec "$1" ss -Hltn "sport = :$2")" ] || return 0
        kill -0 "$3" 2>/dev/null || return 1
        sleep 0.2
    done
    return 1
}

# the kernel log from here on must have no warning
klog_start=$(dmesg | wc -l)

# ---- the device ----

mountpoint -q /sys/kernel/debug ||
    mount -t debugfs debugfs /sys/kernel/debug
# the host's userspace may lack kmod: busybox's insmod then
insmod=insmod
command -v insmod >/dev/null || insmod="busybox insmod"
for mod in psample netdevsim
do
    # psample may be built in: then there is no file
    [ -f "$dir/$mod.ko" ] || [ $mod = netdevsim ] || continue
    if ! grep -q "^$mod " /proc/modules &&
       ! $insmod "$dir/$mod.ko" 2>"$res/devmem-insmod.log"
    then
        result FAIL "insmod $mod: $(cat "$res/devmem-insmod.log")"
        exit 0
    fi
done
say "netdevsim: $(tr '\0' '\n' < "$dir/netdevsim.ko" | grep -a -m 1 \
    '^vermagic=')"

ip netns add $rx_ns
ip netns add $tx_ns
# new_device_port <id> <ns> <name> <addr>
new_port() {
    local i dev=""

    echo "$1 1 $queues" > /sys/bus/netdevsim/new_device || return 1
    for i in $(seq 50)
    do
        dev=$(ls /sys/bus/netdevsim/devices/netdevsim$1/net/ 2>/dev/null |
              head -n 1)
        [ -z "$dev" ] || break
        sleep 0.1
    done
    [ -n "$dev" ] || return 1
    ip link set "$dev" netns "$2" &&
    ip -n "$2" link set "$dev" name "$3" &&
    ip -n "$2" addr add "$4/24" dev "$3" &&
    ip -n "$2" link set lo up
}
if ! new_port 11 $rx_ns $rx_if $rx_addr ||
   ! new_port 12 $tx_ns $tx_if $tx_addr
then
    result FAIL "cannot create the netdevsim ports"
    exit 0
fi
exec {rx_fd}</run/netns/$rx_ns
exec {tx_fd}</run/netns/$tx_ns
rx_idx=$(rx cat /sys/class/net/$rx_if/ifindex)
tx_idx=$(tx cat /sys/class/net/$tx_if/ifindex)
if ! echo "$rx_fd:$rx_idx $tx_fd:$tx_idx" > /sys/bus/netdevsim/link_device
then
    result FAIL "cannot link the netdevsim ports"
    exit 0
fi
rx ip link set $rx_if up
tx ip link set $tx_if up
sleep 1
if ! tx timeout 10 bash -c "echo > /dev/tcp/$rx_addr/1" 2>&1 |
     grep -q "refused"
then
    result FAIL "no connection between the linked ports"
    exit 0
fi
result PASS "two linked netdevsim ports ($rx_if $rx_addr, $tx_if" \
       "$tx_addr) in namespaces $rx_ns and $tx_ns, $queues queues each"
{
    rx ethtool -l $rx_if
    rx ethtool -g $rx_if
    rx ethtool -k $rx_if | grep ntuple
    rx ethtool -x $rx_if | head -n 4
} 2>&1 | sed 's/^/devmem: ethtool: /'

say "setup done at $(elapsed)"

# ---- ncdevmem's binding checks ----

ncdevmem=$dir/ncdevmem
rx timeout 120 "$ncdevmem" -f $rx_if > "$res/devmem-ncdevmem-check.log" 2>&1
rc=$?
if [ $rc -eq 0 ]
then
    result PASS "ncdevmem -f $rx_if: binding checks passed (no queues," \
           "header split off refused; a bound queue cannot be deactivated)"
else
    result FAIL "ncdevmem -f $rx_if: exit $rc" \
           "($(tail -n 2 "$res/devmem-ncdevmem-check.log" | tr '\n' ' '))"
fi

say "ncdevmem -f done at $(elapsed)"

# ---- ncdevmem RX ----

# ncdevmem sets header split, RSS and a flow rule itself; the ntuple
# feature is the user's part (off by default, as on real NICs)
rx ethtool -K $rx_if ntuple on

port=5201
size=$((1 << 20))
c0=$(counters 11)
rx timeout 150 "$ncdevmem" -l -f $rx_if -s $rx_addr -p $port -v 7 \
    > "$res/devmem-rx.log" 2>&1 &
rx_pid=$!
if wait_listen $rx_ns $port $rx_pid
then
    tx timeout 120 bash -c "yes \"\$(printf '\\x01\\x02\\x03\\x04\\x05\\x06')\" |
        head -c $size > /dev/tcp/$rx_addr/$port"
    send_rc=$?
else
    send_rc=listen
fi
[ "$send_rc" = "0" ] || kill $rx_pid 2>/dev/null
wait $rx_pid
rc=$?
rlog=$res/devmem-rx.log
frags=$(grep -c "^received frag_page" "$rlog")
total=$(sed -n 's/^total_received=\([0-9]*\)$/\1/p' "$rlog" | tail -n 1)
ids=$(sed -n 's/.*dmabuf_id=\([0-9]*\).*/\1/p' "$rlog" | sort -u |
      paste -sd ' ')
tokens=$(sed -n 's/.*token=\([0-9]*\).*/\1/p' "$rlog" | sort -un | wc -l)
valid=$(grep -c "^Validated buffer" "$rlog")
say "rx: $(grep -m 3 -i "bind\|dmabuf id\|got dmabuf" "$rlog" |
          paste -sd ';')"
say "rx: first cmsgs: $(grep -m 2 "^received frag_page" "$rlog" |
                        paste -sd ';')"
say "rx: counters of $rx_if before: $c0"
say "rx: counters of $rx_if after:  $(counters 11)"
if [ $rc -eq 0 ] && [ "$send_rc" = "0" ] && [ "${total:-0}" = "$size" ] &&
   grep -q "ncdevmem: ok\|ncdevmem: client exited" "$rlog" &&
   [ "$valid" -eq "$frags" ] &&
   [ "$frags" -gt 0 ]
then
    result PASS "ncdevmem RX: $size bytes in $frags SCM_DEVMEM_DMABUF" \
           "cmsgs (dmabuf id $ids, $tokens distinct tokens returned with" \
           "SO_DEVMEM_DONTNEED), every fragment validated (-v 7)"
else
    result FAIL "ncdevmem RX: exit $rc, sender exit $send_rc, received" \
           "${total:-none} of $size in $frags cmsgs, $valid validated" \
           "(see $rlog)"
fi

say "ncdevmem RX done at $(elapsed)"

# ---- ncdevmem TX ----

port=5202
tdata=$res/devmem-tx.data
{
    printf 'hello\nworld\n'
    for i in 1 2 3
    do
        yes "0123456789abcdefghijklmnopqrstuvwxyz" | tr -d '\n' |
            head -c 33333
        echo
    done
    printf 'end\n'
} > "$tdata"
c0=$(counters 12)
rx timeout 150 python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(1)
c, _ = s.accept()
with open(sys.argv[3], "wb") as f:
    while True:
        b = c.recv(65536)
        if not b:
            break
        f.write(b)
' $rx_addr $port "$res/devmem-tx.received" &
recv_pid=$!
if wait_listen $rx_ns $port $recv_pid
then
    tx timeout 120 "$ncdevmem" -f $tx_if -s $rx_addr -p $port \
        < "$tdata" > "$res/devmem-tx.log" 2>&1
    rc=$?
else
    rc=listen
fi
[ "$rc" = "0" ] || kill $recv_pid 2>/dev/null
wait $recv_pid
recv_rc=$?
tlog=$res/devmem-tx.log
say "tx: $(grep -m 1 "tx dmabuf id" "$tlog")"
say "tx: completions: $(grep -c "^tx complete" "$tlog"), $(grep -m 2 \
    "^tx complete" "$tlog" | paste -sd ';')"
say "tx: counters of $tx_if before: $c0"
say "tx: counters of $tx_if after:  $(counters 12)"
tx_bytes=$(stat -c %s "$tdata")
if [ "$rc" = "0" ] && [ $recv_rc -eq 0 ] &&
   cmp -s "$tdata" "$res/devmem-tx.received" &&
   grep -q "ncdevmem: tx ok" "$tlog"
then
    result PASS "ncdevmem TX: $tx_bytes bytes in $(grep -c "^sendmsg_ret" \
           "$tlog") sendmsg from a udmabuf ($(grep -m 1 "tx dmabuf id" \
           "$tlog" | sed 's/got //')), the receiver got them unchanged"
else
    result FAIL "ncdevmem TX: exit $rc, receiver exit $recv_rc," \
           "$(stat -c %s "$res/devmem-tx.received" 2>/dev/null || echo 0)" \
           "of $tx_bytes bytes received $(cmp "$tdata" \
           "$res/devmem-tx.received" 2>&1 | head -n 1) (see $tlog)"
fi

say "rx: counters of $rx_if after TX: $(counters 11)"
say "ncdevmem TX done at $(elapsed)"

# ---- tcp_zc's capability report ----

# caps_path <json> <path>: its state in a --json report
caps_path() {
    sed -n 's/.*"paths": *{\(.*\)}.*/\1/p' "$1" | tr ',' '\n' |
        sed -n "s/^ *\"$2\": *\([a-z]*\).*/\1/p"
}

caps=$install/bin/ucx_tcp_zc_caps
if [ -x "$caps" ]
then
    # the NIC as devmem needs it, as ncdevmem sets it: header split on,
    # hds-thresh 0, the RSS table without the last queue (tcp_zc binds it)
    ynl $rx_ns ethtool --do rings-set --json "{\"header\": {\"dev-name\":
        \"$rx_if\"}, \"tcp-data-split\": \"enabled\", \"hds-thresh\": 0}" \
        > /dev/null
    rx ethtool -X $rx_if equal $((queues - 1))
    for side in rx:$rx_ns:$rx_if tx:$tx_ns:$tx_if
    do
        IFS=: read -r name ns ifname <<< "$side"
        ip netns exec $ns timeout 60 "$caps" --probe-bind $ifname \
            > "$res/devmem-caps-$name.log" 2>&1
        ip netns exec $ns timeout 60 "$caps" --probe-bind --json $ifname \
            > "$res/devmem-caps-$name.json" 2>&1
        sed "s/^/devmem: caps $ifname: /" "$res/devmem-caps-$name.log"
    done
    rx ethtool -X $rx_if default
    dm_rx=$(caps_path "$res/devmem-caps-rx.json" devmem-rx)
    dm_tx=$(caps_path "$res/devmem-caps-tx.json" devmem-tx)
    if [ "$dm_rx" = "true" ] && [ "$dm_tx" = "true" ]
    then
        result PASS "tcp_zc capability report: devmem-rx yes on $rx_if," \
               "devmem-tx yes on $tx_if"
    else
        result FAIL "tcp_zc capability report: devmem-rx '$dm_rx' on" \
               "$rx_if, devmem-tx '$dm_tx' on $tx_if: $(grep -h \
               "bind-[rt]x  " "$res/devmem-caps-rx.log" | sed \
               's/^# *//; s/  */ /g' | paste -sd ';')"
    fi
else
    result SKIP "tcp_zc capability report: this tree has no ucx_tcp_zc_caps"
fi
say "capability report done at $(elapsed)"

# ---- UCX_TCP_ZC_DEVMEM_SETUP=y: the changes, and exactly their undo ----

# nic_state: what the setup may change, one line each
nic_state() {
    local rings

    rings=$(ynl $rx_ns ethtool --do rings-get --output-json --json \
                "{\"header\": {\"dev-name\": \"$rx_if\"}}" | tr -d '\n ')
    sed 's/.*"tcp-data-split":"\([a-z]*\)".*/tcp-data-split \1/' <<< "$rings"
    sed 's/.*"hds-thresh":\([0-9]*\).*/hds-thresh \1/' <<< "$rings"
    rx ethtool -n $rx_if | grep -v "^$"
    rx ethtool -x $rx_if | grep "^ *[0-9]*:"
}

check=$4
if [ -x "$check" ]
then
    # a NIC which needs the setup: header split off, hds-thresh 128
    ynl $rx_ns ethtool --do rings-set --json "{\"header\": {\"dev-name\":
        \"$rx_if\"}, \"tcp-data-split\": \"disabled\", \"hds-thresh\": 128}" \
        > /dev/null
    nic_state > "$res/devmem-setup-before.txt"
    hold=$(mktemp -d)
    rx timeout 120 env UCX_TLS=tcp_zc UCX_NET_DEVICES=$rx_if \
        UCX_WARN_UNUSED_ENV_VARS=n UCX_LOG_LEVEL=debug \
        UCX_TCP_ZC_DEVMEM_SETUP=y "$check" hold "$hold" 110 \
        > "$res/devmem-setup.log" 2>&1 &
    hpid=$!
    for i in $(seq 600)
    do
        [ ! -f "$hold/open" ] || break
        kill -0 $hpid 2>/dev/null || break
        sleep 0.1
    done
    nic_state > "$res/devmem-setup-during.txt"
    touch "$hold/release"
    wait $hpid
    hrc=$?
    rm -rf "$hold"
    nic_state > "$res/devmem-setup-after.txt"
    sed 's/^/devmem: setup: before: /' "$res/devmem-setup-before.txt" |
        head -n 4
    sed 's/^/devmem: setup: during: /' "$res/devmem-setup-during.txt" |
        head -n 12
    grep -h "devmem setup\|set up for devmem\|devmem is off\|devmem req" \
        "$res/devmem-setup.log" | sed 's/.*\] *//; s/^/devmem: setup: /'
    changes=$(diff "$res/devmem-setup-before.txt" \
                   "$res/devmem-setup-during.txt" | grep -c "^>")
    if [ $hrc -ne 0 ]
    then
        result FAIL "UCX_TCP_ZC_DEVMEM_SETUP=y on $rx_if: the iface holder" \
               "exit $hrc (see $res/devmem-setup.log)"
    elif ! grep -q "^tcp-data-split enabled" "$res/devmem-setup-during.txt" ||
         ! grep -q "^hds-thresh 0" "$res/devmem-setup-during.txt" ||
         ! grep -q "Action: Direct to queue $((queues - 1))" \
             "$res/devmem-setup-during.txt"
    then
        result FAIL "UCX_TCP_ZC_DEVMEM_SETUP=y on $rx_if: while open" \
               "$(head -n 2 "$res/devmem-setup-during.txt" | paste -sd ' ')," \
               "rule to queue $((queues - 1)):" \
               "$(grep -c "queue $((queues - 1))" \
                   "$res/devmem-setup-during.txt")" \
               "(see $res/devmem-setup-during.txt)"
    elif cmp -s "$res/devmem-setup-before.txt" "$res/devmem-setup-after.txt"
    then
        result PASS "UCX_TCP_ZC_DEVMEM_SETUP=y on $rx_if: while the iface" \
               "was open, header split on, hds-thresh 0, an ntuple rule to" \
               "queue $((queues - 1)), the RSS table changed ($changes lines" \
               "differ); after close every setting read back as before"
    else
        result FAIL "UCX_TCP_ZC_DEVMEM_SETUP=y on $rx_if: after close" \
               "the NIC differs: $(diff "$res/devmem-setup-before.txt" \
               "$res/devmem-setup-after.txt" | grep "^[<>]" | head -n 4 |
               paste -sd ';')"
    fi
fi
say "setup test done at $(elapsed)"

# ---- tcp_zc's RX pool, bind-tx and dmabuf registration (its gtests) ----

# gtest_devmem <name> <ns> <device> <filter>: the tests on a devmem device
gtest_devmem() {
    local name=$1 ns=$2 ifname=$3 filter=$4 log=$res/devmem-gtest-$1.log
    local rc p f s

    (cd /tmp && ip netns exec "$ns" env TCP_ZC_TEST_DEVMEM_IF="$ifname" \
        timeout 240 "$gtest" --gtest_filter="$filter") > "$log" 2>&1
    rc=$?
    # (no process substitution: the guest's /dev has no /dev/fd)
    awk '
        /^\[ RUN      \]/                { skip = 0 }
        /\[ *SKIP/                       { skip = 1 }
        /^\[       OK \]/                { if (skip) s++; else p++ }
        /^\[  FAILED  \] .*\([0-9]+ ms\)/ { f++ }
        END { printf "%d %d %d\n", p, f, s }' "$log" > "$log.counts"
    read -r p f s < "$log.counts"
    grep -h "INFO.*\(binding id\|bind-tx id\)" "$log" | sed 's/^/devmem: /'
    if [ "$rc" -eq 0 ] && [ "$f" -eq 0 ] && [ "$p" -eq 0 ]
    then
        result SKIP "tcp_zc gtests on $ifname ($filter): none in this" \
               "tree ($s skipped; UCX 1.13 has no dmabuf registration)"
    elif [ "$rc" -eq 0 ] && [ "$f" -eq 0 ]
    then
        result PASS "tcp_zc gtests on $ifname ($filter): $p passed," \
               "$s skipped"
    else
        result FAIL "tcp_zc gtests on $ifname ($filter): exit $rc, $p" \
               "passed, $f failed, $s skipped (see $log)"
    fi
}

gtest=$(dirname "$install")/obj/test/gtest/gtest
if [ -x "$gtest" ]
then
    # bind-rx needs header split on and hds-thresh 0; the last queue out of
    # the RSS table, as the capability report has it
    ynl $rx_ns ethtool --do rings-set --json "{\"header\": {\"dev-name\":
        \"$rx_if\"}, \"tcp-data-split\": \"enabled\", \"hds-thresh\": 0}" \
        > /dev/null
    rx ethtool -X $rx_if equal $((queues - 1))
    gtest_devmem rx $rx_ns $rx_if \
        '*test_tcp_zc_devmem_pool*:*test_tcp_zc_md_dmabuf*'
    gtest_devmem tx $tx_ns $tx_if '*test_tcp_zc_md_dmabuf.udmabuf*'
    rx ethtool -X $rx_if default
else
    result SKIP "tcp_zc gtests on $rx_if: no gtest in this tree"
fi
say "tcp_zc gtests done at $(elapsed)"

# ---- tcp_zc's devmem data path, between the two ports ----

if [ -x "$gtest" ]
then
    # both ports as devmem needs them, as an administrator sets them once:
    # header split on, hds-thresh 0, ntuple on, the last queue out of RSS
    for side in $rx_ns:$rx_if $tx_ns:$tx_if
    do
        IFS=: read -r ns ifname <<< "$side"
        ynl $ns ethtool --do rings-set --json "{\"header\": {\"dev-name\":
            \"$ifname\"}, \"tcp-data-split\": \"enabled\",
            \"hds-thresh\": 0}" > /dev/null
        ip netns exec $ns ethtool -K $ifname ntuple on
        ip netns exec $ns ethtool -X $ifname equal $((queues - 1))
    done
    # udmabuf refuses buffers above size_limit_mb (64 by default)
    limit=/sys/module/udmabuf/parameters/size_limit_mb
    [ ! -w $limit ] || echo 256 > $limit
    # xfer_pair <name> <devmem of a> <devmem of b> [linear]: the two
    # processes; linear: the NICs leave packets of up to 8 KiB whole
    xfer_pair() {
        local name=$1 mode_a=$2 mode_b=$3 linear=${4:-n} xdir pids="" rcs=""
        local pid ok skipped copybreak=0 dev
        local side role ns ifname mode peer_mode

        [ "$linear" = "n" ] || copybreak=8192
        for dev in 11 12
        do
            echo $copybreak > \
                /sys/kernel/debug/netdevsim/netdevsim$dev/ports/0/devmem/rx_copybreak
        done
        xdir=$(mktemp -d)
        for side in a:$rx_ns:$rx_if:$mode_a:$mode_b \
                    b:$tx_ns:$tx_if:$mode_b:$mode_a
        do
            IFS=: read -r role ns ifname mode peer_mode <<< "$side"
            (cd /tmp && ip netns exec $ns env UCX_LOG_LEVEL=diag \
                TCP_ZC_TEST_DEVMEM_IF=$ifname \
                TCP_ZC_TEST_DEVMEM_PEER_DIR=$xdir \
                TCP_ZC_TEST_DEVMEM_ROLE=$role \
                TCP_ZC_TEST_DEVMEM_MODE=$mode \
                TCP_ZC_TEST_DEVMEM_PEER_MODE=$peer_mode \
                TCP_ZC_TEST_DEVMEM_LINEAR=$linear \
                timeout 300 "$gtest" \
                --gtest_filter='*test_tcp_zc_devmem_xfer*') \
                > "$res/devmem-$name-$role.log" 2>&1 &
            pids+=" $!"
        done
        for pid in $pids
        do
            wait $pid
            rcs+=" $?"
        done
        rm -rf "$xdir"
        grep -h "devmem xfer\|Failure\|Expected\|Which is\|error" \
            "$res"/devmem-$name-[ab].log | sed 's/^/devmem: /' | head -n 60
        ok=$(grep -l "^\[       OK \] test_tcp_zc_devmem_xfer" \
             "$res"/devmem-$name-[ab].log | wc -l)
        skipped=$(grep -h -A1 "RUN.*devmem_xfer" "$res"/devmem-$name-[ab].log |
                  grep -c "SKIP")
        if [ "$rcs" = " 0 0" ] && [ "$ok" -eq 2 ] && [ "$skipped" -eq 0 ]
        then
            result PASS "tcp_zc devmem data path between $rx_if (devmem" \
                   "$mode_a) and $tx_if (devmem $mode_b), packets left" \
                   "whole up to $copybreak B: $(grep -h \
                   "data connection bytes" "$res"/devmem-$name-[ab].log |
                   sed 's/.*devmem xfer //' | tr -d '<>' | paste -sd ';')"
        elif [ "$rcs" = " 0 0" ] && [ "$skipped" -eq 2 ]
        then
            result SKIP "tcp_zc devmem data path: $(grep -h -m 1 "SKIP" \
                   "$res"/devmem-$name-a.log | sed 's/.*SKIP *\] *//')"
        else
            result FAIL "tcp_zc devmem data path ($mode_a, $mode_b): exits" \
                   "$rcs, $ok passed (see $res/devmem-$name-a.log, -b.log)"
        fi
    }

    c11=$(counters 11)
    c12=$(counters 12)
    xfer_pair xfer auto y
    say "xfer: counters of $rx_if before: $c11"
    say "xfer: counters of $rx_if after:  $(counters 11)"
    say "xfer: counters of $tx_if before: $c12"
    say "xfer: counters of $tx_if after:  $(counters 12)"
    # a peer with devmem off talks to one with it on
    xfer_pair xfer-off y n
    # linear bytes beside the fragments
    xfer_pair xfer-linear y y y
    say "xfer: counters of $rx_if after linear: $(counters 11)"

    # UCP over tcp_zc with devmem on at both ports: tcp_zc_vm_check's
    # tagged messages, every byte checked by the receiver
    if [ -x "$check" ]
    then
        port=5210
        ucp_env="UCX_TLS=tcp_zc UCX_TCP_ZC_DEVMEM=y UCX_WARN_UNUSED_ENV_VARS=n"
        sizes=16383,65536,1048576
        rx timeout 200 env $ucp_env UCX_NET_DEVICES=$rx_if "$check" server \
            $rx_addr $port -s $sizes -b 4194304 > "$res/devmem-ucp-server.log" \
            2>&1 &
        spid=$!
        if wait_listen $rx_ns $port $spid
        then
            tx timeout 200 env $ucp_env UCX_NET_DEVICES=$tx_if "$check" \
                client $rx_addr $port -s $sizes -b 4194304 \
                > "$res/devmem-ucp-client.log" 2>&1
            crc=$?
        else
            crc=listen
        fi
        [ "$crc" = "0" ] || kill $spid 2>/dev/null
        wait $spid
        src=$?
        if [ "$crc" = "0" ] && [ $src -eq 0 ]
        then
            result PASS "UCP over tcp_zc with devmem on at $rx_if and" \
                   "$tx_if (tcp_zc_vm_check, tagged messages of $sizes B," \
                   "data checked): $(tail -n 1 "$res/devmem-ucp-client.log")"
        else
            result FAIL "UCP over tcp_zc with devmem on: client exit $crc," \
                   "server exit $src: $(tail -n 2 \
                   "$res/devmem-ucp-client.log" | paste -sd ' ')"
        fi
    fi
    for ns in $rx_ns $tx_ns
    do
        ip netns exec $ns ethtool -X $(ip netns exec $ns ls /sys/class/net |
                                       grep tzcdm) default
    done
fi
say "devmem data path done at $(elapsed)"

# ---- io_uring zero-copy receive (iou-zcrx) ----

if [ -x "$dir/iou-zcrx" ]
then
    port=5205
    target=$((queues - 1))
    ynl $rx_ns ethtool --do rings-set --json "{\"header\": {\"dev-name\":
        \"$rx_if\"}, \"tcp-data-split\": \"enabled\", \"hds-thresh\": 0}" \
        > /dev/null
    rx ethtool -X $rx_if equal $target
    rule=$(rx ethtool -N $rx_if flow-type tcp4 dst-port $port action \
           $target 2>&1 | sed -n 's/.*ID \([0-9]*\).*/\1/p')
    rx timeout 120 "$dir/iou-zcrx" -s -p $port -i $rx_if -q $target \
        > "$res/devmem-zcrx.log" 2>&1 &
    zpid=$!
    if wait_listen $rx_ns $port $zpid
    then
        tx timeout 60 "$dir/iou-zcrx" -c -h $rx_addr -p $port -l 12840 \
            > "$res/devmem-zcrx-client.log" 2>&1
        crc=$?
    else
        crc=listen
    fi
    [ "$crc" = "0" ] || kill $zpid 2>/dev/null
    wait $zpid
    zrc=$?
    [ -z "$rule" ] || rx ethtool -N $rx_if delete $rule
    rx ethtool -X $rx_if default
    say "zcrx: $(tail -n 3 "$res/devmem-zcrx.log" | paste -sd ';')"
    if [ $zrc -eq 0 ] && [ "$crc" = "0" ]
    then
        result PASS "io_uring zero-copy receive (iou-zcrx) on $rx_if queue" \
               "$target: receiver and sender exit 0"
    else
        result SKIP "io_uring zero-copy receive (iou-zcrx, stretch goal)" \
               "on $rx_if queue $target: receiver exit $zrc, sender exit" \
               "$crc: $(tail -n 1 "$res/devmem-zcrx.log")"
    fi
else
    result SKIP "io_uring zero-copy receive: iou-zcrx did not build"
fi
say "iou-zcrx done at $(elapsed)"

# ---- teardown: the ports, the module, and the kernel's log ----

# page pools with pages in flight hold the bus device (their DMA mapping):
# netdevsim could be unloaded only once they are gone, so it stays loaded
ip netns delete $rx_ns
ip netns delete $tx_ns
echo 11 > /sys/bus/netdevsim/del_device
rc=$?
echo 12 > /sys/bus/netdevsim/del_device || rc=$?
sleep 5
timeout 60 python3 "$dir/ynl/pyynl/cli.py" --no-schema \
    --spec "$dir/ynl/specs/netdev.yaml" --dump page-pool-get --output-json \
    > "$res/devmem-pools.json" 2>&1
busy=$(tr -d '\n ' < "$res/devmem-pools.json" |
       grep -o '"inflight":[0-9]*' | grep -vc '"inflight":0$')
say "page pools with pages in flight 5 s after the devices went: $busy" \
    "(see $res/devmem-pools.json)"
dmesg | tail -n +$((klog_start + 1)) > "$res/devmem-dmesg.log"
bad=$(grep -c "WARNING\|BUG\|Call Trace" "$res/devmem-dmesg.log")
if [ "$rc" = "0" ] && [ "$bad" -eq 0 ]
then
    result PASS "teardown: both devices deleted; no warning in the kernel's" \
           "log since netdevsim was loaded" \
           "($(wc -l < "$res/devmem-dmesg.log") lines)"
else
    result FAIL "teardown: del_device exit $rc, $bad warning lines in the" \
           "kernel's log: $(grep -m 2 "WARNING\|BUG\|Call Trace" \
           "$res/devmem-dmesg.log" | paste -sd ';')"
fi
say "teardown done at $(elapsed)"
exit 0

#!/bin/bash -eu
#
# Run tcp_zc in a QEMU guest (TCG, no KVM needed) whose virtio-net NIC sends
# to a tap device in a network namespace which this script creates: there
# the guest kernel's sends take the real zero-copy path (the user's pages are
# kept until the peer's ACKs release them), which loopback and veth on the
# host never take (every notification there says "copied").
#
# The guest runs Debian's newest kernel (linux-image-amd64 from unstable) and
# boots from a small initramfs (busybox-static, that kernel's virtio-net and
# 9p modules) which mounts this machine's root read-only over 9p, chroots
# into it, runs the tests with this UCX tree's own binaries and a writable 9p
# share for their results, and powers off. Tests, sender or client in the
# guest, receiver or server in the namespace (198.51.100.1 on the tap,
# 198.51.100.2 in the guest):
#  - tcp_zc_vm_check (UCP tagged messages of 16383 B .. 8 MiB, around and
#    well above the zero-copy threshold), for each send engine (errqueue,
#    uring) in the default zero-copy mode "auto", twice: with UCP's own
#    protocols and 4 sends in flight, and with every message a rendezvous
#    (its data leaves the guest as one GET response of exactly its size) and
#    one in flight. Every message is verified byte for byte while each
#    send's completion callback overwrites its source buffer; the guest's
#    tcp_zc counters must show bytes sent zero-copy (in the rendezvous run:
#    exactly the sizes at or above the threshold), none reported copied and
#    no fallback to copies;
#  - ucx_perftest UCT put_bw and am_bw (zcopy) and UCP tag_bw, tcp_zc and
#    UCX's tcp side by side (TCG timings: evidence that the path works, no
#    performance figures);
#  - the capability report (ucx_tcp_zc_caps --probe-bind) of the guest's NIC,
#    where the tree has it: it must say yes to MSG_ZEROCOPY and io_uring;
#  - the devmem tests (devmem-guest.sh) on a devmem-capable netdevsim, which
#    netdevsim/build.sh builds for the guest's kernel: the kernel's ncdevmem
#    RX and TX, tcp_zc's capability report and DEVMEM_SETUP, iou-zcrx;
#    reported as skipped with the reason where it cannot be built
#    (TCP_ZC_VM_DEVMEM=n leaves them out);
#  - the tree seen at its own path in the guest, even under /tmp.
# Prints "[ OK ]"/"[ FAILED ]"/"[ SKIP ]" per check, the guest's counter
# lines, the perftest table and the wall time, and ends with "N passed,
# N failed, N skipped"; exits non-zero if a check failed.
#
#   vm-test.sh <tree-build-dir>
#
# The kernel is fetched with "apt-get download" through private apt options:
# a sources list of its own (this machine's Debian archive entries with the
# suite "unstable"), its own lists and cache under build/vm/apt; the system's
# apt configuration is not changed and nothing is installed or upgraded. The
# extracted kernel stays in build/vm/ until a newer one appears; without
# network the newest one there is used. Needs root (or sudo), /dev/net/tun,
# qemu-system-x86 and busybox-static ("make test-vm" installs them).
#
# TCP_ZC_VM_TIMEOUT limits the guest's run (default 600 s); ENGINES (default
# "errqueue uring"), SIZES (comma-separated), WINDOW (sends in flight, 4),
# RNDV_WINDOW (in the rendezvous runs, 1) and PERF_TESTS (api:test:layout:
# size:iterations, empty for none) change the tests.
#

treedir=$(cd "$1" && pwd)
srcdir=$(cd "$(dirname "$0")" && pwd)
topdir=$(cd "$srcdir/../.." && pwd)
vmdir=$topdir/build/vm
aptdir=$vmdir/apt
logdir=$treedir/vm-logs
install=$treedir/install
check=$treedir/tcp_zc_vm_check
vm_timeout=${TCP_ZC_VM_TIMEOUT:-900}
harness_start=$EPOCHREALTIME

host_addr=198.51.100.1
guest_addr=198.51.100.2
ifname=tzcvm0
ns=tcpzc-vm-$$
check_sizes=${SIZES:-16383,16384,65536,1048576,8388608}
check_bytes=$((8 << 20))
check_window=${WINDOW:-4}
rndv_window=${RNDV_WINDOW:-1}
zcopy_thresh=16384    # UCX_TCP_ZC_ZCOPY_THRESH's default
engines=${ENGINES-errqueue uring}

log() { echo "tcp_zc vm: $*" >&2; }
die() { log "$*"; exit 1; }

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

# ---- requirements ----

qemu_version=$(timeout 20 qemu-system-x86_64 --version 2>/dev/null |
               head -n 1 || true)
if [ -z "$qemu_version" ]
then
    die "qemu-system-x86_64 is missing: apt-get install qemu-system-x86"
fi
busybox=$(command -v busybox || true)
if [ -z "$busybox" ] || ! timeout 10 "$busybox" true 2>/dev/null ||
   ldd "$busybox" >/dev/null 2>&1
then
    die "no static busybox: apt-get install busybox-static"
fi
for tool in apt-get apt-cache dpkg-deb xz gzip gcc ip timeout flock
do
    command -v $tool >/dev/null || die "$tool is missing"
done
[ -x "$install/bin/ucx_perftest" ] || die "$install/bin/ucx_perftest is missing"

# ---- kernel: Debian's newest, through private apt options ----

apt_opts=(-o Dir::Etc::SourceList="$aptdir/sources.list"
          -o Dir::Etc::SourceParts="$aptdir/sources.list.d"
          -o Dir::Etc::Preferences="$aptdir/preferences"
          -o Dir::Etc::PreferencesParts="$aptdir/preferences.d"
          -o Dir::State::Lists="$aptdir/lists"
          -o Dir::State::status="$aptdir/status"
          -o Dir::Cache::Archives="$aptdir/archives"
          -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=
          -o Acquire::Languages=none
          -o APT::Sandbox::User=root)

# The machine's apt entries for its Debian release (the suite named as the
# release, e.g. "bookworm"), with the suite "unstable" and "main" only
apt_sources() {
    local codename f

    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    [ -n "$codename" ] || die "no VERSION_CODENAME in /etc/os-release"
    mkdir -p "$aptdir/lists/partial" "$aptdir/archives/partial" \
             "$aptdir/sources.list.d" "$aptdir/preferences.d"
    : > "$aptdir/status"

    for f in /etc/apt/sources.list.d/*.sources
    do
        [ -f "$f" ] || continue
        awk -v codename="$codename" '
            BEGIN { RS = "" }
            {
                types = uris = suites = signed = field = ""
                enabled = 1
                n = split($0, line, "\n")
                for (i = 1; i <= n; ++i) {
                    if (line[i] ~ /^#/) {
                        continue
                    }
                    if (line[i] ~ /^[ \t]/) {
                        if (field == "signed-by") {
                            signed = signed "\n" line[i]
                        }
                        continue
                    }
                    field = tolower(substr(line[i], 1, index(line[i], ":") - 1))
                    value = substr(line[i], index(line[i], ":") + 1)
                    gsub(/^[ \t]+|[ \t]+$/, "", value)
                    if (field == "types")          { types = value }
                    else if (field == "uris")      { uris = value }
                    else if (field == "suites")    { suites = value }
                    else if (field == "enabled")   { enabled = (value != "no") }
                    else if (field == "signed-by") { signed = value }
                }
                if (!enabled || !index(" " types " ", " deb ") ||
                    !index(" " suites " ", " " codename " ")) {
                    next
                }
                printf "Types: deb\nURIs: %s\nSuites: unstable\n", uris
                printf "Components: main\n"
                if (signed != "") {
                    printf "Signed-By: %s\n", signed
                }
                printf "\n"
            }' "$f"
    done > "$aptdir/sources.list.d/unstable.sources"

    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list
    do
        [ -f "$f" ] || continue
        awk -v codename="$codename" '
            $1 == "deb" {
                i = 2
                if ($2 ~ /^\[/) {
                    while ((i < NF) && ($i !~ /\]$/)) {
                        ++i
                    }
                    ++i
                }
                if ($(i + 1) == codename) {
                    $(i + 1) = "unstable"
                    NF = i + 1
                    print $0, "main"
                }
            }' "$f"
    done > "$aptdir/sources.list"

    if [ ! -s "$aptdir/sources.list" ] &&
       [ ! -s "$aptdir/sources.list.d/unstable.sources" ]
    then
        die "no apt source for Debian $codename to derive unstable from"
    fi
}

# Sets kernel_dir: the extracted packages of Debian's newest kernel
get_kernel() {
    local image="" abi pkgs deb old

    apt_sources
    log "looking up Debian's newest kernel (private apt lists in $aptdir)"
    if timeout 300 apt-get -q "${apt_opts[@]}" update \
           >"$vmdir/apt-update.log" 2>&1
    then
        # linux-image-amd64 depends on the versioned image package
        image=$(apt-cache "${apt_opts[@]}" depends linux-image-amd64 \
                    2>/dev/null |
                awk '$1 ~ /Depends:$/ && $2 ~ /^linux-image-[0-9]/ {
                         print $2; exit }')
    else
        log "apt-get update failed (see $vmdir/apt-update.log)"
    fi

    if [ -z "$image" ]
    then
        kernel_dir=$(ls -d "$vmdir"/kernel-*/.complete 2>/dev/null |
                     sort -V | tail -n 1)
        if [ -z "$kernel_dir" ]
        then
            die "cannot find linux-image-amd64 in Debian unstable, and" \
                "no kernel is kept in $vmdir"
        fi
        kernel_dir=$(dirname "$kernel_dir")
        log "no linux-image-amd64 in the apt lists (see" \
            "$vmdir/apt-update.log): using the kernel kept in $kernel_dir"
        return 0
    fi

    abi=${image#linux-image-}
    kernel_dir=$vmdir/kernel-$abi
    if [ -f "$kernel_dir/.complete" ]
    then
        log "kernel $abi is the newest, kept in $kernel_dir"
        return 0
    fi

    # the image package and those of its dependencies which belong to the
    # same kernel (newer Debian splits it: linux-binary-*, linux-modules-*)
    pkgs=$(apt-cache "${apt_opts[@]}" depends "$image" 2>/dev/null |
           awk -v image="$image" -v abi="-$abi" '
               $1 ~ /Depends:$/ && $2 != image &&
               length($2) > length(abi) &&
               substr($2, length($2) - length(abi) + 1) == abi { print $2 }' |
           sort -u)
    log "downloading $image $pkgs"
    rm -rf "$vmdir/debs" "$kernel_dir"
    mkdir -p "$vmdir/debs" "$kernel_dir"
    (cd "$vmdir/debs" &&
     timeout 600 apt-get -q "${apt_opts[@]}" download "$image" $pkgs) \
        >"$vmdir/apt-download.log" 2>&1 ||
        die "apt-get download failed (see $vmdir/apt-download.log)"
    for deb in "$vmdir"/debs/*.deb
    do
        timeout 300 dpkg-deb -x "$deb" "$kernel_dir" ||
            die "cannot extract $deb"
    done
    rm -rf "$vmdir/debs"
    touch "$kernel_dir/.complete"
    for old in "$vmdir"/kernel-*
    do
        [ "$old" = "$kernel_dir" ] || rm -rf "$old"
    done
}

# ---- initramfs ----

# add_module <name>: a module and what it depends on, decompressed, into the
# initramfs' /lib/modules and its load order; nothing for built-in ones
declare -A mod_seen=()
add_module() {
    local name=$1 file deps dep

    [ -z "${mod_seen[$name]:-}" ] || return 0
    mod_seen[$name]=1
    if sed 's,.*/,,; s/\.ko.*//; s/-/_/g' "$moddir/modules.builtin" |
       grep -qx "$name"
    then
        return 0
    fi
    file=$(find "$moddir/kernel" \( -name "$name.ko*" -o \
                -name "${name//_/-}.ko*" \) | head -n 1)
    [ -n "$file" ] || die "kernel $kver has no module $name"
    case "$file" in
    *.ko.xz)  timeout 60 xz -dc "$file" ;;
    *.ko.zst) timeout 60 zstd -qdc "$file" ;;
    *.ko.gz)  timeout 60 gzip -dc "$file" ;;
    *)        cat "$file" ;;
    esac > "$initrd_dir/lib/modules/$name.ko" ||
        die "cannot decompress $file"
    deps=$(tr '\0' '\n' < "$initrd_dir/lib/modules/$name.ko" |
           grep -a '^depends=' | head -n 1 | cut -d = -f 2)
    for dep in ${deps//,/ }
    do
        add_module "$dep"
    done
    echo "$name" >> "$initrd_dir/lib/modules/load"
}

make_initramfs() {
    local mod

    initrd_dir=$treedir/vm-initramfs
    initrd=$treedir/vm-initramfs-$kver.cpio.gz
    rm -f "$treedir"/vm-initramfs-*.cpio.gz
    rm -rf "$initrd_dir"
    mkdir -p "$initrd_dir"/{bin,dev,proc,sys,newroot,lib/modules}
    cp "$busybox" "$initrd_dir/bin/busybox"
    install -m 755 "$srcdir/init" "$initrd_dir/init"
    : > "$initrd_dir/lib/modules/load"
    for mod in virtio_pci virtio_net 9pnet_virtio 9p
    do
        add_module $mod
    done
    (cd "$initrd_dir" && find . | timeout 60 "$busybox" cpio -o -H newc \
        -R 0:0 2>/dev/null | timeout 60 gzip -1) > "$initrd"
    log "initramfs $initrd: busybox, modules $(paste -sd ' ' \
        "$initrd_dir/lib/modules/load")"
}

# one download at a time (both trees share build/vm)
mkdir -p "$vmdir"
exec 9> "$vmdir/.lock"
flock -w 1200 9 || die "build/vm is locked by another run for 20 minutes"
get_kernel
flock -u 9
exec 9>&-
moddir=$(find "$kernel_dir" -path '*/lib/modules/*/modules.builtin' |
         head -n 1)
[ -n "$moddir" ] || die "no lib/modules/<version> in $kernel_dir"
moddir=$(dirname "$moddir")
kver=$(basename "$moddir")
vmlinuz=$(find "$kernel_dir/boot" "$moddir" -maxdepth 1 -type f \
               -name 'vmlinuz*' 2>/dev/null | head -n 1)
[ -n "$vmlinuz" ] || die "no vmlinuz in $kernel_dir"
make_initramfs

# ---- the devmem-capable netdevsim (test/vm/netdevsim) ----

# devmem_prepare: sets devmem_dir (the guest's module and tools) or
# devmem_skip (why not)
devmem_dir=""
devmem_skip=""
devmem_prepare() {
    local mirror status dir=$vmdir/devmem/$kver start=$EPOCHREALTIME

    if [ "${TCP_ZC_VM_DEVMEM:-y}" != "y" ]
    then
        devmem_skip="TCP_ZC_VM_DEVMEM=${TCP_ZC_VM_DEVMEM}"
        return 0
    fi
    # the chroot's debootstrap; ncdevmem and the guest's checks use ethtool
    if ! "$topdir/contrib/tcp_zc/deps.sh" debootstrap ethtool >&2
    then
        devmem_skip="cannot install debootstrap and ethtool"
        return 0
    fi
    mirror=$(cat "$aptdir/sources.list" 2>/dev/null |
             awk '{ for (i = 2; i <= NF; ++i) if ($i ~ /:\/\//) {
                        print $i; exit } }')
    [ -n "$mirror" ] ||
        mirror=$(awk '$1 == "URIs:" { print $2; exit }' \
                     "$aptdir/sources.list.d/unstable.sources" 2>/dev/null)
    # else the machine's own Debian source
    [ -n "$mirror" ] ||
        mirror=$(awk '$1 == "URIs:" { print $2; exit }' \
                     /etc/apt/sources.list.d/debian.sources 2>/dev/null)
    if [ -z "$mirror" ]
    then
        devmem_skip="no Debian mirror in the apt configuration"
        return 0
    fi
    if ! timeout 1800 "$srcdir/netdevsim/build.sh" "$vmdir" "$kver" \
             "$mirror"
    then
        devmem_skip="test/vm/netdevsim/build.sh failed"
        return 0
    fi
    status=$(cat "$dir/status" 2>/dev/null || echo "skip: no status")
    devmem_wall=$(awk -v a="$start" -v b="$EPOCHREALTIME" \
                      'BEGIN { printf "%.1f", b - a }')
    if [ "$status" != "ok" ]
    then
        devmem_skip=${status#skip: }
        return 0
    fi
    devmem_dir=$treedir/vm-devmem
    rm -rf "$devmem_dir"
    mkdir -p "$devmem_dir"
    cp -r "$dir/netdevsim.ko" "$dir/ncdevmem" "$dir/ynl" "$devmem_dir/"
    [ ! -f "$dir/iou-zcrx" ] || cp "$dir/iou-zcrx" "$devmem_dir/"
    # psample, which netdevsim needs, from the kernel's own modules
    initrd_dir=$devmem_dir/psample
    mkdir -p "$initrd_dir/lib/modules"
    : > "$initrd_dir/lib/modules/load"
    mod_seen=()
    if ! (add_module psample)
    then
        devmem_skip="the guest's kernel has no psample module"
        devmem_dir=""
        return 0
    fi
    if [ -f "$initrd_dir/lib/modules/psample.ko" ]
    then
        mv "$initrd_dir/lib/modules/psample.ko" "$devmem_dir/"
    fi
    rm -rf "$initrd_dir"
}
devmem_wall=0
devmem_prepare

# ---- the test program ----

timeout 300 gcc -O2 -Wall -Werror -I"$install/include" -o "$check" \
    "$srcdir/tcp_zc_vm_check.c" -L"$install/lib" -Wl,-rpath,"$install/lib" \
    -lucp -lucs

# ---- the namespace, the servers, the guest's script ----

pids=()
cleanup() {
    local pid

    for pid in "${pids[@]}"
    do
        kill "$pid" 2>/dev/null || true
    done
    pids=()
    $sudo timeout 10 ip -n "$ns" link delete "$ifname" 2>/dev/null || true
    $sudo timeout 10 ip netns delete "$ns" 2>/dev/null || true
    [ -z "${tmp_probe:-}" ] || rm -rf "$tmp_probe"
}
trap cleanup EXIT
trap 'cleanup; exit 1' INT TERM

rm -rf "$logdir"
mkdir -p "$logdir"
[ -c /dev/net/tun ] || die "no /dev/net/tun: the guest's NIC needs a tap device"
nsip() { $sudo timeout 10 ip "$@"; }
nsip netns add "$ns"
nsip -n "$ns" link set lo up
nsip -n "$ns" tuntap add dev "$ifname" mode tap
nsip -n "$ns" addr add "$host_addr/24" dev "$ifname"
nsip -n "$ns" link set "$ifname" up

# The guest's init binds these back where its tmpfs on /tmp or /run would
# hide them; a directory under /tmp made here checks that it does
tmp_probe=$(mktemp -d /tmp/tcp_zc-vm-path.XXXXXX)
tmp_token=$$-$RANDOM-$RANDOM
echo "$tmp_token" > "$tmp_probe/token"
printf '%s\n' "$topdir" "$treedir" "$tmp_probe" > "$logdir/keep-paths"

guest_sh=$logdir/guest.sh
cat > "$guest_sh" <<EOF
#!/bin/bash
# Generated by vm-test.sh: runs in the guest, chrooted into the host's root
res=/tmp/vm-results
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp
ulimit -l unlimited
echo "tcp_zc_vm: guest kernel \$(uname -r), \$(nproc) CPUs"
uname -r > \$res/guest-kernel

# guest_run <name> <seconds> <command...>: output to <name>.log
guest_run() {
    local name=\$1 limit=\$2 start rc
    shift 2
    start=\$EPOCHREALTIME
    timeout -k 5 "\$limit" "\$@" > "\$res/\$name.log" 2>&1
    rc=\$?
    echo "\$name \$rc \$start \$EPOCHREALTIME" >> \$res/guest-status
    echo "tcp_zc_vm: \$name: exit \$rc"
}

EOF

# guest_cmd <name> <seconds> <command...>: the guest runs it, in order
guest_cmd() {
    local arg

    {
        printf 'guest_run'
        for arg in "$@"
        do
            printf ' %q' "$arg"
        done
        echo
    } >> "$guest_sh"
}

port=13000
# guest_test <name> <seconds> <server command> -- <client command>: the
# server starts now in the namespace, the client runs in the guest in order
guest_test() {
    local name=$1 limit=$2 server=()

    shift 2
    while [ "$1" != "--" ]
    do
        server+=("$1")
        shift
    done
    shift
    $sudo ip netns exec "$ns" timeout -k 5 $((vm_timeout + 30)) \
        "${server[@]}" > "$logdir/$name.server.log" 2>&1 &
    pids+=($!)
    server_pids[$name]=$!
    guest_cmd "$name" "$limit" "$@"
}

# the tree, its build directory and a directory under /tmp, at their paths
guest_cmd paths 20 bash -c 'for d in "$@"; do ls -d "$d"; done; \
    cat "$0/token"' "$tmp_probe" "$topdir/test/vm" "$check"

declare -A server_pids=()
ucx_env="UCX_NET_DEVICES=$ifname UCX_WARN_UNUSED_ENV_VARS=n"
# name:engine:window:extra UCX setting; "rndv": every message a rendezvous,
# so its data leaves the guest as one GET response of exactly its size
checks=""
for engine in $engines
do
    checks+=" check-$engine:$engine:$check_window:"
    checks+=" check-$engine-rndv:$engine:$rndv_window:UCX_RNDV_THRESH=1k"
done
for spec in $checks
do
    IFS=: read -r name engine window extra <<< "$spec"
    port=$((port + 1))
    env="UCX_TLS=tcp_zc $ucx_env UCX_TCP_ZC_TX_ENGINE=$engine $extra"
    args="-s $check_sizes -b $check_bytes -w $window"
    guest_test $name 120 \
        env $env "$check" server $host_addr $port $args -t $vm_timeout -- \
        env $env UCX_LOG_LEVEL=debug "$check" client $host_addr $port $args \
            -t 110
done

# the capability report of the guest's NIC, where the tree has the tool
caps=$install/bin/ucx_tcp_zc_caps
if [ -x "$caps" ]
then
    guest_cmd caps 60 "$caps" --probe-bind $ifname
    guest_cmd caps-json 60 "$caps" --json $ifname
fi

# the devmem tests on two netdevsim ports inside the guest
if [ -n "$devmem_dir" ]
then
    guest_cmd devmem 900 bash "$srcdir/devmem-guest.sh" "$devmem_dir" \
        /tmp/vm-results "$install" "$check"
fi

# api:test:layout:size:iterations
perf_tests=${PERF_TESTS-uct:put_bw:zcopy:1048576:32 uct:am_bw:zcopy:32768:1024
                       ucp:tag_bw::1048576:32}
perftest=$install/bin/ucx_perftest
for spec in $perf_tests
do
    IFS=: read -r api test layout size iters <<< "$spec"
    for tl in tcp tcp_zc
    do
        if [ "$api" = "uct" ]
        then
            args="-t $test -x $tl -d $ifname -D $layout"
            env_tls="UCX_TLS=$tl"
        else
            args="-t $test"
            env_tls="UCX_TLS=$tl,self"
        fi
        port=$((port + 1))
        guest_test perf-$test-$tl 90 \
            env $env_tls $ucx_env "$perftest" -p $port $args -- \
            env $env_tls $ucx_env UCX_LOG_LEVEL=debug "$perftest" \
                $host_addr -p $port $args -s $size -n $iters -w 4
    done
done

# ---- the guest ----

log "guest: Linux $kver, $qemu_version, TCG, virtio-net on $ifname" \
    "($guest_addr -> $host_addr in namespace $ns), up to $vm_timeout s"
# read-only; the host's root spans several file systems: remap inode numbers
hostroot_fsdev="local,id=hostroot,path=/,security_model=none,readonly=on"
hostroot_fsdev+=",multidevs=remap"
cmdline="console=ttyS0 panic=-1 tcp_zc_vm.ifname=$ifname"
cmdline+=" tcp_zc_vm.addr=$guest_addr/24"
# start_guest: qemu in the namespace, in the background (pid: qemu_pid)
start_guest() {
    $sudo ip netns exec "$ns" timeout -k 10 "$vm_timeout" \
        qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 2048 \
        -nodefaults -display none -no-reboot -monitor none \
        -serial "file:$logdir/console.log" \
        -kernel "$vmlinuz" -initrd "$initrd" \
        -append "$cmdline" \
        -fsdev "$hostroot_fsdev" \
        -device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot \
        -fsdev "local,id=results,path=$logdir,security_model=none" \
        -device virtio-9p-pci,fsdev=results,mount_tag=results \
        -netdev "tap,id=net0,ifname=$ifname,script=no,downscript=no" \
        -device virtio-net-pci,netdev=net0,romfile= \
        > "$logdir/qemu.log" 2>&1 &
    qemu_pid=$!
    pids+=($qemu_pid)
}

# wait_boot: 0 once the guest's init says it booted, 1 if qemu ended or
# boot_timeout passed first
wait_boot() {
    local i

    for i in $(seq $((boot_timeout * 5)))
    do
        ! grep -q "tcp_zc_vm: booted" "$logdir/console.log" 2>/dev/null ||
            return 0
        kill -0 $qemu_pid 2>/dev/null || return 1
        sleep 0.2
    done
    return 1
}

# A guest which does not come up in boot_timeout is tried once more: under
# heavy host load a TCG boot has been seen to stall (the servers still wait)
boot_timeout=${TCP_ZC_VM_BOOT_TIMEOUT:-120}
vm_start=$EPOCHREALTIME
start_guest
if ! wait_boot && kill -0 $qemu_pid 2>/dev/null
then
    log "the guest did not boot in $boot_timeout s: trying once more" \
        "(console: $logdir/console-1.log)"
    kill $qemu_pid 2>/dev/null || true
    wait $qemu_pid 2>/dev/null || true
    mv "$logdir/console.log" "$logdir/console-1.log"
    vm_start=$EPOCHREALTIME
    start_guest
fi
set +e
wait $qemu_pid
qemu_rc=$?
set -e
vm_wall=$(awk -v a="$vm_start" -v b="$EPOCHREALTIME" \
              'BEGIN { printf "%.1f", b - a }')

# servers whose client finished are done; the others get a few seconds
for i in $(seq 50)
do
    running=0
    for pid in "${server_pids[@]}"
    do
        ! kill -0 "$pid" 2>/dev/null || running=1
    done
    [ $running -eq 1 ] || break
    sleep 0.2
done
declare -A server_rc=()
for name in "${!server_pids[@]}"
do
    kill "${server_pids[$name]}" 2>/dev/null || true
    set +e
    wait "${server_pids[$name]}"
    server_rc[$name]=$?
    set -e
done
cleanup

# ---- results ----

passed=0
failed=0
skipped=0
ok()   { echo "[       OK ] vm: $*"; passed=$((passed + 1)); }
fail() { echo "[  FAILED  ] vm: $*"; failed=$((failed + 1)); }
skip() { echo "[     SKIP ] vm: $*"; skipped=$((skipped + 1)); }

# client_rc <name>: the exit status of a guest command, empty if it never ran
client_rc() {
    awk -v name="$1" '$1 == name { print $2 }' "$logdir/guest-status" \
        2>/dev/null || true
}

guest_kernel=$(cat "$logdir/guest-kernel" 2>/dev/null || echo "?")
boot=$(sed -n 's/.*booted in \([0-9.]*\) s.*/\1/p' "$logdir/console.log" \
       2>/dev/null || true)
if [ -f "$logdir/guest.rc" ]
then
    ok "guest Linux $guest_kernel booted in ${boot:-?} s (TCG) and ran its" \
       "tests; qemu exit $qemu_rc"
else
    fail "the guest did not finish (qemu exit $qemu_rc; see" \
         "$logdir/console.log and $logdir/qemu.log)"
    tail -n 20 "$logdir/console.log" "$logdir/qemu.log" 2>/dev/null || true
fi

# the guest saw the tree and the directory under /tmp at their host paths
if [ "$(client_rc paths)" = "0" ] &&
   [ "$(tail -n 1 "$logdir/paths.log")" = "$tmp_token" ]
then
    ok "the guest sees the tree ($topdir), its build ($treedir) and a" \
       "directory under /tmp ($tmp_probe) at their host paths"
else
    fail "the guest does not see the tree or $tmp_probe at its host path:" \
         "exit $(client_rc paths) (see $logdir/paths.log)"
fi

# counters <log>: the guest's tcp_zc counter line for the NIC
counters() {
    grep -h "tcp_zc iface .* $ifname: zero-copy engine" "$1" 2>/dev/null |
        tail -n 1 | sed 's/.*tcp_zc iface/tcp_zc iface/'
}

# counter_fields <line>: "engine sends zero-copy-bytes copied-bytes
# fallbacks-copied" from a counter line
counter_fields() {
    awk '{
        for (i = 2; i <= NF; ++i) {
            if (($i == "engine") && (engine == "")) { engine = $(i + 1) }
            if (($i == "sends,") && (sends == ""))  { sends = $(i - 1) }
            if (($i == "bytes,") && (zc == ""))     { zc = $(i - 1) }
            if ($i == "reported")                   { copied = $(i - 2) }
            if ($i == "fallbacks:")                 { fb = 1 }
            if (fb && ($i == "copied"))             { fcopied = $(i + 1) }
        }
        sub(/:$/, "", engine)
        print engine, sends, zc, copied, fcopied
    }' <<< "$1"
}

# check_data <name> <engine>: the receiver's verdict on every size, and both
# exit codes; returns 1 if the sender never ran
check_data() {
    local name=$1 engine=$2 crc srv size line sizes_ok="" bad=0
    local clog=$logdir/$1.log slog=$logdir/$1.server.log

    crc=$(client_rc $name)
    srv=${server_rc[$name]:-?}
    if [ -z "$crc" ]
    then
        fail "$name: the guest never ran the sender"
        return 1
    fi
    for size in ${check_sizes//,/ }
    do
        line=$(grep "^server: size $size: " "$slog" || true)
        if [ -n "$line" ] && [[ "$line" == *": verified" ]]
        then
            sizes_ok+=" $(awk '{ print $4 }' <<< "$line")x$size"
        else
            fail "$name: $size B: ${line:-no result} (see $slog)"
            bad=1
        fi
    done
    if [ $bad -eq 0 ]
    then
        ok "$name: every message verified byte for byte (count x bytes:" \
           "${sizes_ok# }), source overwritten at each send completion"
    fi
    if [ "$crc" = "0" ] && [ "$srv" = "0" ]
    then
        ok "$name: sender (guest) and receiver (namespace) exit 0"
    else
        fail "$name: sender exit $crc, receiver exit $srv (see $clog," \
             "$slog)"
        grep -v "UCX  DEBUG\| \[.*\] *|" "$clog" | tail -n 5 || true
        tail -n 5 "$slog" || true
    fi
    return 0
}

# payload bytes of the sizes at or above the zero-copy threshold
above_thresh=0
for size in ${check_sizes//,/ }
do
    count=$(( check_bytes / size ))
    [ $count -ge 4 ] || count=4
    [ $count -le 1024 ] || count=1024
    if [ "$size" -ge $zcopy_thresh ]
    then
        above_thresh=$((above_thresh + count * size))
    fi
done

declare -A zc_summary=()
declare -A copied_of=()
# the rendezvous runs first: a default run's verdict may refer to them
for spec in $(tr ' ' '\n' <<< "$checks" | grep -- '-rndv:') \
            $(tr ' ' '\n' <<< "$checks" | grep -v -- '-rndv:')
do
    IFS=: read -r name engine window extra <<< "$spec"
    check_data $name $engine || continue
    line=$(counters "$logdir/$name.log")
    echo "    guest $name: $line"
    if [ -z "$line" ]
    then
        fail "$name: no tcp_zc counter line in $logdir/$name.log"
        continue
    fi
    read -r used sends zc copied fcopied <<< "$(counter_fields "$line")"
    zc_summary[$name]="$zc bytes in $sends zero-copy sends, $copied bytes"
    zc_summary[$name]+=" reported copied, fallbacks copied $fcopied"
    copied_of[$name]=$copied
    what="$zc bytes sent zero-copy in $sends sends, $copied reported copied"
    if [ "$used" != "$engine" ]
    then
        fail "$name: the guest used the engine '$used', not $engine"
        continue
    fi
    if [ "$fcopied" = "0" ]
    then
        ok "$name: zero-copy mode auto stayed on zero-copy (fallbacks:" \
           "copied 0)"
    else
        fail "$name: zero-copy mode auto fell back to copies $fcopied times"
    fi

    if [ -n "$extra" ]
    then
        # one GET response per message: exactly the sizes at or above the
        # threshold go zero-copy, each with a small header
        if [ "$zc" -ge $above_thresh ] &&
           [ "$zc" -le $((above_thresh + 64 * sends)) ] && [ "$copied" = "0" ]
        then
            ok "$name: $what: the $above_thresh payload bytes at or above" \
               "$zcopy_thresh B (plus headers), nothing below"
        else
            fail "$name: $what; expected $above_thresh payload bytes at or" \
                 "above $zcopy_thresh B (plus headers) and none copied"
        fi
    elif [ "$zc" -gt 0 ] && [ "$copied" = "0" ]
    then
        ok "$name: $what"
    elif [ "$zc" -gt 0 ] && [ "$engine" = "uring" ] &&
         [ "${copied_of[$name-rndv]:-1}" = "0" ]
    then
        # seen with Linux 7.2: io_uring links the notification of a send
        # which fits into the unsent tail skb of the previous send to that
        # send's, and then reports it copied (its own zc_used is never set)
        skip "$name: $what, reports of sends which io_uring linked to the" \
             "previous send's skb (the kernel reports those copied); the" \
             "same engine with one send in flight ($name-rndv) has none"
    else
        fail "$name: $what"
    fi
done

# caps_path <path>: its state in the JSON report ("true", "false")
caps_path() {
    sed -n 's/.*"paths": *{\(.*\)}.*/\1/p' "$logdir/caps-json.log" |
        tr ',' '\n' | sed -n "s/^ *\"$1\": *\([a-z]*\).*/\1/p"
}

if [ ! -x "$caps" ]
then
    skip "capability report: this tree has no ucx_tcp_zc_caps"
elif [ "$(client_rc caps)" = "0" ] && [ "$(client_rc caps-json)" = "0" ]
then
    sed 's/^/    guest: /' "$logdir/caps.log"
    if [ "$(caps_path msg-zerocopy)" = "true" ] &&
       [ "$(caps_path io_uring)" = "true" ]
    then
        ok "capability report of $ifname: msg-zerocopy and io_uring yes" \
           "as measured; devmem-rx $(caps_path devmem-rx), devmem-tx" \
           "$(caps_path devmem-tx) (virtio-net)"
    else
        fail "capability report of $ifname says msg-zerocopy" \
             "'$(caps_path msg-zerocopy)', io_uring '$(caps_path io_uring)'" \
             "(see $logdir/caps-json.log)"
    fi
else
    fail "capability report: ucx_tcp_zc_caps exit $(client_rc caps)," \
         "$(client_rc caps-json) --json (see $logdir/caps.log)"
fi

# the devmem tests' own verdicts
if [ -n "$devmem_skip" ]
then
    skip "devmem tests on the patched netdevsim: $devmem_skip"
elif [ -z "$(client_rc devmem)" ]
then
    fail "devmem tests: the guest never ran them"
else
    while IFS= read -r line
    do
        case "$line" in
        PASS:*) ok "devmem: ${line#PASS: }" ;;
        FAIL:*) fail "devmem: ${line#FAIL: }" ;;
        SKIP:*) skip "devmem: ${line#SKIP: }" ;;
        esac
    done < "$logdir/devmem-results"
    [ -s "$logdir/devmem-results" ] ||
        fail "devmem tests: no results (exit $(client_rc devmem), see" \
             "$logdir/devmem.log)"
    grep "^devmem: " "$logdir/devmem.log" | grep -v "^devmem: [A-Z]*:" |
        sed 's/^/    guest /' || true
fi

perf_table=""
for spec in $perf_tests
do
    IFS=: read -r api test layout size iters <<< "$spec"
    row=$(printf "%-3s %-7s %-6s %8s" "$api" "$test" "${layout:--}" "$size")
    zc_line=""
    for tl in tcp tcp_zc
    do
        name=perf-$test-$tl
        clog=$logdir/$name.log
        crc=$(client_rc $name)
        bw=$(awk '/^Final:/ { print $7 }' "$clog" 2>/dev/null || true)
        if [ "$crc" = "0" ] && [ -n "$bw" ] &&
           [ "${server_rc[$name]:-?}" = "0" ]
        then
            ok "ucx_perftest $api $test $size B over $tl: $bw MB/s"
        else
            fail "ucx_perftest $api $test $size B over $tl: client exit" \
                 "${crc:-never ran}, server exit ${server_rc[$name]:-?}" \
                 "(see $clog)"
            grep -v "UCX  DEBUG" "$clog" 2>/dev/null | tail -n 3 || true
            bw=n/a
        fi
        row+=$(printf " %9s" "$bw")
        [ "$tl" != "tcp_zc" ] || zc_line=$(counters "$clog")
    done
    perf_table+="$row  ${zc_line#*zero-copy engine }"$'\n'
done

harness_wall=$(awk -v a="$harness_start" -v b="$EPOCHREALTIME" \
                   'BEGIN { printf "%.1f", b - a }')
echo
echo "vm: ucx_perftest, client in the guest (TCG: the path works, these are"
echo "    no performance figures); MB/s as ucx_perftest reports it"
printf "%-3s %-7s %-6s %8s %9s %9s  %s\n" api test layout size tcp tcp_zc \
       "tcp_zc counters in the guest"
printf "%s" "$perf_table"
echo
for spec in $checks
do
    name=${spec%%:*}
    echo "vm: guest $name: ${zc_summary[$name]:-no counters}"
done
echo "vm: guest Linux $guest_kernel; guest wall time $vm_wall s (boot" \
     "${boot:-?} s); harness wall time $harness_wall s"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]

#!/bin/bash -eu
#
# Build the devmem-capable netdevsim (netdevsim-devmem.patch and
# nsim_devmem.c, GPL-2.0 as netdevsim) and the kernel's own ncdevmem for the
# guest kernel <kver>, in a Debian unstable chroot (debootstrap minbase)
# which has that kernel's headers (linux-headers-<kver>), its source
# (linux-source-<x.y>) and the compiler the kernel was built with (the
# headers package's gcc-<n>-for-host). Everything is cached under
# <vmdir>/devmem: the chroot, and per kernel the products, so that a second
# run for the same kernel costs nothing.
#
#   build.sh <vmdir> <kver> <mirror>
#
# <mirror>: a Debian archive URI (vm-test.sh passes the machine's own).
# Writes <vmdir>/devmem/<kver>/:
#   netdevsim.ko  the patched module
#   ncdevmem      tools/testing/selftests/drivers/net/hw/ncdevmem.c with its
#                 netlink library (ynl), linked statically: it runs on the
#                 guest's (the host's) Debian 12 userspace
#   iou-zcrx      the io_uring zcrx selftest, statically (where it builds)
#   status        "ok", or "skip: <reason>" (no network for the chroot,
#                 no package for this kernel, the patch does not apply)
#   build.log     what was run
# Exit 0 when status was written (ok or skip), non-zero on other errors.
#

vmdir=$1
kver=$2
mirror=$3
srcdir=$(cd "$(dirname "$0")" && pwd)
top=$vmdir/devmem
chroot=$top/chroot
out=$top/$kver
start=$EPOCHREALTIME

log() { echo "tcp_zc devmem build: $*" >&2; }

mkdir -p "$top"
exec 8> "$top/.lock"
flock -w 1200 8 || { log "$top is locked for 20 minutes"; exit 1; }

# the products are kept per kernel, with the sources they were built from;
# a skip is tried again next time (the network may be back)
stamp=$(cat "$srcdir/netdevsim-devmem.patch" "$srcdir/nsim_devmem.c" \
            "$srcdir/nsim_devmem.h" "$srcdir/build.sh" | md5sum | cut -c1-16)
if [ "$(cat "$out/status" 2>/dev/null)" = "ok" ] &&
   [ "$(cat "$out/stamp" 2>/dev/null)" = "$stamp" ]
then
    log "kept in $out: $(cat "$out/status")"
    exit 0
fi
rm -rf "$out"
mkdir -p "$out"
echo "$stamp" > "$out/stamp"
blog=$out/build.log
: > "$blog"

# status <text>: the result, and the end of this script
status() {
    echo "$*" > "$out/status"
    log "$* ($(awk -v a="$start" -v b="$EPOCHREALTIME" \
                  'BEGIN { printf "%.1f", b - a }') s; log $blog)"
    exit 0
}

step() {
    local t=$EPOCHREALTIME rc=0

    echo "+ $*" >> "$blog"
    "$@" >> "$blog" 2>&1 || rc=$?
    echo "= exit $rc, $(awk -v a="$t" -v b="$EPOCHREALTIME" \
                         'BEGIN { printf "%.1f", b - a }') s" >> "$blog"
    return $rc
}

# in_chroot <seconds> <command...>: in the chroot, with its own /proc
# (objtool reads it) in a private mount and PID namespace, gone at its end
in_chroot() {
    step timeout "$1" unshare --mount --pid --fork \
        --mount-proc="$chroot/proc" chroot "$chroot" /usr/bin/env -i \
        PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 \
        DEBIAN_FRONTEND=noninteractive "${@:2}"
}

# ---- the chroot ----

if [ ! -f "$chroot/.complete" ]
then
    command -v debootstrap >/dev/null ||
        status "skip: debootstrap is missing (apt-get install debootstrap)"
    rm -rf "$chroot"
    log "debootstrap --variant=minbase unstable $chroot"
    if ! step timeout 900 debootstrap --variant=minbase \
             --keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
             unstable "$chroot" "$mirror"
    then
        rm -rf "$chroot"
        status "skip: debootstrap of Debian unstable from $mirror failed" \
               "(no network?)"
    fi
    touch "$chroot/.complete"
fi

xy=$(sed 's/^\([0-9]*\.[0-9]*\).*/\1/' <<< "$kver")
in_chroot 300 apt-get -q -o Acquire::Check-Valid-Until=false update ||
    log "apt-get update in the chroot failed: using its old lists"
if ! in_chroot 120 apt-cache show "linux-headers-$kver" >/dev/null 2>&1
then
    status "skip: Debian unstable has no linux-headers-$kver (any more)"
fi
gcc_pkg=$(chroot "$chroot" apt-cache depends "linux-headers-$kver" |
          sed -n 's/.*Depends: \(gcc-[0-9]*\)-for-host.*/\1/p' | head -n 1)
[ -n "$gcc_pkg" ] || gcc_pkg=gcc
log "installing linux-headers-$kver linux-source-$xy $gcc_pkg in the chroot"
in_chroot 900 apt-get -q install -y --no-install-recommends \
    "linux-headers-$kver" "linux-source-$xy" "$gcc_pkg" make libc6-dev \
    linux-libc-dev python3-yaml python3-jsonschema liburing-dev ||
    status "skip: cannot install linux-headers-$kver linux-source-$xy" \
           "$gcc_pkg in the chroot"
# only this kernel's packages stay (the chroot is kept across kernels)
old_pkgs=$(chroot "$chroot" dpkg-query -W -f '${Package}\n' \
               'linux-headers-*' 'linux-source-*' 'linux-kbuild-*' \
               2>/dev/null |
           grep -v -F -e "$kver" -e "linux-source-$xy" -e "${kver%-amd64}" ||
           true)
[ -z "$old_pkgs" ] || in_chroot 300 apt-get -q purge -y $old_pkgs || true
in_chroot 300 apt-get -q clean || true

# ---- the sources ----

work=/build/$kver
wdir=$chroot$work
rm -rf "$chroot/build"
mkdir -p "$wdir"
log "extracting netdevsim, ncdevmem, ynl from linux-source-$xy"
in_chroot 300 tar -C "$work" -xaf "/usr/src/linux-source-$xy.tar.xz" \
    --strip-components=1 --wildcards \
    "linux-source-$xy/drivers/net/netdevsim/*" \
    "linux-source-$xy/tools/testing/selftests/drivers/net/hw/*.c" \
    "linux-source-$xy/tools/net/ynl/*" \
    "linux-source-$xy/Documentation/netlink/*" \
    "linux-source-$xy/MAINTAINERS" ||
    status "skip: cannot extract linux-source-$xy"
libc_dev=$(chroot "$chroot" dpkg-query -W -f '${Version}' linux-libc-dev)
echo "linux-libc-dev $libc_dev, $gcc_pkg," \
     "$(chroot "$chroot" dpkg-query -W -f '${Version}' "linux-source-$xy")" \
     >> "$blog"

# ---- netdevsim ----

nsim=$wdir/drivers/net/netdevsim
if ! step patch -d "$nsim/../../.." -p1 --dry-run \
         -i "$srcdir/netdevsim-devmem.patch"
then
    status "skip: netdevsim-devmem.patch does not apply to" \
           "linux-source-$xy's netdevsim (see $blog): refresh it"
fi
step patch -d "$nsim/../../.." -p1 -i "$srcdir/netdevsim-devmem.patch"
cp "$srcdir/nsim_devmem.c" "$srcdir/nsim_devmem.h" "$nsim/"
echo 'netdevsim-objs += nsim_devmem.o' >> "$nsim/Makefile"
cc=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\([^ ]*gcc[^ ]*\) .*/\1/p' \
         "$chroot/usr/src/linux-headers-$kver/.config" 2>/dev/null || true)
log "building netdevsim.ko with ${cc:-gcc}"
if ! in_chroot 600 make -j2 -C "/usr/src/linux-headers-$kver" \
         M="$work/drivers/net/netdevsim" CONFIG_NETDEVSIM=m \
         CC="${cc:-gcc}" modules
then
    status "skip: the patched netdevsim does not build against" \
           "linux-headers-$kver (see $blog): refresh the patch"
fi
cp "$nsim/netdevsim.ko" "$out/"
strip --strip-debug "$out/netdevsim.ko" 2>/dev/null || true

# ---- ncdevmem and iou-zcrx, static ----

ynl=$wdir/tools/net/ynl
gen=$ynl/generated
log "building ncdevmem (ynl: netdev, ethtool), static"
build_tools() {
    local f

    for f in netdev ethtool
    do
        in_chroot 120 sh -c "cd $work/tools/net/ynl/generated &&
            python3 ../pyynl/ynl_gen_c.py --mode user --header \
                --spec ../../../../Documentation/netlink/specs/$f.yaml \
                -o $f-user.h \$(test $f != ethtool || echo \
                --user-header linux/ethtool_netlink.h \
                --exclude-op stats-get) &&
            python3 ../pyynl/ynl_gen_c.py --mode user --source \
                --spec ../../../../Documentation/netlink/specs/$f.yaml \
                -o $f-user.c \$(test $f != ethtool || echo \
                --user-header linux/ethtool_netlink.h \
                --exclude-op stats-get)" || return 1
    done
    in_chroot 600 sh -c "cd $work/tools/net/ynl && $gcc_pkg -O2 -static \
        -I lib -I generated -o $work/ncdevmem \
        $work/tools/testing/selftests/drivers/net/hw/ncdevmem.c \
        lib/ynl.c generated/netdev-user.c generated/ethtool-user.c"
}
if ! build_tools
then
    status "skip: ncdevmem does not build from linux-source-$xy (see $blog)"
fi
cp "$wdir/ncdevmem" "$out/"
# the kernel's netlink CLI (python3, yaml) and the specs, for the guest
mkdir -p "$out/ynl/specs"
cp -r "$ynl/pyynl" "$out/ynl/"
cp "$wdir/Documentation/netlink/specs/netdev.yaml" \
   "$wdir/Documentation/netlink/specs/ethtool.yaml" "$out/ynl/specs/"
cp "$wdir/Documentation/netlink/genetlink"*.yaml "$out/ynl/"
if in_chroot 300 sh -c "cd $work/tools/net/ynl && $gcc_pkg -O2 -static \
       -I lib -I generated -o $work/iou-zcrx \
       $work/tools/testing/selftests/drivers/net/hw/iou-zcrx.c \
       lib/ynl.c generated/ethtool-user.c -luring -lpthread"
then
    cp "$wdir/iou-zcrx" "$out/"
fi
status ok

#!/bin/bash -eu
#
# Build UCX with the tcp_zc module laid into its source tree.
#
#   build.sh [<ucx-source-dir>]
#
# Without a directory, UCX 1.13.1 (Debian's source package) is fetched into
# build/src/. Each tree gets its own build/<tree>/obj and build/<tree>/install.
# This repository's files are symlinked into the UCX tree, and the small patch
# which registers the module is applied once. A second run only rebuilds what
# changed. Prints the tree's build directory on the last line.
#

topdir=$(cd "$(dirname "$0")/../.." && pwd)
builddir=$topdir/build
ucx_src=${1:-}
jobs=${JOBS:-2}

log() { echo "tcp_zc: $*" >&2; }

if [ -z "$ucx_src" ]
then
    ucx_src=$("$topdir/contrib/tcp_zc/get-ucx.sh" "$builddir" | tail -n 1)
fi
ucx_src=$(cd "$ucx_src" && pwd)
if [ ! -f "$ucx_src/configure.ac" ] || [ ! -d "$ucx_src/src/uct" ]
then
    echo "tcp_zc: $ucx_src is not a UCX source tree" >&2
    exit 1
fi

tree=$(basename "$ucx_src")
tree=${tree#ucx-}
objdir=$builddir/$tree/obj
prefix=$builddir/$tree/install
mkdir -p "$objdir" "$prefix"

# One build of a tree at a time: a second one waits for the first
exec 9>"$builddir/$tree/.build-lock"
flock 9

# Lay this repository into the UCX tree: directories are real ones in the
# tree (autogen writes Makefile.in there, which differs between trees), with
# a link for each file of this repository
overlay_dirs="src/uct/tcp_zc test/gtest/uct/tcp_zc"
overlay_files="config/m4/liburing.m4 config/m4/libnl.m4 config/m4/cuda_drv_h.m4"
link_file() {
    local dst=$ucx_src/$1

    if [ -e "$dst" ] && [ ! -L "$dst" ]
    then
        echo "tcp_zc: $dst exists and is not a link to this repository" >&2
        exit 1
    fi
    ln -sfn "$topdir/$1" "$dst"
}
for dir in $overlay_dirs
do
    [ -L "$ucx_src/$dir" ] && rm -f "$ucx_src/$dir"
    mkdir -p "$ucx_src/$dir"
    # links to files which are gone from this repository
    find "$ucx_src/$dir" -maxdepth 1 -type l ! -exec test -e {} \; -delete
    for file in $(cd "$topdir" && find "$dir" -maxdepth 1 -type f)
    do
        link_file "$file"
    done
done
for file in $overlay_files
do
    link_file "$file"
done

# Apply the integration patch; when it changed since it was applied, take the
# old one back first. A copy of the applied patch stays in the tree.
patch_file=$topdir/contrib/tcp_zc/ucx-tcp-zc.patch
applied=$ucx_src/.tcp_zc_applied.patch
if [ -f "$applied" ] && ! cmp -s "$applied" "$patch_file"
then
    log "reverting the previous integration patch in $ucx_src"
    patch -d "$ucx_src" -p1 -R -s < "$applied"
    rm -f "$applied"
fi
if [ ! -f "$applied" ]
then
    log "applying $(basename "$patch_file") to $ucx_src"
    patch -d "$ucx_src" -p1 -s -N < "$patch_file"
    cp "$patch_file" "$applied"
    rm -f "$ucx_src/configure"
fi

export CCACHE_DIR=${CCACHE_DIR:-$builddir/ccache}
if command -v ccache >/dev/null
then
    export CC=${CC:-ccache gcc} CXX=${CXX:-ccache g++}
fi

if [ ! -x "$ucx_src/configure" ] || \
   [ ! -f "$ucx_src/src/uct/tcp_zc/Makefile.in" ]
then
    log "autogen in $ucx_src"
    (cd "$ucx_src" && ./autogen.sh) >"$builddir/$tree/autogen.log" 2>&1 || {
        tail -n 30 "$builddir/$tree/autogen.log" >&2; exit 1; }
fi

# the module's Makefile.am changed: regenerate its Makefile only
module_am=src/uct/tcp_zc/Makefile
if [ "$ucx_src/$module_am.am" -nt "$ucx_src/$module_am.in" ]
then
    log "automake $module_am in $ucx_src"
    (cd "$ucx_src" && automake "$module_am") >&2
    if [ -f "$objdir/config.status" ]
    then
        (cd "$objdir" && ./config.status "$module_am" depfiles) >/dev/null
    fi
fi

if [ ! -f "$objdir/config.status" ] || \
   [ "$ucx_src/configure" -nt "$objdir/config.status" ]
then
    log "configure $tree into $prefix"
    (cd "$objdir" && "$ucx_src/configure" \
        --prefix="$prefix" \
        --enable-gtest --enable-mt --enable-cma \
        --without-java --without-go --without-verbs --without-rdmacm \
        --without-cuda --without-rocm --without-knem --without-xpmem \
        --without-ugni --disable-doxygen-doc \
        ${TCP_ZC_CONFIGURE_FLAGS:-}) >"$builddir/$tree/configure.log" 2>&1 || {
        tail -n 30 "$builddir/$tree/configure.log" >&2; exit 1; }
    grep -E "tcp_zc|io_uring|genl|ZEROCOPY|cuda.h" "$builddir/$tree/configure.log" >&2 || true
fi

# gcc 12 finds a use-after-free in UCX 1.13's malloc hook test, which the test
# does on purpose: compile that one object without turning it into an error
malloc_hook_obj=ucm/gtest-malloc_hook.o
if [ -f "$ucx_src/test/gtest/ucm/malloc_hook.cc" ] && \
   [ ! -f "$objdir/test/gtest/$malloc_hook_obj" ]
then
    make -C "$objdir/test/gtest" -s CXXFLAGS="-Wno-error=use-after-free" \
        "$malloc_hook_obj" >"$builddir/$tree/make.log" 2>&1 || true
fi

log "make -j$jobs in $objdir"
make -C "$objdir" -j"$jobs" -s >"$builddir/$tree/make.log" 2>&1 || {
    grep -E "error|Error" "$builddir/$tree/make.log" | head -n 40 >&2
    tail -n 20 "$builddir/$tree/make.log" >&2; exit 1; }
make -C "$objdir" -s install >>"$builddir/$tree/make.log" 2>&1 || {
    tail -n 20 "$builddir/$tree/make.log" >&2; exit 1; }
if grep -E "warning:" "$builddir/$tree/make.log" | grep -q "tcp_zc"
then
    grep -E "warning:" "$builddir/$tree/make.log" | grep "tcp_zc" >&2
fi

echo "$builddir/$tree"

#!/bin/bash -eu
#
# Compile UCX's libraries and the tcp_zc module in further configurations of
# a UCX tree which build.sh has prepared (this repository laid into it, the
# integration patch applied, autogen run), each in its own build directory
# beside the tree's obj:
#  - release: UCX's own contrib/configure-release (no logging, debug code,
#    assertions or parameter checks, as distributions build UCX), with gcc
#    (obj-release) and with clang (obj-release-clang);
#  - debug: the configuration of build.sh (assertions, logging, parameter
#    checks), with clang (obj-clang).
# Only what the module needs is compiled: ucm, ucs, uct and the module (with
# UCX's -Werror). A warning in a tcp_zc file fails its build. One line per
# build, "[       OK ] release build gcc" or "[  FAILED  ] ...", and exits
# non-zero if one failed.
#
#   release-build.sh <tree-build-dir>
#
# RELEASE_BUILDS lists the builds, "<config>:<compiler>" (default
# "release:gcc release:clang"; "debug:clang" also compiles the debug
# configuration with clang).
#

treedir=$(cd "$1" && pwd)
builds=${RELEASE_BUILDS:-release:gcc release:clang}
jobs=${JOBS:-2}

log() { echo "tcp_zc: $*" >&2; }

# the UCX source tree of this tree's main build
ucx_src=$(sed -n 's/^abs_top_srcdir = //p' "$treedir/obj/Makefile" 2>/dev/null)
if [ -z "$ucx_src" ] || [ ! -f "$ucx_src/.tcp_zc_applied.patch" ] ||
   [ ! -x "$ucx_src/contrib/configure-release" ]
then
    echo "tcp_zc: $treedir is not a tree prepared by build.sh" >&2
    exit 1
fi

export CCACHE_DIR=${CCACHE_DIR:-$(dirname "$treedir")/ccache}
ccache=""
command -v ccache >/dev/null && ccache="ccache "

# the source tree is shared with build.sh: hold its lock while configure and
# make read it
exec 9>"$treedir/.build-lock"
flock 9

failed=0

# run_build <config> <compiler>
run_build() {
    local config=$1 cc=$2 cxx configure objdir name log start
    local -a flags=(--enable-mt --with-tcp-zc=yes
                    --without-java --without-go --without-verbs
                    --without-rdmacm --without-cuda --without-rocm
                    --without-knem --without-xpmem --without-ugni
                    --disable-doxygen-doc)

    case $cc in
    gcc)   cxx=g++ ;;
    clang) cxx=clang++ ;;
    *)     echo "tcp_zc: unknown compiler $cc" >&2; return 1 ;;
    esac
    case $config in
    release)
        configure=$ucx_src/contrib/configure-release
        objdir=$treedir/obj-release ;;
    debug)
        configure=$ucx_src/configure
        objdir=$treedir/obj ;;
    *)  echo "tcp_zc: unknown configuration $config" >&2; return 1 ;;
    esac
    [ "$cc" = gcc ] || objdir=$objdir-$cc
    if [ "$objdir" = "$treedir/obj" ]
    then
        echo "tcp_zc: debug:gcc is build.sh's own build" >&2
        return 1
    fi
    name="$config build $cc"
    log=$objdir.log
    start=$SECONDS
    mkdir -p "$objdir"

    if ! command -v "$cc" >/dev/null
    then
        echo "[  FAILED  ] $name: $cc is not installed"
        failed=$((failed + 1))
        return 0
    fi

    : >"$log"
    if [ ! -f "$objdir/config.status" ] ||
       [ "$ucx_src/configure" -nt "$objdir/config.status" ]
    then
        log "configure ($config, $cc) in $objdir"
        if ! (cd "$objdir" &&
              CC="$ccache$cc" CXX="$ccache$cxx" "$configure" \
                  --prefix="$objdir/install" "${flags[@]}") >>"$log" 2>&1
        then
            tail -n 20 "$log"
            echo "[  FAILED  ] $name: configure (see $log)"
            failed=$((failed + 1))
            return 0
        fi
    fi
    # the module's Makefile.am changed since configure
    if [ "$ucx_src/src/uct/tcp_zc/Makefile.in" -nt \
         "$objdir/src/uct/tcp_zc/Makefile" ]
    then
        (cd "$objdir" &&
         ./config.status src/uct/tcp_zc/Makefile depfiles) >>"$log" 2>&1 ||
            true
    fi

    log "make ucm ucs uct tcp_zc ($config, $cc) in $objdir"
    local dir ok=1
    # make the module's objects again, so that their warnings are in the log
    rm -f "$objdir"/src/uct/tcp_zc/*.lo "$objdir"/src/uct/tcp_zc/*.o
    for dir in src/ucm src/ucs src/uct
    do
        make -C "$objdir/$dir" -k -j"$jobs" -s >>"$log" 2>&1 || ok=0
    done
    if [ "$ok" -eq 1 ] && [ ! -f "$objdir/src/uct/tcp_zc/libuct_tcpzc.la" ]
    then
        echo "tcp_zc: the module was not built in $objdir" >>"$log"
        ok=0
    fi

    local warnings
    warnings=$(grep -E "tcp_zc[a-z_]*\.(c|h):[0-9:]+ (warning|error):" "$log" |
               sort -u)
    if [ -n "$warnings" ]
    then
        echo "$warnings"
        ok=0
    elif [ "$ok" -eq 0 ]
    then
        grep -E "error:|\*\*\*|tcp_zc:" "$log" | head -n 20
    fi
    if [ "$ok" -eq 1 ]
    then
        echo "[       OK ] $name ($((SECONDS - start)) s)"
    else
        echo "[  FAILED  ] $name (see $log)"
        failed=$((failed + 1))
    fi
}

for build in $builds
do
    run_build "${build%:*}" "${build#*:}"
done

[ "$failed" -eq 0 ]

#!/bin/bash -u
#
# GPU check of tcp_zc, for a machine with one NVIDIA GPU, the CUDA toolkit
# and many cores, but no package registry, no network and nothing outside
# this repository's folder. Two steps:
#
#   gpu-check.sh prepare   on a Debian 12 build machine (this repository's
#                          usual one): writes build/gpu-bundle.tar.xz, which
#                          carries what the GPU machine cannot fetch: a UCX
#                          master tree with the integration patch applied and
#                          configure generated, and the headers and libraries
#                          of liburing and libnl-3/libnl-genl-3 extracted from
#                          their Debian packages (plus a pkg-config stand-in).
#   gpu-check.sh [run]     on the GPU machine, from the repository root with
#                          build/gpu-bundle.tar.xz present; under 5 minutes
#                          with 16 cores. It
#                          - reports the machine: kernel (a sandboxing kernel
#                            may say Linux 4.4, without io_uring, netdev
#                            netlink or dmabuf export: reported, never fatal),
#                            GPU, driver, toolkit;
#                          - checks tcp_zc's CUDA declarations against the
#                            toolkit's cuda.h;
#                          - builds UCX master with CUDA and tcp_zc from the
#                            bundle and this repository's current sources;
#                          - reports CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED and
#                            tries a dmabuf export of cuMemAlloc memory;
#                          - registers cuMemAlloc memory through UCP with
#                            UCX_TLS=tcp_zc,cuda_copy (the md receives a
#                            dmabuf fd where the md takes dmabufs);
#                          - exports and fills a GPU receive pool, gathers
#                            synthetic fragments on the GPU and stages a GPU
#                            buffer through pinned memory, bytes compared
#                            (tcp_zc's own GPU code on the real driver);
#                          - runs ucx_perftest -m cuda over tcp_zc and over
#                            tcp side by side on lo (tag_bw, tag_lat,
#                            ucp_put_bw, ucp_get);
#                          - if time is left (GPU_CHECK_GTEST=y forces it, n
#                            skips it), builds the gtest binary and runs the
#                            GPU tests on the real driver and on the stand-in.
# Output: build/gpu-check/report.txt (and the terminal). The last line is
# "gpu-check: N passed, N failed, N skipped". Exit status 1 only when the
# build or a check of the GPU logic failed; a missing feature is a skip.
#
# Environment: CUDA_HOME (default /usr/local/cuda), JOBS (default nproc),
# GPU_CHECK_DIR (default build/gpu-check), GPU_CHECK_GTEST (auto|y|n).
#

topdir=$(cd "$(dirname "$0")/../.." && pwd)
mode=${1:-run}
bundle=$topdir/build/gpu-bundle.tar.xz
overlay_dirs="src/uct/tcp_zc test/gtest/uct/tcp_zc"
overlay_files="config/m4/liburing.m4 config/m4/libnl.m4 config/m4/cuda_drv_h.m4"
# files whose change needs a new configure (the bundle's was generated
# from them)
build_files="src/uct/tcp_zc/Makefile.am src/uct/tcp_zc/configure.m4
             contrib/tcp_zc/ucx-tcp-zc.patch $overlay_files"
deb_pkgs="liburing2 liburing-dev libnl-3-200 libnl-3-dev libnl-genl-3-200
          libnl-genl-3-dev"

log() { echo "gpu-check: $*" >&2; }

copy_overlay() {
    local ucx=$1 dir file

    for dir in $overlay_dirs
    do
        mkdir -p "$ucx/$dir"
        for file in $(cd "$topdir" && find "$dir" -maxdepth 1 -type f)
        do
            cmp -s "$topdir/$file" "$ucx/$file" ||
                cp -f "$topdir/$file" "$ucx/$file"
        done
    done
    for file in $overlay_files
    do
        cmp -s "$topdir/$file" "$ucx/$file" || cp -f "$topdir/$file" "$ucx/$file"
    done
}

build_stamp() {
    (cd "$topdir" && sha256sum $build_files)
}

prepare() {
    local tmp src ucx tarball pkg deb

    tarball=$(ls "$topdir"/../shared/ucx/ucx-master-*.tar.xz 2>/dev/null | head -n 1)
    if [ -z "$tarball" ]
    then
        log "no UCX master snapshot (../shared/ucx/ucx-master-*.tar.xz)"
        exit 1
    fi

    tmp=$topdir/build/gpu-bundle.tmp
    rm -rf "$tmp"
    mkdir -p "$tmp/deps" "$tmp/debs"
    log "UCX master from $(basename "$tarball")"
    tar -C "$tmp" -xf "$tarball"
    src=$(ls -d "$tmp"/ucx-* | head -n 1)
    [ "$src" = "$tmp/ucx-master" ] || mv "$src" "$tmp/ucx-master"
    ucx=$tmp/ucx-master
    rm -rf "$ucx/.git"

    copy_overlay "$ucx"
    patch -d "$ucx" -p1 -s -N < "$topdir/contrib/tcp_zc/ucx-tcp-zc.patch"
    log "autogen (configure for the GPU machine)"
    (cd "$ucx" && ./autogen.sh) > "$tmp/autogen.log" 2>&1 || {
        tail -n 20 "$tmp/autogen.log" >&2; exit 1; }
    rm -rf "$ucx/autom4te.cache"

    log "liburing and libnl from their Debian packages"
    for pkg in $deb_pkgs
    do
        deb=$(ls /var/cache/apt/archives/${pkg}_*.deb 2>/dev/null | tail -n 1)
        if [ -z "$deb" ]
        then
            (cd "$tmp/debs" && apt-get download "$pkg" >/dev/null) || {
                log "cannot download $pkg"; exit 1; }
            deb=$(ls "$tmp"/debs/${pkg}_*.deb | tail -n 1)
        fi
        dpkg-deb -x "$deb" "$tmp/deps"
        echo "$(basename "$deb")" >> "$tmp/deps/PACKAGES"
    done
    rm -rf "$tmp/debs" "$tmp/deps/usr/share/doc" "$tmp/deps/usr/share/man"

    build_stamp > "$tmp/build-stamp"
    log "writing $bundle"
    tar -C "$tmp" -cJf "$bundle.new" ucx-master deps build-stamp
    mv -f "$bundle.new" "$bundle"
    rm -rf "$tmp"
    ls -l "$bundle" >&2
}

if [ "$mode" = "prepare" ]
then
    prepare
    exit 0
fi

if [ "$mode" != "run" ]
then
    echo "usage: $0 [prepare|run]" >&2
    exit 2
fi


#
# run
#
start=$(date +%s)
work=${GPU_CHECK_DIR:-$topdir/build/gpu-check}
jobs=${JOBS:-$(nproc)}
cuda=${CUDA_HOME:-/usr/local/cuda}
gtest_mode=${GPU_CHECK_GTEST:-auto}
mkdir -p "$work"
report=$work/report.txt
: > "$report"
npass=0
nfail=0
nskip=0
build_failed=0

say() { echo "$*" | tee -a "$report"; }
elapsed() { echo $(( $(date +%s) - start )); }
pass() { npass=$((npass + 1)); say "PASS: $*"; }
fail() { nfail=$((nfail + 1)); say "FAIL: $*"; }
skip() { nskip=$((nskip + 1)); say "SKIP: $*"; }

finish() {
    say "gpu-check: $npass passed, $nfail failed, $nskip skipped" \
        "($(elapsed) s)"
    [ "$nfail" -eq 0 ] && [ "$build_failed" -eq 0 ]
    exit $?
}

say "== machine"
say "kernel: $(uname -srm)"
say "cores: $(nproc), memory: $(awk '/MemTotal/ {print $2 " kB"}' /proc/meminfo)"
if command -v nvidia-smi >/dev/null
then
    nvidia-smi --query-gpu=name,pci.bus_id,driver_version,memory.total \
        --format=csv,noheader 2>&1 | sed 's/^/gpu: /' | tee -a "$report"
else
    say "gpu: nvidia-smi not found"
fi
if [ -r /proc/driver/nvidia/version ]
then
    say "driver: $(head -n 1 /proc/driver/nvidia/version)"
    # dmabuf export needs the open kernel modules
    if grep -qi "open kernel module" /proc/driver/nvidia/version
    then
        say "driver: open kernel modules"
    else
        say "driver: not the open kernel modules (dmabuf export needs them)"
    fi
else
    say "driver: /proc/driver/nvidia/version not readable (sandboxed?)"
fi
if [ -x "$cuda/bin/nvcc" ]
then
    say "toolkit: $cuda, $("$cuda/bin/nvcc" --version | tail -n 1)"
else
    say "toolkit: no nvcc under $cuda (set CUDA_HOME)"
fi
say "libcuda.so.1: $(ldconfig -p 2>/dev/null | awk '/libcuda.so.1 / {print $NF; exit}')"

# kernel features: what is missing is reported, and the check goes on
missing=""
kmaj=$(uname -r | cut -d. -f1)
kmin=$(uname -r | cut -d. -f2 | tr -cd '0-9')
kver=$((kmaj * 100 + ${kmin:-0}))
[ "$kver" -ge 414 ] || missing="$missing MSG_ZEROCOPY(4.14)"
[ "$kver" -ge 601 ] || missing="$missing io_uring-SENDMSG_ZC(6.1)"
[ "$kver" -ge 612 ] || missing="$missing devmem-rx(6.12)"
[ "$kver" -ge 616 ] || missing="$missing devmem-tx(6.16)"
if [ -r /proc/sys/kernel/io_uring_disabled ] &&
   [ "$(cat /proc/sys/kernel/io_uring_disabled)" != "0" ]
then
    missing="$missing io_uring(disabled)"
fi
[ -e /dev/udmabuf ] || missing="$missing /dev/udmabuf"
say "kernel features missing:${missing:- none by version}"

if [ ! -f "$bundle" ]
then
    say "no $bundle: run 'contrib/tcp_zc/gpu-check.sh prepare' on the" \
        "build machine and bring the file along"
    build_failed=1
    finish
fi

#
# build
#
say "== build ($(elapsed) s)"
if [ ! -f "$work/build-stamp" ] || [ "$bundle" -nt "$work/build-stamp" ]
then
    rm -rf "$work/ucx-master" "$work/deps" "$work/obj"
    tar -C "$work" -xJf "$bundle" || { build_failed=1; finish; }
    # extracted now: a later run builds on this one
    touch "$work/build-stamp"
fi
ucx=$work/ucx-master
deps=$work/deps
copy_overlay "$ucx"
if ! build_stamp | cmp -s - "$work/build-stamp"
then
    say "note: build files changed since the bundle was prepared:"
    build_stamp | diff "$work/build-stamp" - | grep '^>' | tee -a "$report"
    if command -v automake >/dev/null
    then
        (cd "$ucx" && automake src/uct/tcp_zc/Makefile) >/dev/null 2>&1 &&
            say "note: automake regenerated src/uct/tcp_zc/Makefile.in"
    else
        say "note: no automake here: rerun 'gpu-check.sh prepare'"
    fi
fi

# liburing and libnl of the bundle, found through pkg-config
libdir=$deps/usr/lib/x86_64-linux-gnu
for pc in "$libdir"/pkgconfig/*.pc
do
    sed -i "s|^prefix=.*|prefix=$deps/usr|" "$pc"
done
export PKG_CONFIG_PATH=$libdir/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
if ! command -v pkg-config >/dev/null
then
    # a stand-in answering the queries of liburing.m4 and libnl.m4
    mkdir -p "$work/bin"
    cat > "$work/bin/pkg-config" <<EOF
#!/bin/sh
inc=$deps/usr/include
lib=$libdir
case "\$1" in
--exists) exit 0 ;;
--cflags-only-I|--cflags) echo "-I\$inc -I\$inc/libnl3" ;;
--libs-only-L) echo "-L\$lib" ;;
--libs-only-l)
    shift
    for m in "\$@"; do
        case "\$m" in
        liburing) printf '%s ' -luring ;;
        libnl-3.0) printf '%s ' -lnl-3 ;;
        libnl-genl-3.0) printf '%s ' -lnl-genl-3 -lnl-3 ;;
        esac
    done
    echo ;;
--version) echo 0.29 ;;
*) exit 1 ;;
esac
EOF
    chmod +x "$work/bin/pkg-config"
    export PATH=$work/bin:$PATH
    say "note: no pkg-config here: a stand-in answers for liburing and libnl"
fi
export LD_LIBRARY_PATH=$libdir:$work/install/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export LIBRARY_PATH=$libdir${LIBRARY_PATH:+:$LIBRARY_PATH}

# tcp_zc's CUDA declarations against the toolkit's cuda.h
cuda_drv_h_flag=""
if [ -f "$cuda/include/cuda.h" ]
then
    if gcc -fsyntax-only -DHAVE_CUDA_DRV_H -I"$cuda/include" -I"$ucx/src" \
           "$topdir/src/uct/tcp_zc/tcp_zc_cuda.c" > "$work/cuda-h-check.log" 2>&1
    then
        pass "tcp_zc_cuda.h matches $cuda/include/cuda.h"
        # and the module is built with the same check
        cuda_drv_h_flag="--with-cuda-drv-h=$cuda"
    else
        fail "tcp_zc_cuda.h against cuda.h (building without the cross-check)"
        grep -E "error" "$work/cuda-h-check.log" | head -n 10 | tee -a "$report"
        cuda_drv_h_flag="--with-cuda-drv-h=no"
    fi
else
    skip "no $cuda/include/cuda.h: declarations not cross-checked"
fi

have_toolkit=0
cuda_flag=--without-cuda
if [ -f "$cuda/include/cuda.h" ]
then
    have_toolkit=1
    cuda_flag=--with-cuda=$cuda
else
    say "note: no CUDA toolkit under $cuda: UCX is built without its CUDA" \
        "modules, and the checks which need them are skipped"
fi
have_libcuda=0
if ldconfig -p 2>/dev/null | grep -q "libcuda.so.1 " ||
   [ -e "$cuda/lib64/libcuda.so.1" ] || [ -e "$cuda/compat/libcuda.so.1" ]
then
    have_libcuda=1
fi

mkdir -p "$work/obj"
if [ ! -f "$work/obj/config.status" ] ||
   [ "$ucx/configure" -nt "$work/obj/config.status" ]
then
    configure() {
        (cd "$work/obj" && "$ucx/configure" --prefix="$work/install" \
            "$@" --enable-gtest --enable-mt \
            --without-java --without-go --without-verbs --without-rdmacm \
            --without-rocm --without-knem --without-xpmem --without-ugni \
            --disable-doxygen-doc $cuda_drv_h_flag) > "$work/configure.log" 2>&1
    }
    if ! configure "$cuda_flag"
    then
        if [ $have_toolkit -eq 1 ]
        then
            # e.g. a toolkit without nvml.h, which UCX's CUDA support needs
            say "configure with $cuda_flag failed:" \
                "$(grep 'error:' "$work/configure.log" | tail -n 1)"
            say "note: building without UCX's CUDA modules; the checks" \
                "which need them are skipped"
            have_toolkit=0
            cuda_flag=--without-cuda
            configure "$cuda_flag"
        else
            false
        fi || {
            say "configure failed:"
            tail -n 20 "$work/configure.log" | tee -a "$report"
            build_failed=1; finish; }
    fi
    echo "$have_toolkit" > "$work/obj/have-toolkit"
fi
have_toolkit=$(cat "$work/obj/have-toolkit" 2>/dev/null || echo $have_toolkit)
grep -E "tcp_zc|cuda.h|CUDA modules|io_uring|genl" "$work/configure.log" |
    sed 's/^/configure: /' | tee -a "$report"
if ! grep -q "tcpzc" "$work/obj/config.log" 2>/dev/null
then
    say "tcp_zc is not part of this build (see the configure lines above)"
fi

say "make -j$jobs ($(elapsed) s)"
# the libraries and tools only: the gtest binary comes last, if time is left
: > "$work/make.log"
for dir in src/ucm src/ucs src/uct src/ucp src/tools/info src/tools/perf
do
    (make -C "$work/obj/$dir" -j"$jobs" -s &&
     make -C "$work/obj/$dir" -s install) >> "$work/make.log" 2>&1 || {
        say "build of $dir failed:"
        grep -E "error" "$work/make.log" | head -n 20 | tee -a "$report"
        build_failed=1; finish; }
done
grep -E "warning:" "$work/make.log" | grep "tcp_zc" | tee -a "$report"
say "built in $(elapsed) s"
inst=$work/install
export PATH=$inst/bin:$PATH

#
# the GPU: attribute and dmabuf export, with the toolkit's API
#
say "== GPU and dmabuf ($(elapsed) s)"
if [ $have_toolkit -eq 0 ] || [ $have_libcuda -eq 0 ]
then
    skip "GPU probe: no CUDA toolkit or no libcuda.so.1"
else
cat > "$work/probe.c" <<'EOF'
#include <cuda.h>
#include <stdio.h>
#include <unistd.h>
#define CHECK(_call) \
    do { CUresult r = (_call); if (r != CUDA_SUCCESS) { const char *s = ""; \
         cuGetErrorString(r, &s); printf("%s: %d (%s)\n", #_call, r, s); \
         return 1; } } while (0)
int main(void)
{
    int count, i, attr;
    char bus[32];
    CUdevice dev;
    CUcontext ctx;
    CUdeviceptr ptr;
    CUresult r;
    int fd;
    CHECK(cuInit(0));
    CHECK(cuDeviceGetCount(&count));
    for (i = 0; i < count; ++i) {
        CHECK(cuDeviceGet(&dev, i));
        CHECK(cuDeviceGetPCIBusId(bus, sizeof(bus), dev));
        attr = -1;
        r = cuDeviceGetAttribute(&attr, CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED,
                                 dev);
        printf("GPU %d %s: CU_DEVICE_ATTRIBUTE_DMA_BUF_SUPPORTED=%d (result %d)\n",
               i, bus, attr, r);
        CHECK(cuDevicePrimaryCtxRetain(&ctx, dev));
        CHECK(cuCtxSetCurrent(ctx));
        CHECK(cuMemAlloc(&ptr, 2 << 20));
        fd = -1;
        r  = cuMemGetHandleForAddressRange(&fd, ptr, 2 << 20,
                                           CU_MEM_RANGE_HANDLE_TYPE_DMA_BUF_FD,
                                           0);
        printf("GPU %d: dmabuf export of 2 MiB cuMemAlloc memory: %s (result %d, fd %d)\n",
               i, (r == CUDA_SUCCESS) ? "yes" : "no", r, fd);
        if (fd >= 0) {
            close(fd);
        }
        cuMemFree(ptr);
        cuDevicePrimaryCtxRelease(dev);
    }
    return 0;
}
EOF
if { gcc -o "$work/probe" "$work/probe.c" -I"$cuda/include" -L"$cuda/lib64" \
         -L"$cuda/lib64/stubs" -lcuda > "$work/probe.log" 2>&1 ||
       gcc -o "$work/probe" "$work/probe.c" -I"$cuda/include" \
         -l:libcuda.so.1 >> "$work/probe.log" 2>&1; } &&
   timeout 60 "$work/probe" > "$work/probe.out" 2>&1
then
    tee -a "$report" < "$work/probe.out"
    if grep -q "export.*: yes" "$work/probe.out"
    then
        pass "dmabuf export of GPU memory"
    else
        skip "dmabuf export of GPU memory refused (see above)"
    fi
else
    cat "$work/probe.log" "$work/probe.out" 2>/dev/null | tail -n 10 |
        tee -a "$report"
    fail "GPU probe"
fi
fi

#
# tcp_zc's GPU code on the real driver: pool, gather, staging
#
say "== tcp_zc GPU pool, gather, staging ($(elapsed) s)"
gather_lib=""
gather_what="the real driver"
if [ $have_libcuda -eq 0 ]
then
    # no GPU here: the same program over the stand-in driver, to check the
    # script itself; this is no GPU result
    gather_lib=$work/libtcpzc_cuda_stub.so
    gather_what="the STAND-IN driver (no libcuda.so.1: not a GPU run)"
    gcc -shared -fPIC -O2 -I"$ucx/src" -o "$gather_lib" \
        "$topdir/test/gtest/uct/tcp_zc/tcp_zc_cuda_stub.c" -lpthread \
        >> "$work/gather.log" 2>&1
fi
say "driver: $gather_what"
cat > "$work/gather.c" <<'EOF'
#include <uct/tcp_zc/tcp_zc_gpu.h>
#include <ucs/sys/sys.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned released, completed;
static ucs_status_t last_status;
static void release_cb(void *arg, const uint32_t *t, unsigned n) { released += n; }
static void comp_cb(void *arg, ucs_status_t s) { ++completed; last_status = s; }

static char *staged;
static ucs_status_t send_cb(void *arg, const void *buf, size_t len,
                            size_t off, unsigned chunk)
{
    memcpy(staged + off, buf, len);
    return UCS_OK;
}

int main(void)
{
    const size_t pool_size = 64 << 20, nfrags = 4096;
    char reason[256];
    uct_tcp_zc_cuda_t cu;
    uct_tcp_zc_gpu_dev_t dev;
    uct_tcp_zc_gpu_pool_t pool;
    uct_tcp_zc_gpu_engine_t engine;
    uct_tcp_zc_gpu_stager_t stager;
    uct_tcp_zc_gpu_stage_op_t op;
    uct_tcp_zc_gpu_frag_t *frags;
    uct_tcp_zc_cu_deviceptr_t dst;
    char *host, *expect, *back;
    size_t i, total = 0;
    int ordinal, exported, bad = 0, spins;
    ucs_status_t status;

    if (uct_tcp_zc_cuda_open(getenv("GPU_CHECK_CUDA_LIB"), &cu, reason,
                             sizeof(reason)) != UCS_OK) {
        printf("driver: %s\n", reason); return 1;
    }
    uct_tcp_zc_gpu_select(&cu, UCS_SYS_DEVICE_ID_UNKNOWN,
                          UCT_TCP_ZC_GPU_NEAREST, &ordinal, reason,
                          sizeof(reason));
    printf("select: %s\n", reason);
    if (uct_tcp_zc_gpu_dev_open(&cu, ordinal, &dev, reason, sizeof(reason)) !=
        UCS_OK) {
        printf("device: %s\n", reason); return 1;
    }
    printf("dmabuf attribute: %d\n", dev.dmabuf_supported);
    status   = uct_tcp_zc_gpu_pool_create(&dev, pool_size, &pool, reason,
                                          sizeof(reason));
    exported = (status == UCS_OK);
    printf("pool: %s: %s\n", ucs_status_string(status), reason);
    if (!exported) {
        /* gather from plain GPU memory instead */
        uct_tcp_zc_gpu_dev_push(&dev);
        memset(&pool, 0, sizeof(pool));
        pool.dev = &dev; pool.size = pool_size; pool.dmabuf_fd = -1;
        if (cu.mem_alloc(&pool.base, pool_size) != 0) { printf("alloc\n"); return 1; }
        uct_tcp_zc_gpu_dev_pop(&dev);
    }

    host   = malloc(pool_size);
    expect = malloc(pool_size);
    back   = malloc(pool_size);
    staged = malloc(pool_size);
    frags  = calloc(nfrags, sizeof(*frags));
    for (i = 0; i < pool_size; ++i) host[i] = (char)(i * 131 + (i >> 12));
    uct_tcp_zc_gpu_dev_push(&dev);
    cu.memcpy_htod(pool.base, host, pool_size);
    cu.mem_alloc(&dst, pool_size);
    uct_tcp_zc_gpu_dev_pop(&dev);

    srand(1);
    for (i = 0; i < nfrags; ++i) {
        frags[i].length = 1 + rand() % 16384;
        if ((i % 8) == 7) {
            frags[i].linear = host + rand() % (pool_size - frags[i].length);
            memcpy(expect + total, frags[i].linear, frags[i].length);
        } else {
            frags[i].offset = rand() % (pool_size - frags[i].length);
            frags[i].token  = i;
            memcpy(expect + total, host + frags[i].offset, frags[i].length);
        }
        total += frags[i].length;
    }

    if (uct_tcp_zc_gpu_engine_init(&engine, &dev, &pool, 64, release_cb,
                                   NULL) != UCS_OK) { printf("engine\n"); return 1; }
    /* batches of 64 fragments */
    {
        size_t off = 0;
        for (i = 0; i < nfrags; i += 64) {
            size_t j, len = 0;
            for (j = i; j < i + 64; ++j) len += frags[j].length;
            while ((status = uct_tcp_zc_gpu_gather(&engine, frags + i, 64,
                             (void*)(uintptr_t)(dst + off), 1, comp_cb, NULL))
                   == UCS_ERR_NO_RESOURCE) {
                uct_tcp_zc_gpu_engine_progress(&engine);
            }
            if (status != UCS_INPROGRESS) { printf("gather: %s\n", ucs_status_string(status)); return 1; }
            off += len;
        }
    }
    for (spins = 0; (completed < nfrags / 64) && (spins < 100000000); ++spins) {
        uct_tcp_zc_gpu_engine_progress(&engine);
    }
    uct_tcp_zc_gpu_dev_push(&dev);
    cu.memcpy_dtoh(back, dst, total);
    uct_tcp_zc_gpu_dev_pop(&dev);
    bad = memcmp(back, expect, total) != 0;
    printf("gather to GPU: %zu fragments, %zu bytes in %u batches, %u tokens "
           "released, %llu copies, status %s, bytes %s\n", nfrags, total,
           completed, released, (unsigned long long)engine.counters.copies,
           ucs_status_string(last_status), bad ? "DIFFER" : "equal");

    /* staging: the gathered bytes back through pinned chunks */
    completed = 0;
    uct_tcp_zc_gpu_stager_init(&stager, &dev, 1 << 20, 4);
    uct_tcp_zc_gpu_stage(&stager, &op, (void*)(uintptr_t)dst, total, send_cb,
                         comp_cb, NULL);
    for (spins = 0; !completed && (spins < 100000000); ++spins) {
        uct_tcp_zc_gpu_stager_progress(&stager);
    }
    i = memcmp(staged, expect, total) != 0;
    printf("staging from GPU: %zu bytes, status %s, bytes %s\n", total,
           ucs_status_string(last_status), i ? "DIFFER" : "equal");
    bad |= i || (last_status != UCS_OK);

    uct_tcp_zc_gpu_stager_cleanup(&stager);
    uct_tcp_zc_gpu_engine_cleanup(&engine);
    uct_tcp_zc_gpu_dev_push(&dev);
    cu.mem_free(dst);
    uct_tcp_zc_gpu_dev_pop(&dev);
    if (exported) {
        uct_tcp_zc_gpu_pool_destroy(&pool);
    } else {
        uct_tcp_zc_gpu_dev_push(&dev);
        cu.mem_free(pool.base);
        uct_tcp_zc_gpu_dev_pop(&dev);
    }
    uct_tcp_zc_gpu_dev_close(&dev);
    return bad ? 2 : (exported ? 0 : 3);
}
EOF
if gcc -o "$work/gather" "$work/gather.c" -O2 -I"$ucx/src" -I"$work/obj/src" \
       -I"$work/obj" -L"$inst/lib" -L"$inst/lib/ucx" -Wl,-rpath,"$inst/lib/ucx" \
       -luct_tcpzc -lucs > "$work/gather.log" 2>&1
then
    GPU_CHECK_CUDA_LIB=$gather_lib timeout 120 "$work/gather" \
        > "$work/gather.out" 2>&1
    rc=$?
    tee -a "$report" < "$work/gather.out"
    on="on $gather_what"
    case $rc in
    0) pass "GPU pool exported as a dmabuf, gather and staging $on, bytes equal" ;;
    3) pass "gather and staging $on, bytes equal"
       skip "GPU pool export $on (see the pool line above)" ;;
    *) fail "tcp_zc GPU pool/gather/staging $on (exit $rc)" ;;
    esac
else
    tail -n 10 "$work/gather.log" | tee -a "$report"
    if [ ! -f "$inst/lib/ucx/libuct_tcpzc.so" ]
    then
        skip "tcp_zc GPU code: the module was not built"
    else
        fail "building the gather check"
    fi
fi

#
# UCP registration of cuMemAlloc memory with tcp_zc
#
say "== UCP registration of GPU memory ($(elapsed) s)"
ucx_info -d 2>/dev/null | awk '/Memory domain: tcp_zc/,/Transport: tcp_zc/' |
    head -n 20 | tee -a "$report"
if [ $have_toolkit -eq 0 ] || [ $have_libcuda -eq 0 ]
then
    skip "UCP registration of GPU memory: no CUDA toolkit or no libcuda.so.1"
else
cat > "$work/ucp_reg.c" <<'EOF'
#include <ucp/api/ucp.h>
#include <cuda.h>
#include <stdio.h>
int main(void)
{
    ucp_params_t params = {0};
    ucp_mem_map_params_t mp = {0};
    ucp_context_h context;
    ucp_mem_h memh;
    ucs_status_t status;
    CUdevice dev;
    CUcontext ctx;
    CUdeviceptr ptr;
    void *rkey;
    size_t rkey_size;

    if (cuInit(0) || cuDeviceGet(&dev, 0) ||
        cuDevicePrimaryCtxRetain(&ctx, dev) || cuCtxSetCurrent(ctx) ||
        cuMemAlloc(&ptr, 4 << 20)) {
        printf("no GPU memory\n");
        return 1;
    }
    params.field_mask = UCP_PARAM_FIELD_FEATURES;
    params.features   = UCP_FEATURE_TAG | UCP_FEATURE_RMA;
    status = ucp_init(&params, NULL, &context);
    if (status != UCS_OK) {
        printf("ucp_init: %s\n", ucs_status_string(status));
        return 1;
    }
    mp.field_mask  = UCP_MEM_MAP_PARAM_FIELD_ADDRESS |
                     UCP_MEM_MAP_PARAM_FIELD_LENGTH |
                     UCP_MEM_MAP_PARAM_FIELD_MEMORY_TYPE;
    mp.address     = (void*)ptr;
    mp.length      = 4 << 20;
    mp.memory_type = UCS_MEMORY_TYPE_CUDA;
    status = ucp_mem_map(context, &mp, &memh);
    printf("ucp_mem_map of 4 MiB cuMemAlloc memory: %s\n",
           ucs_status_string(status));
    if (status == UCS_OK) {
        status = ucp_rkey_pack(context, memh, &rkey, &rkey_size);
        printf("ucp_rkey_pack: %s, %zu bytes\n", ucs_status_string(status),
               rkey_size);
        if (status == UCS_OK) {
            ucp_rkey_buffer_release(rkey);
        }
        ucp_mem_unmap(context, memh);
    }
    ucp_cleanup(context);
    cuMemFree(ptr);
    return status != UCS_OK;
}
EOF
if gcc -o "$work/ucp_reg" "$work/ucp_reg.c" -I"$inst/include" -I"$cuda/include" \
       -L"$inst/lib" -L"$cuda/lib64/stubs" -Wl,-rpath,"$inst/lib" -lucp -lucs \
       -lcuda > "$work/ucp_reg.log" 2>&1 ||
   gcc -o "$work/ucp_reg" "$work/ucp_reg.c" -I"$inst/include" -I"$cuda/include" \
       -L"$inst/lib" -Wl,-rpath,"$inst/lib" -lucp -lucs -l:libcuda.so.1 \
       >> "$work/ucp_reg.log" 2>&1
then
    UCX_TLS=tcp_zc,cuda_copy UCX_NET_DEVICES=lo UCX_LOG_LEVEL=debug \
        timeout 60 "$work/ucp_reg" > "$work/ucp_reg.out" 2>&1
    rc=$?
    grep -E "ucp_mem_map|ucp_rkey_pack|no GPU" "$work/ucp_reg.out" | tee -a "$report"
    grep -iE "dmabuf" "$work/ucp_reg.out" | head -n 10 | tee -a "$report"
    if [ $rc -ne 0 ]
    then
        fail "UCP registration of GPU memory with tcp_zc"
    elif grep -qiE "tcp_zc.*dmabuf|dmabuf.*tcp_zc" "$work/ucp_reg.out"
    then
        pass "UCP registration of GPU memory: tcp_zc's md got a dmabuf"
    else
        skip "UCP registration succeeded, no sign of a dmabuf reaching tcp_zc's md (export refused, or the md does not take dmabufs here)"
    fi
else
    tail -n 10 "$work/ucp_reg.log" | tee -a "$report"
    fail "building the UCP registration check"
fi
fi

#
# ucx_perftest -m cuda, tcp_zc and tcp side by side, on lo
#
say "== ucx_perftest -m cuda on lo ($(elapsed) s)"
port=14000
perf() {
    local tls=$1 test=$2 size=$3 iters=$4 server line

    port=$((port + 1))
    UCX_TLS=$tls UCX_NET_DEVICES=lo timeout 60 ucx_perftest -p $port \
        > "$work/perf-server.out" 2>&1 &
    server=$!
    sleep 1
    line=$(UCX_TLS=$tls UCX_NET_DEVICES=lo timeout 50 ucx_perftest 127.0.0.1 \
               -p $port -t "$test" -m cuda -s "$size" -n "$iters" 2>&1 |
           grep -E "^ *Final:" | tail -n 1)
    wait $server 2>/dev/null
    echo "${line:-(no result)}"
}
printf "%-12s %-9s %-18s %s\n" test size tls "Final: lat(us) bw(MB/s) msg/s" |
    tee -a "$report"
[ $have_toolkit -eq 1 ] && [ $have_libcuda -eq 1 ] ||
    skip "ucx_perftest -m cuda: no CUDA toolkit or no libcuda.so.1"
[ $have_toolkit -eq 1 ] && [ $have_libcuda -eq 1 ] &&
for spec in "tag_lat 8 20000" "tag_bw 1048576 2000" "ucp_put_bw 1048576 2000" \
            "ucp_get 1048576 2000"
do
    set -- $spec
    for tls in tcp_zc,cuda_copy tcp,cuda_copy
    do
        result=$(perf "$tls" "$1" "$2" "$3")
        printf "%-12s %-9s %-18s %s\n" "$1" "$2" "$tls" "$result" |
            tee -a "$report"
        case "$result" in
        "(no result)")
            if [ "${tls%%,*}" = "tcp_zc" ]
            then
                fail "ucx_perftest $1 -m cuda over $tls"
            else
                skip "ucx_perftest $1 -m cuda over $tls"
            fi ;;
        *) pass "ucx_perftest $1 -m cuda over $tls" ;;
        esac
    done
done

#
# gtest: the GPU tests on the real driver and on the stand-in
#
say "== gtest ($(elapsed) s)"
if [ "$gtest_mode" = "n" ] || { [ "$gtest_mode" = "auto" ] &&
                                 [ "$(elapsed)" -gt 150 ]; }
then
    skip "gtest build (GPU_CHECK_GTEST=$gtest_mode, $(elapsed) s elapsed)"
else
    if make -C "$work/obj/test/gtest" -j"$jobs" -s > "$work/gtest-make.log" 2>&1
    then
        gt=$work/obj/test/gtest/gtest
        libs=stub
        [ $have_libcuda -eq 1 ] && libs="libcuda.so.1 stub"
        for lib in $libs
        do
            if [ "$lib" = "stub" ]
            then
                env_lib=""
            else
                env_lib="TCP_ZC_GPU_TEST_LIB=$lib"
            fi
            env $env_lib UCX_HANDLE_ERRORS=none timeout 300 "$gt" \
                --gtest_filter='*test_tcp_zc_gpu*' > "$work/gtest-$lib.out" 2>&1
            rc=$?
            grep -E "SKIP|FAILED|PASSED|INFO \] GPU|copies in flight" \
                "$work/gtest-$lib.out" | sed "s/^/gtest($lib): /" | tee -a "$report"
            if [ $rc -eq 0 ]
            then
                pass "GPU gtests with $lib"
            else
                fail "GPU gtests with $lib"
            fi
        done
    else
        grep -E "error" "$work/gtest-make.log" | head -n 10 | tee -a "$report"
        fail "gtest build"
    fi
fi

finish

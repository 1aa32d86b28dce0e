#!/bin/bash -eu
#
# Build and run the tcp_zc fuzz targets (test/fuzz/): libFuzzer with
# AddressSanitizer and UndefinedBehaviorSanitizer, clang from Debian's
# packages (installed here if missing). Each target is built standalone from
# the module's parser sources and the headers of a configured UCX tree; none
# links libucs.
#
#   fuzz.sh [--test] <tree-build-dir>
#
# Runs each target for FUZZ_TIME seconds (default 60), or until FUZZ_RUNS
# executions if set, and prints per target the executions, the coverage
# (libFuzzer's cov: edges, ft: features) and the crashes; exits non-zero if a
# target crashed or failed a check. A crash leaves its input in
# $FUZZ_DIR/artifacts/<target>/ (see below); add it to
# test/fuzz/corpus/<target>/ once fixed, so every later run replays it.
#
# --test: the short run of "make test": FUZZ_TIME defaults to 15 s per
# target, one line "[       OK ] fuzz <target>" or "[  FAILED  ] fuzz
# <target>" each (or "[     SKIP ]" if clang cannot be installed), and a
# last line "fuzz: N passed, N failed, N skipped".
#
# FUZZ_TARGETS: the targets to run (default: all of test/fuzz/fuzz_*.c whose
# sources are here); FUZZ_ARGS: more libFuzzer arguments; FUZZ_CC: the
# compiler (default clang, installed from Debian if missing); FUZZ_DIR: where
# the binaries, the corpus which the runs grow, logs and crash inputs go
# (default <tree-build-dir>/fuzz).
#

topdir=$(cd "$(dirname "$0")/../.." && pwd)
fuzzdir=$topdir/test/fuzz
moddir=$topdir/src/uct/tcp_zc

test_mode=n
if [ "${1:-}" = "--test" ]
then
    test_mode=y
    shift
fi

if [ $# -ne 1 ]
then
    echo "usage: $0 [--test] <tree-build-dir>" >&2
    exit 2
fi

treedir=$(cd "$1" && pwd)
objdir=$treedir/obj
outdir=${FUZZ_DIR:-$treedir/fuzz}
if [ "$test_mode" = "y" ]
then
    fuzz_time=${FUZZ_TIME:-15}
else
    fuzz_time=${FUZZ_TIME:-60}
fi

# the sources each target is built from, besides its own and the stubs
target_sources() {
    case $1 in
    errqueue) echo "$moddir/tcp_zc_errqueue.c" ;;
    rx)       echo "$moddir/tcp_zc_rx.c" ;;
    dmrx)     echo "$moddir/tcp_zc_dmrx.c" ;;
    *)        ;;
    esac
}

# the longest input of each target
target_max_len() {
    case $1 in
    errqueue) echo 256 ;;
    *)        echo 4096 ;;
    esac
}

if [ -z "${FUZZ_TARGETS:-}" ]
then
    FUZZ_TARGETS=""
    for src in "$fuzzdir"/fuzz_*.c
    do
        target=$(basename "$src" .c)
        target=${target#fuzz_}
        [ "$target" != "stubs" ] || continue
        missing=n
        for dep in $(target_sources "$target")
        do
            [ -f "$dep" ] || missing=y
        done
        if [ "$missing" = "n" ]
        then
            FUZZ_TARGETS="$FUZZ_TARGETS $target"
        fi
    done
fi

passed=0
failed=0
skipped=0

# result <ok|failed|skip> <target> <text>
result() {
    if [ "$test_mode" = "y" ]
    then
        case $1 in
        ok)     echo "[       OK ] fuzz $2 ($3)"; passed=$((passed + 1)) ;;
        failed) echo "[  FAILED  ] fuzz $2 ($3)"; failed=$((failed + 1)) ;;
        skip)   echo "[     SKIP ] fuzz $2: $3"; skipped=$((skipped + 1)) ;;
        esac
    else
        echo "fuzz $2: $3"
        [ "$1" = "ok" ] && passed=$((passed + 1)) || failed=$((failed + 1))
    fi
}

summary() {
    echo "fuzz: $passed passed, $failed failed, $skipped skipped"
    [ "$failed" -eq 0 ]
}

# clang and its libFuzzer runtime, from Debian's packages
cc=${FUZZ_CC:-clang}
clang_works() {
    command -v "$cc" >/dev/null &&
        echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long s)
              { return 0; }' |
        $cc -fsanitize=fuzzer,address,undefined -x c - \
            -o "$outdir/clang-check" >/dev/null 2>&1
}

mkdir -p "$outdir/bin" "$outdir/logs"
if ! clang_works
then
    echo "tcp_zc: installing clang and its libFuzzer runtime" >&2
    reason=""
    "$topdir/contrib/tcp_zc/deps.sh" clang libclang-rt-dev >&2 ||
        reason="apt-get could not install clang libclang-rt-dev"
    if [ -z "$reason" ] && ! clang_works
    then
        reason="$cc cannot link a libFuzzer program"
    fi

    if [ -n "$reason" ]
    then
        for target in $FUZZ_TARGETS
        do
            if [ "$test_mode" = "y" ]
            then
                result skip "$target" "$reason"
            else
                result failed "$target" "$reason"
            fi
        done
        summary
        exit
    fi
fi

# readable stack traces where LLVM's symbolizer is installed
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ] && ! command -v llvm-symbolizer >/dev/null
then
    for symbolizer in /usr/lib/llvm-*/bin/llvm-symbolizer
    do
        [ -x "$symbolizer" ] && export ASAN_SYMBOLIZER_PATH=$symbolizer
    done
fi

# the UCX tree which this build directory was configured from
ucx_src=$(sed -n 's/^abs_top_srcdir *= *//p' "$objdir/Makefile" 2>/dev/null)
if [ -z "$ucx_src" ] || [ ! -f "$objdir/config.h" ]
then
    echo "tcp_zc: $objdir is not a configured UCX build directory" >&2
    exit 1
fi

cflags="-g -O2 -fno-omit-frame-pointer -Wall -Werror -Wno-unknown-attributes
        -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
        -DHAVE_CONFIG_H -D_GNU_SOURCE
        -I$topdir/src -I$ucx_src/src -I$objdir -I$objdir/src"

# options of the sanitizers: any report is fatal
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

for target in $FUZZ_TARGETS
do
    bin=$outdir/bin/fuzz_$target
    log=$outdir/logs/$target.log
    corpus=$outdir/corpus/$target
    artifacts=$outdir/artifacts/$target
    seeds=$fuzzdir/corpus/$target
    mkdir -p "$corpus" "$artifacts"

    # shellcheck disable=SC2046
    if ! $cc $cflags "$fuzzdir/fuzz_$target.c" $(target_sources "$target") \
         "$fuzzdir/fuzz_stubs.c" -o "$bin" >"$log" 2>&1
    then
        cat "$log" >&2
        result failed "$target" "build failed (see $log)"
        continue
    fi

    runs=""
    [ -z "${FUZZ_RUNS:-}" ] || runs="-runs=$FUZZ_RUNS"
    start=$(date +%s)
    set +e
    # new inputs go to the first corpus directory; the seeds (and the
    # reproducers of fixed crashes) are replayed first
    # shellcheck disable=SC2086
    "$bin" -max_total_time="$fuzz_time" $runs \
        -max_len="$(target_max_len "$target")" -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$artifacts/" \
        ${FUZZ_ARGS:-} "$corpus" "$seeds" >>"$log" 2>&1
    rc=$?
    set -e
    secs=$(($(date +%s) - start))

    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" |
            tail -n 1)
    read -r cov ft < <(sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\) .*/\1 \2/p' \
                           "$log" | tail -n 1) || true
    # libFuzzer stops at the first crash, leak, timeout or out-of-memory,
    # and writes its input
    crashes=$(grep -c "Test unit written to" "$log" || true)
    if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]
    then
        crashes=1
    fi

    text="${execs:-0} executions in $secs s, cov ${cov:-0}, ft ${ft:-0},"
    text="$text $crashes crashes"
    if [ "$rc" -eq 0 ] && [ "$crashes" -eq 0 ]
    then
        result ok "$target" "$text"
    else
        grep -E "^==[0-9]+== *ERROR|^SUMMARY|runtime error|check failed|^artifact_prefix|Test unit written" \
            "$log" | head -n 10 >&2 || true
        result failed "$target" "$text, exit status $rc (see $log)"
    fi
done

summary

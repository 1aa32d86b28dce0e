#
# tcp_zc: TCP zero-copy transport for UCX.
#
#   make           build UCX (1.13.1 by default) with tcp_zc into build/
#   make test      build, then run the tcp_zc tests in private network
#                  namespaces, the guest tests of "make test-vm" included;
#                  ends with "N passed, N failed, N skipped"
#   make demo      build, then show on one screen what tcp_zc offers here,
#                  tcp_zc and tcp on lo (with a plot), and real zero-copy
#                  sends in a QEMU guest (the main job)
#   make bench     build, then benchmark tcp_zc against UCX's tcp on lo and
#                  veth (median, min and max of REPEATS runs, default 5;
#                  ratios, sender CPU per GB, the goals of issue 15 per row;
#                  table, CSV and PNG in the tree's build directory);
#                  PRESET=quick for iterating (3 repeats, a few points),
#                  PRESET=full (default); MPI_BENCH=n skips the MPI table
#   make bench-engines
#                  build, then compare tcp_zc's send engines (plain,
#                  MSG_ZEROCOPY, io_uring, auto) on lo and veth
#   make test-vm   build, then run tcp_zc in a QEMU guest (TCG) with Debian's
#                  newest kernel, sending over a virtio-net NIC to a private
#                  network namespace: real zero-copy sends; ends with
#                  "N passed, N failed, N skipped"
#   make fuzz      build, then run each fuzz target of test/fuzz (libFuzzer
#                  with ASan and UBSan; clang is installed if missing) for
#                  FUZZ_TIME seconds (default 60); prints executions, coverage
#                  and crashes per target, fails on a crash
#   make release-build
#                  build, then compile UCX's libraries and tcp_zc in UCX's
#                  release configuration (contrib/configure-release) with gcc
#                  and clang, warnings as errors
#
#   UCX_SRC=<dir>  use that UCX source tree instead of UCX 1.13.1, e.g. the
#                  master snapshot extracted under build/
#

SCRIPTS  = contrib/tcp_zc
UCX_SRC ?=

.PHONY: all build deps test test-vm demo bench bench-engines clean \
        release-build

all: build

deps:
	@$(SCRIPTS)/deps.sh

build: deps
	@$(SCRIPTS)/build.sh $(UCX_SRC)

test: deps
	@$(SCRIPTS)/deps.sh qemu-system-x86 busybox-static clang
	@treedir=$$($(SCRIPTS)/build.sh $(UCX_SRC) | tail -n 1) && \
	$(SCRIPTS)/test.sh "$$treedir"

test-vm: deps
	@$(SCRIPTS)/deps.sh qemu-system-x86 busybox-static
	@treedir=$$($(SCRIPTS)/build.sh $(UCX_SRC) | tail -n 1) && \
	test/vm/vm-test.sh "$$treedir"

demo: deps
	@$(SCRIPTS)/deps.sh python3-matplotlib qemu-system-x86 busybox-static
	@treedir=$$($(SCRIPTS)/build.sh $(UCX_SRC) | tail -n 1) && \
	$(SCRIPTS)/demo.sh "$$treedir"

bench: deps
	@$(SCRIPTS)/deps.sh python3-matplotlib
	@treedir=$$($(SCRIPTS)/build.sh $(UCX_SRC) | tail -n 1) && \
	$(SCRIPTS)/bench.sh "$$treedir" $(or $(PRESET),full)

bench-engines: deps
	@treedir=$$($(SCRIPTS)/build.sh $(UCX_SRC) | tail -n 1) && \
	$(SCRIPTS)/engine-compare.sh "$$treedir" $(or $(PRESET),short)

.PHONY: fuzz
fuzz: deps
	@treedir=$$($(SCRIPTS)/build.sh $(UCX_SRC) | tail -n 1) && \
	$(SCRIPTS)/fuzz.sh "$$treedir"

release-build: deps
	@$(SCRIPTS)/deps.sh clang
	@treedir=$$($(SCRIPTS)/build.sh $(UCX_SRC) | tail -n 1) && \
	$(SCRIPTS)/release-build.sh "$$treedir"

clean:
	rm -rf build/*/obj build/*/install

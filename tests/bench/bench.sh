#!/bin/bash
# bench.sh: the benchmark entry point (make bench): microvm against QEMU's microvm machine.
#
# Usage: bench.sh [MICROVM_BINARY]      (default: ./microvm)
# First, on this machine: the FUSE server through the host-side harness against the
# native directory (tests/bench/fuse_host.sh; needs root and /dev/fuse, else skipped).
# Then the guest figures, with the same set-up as the end-to-end tests (tests/e2e/run.sh):
# directly on a working /dev/kvm, otherwise inside one boot of the nested helper VM, where
# both VMMs run side by side (tests/bench/cases.sh).
# The test programs are found beside the microvm binary (make bench builds them), or
# given as BENCH_FSBENCH (tests/bench/fsbench) and BENCH_FUSEHOST (tests/microvm-fusehost).
# BENCH_ONLY picks parts: a subset of "fuse boot rss vfs dax meta run oci" (default: all).
# Exit status: 0 when every figure was measured, 1 otherwise.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../e2e/run.sh
. "$BENCH_DIR/../e2e/run.sh"
# shellcheck source=lib.sh
. "$BENCH_DIR/lib.sh"
# shellcheck source=cases_meta.sh
. "$BENCH_DIR/cases_meta.sh"

bench_entry() {
	local bin=${1:-./microvm} builddir rc=0 fuse_rc=0
	builddir=$(cd "$(dirname "$bin")" && pwd)
	: "${BENCH_FSBENCH:=$builddir/tests/bench/fsbench}" "${BENCH_FUSEHOST:=$builddir/tests/microvm-fusehost}"
	# The nested helper VM's own limit: a run takes about 6 minutes there.
	: "${MICROVM_E2E_L1_TIMEOUT:=1200}"
	export BENCH_FSBENCH BENCH_FUSEHOST MICROVM_E2E_L1_TIMEOUT
	if bench_wanted fuse; then
		"$BENCH_DIR/fuse_host.sh" "$BENCH_FSBENCH" "$BENCH_FUSEHOST" || fuse_rc=$?
		((fuse_rc == 0 || fuse_rc == 77)) || rc=1
	fi
	if bench_wanted boot || bench_wanted rss || bench_wanted vfs || bench_wanted dax ||
		bench_wanted meta || bench_wanted run || bench_wanted oci; then
		e2e_setup_vmm "$bin"
		# The meta tree is built here, where it is quick, into the asset cache L1 reads.
		if bench_wanted meta; then
			# Decided (and exported) here, for L1 too.
			metab_kib >/dev/null
			metab_parts >/dev/null
			metab_modes >/dev/null
			metab_prepare >/dev/null || rc=1
		fi
		e2e_dispatch "$BENCH_DIR/cases.sh" || rc=1
	fi
	return "$rc"
}

bench_entry "$@"

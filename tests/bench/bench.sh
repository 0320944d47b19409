#!/bin/bash
# bench.sh: the benchmark entry point (make bench): microvm against QEMU's microvm machine.
#
# Usage: bench.sh [MICROVM_BINARY]      (default: ./microvm)
# Same set-up as the end-to-end tests (tests/e2e/run.sh): directly on a working /dev/kvm,
# otherwise inside one boot of the nested helper VM, where both VMMs run side by side.
# Prints the BENCH lines described in tests/bench/cases.sh.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../e2e/run.sh
. "$BENCH_DIR/../e2e/run.sh"

e2e_setup_vmm "${1:-./microvm}"
e2e_dispatch "$BENCH_DIR/cases.sh"

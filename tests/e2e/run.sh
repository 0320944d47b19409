#!/bin/bash
# run.sh: the end-to-end test entry point (make check-e2e): assets, guest, then the cases.
#
# Usage: run.sh [MICROVM_BINARY]      (default: ./microvm)
# Runs tests/e2e/cases.sh directly when /dev/kvm works, otherwise (or with
# MICROVM_E2E_FORCE_NESTED=1) inside the nested helper VM, booted once for the whole run.
# MICROVM_E2E_VMM=qemu tests QEMU's microvm machine instead, to check the harness itself.
# Logs of every case stay in $E2E_RESULTS (default: a fresh directory under /tmp, removed
# when everything passed).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=assets.sh
. "$E2E_LIB_DIR/assets.sh"

# Export what cases.sh (and bench cases) need: E2E_VMM_KIND, E2E_VMM_BIN, E2E_KERNEL,
# E2E_VMLINUX, E2E_INITRD. Usage: e2e_setup_vmm MICROVM_BINARY
e2e_setup_vmm() {
	E2E_VMM_KIND=${MICROVM_E2E_VMM:-microvm}
	case $E2E_VMM_KIND in
	microvm)
		[[ -x $1 ]] || e2e_die "$1: no microvm binary (run make first)"
		E2E_VMM_BIN=$(realpath "$1")
		;;
	qemu) E2E_VMM_BIN=$(command -v qemu-system-x86_64) || e2e_die "qemu-system-x86_64 missing" ;;
	*) e2e_die "MICROVM_E2E_VMM=$E2E_VMM_KIND: expected microvm or qemu" ;;
	esac
	assets_prepare
	E2E_INITRD=$("$E2E_LIB_DIR/guest-initramfs.sh")
	# The virtio-fs cases need the transport and file system modules in the guest.
	E2E_VFS_INITRD=$(E2E_GUEST_MODULES="virtio_mmio virtiofs" "$E2E_LIB_DIR/guest-initramfs.sh")
	# Command mode: microvm-init (built beside the binary) with busybox, by microvm-initramfs.
	E2E_RUNNER_INITRD=
	if [[ $E2E_VMM_KIND == microvm ]]; then
		E2E_RUNNER_INITRD=$("$E2E_LIB_DIR/runner-initramfs.sh" \
			"$(dirname "$E2E_VMM_BIN")/guest/microvm-init")
	fi
	E2E_KERNEL=$KERNEL
	E2E_VMLINUX=$VMLINUX
	export E2E_VMM_KIND E2E_VMM_BIN E2E_KERNEL E2E_VMLINUX E2E_INITRD E2E_VFS_INITRD \
		E2E_RUNNER_INITRD
}

# Run SCRIPT here or in L1 with a scratch directory; keep the logs when it fails.
# Usage: e2e_dispatch SCRIPT
e2e_dispatch() {
	local script=$1 scratch rc=0
	if [[ -n ${E2E_RESULTS:-} ]]; then
		scratch=$E2E_RESULTS
		rm -rf "$scratch"
		mkdir -p "$scratch"
	else
		scratch=$(mktemp -d "${TMPDIR:-/tmp}/microvm-e2e.XXXXXX")
	fi
	if e2e_want_nested; then
		"$E2E_LIB_DIR/nested.sh" "$scratch" "$script" || rc=$?
	else
		E2E_WORKDIR=$scratch/work "$script" || rc=$?
	fi
	if ((rc == 0)) && [[ -z ${E2E_RESULTS:-} ]]; then
		rm -rf "$scratch"
	else
		e2e_log "logs kept in $scratch"
	fi
	return "$rc"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	e2e_setup_vmm "${1:-./microvm}"
	e2e_dispatch "$E2E_LIB_DIR/cases.sh"
fi

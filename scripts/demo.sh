#!/bin/bash
# demo.sh: build microvm, boot the stock Debian kernel with a host folder shared over
# virtio-fs, and run one command in that folder inside the guest.
#
# Usage: scripts/demo.sh [--share DIR] [COMMAND [ARGS...]]
#        (default DIR: the current directory; default COMMAND: ls -la)
# Installs packages, builds microvm and its guest init in build/, fetches the kernel, packs
# the command-mode initramfs (microvm-initramfs: microvm-init, the virtio modules, busybox),
# writes a vm.yaml with DIR as share "work" mounted on /work, and runs
# `microvm run --config vm.yaml -- COMMAND`: the command runs in /work in the guest, its
# output is this script's output and its exit status this script's. Without a usable
# /dev/kvm the run happens inside the nested helper VM (slow: about a minute), where the
# host's files are visible read-only, so the share is read-only there.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../tests/e2e/lib.sh
. "$ROOT/tests/e2e/lib.sh"
# shellcheck source=../tests/e2e/assets.sh
. "$ROOT/tests/e2e/assets.sh"

build_microvm() {
	local build=$ROOT/build
	if [[ ! -f $build/Makefile ]]; then
		(cd "$ROOT" && autoreconf -fi)
		[[ ! -f $ROOT/config.status ]] || make -s -C "$ROOT" distclean
		mkdir -p "$build"
		(cd "$build" && "$ROOT/configure" -q)
	fi
	make -s -C "$build" -j"$(nproc)" microvm guest/microvm-init >&2
	MICROVM=$build/microvm
	GUEST_INIT=$build/guest/microvm-init
}

# write_config FILE INITRD SHARE READONLY: the demo's vm.yaml (the command comes after --).
write_config() {
	cat >"$1" <<EOF
# vm.yaml written by scripts/demo.sh
kernel: $KERNEL
initrd: $2
memory: 256M
vcpus: 1
shares:
  - tag: work
    path: $3
    readonly: $4
    mount: /work
workdir: /work
EOF
}

demo_main() {
	local share=$PWD
	if [[ ${1:-} == --share ]]; then
		share=$(realpath "${2:?--share needs a directory}")
		shift 2
	fi
	[[ -d $share ]] || e2e_die "$share is not a directory"
	(($# > 0)) || set -- ls -la
	"$ROOT/scripts/setup.sh"
	build_microvm
	assets_prepare
	local initrd scratch readonly=false rc=0
	initrd=$("$ROOT/tests/e2e/runner-initramfs.sh" "$GUEST_INIT")
	scratch=$(mktemp -d "${TMPDIR:-/tmp}/microvm-demo.XXXXXX")
	e2e_want_nested && readonly=true
	write_config "$scratch/vm.yaml" "$initrd" "$share" "$readonly"
	local cmd=("$MICROVM" run --config "$scratch/vm.yaml" -- "$@")
	if e2e_want_nested; then
		e2e_log "no usable /dev/kvm here: running inside the nested helper VM"
		"$ROOT/tests/e2e/nested.sh" "$scratch" "${cmd[@]}" || rc=$?
	else
		"${cmd[@]}" || rc=$?
	fi
	rm -rf "$scratch"
	exit "$rc"
}

demo_main "$@"

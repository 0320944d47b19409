#!/bin/bash
# demo.sh: build microvm, boot the stock Debian kernel with a host folder shared over
# virtio-fs, and run one command in that folder inside the guest.
#
# Usage: scripts/demo.sh [--share DIR] [COMMAND [ARGS...]]
#        (default DIR: the current directory; default COMMAND: ls -la)
# Installs packages, builds in build/, fetches the kernel and builds the test initramfs
# (with the virtio_mmio and virtiofs modules), writes a vm.yaml with DIR as share "work",
# and runs `microvm run --config` with COMMAND after " -- " on the guest kernel command
# line. The guest mounts the share on /mnt/work, runs COMMAND there, prints its output and
# "MICROVM-E2E status=N", then powers off. Exits with microvm's status. Without a usable
# /dev/kvm the run happens inside the nested helper VM (slow: about a minute), where the
# host's files are visible read-only, so the share is read-only there.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../tests/e2e/lib.sh
. "$ROOT/tests/e2e/lib.sh"
# shellcheck source=../tests/e2e/assets.sh
. "$ROOT/tests/e2e/assets.sh"

# Kernel command-line words for argv: quote words with blanks; a '"' cannot be passed.
guest_argv() {
	local arg out=()
	for arg; do
		[[ $arg != *'"'* ]] || e2e_die "the guest command cannot contain '\"': $arg"
		if [[ $arg =~ [[:space:]] || -z $arg ]]; then
			out+=("\"$arg\"")
		else
			out+=("$arg")
		fi
	done
	printf '%s\n' "${out[*]}"
}

build_microvm() {
	local build=$ROOT/build
	if [[ ! -f $build/Makefile ]]; then
		(cd "$ROOT" && autoreconf -fi)
		[[ ! -f $ROOT/config.status ]] || make -s -C "$ROOT" distclean
		mkdir -p "$build"
		(cd "$build" && "$ROOT/configure" -q)
	fi
	make -s -C "$build" -j"$(nproc)" microvm >&2
	MICROVM=$build/microvm
}

# write_config FILE INITRD CMDLINE SHARE READONLY: the demo's vm.yaml.
write_config() {
	cat >"$1" <<EOF
# vm.yaml written by scripts/demo.sh
kernel: $KERNEL
initrd: $2
cmdline: '${3//\'/\'\'}'
memory: 256M
vcpus: 1
console: stdio
shares:
  - tag: work
    path: $4
    readonly: $5
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
	local initrd cmdline scratch readonly=false rc=0
	initrd=$(E2E_GUEST_MODULES="virtio_mmio virtiofs" "$ROOT/tests/e2e/guest-initramfs.sh")
	cmdline="$E2E_BASE_CMDLINE e2e.action=poweroff e2e.mount=work:/mnt/work"
	cmdline+=" e2e.cwd=/mnt/work -- $(guest_argv "$@")"
	scratch=$(mktemp -d "${TMPDIR:-/tmp}/microvm-demo.XXXXXX")
	e2e_want_nested && readonly=true
	write_config "$scratch/vm.yaml" "$initrd" "$cmdline" "$share" "$readonly"
	local cmd=("$MICROVM" run --config "$scratch/vm.yaml")
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

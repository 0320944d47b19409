#!/bin/bash
# demo.sh: build microvm and boot the stock Debian kernel running one command in the guest.
#
# Usage: scripts/demo.sh [COMMAND [ARGS...]]      (default: uname -a)
# Installs packages, builds in build/, fetches the kernel and builds the test initramfs,
# then runs `microvm run` with COMMAND after " -- " on the guest kernel command line; the
# guest prints its output and "MICROVM-E2E status=N", then powers off. Exits with
# microvm's status. Without a usable /dev/kvm the run happens inside the nested helper VM
# (slow: about a minute).
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

demo_main() {
	(($# > 0)) || set -- uname -a
	"$ROOT/scripts/setup.sh"
	build_microvm
	assets_prepare
	local initrd cmdline scratch rc=0
	initrd=$("$ROOT/tests/e2e/guest-initramfs.sh")
	cmdline="$E2E_BASE_CMDLINE e2e.action=poweroff -- $(guest_argv "$@")"
	local cmd=("$MICROVM" run --kernel "$KERNEL" --initrd "$initrd" --cmdline "$cmdline"
		--memory 256M --vcpus 1)
	if e2e_want_nested; then
		e2e_log "no usable /dev/kvm here: running inside the nested helper VM"
		scratch=$(mktemp -d "${TMPDIR:-/tmp}/microvm-demo.XXXXXX")
		"$ROOT/tests/e2e/nested.sh" "$scratch" "${cmd[@]}" || rc=$?
		rm -rf "$scratch"
	else
		"${cmd[@]}" || rc=$?
	fi
	exit "$rc"
}

demo_main "$@"

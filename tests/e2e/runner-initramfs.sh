#!/bin/bash
# runner-initramfs.sh: build (and cache) the command-mode guest's initramfs with microvm-initramfs.
#
# Usage: runner-initramfs.sh INIT      prints the path of the cached initramfs.
#   INIT: the built guest/microvm-init. The image also has busybox (sh, cat...) for the
#   commands the cases run. KVER and MODULES_BASE come from assets.sh (run here when unset).
# Also links $(e2e_cache_dir)/runner.cpio.gz to it, for configs/runner.yaml.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

runner_initramfs_main() {
	local init=$1 cache key out script=$HERE/../../scripts/microvm-initramfs.sh
	[[ -x $init ]] || e2e_die "$init: no microvm-init (run make first)"
	if [[ -z ${KVER:-} || -z ${MODULES_BASE:-} ]]; then
		# shellcheck source=assets.sh
		. "$HERE/assets.sh"
		assets_prepare
	fi
	cache=$(e2e_cache_dir)/initramfs
	mkdir -p "$cache"
	key=$(e2e_hash "$(sha256sum <"$init")" "$(sha256sum <"$script")" \
		"$(sha256sum <"${MICROVM_E2E_BUSYBOX:-/bin/busybox}")" "$KVER")
	out=$cache/runner-$KVER-$key.cpio.gz
	[[ -s $out ]] || MICROVM_BUSYBOX=${MICROVM_E2E_BUSYBOX:-/bin/busybox} \
		bash "$script" --modules "$MODULES_BASE/lib/modules/$KVER" --kver "$KVER" \
		--init "$init" --busybox -o "$out" >&2
	ln -sfn "$out" "$(e2e_cache_dir)/runner.cpio.gz" 2>/dev/null || true
	printf '%s\n' "$out"
}

runner_initramfs_main "$@"

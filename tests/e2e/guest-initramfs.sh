#!/bin/bash
# guest-initramfs.sh: build (and cache) the test guest's initramfs from busybox-static.
#
# Usage: guest-initramfs.sh            prints the path of the cached initramfs.
# Environment: E2E_GUEST_MODULES  kernel modules to load at boot, in order (their
#              dependencies are added first), e.g. "virtio_mmio virtiofs"; default none.
#              KVER, MODULES_BASE from assets.sh (run here when unset).
#
# The guest's /init prints machine-readable lines that the cases check:
#   MICROVM-E2E userspace            first thing in user space (the benchmark's marker)
#   MICROVM-E2E nproc=N              online CPUs
#   MICROVM-E2E memtotal_kb=N        MemTotal from /proc/meminfo
#   MICROVM-E2E status=N             exit status of the command after " -- " on the
#                                    kernel command line, when there is one
#   MICROVM-E2E action=A             then does e2e.action=A from the kernel command line:
#                                    poweroff (default), reboot, or sleep (idle forever,
#                                    after printing "MICROVM-E2E idle")
# With reboot, the kernel's reboot= parameter picks the method: k (i8042), a (ACPI reset
# register), t (triple fault).
# Shares (guests built with E2E_GUEST_MODULES="virtio_mmio virtiofs"):
#   e2e.mount=TAG:DIR                mount virtio-fs share TAG on DIR (repeatable)
#   e2e.cwd=DIR                      run the command in DIR
#   root=TAG rootfstype=virtiofs     mount share TAG as the root file system and
#                                    switch_root to its /sbin/init (argv passed on)
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

# The guest's /init (busybox sh). Kernel parameters with a dot are not passed to init, so
# e2e.action is read from /proc/cmdline; words after " -- " arrive as init's arguments.
guest_init_script() {
	cat <<'EOF'
#!/bin/sh
# /init of the microvm end-to-end test guest: report, run the given command, then act.
mount -t devtmpfs dev /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
echo "MICROVM-E2E userspace"
mount -t proc proc /proc
mount -t sysfs sys /sys
echo "MICROVM-E2E nproc=$(nproc)"
while read -r key value _; do
	[ "$key" = MemTotal: ] && echo "MICROVM-E2E memtotal_kb=$value"
done </proc/meminfo
while read -r module; do
	insmod "/lib/modules/$module" || echo "MICROVM-E2E insmod $module failed"
done </etc/modules.order
action=poweroff
root=
rootfstype=
set -f
for arg in $(cat /proc/cmdline); do
	case $arg in
	--) break ;;
	e2e.action=*) action=${arg#e2e.action=} ;;
	e2e.mount=*)
		spec=${arg#e2e.mount=}
		mkdir -p "${spec#*:}"
		mount -t virtiofs "${spec%%:*}" "${spec#*:}" ||
			echo "MICROVM-E2E mount ${spec%%:*} failed"
		;;
	e2e.cwd=*) cd "${arg#e2e.cwd=}" || echo "MICROVM-E2E cd failed" ;;
	root=*) root=${arg#root=} ;;
	rootfstype=*) rootfstype=${arg#rootfstype=} ;;
	esac
done
set +f
if [ "$rootfstype" = virtiofs ]; then
	# A share as the root file system: mount it by tag and hand over to its /sbin/init.
	mkdir -p /newroot
	if mount -t virtiofs "$root" /newroot; then
		echo "MICROVM-E2E root=$root"
		for fs in dev proc sys; do
			[ -d "/newroot/$fs" ] && mount --move "/$fs" "/newroot/$fs"
		done
		exec switch_root /newroot /sbin/init "$@"
	fi
	echo "MICROVM-E2E root mount failed"
fi
if [ $# -gt 0 ]; then
	"$@"
	echo "MICROVM-E2E status=$?"
fi
echo "MICROVM-E2E action=$action"
case $action in
poweroff) poweroff -f ;;
reboot) reboot -f ;;
sleep) echo "MICROVM-E2E idle" ;;
*) echo "MICROVM-E2E unknown action $action" ;;
esac
# Only "sleep" gets here on purpose; a failed action hangs so that the test times out.
while :; do sleep 3600; done
EOF
}

guest_initramfs_build() {
	local out=$1 stage
	stage=$(mktemp -d "${out%/*}/.stage.XXXXXX")
	GUEST_STAGE=$stage
	trap 'rm -rf "$GUEST_STAGE"' EXIT
	e2e_stage_busybox "$stage"
	mkdir -p "$stage/dev" "$stage/proc" "$stage/sys" "$stage/tmp" "$stage/etc"
	# The kernel opens /dev/console for init before devtmpfs exists; /init copes without.
	mknod -m 600 "$stage/dev/console" c 5 1 2>/dev/null || true
	# shellcheck disable=SC2086 # a list of module names
	e2e_stage_modules "$stage" "$MODULES_BASE" "$KVER" ${E2E_GUEST_MODULES:-}
	guest_init_script >"$stage/init"
	chmod 755 "$stage/init"
	e2e_pack_cpio "$stage" "$out"
	rm -rf "$stage"
}

guest_initramfs_main() {
	local cache key out
	if [[ -z ${KVER:-} || -z ${MODULES_BASE:-} ]]; then
		# shellcheck source=assets.sh
		. "$HERE/assets.sh"
		assets_prepare
	fi
	cache=$(e2e_cache_dir)/initramfs
	mkdir -p "$cache"
	key=$(e2e_hash "$(cat "$HERE/guest-initramfs.sh" "$HERE/lib.sh" | sha256sum)" \
		"$(sha256sum <"${MICROVM_E2E_BUSYBOX:-/bin/busybox}")" "$KVER" "${E2E_GUEST_MODULES:-}")
	out=$cache/guest-$KVER-$key.cpio.gz
	[[ -s $out ]] || guest_initramfs_build "$out"
	# Stable names for the example configs in configs/: guest.cpio.gz, guest-virtiofs.cpio.gz.
	local stable=guest.cpio.gz
	[[ -z ${E2E_GUEST_MODULES:-} ]] || stable=guest-${E2E_GUEST_MODULES##* }.cpio.gz
	ln -sfn "$out" "$(e2e_cache_dir)/$stable" 2>/dev/null || true
	printf '%s\n' "$out"
}

guest_initramfs_main "$@"

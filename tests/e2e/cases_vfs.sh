# cases_vfs.sh: end-to-end virtio-fs cases: the guest runs tests/guest/vfs_check on a share.
# shellcheck shell=bash
# VFS_CASES is read by cases.sh; E2E_TIMEOUT is read by its vm(), which vfs_run calls.
# shellcheck disable=SC2034
#
# Sourced by cases.sh after its helpers (vm, fail, case_result, expect_boot, cmdline,
# microvm_only, marker); add the cases with CASES+=("${VFS_CASES[@]}"). Each case boots
# microvm with one share from a vm.yaml, mounts it in the guest, runs vfs_check from the
# share itself, unmounts, powers off, and then checks from the host side what the guest
# did. Guest output: NAME.out in the case directory; the case log lists every failed check.
#
# Environment (optional):
#   E2E_VFS_CHECK   the static vfs_check binary (default: tests/guest/vfs_check beside the
#                   microvm binary, else in the source tree; make check-e2e builds it)
#   E2E_VFS_INITRD  a guest initramfs that loads virtio_mmio and virtiofs (default: built
#                   by guest-initramfs.sh, in the asset cache or, when that is read-only as
#                   inside the nested helper VM, under $TMPDIR: L1's tmpfs, not the 9p
#                   scratch share, which refuses the device node the builder makes)
#   E2E_VFS_TIMEOUT seconds per guest run (default 600 nested, 120 otherwise)
#   E2E_VFS_ONLY    run only these vfs_check checks (comma-separated; for debugging: the
#                   host-side checks of what the others leave behind are skipped)
#   E2E_VFS_FS      "dir": share a directory under the case directory as it is; "ext4": a
#                   fresh ext4 file system (loop device; root only); default "auto": the
#                   case directory when `vfs_check --probe` finds user.* xattrs and
#                   fallocate there, else ext4 (9p in the nested helper VM has no fallocate,
#                   and its tmpfs no user.* xattrs before Linux 6.6)

VFS_CASES=(
	"vfs_basic|virtio-fs, 1 request queue: every vfs_check check passes, the host sees the guest's files"
	"vfs_two_queues|virtio-fs, 2 request queues and 2 vCPUs: every vfs_check check passes"
	"vfs_root|a share as the root file system: root=TAG rootfstype=virtiofs, switch_root to its init"
	"vfs_readonly|read-only share: reads work, every change fails with EROFS, the host files stay as they were"
	"vfs_host_change|host changes (in place, replaced by rename, new file) reach the guest within 30 s (cache: auto)"
)

VFS_E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VFS_TAG=work
# What the guest writes in the host_visible check (vc_data.c), and the file it must not read.
VFS_VISIBLE_TEXT="written by the guest through virtio-fs"
VFS_SECRET_TEXT="MICROVM-HOST-SECRET: outside the share, never to be read or changed by the guest"
VFS_SECRET_MTIME=1000000000

# --- set-up ------------------------------------------------------------------------------

vfs_check_binary() {
	e2e_guest_binary vfs_check "${E2E_VFS_CHECK:-}"
}

# The guest initramfs with the virtio-fs modules. guest-initramfs.sh caches it; where the
# cache is read-only (inside L1) it is built once per run under $TMPDIR.
vfs_initrd() {
	if [[ -n ${E2E_VFS_INITRD:-} ]]; then
		printf '%s\n' "$E2E_VFS_INITRD"
		return 0
	fi
	local mods="virtio_mmio virtiofs"
	# The builder uses process substitution; L1's bare devtmpfs has no /dev/fd link.
	[[ -e /dev/fd || ${MICROVM_E2E_NESTED:-0} != 1 ]] || ln -s /proc/self/fd /dev/fd
	E2E_GUEST_MODULES=$mods "$VFS_E2E_DIR/guest-initramfs.sh" 2>/dev/null ||
		E2E_GUEST_MODULES=$mods MICROVM_CACHE=${TMPDIR:-/tmp}/microvm-vfs-cache \
			"$VFS_E2E_DIR/guest-initramfs.sh"
}

# Load kernel modules: from the running kernel's tree, else (inside L1, which runs the
# guest kernel) from the asset cache.
vfs_modprobe() {
	modprobe -q "$@" 2>/dev/null && return 0
	[[ -n ${MODULES_BASE:-} && $(uname -r) == "${KVER:-}" ]] &&
		modprobe -q -d "$MODULES_BASE" -S "$KVER" "$@"
}

# A fresh ext4 file system mounted at DIR (image under $TMPDIR), removed when the case ends.
vfs_mount_ext4() {
	local dir=$1 img
	[[ $(id -u) == 0 ]] || tap_skip_case "the share's file system lacks xattrs/fallocate and only root can mount ext4"
	command -v mkfs.ext4 >/dev/null || tap_skip_case "mkfs.ext4 missing (e2fsprogs)"
	grep -qw ext4 /proc/filesystems || vfs_modprobe ext4 || true
	[[ -e /dev/loop-control ]] || vfs_modprobe loop || true
	img=$(mktemp "${TMPDIR:-/tmp}/vfs-share.XXXXXX.img")
	truncate -s 256M "$img"
	# 4 KiB blocks: a small image would get 1 KiB ones, too small for the xattr checks.
	mkfs.ext4 -q -F -b 4096 -I 256 -O ^has_journal "$img" || {
		rm -f "$img"
		return 1
	}
	if ! mount -o loop "$img" "$dir"; then
		rm -f "$img"
		return 1
	fi
	VFS_UNMOUNT=$dir
	VFS_IMAGE=$img
	# The case runs in its own subshell: this trap ends with it.
	trap 'umount "$VFS_UNMOUNT" 2>/dev/null; rm -f "$VFS_IMAGE"' EXIT
	printf 'share file system: ext4 on %s\n' "$img"
}

# Prepare BASE (the case's file system) and BASE/share; sets VFS_BASE, VFS_SHARE, VFS_CHECK,
# VFS_INITRD.
vfs_setup() {
	microvm_only
	VFS_CHECK=$(vfs_check_binary) ||
		tap_skip_case "no tests/guest/vfs_check binary (make tests/guest/vfs_check, or set E2E_VFS_CHECK)"
	VFS_INITRD=$(vfs_initrd) || e2e_die "cannot build the guest initramfs with virtiofs"
	VFS_BASE=$E2E_CASE_DIR/fs
	mkdir -p "$VFS_BASE"
	case ${E2E_VFS_FS:-auto} in
	dir) ;;
	ext4) vfs_mount_ext4 "$VFS_BASE" || e2e_die "cannot mount an ext4 file system" ;;
	auto)
		"$VFS_CHECK" --probe "$VFS_BASE" || vfs_mount_ext4 "$VFS_BASE" ||
			printf 'no ext4 either: checks needing xattrs or fallocate will fail\n'
		;;
	*) e2e_die "E2E_VFS_FS=$E2E_VFS_FS: expected auto, dir or ext4" ;;
	esac
	VFS_SHARE=$VFS_BASE/share
	mkdir -p "$VFS_SHARE"
	cp "$VFS_CHECK" "$VFS_SHARE/vfs_check"
	: "${E2E_VFS_TIMEOUT:=$([[ ${MICROVM_E2E_NESTED:-0} == 1 ]] && echo 600 || echo 120)}"
}

# The guest runs ARGS of vfs_check from the share, then unmounts it: a hang there (FORGET
# buffers never returned) is a failure too. The script is copied out of the share first so
# that nothing keeps the mount busy.
vfs_guest_script() {
	{
		echo '# guest.sh: run by the test guest (tests/e2e/cases_vfs.sh)'
		echo 'cd /'
		printf '/mnt/vfs_check'
		printf ' %q' "$@"
		# shellcheck disable=SC2016 # written for the guest's shell to expand
		printf '\nstatus=$?\n%s\nexit $status\n' \
			'if umount /mnt; then echo "VFS-E2E umount=ok"; else echo "VFS-E2E umount=failed"; fi'
	} >"$VFS_SHARE/guest.sh"
}

# vm.yaml for one share. Usage: vfs_config FILE VCPUS QUEUES READONLY
vfs_config() {
	local file=$1 vcpus=$2 queues=$3 readonly=$4
	local run="mkdir -p /mnt && mount -t virtiofs $VFS_TAG /mnt && cp /mnt/guest.sh /guest.sh && exec /bin/sh /guest.sh"
	cat >"$file" <<EOF
# microvm end-to-end virtio-fs test configuration (cases_vfs.sh)
kernel: $E2E_KERNEL
initrd: $VFS_INITRD
cmdline: '$(cmdline poweroff) -- /bin/sh -c "$run"'
memory: 512M
vcpus: $vcpus
console: stdio
shares:
  - tag: $VFS_TAG
    path: $VFS_SHARE
    queues: $queues
    readonly: $readonly
    cache: auto
EOF
}

# Boot with the config; the time limit is E2E_VFS_TIMEOUT. Usage: vfs_run NAME CONFIG
vfs_run() {
	local E2E_TIMEOUT=$E2E_VFS_TIMEOUT
	vm "$1" config="$2"
}

# --- checks on the guest output ----------------------------------------------------------

# Every VFSCHECK line ok, a summary with failed=0 that counts them, status 0, unmounted.
vfs_expect_all_ok() {
	local summary oks bad
	expect_boot poweroff
	bad=$(grep '^VFSCHECK not ok' "$OUT" || true)
	[[ -z $bad ]] || fail "failed in the guest:"$'\n'"$bad"
	summary=$(sed -n 's/^VFSCHECK summary //p' "$OUT" | head -n 1)
	oks=$(grep -c '^VFSCHECK ok ' "$OUT" || true)
	if [[ -z $summary ]]; then
		fail "no 'VFSCHECK summary' line: vfs_check did not finish"
	elif [[ $summary != "passed=$oks failed=0" ]]; then
		fail "summary '$summary' with $oks ok lines"
	fi
	((oks > 0)) || fail "no check ran"
	[[ $(marker status) == 0 ]] || fail "guest command status '$(marker status)', expected 0"
	expect_line "VFS-E2E umount=ok"
	printf 'guest: %s\n' "${summary:-no summary}"
}

# On failure: the guest's lines without the timing noise, and a listing of the share.
vfs_report() {
	((CASE_FAILED)) || return 0
	printf -- '--- guest output (VFSINFO time lines left out)\n'
	grep -v '^VFSINFO time ' "$OUT" | tail -n 60 || true
	find "$VFS_BASE" -printf '%M %u:%g %s %p\n' 2>/dev/null | grep -v '/big/e' >"$E2E_CASE_DIR/share.lst" || true
}

# --- checks on the host side -------------------------------------------------------------

vfs_expect_content() {
	local file=$1 want=$2
	[[ -f $file ]] || {
		fail "host: $file missing"
		return
	}
	[[ $(cat "$file") == "$want" ]] || fail "host: $file holds '$(head -c 80 "$file")', expected '$want'"
}

vfs_expect_owner() {
	local path=$1 want=$2 got
	got=$(stat -c %u:%g "$path" 2>/dev/null) || got=missing
	[[ $got == "$want" ]] || fail "host: $path is owned by $got, expected $want"
}

# Outside the share: a secret file, and host-made links to it from inside the share.
vfs_plant_outside() {
	mkdir -p "$VFS_BASE/vfs-outside"
	printf '%s\n' "$VFS_SECRET_TEXT" >"$VFS_BASE/vfs-outside/secret"
	chmod 0600 "$VFS_BASE/vfs-outside/secret"
	touch -d "@$VFS_SECRET_MTIME" "$VFS_BASE/vfs-outside/secret"
	ln -s "$VFS_BASE/vfs-outside/secret" "$VFS_SHARE/host-link-abs"
	ln -s ../vfs-outside/secret "$VFS_SHARE/host-link-rel"
	ln -s "$VFS_BASE/vfs-outside" "$VFS_SHARE/host-link-dir"
}

vfs_expect_outside_untouched() {
	local s=$VFS_BASE/vfs-outside/secret got
	vfs_expect_content "$s" "$VFS_SECRET_TEXT"
	got=$(stat -c '%u:%g %a %Y' "$s")
	[[ $got == "0:0 600 $VFS_SECRET_MTIME" ]] ||
		fail "host: the file outside the share changed: owner, mode, mtime '$got'"
	[[ $(find "$VFS_BASE/vfs-outside" -mindepth 1 | wc -l) == 1 ]] ||
		fail "host: new files appeared outside the share: $(ls "$VFS_BASE/vfs-outside")"
	grep -q '^VFSINFO escape: host_links=3$' "$OUT" || fail "the guest did not try the 3 host links"
}

# What the read-write checks leave behind, seen from the host (paths as in tests/guest/).
vfs_expect_host_view() {
	local t=$VFS_SHARE/t n
	vfs_expect_content "$t/host_visible/visible.txt" "$VFS_VISIBLE_TEXT"
	vfs_expect_content "$t/host_visible/visible.d/inner.txt" "inner"
	vfs_expect_content "$t/create_write_read/cwr.txt" $'hello, virtio-fs\nsecond line'
	"$VFS_CHECK" --verify-pattern "$t/large_file/large.bin" $((8 << 20)) >/dev/null ||
		fail "host: large_file/large.bin is not the 8 MiB the guest wrote"
	"$VFS_CHECK" --verify-pattern "$t/mmap_shared_write/mmap-write.bin" $((3 * 4096 + 100)) >/dev/null ||
		fail "host: the stores through the guest's shared mapping did not reach the file"
	n=$(find "$t/readdir_large/big" -mindepth 1 -maxdepth 1 -type f -name 'e[0-9][0-9][0-9][0-9]' | wc -l)
	((n == 3000)) || fail "host: readdir_large/big holds $n files, expected 3000"
	[[ -p $t/mknod_fifo/fifo ]] || fail "host: mknod_fifo/fifo is not a FIFO"
	vfs_expect_owner "$t/creds_owner/pub/mine" 1000:1000
	vfs_expect_owner "$t/creds_owner/pub/mydir" 1000:1000
	vfs_expect_owner "$t/creds_setgid_dir/sgid/file" 1000:2000
	vfs_expect_owner "$t/chown_fchown/owner" 1234:42
	[[ -L $t/escape_symlink_setattr/esc-link ]] || fail "host: esc-link is not a symlink"
	vfs_expect_owner "$t/escape_symlink_setattr/esc-link" 4321:4321
	if command -v getfattr >/dev/null; then
		getfattr -n user.second "$t/xattr/xattr" >/dev/null 2>&1 ||
			fail "host: xattr/xattr lacks the user.second attribute the guest set"
	fi
	vfs_expect_outside_untouched
}

# --- cases -------------------------------------------------------------------------------

vfs_rw_case() {
	local vcpus=$1 queues=$2
	vfs_setup
	vfs_plant_outside
	vfs_guest_script ${E2E_VFS_ONLY:+--only "$E2E_VFS_ONLY"} /mnt/t
	vfs_config "$E2E_CASE_DIR/vm.yaml" "$vcpus" "$queues" false
	vfs_run checks "$E2E_CASE_DIR/vm.yaml"
	vfs_expect_all_ok
	expect_nproc "$vcpus"
	[[ -n ${E2E_VFS_ONLY:-} ]] || vfs_expect_host_view
	vfs_report
	case_result
}

case_vfs_basic() { vfs_rw_case 1 1; }
case_vfs_two_queues() { vfs_rw_case 2 2; }

# Name, type, mode, size, mtime and content of every file, and the xattrs: what must not
# change under a read-only share.
vfs_tree_state() {
	(cd "$1" && find . -printf '%p %y %m %u:%g %s %T@ %l\n' | LC_ALL=C sort &&
		find . -type f -exec sha256sum {} + | LC_ALL=C sort &&
		{ getfattr -R -d -m - . 2>/dev/null || true; })
}

case_vfs_readonly() {
	local data before after
	vfs_setup
	data=$VFS_SHARE/ro-data
	mkdir -p "$data/sub" "$data/empty"
	printf 'read-only share\n' >"$data/hello.txt"
	printf 'inner\n' >"$data/sub/inner.txt"
	ln -s hello.txt "$data/link"
	setfattr -n user.ro -v yes "$data/hello.txt" || fail "host: cannot set user.ro"
	vfs_guest_script --readonly /mnt/ro-data
	# The guest script leaves the share before the checks: nothing to write there.
	vfs_config "$E2E_CASE_DIR/vm.yaml" 1 1 true
	before=$(vfs_tree_state "$VFS_SHARE")
	vfs_run readonly "$E2E_CASE_DIR/vm.yaml"
	vfs_expect_all_ok
	grep -q '^VFSCHECK ok ro_read$' "$OUT" || fail "the read checks did not run"
	after=$(vfs_tree_state "$VFS_SHARE")
	[[ $before == "$after" ]] ||
		fail "host: the read-only share changed:"$'\n'"$(diff <(echo "$before") <(echo "$after") | head -n 20)"
	vfs_report
	case_result
}

# In L1 or here: wait for the guest's ready file, wait 5 s, then change the files three
# ways. Runs in the background during the boot; its log tells when it acted.
vfs_host_changer() {
	local hc=$VFS_SHARE/hc deadline=$((SECONDS + E2E_VFS_TIMEOUT))
	while [[ ! -e $VFS_SHARE/ready ]]; do
		((SECONDS < deadline)) || return 1
		sleep 0.2
	done
	echo "host: the guest is ready at $(date +%T.%N)"
	sleep 5
	# Same size, same inode: only the mtime tells the guest that its cache is stale.
	printf 'state=CHANGED!\n' | dd of="$hc/inplace.txt" conv=notrunc status=none
	printf 'new version: REPLACED\n' >"$hc/.replaced.tmp"
	mv "$hc/.replaced.tmp" "$hc/replaced.txt"
	printf 'CREATED by the host\n' >"$hc/new.txt"
	echo "host: files changed at $(date +%T.%N)"
}

case_vfs_host_change() {
	local changer rc=0
	vfs_setup
	mkdir -p "$VFS_SHARE/hc"
	printf 'state=ORIGINAL\n' >"$VFS_SHARE/hc/inplace.txt"
	printf 'old version\n' >"$VFS_SHARE/hc/replaced.txt"
	# The guest has 35 s from its ready signal: 5 s until the change, 30 s to see it.
	vfs_guest_script --ready /mnt/ready --wait-for /mnt/hc/inplace.txt CHANGED 35 \
		--wait-for /mnt/hc/replaced.txt REPLACED 35 --wait-for /mnt/hc/new.txt CREATED 35
	vfs_config "$E2E_CASE_DIR/vm.yaml" 1 1 false
	vfs_host_changer >"$E2E_CASE_DIR/changer.log" 2>&1 &
	changer=$!
	vfs_run hostchange "$E2E_CASE_DIR/vm.yaml"
	# Done or still waiting for a ready file that will never come now.
	kill "$changer" 2>/dev/null || true
	wait "$changer" || rc=$?
	cat "$E2E_CASE_DIR/changer.log"
	((rc == 0)) || fail "host: the changer did not finish (status $rc): no ready file from the guest?"
	vfs_expect_all_ok
	[[ $(grep -c '^VFSCHECK ok host_change:' "$OUT") == 3 ]] || fail "not all 3 host changes were seen"
	grep '^VFSINFO host_change:' "$OUT" || true
	vfs_report
	case_result
}

# A minimal root file system in DIR: busybox, and an /sbin/init that reports and powers off.
vfs_make_rootfs() {
	local dir=$1
	mkdir -p "$dir/bin" "$dir/sbin" "$dir/dev" "$dir/proc" "$dir/sys" "$dir/tmp"
	cp "${MICROVM_E2E_BUSYBOX:-/bin/busybox}" "$dir/bin/busybox"
	cat >"$dir/sbin/init" <<'EOF'
#!/bin/busybox sh
# /sbin/init of the virtio-fs root test: prove / is the share, write to it, power off.
/bin/busybox echo "MICROVM-E2E rootinit"
/bin/busybox grep ' / ' /proc/mounts
/bin/busybox echo "written by the guest's init" >/from-guest-root
/bin/busybox sync
/bin/busybox poweroff -f
EOF
	chmod 755 "$dir/sbin/init"
}

case_vfs_root() {
	local root=$E2E_CASE_DIR/rootfs
	vfs_make_rootfs "$root"
	cat >"$E2E_CASE_DIR/vm.yaml" <<EOF
# microvm end-to-end test: a virtio-fs share as the root file system (cases_vfs.sh)
kernel: $E2E_KERNEL
initrd: $(vfs_initrd)
cmdline: '$(cmdline poweroff) root=rootfs rootfstype=virtiofs'
memory: 256M
vcpus: 1
console: stdio
shares:
  - tag: rootfs
    path: $root
EOF
	vm root config="$E2E_CASE_DIR/vm.yaml"
	expect_rc 0
	expect_line "MICROVM-E2E root=rootfs"
	expect_line "MICROVM-E2E rootinit"
	grep -qE '^rootfs / virtiofs ' "$OUT" || fail "/proc/mounts does not show the share as /"
	grep -qx "written by the guest's init" "$root/from-guest-root" 2>/dev/null ||
		fail "the host does not see the file the guest's init wrote to /"
	case_result
}

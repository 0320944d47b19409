# cases_hostile.sh: end-to-end hostile input: garbage MMIO, bad kernel/initrd files, vanishing shares.
# shellcheck shell=bash
# HOSTILE_CASES is read by cases.sh; E2E_TIMEOUT is read by its vm().
# shellcheck disable=SC2034
#
# Sourced by cases.sh after cases_vfs.sh (it uses vfs_initrd); add the cases with
# CASES+=("${HOSTILE_CASES[@]}"). Every case asserts that microvm survives and reports:
# a refused file gives a one-line message naming it and an exit status below 128 (no
# signal, no crash); a hostile guest still powers off normally and microvm exits 0; and
# stderr never shows a sanitizer report, an abort or a seccomp kill.
#
# Environment (optional):
#   E2E_MMIO_GARBAGE     the static mmio_garbage binary (default: tests/guest/mmio_garbage
#                        beside the microvm binary, else in the source tree; make check-e2e
#                        builds it)
#   E2E_HOSTILE_SEED     seed of mmio_garbage's pseudo-random garbage (default 20240601;
#                        the guest prints it, so a failure can be replayed)
#   E2E_HOSTILE_ITERS    plausible set-ups per run (default 40), E2E_HOSTILE_SWEEPS
#                        register sweeps (default 3)
#   E2E_HOSTILE_EXIT_TIMING  register reads, writes and notifies timed first (default 2000;
#                        the "MMIOGARBAGE exits" line: the trap costs of a round trip)
#   E2E_HOSTILE_TIMEOUT  seconds per guest run (default 600 nested, 180 otherwise)

HOSTILE_CASES=(
	"garbage_mmio|guest writes garbage to every virtio-mmio register, rings and chains: devices stay sane, microvm exits 0"
	"hostile_kernel_empty|empty kernel file: refused with a message naming it, status < 128"
	"hostile_kernel_truncated|first 4 KiB of a bzImage: refused with a message naming it, status < 128"
	"hostile_kernel_truncated_elf|first 4 KiB of an ELF vmlinux: refused with a message naming it, status < 128"
	"hostile_kernel_directory|a directory as kernel: refused with a message naming it, status < 128"
	"hostile_kernel_random|1 MiB of random bytes as kernel: refused with a message naming it, status < 128"
	"hostile_initrd_too_large|initrd larger than guest RAM: refused with a message naming it, status < 128"
	"share_vanishes|share removed (rm -rf) while the guest uses it: guest sees errors, microvm exits 0"
	"share_swapped|share renamed and replaced by a symlink to /: guest never sees the host root"
)

HOSTILE_SECRET="MICROVM-HOSTILE-CANARY: outside every share"

# --- shared checks -----------------------------------------------------------------------

# stderr must show no sanitizer report, abort, crash or seccomp kill.
hostile_expect_clean_stderr() {
	local bad
	bad=$(grep -E 'Sanitizer|runtime error:|Segmentation fault|Aborted|core dumped|forbidden syscall|KVM_RUN failed|Assertion' "$ERR" | head -n 5 || true)
	[[ -z $bad ]] || fail "microvm stderr reports:"$'\n'"$bad"
}

# A refused start: a status in 1..127 (every documented error status; 128 and up would be
# a signal), a message on stderr naming FILE and matching WHAT, and no guest.
# Usage: hostile_expect_refused FILE WHAT
hostile_expect_refused() {
	local file=$1 what=$2
	((E2E_RC != 0)) || fail "exit status 0: the bad file was accepted"
	((E2E_RC < 128)) || fail "exit status $E2E_RC: killed by a signal or crashed"
	((E2E_RC != 124)) || fail "timed out instead of refusing"
	grep -qF -- "$file" "$ERR" || fail "stderr does not name $file"
	grep -qE -- "$what" "$ERR" || fail "stderr does not say '$what'"
	(($(wc -l <"$ERR") <= 3)) || fail "more than 3 lines on stderr for one refused file"
	! grep -q "MICROVM-E2E" "$OUT" || fail "a guest ran"
	hostile_expect_clean_stderr
	printf 'stderr: %s\n' "$(cat "$ERR")"
}

# A scratch directory under $TMPDIR (L1's tmpfs when nested: shares and DAX need a real
# local file system), removed when the case's subshell ends. Sets HOSTILE_TMP.
hostile_tmp() {
	HOSTILE_TMP=$(mktemp -d "${TMPDIR:-/tmp}/hostile-e2e.XXXXXX")
	trap 'rm -rf "$HOSTILE_TMP"' EXIT
}

# A file outside every share the guest must never change; hostile_expect_canary checks it.
hostile_plant_canary() {
	mkdir -p "$HOSTILE_TMP/outside"
	printf '%s\n' "$HOSTILE_SECRET" >"$HOSTILE_TMP/outside/canary"
	touch -d @1000000000 "$HOSTILE_TMP/outside/canary"
}

hostile_expect_canary() {
	local c=$HOSTILE_TMP/outside/canary
	[[ $(cat "$c" 2>/dev/null) == "$HOSTILE_SECRET" ]] || fail "host: the canary outside the share changed"
	[[ $(stat -c %Y "$c" 2>/dev/null) == 1000000000 ]] || fail "host: the canary's mtime changed"
	[[ $(find "$HOSTILE_TMP/outside" -mindepth 1 | wc -l) == 1 ]] ||
		fail "host: new files next to the canary: $(ls "$HOSTILE_TMP/outside")"
}

hostile_timeout() {
	: "${E2E_HOSTILE_TIMEOUT:=$([[ ${MICROVM_E2E_NESTED:-0} == 1 ]] && echo 600 || echo 180)}"
	printf '%s\n' "$E2E_HOSTILE_TIMEOUT"
}

hostile_report() {
	((CASE_FAILED)) || return 0
	printf -- '--- guest output %s (last 40 lines)\n' "$OUT"
	tail -n 40 "$OUT" || true
	printf -- '--- microvm stderr (last 20 lines)\n'
	tail -n 20 "$ERR" || true
}

# --- garbage_mmio ------------------------------------------------------------------------

# The plain test initramfs (no virtio_mmio module: the windows stay unclaimed, so /dev/mem
# maps them) with PROGRAM added as /NAME, as a second archive the kernel unpacks on top.
hostile_initrd_with() {
	local prog=$1 out=$E2E_CASE_DIR/initrd-hostile.cpio.gz stage
	stage=$(mktemp -d "${TMPDIR:-/tmp}/hostile-stage.XXXXXX")
	cp "$prog" "$stage/$(basename "$prog")"
	e2e_pack_cpio "$stage" "$stage.cpio.gz"
	cat "$E2E_INITRD" "$stage.cpio.gz" >"$out"
	rm -rf "$stage" "$stage.cpio.gz"
	printf '%s\n' "$out"
}

# Two shares, the second with two request queues and a DAX window: three windows' worth
# of registers, queues and a shared memory region for the garbage to hit.
hostile_garbage_config() {
	local file=$1 initrd=$2 args=$3
	cat >"$file" <<EOF
# microvm end-to-end hostile MMIO test configuration (cases_hostile.sh)
kernel: $E2E_KERNEL
initrd: $initrd
cmdline: '$(cmdline poweroff) -- /mmio_garbage $args'
memory: 256M
vcpus: 1
console: stdio
shares:
  - tag: plain
    path: $HOSTILE_TMP/a
  - tag: dax
    path: $HOSTILE_TMP/b
    queues: 2
    dax_window: 64M
EOF
}

# The sum of the per-share request counts microvm -v prints at exit (empty if none). No
# process substitution here: L1's bare /dev has no /dev/fd.
hostile_fuse_requests() {
	sed -n 's/^microvm: virtio-fs .*: requests .*total=\([0-9]*\)$/\1/p' "$ERR" |
		awk '{ sum += $1; n++ } END { if (n) print sum }'
}

hostile_count() {
	sed -n "s/^MMIOGARBAGE .*$1=\([0-9]*\).*/\1/p" "$OUT" | tail -n 1
}

case_garbage_mmio() {
	local prog initrd n args
	microvm_only
	prog=$(e2e_guest_binary mmio_garbage "${E2E_MMIO_GARBAGE:-}") ||
		tap_skip_case "no tests/guest/mmio_garbage binary (make tests/guest/mmio_garbage, or set E2E_MMIO_GARBAGE)"
	hostile_tmp
	hostile_plant_canary
	mkdir -p "$HOSTILE_TMP/a/sub" "$HOSTILE_TMP/b"
	printf 'plain share\n' >"$HOSTILE_TMP/a/file"
	head -c 65536 /dev/zero >"$HOSTILE_TMP/b/zeros"
	initrd=$(hostile_initrd_with "$prog")
	args="--seed ${E2E_HOSTILE_SEED:-20240601} --sweeps ${E2E_HOSTILE_SWEEPS:-3} --iters ${E2E_HOSTILE_ITERS:-40} --exit-timing ${E2E_HOSTILE_EXIT_TIMING:-2000}"
	hostile_garbage_config "$E2E_CASE_DIR/vm.yaml" "$initrd" "$args"
	E2E_TIMEOUT=$(hostile_timeout) vm garbage config="$E2E_CASE_DIR/vm.yaml"
	expect_boot poweroff
	grep '^MMIOGARBAGE' "$OUT" | grep -v '^MMIOGARBAGE window' || true
	expect_line "MMIOGARBAGE done"
	[[ $(marker status) == 0 ]] || fail "mmio_garbage exited with '$(marker status)', expected 0"
	! grep '^MMIOGARBAGE not ok' "$OUT" || fail "the guest found a device in a bad state"
	n=$(grep -c '^MMIOGARBAGE sane ' "$OUT" || true)
	((n == 2)) || fail "$n devices sane after the garbage, expected 2"
	n=$(grep -c '^MMIOGARBAGE alive ' "$OUT" || true)
	((n == 2)) || fail "$n devices answered FUSE_INIT after the garbage, expected 2"
	# The garbage reached the devices: chains were served, a corrupt ring was reported, and
	# (where microvm -v counts them) FUSE requests reached the servers.
	n=$(hostile_count completions)
	((${n:-0} >= 20)) || fail "only ${n:-no} used entries came back: the garbage hardly reached a queue"
	n=$(hostile_count needs_reset)
	((${n:-0} > 0)) || fail "no DEVICE_NEEDS_RESET seen for a corrupted ring"
	n=$(hostile_fuse_requests)
	[[ -z $n ]] || ((n >= 20)) || fail "only $n FUSE requests reached the servers"
	printf 'FUSE requests served: %s\n' "${n:-not reported}"
	hostile_expect_clean_stderr
	hostile_expect_canary
	hostile_report
	case_result
}

# --- files that are not what they claim --------------------------------------------------

# Usage: hostile_kernel_case FILE WHAT: boot FILE as the kernel, expect it refused.
hostile_kernel_case() {
	local file=$1 what=$2
	microvm_only
	vm kernel kernel="$file" initrd="$E2E_INITRD" memory=128M
	hostile_expect_refused "$file" "$what"
	case_result
}

case_hostile_kernel_empty() {
	: >"$E2E_CASE_DIR/empty-kernel"
	hostile_kernel_case "$E2E_CASE_DIR/empty-kernel" "neither a bzImage nor an ELF"
}

case_hostile_kernel_truncated() {
	head -c 4096 "$E2E_KERNEL" >"$E2E_CASE_DIR/truncated-bzImage"
	hostile_kernel_case "$E2E_CASE_DIR/truncated-bzImage" "truncated"
}

case_hostile_kernel_truncated_elf() {
	head -c 4096 "$E2E_VMLINUX" >"$E2E_CASE_DIR/truncated-vmlinux"
	hostile_kernel_case "$E2E_CASE_DIR/truncated-vmlinux" "ELF"
}

case_hostile_kernel_directory() {
	mkdir -p "$E2E_CASE_DIR/kernel-dir"
	hostile_kernel_case "$E2E_CASE_DIR/kernel-dir" "regular file|directory"
}

case_hostile_kernel_random() {
	# Random, but with neither magic: "JUNK" where an ELF header or "HdrS" would start.
	head -c 1048576 /dev/urandom >"$E2E_CASE_DIR/random-kernel"
	printf 'JUNK' | dd of="$E2E_CASE_DIR/random-kernel" conv=notrunc status=none
	printf 'JUNK' | dd of="$E2E_CASE_DIR/random-kernel" bs=1 seek=514 conv=notrunc status=none
	hostile_kernel_case "$E2E_CASE_DIR/random-kernel" "neither a bzImage nor an ELF"
}

# 256 MiB of initrd (sparse: no disk used) for a 128 MiB guest.
case_hostile_initrd_too_large() {
	local rd
	microvm_only
	hostile_tmp
	rd=$HOSTILE_TMP/huge-initrd
	truncate -s 256M "$rd"
	vm initrd kernel="$E2E_KERNEL" initrd="$rd" memory=128M
	hostile_expect_refused "$rd" "does not fit"
	case_result
}

# --- a share that goes away while mounted ------------------------------------------------

# The guest uses the share in a loop until it sees it go (the file "ready" disappears),
# five rounds more, then reports what each operation does now, remounts, and powers off.
hostile_share_script() {
	cat <<'GUEST'
# guest.sh: run by the test guest (tests/e2e/cases_hostile.sh): use a share that vanishes
cd /
try() {
	if out=$("$@" 2>&1); then
		echo "HOSTILE ok: $* -> $(echo $out | head -c 300)"
	else
		echo "HOSTILE err: $* -> $(echo $out | head -c 300)"
	fi
}
exec 3</mnt/data.txt
touch /mnt/ready
i=0 after=0
while [ $i -lt 300 ] && [ $after -lt 5 ]; do
	i=$((i + 1))
	ls /mnt >/dev/null 2>&1
	cat /mnt/data.txt >/dev/null 2>&1
	echo "$i" >/mnt/loop.txt 2>/dev/null
	mkdir /mnt/d$i 2>/dev/null
	[ -e /mnt/ready ] || after=$((after + 1))
	sleep 1
done
echo "HOSTILE loops=$i after=$after"
try ls -a /mnt
try cat /mnt/data.txt
try touch /mnt/new-after.txt
try mkdir /mnt/newdir
try stat -c %i /mnt
echo "HOSTILE held-fd: $(cat <&3)"
exec 3<&-
if umount /mnt; then echo "HOSTILE umount=ok"; else echo "HOSTILE umount=failed"; fi
mkdir -p /mnt2
if mount -t virtiofs work /mnt2; then
	echo "HOSTILE remount=ok"
	try ls -a /mnt2
	try touch /mnt2/after-remount
	umount /mnt2
else
	echo "HOSTILE remount=failed"
fi
echo "HOSTILE end"
GUEST
}

# Wait for the guest's ready file, give it 2 s of looping, then run ACTION (a function).
hostile_share_remover() {
	local action=$1 share=$2 deadline=$((SECONDS + $3)) try
	while [[ ! -e $share/ready ]]; do
		((SECONDS < deadline)) || return 1
		sleep 0.2
	done
	echo "host: the guest is using the share at $(date +%T.%N)"
	sleep 2
	for try in 1 2 3 4 5 6 7 8 9 10; do
		"$action" "$share" && break
		echo "host: attempt $try failed, again"
		sleep 0.1
	done
	echo "host: $action done at $(date +%T.%N)"
}

# rm -rf races with the guest's mkdir: repeat until the directory itself is gone.
hostile_remove() {
	rm -rf "$1" 2>/dev/null
	[[ ! -e $1 ]]
}

# The directory moves away (with the file the guest watches taken out) and a symlink to
# the host's root takes its place.
hostile_swap() {
	rm -f "$1/ready"
	mv "$1" "$1.moved" && ln -s / "$1"
}

hostile_share_case() {
	local action=$1 share changer rc=0 timeout
	microvm_only
	hostile_tmp
	hostile_plant_canary
	timeout=$(hostile_timeout)
	share=$HOSTILE_TMP/share
	mkdir -p "$share"
	printf 'data in the share\n' >"$share/data.txt"
	hostile_share_script >"$share/guest.sh"
	local run="mkdir -p /mnt && mount -t virtiofs work /mnt && cp /mnt/guest.sh /guest.sh && exec /bin/sh /guest.sh"
	cat >"$E2E_CASE_DIR/vm.yaml" <<EOF
# microvm end-to-end hostile share test configuration (cases_hostile.sh)
kernel: $E2E_KERNEL
initrd: $(vfs_initrd)
cmdline: '$(cmdline poweroff) -- /bin/sh -c "$run"'
memory: 256M
vcpus: 1
console: stdio
shares:
  - tag: work
    path: $share
EOF
	hostile_share_remover "$action" "$share" "$timeout" >"$E2E_CASE_DIR/remover.log" 2>&1 &
	changer=$!
	E2E_TIMEOUT=$timeout vm share config="$E2E_CASE_DIR/vm.yaml"
	kill "$changer" 2>/dev/null || true
	wait "$changer" || rc=$?
	cat "$E2E_CASE_DIR/remover.log"
	((rc == 0)) || fail "host: the remover did not run (status $rc): no ready file from the guest?"
	expect_boot poweroff
	grep '^HOSTILE' "$OUT" || true
	expect_line "HOSTILE end"
	grep -qE '^HOSTILE loops=[0-9]+ after=5$' "$OUT" || fail "the guest never saw the share change"
	[[ $(marker status) == 0 ]] || fail "guest script status '$(marker status)', expected 0"
	expect_line "HOSTILE held-fd: data in the share"
	# Whatever the guest lists now, it is never the host's root.
	! grep -E '^HOSTILE ok: ls -a /mnt2? -> .*\b(usr|etc|proc)\b.*\b(usr|etc|proc)\b' "$OUT" ||
		fail "the guest sees the host's root directory through the share"
	hostile_expect_clean_stderr
	hostile_expect_canary
}

case_share_vanishes() {
	hostile_share_case hostile_remove
	local e='(No such file or directory|Stale file handle)'
	grep -qE "^HOSTILE err: touch /mnt/new-after.txt -> .*$e" "$OUT" ||
		fail "creating a file in the removed share did not fail with ENOENT/ESTALE"
	grep -qE "^HOSTILE err: cat /mnt/data.txt -> .*$e" "$OUT" ||
		fail "reading a file of the removed share did not fail with ENOENT/ESTALE"
	[[ ! -e $HOSTILE_TMP/share ]] || fail "host: the removed share came back: $(ls -a "$HOSTILE_TMP/share")"
	hostile_report
	case_result
}

case_share_swapped() {
	local f
	hostile_share_case hostile_swap
	# The device keeps the directory it was given (opened once): the guest's later files
	# land there, never under the symlink's target.
	[[ -L $HOSTILE_TMP/share && $(readlink "$HOSTILE_TMP/share") == / ]] || fail "host: the symlink is gone"
	for f in new-after.txt newdir after-remount; do
		[[ ! -e /$f ]] || fail "host: /$f appeared in the host's root"
	done
	[[ -e $HOSTILE_TMP/share.moved/new-after.txt ]] ||
		fail "host: the guest's file did not land in the moved share directory"
	grep -qE '^HOSTILE ok: ls -a /mnt2 -> .*data\.txt' "$OUT" ||
		fail "after remounting, the guest does not see the share's own files"
	hostile_report
	case_result
}

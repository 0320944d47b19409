# cases_vfs.sh (bench): fsbench in the guest over virtio-fs, microvm against QEMU + virtiofsd.
# shellcheck shell=bash
#
# Sourced by cases.sh; bench_vfs prints, for the phases create, stat, unlink, write, read:
#   BENCH vfs_guest_<phase> value=<v> unit=<ops/s|MB/s> ref=qemu-virtiofsd:<v> ratio=<v/ref>
#   BENCH vfs_guest_<phase>_workers ...  (the same share with serve_on_vcpu: false)
# Both guests boot the same kernel and virtio-fs initramfs (E2E_VFS_INITRD) with the same
# memory and one vCPU, mount the share "work" (one request queue, cache=auto, no DAX) on
# /mnt, copy fsbench out of it and run it in /mnt, which the host backs with the same
# directory: on L1's tmpfs inside the nested helper VM, else under $TMPDIR. The reference
# is QEMU's microvm machine with a modern virtio-mmio vhost-user-fs device and Debian's C
# virtiofsd (/usr/lib/qemu/virtiofsd, one request queue: it aborts on a second).
# fsbench drops the guest's caches before its stat and read phases; the host's stay warm.
# The runs alternate the two VMMs; the figures are medians of the runs, from the guest's
# own clock (its clock source is printed as a comment).
#
# Environment: BENCH_VFS_RUNS (default 3), BENCH_VFS_FILES (500 nested,
# 5000 otherwise), BENCH_VFS_SIZE_MIB (32 nested, 256 otherwise), BENCH_VFS_MEMORY (MiB,
# default 512), BENCH_VFS_TIMEOUT (seconds per guest, 300 nested, 120 otherwise),
# MICROVM_BENCH_VIRTIOFSD (default /usr/lib/qemu/virtiofsd), BENCH_VIRTIOFSD_OPTS (extra
# -o options for it, e.g. sandbox=chroot).

VFSB_TAG=work
VFSB_VIRTIOFSD=${MICROVM_BENCH_VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
# Emulated (TCG) L1 is tens of times slower than hardware: a smaller workload there.
if [[ ${MICROVM_E2E_NESTED:-0} == 1 ]]; then
	: "${BENCH_VFS_FILES:=500}" "${BENCH_VFS_SIZE_MIB:=32}" "${BENCH_VFS_TIMEOUT:=300}"
else
	: "${BENCH_VFS_FILES:=5000}" "${BENCH_VFS_SIZE_MIB:=256}" "${BENCH_VFS_TIMEOUT:=120}"
fi
: "${BENCH_VFS_RUNS:=3}" "${BENCH_VFS_MEMORY:=512}"

# The guest's command line: mount the share, run guest.sh from it (see vfsb_guest_script).
vfsb_cmdline() {
	local run="mkdir -p /mnt && mount -t virtiofs $VFSB_TAG /mnt && cp /mnt/guest.sh /guest.sh && exec /bin/sh /guest.sh"
	printf '%s e2e.action=poweroff -- /bin/sh -c "%s"\n' "$E2E_BASE_CMDLINE" "$run"
}

# fsbench runs from the initramfs, not from the share it measures; the unmount at the end
# makes the guest return every inode (FORGET) before it powers off.
vfsb_guest_script() {
	cat >"$VFSB_SHARE/guest.sh" <<EOF
# guest.sh: run by the benchmark guest (tests/bench/cases_vfs.sh)
cd /
cp /mnt/fsbench /fsbench || exit 1
echo "VFSBENCH clocksource=\$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
/fsbench --files $BENCH_VFS_FILES --size $BENCH_VFS_SIZE_MIB /mnt
status=\$?
umount /mnt || echo "VFSBENCH umount failed"
exit \$status
EOF
}

vfsb_setup() {
	local fsbench
	fsbench=$(bench_guest_prereqs) || return 1
	# Not in E2E_WORKDIR: in L1 that is a 9p share (slow, and it refuses sockets).
	VFSB_BASE=$(mktemp -d "${TMPDIR:-/tmp}/microvm-bench-vfs.XXXXXX")
	VFSB_SHARE=$VFSB_BASE/share
	mkdir -p "$VFSB_SHARE"
	cp "$fsbench" "$VFSB_SHARE/fsbench"
	vfsb_guest_script
}

# Run a VMM with the time limit, stdin from /dev/null; sets E2E_RC (124: timed out) and
# E2E_MS. The serial output goes straight to OUT (CRs and all), not through a pipe, so
# that what a hung guest printed is there to read. Usage: vfsb_timed OUT ERR COMMAND...
vfsb_timed() {
	local out=$1 err=$2 t0=$EPOCHREALTIME
	shift 2
	E2E_RC=0
	# -k: QEMU can block in vhost-user teardown and ignore the first signal.
	timeout -k 5 "$BENCH_VFS_TIMEOUT" "$@" </dev/null >"$out" 2>"$err" || E2E_RC=$?
	E2E_MS=$(e2e_elapsed_ms "$t0")
}

# Boot microvm with the share; the guest's serial output goes to OUT. ON_VCPU: the share's
# serve_on_vcpu (true: quick requests served on the vCPU; false: all by the workers).
vfsb_run_microvm() {
	local out=$1 err=$2 on_vcpu=$3 cfg=$VFSB_BASE/vm.yaml
	cat >"$cfg" <<EOF
# microvm benchmark configuration: one virtio-fs share (tests/bench/cases_vfs.sh)
kernel: $E2E_KERNEL
initrd: $E2E_VFS_INITRD
cmdline: '$(vfsb_cmdline)'
memory: ${BENCH_VFS_MEMORY}M
vcpus: 1
console: stdio
shares:
  - tag: $VFSB_TAG
    path: $VFSB_SHARE
    queues: 1
    readonly: false
    cache: auto
    serve_on_vcpu: $on_vcpu
EOF
	printf 'run: %q run -v --config %q\n' "$E2E_VMM_BIN" "$cfg" >>"$out.cmd"
	vfsb_timed "$out" "$err" "$E2E_VMM_BIN" run -v --config "$cfg"
}

# virtiofsd serves SOURCE on a socket with the -o options OPTS (e.g. cache=auto); it ends
# when QEMU disconnects (or is killed). Sets VFSB_DAEMON. Usage: SOCK LOG SOURCE OPTS
vfsb_start_virtiofsd() {
	local sock=$1 log=$2 source=$3 opts=$4 i
	rm -f "$sock"
	"$VFSB_VIRTIOFSD" --socket-path="$sock" -o "source=$source,$opts" </dev/null >>"$log" 2>&1 &
	VFSB_DAEMON=$!
	for ((i = 0; i < 100; i++)); do
		[[ -S $sock ]] && return 0
		kill -0 "$VFSB_DAEMON" 2>/dev/null || break
		sleep 0.1
	done
	e2e_log "virtiofsd did not create $sock: $(tail -n 3 "$log")"
	vfsb_stop_virtiofsd "$VFSB_DAEMON"
	return 1
}

# Lets virtiofsd PID end by itself after QEMU, for up to 5 s, then ends it.
vfsb_stop_virtiofsd() {
	local i pid=$1
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# QEMU's microvm machine with a vhost-user-fs device on SOCK; memory must be a shared memfd
# for vhost-user. Sets VFSB_QEMU_CMD. Usage: vfsb_qemu_cmd MEMORY TAG SOCK CMDLINE
vfsb_qemu_cmd() {
	local mem=$1 tag=$2 sock=$3 cmdline=$4
	# shellcheck disable=SC2054 # commas belong to QEMU's option syntax
	VFSB_QEMU_CMD=("$QEMU_BIN" -M microvm,acpi=on,memory-backend=mem -accel kvm -cpu host
		-smp 1 -m "$mem" -object "memory-backend-memfd,id=mem,size=$mem,share=on"
		-global virtio-mmio.force-legacy=false
		-nodefaults -no-user-config -no-reboot -nographic -serial stdio
		-chardev "socket,id=vfs,path=$sock"
		-device "vhost-user-fs-device,chardev=vfs,tag=$tag,num-request-queues=1"
		-kernel "$E2E_KERNEL" -initrd "$E2E_VFS_INITRD" -append "$cmdline")
}

# Run VFSB_QEMU_CMD against the running virtiofsd, then let the daemon go.
vfsb_run_qemu_cmd() {
	local out=$1 err=$2
	{ printf 'run:' && printf ' %q' "${VFSB_QEMU_CMD[@]}" && echo; } >>"$out.cmd"
	vfsb_timed "$out" "$err" "${VFSB_QEMU_CMD[@]}"
	vfsb_stop_virtiofsd "$VFSB_DAEMON"
}

vfsb_run_qemu() {
	local out=$1 err=$2 sock=$VFSB_BASE/vfs.sock
	vfsb_start_virtiofsd "$sock" "$err.virtiofsd" "$VFSB_SHARE" \
		"cache=auto${BENCH_VIRTIOFSD_OPTS:+,$BENCH_VIRTIOFSD_OPTS}" || {
		E2E_RC=1 E2E_MS=0
		return 0
	}
	vfsb_qemu_cmd "${BENCH_VFS_MEMORY}M" "$VFSB_TAG" "$sock" "$(vfsb_cmdline)"
	vfsb_run_qemu_cmd "$out" "$err"
}

# One guest run of KIND (vm, wk: vm with serve_on_vcpu: false, or ref); appends the rates
# to VFSB_<KIND>_<phase>.
vfsb_once() {
	local kind=$1 i=$2 out p ok=1
	out=$E2E_WORKDIR/vfs-$kind-$i.out
	if [[ $kind == ref || $E2E_VMM_KIND != microvm ]]; then
		vfsb_run_qemu "$out" "$E2E_WORKDIR/vfs-$kind-$i.err"
	else
		vfsb_run_microvm "$out" "$E2E_WORKDIR/vfs-$kind-$i.err" "$([[ $kind == wk ]] && echo false || echo true)"
	fi
	if ((E2E_RC != 0)) || ! bench_fs_done "$out" ||
		! tr -d '\r' <"$out" | grep -qx 'MICROVM-E2E status=0'; then
		ok=0
		e2e_log "vfs_guest $kind run $i failed (exit status $E2E_RC after $E2E_MS ms); the end of its output:"
		tail -n 15 "$out" | tr -d '\r' | sed 's/^/    /' >&2
	fi
	for p in "${BENCH_FS_PHASES[@]}"; do
		local -n vfsb_vals=VFSB_${kind}_$p
		if ((ok)); then
			vfsb_vals+=("$(bench_fs_value "$out" "$p")")
		else
			vfsb_vals+=(NA)
		fi
	done
	VFSB_CLOCK[$kind]=$(sed -n 's/^VFSBENCH clocksource=//p' "$out" | tr -d '\r' | head -n 1)
	VFSB_MS[$kind]=$E2E_MS
	((ok))
}

bench_vfs() {
	local i p status=0 name=$E2E_VMM_KIND
	local -A VFSB_CLOCK=() VFSB_MS=()
	[[ $E2E_VMM_KIND == microvm ]] || name="$E2E_VMM_KIND-virtiofsd"
	for p in "${BENCH_FS_PHASES[@]}"; do
		local -a "VFSB_vm_$p=()" "VFSB_wk_$p=()" "VFSB_ref_$p=()"
	done
	if ! vfsb_setup; then
		status=1
		BENCH_VFS_RUNS=0
	fi
	printf '# vfs_guest: %s files, %s MiB in 1 MiB writes, %s MiB, 1 vCPU, 1 queue, cache=auto, %s runs; reference: %s\n' \
		"$BENCH_VFS_FILES" "$BENCH_VFS_SIZE_MIB" "$BENCH_VFS_MEMORY" "$BENCH_VFS_RUNS" \
		"$VFSB_VIRTIOFSD"
	for ((i = 1; i <= BENCH_VFS_RUNS; i++)); do
		vfsb_once vm "$i" || status=1
		[[ $E2E_VMM_KIND != microvm ]] || vfsb_once wk "$i" || status=1
		vfsb_once ref "$i" || status=1
		printf '# vfs_guest run %d: guest wall time %s %s ms (clock %s), qemu-virtiofsd %s ms (clock %s)\n' \
			"$i" "$name" "${VFSB_MS[vm]}" "${VFSB_CLOCK[vm]:-?}" "${VFSB_MS[ref]}" "${VFSB_CLOCK[ref]:-?}"
	done
	for p in "${BENCH_FS_PHASES[@]}"; do
		local -n vfsb_vm=VFSB_vm_$p vfsb_wk=VFSB_wk_$p vfsb_ref=VFSB_ref_$p
		bench_line "vfs_guest_$p" "$(bench_median_or_na "${vfsb_vm[@]}")" "${BENCH_FS_UNIT[$p]}" \
			qemu-virtiofsd "$(bench_median_or_na "${vfsb_ref[@]}")"
		[[ $E2E_VMM_KIND != microvm ]] ||
			bench_line "vfs_guest_${p}_workers" "$(bench_median_or_na "${vfsb_wk[@]}")" \
				"${BENCH_FS_UNIT[$p]}" qemu-virtiofsd "$(bench_median_or_na "${vfsb_ref[@]}")"
	done
	[[ -z ${VFSB_BASE:-} ]] || rm -rf "$VFSB_BASE"
	return "$status"
}

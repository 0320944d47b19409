#!/bin/bash
# nested.sh: run a command inside the nested helper VM (L1) that offers a working /dev/kvm.
#
# Usage: nested.sh SCRATCH_DIR COMMAND [ARGS...]
#
# L1 is the stock Debian kernel under QEMU's emulator (TCG, -cpu max,+svm), with kvm-amd
# loaded (see shared/nested-kvm.md). COMMAND runs in L1 chrooted into this machine's root,
# shared read-only over 9p, so every path is the same there. In L1, /run is a tmpfs and
# /run/e2e is SCRATCH_DIR shared read-write; COMMAND gets E2E_WORKDIR=/run/e2e/work (seen
# here as SCRATCH_DIR/work), MICROVM_E2E_NESTED=1, and this side's E2E_*, MICROVM_*,
# BENCH_* and asset variables. Its output streams here; nested.sh exits with its exit
# status, or 1 when L1 itself failed (then L1's console is printed).
#
# Environment: MICROVM_E2E_L1_MEMORY (MiB, default 4096), MICROVM_E2E_L1_TIMEOUT (seconds,
# default 1500), MICROVM_E2E_L1_CACHE (9p cache mode for the root share, default loose).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

# Loaded in this order in L1; each needs the ones before.
L1_MODULES="irqbypass kvm ccp kvm-amd
virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci
9pnet 9pnet_virtio netfs fscache 9p"

# L1's /init (busybox sh): mount, load KVM and 9p, enter the host's root, run the job.
l1_init_script() {
	cat <<'EOF'
#!/bin/sh
# /init of the nested helper VM: load KVM and 9p, chroot into the host root, run the job.
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1
while read -r module; do
	insmod "/lib/modules/$module" || echo "L1: insmod $module failed"
done </etc/modules.order
cache=loose
for arg in $(cat /proc/cmdline); do
	case $arg in l1.cache=*) cache=${arg#l1.cache=} ;; esac
done
opts=trans=virtio,version=9p2000.L,msize=512000
mkdir -p /host
mount -t 9p -o "$opts,ro,cache=$cache" host /host || echo "L1: cannot mount host root"
mount --bind /dev /host/dev
mount --bind /proc /host/proc
mount --bind /sys /host/sys
mkdir -p /host/dev/shm && mount -t tmpfs shm /host/dev/shm
mount -t tmpfs tmp /host/run
mkdir -p /host/run/e2e
mount -t 9p -o "$opts" scratch /host/run/e2e || echo "L1: cannot mount the scratch share"
if [ ! -c /dev/kvm ]; then
	echo "L1: no /dev/kvm (kvm-amd did not load)" >>/host/run/e2e/output.log
	echo 1 >/host/run/e2e/rc
elif [ -f /host/run/e2e/job.sh ]; then
	chroot /host /bin/bash /run/e2e/job.sh </dev/null >>/host/run/e2e/output.log 2>&1
	echo $? >/host/run/e2e/rc
fi
umount /host/run/e2e
poweroff -f
EOF
}

# Build (or reuse) L1's initramfs; cached on the kernel version and these scripts.
l1_initramfs() {
	local cache key out stage
	cache=$(e2e_cache_dir)/initramfs
	mkdir -p "$cache"
	key=$(e2e_hash "$(cat "$HERE/nested.sh" "$HERE/lib.sh" | sha256sum)" \
		"$(sha256sum <"${MICROVM_E2E_BUSYBOX:-/bin/busybox}")" "$KVER")
	out=$cache/l1-$KVER-$key.cpio.gz
	if [[ ! -s $out ]]; then
		stage=$(mktemp -d "$cache/.stage.XXXXXX")
		e2e_stage_busybox "$stage"
		mkdir -p "$stage/dev" "$stage/proc" "$stage/sys" "$stage/etc"
		mknod -m 600 "$stage/dev/console" c 5 1 2>/dev/null || true
		# shellcheck disable=SC2086 # a list of module names
		e2e_stage_modules "$stage" "$MODULES_BASE" "$KVER" $L1_MODULES
		l1_init_script >"$stage/init"
		chmod 755 "$stage/init"
		e2e_pack_cpio "$stage" "$out"
		rm -rf "$stage"
	fi
	printf '%s\n' "$out"
}

# Write the job L1 runs: environment, working directory, command.
l1_write_job() {
	local scratch=$1
	shift
	{
		echo '#!/bin/bash'
		echo '# Written by nested.sh: the command to run inside the nested helper VM.'
		echo 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
		echo 'mkdir -p /run/tmp /run/e2e/work && export TMPDIR=/run/tmp'
		export -p | grep -E '^declare -x (E2E_|MICROVM_|BENCH_|KERNEL|VMLINUX|MODULES_|KVER)' |
			grep -vE '^declare -x (E2E_WORKDIR|MICROVM_E2E_NESTED)=' || true
		echo 'export E2E_WORKDIR=/run/e2e/work MICROVM_E2E_NESTED=1'
		printf 'cd %q\n' "$PWD"
		printf 'exec'
		printf ' %q' "$@"
		printf '\n'
	} >"$scratch/job.sh"
}

# Copy what L1 appends to FILE to standard output until process PID ends, then the rest.
# (tail -f --pid can miss the last write when the writer exits at once.)
l1_follow() {
	local file=$1 pid=$2 done=0 size printed=0
	while ((!done)); do
		kill -0 "$pid" 2>/dev/null || done=1
		size=$(stat -c %s "$file")
		if ((size > printed)); then
			dd if="$file" iflag=skip_bytes,count_bytes skip="$printed" \
				count="$((size - printed))" bs=64k status=none
			printed=$size
		fi
		((done)) || sleep 1
	done
}

# Boot L1 once; stream the job's output; return the job's exit status.
l1_run() {
	local scratch=$1 initrd=$2 rc=0
	local console=$scratch/l1-console.log
	local mem=${MICROVM_E2E_L1_MEMORY:-4096} secs=${MICROVM_E2E_L1_TIMEOUT:-1500}
	rm -f "$scratch/rc"
	: >"$scratch/output.log"
	e2e_log "booting the nested helper VM (TCG, ${mem} MiB, limit ${secs}s)"
	# shellcheck disable=SC2054 # commas belong to QEMU's option syntax
	local cmd=(qemu-system-x86_64 -machine q35 -accel tcg -cpu max,+svm -m "$mem" -smp 1
		-nodefaults -no-user-config -display none -no-reboot -serial "file:$console"
		-kernel "$KERNEL" -initrd "$initrd"
		-append "console=ttyS0 quiet panic=-1 l1.cache=${MICROVM_E2E_L1_CACHE:-loose}"
		-virtfs local,path=/,mount_tag=host,security_model=passthrough,readonly=on,multidevs=remap
		-virtfs "local,path=$scratch,mount_tag=scratch,security_model=none,multidevs=remap")
	timeout -k 10 "$secs" "${cmd[@]}" </dev/null &
	L1_PID=$!
	# A background job ignores the terminal's ^C: stop L1 when we are stopped.
	trap 'kill "$L1_PID" 2>/dev/null || true' EXIT
	trap 'exit 130' INT TERM
	l1_follow "$scratch/output.log" "$L1_PID"
	wait "$L1_PID" || rc=$?
	trap - EXIT INT TERM
	if [[ -f $scratch/rc ]]; then
		return "$(cat "$scratch/rc")"
	fi
	((rc != 124)) || e2e_log "the nested helper VM timed out after ${secs}s"
	e2e_log "the nested helper VM did not finish its job (QEMU status $rc); its console:"
	tr -d '\r' <"$console" | tail -n 60 >&2
	return 1
}

nested_main() {
	(($# >= 2)) || e2e_die "usage: nested.sh SCRATCH_DIR COMMAND [ARGS...]"
	local scratch initrd
	scratch=$(cd "$1" && pwd)
	shift
	command -v qemu-system-x86_64 >/dev/null ||
		e2e_die "qemu-system-x86_64 missing: apt-get install qemu-system-x86"
	if [[ -z ${KVER:-} || -z ${KERNEL:-} ]]; then
		# shellcheck source=assets.sh
		. "$HERE/assets.sh"
		assets_prepare
	fi
	initrd=$(l1_initramfs)
	l1_write_job "$scratch" "$@"
	l1_run "$scratch" "$initrd"
}

nested_main "$@"

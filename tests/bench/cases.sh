#!/bin/bash
# cases.sh (bench): boot-time, VMM-overhead and in-guest virtio-fs figures, beside QEMU's microvm.
#
# Runs where /dev/kvm works (directly or inside the nested helper VM); bench.sh sets it up.
# Environment: E2E_VMM_KIND, E2E_VMM_BIN, E2E_KERNEL, E2E_INITRD, E2E_VFS_INITRD,
# E2E_WORKDIR (as for the e2e cases), BENCH_FSBENCH; BENCH_RUNS (default 5), BENCH_MEMORY
# (MiB, default 256), E2E_TIMEOUT; BENCH_ONLY (a subset of "boot rss vfs dax meta run oci"); the
# BENCH_VFS_* settings of cases_vfs.sh, the BENCH_DAX_* ones of cases_dax.sh, the
# BENCH_META_* ones of cases_meta.sh.
# Prints exactly:
#   BENCH boot_to_userspace value=<ms> unit=ms ref=qemu-microvm:<ms> ratio=<v/ref>
#   BENCH vmm_private_rss value=<KiB> unit=KiB ref=qemu-microvm:<KiB> ratio=<v/ref>
#   BENCH vfs_guest_<phase> ...      (create stat unlink write read; see cases_vfs.sh)
#   BENCH {dax,nodax}_{seq,rand}_read, dax_page_cache ...   (see cases_dax.sh)
#   BENCH meta_<work>_<phase>_<target>[_vs_peer] ...         (see cases_meta.sh)
#   BENCH run_true value=<ms> unit=ms ref=qemu-microvm:<ms> ...  (see cases_run.sh)
#   BENCH docker_run_true value=<ms> unit=ms ref=runc:<ms> ...  (see cases_oci.sh)
# boot_to_userspace: process start to the guest's first user-space line, median of runs.
# vmm_private_rss: Private_Clean + Private_Dirty over /proc/PID/smaps while the guest idles
# in user space, less the guest RAM mapping (the one mapping of exactly the RAM size).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../e2e/lib.sh
. "$HERE/../e2e/lib.sh"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=cases_vfs.sh
. "$HERE/cases_vfs.sh"
# shellcheck source=cases_dax.sh
. "$HERE/cases_dax.sh"
# shellcheck source=cases_meta.sh
. "$HERE/cases_meta.sh"
# shellcheck source=cases_run.sh
. "$HERE/cases_run.sh"
# shellcheck source=cases_oci.sh
. "$HERE/cases_oci.sh"

: "${E2E_VMM_KIND:=microvm}" "${E2E_VMM_BIN:?}" "${E2E_KERNEL:?}" "${E2E_INITRD:?}"
: "${E2E_WORKDIR:?}" "${BENCH_RUNS:=5}" "${BENCH_MEMORY:=256}"
if [[ ${MICROVM_E2E_NESTED:-0} == 1 ]]; then
	: "${E2E_TIMEOUT:=120}"
else
	: "${E2E_TIMEOUT:=30}"
fi
QEMU_BIN=${MICROVM_BENCH_QEMU:-qemu-system-x86_64}

# Start a guest whose init does ACTION; its serial output arrives on fd $VM_FD, line by
# line. Sets VM_PID (the VMM itself), VM_FD, VM_T0, VM_LOG. Usage: vm_start KIND BIN ACTION
vm_start() {
	local kind=$1 bin=$2 action=$3 cmd fifo
	e2e_vmm_cmd cmd "$kind" "$bin" kernel="$E2E_KERNEL" initrd="$E2E_INITRD" \
		memory="${BENCH_MEMORY}M" vcpus=1 cmdline="$E2E_BASE_CMDLINE e2e.action=$action"
	VM_LOG=$E2E_WORKDIR/$kind-$action.log
	# Not in E2E_WORKDIR: in L1 that is a 9p share, which refuses FIFOs.
	fifo=$(mktemp -u "${TMPDIR:-/tmp}/microvm-bench.XXXXXX")
	mkfifo -m 600 "$fifo" || return 1
	VM_T0=$EPOCHREALTIME
	"${cmd[@]}" </dev/null >"$fifo" 2>>"$E2E_WORKDIR/$kind.err" &
	VM_PID=$!
	exec {VM_FD}<"$fifo"
	rm -f "$fifo"
	printf 'run:' >>"$VM_LOG" && printf ' %q' "${cmd[@]}" >>"$VM_LOG" && echo >>"$VM_LOG"
}

# Read serial lines until one contains TEXT; then VM_MS is the time since vm_start.
vm_wait_for() {
	local text=$1 line deadline=$((SECONDS + E2E_TIMEOUT))
	while ((SECONDS < deadline)) && IFS= read -r -t "$E2E_TIMEOUT" -u "$VM_FD" line; do
		if [[ $line == *"$text"* ]]; then
			VM_MS=$(e2e_elapsed_ms "$VM_T0")
			printf '%s\n' "${line%$'\r'}" >>"$VM_LOG"
			return 0
		fi
		printf '%s\n' "${line%$'\r'}" >>"$VM_LOG"
	done
	return 1
}

# Let the guest finish (or kill it after the time limit, or at once with "kill");
# sets VM_RC.
vm_finish() {
	local how=${1:-wait} line i
	if [[ $how == kill ]]; then
		kill "$VM_PID" 2>/dev/null || true
	else
		while IFS= read -r -t "$E2E_TIMEOUT" -u "$VM_FD" line; do
			printf '%s\n' "${line%$'\r'}" >>"$VM_LOG"
		done
	fi
	exec {VM_FD}<&-
	for ((i = 0; i < 50; i++)); do
		kill -0 "$VM_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$VM_PID" 2>/dev/null || true
	VM_RC=0
	wait "$VM_PID" || VM_RC=$?
}

# Milliseconds from process start to user space for one boot (guest then powers off).
boot_once() {
	local kind=$1 bin=$2
	vm_start "$kind" "$bin" poweroff || return 1
	if ! vm_wait_for "MICROVM-E2E userspace"; then
		vm_finish kill
		return 1
	fi
	vm_finish
	((VM_RC == 0)) || {
		e2e_log "$kind exited $VM_RC after the guest powered off"
		return 1
	}
	printf '%s\n' "$VM_MS"
}

# Sum of private pages of PID outside the largest-RSS mapping of exactly RAM_KB.
private_rss_kb() {
	awk -v ram="$2" '
		$1 ~ /^[0-9a-f]+-[0-9a-f]+$/ { n++; next }
		$1 == "Size:" { size[n] = $2 }
		$1 == "Private_Clean:" || $1 == "Private_Dirty:" { priv[n] += $2 }
		END {
			for (i = 1; i <= n; i++) {
				total += priv[i]
				if (size[i] == ram && (!best || priv[i] > priv[best])) best = i
			}
			if (!best) exit 3
			print total - priv[best]
		}' "/proc/$1/smaps"
}

# Private RSS of the VMM while its guest idles in user space.
rss_once() {
	local kind=$1 bin=$2 kb rc=0
	vm_start "$kind" "$bin" sleep || return 1
	if ! vm_wait_for "MICROVM-E2E idle"; then
		vm_finish kill
		return 1
	fi
	sleep 1
	# Kept for a look at what was counted.
	cp "/proc/$VM_PID/smaps" "$E2E_WORKDIR/$kind.smaps" 2>/dev/null || true
	kb=$(private_rss_kb "$VM_PID" $((BENCH_MEMORY * 1024))) || rc=$?
	vm_finish kill
	((rc == 0)) || {
		e2e_log "$kind: no mapping of exactly ${BENCH_MEMORY} MiB in /proc/$VM_PID/smaps"
		return 1
	}
	printf '%s\n' "$kb"
}

# Alternate the two VMMs so that drift in a slow (emulated) host hits both alike.
bench_boot() {
	local i ms vm=() ref=()
	for ((i = 1; i <= BENCH_RUNS; i++)); do
		ms=$(boot_once "$E2E_VMM_KIND" "$E2E_VMM_BIN") || ms=NA
		vm+=("$ms")
		ms=$(boot_once qemu "$QEMU_BIN") || ms=NA
		ref+=("$ms")
		printf '# boot_to_userspace run %d: %s %s ms, qemu-microvm %s ms\n' \
			"$i" "$E2E_VMM_KIND" "${vm[-1]}" "${ref[-1]}"
	done
	BOOT_VM=$(bench_median_or_na "${vm[@]}")
	BOOT_REF=$(bench_median_or_na "${ref[@]}")
}

bench_main() {
	local rss_vm rss_ref status=0
	mkdir -p "$E2E_WORKDIR"
	printf '# VMM: %s (%s); reference: %s; %s MiB, 1 vCPU, %s runs%s\n' "$E2E_VMM_KIND" \
		"$E2E_VMM_BIN" "$QEMU_BIN" "$BENCH_MEMORY" "$BENCH_RUNS" \
		"$([[ ${MICROVM_E2E_NESTED:-0} == 1 ]] && echo ', inside the nested helper VM')"
	if bench_wanted boot; then
		bench_boot
		bench_line boot_to_userspace "$BOOT_VM" ms qemu-microvm "$BOOT_REF"
		[[ "$BOOT_VM $BOOT_REF" != *NA* ]] || status=1
	fi
	if bench_wanted rss; then
		rss_vm=$(rss_once "$E2E_VMM_KIND" "$E2E_VMM_BIN") || rss_vm=NA
		rss_ref=$(rss_once qemu "$QEMU_BIN") || rss_ref=NA
		bench_line vmm_private_rss "$rss_vm" KiB qemu-microvm "$rss_ref"
		[[ "$rss_vm $rss_ref" != *NA* ]] || status=1
	fi
	if bench_wanted vfs; then
		bench_vfs || status=1
	fi
	if bench_wanted dax; then
		bench_dax || status=1
	fi
	if bench_wanted meta; then
		bench_meta || status=1
	fi
	if bench_wanted run; then
		bench_run || status=1
	fi
	if bench_wanted oci; then
		bench_oci || status=1
	fi
	((status == 0)) || e2e_log "some runs failed; their serial logs are in $E2E_WORKDIR"
	return "$status"
}

bench_main "$@"

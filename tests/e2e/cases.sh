#!/bin/bash
# cases.sh: the end-to-end cases (TAP); runs where /dev/kvm works, directly or inside L1.
#
# Environment (set by run.sh): E2E_VMM_KIND (microvm, or qemu to check the harness with
# QEMU's microvm machine), E2E_VMM_BIN, E2E_KERNEL (bzImage), E2E_VMLINUX (ELF),
# E2E_INITRD (guest-initramfs.sh), E2E_WORKDIR (writable; one directory per case).
# Optional: E2E_TIMEOUT (seconds per guest run), E2E_ONLY (case names to run),
# E2E_BIG_MEMORY_MIB (RAM of the above-the-MMIO-hole case, default 3584).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

: "${E2E_VMM_KIND:=microvm}" "${E2E_VMM_BIN:?}" "${E2E_KERNEL:?}" "${E2E_VMLINUX:?}"
: "${E2E_INITRD:?}" "${E2E_WORKDIR:?}"
# Guests boot in about 1 s on hardware KVM and 15-50 s inside the emulated L1.
if [[ ${MICROVM_E2E_NESTED:-0} == 1 ]]; then
	: "${E2E_TIMEOUT:=120}"
else
	: "${E2E_TIMEOUT:=30}"
fi

# --- helpers used inside cases (each case runs in its own subshell) ----------------------

CASE_FAILED=0
fail() {
	printf 'FAIL: %s\n' "$*"
	CASE_FAILED=1
}
case_result() { return "$CASE_FAILED"; }

# Run the VMM under test: vm NAME key=value... (keys as e2e_vmm_cmd). Output in NAME.out,
# NAME.err; sets E2E_RC, OUT, ERR.
vm() {
	local name=$1 cmd
	shift
	e2e_vmm_cmd cmd "$E2E_VMM_KIND" "$E2E_VMM_BIN" "$@"
	OUT=$E2E_CASE_DIR/$name.out
	ERR=$E2E_CASE_DIR/$name.err
	printf 'run:' && printf ' %q' "${cmd[@]}" && printf '\n'
	e2e_run_timed "$OUT" "$ERR" "$E2E_TIMEOUT" "${cmd[@]}"
	printf 'exit status %s after %s ms\n' "$E2E_RC" "$E2E_MS"
	((E2E_RC != 124)) || fail "no exit within ${E2E_TIMEOUT}s"
}

# The guest command line for an action, plus extra words.
cmdline() {
	local action=$1
	shift
	printf '%s e2e.action=%s%s\n' "$E2E_BASE_CMDLINE" "$action" "${*:+ $*}"
}

# Value of a "MICROVM-E2E key=value" line in $OUT (empty when missing).
marker() {
	sed -n "s/^MICROVM-E2E $1=//p" "$OUT" | head -n 1
}

expect_rc() {
	[[ $E2E_RC == "$1" ]] || fail "exit status $E2E_RC, expected $1"
}

expect_line() {
	grep -qF -- "$1" "$OUT" || fail "guest output lacks '$1'"
}

# Checks common to every boot: user space reached, no panic, the action done, exit 0.
expect_boot() {
	local action=$1
	expect_rc 0
	expect_line "MICROVM-E2E userspace"
	! grep -q "Kernel panic" "$OUT" || fail "the guest kernel panicked"
	case $action in
	poweroff)
		expect_line "reboot: Power down"
		[[ $E2E_VMM_KIND != microvm ]] || grep -qF "powered off through the ACPI" "$ERR" ||
			fail "microvm did not report an ACPI power-off on stderr"
		;;
	reboot) expect_line "reboot: Restarting system" ;;
	esac
}

expect_nproc() {
	local got
	got=$(marker nproc)
	[[ $got == "$1" ]] || fail "guest sees nproc=${got:-none}, expected $1"
}

# MemTotal must lie in (MIN_KB, MAX_KB].
expect_memtotal() {
	local got
	got=$(marker memtotal_kb)
	if [[ -z $got ]]; then
		fail "no memtotal_kb line"
	elif ((got <= $1 || got > $2)); then
		fail "guest MemTotal ${got} kB outside (${1}, ${2}] kB"
	fi
}

# A guest of MiB megabytes: MemTotal between 70% of it (kernel, memmap) and all of it.
expect_memory_mib() {
	local kb=$(($1 * 1024))
	expect_memtotal $((kb * 7 / 10)) "$kb"
}

microvm_only() {
	[[ $E2E_VMM_KIND == microvm ]] || tap_skip_case "microvm only (VMM under test: $E2E_VMM_KIND)"
}

# A vm.yaml for the config-file cases. Keys as in man/microvm.yaml.5.
write_config() {
	local file=$1 kernel=$2 memory=$3 vcpus=$4 cmdline=$5
	cat >"$file" <<EOF
# microvm end-to-end test configuration
kernel: $kernel
initrd: $E2E_INITRD
cmdline: "$cmdline"
memory: $memory
vcpus: $vcpus
console: stdio
EOF
}

# --- cases -------------------------------------------------------------------------------

case_boot_1cpu() {
	vm boot kernel="$E2E_KERNEL" initrd="$E2E_INITRD" memory=256M vcpus=1 \
		cmdline="$(cmdline poweroff)"
	expect_boot poweroff
	expect_nproc 1
	expect_memory_mib 256
	case_result
}

case_boot_2cpu() {
	vm boot kernel="$E2E_KERNEL" initrd="$E2E_INITRD" memory=512M vcpus=2 \
		cmdline="$(cmdline poweroff)"
	expect_boot poweroff
	expect_nproc 2
	expect_memory_mib 512
	case_result
}

# Linux's reboot=k|a|t picks the restart method of `reboot -f`.
reboot_case() {
	vm reboot kernel="$E2E_KERNEL" initrd="$E2E_INITRD" memory=256M vcpus=1 \
		cmdline="$(cmdline reboot "reboot=$1")"
	expect_boot reboot
	# The guest falls back to another method when one is ignored: check which one ended it.
	[[ $E2E_VMM_KIND != microvm ]] || grep -qF -- "$2" "$ERR" ||
		fail "microvm did not report '$2' on stderr"
	case_result
}
case_reboot_kbd() { reboot_case k "reset through the i8042 controller"; }
case_reboot_acpi() { reboot_case a "reset through the ACPI reset register"; }
case_reboot_triple() { reboot_case t "triple fault"; }

# RAM above the 32-bit MMIO hole: more than 3 GiB can only be seen if the part above
# 4 GiB is in the E820 map. Guest RAM is touched lazily, so this fits in L1's 4 GiB.
case_ram_above_hole() {
	local mib=${E2E_BIG_MEMORY_MIB:-3584}
	vm big kernel="$E2E_KERNEL" initrd="$E2E_INITRD" memory="${mib}M" vcpus=1 \
		cmdline="$(cmdline poweroff)"
	expect_boot poweroff
	expect_memtotal $((3 * 1024 * 1024)) $((mib * 1024))
	case_result
}

case_pvh_elf() {
	vm pvh kernel="$E2E_VMLINUX" initrd="$E2E_INITRD" memory=256M vcpus=1 \
		cmdline="$(cmdline poweroff)"
	expect_boot poweroff
	expect_nproc 1
	expect_memory_mib 256
	case_result
}

case_config_file() {
	microvm_only
	local conf=$E2E_CASE_DIR/vm.yaml
	write_config "$conf" "$E2E_KERNEL" 256M 2 "$(cmdline poweroff)"
	vm config config="$conf"
	expect_boot poweroff
	expect_nproc 2
	expect_memory_mib 256
	case_result
}

# The command after " -- " reaches init as its arguments; its status is reported.
case_init_command() {
	vm command kernel="$E2E_KERNEL" initrd="$E2E_INITRD" memory=256M vcpus=1 \
		cmdline="$(cmdline poweroff -- /bin/sh -c '"echo E2E-COMMAND-RAN; exit 7"')"
	expect_boot poweroff
	expect_line "E2E-COMMAND-RAN"
	[[ $(marker status) == 7 ]] || fail "status line '$(marker status)', expected 7"
	case_result
}

# A missing kernel named in a config file: usage error (125) pointing at file:line:column.
case_error_missing_kernel() {
	microvm_only
	local conf=$E2E_CASE_DIR/missing.yaml
	write_config "$conf" "$E2E_CASE_DIR/no-such-kernel" 256M 1 "$(cmdline poweroff)"
	vm missing config="$conf"
	expect_rc 125
	grep -qE "(^|: )$conf:[0-9]+:[0-9]+: " "$ERR" ||
		fail "stderr has no '$conf:LINE:COLUMN: ' message"
	grep -q "no-such-kernel" "$ERR" || fail "stderr does not name the missing kernel"
	case_result
}

# The same from the command line: usage error naming the file.
case_error_missing_kernel_cli() {
	microvm_only
	vm missing kernel="$E2E_CASE_DIR/no-such-kernel" initrd="$E2E_INITRD"
	expect_rc 125
	grep -q "no-such-kernel" "$ERR" || fail "stderr does not name the missing kernel"
	case_result
}

# Neither bzImage nor ELF: refused with a clear one-line message, no guest started.
case_error_not_a_kernel() {
	microvm_only
	local junk=$E2E_CASE_DIR/not-a-kernel
	head -c 65536 /dev/zero | tr '\0' 'x' >"$junk"
	vm junk kernel="$junk" initrd="$E2E_INITRD"
	expect_rc 125
	[[ -s $ERR ]] || fail "no message on stderr"
	grep -qiE "not-a-kernel|kernel" "$ERR" || fail "the message names neither the file nor 'kernel'"
	! grep -q "MICROVM-E2E" "$OUT" || fail "a guest ran"
	case_result
}

# --- main --------------------------------------------------------------------------------

CASES=(
	"boot_1cpu|boot 1 vCPU 256M: user space, nproc=1, MemTotal, exit 0 on power-off"
	"boot_2cpu|boot 2 vCPUs 512M: nproc=2, MemTotal"
	"reboot_kbd|reboot=k (i8042 reset) exits 0"
	"reboot_acpi|reboot=a (ACPI reset register) exits 0"
	"reboot_triple|reboot=t (triple fault) exits 0"
	"ram_above_hole|RAM above the MMIO hole: MemTotal > 3 GiB"
	"pvh_elf|ELF vmlinux through the PVH entry reaches user space"
	"config_file|--config vm.yaml boots like the flags"
	"init_command|command after -- on the kernel command line runs, status reported"
	"error_missing_kernel|missing kernel in vm.yaml: exit 125, file:line:column message"
	"error_missing_kernel_cli|missing --kernel file: exit 125, names the file"
	"error_not_a_kernel|not-a-kernel file: exit 125 with a message"
)

# shellcheck source=cases_vfs.sh
. "$HERE/cases_vfs.sh"
CASES+=("${VFS_CASES[@]}")
# shellcheck source=cases_dax.sh
. "$HERE/cases_dax.sh"
CASES+=("${DAX_CASES[@]}")
# shellcheck source=cases_hostile.sh
. "$HERE/cases_hostile.sh"
CASES+=("${HOSTILE_CASES[@]}")
# shellcheck source=cases_runner.sh
. "$HERE/cases_runner.sh"
CASES+=("${RUNNER_CASES[@]}")
# shellcheck source=cases_runner2.sh
. "$HERE/cases_runner2.sh"
CASES+=("${RUNNER2_CASES[@]}")
# shellcheck source=cases_cache.sh
. "$HERE/cases_cache.sh"
CASES+=("${CACHE_CASES[@]}")
# shellcheck source=cases_oci.sh
. "$HERE/cases_oci.sh"
CASES+=("${OCI_CASES[@]}")

cases_main() {
	local entry name selected=()
	for entry in "${CASES[@]}"; do
		name=${entry%%|*}
		[[ -z ${E2E_ONLY:-} || " $E2E_ONLY " == *" $name "* ]] && selected+=("$entry")
	done
	mkdir -p "$E2E_WORKDIR"
	printf '# VMM under test: %s (%s)%s\n' "$E2E_VMM_KIND" "$E2E_VMM_BIN" \
		"$([[ ${MICROVM_E2E_NESTED:-0} == 1 ]] && echo ', inside the nested helper VM')"
	printf '1..%d\n' "${#selected[@]}"
	for entry in "${selected[@]}"; do
		tap_case "${entry%%|*}" "${entry#*|}"
	done
	tap_finish
}

cases_main "$@"

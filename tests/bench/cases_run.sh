#!/bin/bash
# cases_run.sh (bench): wall time of `microvm run -- /bin/true` against QEMU's microvm machine doing the same.
# Sourced by cases.sh. Both boot the same kernel and command-mode initramfs (E2E_RUNNER_INITRD,
# microvm-init + busybox) with the same job: microvm appends it itself; QEMU gets the
# initramfs with the job archive concatenated, and its init, finding no status port, runs
# the job anyway and powers off (-no-reboot makes QEMU exit then).
# Prints: BENCH run_true value=<ms> unit=ms ref=qemu-microvm:<ms> ratio=<v/ref>
# (process start to process exit, median of BENCH_RUN_RUNS, default 3).
# shellcheck shell=bash

# The job archive microvm-init reads (guest/protocol.h): /microvm/job running /bin/true.
run_job_archive() {
	local out=$1 stage
	stage=$(mktemp -d "${TMPDIR:-/tmp}/microvm-job.XXXXXX")
	mkdir -p "$stage/microvm"
	printf 'MICROVM-JOB 1\na/bin/true\0' >"$stage/microvm/job"
	(cd "$stage" && printf 'microvm\nmicrovm/job\n' | cpio --quiet -o -H newc -R 0:0) >"$out"
	rm -rf "$stage"
}

# The initramfs with the job appended at a 4-byte boundary, as microvm lays it out.
run_qemu_initrd() {
	local out=$1 pad
	cp "$E2E_RUNNER_INITRD" "$out"
	pad=$(((4 - $(stat -c %s "$out") % 4) % 4))
	head -c "$pad" /dev/zero >>"$out"
	run_job_archive "$out.job"
	cat "$out.job" >>"$out"
	rm -f "$out.job"
}

# Milliseconds from start to exit of one run; fails unless it exited 0.
run_true_once() {
	local kind=$1 t0 rc=0 log=$E2E_WORKDIR/run-true-$1.log
	t0=$EPOCHREALTIME
	if [[ $kind == microvm ]]; then
		timeout -k 5 "$E2E_TIMEOUT" "$E2E_VMM_BIN" run --kernel "$E2E_KERNEL" \
			--initrd "$E2E_RUNNER_INITRD" --memory "${BENCH_MEMORY}M" -- /bin/true \
			</dev/null >>"$log" 2>&1 || rc=$?
	else
		timeout -k 5 "$E2E_TIMEOUT" "$QEMU_BIN" -M microvm,acpi=on -accel kvm -cpu host \
			-m "${BENCH_MEMORY}M" -smp 1 -nodefaults -no-user-config -no-reboot \
			-serial stdio -nographic -kernel "$E2E_KERNEL" -initrd "$RUN_QEMU_INITRD" \
			-append "console=ttyS0 quiet panic=-1" </dev/null >>"$log" 2>&1 || rc=$?
	fi
	((rc == 0)) || {
		e2e_log "$kind: /bin/true run exited $rc (log: $log)"
		return 1
	}
	e2e_elapsed_ms "$t0"
}

bench_run() {
	local i ms vm=() ref=() runs=${BENCH_RUN_RUNS:-3}
	[[ -n ${E2E_RUNNER_INITRD:-} ]] || {
		e2e_log "no command-mode initramfs (E2E_RUNNER_INITRD)"
		return 1
	}
	RUN_QEMU_INITRD=$E2E_WORKDIR/runner-with-job.cpio
	run_qemu_initrd "$RUN_QEMU_INITRD"
	for ((i = 1; i <= runs; i++)); do
		ms=$(run_true_once microvm) || ms=NA
		vm+=("$ms")
		ms=$(run_true_once qemu) || ms=NA
		ref+=("$ms")
		printf '# run_true run %d: microvm %s ms, qemu-microvm %s ms\n' "$i" "${vm[-1]}" "${ref[-1]}"
	done
	bench_line run_true "$(bench_median_or_na "${vm[@]}")" ms qemu-microvm \
		"$(bench_median_or_na "${ref[@]}")"
	[[ "${vm[*]} ${ref[*]}" != *NA* ]]
}

#!/bin/bash
# cases_oci.sh (bench): wall time of `docker run --rm busybox true` with --runtime microvm against --runtime runc, same daemon, same run.
# Sourced by cases.sh. The daemons and the image are set up as for the e2e runtime-mode
# cases (tests/e2e/cases_oci.sh, whose helpers this reuses); both runtimes start the same
# busybox image with no network. Prints:
#   BENCH docker_run_true value=<ms> unit=ms ref=runc:<ms> ratio=<v/ref>
# (client start to client exit, median of BENCH_OCI_RUNS, default 3, alternating runtimes).
# shellcheck shell=bash source-path=SCRIPTDIR
# shellcheck source=../e2e/cases_oci.sh
. "$HERE/../e2e/cases_oci.sh"

# Milliseconds of one `docker run --rm ... true`; fails unless it exited 0.
oci_bench_once() {
	local runtime=$1 t0 rc=0 log=$E2E_WORKDIR/docker-run-$1.log
	t0=$EPOCHREALTIME
	timeout -k 10 "$OCI_TIMEOUT" "${OCI_DOCKER[@]}" run --rm --network none \
		--runtime "$runtime" "$OCI_IMAGE" true </dev/null >>"$log" 2>&1 || rc=$?
	((rc == 0)) || {
		e2e_log "docker run --runtime $runtime exited $rc (log: $log)"
		return 1
	}
	e2e_elapsed_ms "$t0"
}

bench_oci() {
	local i ms vm=() ref=() runs=${BENCH_OCI_RUNS:-3}
	if ((EUID != 0)) || [[ -z ${E2E_RUNNER_INITRD:-} ]] || [[ ! -x /usr/bin/docker ]]; then
		e2e_log "docker_run_true needs root, the command-mode initramfs and docker.io"
		bench_line docker_run_true NA ms runc NA
		return 1
	fi
	if ! oci_up >&2; then
		bench_line docker_run_true NA ms runc NA
		return 1
	fi
	for ((i = 1; i <= runs; i++)); do
		ms=$(oci_bench_once microvm) || ms=NA
		vm+=("$ms")
		ms=$(oci_bench_once runc) || ms=NA
		ref+=("$ms")
		printf '# docker_run_true run %d: microvm %s ms, runc %s ms\n' "$i" "${vm[-1]}" "${ref[-1]}"
	done
	bench_line docker_run_true "$(bench_median_or_na "${vm[@]}")" ms runc \
		"$(bench_median_or_na "${ref[@]}")"
	[[ "${vm[*]} ${ref[*]}" != *NA* ]]
}

#!/bin/bash
# fuse_host.sh (bench): fsbench through the host-side FUSE harness against the native directory.
#
# Usage: fuse_host.sh FSBENCH FUSEHOST
# Runs on this machine (no VM, no KVM): FUSEHOST (tests/microvm-fusehost, the virtio-fs FUSE
# server and passthrough backend on /dev/fuse, cache=auto) serves a directory, and FSBENCH
# (tests/bench/fsbench) runs once in the mount and once in a native directory on the same
# file system, BENCH_FUSE_RUNS times, alternating. The harness is started afresh for every
# FUSE run (a clean mount, no cached state); fsbench itself drops the caches before its
# stat and read phases (see fsbench.c). Prints, with the medians of the runs:
#   BENCH fuse_host_<phase> value=<v> unit=<ops/s|MB/s> ref=native:<v> ratio=<v/ref>
# for the phases create, stat, unlink, write, read.
# Exit status: 0; 1 when a run failed (the figures then say NA); 77 (nothing printed but a
# comment) without root or /dev/fuse, or when mount(2) is refused.
#
# Environment: BENCH_FUSE_RUNS (default 5), BENCH_FUSE_FILES (default 5000),
# BENCH_FUSE_SIZE_MIB (default 256), BENCH_FUSE_DIR (parent of the scratch directory,
# default $TMPDIR or /tmp; the native figures are those of its file system).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

: "${BENCH_FUSE_RUNS:=5}" "${BENCH_FUSE_FILES:=5000}" "${BENCH_FUSE_SIZE_MIB:=256}"
FH_PID=
FH_WORK=

fh_log() { printf 'fuse_host.sh: %s\n' "$*" >&2; }

fh_mounted() { grep -q " $FH_WORK/mnt fuse" /proc/self/mounts; }

# Mount $FH_WORK/src on $FH_WORK/mnt through the harness; 1 when that does not happen.
fh_start() {
	local i
	"$FUSEHOST" --cache auto "$FH_WORK/src" "$FH_WORK/mnt" 2>>"$FH_WORK/harness.log" &
	FH_PID=$!
	for ((i = 0; i < 50; i++)); do
		fh_mounted && return 0
		kill -0 "$FH_PID" 2>/dev/null || break
		sleep 0.1
	done
	fh_stop
	return 1
}

# SIGTERM makes the harness unmount and exit; a lazy unmount covers a harness that died.
fh_stop() {
	if [[ -n $FH_PID ]]; then
		kill "$FH_PID" 2>/dev/null || true
		wait "$FH_PID" 2>/dev/null || true
	fi
	FH_PID=
	! fh_mounted || umount -l "$FH_WORK/mnt" 2>/dev/null || true
}

fh_cleanup() {
	fh_stop
	[[ -z $FH_WORK ]] || rm -rf "$FH_WORK"
}

# One fsbench run in DIR, its output kept in LOG; 1 when it did not finish.
fh_fsbench() {
	local dir=$1 log=$2
	"$FSBENCH" --files "$BENCH_FUSE_FILES" --size "$BENCH_FUSE_SIZE_MIB" "$dir" >"$log" 2>&1 &&
		bench_fs_done "$log"
}

# Run I: native, then FUSE on a fresh mount. Appends each phase's rate to NATIVE_<phase>
# and FUSE_<phase> (NA for a failed run).
fh_round() {
	local i=$1 p rc_native=0 rc_fuse=0
	fh_fsbench "$FH_WORK/native" "$FH_WORK/native-$i.log" || rc_native=$?
	if fh_start; then
		fh_fsbench "$FH_WORK/mnt" "$FH_WORK/fuse-$i.log" || rc_fuse=$?
		fh_stop
	else
		rc_fuse=1
		printf 'the harness did not mount: %s\n' "$(tail -n 3 "$FH_WORK/harness.log")" >"$FH_WORK/fuse-$i.log"
	fi
	((rc_native == 0)) || fh_log "native run $i failed: $(tail -n 2 "$FH_WORK/native-$i.log")"
	((rc_fuse == 0)) || fh_log "FUSE run $i failed: $(tail -n 2 "$FH_WORK/fuse-$i.log")"
	((rc_native == 0)) || : >"$FH_WORK/native-$i.log" # a failed run counts as NA
	((rc_fuse == 0)) || : >"$FH_WORK/fuse-$i.log"
	for p in "${BENCH_FS_PHASES[@]}"; do
		local -n fh_nat=NATIVE_$p fh_fus=FUSE_$p
		fh_nat+=("$(bench_fs_value "$FH_WORK/native-$i.log" "$p")")
		fh_fus+=("$(bench_fs_value "$FH_WORK/fuse-$i.log" "$p")")
	done
	printf '# fuse_host run %d: native %s, FUSE %s (create stat unlink ops/s, write read MB/s)\n' \
		"$i" "$(fh_row NATIVE "$i")" "$(fh_row FUSE "$i")"
	((rc_native == 0 && rc_fuse == 0))
}

# The rates of run I for KIND (NATIVE or FUSE), space-separated.
fh_row() {
	local p out=()
	for p in "${BENCH_FS_PHASES[@]}"; do
		local -n fh_vals=$1_$p
		out+=("${fh_vals[$(($2 - 1))]}")
	done
	printf '%s\n' "${out[*]}"
}

fh_main() {
	(($# == 2)) || {
		fh_log "usage: fuse_host.sh FSBENCH FUSEHOST"
		exit 2
	}
	FSBENCH=$1 FUSEHOST=$2
	local i p status=0 caches
	[[ -x $FSBENCH && -x $FUSEHOST ]] || {
		fh_log "missing $FSBENCH or $FUSEHOST (make bench builds them)"
		exit 1
	}
	if [[ ! -c /dev/fuse || $(id -u) != 0 ]]; then
		echo "# fuse_host: skipped: mounting through /dev/fuse and dropping caches need root and /dev/fuse"
		exit 77
	fi
	FH_WORK=$(mktemp -d "${BENCH_FUSE_DIR:-${TMPDIR:-/tmp}}/microvm-bench-fuse.XXXXXX")
	trap fh_cleanup EXIT
	trap 'exit 130' INT TERM
	chmod 755 "$FH_WORK"
	mkdir -p "$FH_WORK/src" "$FH_WORK/mnt" "$FH_WORK/native"
	if ! fh_start; then
		echo "# fuse_host: skipped: mount(2) of a FUSE file system was refused here"
		exit 77
	fi
	fh_stop
	for p in "${BENCH_FS_PHASES[@]}"; do
		declare -ga "NATIVE_$p=()" "FUSE_$p=()"
	done
	printf '# fuse_host: %s files, %s MiB in 1 MiB writes, %s runs on %s (%s), harness cache=auto\n' \
		"$BENCH_FUSE_FILES" "$BENCH_FUSE_SIZE_MIB" "$BENCH_FUSE_RUNS" "$FH_WORK" \
		"$(findmnt -n -o FSTYPE -T "$FH_WORK" 2>/dev/null || stat -f -c %T "$FH_WORK")"
	for ((i = 1; i <= BENCH_FUSE_RUNS; i++)); do
		fh_round "$i" || status=1
	done
	caches=$(bench_fs_caches "$FH_WORK/fuse-1.log")
	[[ $caches == dropped ]] || echo "# fuse_host: caches were not dropped between phases ($caches)"
	for p in "${BENCH_FS_PHASES[@]}"; do
		local -n fh_n=NATIVE_$p fh_f=FUSE_$p
		bench_line "fuse_host_$p" "$(bench_median_or_na "${fh_f[@]}")" "${BENCH_FS_UNIT[$p]}" \
			native "$(bench_median_or_na "${fh_n[@]}")"
	done
	return "$status"
}

fh_main "$@"

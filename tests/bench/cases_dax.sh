# cases_dax.sh (bench): warm-file read throughput in the guest, DAX against non-DAX virtio-fs.
# shellcheck shell=bash
#
# Sourced by cases.sh; bench_dax prints:
#   BENCH dax_seq_read   value=<MB/s> unit=MB/s ref=guest-tmpfs:<MB/s> ratio=<v/ref>
#   BENCH nodax_seq_read value=<MB/s> unit=MB/s ref=guest-tmpfs:<MB/s> ratio=<v/ref>
#   BENCH dax_rand_read  ...  /  BENCH nodax_rand_read ...   (the same, random order)
#   BENCH dax_page_cache value=<KiB> unit=KiB ref=nodax:<KiB> ratio=<v/ref>
# One microvm boot per run, with two shares of two copies of one host file: "dax"
# (dax_window, mounted -o dax=always) and "plain" (cache: auto, no DAX). In the guest,
# fsbench --readfile reads the file on each in 64 KiB blocks: a cold sequential pass, then
# the measured warm passes, sequential and random (every block once, shuffled); then the
# guest copies the file to a tmpfs and reads that the same way: the memory-speed limit.
# page_cache is the growth of the guest's Cached (/proc/meminfo) over one fsbench run.
# The figures are medians of the runs, from the guest's clock. microvm only (QEMU's
# vhost-user-fs has no DAX window).
#
# Environment: BENCH_DAX_RUNS (default 3), BENCH_DAX_SIZE_MIB (32 nested, 256 otherwise),
# BENCH_DAX_MEMORY (MiB; 512 nested, 1024 otherwise), BENCH_DAX_TIMEOUT (seconds per
# guest; 300 nested, 120 otherwise).

if [[ ${MICROVM_E2E_NESTED:-0} == 1 ]]; then
	: "${BENCH_DAX_SIZE_MIB:=32}" "${BENCH_DAX_MEMORY:=512}" "${BENCH_DAX_TIMEOUT:=300}"
else
	: "${BENCH_DAX_SIZE_MIB:=256}" "${BENCH_DAX_MEMORY:=1024}" "${BENCH_DAX_TIMEOUT:=120}"
fi
: "${BENCH_DAX_RUNS:=3}"
# What the guest measures: PART (dax, nodax, tmpfs) and PHASE (as fsbench names it).
DAXB_PARTS=(dax nodax tmpfs)
DAXB_PHASES=(seq_read rand_read page_cache)

# The guest's command line: mount both shares, run guest.sh from the DAX one.
daxb_cmdline() {
	local run="mkdir -p /mnt/dax /mnt/plain"
	run+=" && mount -t virtiofs -o dax=always dax /mnt/dax && mount -t virtiofs plain /mnt/plain"
	run+=" && cp /mnt/dax/guest.sh /guest.sh && exec /bin/sh /guest.sh"
	printf '%s e2e.action=poweroff -- /bin/sh -c "%s"\n' "$E2E_BASE_CMDLINE" "$run"
}

# Each part's output is preceded by "DAXBENCH part=NAME". The tmpfs copy is made through
# the DAX mount after a cache drop, so the non-DAX file's pages are gone by then.
daxb_guest_script() {
	cat >"$DAXB_DAX/guest.sh" <<EOF
# guest.sh: run by the DAX benchmark guest (tests/bench/cases_dax.sh)
cd /
cp /mnt/dax/fsbench /fsbench || exit 1
status=0
echo "DAXBENCH clocksource=\$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
echo 3 >/proc/sys/vm/drop_caches
echo "DAXBENCH part=dax"
/fsbench --readfile /mnt/dax/data --block 64 || status=1
echo 3 >/proc/sys/vm/drop_caches
echo "DAXBENCH part=nodax"
/fsbench --readfile /mnt/plain/data --block 64 || status=1
echo 3 >/proc/sys/vm/drop_caches
mkdir -p /tmpfs && mount -t tmpfs -o size=$((BENCH_DAX_SIZE_MIB + 16))m tmpfs /tmpfs &&
	cp /mnt/dax/data /tmpfs/data || status=1
echo "DAXBENCH part=tmpfs"
/fsbench --readfile /tmpfs/data --block 64 || status=1
umount /mnt/dax || echo "DAXBENCH umount dax failed"
umount /mnt/plain || echo "DAXBENCH umount plain failed"
exit \$status
EOF
}

daxb_setup() {
	local fsbench
	fsbench=$(bench_guest_prereqs) || return 1
	# Not in E2E_WORKDIR: in L1 that is a 9p share.
	DAXB_BASE=$(mktemp -d "${TMPDIR:-/tmp}/microvm-bench-dax.XXXXXX")
	DAXB_DAX=$DAXB_BASE/dax
	DAXB_PLAIN=$DAXB_BASE/plain
	mkdir -p "$DAXB_DAX" "$DAXB_PLAIN"
	cp "$fsbench" "$DAXB_DAX/fsbench"
	head -c "$((BENCH_DAX_SIZE_MIB << 20))" /dev/urandom >"$DAXB_DAX/data"
	cp "$DAXB_DAX/data" "$DAXB_PLAIN/data"
	daxb_guest_script
}

# The DAX window: at least 256 MiB, and twice the file so that it all stays mapped.
daxb_window_mib() {
	local w=$((BENCH_DAX_SIZE_MIB * 2))
	((w >= 256)) || w=256
	echo "$w"
}

daxb_run_microvm() {
	local out=$1 err=$2 cfg=$DAXB_BASE/vm.yaml
	cat >"$cfg" <<EOF
# microvm benchmark configuration: a DAX and a non-DAX share (tests/bench/cases_dax.sh)
kernel: $E2E_KERNEL
initrd: $E2E_VFS_INITRD
cmdline: '$(daxb_cmdline)'
memory: ${BENCH_DAX_MEMORY}M
vcpus: 1
console: stdio
shares:
  - tag: dax
    path: $DAXB_DAX
    queues: 1
    readonly: true
    dax_window: $(daxb_window_mib)M
  - tag: plain
    path: $DAXB_PLAIN
    queues: 1
    readonly: true
    cache: auto
EOF
	printf 'run: %q run -v --config %q\n' "$E2E_VMM_BIN" "$cfg" >>"$out.cmd"
	# shellcheck disable=SC2034 # read by vfsb_timed (cases_vfs.sh)
	local BENCH_VFS_TIMEOUT=$BENCH_DAX_TIMEOUT
	vfsb_timed "$out" "$err" "$E2E_VMM_BIN" run -v --config "$cfg"
}

# What fsbench printed for PHASE in PART of the guest output FILE, or NA.
daxb_value() {
	local v
	v=$(tr -d '\r' <"$1" | awk -v part="$2" -v p="$3" '
		$1 == "DAXBENCH" && $2 ~ /^part=/ { cur = substr($2, 6) }
		$1 == "FSBENCH" && $2 == p && cur == part { print $3; exit }')
	printf '%s\n' "${v:-NA}"
}

# One guest run; appends each figure to DAXB_<part>_<phase>.
daxb_once() {
	local i=$1 out part p ok=1 n
	out=$E2E_WORKDIR/dax-$i.out
	daxb_run_microvm "$out" "$E2E_WORKDIR/dax-$i.err"
	n=$(tr -d '\r' <"$out" | grep -cx 'FSBENCH done' || true)
	if ((E2E_RC != 0 || n != ${#DAXB_PARTS[@]})) ||
		! tr -d '\r' <"$out" | grep -qx 'MICROVM-E2E status=0'; then
		ok=0
		e2e_log "dax run $i failed (exit status $E2E_RC after $E2E_MS ms); the end of its output:"
		tail -n 15 "$out" | tr -d '\r' | sed 's/^/    /' >&2
	fi
	for part in "${DAXB_PARTS[@]}"; do
		for p in "${DAXB_PHASES[@]}"; do
			local -n daxb_vals=DAXB_${part}_$p
			if ((ok)); then
				daxb_vals+=("$(daxb_value "$out" "$part" "$p")")
			else
				daxb_vals+=(NA)
			fi
		done
	done
	DAXB_CLOCK=$(sed -n 's/^DAXBENCH clocksource=//p' "$out" | tr -d '\r' | head -n 1)
	printf '# dax run %d: guest wall time %s ms (clock %s); page cache KiB dax %s, nodax %s, tmpfs %s\n' \
		"$i" "$E2E_MS" "${DAXB_CLOCK:-?}" "$(daxb_value "$out" dax page_cache)" \
		"$(daxb_value "$out" nodax page_cache)" "$(daxb_value "$out" tmpfs page_cache)"
	((ok))
}

# The median of DAXB_<part>_<phase>.
daxb_median() {
	local -n daxb_m=DAXB_${1}_$2
	bench_median_or_na "${daxb_m[@]}"
}

bench_dax() {
	local i part p status=0 DAXB_CLOCK=
	for part in "${DAXB_PARTS[@]}"; do
		for p in "${DAXB_PHASES[@]}"; do
			local -a "DAXB_${part}_$p=()"
		done
	done
	if [[ $E2E_VMM_KIND != microvm ]]; then
		e2e_log "dax: microvm only (the reference has no DAX window)"
		BENCH_DAX_RUNS=0
		status=1
	elif ! daxb_setup; then
		status=1
		BENCH_DAX_RUNS=0
	fi
	printf '# dax: %s MiB file, 64 KiB reads, warm, %s MiB, 1 vCPU, DAX window %s MiB, %s runs; reference: a guest tmpfs copy\n' \
		"$BENCH_DAX_SIZE_MIB" "$BENCH_DAX_MEMORY" "$(daxb_window_mib)" "$BENCH_DAX_RUNS"
	for ((i = 1; i <= BENCH_DAX_RUNS; i++)); do
		daxb_once "$i" || status=1
	done
	for p in seq_read rand_read; do
		for part in dax nodax; do
			bench_line "${part}_$p" "$(daxb_median "$part" "$p")" MB/s guest-tmpfs \
				"$(daxb_median tmpfs "$p")"
		done
	done
	bench_line dax_page_cache "$(daxb_median dax page_cache)" KiB nodax \
		"$(daxb_median nodax page_cache)"
	[[ -z ${DAXB_BASE:-} ]] || rm -rf "$DAXB_BASE"
	return "$status"
}

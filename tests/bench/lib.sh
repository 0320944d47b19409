# lib.sh (bench): statistics, BENCH lines and fsbench output parsing (sourced, never run).
# shellcheck shell=bash
# Variables set here are read by the scripts that source this file.
# shellcheck disable=SC2034

# fsbench's phases and their units, in the order it runs them (tests/bench/fsbench.c).
BENCH_FS_PHASES=(create stat unlink write read)
declare -A BENCH_FS_UNIT=([create]=ops/s [stat]=ops/s [unlink]=ops/s [write]=MB/s [read]=MB/s)

# The median of the numbers given.
bench_median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# The median, or NA when any value is NA (a failed run) or none is given.
bench_median_or_na() {
	local v
	(($# > 0)) || {
		echo NA
		return
	}
	for v; do [[ $v != NA ]] || {
		echo NA
		return
	}; done
	bench_median "$@"
}

bench_ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "NA" || b == "NA" || b == 0) print "NA"; else printf "%.2f\n", a / b }'
}

# One figure: bench_line NAME VALUE UNIT REF_NAME REF_VALUE
bench_line() {
	printf 'BENCH %s value=%s unit=%s ref=%s:%s ratio=%s\n' "$1" "$2" "$3" "$4" "$5" \
		"$(bench_ratio "$2" "$5")"
}

# The rate fsbench printed for PHASE in FILE (serial logs may carry CRs), or NA.
bench_fs_value() {
	local v
	v=$(tr -d '\r' <"$1" | awk -v p="$2" '$1 == "FSBENCH" && $2 == p { print $3; exit }')
	printf '%s\n' "${v:-NA}"
}

# True when FILE holds a complete fsbench run.
bench_fs_done() {
	tr -d '\r' <"$1" | grep -qx 'FSBENCH done'
}

# What fsbench said about the caches in FILE (dropped, kept, or unknown).
bench_fs_caches() {
	local v
	v=$(tr -d '\r' <"$1" | sed -n 's/^FSBENCH config .*caches=\([a-z]*\).*/\1/p' | head -n 1)
	printf '%s\n' "${v:-unknown}"
}

# True when the comma- or space-separated BENCH_ONLY is unset or names PART.
bench_wanted() {
	[[ -z ${BENCH_ONLY:-} ]] || [[ " ${BENCH_ONLY//,/ } " == *" $1 "* ]]
}

# The fsbench binary: BENCH_FSBENCH, else tests/bench/fsbench beside the microvm binary,
# else in the source tree.
# What every in-guest part needs: the static fsbench (its path is printed) and a guest
# initramfs with the virtio-fs modules. Usage: fsbench=$(bench_guest_prereqs) || return 1
bench_guest_prereqs() {
	local fsbench
	fsbench=$(bench_fsbench_binary) || {
		e2e_log "no tests/bench/fsbench binary (make tests/bench/fsbench, or set BENCH_FSBENCH)"
		return 1
	}
	[[ -n ${E2E_VFS_INITRD:-} && -s $E2E_VFS_INITRD ]] || {
		e2e_log "no guest initramfs with virtiofs (E2E_VFS_INITRD, set by bench.sh)"
		return 1
	}
	printf '%s\n' "$fsbench"
}

bench_fsbench_binary() {
	local c src
	src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	for c in "${BENCH_FSBENCH:-}" "$(dirname "${E2E_VMM_BIN:-.}")/tests/bench/fsbench" \
		"$src/tests/bench/fsbench"; do
		[[ -n $c && -x $c ]] && {
			printf '%s\n' "$c"
			return 0
		}
	done
	return 1
}

#!/bin/bash
# run.sh: run libFuzzer targets for a bounded time each on a working copy of the seed corpus;
# one "FUZZ <name> execs=<N> seconds=<S> findings=<F>" line per target, exit 1 on any finding.
#
# Usage: run.sh BIN_DIR SEED_DIR WORK_DIR SECONDS TARGET...
# The working corpus (WORK_DIR/<target>/corpus) keeps what earlier runs found, so runs
# build on each other; crash, leak, timeout and out-of-memory inputs land in
# WORK_DIR/<target>/findings/ and are printed with the command that replays them.
set -euo pipefail

if (($# < 5)); then
	echo "usage: $0 BIN_DIR SEED_DIR WORK_DIR SECONDS TARGET..." >&2
	exit 2
fi
BIN=$1 SEEDS=$2 WORK=$3 SECS=$4
shift 4

# max_len: the largest input worth mutating for each target's format.
max_len() {
	case $1 in
	fuzz_fuse) echo 16384 ;;
	fuzz_boot) echo 32768 ;;
	fuzz_virtqueue) echo 16400 ;;
	*) echo 8192 ;;
	esac
}

count_findings() {
	find "$1" -maxdepth 1 -type f | wc -l
}

# run_one TARGET: prints the FUZZ line; returns 1 on a finding or a libFuzzer failure.
run_one() {
	local t=$1 dir=$WORK/$1 rc=0 t0=$SECONDS before after execs secs
	mkdir -p "$dir/corpus" "$dir/findings"
	if [[ -d $SEEDS/$t ]]; then
		cp "$SEEDS/$t"/* "$dir/corpus/"
	fi
	before=$(count_findings "$dir/findings")
	touch "$dir/started"
	"$BIN/$t" -max_total_time="$SECS" -print_final_stats=1 -max_len="$(max_len "$t")" \
		-use_value_profile=1 \
		-timeout=20 -rss_limit_mb=2048 -artifact_prefix="$dir/findings/" \
		"$dir/corpus" >"$dir/log" 2>&1 || rc=$?
	after=$(count_findings "$dir/findings")
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -n 1)
	secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$dir/log" | tail -n 1)
	local findings=$((after - before))
	if ((rc != 0 && findings == 0)); then
		findings=1 # libFuzzer failed without leaving an input (e.g. it could not start)
	fi
	echo "FUZZ $t execs=${execs:-0} seconds=${secs:-$((SECONDS - t0))} findings=$findings"
	if ((findings == 0)); then
		return 0
	fi
	echo "--- $t: libFuzzer exited with $rc; the report from $dir/log:"
	if grep -q 'ERROR: ' "$dir/log"; then
		sed -n '/ERROR: /,$p' "$dir/log" | head -n 120
	else
		tail -n 60 "$dir/log"
	fi
	find "$dir/findings" -maxdepth 1 -type f -newer "$dir/started" -print |
		while read -r f; do echo "replay: $BIN/$t $f"; done
	return 1
}

status=0
for t in "$@"; do
	run_one "$t" || status=1
done
exit "$status"

#!/bin/bash
# test.sh: the whole check, as CI runs it: packages, build, unit tests (plain and with
# sanitizers), a bounded fuzz run, make distcheck, shell lint, then the end-to-end tests;
# prints a summary.
#
# Builds out of tree in build/ and build-sanitizers/. Every step runs even when an earlier
# one failed (unless it needs that one's build); the exit status is 1 if any step failed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
JOBS=${MICROVM_JOBS:-$(nproc)}
STEPS=()
FAILED=0

# step NAME COMMAND...: run, time and record one step.
step() {
	local name=$1 t0=$SECONDS rc=0
	shift
	printf '\n=== %s\n' "$name"
	"$@" || rc=$?
	if ((rc == 0)); then
		STEPS+=("$(printf '%-28s ok      %4ds' "$name" $((SECONDS - t0)))")
	else
		STEPS+=("$(printf '%-28s FAILED  %4ds (exit %d)' "$name" $((SECONDS - t0)) "$rc")")
		FAILED=1
	fi
	return "$rc"
}

# configure_build DIR FLAGS...: a fresh out-of-tree configure and build.
configure_build() {
	local dir=$1
	shift
	mkdir -p "$dir"
	(cd "$dir" && "$ROOT/configure" -q "$@" && make -s -j"$JOBS")
}

# An in-tree configure stops out-of-tree builds ("source directory already configured").
clean_in_tree() {
	if [[ -f $ROOT/config.status ]]; then
		echo "test.sh: the source tree was configured in place: make distclean there first"
		make -s -C "$ROOT" distclean
	fi
}

shell_lint() {
	shellcheck -x tests/e2e/*.sh tests/bench/*.sh tests/fuzz/*.sh scripts/*.sh .ci/run
}

main() {
	step "setup (packages)" "$ROOT/scripts/setup.sh" || true
	step "autoreconf" autoreconf -fi || true
	clean_in_tree
	if step "build (-Werror)" configure_build build --enable-werror; then
		step "unit tests" make -s -C build -j"$JOBS" check || true
		step "fuzz (bounded)" make -s -C build -j"$JOBS" fuzz || true
	fi
	if step "build (sanitizers)" configure_build build-sanitizers --enable-werror \
		--enable-sanitizers; then
		step "unit tests (sanitizers)" make -s -C build-sanitizers -j"$JOBS" check || true
	fi
	step "make distcheck" make -s -C build -j"$JOBS" distcheck \
		DISTCHECK_CONFIGURE_FLAGS="--enable-werror --quiet" || true
	step "shellcheck" shell_lint || true
	step "end-to-end tests" make -s -C build check-e2e || true

	printf '\n=== summary\n'
	printf '%s\n' "${STEPS[@]}"
	if ((FAILED)); then
		echo "test.sh: FAILED"
		return 1
	fi
	echo "test.sh: all steps passed"
}

main "$@"

#!/bin/bash
# cases_runner2.sh: command mode end to end: host signals reach the command; orphans do not hold it.
# Sourced by cases.sh after cases_runner.sh (its runner, runner_only, expect_stdout helpers).
# Guests boot with the command-mode initramfs (E2E_RUNNER_INITRD: microvm-init + busybox).
# shellcheck shell=bash

# Start microvm in command mode in the background: runner_bg NAME [OPTION...] -- COMMAND...
# Without the timeout wrapper, so RUNNER_PID is microvm itself and a signal sent to it is
# the one microvm gets. Output in NAME.out, NAME.err; sets RUNNER_PID, RUNNER_T0, OUT, ERR.
runner_bg() {
	local name=$1
	shift
	OUT=$E2E_CASE_DIR/$name.out
	ERR=$E2E_CASE_DIR/$name.err
	printf 'run in the background:' && printf ' %q' "$E2E_VMM_BIN" run "$@" && printf '\n'
	RUNNER_T0=$EPOCHREALTIME
	"$E2E_VMM_BIN" run --kernel "$E2E_KERNEL" --initrd "$E2E_RUNNER_INITRD" "$@" \
		</dev/null >"$OUT" 2>"$ERR" &
	RUNNER_PID=$!
}

# Wait until the background microvm's stdout has the line LINE, for at most SECS seconds;
# false when it does not come (or microvm ended first).
runner_bg_await_line() {
	local line=$1 deadline=$((SECONDS + $2))
	until grep -qx -- "$line" "$OUT" 2>/dev/null; do
		if ((SECONDS >= deadline)) || ! kill -0 "$RUNNER_PID" 2>/dev/null; then
			return 1
		fi
		sleep 0.2
	done
}

# Wait for the background microvm, killed after E2E_TIMEOUT seconds. Sets E2E_RC, E2E_MS.
runner_bg_wait() {
	local deadline=$((SECONDS + E2E_TIMEOUT))
	while kill -0 "$RUNNER_PID" 2>/dev/null && ((SECONDS < deadline)); do
		sleep 0.2
	done
	if kill -0 "$RUNNER_PID" 2>/dev/null; then
		kill -KILL "$RUNNER_PID" 2>/dev/null || true
		fail "microvm did not exit within ${E2E_TIMEOUT}s"
	fi
	E2E_RC=0
	wait "$RUNNER_PID" || E2E_RC=$?
	E2E_MS=$(e2e_elapsed_ms "$RUNNER_T0")
	printf 'exit status %s after %s ms\n' "$E2E_RC" "$E2E_MS"
}

# SIGTERM to microvm goes down the control port to the command, whose trap decides the
# status: the VM is not stopped under it.
case_runner_signal_forward() {
	runner_only
	# shellcheck disable=SC2016 # run by the guest's shell
	runner_bg sigterm -- /bin/sh -c \
		'trap "echo got-term; exit 7" TERM; echo ready; while :; do sleep 1; done'
	if runner_bg_await_line ready "$E2E_TIMEOUT"; then
		kill -TERM "$RUNNER_PID"
	else
		fail "the command never printed 'ready'"
	fi
	runner_bg_wait
	expect_rc 7
	expect_stdout "$(printf 'ready\ngot-term')"
	case_result
}

# A background child that outlives the command does not keep the VM: init reports the
# command's status at once (an orphan of 600 s would otherwise hit the run's timeout).
case_runner_orphan() {
	runner_only
	runner orphan -- /bin/sh -c 'sleep 600 & echo parent-done'
	expect_rc 0
	expect_stdout parent-done
	[[ ! -s $ERR ]] || fail "stderr is not empty: $(head -c 200 "$ERR")"
	case_result
}

# shellcheck disable=SC2034 # read by cases.sh
RUNNER2_CASES=(
	"runner_signal_forward|command mode: SIGTERM to microvm reaches the command's trap, exit 7"
	"runner_orphan|command mode: a background child outliving the command does not delay exit 0"
)

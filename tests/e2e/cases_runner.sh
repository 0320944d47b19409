#!/bin/bash
# cases_runner.sh: command mode end to end: exit statuses, stdio, timeout, panic, root share, parallel VMs.
# Sourced by cases.sh (its helpers: fail, case_result, expect_rc, microvm_only, e2e_*).
# Guests boot with the command-mode initramfs (E2E_RUNNER_INITRD: microvm-init + busybox).
# shellcheck shell=bash

# Run microvm in command mode: runner NAME [OPTION...] -- COMMAND...
# Standard input from $RUN_STDIN (default /dev/null); standard output and error, unchanged,
# in NAME.out and NAME.err. Sets E2E_RC, E2E_MS, OUT, ERR.
runner() {
	local name=$1 t0
	shift
	OUT=$E2E_CASE_DIR/$name.out
	ERR=$E2E_CASE_DIR/$name.err
	printf 'run:' && printf ' %q' "$E2E_VMM_BIN" run "$@" && printf '\n'
	t0=$EPOCHREALTIME
	E2E_RC=0
	timeout --foreground -k 5 "${RUN_TIMEOUT:-$E2E_TIMEOUT}" "$E2E_VMM_BIN" run \
		--kernel "$E2E_KERNEL" --initrd "$E2E_RUNNER_INITRD" "$@" \
		<"${RUN_STDIN:-/dev/null}" >"$OUT" 2>"$ERR" || E2E_RC=$?
	E2E_MS=$(e2e_elapsed_ms "$t0")
	printf 'exit status %s after %s ms\n' "$E2E_RC" "$E2E_MS"
}

runner_only() {
	microvm_only
	[[ -n ${E2E_RUNNER_INITRD:-} ]] || tap_skip_case "no command-mode initramfs"
}

expect_stdout() {
	[[ $(cat "$OUT") == "$1" ]] || fail "stdout is '$(head -c 200 "$OUT")', expected '$1'"
}

expect_stderr() {
	grep -qF -- "$1" "$ERR" || fail "stderr lacks '$1'"
}

# How long a command-mode boot takes here (for the timeout case); from runner_status.
boot_ms_file() { printf '%s/runner-boot-ms\n' "$E2E_WORKDIR"; }

case_runner_status() {
	runner_only
	runner status -- /bin/sh -c 'echo out-line; echo err-line >&2; exit 42'
	expect_rc 42
	expect_stdout out-line
	expect_stderr err-line
	# The kernel console is hidden in command mode: nothing of the boot on either stream.
	! grep -q "Linux version\|Run /init" "$OUT" "$ERR" || fail "kernel console output leaked"
	printf '%s\n' "$E2E_MS" >"$(boot_ms_file)"
	runner true -- true
	expect_rc 0
	[[ ! -s $OUT ]] || fail "true printed something"
	case_result
}

case_runner_signal() {
	runner_only
	runner killed -- /bin/sh -c 'echo before; kill -KILL $$; echo after'
	expect_rc 137
	expect_stdout before
	runner false -- false
	expect_rc 1
	case_result
}

# Binary data both ways, 1 MiB, and the end of our stdin is the command's end of file.
case_runner_stdio_binary() {
	runner_only
	local in=$E2E_CASE_DIR/in.bin
	head -c 1048576 /dev/urandom >"$in"
	RUN_STDIN=$in runner cat -- cat
	expect_rc 0
	cmp -s "$in" "$OUT" || fail "stdout differs from stdin ($(stat -c %s "$OUT") bytes back)"
	printf 'line one\nline two\n' >"$in"
	RUN_STDIN=$in runner wc -- /bin/sh -c 'tr a-z A-Z; echo finished >&2'
	expect_rc 0
	expect_stdout "$(printf 'LINE ONE\nLINE TWO')"
	expect_stderr finished
	case_result
}

case_runner_env_workdir() {
	runner_only
	runner notfound -- no-such-command
	expect_rc 127
	expect_stderr "no-such-command: command not found"
	# HOST_ONLY is in microvm's environment, not the command's: nothing is inherited.
	# shellcheck disable=SC2016 # expanded by the guest's shell
	HOST_ONLY=leak runner env --env FOO=bar --env 'SP=a b' --workdir /proc -- \
		/bin/sh -c 'echo "$FOO|$SP|$(pwd)|${HOST_ONLY:-unset}"'
	expect_rc 0
	expect_stdout "bar|a b|/proc|unset"
	case_result
}

case_runner_timeout() {
	runner_only
	local boot limit
	boot=$(cat "$(boot_ms_file)" 2>/dev/null || echo 20000)
	limit=$((boot * 2 + 5000))
	RUN_TIMEOUT=$((limit / 1000 + 60)) runner timeout --timeout "${limit}ms" -- sleep 100000
	expect_rc 124
	expect_stderr "timeout: the guest was stopped after $limit ms"
	((E2E_MS < limit + 30000)) || fail "stopped after $E2E_MS ms, limit $limit ms"
	case_result
}

case_runner_panic() {
	runner_only
	runner panic -- /bin/sh -c 'echo c >/proc/sysrq-trigger; sleep 100'
	expect_rc 123
	expect_stderr "the guest kernel panicked"
	expect_stderr "Kernel panic"
	case_result
}

# A busybox root file system for the root-share case: read-only, with mount points.
make_rootfs() {
	local root=$1 bb=${MICROVM_E2E_BUSYBOX:-/bin/busybox}
	mkdir -p "$root"/{bin,dev,proc,sys,tmp,etc,scratch}
	cp "$bb" "$root/bin/busybox"
	local applet
	for applet in sh cat echo touch ls mount; do
		ln -s busybox "$root/bin/$applet"
	done
	echo "rootfs-marker" >"$root/etc/marker"
}

case_runner_root_share() {
	runner_only
	local root=$E2E_CASE_DIR/rootfs scratch=$E2E_CASE_DIR/scratch conf=$E2E_CASE_DIR/vm.yaml
	make_rootfs "$root"
	mkdir -p "$scratch"
	cat >"$conf" <<-YAML
		kernel: $E2E_KERNEL
		initrd: $E2E_RUNNER_INITRD
		memory: 256M
		root: rootfs
		shares:
		  - {tag: rootfs, path: $root, readonly: true, cache: always}
		  - {tag: scratch, path: $scratch, mount: /scratch}
		workdir: /scratch
		env: {GREETING: hello}
		command: [/bin/sh, -c, 'echo \$GREETING >out; cat /etc/marker; pwd; touch /rootfile 2>/dev/null && echo ROOT-WRITABLE; ls /bin/busybox']
	YAML
	runner root --config "$conf"
	expect_rc 0
	expect_stdout "$(printf 'rootfs-marker\n/scratch\n/bin/busybox')"
	[[ $(cat "$scratch/out" 2>/dev/null) == hello ]] || fail "scratch/out is not 'hello'"
	[[ ! -e $root/rootfile ]] || fail "the read-only root share was written"
	case_result
}

# Four VMs at once, each with its own status and output.
case_runner_parallel() {
	runner_only
	local i pids=() rc
	for i in 1 2 3 4; do
		(RUN_TIMEOUT=$((E2E_TIMEOUT * 3)) runner "vm$i" -- /bin/sh -c "echo vm$i; exit $((10 + i))"
			echo "$E2E_RC" >"$E2E_CASE_DIR/vm$i.rc") &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i" || true; done
	for i in 1 2 3 4; do
		rc=$(cat "$E2E_CASE_DIR/vm$i.rc" 2>/dev/null || echo none)
		[[ $rc == $((10 + i)) ]] || fail "vm$i: exit status $rc, expected $((10 + i))"
		[[ $(cat "$E2E_CASE_DIR/vm$i.out") == "vm$i" ]] || fail "vm$i: wrong output"
	done
	case_result
}

# shellcheck disable=SC2034 # read by cases.sh
RUNNER_CASES=(
	"runner_status|command mode: stdout, stderr and exit status 42 come back; console hidden"
	"runner_signal|command mode: a command killed by SIGKILL gives 137, false gives 1"
	"runner_stdio_binary|command mode: 1 MiB of random bytes through cat unchanged; EOF ends it"
	"runner_env_workdir|command mode: not found gives 127; --env and --workdir reach the command"
	"runner_timeout|command mode: --timeout stops a command that runs too long, exit 124"
	"runner_panic|command mode: a guest kernel panic gives 123 and shows the console tail"
	"runner_root_share|command mode: read-only root share and writable scratch share"
	"runner_parallel|command mode: four microVMs at once return their own statuses"
)

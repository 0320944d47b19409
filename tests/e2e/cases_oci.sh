#!/bin/bash
# cases_oci.sh: runtime mode end to end: real containerd and dockerd run containers as microVMs (docker run, ctr run).
# Sourced by cases.sh (its helpers: fail, case_result, expect_rc, expect_stdout, microvm_only).
# The daemons start once, on the first OCI case, with state under $OCI_DIR (a tmpfs in the
# nested helper VM), and stop when cases.sh exits. The image is busybox, built offline by
# oci-image.sh and loaded into both daemons; the guests boot $E2E_KERNEL with the
# command-mode initramfs, named in a runtime.yaml that reaches microvm through
# MICROVM_RUNTIME_CONFIG in containerd's environment (the shims inherit it).
# Needs root and Debian's containerd, runc and docker.io (scripts/setup.sh installs them).
# shellcheck shell=bash

OCI_DIR=${E2E_OCI_DIR:-/run/microvm-e2e-oci}
OCI_BIN=$OCI_DIR/bin
OCI_IMAGE=busybox:local
# Seconds for one container: a boot (15-50 s under TCG) plus the CLI's own start-up.
OCI_TIMEOUT=${E2E_OCI_TIMEOUT:-$((${E2E_TIMEOUT:-120} + 120))}

# The clients as words (timeout runs programs, not shell functions).
OCI_DOCKER=("$OCI_BIN/docker" -H "unix://$OCI_DIR/docker.sock")
OCI_CTR=("$OCI_BIN/ctr" -a "$OCI_DIR/containerd.sock")
oci_docker() { "${OCI_DOCKER[@]}" "$@"; }
oci_ctr() { "${OCI_CTR[@]}" "$@"; }

# Copies in a tmpfs: exec from L1's 9p root re-reads pages every time.
oci_copy_binaries() {
	local b path
	mkdir -p "$OCI_BIN"
	for b in containerd containerd-shim-runc-v2 ctr runc dockerd; do
		path=$(PATH=/usr/sbin:/usr/bin:/sbin:/bin command -v "$b") || return 1
		cp "$path" "$OCI_BIN/"
	done
	# /usr/local/bin/docker may be a newer CLI than the daemon: Debian's, on purpose.
	cp /usr/bin/docker "$OCI_BIN/docker"
	cp "$E2E_VMM_BIN" "$OCI_BIN/microvm"
}

# overlay (both daemons' snapshotters), cgroup2 and devpts; L1 has none of them at boot.
oci_kernel_prereqs() {
	if ! grep -qw overlay /proc/filesystems; then
		insmod "$MODULES_BASE/lib/modules/$KVER/kernel/fs/overlayfs/overlay.ko" 2>/dev/null ||
			modprobe overlay || return 1
	fi
	if ! mountpoint -q /sys/fs/cgroup; then
		mount -t cgroup2 none /sys/fs/cgroup || return 1
	fi
	# Pseudo-terminals for -t (microvm create allocates one, as runc does).
	if ! mountpoint -q /dev/pts; then
		mkdir -p /dev/pts
		mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts /dev/pts || return 1
	fi
	[[ -c /dev/ptmx ]] || ln -sf pts/ptmx /dev/ptmx
}

oci_write_configs() {
	cat >"$OCI_DIR/runtime.yaml" <<EOF
# microvm runtime mode, end-to-end tests: the guest every container boots.
kernel: $E2E_KERNEL
initrd: $E2E_RUNNER_INITRD
memory: 256M
vcpus: 1
EOF
	cat >"$OCI_DIR/containerd.toml" <<EOF
version = 2
root = "$OCI_DIR/containerd-root"
state = "$OCI_DIR/containerd-state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$OCI_DIR/containerd.sock"
[plugins."io.containerd.internal.v1.opt"]
  path = "$OCI_DIR/containerd-root/opt"
EOF
	# dockerd 20.10 writes /etc/docker/key.json otherwise (read-only in L1).
	printf '{"deprecated-key-path": "%s/docker-key.json"}\n' "$OCI_DIR" >"$OCI_DIR/daemon.json"
}

# Poll: a CLI call costs seconds under TCG, a socket check nothing.
oci_wait_for() {
	local what=$1 secs=$2 i
	shift 2
	for ((i = 0; i < secs * 2; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.5
	done
	echo "$what: not ready after ${secs}s"
	return 1
}

oci_start_daemons() {
	PATH=$OCI_BIN:$PATH MICROVM_RUNTIME_CONFIG=$OCI_DIR/runtime.yaml setsid \
		containerd --config "$OCI_DIR/containerd.toml" \
		>"$OCI_DIR/containerd.log" 2>&1 </dev/null &
	echo $! >"$OCI_DIR/containerd.pid"
	oci_wait_for containerd 120 test -S "$OCI_DIR/containerd.sock" || return 1
	PATH=$OCI_BIN:$PATH setsid dockerd --config-file "$OCI_DIR/daemon.json" \
		--data-root "$OCI_DIR/docker" --exec-root "$OCI_DIR/docker-exec" \
		--pidfile "$OCI_DIR/docker.pid" -H "unix://$OCI_DIR/docker.sock" \
		--containerd "$OCI_DIR/containerd.sock" --bridge=none --iptables=false \
		--ip-masq=false --ip-forward=false --storage-driver overlay2 \
		--add-runtime "microvm=$OCI_BIN/microvm" >"$OCI_DIR/dockerd.log" 2>&1 </dev/null &
	oci_wait_for dockerd 180 curl -sf --unix-socket "$OCI_DIR/docker.sock" http://d/_ping
}

oci_load_image() {
	"$E2E_LIB_DIR/oci-image.sh" "$OCI_DIR/busybox.tar" "$OCI_IMAGE" &&
		oci_docker load -i "$OCI_DIR/busybox.tar" &&
		oci_ctr image import "$OCI_DIR/busybox.tar"
}

oci_setup() {
	rm -rf "$OCI_DIR"
	mkdir -p "$OCI_DIR"
	oci_copy_binaries || { echo "cannot copy the daemons' binaries"; return 1; }
	oci_kernel_prereqs || { echo "no overlay file system or cgroup2"; return 1; }
	oci_write_configs
	oci_start_daemons || return 1
	oci_load_image || { echo "cannot load the busybox image"; return 1; }
}

# Started once for all cases; a failed start is remembered, not retried by every case.
oci_up() {
	[[ -f $OCI_DIR/ready ]] && return 0
	[[ -f $OCI_DIR/failed ]] && { cat "$OCI_DIR/failed"; return 1; }
	local t0=$EPOCHREALTIME
	if oci_setup >"$E2E_WORKDIR/oci-setup.log" 2>&1; then
		touch "$OCI_DIR/ready"
		echo "containerd and dockerd up after $(e2e_elapsed_ms "$t0") ms"
		return 0
	fi
	mkdir -p "$OCI_DIR"
	{
		echo "daemons did not start; setup log, then their logs:"
		tail -n 20 "$E2E_WORKDIR/oci-setup.log" "$OCI_DIR"/containerd.log \
			"$OCI_DIR"/dockerd.log 2>/dev/null
	} | tee "$OCI_DIR/failed"
	return 1
}

# Stop what oci_up started (cases.sh's EXIT trap): direct runs must not leave daemons.
oci_teardown() {
	local f pid
	for f in docker containerd; do
		[[ -f $OCI_DIR/$f.pid ]] || continue
		pid=$(cat "$OCI_DIR/$f.pid")
		kill "$pid" 2>/dev/null || continue
		for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
	done
}

oci_only() {
	microvm_only
	[[ -n ${E2E_RUNNER_INITRD:-} ]] || tap_skip_case "no command-mode initramfs"
	((EUID == 0)) || tap_skip_case "containerd and dockerd need root"
	local b
	for b in containerd containerd-shim-runc-v2 ctr runc dockerd; do
		PATH=/usr/sbin:/usr/bin:/sbin:/bin command -v "$b" >/dev/null ||
			tap_skip_case "no $b: apt-get install containerd runc docker.io (scripts/setup.sh)"
	done
	[[ -x /usr/bin/docker ]] || tap_skip_case "no /usr/bin/docker (docker.io)"
	oci_up || exit 1
}

# Run a client command: oci_cmd NAME COMMAND... Standard input from $RUN_STDIN (default
# /dev/null); output in NAME.out and NAME.err. Sets E2E_RC, E2E_MS, OUT, ERR.
oci_cmd() {
	local name=$1 t0
	shift
	OUT=$E2E_CASE_DIR/$name.out
	ERR=$E2E_CASE_DIR/$name.err
	printf 'run:' && printf ' %q' "$@" && printf '\n'
	t0=$EPOCHREALTIME
	E2E_RC=0
	timeout -k 10 "$OCI_TIMEOUT" "$@" <"${RUN_STDIN:-/dev/null}" >"$OUT" 2>"$ERR" || E2E_RC=$?
	E2E_MS=$(e2e_elapsed_ms "$t0")
	printf 'exit status %s after %s ms\n' "$E2E_RC" "$E2E_MS"
	((E2E_RC != 124)) || fail "no exit within ${OCI_TIMEOUT}s"
}

oci_run() {
	local name=$1
	shift
	oci_cmd "$name" "${OCI_DOCKER[@]}" run --rm --network none --runtime microvm "$@"
}

# The container's state directory is gone once it was removed (delete cleans up).
expect_no_runtime_state() {
	local left
	left=$(find "$OCI_DIR/docker-exec/runtime-runc" -mindepth 2 -maxdepth 2 -type d 2>/dev/null)
	[[ -z $left ]] || fail "runtime state left behind: $left"
}

# The guest init's features that some cases need (another part of the project adds them).
guest_has() { grep -qs "$1" "$E2E_LIB_DIR"/../../guest/*.c; }

case_oci_docker_status() {
	oci_only
	oci_run status "$OCI_IMAGE" sh -c 'echo hi; echo err-line >&2; exit 3'
	expect_rc 3
	expect_stdout hi
	grep -qx err-line "$ERR" || fail "stderr lacks err-line"
	expect_no_runtime_state
	case_result
}

case_oci_docker_stdin() {
	oci_only
	local in=$E2E_CASE_DIR/in.txt
	printf 'abc\ndef\n' >"$in"
	RUN_STDIN=$in oci_run stdin -i "$OCI_IMAGE" tr a-z A-Z
	expect_rc 0
	expect_stdout "$(printf 'ABC\nDEF')"
	case_result
}

case_oci_docker_env_workdir() {
	oci_only
	# shellcheck disable=SC2016 # expanded by the container's shell
	oci_run env -e FOO=bar -e 'SP=a b' -w /tmp "$OCI_IMAGE" \
		sh -c 'echo "$FOO|$SP|$(pwd)|${HOSTNAME:+host}"'
	expect_rc 0
	expect_stdout "bar|a b|/tmp|host"
	case_result
}

case_oci_docker_bind() {
	oci_only
	local host=$OCI_DIR/bind-$$
	mkdir -p "$host"
	echo from-host >"$host/in.txt"
	oci_run bind -v "$host:/data" "$OCI_IMAGE" \
		sh -c 'cat /data/in.txt && echo from-guest >/data/out.txt'
	expect_rc 0
	expect_stdout from-host
	[[ $(cat "$host/out.txt" 2>/dev/null) == from-guest ]] ||
		fail "the host does not see the file the container wrote"
	oci_run bind-ro -v "$host:/data:ro" "$OCI_IMAGE" sh -c 'echo x >/data/ro.txt'
	((E2E_RC != 0)) || fail "a write to a read-only bind mount succeeded"
	[[ ! -e $host/ro.txt ]] || fail "the read-only bind mount was written"
	case_result
}

# Wait until `docker logs` of container $1 shows the line $2 (the guest command runs).
oci_wait_log() {
	local id=$1 line=$2 i
	for ((i = 0; i < OCI_TIMEOUT; i += 2)); do
		oci_docker logs "$id" 2>/dev/null | grep -qx "$line" && return 0
		sleep 2
	done
	fail "container $id never printed '$line'"
	return 1
}

# kill (SIGKILL ends the VMM: 137), exec (output, status), top shows the VMM.
case_oci_docker_kill() {
	oci_only
	local id
	oci_cmd detach "${OCI_DOCKER[@]}" run -d --network none --runtime microvm "$OCI_IMAGE" \
		sh -c 'echo ready; while :; do sleep 1; done'
	id=$(cat "$OUT")
	[[ -n $id ]] || { fail "no container id"; case_result; return; }
	oci_wait_log "$id" ready
	# A second process in the running VM: its own stdout, stderr and status.
	oci_cmd exec "${OCI_DOCKER[@]}" exec "$id" sh -c 'echo exec-out; echo exec-err >&2; exit 5'
	expect_rc 5
	grep -qx exec-out "$OUT" || fail "docker exec: stdout lacks exec-out"
	grep -qx exec-err "$ERR" || fail "docker exec: stderr lacks exec-err"
	oci_cmd exec2 "${OCI_DOCKER[@]}" exec "$id" hostname
	expect_rc 0
	[[ $(cat "$OUT") == "${id:0:12}" ]] || fail "docker exec: not in the container's guest"
	oci_cmd top "${OCI_DOCKER[@]}" top "$id"
	grep -q microvm "$OUT" || fail "docker top does not show the VMM process"
	oci_cmd kill "${OCI_DOCKER[@]}" kill "$id"
	expect_rc 0
	oci_cmd wait "${OCI_DOCKER[@]}" wait "$id"
	[[ $(cat "$OUT") == 137 ]] || fail "status after docker kill: '$(cat "$OUT")', expected 137"
	oci_cmd rm "${OCI_DOCKER[@]}" rm "$id"
	expect_no_runtime_state
	case_result
}

# docker stop: SIGTERM reaches the command's trap through microvm (status 7) when the
# guest init forwards signals; otherwise the grace period ends in SIGKILL (137).
case_oci_docker_stop() {
	oci_only
	local id want=137
	guest_has MICROVM_PORT_CONTROL && want=7
	oci_cmd detach "${OCI_DOCKER[@]}" run -d --network none --runtime microvm "$OCI_IMAGE" \
		sh -c 'trap "echo got-term; exit 7" TERM; echo ready; while :; do sleep 1; done'
	id=$(cat "$OUT")
	[[ -n $id ]] || { fail "no container id"; case_result; return; }
	oci_wait_log "$id" ready
	oci_cmd stop "${OCI_DOCKER[@]}" stop -t 20 "$id"
	expect_rc 0
	oci_cmd wait "${OCI_DOCKER[@]}" wait "$id"
	[[ $(cat "$OUT") == "$want" ]] || fail "status after docker stop: '$(cat "$OUT")', expected $want"
	if ((want == 7)); then
		oci_docker logs "$id" 2>&1 | grep -qx got-term || fail "the trap did not run"
	fi
	oci_cmd rm "${OCI_DOCKER[@]}" rm "$id"
	case_result
}

case_oci_docker_tty() {
	oci_only
	guest_has JOB_TERMINAL || tap_skip_case "the guest init has no terminal support yet"
	oci_run tty -t "$OCI_IMAGE" sh -c 'tty; exit 6'
	expect_rc 6
	grep -q '^/dev/pts/' "$OUT" || fail "tty did not name a pseudo-terminal"
	# A client on a terminal of 33x101 (script's pty) resizes the container's: docker ->
	# shim -> the pty master -> SIGWINCH to microvm -> the guest's terminal.
	oci_cmd winsize script -qec "stty rows 33 cols 101; ${OCI_DOCKER[*]} run --rm \
		--network none --runtime microvm -t $OCI_IMAGE sh -c 'sleep 2; stty size'" /dev/null
	expect_rc 0
	grep -q '^33 101' "$OUT" || fail "the container's terminal is not 33x101"
	case_result
}

# docker exec into a running container: stdout, stderr and status; stdin (-i); a
# terminal (-t, -it) sized as the client's (script's pty, 33x101); the container runs on
# and then stops with its own status.
case_oci_docker_exec() {
	oci_only
	local id in=$E2E_CASE_DIR/in.txt
	oci_cmd detach "${OCI_DOCKER[@]}" run -d --network none --runtime microvm "$OCI_IMAGE" \
		sh -c 'trap "echo got-term; exit 7" TERM; echo ready; while :; do sleep 1; done'
	id=$(cat "$OUT")
	[[ -n $id ]] || { fail "no container id"; case_result; return; }
	oci_wait_log "$id" ready
	# shellcheck disable=SC2016 # expanded by the container's shell
	oci_cmd exec "${OCI_DOCKER[@]}" exec -e FOO=bar -w /tmp "$id" \
		sh -c 'echo "exec-out $FOO $(pwd)"; echo exec-err >&2; exit 5'
	expect_rc 5
	grep -qx "exec-out bar /tmp" "$OUT" || fail "docker exec: stdout lacks 'exec-out bar /tmp'"
	grep -qx exec-err "$ERR" || fail "docker exec: stderr lacks exec-err"
	printf 'abc\ndef\n' >"$in"
	RUN_STDIN=$in oci_cmd exec-i "${OCI_DOCKER[@]}" exec -i "$id" tr a-z A-Z
	expect_rc 0
	expect_stdout "$(printf 'ABC\nDEF')"
	# The client resizes the exec's terminal once it runs: docker -> shim -> the pty
	# master -> SIGWINCH to the exec helper -> the VMM -> "resize" -> the guest's pty.
	oci_cmd exec-t script -qec "stty rows 33 cols 101; ${OCI_DOCKER[*]} exec -t $id \
		sh -c 'tty; sleep 2; stty size; exit 3'" /dev/null
	expect_rc 3
	grep -q '^/dev/pts/[0-9]' "$OUT" || fail "docker exec -t: tty did not name a pseudo-terminal"
	grep -q '^33 101' "$OUT" || fail "docker exec -t: the terminal is not 33x101"
	echo typed-line >"$in"
	RUN_STDIN=$in oci_cmd exec-it script -qec "${OCI_DOCKER[*]} exec -it $id \
		sh -c 'read x; echo \"got:\$x\"'" /dev/null
	expect_rc 0
	grep -q 'got:typed-line' "$OUT" || fail "docker exec -it: the typed line did not arrive"
	[[ $(oci_docker inspect -f '{{.State.Running}}' "$id") == true ]] ||
		fail "the container stopped after the execs"
	oci_cmd stop "${OCI_DOCKER[@]}" stop -t 20 "$id"
	expect_rc 0
	oci_cmd wait "${OCI_DOCKER[@]}" wait "$id"
	[[ $(cat "$OUT") == 7 ]] || fail "status after docker stop: '$(cat "$OUT")', expected 7"
	oci_docker logs "$id" 2>&1 | grep -qx got-term || fail "the container's trap did not run"
	oci_cmd rm "${OCI_DOCKER[@]}" rm "$id"
	expect_no_runtime_state
	case_result
}

case_oci_ctr_run() {
	oci_only
	oci_cmd ctr "${OCI_CTR[@]}" run --rm --runtime io.containerd.runc.v2 \
		--runc-binary "$OCI_BIN/microvm" "docker.io/library/$OCI_IMAGE" ctr-e2e \
		sh -c 'echo ctr-hi; exit 4'
	expect_rc 4
	expect_stdout ctr-hi
	[[ ! -e /run/containerd/runc/default/ctr-e2e ]] || fail "the runtime's state was left"
	case_result
}

# Ten containers started at once, each with its own output and status.
case_oci_parallel() {
	oci_only
	local i pids=() bad=0
	for i in $(seq 0 9); do
		oci_docker run --rm --network none --runtime microvm "$OCI_IMAGE" \
			sh -c "echo par-$i; exit $((10 + i))" >"$E2E_CASE_DIR/p$i.out" \
			2>"$E2E_CASE_DIR/p$i.err" &
		pids+=($!)
	done
	for i in $(seq 0 9); do
		local rc=0
		wait "${pids[$i]}" || rc=$?
		printf 'container %d: status %d, output %s\n' "$i" "$rc" "$(cat "$E2E_CASE_DIR/p$i.out")"
		[[ $rc == $((10 + i)) && $(cat "$E2E_CASE_DIR/p$i.out") == "par-$i" ]] || bad=1
	done
	((bad == 0)) || fail "a container's status or output was wrong"
	case_result
}

# shellcheck disable=SC2034 # read by cases.sh
OCI_CASES=(
	"oci_docker_status|docker run --runtime microvm: stdout, stderr apart, exit status 3"
	"oci_docker_stdin|docker run -i: stdin reaches the container's command"
	"oci_docker_env_workdir|docker run -e -w: environment and working directory"
	"oci_docker_bind|docker run -v: a host directory read and written, :ro refused"
	"oci_docker_kill|docker kill: 137; docker exec output and status; docker top shows the VMM"
	"oci_docker_stop|docker stop: SIGTERM to the command (or SIGKILL after the grace)"
	"oci_docker_tty|docker run -t: the command has a pseudo-terminal"
	"oci_docker_exec|docker exec, -i, -t, -it in a running container, which then stops with its own status"
	"oci_ctr_run|ctr run --runc-binary microvm: output and exit status 4"
	"oci_parallel|ten docker run at once: each its own output and status"
)

trap oci_teardown EXIT

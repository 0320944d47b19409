# lib.sh: helpers shared by the end-to-end and benchmark harnesses (sourced, never run).
# shellcheck shell=bash
# Variables set here are read by the scripts that source this file.
# shellcheck disable=SC2034

E2E_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E_PROG=${E2E_PROG:-$(basename "$0")}
# Kernel command line every test guest starts from; "quiet" keeps the slow serial port idle.
E2E_BASE_CMDLINE=${MICROVM_E2E_CMDLINE:-console=ttyS0 quiet panic=-1}

e2e_log() { printf '%s: %s\n' "$E2E_PROG" "$*" >&2; }
e2e_die() {
	e2e_log "$*"
	exit 1
}

# The asset cache: MICROVM_CACHE, else /var/cache/microvm, else a per-user cache when that
# cannot be created. An existing read-only cache is used as it is (L1 sees it that way).
e2e_cache_dir() {
	local dir=${MICROVM_CACHE:-/var/cache/microvm}
	if [[ ! -d $dir ]] && ! mkdir -p "$dir" 2>/dev/null; then
		[[ -z ${MICROVM_CACHE:-} ]] || e2e_die "cannot create the cache $dir"
		dir=${XDG_CACHE_HOME:-$HOME/.cache}/microvm
		mkdir -p "$dir"
	fi
	printf '%s\n' "$dir"
}

# True when /dev/kvm opens read-write and is backed by hardware virtualisation (kvm_intel
# or kvm_amd). Some hosts offer a /dev/kvm from kvm_pvm, a software hypervisor that runs
# only guests built for it: a stock kernel never gets past its decompressor there.
e2e_kvm_usable() {
	[[ -c /dev/kvm ]] && (exec 3<>/dev/kvm) 2>/dev/null &&
		[[ -d /sys/module/kvm_intel || -d /sys/module/kvm_amd ]]
}

# True when guests must run inside the nested helper VM.
# MICROVM_E2E_FORCE_NESTED=1 or MICROVM_E2E_FORCE_DIRECT=1 override the probe.
e2e_want_nested() {
	[[ ${MICROVM_E2E_FORCE_NESTED:-0} == 1 ]] && return 0
	[[ ${MICROVM_E2E_FORCE_DIRECT:-0} == 1 ]] && return 1
	! e2e_kvm_usable
}

# Path of a static guest program that make check-e2e builds: OVERRIDE if set, else
# tests/guest/NAME beside the microvm binary (an out-of-tree build), else in the source
# tree. Usage: e2e_guest_binary NAME OVERRIDE
e2e_guest_binary() {
	local c
	for c in "$2" "$(dirname "$E2E_VMM_BIN")/tests/guest/$1" "$E2E_LIB_DIR/../../tests/guest/$1"; do
		[[ -n $c && -x $c ]] && {
			printf '%s\n' "$c"
			return 0
		}
	done
	return 1
}

# Short content hash of the given strings, for cache keys.
e2e_hash() {
	printf '%s\n' "$@" | sha256sum | cut -c1-16
}

# Copy kernel modules (and what they depend on, in load order) into STAGE/lib/modules and
# write their file names, one a line, in insmod order to STAGE/etc/modules.order.
# Usage: e2e_stage_modules STAGE MODULES_BASE KVER NAME...
e2e_stage_modules() {
	local stage=$1 base=$2 kver=$3 name path file
	shift 3
	local -A seen=()
	mkdir -p "$stage/lib/modules" "$stage/etc"
	: >"$stage/etc/modules.order"
	for name in "$@"; do
		local deps
		deps=$(modprobe -d "$base" -S "$kver" --show-depends "$name") ||
			e2e_die "module $name not found for $kver under $base"
		while read -r verb path; do
			[[ $verb == insmod ]] || continue
			file=$(basename "$path")
			[[ -z ${seen[$file]:-} ]] || continue
			seen[$file]=1
			cp "$path" "$stage/lib/modules/$file"
			printf '%s\n' "$file" >>"$stage/etc/modules.order"
		done <<<"$deps"
	done
}

# Add busybox and a symlink per applet under STAGE.
e2e_stage_busybox() {
	local stage=$1 applet
	local bb=${MICROVM_E2E_BUSYBOX:-/bin/busybox}
	[[ -x $bb ]] || e2e_die "$bb missing: apt-get install busybox-static"
	mkdir -p "$stage/bin" "$stage/sbin" "$stage/usr/bin" "$stage/usr/sbin"
	cp "$bb" "$stage/bin/busybox"
	while read -r applet; do
		[[ $applet == bin/busybox ]] && continue
		[[ -e $stage/$applet ]] || ln -s /bin/busybox "$stage/$applet"
	done < <("$bb" --list-full)
}

# Pack STAGE into a gzip'd newc cpio at OUT (written atomically).
e2e_pack_cpio() {
	local stage=$1 out=$2
	(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) |
		gzip -9 >"$out.tmp.$$"
	mv "$out.tmp.$$" "$out"
}

# Build a VMM command line into the array named by $1.
# Usage: e2e_vmm_cmd ARRAY KIND BINARY key=value...   (kind: microvm or qemu)
# Keys: kernel initrd cmdline memory vcpus config. Unset keys are left to the VMM's default.
e2e_vmm_cmd() {
	local -n e2e_cmd_out=$1
	local kind=$2 bin=$3 kv
	shift 3
	local -A o=([kernel]="" [initrd]="" [cmdline]="" [memory]="" [vcpus]="" [config]="")
	for kv; do o[${kv%%=*}]=${kv#*=}; done
	case $kind in
	microvm)
		# -v: microvm names on stderr why the guest stopped; the reboot cases check it.
		e2e_cmd_out=("$bin" run -v)
		[[ -z ${o[config]} ]] || e2e_cmd_out+=(--config "${o[config]}")
		[[ -z ${o[kernel]} ]] || e2e_cmd_out+=(--kernel "${o[kernel]}")
		[[ -z ${o[initrd]} ]] || e2e_cmd_out+=(--initrd "${o[initrd]}")
		[[ -z ${o[cmdline]} ]] || e2e_cmd_out+=(--cmdline "${o[cmdline]}")
		[[ -z ${o[memory]} ]] || e2e_cmd_out+=(--memory "${o[memory]}")
		[[ -z ${o[vcpus]} ]] || e2e_cmd_out+=(--vcpus "${o[vcpus]}")
		;;
	qemu)
		# The reference peer: QEMU's microvm machine, same kernel, initrd and command line.
		# shellcheck disable=SC2054
		e2e_cmd_out=("$bin" -M microvm,acpi=on -accel kvm -cpu host
			-m "${o[memory]:-256M}" -smp "${o[vcpus]:-1}"
			-nodefaults -no-user-config -no-reboot -serial stdio -nographic
			-kernel "${o[kernel]}")
		[[ -z ${o[initrd]} ]] || e2e_cmd_out+=(-initrd "${o[initrd]}")
		[[ -z ${o[cmdline]} ]] || e2e_cmd_out+=(-append "${o[cmdline]}")
		;;
	*) e2e_die "unknown VMM kind '$kind' (microvm or qemu)" ;;
	esac
}

# Run a command with a time limit, stdin from /dev/null, serial output (CR stripped) to
# OUT and standard error to ERR. Sets E2E_RC (124: timed out) and E2E_MS (wall time).
# Usage: e2e_run_timed OUT ERR SECONDS COMMAND...
e2e_run_timed() {
	local out=$1 err=$2 secs=$3 t0 rc=0
	shift 3
	t0=$EPOCHREALTIME
	# --foreground: the VMM stays in our process group, so ^C reaches it.
	timeout --foreground -k 5 "$secs" "$@" </dev/null 2>"$err" | tr -d '\r' >"$out" ||
		rc=${PIPESTATUS[0]}
	E2E_RC=$rc
	E2E_MS=$(e2e_elapsed_ms "$t0")
}

# Milliseconds since an $EPOCHREALTIME value.
e2e_elapsed_ms() {
	local now=$EPOCHREALTIME
	local a=${1/./} b=${now/./}
	printf '%d\n' $(((10#$b - 10#$a) / 1000))
}

# --- TAP ---------------------------------------------------------------------------------
# Cases are shell functions named case_NAME; each runs in a subshell and returns non-zero on
# failure, writing why to its standard output. Failures print that log and the guest output.

TAP_PASS=0
TAP_FAIL=0
TAP_SKIP=0
TAP_N=0

# Inside a case: mark it skipped (exit status 77), with a reason.
tap_skip_case() {
	printf '%s\n' "$*" >"$E2E_CASE_DIR/skip"
	exit 77
}

# Print a file as TAP diagnostics, at most its last 80 lines.
tap_diag_file() {
	local file=$1
	[[ -s $file ]] || return 0
	printf '# --- %s\n' "$(basename "$file")"
	tail -n 80 "$file" | sed 's/^/#   /'
}

# Run one case: tap_case NAME DESCRIPTION. The case's files go to $E2E_WORKDIR/NAME.
tap_case() {
	local name=$1 desc=$2 rc=0 f
	TAP_N=$((TAP_N + 1))
	E2E_CASE_DIR=$E2E_WORKDIR/$name
	rm -rf "$E2E_CASE_DIR"
	mkdir -p "$E2E_CASE_DIR"
	("case_$name") >"$E2E_CASE_DIR/case.log" 2>&1 || rc=$?
	if ((rc == 0)); then
		TAP_PASS=$((TAP_PASS + 1))
		printf 'ok %d - %s\n' "$TAP_N" "$desc"
	elif ((rc == 77)); then
		TAP_SKIP=$((TAP_SKIP + 1))
		printf 'ok %d - %s # SKIP %s\n' "$TAP_N" "$desc" "$(cat "$E2E_CASE_DIR/skip")"
	else
		TAP_FAIL=$((TAP_FAIL + 1))
		printf 'not ok %d - %s\n' "$TAP_N" "$desc"
		tap_diag_file "$E2E_CASE_DIR/case.log"
		for f in "$E2E_CASE_DIR"/*.out "$E2E_CASE_DIR"/*.err; do
			[[ -e $f ]] && tap_diag_file "$f"
		done
	fi
}

# Print the closing line; return non-zero when a case failed or none ran.
tap_finish() {
	local line="$TAP_PASS passed, $TAP_FAIL failed"
	((TAP_SKIP == 0)) || line+=", $TAP_SKIP skipped"
	printf '%s\n' "$line"
	((TAP_FAIL == 0 && TAP_PASS > 0))
}

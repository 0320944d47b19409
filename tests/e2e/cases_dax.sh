# cases_dax.sh: end-to-end virtio-fs DAX cases: the guest maps host files through the DAX window.
# shellcheck shell=bash
# DAX_CASES is read by cases.sh; E2E_TIMEOUT is read by its vm().
# shellcheck disable=SC2034
#
# Sourced by cases.sh after cases_vfs.sh (it uses vfs_initrd); add the cases with
# CASES+=("${DAX_CASES[@]}"). The guest runs tests/guest/dax_check from the share, mounted
# with -o dax=always. The shared directory lives under $TMPDIR (L1's tmpfs inside the
# nested helper VM): 9p, which holds the case directories there, refuses shared writable
# mappings, so the VMM could not map the files at all.
#
# Environment (optional):
#   E2E_DAX_CHECK    the static dax_check binary (default: tests/guest/dax_check beside the
#                    microvm binary, else in the source tree; make check-e2e builds it)
#   E2E_DAX_TIMEOUT  seconds per guest run (default 600 nested, 120 otherwise)

DAX_CASES=(
	"dax_basic|DAX: dax=always mount, guest and host stores both ways, truncate, read() into a DAX buffer"
	"dax_readonly|DAX on a read-only share: read mappings work, write mappings are refused"
	"dax_two_vms|DAX: two microVMs map one host file and see each other's stores"
)


dax_check_binary() {
	e2e_guest_binary dax_check "${E2E_DAX_CHECK:-}"
}

# Sets DAX_TMP, DAX_SHARE (with dax_check in it), DAX_PLAIN (for a non-DAX share), DAX_INITRD.
dax_setup() {
	local check
	microvm_only
	check=$(dax_check_binary) ||
		tap_skip_case "no tests/guest/dax_check binary (make tests/guest/dax_check, or set E2E_DAX_CHECK)"
	DAX_INITRD=$(vfs_initrd) || e2e_die "cannot build the guest initramfs with virtiofs"
	DAX_TMP=$(mktemp -d "${TMPDIR:-/tmp}/dax-e2e.XXXXXX")
	# The case runs in its own subshell: this trap ends with it.
	trap 'rm -rf "$DAX_TMP"' EXIT
	DAX_SHARE=$DAX_TMP/share
	DAX_PLAIN=$DAX_TMP/plain
	mkdir -p "$DAX_SHARE" "$DAX_PLAIN"
	cp "$check" "$DAX_SHARE/dax_check"
	: "${E2E_DAX_TIMEOUT:=$([[ ${MICROVM_E2E_NESTED:-0} == 1 ]] && echo 600 || echo 120)}"
}

# FILE of PAGES pages, page i starting with "HOST-DATA-i".
dax_host_file() {
	local file=$1 pages=$2 i
	: >"$file"
	for ((i = 0; i < pages; i++)); do
		printf 'HOST-DATA-%d' "$i" | dd of="$file" bs=4096 seek="$i" conv=notrunc status=none
	done
	truncate -s $((pages * 4096)) "$file"
}

# The guest's script FILE: the lines on stdin, run from / with the share on /mnt.
dax_guest_script() {
	{
		echo '# run by the test guest (tests/e2e/cases_dax.sh)'
		echo 'cd /'
		cat
		# shellcheck disable=SC2016 # written for the guest's shell to expand
		printf '%s\n' 'if umount /mnt; then echo "DAX-E2E umount=ok"; else echo "DAX-E2E umount=failed"; fi'
	} >"$1"
}

# vm.yaml: dax_config FILE SCRIPT READONLY [PLAIN]. The DAX share "work" is on /mnt and the
# guest runs /mnt/SCRIPT; the optional non-DAX share "plain" (cache: never, so reads and
# writes are direct I/O on the caller's pages) is on /plain.
dax_config() {
	local file=$1 script=$2 readonly=$3 plain=${4:-}
	local run="mkdir -p /mnt && mount -t virtiofs -o dax=always work /mnt"
	[[ -z $plain ]] || run+=" && mkdir -p /plain && mount -t virtiofs plain /plain"
	run+=" && cp /mnt/$script /guest.sh && exec /bin/sh /guest.sh"
	{
		echo "# microvm end-to-end DAX test configuration (cases_dax.sh)"
		echo "kernel: $E2E_KERNEL"
		echo "initrd: $DAX_INITRD"
		echo "cmdline: '$(cmdline poweroff) -- /bin/sh -c \"$run\"'"
		echo "memory: 256M"
		echo "vcpus: 1"
		echo "console: stdio"
		echo "shares:"
		echo "  - tag: work"
		echo "    path: $DAX_SHARE"
		echo "    readonly: $readonly"
		echo "    dax_window: 64M"
		if [[ -n $plain ]]; then
			echo "  - tag: plain"
			echo "    path: $plain"
			echo "    cache: never"
		fi
	} >"$file"
}

dax_run() {
	local E2E_TIMEOUT=$E2E_DAX_TIMEOUT
	vm "$1" config="$2"
}

# Every named check printed "DAXCHECK ok NAME", none failed, the share was unmounted.
dax_expect_ok() {
	local name bad
	expect_boot poweroff
	bad=$(grep '^DAXCHECK not ok' "$OUT" || true)
	[[ -z $bad ]] || fail "failed in the guest:"$'\n'"$bad"
	for name in "$@"; do
		grep -qx "DAXCHECK ok $name" "$OUT" || fail "check $name did not pass ($OUT)"
	done
	expect_line "DAX-E2E umount=ok"
	! grep -q "KVM_RUN failed" "$ERR" || fail "a vCPU failed: $(grep KVM_RUN "$ERR")"
}

dax_report() {
	((CASE_FAILED)) || return 0
	printf -- '--- guest output %s (last 40 lines)\n' "$OUT"
	tail -n 40 "$OUT" || true
	printf -- '--- microvm stderr\n'
	tail -n 20 "$ERR" || true
}

# dax_bytes FILE OFFSET COUNT
dax_bytes() {
	dd if="$1" bs=1 skip="$2" count="$3" status=none
}

# In the background: once the guest is ready, write into a file it has mapped.
dax_host_writer() {
	local deadline=$((SECONDS + E2E_DAX_TIMEOUT))
	while [[ ! -e $DAX_SHARE/ready ]]; do
		((SECONDS < deadline)) || return 1
		sleep 0.2
	done
	sleep 3
	printf 'HOST-WROTE-LATER' | dd of="$DAX_SHARE/hostw.bin" bs=1 seek=8192 conv=notrunc status=none
	echo "host: wrote hostw.bin at $(date +%T.%N)"
}

case_dax_basic() {
	local writer rc=0 want
	dax_setup
	dax_host_file "$DAX_SHARE/rw.bin" 3
	dax_host_file "$DAX_SHARE/trunc.bin" 4
	dax_host_file "$DAX_SHARE/into.bin" 2
	dax_host_file "$DAX_SHARE/hostw.bin" 3
	head -c 8192 /dev/urandom >"$DAX_PLAIN/src.bin"
	dax_guest_script "$DAX_SHARE/guest.sh" <<'GUEST'
/mnt/dax_check mounted /mnt
/mnt/dax_check rw /mnt/rw.bin
/mnt/dax_check truncate /mnt/trunc.bin
/mnt/dax_check readinto /mnt/into.bin /plain/src.bin /plain/dst.bin
umount /plain
touch /mnt/ready
/mnt/dax_check wait /mnt/hostw.bin 8192 HOST-WROTE-LATER 60
GUEST
	dax_config "$E2E_CASE_DIR/vm.yaml" guest.sh false "$DAX_PLAIN"
	dax_host_writer >"$E2E_CASE_DIR/writer.log" 2>&1 &
	writer=$!
	dax_run basic "$E2E_CASE_DIR/vm.yaml"
	kill "$writer" 2>/dev/null || true
	wait "$writer" || rc=$?
	cat "$E2E_CASE_DIR/writer.log"
	((rc == 0)) || fail "host: the writer did not run (status $rc)"
	dax_expect_ok mounted rw truncate readinto wait
	grep '^DAXINFO mount' "$OUT" || true
	# What the guest stored through its mappings is in the host files.
	[[ $(dax_bytes "$DAX_SHARE/rw.bin" $((4096 + 10)) 11) == GUEST-STORE ]] ||
		fail "host: rw.bin lacks the guest's store"
	[[ $(dax_bytes "$DAX_SHARE/rw.bin" 8192 11) == HOST-DATA-2 ]] || fail "host: rw.bin page 2 changed"
	[[ $(stat -c %s "$DAX_SHARE/trunc.bin") == 16384 ]] ||
		fail "host: trunc.bin is $(stat -c %s "$DAX_SHARE/trunc.bin") bytes, expected 16384"
	[[ $(dax_bytes "$DAX_SHARE/trunc.bin" 12288 4) == TAIL ]] || fail "host: trunc.bin lacks TAIL"
	[[ $(dax_bytes "$DAX_SHARE/trunc.bin" 8192 1 | od -An -tx1 | tr -d ' ') == 00 ]] ||
		fail "host: trunc.bin's regrown page is not zero"
	# read() into the DAX buffer, then write() out of it, both on the non-DAX share.
	want=$( { printf VIA-WINDOW; tail -c +11 "$DAX_PLAIN/src.bin"; } | sha256sum)
	[[ $(head -c 8192 "$DAX_SHARE/into.bin" | sha256sum) == "$want" ]] ||
		fail "host: into.bin does not hold what the guest read into its DAX mapping"
	[[ $(sha256sum <"$DAX_PLAIN/dst.bin") == "$want" ]] ||
		fail "host: dst.bin does not hold what the guest wrote from its DAX mapping"
	dax_report
	case_result
}

case_dax_readonly() {
	local before
	dax_setup
	dax_host_file "$DAX_SHARE/ro.bin" 2
	dax_guest_script "$DAX_SHARE/guest.sh" <<'GUEST'
/mnt/dax_check mounted /mnt
/mnt/dax_check readonly /mnt/ro.bin
GUEST
	dax_config "$E2E_CASE_DIR/vm.yaml" guest.sh true
	before=$(sha256sum <"$DAX_SHARE/ro.bin")
	dax_run readonly "$E2E_CASE_DIR/vm.yaml"
	dax_expect_ok mounted readonly
	[[ $(sha256sum <"$DAX_SHARE/ro.bin") == "$before" ]] || fail "host: ro.bin changed"
	dax_report
	case_result
}

# Two guests at once map one host file; each stores its text and waits for the other's.
case_dax_two_vms() {
	local a_pid b_out b_err b_rc
	dax_setup
	dax_host_file "$DAX_SHARE/shared.bin" 2
	dax_guest_script "$DAX_SHARE/guest-a.sh" <<'GUEST'
/mnt/dax_check mounted /mnt
/mnt/dax_check pingpong /mnt/shared.bin 0 STORE-FROM-VM-A 4096 STORE-FROM-VM-B 400
GUEST
	dax_guest_script "$DAX_SHARE/guest-b.sh" <<'GUEST'
/mnt/dax_check mounted /mnt
/mnt/dax_check pingpong /mnt/shared.bin 4096 STORE-FROM-VM-B 0 STORE-FROM-VM-A 400
GUEST
	dax_config "$E2E_CASE_DIR/a.yaml" guest-a.sh false
	dax_config "$E2E_CASE_DIR/b.yaml" guest-b.sh false
	(
		dax_run vm-a "$E2E_CASE_DIR/a.yaml" >"$E2E_CASE_DIR/vm-a.log" 2>&1
		echo "$E2E_RC" >"$E2E_CASE_DIR/vm-a.rc"
	) &
	a_pid=$!
	dax_run vm-b "$E2E_CASE_DIR/b.yaml"
	b_out=$OUT b_err=$ERR b_rc=$E2E_RC
	wait "$a_pid" || true
	cat "$E2E_CASE_DIR/vm-a.log"
	OUT=$E2E_CASE_DIR/vm-a.out ERR=$E2E_CASE_DIR/vm-a.err
	E2E_RC=$(cat "$E2E_CASE_DIR/vm-a.rc" 2>/dev/null || echo none)
	dax_expect_ok mounted pingpong
	dax_report
	OUT=$b_out ERR=$b_err E2E_RC=$b_rc
	dax_expect_ok mounted pingpong
	dax_report
	[[ $(dax_bytes "$DAX_SHARE/shared.bin" 0 15) == STORE-FROM-VM-A ]] || fail "host: shared.bin lacks A's store"
	[[ $(dax_bytes "$DAX_SHARE/shared.bin" 4096 15) == STORE-FROM-VM-B ]] || fail "host: shared.bin lacks B's store"
	case_result
}

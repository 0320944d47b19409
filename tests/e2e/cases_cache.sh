# cases_cache.sh: end-to-end cases for the share cache modes: negative entries, immutable trees, auto's timeout.
# shellcheck shell=bash
# CACHE_CASES is read by cases.sh; E2E_TIMEOUT is read by its vm().
# shellcheck disable=SC2034
#
# Sourced by cases.sh after cases_vfs.sh (vfs_initrd); add the cases with
# CASES+=("${CACHE_CASES[@]}"). The guests are busybox: shell loops use builtins (test,
# read) so that each iteration is one system call on the share, not a fork. microvm -v
# prints each share's request counts when it exits (fuse_server.c):
#   microvm: virtio-fs NAME: requests LOOKUP=n GETATTR=n ... total=n
# where NAME is the share's tag, or its host path when the tag is not passed down; the
# directories are named after the tags so that either matches.
#
# Environment (optional): E2E_CACHE_TIMEOUT seconds per guest run (default 600 nested,
# 120 otherwise); E2E_CACHE_AUTO_SLACK_MS how much later than its 1 s timeout an auto
# share may show a host change (default 1000: guest clock reads and the polling loop run
# under emulation in the nested helper VM).

CACHE_CASES=(
	"cache_negative|cache: a repeated failed lookup is answered by the guest's cache (immutable), not under never; served on the vCPU unless serve_on_vcpu: false"
	"cache_immutable_tree|cache: immutable: the guest reads the same tree as the host, open-less; writes fail"
	"cache_auto_timeout|cache: auto: a host change reaches the guest within the 1 s timeout"
	"cache_immutable_writable|cache: immutable on a writable share is refused (exit 125, file:line:column)"
)

# Sets CACHE_TMP (removed when the case ends) and CACHE_INITRD.
cache_setup() {
	microvm_only
	CACHE_INITRD=$(vfs_initrd) || e2e_die "cannot build the guest initramfs with virtiofs"
	# Not the case directory: in L1 that is 9p; the shares live on L1's tmpfs.
	CACHE_TMP=$(mktemp -d "${TMPDIR:-/tmp}/cache-e2e.XXXXXX")
	# The case runs in its own subshell: this trap ends with it.
	trap 'rm -rf "$CACHE_TMP"' EXIT
	: "${E2E_CACHE_TIMEOUT:=$([[ ${MICROVM_E2E_NESTED:-0} == 1 ]] && echo 600 || echo 120)}"
}

# vm.yaml: cache_config FILE SCRIPT_SHARE SHARE... where each SHARE is
# TAG:CACHE:READONLY[:rw][:workers] (path $CACHE_TMP/TAG, mounted on /TAG; read-only ones
# with -o ro as microvm-init does, unless rw asks for a writable guest mount over them:
# without ro every READDIR or READ marks the atime stale and the next stat asks the host;
# workers: serve_on_vcpu: false); the guest runs /SCRIPT_SHARE/guest.sh.
cache_config() {
	local file=$1 script=$2 spec tag c ro mnt run=""
	shift 2
	for spec; do
		IFS=: read -r tag c ro mnt <<<"$spec"
		[[ $ro == true && $mnt != rw ]] && mnt=" -o ro" || mnt=
		run+="mkdir -p /$tag && mount -t virtiofs$mnt $tag /$tag && "
	done
	run+="cp /$script/guest.sh /guest.sh && exec /bin/sh /guest.sh"
	{
		echo "# microvm end-to-end cache test configuration (cases_cache.sh)"
		echo "kernel: $E2E_KERNEL"
		echo "initrd: $CACHE_INITRD"
		echo "cmdline: '$(cmdline poweroff) -- /bin/sh -c \"$run\"'"
		echo "memory: 256M"
		echo "vcpus: 1"
		echo "console: stdio"
		echo "shares:"
		for spec; do
			IFS=: read -r tag c ro _ where <<<"$spec"
			echo "  - tag: $tag"
			echo "    path: $CACHE_TMP/$tag"
			echo "    cache: $c"
			echo "    readonly: $ro"
			[[ $where != workers ]] || echo "    serve_on_vcpu: false"
		done
	} >"$file"
}

cache_run() {
	local E2E_TIMEOUT=$E2E_CACHE_TIMEOUT
	vm "$1" config="$2"
}

# The request-count line of share TAG, the IDX-th share of the config, from $ERR: named by
# its tag, its host path, or (when microvm serves the shares from a private view of them)
# /shares/IDX.
cache_counts_line() {
	grep -E "virtio-fs ($1|.*/$1|/shares/$2): requests .*total=" "$ERR" | head -n 1
}

# The count of OPCODE in share TAG's line (IDX as above); empty when there is none.
cache_count() {
	cache_counts_line "$1" "$2" | sed -n "s/.*[ ]$3=\([0-9]*\).*/\1/p"
}

# How many requests share TAG served on vCPU threads (empty: it served none there).
cache_vcpu_served() {
	sed -n "s/.*virtio-fs $1: \([0-9]*\) requests served on vCPU threads$/\1/p" "$ERR"
}

cache_has_counts() {
	[[ -n $(cache_counts_line "$1" "$2") ]] || fail "stderr has no request counts for share $1"
}

# The guest's timestamp in microseconds (busybox date has no %N; adjtimex has).
cache_guest_clock() {
	# shellcheck disable=SC2016 # written for the guest's shell to expand
	printf '%s\n' 'now_us() { adjtimex | awk '\''/tv_sec/ { s = $2 } /tv_usec/ { u = $2 } END { printf "%.0f\n", s * 1000000 + u }'\''; }'
}

cache_report() {
	((CASE_FAILED)) || return 0
	printf -- '--- guest output %s (last 30 lines)\n' "$OUT"
	tail -n 30 "$OUT" || true
	printf -- '--- microvm stderr\n'
	tail -n 20 "$ERR" || true
}

# The shares get 100 stat()s of a missing name: immutable caches the miss for a year,
# never asks the host each time. The same guest script on all, so the rest is equal.
# The never shares also show where requests are served: on the vCPU that sent them
# (serve_on_vcpu, the default), or by the workers (wrk: serve_on_vcpu: false).
case_cache_negative() {
	local imm nev wrk on_vcpu
	cache_setup
	mkdir -p "$CACHE_TMP/imm" "$CACHE_TMP/nev" "$CACHE_TMP/wrk"
	cat >"$CACHE_TMP/imm/guest.sh" <<'GUEST'
# run by the test guest (tests/e2e/cases_cache.sh): 100 failed lookups of one name per share
cd /
for d in /imm /nev /wrk; do
	i=0 seen=0
	while [ $i -lt 100 ]; do
		[ -e $d/no-such-file ] && seen=$((seen + 1))
		i=$((i + 1))
	done
	echo "CACHE-E2E $d lookups=$i found=$seen"
done
umount /imm && umount /nev && umount /wrk && echo "CACHE-E2E umount=ok"
GUEST
	cache_config "$E2E_CASE_DIR/vm.yaml" imm imm:immutable:true nev:never:true \
		wrk:never:true::workers
	cache_run negative "$E2E_CASE_DIR/vm.yaml"
	expect_boot poweroff
	expect_line "CACHE-E2E /imm lookups=100 found=0"
	expect_line "CACHE-E2E /nev lookups=100 found=0"
	expect_line "CACHE-E2E /wrk lookups=100 found=0"
	expect_line "CACHE-E2E umount=ok"
	cache_has_counts imm 0
	cache_has_counts nev 1
	cache_has_counts wrk 2
	imm=$(cache_count imm 0 LOOKUP)
	nev=$(cache_count nev 1 LOOKUP)
	wrk=$(cache_count wrk 2 LOOKUP)
	printf 'LOOKUP requests: immutable %s, never %s, never by workers %s\n' "${imm:-0}" \
		"${nev:-0}" "${wrk:-0}"
	((${imm:-0} <= 2)) || fail "immutable: ${imm} LOOKUPs for 100 stat()s of one missing name"
	((${nev:-0} >= 100)) || fail "never: only ${nev:-0} LOOKUPs for 100 stat()s: the counter misses requests"
	((${wrk:-0} >= 100)) || fail "never (workers): only ${wrk:-0} LOOKUPs for 100 stat()s"
	on_vcpu=$(cache_vcpu_served nev)
	printf 'served on vCPU threads: never %s, never by workers %s\n' "${on_vcpu:-none}" \
		"$(cache_vcpu_served wrk)"
	((${on_vcpu:-0} >= 100)) || fail "never: ${on_vcpu:-no} requests served on the vCPU, 100 LOOKUPs sent"
	[[ -z $(cache_vcpu_served wrk) ]] || fail "serve_on_vcpu: false, yet requests were served on the vCPU"
	cache_report
	case_result
}

# A small tree with a multi-request file, a symlink and an empty directory: the guest's
# listing and checksums must be the host's; no OPEN, OPENDIR or RELEASE is sent after the
# first OPEN/OPENDIR (answered ENOSYS), and writing is refused.
case_cache_immutable_tree() {
	local t want got n
	cache_setup
	t=$CACHE_TMP/imm
	mkdir -p "$t/a/b/c" "$t/empty"
	head -c $((3 * 1024 * 1024 + 123)) /dev/urandom >"$t/a/big.bin"
	for n in 1 2 3 4 5 6 7 8; do printf 'file %s\n' "$n" >"$t/a/b/c/f$n.txt"; done
	ln -s b/c/f1.txt "$t/a/link"
	cat >"$t/guest.sh" <<'GUEST'
# run by the test guest (tests/e2e/cases_cache.sh): list and checksum an immutable tree
cd /imm || exit 1
for pass in cold warm; do
	echo "CACHE-E2E list-$pass $(find . | sort | md5sum)"
	echo "CACHE-E2E sums-$pass $(find . -type f | sort | while read -r f; do md5sum "$f"; done | md5sum)"
done
echo "CACHE-E2E link $(cat a/link)"
if echo x >>a/b/c/f2.txt; then echo "CACHE-E2E append=allowed"; else echo "CACHE-E2E append=refused"; fi
if touch new.txt; then echo "CACHE-E2E create=allowed"; else echo "CACHE-E2E create=refused"; fi
echo "CACHE-E2E f2 $(cat a/b/c/f2.txt)"
cd / && umount /imm && echo "CACHE-E2E umount=ok"
GUEST
	want=$(cd "$t" && {
		printf 'list %s\n' "$(find . | LC_ALL=C sort | md5sum)"
		printf 'sums %s\n' "$(find . -type f | LC_ALL=C sort | while read -r f; do md5sum "$f"; done | md5sum)"
	})
	# A writable guest mount, so that the writes reach the server (and fail there).
	cache_config "$E2E_CASE_DIR/vm.yaml" imm imm:immutable:true:rw
	cache_run tree "$E2E_CASE_DIR/vm.yaml"
	expect_boot poweroff
	for got in cold warm; do
		expect_line "CACHE-E2E list-$got ${want#list }"
		expect_line "CACHE-E2E sums-$got $(sed -n 's/^sums //p' <<<"$want")"
	done
	expect_line "CACHE-E2E link file 1"
	expect_line "CACHE-E2E append=refused"
	expect_line "CACHE-E2E create=refused"
	expect_line "CACHE-E2E f2 file 2"
	expect_line "CACHE-E2E umount=ok"
	cache_has_counts imm 0
	printf '%s\n' "$(cache_counts_line imm 0)"
	for n in OPEN OPENDIR; do
		got=$(cache_count imm 0 "$n")
		((${got:-0} <= 1)) || fail "immutable: $got ${n}s; the guest should stop after the first (ENOSYS)"
	done
	for n in RELEASE RELEASEDIR FLUSH; do
		got=$(cache_count imm 0 "$n")
		((${got:-0} <= 1)) || fail "immutable: $got ${n}s sent"
	done
	[[ $(cache_count imm 0 READ) -ge 4 ]] || fail "immutable: fewer READs than the 3 MiB file needs"
	cache_report
	case_result
}

# In the background: once the guest is ready (a file in the `never` share: its serial
# output reaches the case's file only in blocks), change the auto share's file, then tell
# the guest through the `never` share, which it polls uncached.
cache_host_changer() {
	local deadline=$((SECONDS + E2E_CACHE_TIMEOUT))
	until [[ -e $CACHE_TMP/sig/ready ]]; do
		((SECONDS < deadline)) || return 1
		sleep 0.2
	done
	sleep 2
	printf 'new content, longer than before\n' >"$CACHE_TMP/auto/f.txt"
	touch "$CACHE_TMP/sig/changed"
	echo "host: changed f.txt at $(date +%T.%N)"
}

# The guest keeps reading f.txt (so its attributes are at most 1 s old), notes when the
# signal appears and how long after that it first reads the new content.
case_cache_auto_timeout() {
	local changer rc=0 ms limit=$((1000 + ${E2E_CACHE_AUTO_SLACK_MS:-1000}))
	cache_setup
	mkdir -p "$CACHE_TMP/auto" "$CACHE_TMP/sig"
	printf 'old\n' >"$CACHE_TMP/auto/f.txt"
	{
		echo '# run by the test guest (tests/e2e/cases_cache.sh): how stale may cache: auto be?'
		cache_guest_clock
		cat <<'GUEST'
read -r c </auto/f.txt
echo "CACHE-E2E first=$c"
touch /sig/ready
while [ ! -e /sig/changed ]; do read -r c </auto/f.txt; done
t0=$(now_us)
old=0
while [ "$c" = old ]; do
	read -r c </auto/f.txt
	old=$((old + 1))
	[ $(( $(now_us) - t0 )) -gt 30000000 ] && break
done
t1=$(now_us)
echo "CACHE-E2E seen=$c after_ms=$(( (t1 - t0) / 1000 )) stale_reads=$old"
umount /auto && umount /sig && echo "CACHE-E2E umount=ok"
GUEST
	} >"$CACHE_TMP/auto/guest.sh"
	cache_config "$E2E_CASE_DIR/vm.yaml" auto auto:auto:true sig:never:false
	cache_host_changer >"$E2E_CASE_DIR/changer.log" 2>&1 &
	changer=$!
	cache_run auto "$E2E_CASE_DIR/vm.yaml"
	kill "$changer" 2>/dev/null || true
	wait "$changer" || rc=$?
	cat "$E2E_CASE_DIR/changer.log"
	((rc == 0)) || fail "host: the changer did not run (status $rc)"
	expect_boot poweroff
	expect_line "CACHE-E2E first=old"
	expect_line "CACHE-E2E umount=ok"
	grep '^CACHE-E2E seen=' "$OUT" || true
	ms=$(sed -n 's/^CACHE-E2E seen=new content, longer than before after_ms=\([0-9]*\) .*/\1/p' "$OUT")
	if [[ -z $ms ]]; then
		fail "the guest never read the new content"
	elif ((ms > limit)); then
		fail "the guest read the new content ${ms} ms after the change, allowed ${limit} ms"
	fi
	cache_report
	case_result
}

case_cache_immutable_writable() {
	local conf=$E2E_CASE_DIR/vm.yaml
	cache_setup
	mkdir -p "$CACHE_TMP/w"
	cache_config "$conf" w w:immutable:false
	vm refused config="$conf"
	expect_rc 125 # a configuration error (microvm(1), EXIT STATUS)
	grep -qE "$conf:[0-9]+:[0-9]+: .*immutable" "$ERR" ||
		fail "stderr has no '$conf:LINE:COLUMN: ... immutable' message: $(head -c 300 "$ERR")"
	! grep -q "MICROVM-E2E" "$OUT" || fail "a guest ran"
	case_result
}

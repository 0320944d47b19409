# cases_meta.sh (bench): listing, stat and reading a whole tree in the guest, per cache mode, against guest tmpfs and QEMU + virtiofsd.
# shellcheck shell=bash
#
# Sourced by cases.sh (bench_meta) and by bench.sh (metab_prepare, before the nested
# helper VM starts, where the tree is cheap to build). bench_meta prints, for each
# workload W (find: `find | wc -l`; ls: `ls -lR`, a stat of every file; read: `tar c` of
# every file), phase P (cold: a fresh mount and dropped guest caches; warm: the same again)
# and target T (never, auto, always, immutable: this project's share; immutable_workers:
# the immutable share with serve_on_vcpu: false, every request served by a worker thread;
# qemu-virtiofsd):
#   BENCH meta_W_P_T         value=<ms> unit=ms ref=guest-tmpfs:<ms> ratio=<v/ref>
#   BENCH meta_W_P_T_vs_peer value=<ms> unit=ms ref=qemu-virtiofsd:<ms> ratio=<v/ref>
# (no _vs_peer line for qemu-virtiofsd itself), then "# goal" comment lines for the
# issue's targets: warm ls <= 1.3x tmpfs; cold find and ls <= 3x tmpfs and <= 0.5x the
# peer; cold read <= 0.5x the peer (each for the immutable share).
#
# The tree: the guest kernel's unpacked modules directory ($MODULES_BASE/lib/modules/
# $KVER: about 4,900 entries in 880 directories, up to 7 deep), every file cut to its
# first BENCH_META_FILE_KIB KiB (0: whole files, 384 MiB; 4 KiB: 16 MiB, 16 KiB: 60 MiB)
# so that reading it all stays quick under emulation; built once into a tar file in the
# asset cache. Both guests boot
# the same kernel and virtio-fs initramfs with BENCH_META_MEMORY MiB and one vCPU. The
# microvm guest mounts four shares of the same host directory, one per cache mode
# (readonly, one request queue, no DAX), copies the tree into a tmpfs (the memory-speed
# limit) and runs every workload on each; the QEMU guest (-M microvm, Debian's C
# virtiofsd with cache=always, one request queue) runs them on its one share. Times come
# from the guest's /proc/uptime (10 ms steps); each figure is the median over
# BENCH_META_RUNS runs (the VMMs alternating) of BENCH_META_REPS repetitions in each boot
# (the targets taking turns within each). Host caches stay warm for everybody.
# Program start (work py): where the host has Debian's python3, the tree also holds a
# Python closure (py/: the interpreter, the shared libraries it and its extension modules
# load, and its standard library with Debian's compiled __pycache__; test suites, idle,
# tkinter, lib2to3, distutils, pydoc data and the static-link kit left out), and
# the guest times `chroot py python3 -c 'import json, email, http.client'` on each target:
# the issue's program that stats, opens and reads hundreds of files, through failed
# lookups along its search path. The other workloads run on mods/, the cut modules.
#
# Under emulation (the nested helper VM) a FUSE round trip costs milliseconds, so there
# the defaults shrink: three parts of the tree (BENCH_META_PARTS), 4 KiB files, and no
# `never` share (BENCH_META_MODES).
#
# Environment: BENCH_META_PYTHON (default /usr/bin/python3; "none": no py workload),
# BENCH_META_RUNS (default 1), BENCH_META_REPS (default 2),
# BENCH_META_FILE_KIB (default 4 nested, 16
# otherwise), BENCH_META_PARTS (paths in the tree to keep; default all, nested
# "kernel/drivers/net kernel/fs kernel/crypto"), BENCH_META_MODES (default "never auto
# always immutable immutable_workers", nested without never; immutable is always
# measured; MODE_workers is MODE with serve_on_vcpu: false),
# BENCH_META_MEMORY (MiB, default 1024), BENCH_META_TIMEOUT (seconds per guest; 900
# nested, 300 otherwise), BENCH_META_SRC (the tree; default the modules directory),
# MICROVM_BENCH_VIRTIOFSD (default /usr/lib/qemu/virtiofsd).

: "${BENCH_META_RUNS:=1}" "${BENCH_META_REPS:=2}" "${BENCH_META_MEMORY:=1024}"
if [[ ${MICROVM_E2E_NESTED:-0} == 1 ]]; then
	: "${BENCH_META_TIMEOUT:=900}"
else
	: "${BENCH_META_TIMEOUT:=300}"
fi
METAB_WORKS=(find ls read)
# What the guest runs for the py workload (it prints the module count, which must agree).
METAB_PY_IMPORT='import json, email, http.client, sys; print(len(sys.modules))'
METAB_PHASES=(cold warm)

# --- the tree ----------------------------------------------------------------------------

# BENCH_META_FILE_KIB, or its default: 4 under emulation (in L1, or on a host that will
# run the guests in L1), where tar moves about 5 MB/s; 16 on hardware.
metab_kib() {
	if [[ -z ${BENCH_META_FILE_KIB:-} ]]; then
		BENCH_META_FILE_KIB=16
		! metab_emulated || BENCH_META_FILE_KIB=4
		export BENCH_META_FILE_KIB
	fi
	printf '%s\n' "$BENCH_META_FILE_KIB"
}

# True when the guests will run under emulation: in L1, or on a host that will start it.
metab_emulated() {
	[[ ${MICROVM_E2E_NESTED:-0} == 1 ]] || e2e_want_nested
}

# The parts of the tree to copy (paths under it), or nothing for all of it. Under
# emulation a FUSE round trip takes milliseconds: about 940 entries in 270 directories.
metab_parts() {
	if [[ -z ${BENCH_META_PARTS+set} ]]; then
		BENCH_META_PARTS=
		! metab_emulated || BENCH_META_PARTS="kernel/drivers/net kernel/fs kernel/crypto"
		export BENCH_META_PARTS
	fi
	printf '%s\n' "$BENCH_META_PARTS"
}

# The cache modes measured: all four on hardware; under emulation `never` sends about
# five requests per entry and would take many minutes, so it is left out by default.
metab_modes() {
	if [[ -z ${BENCH_META_MODES:-} ]]; then
		BENCH_META_MODES="never auto always immutable immutable_workers"
		! metab_emulated || BENCH_META_MODES="auto always immutable immutable_workers"
		export BENCH_META_MODES
	fi
	printf '%s\n' "$BENCH_META_MODES"
}

metab_src() {
	printf '%s\n' "${BENCH_META_SRC:-${MODULES_BASE:-}/lib/modules/${KVER:-}}"
}

# Where the tree's tar file lives (the asset cache, read-only but readable in L1).
metab_tar_path() {
	local py=nopy
	[[ -z $(metab_python) ]] || py=py$(basename "$(metab_python)")
	printf '%s/bench/meta-tree-%s-%sk-%s-%s.tar\n' "$(e2e_cache_dir)" \
		"$(basename "$(metab_src)")" "$(metab_kib)" "$(metab_parts | cksum | cut -d' ' -f1)" "$py"
}

# The interpreter for the py workload (its real path), or nothing: also nothing when it
# cannot run the workload here (python3-minimal lacks email and http).
metab_python() {
	local py=${BENCH_META_PYTHON:-/usr/bin/python3}
	[[ $py != none && -x $py ]] || return 0
	"$py" -c "$METAB_PY_IMPORT" >/dev/null 2>&1 || return 0
	readlink -f "$py"
}

# Copy of the interpreter PY's closure into DST (a root for chroot): the binary as
# /usr/bin/python3, the libraries it and its extension modules need (merged /usr: lib and
# lib64 are links), and its standard library without the test suites.
metab_copy_python() {
	local py=$1 dst=$2 stdlib lib
	stdlib=/usr/lib/$(basename "$py")
	[[ -d $stdlib ]] || {
		e2e_log "meta: no standard library at $stdlib"
		return 1
	}
	mkdir -p "$dst/usr/bin" "$dst/usr/lib/x86_64-linux-gnu" "$dst/usr/lib64"
	ln -s usr/lib "$dst/lib" && ln -s usr/lib64 "$dst/lib64"
	cp "$py" "$dst/usr/bin/python3"
	tar -C /usr/lib --exclude=test --exclude=tests --exclude=idlelib --exclude=tkinter \
		--exclude="config-*" --exclude=lib2to3 --exclude=pydoc_data --exclude=distutils \
		-cf - "$(basename "$stdlib")" | tar -C "$dst/usr/lib" -xf -
	for lib in $(ldd "$py" "$stdlib"/lib-dynload/*.so 2>/dev/null |
		awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\/.*ld-linux/ { print $1 }' | sort -u); do
		case $lib in
		*/ld-linux*) cp -L "$lib" "$dst/usr/lib64/" ;;
		*) cp -L "$lib" "$dst/usr/lib/x86_64-linux-gnu/" ;;
		esac
	done
}

# Copy of SRC (or of its parts, metab_parts) in DST with every file cut to
# BENCH_META_FILE_KIB KiB (0: as it is).
metab_copy_tree() {
	local src=$1 dst=$2 f kib part parts
	kib=$(metab_kib)
	read -r -a parts <<<"$(metab_parts)"
	((${#parts[@]})) || parts=(.)
	for part in "${parts[@]}"; do
		[[ -d $src/$part ]] || {
			e2e_log "meta: $src/$part is not a directory"
			return 1
		}
		(cd "$src" && find "$part" -type d -print0) | (cd "$dst" && xargs -0 mkdir -p)
		(cd "$src" && find "$part" -type l -print0) | while IFS= read -r -d '' f; do
			ln -s "$(readlink "$src/$f")" "$dst/$f"
		done
		(cd "$src" && find "$part" -type f -print0) | while IFS= read -r -d '' f; do
			if ((kib == 0)); then
				cp -p "$src/$f" "$dst/$f"
			else
				head -c "$((kib * 1024))" "$src/$f" >"$dst/$f"
			fi
		done
	done
}

# Builds the tar file unless it is there; prints its path. Where the cache is read-only
# (inside L1 when bench.sh did not build it first) it goes under $TMPDIR.
metab_prepare() {
	local tar src stage
	tar=$(metab_tar_path)
	src=$(metab_src)
	if [[ -s $tar ]]; then
		printf '%s\n' "$tar"
		return 0
	fi
	[[ -d $src ]] || {
		e2e_log "meta: no tree at $src (set BENCH_META_SRC)"
		return 1
	}
	mkdir -p "${tar%/*}" 2>/dev/null && touch "$tar.part" 2>/dev/null ||
		tar=${TMPDIR:-/tmp}/$(basename "$tar")
	stage=$(mktemp -d "${TMPDIR:-/tmp}/meta-tree.XXXXXX")
	mkdir -p "$stage/mods" &&
		metab_copy_tree "$src" "$stage/mods" &&
		{ [[ -z $(metab_python) ]] || metab_copy_python "$(metab_python)" "$stage/py"; } &&
		tar -C "$stage" -cf "$tar.part" . &&
		mv "$tar.part" "$tar"
	rm -rf "$stage"
	[[ -s $tar ]] && printf '%s\n' "$tar"
}

# --- the guest ---------------------------------------------------------------------------

# Run by both guests with the targets as arguments: the share mounted first (on /mnt/$1,
# see metab_cmdline), then the rest; "tmpfs" is a copy of the first share. Output lines:
#   METABENCH target=T work=W phase=P ms=N n=COUNT
# COUNT (entries, lines of ls -lR, bytes of tar) must agree between targets.
metab_guest_script() {
	printf '# guest.sh: run by the metadata benchmark guest (tests/bench/cases_meta.sh)\n'
	printf 'reps=%d\n' "$BENCH_META_REPS"
	printf 'works="%s"\n' "${METAB_WORKS[*]}"
	printf "py_import='%s'\n" "$METAB_PY_IMPORT"
	cat <<'GUEST'
cd /
# Centiseconds since boot, in T; no fork (busybox date has no %N).
stamp() {
	read -r up _ </proc/uptime
	T=$((${up%.*} * 100 + 1${up#*.} - 100))
}
work() {
	case $2 in
	find) N=$(find "$1/mods" | wc -l) ;;
	ls) N=$(ls -lR "$1/mods" | wc -l) ;;
	read) N=$(tar cf - -C "$1/mods" . | wc -c) ;;
	py) N=$(PYTHONDONTWRITEBYTECODE=1 chroot "$1/py" /usr/bin/python3 -c "$py_import") ;;
	esac
}
measure() {
	stamp
	a=$T
	work "$2" "$3"
	stamp
	echo "METABENCH target=$1 work=$3 phase=$4 ms=$(((T - a) * 10)) n=$N"
}
fresh() {
	if [ "$1" != tmpfs ]; then
		umount "/mnt/$1" && mount -t virtiofs -o ro "$1" "/mnt/$1" || echo "METABENCH remount $1 failed"
	fi
	sync
	echo 3 >/proc/sys/vm/drop_caches
}
echo "METABENCH clocksource=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"
first=$1
for t; do
	[ "$t" = tmpfs ] || [ "$t" = "$first" ] || { mkdir -p "/mnt/$t" && mount -t virtiofs -o ro "$t" "/mnt/$t"; }
done
if [ "$first" = tmpfs ]; then
	echo "METABENCH error: tmpfs cannot come first"
	exit 1
fi
for t; do
	[ "$t" = tmpfs ] || continue
	mkdir -p /mnt/tmpfs && mount -t tmpfs -o size=90% tmpfs /mnt/tmpfs &&
		cp -a "/mnt/$first/." /mnt/tmpfs/ || echo "METABENCH tmpfs copy failed"
done
# Targets take turns within each workload and repetition, so that a slow spell of the
# host (other guests, emulation) is shared out rather than landing on one target; odd
# repetitions take them in reverse, so that no target always runs after the others have
# filled the guest's memory (the python start slowed with its place in the turn).
forward=$* reverse=
for t; do reverse="$t $reverse"; done
rep=0
while [ $rep -lt "$reps" ]; do
	order=$forward
	[ $((rep % 2)) -eq 0 ] || order=$reverse
	for w in $works; do
		for t in $order; do
			fresh "$t"
			measure "$t" "/mnt/$t" "$w" cold
			measure "$t" "/mnt/$t" "$w" warm
		done
	done
	rep=$((rep + 1))
done
for t; do umount "/mnt/$t"; done
echo "METABENCH done"
GUEST
}

# The guest's command line: mount share FIRST, run guest.sh from it with TARGETS.
metab_cmdline() {
	local first=$1
	shift
	local run="mkdir -p /mnt/$first && mount -t virtiofs -o ro $first /mnt/$first && cp /mnt/$first/guest.sh /guest.sh && exec /bin/sh /guest.sh $*"
	printf '%s e2e.action=poweroff -- /bin/sh -c "%s"\n' "$E2E_BASE_CMDLINE" "$run"
}

# --- the two VMMs ------------------------------------------------------------------------

metab_setup() {
	local tar
	bench_guest_prereqs >/dev/null || return 1
	tar=$(metab_prepare) || return 1
	METAB_BASE=$(mktemp -d "${TMPDIR:-/tmp}/microvm-bench-meta.XXXXXX")
	METAB_TREE=$METAB_BASE/tree
	mkdir -p "$METAB_TREE"
	tar -C "$METAB_TREE" -xf "$tar" || return 1
	# guest.sh is part of the tree for every target (the tmpfs copy too).
	metab_guest_script >"$METAB_TREE/guest.sh"
	METAB_ENTRIES=$(find "$METAB_TREE/mods" | wc -l)
}

# One boot, a share per cache mode; the immutable one is mounted first. Every share keeps
# an O_PATH descriptor per inode the guest holds: raise the limit for four of them.
metab_run_microvm() {
	local out=$1 err=$2 cfg=$METAB_BASE/vm.yaml m others=()
	for m in "${METAB_MODES[@]}"; do
		[[ $m == immutable ]] || others+=("$m")
	done
	{
		echo "# microvm benchmark configuration: one share per cache mode (tests/bench/cases_meta.sh)"
		echo "kernel: $E2E_KERNEL"
		echo "initrd: $E2E_VFS_INITRD"
		echo "cmdline: '$(metab_cmdline immutable immutable tmpfs "${others[@]}")'"
		echo "memory: ${BENCH_META_MEMORY}M"
		echo "vcpus: 1"
		echo "console: stdio"
		echo "shares:"
		for m in "${METAB_MODES[@]}"; do
			printf '  - tag: %s\n    path: %s\n    queues: 1\n    readonly: true\n    cache: %s\n' \
				"$m" "$METAB_TREE" "${m%_workers}"
			[[ $m != *_workers ]] || echo "    serve_on_vcpu: false"
		done
	} >"$cfg"
	printf 'run: %q run -v --config %q\n' "$E2E_VMM_BIN" "$cfg" >>"$out.cmd"
	# shellcheck disable=SC2034 # read by vfsb_timed
	local BENCH_VFS_TIMEOUT=$BENCH_META_TIMEOUT
	vfsb_timed "$out" "$err" bash -c 'ulimit -n 65536 2>/dev/null; exec "$@"' _ \
		"$E2E_VMM_BIN" run -v --config "$cfg"
}

metab_run_qemu() {
	local out=$1 err=$2 sock=$METAB_BASE/vfs.sock
	vfsb_start_virtiofsd "$sock" "$err.virtiofsd" "$METAB_TREE" cache=always || {
		E2E_RC=1 E2E_MS=0
		return 0
	}
	vfsb_qemu_cmd "${BENCH_META_MEMORY}M" peer "$sock" "$(metab_cmdline peer peer)"
	# shellcheck disable=SC2034 # read by vfsb_timed
	local BENCH_VFS_TIMEOUT=$BENCH_META_TIMEOUT
	vfsb_run_qemu_cmd "$out" "$err"
}

# The figures for TARGET WORK PHASE in the guest output FILE, one per repetition, or NA.
metab_values() {
	local v
	v=$(tr -d '\r' <"$1" | awk -v t="target=$2" -v w="work=$3" -v p="phase=$4" '
		$1 == "METABENCH" && $2 == t && $3 == w && $4 == p { sub(/^ms=/, "", $5); print $5 }')
	printf '%s\n' "${v:-NA}"
}

metab_count() {
	tr -d '\r' <"$1" | awk -v t="target=$2" -v w="work=$3" '
		$1 == "METABENCH" && $2 == t && $3 == w { sub(/^n=/, "", $6); print $6; exit }'
}

# One guest run of KIND (vm or ref); appends to METAB_<target>_<work>_<phase>.
metab_once() {
	local kind=$1 i=$2 out t w p v ok=1 targets
	out=$E2E_WORKDIR/meta-$kind-$i.out
	if [[ $kind == ref ]]; then
		metab_run_qemu "$out" "$E2E_WORKDIR/meta-$kind-$i.err"
		targets=(peer)
	else
		metab_run_microvm "$out" "$E2E_WORKDIR/meta-$kind-$i.err"
		targets=(tmpfs "${METAB_MODES[@]}")
	fi
	if ((E2E_RC != 0)) || ! tr -d '\r' <"$out" | grep -qx 'METABENCH done' ||
		tr -d '\r' <"$out" | grep -q 'METABENCH .*failed'; then
		ok=0
		e2e_log "meta $kind run $i failed (exit status $E2E_RC after $E2E_MS ms); the end of its output:"
		tail -n 15 "$out" | tr -d '\r' | sed 's/^/    /' >&2
	fi
	metab_check_counts "$out" "${targets[@]}" || ok=0
	for t in "${targets[@]}"; do
		for w in "${METAB_WORKS[@]}"; do
			for p in "${METAB_PHASES[@]}"; do
				local -n metab_vals=METAB_${t}_${w}_$p
				if ((ok)); then
					# No process substitution: L1 has no /dev/fd.
					for v in $(metab_values "$out" "$t" "$w" "$p"); do
						metab_vals+=("$v")
					done
				else
					metab_vals+=(NA)
				fi
			done
		done
	done
	printf '# meta %s run %d: %s ms in all%s\n' "$kind" "$i" "$E2E_MS" \
		"$([[ $kind == vm ]] && metab_counts "$E2E_WORKDIR/meta-$kind-$i.err" | sed 's/^/; immutable /')"
	((ok))
}

# The immutable share's request counts and mean server time per request (microvm -v) in
# microvm's stderr FILE (named by tag, path, or /shares/INDEX in a private view of the
# shares), as one line.
metab_counts() {
	local i idx=0
	for i in "${!METAB_MODES[@]}"; do
		[[ ${METAB_MODES[i]} != immutable ]] || idx=$i
	done
	grep -oE "virtio-fs (immutable|/shares/$idx): (requests|microseconds) .*" "$1" |
		head -n 2 | sed 's/^[^:]*: //' | paste -sd ';' | sed 's/;/; immutable /'
}

# Every target saw as many entries as the host tree has, and the same ls and tar sizes.
metab_check_counts() {
	local out=$1 t w n want
	shift
	for w in "${METAB_WORKS[@]}"; do
		want=
		for t; do
			n=$(metab_count "$out" "$t" "$w")
			[[ $w != find || $n == "$METAB_ENTRIES" ]] || {
				e2e_log "meta: $t: find saw ${n:-nothing}, the tree has $METAB_ENTRIES entries"
				return 1
			}
			: "${want:=$n}"
			[[ $n == "$want" ]] || {
				e2e_log "meta: $t: $w gave $n, $1 gave $want"
				return 1
			}
		done
	done
}

metab_median() {
	local -n metab_m=METAB_${1}_${2}_$3
	bench_median_or_na "${metab_m[@]}"
}

# "# goal" line: NAME VALUE REF LIMIT
metab_goal() {
	local r
	r=$(bench_ratio "$2" "$3")
	printf '# goal %s <= %s: %s (%s)\n' "$1" "$4" "$r" \
		"$(awk -v r="$r" -v l="$4" 'BEGIN { if (r == "NA") print "not measured"; else if (r + 0 <= l + 0) print "met"; else print "missed" }')"
}

# Prints the figures and the goals; 1 when a figure is missing.
metab_report() {
	local t w p name v status=0
	for w in "${METAB_WORKS[@]}"; do
		for p in "${METAB_PHASES[@]}"; do
			for t in "${METAB_MODES[@]}" peer; do
				name=$t
				[[ $t != peer ]] || name=qemu-virtiofsd
				v=$(metab_median "$t" "$w" "$p")
				[[ $v != NA ]] || status=1
				bench_line "meta_${w}_${p}_$name" "$v" ms guest-tmpfs "$(metab_median tmpfs "$w" "$p")"
				[[ $t == peer ]] || bench_line "meta_${w}_${p}_${name}_vs_peer" "$v" ms \
					qemu-virtiofsd "$(metab_median peer "$w" "$p")"
			done
		done
	done
	metab_goal "warm ls (immutable / tmpfs)" "$(metab_median immutable ls warm)" \
		"$(metab_median tmpfs ls warm)" 1.3
	for w in find ls; do
		metab_goal "cold $w (immutable / tmpfs)" "$(metab_median immutable "$w" cold)" \
			"$(metab_median tmpfs "$w" cold)" 3
		metab_goal "cold $w (immutable / qemu-virtiofsd)" "$(metab_median immutable "$w" cold)" \
			"$(metab_median peer "$w" cold)" 0.5
	done
	metab_goal "cold read (immutable / qemu-virtiofsd)" "$(metab_median immutable read cold)" \
		"$(metab_median peer read cold)" 0.5
	if [[ " ${METAB_WORKS[*]} " == *" py "* ]]; then
		metab_goal "cold python start (immutable / tmpfs)" "$(metab_median immutable py cold)" \
			"$(metab_median tmpfs py cold)" 3
		metab_goal "warm python start (immutable / tmpfs)" "$(metab_median immutable py warm)" \
			"$(metab_median tmpfs py warm)" 1.3
	fi
	return "$status"
}

bench_meta() {
	local i t w p status=0 METAB_MODES METAB_WORKS=("${METAB_WORKS[@]}")
	[[ -z $(metab_python) ]] || METAB_WORKS+=(py)
	metab_kib >/dev/null
	metab_parts >/dev/null
	metab_modes >/dev/null
	read -r -a METAB_MODES <<<"$BENCH_META_MODES"
	[[ " ${METAB_MODES[*]} " == *" immutable "* ]] || METAB_MODES+=(immutable)
	for t in tmpfs "${METAB_MODES[@]}" peer; do
		for w in "${METAB_WORKS[@]}"; do
			for p in "${METAB_PHASES[@]}"; do
				local -a "METAB_${t}_${w}_$p=()"
			done
		done
	done
	if [[ $E2E_VMM_KIND != microvm ]]; then
		e2e_log "meta: microvm only (the cache modes are its own)"
		BENCH_META_RUNS=0
		status=1
	elif ! metab_setup; then
		status=1
		BENCH_META_RUNS=0
	fi
	printf '# meta: %s entries (%s), files cut to %s KiB (0: whole), modes %s, %s MiB, 1 vCPU, 1 queue, %s runs of %s repetitions; peer: %s cache=always\n' \
		"${METAB_ENTRIES:-?}" "$(metab_src)${BENCH_META_PARTS:+: $BENCH_META_PARTS}" \
		"$(metab_kib)" "${METAB_MODES[*]}" "$BENCH_META_MEMORY" "$BENCH_META_RUNS" \
		"$BENCH_META_REPS" "$VFSB_VIRTIOFSD"
	for ((i = 1; i <= BENCH_META_RUNS; i++)); do
		metab_once vm "$i" || status=1
		metab_once ref "$i" || status=1
	done
	metab_report || status=1
	[[ -z ${METAB_BASE:-} ]] || rm -rf "$METAB_BASE"
	return "$status"
}

#!/bin/sh
# test_fuse_host.sh: the FUSE server and passthrough backend mounted through /dev/fuse on the
# host and driven by the real kernel FUSE client: data, metadata, locks, xattrs, fio, stress-ng.
# Exit 77 (skip) without /dev/fuse, without root, or when mount(2) is refused.
set -u

builddir=${top_builddir:-.}
fusehost="$builddir/tests/microvm-fusehost"
pid=
failures=0

have() { command -v "$1" >/dev/null 2>&1; }

[ -x "$fusehost" ] || { echo "missing $fusehost"; exit 99; }
[ -c /dev/fuse ] || { echo "SKIP: no /dev/fuse"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "SKIP: mounting through /dev/fuse needs root here"; exit 77; }
work=$(mktemp -d /tmp/microvm-fusehost-XXXXXX) || exit 99
chmod 755 "$work" # other users reach the mount point through it
src="$work/src"
mnt="$work/mnt"
mkdir -p "$src" "$mnt"

skip() { echo "SKIP: $*"; exit 77; } # the EXIT trap cleans up

mounted() { grep -q " $mnt fuse" /proc/self/mounts; }

stop() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	mounted && umount -l "$mnt" 2>/dev/null
	pid=
}

cleanup() { stop; rm -rf "$work"; }
trap cleanup EXIT INT TERM

# start [harness options...]: mounts $src on $mnt; returns 1 when mounting is refused.
start() {
	"$fusehost" "$@" "$src" "$mnt" 2>"$work/harness.log" &
	pid=$!
	for _ in $(seq 50); do
		mounted && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$work/harness.log"
	return 1
}

check() { # check NAME COMMAND...: runs one case, counts failures; 77 means a tool is missing
	name=$1
	shift
	"$@" >"$work/case.log" 2>&1
	case $? in
	0) echo "ok - $name" ;;
	77) echo "ok - $name # SKIP $(cat "$work/case.log")" ;;
	*)
		echo "not ok - $name"
		sed 's/^/#   /' "$work/case.log"
		failures=$((failures + 1))
		;;
	esac
}

need() { have "$1" || { echo "no $1 installed"; return 77; }; }

t_copy() {
	head -c 3000000 /dev/urandom >"$work/blob"
	cp "$work/blob" "$mnt/blob" && cmp "$work/blob" "$mnt/blob" && cmp "$work/blob" "$src/blob" &&
		cat "$mnt/blob" | cmp - "$work/blob"
}

t_tree() {
	mkdir -p "$mnt/a/b/c/d/e/f/g/h" && echo deep >"$mnt/a/b/c/d/e/f/g/h/leaf" &&
		[ "$(cat "$src/a/b/c/d/e/f/g/h/leaf")" = deep ] &&
		mv "$mnt/a/b/c" "$mnt/c2" && [ -f "$src/c2/d/e/f/g/h/leaf" ] &&
		rm -r "$mnt/a" "$mnt/c2" && [ ! -e "$src/a" ]
}

t_links() {
	echo data >"$mnt/orig" && ln "$mnt/orig" "$mnt/hard" && ln -s orig "$mnt/soft" &&
		[ "$(stat -c %h "$mnt/orig")" = 2 ] && [ "$(readlink "$mnt/soft")" = orig ] &&
		[ "$(cat "$mnt/soft")" = data ] && [ "$(stat -c %i "$src/hard")" = "$(stat -c %i "$src/orig")" ] &&
		rm "$mnt/orig" "$mnt/hard" "$mnt/soft"
}

t_attrs() {
	echo 0123456789 >"$mnt/f" && chmod 640 "$mnt/f" && [ "$(stat -c %a "$src/f")" = 640 ] &&
		truncate -s 4 "$mnt/f" && [ "$(cat "$src/f")" = 0123 ] &&
		truncate -s 1M "$mnt/f" && [ "$(stat -c %s "$mnt/f")" = 1048576 ] &&
		touch -d '2001-02-03 04:05:06' "$mnt/f" && [ "$(stat -c %Y "$src/f")" = "$(date -d '2001-02-03 04:05:06' +%s)" ] &&
		chown 1234:5678 "$mnt/f" && [ "$(stat -c %u:%g "$src/f")" = 1234:5678 ] && rm "$mnt/f"
}

t_owner() { # a non-root user creates files it owns, and the host agrees
	need setpriv || return 77
	mkdir "$mnt/pub" && chmod 1777 "$mnt/pub" &&
		setpriv --reuid 4321 --regid 4321 --clear-groups sh -c "echo x >'$mnt/pub/mine' && mkdir '$mnt/pub/d' && chmod 600 '$mnt/pub/mine' && truncate -s 0 '$mnt/pub/mine'" &&
		[ "$(stat -c %u:%g:%a "$src/pub/mine")" = 4321:4321:600 ] &&
		[ "$(stat -c %u "$src/pub/d")" = 4321 ] &&
		! setpriv --reuid 4322 --regid 4322 --clear-groups sh -c "rm -f '$mnt/pub/mine'" 2>/dev/null &&
		rm -r "$mnt/pub"
}

t_xattr() {
	need setfattr || return 77
	touch "$mnt/x" && setfattr -n user.k -v v1 "$mnt/x" &&
		[ "$(getfattr --only-values -n user.k "$mnt/x")" = v1 ] &&
		[ "$(getfattr --only-values -n user.k "$src/x")" = v1 ] &&
		setfattr -x user.k "$mnt/x" && ! getfattr -n user.k "$mnt/x" 2>/dev/null &&
		! setfattr -n trusted.k -v v "$mnt/x" 2>/dev/null && rm "$mnt/x"
}

t_locks() {
	touch "$mnt/l" && flock -n "$mnt/l" -c true || return 1
	flock "$mnt/l" -c "! flock -n '$mnt/l' -c true" || return 1 # held: a second try fails
	flock "$mnt/l" -c "sleep 1" &
	holder=$!
	sleep 0.3
	flock -n "$mnt/l" -c true && return 1 # still held by the background holder
	flock -w 5 "$mnt/l" -c true || return 1 # waits for it, then gets it
	wait "$holder" || return 1
	need python3 || return 77
	python3 - "$mnt/l" <<'EOF'
import fcntl, os, sys, time
path = sys.argv[1]
fd = os.open(path, os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX, 10, 0)
pid = os.fork()
if pid == 0:
    fd2 = os.open(path, os.O_RDWR)
    try:
        fcntl.lockf(fd2, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 0)
        os._exit(1)                      # must conflict with the parent
    except OSError:
        pass
    fcntl.lockf(fd2, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 20)   # a free range
    t = time.time()
    fcntl.lockf(fd2, fcntl.LOCK_EX, 10, 0)                     # waits for the parent
    os._exit(0 if time.time() - t > 0.2 else 2)
time.sleep(0.5)
fcntl.lockf(fd, fcntl.LOCK_UN, 10, 0)
_, st = os.waitpid(pid, 0)
sys.exit(os.WEXITSTATUS(st))
EOF
}

t_bigdir() {
	mkdir "$mnt/big" && (cd "$mnt/big" && seq 3000 | xargs touch) &&
		[ "$(ls "$mnt/big" | wc -l)" = 3000 ] && [ "$(ls -l "$mnt/big" | grep -c '^-')" = 3000 ] &&
		[ "$(find "$mnt/big" -type f | wc -l)" = 3000 ] && rm -r "$mnt/big" && [ ! -e "$src/big" ]
}

t_mmap() { # shared writable mmap, which must work in every cache mode
	need python3 || return 77
	python3 - "$mnt/m" <<'EOF'
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
os.ftruncate(fd, 8192)
m = mmap.mmap(fd, 8192, mmap.MAP_SHARED)
m[4096:4101] = b"hello"
m.flush()
m.close()
os.close(fd)
sys.exit(0 if open(sys.argv[1], "rb").read()[4096:4101] == b"hello" else 1)
EOF
}

t_host_change() { # with cache=never a host-side change shows at once
	echo one >"$mnt/h" && [ "$(cat "$mnt/h")" = one ] && echo two >"$src/h" &&
		[ "$(cat "$mnt/h")" = two ] && rm "$mnt/h"
}

t_escape() { # symlinks out of the share are served as symlinks; the server never follows them
	ln -s / "$src/up" && ln -s ../../../../../etc/passwd "$src/pw" &&
		[ "$(stat -c %F "$mnt/up")" = "symbolic link" ] && [ "$(readlink "$mnt/up")" = / ] &&
		[ "$(readlink "$mnt/pw")" = ../../../../../etc/passwd ] &&
		[ "$(stat -c %s "$mnt/pw")" = 25 ] && rm "$mnt/up" "$mnt/pw" && [ ! -L "$src/up" ]
}

t_fio() {
	need fio || return 77
	# fio writes its verify state files into the current directory: keep them in $work.
	(cd "$work" && fio --name=verify --directory="$mnt" --rw=randwrite --bs=4k --size=16M --numjobs=2 \
		--ioengine=psync --verify=crc32c --do_verify=1 --verify_fatal=1 \
		--group_reporting >"$work/fio.log" 2>&1) || { cat "$work/fio.log"; return 1; }
	grep -q 'err= 0' "$work/fio.log" && rm -f "$mnt"/verify.*
}

t_stress() {
	need stress-ng || return 77
	mkdir -p "$mnt/sng" && stressors=
	for s in "hdd 2 50" "dir 1 100" "rename 1 500" "link 1 2" "symlink 1 1" "xattr 1 500" \
		"lockf 1 500" "flock 2 500" "fcntl 1 500" "chmod 1 50" "utime 1 500" \
		"fallocate 1 20" "copy-file 1 20" "seek 1 500" "dentry 1 5"; do
		set -- $s
		stress-ng --$1 0 --dry-run >/dev/null 2>&1 || continue
		stressors="$stressors --$1 $2 --$1-ops $3"
	done
	# shellcheck disable=SC2086
	timeout 300 stress-ng --temp-path "$mnt/sng" $stressors --verify --timeout 240 \
		>"$work/sng.log" 2>&1 || { tail -20 "$work/sng.log"; return 1; }
	grep -q 'successful run completed' "$work/sng.log" && rm -rf "$mnt/sng"
}

t_readonly() {
	! touch "$mnt/new" 2>/dev/null && ! mkdir "$mnt/d" 2>/dev/null &&
		[ "$(cat "$mnt/ro")" = keep ] && ! sh -c "echo x >>'$mnt/ro'" 2>/dev/null &&
		! rm "$mnt/ro" 2>/dev/null && [ "$(cat "$src/ro")" = keep ]
}

start --cache auto || skip "mount(2) of a FUSE file system was refused here"
echo "# cache=auto"
check "cp/cat/cmp of 3 MB" t_copy
check "deep tree, rename, rm -r" t_tree
check "hard and symbolic links" t_links
check "chmod, truncate, utimes, chown" t_attrs
check "ownership of a non-root user's files" t_owner
check "xattrs" t_xattr
check "flock and POSIX locks" t_locks
check "3000-entry directory" t_bigdir
check "shared mmap" t_mmap
check "symlinks out of the share" t_escape
check "fio verify (crc32c)" t_fio
check "stress-ng file stressors with --verify" t_stress
stop

start --cache never || exit 99
echo "# cache=never"
check "shared mmap" t_mmap
check "host-side change seen at once" t_host_change
check "cp/cat/cmp of 3 MB" t_copy
stop

start --cache always --writeback || exit 99
echo "# cache=always, writeback"
check "cp/cat/cmp of 3 MB" t_copy
check "chmod, truncate, utimes, chown" t_attrs
check "fio verify (crc32c)" t_fio
stop

echo keep >"$src/ro"
start --readonly || exit 99
echo "# readonly"
check "read-only share refuses changes" t_readonly
stop

[ "$failures" = 0 ] || { echo "$failures failed"; exit 1; }
exit 0

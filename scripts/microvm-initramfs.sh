#!/bin/bash
# microvm-initramfs: pack microvm's guest init and the kernel modules it needs into an initramfs.
#
# Usage: microvm-initramfs [--modules /lib/modules/KVER] [--kver KVER] [--init PATH]
#                          [--add HOSTPATH[:GUESTPATH]]... [--busybox] -o OUT.cpio.gz
#
#   --modules DIR  the kernel's module tree (with modules.dep, as depmod leaves it). The
#                  modules microvm's guest needs are packed under /lib/modules/KVER with
#                  their dependencies, uncompressed, and listed in load order in
#                  /etc/microvm/modules; those built into the kernel are skipped. Without
#                  it, no modules: the kernel must have the drivers built in.
#   --kver KVER    the kernel release (default: the last component of DIR).
#   --init PATH    the init to pack as /init (default: $MICROVM_INIT, else guest/microvm-init
#                  beside this script in a build tree, else the installed one).
#   --add H[:G]    copy host file or directory H into the image at G (default: the same
#                  path; G absolute). Repeatable; applied after the init and the modules.
#   --busybox      add a static busybox ($MICROVM_BUSYBOX or busybox in PATH) and a link
#                  per applet (sh, cat, echo...), for tests and debugging.
#   -o OUT         the gzip-compressed newc archive to write (replaced atomically).
#
# /dev/console is created (the kernel opens it for init before /dev is mounted) only when
# run as root; without it the init opens the console itself once devtmpfs is mounted.
set -euo pipefail

PROG=${0##*/}
# What the guest loads, in this order (each one's dependencies first). pvpanic-mmio comes
# first so that a panic in any later step reaches microvm's pvpanic device.
GUEST_MODULES=(pvpanic-mmio virtio_mmio virtio_console fuse virtiofs)
INSTALLED_INIT="@pkglibexecdir@/microvm-init"

die() {
	printf '%s: %s\n' "$PROG" "$*" >&2
	exit 1
}

warn() {
	printf '%s: %s\n' "$PROG" "$*" >&2
}

usage() {
	sed -n '4,5p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit "${1:-2}"
}

# The init to pack when --init is not given: explicit, then the build tree, then installed.
find_init() {
	local here candidate
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
	for candidate in "${MICROVM_INIT:-}" "$here/guest/microvm-init" \
		"$here/../guest/microvm-init" "$INSTALLED_INIT"; do
		[[ -n $candidate && $candidate != @* && -f $candidate ]] || continue
		printf '%s\n' "$candidate"
		return 0
	done
	die "no microvm-init found: build it (make) or give --init PATH"
}

# The guest has no C library: a dynamically linked program there cannot even start.
check_static() {
	local file=$1
	[[ -f $file && -r $file ]] || die "$file: not a readable file"
	command -v readelf >/dev/null || return 0
	if LC_ALL=C readelf -l "$file" 2>/dev/null | grep -q 'program interpreter'; then
		die "$file is dynamically linked; the initramfs needs a static program"
	fi
}

# Copy one module into the stage, uncompressed (init loads it with plain finit_module).
stage_module_file() {
	local stage=$1 tree=$2 kver=$3 path=$4 rel guest
	rel=${path#"$tree"/}
	case $rel in
	*.ko.xz) guest=${rel%.xz} ;;
	*.ko.zst) guest=${rel%.zst} ;;
	*.ko.gz) guest=${rel%.gz} ;;
	*) guest=$rel ;;
	esac
	guest=/lib/modules/$kver/$guest
	mkdir -p "$stage${guest%/*}"
	case $rel in
	*.ko.xz) xz -dc "$path" >"$stage$guest" ;;
	*.ko.zst) zstd -qdc "$path" >"$stage$guest" ;;
	*.ko.gz) gzip -dc "$path" >"$stage$guest" ;;
	*) cp "$path" "$stage$guest" ;;
	esac
	printf '%s\n' "$guest" >>"$stage/etc/microvm/modules"
}

# Resolve GUEST_MODULES with modprobe against DIR, whatever its path: modprobe wants
# BASE/lib/modules/KVER, so BASE is a temporary directory holding a link to DIR.
stage_modules() {
	local stage=$1 dir=$2 kver=$3 work=$4 name verb path deps
	local modprobe
	local -A seen=()
	modprobe=$(PATH=$PATH:/sbin:/usr/sbin command -v modprobe) ||
		die "modprobe not found: install kmod"
	[[ -f $dir/modules.dep ]] || die "$dir/modules.dep missing: not a module tree (run depmod)"
	mkdir -p "$work/base/lib/modules"
	ln -s "$(cd "$dir" && pwd)" "$work/base/lib/modules/$kver"
	: >"$stage/etc/microvm/modules"
	for name in "${GUEST_MODULES[@]}"; do
		if ! deps=$("$modprobe" -d "$work/base" -S "$kver" --show-depends "$name" 2>/dev/null); then
			warn "module $name is not in $dir (nor built in): skipped"
			continue
		fi
		while read -r verb path _; do
			[[ $verb == insmod && -z ${seen[$path]:-} ]] || continue
			seen[$path]=1
			stage_module_file "$stage" "$work/base/lib/modules/$kver" "$kver" "$path"
		done <<<"$deps"
	done
}

stage_busybox() {
	local stage=$1 bb
	bb=${MICROVM_BUSYBOX:-$(command -v busybox || true)}
	[[ -n $bb ]] || die "busybox not found: install busybox-static or set MICROVM_BUSYBOX"
	check_static "$bb"
	mkdir -p "$stage/bin"
	cp "$bb" "$stage/bin/busybox"
	chmod 755 "$stage/bin/busybox"
}

# After everything else, so a file given with --add is never replaced by an applet link.
stage_busybox_links() {
	local stage=$1 applet
	while read -r applet; do
		[[ $applet == bin/busybox || -e $stage/$applet || -L $stage/$applet ]] && continue
		mkdir -p "$stage/$(dirname "$applet")"
		ln -s /bin/busybox "$stage/$applet"
	done < <("$stage/bin/busybox" --list-full)
}

stage_add() {
	local stage=$1 spec=$2 host guest
	host=${spec%%:*}
	guest=${spec#*:}
	[[ $spec == *:* ]] || guest=$host
	[[ -e $host ]] || die "--add $spec: $host does not exist"
	[[ $guest == /* ]] || die "--add $spec: the guest path must be absolute"
	mkdir -p "$stage$(dirname "$guest")"
	cp -a -H "$host" "$stage$guest"
}

stage_base() {
	local stage=$1 init=$2
	mkdir -p "$stage"/{dev,proc,sys,newroot,etc/microvm,microvm,lib/modules}
	mkdir -m 1777 "$stage/tmp"
	cp "$init" "$stage/init"
	chmod 755 "$stage/init"
	if ((EUID == 0)); then
		mknod -m 600 "$stage/dev/console" c 5 1
	else
		warn "not root: no /dev/console node in the image (init copes without it)"
	fi
}

pack() {
	local stage=$1 out=$2
	(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) |
		gzip -9 >"$out.tmp.$$"
	mv "$out.tmp.$$" "$out"
}

main() {
	local modules="" kver="" init="" out="" busybox=0 spec
	local -a adds=()
	while (($#)); do
		case $1 in
		--modules | --kver | --init | --add | -o)
			(($# >= 2)) || die "$1 needs a value"
			case $1 in
			--modules) modules=$2 ;;
			--kver) kver=$2 ;;
			--init) init=$2 ;;
			--add) adds+=("$2") ;;
			-o) out=$2 ;;
			esac
			shift 2
			;;
		--busybox) busybox=1 && shift ;;
		-h | --help) usage 0 ;;
		*) warn "unknown argument '$1'" && usage ;;
		esac
	done
	[[ -n $out ]] || die "-o OUT.cpio.gz is required"
	[[ -d $(dirname "$out") ]] || die "$(dirname "$out"): no such directory"
	[[ -n $init ]] || init=$(find_init)
	check_static "$init"
	if [[ -n $modules ]]; then
		[[ -d $modules ]] || die "$modules: not a directory"
		[[ -n $kver ]] || kver=$(basename "$(cd "$modules" && pwd)")
	fi

	WORK=$(mktemp -d "${TMPDIR:-/tmp}/microvm-initramfs.XXXXXX")
	trap 'rm -rf "$WORK"' EXIT
	local stage=$WORK/stage
	stage_base "$stage" "$init"
	[[ -z $modules ]] || stage_modules "$stage" "$modules" "$kver" "$WORK"
	((busybox == 0)) || stage_busybox "$stage"
	for spec in "${adds[@]}"; do
		stage_add "$stage" "$spec"
	done
	((busybox == 0)) || stage_busybox_links "$stage"
	pack "$stage" "$out"
}

main "$@"

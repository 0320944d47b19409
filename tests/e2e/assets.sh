#!/bin/bash
# assets.sh: fetch, unpack and cache the stock Debian kernel (bzImage, modules, ELF vmlinux).
#
# Run it to print KERNEL=, VMLINUX=, MODULES_DIR=, MODULES_BASE= and KVER= lines; source it
# and call assets_prepare to get them exported. Idempotent: a second run only checks.
# The cache is $MICROVM_CACHE (default /var/cache/microvm), one kernel-<N>/ per version,
# where N is the 6.1.0-<abi> that linux-image-amd64 currently depends on (never pinned).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The linux-image-<N>-amd64 package that the meta package depends on now, or nothing.
assets_current_package() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9].*-amd64$/ { print $2; exit }'
}

# Resolve the package name, updating the apt lists once if they cannot name it.
assets_resolve_package() {
	local pkg
	pkg=$(assets_current_package) || true
	if [[ -z $pkg ]]; then
		e2e_log "apt lists do not name linux-image-amd64's kernel: running apt-get update"
		apt-get update -qq >&2 || e2e_log "apt-get update failed"
		pkg=$(assets_current_package) || true
	fi
	printf '%s\n' "$pkg"
}

# Newest complete kernel-<N> directory already in the cache (offline fallback).
assets_newest_cached() {
	local cache=$1 dir
	for dir in "$cache"/kernel-*/boot; do
		[[ -e $dir ]] && basename "$(dirname "$dir")"
	done | sort -V | tail -n 1 | grep .
}

# Download and unpack linux-image-<N>-amd64 into DIR (atomically), then run depmod.
assets_unpack_kernel() {
	local cache=$1 pkg=$2 kver=$3 dir=$4 tmp deb
	tmp=$(mktemp -d "$cache/.unpack.XXXXXX")
	# apt-get download runs as _apt: let it write here.
	chmod 755 "$tmp"
	e2e_log "downloading $pkg"
	(cd "$tmp" && apt-get download -q "$pkg" >&2) || {
		rm -rf "$tmp"
		e2e_die "apt-get download $pkg failed"
	}
	deb=$(echo "$tmp"/*.deb)
	dpkg-deb -x "$deb" "$tmp/root"
	depmod -b "$tmp/root" "$kver"
	rm -rf "$dir"
	mv "$tmp/root" "$dir"
	rm -rf "$tmp"
}

# Read a little-endian unsigned integer of SIZE bytes at OFFSET of FILE.
assets_read_le() {
	local file=$1 offset=$2 size=$3
	od -An -t "u$size" -j "$offset" -N "$size" "$file" | tr -d ' '
}

# Extract the ELF vmlinux from a bzImage: the setup header's payload_offset/payload_length
# locate the compressed kernel after the real-mode setup sectors (boot protocol >= 2.08).
assets_extract_vmlinux() {
	local bzimage=$1 out=$2 setup_sects version payload_offset payload_length start
	[[ $(od -An -c -j 514 -N 4 "$bzimage" | tr -d ' ') == HdrS ]] ||
		e2e_die "$bzimage: no bzImage setup header"
	version=$(assets_read_le "$bzimage" 518 2)
	((version >= 0x208)) || e2e_die "$bzimage: boot protocol $version has no payload fields"
	setup_sects=$(assets_read_le "$bzimage" 497 1)
	((setup_sects != 0)) || setup_sects=4
	payload_offset=$(assets_read_le "$bzimage" 584 4)
	payload_length=$(assets_read_le "$bzimage" 588 4)
	start=$(((setup_sects + 1) * 512 + payload_offset))
	# The payload ends with the kernel's 4-byte size trailer: --single-stream ignores it.
	dd if="$bzimage" iflag=skip_bytes,count_bytes skip="$start" count="$payload_length" \
		bs=1M status=none | xz -dc --single-stream >"$out.tmp.$$" || {
		rm -f "$out.tmp.$$"
		e2e_die "$bzimage: payload is not XZ"
	}
	[[ $(od -An -c -N 4 "$out.tmp.$$" | tr -d ' ') == 177ELF ]] || {
		rm -f "$out.tmp.$$"
		e2e_die "$bzimage: payload did not decompress to ELF"
	}
	mv "$out.tmp.$$" "$out"
}

# Set the asset paths for kernel 6.1.0-<N> (N given as "6.1.0-57") in CACHE.
assets_set_paths() {
	local cache=$1 n=$2
	KVER=$n-amd64
	KERNEL_DIR=$cache/kernel-$n
	MODULES_BASE=$KERNEL_DIR
	MODULES_DIR=$KERNEL_DIR/lib/modules/$KVER
	KERNEL=$KERNEL_DIR/boot/vmlinuz-$KVER
	VMLINUX=$KERNEL_DIR/vmlinux-$KVER
}

# Fetch and unpack what is missing, under a lock (two runs may share the cache).
assets_fill() {
	local cache=$1 pkg=$2 lock
	exec {lock}>"$cache/.assets.lock"
	flock "$lock"
	if [[ ! -f $KERNEL || ! -f $MODULES_DIR/modules.dep ]]; then
		[[ -n $pkg ]] || e2e_die "$KERNEL_DIR is incomplete and apt cannot name a kernel"
		assets_unpack_kernel "$cache" "$pkg" "$KVER" "$KERNEL_DIR"
	fi
	[[ -f $VMLINUX ]] || assets_extract_vmlinux "$KERNEL" "$VMLINUX"
	flock -u "$lock"
	exec {lock}>&-
}

# Set and export KERNEL VMLINUX MODULES_DIR MODULES_BASE KVER (and KERNEL_DIR).
# A complete cache is only read, so this also works on a read-only one (inside L1).
assets_prepare() {
	local cache pkg n
	cache=$(e2e_cache_dir)
	pkg=$(assets_resolve_package)
	if [[ -n $pkg ]]; then
		n=${pkg#linux-image-}
		n=${n%-amd64}
	else
		n=$(assets_newest_cached "$cache") ||
			e2e_die "cannot resolve linux-image-amd64 and nothing cached in $cache"
		n=${n#kernel-}
		e2e_log "offline: using cached kernel $n"
	fi
	assets_set_paths "$cache" "$n"
	if [[ ! -f $KERNEL || ! -f $MODULES_DIR/modules.dep || ! -f $VMLINUX ]]; then
		assets_fill "$cache" "$pkg"
	fi
	# A stable name for the example configs in configs/ (skipped where the cache is read-only).
	ln -sfn "$KERNEL" "$cache/vmlinuz" 2>/dev/null || true
	export KERNEL VMLINUX MODULES_DIR MODULES_BASE KVER KERNEL_DIR
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	assets_prepare
	printf 'KERNEL=%s\nVMLINUX=%s\nMODULES_DIR=%s\nMODULES_BASE=%s\nKVER=%s\n' \
		"$KERNEL" "$VMLINUX" "$MODULES_DIR" "$MODULES_BASE" "$KVER"
fi

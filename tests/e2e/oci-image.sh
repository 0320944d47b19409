#!/bin/bash
# oci-image.sh: build a busybox container image offline, as a `docker save` archive (docker load, ctr image import).
#
# Usage: oci-image.sh OUT.tar [NAME:TAG]      (default busybox:local)
# The root file system is the static busybox of this machine (MICROVM_E2E_BUSYBOX, default
# /bin/busybox) with its applet links and empty /proc /sys /dev /etc /tmp; the archive is
# one layer, its image config (rootfs.diff_ids) and manifest.json. ctr names the image
# docker.io/library/NAME:TAG. No registry is needed.
set -euo pipefail

oci_image_rootfs() {
	local root=$1 bb=$2 applet
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,etc,tmp,root,data}
	chmod 1777 "$root/tmp"
	cp "$bb" "$root/bin/busybox"
	# A file, not <(...): the nested helper VM has no /dev/fd.
	"$bb" --list-full >"$root/.applets"
	while read -r applet; do
		[[ -n $applet && $applet != bin/busybox && ! -e $root/$applet ]] &&
			ln -s /bin/busybox "$root/$applet"
	done <"$root/.applets"
	rm "$root/.applets"
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' \
		>"$root/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
}

oci_image_main() {
	local out=$1 ref=${2:-busybox:local} bb=${MICROVM_E2E_BUSYBOX:-/bin/busybox}
	local name=${ref%%:*} tag=${ref#*:} stage layer_sha config config_sha
	[[ -x $bb ]] || { echo "oci-image.sh: $bb: no busybox" >&2; exit 1; }
	stage=$(mktemp -d "${TMPDIR:-/tmp}/oci-image.XXXXXX")
	# shellcheck disable=SC2064 # expand now: the path is fixed
	trap "rm -rf '$stage'" EXIT
	oci_image_rootfs "$stage/rootfs" "$bb"
	tar -C "$stage/rootfs" --numeric-owner --owner=0 --group=0 -cf "$stage/layer.tar" .
	layer_sha=$(sha256sum "$stage/layer.tar" | cut -d' ' -f1)
	mkdir "$stage/out" "$stage/out/$layer_sha"
	mv "$stage/layer.tar" "$stage/out/$layer_sha/layer.tar"
	echo '1.0' >"$stage/out/$layer_sha/VERSION"
	printf '{"id":"%s"}\n' "$layer_sha" >"$stage/out/$layer_sha/json"
	config=$(printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=%s"],"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
		/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$layer_sha")
	config_sha=$(printf '%s' "$config" | sha256sum | cut -d' ' -f1)
	printf '%s' "$config" >"$stage/out/$config_sha.json"
	printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]\n' \
		"$config_sha" "$ref" "$layer_sha" >"$stage/out/manifest.json"
	printf '{"%s":{"%s":"%s"}}\n' "$name" "$tag" "$layer_sha" >"$stage/out/repositories"
	tar -C "$stage/out" -cf "$out" .
}

oci_image_main "$@"

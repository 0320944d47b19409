#!/bin/bash
# setup.sh: install every Debian package that building and testing microvm needs.
#
# Idempotent and quiet: when everything is installed it prints nothing and changes nothing;
# otherwise it runs apt-get update once and installs only what is missing.
set -euo pipefail

PACKAGES=(
	# build
	build-essential autoconf automake libtool pkg-config
	libseccomp-dev libyaml-dev check
	# man pages, lint
	mandoc shellcheck
	# ACPI tables: iasl disassembles what microvm builds
	acpica-tools
	# end-to-end tests: guest kernel download and unpack, initramfs, reference and helper VM
	apt dpkg kmod xz-utils cpio gzip busybox-static qemu-system-x86
	coreutils util-linux procps
	python3
	# host-side FUSE tests: data verification, file stressors, xattr tools
	fio stress-ng attr
	# fuzz targets (make fuzz): clang with libFuzzer and the sanitizers
	clang
	# runtime mode end to end and bench: real containerd and dockerd (services unused)
	containerd runc docker.io curl
)

missing=()
for pkg in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}\n' "$pkg" 2>/dev/null | grep -q '^install ok installed$' ||
		missing+=("$pkg")
done
((${#missing[@]} > 0)) || exit 0

if ((EUID != 0)); then
	command -v sudo >/dev/null || {
		echo "setup.sh: need root to install: ${missing[*]}" >&2
		exit 1
	}
	exec sudo "$0" "$@"
fi

echo "setup.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

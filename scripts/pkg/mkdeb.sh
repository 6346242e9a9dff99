#!/usr/bin/env bash
# mkdeb.sh OUT VERSION RELEASE: OUT/vipd_<version>_<arch>.deb from a
# staging dir filled by `make install` (prefix /usr, the unit in
# /lib/systemd/system as Debian 12 ships units). Run by `make deb`.
set -euo pipefail
out_dir=$1 version=$2 release=$3
src=$(cd "$(dirname "$0")/../.." && pwd)
pkg=$src/scripts/pkg
for tool in dpkg-deb dpkg-shlibdeps strip gzip; do
	command -v "$tool" >/dev/null || { echo "mkdeb: $tool not found (make deps)" >&2; exit 1; }
done

# The upstream part of a Debian version sorts by its start: git describe's
# "0.1.0-5-gabc" or a bare "9fb8134" become 0.1.0+git5.abc and
# RELEASE+git9fb8134 (no hyphen: that would start the Debian revision).
# The package's own revision is -1: a packaging of upstream code, whose
# changelog Debian names changelog.Debian.gz.
deb_version() {
	local v=${1#v} dirty=
	[[ $v == *-dirty ]] && { dirty=.dirty; v=${v%-dirty}; }
	if [[ $v =~ ^([0-9][0-9.]*)-([0-9]+)-g([0-9a-f]+)$ ]]; then
		v=${BASH_REMATCH[1]}+git${BASH_REMATCH[2]}.${BASH_REMATCH[3]}
	elif [[ $v =~ ^[0-9a-f]{7,40}$ ]]; then
		v=$release+git$v
	elif ! [[ $v =~ ^[0-9][0-9A-Za-z.+~]*$ ]]; then
		echo "mkdeb: version '$1': no Debian version maps from it" >&2
		exit 1
	fi
	echo "$v$dirty"
}
ver=$(deb_version "$version")-1
arch=$(dpkg --print-architecture)
maint=${DEB_MAINTAINER:-$(git -C "$src" log -1 --format='%an <%ae>' 2>/dev/null || true)}
[[ -n $maint ]] || maint="vipd maintainers <root@localhost>"

mkdir -p "$out_dir"
out_dir=$(cd "$out_dir" && pwd)
work=$(mktemp -d "$out_dir/deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
stage=$work/root
# -o all: make deb has built the programs; stage them as they are.
${MAKE:-make} -s --no-print-directory -C "$src" -o all install DESTDIR="$stage" PREFIX=/usr \
	SYSTEMDUNITDIR=/lib/systemd/system VERSION="$version" >/dev/null
# Debian ships stripped binaries (the debug symbols would go to a -dbgsym).
strip --strip-unneeded --remove-section=.comment --remove-section=.note \
	"$stage/usr/sbin/vipd" "$stage/usr/bin/vipctl"

doc=$stage/usr/share/doc/vipd
install -m 0644 "$pkg/debian/copyright" "$doc/copyright"
{
	echo "vipd ($ver) unstable; urgency=medium"
	echo
	echo "  * Built from vipd $version."
	echo
	echo " -- $maint  $(date -R -d "@${SOURCE_DATE_EPOCH:-$(git -C "$src" log -1 --format=%ct 2>/dev/null || date +%s)}")"
} | gzip -9n >"$doc/changelog.Debian.gz"
chmod 0644 "$doc/changelog.Debian.gz"
install -D -m 0644 "$pkg/vipd.default" "$stage/etc/default/vipd"
# An empty services file: the default VIPD_OPTS point at it, so vipd starts
# and routes nothing until it is filled (or the options name etcd, Docker).
install -D -m 0644 "$pkg/debian/services.json" "$stage/etc/vipd/services.json"

# dpkg-shlibdeps wants a debian/control to read, even with -O.
mkdir -p "$work/src/debian"
printf 'Source: vipd\n\nPackage: vipd\nArchitecture: any\n' >"$work/src/debian/control"
depends=$(cd "$work/src" && dpkg-shlibdeps -O -e"$stage/usr/sbin/vipd" -e"$stage/usr/bin/vipctl" 2>/dev/null)
depends=${depends#shlibs:Depends=}
[[ -n $depends ]] || { echo "mkdeb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

# Debian's process wants an ITP bug closed by a first upload; this package
# is built locally, outside the archive.
install -D -m 0644 /dev/stdin "$stage/usr/share/lintian/overrides/vipd" <<<'vipd: initial-upload-closes-no-bugs'

mkdir -m 0755 "$stage/DEBIAN"
(cd "$stage" && find . \( -path ./etc -o -path ./DEBIAN \) -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z |
	xargs -0 md5sum >DEBIAN/md5sums)
cat >"$stage/DEBIAN/control" <<CONTROL
Package: vipd
Version: $ver
Architecture: $arch
Maintainer: $maint
Installed-Size: $(du -sk --exclude=DEBIAN "$stage" | cut -f1)
Depends: $depends
Recommends: nftables, conntrack
Section: net
Priority: optional
Description: node-level service router on nftables
 vipd gives every service a stable virtual IP and port and routes clients
 that connect to it, inside the kernel, to the service's live backends:
 nftables DNAT maps, programmed over netlink from etcd, Docker container
 labels or a services file. vipctl manages the etcd registry, checks
 services files and shows what a node's vipd applied.
CONTROL
printf '/etc/default/vipd\n/etc/vipd/services.json\n' >"$stage/DEBIAN/conffiles"
install -m 0755 "$pkg/debian/postinst" "$pkg/debian/prerm" "$pkg/debian/postrm" "$stage/DEBIAN/"
chmod 0644 "$stage/DEBIAN/control" "$stage/DEBIAN/conffiles" "$stage/DEBIAN/md5sums"

out=$out_dir/vipd_${ver}_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$stage" "$out" >/dev/null
echo "$out"

#!/usr/bin/env bash
# make install, the man pages, the systemd unit and make deb, as an
# operator meets them. No namespace, no nftables: everything is written
# under $tmp (DESTDIR, a throwaway dpkg root), and the host is checked to
# be left as it was. Skips (exit 0, "skip:") only when a tool is missing.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

VIPCTL=${VIPCTL:-$root_dir/vipctl}
for tool in make groff man systemd-analyze dpkg dpkg-deb dpkg-shlibdeps lintian readelf strip socat unshare; do
	command -v "$tool" >/dev/null || { echo "skip: $tool not installed (make deps)"; exit 0; }
done
[[ -x $VIPD && -x $VIPCTL ]] || fail "build vipd and vipctl first (make)"
# -o all: install the programs as built, write nothing into the build dir.
mk() { make -s --no-print-directory -C "$root_dir" -o all "$@"; }

# files DIR: every file and link under DIR, "MODE PATH", sorted.
files() { (cd "$1" && find . -mindepth 1 \( -type f -o -type l \) -printf '%m %P\n' | LC_ALL=C sort -k2); }
# long_flags: the --flags in stdin, sorted, one a line.
long_flags() { grep -oE -- '--[a-z][a-z0-9-]*[a-z0-9]' | LC_ALL=C sort -u; }
# undocumented HELP MANTEXT: flags of HELP that MANTEXT never names.
undocumented() { LC_ALL=C comm -23 <(long_flags <<<"$1") <(long_flags <<<"$2"); }
render() { LC_ALL=C.UTF-8 MANWIDTH=200 man -l "$1" 2>/dev/null; }

say "man pages render without warnings"
for page in vipd vipctl; do
	src=$root_dir/scripts/pkg/$page.8
	out=$(groff -man -ww -z "$src" 2>&1)
	assert_eq "$out" "" "groff -man -ww -z $page.8"
	# lintian's check, word for word
	out=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$src" 2>&1 >/dev/null)
	assert_eq "$out" "" "man --warnings $page.8"
	for section in NAME SYNOPSIS DESCRIPTION 'EXIT STATUS' ENVIRONMENT FILES EXAMPLES 'SEE ALSO'; do
		grep -qx "\.SH \"\?$section\"\?" "$src" || fail "$page.8 has no $section section"
	done
done

say "the man pages name every flag that --help prints"
vipd_man=$(render "$root_dir/scripts/pkg/vipd.8")
vipctl_man=$(render "$root_dir/scripts/pkg/vipctl.8")
# The comparison itself must see a flag that is missing.
assert_eq "$(undocumented '--etcd-prefix --no-such-flag' "$vipd_man")" "--no-such-flag" "self-check"
help=$("$VIPD" --help 2>&1) || fail "vipd --help: exit $?"
[[ $(long_flags <<<"$help" | wc -l) -ge 20 ]] || fail "vipd --help lists too few flags: $help"
missing=$(undocumented "$help" "$vipd_man")
[[ -z $missing ]] || fail "vipd.8 lacks flags of vipd --help: $(tr '\n' ' ' <<<"$missing")"
# Per-command help, where this vipctl has it; in an empty network
# namespace, so that nothing it might try reaches a real etcd.
help=$("$VIPCTL" --help 2>&1) || fail "vipctl --help: exit $?"
for cmd in service 'service add' endpoint 'endpoint add' check status; do
	# shellcheck disable=SC2086 # "service add": two words
	help+=$'\n'$(unshare -n timeout 5 "$VIPCTL" $cmd --help 2>&1) || true
	# shellcheck disable=SC2086
	help+=$'\n'$(unshare -n timeout 5 "$VIPCTL" help $cmd 2>&1) || true
done
[[ $(long_flags <<<"$help" | wc -l) -ge 8 ]] || fail "vipctl --help lists too few flags: $help"
missing=$(undocumented "$help" "$vipctl_man")
[[ -z $missing ]] || fail "vipctl.8 lacks flags of vipctl --help: $(tr '\n' ' ' <<<"$missing")"
# The flags of this round, whether or not --help shows them yet.
missing=$(undocumented '--metrics --state-dir --source-wait --log-format --cleanup' "$vipd_man")
[[ -z $missing ]] || fail "vipd.8 lacks $missing"
missing=$(undocumented '--vipd --json --from-json --ttl --not-ready' "$vipctl_man")
[[ -z $missing ]] || fail "vipctl.8 lacks $missing"
grep -q '^ *status \[SERVICE\]' <<<"$vipctl_man" || fail "vipctl.8 does not document status"

say "make install DESTDIR: the expected files, modes, and nothing else"
dest=$tmp/dest prefix=/opt/vipd-test-$$
mk install DESTDIR="$dest" PREFIX="$prefix" >/dev/null
[[ ! -e $prefix ]] || fail "make install wrote $prefix outside DESTDIR"
expected="755 ${prefix#/}/bin/vipctl
644 ${prefix#/}/lib/systemd/system/vipd.service
755 ${prefix#/}/sbin/vipd
644 ${prefix#/}/share/doc/vipd/services.example.json
644 ${prefix#/}/share/doc/vipd/vipd.default
644 ${prefix#/}/share/man/man8/vipctl.8.gz
644 ${prefix#/}/share/man/man8/vipd.8.gz"
assert_eq "$(files "$dest")" "$expected" "files under DESTDIR"
unit=$dest$prefix/lib/systemd/system/vipd.service
assert_eq "$(grep '^ExecStart=' "$unit")" "ExecStart=$prefix/sbin/vipd \$VIPD_OPTS" "the unit's ExecStart"
grep -qx 'CapabilityBoundingSet=CAP_NET_ADMIN' "$unit" || fail "unit: capabilities beyond CAP_NET_ADMIN"
! grep -qE '^[^#]*CAP_SYS_ADMIN|^PrivateNetwork=' "$unit" || fail "unit: CAP_SYS_ADMIN or PrivateNetwork"
for line in ProtectSystem=strict EnvironmentFile=-/etc/default/vipd Restart=always StateDirectory=vipd; do
	grep -qx "$line" "$unit" || fail "unit lacks $line"
done
cmp -s <(zcat "$dest$prefix/share/man/man8/vipd.8.gz") "$root_dir/scripts/pkg/vipd.8" ||
	fail "the installed vipd.8.gz is not scripts/pkg/vipd.8"
"$dest$prefix/sbin/vipd" --version | grep -q '^vipd ' || fail "the installed vipd does not run"
# The examples work as shipped.
"$VIPCTL" check "$dest$prefix/share/doc/vipd/services.example.json" >/dev/null ||
	fail "services.example.json: vipctl check refuses it"
"$VIPD" --dry-run --services-file "$dest$prefix/share/doc/vipd/services.example.json" 2>/dev/null |
	grep -q 10.96.0.10 || fail "services.example.json: vipd --dry-run programs no VIP from it"
# shellcheck disable=SC2016
opts=$(env -i sh -c '. "$1" && echo "$VIPD_OPTS"' _ "$dest$prefix/share/doc/vipd/vipd.default")
assert_eq "$opts" "--services-file /etc/vipd/services.json" "VIPD_OPTS of vipd.default"
mk uninstall DESTDIR="$dest" PREFIX="$prefix" >/dev/null
assert_eq "$(files "$dest")" "" "files left by make uninstall"
[[ ! -e $dest$prefix/share/doc/vipd ]] || fail "make uninstall left share/doc/vipd"

say "systemd-analyze verify: the installed unit, ExecStart a real path"
real=$tmp/real
mk install PREFIX="$real/usr" >/dev/null
unit=$real/usr/lib/systemd/system/vipd.service
# MANPATH: verify also opens the Documentation= man pages.
out=$(MANPATH=$real/usr/share/man systemd-analyze verify "$unit" 2>&1) || fail "systemd-analyze verify: $out"
assert_eq "$out" "" "systemd-analyze verify"
# ... and it does complain of a broken unit.
mkdir -p "$tmp/broken"
sed 's/^Restart=always/&\nRestartt=always/' "$unit" >"$tmp/broken/vipd.service"
out=$(MANPATH=$real/usr/share/man systemd-analyze verify "$tmp/broken/vipd.service" 2>&1) || true
[[ $out == *Restartt* ]] || fail "systemd-analyze verify accepts a misspelt key: $out"

say "ProtectSystem=strict: a socket on a read-only mount still connects"
mkdir -p "$tmp/run"
socat UNIX-LISTEN:"$tmp/run/docker.sock",fork SYSTEM:'echo pong' &
pids+=($!)
within 5 test -S "$tmp/run/docker.sock" || fail "socat: no socket"
# shellcheck disable=SC2016
out=$(unshare -m sh -c 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" &&
	! touch "$1/x" 2>/dev/null && socat -T2 - UNIX-CONNECT:"$1/docker.sock" </dev/null' _ "$tmp/run") ||
	fail "connect on a read-only mount: $out"
assert_eq "$out" "pong" "a reply through the socket on a read-only mount"

say "make deb: contents, stripped, installs into a throwaway root"
mk deb DEB_OUT="$tmp/deb" >/dev/null
debs=("$tmp"/deb/vipd_*.deb)
[[ ${#debs[@]} -eq 1 && -f ${debs[0]} ]] || fail "make deb: want one .deb in $tmp/deb: ${debs[*]}"
deb=${debs[0]}
ver=$(dpkg-deb -f "$deb" Version)
[[ $(basename "$deb") == "vipd_${ver}_$(dpkg --print-architecture).deb" ]] || fail "name $(basename "$deb")"
dpkg --compare-versions "$ver" gt 0 || fail "version $ver"
[[ $ver =~ ^[0-9][A-Za-z0-9.+~]*-[0-9]+$ ]] || fail "version $ver: not upstream-revision"
[[ $(dpkg-deb -f "$deb" Depends) == *libnftnl* ]] || fail "Depends: $(dpkg-deb -f "$deb" Depends)"
contents=$(dpkg-deb -c "$deb" | awk '$1 !~ /^d/ { print $2, $6 }' | sed 's| \./| |' | LC_ALL=C sort -k2)
want="root/root etc/default/vipd
root/root etc/vipd/services.json
root/root lib/systemd/system/vipd.service
root/root usr/bin/vipctl
root/root usr/sbin/vipd
root/root usr/share/doc/vipd/changelog.Debian.gz
root/root usr/share/doc/vipd/copyright
root/root usr/share/doc/vipd/services.example.json
root/root usr/share/doc/vipd/vipd.default
root/root usr/share/lintian/overrides/vipd
root/root usr/share/man/man8/vipctl.8.gz
root/root usr/share/man/man8/vipd.8.gz"
assert_eq "$contents" "$want" "files in the .deb"
mkdir -p "$tmp/x" && dpkg-deb -x "$deb" "$tmp/x"
for bin in usr/sbin/vipd usr/bin/vipctl; do
	! readelf -S "$tmp/x/$bin" | grep -qE '\.symtab|\.debug_' || fail "$bin is not stripped"
done
assert_eq "$(grep '^ExecStart=' "$tmp/x/lib/systemd/system/vipd.service")" \
	"ExecStart=/usr/sbin/vipd \$VIPD_OPTS" "the packaged unit's ExecStart"
assert_eq "$(dpkg-deb -I "$deb" conffiles)" $'/etc/default/vipd\n/etc/vipd/services.json' "conffiles"
"$VIPCTL" check "$tmp/x/etc/vipd/services.json" >/dev/null || fail "the packaged services.json is refused"

R=$tmp/root
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates"
touch "$R/var/lib/dpkg/status" "$R/var/lib/dpkg/available"
host_link=/etc/systemd/system/multi-user.target.wants/vipd.service
host_had=0
[[ ! -e $host_link && ! -L $host_link ]] || host_had=1
# chrootless: the maintainer scripts run here, with $DPKG_ROOT=$R, and
# must touch nothing but $R (the root has no shell to chroot into).
dpkgr() { dpkg --root="$R" --log="$tmp/dpkg.log" --force-script-chrootless "$@"; }
out=$(dpkgr --force-depends -i "$deb" 2>&1) || fail "dpkg -i: $out"
for f in usr/sbin/vipd usr/bin/vipctl lib/systemd/system/vipd.service etc/default/vipd \
	usr/share/man/man8/vipd.8.gz usr/share/doc/vipd/copyright; do
	[[ -f $R/$f ]] || fail "dpkg -i: no $f in the root"
done
"$R/usr/sbin/vipd" --version | grep -q '^vipd ' || fail "the packaged vipd --version"
"$R/usr/bin/vipctl" --version | grep -q '^vipctl ' || fail "the packaged vipctl --version"
[[ -L $R$host_link ]] || fail "postinst did not enable vipd.service in the root"
[[ $host_had == 1 || ! -e $host_link ]] || fail "postinst enabled vipd.service on the host"
mkdir -p "$R/var/lib/vipd" && echo '{}' >"$R/var/lib/vipd/state.json"
out=$(dpkgr --purge vipd 2>&1) || fail "dpkg --purge: $out"
[[ ! -e $R/usr/sbin/vipd && ! -e $R/etc/default/vipd ]] || fail "dpkg --purge left files"
[[ ! -e $R/var/lib/vipd ]] || fail "postrm purge left /var/lib/vipd"
[[ ! -L $R$host_link ]] || fail "postrm purge left vipd.service enabled"

say "lintian: no errors"
out=$(lintian "$deb" 2>/dev/null) || true
grep '^W:' <<<"$out" || true
! grep -q '^E:' <<<"$out" || fail "lintian: $(grep '^E:' <<<"$out")"
say "ok"

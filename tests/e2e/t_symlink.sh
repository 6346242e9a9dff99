#!/usr/bin/env bash
# A services file that is a symbolic link is followed: its target rewritten
# in place, its target replaced by a rename, and a Kubernetes ConfigMap
# swap (services.json -> ..data/services.json, ..data -> ..v1 replaced by a
# rename to ..v2) each reach the kernel within 2 s.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

topo_up 3
for i in 1 2 3; do start_httpd "$i"; done
backends() { pn nft list map ip vipd backends 2>/dev/null | grep -oE '10\.250\.2\.1[0-9] \. 8080' | sort -u | awk '{ printf "%s ", $1 }'; }
has() { [[ $(backends) == "$1" ]]; }
expect() {
	local t0
	t0=$(now_ms)
	since_ms=$t0 within 2 has "$1" || fail "$2: backends [$(backends)], want [$1] 2 s after the change"
	echo "$2: in the kernel $(($(now_ms) - t0)) ms after the change"
}

say "a link to a file in another directory"
mkdir -p "$tmp/etc" "$tmp/real"
web_json random "$(ep 1)" >"$tmp/real/web.json"
ln -s "$tmp/real/web.json" "$tmp/etc/services.json"
start_vipd "$tmp/etc/services.json"
expect "10.250.2.11 " "start"
web_json random "$(ep 2)" >"$tmp/real/web.json"
expect "10.250.2.12 " "target rewritten in place"
web_json random "$(ep 3)" | put_file "$tmp/real/web.json"
expect "10.250.2.13 " "target replaced by a rename"
stop_vipd TERM

say "a ConfigMap volume: ..data swapped by a rename"
cm=$tmp/cm
mkdir -p "$cm/..v1"
web_json random "$(ep 1)" >"$cm/..v1/services.json"
ln -s ..v1 "$cm/..data"
ln -s ..data/services.json "$cm/services.json"
start_vipd "$cm/services.json"
expect "10.250.2.11 " "start"
mkdir -p "$cm/..v2"
web_json random "$(ep 1)" "$(ep 2)" >"$cm/..v2/services.json"
ln -s ..v2 "$cm/..data_tmp"
mv -T "$cm/..data_tmp" "$cm/..data"
rm -rf "$cm/..v1"
expect "10.250.2.11 10.250.2.12 " "..data swapped to ..v2"
mkdir -p "$cm/..v3"
web_json random "$(ep 3)" >"$cm/..v3/services.json"
ln -s ..v3 "$cm/..data_tmp"
mv -T "$cm/..data_tmp" "$cm/..data"
rm -rf "$cm/..v2"
expect "10.250.2.13 " "..data swapped again to ..v3"
assert_alive "$vipd_pid" vipd

#!/usr/bin/env bash
# Round robin is strict per service: two round-robin services with the same
# slot count, reached in turn by one client, each deal all their backends
# in turn (with one shared counter, each would see only every other pick).
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

topo_up 2
for i in 1 2; do start_httpd "$i"; done
f=$tmp/services.json
port='"ports":[{"name":"http","port":80,"protocol":"tcp","target_port":8080}],"algorithm":"round-robin"'
echo "{\"services\":{\"web\":{\"vip\":\"10.96.0.10\",$port},\"api\":{\"vip\":\"10.96.0.11\",$port}},
 \"endpoints\":{\"web\":{$(ep 1),$(ep 2)},\"api\":{$(ep 1),$(ep 2)}}}" | put_file "$f"
start_vipd "$f"
wait_vip 10.96.0.10
wait_vip 10.96.0.11

say "40 connections, web and api in turn"
for ((k = 0; k < 20; k++)); do
	pc curl -s --max-time 2 http://10.96.0.10/ >>"$tmp/web"
	pc curl -s --max-time 2 http://10.96.0.11/ >>"$tmp/api"
done
for s in web api; do
	out=$(sort "$tmp/$s" | uniq -c | awk '{ print $2, $1 }')
	echo "$s: $out"
	assert_eq "$(hits b1 "$out")" 10 "$s connections to b1"
	assert_eq "$(hits b2 "$out")" 10 "$s connections to b2"
done
n=$(pn nft list table ip vipd | grep -c '^\s*chain rr-2-' || true)
assert_eq "$n" 2 "round-robin chains (one per frontend)"
echo PASS

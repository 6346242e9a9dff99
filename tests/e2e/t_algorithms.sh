#!/usr/bin/env bash
# round-robin deals new connections in turn (300 over 3 backends: 100 each);
# source-hash keeps every connection of one client on one backend.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

topo_up 3
for i in 1 2 3; do start_httpd "$i"; done
f=$tmp/services.json
web_json round-robin "$(ep 1)" "$(ep 2)" "$(ep 3)" | put_file "$f"
start_vipd "$f"
wait_vip 10.96.0.10

say "round-robin: 300 connections"
out=$(count_backends 10.96.0.10 80 300)
echo "$out"
for b in b1 b2 b3; do assert_eq "$(hits "$b" "$out")" 100 "connections to $b"; done

say "source-hash: 100 connections from one client"
t0=$(now_ms)
web_json source-hash "$(ep 1)" "$(ep 2)" "$(ep 3)" | put_file "$f"
sh_class() { pn nft list map ip vipd services | grep -q 'goto sh-'; }
since_ms=$t0 within 1 sh_class || fail "service not moved to a source-hash class chain 1 s after the change"
out=$(count_backends 10.96.0.10 80 100)
echo "$out"
assert_eq "$(total "$out")" 100 "answered requests"
assert_eq "$(wc -l <<<"$out")" 1 "backends seen by one client"
assert_alive "$vipd_pid" vipd

#!/usr/bin/env bash
# Three backends behind one VIP: every request is answered and each backend
# takes a fair share of the new connections.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

topo_up 3
for i in 1 2 3; do start_httpd "$i"; done
web_json random "$(ep 1)" "$(ep 2)" "$(ep 3)" | put_file "$tmp/services.json"
start_vipd "$tmp/services.json"
wait_vip 10.96.0.10

say "300 connections to 10.96.0.10:80"
out=$(count_backends 10.96.0.10 80 300)
echo "$out"
assert_eq "$(total "$out")" 300 "answered requests"
for b in b1 b2 b3; do
	assert_ge "$(hits "$b" "$out")" 46 "connections to $b (more than 15% of 300)"
done
assert_alive "$vipd_pid" vipd

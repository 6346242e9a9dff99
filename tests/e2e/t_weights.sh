#!/usr/bin/env bash
# Weights 25 and 100: the heavy backend takes 80% (+-7%) of new connections.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

topo_up 2
start_httpd 1
start_httpd 2
web_json random "$(ep 1 25)" "$(ep 2 100)" | put_file "$tmp/services.json"
start_vipd "$tmp/services.json"
wait_vip 10.96.0.10

say "500 connections, weights b1=25 b2=100"
out=$(count_backends 10.96.0.10 80 500)
echo "$out"
assert_eq "$(total "$out")" 500 "answered requests"
heavy=$(hits b2 "$out")
assert_ge "$heavy" 365 "connections to b2 (80% - 7% of 500)"
assert_le "$heavy" 435 "connections to b2 (80% + 7% of 500)"
assert_alive "$vipd_pid" vipd

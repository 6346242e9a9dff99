#!/usr/bin/env bash
# SIGHUP makes vipd read its sources and the kernel again and repair foreign
# edits of its tables: a deleted VIP, a deleted rule, a stray backend and a
# deleted ip6 table all come back as vipd wants them, and traffic flows.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

topo_up 2
start_httpd 1
start_httpd 2
f=$tmp/services.json
web_json random "$(ep 1)" "$(ep 2)" | put_file "$f"
start_vipd "$f"
wait_vip 10.96.0.10
want=$(pn nft -s list ruleset)

say "foreign edits of vipd's tables"
pn nft delete element ip vipd services '{ 10.96.0.10 . tcp . 80 }'
pn nft add element ip vipd backends '{ 10.96.0.10 . tcp . 80 . 7 : 10.250.9.9 . 9 }'
handle=$(pn nft -a list chain ip vipd prerouting | awk '/vmap @services/ { print $NF }')
pn nft delete rule ip vipd prerouting handle "$handle"
pn nft delete table ip6 vipd
out=$(count_backends 10.96.0.10 80 2)
assert_eq "$(total "$out")" 0 "requests answered with the VIP deleted by hand"

say "SIGHUP repairs them"
t0=$(now_ms)
kill -HUP "$vipd_pid"
repaired() { [[ $(pn nft -s list ruleset) == "$want" ]]; }
since_ms=$t0 within 2 repaired || { diff <(echo "$want") <(pn nft -s list ruleset); fail "ruleset not repaired 2 s after SIGHUP"; }
out=$(count_backends 10.96.0.10 80 50)
echo "$out"
assert_eq "$(total "$out")" 50 "answered requests after the repair"
assert_alive "$vipd_pid" vipd

#!/usr/bin/env bash
# The kernel keeps routing while vipd is down, and a restarted vipd adopts
# its tables without a flush: a client hammering the VIP through two
# `kill -9` restarts and one SIGTERM restart sees no failed request, and the
# ruleset after each restart (and after a SIGHUP resync) is the one before.
# A file changed while vipd was down: the restart ends with the ruleset a
# fresh start would program.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

topo_up 2
start_httpd 1
start_httpd 2
f=$tmp/services.json
web_json random "$(ep 1)" "$(ep 2)" | put_file "$f"
start_vipd "$f"
wait_vip 10.96.0.10
before=$(pn nft -s list ruleset | static_rules)

bg_ns "$node" nft monitor >"$tmp/monitor" 2>"$tmp/monitor.err"
# shellcheck disable=SC2016 # expanded by the inner bash
# At most 2000 requests or 20 s; stops early when $tmp/stop appears.
bg_ns "$client" bash -c '
	ok=0 bad=0
	for ((i = 0; i < 2000 && SECONDS < 20; i++)); do
		[[ -e $1 ]] && break
		r=$(curl -s --max-time 1 http://10.96.0.10/)
		if [[ $r == b[12] ]]; then ok=$((ok + 1)); else bad=$((bad + 1)); echo "request $i failed at $(date +%T.%N)" >&2; fi
		sleep 0.01
	done
	echo "$ok $bad"' _ "$tmp/stop" >"$tmp/loop" 2>"$tmp/loop.err"
loop_pid=$!
sleep 0.5

restart() {
	say "SIG$1 vipd, 0.5 s down, start it again"
	stop_vipd "$1"
	echo "vipd exited with status $vipd_status"
	sleep 0.5
	vip_in_map 10.96.0.10 || fail "VIP left the map while vipd was down (SIG$1)"
	start_vipd "$f"
	sleep 1 # read back and converge
	assert_alive "$vipd_pid" "restarted vipd"
	after=$(pn nft -s list ruleset | static_rules)
	[[ $after == "$before" ]] || { diff <(echo "$before") <(echo "$after"); fail "ruleset changed across a restart (SIG$1)"; }
}
say "SIGHUP: full resync, nothing changes"
kill -HUP "$vipd_pid"
sleep 1
assert_alive "$vipd_pid" "vipd after SIGHUP"
after=$(pn nft -s list ruleset | static_rules)
[[ $after == "$before" ]] || { diff <(echo "$before") <(echo "$after"); fail "ruleset changed after SIGHUP on an unchanged file"; }
restart KILL
restart KILL
restart TERM

touch "$tmp/stop"
for ((i = 0; i < 100; i++)); do running "$loop_pid" || break; sleep 0.05; done
wait "$loop_pid" || fail "client loop did not finish"
read -r ok bad <"$tmp/loop"
echo "client: $ok answered, $bad failed"
cat "$tmp/loop.err"
assert_eq "$bad" 0 "failed requests during restarts"
assert_ge "$ok" 100 "answered requests during restarts"
# Rules may be rewritten in place (same batch, same text); tables, chains,
# maps, sets and their elements must stay.
if grep -E '^(delete|destroy) (table|chain|map|set|element) |^flush ' "$tmp/monitor"; then
	fail "vipd deleted or flushed kernel objects while restarting on an unchanged file"
fi

# canon: a ruleset with one element per line, sorted, slot numbers blanked.
# Random and round-robin backends keep the slots they held (fewer changes),
# so which slot a backend sits in depends on history; how many it holds,
# and everything else, must not.
canon() {
	sed -E 's/^[[:space:]]*(elements = \{ )?//; s/ \. [0-9]+ comment/ . N comment/; s/,$//; s/ \}$//' | sort
}

# down_change: stop vipd, rewrite the file from stdin, start vipd again; its
# ruleset must become the one a fresh --once of the new file programs.
fresh=vipd-fresh-$$
ns_add "$fresh"
down_change() {
	stop_vipd TERM
	put_file "$f"
	start_vipd "$f"
	ip netns exec "$fresh" "$VIPD" --services-file "$f" --cleanup 2>>"$vipd_log"
	ip netns exec "$fresh" "$VIPD" --services-file "$f" --once 2>>"$vipd_log" || fail "vipd --once exited with status $?"
	same() { [[ $(pn nft -s list ruleset | static_rules | canon) == $(ip netns exec "$fresh" nft -s list ruleset | static_rules | canon) ]]; }
	within 2 same || {
		diff <(pn nft -s list ruleset | canon) <(ip netns exec "$fresh" nft -s list ruleset | canon)
		fail "restarted vipd did not converge to the ruleset of a fresh start"
	}
}

say "service and endpoints renamed while vipd was down"
down_change <<'EOF2'
{"services":{"shop":{"vip":"10.96.0.10","ports":[{"name":"www","port":80,"protocol":"tcp","target_port":8080}],"algorithm":"random"}},
 "endpoints":{"shop":{"s1":{"ip":"10.250.2.11","port":8080,"weight":100},"s2":{"ip":"10.250.2.12","port":8080,"weight":100}}}}
EOF2

say "algorithm and weights changed while vipd was down"
down_change <<'EOF2'
{"services":{"shop":{"vip":"10.96.0.10","ports":[{"name":"www","port":80,"protocol":"tcp","target_port":8080}],"algorithm":"round-robin"}},
 "endpoints":{"shop":{"s1":{"ip":"10.250.2.11","port":8080,"weight":50},"s2":{"ip":"10.250.2.12","port":8080,"weight":100}}}}
EOF2
out=$(count_backends 10.96.0.10 80 30)
echo "$out"
assert_eq "$(hits b1 "$out")" 10 "round-robin connections to b1 (weight 50)"
assert_eq "$(hits b2 "$out")" 20 "round-robin connections to b2 (weight 100)"

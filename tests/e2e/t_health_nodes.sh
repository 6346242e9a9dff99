#!/usr/bin/env bash
# Health checks across two nodes sharing one etcd. Service web has a TCP
# check (interval 300 ms, fall 3, rise 2) and slow_start 6; its endpoints
# are written with vipctl: b1 on node-b, b2 and b3 on node-a. Each vipd
# probes only its own node's endpoints and publishes its verdict under
# <prefix>/health/web/<id> (its own lease); the other vipd follows that
# verdict and never probes the backend itself.
#
#   ┌ $client ────────┐   ┌ $node (node A) ───────────────┐   ┌ $node2 (node B) ──────────┐
#   │ 10.250.1.2      ├───┤ 10.250.1.1  br0 10.250.2.1    ├───┤ eth0 10.250.2.2           │
#   │ curl 10.96.0.10 │   │ etcd m1 http://10.250.2.1:2379│   │ vipd B --node-name node-b │
#   └─────────────────┘   │ vipd A --node-name node-a     │   │   (log $vipd_b_log)       │
#                         └──┬──────────┬──────────┬──────┘   └───────────────────────────┘
#                          b1 .2.11   b2 .2.12   b3 .2.13   (busybox httpd :8080)
#                          node-b     node-a     node-a
#
# Probes are told apart by source address: node A's leave from 10.250.2.1,
# node B's from 10.250.2.2, clients come from 10.250.1.2 (no masquerade).
# An nft counter in the namespaces of b1 and b2 (test namespaces) counts
# the SYNs to :8080 from each node.
#
# 1. b1's server killed: vipd B logs "healthy -> unhealthy: connect refused
#    (3 of 3)" and publishes {"healthy":false,...}; node A's backends map
#    loses b1 within interval x fall + 1 s of the kill, its log says
#    "(checked by node-b)", clients via node A all succeed. Node A sent b1
#    no SYN at all, node B none to b2.
# 2. b1's server back: both vipds: healthy (through slow start), b1 back.
# 3. b3 "ready":false: "-> not ready", no traffic; "ready":true: "not ready
#    -> slow start 10%", fewer slots than b2, then healthy.
# 4. b1 dead again, vipd B SIGTERM: its lease is revoked, the verdict key
#    goes, and node A routes to b1 again. That is the design: a backend
#    checked by another node counts as healthy while there is no verdict
#    (fail open on the checker's absence; node A still never probes it).
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib_etcd.sh
source "$(dirname "$0")/lib_etcd.sh"

node2=vipd-node2-$$
vipd_b_log=$tmp/vipd-b.log
vipd_b=
show_b_log() {
	[[ ${rc:-0} -ne 0 && -s $vipd_b_log ]] || return 0
	echo "--- last lines of vipd B's log ($vipd_b_log)" >&2
	tail -n 25 "$vipd_b_log" >&2
}
cleanup_hooks+=(show_b_log)

INTERVAL=300 FALL=3
bound_ms=$((INTERVAL * FALL + 1000))

topo_up 3
ns_up "$node2"
ip -n "$node" link add vn2 type veth peer name eth0 netns "$node2"
pn ip link set vn2 master br0 up
ip -n "$node2" addr add 10.250.2.2/24 dev eth0
ip -n "$node2" link set eth0 up
ip -n "$node2" route add default via 10.250.2.1

declare -A srv_pid
start_srv() { start_httpd "$1"; srv_pid[$1]=${pids[-1]}; }
for i in 1 2 3; do start_srv "$i"; done

# SYN counters by source, in the backends' own namespaces.
for i in 1 2; do
	pb "$i" nft -f - <<'EOF'
table ip probes {
	chain in {
		type filter hook input priority 0;
		ip saddr 10.250.2.1 tcp dport 8080 tcp flags & (syn | ack) == syn counter comment "node-a"
		ip saddr 10.250.2.2 tcp dport 8080 tcp flags & (syn | ack) == syn counter comment "node-b"
	}
}
EOF
done
# syns N NODE: SYNs backend N got from NODE (node-a, node-b).
syns() { pb "$1" nft list chain ip probes in | grep -F "\"$2\"" | grep -oE 'packets [0-9]+' | awk '{ print $2 }'; }

etcd_up m1=10.250.2.1 # on br0: node B reaches it too
svc='{"vip":"10.96.0.10","ports":[{"name":"http","port":80,"protocol":"tcp","target_port":8080}],"algorithm":"random","slow_start":6,
 "health":{"type":"tcp","interval_ms":'$INTERVAL',"timeout_ms":250,"rise":2,"fall":'$FALL'}}'
ectl put "$etcd_prefix/services/web" "$svc" >/dev/null
vctl endpoint add web b1 --ip "$(backend_ip 1)" --port 8080 --node node-b
vctl endpoint add web b2 --ip "$(backend_ip 2)" --port 8080 --node node-a
vctl endpoint add web b3 --ip "$(backend_ip 3)" --port 8080 --node node-a
ep_b1=$(ectl get "$etcd_prefix/endpoints/web/b1" -w json | grep -oE '"mod_revision":[0-9]+')

log_mark
start_vipd_etcd --node-name node-a
start_vipd_in "$node2" "$vipd_b_log" --etcd-endpoints "$etcd_endpoints" --node-name node-b
vipd_b=$started_pid
wait_watching
within 5 logged "$vipd_b_log" 'etcd: watching' || fail "vipd B logged no 'etcd: watching' within 5 s"

hkey() { echo "$etcd_prefix/health/web/$1"; }
hval() { ectl get "$(hkey "$1")" --print-value-only; }
verdict_is() { [[ $(hval "$1") == "$2" ]]; }
no_verdict() { [[ -z $(hval "$1") ]]; }
lease_of() { ectl get "$1" -w json | grep -oE '"lease":[0-9]+' | cut -d: -f2; }
in_a() { backend_in_map "$(backend_ip "$1")" 8080; }
out_a() { ! in_a "$1"; }
in_b() { ip netns exec "$node2" nft list map ip vipd backends 2>/dev/null | grep -qF ": $(backend_ip "$1") . 8080"; }
out_b() { ! in_b "$1"; }
# line LOG N TEXT: a state line of backend bN in LOG matching TEXT (regexp).
line_re() { echo "service \"web\" backend b$1 \\($(re "$(backend_ip "$1")") port 8080\\): $2"; }
b_logged() { logged "$vipd_b_log" "$(line_re "$1" "$2")"; }
a_logged() { logged "$vipd_log" "$(line_re "$1" "$2")"; }

say "0. both vipds route b1 b2 b3; each publishes the verdicts of its own node's endpoints"
for i in 1 2 3; do
	within 5 in_a "$i" || fail "b$i not in node A's backends map 5 s after start"
	within 5 in_b "$i" || fail "b$i not in node B's backends map 5 s after start"
done
for i in 1 2 3; do
	within 5 verdict_is b"$i" '{"healthy":true}' || fail "health key of b$i not {\"healthy\":true} 5 s after start: '$(hval b"$i")'"
done
lease_b1=$(lease_of "$(hkey b1)") lease_b2=$(lease_of "$(hkey b2)")
[[ -n $lease_b1 && $lease_b1 != 0 && -n $lease_b2 && $lease_b2 != 0 ]] || fail "health keys without a lease (b1: '$lease_b1', b2: '$lease_b2')"
[[ $lease_b1 != "$lease_b2" ]] || fail "b1's verdict (node B's) and b2's (node A's) share lease $lease_b1"
assert_eq "$(lease_of "$(hkey b3)")" "$lease_b2" "lease of b3's verdict (node A's, as b2's)"
vctl endpoint list web
spread 10.96.0.10 80 - b1 b2 b3

say "1. b1's server (node-b) killed: node B marks it unhealthy, node A follows within ${bound_ms} ms"
sleep 1 # a few probes from both sides on record
log_mark
t_kill=$(now_ms)
stop_pid "${srv_pid[1]}" KILL "b1's httpd"
since_ms=$t_kill within $((bound_ms / 1000 + 1)) out_a 1 || fail "b1 still in node A's backends map $(($(now_ms) - t_kill)) ms after its server died"
t_out=$(now_ms)
echo "b1 left node A's backends map $((t_out - t_kill)) ms after its server was killed (bound: interval ${INTERVAL} x fall ${FALL} + 1000 = ${bound_ms} ms)"
assert_le "$((t_out - t_kill))" "$bound_ms" "ms from b1's death to its removal from node A's map"
within 1 b_logged 1 "healthy -> unhealthy: connect refused \\(3 of 3\\)$" ||
	fail "vipd B logged no 'b1 ...: healthy -> unhealthy: connect refused (3 of 3)'"
grep -E "$(line_re 1 '')" "$vipd_b_log" | tail -n 1
within 1 verdict_is b1 '{"healthy":false,"reason":"connect refused (3 of 3)"}' || fail "health key of b1: '$(hval b1)'"
echo "$(hkey b1) = $(hval b1)"
assert_eq "$(lease_of "$(hkey b1)")" "$lease_b1" "lease of b1's verdict (vipd B's)"
assert_eq "$(ectl get "$etcd_prefix/endpoints/web/b1" -w json | grep -oE '"mod_revision":[0-9]+')" "$ep_b1" \
	"mod_revision of endpoints/web/b1 (the endpoint key is never rewritten)"
within 1 a_logged 1 "healthy -> unhealthy: connect refused \\(3 of 3\\) \\(checked by node-b\\)$" ||
	fail "vipd A logged no 'b1 ...: healthy -> unhealthy: connect refused (3 of 3) (checked by node-b)'"
grep -E "$(line_re 1 '')" "$vipd_log" | tail -n 1
! grep -E "$(line_re 1 '').*refused" "$vipd_log" | grep -vq 'checked by node-b' ||
	fail "vipd A logged a verdict of its own on b1: $(grep -E "$(line_re 1 '')" "$vipd_log" | grep -v 'checked by')"
within 1 out_b 1 || fail "b1 still in node B's own map"
vctl endpoint list web | tee "$tmp/list"
grep -E '^web +b1 .*unhealthy: connect refused \(3 of 3\)' "$tmp/list" >/dev/null ||
	fail "vipctl endpoint list shows no 'unhealthy: connect refused (3 of 3)' for b1"
out=$(count_backends 10.96.0.10 80 40)
echo "$out"
assert_eq "$(total "$out")" 40 "answered requests via node A after b1 left"
assert_eq "$(hits b1 "$out")" 0 "answers from the dead b1"

say "2. b1's server back: healthy on both nodes (through slow start)"
log_mark
t0=$(now_ms)
start_srv 1
since_ms=$t0 within 3 in_a 1 || fail "b1 not back in node A's map 3 s after its server restarted"
echo "b1 back in node A's map $(($(now_ms) - t0)) ms after its server restarted"
within 1 b_logged 1 "unhealthy: connect refused \\(3 of 3\\) -> (slow start [0-9]+%|healthy)$" || fail "vipd B logged no 'unhealthy -> slow start/healthy' for b1"
within 1 a_logged 1 "unhealthy: connect refused \\(3 of 3\\) \\(checked by node-b\\) -> (slow start [0-9]+%|healthy)$" || fail "vipd A logged no 'unhealthy -> slow start/healthy' for b1"
within 1 verdict_is b1 '{"healthy":true}' || fail "health key of b1 not healthy again: '$(hval b1)'"
within 8 a_logged 1 "slow start [0-9]+% -> healthy$" || fail "b1 not healthy on node A 8 s after it came back (slow_start 6)"
within 1 b_logged 1 "slow start [0-9]+% -> healthy$" || fail "b1 not healthy on node B after its slow start"
spread 10.96.0.10 80 - b1 b2 b3

say "3. b3 \"ready\":false: not ready, no traffic; \"ready\":true: slow start, then healthy"
log_mark
t0=$(now_ms)
ectl put "$etcd_prefix/endpoints/web/b3" "{\"ip\":\"$(backend_ip 3)\",\"port\":8080,\"node\":\"node-a\",\"ready\":false}" >/dev/null
since_ms=$t0 within 2 out_a 3 || fail "not-ready b3 still in node A's map 2 s after the put"
within 1 a_logged 3 "healthy -> not ready$" || fail "vipd A logged no 'b3 ...: healthy -> not ready'"
within 1 b_logged 3 "healthy -> not ready$" || fail "vipd B logged no 'b3 ...: healthy -> not ready'"
grep -E "$(line_re 3 '')" "$vipd_log" | tail -n 1
spread 10.96.0.10 80 b3 b1 b2
t0=$(now_ms)
ectl put "$etcd_prefix/endpoints/web/b3" "{\"ip\":\"$(backend_ip 3)\",\"port\":8080,\"node\":\"node-a\",\"ready\":true}" >/dev/null
since_ms=$t0 within 2 in_a 3 || fail "ready b3 not back in node A's map 2 s after the put"
within 1 a_logged 3 "not ready -> slow start 10%$" || fail "vipd A logged no 'b3 ...: not ready -> slow start 10%'"
# 10 % of weight 100 against b2's 100: b3 has a tenth of b2's slots
share3=$(map_pairs | awk '$4 == "10.250.2.13" { print $6 }')
share2=$(map_pairs | awk '$4 == "10.250.2.12" { print $6 }')
echo "slots of b3 : b2 during the first step of slow start: $share3 : $share2"
[[ -n $share3 && -n $share2 && $share3 -lt $share2 ]] || fail "b3 ramping, but its share ($share3) is not below b2's ($share2)"
within 8 a_logged 3 "slow start [0-9]+% -> healthy$" || fail "b3 not healthy on node A 8 s after it turned ready (slow_start 6)"
grep -E "$(line_re 3 '')" "$vipd_log" | tail -n 4

say "4. b1 dead again, vipd B SIGTERM: its verdicts go with its lease; node A routes b1 again"
log_mark
stop_pid "${srv_pid[1]}" KILL "b1's httpd"
within $((bound_ms / 1000 + 1)) out_a 1 || fail "b1 not out of node A's map after its server died again"
within 1 verdict_is b1 '{"healthy":false,"reason":"connect refused (3 of 3)"}' || fail "health key of b1: '$(hval b1)'"
t0=$(now_ms)
stop_pid "$vipd_b" TERM "vipd B"
assert_eq "$stop_status" 0 "exit status of vipd B after SIGTERM"
since_ms=$t0 within 1 no_verdict b1 || fail "b1's verdict still in etcd 1 s after SIGTERM to vipd B: '$(hval b1)'"
echo "b1's verdict gone $(($(now_ms) - t0)) ms after SIGTERM to vipd B"
# No verdict = healthy: node A routes to b1 again although it is dead.
# Only its checker (node B) may judge it, and node B is gone; node A does
# not start probing it. This is the design (as kube-proxy without a
# readiness report), not a failure of this test.
since_ms=$t0 within 2 in_a 1 || fail "b1 not back in node A's map 2 s after its verdict went (no verdict = healthy)"
within 1 a_logged 1 "unhealthy: .*\\(checked by node-b\\) -> (slow start [0-9]+%|healthy)$" || fail "vipd A logged no 'unhealthy -> healthy' for b1 when the verdict went"
grep -E "$(line_re 1 '')" "$vipd_log" | tail -n 1
verdict_is b2 '{"healthy":true}' || fail "node A's verdict on b2 gone with vipd B: '$(hval b2)'"
sleep 1

say "5. nobody probed another node's backend"
for i in 1 2; do echo "SYNs to b$i: from node A $(syns "$i" node-a), from node B $(syns "$i" node-b)"; done
assert_eq "$(syns 1 node-a)" 0 "SYNs from node A (10.250.2.1) to b1 (node-b's)"
assert_ge "$(syns 1 node-b)" 10 "SYNs from node B to b1 (its own)"
assert_eq "$(syns 2 node-b)" 0 "SYNs from node B (10.250.2.2) to b2 (node-a's)"
assert_ge "$(syns 2 node-a)" 10 "SYNs from node A to b2 (its own)"
assert_alive "$vipd_pid" "vipd A"
echo PASS

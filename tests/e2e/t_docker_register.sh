#!/usr/bin/env bash
# vipd --docker register on two nodes: each vipd writes its node's
# containers to etcd as endpoints/<service>/<node>:<container> under a lease
# it keeps alive, and routes what etcd holds. A client behind node A reaches
# containers on node B; containers of the same name on both nodes do not
# clash; docker stop on B takes the container out at once; an unhealthy
# container stays registered as "ready":false; SIGTERM of vipd
# B revokes its lease (keys gone at once), kill -9 lets it expire (--register-ttl 3).
# vipd.vip is not written in register mode: services come from vipctl.
# A node routes its own containers from Docker directly: with etcd down a
# new one is routed at once (and registered when etcd is back), and a vipd
# restart never takes them out of its own map.
#
#   ┌ $client ────────┐   ┌ $node (node A) ────────────────┐   ┌ $node2 (node B) ──────────────┐
#   │ 10.250.1.2      ├───┤ 10.250.1.1   br0 10.250.2.1    ├───┤ eth0 10.250.2.2               │
#   │ curl 10.96.0.10 │   │ etcd m1 http://10.250.2.1:2379 │   │ vipd B --docker register      │
#   └─────────────────┘   │ vipd A --docker register       │   │   (node-b, log $vipd_b_log)   │
#                         │   (node-a, log $vipd_log)      │   │ dockerd b: vipdnet            │
#                         │ dockerd a: vipdnet 10.252.0/24 │   │   10.252.1.0/24: c1 c2        │
#                         │   c1 (from step 2)             │   └───────────────────────────────┘
#                         │ routes 10.252.1.0/24 via .2.2  │
#                         └────────────────────────────────┘
#
#   web 10.96.0.10:80 -> 8080 (vipctl service add); containers: vipd.service=web vipd.port=8080
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib_etcd.sh
source "$(dirname "$0")/lib_etcd.sh"
# shellcheck source-path=SCRIPTDIR source=lib_docker.sh
source "$(dirname "$0")/lib_docker.sh"

vipd_b_log=$tmp/vipd-b.log
vipd_b=
# On failure show vipd B's log too. cleanup() calls the hooks with its exit
# status in its local $rc, which bash's dynamic scoping makes visible here.
show_b_log() {
	[[ ${rc:-0} -ne 0 && -s $vipd_b_log ]] || return 0
	echo "--- last lines of vipd B's log ($vipd_b_log)" >&2
	tail -n 20 "$vipd_b_log" >&2
}
cleanup_hooks+=(show_b_log)

topo_up 0
node2_up
etcd_up m1=10.250.2.1 # on br0: reachable from $node2 too
docker_up a "$node"
docker_up b "$node2"
dk_use a
reg=(--etcd-endpoints "$etcd_endpoints" --docker register --register-ttl 3)
start_a() {
	start_vipd_in "$node" "$vipd_log" "${reg[@]}" --docker-socket "$(dk_sock a)" --node-name node-a --node-ip 10.250.2.1
	vipd_pid=$started_pid
}
start_b() {
	start_vipd_in "$node2" "$vipd_b_log" "${reg[@]}" --docker-socket "$(dk_sock b)" --node-name node-b --node-ip 10.250.2.2
	vipd_b=$started_pid
}

key() { echo "$etcd_prefix/endpoints/web/$1"; }
val() { ectl get "$(key "$1")" --print-value-only; }
has_key() { [[ -n $(val "$1") ]]; }
no_key() { [[ -z $(val "$1") ]]; }
# node_keys NODE: the keys of NODE's endpoints, any service.
node_keys() { ectl get --prefix "$etcd_prefix/endpoints/" --keys-only | grep -F "/$1:" || true; }
no_node_keys() { [[ -z $(node_keys "$1") ]]; }
has_node_keys() { [[ $(node_keys "$1" | grep -c .) -eq $2 ]]; }
# field JSON NAME: the field's value as JSON ("node-b", 8080, true).
field() { python3 -c 'import json, sys; print(json.dumps(json.loads(sys.argv[1]).get(sys.argv[2])))' "$1" "$2"; }
gone_or_terminating() {
	local v
	v=$(val "$1")
	[[ -z $v || $(field "$v" terminating) == true ]]
}
in_map() { map_ips 10.96.0.10 80 | grep -qxF "$1"; }
out_of_map() { ! in_map "$1"; }
# maps_agree: vipd B (it watches etcd too) routes web as vipd A does.
maps_agree() { [[ $(NS=$node2 map_backends 10.96.0.10 80) == "$(map_backends 10.96.0.10 80)" ]]; }

say "service web defined with vipctl; vipd A (node-a) and vipd B (node-b) start"
vctl service add web --vip 10.96.0.10 --port http=80/tcp:8080
log_mark
start_a
start_b
wait_watching
sleep 0.3
assert_alive "$vipd_pid" "vipd A"
assert_alive "$vipd_b" "vipd B"

say "1. containers on node B only: the client, routed by node A, reaches both"
dk_use b
run_web c1
run_web c2 -l vipd.weight=50 -l vipd.vip=10.96.0.50:80
b1=$(cip c1) b2=$(cip c2)
dk_use a
t_reg=$(now_ms)
within 3 in_map "$b1" || fail "B's c1 ($b1) not in node A's backends map 3 s after it answered"
within 3 in_map "$b2" || fail "B's c2 ($b2) not in node A's backends map 3 s after it answered"
spread_pages 10.96.0.10 80 60 - c1 c2

say "2. keys endpoints/web/node-b:c1, node-b:c2 in etcd, under a 3 s lease"
ectl get --prefix "$etcd_prefix/" --keys-only | grep .
for c in c1 c2; do
	v=$(val "node-b:$c")
	echo "node-b:$c = $v"
	[[ -n $v ]] || fail "no key $(key "node-b:$c")"
	assert_eq "$(field "$v" ip)" "\"$(DK=b cip "$c")\"" "ip of node-b:$c"
	assert_eq "$(field "$v" port)" 8080 "port of node-b:$c"
	assert_eq "$(field "$v" node)" '"node-b"' "node of node-b:$c"
	assert_eq "$(field "$v" ready)" true "ready of node-b:$c"
	assert_eq "$(field "$v" terminating)" false "terminating of node-b:$c"
done
assert_eq "$(field "$(val node-b:c1)" weight)" 100 "weight of node-b:c1"
assert_eq "$(field "$(val node-b:c2)" weight)" 50 "weight of node-b:c2 (label vipd.weight=50)"
lease=$(ectl get "$(key node-b:c1)" -w json | grep -oE '"lease":[0-9]+' | cut -d: -f2)
[[ -n $lease && $lease != 0 ]] || fail "key node-b:c1 has no lease"
ttl=$(ectl lease timetolive "$(printf %x "$lease")")
echo "$ttl"
grep -qF 'TTL(3s)' <<<"$ttl" || fail "lease of node-b:c1 not granted with TTL 3 s (--register-ttl 3): $ttl"
assert_eq "$(ectl get --prefix "$etcd_prefix/services/" --keys-only | grep .)" "$etcd_prefix/services/web" \
	"service keys (c2's vipd.vip is not written in register mode)"
! vip_in_map 10.96.0.50 || fail "c2's vipd.vip 10.96.0.50 is in node A's services map (register mode)"
run_web c1 # on node A, the same name as on node B
a1=$(cip c1)
within 3 has_key node-a:c1 || fail "no key $(key node-a:c1) 3 s after A's c1 answered"
has_key node-b:c1 || fail "key node-b:c1 gone after A's c1 was registered"
assert_eq "$(field "$(val node-a:c1)" node)" '"node-a"' "node of node-a:c1"
assert_eq "$(field "$(val node-a:c1)" ip)" "\"$a1\"" "ip of node-a:c1"
within 1 in_map "$a1" || fail "A's c1 ($a1) not in node A's backends map"
in_map "$b1" || fail "B's c1 ($b1) left node A's backends map when A's c1 came"
within 2 maps_agree || fail "vipd B routes web to [$(NS=$node2 map_ips 10.96.0.10 80 | tr '\n' ' ')], vipd A to [$(map_ips 10.96.0.10 80 | tr '\n' ' ')]"

say "3. docker stop c2 on B while a client runs: out at once, no failed request"
pages_loop 10.96.0.10:80
has_loop_c2() { [[ $(pages_last c2) -gt 0 ]]; }
within 3 has_loop_c2 || fail "client loop: no answer from c2 in 3 s before the stop"
t_stop=$(now_ms)
DK=b dk stop c2 >/dev/null &
stop_job=$!
since_ms=$t_stop within 1.5 gone_or_terminating node-b:c2 || fail "key node-b:c2 neither gone nor terminating 1.5 s after docker stop"
echo "node-b:c2 gone or terminating after $(($(now_ms) - t_stop)) ms: '$(val node-b:c2)'"
wait "$stop_job" || fail "docker stop c2 on B"
t_died=$(now_ms)
within 1 no_key node-b:c2 || fail "key node-b:c2 still there 1 s after c2 died"
sleep 0.3
pages_loop_end
last=$(pages_last c2)
echo "docker stop took $((t_died - t_stop)) ms; last connection to c2 started $((last - t_stop)) ms after the stop command; $(pages_count 0 99999999999999) requests"
assert_eq "$(pages_count 0 99999999999999 -)" 0 "failed requests while B's c2 stopped"
assert_le "$last" "$((t_stop + 1000))" "start of the last connection to c2 (ms; stop command at $t_stop)"
assert_ge "$(pages_count "$((t_stop + 1000))" "$t_died")" 10 "requests between 1 s after the stop command and c2's death"
out_of_map "$b2" || fail "B's c2 ($b2) still in node A's map after it died"
DK=b dk start c2 >/dev/null
t0=$(now_ms)
DK=b wait_web c2
b2=$(DK=b cip c2)
since_ms=$t0 within 2 has_page 10.96.0.10 80 c2 || fail "B's c2 gets no connection 2 s after docker start"
has_key node-b:c2 || fail "no key node-b:c2 after docker start"

say "3b. a failing HEALTHCHECK on B: its key stays, \"ready\":false; healthy again: true"
dk_use b
run_web h1 "${dk_health[@]}"
bh=$(cip h1)
wait_health h1 healthy
dk_use a
ready_is() { [[ $(field "$(val "$1")" ready) == "$2" ]]; }
within 3 ready_is node-b:h1 true || fail "key node-b:h1 not ready:true 3 s after h1 turned healthy: '$(val node-b:h1)'"
within 2 in_map "$bh" || fail "B's healthy h1 ($bh) not in node A's map"
DK=b make_unhealthy h1
DK=b wait_health h1 unhealthy
t0=$(now_ms)
since_ms=$t0 within 1 ready_is node-b:h1 false || fail "key node-b:h1 not ready:false 1 s after h1 turned unhealthy: '$(val node-b:h1)'"
assert_eq "$(field "$(val node-b:h1)" terminating)" false "terminating of the unhealthy node-b:h1"
assert_eq "$(field "$(val node-b:h1)" cause)" null "cause in node-b:h1 (node-local, not written)"
within 1 out_of_map "$bh" || fail "B's unhealthy h1 ($bh) still in node A's map"
DK=b make_healthy h1
DK=b wait_health h1 healthy
within 1 ready_is node-b:h1 true || fail "key node-b:h1 not ready:true again 1 s after h1 turned healthy: '$(val node-b:h1)'"
within 1 in_map "$bh" || fail "B's h1 ($bh) not back in node A's map"
DK=b dk rm -f h1 >/dev/null
within 2 no_key node-b:h1 || fail "key node-b:h1 still there 2 s after docker rm -f h1"

say "4. SIGTERM vipd B: its lease is revoked, node-b keys gone at once"
# The node-b keys have outlived the 3 s TTL: vipd B keeps its lease alive.
age=$(($(now_ms) - t_reg))
[[ $age -ge 4000 ]] || sleep "$(awk -v ms=$((4000 - age)) 'BEGIN { print ms / 1000 }')"
has_node_keys node-b 2 || fail "node-b keys $(($(now_ms) - t_reg)) ms after registration (TTL 3 s): [$(node_keys node-b | tr '\n' ' ')]"
t0=$(now_ms)
stop_pid "$vipd_b" TERM "vipd B"
assert_eq "$stop_status" 0 "exit status of vipd B after SIGTERM"
since_ms=$t0 within 1 no_node_keys node-b || fail "node-b keys still in etcd 1 s after SIGTERM to vipd B: [$(node_keys node-b | tr '\n' ' ')]"
echo "node-b keys gone $(($(now_ms) - t0)) ms after SIGTERM"
since_ms=$t0 within 1.5 out_of_map "$b1" || fail "B's c1 ($b1) still in node A's map 1.5 s after SIGTERM to vipd B"
out_of_map "$b2" || fail "B's c2 ($b2) still in node A's map"
has_key node-a:c1 || fail "key node-a:c1 gone with vipd B"
spread_pages 10.96.0.10 80 40 c2 c1
in_map "$a1" || fail "A's c1 not in node A's map"

say "4b. vipd B restarted: node-b keys back"
t0=$(now_ms)
start_b
since_ms=$t0 within 3 has_node_keys node-b 2 || fail "node-b keys not back 3 s after vipd B restarted: [$(node_keys node-b | tr '\n' ' ')]"
echo "node-b keys back $(($(now_ms) - t0)) ms after vipd B started"
within 1 in_map "$b1" || fail "B's c1 not back in node A's map"
within 1 in_map "$b2" || fail "B's c2 not back in node A's map"
spread_pages 10.96.0.10 80 60 - c1 c2

say "4c. kill -9 vipd B: node-b keys stay until the lease expires (TTL 3 s)"
sleep 1.2 # a keepalive or two on the new lease
t0=$(now_ms)
stop_pid "$vipd_b" KILL "vipd B"
has_node_keys node-b 2 || fail "node-b keys gone right after kill -9 of vipd B (they must wait for the lease to expire)"
since_ms=$t0 within 5 no_node_keys node-b || fail "node-b keys still in etcd 5 s after kill -9 of vipd B (TTL 3 s): [$(node_keys node-b | tr '\n' ' ')]"
gone=$(($(now_ms) - t0))
echo "node-b keys expired $gone ms after kill -9"
assert_ge "$gone" 1000 "ms from kill -9 to the expiry of the node-b keys (lease TTL 3 s)"
within 1 out_of_map "$b1" || fail "B's c1 still in node A's map 1 s after its key expired"
out_of_map "$b2" || fail "B's c2 still in node A's map after its key expired"
spread_pages 10.96.0.10 80 40 c2 c1
has_key node-a:c1 || fail "key node-a:c1 gone"
assert_alive "$vipd_pid" "vipd A"

say "5. etcd down: node A routes a new container of its own at once; etcd back: its key is written"
etcd_kill m1
dk_use a
run_web c3
a3=$(cip c3)
t0=$(now_ms)
within 2 in_map "$a3" || fail "A's new c3 ($a3) not in node A's map 2 s after it answered, with etcd down"
echo "A's c3 in node A's map $(($(now_ms) - t0)) ms after it answered (etcd down)"
etcd_start m1
etcd_wait_healthy "$etcd_endpoints"
t0=$(now_ms)
within 5 has_key node-a:c3 || fail "key node-a:c3 not written 5 s after etcd came back"
echo "key node-a:c3 written $(($(now_ms) - t0)) ms after etcd answered again"

say "6. vipd A restarted (SIGTERM, start): its own containers never leave its map"
stop_pid "$vipd_pid" TERM "vipd A"
no_key node-a:c1 || fail "key node-a:c1 still there after SIGTERM to vipd A (the lease is revoked)"
start_a
for ((i = 0; i < 40; i++)); do
	in_map "$a1" && in_map "$a3" || fail "A's own containers left node A's map while vipd A restarted"
	sleep 0.05
done
within 3 has_key node-a:c1 || fail "key node-a:c1 not back 3 s after vipd A restarted"

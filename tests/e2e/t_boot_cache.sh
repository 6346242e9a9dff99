#!/usr/bin/env bash
# Boot with the registry down (issue 16 point 4). vipd keeps what it last
# applied in --state-dir (lib.sh: $tmp/state-$node/state.json). After a
# "reboot" (vipd and etcd killed, vipd's tables deleted) vipd starts with
# etcd still down: clients reach the VIP within 6 s of the start, through
# the cached backends only (one that was not ready stays out), and the
# log says the state is stale. etcd back: the stale mark goes and a
# change made in etcd reaches the kernel. A plain restart (tables there)
# with etcd down programs no cache (the kernel keeps its own state); a
# corrupt cache, or none, is one log line and vipd waits as before.
# While stale, /status shows the cache and a flushed ruleset is mended
# from it; vipd --cleanup removes the cache with the tables.
#
#   $client ── $node (etcd m1 on 127.0.0.1, vipd) ── b1, b2 (httpd :8080)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib_etcd.sh
source "$(dirname "$0")/lib_etcd.sh"

state=$tmp/state-$node/state.json
no_tables() { pn nft delete table ip vipd; pn nft delete table ip6 vipd; }
stale_re='sources not read within 5 s: programmed the state cached at [0-9T:Z-]+ \(1 services\); stale until every source answers'

topo_up 2
for i in 1 2; do start_httpd "$i"; done
etcd_up m1=127.0.0.1
url=$(etcd_url m1)
put_svc web 10.96.0.10 80
put_ep web b1 1
ectl put "$etcd_prefix/endpoints/web/b2" \
	'{"ip":"10.250.2.12","port":8080,"ready":false}' >/dev/null
log_mark
start_vipd_etcd
wait_watching "$url"
within 3 answers 10.96.0.10 || fail "web does not answer 3 s after vipd logged 'watching'"
within 3 test -s "$state" || fail "no $state 3 s after the first reconcile"
grep -q '"10.96.0.10"' "$state" || fail "$state does not hold web's VIP"
[[ $(stat -c %a "$tmp/state-$node") == 700 ]] || fail "the state dir is not 0700"

say "reboot: etcd and vipd killed, vipd's tables gone; vipd starts with etcd down"
etcd_kill m1
stop_vipd KILL
no_tables
silent 10.96.0.10 || fail "web answers with vipd's tables deleted"
log_mark
t0=$(now_ms)
start_vipd_etcd
since_ms=$t0 within 6 answers 10.96.0.10 ||
	fail "web does not answer within 6 s of a start with etcd down and no tables"
echo "web answers $(($(now_ms) - t0)) ms after the start"
log_since "$stale_re" || fail "vipd logged no stale line"
none_from 10.96.0.10 80 b2 || fail "b2, not ready when cached, takes connections from the cache"
assert_alive "$vipd_pid" "vipd routing the cache"
# mark: /healthz and /status say stale, and which source is down
mark() { pn curl -s --max-time 3 "http://127.0.0.1:9464/$1" | python3 -c 'import json, sys; d = json.load(sys.stdin); print(d["stale"], d["sources"]["etcd"])'; }
[[ $(mark healthz) == "True unreachable" ]] || fail "/healthz does not say stale, etcd unreachable: $(mark healthz)"
[[ $(mark status) == "True unreachable" ]] || fail "/status does not say stale: $(mark status)"
pn curl -s --max-time 3 http://127.0.0.1:9464/metrics | grep -qx 'vipd_stale 1' || fail "vipd_stale is not 1"
# what the kernel routes: the cache's web, b1 serving, b2 not ready
cached() {
	pn curl -s --max-time 3 http://127.0.0.1:9464/status | python3 -c '
import json, sys
d = json.load(sys.stdin)["services"]["web"]["backends"]
print(" ".join(sorted("%s:%s" % (b["id"], b["state"]) for b in d)))'
}
[[ $(cached) == "b1:healthy b2:not_ready" ]] || fail "/status while stale: '$(cached)', want the cache's web"
pn curl -s --max-time 3 http://127.0.0.1:9464/metrics | grep -qx 'vipd_endpoints{state="ready"} 1' ||
	fail "vipd_endpoints while stale is not the cache's"

say "stale, the ruleset flushed (a firewall reload): vipd programs the cache again"
pn nft flush ruleset
within 4 answers 10.96.0.10 || fail "web does not answer 4 s after a flush while stale"
logged "$vipd_log" 'the ruleset changed while the kernel routes the state cache: programming it again' ||
	fail "the repair while stale was not logged"

say "etcd back: the stale mark goes, a change made in etcd reaches the kernel"
log_mark
etcd_start m1
etcd_wait_healthy "$url"
within 10 log_since 'every source answered: the kernel holds their state' ||
	fail "vipd logged no end of the stale state 10 s after etcd came back"
put_ep web b2 2
within 3 backend_in_map 10.250.2.12 8080 || fail "b2 made ready in etcd is not in the kernel after 3 s"
within 3 some_from 10.96.0.10 80 b2 || fail "b2 in the map but gets no connection"
within 3 grep -q '"10.250.2.12".*"ready":true' "$state" || fail "$state does not say b2 is ready 3 s after"
[[ $(mark healthz) == "False watching" ]] || fail "/healthz still says: $(mark healthz)"
[[ $(mark status) == "False watching" ]] || fail "/status still says: $(mark status)"

say "plain restart (tables present), etcd down: the cache is not programmed"
etcd_kill m1
stop_vipd TERM
# a cache that differs from the kernel: if it were programmed, web would go
sed -i 's/"web"/"other"/g; s/10\.96\.0\.10/10.96.0.99/g' "$state"
log_mark
start_vipd_etcd
sleep 7 # past --source-wait (5 s): nothing should happen
! log_since 'programmed the state cached' || fail "a restart with the tables present programmed the cache"
vip_in_map 10.96.0.10 || fail "web left the kernel at a restart with etcd down"
! vip_in_map 10.96.0.99 || fail "the cached service reached the kernel although the tables were there"
spread 10.96.0.10 80 - b1 b2

say "reboot with a corrupt cache: one error line, nothing programmed"
stop_vipd TERM
no_tables
printf '{"vipd_state":{"version":1},"services":{"web":' >"$state"
log_mark
start_vipd_etcd
within 8 log_since "error: state cache $(re "$state"): .*; not used, waiting for every source" ||
	fail "vipd logged no error naming the corrupt $state"
! log_since 'programmed the state cached' || fail "a corrupt cache was programmed"
silent 10.96.0.10 || fail "web answers from a corrupt cache"

say "reboot without a cache: one line, nothing programmed"
stop_vipd TERM
rm -f "$state"
log_mark
start_vipd_etcd
within 8 log_since "no state cache at $(re "$state"): waiting for every source" ||
	fail "vipd logged no line saying there is no cache"
silent 10.96.0.10 || fail "web answers without a cache"
[[ ! -e $state ]] || fail "vipd wrote $state before any source answered"
assert_alive "$vipd_pid" vipd

say "vipd --cleanup, a stop for good, removes the cache with the tables"
etcd_start m1
etcd_wait_healthy "$url"
within 10 test -s "$state" || fail "no $state 10 s after etcd came back"
stop_vipd TERM
pn "$VIPD" --cleanup --state-dir "$tmp/state-$node" 2>>"$vipd_log" || fail "vipd --cleanup failed"
[[ ! -e $state ]] || fail "vipd --cleanup left $state"
logged "$vipd_log" "removed the state cache $(re "$state")" || fail "the removal was not logged"

say "a second vipd (--table other) keeps its own cache by default: /var/lib/vipd/other"
# /var/lib is a tmpfs of a private mount namespace: the machine's stays untouched
printf '{"services":{"db":{"vip":"10.96.0.11","ports":[{"port":5432}]}}}\n' >"$tmp/other.json"
unshare -m --propagation private sh -c "mount -t tmpfs none /var/lib &&
	{ ip netns exec $node timeout -s TERM 3 $VIPD --services-file $tmp/other.json --table other --metrics off 2>>$vipd_log || true; } &&
	test -s /var/lib/vipd/other/state.json && ! test -e /var/lib/vipd/state.json" ||
	fail "the second instance's cache is not /var/lib/vipd/other/state.json"
pn "$VIPD" --cleanup --table other --state-dir off 2>>"$vipd_log"

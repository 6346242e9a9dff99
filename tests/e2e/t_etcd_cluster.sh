#!/usr/bin/env bash
# A 3-member etcd cluster; vipd has all three URLs. Twice, the member vipd
# watches is killed (-9): vipd logs "etcd: lost <URL>", moves to another
# member, and a change written through a survivor reaches the kernel within
# 2 s. (Between the rounds the first victim is restarted, so the cluster
# keeps its quorum.) A client hammering the VIP sees no failed request.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib_etcd.sh
source "$(dirname "$0")/lib_etcd.sh"

topo_up 3
for i in 1 2 3; do start_httpd "$i"; done
etcd_up m1=127.0.0.1 m2=127.0.0.2 m3=127.0.0.3
put_svc web 10.96.0.10 80
put_ep web b1 1
log_mark
start_vipd_etcd
wait_watching
within 2 answers 10.96.0.10 || fail "web does not answer 2 s after vipd logged 'watching'"
client_loop 10.96.0.10 1000

# failover N: kill the member vipd watches; write endpoint bN through a
# survivor; it must reach the kernel within 2 s. Sets $victim.
failover() {
	local n=$1 url m survivor='' survivors='' t0 t_kill
	url=$(watched_url)
	victim=$(etcd_name "$url") || fail "vipd watches '$url', which is none of $etcd_endpoints"
	for m in "${etcd_members[@]}"; do
		[[ $m != "$victim" ]] || continue
		survivor=$m
		survivors+=${survivors:+,}$(etcd_url "$m")
	done
	say "vipd watches $victim ($url): kill -9 it, write b$n through $survivor"
	log_mark
	etcd_kill "$victim"
	t_kill=$(now_ms)
	# A write proposed while the survivors elect a new leader can be
	# dropped (etcdctl then waits out its timeout): wait for a leader.
	etcd_wait_healthy "$survivors"
	ECTL_ENDPOINTS=$(etcd_url "$survivor") put_ep web "b$n" "$n"
	t0=$(now_ms)
	echo "survivors took $((t0 - t_kill)) ms to accept the write"
	since_ms=$t0 within 2 backend_in_map "$(backend_ip "$n")" 8080 ||
		fail "b$n, written through $survivor after $victim died, not in the kernel after 2 s"
	echo "b$n in the kernel $(($(now_ms) - t0)) ms after the write"
	within 3 log_since "etcd: lost $(re "$url")" || fail "vipd did not log 'etcd: lost $url' within 3 s"
	within 2 log_since "etcd: watching " || fail "vipd logged no new 'etcd: watching' after losing $url"
	[[ $(watched_url) != "$url" ]] || fail "vipd watches the dead member $url again"
	within 1 some_from 10.96.0.10 80 "b$n" || fail "b$n in the map but gets no connection"
	assert_alive "$vipd_pid" vipd
}

failover 2
say "restart $victim"
etcd_start "$victim"
etcd_wait_healthy "$etcd_endpoints"
failover 3

client_loop_result
assert_eq "$loop_bad" 0 "failed requests while members died"
assert_ge "$loop_ok" 10 "answered requests while members died"
spread 10.96.0.10 80 - b1 b2 b3
within 2 pairs_match || { pairs_diff; fail "backends map is not the registry's state"; }
assert_alive "$vipd_pid" vipd

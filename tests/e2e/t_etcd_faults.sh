#!/usr/bin/env bash
# etcd faults. The only member is killed (-9) and restarted on its data dir
# under a client loop: no request fails, vipd stays up, and a change written
# after the restart reaches the kernel within 2 s. Changes compacted away
# while vipd was cut off (vipd stopped with SIGSTOP across an etcd restart,
# so it must resume a watch from a compacted revision), and while vipd was
# down (SIGTERM): vipd logs "compacted", resyncs, and the backends map ends
# with exactly the registry's VIP/backend pairs and weights.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib_etcd.sh
source "$(dirname "$0")/lib_etcd.sh"

topo_up 3
for i in 1 2 3; do start_httpd "$i"; done
etcd_up m1=127.0.0.1
url=$(etcd_url m1)
put_svc web 10.96.0.10 80
put_ep web b1 1
put_ep web b2 2
put_svc api 10.96.0.20 80
put_ep api a1 1
log_mark
start_vipd_etcd
wait_watching "$url"
within 2 answers 10.96.0.10 || fail "web does not answer 2 s after vipd logged 'watching'"
within 2 answers 10.96.0.20 || fail "api does not answer 2 s after vipd logged 'watching'"
spread 10.96.0.10 80 - b1 b2
spread 10.96.0.20 80 - b1
within 2 pairs_match || { pairs_diff; fail "backends map is not the registry's state after the start"; }

say "kill -9 etcd, 1 s down, restart it on its data dir, under a client loop"
client_loop 10.96.0.10 300
sleep 0.5
log_mark
etcd_kill m1
within 3 log_since "etcd: lost $(re "$url")" || fail "vipd logged no 'etcd: lost $url' 3 s after its only member was killed"
sleep 1
assert_alive "$vipd_pid" "vipd with etcd down"
etcd_start m1
etcd_wait_healthy "$url"
t0=$(now_ms)
put_ep web b3 3
since_ms=$t0 within 2 backend_in_map 10.250.2.13 8080 || fail "endpoint b3 written after the etcd restart not in the kernel after 2 s"
echo "b3 in the kernel $(($(now_ms) - t0)) ms after the write"
within 1 some_from 10.96.0.10 80 b3 || fail "b3 in the map but gets no connection"
client_loop_result
assert_eq "$loop_bad" 0 "failed requests while etcd was killed and restarted"
assert_ge "$loop_ok" 30 "answered requests while etcd was killed and restarted"
log_since "etcd: watching $(re "$url")" || fail "vipd logged no new 'etcd: watching $url' after the restart"
assert_alive "$vipd_pid" vipd
spread 10.96.0.10 80 - b1 b2 b3

say "vipd cut off (SIGSTOP) across an etcd restart; changes compacted away meanwhile"
kill -STOP "$vipd_pid"
etcd_kill m1
etcd_start m1
etcd_wait_healthy "$url"
ectl del --prefix "$etcd_prefix/endpoints/api/" >/dev/null
ectl del "$etcd_prefix/services/api" >/dev/null
put_svc shop 10.96.0.30 80 round-robin
put_ep shop s2 2
put_ep shop s3 3
ectl del "$etcd_prefix/endpoints/web/b1" >/dev/null
put_ep web b2 2 300
put_ep web b3 3 200
rev=$(etcd_rev)
ectl compact "$rev" >/dev/null
echo "compacted at revision $rev"
log_mark
t0=$(now_ms)
kill -CONT "$vipd_pid"
within 10 log_since compacted || fail "vipd logged no 'compacted' 10 s after resuming into a compacted store"
within 3 pairs_match || { pairs_diff; fail "backends map is not the registry's state 3 s after 'compacted'"; }
echo "kernel converged $(($(now_ms) - t0)) ms after SIGCONT"
tail -n +$((log_lines + 1)) "$vipd_log" | grep -v 'debug: reconciled'
# The member was never lost during the resync: no "etcd: lost" between
# "compacted" and the full read that follows it (checked at the end).
resync_log=$(tail -n +$((log_lines + 1)) "$vipd_log")
silent 10.96.0.20 || fail "deleted service api still answers"
! vip_in_map 10.96.0.20 || fail "deleted service api still in map ip vipd services"
spread 10.96.0.10 80 b1 b2 b3
spread 10.96.0.30 80 b1 b2 b3
assert_alive "$vipd_pid" vipd

say "vipd down (SIGTERM); changes compacted away; vipd started again"
stop_pid "$vipd_pid" TERM vipd
assert_eq "$stop_status" 0 "vipd exit status after SIGTERM"
ectl del --prefix "$etcd_prefix/endpoints/shop/" >/dev/null
ectl del "$etcd_prefix/services/shop" >/dev/null
put_svc api 10.96.0.20 81 round-robin
put_ep api a3 3
put_ep web b1 1 100
ectl del "$etcd_prefix/endpoints/web/b3" >/dev/null
put_ep web b2 2 100
ectl compact "$(etcd_rev)" >/dev/null
log_mark
start_vipd_etcd
wait_watching "$url"
within 3 pairs_match || { pairs_diff; fail "backends map is not the registry's state 3 s after vipd restarted"; }
silent 10.96.0.30 || fail "deleted service shop still answers"
silent 10.96.0.20 80 || fail "api still answers on its old port 80"
spread 10.96.0.20 81 - b3
spread 10.96.0.10 80 b3 b1 b2
assert_alive "$vipd_pid" vipd

say "no 'etcd: lost' while resyncing after the compaction"
awk '/compacted/ { c = 1; next } c && /etcd: loaded/ { exit } c && /etcd: lost/ { bad = 1 } END { exit bad }' <<<"$resync_log" ||
	fail "vipd logged 'etcd: lost' while resyncing after compaction (the member was up all along)"

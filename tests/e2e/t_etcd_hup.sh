#!/usr/bin/env bash
# SIGHUP while etcd is down (vipd waiting to retry) is not lost: when etcd
# answers again, vipd reads everything (a range), not only the watch.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib_etcd.sh
source "$(dirname "$0")/lib_etcd.sh"

topo_up 1
start_httpd 1
etcd_up m1=127.0.0.1
url=$(etcd_url m1)
put_svc web 10.96.0.10 80
put_ep web b1 1
log_mark
start_vipd_etcd
wait_watching "$url"

say "etcd killed, SIGHUP while vipd waits to retry, etcd back"
log_mark
etcd_kill m1
within 3 log_since "etcd: lost" || fail "vipd did not notice etcd going"
kill -HUP "$vipd_pid"
sleep 0.3
etcd_start m1
etcd_wait_healthy "$url"
within 5 log_since "etcd: loaded [0-9]+ keys" || fail "the SIGHUP sent while etcd was down did not read everything again"
within 2 answers 10.96.0.10 || fail "web does not answer after etcd came back"
assert_alive "$vipd_pid" vipd

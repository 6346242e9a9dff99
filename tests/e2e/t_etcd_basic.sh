#!/usr/bin/env bash
# vipd follows a single etcd member: services and endpoints written with
# vipctl and with raw etcdctl route client traffic; vipctl lists and shows
# them (also as JSON); deletes of every kind stop traffic within a second;
# an endpoint under a vipctl --ttl lease routes while vipctl lives, expires
# after a kill -9 and is revoked at once on SIGTERM. vipctl refuses bad
# input with exit 2, one line on stderr, and nothing written.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib_etcd.sh
source "$(dirname "$0")/lib_etcd.sh"

topo_up 4
for i in 1 2 3 4; do start_httpd "$i"; done
etcd_up m1=127.0.0.1
log_mark
start_vipd_etcd
wait_watching http://127.0.0.1:2379

say "vipctl writes service web (10.96.0.10:80) with endpoints b1, b2"
vctl service add web --vip 10.96.0.10 --port http=80/tcp:8080 --algorithm random
vctl endpoint add web b1 --ip 10.250.2.11 --port 8080
vctl endpoint add web b2 --ip 10.250.2.12 # backend port from target_port
within 2 some_from 10.96.0.10 80 b2 || fail "web does not route to b2 2 s after vipctl wrote it"
spread 10.96.0.10 80 - b1 b2

say "etcdctl writes service api (10.96.0.20:80 -> b3) and endpoint web/b4"
t0=$(now_ms)
put_svc api 10.96.0.20 80 round-robin
put_ep api a3 3
put_ep web b4 4
since_ms=$t0 within 1 answers 10.96.0.20 || fail "api does not answer 1 s after etcdctl wrote it"
since_ms=$t0 within 1 some_from 10.96.0.10 80 b4 || fail "web/b4 gets no connection 1 s after etcdctl wrote it"
spread 10.96.0.20 80 - b3
spread 10.96.0.10 80 - b1 b2 b4

say "vipctl reads them back"
out=$(vctl service list)
echo "$out"
grep -qw web <<<"$out" || fail "vipctl service list does not show web"
grep -qw api <<<"$out" || fail "vipctl service list does not show api (written by etcdctl)"
out=$(vctl service get web)
echo "$out"
grep -qF 10.96.0.10 <<<"$out" || fail "vipctl service get web does not show its VIP"
out=$(vctl endpoint list web)
echo "$out"
for id in b1 b2 b4; do grep -qw "$id" <<<"$out" || fail "vipctl endpoint list web does not show $id"; done
grep -qw a3 <<<"$out" && fail "vipctl endpoint list web shows api's a3"
out=$(vctl endpoint list)
grep -qw a3 <<<"$out" || fail "vipctl endpoint list (all services) does not show api/a3"
# json_ok WHAT MUST...: stdin parses as JSON and mentions every MUST.
json_ok() {
	local what=$1 j m
	shift
	j=$(cat)
	python3 -m json.tool <<<"$j" >/dev/null || { echo "$j"; fail "$what: not JSON"; }
	for m in "$@"; do grep -qF -- "$m" <<<"$j" || { echo "$j"; fail "$what: no $m"; }; done
}
vctl --json service list | json_ok "vipctl --json service list" web api 10.96.0.10 10.96.0.20
vctl --json service get web | json_ok "vipctl --json service get web" 10.96.0.10 8080
vctl --json endpoint list web | json_ok "vipctl --json endpoint list web" b1 b2 b4 10.250.2.14

say "a published health verdict shows in vipctl endpoint list; a bad one is logged and counts as healthy"
# healthy verdicts only: whatever the planner does with them, traffic stays
log_mark
ectl put "$etcd_prefix/health/web/b4" '{"healthy":true,"reason":"HTTP 200 (2 of 2)"}' >/dev/null
ectl put "$etcd_prefix/health/web/b1" '{"healthy":"no"}' >/dev/null
within 2 log_since "etcd $(re "$etcd_prefix")/health/web/b1: field healthy: value \"no\": must be true or false; the backend counts as healthy" ||
	fail "no error line naming health/web/b1, field healthy and value \"no\""
out=$(vctl endpoint list web)
echo "$out"
grep -E '^web +b4 .*healthy: HTTP 200 \(2 of 2\)$' <<<"$out" >/dev/null ||
	fail "vipctl endpoint list web does not show b4's verdict"
grep -E '^web +b1 .*unreadable \(counts as healthy\)$' <<<"$out" >/dev/null ||
	fail "vipctl endpoint list web does not show b1's verdict as unreadable"
vctl --json endpoint list web | json_ok "vipctl --json endpoint list web (health)" '"health": "healthy: HTTP 200'
ectl del --prefix "$etcd_prefix/health/" >/dev/null
rc=0
vctl service get nosuch >/dev/null 2>&1 || rc=$?
[[ $rc -ne 0 ]] || fail "vipctl service get nosuch exits 0"

say "deletes stop traffic within 1 s"
t0=$(now_ms)
vctl endpoint del web b2
since_ms=$t0 within 1 none_from 10.96.0.10 80 b2 || fail "b2 still gets connections 1 s after vipctl endpoint del"
t0=$(now_ms)
ectl del "$etcd_prefix/endpoints/web/b4" >/dev/null
since_ms=$t0 within 1 none_from 10.96.0.10 80 b4 || fail "b4 still gets connections 1 s after etcdctl del"
spread 10.96.0.10 80 b2,b4 b1
t0=$(now_ms)
vctl service del api
since_ms=$t0 within 1 silent 10.96.0.20 || fail "api still answers 1 s after vipctl service del"
! vip_in_map 10.96.0.20 || fail "api's VIP still in map ip vipd services after vipctl service del"
t0=$(now_ms)
ectl del "$etcd_prefix/services/web" >/dev/null
since_ms=$t0 within 1 silent 10.96.0.10 || fail "web still answers 1 s after etcdctl del of its service key"
! vip_in_map 10.96.0.10 || fail "web's VIP still in map ip vipd services after etcdctl del"
assert_alive "$vipd_pid" vipd

say "endpoint under a vipctl --ttl 3 lease: routes while vipctl runs"
vctl service add web --vip 10.96.0.10 --port http=80/tcp:8080
within 2 answers 10.96.0.10 || fail "web (b1 left) does not answer 2 s after it was added again"
bg_ns "$node" "$VIPCTL" --etcd-endpoints "$etcd_endpoints" endpoint add web t3 --ip 10.250.2.13 --ttl 3 \
	>"$tmp/ttl1.out" 2>"$tmp/ttl1.err"
ttl1=$!
within 2 some_from 10.96.0.10 80 b3 || fail "web/t3 (vipctl --ttl 3) gets no connection after 2 s"
sleep 4 # longer than the TTL: vipctl keeps the lease alive
running "$ttl1" || { cat "$tmp/ttl1.err"; fail "vipctl endpoint add --ttl 3 exited while it should keep the lease alive"; }
some_from 10.96.0.10 80 b3 || fail "web/t3 gone 4 s after it was added, while its vipctl still runs"
[[ -n $(ectl get "$etcd_prefix/endpoints/web/t3" --print-value-only) ]] || fail "key web/t3 gone while its vipctl runs"

say "kill -9 that vipctl: the lease expires, b3 leaves within ttl + 2 s"
t0=$(now_ms)
stop_pid "$ttl1" KILL "vipctl --ttl 3"
since_ms=$t0 within 5 none_from 10.96.0.10 80 b3 || fail "b3 still gets connections 5 s after its vipctl was killed"
echo "b3 gone after $(($(now_ms) - t0)) ms"
[[ -z $(ectl get "$etcd_prefix/endpoints/web/t3" --print-value-only) ]] || fail "key web/t3 still in etcd after its lease expired"

say "SIGTERM another --ttl vipctl: the lease is revoked, b4 leaves at once"
bg_ns "$node" "$VIPCTL" --etcd-endpoints "$etcd_endpoints" endpoint add web t4 --ip 10.250.2.14 --ttl 3 \
	>"$tmp/ttl2.out" 2>"$tmp/ttl2.err"
ttl2=$!
within 2 some_from 10.96.0.10 80 b4 || fail "web/t4 (vipctl --ttl 3) gets no connection after 2 s"
t0=$(now_ms)
stop_pid "$ttl2" TERM "vipctl --ttl 3"
cat "$tmp/ttl2.err"
assert_eq "$stop_status" 0 "exit status of vipctl --ttl after SIGTERM"
since_ms=$t0 within 1 none_from 10.96.0.10 80 b4 || fail "b4 still gets connections 1 s after SIGTERM to its vipctl (lease not revoked?)"
[[ -z $(ectl get "$etcd_prefix/endpoints/web/t4" --print-value-only) ]] || fail "key web/t4 still in etcd after SIGTERM to its vipctl"
spread 10.96.0.10 80 b2,b3,b4 b1

say "other prefixes are not vipd's: vipctl --etcd-prefix /other, raw /vipdx/"
vctl --etcd-prefix /other service add ghost --vip 10.96.0.60 --port http=80/tcp:8080
vctl --etcd-prefix /other endpoint add ghost g1 --ip 10.250.2.12
[[ -n $(ectl get /other/services/ghost --print-value-only) ]] || fail "vipctl --etcd-prefix /other wrote no /other/services/ghost"
vctl --etcd-prefix /other service list | grep -qw ghost || fail "vipctl --etcd-prefix /other service list does not show ghost"
! vctl service list | grep -qw ghost || fail "vipctl service list (prefix /vipd) shows ghost of /other"
ectl put /vipdx/services/ghost2 "$(svc_json 10.96.0.61 80)" >/dev/null
ectl put /vipdx/endpoints/ghost2/g1 "$(ep_json 2)" >/dev/null
sleep 0.5
for v in 10.96.0.60 10.96.0.61; do
	! vip_in_map "$v" || fail "vipd (prefix /vipd) programmed $v from another prefix"
done

say "vipctl bad input: exit 2, one line on stderr, nothing written"
errors=0
# refused ARGS...: vipctl ARGS exits 2 with one line on stderr, and the
# store's revision does not move. (refused_usage: a usage text may follow
# that line.)
refused_usage() { usage_ok=1 refused "$@"; }
refused() {
	local rev rc=0 lines
	rev=$(etcd_rev)
	timeout 10 ip netns exec "$node" "$VIPCTL" --etcd-endpoints "$etcd_endpoints" "$@" \
		>"$tmp/out" 2>"$tmp/err" </dev/null || rc=$?
	lines=$(wc -l <"$tmp/err")
	echo "vipctl $* -> exit $rc: $(head -c 300 "$tmp/err")"
	if [[ $rc -ne 2 ]]; then
		echo "FAIL: vipctl $*: expected exit 2, got $rc" >&2
		errors=$((errors + 1))
	fi
	if [[ $lines -ne 1 && ! ($lines -gt 1 && -n ${usage_ok:-}) ]]; then
		echo "FAIL: vipctl $*: expected one line on stderr, got $lines" >&2
		errors=$((errors + 1))
	fi
	if [[ $(etcd_rev) != "$rev" ]]; then
		echo "FAIL: vipctl $*: wrote to etcd (revision $rev -> $(etcd_rev))" >&2
		errors=$((errors + 1))
	fi
}
refused service add "bad name" --vip 10.96.0.50 --port 80
refused service add bad.ip --vip 10.0.0.300 --port 80
refused service add bad.ip6 --vip 10.96.0.50 --vip6 fd00::zz --port 80
refused service add port70000 --vip 10.96.0.50 --port 70000
refused service add port0 --vip 10.96.0.50 --port 0
refused service add target70000 --vip 10.96.0.50 --port http=80/tcp:70000
refused service add proto --vip 10.96.0.50 --port http=80/tcpx:8080
refused service add algo --vip 10.96.0.50 --port 80 --algorithm nonsense
refused_usage service add opt --vip 10.96.0.50 --port 80 --no-such-option
refused service add notjson --from-json '{"vip":'
refused service add json70000 --from-json '{"vip":"10.96.0.50","ports":[{"name":"http","port":70000,"protocol":"tcp"}]}'
refused service add Upper --vip 10.96.0.50 --port 80
refused endpoint add web e1 --ip 10.250.2.300
refused endpoint add web e1 --ip 10.250.2.11 --port 70000
refused endpoint add web e1 --ip 10.250.2.11 --weight 0
refused endpoint add web e1 --ip 10.250.2.11 --weight 10001
refused endpoint add web "e 1" --ip 10.250.2.11
refused endpoint add "bad name" e1 --ip 10.250.2.11
refused endpoint add web e1 --ip 10.250.2.11 --ttl 3x
refused endpoint add web e1
refused_usage service frobnicate web
[[ $errors -eq 0 ]] || fail "$errors vipctl bad-input checks failed"
! ectl get --prefix "$etcd_prefix/" --keys-only | grep -E 'bad|port70000|port0|target|proto|algo|opt|json|Upper|/e1$|e 1' ||
	fail "keys of refused vipctl commands in etcd"

spread 10.96.0.10 80 b2,b3,b4 b1
assert_alive "$vipd_pid" vipd

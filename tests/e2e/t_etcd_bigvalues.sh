#!/usr/bin/env bash
# Big and empty etcd values. Ten 1.4 MB values under a key vipd ignores and
# one 20 MB service value, on the live watch and queued while vipd was
# stopped: an endpoint written after them reaches the kernel within 2 s, the
# 20 MB value is refused with one line naming its key, and SIGTERM is
# answered at once. An empty value is refused (keeping the previous
# version), not taken as a delete: the key is still in etcd. A restart
# reads the same values in its range without holding them.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib_etcd.sh
source "$(dirname "$0")/lib_etcd.sh"

topo_up 3
for i in 1 2 3; do start_httpd "$i"; done
etcd_args=(--max-request-bytes 33554432)
etcd_up m1=127.0.0.1
url=$(etcd_url m1)
p=$etcd_prefix
put_svc web 10.96.0.10 80
put_ep web b1 1
log_mark
start_vipd_etcd
wait_watching "$url"
within 2 answers 10.96.0.10 || fail "web does not answer after the start"

# bigput KEY MB: a value of MB megabytes (a JSON string, so that a bug that
# takes it shows in the log) through the gateway; etcdctl cannot send 20 MB.
bigput() {
	python3 - "$1" "$2" <<'PY' | pn curl -sf --max-time 60 -o /dev/null --data-binary @- "$url/v3/kv/put" ||
import base64, json, sys
v = b'"' + b'x' * int(float(sys.argv[2]) * (1 << 20)) + b'"'
print(json.dumps({"key": base64.b64encode(sys.argv[1].encode()).decode(),
                  "value": base64.b64encode(v).decode()}))
PY
		fail "writing $2 MB to $1"
}
# after_big WHAT: an endpoint written now must be in the kernel within 2 s
after_big() {
	local t0
	t0=$(now_ms)
	put_ep web "b$1" "$1"
	since_ms=$t0 within 2 backend_in_map "10.250.2.1$1" 8080 ||
		fail "$2: endpoint b$1 written after the big values not in the kernel 2 s later"
	echo "$2: b$1 in the kernel $(($(now_ms) - t0)) ms after its write"
}

say "ten 1.4 MB values under $p/junk and one 20 MB service value, live"
for ((i = 0; i < 10; i++)); do bigput "$p/junk/a$i" 1.4; done
bigput "$p/services/huge" 20
after_big 2 "live watch"
within 2 log_since "etcd $(re "$p/services/huge"): field value: [0-9]+ bytes: over the limit" ||
	fail "no line naming $p/services/huge as over the limit"
[[ $(grep -c "services/huge" "$vipd_log") -eq 1 ]] || fail "want one line for $p/services/huge"

say "the same queued while vipd was stopped (SIGSTOP), then SIGCONT"
kill -STOP "$vipd_pid"
for ((i = 0; i < 10; i++)); do bigput "$p/junk/b$i" 1.4; done
bigput "$p/services/huge" 20
kill -CONT "$vipd_pid"
after_big 3 "queued"
assert_alive "$vipd_pid" vipd

say "a restart reads them in its range: the 20 MB value is refused, never held"
stop_vipd TERM
log_mark
start_vipd_etcd
wait_watching "$url"
within 2 log_since "etcd $(re "$p/services/huge"): field value: [0-9]+ bytes: over the limit" ||
	fail "the range did not refuse $p/services/huge"
hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$vipd_pid/status")
echo "vipd's peak RSS after a range over 34 MB of values: $hwm kB"
assert_le "$hwm" 40000 "vipd's peak RSS in kB (the values are framed, not held)"
within 2 answers 10.96.0.10 || fail "web does not answer after the restart"

say "an empty value is refused, not a delete"
log_mark
ectl put "$p/endpoints/web/b1" '' >/dev/null
ectl put "$p/services/web" '' >/dev/null
within 2 log_since "etcd $(re "$p/endpoints/web/b1"): field value: empty" ||
	fail "no line refusing the empty value of $p/endpoints/web/b1"
within 2 log_since "etcd $(re "$p/services/web"): field value: empty" ||
	fail "no line refusing the empty value of $p/services/web"
backend_in_map 10.250.2.11 8080 || fail "b1 left the kernel after an empty value"
answers 10.96.0.10 || fail "web stopped answering after an empty value"

say "SIGTERM is answered at once"
stop_vipd TERM
assert_eq "$vipd_status" 0 "vipd exit status after SIGTERM"

#!/usr/bin/env bash
# The services file is bounded: one over --services-file-max is refused
# with one line and the previous state kept; 5,000 bad services log 20
# lines and a count, not 5,000; a directory or a missing file is one line.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

topo_up 1
start_httpd 1
f=$tmp/services.json
web_json random "$(ep 1)" | put_file "$f"
start_vipd "$f" --services-file-max 1048576
wait_vip 10.96.0.10
lines() { grep -c "$1" "$vipd_log"; }

say "a 2 MB file over a 1 MiB cap: refused whole, web keeps routing"
python3 -c '
import json, sys
s = {"web": {"vip": "10.96.0.10", "ports": [{"name": "http", "port": 80, "target_port": 8080}]}}
s.update({"s%d" % i: {"vip": "10.97.%d.%d" % (i // 250, i % 250 + 1), "ports": [{"port": 80}]} for i in range(20000)})
json.dump({"services": s, "endpoints": {}}, sys.stdout)' | put_file "$f"
within 2 grep -q 'over the limit of 1048576 (--services-file-max); keeping the previous state' "$vipd_log" ||
	fail "no line refusing the file over the cap"
assert_eq "$(lines 'over the limit')" 1 "lines about the cap"
assert_eq "$(pc curl -s --max-time 2 http://10.96.0.10/)" b1 "web after the refused file"

say "5,000 bad services: 20 lines and a count"
python3 -c '
import json, sys
s = {"web": {"vip": "10.96.0.10", "ports": [{"name": "http", "port": 80, "target_port": 8080}]}}
s.update({"bad%d" % i: {"vip": "10.0.0.300", "ports": [{"port": 80}]} for i in range(5000)})
e = {"web": {"b1": {"ip": "10.250.2.11"}}}
json.dump({"services": s, "endpoints": e}, sys.stdout)' | put_file "$f"
within 3 grep -q '4980 more refused objects not shown' "$vipd_log" || fail "no count of the refused objects not shown"
assert_eq "$(lines 'service "bad')" 20 "refusal lines shown"
assert_eq "$(pc curl -s --max-time 2 http://10.96.0.10/)" b1 "web beside 5,000 bad services"
assert_alive "$vipd_pid" vipd

say "a directory and a missing file: one line each"
for p in "$tmp" "$tmp/none.json"; do
	rc=0
	pn timeout 5 "$VIPD" --services-file "$p" --dry-run >/dev/null 2>"$tmp/out" || rc=$?
	cat "$tmp/out"
	[[ $rc -ne 0 && $rc -ne 124 ]] || fail "--services-file $p: exit $rc"
	assert_eq "$(wc -l <"$tmp/out")" 1 "lines for --services-file $p"
done
pn timeout 5 "$VIPD" --services-file "$tmp" --dry-run 2>&1 | grep -q 'a directory, not a file' || fail "a directory is not called one"
out=$(pn "$root_dir/vipctl" check /nonexistent 2>&1) || true
[[ $out == "vipctl: /nonexistent: No such file or directory" ]] || fail "vipctl check /nonexistent said: $out"

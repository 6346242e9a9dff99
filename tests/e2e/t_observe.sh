#!/usr/bin/env bash
# What an operator sees of a node (--metrics, default 127.0.0.1:9464):
#  a. /metrics counts the services and endpoints the file holds, by state;
#     /status lists each backend with state and reason.
#  b. A backend whose server dies is "unhealthy" in both, with its reason.
#  c. A change increments vipd_network_programming_duration_seconds_count.
#  d. /healthz is 200; 503 while another process owns the ip6 table by
#     name (nft "flags owner": every commit of vipd's fails), 200 again
#     once that process is gone and vipd's retry got through.
#  e. The listener is bounded: 10,000 connections held open (far past its
#     limit) do not hold the loop: a change still reaches the kernel at
#     once, and /metrics answers again when they close.
#  f. A second vipd (--table other) finds the address taken: it routes
#     anyway, retries, and listens once the first one is gone.
#  g. Out of descriptors, the listener pauses accepting (no busy loop) and
#     answers again once they come back.
#
#   client ── node (vipd, curl) ── b1, b2, b3: busybox httpd :8080
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

topo_up 3
declare -A httpd_pid
for i in 1 2 3; do
	start_httpd "$i"
	httpd_pid[$i]=$!
done
f=$tmp/services.json
check='{"type":"tcp","interval_ms":200,"timeout_ms":500,"rise":2,"fall":2}'
# files DB_WEIGHT [MORE]: web (checked, b1..b3), db (b1 only, unchecked)
# and MORE services (JSON members, each with a trailing comma)
files() {
	printf '{"services":{%s"web":{"vip":"10.96.0.10","ports":[{"name":"http","port":80,"protocol":"tcp","target_port":8080}],"health":%s},
  "db":{"vip":"10.96.0.11","ports":[{"port":5432,"protocol":"tcp","target_port":8080}]}},
 "endpoints":{"web":{%s,%s,%s},"db":{%s}}}\n' "${2:-}" "$check" "$(ep 1)" "$(ep 2)" "$(ep 3)" "$(ep 1 "$1")" | put_file "$f"
}
files 100
start_vipd "$f"
wait_vip 10.96.0.11

url=http://127.0.0.1:9464
scrape() { pn curl -s --max-time 3 "$url/metrics"; }
# metric 'NAME{LABELS}': its value in a fresh scrape ("" when absent).
metric() { scrape | awk -v m="$1" '$1 == m { print $2 }'; }
# backend SERVICE ID FIELD: a field of one backend in /status.
backend() {
	pn curl -s --max-time 3 "$url/status" | python3 -c '
import json, sys
s = json.load(sys.stdin)["services"][sys.argv[1]]
print([b for b in s["backends"] if b["id"] == sys.argv[2]][0][sys.argv[3]])' "$@"
}
healthz() { pn curl -s --max-time 3 -o "$tmp/healthz" -w '%{http_code}' "$url/healthz"; }
# is_eq VALUE CMD...: CMD prints VALUE.
is_eq() { [[ $("${@:2}") == "$1" ]]; }

say "a. counts match the file"
within 3 is_eq 4 metric 'vipd_endpoints{state="ready"}' ||
	fail "vipd_endpoints{state=\"ready\"} is '$(metric 'vipd_endpoints{state="ready"}')', not 4"
assert_eq "$(metric vipd_services)" 2 "vipd_services"
assert_eq "$(metric 'vipd_endpoints{state="unhealthy"}')" 0 "unhealthy endpoints"
assert_eq "$(metric 'vipd_source_up{source="file"}')" 1 "vipd_source_up of the file"
version=$("$VIPD" --version | awk '{ print $2 }')
assert_eq "$(metric "vipd_build_info{version=\"$version\"}")" 1 "vipd_build_info"
# wellformed: every family has one HELP and one TYPE before its samples;
# each histogram's buckets never fall, start at 0.5 ms and end at +Inf ==
# _count; the one full sync took under 5 s.
wellformed() {
	python3 -c '
import re, sys
text = sys.stdin.read()
help, types, samples = {}, {}, []
for line in text.splitlines():
    m = re.match(r"# (HELP|TYPE) (\S+) (.*)", line)
    if m:
        d = help if m.group(1) == "HELP" else types
        assert m.group(2) not in d, "twice: " + line
        d[m.group(2)] = m.group(3)
        continue
    m = re.match(r"([a-z_]+)(\{[^}]*\})? (\S+)$", line)
    assert m, "not a sample: " + line
    samples.append((m.group(1), m.group(2) or "", float(m.group(3))))
hist = {}
for name, labels, v in samples:
    fam = re.sub(r"_(bucket|sum|count)$", "", name) if types.get(re.sub(r"_(bucket|sum|count)$", "", name)) == "histogram" else name
    assert fam in types and fam in help, "no HELP/TYPE for " + name
    if name.endswith("_bucket"):
        key = (fam, re.sub(r",?le=\"[^\"]*\"", "", labels))
        hist.setdefault(key, []).append((re.search(r"le=\"([^\"]*)\"", labels).group(1), v))
counts = {(re.sub(r"_count$", "", n), l.replace("{}", "")): v for n, l, v in samples if n.endswith("_count")}
for (fam, labels), b in hist.items():
    vals = [v for _, v in b]
    assert vals == sorted(vals), "buckets fall: %s %s" % (fam, b)
    assert b[0][0] == "0.0005" and b[-1][0] == "+Inf", b
    assert b[-1][1] == counts[(fam, labels if labels != "{}" else "")], (fam, labels, b, counts)
full = [v for n, l, v in samples if n == "vipd_sync_duration_seconds_sum" and "full" in l]
assert full and 0 < full[0] < 5, full
print("ok")'
}
[[ $(scrape | wellformed) == ok ]] || fail "/metrics is not well-formed: $(scrape | wellformed 2>&1 | tail -1)"
pn curl -s --max-time 3 -D "$tmp/headers" -o /dev/null "$url/metrics"
grep -qi '^content-type: text/plain; version=0.0.4' "$tmp/headers" || fail "/metrics Content-Type: $(cat "$tmp/headers")"
assert_eq "$(backend web b2 state)" healthy "b2's state"
assert_eq "$(backend db b1 effective)" 100 "db/b1's effective weight"
[[ $(backend web b3 ip) == "$(backend_ip 3)" ]] || fail "b3's address in /status"

say "b. b2's server dies: unhealthy, with its reason"
stop_pid "${httpd_pid[2]}" KILL "b2's httpd"
within 5 is_eq 1 metric 'vipd_endpoints{state="unhealthy"}' ||
	fail "b2 not counted unhealthy within 5 s: $(scrape | grep '^vipd_endpoints')"
assert_eq "$(metric 'vipd_endpoints{state="ready"}')" 3 "ready endpoints with b2 dead"
assert_eq "$(backend web b2 state)" unhealthy "b2's state in /status"
reason=$(backend web b2 reason)
[[ $reason == *"connect refused"* ]] || fail "b2's reason: '$reason'"
[[ $(backend web b2 since) == 20* ]] || fail "b2's last change has no time: '$(backend web b2 since)'"
checks=$(metric 'vipd_health_checks_total{result="fail"}')
assert_ge "$checks" 2 "failed checks counted"
VIPCTL=${VIPCTL:-$root_dir/vipctl}
table=$(pn "$VIPCTL" status web)
echo "$table"
grep -Eq "^web +10\.96\.0\.10 +80/tcp +b2 +$(backend_ip 2):8080 +unhealthy +0/100 +unhealthy: connect refused" <<<"$table" ||
	fail "vipctl status does not show b2 unhealthy with its reason"
grep -Eq "^web .* b1 .* healthy +100( |$)" <<<"$table" || fail "vipctl status does not show b1 healthy"
! grep -q '^db ' <<<"$table" || fail "vipctl status web shows db too"
pn "$VIPCTL" status --json | python3 -c 'import json, sys; d = json.load(sys.stdin); assert set(d["services"]) == {"web", "db"}, d' ||
	fail "vipctl status --json is not the whole /status"

say "c. a change is counted in the programming histogram"
count=vipd_network_programming_duration_seconds_count
before=$(metric $count)
files 50
within 3 is_eq 50 backend db b1 weight || fail "db/b1's weight in /status is not 50 after the change"
after=$(metric $count)
assert_ge "$after" $((before + 1)) "$count after one change"
# the change took milliseconds, not seconds (the sum is in seconds)
sum=$(metric vipd_network_programming_duration_seconds_sum)
python3 -c 'import sys; s = float(sys.argv[1]); sys.exit(not (0 < s < 2 * int(sys.argv[2])))' "$sum" "$after" ||
	fail "vipd_network_programming_duration_seconds_sum $sum for $after changes: not seconds?"
[[ $(scrape | wellformed) == ok ]] || fail "/metrics after a change: $(scrape | wellformed 2>&1 | tail -1)"

say "d. /healthz 200; 503 while the kernel refuses every commit; 200 after"
assert_eq "$(healthz)" 200 "/healthz"
python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert d["pending_since"] is None and d["last_sync"].endswith("Z") and d["sources"] == {"file": "ok"}, d' "$tmp/healthz" ||
	fail "/healthz body: $(cat "$tmp/healthz")"
mkfifo "$tmp/nft-in"
pn nft -i <"$tmp/nft-in" >/dev/null 2>&1 &
holder=$!
pids+=("$holder")
exec 5>"$tmp/nft-in"
echo 'delete table ip6 vipd' >&5
echo 'add table ip6 vipd { flags owner; }' >&5
is_503() { [[ $(healthz) == 503 ]]; }
within 5 is_503 || fail "/healthz is $(healthz), not 503, with the ip6 table owned by another process"
grep -q '"kernel":"differs' "$tmp/healthz" || fail "the 503 body does not say why: $(cat "$tmp/healthz")"
assert_ge "$(metric vipd_sync_failures_total)" 1 "vipd_sync_failures_total"
logged "$vipd_log" 'another process holds a table of this name' || fail "the EPERM of an owned table was not explained"
assert_alive "$vipd_pid" "vipd while its commits are refused"
exec 5>&- # nft reads EOF and exits: its table goes with it
is_200() { [[ $(healthz) == 200 ]]; }
within 15 is_200 || fail "/healthz still $(healthz) 15 s after the owner left: $(cat "$tmp/healthz")"
pn nft list chain ip6 vipd prerouting >/dev/null || fail "vipd did not make its ip6 table again"
assert_eq "$(metric vipd_kernel_differs)" 0 "vipd_kernel_differs after the repair"

say "e. 10,000 connections held open do not stall the loop"
bg_ns "$node" python3 - "$tmp/flood" <<-'EOF'
	import resource, socket, sys, time
	resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))
	socks = []
	for i in range(10000):
	    s = socket.socket()
	    s.setblocking(False)
	    try:
	        s.connect(("127.0.0.1", 9464))
	    except BlockingIOError:
	        pass
	    socks.append(s)
	time.sleep(1)
	for s in socks[::10]:  # a request never finished: slow clients
	    try:
	        s.send(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
	    except OSError:
	        pass
	open(sys.argv[1], "w").write("held\n")
	time.sleep(8)
EOF
flood=$!
flooding() { [[ -s $tmp/flood ]]; }
within 20 flooding || fail "the flood did not start"
t0=$(now_ms)
files 70 '"extra":{"vip":"10.96.0.12","ports":[{"port":80,"protocol":"tcp","target_port":8080}]},'
# (it has no endpoints: its VIP goes to the noendpoints set)
noep() { pn nft list set ip vipd noendpoints | grep -qF 10.96.0.12; }
within 2 noep || fail "a service added during the flood is not in the kernel within 2 s"
echo "a service added during the flood was in the kernel $(($(now_ms) - t0)) ms later"
assert_alive "$vipd_pid" "vipd during the flood"
stop_pid "$flood" TERM "the flood"
answers() { scrape | grep -q '^vipd_services 3$'; }
within 5 answers || fail "/metrics does not answer within 5 s of the flood's end: $(scrape | grep -c .) lines; $(pn ss -ltn | grep -F :9464)"
assert_eq "$(backend db b1 weight)" 70 "db/b1's weight after the flood"

say "f. a second vipd (--table other) finds the address taken: it routes, and listens once the first is gone"
log2=$tmp/vipd2.log
start_vipd_in "$node" "$log2" --services-file "$f" --table other
second=$started_pid
within 5 logged "$log2" '--metrics 127.0.0.1:9464: Address already in use; routing goes on' ||
	fail "the second vipd did not say its address is taken"
other_vip() { pn nft list map ip other services 2>/dev/null | grep -qF 10.96.0.10; }
within 5 other_vip || fail "the second vipd did not program its table"
stop_vipd TERM
within 7 logged "$log2" 'serving /metrics, /healthz and /status on 127.0.0.1:9464' ||
	fail "the second vipd did not take the address within 7 s of the first one's exit"
[[ $(metric vipd_services) == 3 ]] || fail "the second vipd's /metrics: $(scrape | head -3)"
stop_pid "$second" TERM "the second vipd"
pn "$VIPD" --cleanup --table other 2>>"$log2"

say "g. out of descriptors: the listener stops accepting a while instead of spinning"
printf '{"services":{"db":{"vip":"10.96.0.11","ports":[{"port":5432,"protocol":"tcp","target_port":8080}]}},"endpoints":{"db":{%s}}}\n' "$(ep 1)" >"$tmp/db.json"
log3=$tmp/vipd3.log
ip netns exec "$node" prlimit --nofile=24:24 "$VIPD" --services-file "$tmp/db.json" --table third \
	--metrics 127.0.0.1:9466 --state-dir off 2>>"$log3" &
third=$!
pids+=("$third")
third_up() { pn curl -s --max-time 1 -o /dev/null http://127.0.0.1:9466/healthz; }
within 5 third_up || fail "the vipd with 24 descriptors does not answer: $(tail -3 "$log3")"
bg_ns "$node" python3 -c '
import socket, time
s = []
for i in range(40):
    c = socket.socket(); c.connect(("127.0.0.1", 9466)); s.append(c)
time.sleep(4)'
holder=$!
sleep 1
ticks() { awk '{ print $14 + $15 }' "/proc/$third/stat"; }
t0=$(ticks)
sleep 2
spent=$(($(ticks) - t0))
echo "vipd out of descriptors: $spent ticks of CPU in 2 s"
assert_le "$spent" 40 "CPU ticks (of 200) in 2 s out of descriptors"
logged "$log3" 'http: accept: Too many open files; not accepting for 200 ms' || fail "running out of descriptors was not logged"
stop_pid "$holder" TERM "the holder of 40 connections"
within 3 third_up || fail "the listener does not answer within 3 s of the descriptors coming back"
stop_pid "$third" TERM "the third vipd"
pn "$VIPD" --cleanup --table third 2>>"$log3"

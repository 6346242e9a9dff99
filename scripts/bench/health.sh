#!/usr/bin/env bash
# health.sh -- what vipd's active health checks (watcher/health.c) do and
# cost. Markdown to stdout; progress to stderr.
#
#   a. Death to removal: topology vhc (lib.sh topo_up 2), vipd as a daemon
#      with a services file: web 10.96.0.10:80 -> b1, b2 (:8080, busybox
#      httpd, random), TCP check interval INTERVAL ms, fall FALL, rise 2.
#      KILLS times: a client loop in $client (curl, a new connection every
#      ~10 ms, --max-time 1; lib_etcd.sh's client_loop) runs; b1's httpd is
#      SIGKILLed (t0); `nft list map ip vipd backends` in the node is polled
#      every 10 ms until it has no element to b1 (t1); 300 ms later the
#      loop stops; b1's httpd is restarted and must be back in the map
#      before the next round. Reported: t1 - t0 (p50, p99, max; the poll
#      adds up to ~10 ms plus one nft listing), the configured bound
#      interval x fall, and the client's failed / total requests over all
#      rounds (a request fails when the random pick is the dead b1 before
#      its removal: connection refused).
#   b. CPU of checking N backends (default 1000: 100 services x 10
#      endpoints, one backend IP with N ports, served by one python3
#      process in b2's namespace that accepts, answers "HTTP/1.0 200" to a
#      request, closes at EOF, and counts accepted connections) at interval
#      1000 ms: a fresh vipd per case (no check, TCP, HTTP GET /healthz
#      expect 200), WARM s after the map holds every backend, then vipd's
#      utime+stime (/proc/PID/stat) over CPU_SECS s of wall time, in % of
#      one core; with the servers' accepts/s over the same window as a
#      check that every backend was probed once a second.
#
# Every namespace is made here (tests/e2e/lib.sh, names ending in $$) and
# removed by lib.sh's cleanup on exit, failure or Ctrl-C; nothing is
# programmed and no packet is sent in the root namespace. Every wait is
# bounded in time, every loop in count.
#
# Environment (defaults): KILLS=20 INTERVAL=200 FALL=3 N=1000 PER_SVC=10
#   CPU_SECS=30 WARM=5 CASES="none tcp http" TSV=file (also append
#   tab-separated lines: kill|cpu ...) VIPD=path KEEP=1
set -u

KILLS=${KILLS:-20}
INTERVAL=${INTERVAL:-200}
FALL=${FALL:-3}
N=${N:-1000}
PER_SVC=${PER_SVC:-10}
CPU_SECS=${CPU_SECS:-30}
WARM=${WARM:-5}
CASES=${CASES:-none tcp http}
for x in "$KILLS" "$INTERVAL" "$FALL" "$N" "$PER_SVC" "$CPU_SECS" "$WARM"; do
	case "$x" in '' | *[!0-9]*) echo "health.sh: not a number: $x" >&2; exit 2 ;; esac
done
[[ $N -ge 1 && $N -le 20000 && $PER_SVC -ge 1 && $KILLS -le 1000 ]] || { echo "health.sh: N 1..20000, PER_SVC >= 1, KILLS <= 1000" >&2; exit 2; }

# shellcheck source-path=SCRIPTDIR source=../../tests/e2e/lib.sh
source "$(dirname "$0")/../../tests/e2e/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../../tests/e2e/lib_etcd.sh
source "$root_dir/tests/e2e/lib_etcd.sh" # client_loop (no etcd is started)
# shellcheck source-path=SCRIPTDIR source=lib_bench.sh
source "$root_dir/scripts/bench/lib_bench.sh"
bench_need ip nft curl python3 timeout
[ -x "$VIPD" ] || fail "health.sh: $VIPD is not built (make)"
set +e
ulimit -n 65536 2>/dev/null || ulimit -n 16384 2>/dev/null # N listeners, N probes
log() { echo "health.sh: $*" >&2; }
tsv() { [ -z "${TSV:-}" ] || (IFS=$'\t'; echo "$*") >>"$TSV"; }
pct() { # pct P < numbers: the P-th percentile (nearest rank)
	sort -n | awk -v p="$1" '{ a[NR] = $1 } END { if (!NR) { print "-"; exit } i = int(p / 100 * NR + 0.999999); if (i < 1) i = 1; if (i > NR) i = NR; print a[i] }'
}

topo_use vhc
topo_up 2
hz=$(getconf CLK_TCK)

# ---------------------------------------------------------------- a. death to removal
f=$tmp/web.json
printf '{"services":{"web":{"vip":"10.96.0.10","ports":[{"name":"http","port":80,"protocol":"tcp","target_port":8080}],"algorithm":"random",
 "health":{"type":"tcp","interval_ms":%d,"timeout_ms":%d,"rise":2,"fall":%d}}},
 "endpoints":{"web":{%s,%s}}}\n' "$INTERVAL" "$INTERVAL" "$FALL" "$(ep 1)" "$(ep 2)" | put_file "$f"
start_httpd 1
b1_pid=${pids[-1]}
start_httpd 2
start_vipd "$f"
wait_vip 10.96.0.10
b1_in() { backend_in_map "$(backend_ip 1)" 8080; }
b1_out() { ! b1_in; }
within 5 b1_in || fail "b1 not in the backends map 5 s after vipd started"
sleep 1
: >"$tmp/kills"
ok_all=0 bad_all=0
for ((k = 1; k <= KILLS; k++)); do
	client_loop 10.96.0.10 3000
	sleep 0.5
	t0=$(now_ms)
	stop_pid "$b1_pid" KILL "b1's httpd"
	poll_s=0.01 since_ms=$t0 within 10 b1_out || fail "round $k: b1 still in the map 10 s after its server died"
	t1=$(now_ms)
	sleep 0.3
	client_loop_result >/dev/null # its lines: one per failed request
	echo "$((t1 - t0))" >>"$tmp/kills"
	ok_all=$((ok_all + loop_ok)) bad_all=$((bad_all + loop_bad))
	log "kill $k: removed after $((t1 - t0)) ms; client $loop_bad failed of $((loop_ok + loop_bad))"
	tsv kill "$k" "$((t1 - t0))" "$loop_ok" "$loop_bad"
	start_httpd 1
	b1_pid=${pids[-1]}
	within 10 b1_in || fail "round $k: b1 not back in the map 10 s after its server restarted"
	sleep 0.3
done
assert_alive "$vipd_pid" vipd
stop_vipd TERM
p50=$(pct 50 <"$tmp/kills") p99=$(pct 99 <"$tmp/kills") pmax=$(pct 100 <"$tmp/kills") pmin=$(pct 0 <"$tmp/kills")
req=$((ok_all + bad_all))

echo "## Health checks: a backend's death to its removal"
echo
echo "vipd (services file) sends web to b1 and b2 (random); a TCP check every $INTERVAL ms, fall $FALL, rise 2."
echo "$KILLS times b1's server is killed (SIGKILL) while a client loop (curl, a new connection every ~10 ms)"
echo "runs through the VIP; t1 is when \`nft list map ip vipd backends\` (polled every 10 ms) has no element to b1."
echo
echo "| check | kills | bound interval x fall | death to removal p50 | p99 | min / max | failed / total requests | failed per kill |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
echo "| tcp, ${INTERVAL} ms, fall $FALL | $KILLS | $((INTERVAL * FALL)) ms | $p50 ms | $p99 ms | $pmin / $pmax ms | $bad_all / $req | $(awk -v b="$bad_all" -v k="$KILLS" 'BEGIN { printf "%.1f", k ? b / k : 0 }') |"
echo
echo "Before the removal a request that picks the dead b1 is refused (about half of them, two backends);"
echo "after it none fails. The first failing probe comes up to one interval (+10 % jitter) after the death,"
echo "then fall - 1 more intervals: the bound is not a hard maximum."
echo

# ---------------------------------------------------------------- b. CPU of N checks
svcs=$(((N + PER_SVC - 1) / PER_SVC))
cat >"$tmp/servers.py" <<'EOF'
import selectors, socket, sys, time
ip, base, n, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
sel = selectors.DefaultSelector()
for p in range(base, base + n):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((ip, p))
    s.listen(64)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, "l")
accepted, last = 0, time.monotonic()
open(out + ".ready", "w").close()
while True:
    for key, _ in sel.select(0.2):
        s = key.fileobj
        if key.data == "l":
            try:
                c, _ = s.accept()
            except OSError:
                continue
            accepted += 1
            c.setblocking(False)
            sel.register(c, selectors.EVENT_READ, "c")
        else:
            try:
                d = s.recv(4096)
            except OSError:
                d = b""
            if d:
                try:
                    s.send(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
                except OSError:
                    pass
            sel.unregister(s)
            s.close()
    now = time.monotonic()
    if now - last >= 0.5:
        with open(out + ".tmp", "w") as f:
            f.write("%d %.3f\n" % (accepted, now))
        import os
        os.replace(out + ".tmp", out)
        last = now
EOF
bg_ns "$(bns 2)" python3 "$tmp/servers.py" "$(backend_ip 2)" 20000 "$N" "$tmp/accepts"
within 30 test -e "$tmp/accepts.ready" || fail "the python servers did not listen on $N ports within 30 s"
within 5 port_open 2 $((20000 + N - 1)) || fail "nothing listens on port $((20000 + N - 1))"

# gen CASE: the services file, svcs services x PER_SVC endpoints, check CASE.
gen() {
	python3 - "$1" "$N" "$PER_SVC" "$(backend_ip 2)" <<'EOF'
import json, sys
case, n, per, ip = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
svcs, eps = {}, {}
for i in range((n + per - 1) // per):
    s = {"vip": "10.96.%d.%d" % (1 + i // 250, 1 + i % 250),
         "ports": [{"name": "http", "port": 80, "protocol": "tcp", "target_port": 8080}]}
    if case == "tcp":
        s["health"] = {"type": "tcp", "interval_ms": 1000, "timeout_ms": 1000}
    elif case == "http":
        s["health"] = {"type": "http", "path": "/healthz", "expect": 200, "interval_ms": 1000, "timeout_ms": 1000}
    svcs["s%d" % i] = s
    eps["s%d" % i] = {"e%d" % j: {"ip": ip, "port": 20000 + i * per + j}
                      for j in range(per) if i * per + j < n}
json.dump({"services": svcs, "endpoints": eps}, sys.stdout)
EOF
}
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
all_in() { [[ $(pn nft list map ip vipd backends 2>/dev/null | grep -cF ": $(backend_ip 2) . ") -ge $N ]]; }
accepts() { awk '{ print $1 }' "$tmp/accepts"; }

: >"$vipd_log"
rows=()
for c in $CASES; do
	case $c in none | tcp | http) ;; *) fail "CASES: unknown case $c" ;; esac
	gen "$c" | put_file "$tmp/many.json"
	# SIGTERM leaves the kernel state in place: start each case from none
	pn nft delete table ip vipd 2>/dev/null
	pn nft delete table ip6 vipd 2>/dev/null
	log "cpu $c: $svcs services x $PER_SVC endpoints ($N), vipd starting"
	start_vipd "$tmp/many.json"
	poll_s=0.2 within 60 all_in || fail "case $c: the backends map has not all $N backends 60 s after vipd started"
	sleep "$WARM"
	running "$vipd_pid" || fail "case $c: vipd died"
	a0=$(accepts) c0=$(ticks "$vipd_pid") w0=$(now_ms)
	sleep "$CPU_SECS"
	a1=$(accepts) c1=$(ticks "$vipd_pid") w1=$(now_ms)
	rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$vipd_pid/status")
	assert_alive "$vipd_pid" vipd
	# every backend still in the map: no check failed on the way
	all_in || log "case $c: not every backend in the map after the run"
	unhealthy=$(grep -c -- '-> unhealthy' "$vipd_log")
	stop_vipd TERM
	cpu=$(awk -v t=$((c1 - c0)) -v hz="$hz" -v ms=$((w1 - w0)) 'BEGIN { printf "%.2f", 100 * t / hz / (ms / 1000) }')
	aps=$(awk -v a=$((a1 - a0)) -v ms=$((w1 - w0)) 'BEGIN { printf "%.0f", a / (ms / 1000) }')
	log "cpu $c: vipd ${cpu} % of one core over $(((w1 - w0) / 1000)) s; servers accepted $aps/s; RSS $rss kB; $unhealthy '-> unhealthy' lines"
	tsv cpu "$c" "$N" "$cpu" "$aps" "$rss" "$unhealthy"
	rows+=("| $c | $N | $([[ $c == none ]] && echo - || echo '1000 ms') | $cpu % | $aps | $((rss / 1024)) MiB | $unhealthy |")
	: >"$vipd_log"
done

echo "## Health checks: CPU of checking $N backends"
echo
echo "$svcs services x $PER_SVC endpoints, one backend IP with $N ports (one python3 process accepts, answers"
echo "\`HTTP/1.0 200\`, counts connections). A fresh vipd per row; ${WARM} s after the map holds every backend,"
echo "vipd's utime + stime (/proc/PID/stat, ${hz} ticks/s) over ${CPU_SECS} s of wall time, in % of one core."
echo
echo "| checks | backends | interval | vipd CPU (% of one core) | connections/s the servers accepted | vipd RSS | '-> unhealthy' lines |"
echo "|---|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
echo

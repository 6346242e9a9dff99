#!/usr/bin/env bash
# scrape.sh -- what vipd's HTTP listener (--metrics: /metrics, /status) costs
# the event loop it shares with reconciling. Markdown to stdout; progress
# to stderr.
#
#   scripts/bench/scrape.sh [S] [E] [CHANGES]      (defaults 10000 10 200)
#
# One node namespace (vscr-node-$$, tests/e2e/lib.sh) with one etcd member
# on its loopback (lib_etcd.sh), S services x E endpoints loaded
# (etcd_load.py), vipd on etcd with --metrics $ADDR, synced. Then:
#
#   a. Scrape cost: one warm-up GET, then SCRAPES sequential GET /metrics
#      and STATUS_SCRAPES GET /status, each a fresh curl in the node
#      namespace (time_total: connect to last byte; size_download: body
#      bytes). vipd's CPU per scrape: the utime+stime delta of
#      /proc/PID/stat (CLK_TCK ticks: 10 ms resolution over the whole
#      series) and the on-CPU time of /proc/PID/schedstat (ns), divided by
#      the scrapes. Nothing else asks vipd for work meanwhile (etcd is idle).
#   b. Change latency, idle: CHANGES etcd changes with etcd_latency.py (put
#      -> build/nftwatch sees the element; p50/p90/p99/max).
#   c. The same services changed again (other IPs: etcd_latency.py NET
#      10.201) while a scrape loop runs in the node namespace: curl
#      processes, each fetching /metrics BATCH times back to back on one
#      keep-alive connection, one after the other, until the changes are
#      done (or CAP s, or MAX_BATCHES). Reported: scrapes done during the
#      changes, scrapes/s, vipd's CPU over that window, and the p99 ratio
#      scraping / idle, PASS when it is at most LIMIT (2).
#   d. Control (CONTROL=1): the same loop on /healthz (a few bytes, no
#      rendering) during CHANGES more changes (NET 10.202): what the client
#      side alone does to the latency on this machine (curl, etcd, the
#      measuring python and nftwatch share its CPUs with vipd).
#
# Every namespace is made here and removed by lib.sh's cleanup on exit,
# failure or Ctrl-C; nothing is programmed and no packet is sent in the
# root namespace. Every wait is bounded in time, every loop in count.
#
# Environment (defaults): SCRAPES=20 STATUS_SCRAPES=5 BATCH=100 CAP=600
#   MAX_BATCHES=100000 LIMIT=2 ADDR=127.0.0.1:9464 STRICT=0 (1: exit 3 on
#   FAIL) CONTROL=1 (0: no control case d) TSV=file (append tab-separated
#   lines: scrape|lat|verdict ...) PERF=path (perf record -g of vipd during
#   case c: PATH.data, its top symbols in PATH.txt)
#   VIPD=path KEEP=1
set -u
S=${1:-10000} E=${2:-10} N=${3:-200}
SCRAPES=${SCRAPES:-20}
STATUS_SCRAPES=${STATUS_SCRAPES:-5}
BATCH=${BATCH:-100}
CAP=${CAP:-600}
MAX_BATCHES=${MAX_BATCHES:-100000}
LIMIT=${LIMIT:-2}
ADDR=${ADDR:-127.0.0.1:9464}
STRICT=${STRICT:-0}
CONTROL=${CONTROL:-1}
for x in "$S" "$E" "$N" "$SCRAPES" "$STATUS_SCRAPES" "$BATCH" "$CAP" "$MAX_BATCHES"; do
	case "$x" in '' | *[!0-9]*) echo "scrape.sh: not a number: $x" >&2; exit 2 ;; esac
done
[[ $S -ge 1 && $E -ge 1 && $N -ge 1 && $N -le 10000 && $SCRAPES -ge 1 && $SCRAPES -le 10000 &&
	$STATUS_SCRAPES -le 1000 && $BATCH -ge 1 && $BATCH -le 1000 && $CAP -ge 10 ]] ||
	{ echo "scrape.sh: S, E >= 1; CHANGES 1..10000; SCRAPES 1..10000; STATUS_SCRAPES <= 1000; BATCH 1..1000; CAP >= 10" >&2; exit 2; }

# shellcheck source-path=SCRIPTDIR source=../../tests/e2e/lib.sh
source "$(dirname "$0")/../../tests/e2e/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../../tests/e2e/lib_etcd.sh
source "$root_dir/tests/e2e/lib_etcd.sh"
# shellcheck source-path=SCRIPTDIR source=lib_bench.sh
source "$root_dir/scripts/bench/lib_bench.sh"
bench_need ip nft curl python3 timeout bc chrt
[ -x "$VIPD" ] || fail "scrape.sh: $VIPD is not built (make)"
set +e
log() { echo "scrape.sh: $*" >&2; }
tsv() { [ -z "${TSV:-}" ] || (IFS=$'\t'; echo "$*") >>"$TSV"; }
pct() { # pct P < numbers: the P-th percentile (nearest rank)
	sort -n | awk -v p="$1" '{ a[NR] = $1 } END { if (!NR) { print "-"; exit } i = int(p / 100 * NR + 0.999999); if (i < 1) i = 1; if (i > NR) i = NR; print a[i] }'
}
hz=$(getconf CLK_TCK)
base=http://$ADDR

topo_use vscr
node_up || fail "node namespace $node not up"
etcd_args=(--quota-backend-bytes 4294967296)
etcd_up m1=127.0.0.1
t0=$(date +%s.%N)
timeout 900 ip netns exec "$node" python3 "$bench_dir/etcd_load.py" "$etcd_endpoints" "$S" "$E" ||
	fail "loading $S x $E into etcd failed (or took over 900 s)"
t1=$(date +%s.%N)
log "loaded $S services x $E endpoints into etcd in $(echo "$t1 - $t0" | bc) s"
start_vipd_etcd --metrics "$ADDR"
sync_s=$((60 + S / 100)) # generous: 160 s at 10,000 services
wait_logged "$sync_s" "$vipd_log" 'reconciled all' "$vipd_pid" || {
	tail -n 5 "$vipd_log" >&2
	fail "vipd did not sync within $sync_s s"
}
# shellcheck disable=SC2317 # called by within
healthz() { pn curl -s -o /dev/null --max-time 5 -w '%{http_code}' "$base/healthz" | grep -q '^200$'; }
within 30 healthz || {
	tail -n 5 "$vipd_log" >&2
	fail "vipd's /healthz on $ADDR did not answer 200 within 30 s"
}
grep -E 'loaded|reconciled all|serving' "$vipd_log" | sed 's/^/scrape.sh: vipd: /' >&2
bench_tool nftwatch libnftnl libmnl
sleep 1
assert_alive "$vipd_pid" vipd
rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$vipd_pid/status")

ticks() { awk '{ print $14 + $15 }' "/proc/$vipd_pid/stat"; }
sched_ns() { awk '{ print $1 }' "/proc/$vipd_pid/schedstat" 2>/dev/null || echo 0; }

# ---------------------------------------------------------------- a. scrape cost
# series PATH COUNT [GAP_S]: COUNT sequential GETs (GAP_S apart: past
# METRICS_MAX_AGE_MS, every /metrics is rendered anew rather than served
# from the text vipd keeps); prints "ms bytes" per scrape to $tmp/series;
# "cpu_ticks sched_ns" of vipd over the series (gaps included: vipd is
# idle in them) in $series_cpu.
series() {
	local path=$1 n=$2 gap=${3:-0} i out c0 c1 n0 n1
	: >"$tmp/series"
	pn curl -s -o /dev/null --max-time 60 "$base$path" # warm-up, not counted
	c0=$(ticks) n0=$(sched_ns)
	for ((i = 0; i < n; i++)); do
		[[ $gap == 0 ]] || sleep "$gap"
		out=$(pn curl -s -o /dev/null --max-time 60 -w '%{http_code} %{time_total} %{size_download}' "$base$path")
		[[ $out == 200\ * ]] || fail "GET $path: '$out' (scrape $((i + 1)) of $n)"
		awk '{ printf "%.3f %d\n", $2 * 1000, $3 }' <<<"$out" >>"$tmp/series"
	done
	c1=$(ticks) n1=$(sched_ns)
	series_cpu="$((c1 - c0)) $((n1 - n0))"
	assert_alive "$vipd_pid" vipd
}
# row PATH COUNT [WHAT]: one table row from $tmp/series and $series_cpu; TSV too.
row() {
	local path=$1 n=$2 what=${3:-} p50 pmax bmin bmax cpu sch
	p50=$(awk '{ print $1 }' "$tmp/series" | pct 50)
	pmax=$(awk '{ print $1 }' "$tmp/series" | pct 100)
	bmin=$(awk '{ print $2 }' "$tmp/series" | pct 0)
	bmax=$(awk '{ print $2 }' "$tmp/series" | pct 100)
	read -r ct sn <<<"$series_cpu"
	cpu=$(awk -v t="$ct" -v hz="$hz" -v n="$n" 'BEGIN { printf "%.1f", t * 1000 / hz / n }')
	sch=$(awk -v s="$sn" -v n="$n" 'BEGIN { printf "%.2f", s / 1e6 / n }')
	log "GET $path x $n: p50 $p50 ms, max $pmax ms, $bmax bytes; vipd CPU $cpu ms/scrape (stat), $sch ms/scrape (schedstat)"
	tsv scrape "$path${what:+ ($what)}" "$n" "$p50" "$pmax" "$bmax" "$cpu" "$sch"
	rows+=("| GET $path${what:+ ($what)} | $n | $p50 ms | $pmax ms | $([[ $bmin == "$bmax" ]] && echo "$bmax" || echo "$bmin-$bmax") | $(awk -v b="$bmax" -v s="$S" -v e="$E" 'BEGIN { printf "%.1f", b / (s * e) }') | $cpu ms | $sch ms |")
}
rows=()
series /metrics "$SCRAPES" 1.1
row /metrics "$SCRAPES" "rendered: 1.1 s apart"
series /metrics "$SCRAPES"
row /metrics "$SCRAPES" "kept text: back to back"
if [[ $STATUS_SCRAPES -gt 0 ]]; then
	series /status "$STATUS_SCRAPES" 1.1
	row /status "$STATUS_SCRAPES" "rendered: 1.1 s apart"
fi

# ---------------------------------------------------------------- b. idle latency
# changes NET: CHANGES changes, their "changes=... p50_ms=..." line in $lat_line.
changes() {
	lat_line=$(timeout 900 ip netns exec "$node" python3 "$bench_dir/etcd_latency.py" "$etcd_endpoints" "$S" "$N" "$tool" "$1" |
		grep '^changes=')
	[[ -n $lat_line ]] || fail "etcd_latency.py ($1.x.y) gave no result (a change not in the kernel within 5 s?)"
}
log "idle: $N changes"
c0=$(ticks) w0=$(now_ms)
changes 10.200
c1=$(ticks) w1=$(now_ms)
idle=$lat_line
idle_cpu=$(awk -v t=$((c1 - c0)) -v hz="$hz" -v ms=$((w1 - w0)) 'BEGIN { printf "%.1f", 100 * t / hz / (ms / 1000) }')
log "idle: $idle; vipd ${idle_cpu} % of one core"
assert_alive "$vipd_pid" vipd

# ---------------------------------------------------------------- c. + d. under a scrape loop
cat >"$tmp/loop.sh" <<'EOF'
# loop.sh URL OUT STOPFILE CAP_S BATCH MAX_BATCHES: curl processes one after
# the other, each GETting URL BATCH times on one connection, one
# "S code seconds" line per GET in OUT; stops at STOPFILE, CAP_S or MAX_BATCHES.
url=$1 out=$2 stop=$3 cap=$4 batch=$5 max=$6
end=$((SECONDS + cap))
for ((i = 0; i < max; i++)); do
	[ -e "$stop" ] && break
	[ "$SECONDS" -lt "$end" ] || { echo "cap" >"$stop.why"; break; }
	timeout 120 curl -s --max-time 60 -o /dev/null -w 'S %{http_code} %{time_total}\n' "$url?[1-$batch]" 2>/dev/null |
		grep '^S ' >>"$out"
done
EOF
nscr() { wc -l <"$tmp/scrapes"; }
# shellcheck disable=SC2317 # called by within
scraping() { [[ $(nscr) -ge 1 ]]; }
# under_loop PATH NET: CHANGES changes (IPs NET.x.y) while the loop GETs
# PATH; the result line in $busy, the loop's numbers in $done_n $secs $rate
# $busy_cpu $bad $early $loop_p50 $loop_p99.
under_loop() {
	local path=$1 net=$2 loop_pid s0 s1 c0 c1 w0 w1 perf_pid
	: >"$tmp/scrapes"
	rm -f "$tmp/stop" "$tmp/stop.why"
	# SCHED_IDLE: the load generator runs only on CPU that vipd, etcd and
	# the measurement leave, as a scraper on another machine would, so
	# what shows is what serving the scrapes costs vipd's loop, not a
	# client taking the CPUs of this 2-core machine
	bg_ns "$node" chrt --idle 0 bash "$tmp/loop.sh" "$base$path" "$tmp/scrapes" "$tmp/stop" "$CAP" "$BATCH" "$MAX_BATCHES"
	loop_pid=$!
	within 60 scraping || fail "the $path loop did no GET within 60 s"
	sleep 1
	log "$path loop: $N changes while it runs ($(nscr) GETs so far)"
	perf_pid=
	if [[ -n ${PERF:-} && $path == /metrics ]]; then
		timeout 900 perf record -q -F 999 -g -o "$PERF.data" -p "$vipd_pid" 2>>"$tmp/perf.log" &
		perf_pid=$!
		pids+=("$perf_pid")
		sleep 0.5
	fi
	s0=$(nscr) c0=$(ticks) w0=$(now_ms)
	changes "$net"
	s1=$(nscr) c1=$(ticks) w1=$(now_ms)
	busy=$lat_line
	if [[ -n $perf_pid ]]; then
		stop_pid "$perf_pid" INT "perf record"
		timeout 120 perf report -q -i "$PERF.data" --stdio --no-children --sort sym -g none 2>/dev/null |
			grep -v '^$' | head -n 40 >"$PERF.txt"
		log "perf: vipd's profile while /metrics was scraped: $PERF.data, top symbols in $PERF.txt"
	fi
	touch "$tmp/stop"
	# shellcheck disable=SC2317 # called by within
	loop_gone() { ! running "$loop_pid"; }
	within 130 loop_gone || fail "the $path loop did not stop within 130 s"
	wait "$loop_pid" 2>/dev/null
	assert_alive "$vipd_pid" vipd
	early=$([[ -e $tmp/stop.why ]] && echo 1 || echo 0)
	[[ $early == 0 ]] || log "WARNING: the $path loop reached its cap ($CAP s) before the changes ended"
	bad=$(awk '$2 != 200' "$tmp/scrapes" | wc -l)
	done_n=$((s1 - s0)) secs=$(awk -v ms=$((w1 - w0)) 'BEGIN { printf "%.1f", ms / 1000 }')
	rate=$(awk -v n="$done_n" -v ms=$((w1 - w0)) 'BEGIN { printf "%.1f", (ms ? n / (ms / 1000) : 0) }')
	busy_cpu=$(awk -v t=$((c1 - c0)) -v hz="$hz" -v ms=$((w1 - w0)) 'BEGIN { printf "%.1f", (ms ? 100 * t / hz / (ms / 1000) : 0) }')
	loop_p50=$(awk '$2 == 200 { print $3 * 1000 }' "$tmp/scrapes" | pct 50)
	loop_p99=$(awk '$2 == 200 { print $3 * 1000 }' "$tmp/scrapes" | pct 99)
	log "$path loop: $busy; $done_n GETs in $secs s ($rate/s, p50 $loop_p50 ms), $bad not 200; vipd ${busy_cpu} % of one core"
}
under_loop /metrics 10.201
scr=$busy scr_row="$done_n in $secs s" scr_rate=$rate scr_cpu=$busy_cpu scr_bad=$bad scr_early=$early
scr_p50=$loop_p50 scr_p99=$loop_p99 scr_n=$done_n
if [[ $CONTROL == 1 ]]; then
	under_loop /healthz 10.202
	ctl=$busy ctl_row="$done_n in $secs s" ctl_rate=$rate ctl_cpu=$busy_cpu ctl_p50=$loop_p50 ctl_n=$done_n
fi
stop_vipd TERM

# ---------------------------------------------------------------- the tables
lat_row() { # lat_row LABEL LINE GETS RATE CPU
	echo "| $1 | $(kv changes "$2") | $(kv p50_ms "$2") | $(kv p90_ms "$2") | $(kv p99_ms "$2") | $(kv max_ms "$2") | $3 | $4 | $5 % |"
}
lat_tsv() { # lat_tsv CASE LINE GETS RATE CPU
	tsv lat "$1" "$(kv changes "$2")" "$(kv p50_ms "$2")" "$(kv p90_ms "$2")" "$(kv p99_ms "$2")" "$(kv max_ms "$2")" "$3" "$4" "$5"
}
lat_tsv idle "$idle" - - "$idle_cpu"
lat_tsv scraping "$scr" "$scr_n" "$scr_rate" "$scr_cpu"
[[ $CONTROL != 1 ]] || lat_tsv healthz "$ctl" "$ctl_n" "$ctl_rate" "$ctl_cpu"
ratio=$(awk -v b="$(kv p99_ms "$scr")" -v i="$(kv p99_ms "$idle")" 'BEGIN { printf "%.2f", (i > 0 ? b / i : 0) }')
rctl=-
[[ $CONTROL != 1 ]] ||
	rctl=$(awk -v b="$(kv p99_ms "$scr")" -v i="$(kv p99_ms "$ctl")" 'BEGIN { printf "%.2f", (i > 0 ? b / i : 0) }')
r50=$(awk -v b="$(kv p50_ms "$scr")" -v i="$(kv p50_ms "$idle")" 'BEGIN { printf "%.2f", (i > 0 ? b / i : 0) }')
verdict=$(awk -v r="$ratio" -v l="$LIMIT" 'BEGIN { v = (r > 0 && r <= l) ? "PASS" : "FAIL"; print v }')
[[ $scr_bad -eq 0 && $scr_early == 0 ]] ||
	verdict="$verdict (loop: $scr_bad failed scrapes$([[ $scr_early == 1 ]] && echo ", stopped at its cap"))"
tsv verdict "$ratio" "$LIMIT" "$verdict" "$r50" "$scr_bad" "$rctl"
log "p99 scraping / idle = $ratio (limit $LIMIT): $verdict"

echo "## /metrics and /status: the cost of one scrape"
echo
echo "$S services x $E endpoints in etcd, vipd on etcd synced (RSS $((rss / 1024)) MiB), \`--metrics $ADDR\` in its"
echo "node namespace; one warm-up GET, then sequential GETs, each a new curl process and connection:"
echo "1.1 s apart (vipd keeps the /metrics text until the next reconcile or for 1 s, so each of these"
echo "renders it: the cost of counting every endpoint), then back to back (served from the kept text)"
echo "(time: curl's time_total, connect to last byte). vipd's CPU per scrape: utime + stime of"
echo "/proc/PID/stat ($hz ticks/s, so 10 ms resolution over the whole series) and the on-CPU time of"
echo "/proc/PID/schedstat (ns), over the series, divided by the scrapes."
echo
echo "| request | scrapes | time p50 | max | bytes | bytes per endpoint | vipd CPU per scrape (stat) | (schedstat) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
echo
echo "## An etcd change to the kernel, idle vs while /metrics is scraped"
echo
echo "$N changes (etcd_latency.py: a put through the gateway until build/nftwatch sees the new"
echo "element), idle; then the same services again with other IPs while a loop in the node namespace"
echo "scrapes /metrics back to back (curl processes one after the other, each $BATCH GETs on one"
echo "keep-alive connection; a scrape took p50 $scr_p50 ms, p99 $scr_p99 ms in the loop)$([[ $CONTROL == 1 ]] &&
	echo "; then again while the same loop GETs /healthz instead (the client side's load without the rendering; p50 $ctl_p50 ms a GET)")."
echo "The client, etcd, the measuring python and nftwatch share the machine's CPUs with vipd; the loop"
echo "runs under SCHED_IDLE (chrt --idle: only on CPU the others leave, as a scraper on another machine)."
echo "Required: p99 while scraping /metrics at most ${LIMIT}x idle."
echo
echo "| case | changes | p50 ms | p90 ms | p99 ms | max ms | GETs during the changes | GETs/s | vipd CPU (% of one core) |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
lat_row idle "$idle" – – "$idle_cpu"
lat_row "scraping /metrics" "$scr" "$scr_row" "$scr_rate" "$scr_cpu"
[[ $CONTROL != 1 ]] || lat_row "control: the loop GETs /healthz" "$ctl" "$ctl_row" "$ctl_rate" "$ctl_cpu"
echo
echo "p99 scraping / idle: **${ratio}x** (limit ${LIMIT}x): **$verdict**; p50 ratio ${r50}x.$([[ $CONTROL == 1 ]] &&
	echo " p99 scraping /metrics / the /healthz control: ${rctl}x (what the rendering adds beyond the client's load).")"
[[ $N -ge 100 ]] || echo "(With $N changes the p99 is the largest or next to largest sample: noisy.)"
echo
[[ $STRICT != 1 || $verdict == PASS ]] || exit 3
exit 0

#!/usr/bin/env bash
# change_latency.sh [S] [E] [CHANGES] [SLOW_CHANGES] -- one endpoint change at
# scale: with S services x E endpoints loaded, the time from one endpoint
# change at its source to the kernel having it, for vipd and for the same
# change as kube-proxy sends it. Also vipd's steady-state RSS (item "memory").
#
# Peers (PEERS, default "file etcd nft iptables"), each in its own namespace
# vcl-<peer>-$$ (etcd: etcd_latency.sh's vlat-node-<its pid>), made and
# removed by tests/e2e/lib.sh (also on failure and Ctrl-C):
#   file      vipd daemon, --services-file F. Per change: the new file (endpoint
#             e0 of a random service gets a new IP) is written next to F, then
#             t0, rename() over F; t1 = when build/nftwatch (a netlink listener
#             in the namespace, independent of vipd) sees the new backends
#             element. CHANGES changes (file_latency.py).
#   etcd      vipd daemon on etcd: etcd_latency.sh S E CHANGES (t0 before the
#             put, t1 from nftwatch; includes etcd's own commit and fsync)
#   nft       kube-proxy nftables shape loaded (gen.py nft-chunks: same state as
#             one nft -f, set up in chunks because one transaction takes minutes);
#             per change: `nft -f` of what kube-proxy sends for it (gen.py
#             nft-changes); time = wall time of the nft process, which returns
#             after the kernel's commit. SLOW_CHANGES changes.
#   iptables  kube-proxy iptables nat table loaded (iptables-legacy-restore);
#             per change: `iptables-legacy-restore --noflush` of the changed
#             KUBE-SVC/KUBE-SEP chains (gen.py ipt-changes; IPT_CHANGES=
#             ipt-changes-svc adds KUBE-SERVICES etc., as kube-proxy writes them
#             on every sync); wall time of the process. SLOW_CHANGES changes.
# The same change sequence for every peer (gen.py change_seq; one warm-up
# change first, not counted). The kube-proxy peers' times leave out kube-proxy's
# own work (watching the API server, computing the transaction): lower bounds.
#
# Memory: vipd's VmRSS after the initial sync of S x E (daemon, settled 1-2 s),
# after the changes (file), and of a daemon with nothing to do (an empty
# services file; an empty etcd registry): file-synced, file-after-changes,
# file-empty, etcd-synced, etcd-empty; with gdb installed also
# file-after-changes-trimmed: RSS after the daemon's malloc_trim(0) (called
# through gdb after all measurements): how much of the RSS is free heap.
#
# Output: a markdown table on stdout; with TSV=file also lines
#   lat <peer> <changes> <p50_ms> <p90_ms> <p99_ms> <max_ms> <what>
#   mem <name> <kB>
# Environment: PEERS, TSV, VIPD (default <repo>/vipd), CAP (s, per command,
# default 300), IPT_CHANGES (ipt-changes | ipt-changes-svc), NFT_CHUNK (500),
# PERF_OUT=dir: after the timed changes, apply the last change of the nft and
# iptables peers once more under `perf record -g` and write the flat profile
# (top symbols) to dir/perf-change-<peer>.txt.
set -u

S=${1:-10000} E=${2:-10} N=${3:-200} NS_SLOW=${4:-50}
for x in "$S" "$E" "$N" "$NS_SLOW"; do
	case "$x" in '' | *[!0-9]*) echo "usage: $0 [S] [E] [CHANGES] [SLOW_CHANGES]" >&2; exit 2 ;; esac
done
PEERS=${PEERS:-file etcd nft iptables}
CAP=${CAP:-300}
IPT_CHANGES=${IPT_CHANGES:-ipt-changes}
NFT_CHUNK=${NFT_CHUNK:-500}

# lib.sh: $tmp, namespaces (ns_up, ns_del), processes (start_vipd_in,
# stop_pid), waits and the cleanup trap. A failed peer is reported and the
# next one runs (set +e; peer_failed); lib.sh's fail ends the script.
# shellcheck source-path=SCRIPTDIR source=../../tests/e2e/lib.sh
source "$(dirname "$0")/../../tests/e2e/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib_bench.sh
source "$root_dir/scripts/bench/lib_bench.sh"
bench_need ip nft iptables-legacy-restore timeout python3 cc pkg-config
set +e
[ -x "$VIPD" ] || fail "$VIPD not built"
WORK=$tmp
GEN="python3 $bench_dir/gen.py"

FAILED=0
peer_failed() { echo "change_latency.sh: FAILED: $*" >&2; FAILED=1; }
# stop PID: SIGTERM one of our vipds (lib.sh's stop_pid: 5 s at most), if it runs.
stop() { ! running "$1" || stop_pid "$1" TERM vipd; }
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
out() { [ -n "${TSV:-}" ] && printf '%s\n' "$*" | tr ' ' '\t' >>"$TSV"; return 0; }
# stats < one number per line (ms) -> "n p50 p90 p99 max" (as etcd_latency.py)
stats() {
	python3 -c 'import sys
v = sorted(float(x) for x in sys.stdin.read().split())
if not v: print("0 - - - -"); sys.exit()
p = lambda q: v[min(len(v) - 1, int(q * len(v)))]
print("%d %.2f %.2f %.2f %.2f" % (len(v), p(0.5), p(0.9), p(0.99), v[-1]))'
}
# perf_last NS PEER FILE CMD...: one more application of FILE under perf (PERF_OUT)
perf_last() {
	local ns=$1 peer=$2 f=$3
	shift 3
	[ -n "${PERF_OUT:-}" ] && command -v perf >/dev/null || return 0
	if timeout "$CAP" perf record -q -F 2000 -g -o "$WORK/perf.data" -- ip netns exec "$ns" "$@" <"$f" \
		>>"$WORK/txn.log" 2>&1; then
		timeout 120 perf report -i "$WORK/perf.data" --stdio --no-children --sort dso,sym -g none \
			--percent-limit 2 2>/dev/null | grep -v '^#' | grep . | head -n 12 >"$PERF_OUT/perf-change-$peer.txt"
	fi
	rm -f "$WORK/perf.data"
}

declare -A L_N L_P50 L_P90 L_P99 L_MAX L_WHAT
record() { # peer what "n p50 p90 p99 max"
	local n p50 p90 p99 mx
	read -r n p50 p90 p99 mx <<<"$3"
	L_N[$1]=$n L_P50[$1]=$p50 L_P90[$1]=$p90 L_P99[$1]=$p99 L_MAX[$1]=$mx L_WHAT[$1]=$2
	out lat "$1" "$n" "$p50" "$p90" "$p99" "$mx" "$(tr ' \t' '__' <<<"$2")"
	echo "# $1: changes=$n p50=$p50 p90=$p90 p99=$p99 max=$mx ms" >&2
}

bench_tool nftwatch libnftnl libmnl
WATCH=$tool
echo "# change_latency: S=$S E=$E CHANGES=$N SLOW_CHANGES=$NS_SLOW peers: $PEERS; work $WORK" >&2

# ---------------------------------------------------------------- file
peer_file() {
	local ns=vcl-file-$$ pid pid0 out r0 r1 h0 z
	ns_up "$ns"
	mkdir -p "$WORK/src" "$WORK/stage"
	$GEN vipd "$S" "$E" >"$WORK/src/services.json" || { peer_failed "gen vipd"; return; }
	start_vipd_in "$ns" "$WORK/vipd-file.log" --services-file "$WORK/src/services.json"
	pid=$started_pid
	if ! wait_logged "$CAP" "$WORK/vipd-file.log" 'reconciled all' "$pid"; then
		peer_failed "file: vipd did not sync: $(tail -n 3 "$WORK/vipd-file.log")"
		stop "$pid"; ns_del "$ns"; return
	fi
	sleep 2
	r0=$(rss "$pid"); h0=$(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status")
	echo "# file: $(grep 'reconciled all' "$WORK/vipd-file.log" | head -1); RSS ${r0} kB (peak ${h0} kB)" >&2
	out mem file-synced "$r0"
	out mem file-synced-hwm "$h0"
	out=$(timeout "$CAP" ip netns exec "$ns" python3 "$bench_dir/file_latency.py" "$WORK/src/services.json" \
		"$WORK/stage" "$S" "$E" "$N" "$WATCH" 2>&1)
	if grep -q '^changes=' <<<"$out"; then
		record file "vipd, services file: rename() -> nftwatch sees the element" \
			"$(kv changes "$out") $(kv p50_ms "$out") $(kv p90_ms "$out") $(kv p99_ms "$out") $(kv max_ms "$out")"
	else
		peer_failed "file: $out"
	fi
	sleep 1
	r1=$(rss "$pid")
	out mem file-after-changes "$r1"
	running "$pid" || peer_failed "file: vipd died: $(tail -n 3 "$WORK/vipd-file.log")"
	# How much of that is free heap that glibc keeps: ask it to give free pages
	# back (malloc_trim(0) through gdb, after the measurements) and look again.
	if command -v gdb >/dev/null; then
		timeout -k 5 60 gdb -p "$pid" -batch -ex 'call (int)malloc_trim(0)' >/dev/null 2>&1
		sleep 0.5
		out mem file-after-changes-trimmed "$(rss "$pid")"
		echo "# file: RSS after malloc_trim(0): $(rss "$pid") kB" >&2
	fi
	stop "$pid"
	ns_del "$ns"
	# the same daemon with nothing to do: the baseline for bytes per endpoint
	ns_up "$ns"
	echo '{"services":{},"endpoints":{}}' >"$WORK/empty.json"
	start_vipd_in "$ns" "$WORK/vipd-empty.log" --services-file "$WORK/empty.json"
	pid0=$started_pid
	if wait_logged 30 "$WORK/vipd-empty.log" 'reconciled all' "$pid0"; then
		sleep 2
		z=$(rss "$pid0")
		out mem file-empty "$z"
		echo "# file: empty daemon RSS $z kB; after changes $r1 kB" >&2
	else
		peer_failed "vipd with an empty file did not sync: $(tail -n 3 "$WORK/vipd-empty.log")"
	fi
	stop "$pid0"
	ns_del "$ns"
}

# ---------------------------------------------------------------- etcd
peer_etcd() {
	local out
	command -v etcd >/dev/null || { peer_failed "etcd: etcd not installed (scripts/deps.sh)"; return; }
	out=$(timeout -k 10 $((CAP + 900)) bash "$bench_dir/etcd_latency.sh" "$S" "$E" "$N" 2>&1)
	echo "$out" | sed 's/^/# etcd_latency.sh: /' >&2
	if grep -q '^changes=' <<<"$out"; then
		record etcd "vipd, etcd: put -> nftwatch sees the element" \
			"$(kv changes "$out") $(kv p50_ms "$out") $(kv p90_ms "$out") $(kv p99_ms "$out") $(kv max_ms "$out")"
		local r
		r=$(sed -n 's/^vipd RSS: \([0-9]*\) kB.*/\1/p' <<<"$out")
		[ -n "$r" ] && out mem etcd-synced "$r"
	else
		peer_failed "etcd: $(tail -n 3 <<<"$out")"
	fi
	# the baseline: vipd on an empty registry
	out=$(timeout -k 10 120 bash "$bench_dir/etcd_latency.sh" 0 0 0 2>&1)
	local z
	z=$(sed -n 's/^vipd RSS: \([0-9]*\) kB.*/\1/p' <<<"$out")
	if [ -n "$z" ]; then out mem etcd-empty "$z"; else peer_failed "etcd baseline: $(tail -n 3 <<<"$out")"; fi
}

# ---------------------------------------------------------------- kube-proxy shapes
# run_txns NS DIR EXT CMD... : the warm-up file and NS_SLOW timed ones; prints ms per line
run_txns() {
	local ns=$1 dir=$2 ext=$3 f k=0 t0 t1
	shift 3
	for f in "$dir"/*."$ext"; do
		t0=$(date +%s%N)
		timeout "$CAP" ip netns exec "$ns" "$@" <"$f" >>"$WORK/txn.log" 2>&1 || { echo "FAIL $f" >&2; return 1; }
		t1=$(date +%s%N)
		[ $k -gt 0 ] && echo "$(((t1 - t0) / 1000)) / 1000" | bc -l
		k=$((k + 1))
	done
}

peer_nft() {
	local ns=vcl-nft-$$ f t0 t1 ms
	ns_up "$ns"
	$GEN nft-chunks "$S" "$E" "$NFT_CHUNK" "$WORK/nftload" || { peer_failed "gen nft-chunks"; return; }
	$GEN nft-changes "$S" "$E" "$NS_SLOW" "$WORK/nftchg" || { peer_failed "gen nft-changes"; return; }
	t0=$(date +%s.%N)
	for f in "$WORK"/nftload/*.nft; do
		timeout "$CAP" ip netns exec "$ns" nft -f "$f" || { peer_failed "nft: loading $f"; ns_del "$ns"; return; }
	done
	t1=$(date +%s.%N)
	echo "# nft: kube-proxy nftables shape $S x $E loaded in $(echo "$t1 - $t0" | bc) s ($(ls "$WORK"/nftload | wc -l) chunks)" >&2
	if ms=$(run_txns "$ns" "$WORK/nftchg" nft nft -f -); then
		record nft "kube-proxy nftables shape: nft -f of the change (process wall time)" "$(stats <<<"$ms")"
		perf_last "$ns" nft "$(ls "$WORK"/nftchg/*.nft | tail -n 1)" nft -f -
	else
		peer_failed "nft: a change transaction failed: $(tail -n 3 "$WORK/txn.log")"
	fi
	ns_del "$ns"
}

peer_iptables() {
	local ns=vcl-ipt-$$ t0 t1 ms
	ns_up "$ns"
	$GEN iptables "$S" "$E" >"$WORK/kp.ipt" || { peer_failed "gen iptables"; return; }
	$GEN "$IPT_CHANGES" "$S" "$E" "$NS_SLOW" "$WORK/iptchg" || { peer_failed "gen $IPT_CHANGES"; return; }
	t0=$(date +%s.%N)
	timeout "$CAP" ip netns exec "$ns" iptables-legacy-restore <"$WORK/kp.ipt" || { peer_failed "iptables: load"; ns_del "$ns"; return; }
	t1=$(date +%s.%N)
	echo "# iptables: kube-proxy iptables nat table $S x $E loaded in $(echo "$t1 - $t0" | bc) s" >&2
	if ms=$(run_txns "$ns" "$WORK/iptchg" ipt iptables-legacy-restore --noflush); then
		local what="changed KUBE-SVC/KUBE-SEP chains"
		[ "$IPT_CHANGES" = ipt-changes-svc ] && what="changed chains + KUBE-SERVICES"
		record iptables "kube-proxy iptables shape: iptables-legacy-restore --noflush, $what (process wall time)" "$(stats <<<"$ms")"
		# re-applying the last change: its stale chain is gone, so drop the -X
		grep -v '^-X ' "$(ls "$WORK"/iptchg/*.ipt | tail -n 1)" >"$WORK/ipt-again"
		perf_last "$ns" iptables "$WORK/ipt-again" iptables-legacy-restore --noflush
	else
		peer_failed "iptables: a change failed: $(tail -n 3 "$WORK/txn.log")"
	fi
	ns_del "$ns"
}

for p in $PEERS; do
	case $p in
	file | etcd | nft | iptables) echo "# running $p ..." >&2; "peer_$p" ;;
	*) peer_failed "unknown peer $p" ;;
	esac
done

echo
echo "| source of the change | peer | changes | p50 ms | p90 ms | p99 ms | max ms |"
echo "|---|---|---:|---:|---:|---:|---:|"
for p in $PEERS; do
	[ -n "${L_N[$p]:-}" ] || { echo "| $p | failed | | | | | |"; continue; }
	echo "| $p | ${L_WHAT[$p]} | ${L_N[$p]} | ${L_P50[$p]} | ${L_P90[$p]} | ${L_P99[$p]} | ${L_MAX[$p]} |"
done
exit $FAILED

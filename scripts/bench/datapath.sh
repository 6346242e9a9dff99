#!/usr/bin/env bash
# datapath.sh [SECONDS] -- new-connection rate through the node's data path,
# without and with vipd (and with kube-proxy-shaped rulesets for comparison),
# plus vipd's load-balancing accuracy. Results go to stdout as markdown.
#
# Topology, one per case (K = 1, 2, ...), all built and loaded first and kept
# until the end, so that the REPS rounds interleave the cases (drift of the
# machine hits every case alike) without reloading rulesets. Each is
# tests/e2e/lib.sh's topology (topo_use vdpK; topo_up 3), so every namespace
# name ends in $$:
#
#   vdpK-client-$$ 10.250.1.2 --veth-- vdpK-node-$$ 10.250.1.1 | br0 10.250.2.1
#                                         ip_forward=1, the rules under test
#                                             |-- veth -- vdpK-b1-$$ 10.250.2.11
#                                             |-- veth -- vdpK-b2-$$ 10.250.2.12
#                                             `-- veth -- vdpK-b3-$$ 10.250.2.13
#   each backend runs `connbench server 8080 --name bN`. Only one topology
#   carries traffic at a time.
#
# Cases (client: connbench client, P parallel, SECONDS each):
#   a      straight to the backends (10.250.2.11-13:8080 in turn), routed
#          through the node, no ruleset at all (so no conntrack either)
#   a+ct   as a, but the node has one nft filter chain with `ct state new`:
#          conntrack on, no NAT (separates conntrack cost from the lookup)
#   b      VIP 10.96.0.1:80, vipd --once with 1 service, 3 endpoints
#   b-aff  as b with affinity_timeout 10800 (ClientIP affinity): every new
#          connection also looks up and refreshes the client's affinity
#          entry; the one client address sticks to one backend (expected:
#          its check run wants one backend, not three). Not in the default
#          CASES (scripts/bench/semantics.sh runs it next to b)
#   c      VIP of the target service, vipd --once with SVCS services x EPS
#          endpoints (target: 3 real backends; the rest fake, 10.128.0.0/9)
#   d      kube-proxy iptables-mode nat table, same services, loaded with
#          iptables-legacy-restore; target service in the MIDDLE of
#          KUBE-SERVICES (kube-proxy writes services in map order: average)
#   d-last as d with the target LAST in KUBE-SERVICES (worst case)
#   e      kube-proxy nftables-mode ruleset, same services, nft -f
# Then LB accuracy with vipd (1 service, 3 backends): weights 100/100/100
# and 100/200/700, LB_CONNS connections each, share per backend.
#
# Environment:
#   PARALLEL=32  connections in flight      REPS=1   runs per case (median shown)
#   SVCS=10000 EPS=10  big-ruleset size     LB_CONNS=100000 (0: skip LB runs)
#   CASES="a a+ct b c d d-last e"           PIN=1  pin the client to CPU 0 and the
#   VIPD=path (default <repo>/vipd)                servers to CPU 1 (taskset; default
#                                                  1 with >= 2 CPUs, PIN=0: unpinned)
#   KEEP=1 keep the work dir (generated rulesets, logs)
#   NFT_CHUNK=0    case e: load the kube-proxy nftables ruleset as one nft -f
#                  (default; ~3 min at 10,000 x 10: one big transaction is
#                  quadratic, README-notes.txt). NFT_CHUNK=500: in files of
#                  500 services each, the same final ruleset in ~20 s (its
#                  "rules load s" is then not kube-proxy's full-sync time)
#   TSV=file       also append tab-separated result lines to file:
#                  dp <case> <conn/s> <p50 us> <p99 us> <ratio vs a> <failed> <load s>
#                  lb <weights> <backend> <expected %> <got> <share %> <dev pp> <dev sigma>
#   QUIET_WAIT=60  before each measured run, wait up to this many seconds for
#                  both CPUs to be idle (the machine may be shared); a run
#                  that started on a busy machine is marked "busy" in the log
#
# The table shows, per case, the median rate, p50 and p99 over the rounds and
# the median over the rounds of (rate of the case / rate of a in the same
# round): drift between rounds cancels out of that ratio.
#
# Safety: packets and rules exist only in the namespaces made here; lib.sh's
# cleanup (trap EXIT, also on failure and Ctrl-C) kills the processes started
# here and deletes those namespaces. Every client run is bounded by --seconds
# and by `timeout`.
set -u

SECS=${1:-10}
case "$SECS" in '' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;; esac
if [ "$SECS" -lt 1 ] || [ "$SECS" -gt 600 ]; then echo "datapath.sh: SECONDS must be 1..600" >&2; exit 2; fi

PARALLEL=${PARALLEL:-32}
REPS=${REPS:-1}
SVCS=${SVCS:-10000}
EPS=${EPS:-10}
LB_CONNS=${LB_CONNS:-100000}
CASES=${CASES:-a a+ct b c d d-last e}
QUIET_WAIT=${QUIET_WAIT:-60}
PIN=${PIN:-$([ "$(nproc)" -ge 2 ] && echo 1 || echo 0)}
NFT_CHUNK=${NFT_CHUNK:-0}

# lib.sh: $tmp, the topologies (topo_use, topo_up, topo_down), bg_ns, within,
# fail and the cleanup trap; errors are handled here (set +e).
# shellcheck source-path=SCRIPTDIR source=../../tests/e2e/lib.sh
source "$(dirname "$0")/../../tests/e2e/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib_bench.sh
source "$root_dir/scripts/bench/lib_bench.sh"
bench_need ip nft iptables-legacy-restore timeout python3 cc
set +e
WORK=$tmp
bench_tool connbench
CB=$tool
if [ ! -x "$VIPD" ]; then
	timeout 600 make -C "$root_dir" >/dev/null || fail "make failed"
fi

NB=3
# use_topo K: the namespaces of topology K (one per case, plus 0 for LB runs)
use_topo() { topo_use "vdp$1"; }
cpu() { [ "$PIN" = 1 ] && echo "taskset -c $1"; }

backends_answer() {
	pc timeout 5 "$CB" client 10.250.2.11,10.250.2.12,10.250.2.13 8080 --seconds 2 --conns 3 --count \
		>"$WORK/probe" 2>/dev/null && grep -q '^conns=3 failed=0' "$WORK/probe"
}
# bench_topo_up: lib.sh's topology with NB backends, each running
# `connbench server`, tuned for many short connections.
bench_topo_up() {
	local i
	topo_up "$NB"
	# The server closes first, so the client keeps no TIME_WAIT; the wide
	# range and tw_reuse only matter if that ever changes (client ns only).
	pc sysctl -qw net.ipv4.ip_local_port_range="1024 65535"
	pc sysctl -qw net.ipv4.tcp_tw_reuse=1
	for ((i = 1; i <= NB; i++)); do
		pb "$i" sysctl -qw net.core.somaxconn=65535
		pb "$i" sysctl -qw net.ipv4.tcp_max_syn_backlog=65535
		# shellcheck disable=SC2046
		bg_ns "$(bns "$i")" $(cpu 1) "$CB" server 8080 --name "b$i" 2>>"$WORK/servers.log"
	done
	within 10 backends_answer || fail "backends did not come up"
}

# ------------------------------------------------------------ rulesets

TGT=$((SVCS / 2))                    # target service index (middle)
vip_of() { python3 -c "import ipaddress,sys; print(ipaddress.IPv4Address(int(ipaddress.IPv4Address('10.96.0.0'))+int(sys.argv[1])+1))" "$1"; }
# gen KIND S E TARGET OUT [W1,W2,W3]: scripts/bench/gen.py's shapes, with
# service TARGET on the three real backends (weights W*, default 100 each).
# KIND: vipd, ipt-mid (target in the middle of KUBE-SERVICES), ipt-last, nft.
gen() {
	local kind=$1 s=$2 e=$3 t=$4 out=$5 w=${6:-100,100,100} mode last=0 eps
	IFS=, read -r w1 w2 w3 <<<"$w"
	eps=10.250.2.11:$w1,10.250.2.12:$w2,10.250.2.13:$w3
	case $kind in
	vipd) mode=vipd ;;
	ipt-mid) mode=iptables ;;
	ipt-last) mode=iptables last=1 ;;
	nft) mode=nft-plain ;;
	*) fail "gen: unknown kind $kind" ;;
	esac
	GEN_TARGET=$t GEN_TARGET_EPS=$eps GEN_TARGET_LAST=$last \
		timeout 600 python3 "$bench_dir/gen.py" "$mode" "$s" "$e" >"$out" || fail "generating $*"
}

# ------------------------------------------------------------ one client run
# run_client TARGETS PORT SECONDS [extra args] -> prints connbench's output
run_client() {
	local tg=$1 port=$2 s=$3
	shift 3
	# shellcheck disable=SC2046
	pc timeout $((s + 30)) $(cpu 0) "$CB" client "$tg" "$port" --seconds "$s" --parallel "$PARALLEL" "$@"
}

# load_case CASE -> programs the node, prints "TARGETS PORT LOAD_SECONDS"
load_case() {
	local c=$1 t0 t1 rc=0
	t0=$(date +%s.%N)
	case "$c" in
	a) ;;
	a+ct) pn nft -f - <<<'table ip vdpct { chain ctnew { type filter hook forward priority 0; ct state new counter; }; }' || rc=1 ;;
	b) pn timeout 600 "$VIPD" --once --services-file "$WORK/vipd-1.json" >>"$WORK/vipd.log" 2>&1 || rc=1 ;;
	b-aff) pn timeout 600 "$VIPD" --once --services-file "$WORK/vipd-1-aff.json" >>"$WORK/vipd.log" 2>&1 || rc=1 ;;
	c) pn timeout 600 "$VIPD" --once --services-file "$WORK/vipd-big.json" >>"$WORK/vipd.log" 2>&1 || rc=1 ;;
	d) pn timeout 600 iptables-legacy-restore <"$WORK/kp-mid.ipt" || rc=1 ;;
	d-last) pn timeout 600 iptables-legacy-restore <"$WORK/kp-last.ipt" || rc=1 ;;
	e)
		if [ "$NFT_CHUNK" -gt 0 ]; then
			# the same ruleset in several transactions (see NFT_CHUNK)
			mkdir -p "$WORK/kpchunks"
			awk -v dir="$WORK/kpchunks" -v n="$NFT_CHUNK" '
				function next_file() { if (f) close(f); f = sprintf("%s/%04d.nft", dir, k++) }
				BEGIN { next_file() }
				/^add chain ip kube-proxy endpoint-/ && prev !~ /^(add|flush) chain/ {
					if (!started) { started = 1; next_file() } else if (++c == n) { c = 0; next_file() }
				}
				{ print > f; prev = $0 }' "$WORK/kp.nft"
			for f in "$WORK"/kpchunks/*.nft; do
				pn timeout 600 nft -f "$f" || { rc=1; break; }
			done
		else
			pn timeout 600 nft -f "$WORK/kp.nft" || rc=1
		fi ;;
	*) fail "unknown case $c" ;;
	esac
	t1=$(date +%s.%N)
	[ $rc = 0 ] || fail "loading case $c failed (see $WORK, KEEP=1)"
	local tg=$BIG_VIP port=80
	case "$c" in
	a | a+ct) tg=10.250.2.11,10.250.2.12,10.250.2.13 port=8080 ;;
	b | b-aff) tg=10.96.0.1 ;;
	esac
	echo "$tg $port $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')"
}

describe() {
	case "$1" in
	a) echo "a: direct to backends, no rules (no conntrack)" ;;
	a+ct) echo "a+ct: direct, conntrack on (1 nft ct rule), no NAT" ;;
	b) echo "b: vipd, 1 service" ;;
	b-aff) echo "b-aff: vipd, 1 service, affinity_timeout 10800" ;;
	c) echo "c: vipd, $SVCS svc x $EPS ep" ;;
	d) echo "d: kube-proxy iptables, $SVCS svc x $EPS ep, target mid" ;;
	d-last) echo "d-last: kube-proxy iptables, target last" ;;
	e) echo "e: kube-proxy nftables, $SVCS svc x $EPS ep" ;;
	esac
}

median() { sort -n | awk '{ a[NR] = $1 } END { if (!NR) print 0; else if (NR % 2) print a[(NR + 1) / 2]; else printf "%.0f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
# per-CPU utilisation between two /proc/stat snapshots (files $1, $2)
cpu_use() {
	awk 'FNR == NR && /^cpu[0-9]/ { for (i = 2; i <= 9; i++) a[$1, i] = $i; next }
	     /^cpu[0-9]/ { t = 0; for (i = 2; i <= 9; i++) { d[i] = $i - a[$1, i]; t += d[i] }
	                   if (t <= 0) next
	                   printf "%s busy=%.0f%% (usr %.0f sys %.0f si %.0f steal %.0f) ", $1,
	                          100 * (t - d[5] - d[6]) / t, 100 * (d[2] + d[3]) / t, 100 * d[4] / t,
	                          100 * d[8] / t, 100 * d[9] / t }
	     END { print "" }' "$1" "$2"
}

# wait_quiet: this machine is shared; before a measured run wait (at most
# QUIET_WAIT seconds) until both CPUs were >= 90% idle over half a second.
# Prints "quiet" or "busy" (the run then goes ahead anyway, marked busy).
wait_quiet() {
	local end=$((SECONDS + QUIET_WAIT)) idle
	while :; do
		cat /proc/stat >"$WORK/q0"
		sleep 0.5
		cat /proc/stat >"$WORK/q1"
		idle=$(awk 'FNR == NR && /^cpu[0-9]/ { for (i = 2; i <= 9; i++) a[$1, i] = $i; next }
		            /^cpu[0-9]/ { t = 0; for (i = 2; i <= 9; i++) t += $i - a[$1, i]
		                          id = ($5 - a[$1, 5]) + ($6 - a[$1, 6])
		                          if (t > 0 && id / t < 0.9) bad = 1 }
		            END { print bad ? "busy" : "quiet" }' "$WORK/q0" "$WORK/q1")
		[ "$idle" = quiet ] && { echo quiet; return; }
		[ $SECONDS -lt $end ] || { echo busy; return; }
	done
}

# ------------------------------------------------------------ main
echo "datapath.sh: $(nproc) CPUs, kernel $(uname -r), $(date -u '+%Y-%m-%d %H:%M:%SZ'); SECONDS=$SECS PARALLEL=$PARALLEL REPS=$REPS PIN=$PIN; work $WORK" >&2
BIG_VIP=$(vip_of "$TGT")
need_big=0
for c in $CASES; do case "$c" in c | d | d-last | e) need_big=1 ;; esac; done
gen vipd 1 1 0 "$WORK/vipd-1.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); [s.update(affinity_timeout=10800) for s in d["services"].values()]; json.dump(d,sys.stdout)' \
	"$WORK/vipd-1.json" >"$WORK/vipd-1-aff.json" || fail "generating vipd-1-aff.json"
if [ $need_big = 1 ]; then
	echo "generating $SVCS x $EPS rulesets (target svc-$TGT, VIP $BIG_VIP)..." >&2
	for c in $CASES; do
		case "$c" in
		c) gen vipd "$SVCS" "$EPS" "$TGT" "$WORK/vipd-big.json" ;;
		d) gen ipt-mid "$SVCS" "$EPS" "$TGT" "$WORK/kp-mid.ipt" ;;
		d-last) gen ipt-last "$SVCS" "$EPS" "$TGT" "$WORK/kp-last.ipt" ;;
		e) gen nft "$SVCS" "$EPS" "$TGT" "$WORK/kp.nft" ;;
		esac
	done
fi

declare -A RATE P50 P99 LOAD FAIL TOPO TG PORT RATES P50S P99S RR RATIO
k=0
for c in $CASES; do
	k=$((k + 1))
	use_topo $k
	TOPO[$c]=$k
	bench_topo_up
	read -r tg port load <<<"$(load_case "$c")"
	[ -n "${load:-}" ] || fail "case $c: load failed"
	LOAD[$c]=$load TG[$c]=$tg PORT[$c]=$port
	echo "case $c: topology $k loaded in ${load}s" >&2
	# check: every backend answers through this path (one backend with
	# affinity: the client has one source address)
	out=$(run_client "$tg" "$port" 5 --conns 300 --count 2>&1)
	nb=$(grep -c '^b[0-9] ' <<<"$out")
	want=3
	[ "$c" != b-aff ] || want=1
	if [ "$nb" != "$want" ] || ! grep -q '^conns=300 failed=0' <<<"$out"; then
		fail "case $c: check run via $tg:$port did not reach $want backend(s): $out"
	fi
done
for ((r = 1; r <= REPS; r++)); do
	for c in $CASES; do
		use_topo "${TOPO[$c]}"
		q=$(wait_quiet)
		# warm-up (1 s, not counted), then the measured run
		run_client "${TG[$c]}" "${PORT[$c]}" 1 >/dev/null 2>&1
		cat /proc/stat >"$WORK/stat0"
		out=$(run_client "${TG[$c]}" "${PORT[$c]}" "$SECS" 2>>"$WORK/client.err")
		cat /proc/stat >"$WORK/stat1"
		echo "round $r case $c: $out" >&2
		echo "round $r case $c: machine $q before; $(cpu_use "$WORK/stat0" "$WORK/stat1") load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
		x=$(kv rate "$out") && RATES[$c]="${RATES[$c]:-} ${x:-0}"
		RR[$r,$c]=${x:-0}
		x=$(kv p50_us "$out") && P50S[$c]="${P50S[$c]:-} ${x:-0}"
		x=$(kv p99_us "$out") && P99S[$c]="${P99S[$c]:-} ${x:-0}"
		x=$(kv failed "$out") && FAIL[$c]=$((${FAIL[$c]:-0} + ${x:-0}))
	done
done
for c in $CASES; do
	RATE[$c]=$(tr ' ' '\n' <<<"${RATES[$c]}" | grep . | median)
	P50[$c]=$(tr ' ' '\n' <<<"${P50S[$c]}" | grep . | median)
	P99[$c]=$(tr ' ' '\n' <<<"${P99S[$c]}" | grep . | median)
	RATIO[$c]=-
	if [ -n "${TOPO[a]:-}" ]; then
		RATIO[$c]=$(for ((r = 1; r <= REPS; r++)); do
			awk -v x="${RR[$r,$c]}" -v b="${RR[$r,a]}" 'BEGIN { if (b > 0) printf "%.4f\n", x / b }'
		done | sort -n | awk '{ a[NR] = $1 } END { if (!NR) print "-"; else if (NR % 2) printf "%.2f\n", a[(NR + 1) / 2]; else printf "%.2f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
	fi
	[ "$REPS" -gt 1 ] && echo "case $c: rates${RATES[$c]}" >&2
done
for c in $CASES; do
	use_topo "${TOPO[$c]}"
	topo_down
done

echo
echo "### New connections through the node ($(nproc) CPUs shared by client, router and servers; P=$PARALLEL, ${SECS}s per run, median of $REPS interleaved round(s), PIN=$PIN)"
echo
echo "| case | conn/s | p50 us | p99 us | ratio vs (a) | conn/s per round | failed | rules load s |"
echo "|---|---:|---:|---:|---:|---|---:|---:|"
for c in $CASES; do
	echo "| $(describe "$c") | ${RATE[$c]} | ${P50[$c]} | ${P99[$c]} | ${RATIO[$c]} |${RATES[$c]} | ${FAIL[$c]} | ${LOAD[$c]} |"
	[ -n "${TSV:-}" ] && printf 'dp\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$c" "${RATE[$c]}" "${P50[$c]}" "${P99[$c]}" \
		"${RATIO[$c]}" "${FAIL[$c]}" "${LOAD[$c]}" >>"$TSV"
done

# ------------------------------------------------------------ LB accuracy
if [ "$LB_CONNS" -gt 0 ]; then
	echo
	echo "### vipd load-balancing accuracy (1 service, 3 backends, $LB_CONNS connections each)"
	echo
	echo "| weights | backend | expected | got | share | deviation (pp) | deviation (sigma) |"
	echo "|---|---|---:|---:|---:|---:|---:|"
	for wts in 100,100,100 100,200,700; do
		use_topo 0
		bench_topo_up
		gen vipd 1 1 0 "$WORK/vipd-w.json" "$wts"
		pn timeout 600 "$VIPD" --once --services-file "$WORK/vipd-w.json" >>"$WORK/vipd.log" 2>&1 || fail "vipd failed (weights $wts)"
		out=$(run_client 10.96.0.1 80 600 --conns "$LB_CONNS" --count 2>>"$WORK/client.err")
		echo "lb $wts: $(head -1 <<<"$out")" >&2
		if ! grep -q "^conns=$LB_CONNS failed=0" <<<"$out"; then
			echo "datapath.sh: LB run $wts incomplete: $(head -1 <<<"$out")" >&2
			LB_BAD=1
		fi
		awk -v wts="$wts" -v tsv="${TSV:-}" '
			NR == 1 { for (i = 1; i <= NF; i++) if ($i ~ /^conns=/) { split($i, kv, "="); n = kv[2] } next }
			{ got[$1] = $2 }
			END {
				k = split(wts, w, ","); tot = 0
				for (i = 1; i <= k; i++) tot += w[i]
				maxd = 0; maxs = 0
				for (i = 1; i <= k; i++) {
					b = "b" i; p = w[i] / tot; g = got[b] + 0; sh = n ? g / n : 0
					d = (sh - p) * 100; ad = d < 0 ? -d : d
					sg = n ? ad / (100 * sqrt(p * (1 - p) / n)) : 0
					if (ad > maxd) maxd = ad
					if (sg > maxs) maxs = sg
					printf "| %s | %s | %.2f%% | %d | %.2f%% | %+.3f | %.1f |\n", wts, b, p * 100, g, sh * 100, d, sg
					if (tsv != "")
						printf "lb\t%s\t%s\t%.2f\t%d\t%.3f\t%+.3f\t%.1f\n", wts, b, p * 100, g, sh * 100, d, sg >> tsv
				}
				printf "| %s | **max** | | %d | | **%.3f** | **%.1f** |\n", wts, n, maxd, maxs
			}' <<<"$out"
		topo_down
	done
fi
[ "${LB_BAD:-0}" = 0 ] || exit 1

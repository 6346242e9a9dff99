#!/usr/bin/env bash
# semantics.sh -- what issue 14's service semantics cost: ruleset size,
# full-sync time, new-connection rate with affinity, conntrack cleanup of a
# removed UDP backend. Markdown to stdout; progress to stderr.
#
#   1. Ruleset size: chains and rules of table ip vipd and table ip6 vipd
#      (`nft -t -j list table`, the terse listing without set elements,
#      parsed in python) after `vipd --once` into an empty namespace, with
#      1 service and with SVCS services x EPS endpoints using every feature
#      (gen.py vipd-features: node_port 20000+i, one external IP each,
#      affinity_timeout 10800, traffic_policy local on every 10th service,
#      vipd --cluster-cidr 10.128.0.0/9 --node-name node-a; algorithms:
#      RR services round-robin, MAGLEV maglev, the rest random / source-hash
#      in turn), once with no round-robin service and once with RR. Each
#      round-robin frontend has its own chain rr-N-<id> (numgen inc counts
#      per rule), so their number is shown separately. Then the full-sync
#      time of SVCS services all round-robin vs all random (same features;
#      RR_REPS runs each, median).
#   2. Full sync of SVCS x EPS: gen.py vipd (plain) vs the same services with
#      node_port and affinity_timeout 10800 on every one; REPS runs each,
#      interleaved, each in a fresh namespace, median wall time and largest
#      peak RSS (GNU time %M), as fullsync.sh measures them.
#   3. New connections/s through a VIP, affinity off vs on: datapath.sh with
#      CASES="b b-aff" (DP_REPS interleaved rounds of DP_SECS s).
#   4. Conntrack cleanup: topology vsct (lib.sh topo_up 2), vipd -v as a
#      daemon serving 10.96.0.53:53/udp -> 5353 on b1 (then b1 and b2);
#      CT_FLOWS one-way flows from distinct client source ports, all to b1
#      (a python sender in the client namespace, one socket per port); then
#      b1 is removed from the services file and the time until
#      `conntrack -L -p udp --reply-src <b1>` in the node shows no entry is
#      measured (polled, bounded 60 s), with what vipd's log says.
#
# Every namespace is made here (tests/e2e/lib.sh, names ending in $$) and
# removed by lib.sh's cleanup on exit, failure or Ctrl-C; nothing is
# programmed and no packet is sent in the root namespace. Every command is
# bounded by `timeout`, every loop in count and time.
#
# Environment (defaults):
#   SVCS=10000 EPS=10 RR=1000 MAGLEV=100 REPS=3 RR_REPS=1
#   DP_SECS=5 DP_REPS=3 CT_FLOWS=10000 CAP=900 (seconds per vipd --once)
#   TSV=file  also append tab-separated lines: count|sync|dp|ct ...
#   VIPD=path KEEP=1
set -u

SVCS=${SVCS:-10000}
EPS=${EPS:-10}
RR=${RR:-1000}
MAGLEV=${MAGLEV:-100}
REPS=${REPS:-3}
RR_REPS=${RR_REPS:-1}
DP_SECS=${DP_SECS:-5}
DP_REPS=${DP_REPS:-3}
CT_FLOWS=${CT_FLOWS:-10000}
CAP=${CAP:-900}
for x in "$SVCS" "$EPS" "$RR" "$MAGLEV" "$REPS" "$RR_REPS" "$DP_SECS" "$DP_REPS" "$CT_FLOWS" "$CAP"; do
	case "$x" in '' | *[!0-9]*) echo "semantics.sh: not a number: $x" >&2; exit 2 ;; esac
done
[ "$CT_FLOWS" -le 40000 ] || { echo "semantics.sh: CT_FLOWS must be <= 40000" >&2; exit 2; }
[ $((RR + MAGLEV)) -le "$SVCS" ] || { echo "semantics.sh: RR + MAGLEV must be <= SVCS" >&2; exit 2; }

# shellcheck source-path=SCRIPTDIR source=../../tests/e2e/lib.sh
source "$(dirname "$0")/../../tests/e2e/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib_bench.sh
source "$root_dir/scripts/bench/lib_bench.sh"
bench_need ip nft conntrack timeout python3 socat
[ -x /usr/bin/time ] || fail "semantics.sh: /usr/bin/time missing (apt-get install time)"
[ -x "$VIPD" ] || fail "semantics.sh: $VIPD is not built (make)"
set +e
WORK=$tmp
GEN=$bench_dir/gen.py
FEAT_ARGS=(--cluster-cidr 10.128.0.0/9 --node-name node-a)
log() { echo "semantics.sh: $*" >&2; }
tsv() { [ -z "${TSV:-}" ] || (IFS=$'\t'; echo "$*") >>"$TSV"; }
med() { sort -n | awk '{ a[NR] = $1 } END { if (!NR) print ""; else printf "%.3f", (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# features FILE S [GEN_*=...]: gen.py vipd-features with every feature on
# (override with GEN_* assignments)
features() {
	local f=$1 s=$2
	shift 2
	env GEN_NODEPORT=1 GEN_EXTIP=1 GEN_AFFINITY=10800 GEN_LOCAL_EVERY=10 GEN_ALGO=mix \
		GEN_RR=0 GEN_MAGLEV=0 "$@" timeout 600 python3 "$GEN" vipd-features "$s" "$EPS" >"$f" ||
		fail "generating $f"
}

# once FILE [ARGS...]: vipd --once in a fresh namespace (kept as $NS until
# the next call or ns_done); sets WALL (s) RSS (MiB) OK
N=0
NS=
ns_done() { [ -z "$NS" ] || ns_del "$NS"; NS=; }
once() {
	local f=$1 tf=$WORK/time start end rc
	shift
	ns_done
	N=$((N + 1))
	NS=vsem$N-$$
	ns_up "$NS" || fail "namespace $NS"
	start=$(date +%s.%N)
	timeout -k 5 "$CAP" /usr/bin/time -o "$tf" -f '%e %M' \
		ip netns exec "$NS" "$VIPD" --once --services-file "$f" "$@" >"$WORK/once.out" 2>&1
	rc=$?
	end=$(date +%s.%N)
	WALL=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')
	RSS=$(awk 'END { printf "%.1f", $2 / 1024 }' "$tf" 2>/dev/null)
	OK=1
	if [ $rc != 0 ]; then
		OK=0
		log "vipd --once $f failed (rc $rc): $(tail -n 2 "$WORK/once.out" | tr '\n' ' ')"
	fi
	grep -h 'reconciled all' "$WORK/once.out" | tail -1 | sed 's/^/   /' >&2
}

# counts FAMILY: "chains rules rr_chains rr_rules" of table FAMILY vipd in $NS
counts() {
	timeout -k 5 300 ip netns exec "$NS" nft -t -j list table "$1" vipd 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)["nftables"]
ch = [o["chain"]["name"] for o in d if "chain" in o]
ru = [o["rule"]["chain"] for o in d if "rule" in o]
rr = lambda n: n.startswith("rr-") or n.startswith("np-rr-")
print(len(ch), len(ru), sum(map(rr, ch)), sum(map(rr, ru)))' 2>/dev/null || echo "? ? ? ?"
}

# ================================================================ 1. ruleset size
log "SVCS=$SVCS EPS=$EPS RR=$RR MAGLEV=$MAGLEV REPS=$REPS RR_REPS=$RR_REPS DP_SECS=$DP_SECS DP_REPS=$DP_REPS CT_FLOWS=$CT_FLOWS; work $WORK"
declare -A C_ROW
count_case() { # KEY LABEL FILE
	local key=$1 label=$2 f=$3 c4ch c4ru c4rc c4rr c6ch c6ru c6rc c6rr
	log "1. $label"
	once "$f" "${FEAT_ARGS[@]}"
	[ "$OK" = 1 ] || fail "vipd --once failed for $label"
	read -r c4ch c4ru c4rc c4rr <<<"$(counts ip)"
	read -r c6ch c6ru c6rc c6rr <<<"$(counts ip6)"
	C_ROW[$key]="| $label | $c4ch | $c4ru | $c6ch | $c6ru | $c4rc / $c4rr | $c6rc / $c6rr | $WALL |"
	tsv count "$key" "$c4ch" "$c4ru" "$c6ch" "$c6ru" "$c4rc" "$c4rr" "$c6rc" "$c6rr" "$WALL"
	ns_done
}
features "$WORK/one.json" 1
count_case one "1 service (random)" "$WORK/one.json"
features "$WORK/one-rr.json" 1 GEN_RR=1
count_case one-rr "1 service (round-robin)" "$WORK/one-rr.json"
features "$WORK/all-r0.json" "$SVCS" GEN_MAGLEV="$MAGLEV"
count_case r0 "$SVCS services, 0 round-robin" "$WORK/all-r0.json"
features "$WORK/all-rr.json" "$SVCS" GEN_MAGLEV="$MAGLEV" GEN_RR="$RR"
count_case rr "$SVCS services, $RR round-robin" "$WORK/all-rr.json"

# full sync: every service round-robin vs every service random (same features)
declare -A S_WALLS S_RSS
sync_case() { # KEY FILE ARGS...: one run, appends to S_WALLS[KEY]
	local key=$1 f=$2
	shift 2
	once "$f" "$@"
	[ "$OK" = 1 ] || fail "vipd --once failed ($key)"
	S_WALLS[$key]="${S_WALLS[$key]:-} $WALL"
	if [ -z "${S_RSS[$key]:-}" ] || awk -v a="${S_RSS[$key]}" -v b="$RSS" 'BEGIN { exit !(b > a) }'; then
		S_RSS[$key]=$RSS
	fi
	log "   $key: wall $WALL s, peak RSS $RSS MiB"
	ns_done
}
features "$WORK/algo-random.json" "$SVCS" GEN_ALGO=random
features "$WORK/algo-rr.json" "$SVCS" GEN_ALGO=round-robin
for ((r = 1; r <= RR_REPS; r++)); do
	log "1. full sync, every service random / round-robin, run $r of $RR_REPS"
	sync_case all-random "$WORK/algo-random.json" "${FEAT_ARGS[@]}"
	sync_case all-rr "$WORK/algo-rr.json" "${FEAT_ARGS[@]}"
done

# ================================================================ 2. full sync plain vs node_port + affinity
timeout 600 python3 "$GEN" vipd "$SVCS" "$EPS" >"$WORK/plain.json" || fail "gen.py vipd"
features "$WORK/npaff.json" "$SVCS" GEN_EXTIP=0 GEN_LOCAL_EVERY=0 GEN_ALGO=random
for ((r = 1; r <= REPS; r++)); do
	log "2. full sync plain / node_port+affinity, run $r of $REPS"
	sync_case plain "$WORK/plain.json"
	sync_case npaff "$WORK/npaff.json"
done
declare -A S_MED
for k in all-random all-rr plain npaff; do
	S_MED[$k]=$(tr ' ' '\n' <<<"${S_WALLS[$k]}" | grep . | med)
	tsv sync "$k" "${S_MED[$k]}" "${S_RSS[$k]}" "${S_WALLS[$k]# }"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

# ================================================================ 3. new connections, affinity off / on
log "3. datapath.sh CASES=\"b b-aff\" REPS=$DP_REPS $DP_SECS"
CASES="b b-aff" REPS=$DP_REPS LB_CONNS=0 QUIET_WAIT=${QUIET_WAIT:-0} TSV=$WORK/dp.tsv VIPD=$VIPD \
	timeout 900 bash "$bench_dir/datapath.sh" "$DP_SECS" >"$WORK/dp.md" 2>"$WORK/dp.log"
dp_rc=$?
sed 's/^/   [datapath] /' "$WORK/dp.log" | grep -E 'round|case|FAIL' >&2
[ $dp_rc = 0 ] || fail "datapath.sh failed (rc $dp_rc): $(tail -n 3 "$WORK/dp.log")"
declare -A DP
while IFS=$'\t' read -r kind c rate p50 p99 _ failed _; do
	[ "$kind" = dp ] && DP[$c]="$rate $p50 $p99 $failed" && tsv dp "$c" "$rate" "$p50" "$p99" "$failed"
done <"$WORK/dp.tsv"
# the per-round ratio (drift cancels out): from datapath.sh's log
dp_ratio=$(awk '/^round [0-9]+ case b: /   { for (i = 1; i <= NF; i++) if ($i ~ /^rate=/) { split($i, k, "="); b[$2] = k[2] } }
	/^round [0-9]+ case b-aff: / { for (i = 1; i <= NF; i++) if ($i ~ /^rate=/) { split($i, k, "="); a[$2] = k[2] } }
	END { for (r in a) if (b[r] > 0) print a[r] / b[r] }' "$WORK/dp.log" | med)

# ================================================================ 4. conntrack cleanup of a removed UDP backend
log "4. conntrack cleanup, $CT_FLOWS UDP flows"
topo_use vsct
topo_up 2 || fail "topology vsct"
pn sysctl -qw net.netfilter.nf_conntrack_udp_timeout=600 2>/dev/null
pn sysctl -qw net.netfilter.nf_conntrack_max=262144 2>/dev/null
for i in 1 2; do bg_ns "$(bns "$i")" socat -u UDP-RECV:5353 /dev/null; done
f=$WORK/dns.json
dns() { # dns N...: service "dns" 10.96.0.53:53/udp -> backends N... on 5353
	local i eps=() IFS=,
	for i in "$@"; do eps+=("$(printf '"b%d":{"ip":"%s","port":5353}' "$i" "$(backend_ip "$i")")"); done
	printf '{"services":{"dns":{"vip":"10.96.0.53","ports":[{"port":53,"protocol":"udp","target_port":5353}]}},"endpoints":{"dns":{%s}}}\n' "${eps[*]}"
}
dns 1 | put_file "$f"
vipd_flags=(-v)
start_vipd "$f"
wait_logged 10 "$vipd_log" 'reconciled all' "$vipd_pid" || fail "vipd did not sync"
# one datagram from each of CT_FLOWS source ports (20000...), one socket at a time
pc timeout 120 python3 - "$CT_FLOWS" <<'PY' || fail "sender failed"
import socket, sys
n = int(sys.argv[1])
for p in range(20000, 20000 + n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("10.250.1.2", p))
    s.sendto(b"x", ("10.96.0.53", 53))
    s.close()
PY
b1=$(backend_ip 1)
b1_entries() { pn timeout 20 conntrack -L -p udp --reply-src "$b1" 2>/dev/null | grep -c 'dport=53 ' ; }
ct_total=$(pn conntrack -C 2>/dev/null)
n_b1=$(b1_entries)
log "   conntrack -C $ct_total, to b1 $n_b1"
[ "${n_b1:-0}" -ge $((CT_FLOWS * 99 / 100)) ] || fail "only ${n_b1:-0} of $CT_FLOWS flows have a conntrack entry to b1"
# b2 joins (no entry moves), then b1 leaves: the measured change
dns 1 2 | put_file "$f"
since_ms=$(now_ms) within 10 logged "$vipd_log" 'dns: \+b2' || log "   (no +b2 log line seen)"
sleep 1
lines0=$(wc -l <"$vipd_log")
t0=$(now_ms)
dns 2 | put_file "$f"
# shellcheck disable=SC2317 # called by within
gone() { [ "$(b1_entries)" = 0 ]; }
poll_s=0.01 since_ms=$t0 within 60 gone
gone_rc=$?
t1=$(now_ms)
ct_ms=$((t1 - t0))
n_after=$(b1_entries)
wait_logged 5 "$vipd_log" 'stale UDP entries deleted' "$vipd_pid"
ct_log=$(tail -n +$((lines0 + 1)) "$vipd_log" | grep -E 'conntrack: ' | tail -1 | sed -E 's/^([0-9T:.-]+Z )?vipd: [a-z]+: //')
rec_log=$(tail -n +$((lines0 + 1)) "$vipd_log" | grep -E 'reconciled ' | head -1 | sed -E 's/^([0-9T:.-]+Z )?vipd: [a-z]+: //')
log "   b1 entries gone after $ct_ms ms (left: $n_after); vipd: $ct_log; $rec_log"
ct_del=$(sed -n 's/.*conntrack: \([0-9]*\) stale.*/\1/p' <<<"$ct_log")
ct_vms=$(sed -n 's/.* in \([0-9]*\) ms$/\1/p' <<<"$ct_log")
tsv ct "$CT_FLOWS" "$n_b1" "$ct_ms" "$n_after" "${ct_del:--}" "${ct_vms:--}"
stop_vipd TERM
topo_down

# ================================================================ report
row() { echo "${C_ROW[$1]}"; }
echo "### Ruleset size: chains and rules with every feature"
echo
echo "\`vipd --once\` into an empty namespace, then \`nft -t -j list table ip vipd\` / \`ip6 vipd\` (terse: no set elements), objects counted in python. Every service: node_port 20000+i, one external IP, affinity_timeout 10800, traffic_policy local on every 10th, ${EPS} endpoints; vipd ${FEAT_ARGS[*]}. Algorithms: the round-robin services first, then $MAGLEV maglev, the rest random and source-hash in turn. Round-robin: every round-robin frontend (VIP, external IP, node port) has its own chain rr-N-<id> / np-rr-N-<id> with one rule (numgen inc counts per rule), shown separately."
echo
echo "| services | ip chains | ip rules | ip6 chains | ip6 rules | ip round-robin chains / rules | ip6 round-robin chains / rules | vipd --once s |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
row one; row one-rr; row r0; row rr
echo
echo "### Full sync: round-robin vs random"
echo
echo "$SVCS services x $EPS endpoints, the same features as above, every service round-robin vs every service random; median of $RR_REPS run(s), fresh namespace each."
echo
echo "| algorithm | wall s (median) | runs (s) | peak RSS MiB |"
echo "|---|---:|---|---:|"
echo "| random | ${S_MED[all-random]} | ${S_WALLS[all-random]# } | ${S_RSS[all-random]} |"
echo "| round-robin | ${S_MED[all-rr]} | ${S_WALLS[all-rr]# } | ${S_RSS[all-rr]} |"
echo
echo "Round-robin costs $(ratio "${S_MED[all-rr]}" "${S_MED[all-random]}")x the random full sync at $SVCS services ($((SVCS * 3)) round-robin frontends, one chain each)."
echo
echo "### Full sync: node_port and affinity_timeout on every service"
echo
echo "\`vipd --once\`, $SVCS services x $EPS endpoints: \`gen.py vipd\` (plain, random) vs the same services each with a node port and affinity_timeout 10800 (\`gen.py vipd-features\`, GEN_NODEPORT=1 GEN_AFFINITY=10800 GEN_ALGO=random); $REPS interleaved runs each, fresh namespace each; wall time (median) and peak RSS (GNU time, largest), as fullsync.sh."
echo
echo "| input | wall s (median) | runs (s) | peak RSS MiB |"
echo "|---|---:|---|---:|"
echo "| plain | ${S_MED[plain]} | ${S_WALLS[plain]# } | ${S_RSS[plain]} |"
echo "| node_port + affinity_timeout | ${S_MED[npaff]} | ${S_WALLS[npaff]# } | ${S_RSS[npaff]} |"
echo
echo "Ratio: $(ratio "${S_MED[npaff]}" "${S_MED[plain]}")x (goal: at most 1.2x); peak RSS $(ratio "${S_RSS[npaff]}" "${S_RSS[plain]}")x."
echo
echo "### New connections through a VIP, affinity off vs on"
echo
echo "\`datapath.sh\` with CASES=\"b b-aff\": 1 service, 3 backends, connbench client ($DP_REPS interleaved round(s) of $DP_SECS s, P=32). With affinity the client's one source address sticks to one backend (expected); the rate is what is measured."
echo
echo "| case | conn/s | p50 us | p99 us | failed |"
echo "|---|---:|---:|---:|---:|"
for c in b b-aff; do
	read -r rate p50 p99 failed <<<"${DP[$c]:-- - - -}"
	echo "| $([ $c = b ] && echo "affinity off" || echo "affinity_timeout 10800") | $rate | $p50 | $p99 | $failed |"
done
echo
echo "Affinity on / off: $(ratio "$(cut -d' ' -f1 <<<"${DP[b-aff]:-0}")" "$(cut -d' ' -f1 <<<"${DP[b]:-0}")")x (medians); per-round ratio, median: ${dp_ratio:-–}."
echo
echo "### Conntrack cleanup of a removed UDP backend"
echo
echo "vipd -v daemon, service 10.96.0.53:53/udp -> b1, b2 (port 5353); $CT_FLOWS one-way flows from distinct client source ports, all to b1 ($n_b1 conntrack entries to b1 in the node, \`conntrack -C\` $ct_total); then b1 removed from the services file (rename). Time from the rename until \`conntrack -L -p udp --reply-src $b1\` in the node shows no entry (polled every 10 ms; includes the file watcher's settle timer and the commit)."
echo
echo "| flows to b1 | time until none left ms | left | vipd: deleted | vipd: ct_delete ms |"
echo "|---:|---:|---:|---:|---:|"
echo "| $n_b1 | $ct_ms$([ $gone_rc = 0 ] || echo " (not all gone after 60 s)") | $n_after | ${ct_del:-–} | ${ct_vms:-–} |"
echo
echo "vipd's log: \`$ct_log\`; \`$rec_log\`."
[ $gone_rc = 0 ] || exit 1
exit 0

#!/usr/bin/env bash
# fullsync.sh S E [CAP_SECONDS] -- time one full sync (cold load) of S services
# with E endpoints each, by vipd and by kube-proxy-shaped rulesets:
#
#   vipd      ip netns exec NS $VIPD --once --services-file services.json
#   nft       ip netns exec NS nft -f kp.nft          (kube-proxy nftables mode)
#   iptables  ip netns exec NS iptables-legacy-restore < kp.ipt
#                                                     (kube-proxy iptables mode)
#   nft-vipd  ip netns exec NS nft -f vs.nft          (optional reference: vipd's
#             own map-based shape with the same elements, loaded by nft -f)
#   raw       ip netns exec NS build/rawbatch raw.txt (the physical limit: vipd's
#             layout and elements as one libnftnl batch, no model logic;
#             rawbatch.c, built here when missing or older than its source)
#
# Each peer runs in a fresh network namespace of its own (vfsN-$$, made by
# tests/e2e/lib.sh's ns_up) that is deleted right after, and by lib.sh's
# cleanup on exit, failure or Ctrl-C if still there. Nothing here touches
# the root namespace's ruleset. Every command is bounded by `timeout`; a peer
# that exceeds CAP_SECONDS (default 300) is reported as skipped.
#
# Measured: wall time of the loading command (date +%s.%N around it) and its
# peak RSS (GNU time %M, kB, covers the command since `ip netns exec` execs it).
# Then the load is checked by counting what the kernel holds (not timed).
#
# Environment:
#   VIPD=path     vipd binary (default: <repo>/vipd, repo = two levels up)
#   PEERS="..."   subset/order of peers (default "vipd nft iptables";
#                 "nft-vipd" is also available)
#   NFT_SHAPE=nft|nft-plain  gen.py shape for the nft peer (default nft: the
#                 full-sync transaction with kube-proxy's add+flush per chain)
#   REPS=n        runs per peer, each in a fresh namespace (default 1); the
#                 table shows the median wall time and the largest peak RSS
#   PEER_REPS="nft=1 iptables=2"  per-peer override of REPS
#   TSV=file      also append one line per peer to file (tab separated):
#                 S E peer wall_s rss_mib user_s sys_s runs status (medians; "-" if none)
#   KEEP=1        keep the generated files (path printed)
#   VIPD_ARGS=".." extra arguments for vipd (default none)
set -u

usage() { echo "usage: $0 S E [CAP_SECONDS]" >&2; exit 2; }
[ $# -ge 2 ] && [ $# -le 3 ] || usage
S=$1; E=$2; CAP=${3:-300}
case "$S$E$CAP" in *[!0-9]*|'') usage ;; esac

PEERS=${PEERS:-vipd nft iptables}
NFT_SHAPE=${NFT_SHAPE:-nft}

# lib.sh: $tmp, namespaces (ns_up, ns_del) and the cleanup trap; the peers'
# failures are handled here (set +e), not by lib.sh's set -e.
# shellcheck source-path=SCRIPTDIR source=../../tests/e2e/lib.sh
source "$(dirname "$0")/../../tests/e2e/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib_bench.sh
source "$root_dir/scripts/bench/lib_bench.sh"
bench_need ip nft iptables-legacy-restore iptables-legacy-save timeout python3
if [ ! -x /usr/bin/time ]; then
	echo "fullsync.sh: installing GNU time (package time)" >&2
	timeout 300 apt-get install -y time >/dev/null 2>&1 || true
	[ -x /usr/bin/time ] || fail "fullsync.sh: /usr/bin/time missing (apt-get install time)"
fi
set +e
WORK=$tmp
GEN="python3 $bench_dir/gen.py"

N=0
new_ns() {
	N=$((N + 1))
	NS=vfs$N-$$
	ns_up "$NS"
}

# ---- inputs (not timed against the peers; generation time is printed)
t0=$(date +%s.%N)
$GEN vipd "$S" "$E" > "$WORK/services.json" || exit 1
$GEN "$NFT_SHAPE" "$S" "$E" > "$WORK/kp.nft" || exit 1
$GEN iptables "$S" "$E" > "$WORK/kp.ipt" || exit 1
case " $PEERS " in *" nft-vipd "*) $GEN nft-vipd "$S" "$E" > "$WORK/vs.nft" || exit 1 ;; esac
case " $PEERS " in *" raw "*)
	$GEN raw "$S" "$E" > "$WORK/raw.txt" || exit 1
	bench_tool rawbatch libnftnl libmnl
	RAWBATCH=$tool ;;
esac
X_services=; X_endpoints=; X_nft_chains=; X_nft_service_ips=; X_ipt_rules=; X_ipt_sep_chains=
while read -r k v; do printf -v "X_$k" '%s' "$v"; done < <($GEN expect "$S" "$E")
t1=$(date +%s.%N)
echo "# inputs: S=$S E=$E, generated in $(python3 -c "print('%.2f' % ($t1 - $t0))") s:" \
	"services.json $(stat -c %s "$WORK/services.json") B," \
	"kp.nft $(wc -l < "$WORK/kp.nft") lines ($NFT_SHAPE)," \
	"kp.ipt $(wc -l < "$WORK/kp.ipt") lines" >&2

# ---- nftables event listeners anywhere on the host. The kernel's "has
# listeners" test for NFNLGRP_NFTABLES is global (netlink's per-protocol
# listener bitmap), not per namespace: while any process in any namespace
# listens (nft monitor, a daemon watching its tables), every nf_tables commit
# in every namespace builds one notification per object it adds, which makes
# bulk loads several times slower. Reported so such timings can be discarded.
nft_listeners() {
	python3 - <<'PY' 2>/dev/null
import os
seen, inodes = set(), set()
for p in os.listdir("/proc"):
    if not p.isdigit():
        continue
    try:
        ns = os.readlink("/proc/%s/ns/net" % p)
        if ns in seen:
            continue
        seen.add(ns)
        with open("/proc/%s/net/netlink" % p) as fh:
            next(fh)
            for line in fh:
                c = line.split()
                # Eth 12 = NETLINK_NETFILTER; Groups bit 6 = NFNLGRP_NFTABLES (7)
                if c[1] == "12" and int(c[3], 16) & 0x40:
                    inodes.add(c[9])
    except (OSError, StopIteration, IndexError, ValueError):
        pass
owners = set()
if inodes:
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            for fd in os.listdir("/proc/%s/fd" % p):
                l = os.readlink("/proc/%s/fd/%s" % (p, fd))
                if l.startswith("socket:[") and l[8:-1] in inodes:
                    with open("/proc/%s/comm" % p) as fh:
                        owners.add("%s(%s)" % (fh.read().strip(), p))
        except OSError:
            pass
if inodes:
    print("%d socket(s)%s" % (len(inodes), ": " + " ".join(sorted(owners)) if owners else ""))
PY
}

# ---- count helpers (run inside the peer's namespace, bounded by CAP)
jcount() { # NS family table kind name -> number of elements of that map/set
	timeout -k 5 "$CAP" ip netns exec "$1" nft -j list "$4" "$2" "$3" "$5" 2>/dev/null |
		python3 -c 'import json,sys
d=json.load(sys.stdin)
print(sum(len(o[k].get("elem",[])) for o in d["nftables"] for k in ("map","set") if k in o))' 2>/dev/null || echo "?"
}

check_vipd() {
	local svc be
	svc=$(jcount "$1" ip vipd map services)
	be=$(jcount "$1" ip vipd map backends)
	CHECK="services map=$svc backends map=$be"
	[ "$svc" = "$X_services" ] && [ "$be" != "?" ] && [ "$be" -ge "$X_endpoints" ]
}
check_nft-vipd() { check_vipd "$@"; }
check_raw() { check_vipd "$@"; }
check_nft() {
	local ch el
	ch=$(timeout -k 5 "$CAP" ip netns exec "$1" nft list table ip kube-proxy 2>/dev/null | grep -c '^[[:space:]]*chain ')
	el=$(jcount "$1" ip kube-proxy map service-ips)
	CHECK="chains=$ch service-ips=$el"
	[ "$ch" = "$X_nft_chains" ] && [ "$el" = "$X_nft_service_ips" ]
}
check_iptables() {
	local save rules seps
	save=$(timeout -k 5 "$CAP" ip netns exec "$1" iptables-legacy-save -t nat 2>/dev/null)
	rules=$(grep -c '^-A' <<<"$save")
	seps=$(grep -c '^:KUBE-SEP-' <<<"$save")
	CHECK="rules=$rules sep-chains=$seps"
	[ "$rules" = "$X_ipt_rules" ] && [ "$seps" = "$X_ipt_sep_chains" ]
}

# ---- run one peer once: sets WALL RSS STATUS CHECK VERIFY
run_once() {
	local peer=$1 tf=$WORK/time.$1 rc start end v0 v1 lis
	WALL=""; RSS=""; CHECK=""; VERIFY=""; UT=""; ST=""
	lis=$(nft_listeners)
	if [ -n "$lis" ]; then
		echo "#   WARNING: nftables event listener present ($lis); this run's kernel time is inflated" >&2
		LISTENER_SEEN=1
	fi
	new_ns
	rm -f "$tf"
	start=$(date +%s.%N)
	case $peer in
	vipd)
		# shellcheck disable=SC2086
		timeout -k 5 "$CAP" /usr/bin/time -o "$tf" -f '%e %M %U %S' \
			ip netns exec "$NS" "$VIPD" --once --services-file "$WORK/services.json" ${VIPD_ARGS:-} \
			>"$WORK/out.$peer" 2>&1 ;;
	nft)
		timeout -k 5 "$CAP" /usr/bin/time -o "$tf" -f '%e %M %U %S' \
			ip netns exec "$NS" nft -f "$WORK/kp.nft" >"$WORK/out.$peer" 2>&1 ;;
	iptables)
		timeout -k 5 "$CAP" /usr/bin/time -o "$tf" -f '%e %M %U %S' \
			ip netns exec "$NS" iptables-legacy-restore <"$WORK/kp.ipt" >"$WORK/out.$peer" 2>&1 ;;
	nft-vipd)
		timeout -k 5 "$CAP" /usr/bin/time -o "$tf" -f '%e %M %U %S' \
			ip netns exec "$NS" nft -f "$WORK/vs.nft" >"$WORK/out.$peer" 2>&1 ;;
	raw)
		timeout -k 5 "$CAP" /usr/bin/time -o "$tf" -f '%e %M %U %S' \
			ip netns exec "$NS" "$RAWBATCH" "$WORK/raw.txt" >"$WORK/out.$peer" 2>&1 ;;
	esac
	rc=$?
	end=$(date +%s.%N)
	if [ $rc = 124 ] || [ $rc = 137 ]; then
		STATUS="skipped > $CAP s"
	elif [ $rc != 0 ]; then
		STATUS="failed rc=$rc: $(grep -v '^Command exited' "$WORK/out.$peer" | tail -n 2 | tr '\n' ' ' | cut -c1-160)"
	else
		WALL=$(python3 -c "print('%.3f' % ($end - $start))")
		RSS=$(awk '{printf "%.1f", $2/1024}' "$tf" 2>/dev/null)
		UT=$(awk '{print $3}' "$tf" 2>/dev/null); ST=$(awk '{print $4}' "$tf" 2>/dev/null)
		v0=$(date +%s.%N)
		if "check_$peer" "$NS"; then STATUS=ok; else STATUS="CHECK FAILED"; fi
		v1=$(date +%s.%N)
		VERIFY=$(python3 -c "print('%.2f' % ($v1 - $v0))")
	fi
	ns_del "$NS"
}

# ---- run one peer REPS times (fresh namespace each): median wall, max RSS
REPS=${REPS:-1}
peer_reps() {
	local x
	for x in ${PEER_REPS:-}; do
		[ "${x%%=*}" = "$1" ] && { echo "${x#*=}"; return; }
	done
	echo "$REPS"
}
med() { sort -n | awk '{a[NR]=$1} END {if (!NR) print ""; else printf "%.3f", (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
run_peer() {
	local peer=$1 r walls=() rsss=() uts=() sts=() reps
	reps=$(peer_reps "$peer")
	UTM=""; STM=""
	if [ "$peer" = vipd ] && [ ! -x "$VIPD" ]; then
		WALL=""; RSS=""; CHECK=""; VERIFY=""; WALLS=""
		STATUS="not built ($VIPD)"; return
	fi
	case $peer in vipd|nft|iptables|nft-vipd|raw) ;; *) WALL=""; RSS=""; CHECK=""; WALLS=""; STATUS="unknown peer"; return ;; esac
	for r in $(seq 1 "$reps"); do
		run_once "$peer"
		echo "#   $peer run $r: wall=${WALL:-–} s rss=${RSS:-–} MiB user=${UT:-–} sys=${ST:-–} $STATUS ($CHECK; check took ${VERIFY:-–} s)" >&2
		[ "$STATUS" = ok ] || { WALLS=""; return; }
		walls+=("$WALL"); rsss+=("$RSS"); uts+=("$UT"); sts+=("$ST")
	done
	WALLS="${walls[*]}"
	WALL=$(printf '%s\n' "${walls[@]}" | med)
	UTM=$(printf '%s\n' "${uts[@]}" | med); STM=$(printf '%s\n' "${sts[@]}" | med)
	RSS=$(printf '%s\n' "${rsss[@]}" | sort -n | tail -n 1)
}

LISTENER_SEEN=0
declare -A R_WALL R_RSS R_STATUS R_CHECK R_REPS
for p in $PEERS; do
	echo "# running $p ..." >&2
	run_peer "$p"
	R_WALL[$p]=$WALL; R_RSS[$p]=$RSS; R_STATUS[$p]=$STATUS; R_CHECK[$p]=$CHECK; R_REPS[$p]=$(peer_reps "$p")
	[ -n "$WALLS" ] && echo "#   $p: walls $WALLS -> median $WALL s, max RSS $RSS MiB" >&2
	if [ -n "${TSV:-}" ]; then
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$S" "$E" "$p" "${WALL:--}" "${RSS:--}" \
			"${UTM:--}" "${STM:--}" "${R_REPS[$p]}" "$STATUS" >>"$TSV"
	fi
done

base=""
[ "${R_STATUS[vipd]:-}" = ok ] && base=${R_WALL[vipd]}
echo
echo "| peer | services | endpoints (total) | wall s (median) | runs | peak RSS MiB | ratio vs vipd | status |"
echo "|---|---:|---:|---:|---:|---:|---:|---|"
for p in $PEERS; do
	w=${R_WALL[$p]}; ratio="n/a"
	if [ -n "$w" ] && [ -n "$base" ]; then
		ratio=$(python3 -c "b=$base; print('%.1fx' % ($w/b) if b > 0 else 'n/a')")
	fi
	label=$p
	[ "$p" = nft ] && label="nft -f ($NFT_SHAPE)"
	[ "$p" = iptables ] && label="iptables-legacy-restore"
	[ "$p" = vipd ] && label="vipd --once"
	[ "$p" = nft-vipd ] && label="nft -f (vipd shape, reference)"
	[ "$p" = raw ] && label="rawbatch (physical limit)"
	echo "| $label | $S | $((S * E)) | ${w:-–} | ${R_REPS[$p]} | ${R_RSS[$p]:-–} | $ratio | ${R_STATUS[$p]}${R_CHECK[$p]:+ (${R_CHECK[$p]})} |"
done
if [ "$LISTENER_SEEN" = 1 ]; then
	echo
	echo "WARNING: an nftables event listener (NFNLGRP_NFTABLES) existed on the host during some runs;"
	echo "nf_tables then builds a notification per added object in every namespace: rerun when quiet."
fi
# exit status: 1 if a peer failed (a peer over the time cap is not a failure)
for p in $PEERS; do
	case "${R_STATUS[$p]}" in ok | "skipped > "*) ;; *) exit 1 ;; esac
done
exit 0

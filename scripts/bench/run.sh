#!/usr/bin/env bash
# run.sh -- every vipd benchmark, side by side with kube-proxy-shaped peers,
# and BENCHMARKS.md (`make bench`). `make bench-smoke` (BENCH_SMOKE=1) runs
# every piece at tiny sizes in about a minute and writes its report to a
# temporary file instead: CI runs it so that the benchmarks cannot rot.
#
# Items (ITEMS, default all, in this order):
#   fullsync   fullsync.sh per size: vipd --once, rawbatch (the physical limit),
#              nft -f of vipd's shape (reference), nft -f of kube-proxy's nftables
#              shape (capped: NFT_CAP), iptables-legacy-restore of kube-proxy's
#              iptables shape; wall time, peak RSS, user/sys
#   latency    change_latency.sh at the largest size: one endpoint change from
#              its source to the kernel (vipd file, vipd etcd, kube-proxy nft -f,
#              iptables-legacy-restore --noflush) and vipd's daemon RSS
#   datapath   datapath.sh: new connections/s and vipd's LB accuracy
#   semantics  semantics.sh: issue 14's service semantics: chains/rules with every
#              feature (and per round-robin service), full sync plain vs node_port +
#              affinity, conn/s with affinity on/off, UDP conntrack cleanup time
#   profile    profile.sh: perf record of vipd --once and rawbatch at the largest size
#   docker     docker_latency.sh: a real dockerd; container start/stop event to
#              the kernel, cold start with DK_CONTAINERS containers, RSS
#   health     health.sh: active health checks: a backend's death to its removal
#              (HC_KILLS kills, TCP check 200 ms x fall 3) with the failed requests
#              of a client loop, and vipd's CPU checking HC_N backends every second
#              (no check, TCP, HTTP)
#   scrape     scrape.sh: vipd's HTTP listener (--metrics) at SC_SVCS x SC_EPS in
#              etcd: time, bytes and vipd CPU of one /metrics and /status scrape,
#              and an etcd change's latency to the kernel idle vs while /metrics
#              is scraped back to back (SC_CHANGES changes; required: p99 <= 2x idle)
#   cache      state_cache.sh: the state cache at the largest size: bytes, the write
#              (in the child, fsync included), the read back, the fork the loop waits for
# Each item's script makes its namespaces with tests/e2e/lib.sh (names ending
# in its pid) and lib.sh's cleanup removes them on exit, failure or Ctrl-C;
# run.sh itself makes none, and nothing touches the root namespace.
#
# Environment (defaults: full run / smoke):
#   SIZES="1000 3000 10000" / "100 300"   services per full-sync size
#   EPS=10 / 3                            endpoints per service
#   REPS=3 / 1                            full-sync runs per peer (median);
#   NFT_REPS=                             kube-proxy nft peer: REPS below 10,000
#                                         services, 1 from there (it takes minutes)
#   NFT_CAP=200 / 60                      seconds; a peer over it is "skipped"
#   CHANGES=200 / 10  SLOW_CHANGES=50 / 5 latency: vipd changes / kube-proxy changes
#   DP_SECS=5 / 1  DP_REPS=5 / 1  DP_SVCS=<largest size> / 100  LB_CONNS=100000 / 3000
#   QUIET_WAIT=10 / 0                     datapath: wait for an idle machine (s)
#   DK_CYCLES=50 / 3  DK_CONTAINERS=100 / 5  docker: stop/start cycles, cold-start containers
#   SEM_SVCS=<largest size> / 100  SEM_RR=1000 / 10  SEM_MAGLEV=100 / 2  SEM_FLOWS=10000 / 500
#                                         semantics: services, round-robin services, maglev
#                                         services, UDP flows (it uses EPS, REPS, DP_SECS, DP_REPS)
#   HC_KILLS=20 / 3  HC_N=1000 / 100  HC_SECS=30 / 2
#                                         health: kills, checked backends, CPU window (s)
#   SC_SVCS=<largest size> / 200  SC_EPS=EPS / 10  SC_CHANGES=200 / 20
#                                         scrape: services, endpoints each, changes per case
#   OUT=<repo>/BENCHMARKS.md / a temp file
#   VIPD=<repo>/vipd  KEEP=1 (keep the work directory)
#   REPORT_FROM=dir   run nothing: write the report again from a kept work
#                     directory (KEEP=1), e.g. after editing report.py
# Exit status: non-zero if any item failed (a peer over its time cap is not a
# failure).
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
SMOKE=${BENCH_SMOKE:-0}
# KEEP is run.sh's own; the item scripts would keep their work directories too
RUN_KEEP=${KEEP:-0}
unset KEEP
if [ "$SMOKE" = 1 ]; then
	SIZES=${SIZES:-100 300} EPS=${EPS:-3} REPS=${REPS:-1} NFT_CAP=${NFT_CAP:-60}
	CHANGES=${CHANGES:-10} SLOW_CHANGES=${SLOW_CHANGES:-5}
	DP_SECS=${DP_SECS:-1} DP_REPS=${DP_REPS:-1} DP_SVCS=${DP_SVCS:-100} LB_CONNS=${LB_CONNS:-3000}
	QUIET_WAIT=${QUIET_WAIT:-0} DK_CYCLES=${DK_CYCLES:-3} DK_CONTAINERS=${DK_CONTAINERS:-5}
	SEM_SVCS=${SEM_SVCS:-100} SEM_RR=${SEM_RR:-10} SEM_MAGLEV=${SEM_MAGLEV:-2} SEM_FLOWS=${SEM_FLOWS:-500}
	HC_KILLS=${HC_KILLS:-3} HC_N=${HC_N:-100} HC_SECS=${HC_SECS:-2}
	SC_SVCS=${SC_SVCS:-200} SC_EPS=${SC_EPS:-10} SC_CHANGES=${SC_CHANGES:-20}
else
	SIZES=${SIZES:-1000 3000 10000} EPS=${EPS:-10} REPS=${REPS:-3} NFT_CAP=${NFT_CAP:-200}
	CHANGES=${CHANGES:-200} SLOW_CHANGES=${SLOW_CHANGES:-50}
	DP_SECS=${DP_SECS:-5} DP_REPS=${DP_REPS:-5} LB_CONNS=${LB_CONNS:-100000}
	QUIET_WAIT=${QUIET_WAIT:-10} DK_CYCLES=${DK_CYCLES:-50} DK_CONTAINERS=${DK_CONTAINERS:-100}
	SEM_RR=${SEM_RR:-1000} SEM_MAGLEV=${SEM_MAGLEV:-100} SEM_FLOWS=${SEM_FLOWS:-10000}
	HC_KILLS=${HC_KILLS:-20} HC_N=${HC_N:-1000} HC_SECS=${HC_SECS:-30}
	SC_EPS=${SC_EPS:-$EPS} SC_CHANGES=${SC_CHANGES:-200}
fi
ITEMS=${ITEMS:-fullsync latency datapath semantics profile docker health scrape cache}
export VIPD=${VIPD:-$REPO/vipd}
BIG=$(tr ' ' '\n' <<<"$SIZES" | grep . | sort -n | tail -n 1)
DP_SVCS=${DP_SVCS:-$BIG}
SEM_SVCS=${SEM_SVCS:-$BIG}
SC_SVCS=${SC_SVCS:-$BIG}

[ "$(id -u)" = 0 ] || { echo "run.sh: needs root (network namespaces)" >&2; exit 1; }
[ -x "$VIPD" ] || { echo "run.sh: $VIPD is not built (make)" >&2; exit 1; }
for x in $SIZES $EPS $REPS $NFT_CAP $CHANGES $SLOW_CHANGES $DP_SECS $DP_REPS $DP_SVCS $LB_CONNS $QUIET_WAIT \
	$DK_CYCLES $DK_CONTAINERS $SEM_SVCS $SEM_RR $SEM_MAGLEV $SEM_FLOWS $HC_KILLS $HC_N $HC_SECS \
	$SC_SVCS $SC_EPS $SC_CHANGES; do
	case "$x" in *[!0-9]*) echo "run.sh: not a number: $x" >&2; exit 2 ;; esac
done

if [ -n "${REPORT_FROM:-}" ]; then
	[ -f "$REPORT_FROM/meta.sh" ] || { echo "run.sh: $REPORT_FROM/meta.sh missing" >&2; exit 2; }
	# shellcheck disable=SC1091
	. "$REPORT_FROM/meta.sh"
	W=$REPORT_FROM RUN_KEEP=1 ITEMS=""
else
	W=$(mktemp -d /tmp/vipd-benchrun.XXXXXX)
fi
if [ "$SMOKE" = 1 ]; then
	OUT=${OUT:-$W/BENCHMARKS-smoke.md}
else
	OUT=${OUT:-$REPO/BENCHMARKS.md}
fi
CHILD=
cleanup() {
	trap - EXIT
	# the item scripts clean up after themselves on TERM; wait for that
	if [ -n "$CHILD" ] && kill -0 "$CHILD" 2>/dev/null; then
		kill "$CHILD" 2>/dev/null
		timeout 30 tail --pid="$CHILD" -f /dev/null 2>/dev/null || kill -9 "$CHILD" 2>/dev/null
	fi
	if [ "$RUN_KEEP" = 1 ]; then
		echo "run.sh: kept $W" >&2
	elif [ "${OUT#"$W"/}" != "$OUT" ]; then
		# the (smoke) report lives in the work directory: keep only it
		find "$W" -mindepth 1 ! -path "$OUT" -delete 2>/dev/null
		rmdir "$W" 2>/dev/null
	else
		rm -rf "$W"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

if [ -z "${REPORT_FROM:-}" ]; then
	# One binary for the whole run, even if vipd is rebuilt meanwhile.
	cp "$VIPD" "$W/vipd" || { echo "run.sh: cannot copy $VIPD" >&2; exit 1; }
	VIPD_INFO="$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')"
	[ -n "$(git -C "$REPO" status --porcelain -- cmd datapath watcher include 2>/dev/null)" ] &&
		VIPD_INFO="$VIPD_INFO + uncommitted changes in its sources"
	VIPD_INFO="$VIPD_INFO; binary built $(date -u -r "$VIPD" '+%Y-%m-%d %H:%M UTC'), sha256 $(sha256sum "$VIPD" | cut -c1-12)"
	export VIPD=$W/vipd
	T_START=$(date +%s)
	DATE_START=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
	LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
	FAILED_ITEMS=""
fi
log() { echo "== run.sh [$(($(date +%s) - T_START)) s] $*" >&2; }

# run_item NAME TIMEOUT CMD...: stdout -> $W/NAME.md, stderr -> $W/NAME.log (and the terminal)
run_item() {
	local name=$1 tmo=$2 rc t0
	shift 2
	t0=$(date +%s)
	log "$name: $*"
	timeout -k 30 "$tmo" "$@" >"$W/$name.md" 2> >(tee -a "$W/$name.log" | sed -u "s/^/   [$name] /" >&2) &
	CHILD=$!
	wait "$CHILD"
	rc=$?
	CHILD=
	echo "$name $rc $(($(date +%s) - t0))" >>"$W/items"
	if [ $rc != 0 ]; then
		log "$name FAILED (exit $rc)"
		FAILED_ITEMS="$FAILED_ITEMS $name"
	else
		log "$name done in $(($(date +%s) - t0)) s"
	fi
	return $rc
}

log "work directory $W; report -> $OUT"
[ -n "${REPORT_FROM:-}" ] || : >"$W/items"

# ---------------------------------------------------------------- 1. full sync
if [[ " $ITEMS " == *" fullsync "* ]]; then
	for s in $SIZES; do
		nreps=${NFT_REPS:-$([ "$s" -ge 10000 ] && echo 1 || echo "$REPS")}
		TSV=$W/fullsync.tsv REPS=$REPS PEER_REPS="nft=$nreps" PEERS="vipd raw nft-vipd nft iptables" \
			run_item "fullsync-$s" $((NFT_CAP * 3 + 900)) bash "$HERE/fullsync.sh" "$s" "$EPS" "$NFT_CAP"
	done
fi

# ---------------------------------------------------------------- 2. + 4. one change, memory
if [[ " $ITEMS " == *" latency "* ]]; then
	TSV=$W/latency.tsv CAP=$((NFT_CAP + 100)) PERF_OUT=$W \
		run_item latency 1800 bash "$HERE/change_latency.sh" "$BIG" "$EPS" "$CHANGES" "$SLOW_CHANGES"
fi

# ---------------------------------------------------------------- 3. + 5. data path, LB accuracy
if [[ " $ITEMS " == *" datapath "* ]]; then
	# case e's ruleset is loaded in chunks (NFT_CHUNK): the same rules, without
	# the minutes one transaction takes (that is measured by fullsync)
	TSV=$W/datapath.tsv REPS=$DP_REPS SVCS=$DP_SVCS EPS=$EPS LB_CONNS=$LB_CONNS QUIET_WAIT=$QUIET_WAIT \
		NFT_CHUNK=500 run_item datapath 1800 bash "$HERE/datapath.sh" "$DP_SECS"
fi

# ---------------------------------------------------------------- service semantics (issue 14)
if [[ " $ITEMS " == *" semantics "* ]]; then
	SEM_CMD="SVCS=$SEM_SVCS EPS=$EPS RR=$SEM_RR MAGLEV=$SEM_MAGLEV REPS=$REPS RR_REPS=1 DP_SECS=$DP_SECS DP_REPS=$DP_REPS CT_FLOWS=$SEM_FLOWS bash scripts/bench/semantics.sh"
	echo "$SEM_CMD" >"$W/semantics.cmd"
	SVCS=$SEM_SVCS EPS=$EPS RR=$SEM_RR MAGLEV=$SEM_MAGLEV REPS=$REPS RR_REPS=1 DP_SECS=$DP_SECS DP_REPS=$DP_REPS \
		CT_FLOWS=$SEM_FLOWS QUIET_WAIT=$QUIET_WAIT TSV=$W/semantics.tsv \
		run_item semantics 2400 bash "$HERE/semantics.sh"
fi

# ---------------------------------------------------------------- profile: vipd --once vs rawbatch
if [[ " $ITEMS " == *" profile "* ]]; then
	run_item profile 900 bash "$HERE/profile.sh" "$BIG" "$EPS" "$W"
fi

# ---------------------------------------------------------------- 6. Docker events to the kernel
if [[ " $ITEMS " == *" docker "* ]]; then
	SMOKE=$SMOKE TSV=$W/docker.tsv \
		run_item docker 900 bash "$HERE/docker_latency.sh" "$DK_CYCLES" "$DK_CONTAINERS"
fi

# ---------------------------------------------------------------- active health checks
if [[ " $ITEMS " == *" health "* ]]; then
	HC_CMD="KILLS=$HC_KILLS N=$HC_N CPU_SECS=$HC_SECS WARM=$([ "$SMOKE" = 1 ] && echo 1 || echo 5) bash scripts/bench/health.sh"
	echo "$HC_CMD" >"$W/health.cmd"
	KILLS=$HC_KILLS N=$HC_N CPU_SECS=$HC_SECS WARM=$([ "$SMOKE" = 1 ] && echo 1 || echo 5) TSV=$W/health.tsv \
		run_item health 900 bash "$HERE/health.sh"
fi

# ---------------------------------------------------------------- observability: /metrics scrapes
if [[ " $ITEMS " == *" scrape "* ]]; then
	echo "bash scripts/bench/scrape.sh $SC_SVCS $SC_EPS $SC_CHANGES" >"$W/scrape.cmd"
	TSV=$W/scrape.tsv run_item scrape 2400 bash "$HERE/scrape.sh" "$SC_SVCS" "$SC_EPS" "$SC_CHANGES"
fi

# ---------------------------------------------------------------- the state cache's cost
if [[ " $ITEMS " == *" cache "* ]]; then
	SCACHE_REPS=$([ "$SMOKE" = 1 ] && echo 1 || echo 5)
	echo "bash scripts/bench/state_cache.sh $BIG $EPS $SCACHE_REPS" >"$W/cache.cmd"
	run_item cache 600 bash "$HERE/state_cache.sh" "$BIG" "$EPS" "$SCACHE_REPS"
fi

# ---------------------------------------------------------------- the report
if [ -z "${REPORT_FROM:-}" ]; then
	T_END=$(date +%s)
	LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
	declare -p VIPD_INFO T_START T_END DATE_START LOAD_START LOAD_END FAILED_ITEMS SMOKE SIZES EPS REPS NFT_CAP \
		CHANGES SLOW_CHANGES DP_SECS DP_REPS DP_SVCS LB_CONNS QUIET_WAIT BIG DK_CYCLES DK_CONTAINERS \
		SEM_SVCS SEM_RR SEM_MAGLEV SEM_FLOWS HC_KILLS HC_N HC_SECS SC_SVCS SC_EPS SC_CHANGES >"$W/meta.sh"
fi
export W OUT SMOKE SIZES EPS REPS NFT_CAP CHANGES SLOW_CHANGES DP_SECS DP_REPS DP_SVCS LB_CONNS QUIET_WAIT BIG \
	DK_CYCLES DK_CONTAINERS SEM_SVCS SEM_RR SEM_MAGLEV SEM_FLOWS HC_KILLS HC_N HC_SECS SC_SVCS SC_EPS SC_CHANGES
export VIPD_INFO DATE_START LOAD_START LOAD_END T_START T_END FAILED_ITEMS REPO
export CMDLINE="${BENCH_CMDLINE:-$([ "$SMOKE" = 1 ] && echo 'make bench-smoke' || echo 'make bench')}"
if ! python3 "$HERE/report.py" >"$OUT.tmp"; then
	echo "run.sh: report.py failed" >&2
	FAILED_ITEMS="$FAILED_ITEMS report"
else
	mv "$OUT.tmp" "$OUT"
	cat "$OUT"
	log "report written to $OUT (total $((T_END - T_START)) s)"
fi
if [ -n "$FAILED_ITEMS" ]; then
	log "FAILED:$FAILED_ITEMS"
	exit 1
fi
exit 0

#!/usr/bin/env bash
# docker_latency.sh [CYCLES] [CONTAINERS] -- vipd --docker local against a
# real dockerd (Debian's docker.io), everything inside a node namespace made
# here (tests/e2e/lib.sh + lib_docker.sh: dockerd boxed with nsenter+unshare,
# names end in $$, all removed by the EXIT trap).
#
#   ┌ vipd-node-$$ ───────────────────────────────────────────────────────┐
#   │ dockerd (box: own mount+pid ns), network vipdbench 10.253.0.0/16     │
#   │ vipd --docker local --docker-socket $tmp/dk-a/sock  (table ip vipd)  │
#   │ build/nftwatch         netlink witness: every backends element added │
#   │ witness (python, here) netlink witness: the backends map's contents, │
#   │                        "in IP"/"out IP" at each commit (NEWGEN)      │
#   │ docker events --format '{{json .}}' (CLI on the box's API socket)    │
#   └──────────────────────────────────────────────────────────────────────┘
#
# Parts (PARTS, default "latency cold"):
#   latency  K containers (default 4; busybox httpd, --init so that SIGTERM
#            ends them at once), labels vipd.service=web vipd.port=8080
#            vipd.vip=10.96.0.10:80, no health check. CYCLES times (default
#            50), round robin over the K: `docker stop` one, wait until its
#            IP left the kernel, `docker start` it, wait until its (possibly
#            new) IP is back.
#              out: t0 = timeNano of dockerd's `kill` event (signal 15, the
#                   stop signal; vipd makes the endpoint terminating on it,
#                   before the container dies), t1 = the commit after which
#                   no element of map ip vipd backends points to the IP
#                   (witness; nftwatch sees additions only).
#              in:  t0 = timeNano of dockerd's `start` event (the container's
#                   process runs; with no health check that is when it is an
#                   endpoint), t1 = the first backends element with the IP as
#                   build/nftwatch sees it (its CLOCK_MONOTONIC stamp, turned
#                   into CLOCK_REALTIME with the witness's own stamp pair of
#                   the same commit); the witness's "in" is shown as a check.
#              Both witnesses stamp a commit when they read it: the python one
#              wakes up ~0.1 ms (p50; up to ~2.5 ms on a busy 2-CPU machine)
#              after nftwatch, so "out" (python only) is an upper bound; the
#              removal commit also (re)adds an element of a remaining
#              backend (slot rewrite), and nftwatch's stamp of it is shown as
#              a check.
#   cold     CONTAINERS containers (default 100) over SVCS services (default
#            4: cs0.. at 10.96.1.1:80 ..) running before vipd starts. t0 =
#            just before `ip netns exec NODE vipd ...` is started (includes
#            exec and vipd's own start), t1 = the witness's commit after
#            which every container's IP is in the backends map. REPS times
#            (default 3; vipd stopped and `vipd --cleanup` in the namespace
#            between), median; then vipd's VmRSS/VmHWM after SETTLE s (2).
#            Checked against `nft list map ip vipd backends` at the end.
#
# Output: a markdown table on stdout; with TSV=file also lines
#   dl <what> <n> <p50_ms> <p90_ms> <p99_ms> <max_ms>
#   cold <containers> <services> <reps> <median_ms> <runs_ms,...>
#   mem <what> <VmRSS kB> <VmHWM kB>
# Environment: SMOKE=1 (3 cycles, 5 containers, K=2, REPS=1: ~10 s), K,
# SVCS, REPS, SETTLE, PAR (docker runs in parallel, 8), PARTS, VIPD (default
# <repo>/vipd), KEEP=1 (copy the logs, events and witness records to
# /tmp/docker_latency-logs.PID before the work directory is removed).
#
# Safety: rules, links and traffic only in vipd-node-$$; the root namespace's
# nftables/iptables are never touched (dockerd runs with --iptables=false);
# processes are stopped by pid; every docker command runs under `timeout`
# (lib_docker.sh's dk: 60 s) and every wait is bounded in count and time.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
SMOKE=${SMOKE:-0}
if [ "$SMOKE" = 1 ]; then
	CYCLES=${1:-3} C=${2:-5} K=${K:-2} SVCS=${SVCS:-2} REPS=${REPS:-1} SETTLE=${SETTLE:-1}
else
	CYCLES=${1:-50} C=${2:-100} K=${K:-4} SVCS=${SVCS:-4} REPS=${REPS:-3} SETTLE=${SETTLE:-2}
fi
PAR=${PAR:-8} PARTS=${PARTS:-latency cold}
for x in "$CYCLES" "$C" "$K" "$SVCS" "$REPS" "$SETTLE" "$PAR"; do
	case "$x" in '' | *[!0-9]*) echo "usage: $0 [CYCLES] [CONTAINERS]  (numbers)" >&2; exit 2 ;; esac
done
if [ "$K" -lt 1 ] || [ "$C" -lt 1 ] || [ "$SVCS" -lt 1 ] || [ "$SVCS" -gt 250 ] || [ "$C" -gt 60000 ] || [ "$REPS" -lt 1 ]; then
	echo "docker_latency.sh: need K >= 1, CONTAINERS >= 1, 1 <= SVCS <= 250, CONTAINERS <= 60000, REPS >= 1" >&2
	exit 2
fi
T_START=$(date +%s%N)

# lib.sh: set -e, $tmp, namespaces named *-$$, `trap cleanup EXIT`, within;
# lib_docker.sh: the dockerd box, dk (CLI, timeout 60 s), run_box, cip;
# lib_bench.sh: bench_tool, a quiet vipd.
# shellcheck source-path=SCRIPTDIR source=../../tests/e2e/lib.sh
source "$repo/tests/e2e/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../../tests/e2e/lib_docker.sh
source "$repo/tests/e2e/lib_docker.sh"
# shellcheck source-path=SCRIPTDIR source=lib_bench.sh
source "$here/lib_bench.sh"
vipd_flags=(-v) # the cold-start summary below quotes vipd's -v lines
keep_tmp=0      # KEEP=1 copies the logs instead (keep_logs)
[ -x "$VIPD" ] || fail "$VIPD is not built (make)"
bench_tool nftwatch libnftnl libmnl
WATCH=$tool
if [ "${KEEP:-0}" = 1 ]; then
	keep_logs() { mkdir -p "/tmp/docker_latency-logs.$$" && cp -a "$tmp"/*.log "$tmp"/*.tsv "$tmp"/*.jsonl "/tmp/docker_latency-logs.$$/" 2>/dev/null; }
	cleanup_hooks=(keep_logs "${cleanup_hooks[@]}")
fi

py=$tmp/docker_latency.py
cat >"$py" <<'EOF'
"""docker_latency.sh's helper. witness: an nftables netlink listener that
keeps the contents of map ip <table> backends and prints, at each commit
(NEWGEN) that changed it, "MONO_NS REAL_NS in|out IP" for every backend IP
that appeared or left, then "MONO_NS REAL_NS gen IPS ELEMENTS" (stamps: both
clocks read when the commit's first message arrived). lat / cold: the
reports."""
import json
import socket
import struct
import sys
import time


def attrs(b, off, end):
    while off + 4 <= end:
        ln, ty = struct.unpack_from("=HH", b, off)
        if ln < 4:
            return
        yield ty & 0x3FFF, off + 4, off + ln
        off += (ln + 3) & ~3


def value(b, off, end):
    for t, s, e in attrs(b, off, end):
        if t == 1:  # NFTA_DATA_VALUE
            return bytes(b[s:e])
    return None


def cstr(b, s, e):
    return bytes(b[s:e]).split(b"\0", 1)[0].decode()


def witness(table):
    sk = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12)  # NETLINK_NETFILTER
    try:
        sk.setsockopt(socket.SOL_SOCKET, 33, 64 << 20)  # SO_RCVBUFFORCE
    except OSError:
        sk.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sk.bind((0, 1 << (7 - 1)))  # NFNLGRP_NFTABLES
    print("ready", flush=True)
    elems, count, present = {}, {}, set()
    dirty, stamp = False, None

    def drop(key):
        ip = elems.pop(key, None)
        if ip is not None:
            count[ip] -= 1

    while True:
        try:
            b = sk.recv(1 << 22)
        except OSError as e:
            print("0 0 overrun %s" % e, flush=True)
            continue
        now = (time.monotonic_ns(), time.time_ns())
        off = 0
        while off + 20 <= len(b):
            ln, ty = struct.unpack_from("=IH", b, off)
            if ln < 16:
                break
            end = min(off + ln, len(b))
            sub, msg, fam = ty >> 8, ty & 0xFF, b[off + 16]
            if sub == 10 and stamp is None:
                stamp = now
            if sub == 10 and msg in (12, 14) and fam == 2:  # NEW/DELSETELEM, ip
                tname = sname = None
                items = None
                for t, s, e in attrs(b, off + 20, end):
                    if t == 1:
                        tname = cstr(b, s, e)
                    elif t == 2:
                        sname = cstr(b, s, e)
                    elif t == 3:
                        items = (s, e)
                if tname == table and sname == "backends":
                    dirty = True
                    if items is None and msg == 14:  # flush
                        elems.clear()
                        count.clear()
                    for _, s, e in attrs(b, *(items or (0, 0))):
                        key = data = None
                        for t, s2, e2 in attrs(b, s, e):
                            if t == 1:
                                key = value(b, s2, e2)
                            elif t == 2:
                                data = value(b, s2, e2)
                        if key is None:
                            continue
                        drop(key)
                        if msg == 12 and data and len(data) == 8:
                            ip = socket.inet_ntoa(data[:4])
                            elems[key] = ip
                            count[ip] = count.get(ip, 0) + 1
            elif sub == 10 and fam == 2 and msg in (2, 11):  # DELTABLE, DELSET
                names = {t: cstr(b, s, e) for t, s, e in attrs(b, off + 20, end) if t in (1, 2)}
                if names.get(1) == table and (msg == 2 or names.get(2) == "backends"):
                    elems.clear()
                    count.clear()
                    dirty = True
            elif sub == 10 and msg == 15:  # NEWGEN: end of a commit
                if dirty:
                    now_in = {ip for ip, n in count.items() if n > 0}
                    m, r = stamp
                    out = ["%d %d in %s" % (m, r, ip) for ip in sorted(now_in - present)]
                    out += ["%d %d out %s" % (m, r, ip) for ip in sorted(present - now_in)]
                    out.append("%d %d gen %d %d" % (m, r, len(now_in), len(elems)))
                    print("\n".join(out), flush=True)
                    present = now_in
                dirty, stamp = False, None
            off += (ln + 3) & ~3


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * len(v)))]


def stats(v):
    return (len(v), pct(v, .5), pct(v, .9), pct(v, .99), max(v)) if v else (0, 0, 0, 0, 0)


def lines(path):
    with open(path) as f:
        return f.read().splitlines()


def lat(cycles, events, wit, nft, tsv):
    ev = []
    for l in lines(events):
        try:
            e = json.loads(l)
            ev.append((int(e["timeNano"]), e.get("Action", ""), e["Actor"]["ID"],
                       e["Actor"].get("Attributes", {})))
        except (ValueError, KeyError):
            pass
    W = [l.split() for l in lines(wit)]
    N = [l.split() for l in lines(nft)]

    def first_ev(cid, action, since, sig=None):
        for t, a, i, at in ev:
            if i == cid and a == action and t >= since and (sig is None or at.get("signal") == sig):
                return t
        return None

    def first_w(kind, ip, mark):
        for w in W[mark:]:
            if len(w) == 4 and w[2] == kind and w[3] == ip:
                return int(w[0]), int(w[1])
        return None

    def first_n(ip, mark):
        for n in N[mark:]:
            if len(n) == 2 and n[1] == ip:
                return int(n[0])
        return None

    outs, outs_n, ins_n, ins_w, kill_die, miss, before_die = [], [], [], [], [], [], 0
    for l in lines(cycles):
        i, name, cid, ip0, t_stop, w_stop, n_stop, ip1, t_start, w_start, n_start = l.split()
        k = first_ev(cid, "kill", int(t_stop), "15")
        d = first_ev(cid, "die", int(t_stop))
        s = first_ev(cid, "start", int(t_start))
        o = first_w("out", ip0, int(w_stop))
        if k and o:
            outs.append((o[1] - k) / 1e6)
            # nftwatch's stamp of the same commit, when it re-adds slots of
            # the remaining backends (the only commit in the stop window)
            n = next((int(x[0]) for x in N[int(n_stop):] if len(x) == 2), None)
            if n is not None and abs(n - o[0]) < 20e6:
                outs_n.append((n + (o[1] - o[0]) - k) / 1e6)
            if d:
                kill_die.append((d - k) / 1e6)
                before_die += o[1] < d
        else:
            miss.append("cycle %s %s: kill event %s, out %s" % (i, name, k, o))
        wi = first_w("in", ip1, int(w_start))
        ni = first_n(ip1, int(n_start))
        if s and wi and ni:
            ins_w.append((wi[1] - s) / 1e6)
            ins_n.append((ni + (wi[1] - wi[0]) - s) / 1e6)
        else:
            miss.append("cycle %s %s: start event %s, witness in %s, nftwatch %s" % (i, name, s, wi, ni))
    rows = [("start", "container start -> backend in the kernel: `start` event timeNano -> nftwatch sees its element", ins_n),
            ("start-witness", "the same, t1 from the witness (commit with the IP in the map; a check)", ins_w),
            ("stop", "stop signal -> backend out of the kernel: `kill` event (signal 15) timeNano -> witness: commit after which no element points to it", outs),
            ("stop-nftwatch", "the same commit as nftwatch stamps it (elements it re-adds for the remaining backends; a check)", outs_n),
            ("kill-die", "(dockerd, not vipd) `kill` event -> `die` event of the same stop", kill_die)]
    with open(tsv, "a") as f:
        for key, what, v in rows:
            n, a, b, c, m = stats(v)
            print("| %s | %d | %.2f | %.2f | %.2f | %.2f |" % (what, n, a, b, c, m))
            f.write("dl %s %d %.2f %.2f %.2f %.2f\n" % (key, n, a, b, c, m))
    print("\nBackend out of the kernel before the container's `die` event: %d of %d stops." % (before_die, len(kill_die)))
    for m in miss:
        print("MISSING: " + m)
    return 1 if miss else 0


def cold(t0, wit, mark, ipfile):
    want = set(lines(ipfile))
    got = {}
    for w in [l.split() for l in lines(wit)][int(mark):]:
        if len(w) == 4 and w[2] == "in" and w[3] in want and w[3] not in got:
            got[w[3]] = int(w[1])
    if len(got) < len(want):
        print("missing %d of %d" % (len(want) - len(got), len(want)))
        return 1
    print("%.1f" % ((max(got.values()) - int(t0)) / 1e6))
    return 0


if __name__ == "__main__":
    a = sys.argv[1:]
    if a[0] == "witness":
        witness(a[1])
    elif a[0] == "lat":
        sys.exit(lat(*a[1:6]))
    elif a[0] == "cold":
        sys.exit(cold(*a[1:5]))
EOF

NET=vipdbench
nlines() { local n; n=$(wc -l <"$1"); echo "$n"; }
# seen_after FILE MARK REGEX: a line after the first MARK lines matches
seen_after() { tail -n +"$(($2 + 1))" "$1" | grep -qE "$3"; }
# wait_seen SECONDS FILE MARK REGEX (every 20 ms)
wait_seen() {
	local secs=$1
	shift
	poll_s=0.02 within "$secs" seen_after "$@"
}
mem_of() { awk '$1 == "VmRSS:" { r = $2 } $1 == "VmHWM:" { h = $2 } END { print r + 0, h + 0 }' "/proc/$1/status"; }
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
: >"$tmp/results.tsv"

# --- the node, dockerd, the witnesses ---
node_up
docker_up a
dk network create --driver bridge --subnet 10.253.0.0/16 -o com.docker.network.bridge.name=vdk-bench "$NET" >/dev/null ||
	fail "docker network create $NET"
wit=$tmp/witness.log nft=$tmp/nftwatch.log events=$tmp/events.jsonl
bg_ns "$node" python3 -u "$py" witness vipd >"$wit" 2>"$tmp/witness.err"
bg_ns "$node" "$WATCH" >"$nft" 2>"$tmp/nftwatch.err"
wait_seen 5 "$wit" 0 '^ready$' || fail "witness did not start: $(cat "$tmp/witness.err")"
wait_seen 5 "$nft" 0 '^ready$' || fail "nftwatch did not start: $(cat "$tmp/nftwatch.err")"
# dockerd's events, each with its own timeNano (bounded: 2 h; killed by cleanup)
DOCKER_CONFIG=$tmp/docker-cli timeout 7200 "$DOCKER" -H "unix://$(dk_sock a)" events \
	--format '{{json .}}' --filter type=container --since "$(date +%s)" >"$events" 2>"$tmp/events.err" &
pids+=($!)
vargs=(--docker local --docker-socket "$(dk_sock a)")
vlog=$tmp/vipd.log

# vipd_up: vipd -v $vargs in the node; pid in $vpid
vipd_up() {
	start_vipd_in "$node" "$vlog" "${vargs[@]}"
	vpid=$started_pid
}
stop_vipd_now() {
	stop_pid "$vpid" TERM vipd
	timeout 20 ip netns exec "$node" "$VIPD" --cleanup 2>>"$vlog" || fail "vipd --cleanup"
}

lat_md="" cold_md="" mem_md=""
# --- part latency ---
if [[ " $PARTS " == *" latency "* ]]; then
	say "latency: $K containers of service web, $CYCLES stop/start cycles" >&2
	for ((j = 1; j <= K; j++)); do
		run_box "lat$j" --init --network "$NET" -l vipd.service=web -l vipd.port=8080 -l vipd.vip=10.96.0.10:80
	done
	m0=$(nlines "$wit")
	vipd_up
	wait_seen 20 "$wit" "$m0" "gen $K " || fail "latency: vipd did not put the $K containers into the kernel within 20 s"
	sleep 0.5
	: >"$tmp/cycles.tsv"
	miss=0
	for ((i = 0; i < CYCLES; i++)); do
		c=lat$((i % K + 1))
		id=$(dk inspect -f '{{.Id}}' "$c")
		ip0=$(cip "$c" "$NET")
		[[ -n $ip0 ]] || fail "cycle $i: $c has no IP"
		ws=$(nlines "$wit") ns_=$(nlines "$nft") ts=$(date +%s%N)
		dk stop -t 10 "$c" >/dev/null || fail "docker stop $c"
		wait_seen 10 "$wit" "$ws" " out ${ip0//./\\.}$" || { echo "cycle $i: $ip0 ($c) still in the kernel 10 s after docker stop" >&2; miss=$((miss + 1)); }
		sleep 0.05
		ws2=$(nlines "$wit") ns2=$(nlines "$nft") ts2=$(date +%s%N)
		dk start "$c" >/dev/null || fail "docker start $c"
		ip1=$(cip "$c" "$NET")
		[[ -n $ip1 ]] || fail "cycle $i: $c has no IP after start"
		wait_seen 10 "$wit" "$ws2" " in ${ip1//./\\.}$" || { echo "cycle $i: $ip1 ($c) not in the kernel 10 s after docker start" >&2; miss=$((miss + 1)); }
		wait_seen 2 "$nft" "$ns2" " ${ip1//./\\.}$" || true
		printf '%s %s %s %s %s %s %s %s %s %s %s\n' "$i" "$c" "$id" "$ip0" "$ts" "$ws" "$ns_" "$ip1" "$ts2" "$ws2" "$ns2" >>"$tmp/cycles.tsv"
		sleep 0.1
	done
	sleep 0.3 # the last events reach the file
	lat_rss=$(mem_of "$vpid")
	echo "mem latency-vipd $lat_rss" >>"$tmp/results.tsv"
	lat_md=$(timeout 60 python3 "$py" lat "$tmp/cycles.tsv" "$events" "$wit" "$nft" "$tmp/results.tsv") ||
		echo "latency: some cycles had no measurement (see MISSING lines)" >&2
	# shellcheck disable=SC2086
	set -- $lat_rss
	mem_md+="| vipd --docker local, $K containers, after the $CYCLES cycles | $(awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }') | $(awk -v k="$2" 'BEGIN { printf "%.1f", k / 1024 }') |"$'\n'
	stop_vipd_now
	mapfile -t ids < <(dk ps -aq --filter label=vipd.service=web)
	[[ ${#ids[@]} -eq 0 ]] || dk rm -f "${ids[@]}" >/dev/null
fi

# --- part cold ---
if [[ " $PARTS " == *" cold "* ]]; then
	say "cold: $C containers over $SVCS services, $REPS vipd starts" >&2
	t=$(date +%s%N)
	st=$tmp/run-status
	mkdir -p "$st"
	for ((i = 0; i < C; i += PAR)); do
		batch=()
		for ((j = i; j < i + PAR && j < C; j++)); do
			s=$((j % SVCS))
			(run_box "cs$j" --init --network "$NET" -l "vipd.service=cs$s" -l vipd.port=8080 \
				-l "vipd.vip=10.96.1.$((s + 1)):80" && touch "$st/$j") 2>>"$tmp/run.err" &
			batch+=($!)
		done
		wait "${batch[@]}" || true # (run_box is bounded by dk's timeout 60 s)
	done
	made=$(find "$st" -type f | wc -l)
	[[ $made -eq $C ]] || fail "cold: only $made of $C containers started ($(tail -n 3 "$tmp/run.err"))"
	t_run=$(ms_since "$t")
	mapfile -t ids < <(dk ps -q --filter status=running --filter label=vipd.port=8080)
	[[ ${#ids[@]} -eq $C ]] || fail "cold: ${#ids[@]} running, want $C"
	dk inspect -f "{{with index .NetworkSettings.Networks \"$NET\"}}{{.IPAddress}}{{end}}" "${ids[@]}" | sort -u >"$tmp/cold-ips"
	[[ $(nlines "$tmp/cold-ips") -eq $C ]] || fail "cold: $(nlines "$tmp/cold-ips") distinct IPs for $C containers"
	runs=()
	for ((r = 1; r <= REPS; r++)); do
		! pn nft list table ip vipd >/dev/null 2>&1 || fail "cold: table ip vipd still there before run $r"
		mark=$(nlines "$wit")
		echo "--- cold run $r" >>"$vlog"
		t0=$(date +%s%N)
		vipd_up
		wait_seen 120 "$wit" "$mark" "gen $C " || fail "cold run $r: not all $C backends in the kernel within 120 s"
		ms=$(timeout 60 python3 "$py" cold "$t0" "$wit" "$mark" "$tmp/cold-ips") || fail "cold run $r: $ms"
		runs+=("$ms")
		sleep "$SETTLE"
		cold_rss=$(mem_of "$vpid")
		got=$(map_ips 10.96.1.1 80; for ((s = 1; s < SVCS; s++)); do map_ips "10.96.1.$((s + 1))" 80; done)
		[[ $(sort -u <<<"$got") == "$(cat "$tmp/cold-ips")" ]] || fail "cold run $r: nft list map ip vipd backends differs from the running containers"
		[[ $r -eq $REPS ]] || stop_vipd_now
	done
	med=$(printf '%s\n' "${runs[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
	echo "cold $C $SVCS $REPS $med $(
		IFS=,
		echo "${runs[*]}"
	)" >>"$tmp/results.tsv"
	echo "mem cold-vipd $cold_rss" >>"$tmp/results.tsv"
	cold_md="| $C containers, $SVCS services (already running) | $REPS | $med | $(
		IFS=' '
		echo "${runs[*]}"
	) | $((t_run / 1000)).$(printf '%03d' $((t_run % 1000))) |"
	# shellcheck disable=SC2086
	set -- $cold_rss
	mem_md+="| vipd --docker local, $C containers, $SETTLE s after the cold start | $(awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }') | $(awk -v k="$2" 'BEGIN { printf "%.1f", k / 1024 }') |"$'\n'
	cold_log=$(sed -n '/^--- cold run '"$REPS"'$/,$p' "$vlog" | grep -E 'docker: .*containers|reconciled all' | head -n 3)
fi

# --- the report ---
total_s=$(awk -v n="$(ms_since "$T_START")" 'BEGIN { printf "%.1f", n / 1000 }')
echo "## vipd --docker local: dockerd event -> kernel"
echo
echo "Command: \`$([ "$SMOKE" = 1 ] && echo "SMOKE=1 ")K=$K SVCS=$SVCS REPS=$REPS scripts/bench/docker_latency.sh $CYCLES $C\`; $(dockerd --version 2>/dev/null | head -n 1); vipd $(sha256sum "$VIPD" | cut -c1-12); $(nproc) CPUs; load average at the end $(cut -d' ' -f1-3 /proc/loadavg); run time $total_s s."
echo
if [[ -n $lat_md ]]; then
	echo "$K busybox httpd containers (--init, no health check) of service web (10.96.0.10:80); per cycle one of them: \`docker stop\`, wait until out of the kernel, \`docker start\`. t0: dockerd's own event timeNano (CLOCK_REALTIME); t1: netlink witnesses in the node namespace."
	echo
	echo "| measurement | cycles | p50 ms | p90 ms | p99 ms | max ms |"
	echo "|---|---:|---:|---:|---:|---:|"
	echo "$lat_md"
	echo
fi
if [[ -n $cold_md ]]; then
	echo "Cold start: vipd started with the containers already running; t0 just before \`ip netns exec\` starts vipd, t1 the commit after which every container's IP is in map ip vipd backends (witness)."
	echo
	echo "| containers | runs | median ms | runs ms | docker run of all (s, $PAR in parallel; not vipd) |"
	echo "|---|---:|---:|---|---:|"
	echo "$cold_md"
	echo
	[[ -z ${cold_log:-} ]] || { echo "vipd's log (last run):"; echo '```'; echo "$cold_log"; echo '```'; echo; }
fi
if [[ -n $mem_md ]]; then
	echo "| vipd daemon | VmRSS MiB | VmHWM MiB |"
	echo "|---|---:|---:|"
	printf '%s' "$mem_md"
	echo
fi
[[ -z ${TSV:-} ]] || cat "$tmp/results.tsv" >>"$TSV"

# shellcheck shell=bash disable=SC2034,SC2154 # globals shared with lib.sh and the tests
# lib_etcd.sh: etcd members, vipctl and registry helpers for the etcd e2e
# tests. Source it after lib.sh.
#
# Every member runs in $node (started with bg_ns, so cleanup kills it) and
# listens only on its own loopback address there; its data dir and log are
# in $tmp:
#
#   ┌ $node ─────────────────────────────────────────────────────────┐
#   │ lo 127.0.0.1  m1  client http://127.0.0.1:2379  peer :2380     │
#   │    127.0.0.2  m2  client http://127.0.0.2:2379  peer :2380     │
#   │    127.0.0.3  m3  client http://127.0.0.3:2379  peer :2380     │
#   │    (m2, m3: 3-member tests only)                               │
#   │ vipd --etcd-endpoints <client URLs>; vipctl, etcdctl run here  │
#   └────────────────────────────────────────────────────────────────┘

ETCD=${ETCD:-/usr/bin/etcd}
ETCDCTL=${ETCDCTL:-/usr/bin/etcdctl}
VIPCTL=${VIPCTL:-$root_dir/vipctl}
etcd_prefix=/vipd
etcd_endpoints=  # client URLs of every member defined, comma separated
etcd_cluster=    # --initial-cluster of the members defined
etcd_members=()  # member names, in definition order
etcd_args=()     # more flags for every member (e.g. --quota-backend-bytes)
declare -A etcd_ip etcd_pid

# etcd_up NAME=IP...: define the members, start them all, wait until every
# one answers `endpoint health`.
etcd_up() {
	local m name
	[[ -x $ETCD && -x $ETCDCTL ]] || fail "etcd not found ($ETCD, $ETCDCTL)"
	for m in "$@"; do
		name=${m%%=*}
		etcd_members+=("$name")
		etcd_ip[$name]=${m#*=}
		etcd_cluster+=${etcd_cluster:+,}$name=http://${m#*=}:2380
		etcd_endpoints+=${etcd_endpoints:+,}http://${m#*=}:2379
	done
	for name in "${etcd_members[@]}"; do etcd_start "$name"; done
	etcd_wait_healthy "$etcd_endpoints"
}

etcd_url() { echo "http://${etcd_ip[$1]}:2379"; }

# etcd_name URL: the member whose client URL it is.
etcd_name() {
	local name
	for name in "${etcd_members[@]}"; do
		[[ $(etcd_url "$name") == "$1" ]] && { echo "$name"; return 0; }
	done
	return 1
}

# etcd_start NAME: start (or restart, same data dir) a defined member.
etcd_start() {
	local name=$1 ip=${etcd_ip[$1]}
	bg_ns "$node" "$ETCD" --name "$name" --data-dir "$tmp/etcd-$name" \
		--listen-client-urls "http://$ip:2379" --advertise-client-urls "http://$ip:2379" \
		--listen-peer-urls "http://$ip:2380" --initial-advertise-peer-urls "http://$ip:2380" \
		--initial-cluster "$etcd_cluster" --initial-cluster-state new \
		--initial-cluster-token "vipd-e2e-$$" "${etcd_args[@]}" </dev/null >>"$tmp/etcd-$name.log" 2>&1
	etcd_pid[$name]=$!
}

# etcd_kill NAME [SIGNAL]: stop a member (default SIGKILL).
etcd_kill() { stop_pid "${etcd_pid[$1]}" "${2:-KILL}" "etcd member $1"; }

etcd_healthy() { ECTL_ENDPOINTS=$1 ectl endpoint health >/dev/null 2>&1; }
# etcd_wait_healthy URLS: every listed member healthy within 15 s.
etcd_wait_healthy() {
	local name
	within 15 etcd_healthy "$1" || {
		ECTL_ENDPOINTS=$1 ectl endpoint health || true
		for name in "${etcd_members[@]}"; do
			echo "--- last lines of $tmp/etcd-$name.log"
			tail -n 15 "$tmp/etcd-$name.log"
		done
		fail "etcd ($1) not healthy after 15 s"
	}
}

# ectl ARGS...: etcdctl (v3) in $node against $ECTL_ENDPOINTS, default all
# (killed after 20 s, should it hang).
ectl() {
	timeout 20 ip netns exec "$node" env ETCDCTL_API=3 "$ETCDCTL" --endpoints "${ECTL_ENDPOINTS:-$etcd_endpoints}" \
		--dial-timeout 2s --command-timeout 5s "$@"
}

# etcd_rev: the store's current revision.
etcd_rev() {
	ectl get "$etcd_prefix" -w json | grep -oE '"revision":[0-9]+' | head -n 1 | cut -d: -f2
}

# vctl ARGS...: vipctl in $node against every member (killed after 20 s).
vctl() { timeout 20 ip netns exec "$node" "$VIPCTL" --etcd-endpoints "$etcd_endpoints" "$@"; }

# shellcheck disable=SC2120 # tests may pass more flags
# start_vipd_etcd [ARGS...]: vipd $vipd_flags --etcd-endpoints <all members>
# ARGS as a daemon in $node (no --services-file), log in $vipd_log.
start_vipd_etcd() {
	start_vipd_in "$node" "$vipd_log" --etcd-endpoints "$etcd_endpoints" "$@"
	vipd_pid=$started_pid
}

# log_mark: remember the log's length; log_since PATTERN: an extended
# regexp matches a line logged after the mark.
log_mark() { touch "$vipd_log"; log_lines=$(wc -l <"$vipd_log"); }
log_since() { tail -n +$((${log_lines:-0} + 1)) "$vipd_log" | grep -qE -- "$1"; }
# re STRING: STRING as an extended regexp matching itself.
# shellcheck disable=SC2001
re() { sed 's/[][\.*^$?+(){}|]/\\&/g' <<<"$1"; }

# watched_url: the member vipd last logged "etcd: watching <URL>" for.
watched_url() { grep -oE 'etcd: watching https?://[0-9.]+:[0-9]+' "$vipd_log" | tail -n 1 | awk '{ print $3 }'; }
# shellcheck disable=SC2120 # the URL is optional
# wait_watching [URL]: vipd logs "etcd: watching" (URL, or any) within 5 s
# of the last log_mark.
wait_watching() {
	within 5 log_since "etcd: watching ${1:+$(re "$1")}" ||
		fail "vipd logged no 'etcd: watching ${1:-URL}' within 5 s"
}

# Registry values. svc_json VIP PORT [ALGORITHM]: one tcp port "http",
# target 8080. ep_json N [WEIGHT [PORT]]: endpoint on backend N.
svc_json() {
	printf '{"vip":"%s","ports":[{"name":"http","port":%d,"protocol":"tcp","target_port":8080}],"algorithm":"%s"}' \
		"$1" "$2" "${3:-random}"
}
ep_json() { printf '{"ip":"%s","port":%d,"weight":%d}' "$(backend_ip "$1")" "${3:-8080}" "${2:-100}"; }
# put_svc NAME VIP PORT [ALGORITHM]; put_ep SERVICE ID N [WEIGHT [PORT]]:
# raw etcdctl writes.
put_svc() { ectl put "$etcd_prefix/services/$1" "$(svc_json "$2" "$3" "${4:-random}")" >/dev/null; }
put_ep() { ectl put "$etcd_prefix/endpoints/$1/$2" "$(ep_json "$3" "${4:-100}" "${5:-8080}")" >/dev/null; }

# answer VIP [PORT]: one request through the VIP; prints the backend's "bN".
answer() { pc curl -s --max-time "${ANSWER_TIMEOUT:-0.5}" "http://$1:${2:-80}/" 2>/dev/null; }
answers() { [[ $(answer "$@") == b[0-9]* ]]; }
silent() { ! answers "$@"; }

# 20 connections to VIP:PORT all answered, none by backend $3.
none_from() {
	local out
	out=$(count_backends "$1" "$2" 20)
	[[ $(total "$out") -eq 20 && $(hits "$3" "$out") -eq 0 ]]
}
# 20 connections to VIP:PORT, some answered by backend $3.
some_from() {
	local out
	out=$(count_backends "$1" "$2" 20)
	[[ $(hits "$3" "$out") -gt 0 ]]
}
# spread VIP PORT ZERO SOME...: 60 connections all answered, none by the
# backends in ZERO (comma separated, "-" for none), some by each SOME.
spread() {
	local vip=$1 port=$2 zero=$3 out b
	shift 3
	out=$(count_backends "$vip" "$port" 60)
	echo "$out"
	assert_eq "$(total "$out")" 60 "answered requests to $vip:$port"
	[[ $zero == - ]] || for b in ${zero//,/ }; do
		assert_eq "$(hits "$b" "$out")" 0 "connections to $b via $vip:$port"
	done
	for b in "$@"; do assert_ge "$(hits "$b" "$out")" 1 "connections to $b via $vip:$port"; done
}

# backend_in_map IP PORT: the backends map sends some slot to IP . PORT.
backend_in_map() { pn nft list map ip vipd backends 2>/dev/null | grep -qF ": $1 . $2"; }

# share: input lines "VIP PROTO PORT IP BPORT N"; N divided by the gcd of
# the N of its VIP PROTO PORT (so slots and weights compare), sorted.
share() {
	awk 'function gcd(a, b) { while (b) { t = b; b = a % b; a = t } return a }
		{ k = $1 " " $2 " " $3; line[NR] = $0; key[NR] = k; n[NR] = $6; g[k] = gcd(g[k] + 0, $6) }
		END { for (i = 1; i <= NR; i++) { split(line[i], f, " "); print f[1], f[2], f[3], f[4], f[5], n[i] / g[key[i]] } }' | sort
}

# map_pairs: "VIP PROTO PORT BACKEND_IP BACKEND_PORT SHARE" for every
# VIP/backend pair of map ip vipd backends; SHARE is its slot count over the
# gcd of the slot counts of its VIP PROTO PORT.
map_pairs() {
	pn nft list map ip vipd backends 2>/dev/null |
		grep -oE '[0-9.]+ \. [a-z]+ \. [0-9]+ \. [0-9]+( comment "[^"]*")? : [0-9.]+ \. [0-9]+' |
		sed -E 's/^([0-9.]+) \. ([a-z]+) \. ([0-9]+) \. [0-9]+( comment "[^"]*")? : ([0-9.]+) \. ([0-9]+)$/\1 \2 \3 \5 \6/' |
		sort | uniq -c | awk '{ print $2, $3, $4, $5, $6, $1 }' | share
}

# registry_pairs: the same pairs as the registry under $etcd_prefix says
# they should be (IPv4 VIPs; endpoints ready, not terminating, weight > 0;
# backend port = ports[port name], else port, else target_port, else port;
# SHARE from the weights). Trusts the values to be valid.
registry_pairs() {
	ectl get --prefix "$etcd_prefix/" -w json | python3 -c '
import base64, json, sys
prefix = sys.argv[1].rstrip("/") + "/"
kvs = json.load(sys.stdin).get("kvs", [])
services, endpoints = {}, {}
for kv in kvs:
    key = base64.b64decode(kv["key"]).decode()
    val = json.loads(base64.b64decode(kv.get("value", "")).decode())
    rest = key[len(prefix):].split("/")
    if rest[0] == "services" and len(rest) == 2:
        services[rest[1]] = val
    elif rest[0] == "endpoints" and len(rest) == 3:
        endpoints.setdefault(rest[1], {})[rest[2]] = val
out = {}
for name, s in services.items():
    if not s.get("vip"):
        continue
    for p in s.get("ports", []):
        for e in endpoints.get(name, {}).values():
            if e.get("weight", 100) <= 0 or e.get("ready", True) is False or e.get("terminating", False):
                continue
            bport = e.get("ports", {}).get(p.get("name")) or e.get("port") or p.get("target_port") or p["port"]
            k = "%s %s %d %s %d" % (s["vip"], p.get("protocol", "tcp"), p["port"], e["ip"], bport)
            out[k] = out.get(k, 0) + e.get("weight", 100)
for k, w in out.items():
    print(k, w)' "$etcd_prefix" | share
}
pairs_match() { [[ $(map_pairs) == "$(registry_pairs)" ]]; }
pairs_diff() { diff <(registry_pairs) <(map_pairs) | sed 's/^</registry:/; s/^>/kernel:  /'; }

# client_loop VIP[:PORT] COUNT: background client in $client, at most COUNT
# requests (curl --max-time 1, 10 ms apart) or 60 s; stops early when
# $tmp/stop appears. client_loop_result: stop it, set $loop_ok, $loop_bad.
client_loop() {
	rm -f "$tmp/stop"
	# shellcheck disable=SC2016 # expanded by the inner bash
	bg_ns "$client" bash -c '
		ok=0 bad=0
		for ((i = 0; i < $3 && SECONDS < 60; i++)); do
			[[ -e $1 ]] && break
			r=$(curl -s --max-time 1 "http://$2/")
			if [[ $r == b[0-9]* ]]; then ok=$((ok + 1)); else bad=$((bad + 1)); echo "request $i failed at $(date +%T.%N)" >&2; fi
			sleep 0.01
		done
		echo "$ok $bad"' _ "$tmp/stop" "$1" "$2" >"$tmp/loop" 2>"$tmp/loop.err"
	loop_pid=$!
}
client_loop_result() {
	local i
	touch "$tmp/stop"
	for ((i = 0; i < 100; i++)); do running "$loop_pid" || break; sleep 0.05; done
	wait "$loop_pid" || fail "client loop did not finish"
	read -r loop_ok loop_bad <"$tmp/loop"
	echo "client: $loop_ok answered, $loop_bad failed"
	cat "$tmp/loop.err"
}

# shellcheck shell=bash disable=SC2034 # globals are read by the tests
# lib.sh: namespaces, servers and assertions shared by the e2e tests, the
# demos and the benchmarks (scripts/bench). Source it; it sets up `trap
# cleanup EXIT` and a temp dir "$tmp" (kept, not removed, when the sourcing
# script sets keep_tmp=1).
#
# Topology (every name ends in the sourcing shell's pid, $$):
#
#   ┌──────────────────────┐     ┌──────────────────────────────────────┐
#   │ $client              │     │ $node                                │
#   │ eth0 10.250.1.2/24   ├─────┤ vc   10.250.1.1/24                   │
#   │ default via .1.1     │     │ br0  10.250.2.1/24  ip_forward=1     │
#   └──────────────────────┘     │ vipd: table ip vipd (DNAT of VIPs)   │
#                                └──┬──────────────┬───────────────┬────┘
#                                   │ vb1 (br0)    │ vb2 (br0)     │ vbN
#                          ┌────────┴────────┐ ┌───┴─────────────┐ ...
#                          │ $b1             │ │ $b2             │
#                          │ eth0 10.250.2.11│ │ eth0 10.250.2.12│ 10.250.2.1N
#                          │ default via .2.1│ │ default via .2.1│
#                          └─────────────────┘ └─────────────────┘
#
# VIPs (10.96.x.y) have no route anywhere: the client's default route sends
# them to $node, where vipd's DNAT picks a backend. Nothing here touches the
# root namespace: links are created inside $node with their peers moved
# straight into the other namespaces.
#
# The names above are topology "vipd". `topo_use PREFIX` switches to another
# one (PREFIX-node-$$, PREFIX-client-$$, PREFIX-bN-$$: same addresses, so
# several can exist side by side); `topo_down` removes the current one.
# `node_up` makes $node alone (no client, no bridge); `ns_up NAME` a bare
# namespace with only lo up; `ns_del NAME` removes one early.
#
# Error handling: the sourcing shell gets `set -e`. A script that handles
# failures itself (`set +e` after sourcing) still gets setup functions that
# stop at their first failing command (they set -e for themselves) and the
# same cleanup on exit, failure, Ctrl-C (INT) and TERM.

set -e
root_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VIPD=${VIPD:-$root_dir/vipd}
BUSYBOX=${BUSYBOX:-/bin/busybox}

created_ns=()
pids=()
vipd_pid=
vipd_status= # exit status of the last stop_vipd
vipd_flags=(-v) # every start_vipd*: () for a quiet vipd (benchmarks)
keep_tmp=0
tmp=$(mktemp -d /tmp/vipd-e2e.XXXXXX)
vipd_log=$tmp/vipd.log
cleanup_hooks=() # run first by cleanup (e.g. lib_docker.sh's containers)

# topo_use PREFIX: the topology the names below refer to (default "vipd").
topo_use() { topo=$1 node=$1-node-$$ client=$1-client-$$; }
topo_use vipd
bns() { echo "$topo-b$1-$$"; } # the namespace of backend N

pn() { ip netns exec "$node" "$@"; }
pc() { ip netns exec "$client" "$@"; }
pb() { local i=$1; shift; ip netns exec "$(bns "$i")" "$@"; }

# Background a command in a namespace; its pid (ip netns exec execs, so it
# is the command's own pid) goes to $! and to the cleanup list. The "<&0"
# keeps the caller's stdin: without job control bash gives a background
# command /dev/null instead.
bg_ns() { local ns=$1; shift; ip netns exec "$ns" "$@" <&0 & pids+=($!); }

# ns_add NAME: create a namespace; cleanup removes exactly the ones made here.
ns_add() { ip netns add "$1" && created_ns+=("$1"); }
# ns_up NAME: ns_add, then lo up: a bare namespace.
ns_up() {
	local -
	set -e
	ns_add "$1"
	ip -n "$1" link set lo up
}
# ns_kill NS: SIGKILL what still runs in one of our namespaces (we started
# it) and reap those that are our children.
ns_kill() {
	local pid ours=()
	for pid in $(ip netns pids "$1" 2>/dev/null); do
		! our_child "$pid" || ours+=("$pid")
		kill -9 "$pid" 2>/dev/null
	done
	exec 4>&2 2>/dev/null # quiet bash's "Killed" job notices
	for pid in "${ours[@]}"; do wait "$pid" || true; done
	exec 2>&4 4>&-
}
# ns_del NAME: one of ours, before the end: kill what runs in it, delete it.
ns_del() {
	local ns keep=()
	ns_kill "$1"
	ip netns del "$1" 2>/dev/null || true
	for ns in "${created_ns[@]}"; do [[ $ns == "$1" ]] || keep+=("$ns"); done
	created_ns=("${keep[@]}")
}

cleanup() {
	local rc=$? pid ns i h
	set +e
	trap - EXIT
	for h in "${cleanup_hooks[@]}"; do "$h"; done
	# A recorded pid may have exited and been reused: signal only our children.
	for pid in "${pids[@]}"; do our_child "$pid" && kill "$pid" 2>/dev/null; done
	for ((i = 0; i < 20; i++)); do
		alive_any "${pids[@]}" || break
		sleep 0.05
	done
	# Anything still running in our namespaces was started by us.
	for ns in "${created_ns[@]}"; do ns_kill "$ns"; done
	for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
	for ns in "${created_ns[@]}"; do ip netns del "$ns"; done
	if [[ $rc -ne 0 && -s $vipd_log ]]; then
		echo "--- last lines of the vipd log ($vipd_log)" >&2
		tail -n 20 "$vipd_log" >&2
	fi
	if [[ $keep_tmp == 1 ]]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

our_child() { [[ $(awk '$1 == "PPid:" { print $2 }' "/proc/$1/status" 2>/dev/null) == "$$" ]]; }
alive_any() {
	local pid
	for pid in "$@"; do our_child "$pid" && return 0; done
	return 1
}

fail() { echo "FAIL: $*" >&2; exit 1; }
say() { echo "== $*"; }

assert_eq() { [[ "$1" == "$2" ]] || fail "$3: expected '$2', got '$1'"; }
assert_ge() { [[ "$1" -ge "$2" ]] || fail "$3: expected >= $2, got $1"; }
assert_le() { [[ "$1" -le "$2" ]] || fail "$3: expected <= $2, got $1"; }
# One read of /proc/PID/status: bash may reap the child between two reads.
running() {
	local st
	st=$(cat "/proc/$1/status" 2>/dev/null) || return 1
	[[ $(awk '$1 == "PPid:" { print $2 }' <<<"$st") == "$$" ]] && ! grep -q '^State:.Z' <<<"$st"
}
assert_alive() { running "$1" || fail "$2: process $1 is not running"; }

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# within SECONDS CMD...: run CMD every 50 ms (every $poll_s s when set) until
# it succeeds; fail after SECONDS (counted from now, or from $since_ms when
# set).
within() {
	local secs=$1 start=${since_ms:-$(now_ms)} deadline
	shift
	deadline=$((start + $(awk -v s="$secs" 'BEGIN { printf "%d", s * 1000 }')))
	while :; do
		"$@" && return 0
		[[ $(now_ms) -lt $deadline ]] || return 1
		sleep "${poll_s:-0.05}"
	done
}

# logged FILE REGEX: an extended regexp matches a line of FILE.
logged() { grep -qE -- "$2" "$1" 2>/dev/null; }
# logged_or_gone FILE REGEX PID: that, or PID (one of ours) is not running.
logged_or_gone() { logged "$1" "$2" || ! running "$3"; }
# wait_logged SECONDS FILE REGEX PID: until a line of FILE matches REGEX (0),
# or PID exits or SECONDS pass (1): e.g. vipd's "reconciled all".
wait_logged() {
	within "$1" logged_or_gone "$2" "$3" "$4"
	logged "$2" "$3"
}

# node_up: $node alone: lo up, forwarding on.
node_up() {
	local -
	set -e
	ns_up "$node"
	pn sysctl -qw net.ipv4.ip_forward=1
}

# topo_up N: the topology above with N backends (0 too), in the names of
# the current topo_use.
topo_up() {
	local - n=$1 i
	set -e
	ns_up "$client"
	node_up
	ip -n "$node" link add vc type veth peer name eth0 netns "$client"
	pn ip addr add 10.250.1.1/24 dev vc
	pn ip link set vc up
	pc ip addr add 10.250.1.2/24 dev eth0
	pc ip link set eth0 up
	pc ip route add default via 10.250.1.1
	pn ip link add br0 type bridge
	pn ip addr add 10.250.2.1/24 dev br0
	pn ip link set br0 up
	for ((i = 1; i <= n; i++)); do
		ns_up "$(bns "$i")"
		ip -n "$node" link add "vb$i" type veth peer name eth0 netns "$(bns "$i")"
		pn ip link set "vb$i" master br0 up
		pb "$i" ip addr add "10.250.2.1$i/24" dev eth0
		pb "$i" ip link set eth0 up
		pb "$i" ip route add default via 10.250.2.1
	done
}

# topo6_up N: IPv6 on the topology topo_up made: fd00:1::/64 between
# client (::2) and node (::1), fd00:2::/64 on br0 (node ::1, backend N ::1N).
topo6_up() {
	local - n=$1 i
	set -e
	pn sysctl -qw net.ipv6.conf.all.forwarding=1
	pn ip addr add fd00:1::1/64 dev vc nodad
	pc ip addr add fd00:1::2/64 dev eth0 nodad
	pc ip -6 route add default via fd00:1::1
	pn ip addr add fd00:2::1/64 dev br0 nodad
	for ((i = 1; i <= n; i++)); do
		pb "$i" ip addr add "fd00:2::1$i/64" dev eth0 nodad
		pb "$i" ip -6 route add default via fd00:2::1
	done
}
backend_ip6() { echo "fd00:2::1$1"; }

# topo_down: remove the current topology's namespaces (and what runs there).
topo_down() {
	local ns
	for ns in "${created_ns[@]}"; do
		case $ns in "$client" | "$node" | "$topo"-b[0-9]*-$$) ns_del "$ns" ;; esac
	done
}

backend_ip() { echo "10.250.2.1$1"; }

# start_httpd N: busybox httpd on :8080 in backend N, answering "bN".
start_httpd() {
	local dir=$tmp/www$1
	mkdir -p "$dir"
	echo "b$1" >"$dir/index.html"
	bg_ns "$(bns "$1")" "$BUSYBOX" httpd -f -p 8080 -h "$dir"
	wait_port "$1" 8080
}

# start_echo N PORT: TCP echo server in backend N.
start_echo() {
	bg_ns "$(bns "$1")" socat "TCP-LISTEN:$2,fork,reuseaddr" EXEC:cat
	wait_port "$1" "$2"
}

port_open() { pb "$1" ss -Htln "sport = :$2" | grep -q .; }
wait_port() { within 5 port_open "$1" "$2" || fail "backend b$1: nothing listens on port $2"; }

# start_vipd_in NS LOG ARGS...: vipd $vipd_flags ARGS as a daemon in
# namespace NS, stderr appended to LOG; its pid in $started_pid and in
# cleanup's list. Call it in the script's own shell, never in $(...) or a
# pipe: $! and pids+=() would stay in that subshell. Its state cache is
# $tmp/state-NS (a --state-dir in ARGS wins), never /var/lib/vipd.
start_vipd_in() {
	local ns=$1 log=$2
	shift 2
	[[ -x $VIPD ]] || fail "vipd binary not found at $VIPD (run make)"
	ip netns exec "$ns" "$VIPD" "${vipd_flags[@]}" --state-dir "$tmp/state-$ns" "$@" 2>>"$log" &
	started_pid=$!
	pids+=("$started_pid")
}

# start_vipd FILE [ARGS...]: vipd as a daemon in $node, log in $vipd_log.
start_vipd() {
	local file=$1
	shift
	start_vipd_in "$node" "$vipd_log" --services-file "$file" "$@"
	vipd_pid=$started_pid
}

# stop_pid PID SIGNAL WHAT: signal one of our children, wait (at most 5 s)
# for it to exit; its exit status in $stop_status.
stop_pid() {
	local pid=$1 i
	running "$pid" || fail "$3 (pid $pid) is not running"
	exec 4>&2 2>/dev/null # quiet bash's "Killed" job notice
	kill -"$2" "$pid"
	for ((i = 0; i < 100; i++)); do
		running "$pid" || break
		sleep 0.05
	done
	if running "$pid"; then
		exec 2>&4 4>&-
		fail "$3 (pid $pid) still running 5 s after SIG$2"
	fi
	stop_status=0
	wait "$pid" || stop_status=$?
	exec 2>&4 4>&-
}

# stop_vipd SIGNAL: stop_pid for vipd; its exit status in $vipd_status.
stop_vipd() {
	stop_pid "$vipd_pid" "$1" vipd
	vipd_status=$stop_status
}

# static_rules: nft output without the elements packets add to dynamic
# sets (the hairpin set's), which come and go by themselves.
static_rules() {
	awk '/set hairpin \{/ { h = 1 } h && /elements = \{/ { skip = 1 }
	     skip { if (/\}$/) skip = 0; next } h && /^[[:space:]]*\}$/ { h = 0 } { print }'
}

vip_in_map() { pn nft list map ip vipd services 2>/dev/null | grep -qwF "$1"; }
wait_vip() { within 5 vip_in_map "$1" || fail "VIP $1 not in map ip vipd services after 5 s"; }

# put_file FILE < content: replace FILE atomically (write a temp, rename).
put_file() { cat >"$1.tmp.$$" && mv -f "$1.tmp.$$" "$1"; }

# count_backends VIP PORT COUNT: COUNT requests, each a new connection
# (busybox httpd closes every one); prints "bN hits" per backend answering.
count_backends() {
	timeout 120 ip netns exec "$client" curl -s --max-time 2 "http://$1:$2/?n=[1-$3]" |
		grep -E '^b[0-9]+$' | sort | uniq -c | awk '{ print $2, $1 }'
}

# hits NAME "COUNTS": hits of one backend in count_backends output.
hits() { awk -v b="$1" '$1 == b { n = $2 } END { print n + 0 }' <<<"$2"; }
total() { awk '{ n += $2 } END { print n + 0 }' <<<"$1"; }

# ep N [WEIGHT [PORT]]: JSON of endpoint "bN" on backend N.
ep() { printf '"b%d":{"ip":"%s","port":%d,"weight":%d}' "$1" "$(backend_ip "$1")" "${3:-8080}" "${2:-100}"; }

# web_json ALGORITHM [EP...]: a services file with one service, "web",
# 10.96.0.10:80 -> 8080, whose endpoints are the given `ep` fragments.
web_json() {
	local algo=$1 IFS=,
	shift
	printf '{"services":{"web":{"vip":"10.96.0.10","ports":[{"name":"http","port":80,"protocol":"tcp","target_port":8080}],"algorithm":"%s"}},\n "endpoints":{"web":{%s}}}\n' "$algo" "$*"
}

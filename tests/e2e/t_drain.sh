#!/usr/bin/env bash
# Draining a removed backend, as a long TCP connection and new ones see it:
#  a. drain_seconds 0: the long connection to the removed backend goes on
#     working (data every 0.5 s for 5 s); new connections never reach it.
#  b. drain_seconds 2: the long connection works right after the removal
#     and is cut 2 s later (within 3.5 s); no conntrack entry to that
#     backend is left; vipd logs the drain. The same for a backend that
#     turns terminating (still listed) instead of leaving.
#  c. terminating fallback: every endpoint terminating (still ready):
#     traffic still flows; a non-terminating endpoint added takes every new
#     connection.
#
#   client ── node (vipd) ── b1, b2, b3: busybox httpd :8080 ("bN"),
#                                        socat echo :9000
#   service "app": 10.96.0.20:80 -> 8080 (who answers), :9000 -> 9000 (echo)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

topo_up 3
for i in 1 2 3; do
	start_httpd "$i"
	start_echo "$i" 9000
done
f=$tmp/services.json
# app DRAIN_SECONDS EP...: the services file; an EP is "bN" or "bN:t"
# (terminating, still ready).
app() {
	local d=$1 e eps=() IFS=,
	shift
	for e in "$@"; do
		case $e in
		*:t) eps+=("$(printf '"%s":{"ip":"%s","ready":true,"terminating":true}' "${e%:t}" "$(backend_ip "${e:1:1}")")") ;;
		*) eps+=("$(printf '"%s":{"ip":"%s"}' "$e" "$(backend_ip "${e:1}")")") ;;
		esac
	done
	printf '{"services":{"app":{"vip":"10.96.0.20","ports":[{"name":"http","port":80,"protocol":"tcp","target_port":8080},{"name":"echo","port":9000,"protocol":"tcp","target_port":9000}],"algorithm":"random","drain_seconds":%d}},\n "endpoints":{"app":{%s}}}\n' \
		"$d" "${eps[*]}" | put_file "$f"
}

# The long connection: socat in $client, fed by a fifo on fd 5, its output
# in $tmp/out$conn. A write to a cut connection must fail, not kill us.
trap '' PIPE
conn=0
open_conn() {
	conn=$((conn + 1))
	mkfifo "$tmp/in$conn"
	: >"$tmp/out$conn"
	# read-write: opening a fifo so does not wait for the other end
	exec 5<>"$tmp/in$conn"
	bg_ns "$client" socat -T 60 - TCP:10.96.0.20:9000 <"$tmp/in$conn" >"$tmp/out$conn" 2>"$tmp/err$conn" 5>&-
	conn_pid=$!
	seq_no=0
}
gone() { ! running "$1"; }
close_conn() {
	exec 5>&-
	within 3 gone "$conn_pid" || stop_pid "$conn_pid" TERM "long connection"
	wait "$conn_pid" 2>/dev/null || true
}
echoed() { grep -qx "$1" "$tmp/out$conn"; }
# ping: one line through the long connection, echoed within 1 s.
ping_conn() {
	seq_no=$((seq_no + 1))
	running "$conn_pid" || return 1
	{ echo "conn$conn-$seq_no" >&5; } 2>/dev/null || return 1
	within 1 echoed "conn$conn-$seq_no"
}
# established BACKEND: connections to :9000 established in backend N.
established() { pb "$1" ss -Htn state established '( sport = :9000 )' | wc -l; }
count_app() { count_backends 10.96.0.20 80 "$1"; }
# applied IN... -- OUT...: the backends map has slots of every IN, none of any OUT.
in_map() { pn nft list map ip vipd backends 2>/dev/null | grep -q "comment \"app/$1\""; }
applied() {
	local b out=0
	for b in "$@"; do
		if [[ $b == -- ]]; then out=1; elif [[ $out == 0 ]]; then in_map "$b" || return 1; else ! in_map "$b" || return 1; fi
	done
}
wait_applied() { within 2 applied "$@" || fail "map ip vipd backends not updated 2 s after the change (want $*)"; }

# wait_cut WHO: ping the long connection every 0.5 s (at most 12 times)
# until it fails; the first failure's time since $t_rm in $cut_ms; bounds.
wait_cut() {
	local k t t_cut='' how="no echo"
	for ((k = 0; k < 12; k++)); do
		t=$(now_ms)
		if ! ping_conn; then
			t_cut=$t
			break
		fi
		sleep 0.5
	done
	[[ -n $t_cut ]] || fail "the long connection to $1 still works $(($(now_ms) - t_rm)) ms after it left (drain_seconds 2)"
	cut_ms=$((t_cut - t_rm))
	running "$conn_pid" || how="the client's socat ended"
	echo "the long connection to $1 is cut: the first failed echo was sent $cut_ms ms after it left ($how; socat: $(tr '\n' ' ' <"$tmp/err$conn"))"
	assert_ge "$cut_ms" 1500 "ms from $1 leaving to the cut (drain_seconds 2)"
	assert_le "$cut_ms" 3500 "ms from $1 leaving to the cut"
}

say "a. drain_seconds 0: b1 removed under a long connection"
app 0 b1
start_vipd "$f"
wait_vip 10.96.0.20
open_conn
ping_conn || fail "the long connection does not echo"
assert_eq "$(established 1)" 1 "connections established in b1 (the only backend)"
t_rm=$(now_ms)
app 0 b2
wait_applied b2 -- b1
ok=0
for ((k = 0; k < 10; k++)); do
	ping_conn || fail "the long connection to removed b1 broke $(($(now_ms) - t_rm)) ms after the removal (drain_seconds 0)"
	ok=$((ok + 1))
	out=$(count_app 5)
	assert_eq "$(total "$out")" 5 "answered new requests"
	assert_eq "$(hits b1 "$out")" 0 "new connections to removed b1"
	sleep 0.5
done
echo "the long connection to b1 echoed $ok times over $(($(now_ms) - t_rm)) ms after its removal"
assert_eq "$(established 1)" 1 "connections still established in b1"
out=$(count_app 50)
echo "$out" | tr '\n' ' '
echo
assert_eq "$(hits b2 "$out")" 50 "new connections to b2 (the only backend)"
close_conn

say "b. drain_seconds 2: b3 removed under a long connection"
app 2 b3
wait_applied b3 -- b2
open_conn
ping_conn || fail "the long connection does not echo"
assert_eq "$(established 3)" 1 "connections established in b3 (the only backend)"
mark=$(wc -c <"$vipd_log")
t_rm=$(now_ms)
app 2 b2
wait_applied b2 -- b3
sleep 0.3
ping_conn || fail "the long connection to b3 broke right after the removal (drain_seconds 2)"
wait_cut b3
close_conn
left=$(pn conntrack -L -p tcp --reply-src "$(backend_ip 3)" 2>/dev/null | grep -c . || true)
[[ $left -eq 0 ]] || fail "conntrack entries to b3 after the drain: $(pn conntrack -L -p tcp --reply-src "$(backend_ip 3)" 2>/dev/null)"
tail -c +"$((mark + 1))" "$vipd_log" | grep -E 'b3' || true
tail -c +"$((mark + 1))" "$vipd_log" | grep -q 'service "app" backend b3: drained: its established connections are cut now' ||
	fail "no log line of b3's drain"
tail -c +"$((mark + 1))" "$vipd_log" | grep -qE 'service "app" backend b3: drain over: [1-9][0-9]* connections? cut' ||
	fail "no log line of b3's drain cutting its connection"
out=$(count_app 30)
assert_eq "$(hits b2 "$out")" 30 "new connections to b2 after the drain"

say "b. drain_seconds 2: b1 turns terminating under a long connection"
app 2 b1
wait_applied b1 -- b2
open_conn
ping_conn || fail "the long connection does not echo"
assert_eq "$(established 1)" 1 "connections established in b1 (the only backend)"
mark=$(wc -c <"$vipd_log")
t_rm=$(now_ms)
app 2 b1:t b2
wait_applied b2 -- b1
sleep 0.3
ping_conn || fail "the long connection to b1 broke right after it turned terminating (drain_seconds 2)"
out=$(count_app 20)
assert_eq "$(hits b2 "$out")" 20 "new connections to b2 while b1 is terminating"
wait_cut b1
close_conn
est=$(pn conntrack -L -p tcp --reply-src "$(backend_ip 1)" --state ESTABLISHED 2>/dev/null | grep -c . || true)
assert_eq "$est" 0 "established conntrack entries to terminating b1 after its drain"
tail -c +"$((mark + 1))" "$vipd_log" | grep -qE 'service "app" backend b1: drain over: [1-9][0-9]* connections? cut' ||
	fail "no log line of terminating b1's drain cutting its connection"

say "c. terminating fallback: b1 and b2 terminating, still ready"
app 0 b1:t b2:t
wait_applied b1 b2
out=$(count_app 60)
echo "$out" | tr '\n' ' '
echo
assert_eq "$(total "$out")" 60 "answered requests while every endpoint is terminating"
assert_ge "$(hits b1 "$out")" 1 "connections to terminating b1"
assert_ge "$(hits b2 "$out")" 1 "connections to terminating b2"
if pn nft list set ip vipd noendpoints | grep -qF 10.96.0.20; then
	fail "app's VIP is in the noendpoints set (rejected) while terminating endpoints serve"
fi

say "c. b3 added, not terminating: it takes every new connection"
t0=$(now_ms)
app 0 b1:t b2:t b3
only_b3() { [[ $(hits b3 "$(count_app 10)") -eq 10 ]]; }
since_ms=$t0 within 1.5 only_b3 ||
	fail "new connections still reach terminating backends 1.5 s after a ready one came"
out=$(count_app 60)
echo "$out" | tr '\n' ' '
echo
assert_eq "$(hits b3 "$out")" 60 "new connections to b3 (the one not terminating)"
assert_alive "$vipd_pid" vipd
echo PASS

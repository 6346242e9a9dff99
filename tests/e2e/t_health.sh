#!/usr/bin/env bash
# Active health checks, as a client sees them:
#  a. TCP check (interval 200 ms, fall 3, rise 2): b2's httpd dies while a
#     client loop runs; vipd says so within interval x fall + 1 s, after
#     which every request succeeds and none reaches b2; b2's httpd back:
#     it returns and gets traffic again.
#  b. HTTP check: a backend answering 500 on the health path leaves (reason
#     "HTTP 500") and gets nothing; answering 200 again, it returns.
#  c. Fail open: every backend fails its check (a health port nothing
#     listens on): all stay in, no request fails.
#  d. A restart moves nothing: with b3 unhealthy, vipd is killed (-9) and
#     started again: b3 has slots at once, then leaves after fall failures.
#
#   client ── node (vipd, checks from here) ── b1, b2, b3: busybox httpd :8080
#     "/" answers "bN"; /cgi-bin/health answers the status in $tmp/stN
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

topo_up 3
declare -A httpd_pid
# httpd_up N: busybox httpd on :8080 in backend N; its pid in httpd_pid[N].
# The CGI prints its own status line (busybox passes it through).
httpd_up() {
	local dir=$tmp/www$1
	mkdir -p "$dir/cgi-bin"
	echo "b$1" >"$dir/index.html"
	[[ -f $tmp/st$1 ]] || echo 200 >"$tmp/st$1"
	cat >"$dir/cgi-bin/health" <<-EOF
		#!/bin/sh
		c=\$(cat $tmp/st$1)
		printf 'HTTP/1.0 %s X\\r\\nContent-Type: text/plain\\r\\n\\r\\nstatus %s\\n' "\$c" "\$c"
	EOF
	chmod +x "$dir/cgi-bin/health"
	bg_ns "$(bns "$1")" "$BUSYBOX" httpd -f -p 8080 -h "$dir"
	httpd_pid[$1]=$!
	wait_port "$1" 8080
}
for i in 1 2 3; do httpd_up "$i"; done
for i in 1 2 3; do
	[[ $(pn curl -s --max-time 2 -o /dev/null -w '%{http_code}' "http://$(backend_ip "$i"):8080/cgi-bin/health") == 200 ]] ||
		fail "b$i's health CGI does not answer 200"
done
echo 500 >"$tmp/st1"
[[ $(pn curl -s --max-time 2 -o /dev/null -w '%{http_code}' "http://$(backend_ip 1):8080/cgi-bin/health") == 500 ]] ||
	fail "busybox httpd does not pass a CGI's own status line through (wanted 500)"
echo 200 >"$tmp/st1"

f=$tmp/services.json
# web HEALTH_JSON: service web, 10.96.0.10:80 -> 8080 on b1..b3, that check.
web() {
	printf '{"services":{"web":{"vip":"10.96.0.10","ports":[{"name":"http","port":80,"protocol":"tcp","target_port":8080}],"algorithm":"random","health":%s}},\n "endpoints":{"web":{%s,%s,%s}}}\n' \
		"$1" "$(ep 1)" "$(ep 2)" "$(ep 3)" | put_file "$f"
}
tcp_check='{"type":"tcp","interval_ms":200,"timeout_ms":500,"rise":2,"fall":3}'
http_check='{"type":"http","path":"/cgi-bin/health","interval_ms":200,"timeout_ms":500,"rise":2,"fall":3}'

# Log lines since a mark: mark=$(log_mark); ...; logged_after REGEX.
log_mark() { wc -c <"$vipd_log"; }
logged_after() { tail -c +"$((mark + 1))" "$vipd_log" | grep -qE -- "$1"; }
logged_after_or_gone() { logged_after "$1" || ! running "$vipd_pid"; }
wait_after() { # wait_after SECONDS REGEX
	within "$1" logged_after_or_gone "$2"
	logged_after "$2" || fail "no log line /$2/ within $1 s (vipd running: $(running "$vipd_pid" && echo yes || echo no))"
}
gone() { ! running "$1"; }
slots_of() { pn nft list map ip vipd backends | grep -c "comment \"web/$1\"" || true; }

# check COUNT ZERO SOME...: COUNT requests, all answered, none by ZERO
# ("-" for none), at least one by each SOME.
check() {
	local out b n=$1 zero=$2
	out=$(count_backends 10.96.0.10 80 "$n")
	echo "$out" | tr '\n' ' '
	echo
	assert_eq "$(total "$out")" "$n" "answered requests"
	[[ $zero == - ]] || assert_eq "$(hits "$zero" "$out")" 0 "connections to $zero"
	shift 2
	for b in "$@"; do assert_ge "$(hits "$b" "$out")" 1 "connections to $b"; done
}

web "$tcp_check"
start_vipd "$f"
wait_vip 10.96.0.10
check 60 - b1 b2 b3

say "a. TCP check: b2's httpd is killed while a client loop runs"
# One request per new connection, its start time (ms) and who answered;
# at most 1500 requests or 40 s; ends when $tmp/stop appears.
# shellcheck disable=SC2016 # expanded by that bash
bg_ns "$client" timeout 40 bash -c '
	for ((i = 0; i < 1500; i++)); do
		[[ -e $1 ]] && break
		t=${EPOCHREALTIME//[.,]/}
		r=$(curl -sf --max-time 1 http://10.96.0.10/) || r=FAIL
		echo "$((t / 1000)) ${r:-EMPTY}"
	done' _ "$tmp/stop" >"$tmp/loop"
loop_pid=$!
within 5 grep -q b2 "$tmp/loop" || fail "the client loop never reached b2 before the kill"
mark=$(log_mark)
t_kill=$(now_ms)
stop_pid "${httpd_pid[2]}" KILL "b2's httpd"
bound=$((200 * 3 + 1000))
poll_s=0.02 wait_after "$(awk -v b="$bound" 'BEGIN { print b / 1000 }')" \
	'service "web" backend b2 \(10\.250\.2\.12 port 8080\): healthy -> unhealthy: connect refused \(3 of 3\)'
t_det=$(now_ms)
echo "b2's httpd killed -> vipd logs it unhealthy: $((t_det - t_kill)) ms (bound $bound ms)"
after() { awk -v t="$t_det" '$1 > t' "$tmp/loop"; }
enough_after() { [[ $(after | wc -l) -ge 60 ]]; }
within 15 enough_after || fail "client loop: fewer than 60 requests in 15 s after the log line"
touch "$tmp/stop"
within 5 gone "$loop_pid" || fail "client loop does not stop"
echo "while b2 was being detected: $(awk -v a="$t_kill" -v b="$t_det" '$1 >= a && $1 <= b && $2 == "FAIL"' "$tmp/loop" | wc -l) requests failed"
n_after=$(after | wc -l)
bad=$(after | awk '$2 != "b1" && $2 != "b3"' | sort -k2 | uniq -c -f1 | head -5)
echo "after the log line: $n_after requests: $(after | awk '{ print $2 }' | sort | uniq -c | tr '\n' ' ')"
assert_ge "$n_after" 50 "requests after the log line"
[[ -z $bad ]] || fail "after b2 was logged unhealthy, requests failed or reached b2: $bad"
assert_eq "$(slots_of b2)" 0 "slots of unhealthy b2"

say "a. b2's httpd back: b2 returns and gets traffic"
mark=$(log_mark)
t0=$(now_ms)
httpd_up 2
wait_after 3 'service "web" backend b2 \(10\.250\.2\.12 port 8080\): unhealthy: connect refused \(3 of 3\) -> healthy'
echo "b2 back in $(($(now_ms) - t0)) ms"
check 60 - b1 b2 b3

say "b. HTTP check: b3 answers 500 on its health path"
web "$http_check"
sleep 1 # the checks restart (healthy) with the new spec
check 30 - b1 b2 b3
mark=$(log_mark)
echo 500 >"$tmp/st3"
wait_after 3 'service "web" backend b3 \(10\.250\.2\.13 port 8080\): healthy -> unhealthy: HTTP 500 \(3 of 3\)'
assert_eq "$(slots_of b3)" 0 "slots of b3 while its health path answers 500"
check 60 b3 b1 b2
mark=$(log_mark)
echo 200 >"$tmp/st3"
wait_after 3 'service "web" backend b3 \(10\.250\.2\.13 port 8080\): unhealthy: HTTP 500 \(3 of 3\) -> healthy'
check 60 - b1 b2 b3

say "c. fail open: every backend's health port (8081) is closed"
mark=$(log_mark)
web '{"type":"tcp","port":8081,"interval_ms":200,"timeout_ms":500,"rise":2,"fall":3}'
wait_after 4 'service "web": every IPv4 backend fails its check; sending to all of them \(fail open\)'
for b in b1 b2 b3; do
	logged_after "service \"web\" backend $b .*-> unhealthy: connect refused" || fail "no log line of $b turning unhealthy"
done
sleep 0.5
for b in b1 b2 b3; do assert_ge "$(slots_of "$b")" 1 "slots of $b (fail open)"; done
check 90 - b1 b2 b3

say "d. restart: b3 unhealthy, vipd killed -9 and started again"
# a slower check, so that "right after the restart" is long enough to see
web '{"type":"http","path":"/cgi-bin/health","interval_ms":500,"timeout_ms":500,"rise":2,"fall":3}'
echo 500 >"$tmp/st3"
mark=$(log_mark)
wait_after 5 'service "web" backend b3 .*-> unhealthy: HTTP 500 \(3 of 3\)'
sleep 0.3
assert_eq "$(slots_of b3)" 0 "slots of unhealthy b3 before the restart"
stop_vipd KILL
mark=$(log_mark)
t0=$(now_ms)
start_vipd "$f"
poll_s=0.02 wait_after 5 'reconciled all'
s3=$(slots_of b3)
out=$(count_backends 10.96.0.10 80 20)
t1=$(now_ms)
echo "right after the restart ($((t1 - t0)) ms): b3 has $s3 slots; 20 requests: $(echo "$out" | tr '\n' ' ')"
assert_ge "$s3" 1 "slots of b3 right after the restart (a check starts healthy)"
assert_eq "$(total "$out")" 20 "answered requests right after the restart"
assert_ge "$(hits b3 "$out")" 1 "connections to b3 right after the restart"
wait_after 4 'service "web" backend b3 \(10\.250\.2\.13 port 8080\): healthy -> unhealthy: HTTP 500 \(3 of 3\)'
echo "b3 out again $(($(now_ms) - t0)) ms after the restart"
sleep 0.3
assert_eq "$(slots_of b3)" 0 "slots of b3 after fall failures"
check 40 b3 b1 b2
assert_alive "$vipd_pid" vipd
echo PASS

#!/usr/bin/env bash
# slow_start 9: the two backends there when vipd starts take their full
# share at once; b3, added later, starts at 10 % of its weight and goes up
# 10 % a second (slots in map ip vipd backends follow), reaching its full
# share (1/3) after 9 s. Real connections follow: b3's share of the early
# ones is below its share after the ramp. Back from failing its check
# (TCP, 200 ms, rise 2, fall 2), b3 ramps again from 10 %.
#
#   client ── node (vipd) ── b1, b2, b3: busybox httpd :8080 ("bN"), weight 100
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

topo_up 3
declare -A httpd_pid
for i in 1 2 3; do
	start_httpd "$i"
	httpd_pid[$i]=${pids[-1]}
done
f=$tmp/services.json
web() { # web EP...
	local IFS=,
	printf '{"services":{"web":{"vip":"10.96.0.10","ports":[{"name":"http","port":80,"protocol":"tcp","target_port":8080}],"algorithm":"random","slow_start":9,"health":{"type":"tcp","interval_ms":200,"rise":2,"fall":2}}},\n "endpoints":{"web":{%s}}}\n' "$*" | put_file "$f"
}
# slots: "b1 b2 b3 total" slots of the backends map
slots() {
	pn nft list map ip vipd backends | awk '
		/comment "web\/b1"/ { a++ } /comment "web\/b2"/ { b++ } /comment "web\/b3"/ { c++ }
		/comment "web\// { t++ } END { print a + 0, b + 0, c + 0, t + 0 }'
}

web "$(ep 1)" "$(ep 2)"
start_vipd "$f"
wait_vip 10.96.0.10
wait_logged 5 "$vipd_log" 'reconciled all' "$vipd_pid" || fail "vipd did not reconcile"

say "b1 and b2, there at start: full share at once, no ramp"
read -r s1 s2 _ t <<<"$(slots)"
echo "slots at start: b1 $s1 b2 $s2 (of $t)"
assert_ge "$s1" 1 "slots of b1 at start"
assert_eq "$s1" "$s2" "slots of b1 vs b2 at start (equal weights)"
! logged "$vipd_log" 'slow start' || fail "a backend there at start ramps: $(grep 'slow start' "$vipd_log")"
out=$(count_backends 10.96.0.10 80 100)
echo "$out" | tr '\n' ' '
echo
assert_eq "$(total "$out")" 100 "answered requests"
assert_ge "$(hits b1 "$out")" 30 "connections to b1 at start"
assert_ge "$(hits b2 "$out")" 30 "connections to b2 at start"

say "b3 added with slow_start 9"
# every ~0.5 s for at most 16 s: "ms-since-add b3-slots total-slots"
t_add=$(now_ms)
web "$(ep 1)" "$(ep 2)" "$(ep 3)"
(
	for ((k = 0; k < 32; k++)); do
		read -r _ _ c t <<<"$(slots)"
		echo "$(($(now_ms) - t_add)) $c $t"
		[[ $t -gt 0 && $((c * 3)) -eq $t ]] && break
		sleep 0.5
	done
) >"$tmp/samples" &
sampler=$!
pids+=("$sampler")
has_b3() { [[ $(pn nft list map ip vipd backends | grep -c 'comment "web/b3"') -gt 0 ]]; }
within 2 has_b3 || fail "b3 has no slot 2 s after it was added"
# early connections: 200, in the first seconds of the ramp
early=$(count_backends 10.96.0.10 80 200)
t_early=$(($(now_ms) - t_add))
echo "early (first $t_early ms): $(echo "$early" | tr '\n' ' ')"
assert_eq "$(total "$early")" 200 "answered early requests"
# meaningful only while b3 is well below its share: before 50 % (4.5 s)
assert_le "$t_early" 4000 "ms the early requests took"
logged "$vipd_log" 'service "web" backend b3 \(10\.250\.2\.13 port 8080\): new -> slow start 10%' ||
	fail "no log line of b3 entering slow start at 10%"

done_ramp() { ! running "$sampler"; }
within 20 done_ramp || fail "sampler still running after 20 s"
wait "$sampler" || true
# share in thousandths; the steps: where it went up
awk '{ s = $3 ? int($2 * 1000 / $3) : 0; print $1, s, $2, $3 }' "$tmp/samples" >"$tmp/shares"
echo "samples (ms since add, b3 share per mille, b3 slots, slots):"
tr '\n' ';' <"$tmp/shares"
echo
steps=$(awk 'NR == 1 { last = $2; next } $2 > last { printf "%s ", $1 } { last = $2 }' "$tmp/shares")
downs=$(awk 'NR > 1 && $2 < last { n++ } { last = $2 } END { print n + 0 }' "$tmp/shares")
echo "b3's share went up at (ms since add): $steps"
n_steps=$(wc -w <<<"$steps")
assert_ge "$n_steps" 5 "steps of b3's share"
assert_eq "$downs" 0 "samples where b3's share went down"
read -r t_last _ c t < <(tail -n 1 "$tmp/shares")
assert_eq "$((c * 3))" "$t" "b3's slots x 3 vs all slots at the end of the ramp (equal weights)"
echo "full share after $t_last ms (slow_start 9 s)"
assert_ge "$t_last" 8000 "ms until b3's full share"
assert_le "$t_last" 12000 "ms until b3's full share"
read -r s1 s2 s3 t <<<"$(slots)"
assert_eq "$s1" "$s3" "slots of b1 vs b3 after the ramp"
assert_eq "$s2" "$s3" "slots of b2 vs b3 after the ramp"

late=$(count_backends 10.96.0.10 80 300)
echo "late (after the ramp): $(echo "$late" | tr '\n' ' ')"
assert_eq "$(total "$late")" 300 "answered late requests"
e3=$(hits b3 "$early") l3=$(hits b3 "$late")
echo "b3's share of connections: early $((e3 * 100 / 200)) %, late $((l3 * 100 / 300)) %"
# early/200 < late/300
[[ $((e3 * 300)) -lt $((l3 * 200)) ]] || fail "b3's early share ($e3 of 200) is not below its late share ($l3 of 300)"
assert_ge "$l3" 65 "late connections to b3 (1/3 of 300 less a margin)"

say "b3 fails its check and comes back: it ramps again from 10 %"
stop_pid "${httpd_pid[3]}" KILL "b3's httpd"
wait_logged 3 "$vipd_log" 'service "web" backend b3 \(10\.250\.2\.13 port 8080\): healthy -> unhealthy: connect refused \(2 of 2\)' "$vipd_pid" ||
	fail "b3 not logged unhealthy 3 s after its httpd died"
t0=$(now_ms)
start_httpd 3
wait_logged 3 "$vipd_log" 'service "web" backend b3 \(10\.250\.2\.13 port 8080\): unhealthy: connect refused \(2 of 2\) -> slow start 10%' "$vipd_pid" ||
	fail "b3 back from unhealthy does not log a slow start at 10%"
sleep 0.2
read -r _ _ c t <<<"$(slots)"
echo "b3 back $(($(now_ms) - t0)) ms after its httpd restarted: $c of $t slots"
assert_eq "$((c * 21))" "$t" "b3's slots x 21 vs all slots back from unhealthy (weights 100:100:10)"
assert_alive "$vipd_pid" vipd
echo PASS

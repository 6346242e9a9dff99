#!/usr/bin/env bash
# UDP and conntrack: a one-way sender with a fixed source port reaches a
# live backend within 1.5 s when its backend is removed, after its service
# had no backend, and when its deleted service comes back; a vipd restart
# (TERM or kill -9) deletes no entry.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

topo_up 2
for i in 1 2; do
	bg_ns "$(bns "$i")" socat -u UDP-RECV:5353 "OPEN:$tmp/got$i,creat,append"
done
got() { wc -l <"$tmp/got$1" 2>/dev/null || echo 0; }
f=$tmp/services.json
dns() { # dns EP...: service "dns" 10.96.0.53:53/udp -> 5353
	local IFS=,
	printf '{"services":{"dns":{"vip":"10.96.0.53","ports":[{"port":53,"protocol":"udp","target_port":5353}]}},"endpoints":{"dns":{%s}}}\n' "$*"
}
ep53() { printf '"b%d":{"ip":"%s","port":5353}' "$1" "$(backend_ip "$1")"; }
dns "$(ep53 1)" | put_file "$f"
start_vipd "$f"
wait_vip 10.96.0.53
# one socket, source port 4000: one conntrack entry for the whole test
# (10 datagrams a second, at most 3 minutes)
(for ((k = 0; k < 1800; k++)); do echo "x$k"; sleep 0.1; done |
	ip netns exec "$client" socat -u - UDP:10.96.0.53:53,sourceport=4000) &
pids+=($!)
growing() { local a; a=$(got "$1"); sleep 0.3; [[ $(got "$1") -gt $a ]]; }
within 3 growing 1 || fail "b1 receives nothing"

say "b1 removed, b2 added: the sender moves to b2"
t0=$(now_ms)
dns "$(ep53 2)" | put_file "$f"
since_ms=$t0 within 1.5 growing 2 || fail "b2 got nothing 1.5 s after b1 left (stale entry kept)"
echo "moved after $(($(now_ms) - t0)) ms"

say "no backend for 2 s, then b1: the sender reaches b1"
dns | put_file "$f"
sleep 2
t0=$(now_ms)
dns "$(ep53 1)" | put_file "$f"
since_ms=$t0 within 1.5 growing 1 || fail "b1 got nothing 1.5 s after it came back"

say "service deleted (the VIP routed elsewhere meanwhile), then back"
pn ip route add 10.96.0.0/16 dev br0
echo '{"services":{},"endpoints":{}}' | put_file "$f"
sleep 2
assert_eq "$(pn conntrack -L -p udp --sport 4000 2>/dev/null | grep -c 'dport=53 .*src=10.96.0.53' || true)" 1 "un-NATed entry while the service was gone"
t0=$(now_ms)
dns "$(ep53 2)" | put_file "$f"
since_ms=$t0 within 1.5 growing 2 || fail "b2 got nothing 1.5 s after the service came back"
pn ip route del 10.96.0.0/16 dev br0

say "restarts delete no entry"
id() { pn conntrack -L -p udp --sport 4000 -o id 2>/dev/null | sed -n 's/.*id=\([0-9]*\).*/\1/p'; }
id0=$(id)
[[ -n $id0 ]] || fail "no conntrack entry for the sender"
stop_vipd KILL
start_vipd "$f"
wait_logged 5 "$vipd_log" 'reconciled all' "$vipd_pid"
stop_vipd TERM
start_vipd "$f"
sleep 1
assert_eq "$(id)" "$id0" "conntrack id of the long flow after kill -9 and TERM restarts"
within 2 growing 2 || fail "b2 stopped receiving across restarts"
assert_alive "$vipd_pid" vipd
echo PASS

#!/usr/bin/env bash
# A service whose endpoints are all gone rejects at once instead of letting
# clients time out: TCP gets a reset, UDP an ICMP port unreachable. The node
# routes VIPs to a dead next hop, as a real network would swallow them, so
# without vipd's reject both clients would hang.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

topo_up 1
start_httpd 1
bg_ns "vipd-b1-$$" socat UDP-LISTEN:5353,fork,reuseaddr EXEC:cat
pn ip route add 10.96.0.0/16 via 10.250.2.99
f=$tmp/services.json
svc='"web":{"vip":"10.96.0.10","ports":[{"name":"http","port":80,"protocol":"tcp","target_port":8080},{"name":"dns","port":53,"protocol":"udp","target_port":5353}],"algorithm":"random"}'
with_b1() { echo "{\"services\":{$svc},\"endpoints\":{\"web\":{\"b1\":{\"ip\":\"10.250.2.11\"}}}}"; }
with_b1 | put_file "$f"
start_vipd "$f"
wait_vip 10.96.0.10

udp() { echo "$1" | pc timeout 3 socat -T 1 - UDP:10.96.0.10:53 2>&1; }
say "with endpoint b1: TCP and UDP reach it"
assert_eq "$(pc curl -s --max-time 2 http://10.96.0.10/)" b1 "HTTP answer"
assert_eq "$(udp ping)" ping "UDP echo"

say "no endpoint: refused at once"
t0=$(now_ms)
echo "{\"services\":{$svc},\"endpoints\":{}}" | put_file "$f"
tcp_refused() { pc curl -sv --max-time 1 http://10.96.0.10/ 2>&1 | grep -q 'Connection refused'; }
since_ms=$t0 within 1 tcp_refused || fail "TCP to a service without endpoints is not refused (want a reset, not a timeout)"
out=$(udp ping) || true
echo "UDP: $out"
grep -q 'Connection refused' <<<"$out" || fail "UDP to a service without endpoints: want ICMP port unreachable (Connection refused), got '$out'"

say "endpoint back: works again"
t0=$(now_ms)
with_b1 | put_file "$f"
http_ok() { [[ $(pc curl -s --max-time 1 http://10.96.0.10/) == b1 ]]; }
since_ms=$t0 within 1 http_ok || fail "service does not answer 1 s after its endpoint came back"
assert_eq "$(udp pong)" pong "UDP echo"
assert_alive "$vipd_pid" vipd

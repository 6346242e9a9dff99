#!/usr/bin/env bash
# Adding a service leaves the others alone: a TCP connection opened to
# service "echo" before "web" is added still echoes afterwards (same
# connection), "web" works, and no element of "echo" was deleted.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

topo_up 2
start_echo 1 7000
start_httpd 2
f=$tmp/services.json
echo_svc='"echo":{"vip":"10.96.0.20","ports":[{"name":"echo","port":7000,"protocol":"tcp","target_port":7000}],"algorithm":"random"}'
web_svc='"web":{"vip":"10.96.0.10","ports":[{"name":"http","port":80,"protocol":"tcp","target_port":8080}],"algorithm":"random"}'
echo "{\"services\":{$echo_svc},\"endpoints\":{\"echo\":{$(ep 1 100 7000)}}}" | put_file "$f"
start_vipd "$f"
wait_vip 10.96.0.20

say "long-lived connection to echo (10.96.0.20:7000)"
mkfifo "$tmp/in"
exec 3<>"$tmp/in"
bg_ns "$client" socat -t 30 - TCP:10.96.0.20:7000 <"$tmp/in" >"$tmp/out"
conn_pid=$!
echo first >&3
within 2 grep -qx first "$tmp/out" || fail "no echo of the first line through the VIP"
conn=$(pc ss -Htn state established dst 10.96.0.20)
echo "client socket: $conn"
[[ -n $conn ]] || fail "no established client connection to 10.96.0.20"

say "add service web (10.96.0.10:80)"
bg_ns "$node" nft monitor >"$tmp/monitor" 2>"$tmp/monitor.err"
sleep 0.2
echo "{\"services\":{$echo_svc,$web_svc},\"endpoints\":{\"echo\":{$(ep 1 100 7000)},\"web\":{$(ep 2)}}}" | put_file "$f"
wait_vip 10.96.0.10
out=$(count_backends 10.96.0.10 80 20)
echo "$out"
assert_eq "$(hits b2 "$out")" 20 "web requests answered by b2"

say "second line on the same connection"
echo second >&3
within 2 grep -qx second "$tmp/out" || fail "the connection opened before the update no longer echoes"
assert_alive "$conn_pid" "client socat (the long-lived connection)"
assert_eq "$(pc ss -Htn state established dst 10.96.0.20)" "$conn" "client socket"

say "a new connection to echo"
r=$(echo again | pc timeout 5 socat -t 2 - TCP:10.96.0.20:7000) || true
assert_eq "$r" again "echo over a new connection"
if grep -E '^(delete|destroy) table|^(delete|destroy|flush) .*10\.96\.0\.20' "$tmp/monitor"; then
	fail "adding web deleted elements of echo"
fi
assert_alive "$vipd_pid" vipd

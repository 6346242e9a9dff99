#!/usr/bin/env bash
# node_port: every local address of the node forwards the port, IPv4 and
# IPv6, from other hosts and from the node itself; loopback does not; with
# no endpoint the node port is refused at once.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

topo_up 2
topo6_up 2
for i in 1 2; do start_httpd "$i"; done
f=$tmp/services.json
svc='"web":{"vip":"10.96.0.10","vip6":"fd00::10","ports":[{"name":"http","port":80,"protocol":"tcp","target_port":8080,"node_port":30080}]}'
eps="$(ep 1),$(ep 2),\"c1\":{\"ip\":\"$(backend_ip6 1)\",\"port\":8080},\"c2\":{\"ip\":\"$(backend_ip6 2)\",\"port\":8080}"
echo "{\"services\":{$svc},\"endpoints\":{\"web\":{$eps}}}" | put_file "$f"
start_vipd "$f"
wait_vip 10.96.0.10

# seen CLIENT_CMD URL: the backends that answered 40 new connections
# (one curl each: -g, since IPv6 brackets and curl's globs do not mix).
seen() {
	local out url=${*: -1}
	# a first connection finds the neighbours (IPv6: NDP) before counting
	"${@:1:$#-1}" curl -gs --max-time 2 "$url" >/dev/null || true
	out=$(for ((k = 0; k < 40; k++)); do "${@:1:$#-1}" curl -gs --max-time 2 "$url"; done |
		grep -E '^b[0-9]+$' | sort | uniq -c | awk '{ print $2, $1 }')
	echo "$out" >&2
	echo "$out"
}
for url in http://10.250.1.1:30080/ http://10.250.2.1:30080/ "http://[fd00:1::1]:30080/"; do
	say "from another host: $url"
	out=$(seen ip netns exec "$client" "$url")
	assert_eq "$(total "$out")" 40 "answers via $url"
	assert_ge "$(hits b1 "$out")" 5 "b1 via $url"
	assert_ge "$(hits b2 "$out")" 5 "b2 via $url"
done
for url in http://10.250.1.1:30080/ "http://[fd00:2::1]:30080/"; do
	say "from the node itself: $url"
	out=$(seen ip netns exec "$node" "$url")
	assert_eq "$(total "$out")" 40 "answers from the node via $url"
done

say "loopback is not forwarded (refused at once)"
for url in http://127.0.0.1:30080/ "http://[::1]:30080/"; do
	t0=$(now_ms)
	if pn curl -gs --max-time 2 "$url" >/dev/null; then fail "$url answered"; fi
	assert_le $(($(now_ms) - t0)) 1000 "ms until $url was refused"
done

say "the VIP still works"
out=$(seen ip netns exec "$client" http://10.96.0.10:80/)
assert_eq "$(total "$out")" 40 "answers via the VIP"

say "no endpoints: the node port is refused at once, from outside and inside"
echo "{\"services\":{$svc},\"endpoints\":{}}" | put_file "$f"
within 3 bash -c "ip netns exec $node nft list set ip vipd np-noendpoints | grep -q 30080" ||
	fail "node port not in np-noendpoints"
for ns in "$client" "$node"; do
	t0=$(now_ms)
	err=$(ip netns exec "$ns" curl -s --max-time 2 http://10.250.1.1:30080/ 2>&1 >/dev/null; echo "rc=$?")
	assert_eq "${err##*rc=}" 7 "curl exit status from $ns (7: connection refused)"
	assert_le $(($(now_ms) - t0)) 1000 "ms until refused from $ns"
done

say "node port removed: nothing is left of it"
echo "{\"services\":{\"web\":{\"vip\":\"10.96.0.10\",\"ports\":[{\"name\":\"http\",\"port\":80,\"protocol\":\"tcp\",\"target_port\":8080}]}},\"endpoints\":{\"web\":{$(ep 1)}}}" | put_file "$f"
gone() { ! pn nft list table ip vipd | grep -q 30080; }
within 3 gone || fail "30080 still in table ip vipd"
assert_alive "$vipd_pid" vipd
echo PASS

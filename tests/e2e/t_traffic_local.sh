#!/usr/bin/env bash
# traffic_policy local: only endpoints whose node is --node-name take
# traffic on this node (VIP and node port); with none local, the service is
# rejected here at once.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

topo_up 2
for i in 1 2; do start_httpd "$i"; done
f=$tmp/services.json
local_json() { # local_json NODE_OF_B1 NODE_OF_B2
	printf '{"services":{"web":{"vip":"10.96.0.10","traffic_policy":"local","ports":[{"name":"http","port":80,"protocol":"tcp","target_port":8080,"node_port":30080}]}},
 "endpoints":{"web":{"b1":{"ip":"%s","port":8080,"node":"%s"},"b2":{"ip":"%s","port":8080,"node":"%s"}}}}\n' \
		"$(backend_ip 1)" "$1" "$(backend_ip 2)" "$2"
}
local_json node-a node-b | put_file "$f"
start_vipd "$f" --node-name node-a
wait_vip 10.96.0.10

for url in http://10.96.0.10:80/ http://10.250.1.1:30080/; do
	say "only this node's endpoint: $url"
	out=$(for ((k = 0; k < 20; k++)); do pc curl -s --max-time 2 "$url"; done | sort | uniq -c | awk '{ print $2, $1 }')
	echo "$out"
	assert_eq "$(hits b1 "$out")" 20 "connections to b1 (node-a) via $url"
done

say "no local endpoint: refused at once"
t0=$(now_ms)
local_json node-b node-b | put_file "$f"
refused() { ! pc curl -s --max-time 1 http://10.96.0.10/ >/dev/null; }
since_ms=$t0 within 2 refused || fail "still answered with no local endpoint"
for url in http://10.96.0.10/ http://10.250.1.1:30080/; do
	t0=$(now_ms)
	rc=0
	pc curl -s --max-time 2 "$url" >/dev/null || rc=$?
	assert_eq "$rc" 7 "curl exit status via $url (7: connection refused)"
	assert_le $(($(now_ms) - t0)) 1000 "ms until refused via $url"
done
assert_alive "$vipd_pid" vipd
echo PASS

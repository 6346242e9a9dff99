#!/usr/bin/env bash
# source_ranges: a client inside a range reaches the external IP, one
# outside is dropped (no answer at all); both reach the VIP and the node
# port; ranges changed at run time take effect; overlapping ranges do not
# fail the commit; the service deleted leaves no element behind.
#
#   client ns 10.250.1.2 (inside) + 10.250.3.2 (outside) --- node ns (vipd) --- b1
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

topo_up 1
start_httpd 1
# a second client address, routed back by the node
pc ip addr add 10.250.3.2/32 dev eth0
pn ip route add 10.250.3.2/32 dev vc
f=$tmp/services.json
ext=203.0.113.7
svc() {
	echo "{\"services\":{\"web\":{\"vip\":\"10.96.0.10\",\"external_ips\":[\"$ext\"],\"source_ranges\":[$1],
	  \"ports\":[{\"name\":\"http\",\"port\":80,\"target_port\":8080,\"node_port\":30080}]}},
	  \"endpoints\":{\"web\":{$(ep 1)}}}" | put_file "$f"
}
# get FROM URL: the answer, or "rc=N" (28: timed out)
get() {
	local out
	out=$(pc curl -s --interface "$1" --max-time 2 "$2") && echo "$out" || echo "rc=$?"
}
allowed() { pn nft list set ip vipd firewall-allow | grep -qF "$1"; }

# overlapping (10.250.1.2 is in 10.250.1.0/24) and of the other family
svc '"10.250.1.0/24","10.250.1.2/32","2001:db8::/32"'
start_vipd "$f"
wait_vip 10.96.0.10
within 5 allowed 10.250.1.0/24 || fail "10.250.1.0/24 not in firewall-allow"
pn nft list table ip vipd
allowed 10.250.1.2 && fail "10.250.1.2/32 lies in 10.250.1.0/24 and should have been merged into it"

say "inside the range: the external IP answers; outside: dropped"
get 10.250.1.2 http://10.250.1.1:30080/ >/dev/null	# neighbours found first
assert_eq "$(get 10.250.1.2 "http://$ext/")" b1 "inside client to the external IP"
assert_eq "$(get 10.250.3.2 "http://$ext/")" rc=28 "outside client to the external IP (timed out)"
say "the VIP and the node port are not filtered"
for from in 10.250.1.2 10.250.3.2; do
	assert_eq "$(get "$from" http://10.96.0.10/)" b1 "$from to the VIP"
	assert_eq "$(get "$from" http://10.250.1.1:30080/)" b1 "$from to the node port"
done

say "ranges changed at run time"
svc '"10.250.3.0/24"'
within 5 allowed 10.250.3.0/24 || fail "10.250.3.0/24 not in firewall-allow after the change"
allowed 10.250.1.0/24 && fail "10.250.1.0/24 still in firewall-allow"
assert_eq "$(get 10.250.3.2 "http://$ext/")" b1 "newly allowed client to the external IP"
assert_eq "$(get 10.250.1.2 "http://$ext/")" rc=28 "no longer allowed client to the external IP"

say "IPv6 ranges only: the IPv4 external IP drops every source"
svc '"2001:db8::/32"'
within 5 bash -c "! ip netns exec $node nft list set ip vipd firewall-allow | grep -q 10.250" ||
	fail "IPv4 ranges still in firewall-allow"
assert_eq "$(get 10.250.3.2 "http://$ext/")" rc=28 "10.250.3.2 with IPv6 ranges only"
assert_eq "$(get 10.250.1.2 "http://$ext/")" rc=28 "10.250.1.2 with IPv6 ranges only"
assert_eq "$(get 10.250.1.2 http://10.96.0.10/)" b1 "the VIP with IPv6 ranges only"

say "no ranges: every source reaches the external IP"
svc ''
within 5 bash -c "! ip netns exec $node nft list set ip vipd firewall | grep -qF $ext" ||
	fail "$ext still in firewall without source_ranges"
for from in 10.250.1.2 10.250.3.2; do
	assert_eq "$(get "$from" "http://$ext/")" b1 "$from to the external IP without ranges"
done

say "a restart reads the elements back and changes nothing"
svc '"10.250.1.0/24","10.250.0.0/16"'
within 5 allowed 10.250.0.0/16 || fail "10.250.0.0/16 not in firewall-allow"
before=$(pn nft list set ip vipd firewall-allow)
stop_vipd TERM
start_vipd "$f"
sleep 1.5	# a restart that changed an element would show in the listing below
assert_eq "$(pn nft list set ip vipd firewall-allow)" "$before" "firewall-allow after a restart"
assert_eq "$(get 10.250.3.2 "http://$ext/")" b1 "10.250.3.2 in 10.250.0.0/16 after the restart"

say "the service deleted leaves no element"
echo '{"services":{},"endpoints":{}}' | put_file "$f"
within 5 bash -c "! ip netns exec $node nft list map ip vipd services | grep -q 10.96.0.10" ||
	fail "service still in the services map"
for s in firewall firewall-allow; do
	pn nft list set ip vipd "$s" | grep -q elements && fail "set $s still has elements"
done
logged "$vipd_log" "kernel refused" && fail "a commit was refused: $(grep 'kernel refused' "$vipd_log")"
say "PASS"

#!/usr/bin/env bash
# Masquerade only where needed: a backend reaching its own service through
# the VIP (hairpin) is masqueraded; with --cluster-cidr, traffic to a VIP or
# node port from outside the CIDR is; --masquerade-all masquerades all of
# it; nothing else is. Each case asserts the source address the backend saw.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

topo_up 1
# A frame from b1 DNATed back to b1 leaves the bridge by the port it came
# in on: with br_netfilter loaded (bridged frames take the IP hooks) the
# bridge sends it back only in hairpin mode, as container bridges set it.
pn ip link set vb1 type bridge_slave hairpin on
# a second client address, outside the cluster CIDR used below
pc ip addr add 10.250.3.2/32 dev eth0
pn ip route add 10.250.3.2/32 dev vc
# the backend answers with the source address it sees
bg_ns "$(bns 1)" socat TCP-LISTEN:8080,fork,reuseaddr 'SYSTEM:echo peer=$SOCAT_PEERADDR'
wait_port 1 8080
f=$tmp/services.json
echo '{"services":{"web":{"vip":"10.96.0.10","ports":[{"name":"http","port":80,"protocol":"tcp","target_port":8080,"node_port":30080}]}},
 "endpoints":{"web":{'"$(ep 1)"'}}}' | put_file "$f"

# peer NS [SRC] ADDR PORT: the source address the backend saw.
peer() {
	local ns=$1 bind=
	[[ $# -eq 4 ]] && bind=,bind=$2 && shift
	ip netns exec "$ns" timeout 5 socat -T 2 - "TCP:$2:$3$bind" </dev/null |
		sed -n 's/^peer=//p'
}
saw() { assert_eq "$(peer "$@")" "$expect" "source seen by the backend for ${*}"; }

run_with() {
	[[ -n $vipd_pid ]] && stop_vipd TERM
	: >"$vipd_log"
	start_vipd "$f" "$@"
	wait_vip 10.96.0.10
	wait_logged 5 "$vipd_log" 'reconciled all' "$vipd_pid"
}

say "no flags: only hairpin is masqueraded"
run_with
expect=10.250.1.2 saw "$client" 10.96.0.10 80
expect=10.250.1.2 saw "$client" 10.250.1.1 30080
expect=10.250.3.2 saw "$client" 10.250.3.2 10.96.0.10 80
expect=10.250.2.1 saw "$(bns 1)" 10.96.0.10 80
expect=10.250.2.1 saw "$(bns 1)" 10.250.2.1 30080

say "--cluster-cidr 10.250.1.0/24: sources outside it are masqueraded"
run_with --cluster-cidr 10.250.1.0/24
expect=10.250.1.2 saw "$client" 10.96.0.10 80
expect=10.250.1.2 saw "$client" 10.250.1.1 30080
expect=10.250.2.1 saw "$client" 10.250.3.2 10.96.0.10 80
expect=10.250.2.1 saw "$client" 10.250.3.2 10.250.1.1 30080
expect=10.250.3.2 saw "$client" 10.250.3.2 10.250.2.11 8080 # not a service: untouched

say "--masquerade-all: every flow to a service is masqueraded, nothing else"
run_with --masquerade-all
expect=10.250.2.1 saw "$client" 10.96.0.10 80
expect=10.250.2.1 saw "$client" 10.250.1.1 30080
expect=10.250.1.2 saw "$client" 10.250.2.11 8080

say "the flags changed the rules in place: one masquerade rule per kind, no leftovers"
n=$(pn nft list chain ip vipd postrouting | grep -c "masquerade comment" || true)
assert_eq "$n" 3 "masquerade rules in postrouting"
assert_alive "$vipd_pid" vipd
echo PASS

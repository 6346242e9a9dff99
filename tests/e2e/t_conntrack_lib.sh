#!/usr/bin/env bash
# datapath/conntrack.c on real conntrack entries in $node (through
# tests/e2e/ct_tool; no vipd): CT_TO_BACKEND deletes only the entries of
# that frontend DNATed to that backend, CT_UNNATED only the un-NATed ones,
# any destination works (node ports), IPv6 too; a one-way UDP sender pinned
# to a removed backend reaches the new one right after ct_delete; and the
# time of ct_delete for 10,000 entries, with and without 10,000 others.
#
#   $client 10.250.1.2 fd00:1::2 ── $node (table ip/ip6 t: DNAT maps) ── br0
#                                     ├── $b1 10.250.2.11 fd00:2::11
#                                     └── $b2 10.250.2.12 fd00:2::12
#
# Matching entries are injected with `conntrack -I` (exact tuples and NAT);
# the pinned sender and the timings use real datagrams through the DNAT.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

CT_TOOL=${CT_TOOL:-$root_dir/build/e2e/ct_tool}
[[ -x $CT_TOOL ]] || fail "ct_tool not found at $CT_TOOL (make build/e2e/ct_tool)"

topo_up 2
pn sysctl -qw net.ipv6.conf.all.forwarding=1
pn ip addr add fd00:1::1/64 dev vc nodad
pc ip addr add fd00:1::2/64 dev eth0 nodad
pc ip route add default via fd00:1::1
pn ip addr add fd00:2::1/64 dev br0 nodad
for i in 1 2; do
	pb "$i" ip addr add "fd00:2::1$i/64" dev eth0 nodad
	pb "$i" ip route add default via fd00:2::1
done

# DNAT of UDP by destination . port, as vipd's maps do (conntrack -I
# --dst-nat also needs a NAT hook in the namespace).
pn nft -f - <<'NFT'
table ip t {
	map svc { type ipv4_addr . inet_service : ipv4_addr . inet_service; }
	chain pre { type nat hook prerouting priority dstnat; meta l4proto udp dnat ip to ip daddr . udp dport map @svc; }
}
table ip6 t {
	map svc { type ipv6_addr . inet_service : ipv6_addr . inet_service; }
	chain pre { type nat hook prerouting priority dstnat; meta l4proto udp dnat ip6 to ip6 daddr . udp dport map @svc; }
}
NFT

ct() { pn "$CT_TOOL" "$@"; }
# deleted OUTPUT: N of ct_tool's "deleted N in T ms".
deleted() { awk '{ print $2 }' <<<"$1"; }
# inject SPORT ORIG_DST DPORT [PROTO] [DNAT_TO]: one entry from the client.
inject() {
	local src=10.250.1.2 p=${4:-udp} extra=()
	[[ $2 == *:* ]] && src=fd00:1::2
	[[ $p == tcp ]] && extra+=(--state ESTABLISHED)
	[[ -n ${5:-} ]] && extra+=(--dst-nat "$5")
	pn conntrack -I -p "$p" -s "$src" -d "$2" --sport "$1" --dport "$3" -t 120 "${extra[@]}" >/dev/null 2>&1 ||
		fail "conntrack -I $*"
}
# ports FAMILY: the original source ports of the entries left, sorted.
ports() {
	pn conntrack -L -f "$1" 2>/dev/null | grep -oE 'sport=[0-9]+' | awk -F= 'NR % 2 == 1 { print $2 }' |
		sort -n | tr '\n' ' ' | sed 's/ $//'
}

say "without CAP_NET_ADMIN: an error with its text, nothing deleted"
inject 4999 10.96.0.10 53
if out=$(pn setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all \
	"$CT_TOOL" delete unnated udp 10.96.0.10 53 2>&1); then
	fail "ct_delete without CAP_NET_ADMIN succeeded: $out"
fi
echo "$out"
[[ $out == *"conntrack dump (ipv4): Operation not permitted"* ]] || fail "error text: $out"
out=$(ct delete unnated udp 10.96.0.10 53)
assert_eq "$(deleted "$out")" 1 "the entry, deleted with the capability"

say "IPv4: 11 entries to 10.96.0.10 and others"
V=10.96.0.10 B1=10.250.2.11 B2=10.250.2.12
inject 5001 $V 53 udp $B1:5353
inject 5002 $V 53 udp $B1:5353
inject 5003 $V 53 udp $B2:5353        # another backend
inject 5004 $V 53 udp $B1:5354        # the same address, another port
inject 5005 $V 54 udp $B1:5353        # another frontend port
inject 5006 $V 53 tcp $B1:5353        # TCP
inject 5007 $V 53                     # un-NATed
inject 5008 $V 54                     # un-NATed, another port
inject 5009 10.96.0.11 53 udp $B1:5353 # another VIP, same port
inject 5010 10.250.1.1 53 udp $B1:5353 # a node address (node port)
inject 5011 10.96.0.11 53             # un-NATed, another VIP
assert_eq "$(ports ipv4)" "5001 5002 5003 5004 5005 5006 5007 5008 5009 5010 5011" "entries made"

out=$(ct delete to udp $V 53 $B1 5353)
echo "$out"
assert_eq "$(deleted "$out")" 2 "CT_TO_BACKEND $V:53 -> $B1:5353"
assert_eq "$(ports ipv4)" "5003 5004 5005 5006 5007 5008 5009 5010 5011" "left after CT_TO_BACKEND"

out=$(ct delete to udp $V 53 $B1 5353)
assert_eq "$(deleted "$out")" 0 "the same match again"

out=$(ct delete unnated udp $V 53)
echo "$out"
assert_eq "$(deleted "$out")" 1 "CT_UNNATED $V:53"
assert_eq "$(ports ipv4)" "5003 5004 5005 5006 5008 5009 5010 5011" "left after CT_UNNATED"

out=$(ct delete to udp any4 53 $B1 5353)
echo "$out"
assert_eq "$(deleted "$out")" 2 "CT_TO_BACKEND any:53 -> $B1:5353"
assert_eq "$(ports ipv4)" "5003 5004 5005 5006 5008 5011" "left after any_dst CT_TO_BACKEND"

out=$(ct delete unnated udp any4 53)
assert_eq "$(deleted "$out")" 1 "CT_UNNATED any:53"
assert_eq "$(ports ipv4)" "5003 5004 5005 5006 5008" "left after any_dst CT_UNNATED"

out=$(ct delete to tcp $V 53 $B1 5353)
assert_eq "$(deleted "$out")" 1 "the TCP entry, named as TCP"
assert_eq "$(ports ipv4)" "5003 5004 5005 5008" "left after the TCP match"

say "IPv6 and IPv4 in one call, both kinds"
V6=fd96::10 B61=fd00:2::11 B62=fd00:2::12
inject 6001 $V6 53 udp "[$B61]:5353"
inject 6002 $V6 53 udp "[$B62]:5353"
inject 6003 $V6 53
inject 6004 $V6 54
inject 6005 fd00:1::1 53 udp "[$B61]:5353"
inject 6006 $V6 53 udp "[$B61]:5354"
assert_eq "$(ports ipv6)" "6001 6002 6003 6004 6005 6006" "IPv6 entries made"
out=$(ct delete to udp $V6 53 $B61 5353 unnated udp $V6 53 to udp any6 53 $B61 5353 to udp $V 53 $B2 5353)
echo "$out"
assert_eq "$(deleted "$out")" 4 "IPv6 to-backend, un-NATed, any destination, and one IPv4"
assert_eq "$(ports ipv6)" "6002 6004 6006" "IPv6 left"
assert_eq "$(ports ipv4)" "5004 5005 5008" "IPv4 left"
pn conntrack -F >/dev/null 2>&1

say "a one-way sender pinned to a removed backend moves after ct_delete"
VS=10.96.0.20
for i in 1 2; do
	: >"$tmp/b$i.out"
	bg_ns "$(bns "$i")" socat -u UDP-RECV:5353 OPEN:"$tmp/b$i.out",append
done
pn nft add element ip t svc "{ $VS . 53 : $B1 . 5353 }"
bg_ns "$client" "$CT_TOOL" send-stream $VS 53 4000 600 50 # at most 30 s
sender=$!
lines() { wc -l <"$tmp/b$1.out"; }
got() { [[ $(lines "$1") -ge $2 ]]; }
within 5 got 1 3 || fail "b1 receives nothing from the sender"
# The backend leaves: its element is replaced, as a reconcile would.
pn nft delete element ip t svc "{ $VS . 53 }"
pn nft add element ip t svc "{ $VS . 53 : $B2 . 5353 }"
before=$(lines 1)
within 5 got 1 $((before + 10)) || fail "b1 no longer receives (the flow was expected to stay pinned)"
assert_eq "$(lines 2)" 0 "datagrams at b2 while the old entry lives"
echo "pinned: b1 got $(lines 1) datagrams after the switch began, b2 0"
out=$(ct delete to udp $VS 53 $B1 5353)
echo "$out"
assert_eq "$(deleted "$out")" 1 "the pinned sender's entry"
since_ms=$(now_ms) within 2 got 2 3 || fail "b2 receives nothing within 2 s of ct_delete"
at1=$(lines 1)
sleep 0.5
assert_le "$(lines 1)" $((at1 + 1)) "datagrams still at b1 after the move"
echo "moved: b2 got $(lines 2) datagrams, b1 stopped at $(lines 1)"
stop_pid "$sender" TERM sender

say "time of ct_delete for 10,000 entries to one backend"
pn conntrack -F >/dev/null 2>&1
pn nft delete element ip t svc "{ $VS . 53 }"
pn nft add element ip t svc "{ $VS . 53 : $B1 . 6000 }"
# count BACKEND: entries DNATed to it (their reply source).
count() { pn conntrack -L -p udp --reply-src "$1" 2>/dev/null | grep -c .; }
timeout 60 ip netns exec "$client" "$CT_TOOL" send-ports $VS 53 20000 10000
n1=$(count $B1)
echo "entries to b1: $n1"
assert_ge "$n1" 9900 "entries made by 10,000 source ports"
out=$(ct delete to udp $VS 53 $B1 6000)
echo "alone:              $out"
assert_eq "$(deleted "$out")" "$n1" "entries deleted"
assert_eq "$(count $B1)" 0 "entries to b1 left"

timeout 60 ip netns exec "$client" "$CT_TOOL" send-ports $VS 53 20000 10000
pn nft delete element ip t svc "{ $VS . 53 }"
pn nft add element ip t svc "{ $VS . 53 : $B2 . 6000 }"
timeout 60 ip netns exec "$client" "$CT_TOOL" send-ports $VS 53 30000 10000
n1=$(count $B1) n2=$(count $B2)
echo "entries to b1: $n1, to b2: $n2, in all: $(pn conntrack -C)"
assert_ge "$n2" 9900 "unrelated entries"
out=$(ct delete to udp 10.96.0.99 53 $B1 6000)
echo "no match, 20k:      $out"
assert_eq "$(deleted "$out")" 0 "entries deleted by a match that names none"
out=$(ct delete to udp $VS 53 $B1 6000)
echo "with 10k others:    $out"
assert_eq "$(deleted "$out")" "$n1" "entries deleted beside 10,000 others"
assert_eq "$(count $B2)" "$n2" "unrelated entries left"

timeout 60 ip netns exec "$client" "$CT_TOOL" send-ports $VS 53 40000 10000
n2=$(count $B2)
out=$(ct delete --pad 10000 to udp $VS 53 $B2 6000)
echo "10,001 matches:     $out"
assert_eq "$(deleted "$out")" "$n2" "entries deleted by one of 10,001 matches"

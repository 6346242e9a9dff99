#!/usr/bin/env bash
# maglev, as clients see it (DESIGN.md "Service semantics"):
#
#   topology vipd (node A)                 topology nb (node B)
#   client: 250 addresses                  client: the same 250 addresses
#     10.250.1.3 .. 10.250.1.252             10.250.1.3 .. 10.250.1.252
#        |                                      |
#   node A: vipd, one file write           node B: vipd, backends one by one,
#        |                                   a restart, b6 added then removed
#   b1 .. b5 (10.250.2.11 .. 15)           b1 .. b6 (10.250.2.11 .. 16)
#
# (a) weights 100:300 hold over 250 distinct clients; (b) two nodes with
# the same backends but different histories program the same table and
# send every client to the same backend; (c) one of 5 backends leaving
# moves only the clients it had.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

f=$tmp/services.json
addrs=()
for ((i = 3; i <= 252; i++)); do addrs+=("10.250.1.$i"); done

# client_addrs: the 250 client addresses on the current client's eth0
# (/32: the node reaches them on its 10.250.1.0/24 link by ARP).
client_addrs() {
	local a
	for a in "${addrs[@]}"; do echo "addr add $a/32 dev eth0"; done | ip -n "$client" -batch -
}

# probe: one new connection from each client address to the VIP; prints
# "ADDRESS BACKEND" (BACKEND "none" when nothing answered). At most
# 2 s each, 200 s in all.
probe() {
	# shellcheck disable=SC2016 # expanded by the inner bash
	timeout 200 ip netns exec "$client" bash -c '
		for a; do
			b=$(curl -s --max-time 2 --interface "$a" http://10.96.0.10:80/)
			echo "$a ${b:-none}"
		done' _ "${addrs[@]}"
}

# count_of NAME "PROBE": clients that NAME answered.
count_of() { awk -v b="$1" '$2 == b { n++ } END { print n + 0 }' <<<"$2"; }

# slots: the current node's backends map as "SLOT ADDRESS.PORT", by slot.
slots() {
	pn nft list map ip vipd backends |
		grep -oE '\. [0-9]+( comment "[^"]*")? : [0-9.]+ \. [0-9]+' |
		sed -E 's/^\. ([0-9]+)( comment "[^"]*")? : ([0-9.]+) \. ([0-9]+)$/\1 \3.\4/' | sort -n
}

# backends_are "IP ...": the map holds exactly these backends (a
# transaction lands whole, so the table is then complete).
backends_are() {
	local want=$1 have
	have=$(pn nft list map ip vipd backends 2>/dev/null | grep -oE ': 10\.250\.2\.[0-9]+ \. 8080' |
		awk '{ print $2 }' | sort -u | tr '\n' ' ')
	[[ $have == "$want " ]]
}
wait_backends() { within 5 backends_are "$1" || fail "node $node: backends map is not '$1' after 5 s"; }

# web IDS...: a maglev services file with backends bN of the weights below.
declare -A weight=([1]=100 [2]=300 [3]=100 [4]=200 [5]=100 [6]=100)
web() {
	local i eps=()
	for i; do eps+=("$(ep "$i" "${weight[$i]}")"); done
	web_json maglev "${eps[@]}"
}

topo_up 5
client_addrs
for i in 1 2 3 4 5; do start_httpd "$i"; done

say "(a) weights 100:300, 250 client addresses"
web 1 2 | put_file "$f"
start_vipd "$f"
wait_vip 10.96.0.10
wait_backends "10.250.2.11 10.250.2.12"
table=$(slots)
assert_eq "$(wc -l <<<"$table")" 1021 "maglev slots"
light_slots=$(grep -c ' 10.250.2.11.8080$' <<<"$table")
echo "slots: b1 $light_slots, b2 $((1021 - light_slots)) of 1021"
out=$(probe)
b1=$(count_of b1 "$out") b2=$(count_of b2 "$out")
echo "clients: b1 $b1, b2 $b2 of 250"
assert_eq "$((b1 + b2))" 250 "clients answered"
# b1's share of clients is binomial twice over: slots of 1021 at 1/4
# (sd 0.0136) and clients of 250 over those slots (sd 0.0274): sd 0.0306,
# 7.6 clients. 4 sd: 62.5 +- 30. Maglev's own fill gave 127 of 250.
assert_ge "$b1" 33 "clients of b1 (weight 100 of 400: 62.5 - 4 sd)"
assert_le "$b1" 92 "clients of b1 (weight 100 of 400: 62.5 + 4 sd)"
# Slots alone: sd 13.8 of 255: 4 sd.
assert_ge "$light_slots" 200 "slots of b1 (255 - 4 sd)"
assert_le "$light_slots" 311 "slots of b1 (255 + 4 sd)"

say "(b) node A: b1..b5 in one file write"
web 1 2 3 4 5 | put_file "$f"
all5="10.250.2.11 10.250.2.12 10.250.2.13 10.250.2.14 10.250.2.15"
wait_backends "$all5"
table_a=$(slots)
clients_a=$(probe)
assert_eq "$(count_of none "$clients_a")" 0 "node A: clients without an answer"

say "(b) node B: b3; restart; b1, b5, b6, b2, b4 one by one; b6 removed"
topo_use nb
topo_up 6
client_addrs
for i in 1 2 3 4 5 6; do start_httpd "$i"; done
fb=$tmp/services-b.json
web 3 | put_file "$fb"
start_vipd_in "$node" "$tmp/vipd-b.log" --services-file "$fb"
b_pid=$started_pid
wait_backends "10.250.2.13"
stop_pid "$b_pid" TERM "vipd on node B"
web 3 1 | put_file "$fb"
start_vipd_in "$node" "$tmp/vipd-b.log" --services-file "$fb"
b_pid=$started_pid
wait_backends "10.250.2.11 10.250.2.13"
have="3 1"
for i in 5 6 2; do
	have="$have $i"
	# shellcheck disable=SC2086 # word splitting meant
	web $have | put_file "$fb"
	wait_backends "$(for j in $have; do backend_ip "$j"; done | sort | tr '\n' ' ' | sed 's/ $//')"
done
web 3 1 5 6 2 4 | put_file "$fb"
wait_backends "$all5 10.250.2.16"
web 3 1 5 2 4 | put_file "$fb"
wait_backends "$all5"
assert_alive "$b_pid" "vipd on node B"
table_b=$(slots)
clients_b=$(probe)
assert_eq "$(wc -l <<<"$table_b")" 1021 "node B: maglev slots"
diff <(echo "$table_a") <(echo "$table_b") >"$tmp/table.diff" ||
	{ head -n 20 "$tmp/table.diff"; fail "nodes A and B program different maglev tables"; }
diff <(echo "$clients_a") <(echo "$clients_b") >"$tmp/clients.diff" ||
	{ head -n 20 "$tmp/clients.diff"; fail "nodes A and B send clients to different backends"; }
echo "1021 slots and 250 clients alike on both nodes; clients per backend:"
for i in 1 2 3 4 5; do echo "  b$i (weight ${weight[$i]}): $(count_of "b$i" "$clients_a")"; done

say "(c) node A: b3 of 5 leaves"
topo_use vipd
web 1 2 4 5 | put_file "$f"
wait_backends "10.250.2.11 10.250.2.12 10.250.2.14 10.250.2.15"
after=$(probe)
moved=0 others=0 stayed_on_b3=0
while read -r a before_b; do
	now=$(awk -v a="$a" '$1 == a { print $2 }' <<<"$after")
	if [[ $before_b == b3 ]]; then
		((++moved))
		[[ $now != b3 && $now != none ]] || ((++stayed_on_b3))
	elif [[ $now != "$before_b" ]]; then
		((++others))
		echo "  $a: $before_b -> $now"
	fi
done <<<"$clients_a"
echo "b3's $moved clients moved; $others other clients moved"
assert_ge "$moved" 1 "clients b3 had"
assert_eq "$stayed_on_b3" 0 "b3's clients without a live backend"
assert_eq "$others" 0 "clients of b1, b2, b4, b5 that moved"
assert_alive "$vipd_pid" vipd

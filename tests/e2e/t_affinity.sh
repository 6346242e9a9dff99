#!/usr/bin/env bash
# affinity_timeout: kube-proxy's ClientIP affinity. One client sticks for
# the timeout, another client is independent, the affine backend removed
# moves the client at once, a backend added moves nobody, and 10,000
# affine clients add no chain or rule.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

topo_up 3
for i in 1 2 3; do start_httpd "$i"; done
# eight more client addresses, 10.250.1.101-108 (on the client's subnet)
for k in $(seq 101 108); do pc ip addr add "10.250.1.$k/24" dev eth0; done
f=$tmp/services.json
aff() { # aff TIMEOUT EP...
	local t=$1 IFS=,
	shift
	printf '{"services":{"web":{"vip":"10.96.0.10","affinity_timeout":%d,"ports":[{"name":"http","port":80,"protocol":"tcp","target_port":8080,"node_port":30080}]}},"endpoints":{"web":{%s}}}\n' "$t" "$*"
}
aff 3 "$(ep 1)" "$(ep 2)" "$(ep 3)" | put_file "$f"
start_vipd "$f"
wait_vip 10.96.0.10

# from SRC [N [URL]]: the backends N new connections from SRC reached, one line each
from() {
	local k
	for ((k = 0; k < ${2:-1}; k++)); do
		pc curl -s --max-time 2 --interface "$1" "${3:-http://10.96.0.10/}"
	done
}
distinct() { sort -u | grep -c . || true; }

say "one client sticks: 30 connections, one backend"
first=$(from 10.250.1.2 1)
assert_eq "$(from 10.250.1.2 30 | distinct)" 1 "backends seen by one affine client"
assert_eq "$(from 10.250.1.2 5 | sort -u)" "$first" "the client's backend"

say "other clients are independent: 8 clients, more than one backend"
seen=$(for k in $(seq 101 108); do from "10.250.1.$k" 1; done | distinct)
assert_ge "$seen" 2 "backends over 8 affine clients"
n=$(pn nft list map ip vipd affinity | grep -c '10.96.0.10 . tcp . 80' || true)
assert_eq "$n" 9 "affinity entries (one per client)"

say "through the node port too"
assert_eq "$(from 10.250.1.2 10 http://10.250.1.1:30080/ | distinct)" 1 "backends via the node port"

say "a backend added moves nobody"
aff 3 "$(ep 1)" "$(ep 2)" "$(ep 3)" '"b4":{"ip":"10.250.2.14","port":8080}' | put_file "$f"
sleep 0.5
assert_eq "$(from 10.250.1.2 10 | sort -u)" "$first" "backend after one was added"

say "the affine backend removed: the client moves at once, and sticks again"
keep=()
for i in 1 2 3; do [[ b$i == "$first" ]] || keep+=("$(ep "$i")"); done
t0=$(now_ms)
aff 3 "${keep[@]}" | put_file "$f"
moved() { [[ $(from 10.250.1.2 1) != "$first" ]]; }
since_ms=$t0 within 1 moved || fail "client still sent to $first 1 s after it left"
echo "moved after $(($(now_ms) - t0)) ms"
second=$(from 10.250.1.2 1)
assert_eq "$(from 10.250.1.2 10 | sort -u)" "$second" "backend after the move"

say "idle longer than the timeout: the client is balanced again"
# Its entry expires (the kernel's part, checked first), then each
# connection after an idle timeout is a fresh random pick of the two
# backends: up to 12 of them until two backends were seen (a false
# failure is 1 in 2,048, where 6 connections were 1 in 32).
entries() { pn nft list map ip vipd affinity | grep -c '10\.250\.1\.2 \. 10\.96\.0\.10 ' || true; }
assert_ge "$(entries)" 1 "affinity entries of the client while it is affine"
sleep 3.3
assert_eq "$(entries)" 0 "affinity entries of the client after an idle timeout"
got=()
for ((r = 0; r < 12; r++)); do
	got+=("$(from 10.250.1.2 1)")
	[[ $(printf '%s\n' "${got[@]}" | distinct) -ge 2 ]] && break
	sleep 3.3
done
assert_ge "$(printf '%s\n' "${got[@]}" | distinct)" 2 "backends over ${#got[@]} connections 3.3 s apart"

say "10,000 affine clients add no chain or rule"
shape() { pn nft list table ip vipd | grep -cE '^\s*chain |comment "[^"]*"$' || true; }
before=$(shape)
{
	echo "add element ip vipd affinity {"
	for ((k = 0; k < 10000; k++)); do
		printf '10.251.%d.%d . 10.96.0.10 . tcp . 80 timeout 60s : 10.250.2.12 . 8080,\n' $((k / 250)) $((k % 250 + 1))
	done
	echo "}"
} >"$tmp/clients.nft"
pn nft -f "$tmp/clients.nft"
n=$(pn nft list map ip vipd affinity | grep -c '10.251.' || true)
assert_ge "$n" 10000 "affinity entries"
assert_eq "$(shape)" "$before" "chains and rules with 10,000 affine clients"
assert_ge "$(from 10.250.1.2 3 | grep -c '^b' || true)" 3 "answers with 10,000 affine clients"
assert_alive "$vipd_pid" vipd
echo PASS

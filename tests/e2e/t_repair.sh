#!/usr/bin/env bash
# vipd owns its tables: an element deleted behind its back makes its next
# transaction fail; the failure is logged against the object, nothing of
# the failed transaction stays, vipd reads the kernel back and converges.
# A foreign element is swept on SIGHUP. Another table is never touched.
# shellcheck source=lib.sh
source "$(dirname "$0")/lib.sh"

topo_up 2
for i in 1 2; do start_httpd "$i"; done
f=$tmp/services.json
web_json random "$(ep 1)" "$(ep 2)" | put_file "$f"
start_vipd "$f"
wait_vip 10.96.0.10

say "delete b2's slot behind vipd's back, then remove b2 from the file"
slot=$(pn nft list map ip vipd backends | grep -o '10.96.0.10 . tcp . 80 . [0-9] comment "web/b2"' | awk '{ print $7 }')
[[ -n $slot ]] || fail "no backends element for b2"
pn nft delete element ip vipd backends "{ 10.96.0.10 . tcp . 80 . $slot }"
web_json random "$(ep 1)" | put_file "$f"

refused() { grep -q "kernel refused delete backends element 10.96.0.10 . tcp . 80 (web): No such file or directory" "$vipd_log"; }
within 2 refused || fail "the refused element was not reported with its VIP"
converged() {
	local m
	m=$(pn nft list map ip vipd backends)
	[[ $(grep -c 'comment "web/' <<<"$m") -eq 1 ]] && grep -q '10.250.2.11 . 8080' <<<"$m" &&
		pn nft list map ip vipd services | grep -q 'goto lb-1'
}
within 3 converged || { pn nft list map ip vipd backends; pn nft list map ip vipd services; fail "vipd did not converge after the refused transaction"; }
out=$(count_backends 10.96.0.10 80 20)
assert_eq "$(hits b1 "$out")" 20 "connections to b1 after recovery"
assert_alive "$vipd_pid" "vipd after a refused transaction"

say "a foreign element goes on SIGHUP; a foreign table stays"
pn nft add element ip vipd noendpoints '{ 10.96.9.9 . tcp . 81 }'
pn nft add table ip other
pn nft add chain ip other keep
before=$(pn nft list table ip other)
kill -HUP "$vipd_pid"
gone() { ! pn nft list set ip vipd noendpoints | grep -q 10.96.9.9; }
within 2 gone || fail "foreign element still in noendpoints 2 s after SIGHUP"
assert_eq "$(pn nft list table ip other)" "$before" "foreign table after SIGHUP"
out=$(count_backends 10.96.0.10 80 20)
assert_eq "$(hits b1 "$out")" 20 "connections to b1 after SIGHUP"

say "a foreign edit is repaired without any signal (generation polling)"
pn nft delete element ip vipd services '{ 10.96.0.10 . tcp . 80 }'
back() { pn nft list map ip vipd services | grep -q 'comment "web:http" : goto lb-1'; }
within 3 back || fail "deleted services element not restored within 3 s"
grep -q "changed by another writer" "$vipd_log" || fail "the repair was not logged"
out=$(count_backends 10.96.0.10 80 20)
assert_eq "$(hits b1 "$out")" 20 "connections to b1 after the repair"
say "ok"

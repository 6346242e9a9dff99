#!/usr/bin/env bash
# Foreign edits of vipd's chains and rules are repaired within 2 s without
# a signal, each logged once: a flushed prerouting chain (all DNAT gone),
# an inserted drop, a rule added to a class chain, a flushed table, and a
# foreign chain added inside table vipd (also when it is there at start).
# After each repair the table reads as before and the client gets through.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

topo_up 2
for i in 1 2; do start_httpd "$i"; done
f=$tmp/services.json
web_json random "$(ep 1)" "$(ep 2)" | put_file "$f"
start_vipd "$f"
wait_vip 10.96.0.10
shape() { pn nft list table ip vipd | static_rules | sed 's/^[[:space:]]*//' | sort; }
sleep 0.5
before=$(shape)
answers() { [[ $(pc curl -s --max-time 0.5 http://10.96.0.10/) == b[12] ]]; }
answers || fail "web does not answer before the edits"

# edit WHAT NFT-ARGS...: the edit, then within 2 s: logged once, the client
# answered, the table as before.
edit() {
	local what=$1 t0 n
	shift
	n=$(grep -c 'chains or rules were changed by another writer\|holds chains vipd does not make' "$vipd_log" || true)
	t0=$(now_ms)
	pn nft "$@"
	repaired() { [[ $(shape) == "$before" ]]; }
	since_ms=$t0 within 2 repaired || { diff <(echo "$before") <(shape); fail "$what: table not repaired 2 s later"; }
	echo "$what: repaired in $(($(now_ms) - t0)) ms"
	answers || fail "$what: web does not answer after the repair"
	[[ $(grep -c 'chains or rules were changed by another writer\|holds chains vipd does not make' "$vipd_log" || true) -gt $n ]] ||
		fail "$what: the repair was not logged"
}

say "edits of vipd's own chains"
edit "flush chain prerouting" flush chain ip vipd prerouting
edit "inserted drop" insert rule ip vipd prerouting drop
edit "rule added to lb-2" insert rule ip vipd lb-2 counter drop
edit "flush table" flush table ip vipd
edit "foreign chain inside table vipd" add chain ip vipd evil '{ type filter hook input priority 0; policy drop; }'
pn nft add chain ip vipd aa
pn nft add chain ip vipd bb
edit "foreign chain jumping to another" add rule ip vipd bb jump aa
assert_alive "$vipd_pid" vipd

say "a foreign chain present when vipd starts is removed"
stop_vipd TERM
pn nft add chain ip vipd evil '{ type filter hook input priority 0; policy drop; }'
start_vipd "$f"
gone() { ! pn nft list chain ip vipd evil >/dev/null 2>&1; }
within 2 gone || fail "chain evil still in table vipd 2 s after the start"
within 2 answers || fail "web does not answer after the restart"
grep -q 'holds chains vipd does not make (ip evil); removing them' "$vipd_log" || fail "the removal at start was not logged"

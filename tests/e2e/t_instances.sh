#!/usr/bin/env bash
# Two vipds on one table in one network namespace would "repair" each
# other's changes forever. The second one (daemon, --once or --cleanup)
# refuses to start with one line naming the first one's pid, and the first
# one's backends stay put; another --table may run beside it; after a
# kill -9 of the first, the table is free at once.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

topo_up 2
start_httpd 1
start_httpd 2
fa=$tmp/a.json fb=$tmp/b.json
web_json random "$(ep 1)" | put_file "$fa"
web_json random "$(ep 2)" | put_file "$fb"
start_vipd "$fa"
wait_vip 10.96.0.10
backends() { pn nft list map ip vipd backends | grep -o '10\.250\.2\.1[0-9] \. 8080' | sort -u | tr '\n' ' '; }
assert_eq "$(backends)" "10.250.2.11 . 8080 " "backends of the first vipd"

# second WHAT ARGS...: a second vipd on the table must exit non-zero at once,
# saying who holds the table.
second() {
	local what=$1 rc=0
	shift
	pn timeout 5 "$VIPD" "$@" 2>"$tmp/second.log" || rc=$?
	cat "$tmp/second.log"
	[[ $rc -ne 0 && $rc -ne 124 ]] || fail "$what: a second vipd on table vipd exited $rc (want a refusal at once)"
	grep -q "held by another vipd (pid $vipd_pid)" "$tmp/second.log" ||
		fail "$what: the refusal does not name the first vipd's pid $vipd_pid"
	[[ $(wc -l <"$tmp/second.log") -eq 1 ]] || fail "$what: want one line, got $(wc -l <"$tmp/second.log")"
}

say "a second daemon, --once and --cleanup on the same table are refused"
second daemon --services-file "$fb" --state-dir off
second --once --services-file "$fb" --once
second --cleanup --cleanup
sleep 1.5	# two fighting vipds flip the backends within a second
assert_eq "$(backends)" "10.250.2.11 . 8080 " "backends after the refused instances"
assert_eq "$(pc curl -s --max-time 2 http://10.96.0.10/)" b1 "client through the first vipd"
assert_alive "$vipd_pid" "first vipd"

say "another table runs beside it"
pn "$VIPD" --services-file "$fb" --table other --once 2>>"$vipd_log" || fail "vipd --table other --once failed beside the first vipd"
pn nft list table ip other >/dev/null || fail "table ip other missing"
pn "$VIPD" --table other --cleanup 2>>"$vipd_log"

say "kill -9 of the first: the table is free at once"
stop_vipd KILL
pn timeout 5 "$VIPD" --services-file "$fb" --once 2>>"$vipd_log" || fail "vipd --once after the first one died: refused"
assert_eq "$(backends)" "10.250.2.12 . 8080 " "backends after the takeover"
say "ok"

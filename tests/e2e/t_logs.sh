#!/usr/bin/env bash
# What the operator reads on stderr: by default every line starts with a
# UTC timestamp; when stderr is the journal's stream (JOURNAL_STREAM names
# its device and inode, as systemd sets it) lines carry only a <N>
# priority; --log-format text overrides that; and -v names each change of
# a commit, with the backend it points to, up to 1,000 lines a commit.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

node_up
f=$tmp/services.json
web_json random "$(ep 1)" | put_file "$f"
ts='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z'

# all_lines FILE REGEX WHAT: FILE has lines, and every one matches REGEX.
all_lines() {
	[[ -s $1 ]] || fail "$3: no log lines"
	! grep -vE -- "$2" "$1" || fail "$3: the lines above do not match $2"
}
# once LOG [ARGS...]: vipd -v --once, stderr appended to LOG (exit 0).
once() {
	local log=$1
	shift
	pn timeout 10 "$VIPD" -v --once --services-file "$f" "$@" 2>>"$log" ||
		fail "vipd --once $*: exit $? (log: $(cat "$log"))"
}
# stream FILE: JOURNAL_STREAM's value for FILE: st_dev:st_ino, decimal.
stream() { stat -c '%d:%i' "$1"; }

say "default: a timestamp, then the program and the level"
start_vipd "$f"
wait_logged 5 "$vipd_log" 'reconciled all' "$vipd_pid" || fail "no 'reconciled all' within 5 s"
all_lines "$vipd_log" "^$ts vipd: (error|warning|info|debug): " "default format"
logged "$vipd_log" "^$ts vipd: debug: add element ip vipd backends \{ 10\.96\.0\.10 \. tcp \. 80 \. 0 : 10\.250\.2\.11 \. 8080 \} \(web/b1\)$" ||
	fail "-v: no line for b1's element at the full sync"

say "-v: a change logs the element it adds, naming the backend"
web_json random "$(ep 1)" "$(ep 2)" | put_file "$f"
wait_logged 5 "$vipd_log" 'add element ip vipd backends \{ 10\.96\.0\.10 \. tcp \. 80 \. 1 : 10\.250\.2\.12 \. 8080 \} \(web/b2\)$' "$vipd_pid" ||
	fail "-v: no element line for the added b2 within 5 s"
stop_vipd TERM
assert_eq "$vipd_status" 0 "vipd exit status"

say "stderr is the journal's stream: <N> priorities, no timestamp, no name"
: >"$tmp/journal"
JOURNAL_STREAM=$(stream "$tmp/journal") once "$tmp/journal"
all_lines "$tmp/journal" '^<[3467]>[^<0-9]' "journal format"
logged "$tmp/journal" '^<6>reconciled all 1 services' || fail "journal: no <6> line for the reconcile"
logged "$tmp/journal" '^<7>add chain ip vipd lb-2$' || fail "journal: no <7> line for a change"

say "JOURNAL_STREAM inherited, stderr elsewhere: text"
: >"$tmp/other"
JOURNAL_STREAM=$(stream "$tmp/journal") once "$tmp/other"
all_lines "$tmp/other" "^$ts vipd: " "stderr not the journal's stream"

say "--log-format text overrides the journal"
: >"$tmp/text"
JOURNAL_STREAM=$(stream "$tmp/text") once "$tmp/text" --log-format text
all_lines "$tmp/text" "^$ts vipd: " "--log-format text"

say "--log-format journal without the journal; a bad value is refused"
: >"$tmp/forced"
once "$tmp/forced" --log-format journal
all_lines "$tmp/forced" '^<[3467]>[^<0-9]' "--log-format journal"
rc=0
out=$(pn "$VIPD" --log-format syslog 2>&1) || rc=$?
assert_eq "$rc" 2 "--log-format syslog: exit status"
assert_eq "$out" "vipd: error: --log-format syslog: expected text or journal" "--log-format syslog"

say "-v: at most 1,000 change lines a commit, then how many more"
python3 -c '
import json
n = 600
s = {"s%d" % i: {"vip": "10.97.%d.%d" % (i // 250, i % 250 + 1), "ports": [{"port": 80}]} for i in range(n)}
e = {"s%d" % i: {"e1": {"ip": "10.250.2.11", "port": 8080, "weight": 100}} for i in range(n)}
print(json.dumps({"services": s, "endpoints": e}))' | put_file "$f"
: >"$tmp/big"
pn timeout 20 "$VIPD" -v --once --services-file "$f" --table big 2>>"$tmp/big" || fail "vipd --once on 600 services: exit $?"
total=$(sed -nE 's/.*reconciled all 600 services: ([0-9]+) changes.*/\1/p' "$tmp/big")
[[ $total -gt 1000 ]] || fail "600 services: $total changes, want over 1,000 (the test needs them)"
assert_eq "$(grep -cE "^$ts vipd: debug: (add|delete) (element|chain) " "$tmp/big")" 1000 "change lines"
logged "$tmp/big" "^$ts vipd: debug: \.\.\. and $((total - 1000)) more changes$" ||
	fail "no line '... and $((total - 1000)) more changes' after the first 1,000"

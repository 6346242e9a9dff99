#!/usr/bin/env bash
# Names at their limits (a 253-character service, 253-character endpoint
# ids that differ only at the end) make comments longer than the kernel
# keeps. They are shortened the same way every time (head, "~", a hash of
# the whole), so each element keeps a comment, two endpoints stay apart,
# and a restart or SIGHUP changes no more than it does for short names.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

topo_up 2
start_httpd 1
start_httpd 2
long=$(printf 'a%.0s' {1..253})
ida=$(printf 'e%.0s' {1..252})1 idb=$(printf 'e%.0s' {1..252})2
services() {
	printf '{"services":{"%s":{"vip":"10.96.0.10","ports":[{"name":"http","port":80,"protocol":"tcp","target_port":8080}]}},' "$1"
	printf '"endpoints":{"%s":{"%s":{"ip":"10.250.2.11"},"%s":{"ip":"10.250.2.12"}}}}\n' "$1" "$2" "$3"
}
# changes FILE: the changes of a second --once on FILE (the first loads it)
changes() {
	pn "$VIPD" --services-file "$1" --cleanup 2>>"$vipd_log"
	pn "$VIPD" --services-file "$1" --once 2>>"$vipd_log"
	pn "$VIPD" --services-file "$1" --once 2>&1 | tee -a "$vipd_log" |
		sed -nE 's/.*reconciled all [0-9]+ services: ([0-9]+) changes.*/\1/p'
}
services web b1 b2 >"$tmp/short.json"
services "$long" "$ida" "$idb" >"$tmp/long.json"

say "a second --once changes as much for long names as for short ones"
short_n=$(changes "$tmp/short.json")
long_n=$(changes "$tmp/long.json")
echo "second --once: $short_n changes (short names), $long_n changes (long names)"
[[ -n $short_n && $short_n == "$long_n" ]] || fail "long names: $long_n changes on a second --once, short names $short_n"

say "every element has a comment of at most 251 characters, the two endpoints' differ"
comments=$(pn nft list map ip vipd backends | grep -oE 'comment "a[^"]*"' | sort -u)
assert_eq "$(wc -l <<<"$comments")" 2 "distinct backend comments"
while read -r c; do
	c=${c#comment \"} c=${c%\"}
	[[ ${#c} -le 251 && $c == *~[0-9a-f]* ]] || fail "comment of ${#c} characters, not shortened: $c"
done <<<"$comments"
pn nft list map ip vipd services | grep -qE 'comment "a+~[0-9a-f]{8}"' || fail "the services element lost its comment"
assert_eq "$(pc curl -s --max-time 2 http://10.96.0.10/ | grep -c '^b[12]$')" 1 "client through the long-named service"

say "SIGHUP of a daemon on the long names: as many changes as the --once"
log_lines=$(wc -l <"$vipd_log")
start_vipd "$tmp/long.json"
started() { tail -n +$((log_lines + 1)) "$vipd_log" | grep -q 'reconciled all'; }
within 5 started || fail "the daemon did not reconcile"
log_lines=$(wc -l <"$vipd_log")
kill -HUP "$vipd_pid"
hup() { tail -n +$((log_lines + 1)) "$vipd_log" | grep -q 'reconciled all'; }
within 5 hup || fail "no reconcile after SIGHUP"
hup_n=$(tail -n +$((log_lines + 1)) "$vipd_log" | sed -nE 's/.*reconciled all [0-9]+ services: ([0-9]+) changes.*/\1/p' | head -n 1)
assert_eq "$hup_n" "$short_n" "changes after SIGHUP on long names"

say "an unrelated nft change in the namespace is not taken for an edit of vipd's table"
log_lines=$(wc -l <"$vipd_log")
pn nft add table ip other
sleep 2.5 # the generation is polled every second
! tail -n +$((log_lines + 1)) "$vipd_log" | grep -q 'changed by another writer' ||
	fail "a foreign table made vipd repair its own: $(tail -n 3 "$vipd_log")"

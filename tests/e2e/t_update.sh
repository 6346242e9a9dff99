#!/usr/bin/env bash
# Editing the services file moves traffic within a second: a removed backend
# gets no new connection, an added one gets some. Both ways of writing the
# file work: replace by rename (editors, config tools) and rewrite in place.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

topo_up 4
for i in 1 2 3 4; do start_httpd "$i"; done
f=$tmp/services.json
web_json random "$(ep 1)" "$(ep 2)" "$(ep 3)" | put_file "$f"
start_vipd "$f"
wait_vip 10.96.0.10

# 20 connections, all answered, none by backend $1.
none_from() {
	local out
	out=$(count_backends 10.96.0.10 80 20)
	[[ $(total "$out") -eq 20 && $(hits "$1" "$out") -eq 0 ]]
}
# 20 connections, some answered by backend $1.
some_from() {
	local out
	out=$(count_backends 10.96.0.10 80 20)
	[[ $(hits "$1" "$out") -gt 0 ]]
}
# check100 ZERO SOME...: 100 connections all answered, none by ZERO, some by each SOME.
check100() {
	local out b
	out=$(count_backends 10.96.0.10 80 100)
	echo "$out"
	assert_eq "$(total "$out")" 100 "answered requests"
	assert_eq "$(hits "$1" "$out")" 0 "connections to removed $1"
	shift
	for b in "$@"; do assert_ge "$(hits "$b" "$out")" 1 "connections to $b"; done
}

say "remove b2 (rename over the file)"
t0=$(now_ms)
web_json random "$(ep 1)" "$(ep 3)" | put_file "$f"
since_ms=$t0 within 1 none_from b2 || fail "b2 still gets connections (or some fail) 1 s after its removal"
check100 b2 b1 b3

say "add b4 (rename over the file)"
t0=$(now_ms)
web_json random "$(ep 1)" "$(ep 3)" "$(ep 4)" | put_file "$f"
since_ms=$t0 within 1 some_from b4 || fail "new backend b4 gets no connection 1 s after it was added"
check100 b2 b1 b3 b4

say "remove b1 (rewrite in place)"
t0=$(now_ms)
web_json random "$(ep 3)" "$(ep 4)" >"$f"
since_ms=$t0 within 1 none_from b1 || fail "b1 still gets connections (or some fail) 1 s after an in-place rewrite removed it"
check100 b1 b3 b4

say "add b2 back (rewrite in place)"
t0=$(now_ms)
web_json random "$(ep 2)" "$(ep 3)" "$(ep 4)" >"$f"
since_ms=$t0 within 1 some_from b2 || fail "b2 gets no connection 1 s after an in-place rewrite added it"
check100 b1 b2 b3 b4
assert_alive "$vipd_pid" vipd

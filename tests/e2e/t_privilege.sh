#!/usr/bin/env bash
# Without CAP_NET_ADMIN (vipd run as nobody in the node namespace): the
# daemon, --once and --cleanup exit non-zero at once with one line naming
# the capability, and the tables a privileged vipd made stay as they were.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

topo_up 1
start_httpd 1
f=$tmp/services.json
web_json random "$(ep 1)" | put_file "$f"
chmod 755 "$tmp"
chmod 644 "$f"
pn "$VIPD" --services-file "$f" --once 2>>"$vipd_log" || fail "privileged vipd --once failed"
before=$(pn nft list ruleset)

# unprivileged WHAT ARGS...: as nobody, exit non-zero within 5 s, one
# error line naming CAP_NET_ADMIN.
unprivileged() {
	local what=$1 rc=0
	shift
	pn timeout 5 setpriv --reuid 65534 --regid 65534 --clear-groups "$VIPD" "$@" 2>"$tmp/out" || rc=$?
	cat "$tmp/out"
	[[ $rc -ne 0 && $rc -ne 124 ]] || fail "$what without CAP_NET_ADMIN: exit $rc (want non-zero at once)"
	[[ $(grep -c 'error:' "$tmp/out") -eq 1 ]] || fail "$what: want one error line"
	grep -q 'error:.*CAP_NET_ADMIN' "$tmp/out" || fail "$what: the error does not name CAP_NET_ADMIN"
}

say "daemon, --once and --cleanup as nobody"
unprivileged daemon --services-file "$f" --state-dir off
unprivileged --once --services-file "$f" --once
unprivileged --cleanup --cleanup
assert_eq "$(pn nft list ruleset)" "$before" "ruleset after the unprivileged runs"
assert_eq "$(pc curl -s --max-time 2 http://10.96.0.10/)" b1 "client through the privileged tables"

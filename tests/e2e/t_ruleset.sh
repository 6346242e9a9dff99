#!/usr/bin/env bash
# The ruleset is readable and constant in shape: every object has a comment,
# the chains do not grow with services (only one class chain per distinct
# slot count, removed when unused), --dry-run touches no kernel state,
# --cleanup removes vipd's tables, and foreign tables are never touched.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

topo_up 0
f=$tmp/services.json

# many N K...: N services svc1..svcN (VIP 10.96.1.i:80); service i has
# K[(i-1) % #K] endpoints (default weight).
many() {
	local n=$1 i j sep=
	shift
	local counts=("$@")
	printf '{"services":{'
	for ((i = 1; i <= n; i++)); do
		printf '%s"svc%d":{"vip":"10.96.1.%d","ports":[{"name":"http","port":80,"protocol":"tcp","target_port":8080}],"algorithm":"random"}' "$sep" "$i" "$i"
		sep=,
	done
	printf '},\n"endpoints":{'
	sep=
	for ((i = 1; i <= n; i++)); do
		printf '%s"svc%d":{' "$sep" "$i"
		sep=,
		for ((j = 1; j <= counts[(i - 1) % ${#counts[@]}]; j++)); do
			printf '%s"e%d":{"ip":"10.250.3.%d","port":8080}' "$([[ $j -gt 1 ]] && echo ,)" "$j" "$j"
		done
		printf '}'
	done
	printf '}}\n'
}
once() { pn "$VIPD" --services-file "$f" --once 2>>"$vipd_log" || fail "vipd --once exited with status $?"; }
chains() { pn nft list table ip vipd | awk '$1 == "chain" { print $2 }' | sort; }
class_count() { grep -cE '^[a-z]+-[0-9]+$' <<<"$1" || true; }
non_class() { grep -vE '^[a-z]+-[0-9]+$' <<<"$1" || true; }
vips_in_map() { pn nft list map ip vipd services | grep -oE '10\.96\.1\.[0-9]+' | sort -u | wc -l; }

[[ -x $VIPD ]] || fail "vipd binary not found at $VIPD (run make)"
say "foreign tables before vipd"
pn nft -f - <<'EOF2'
table ip other {
	chain keep {
		type filter hook forward priority 10; policy accept;
		ip daddr 10.250.9.9 drop comment "foreign rule"
	}
}
table inet vipd {
	chain keep {
		comment "same name as vipd's tables, other family: not vipd's"
	}
}
EOF2
foreign() { pn nft -s list table ip other; pn nft -s list table inet vipd; }
foreign_before=$(foreign)
echo "$foreign_before"

say "1 service, 2 endpoints"
many 1 2 | put_file "$f"
once
c1=$(chains)
echo "chains: ${c1//$'\n'/ }"
pn nft list ruleset | grep -q 'table ip vipd' || fail "no table ip vipd after --once"
pn nft list ruleset >"$tmp/ruleset"
grep -qF 'comment "' "$tmp/ruleset" || fail "no comment in the ruleset"
# Objects (chain, map, set) of vipd's tables that carry no comment.
bare=$(awk '/^table / { t = $2 " " $3 }
	/^\t(chain|map|set) / { o = t " " $1 " " $2; c = 0; open = 1; next }
	open && /comment "/ { c = 1 }
	open && /^\t}/ { if (!c && t ~ / vipd$/ && t !~ /^inet /) print o; open = 0 }' "$tmp/ruleset")
[[ -z $bare ]] || { cat "$tmp/ruleset"; fail "objects without a comment: $bare"; }

say "50 services, 2 endpoints each: same chains"
many 50 2 | put_file "$f"
once
assert_eq "$(vips_in_map)" 50 "VIPs in the services map"
assert_eq "$(chains)" "$c1" "chains with 50 services"

say "50 services with 1..5 endpoints: at most one class chain per slot count"
many 50 1 2 3 4 5 | put_file "$f"
once
c=$(chains)
echo "chains: ${c//$'\n'/ }"
assert_eq "$(vips_in_map)" 50 "VIPs in the services map"
assert_eq "$(non_class "$c")" "$(non_class "$c1")" "non-class chains"
assert_le "$(class_count "$c")" 5 "class chains for 5 distinct slot counts"

say "back to 1 service: unused class chains are gone"
many 1 2 | put_file "$f"
once
assert_eq "$(chains)" "$c1" "chains"
assert_eq "$(vips_in_map)" 1 "VIPs in the services map"
assert_eq "$(foreign)" "$foreign_before" "foreign tables after vipd runs"

say "--dry-run prints the table and touches nothing"
dry=vipd-dry-$$
ns_add "$dry"
out=$(ip netns exec "$dry" "$VIPD" --services-file "$f" --dry-run 2>>"$vipd_log") || fail "vipd --dry-run exited with status $?"
echo "$out"
grep -q 'table ip vipd' <<<"$out" || fail "--dry-run output has no 'table ip vipd'"
grep -qF 10.96.1.1 <<<"$out" || fail "--dry-run output does not mention VIP 10.96.1.1"
assert_eq "$(ip netns exec "$dry" nft list ruleset)" "" "ruleset of a fresh namespace after --dry-run"
say "--dry-run output is what --once programs (comments, order and blank lines aside)"
# vipd tables listed with comments, blank lines and order normalized away.
vipd_tables() {
	{ ip netns exec "$1" nft -s list table ip vipd; ip netns exec "$1" nft -s list table ip6 vipd; } |
		sed -E 's/ comment "[^"]*"//; /^[[:space:]]*comment "/d; /^[[:space:]]*$/d' | sort
}
# nft 1.0.6 prints, but cannot read back, a concatenation with conntrack's
# original port in it (postrouting and aff-<T> rules): those lines are
# compared as text, everything else by loading the output into nft.
ct_orig='ct original proto-dst'
ip netns exec "$dry" nft -f - <<<"$(grep -vF "$ct_orig" <<<"$out")" || fail "nft does not accept the --dry-run output"
diff <(vipd_tables "$dry") <(vipd_tables "$node" | grep -vF "$ct_orig") ||
	fail "--dry-run output differs from the ruleset --once programs"
diff <(grep -F "$ct_orig" <<<"$out" | sed -E 's/ comment "[^"]*"//; s/^[[:space:]]*//' | sort) \
	<(vipd_tables "$node" | grep -F "$ct_orig" | sed -E 's/^[[:space:]]*//' | sort) ||
	fail "--dry-run prints the conntrack rules otherwise than nft lists them"
assert_ge "$(grep -cF "$ct_orig" <<<"$out")" 4 "conntrack rules in the --dry-run output"
before=$(pn nft -s list ruleset)
many 3 1 | put_file "$f"
pn "$VIPD" --services-file "$f" --dry-run >/dev/null 2>>"$vipd_log" || fail "vipd --dry-run exited with status $?"
assert_eq "$(pn nft -s list ruleset)" "$before" "node ruleset after --dry-run of another file"

say "--cleanup removes vipd's tables only"
pn "$VIPD" --services-file "$f" --cleanup 2>>"$vipd_log" || fail "vipd --cleanup exited with status $?"
tables=$(pn nft list tables)
echo "$tables"
! grep -qE '^table ip6? vipd$' <<<"$tables" || fail "vipd's tables still there after --cleanup"
assert_eq "$(foreign)" "$foreign_before" "foreign tables after --cleanup"

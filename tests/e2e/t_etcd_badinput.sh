#!/usr/bin/env bash
# Bad registry values are refused key by key, each with a log line naming
# the key: not JSON, wrong types, bad IPs, ports out of range, names with
# spaces, a 1 MiB value; some are in etcd before vipd starts (initial read),
# the others are written while it watches. The good service "web" keeps
# routing, to b1 only (every bad endpoint of web points at b2, and every
# bad service has its own VIP and an endpoint, so accepting one by mistake
# shows), and vipd stays up. A refused key fixed later is taken.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib_etcd.sh
source "$(dirname "$0")/lib_etcd.sh"

topo_up 2
start_httpd 1
start_httpd 2
etcd_up m1=127.0.0.1
p=$etcd_prefix
svc() { printf '{"vip":"%s","ports":[{"name":"http","port":%s,"protocol":"tcp","target_port":8080}],"algorithm":"random"}' "$@"; }
b2() { printf '{"ip":"10.250.2.12","port":%s,"weight":%s}' "${1:-8080}" "${2:-100}"; }
# big VIP: a valid service value padded with whitespace to 1 MiB, in
# $tmp/big (too long for an argument).
big() { printf '{"vip":"%s",%*s"ports":[{"name":"http","port":80,"protocol":"tcp","target_port":8080}]}' "$1" $((1 << 20)) '' >"$tmp/big"; }
# bad KEY VALUE: put it (VALUE "-": from stdin), and an endpoint on b1 for
# a service key; remember KEY (1 MiB values apart: checked last).
bad_keys=()
big_keys=()
bad() {
	if [[ $2 == - ]]; then ectl put "$1" >/dev/null; else ectl put "$1" "$2" >/dev/null; fi
	[[ $1 == "$p/services/"* ]] && ectl put "$p/endpoints/${1#"$p/services/"}/e1" "$(ep_json 1)" >/dev/null
	if [[ $2 == - ]]; then big_keys+=("$1"); else bad_keys+=("$1"); fi
}

say "good service web and bad values before vipd starts"
put_svc web 10.96.0.10 80
put_ep web b1 1
bad "$p/services/notjson" '{"vip":"10.96.0.30",'
bad "$p/services/wrongtype" '{"vip":"10.96.0.31","ports":[{"name":"http","port":"80x","protocol":"tcp"}]}'
bad "$p/services/badip" "$(svc 10.0.0.300 80)"
bad "$p/services/port70000" "$(svc 10.96.0.32 70000)"
bad "$p/services/bad name" "$(svc 10.96.0.33 80)"
bad "$p/services/extip" '{"vip":"10.96.0.40","ports":[{"port":80}],"external_ips":["203.0.113.9","fe80::1"]}'
big 10.96.0.35
bad "$p/services/big" - <"$tmp/big"
bad "$p/endpoints/web/notjson" 'ip: 10.250.2.12'
bad "$p/endpoints/web/wrongtype" '{"ip":"10.250.2.12","port":"8080"}'
bad "$p/endpoints/web/badip" '{"ip":"10.250.2.300","port":8080}'
bad "$p/endpoints/web/port70000" "$(b2 70000)"
bad "$p/endpoints/web/weight10001" "$(b2 8080 10001)"
bad "$p/endpoints/web/bad id" "$(b2)"
log_mark
start_vipd_etcd
wait_watching http://127.0.0.1:2379
within 2 answers 10.96.0.10 || fail "web does not answer 2 s after vipd logged 'watching'"

say "more bad values while vipd watches"
t0=$(now_ms)
bad "$p/services/notjson2" '[1,2'
bad "$p/services/null" 'null'
bad "$p/services/wrongtype2" '{"vip":["10.96.0.36"],"ports":[{"name":"http","port":80}]}'
bad "$p/services/port0" "$(svc 10.96.0.37 0)"
bad "$p/services/x y" "$(svc 10.96.0.38 80)"
bad "$p/services/srcrange" '{"vip":"10.96.0.41","ports":[{"port":80}],"external_ips":["203.0.113.10"],"source_ranges":["2001:db8:1::/200"]}'
big 10.96.0.39
bad "$p/services/big2" - <"$tmp/big"
bad "$p/endpoints/web/notanip" '{"ip":"not-an-ip","port":8080}'
bad "$p/endpoints/web/neg" "$(b2 -1)"
bad "$p/endpoints/web/weight0" "$(b2 8080 0)"
bad "$p/endpoints/web/bad id2" "$(b2)"
bad "$p/endpoints/web/array" '[]'
echo "${#bad_keys[@]} bad keys and ${#big_keys[@]} 1 MiB values written"

# logged KEY [FIELD [VALUE]]: an error line names KEY (then ':', space,
# quote or end of line), and "field ...FIELD" and "value VALUE" if given,
# as in: etcd /vipd/endpoints/web/e1: field port: value 70000: ...
logged() {
	grep -E -- "$(re "$1")([\": ]|\$)" "$vipd_log" |
		grep -iE 'error|refus|invalid|reject|field|too (large|big|long)|json|parse|expect' |
		grep -E -- "${2:+field [^:]*$(re "$2")}" |
		grep -qE -- "${3:+value \"?$(re "$3")\"?([^0-9a-z]|\$)}"
}
all_logged() {
	local k
	for k in "${bad_keys[@]}"; do logged "$k" || return 1; done
}
since_ms=$t0 within 3 all_logged || true
errors=0
for k in "${bad_keys[@]}"; do
	if ! logged "$k"; then
		echo "FAIL: no error log line naming key '$k'" >&2
		errors=$((errors + 1))
	fi
done
for kfv in "services/badip|vip|10.0.0.300" "services/port70000|port|70000" "services/port0|port|0" \
	"services/bad name|name|" "services/x y|name|" "endpoints/web/port70000|port|70000" \
	"endpoints/web/badip|ip|10.250.2.300" "endpoints/web/weight10001|weight|10001" \
	"endpoints/web/weight0|weight|0" "endpoints/web/neg|port|-1" \
	"services/extip|external_ips[1]|fe80::1" "services/srcrange|source_ranges[0]|2001:db8:1::/200"; do
	IFS='|' read -r k fld v <<<"$kfv"
	if ! logged "$p/$k" "$fld" "$v"; then
		echo "FAIL: the log line for key '$p/$k' does not name field $fld${v:+ and value $v}" >&2
		errors=$((errors + 1))
	fi
done
[[ $errors -eq 0 ]] || { grep -F "$p/" "$vipd_log" | cut -c 1-300; fail "$errors bad keys not logged as asked"; }
grep -F "$p/" "$vipd_log" | cut -c 1-200

say "web routes to b1 only; nothing of the bad values is programmed; vipd alive"
assert_alive "$vipd_pid" vipd
out=$(count_backends 10.96.0.10 80 50)
echo "$out"
assert_eq "$(hits b1 "$out")" 50 "requests to web answered by b1 (every b2 endpoint is bad)"
pn nft list ruleset >"$tmp/ruleset"
for v in 10.0.0. 10.96.0.30 10.96.0.31 10.96.0.32 10.96.0.33 10.96.0.36 10.96.0.37 10.96.0.38 10.96.0.40 \
	10.96.0.41 203.0.113. 10.250.2.12 10.250.2.300; do
	! grep -F "$v" "$tmp/ruleset" || fail "ruleset mentions $v of a refused value"
done
[[ $(wc -l <"$vipd_log") -lt 2000 ]] || fail "vipd logged $(wc -l <"$vipd_log") lines for $((${#bad_keys[@]} + ${#big_keys[@]})) bad keys"

say "bad keys fixed: taken within 1 s"
t0=$(now_ms)
ectl put "$p/services/port70000" "$(svc 10.96.0.32 81)" >/dev/null
ectl put "$p/endpoints/web/port70000" "$(b2)" >/dev/null
since_ms=$t0 within 1 answers 10.96.0.32 81 || fail "fixed service port70000 (10.96.0.32:81) does not answer 1 s later"
since_ms=$t0 within 1 some_from 10.96.0.10 80 b2 || fail "fixed endpoint web/port70000 (b2) gets no connection 1 s later"
spread 10.96.0.10 80 - b1 b2

say "the other bad keys deleted: vipd alive, web still routes"
for k in "${bad_keys[@]}"; do
	[[ $k == */port70000 ]] || ectl del "$k" >/dev/null
done
sleep 0.5
assert_alive "$vipd_pid" vipd
spread 10.96.0.10 80 - b1 b2

say "1 MiB values (valid JSON padded with blanks): refused, logged, not programmed"
for k in "${big_keys[@]}"; do logged "$k" || { echo "FAIL: no error log line naming key '$k'" >&2; errors=$((errors + 1)); }; done
for v in 10.96.0.35 10.96.0.39; do
	! vip_in_map "$v" || { echo "FAIL: VIP $v of a 1 MiB value is in map ip vipd services" >&2; errors=$((errors + 1)); }
done
[[ $errors -eq 0 ]] || fail "$errors checks of 1 MiB values failed"
assert_alive "$vipd_pid" vipd

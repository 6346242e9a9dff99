#!/usr/bin/env bash
# Bad objects are refused one by one, each with a log line naming the key,
# the field and the value; the good service keeps routing and vipd stays up.
# A malformed file is logged with its path and the previous state is kept.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

topo_up 2
start_httpd 1
start_httpd 2
f=$tmp/services.json
svc() { printf '"%s":{"vip":"%s","ports":[{"name":"http","port":%s,"protocol":"tcp","target_port":8080}],"algorithm":"random"}' "$@"; }
# Each bad service has a distinct VIP and an endpoint, so that accepting it
# by mistake shows in the ruleset. Endpoint "b2" of web has weight 0: b2
# must get nothing.
put_file "$f" <<EOF2
{"services":{
  $(svc web 10.96.0.10 80),
  $(svc badip 10.0.0.300 80),
  $(svc port0 10.96.0.31 0),
  $(svc port70000 10.96.0.32 70000),
  $(svc "bad name" 10.96.0.33 80),
  $(svc "x;y" 10.96.0.34 80),
  "extip":{"vip":"10.96.0.35","ports":[{"port":80}],"external_ips":["203.0.113.7","203.0.113.7"]},
  "srcrange":{"vip":"10.96.0.36","ports":[{"port":80}],"external_ips":["203.0.113.8"],"source_ranges":["198.51.100.7/24"]},
  "nodeport":{"vip":"10.96.0.37","ports":[{"port":80,"node_port":30080},{"port":81,"node_port":30080}]}},
 "endpoints":{
  "web":{$(ep 1),$(ep 2 0)},
  "badip":{$(ep 1)}, "port0":{$(ep 1)}, "port70000":{$(ep 1)}, "bad name":{$(ep 1)}, "x;y":{$(ep 1)},
  "extip":{$(ep 1)}, "srcrange":{$(ep 1)}, "nodeport":{$(ep 1)}}}
EOF2
start_vipd "$f" --state-dir off # it counts log lines: no cache writes among them
wait_vip 10.96.0.10

say "the good service routes, to b1 only"
out=$(count_backends 10.96.0.10 80 50)
echo "$out"
assert_eq "$(hits b1 "$out")" 50 "requests answered by b1 (b2 has weight 0)"
assert_alive "$vipd_pid" vipd

say "nothing of the bad services is programmed"
pn nft list ruleset >"$tmp/ruleset"
for v in 10.0.0. 10.96.0.31 10.96.0.32 10.96.0.33 10.96.0.34 10.96.0.35 10.96.0.36 10.96.0.37 \
	203.0.113.; do
	! grep -F "$v" "$tmp/ruleset" || fail "ruleset mentions $v of a refused service"
done

say "one log line per bad object, naming key, field and value"
# logged KEY FIELD VALUE: a log line names the key, "field ...FIELD" and
# "value VALUE" (quoted or not), as in
#   vipd: error: service "bad name": field name: value "bad name": ...
# shellcheck disable=SC2001
re() { sed 's/[][\.*^$]/\\&/g' <<<"$1"; }
logged() {
	grep -F -- "$1" "$vipd_log" |
		grep -E -- "field [^:]*$(re "$2")" |
		grep -E -- "value \"?$(re "$3")\"?([^0-9a-z]|\$)"
}
errors=0
for kfv in "badip|vip|10.0.0.300" "port0|port|0" "port70000|port|70000" \
	"bad name|name|bad name" "x;y|name|x;y" "b2|weight|0" \
	"extip|external_ips[1]|203.0.113.7" "srcrange|source_ranges[0]|198.51.100.7/24" \
	"nodeport|ports[1].node_port|30080"; do
	IFS='|' read -r k fld v <<<"$kfv"
	if ! logged "$k" "$fld" "$v"; then
		echo "FAIL: no log line naming key \"$k\", field $fld, value $v" >&2
		errors=$((errors + 1))
	fi
done
[[ $errors -eq 0 ]] || { cat "$vipd_log"; fail "$errors bad objects not logged"; }

say "malformed JSON: logged with the path, previous state kept"
lines=$(wc -l <"$vipd_log")
printf '{"services":{"web":' | put_file "$f"
new_log() { tail -n +$((lines + 1)) "$vipd_log" | grep -qF "$f"; }
within 2 new_log || fail "no log line naming $f after it became malformed JSON"
tail -n +$((lines + 1)) "$vipd_log"
sleep 0.2
assert_alive "$vipd_pid" vipd
out=$(count_backends 10.96.0.10 80 50)
echo "$out"
assert_eq "$(hits b1 "$out")" 50 "requests answered by b1 after the malformed file"

say "a good file again: web moves to b2"
t0=$(now_ms)
web_json random "$(ep 2)" | put_file "$f"
only_b2() { local o; o=$(count_backends 10.96.0.10 80 10); [[ $(hits b2 "$o") -eq 10 ]]; }
since_ms=$t0 within 1 only_b2 || fail "web does not go to b2 1 s after the file was fixed"
assert_alive "$vipd_pid" vipd

say "an endpoint added is logged as +bN with its address and weight"
lines=$(wc -l <"$vipd_log")
web_json random "$(ep 2)" "$(ep 1)" | put_file "$f"
new_lines() { tail -n +$((lines + 1)) "$vipd_log"; }
added() { new_lines | grep -qF "info: web: +b1 $(backend_ip 1):8080 weight 100"; }
within 2 added || { new_lines; fail "no info line \"web: +b1 ...\" after b1 was added"; }
assert_eq "$(new_lines | grep -c 'web: +b2')" 0 "lines about the unchanged b2"

say "a typo'd key is warned about with its path, and the object still counts"
lines=$(wc -l <"$vipd_log")
web_json random "$(ep 2)" '"b1":{"ip":"'"$(backend_ip 1)"'","port":8080,"wieght":5}' | put_file "$f"
typo() { new_lines | grep -qF "field endpoints.web.b1.wieght: unknown key; ignored"; }
within 2 typo || { new_lines; fail "no warning naming endpoints.web.b1.wieght"; }
assert_eq "$(new_lines | grep -c 'wieght')" 1 "warnings about the typo"

say "a file without \"services\" is refused whole: web keeps routing, one line says so"
lines=$(wc -l <"$vipd_log")
echo '{}' | put_file "$f"
refused_top() { new_lines | grep -qF "field services"; }
within 2 refused_top || { new_lines; fail "no line saying the file lacks services"; }
sleep 0.3
new_lines
assert_eq "$(new_lines | grep -c .)" 1 "log lines after the file became {}"
assert_eq "$(new_lines | grep -c 'keeping the previous state')" 1 "lines keeping the previous state"
out=$(count_backends 10.96.0.10 80 20)
echo "$out"
assert_eq "$(( $(hits b1 "$out") + $(hits b2 "$out") ))" 20 "requests answered after the file became {}"
assert_alive "$vipd_pid" vipd

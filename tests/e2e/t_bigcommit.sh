#!/usr/bin/env bash
# A cold start of a million services (one endpoint each) needs a batch of
# ~250 MB, more than one netlink message can carry (1,024 pages): vipd
# commits it in consecutive transactions of whole frontends, says so, and
# every service answers. (It used to fail with "Message too long", forever.)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

topo_up 1
start_httpd 1
f=$tmp/services.json
python3 - "$f" <<'PY'
import sys
n = 1000000
with open(sys.argv[1], "w") as f:
    f.write('{"services":{')
    f.write(",".join('"s%d":{"vip":"10.%d.%d.%d","ports":[{"port":80,"target_port":8080}]}'
                     % (i, 100 + i // 65536, (i // 256) % 256, i % 256) for i in range(n)))
    f.write('},"endpoints":{')
    f.write(",".join('"s%d":{"e":{"ip":"10.250.2.11"}}' % i for i in range(n)))
    f.write("}}")
PY
t0=$(now_ms)
pn timeout 300 "$VIPD" --services-file "$f" --services-file-max 1000000000 --once 2>>"$vipd_log" ||
	fail "vipd --once of a million services exited $?"
echo "a million services loaded in $(($(now_ms) - t0)) ms"
grep -qE 'committed 2000002 changes in [0-9]+ transactions' "$vipd_log" || fail "the split was not logged"
n=$(pn nft list map ip vipd services | grep -c ' : goto lb-1')
assert_eq "$n" 1000000 "services elements in the kernel"
for vip in 10.100.0.1 10.107.161.63 10.115.66.63; do
	assert_eq "$(pc curl -s --max-time 2 "http://$vip/")" b1 "client through $vip"
done

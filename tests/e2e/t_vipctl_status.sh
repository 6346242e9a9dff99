#!/usr/bin/env bash
# vipctl status against fixed /status documents, without the daemon: a
# python3 HTTP server plays vipd's listener on 127.0.0.1:9464 inside a
# namespace of its own (nothing here reaches outside it).
#
#   ┌ $ns (lo only) ─────────────────────────────────────┐
#   │ python3 http.server 127.0.0.1:9464  <- $www/status │
#   │ vipctl [--vipd URL] status ...                     │
#   └────────────────────────────────────────────────────┘
#
# Checks what an operator reads: the table (one row per backend, aligned,
# sorted by service, effective/configured weight when they differ, IPv6 as
# [addr]:port, "-" for a service without backends), SERVICE alone, --json
# equal to what vipd served, the stale and pending banners, and the exit
# codes: 1 naming the URL when nothing listens, the service is unknown or
# the answer is not vipd's; 2 on bad arguments.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

ns=vctl-$$
ns_up "$ns"
VIPCTL=${VIPCTL:-$root_dir/vipctl}
www=$tmp/www
mkdir "$www"
pns() { ip netns exec "$ns" "$@"; }

# api comes first and has unknown keys: vipctl sorts and tolerates them.
cat >"$www/status" <<'EOF'
{"version":"0.1.0-test","node":"node-a","stale":false,"last_sync":"2026-12-01T18:20:01.123Z",
 "pending_since":null,"sources":{"file":"ok","etcd":"watching"},"future":{"x":1},
 "services":{
  "web":{"vip":"10.96.0.10","algorithm":"random",
   "ports":[{"name":"http","port":80,"protocol":"tcp","target_port":8080,"chain":"lb-1"}],
   "backends":[
    {"id":"b1","ip":"10.250.2.11","port":8080,"weight":100,"effective":100,"state":"healthy",
     "reason":"","source":"file","since":null},
    {"id":"b2","ip":"10.250.2.12","port":8080,"weight":100,"effective":0,"state":"unhealthy",
     "reason":"unhealthy: HTTP 500 (3 of 3)","source":"file","since":"2026-12-01T18:19:00Z"}]},
  "api":{"vip":"10.96.0.11","vip6":"fd00::11","algorithm":"maglev","extra":true,
   "ports":[{"port":80,"protocol":"tcp","target_port":8080},{"port":443,"protocol":"tcp","target_port":8443}],
   "backends":[
    {"id":"a-long-backend-id","ip":"fd00:250::21","port":8080,"weight":300,"effective":120,
     "state":"slow_start","reason":"slow start 40%","source":"etcd","since":null}]},
  "idle":{"vip":"10.96.0.12","algorithm":"random","ports":[{"port":53,"protocol":"udp"}],"backends":[]}
 }}
EOF
cp "$www/status" "$tmp/normal.json"

# The listener's two paths: /status is $www/status as it is; /status/NAME
# is that document with only service NAME (404 without it), as vipd does.
cat >"$tmp/server.py" <<'EOF'
import http.server, json, sys
www = sys.argv[1]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = open(www + "/status", "rb").read()
        if self.path.startswith("/status/"):
            name = self.path[len("/status/"):]
            try:
                doc = json.loads(body)
                doc["services"] = {name: doc["services"][name]}
                body = json.dumps(doc).encode()
            except KeyError:
                self.send_error(404)
                return
            except ValueError:
                pass
        elif self.path != "/status":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
http.server.HTTPServer(("127.0.0.1", 9464), H).serve_forever()
EOF
bg_ns "$ns" python3 "$tmp/server.py" "$www" >"$tmp/httpd.log" 2>&1
listening() { pns ss -Htln 'sport = :9464' | grep -q .; }
within 10 listening || fail "the test's HTTP server does not listen on 127.0.0.1:9464 after 10 s"

# ctl ARGS...: vipctl ARGS in the namespace; stdout in $out, stderr in
# $err, exit status in $rc.
ctl() {
	rc=0
	pns timeout 10 "$VIPCTL" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
	out=$(cat "$tmp/out") err=$(cat "$tmp/err")
}

say "the table: a row per backend, sorted by service, aligned"
start=$(now_ms)
ctl status
assert_eq "$rc" 0 "vipctl status exit (stderr: $err)"
# the answer ends the wait, not the 5 s timeout (on a busy machine too)
assert_le $(($(now_ms) - start)) 4000 "ms for vipctl status to print what it was served"
want=$(
	cat <<'EOF'
SERVICE  VIP                  PORT            BACKEND            ADDRESS              STATE       WEIGHT   REASON
api      10.96.0.11,fd00::11  80/tcp,443/tcp  a-long-backend-id  [fd00:250::21]:8080  slow_start  120/300  slow start 40%
idle     10.96.0.12           53/udp          -                  -                    -           -
web      10.96.0.10           80/tcp          b1                 10.250.2.11:8080     healthy     100
web      10.96.0.10           80/tcp          b2                 10.250.2.12:8080     unhealthy   0/100    unhealthy: HTTP 500 (3 of 3)
EOF
)
[[ $out == "$want" ]] || fail "vipctl status printed:
$out
want:
$want"
[[ -z $err ]] || fail "vipctl status wrote to stderr: $err"

say "SERVICE: that service's rows only"
ctl status web
assert_eq "$rc" 0 "vipctl status web exit (stderr: $err)"
assert_eq "$(wc -l <<<"$out")" 3 "lines of vipctl status web (header, b1, b2)"
assert_eq "$(awk 'NR > 1 { print $1 "/" $4 }' <<<"$out" | paste -sd' ')" "web/b1 web/b2" "rows of vipctl status web"
ctl status idle
assert_eq "$(tail -n 1 <<<"$out" | awk '{ print $1, $4, $5 }')" "idle - -" "the row of a service without backends"

say "--json: what vipd served, whole or one service, either flag position"
ctl status --json
assert_eq "$rc" 0 "vipctl status --json exit (stderr: $err)"
python3 -c 'import json, sys; a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2])); sys.exit(a != b)' \
	"$tmp/out" "$www/status" || fail "vipctl status --json is not the document vipd served: $out"
[[ $(wc -l <"$tmp/out") -gt 10 ]] || fail "vipctl status --json is not indented: $out"
ctl --json status api
python3 -c 'import json, sys; a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))["services"]["api"]; sys.exit(a != b)' \
	"$tmp/out" "$www/status" || fail "vipctl --json status api is not api's object: $out"

say "a stale document and a pending change: banners first"
python3 - "$tmp/normal.json" "$www/status.new" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["stale"] = True
d["pending_since"] = "2026-12-01T18:21:00Z"
json.dump(d, open(sys.argv[2], "w"))
EOF
mv "$www/status.new" "$www/status"
ctl status web
assert_eq "$rc" 0 "vipctl status on a stale node exit (stderr: $err)"
assert_eq "$(sed -n 1p <<<"$out")" \
	"vipd at http://127.0.0.1:9464: state is stale (programmed from the state cache; sources not read yet)" \
	"first line on a stale node"
assert_eq "$(sed -n 2p <<<"$out")" "vipd at http://127.0.0.1:9464: a change is pending since 2026-12-01T18:21:00Z" \
	"second line with pending_since"
[[ $(sed -n 3p <<<"$out") == SERVICE* ]] || fail "no header after the banners: $out"
cp "$tmp/normal.json" "$www/status"
ctl status
[[ $out == SERVICE* ]] || fail "a fresh node prints a banner: $out"

say "runtime failures: exit 1, one line naming the URL"
ctl status nosuch
assert_eq "$rc" 1 "vipctl status nosuch exit"
assert_eq "$err" 'vipctl: service "nosuch" is not known to vipd at http://127.0.0.1:9464' "stderr of vipctl status nosuch"
[[ -z $out ]] || fail "vipctl status nosuch printed: $out"
ctl --vipd http://127.0.0.1:9465 status
assert_eq "$rc" 1 "vipctl status with nothing listening: exit"
assert_eq "$err" "vipctl: vipd http://127.0.0.1:9465: connection refused" "stderr with nothing listening"
ctl --vipd http://127.0.0.1:9464/elsewhere/ status
assert_eq "$rc" 1 "vipctl status on a 404: exit"
[[ $err == "vipctl: vipd http://127.0.0.1:9464/elsewhere: HTTP 404"* ]] || fail "stderr on a 404: $err"
echo 'not json' >"$www/status"
ctl status
assert_eq "$rc" 1 "vipctl status on a non-JSON answer: exit"
[[ $err == "vipctl: vipd http://127.0.0.1:9464: "*"not JSON" ]] || fail "stderr on a non-JSON answer: $err"
cp "$tmp/normal.json" "$www/status"

say "bad input: exit 2, nothing asked"
: >"$tmp/httpd.log"
for args in "status web api" "status --bogus" "--vipd foo status" "--vipd http:// status" "status Bad!"; do
	# shellcheck disable=SC2086 # words on purpose
	ctl $args
	assert_eq "$rc" 2 "vipctl $args: exit"
	[[ $err == vipctl:* || $err == usage:* ]] || fail "vipctl $args: stderr does not say vipctl or usage: $err"
done
! grep -q 'GET' "$tmp/httpd.log" || fail "bad input still asked vipd: $(cat "$tmp/httpd.log")"

say "help"
ctl status --help
assert_eq "$rc" 0 "vipctl status --help exit"
[[ $out == usage:*status* ]] || fail "vipctl status --help: $out"

say "ok"

#!/usr/bin/env bash
# Bad flags and values: vipd and vipctl exit 2 at once with one line that
# starts with the program's name and names the flag, for every one of them
# (a bad etcd URL used to be accepted and retried forever). Good URLs of
# every shape are taken. Run in a namespace of its own: a URL that is taken
# is tried, and may only reach this namespace's loopback.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

ns_add "$node"
pn ip link set lo up
VIPCTL=${VIPCTL:-$root_dir/vipctl}

# refused PROG WORDS ARGS...: PROG ARGS exits 2 within 2 s with one line
# "PROG: ..." that contains WORDS.
refused() {
	local prog=$1 words=$2 rc=0 out
	shift 2
	out=$(pn timeout 2 "$prog" "$@" 2>&1 >/dev/null) || rc=$?
	[[ $rc -eq 2 ]] || fail "$(basename "$prog") $*: exit $rc, want 2 (output: $out)"
	[[ $(wc -l <<<"$out") -eq 1 ]] || fail "$(basename "$prog") $*: want one line, got: $out"
	[[ $out == "$(basename "$prog"):"* ]] || fail "$(basename "$prog") $*: the line lacks the program's prefix: $out"
	[[ $out == *"$words"* ]] || fail "$(basename "$prog") $*: the line does not say '$words': $out"
}

say "vipd"
for url in http:// 'http://a b:2379' http://127.0.0.1:99999 foo ftp://127.0.0.1:2379 http://127.0.0.1:2379/v3; do
	refused "$VIPD" "--etcd-endpoints $url" --etcd-endpoints "$url" --dry-run
done
refused "$VIPD" "--etcd-prefix vipd" --etcd-endpoints http://127.0.0.1:2379 --etcd-prefix vipd --dry-run
refused "$VIPD" "--etcd-user nopass" --etcd-endpoints http://127.0.0.1:2379 --etcd-user nopass --dry-run
refused "$VIPD" "--etcd-password-file $tmp/none" --etcd-endpoints http://127.0.0.1:2379 --etcd-user u \
	--etcd-password-file "$tmp/none" --dry-run
refused "$VIPD" "--bogus" --bogus
refused "$VIPD" "--table" --table BAD
refused "$VIPD" "--docker" --docker sideways
refused "$VIPD" "--cluster-cidr 10.244.0.1/16" --cluster-cidr 10.244.0.1/16 --dry-run
refused "$VIPD" "--cluster-cidr 10.244.0.0/16,10.0.0.0/8" --cluster-cidr 10.244.0.0/16,10.0.0.0/8 --dry-run
refused "$VIPD" "--cluster-cidr fd00::/129" --cluster-cidr fd00::/129 --dry-run
refused "$VIPD" "--cluster-cidr 10.0.0.0/8," --cluster-cidr 10.0.0.0/8, --dry-run
refused "$VIPD" "--cluster-cidr" --cluster-cidr
for m in 9464 127.0.0.1 127.0.0.1:0 127.0.0.1:65536 ::1:9464 '[127.0.0.1]:9464' localhost:9464 '[::1]' \
	'127.0.0.1:+80' '127.0.0.1: 80' 127.0.0.1:009464 127.0.0.1:; do
	refused "$VIPD" "--metrics $m" --metrics "$m" --dry-run
done
echo '{"services":' >"$tmp/bad.json"
# a services file that cannot be read at start is bad input too (a log
# line, so it has a timestamp before "vipd:")
for args in "--services-file $tmp/bad.json --dry-run" "--services-file $tmp/none.json --once"; do
	rc=0
	# shellcheck disable=SC2086 # the words are the flags
	out=$(pn timeout 2 "$VIPD" $args 2>&1 >/dev/null) || rc=$?
	[[ $rc -eq 2 && $out == *"vipd: error: services-file $tmp/"* ]] || fail "vipd $args: exit $rc, want 2 (output: $out)"
done

say "vipctl"
refused "$VIPCTL" "--bogus" --bogus service list
refused "$VIPCTL" "--etcd-endpoints foo" --etcd-endpoints foo service list
refused "$VIPCTL" "--etcd-prefix vipd" --etcd-prefix vipd service list
refused "$VIPCTL" "--etcd-user nopass" --etcd-user nopass service list
# service add checks the service before it writes: nothing is reached
refused "$VIPCTL" "field external_ips[0]: value \"10.96.0.10\"" service add web --vip 10.96.0.10 \
	--port 80 --external-ip 10.96.0.10
refused "$VIPCTL" "field source_ranges[1]: value \"10.0.0.1/8\"" service add web --vip 10.96.0.10 \
	--port 80 --external-ip 203.0.113.7 --source-range 198.51.100.0/24 --source-range 10.0.0.1/8
refused "$VIPCTL" "field ports[1].node_port: value 30080" service add web --vip 10.96.0.10 \
	--port 80 --port 443 --node-port 80=30080 --node-port 443/tcp=30080
refused "$VIPCTL" "--node-port 30080" service add web --vip 10.96.0.10 --port 80 --port 443 --node-port 30080
refused "$VIPCTL" "field affinity_timeout: value \"1h\"" service add web --vip 10.96.0.10 \
	--port 80 --affinity-timeout 1h

refused "$VIPCTL" "service add: unknown or incomplete option --bogus" service add web --bogus
refused "$VIPCTL" "endpoint add: unknown or incomplete option --bogus" endpoint add web b1 --bogus
refused "$VIPCTL" "status: unknown option --bogus" status --bogus
refused "$VIPCTL" "--vipd foo" --vipd foo status
refused "$VIPCTL" 'service "Web!": not a valid service name' service get 'Web!'
refused "$VIPCTL" 'not a valid endpoint id' endpoint del web 'B 1'

say "vipctl help: every command and verb, three ways; stdout, exit 0"
# helped WORDS...: vipctl WORDS exits 0 with a usage on stdout, nothing on
# stderr.
helped() {
	local rc=0 out
	out=$(pn timeout 2 "$VIPCTL" "$@" 2>"$tmp/err") || rc=$?
	[[ $rc -eq 0 ]] || fail "vipctl $*: exit $rc, want 0 ($(cat "$tmp/err"))"
	[[ $out == usage:* ]] || fail "vipctl $*: stdout does not start with usage: $out"
	[[ ! -s $tmp/err ]] || fail "vipctl $*: wrote to stderr: $(cat "$tmp/err")"
}
helped --help
helped -h
helped help
helped help help
for cmd in service "service add" "service del" "service get" "service list" endpoint "endpoint add" \
	"endpoint del" "endpoint list" check status; do
	# shellcheck disable=SC2086 # words on purpose
	{ helped $cmd --help; helped $cmd -h; helped help $cmd; }
	# shellcheck disable=SC2086 # words on purpose
	first=$(pn "$VIPCTL" help $cmd | head -n 1)
	[[ $first == "usage: vipctl "*"$cmd"* ]] || fail "vipctl help $cmd: the first line does not name it: $first"
done
# a verb's flags, not only its name
pn "$VIPCTL" service add --help | grep -q -- '--from-json' || fail "vipctl service add --help lacks --from-json"
pn "$VIPCTL" endpoint add --help | grep -q -- '--ttl' || fail "vipctl endpoint add --help lacks --ttl"
# the top level lists every command, the global flags and the exit codes
top=$(pn "$VIPCTL" --help)
for w in service endpoint check status help --etcd-endpoints --vipd --json "exit status: 0 ok, 1 "; do
	[[ $top == *"$w"* ]] || fail "vipctl --help does not mention '$w'"
done
for args in bogus "help bogus" "service bogus" "endpoint" ""; do
	rc=0
	# shellcheck disable=SC2086 # words on purpose
	pn "$VIPCTL" $args >"$tmp/out" 2>"$tmp/err" || rc=$?
	[[ $rc -eq 2 ]] || fail "vipctl $args: exit $rc, want 2"
	grep -q '^usage:' "$tmp/err" || fail "vipctl $args: no usage on stderr: $(cat "$tmp/err")"
	[[ ! -s $tmp/out ]] || fail "vipctl $args: wrote to stdout: $(cat "$tmp/out")"
done

say "vipctl with etcd out of reach: exit 1, one line naming the endpoint"
# unreachable ENDPOINTS WANT ARGS...: vipctl --etcd-endpoints ENDPOINTS
# ARGS exits 1 within 10 s with one line that starts with WANT.
unreachable() {
	local eps=$1 want=$2 rc=0 err
	shift 2
	err=$(pn timeout 10 "$VIPCTL" --etcd-endpoints "$eps" "$@" 2>&1 >/dev/null) || rc=$?
	[[ $rc -eq 1 ]] || fail "vipctl $*: exit $rc, want 1 (output: $err)"
	[[ $(wc -l <<<"$err") -eq 1 ]] || fail "vipctl $*: want one line, got: $err"
	[[ $err == "$want"* ]] || fail "vipctl $*: want '$want...', got: $err"
}
dead="vipctl: etcd http://127.0.0.1:2: connection refused"
unreachable http://127.0.0.1:2 "$dead" service list
unreachable http://127.0.0.1:2 "$dead" service get web
unreachable http://127.0.0.1:2 "$dead" service del web
unreachable http://127.0.0.1:2 "$dead" service add web --vip 10.96.0.10 --port 80
unreachable http://127.0.0.1:2 "$dead" endpoint list
unreachable http://127.0.0.1:2 "$dead" endpoint add web b1 --ip 10.250.2.11 --port 8080
unreachable http://127.0.0.1:2 "$dead" endpoint add web b1 --ip 10.250.2.11 --port 8080 --ttl 5
unreachable http://127.0.0.1:2 "$dead" endpoint del web b1
unreachable http://127.0.0.1:2,http://127.0.0.1:3 "$dead; http://127.0.0.1:3: connection refused" service list
unreachable http://127.0.0.1:2 "vipctl: vipd http://127.0.0.1:9464: connection refused" status

say "vipctl check: a refused file is bad input (2), a clean one 0"
echo '{"services":{"web":{"vip":"10.96.0.10","ports":[{"port":80}]}}}' >"$tmp/good.json"
echo '{"services":{"web":{"vip":"10.96.0.300","ports":[{"port":80}]}}}' >"$tmp/bad.json"
rc=0; pn "$VIPCTL" check "$tmp/good.json" >/dev/null || rc=$?
assert_eq "$rc" 0 "vipctl check of a good file: exit"
rc=0; pn "$VIPCTL" check "$tmp/bad.json" >/dev/null || rc=$?
assert_eq "$rc" 2 "vipctl check of a refused file: exit"
rc=0; pn "$VIPCTL" check "$tmp/none.json" 2>/dev/null || rc=$?
assert_eq "$rc" 2 "vipctl check of a missing file: exit"

say "good URLs and credentials are taken (nothing listens: vipd waits for etcd)"
echo secret >"$tmp/pw"
for args in "--etcd-endpoints http://127.0.0.1:2379/" "--etcd-endpoints https://[::1]:2379,http://localhost:2379" \
	"--etcd-endpoints http://127.0.0.1:2379 --etcd-user u --etcd-password-file $tmp/pw" \
	"--etcd-endpoints http://127.0.0.1:2379 --etcd-user u:p" \
	"--etcd-endpoints http://127.0.0.1:2379 --cluster-cidr 10.244.0.0/16,fd00:244::/56 --masquerade-all"; do
	rc=0
	# shellcheck disable=SC2086 # words on purpose
	pn timeout 1 "$VIPD" $args --dry-run 2>"$tmp/out" || rc=$?
	[[ $rc -eq 124 ]] || { cat "$tmp/out"; fail "vipd $args: exit $rc, want it running (timeout)"; }
done
rc=0
VIPD_ETCD_PASSWORD=secret pn timeout 1 "$VIPD" --etcd-endpoints http://127.0.0.1:2379 --etcd-user u --dry-run 2>"$tmp/out" || rc=$?
[[ $rc -eq 124 ]] || { cat "$tmp/out"; fail "vipd with VIPD_ETCD_PASSWORD: exit $rc, want it running"; }
say "--version: both programs, stdout, exit 0, the same version"
for prog in "$VIPD" "$VIPCTL"; do
	out=$("$prog" --version) || fail "$(basename "$prog") --version: exit $?"
	[[ $out =~ ^$(basename "$prog")\ ([0-9]+\.[0-9]+\.[0-9]+|[0-9a-f]{7,})(-[0-9]+-g[0-9a-f]+)?(-dirty)?$ ]] ||
		fail "$(basename "$prog") --version: not a dotted version or commit id: '$out'"
	versions+=("${out#* }")
done
assert_eq "${versions[0]}" "${versions[1]}" "vipd and vipctl versions"
"$VIPD" --help | grep -q -- '--version' || fail "vipd --help does not list --version"

say "ok"

#!/usr/bin/env bash
# etcd secured two ways, one member at a time on 127.0.0.1:2379 in $node.
# TLS with client certificates (a throwaway CA from openssl): a service and
# endpoints written with vipctl over TLS route client traffic; a second vipd
# (own --table) and vipctl without the client certificate cannot read: the
# vipd never loads, no VIP appears in its table within 3 s, vipctl exits 1
# with one line. Username/password with simple tokens of a 2 s TTL: vipd
# --etcd-user routes traffic; after its token expired and etcd was killed
# (-9) and restarted on its data dir, a change written with etcdctl reaches
# the kernel within 5 s; again with vipd stopped until the token etcd
# revived from its WAL expired too, so vipd must log in again after etcd
# refused its token ("invalid auth token"). A vipd with a wrong password
# never loads and logs etcd's reason; vipctl with a wrong password exits 1
# with one line.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib_etcd.sh
source "$(dirname "$0")/lib_etcd.sh"

topo_up 4
for i in 1 2 3 4; do start_httpd "$i"; done
command -v openssl >/dev/null || fail "openssl not found (apt-get install -y openssl)"

# secure_start NAME SCHEME FLAGS...: start (or restart, same data dir) the
# one member NAME, client SCHEME://127.0.0.1:2379, peer http://127.0.0.1:2380,
# with extra etcd FLAGS; data dir and log in $tmp.
secure_start() {
	local name=$1 url=$2://127.0.0.1:2379
	shift 2
	etcd_members=("$name")
	etcd_endpoints=$url
	bg_ns "$node" "$ETCD" --name "$name" --data-dir "$tmp/etcd-$name" \
		--listen-client-urls "$url" --advertise-client-urls "$url" \
		--listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
		--initial-cluster "$name=http://127.0.0.1:2380" --initial-cluster-state new \
		--initial-cluster-token "vipd-e2e-$$" "$@" </dev/null >>"$tmp/etcd-$name.log" 2>&1
	etcd_pid[$name]=$!
}

# start_other_vipd LOG ARGS...: one more vipd -v --etcd-endpoints
# $etcd_endpoints ARGS in $node, log in LOG; its pid in $other_pid.
start_other_vipd() {
	local log=$1
	shift
	ip netns exec "$node" "$VIPD" --etcd-endpoints "$etcd_endpoints" -v --state-dir off "$@" 2>>"$log" &
	other_pid=$!
	pids+=("$other_pid")
}

in_table() { pn nft list table ip "$1" 2>/dev/null | grep -qwF "$2"; }

# refused_read WHAT ARGS...: vipctl ARGS service list exits 1 with one line
# on stderr.
refused_read() {
	local what=$1 rc=0 lines
	shift
	timeout 20 ip netns exec "$node" "$VIPCTL" --etcd-endpoints "$etcd_endpoints" "$@" service list \
		>"$tmp/out" 2>"$tmp/err" </dev/null || rc=$?
	lines=$(wc -l <"$tmp/err")
	echo "vipctl $what -> exit $rc: $(head -c 300 "$tmp/err")"
	assert_eq "$rc" 1 "exit status of vipctl $what"
	assert_eq "$lines" 1 "lines on stderr of vipctl $what"
}

say "a throwaway CA; server cert for IP:127.0.0.1, client cert"
pki=$tmp/pki
mkdir -p "$pki"
ossl() { timeout 20 openssl "$@" >>"$pki/openssl.log" 2>&1 || { cat "$pki/openssl.log"; fail "openssl $1 failed"; }; }
ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
ossl req -x509 "${ec[@]}" -keyout "$pki/ca.key" -out "$pki/ca.pem" -days 1 -subj "/CN=vipd-e2e-ca-$$" \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
# leaf NAME CN EXTENSION...: NAME.key and NAME.pem, signed by the CA.
leaf() {
	ossl req -new "${ec[@]}" -keyout "$pki/$1.key" -out "$pki/$1.csr" -subj "/CN=$2"
	printf '%s\n' "${@:3}" >"$pki/$1.ext"
	ossl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" -CAcreateserial \
		-days 1 -out "$pki/$1.pem" -extfile "$pki/$1.ext"
}
# etcd's gateway dials the server with the server's own cert: clientAuth too.
leaf server 127.0.0.1 subjectAltName=IP:127.0.0.1 extendedKeyUsage=serverAuth,clientAuth
leaf client vipd extendedKeyUsage=clientAuth
tls=(--etcd-cacert "$pki/ca.pem" --etcd-cert "$pki/client.pem" --etcd-key "$pki/client.key")

say "etcd with TLS and client certificate auth on https://127.0.0.1:2379"
# Every etcdctl below (ectl, etcd_wait_healthy) speaks TLS with the client cert.
export ETCDCTL_CACERT=$pki/ca.pem ETCDCTL_CERT=$pki/client.pem ETCDCTL_KEY=$pki/client.key
secure_start tls https --cert-file "$pki/server.pem" --key-file "$pki/server.key" \
	--client-cert-auth --trusted-ca-file "$pki/ca.pem"
etcd_wait_healthy "$etcd_endpoints"
log_mark
start_vipd_etcd "${tls[@]}"
wait_watching https://127.0.0.1:2379

say "vipctl over TLS writes web (10.96.0.10:80) with endpoints b1, b2"
vctl "${tls[@]}" service add web --vip 10.96.0.10 --port http=80/tcp:8080 --algorithm random
vctl "${tls[@]}" endpoint add web b1 --ip 10.250.2.11 --port 8080
vctl "${tls[@]}" endpoint add web b2 --ip 10.250.2.12
within 2 some_from 10.96.0.10 80 b2 || fail "web does not route to b2 2 s after vipctl wrote it over TLS"
spread 10.96.0.10 80 - b1 b2
vctl "${tls[@]}" service list | grep -qw web || fail "vipctl service list over TLS does not show web"

say "without the client certificate: a vipd (table vipdnocert) never loads, vipctl exits 1"
nocert_log=$tmp/vipd-nocert.log
start_other_vipd "$nocert_log" --etcd-cacert "$pki/ca.pem" --table vipdnocert
nocert_pid=$other_pid
! within 3 in_table vipdnocert 10.96.0.10 || fail "vipd without the client cert put web's VIP in its table"
assert_alive "$nocert_pid" "vipd without the client cert"
grep -v 'debug: reconciled' "$nocert_log" | head -n 5
! grep -q 'etcd: loaded' "$nocert_log" || fail "vipd without the client cert logged 'etcd: loaded'"
grep -qE "etcd: $(re "$etcd_endpoints"): " "$nocert_log" ||
	fail "vipd without the client cert logged no error for $etcd_endpoints"
refused_read "without the client cert" --etcd-cacert "$pki/ca.pem"
refused_read "without any TLS flag"
spread 10.96.0.10 80 - b1 b2
assert_alive "$vipd_pid" vipd

say "TLS done: stop both vipds and etcd"
stop_pid "$nocert_pid" TERM "vipd without the client cert"
stop_vipd TERM
etcd_kill tls
unset ETCDCTL_CACERT ETCDCTL_CERT ETCDCTL_KEY

say "etcd with auth (root:rootpw), simple tokens of TTL 2 s, on http://127.0.0.1:2379"
auth_flags=(--auth-token simple --auth-token-ttl 2)
secure_start auth http "${auth_flags[@]}"
etcd_wait_healthy "$etcd_endpoints"
ectl role add root >/dev/null
ectl user add root:rootpw >/dev/null
ectl user grant-role root root >/dev/null
ectl auth enable >/dev/null
# Every etcdctl below logs in as root.
export ETCDCTL_USER=root:rootpw
etcd_wait_healthy "$etcd_endpoints"
put_svc api 10.96.0.20 80
put_ep api a3 3
log_mark
start_vipd_etcd --etcd-user root:rootpw
wait_watching http://127.0.0.1:2379
within 2 answers 10.96.0.20 || fail "api does not answer 2 s after vipd --etcd-user logged 'watching'"
within 2 pairs_match || { pairs_diff; fail "backends map is not the registry's state (web of the TLS part left?)"; }
spread 10.96.0.20 80 - b3
vctl --etcd-user root:rootpw service list | grep -qw api || fail "vipctl --etcd-user root:rootpw service list does not show api"
# the password kept out of ps: from a file, or the environment
echo rootpw >"$tmp/pw"
vctl --etcd-user root --etcd-password-file "$tmp/pw" service list | grep -qw api ||
	fail "vipctl --etcd-user root --etcd-password-file: no api"
VIPD_ETCD_PASSWORD=rootpw vctl --etcd-user root service list | grep -qw api ||
	fail "vipctl --etcd-user root with VIPD_ETCD_PASSWORD: no api"

# etcd_restart: kill -9 the member, 3 s down, restart it on its data dir.
etcd_restart() {
	etcd_kill auth
	sleep 3
	secure_start auth http "${auth_flags[@]}"
	etcd_wait_healthy "$etcd_endpoints"
}
# reaches_kernel ID N: endpoint api/ID on backend N, written now with
# etcdctl, is in the backends map within 5 s and gets connections.
reaches_kernel() {
	local t0
	t0=$(now_ms)
	put_ep api "$1" "$2"
	since_ms=$t0 within 5 backend_in_map "$(backend_ip "$2")" 8080 || {
		tail -n +$((log_lines + 1)) "$vipd_log" | grep -v 'debug: reconciled' | tail -n 15
		fail "endpoint api/$1 written after the etcd restart not in the kernel after 5 s (vipd did not authenticate again?)"
	}
	echo "api/$1 in the kernel $(($(now_ms) - t0)) ms after the write"
	within 1 some_from 10.96.0.20 80 "b$2" || fail "api/$1 in the map but b$2 gets no connection"
}
stale_tokens() { grep -c 'invalid auth token' "$tmp/etcd-auth.log" || true; }

say "vipd's token expires (2 s idle); kill -9 etcd, 3 s down, restart it on its data dir"
sleep 3
log_mark
etcd_restart
log_since "etcd: lost $(re "$etcd_endpoints")" || fail "vipd logged no 'etcd: lost' while etcd was down"
reaches_kernel a4 4
tail -n +$((log_lines + 1)) "$vipd_log" | grep -v 'debug: reconciled'
log_since "etcd: watching $(re "$etcd_endpoints")" || fail "vipd logged no new 'etcd: watching' after the restart"

# A restarted etcd replays the Authenticate entries of its WAL, which
# revives every token issued since the last snapshot for one more TTL: vipd
# may come back before its old token expired again. So now vipd is held
# (SIGSTOP) until it surely has: it must present the stale token, get
# "invalid auth token", and log in again.
say "again, vipd stopped across the restart and 3 s past it: its token is stale for sure"
kill -STOP "$vipd_pid"
log_mark
etcd_restart
sleep 3
stale=$(stale_tokens)
kill -CONT "$vipd_pid"
reaches_kernel a1 1
tail -n +$((log_lines + 1)) "$vipd_log" | grep -v 'debug: reconciled'
[[ $(stale_tokens) -gt $stale ]] || fail "etcd logged no 'invalid auth token': vipd never presented its stale token (test setup?)"
log_since "etcd: watching $(re "$etcd_endpoints")" || fail "vipd logged no new 'etcd: watching' after the restart"
spread 10.96.0.20 80 - b1 b3 b4
within 2 pairs_match || { pairs_diff; fail "backends map is not the registry's state at the end"; }
assert_alive "$vipd_pid" vipd

say "wrong password: vipctl exits 1; a vipd (table vipdbadpw) never loads"
refused_read "--etcd-user root:wrongpw" --etcd-user root:wrongpw
badpw_log=$tmp/vipd-badpw.log
start_other_vipd "$badpw_log" --etcd-user root:wrongpw --table vipdbadpw
badpw_pid=$other_pid
! within 3 in_table vipdbadpw 10.96.0.20 || fail "vipd with a wrong password put api's VIP in its table"
assert_alive "$badpw_pid" "vipd with a wrong password"
grep -v 'debug: reconciled' "$badpw_log" | head -n 5
! grep -q 'etcd: loaded' "$badpw_log" || fail "vipd with a wrong password logged 'etcd: loaded'"
grep -qE 'authentication failed|invalid user ID or password' "$badpw_log" ||
	fail "vipd with a wrong password does not log etcd's reason ('authentication failed, invalid user ID or password')"
stop_pid "$badpw_pid" TERM "vipd with a wrong password"
assert_alive "$vipd_pid" vipd

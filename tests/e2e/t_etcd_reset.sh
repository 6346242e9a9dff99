#!/usr/bin/env bash
# etcd reset: the only member is killed, its data dir wiped, and started
# again, empty. A watch resumed from the revision vipd knew would wait for
# writes that already happened in the new store, and keep every stale VIP.
# vipd must see the revision go back (same cluster id: same members and
# token) and, in a second reset under another cluster token, the cluster id
# change; each time it reads everything again with one line saying why, and
# the kernel ends with exactly the new registry.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib_etcd.sh
source "$(dirname "$0")/lib_etcd.sh"

topo_up 2
start_httpd 1
start_httpd 2
etcd_up m1=127.0.0.1
url=$(etcd_url m1)
put_svc web 10.96.0.10 80
put_ep web b1 1
# enough writes that the new store stays below this revision for a while
for ((i = 0; i < 40; i++)); do ectl put "$etcd_prefix/junk/k$i" x >/dev/null; done
log_mark
start_vipd_etcd
wait_watching "$url"
within 2 answers 10.96.0.10 || fail "web does not answer after the start"

# reset WHY: kill -9 the member, wipe its data, start it empty, write
# service NAME at VIP with endpoint b2, and check vipd follows.
reset() {
	local why=$1 name=$2 vip=$3 t0
	log_mark
	etcd_kill m1
	rm -rf "$tmp/etcd-m1"
	etcd_start m1
	etcd_wait_healthy "$url"
	t0=$(now_ms)
	put_svc "$name" "$vip" 80
	put_ep "$name" b2 2
	since_ms=$t0 within 5 answers "$vip" || fail "$name ($vip), written after the reset, does not answer 5 s later"
	echo "$name answers $(($(now_ms) - t0)) ms after its write into the reset etcd"
	within 2 pairs_match || { pairs_diff; fail "backends map is not the new registry's after the reset"; }
	log_since "$why \(etcd was reset or restored\); reading everything again" ||
		fail "vipd logged no '$why ... reading everything again'"
	[[ $(tail -n +$((log_lines + 1)) "$vipd_log" | grep -c 'reading everything again') -eq 1 ]] ||
		fail "want one 'reading everything again' line per reset"
}

say "reset with the same members and token: the revision goes back"
reset "revision went back from [0-9]+ to [0-9]+" api 10.96.0.20
silent 10.96.0.10 || fail "web (gone with the old store) still answers"

say "reset under another cluster token: the cluster id changes"
for ((i = 0; i < 40; i++)); do ectl put "$etcd_prefix/junk/k$i" x >/dev/null; done
etcd_args=(--initial-cluster-token "vipd-e2e-other-$$")
reset "cluster id changed from [0-9a-f]+ to [0-9a-f]+" db 10.96.0.30
silent 10.96.0.20 || fail "api (gone with the second store) still answers"
assert_alive "$vipd_pid" vipd

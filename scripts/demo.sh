#!/usr/bin/env bash
# demo.sh: vipd routing a virtual IP to three weighted backends, all inside
# throwaway network namespaces (see the drawing in tests/e2e/lib.sh).
# Run it with `make demo` (builds first); needs root.
[[ $(id -u) -eq 0 ]] || { echo "demo: needs root (network namespaces)" >&2; exit 1; }
# shellcheck source-path=SCRIPTDIR source=../tests/e2e/lib.sh
source "$(dirname "$0")/../tests/e2e/lib.sh"

weights=(0 100 100 200) # b1:b2:b3 = 1:1:2

say "topology: client -> node (vipd) -> backends b1 b2 b3"
topo_up 3
for i in 1 2 3; do start_httpd "$i"; done
echo "client 10.250.1.2, node 10.250.1.1 / 10.250.2.1, backends 10.250.2.11-13 (busybox httpd :8080)"

say "services file: web at 10.96.0.10:80, weights 1:1:2"
web_json random "$(ep 1 "${weights[1]}")" "$(ep 2 "${weights[2]}")" "$(ep 3 "${weights[3]}")" |
	put_file "$tmp/services.json"
cat "$tmp/services.json"

say "start vipd in the node namespace"
start_vipd "$tmp/services.json"
wait_vip 10.96.0.10
echo "vipd pid $vipd_pid, VIP programmed"

say "nft list ruleset (node namespace)"
pn nft list ruleset

say "200 requests from the client to http://10.96.0.10/ (one connection each)"
out=$(count_backends 10.96.0.10 80 200)
for i in 1 2 3; do
	n=$(hits "b$i" "$out")
	printf '  b%d  weight %3d  %3d requests  %3d%%\n' "$i" "${weights[i]}" "$n" $((n * 100 / 200))
done
echo "  answered: $(total "$out") of 200"

say "clean up (namespaces, servers and vipd go away)"

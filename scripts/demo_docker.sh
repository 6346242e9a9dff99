#!/usr/bin/env bash
# demo_docker.sh: labels in, VIP out. A real dockerd (Debian's docker.io)
# boxed in a throwaway node namespace, three labelled busybox httpd
# containers, `vipd --docker local`; a client in its own namespace reaches
# them through the VIP. Run it with `make demo-docker`; needs root.
[[ $(id -u) -eq 0 ]] || { echo "demo: needs root (network namespaces)" >&2; exit 1; }
# shellcheck source-path=SCRIPTDIR source=../tests/e2e/lib.sh
source "$(dirname "$0")/../tests/e2e/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../tests/e2e/lib_docker.sh
source "$(dirname "$0")/../tests/e2e/lib_docker.sh"

say "topology: client -> node (dockerd, vipd); containers on the node's docker network"
topo_up 0
docker_up a
echo "dockerd socket $(dk_sock a), network $DK_NET 10.252.0.0/24"

say "three containers, labelled (web3 with twice the weight)"
for c in web1 web2 web3; do
	w=100
	[[ $c == web3 ]] && w=200
	echo "  docker run -d --name $c -l vipd.service=web -l vipd.port=8080 -l vipd.weight=$w -l vipd.vip=10.96.0.10:80 ..."
	run_web "$c" -l vipd.weight=$w -l vipd.vip=10.96.0.10:80
done

say "start vipd --docker local in the node namespace"
ip netns exec "$node" "$VIPD" --docker local --docker-socket "$(dk_sock a)" --state-dir "$tmp/state" 2>>"$vipd_log" &
vipd_pid=$!
pids+=("$vipd_pid")
wait_vip 10.96.0.10
cat "$vipd_log"

say "nft list map ip vipd backends (node namespace)"
pn nft list map ip vipd backends

say "200 requests from the client to http://10.96.0.10/"
count_pages 10.96.0.10 80 200 | while read -r c n; do printf '  %s  %3d requests\n' "$c" "$n"; done

say "docker stop web2: it leaves the VIP at once"
dk stop web2 >/dev/null
count_pages 10.96.0.10 80 60 | while read -r c n; do printf '  %s  %3d requests\n' "$c" "$n"; done

say "clean up (containers, dockerd, namespaces and vipd go away)"

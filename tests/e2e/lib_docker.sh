# shellcheck shell=bash disable=SC2034,SC2154 # globals shared with lib.sh and the tests
# lib_docker.sh: a real dockerd (Debian's docker.io) and busybox httpd
# containers for the Docker e2e tests. Source it after lib.sh.
#
# Each daemon ("instance", default "a") runs in a "box" made inside a node's
# network namespace:
#
#   nsenter --net=/run/netns/$ns unshare --mount --pid --fork --mount-proc
#     └─ pid 1: tini (reaper)          own mount ns: tmpfs on /run and
#          ├─ dockerd                  /etc/docker (shim sockets, runc state,
#          │    └─ containerd          key.json stay off the host); own pid ns:
#          └─ containerd-shim ...      when pid 1 dies the kernel kills every
#               └─ container           process of the box, containers included
#
# Not `ip netns exec`: it remounts /sys, which hides the cgroup mounts that
# dockerd and runc need. Data root, exec root (short: unix socket paths are
# limited to 108 bytes) and the API socket are in $tmp/dk-NAME. dockerd
# never touches iptables (--iptables=false --ip-masq=false) and all its
# links and addresses are in the node's namespace:
#
#   ┌ $node (instance a) ──────────────────────────────────────────────┐
#   │ docker0  10.251.0.1/24  the default "bridge" network (--bip)     │
#   │ vdk-a    10.252.0.1/24  user-defined network "vipdnet" (default) │
#   │ containers: 10.252.0.2, .3, ... reached directly from $node, and │
#   │ from $client through $node (its default route)                   │
#   └──────────────────────────────────────────────────────────────────┘
#   Instance NAME number N (a=0, b=1, ...): 10.251.N.0/24 and 10.252.N.0/24.
#   node2_up adds a second node, $node2 (10.250.2.2 on $node's br0), with
#   routes from $node to its container subnets, for a second dockerd.
#
# Containers get cgroups under /vipd-e2e-$$-NAME (--cgroup-parent): the
# kernel does not remove cgroup directories, so docker_cleanup does. It
# runs on EXIT before lib.sh's cleanup (the EXIT trap is chained below; if
# lib.sh grows a `cleanup_hooks` array, it is used instead).

DOCKERD=${DOCKERD:-/usr/sbin/dockerd}
# Debian's client matches the daemon; /usr/local/bin/docker (28.x) works too.
DOCKER=${DOCKER:-/usr/bin/docker}
TINI=${TINI:-/usr/bin/tini}
DK_BUSYBOX=${DK_BUSYBOX:-/bin/busybox} # static: it runs in an image without libc
DK_IMAGE=vipd-test:1
DK_NET=vipdnet
dk_cur=a             # the instance dk and the helpers talk to (dk_use)
dk_instances=()      # every instance docker_up started, in order
declare -A dk_ns dk_box dk_init dk_pidns dk_nsenter dk_args dk_num
dk_t_start=          # ms the last docker_up waited for `docker version`
dk_t_import=         # ms the last docker_up took to import the image

node2=vipd-node2-$$

dk_dir() { echo "$tmp/dk-${1:-$dk_cur}"; }
dk_sock() { echo "$(dk_dir "$1")/sock"; }
dk_cgroup() { echo "/vipd-e2e-$$-${1:-$dk_cur}"; }
dk_use() { dk_cur=$1; }

# dk ARGS...: the docker CLI against the current instance (killed after
# 60 s); DK=NAME dk ... for another one.
dk() {
	DOCKER_CONFIG=$tmp/docker-cli timeout 60 "$DOCKER" -H "unix://$(dk_sock "${DK:-$dk_cur}")" "$@"
}

# first_child PID: a child of PID (the box's pid 1, dockerd under nsenter).
first_child() {
	local c
	c=$(cat "/proc/$1/task/$1/children" 2>/dev/null) || true
	c=${c%% *}
	[[ -n $c ]] && echo "$c"
}

# dk_box_up NAME NS: the box, pid 1 tini; its host pid in dk_init[NAME].
dk_box_up() {
	local name=$1 ns=$2 init='' i
	# umount -l /run/netns drops the box's copies of every namespace mount
	# (they would keep deleted namespaces alive while the box lives). -n:
	# without it libmount creates /run/mount on the host.
	# shellcheck disable=SC2016
	nsenter --net="/run/netns/$ns" -- unshare --mount --propagation private --pid --fork --kill-child \
		--mount-proc -- sh -c 'umount -n -l /run/netns 2>/dev/null
		mount -n -t tmpfs -o mode=755 tmpfs /run || exit 1
		if [ -d /etc/docker ]; then mount -n -t tmpfs -o mode=755 tmpfs /etc/docker || exit 1; fi
		exec "$0" -- sleep infinity' "$TINI" </dev/null >>"$(dk_dir "$name")/box.log" 2>&1 &
	dk_box[$name]=$!
	pids+=($!)
	for ((i = 0; i < 100; i++)); do
		init=$(first_child "${dk_box[$name]}") &&
			[[ $(readlink "/proc/$init/exe" 2>/dev/null) == "$(readlink -f "$TINI")" ]] && break
		init=
		sleep 0.05
	done
	[[ -n $init ]] || { cat "$(dk_dir "$name")/box.log" >&2; fail "docker box $name in $ns did not start"; }
	dk_init[$name]=$init
	dk_pidns[$name]=$(readlink "/proc/$init/ns/pid")
}

# dockerd_start NAME: (re)start dockerd in the box; waits until it answers.
dockerd_start() {
	local name=$1 d t0
	d=$(dk_dir "$name")
	t0=$(now_ms)
	# shellcheck disable=SC2086 # dk_args is a word list
	nsenter -t "${dk_init[$name]}" --mount --pid --net -- "$DOCKERD" \
		--data-root "$d/data" --exec-root "$d/x" -H "unix://$d/sock" --pidfile "$d/x/dockerd.pid" \
		--iptables=false --ip-masq=false --userland-proxy=false \
		--bip "10.251.${dk_num[$name]}.1/24" --cgroup-parent "$(dk_cgroup "$name")" \
		${dk_args[$name]} </dev/null >>"$d/dockerd.log" 2>&1 &
	dk_nsenter[$name]=$!
	pids+=($!)
	within 20 dk_answers "$name" || {
		tail -n 20 "$d/dockerd.log" >&2
		fail "dockerd $name: no answer on $d/sock after 20 s"
	}
	dk_t_start=$(($(now_ms) - t0))
}

dk_answers() { DK=$1 dk version >/dev/null 2>&1; }

# dockerd_pid NAME: dockerd's host pid (nsenter --pid forks it).
dockerd_pid() { first_child "${dk_nsenter[${1:-$dk_cur}]}"; }

# dk_image: the image tarball, once per test: a root with busybox (Debian's
# busybox-static) and links for the applets the containers use.
dk_image() {
	local r=$tmp/rootfs a
	[[ -s $tmp/rootfs.tar ]] && return 0
	if ! [[ -x $DK_BUSYBOX ]] || ! ldd "$DK_BUSYBOX" 2>&1 | grep -q 'not a dynamic'; then
		fail "$DK_BUSYBOX is not a static busybox (apt-get install -y busybox-static)"
	fi
	mkdir -p "$r/bin" "$r/www" "$r/tmp" "$r/etc"
	cp "$DK_BUSYBOX" "$r/bin/busybox"
	for a in sh httpd nc echo cat sleep wget ls rm mkdir ps kill hostname ip true false env; do
		ln -s busybox "$r/bin/$a"
	done
	echo "root:x:0:0:root:/:/bin/sh" >"$r/etc/passwd"
	tar -C "$r" -cf "$tmp/rootfs.tar" .
}

# docker_up [NAME [NS [ARGS]]]: start dockerd instance NAME (default a) in
# NS (default $node) with extra dockerd ARGS (one string, e.g.
# "--live-restore"), import $DK_IMAGE, create network $DK_NET; NAME becomes
# the current instance.
docker_up() {
	local name=${1:-a} ns=${2:-$node} t0
	[[ -x $DOCKERD && -x $TINI ]] ||
		fail "dockerd or tini missing (apt-get install -y docker.io: brings containerd, runc, tini)"
	[[ -x $DOCKER ]] || DOCKER=$(command -v docker) || fail "no docker CLI"
	[[ -e /sys/fs/cgroup/devices || -e /sys/fs/cgroup/cgroup.controllers ]] || fail "no cgroup mounts"
	dk_instances+=("$name")
	dk_num[$name]=$((${#dk_instances[@]} - 1))
	dk_ns[$name]=$ns
	dk_args[$name]=${3:-}
	mkdir -p "$(dk_dir "$name")"
	dk_box_up "$name" "$ns"
	dockerd_start "$name"
	dk_use "$name"
	dk_image
	t0=$(now_ms)
	dk import -c 'CMD ["/bin/sh"]' "$tmp/rootfs.tar" "$DK_IMAGE" >/dev/null || fail "docker import"
	dk_t_import=$(($(now_ms) - t0))
	dk network create --driver bridge --subnet "10.252.${dk_num[$name]}.0/24" \
		-o com.docker.network.bridge.name="vdk-$name" "$DK_NET" >/dev/null || fail "docker network create"
}

# The containers' command: a page naming the container ($NAME) on ${PORT:-8080}.
# shellcheck disable=SC2016
dk_web_cmd=(sh -c 'mkdir -p /www && echo "$NAME" >/www/index.html && exec httpd -f -p "${PORT:-8080}" -h /www')
# Health check arguments: healthy while the page is there (make_unhealthy).
# shellcheck disable=SC2016 # expanded in the container
dk_health=(--health-cmd 'wget -q -O- http://127.0.0.1:${PORT:-8080}/ >/dev/null || exit 1'
	--health-interval 1s --health-timeout 1s --health-retries 1)

# run_box NAME [DOCKER RUN ARGS...]: start an httpd container answering
# "NAME", on network $DK_NET unless ARGS give --network/--net; no labels,
# no wait. httpd is the container's pid 1 and so ignores SIGTERM: `docker
# stop` (and dockerd's shutdown of containers) waits --stop-timeout, here
# $DK_STOP_TIMEOUT s (default 2, docker's is 10), then sends SIGKILL: the
# container is "stopping" (event kill) that long before it dies (event
# die). Pass --init for a container that dies at once on SIGTERM. For
# repeated flags (-l KEY=, --stop-timeout) the last one wins.
run_box() {
	local name=$1 a net=(--network "$DK_NET")
	shift
	for a in "$@"; do [[ $a == --net* ]] && net=(); done
	dk run -d --name "$name" -e NAME="$name" "${net[@]}" --stop-timeout "${DK_STOP_TIMEOUT:-2}" \
		"$@" "$DK_IMAGE" "${dk_web_cmd[@]}" >/dev/null ||
		fail "docker run $name"
}

# run_web NAME [DOCKER RUN ARGS...]: run_box with labels vipd.service=web
# vipd.port=8080 vipd.weight=100 (a later -l of the same key wins), then
# wait until it answers.
run_web() {
	local name=$1
	shift
	run_box "$name" -l vipd.service=web -l vipd.port=8080 -l vipd.weight=100 "$@"
	wait_web "$name"
}

# cip NAME [NETWORK]: the container's IP on NETWORK (default: its first).
cip() {
	if [[ -n ${2:-} ]]; then
		dk inspect -f "{{with index .NetworkSettings.Networks \"$2\"}}{{.IPAddress}}{{end}}" "$1"
	else
		dk inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}' "$1" | awk '{ print $1 }'
	fi
}

# page IP [PORT]: what the httpd at IP:PORT answers, from the instance's node.
page() { ip netns exec "${dk_ns[${DK:-$dk_cur}]}" curl -s --max-time 1 "http://$1:${2:-8080}/" 2>/dev/null; }
# cpage IP [PORT]: the same from $client.
cpage() { pc curl -s --max-time 1 "http://$1:${2:-8080}/" 2>/dev/null; }

answers_as() { [[ $(page "$2" "$3") == "$1" ]]; }

# wait_web NAME [PORT]: the container answers its name from its node within
# 10 s (host-network containers: on 127.0.0.1).
wait_web() {
	local name=$1 port=${2:-8080} ip
	ip=$(cip "$name")
	[[ -n $ip ]] || ip=127.0.0.1
	within 10 answers_as "$name" "$ip" "$port" ||
		fail "container $name: no answer from $ip:$port after 10 s ($(dk inspect -f '{{.State.Status}}' "$name" 2>&1))"
}

# health NAME: the container's health status (healthy, unhealthy, starting).
health() { dk inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$1"; }
# wait_health NAME STATUS [SECONDS]: default 10 s.
has_health() { [[ $(health "$1") == "$2" ]]; }
wait_health() {
	within "${3:-10}" has_health "$1" "$2" ||
		fail "container $1: health '$(health "$1")', not '$2' after ${3:-10} s"
}
make_unhealthy() { dk exec "$1" rm -f /www/index.html; }
# shellcheck disable=SC2016 # expanded in the container
make_healthy() { dk exec "$1" sh -c 'echo "$NAME" >/www/index.html'; }

# count_pages VIP PORT COUNT: count_backends for container pages (any
# one-word answer): "NAME hits" per container answering.
count_pages() {
	timeout 120 ip netns exec "$client" curl -s --max-time 2 "http://$1:$2/?n=[1-$3]" |
		grep -E '^[A-Za-z0-9_.-]+$' | sort | uniq -c | awk '{ print $2, $1 }'
}

# --- for the vipd Docker tests (t_docker_*.sh) ---

# (start_vipd_in NS LOG ARGS..., for vipd in another namespace: lib.sh)

# has_page VIP PORT NAME: 20 connections from $client, some answered by
# NAME. lacks_page VIP PORT NAME: 20 connections, all answered, none by NAME.
has_page() { [[ $(hits "$3" "$(count_pages "$1" "$2" 20)") -gt 0 ]]; }
lacks_page() {
	local out
	out=$(count_pages "$1" "$2" 20)
	[[ $(total "$out") -eq 20 && $(hits "$3" "$out") -eq 0 ]]
}
# spread_pages VIP PORT COUNT ZERO SOME...: COUNT connections all answered,
# none by the containers in ZERO (comma separated, "-" for none), some by
# each SOME; prints the counts, "NAME hits".
spread_pages() {
	local vip=$1 port=$2 n=$3 zero=$4 out c
	shift 4
	out=$(count_pages "$vip" "$port" "$n")
	echo "$out"
	assert_eq "$(total "$out")" "$n" "answered requests to $vip:$port"
	[[ $zero == - ]] || for c in ${zero//,/ }; do
		assert_eq "$(hits "$c" "$out")" 0 "connections to $c via $vip:$port"
	done
	for c in "$@"; do assert_ge "$(hits "$c" "$out")" 1 "connections to $c via $vip:$port"; done
}

# pages_loop VIP[:PORT] [MAX]: background client in $client, one curl
# (--max-time 1) after another, at most MAX (default 3000) or 60 s; stops
# early when $tmp/stop appears. Each request is a line "START_MS PAGE" in
# $tmp/pages (PAGE "-": failed or not a page). pages_loop_end: stop it.
pages_loop() {
	rm -f "$tmp/stop"
	# shellcheck disable=SC2016 # expanded by the inner bash
	bg_ns "$client" bash -c '
		for ((i = 0; i < $3 && SECONDS < 60; i++)); do
			[[ -e $1 ]] && break
			t=$(date +%s%3N)
			r=$(curl -s --max-time 1 "http://$2/")
			[[ $r =~ ^[A-Za-z0-9_.-]+$ ]] || r=-
			echo "$t $r"
		done' _ "$tmp/stop" "$1" "${2:-3000}" >"$tmp/pages"
	pages_pid=$!
}
pages_loop_end() {
	touch "$tmp/stop"
	within 5 not_running "$pages_pid" || fail "client loop still running 5 s after it was told to stop"
	wait "$pages_pid" || fail "client loop failed"
}
# pages_count FROM_MS TO_MS [PAGE]: requests of the loop started in
# [FROM_MS, TO_MS), only those answered by PAGE if given ("-": failed).
pages_count() {
	awk -v a="$1" -v b="$2" -v p="${3:-}" '$1 >= a && $1 < b && (p == "" || $2 == p) { n++ } END { print n + 0 }' "$tmp/pages"
}
# pages_last PAGE: start (ms) of the last request PAGE answered, 0 if none.
# (t stays a string: mawk prints large numbers as 1.79e+12)
pages_last() { awk -v p="$1" '$2 == p { t = $1 } END { print (t == "" ? 0 : t) }' "$tmp/pages"; }

# map_backends VIP PORT: "IP PORT" of every backend the kernel's map ip
# vipd backends (in $node, or NS=...) sends tcp VIP:PORT to, sorted, once each.
map_backends() {
	ip netns exec "${NS:-$node}" nft list map ip vipd backends 2>/dev/null |
		grep -oE "(^|[^0-9.])${1//./\\.} \\. tcp \\. $2 \\. [0-9]+( comment \"[^\"]*\")? : [0-9.]+ \\. [0-9]+" |
		sed -E 's/.* : ([0-9.]+) \. ([0-9]+)$/\1 \2/' | sort -u
}
# map_ips VIP PORT: only the IPs, sorted, once each.
map_ips() { map_backends "$@" | awk '{ print $1 }' | sort -u; }

# running_ips FILTER...: IPs (first network), sorted, of the containers
# `docker ps --filter FILTER...` lists as running and either without a
# health check or healthy: what vipd should route to. Host-network
# containers (no IP) are left out.
running_ips() {
	local ids=() f args=()
	for f in "$@"; do args+=(--filter "$f"); done
	mapfile -t ids < <(dk ps -q --filter status=running "${args[@]}")
	[[ ${#ids[@]} -gt 0 ]] || return 0
	dk inspect -f '{{if or (not .State.Health) (eq .State.Health.Status "healthy")}}{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}{{end}}' "${ids[@]}" |
		awk 'NF { print $1 }' | sort -u
}

# cid12 NAME: the first 12 hex digits of the container's id (as logs show it).
cid12() { dk inspect -f '{{.Id}}' "$1" | cut -c1-12; }

# node2_up: a second node, $node2, on $node's br0 as 10.250.2.2 (forwarding
# on); $node routes container subnets 10.251.1.0/24 and 10.252.1.0/24 (the
# second instance's) to it. Then: docker_up b "$node2".
node2_up() {
	ns_up "$node2"
	ip netns exec "$node2" sysctl -qw net.ipv4.ip_forward=1
	ip -n "$node" link add vn2 type veth peer name eth0 netns "$node2"
	pn ip link set vn2 master br0 up
	ip -n "$node2" addr add 10.250.2.2/24 dev eth0
	ip -n "$node2" link set eth0 up
	ip -n "$node2" route add default via 10.250.2.1
	pn ip route add 10.251.1.0/24 via 10.250.2.2
	pn ip route add 10.252.1.0/24 via 10.250.2.2
}

not_running() { ! running "$1"; }

# dockerd_kill [NAME [SIGNAL]]: signal dockerd (default KILL), wait (at
# most 20 s: on TERM it first stops containers that need stopping) until it
# is gone.
dockerd_kill() {
	local name=${1:-$dk_cur} pid
	pid=$(dockerd_pid "$name") || fail "dockerd $name is not running"
	exec 4>&2 2>/dev/null # quiet bash's "Killed" job notice
	kill -"${2:-KILL}" "$pid" || true
	if ! within 20 not_running "${dk_nsenter[$name]}"; then
		exec 2>&4 4>&-
		fail "dockerd $name still running 20 s after SIG${2:-KILL}"
	fi
	wait "${dk_nsenter[$name]}" || true
	exec 2>&4 4>&-
}

# docker_restart [NAME [SIGNAL]]: dockerd_kill, then start it again with the
# same arguments (same box: the containers' shims and processes are kept).
docker_restart() {
	local name=${1:-$dk_cur}
	dockerd_kill "$name" "${2:-KILL}"
	dockerd_start "$name"
}

# docker_down [NAME]: remove the containers, stop dockerd, end the box,
# remove the cgroups. docker_cleanup does it for every instance on exit.
docker_down() {
	local name=${1:-$dk_cur} ids=()
	mapfile -t ids < <(DK=$name dk ps -aq)
	[[ ${#ids[@]} -eq 0 ]] || DK=$name dk rm -f "${ids[@]}" >/dev/null 2>&1 || true
	[[ -z $(dockerd_pid "$name") ]] || dockerd_kill "$name" TERM
	dk_box_down "$name"
}

# in_pidns PID NS: PID lives in pid namespace NS (readlink /proc/PID/ns/pid).
in_pidns() { [[ $(readlink "/proc/$1/ns/pid" 2>/dev/null) == "$2" ]]; }

# dk_thaw NAME: thaw the instance's paused containers. docker pause freezes
# a container's cgroup, and a frozen task does not die of SIGKILL until it
# is thawed: a test failing while a container is paused would otherwise
# leave it (and its cgroup) behind, stuck in D state.
dk_thaw() {
	local f
	for f in /sys/fs/cgroup/freezer"$(dk_cgroup "$1")"/*/freezer.state; do
		[[ ! -f $f ]] || echo THAWED >"$f" 2>/dev/null || true
	done
	for f in /sys/fs/cgroup"$(dk_cgroup "$1")"/*/cgroup.freeze; do
		[[ ! -f $f ]] || echo 0 >"$f" 2>/dev/null || true
	done
}

# dk_box_down NAME: thaw paused containers (dk_thaw), SIGKILL the box's pid 1 (the kernel then kills all its
# processes, containers too, and frees its mounts), wait for it, remove the
# instance's cgroup directories.
dk_box_down() {
	local name=$1 init=${dk_init[$1]:-} c i
	[[ -n $init ]] || return 0
	dk_thaw "$name"
	exec 4>&2 2>/dev/null # quiet bash's "Killed" job notices
	# Still the box's pid 1? (if it died, its pid may have been reused)
	# (|| true: under set -e a process gone since the check must not end us)
	! in_pidns "$init" "${dk_pidns[$name]}" || kill -9 "$init" || true
	! our_child "${dk_box[$name]}" || kill -9 "${dk_box[$name]}" || true
	for ((i = 0; i < 200; i++)); do
		in_pidns "$init" "${dk_pidns[$name]}" || break
		sleep 0.05
	done
	wait "${dk_box[$name]}" || true
	[[ -z ${dk_nsenter[$name]:-} ]] || wait "${dk_nsenter[$name]}" || true
	exec 2>&4 4>&-
	! in_pidns "$init" "${dk_pidns[$name]}" || echo "docker box $name: pid 1 ($init) still there after 10 s" >&2
	for c in /sys/fs/cgroup/*"$(dk_cgroup "$name")" /sys/fs/cgroup"$(dk_cgroup "$name")"; do
		[[ -d $c ]] || continue
		for ((i = 0; i < 100; i++)); do
			find "$c" -depth -type d -exec rmdir {} + 2>/dev/null || true
			[[ -d $c ]] || break
			sleep 0.05
		done
		[[ ! -d $c ]] || echo "docker box $name: cgroup $c not removed" >&2
	done
	dk_init[$name]=
}

docker_cleanup() {
	local - name
	set +e
	for name in "${dk_instances[@]}"; do dk_box_down "$name"; done
}

# Run docker_cleanup first on exit: lib.sh's cleanup kills the boxes too
# (their pid 1 is in a node namespace) but leaves the cgroup directories.
if declare -p cleanup_hooks >/dev/null 2>&1; then
	cleanup_hooks+=(docker_cleanup)
else
	# set +e first: an EXIT trap runs under the test's set -e.
	trap 'dk_rc=$?; set +e; docker_cleanup; (exit $dk_rc); cleanup' EXIT
fi

#!/usr/bin/env bash
# Self-test of lib_docker.sh (no vipd): two dockerds, one in $node and one
# in $node2; httpd containers reached from $client through the nodes; health
# checks; labels; dockerd killed and restarted, without and with
# --live-restore; cleanup leaves no process, mount or cgroup.
# Not picked up by run.sh (x_ prefix). Run as root: bash x_docker_selftest.sh
# X_FAIL_AT=STEP makes it fail at that step, to check cleanup midway.
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib_docker.sh
source "$(dirname "$0")/lib_docker.sh"

step() { say "$1"; [[ ${X_FAIL_AT:-} != "$1" ]] || fail "failing at step '$1' as asked (X_FAIL_AT)"; }
state() { dk inspect -f '{{.State.Status}} pid={{.State.Pid}} restarts={{.RestartCount}} ip={{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$1"; }

topo_up 0
step "dockerd a in $node"
docker_up a
echo "dockerd start ${dk_t_start} ms, image import ${dk_t_import} ms"

step "containers"
t0=$(now_ms)
run_web c1
echo "run_web c1 (docker run + first answer) $(($(now_ms) - t0)) ms"
run_web c2 --restart unless-stopped -l vipd.weight=50
run_web h1 "${dk_health[@]}" --restart always
run_box s1 -l service=task -l group=arch -e NAMESPACE=arch.task.http
wait_web s1
c1=$(cip c1) c2=$(cip c2)
echo "c1 $c1, c2 $c2, h1 $(cip h1), s1 $(cip s1)"
assert_eq "$(cip c1 bridge)" "" "c1's IP on network bridge (it is not on it)"
assert_eq "$(dk inspect -f '{{index .Config.Labels "vipd.weight"}}' c2)" 50 "c2's label vipd.weight (later -l wins)"
assert_eq "$(dk inspect -f '{{index .Config.Labels "service"}}/{{index .Config.Labels "group"}}' s1)" task/arch "s1's labels"
dk inspect -f '{{range .Config.Env}}{{println .}}{{end}}' s1 | grep -qx NAMESPACE=arch.task.http || fail "s1's env has no NAMESPACE"
run_box d1 --network bridge -l vipd.service=web -l vipd.port=8080
wait_web d1
echo "d1 on the default bridge: $(cip d1)"

step "client to containers through the node"
assert_eq "$(cpage "$c1")" c1 "c1 from the client"
assert_eq "$(cpage "$c2")" c2 "c2 from the client"
assert_eq "$(cpage "$(cip d1)")" d1 "d1 from the client"

step "the API from \$node as vipd sees it (ip netns exec, curl --unix-socket)"
api=$(pn curl -s --max-time 5 --unix-socket "$(dk_sock a)" 'http://docker/v1.41/containers/json?filters=%7B%22label%22%3A%5B%22vipd.service%22%5D%7D')
for c in c1 c2 h1 d1; do grep -qF "\"/$c\"" <<<"$api" || fail "$c not in /containers/json?filters={label:[vipd.service]}"; done
grep -qF '"/s1"' <<<"$api" && fail "s1 (no vipd.service label) listed by the label filter"
pn timeout 1 curl -s -N --unix-socket "$(dk_sock a)" "http://docker/v1.41/events?since=0" >"$tmp/events.json" || true
echo "events so far: $(grep -c . "$tmp/events.json"), e.g. $(grep -o '"Action":"[a-z_: -]*"' "$tmp/events.json" | sort | uniq -c | tr -s ' \n' ' ')"

step "health"
t0=$(now_ms)
wait_health h1 healthy
echo "h1 healthy after $(($(now_ms) - t0)) ms more"
make_unhealthy h1
t0=$(now_ms)
wait_health h1 unhealthy
echo "h1 unhealthy $(($(now_ms) - t0)) ms after make_unhealthy"
make_healthy h1
wait_health h1 healthy

step "second node: dockerd b in $node2 (--live-restore)"
node2_up
t0=$(now_ms)
docker_up b "$node2" --live-restore
echo "dockerd b start ${dk_t_start} ms, import ${dk_t_import} ms (docker_up $(($(now_ms) - t0)) ms)"
run_web e1 --restart always
run_web e2
assert_eq "$(cpage "$(cip e1)")" e1 "e1 (node2) from the client"
dk_use a
assert_eq "$(page "$(DK=b cip e2)")" e2 "e2 (node2) from node a"

step "kill -9 dockerd a (no live-restore)"
for c in c1 c2 h1; do echo "before: $c $(state "$c")"; done
t0=$(now_ms)
docker_restart a KILL
echo "dockerd a restarted in $(($(now_ms) - t0)) ms (start ${dk_t_start} ms)"
for c in c1 c2 h1 s1; do echo "after:  $c $(state "$c")"; done
sleep 2
for c in c1 c2 h1 s1; do echo "2 s later: $c $(state "$c") answers '$(page "$(cip "$c")")'"; done
grep -E 'level=(warn|error)' "$(dk_dir a)/dockerd.log" | tail -n 30 | cut -c1-300

step "SIGTERM dockerd a (no live-restore)"
dk start c1 c2 s1 >/dev/null
for c in c1 c2 h1 s1; do wait_web "$c"; echo "before: $c $(state "$c")"; done
t0=$(now_ms)
docker_restart a TERM
echo "dockerd a stopped and restarted in $(($(now_ms) - t0)) ms (start ${dk_t_start} ms)"
sleep 1
for c in c1 c2 h1 s1; do echo "1 s later: $c $(state "$c") answers '$(page "$(cip "$c")")'"; done

step "kill -9 dockerd b (--live-restore)"
dk_use b
for c in e1 e2; do echo "before: $c $(state "$c")"; done
docker_restart b KILL
for c in e1 e2; do echo "after:  $c $(state "$c") answers '$(page "$(cip "$c")")'"; done

step "SIGTERM dockerd b (--live-restore): containers stay"
docker_restart b TERM
for c in e1 e2; do echo "after:  $c $(state "$c") answers '$(page "$(cip "$c")")'"; done

step "docker_down b"
docker_down b
dk_use a
leftover=$(pgrep -af -- "$(dk_dir b)/" || true)
assert_eq "$leftover" "" "processes of dockerd b after docker_down"

step "cleanup"
t0=$(now_ms)
docker_cleanup
echo "docker_cleanup $(($(now_ms) - t0)) ms"
assert_eq "$(mount | grep -F "$tmp" || true)" "" "mounts under $tmp"
assert_eq "$(ls -d /sys/fs/cgroup/*/vipd-e2e-$$-* /sys/fs/cgroup/vipd-e2e-$$-* 2>/dev/null || true)" "" "cgroups left"
assert_eq "$(pgrep -af -- "$tmp/" || true)" "" "processes using $tmp"
say "ok"

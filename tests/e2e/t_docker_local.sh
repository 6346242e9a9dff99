#!/usr/bin/env bash
# vipd --docker local: containers of the node's own dockerd are endpoints,
# no etcd. Labelled containers share a VIP their vipd.vip label defines;
# docker stop turns one terminating at once (no failed request), start,
# unpause and a passing health check bring it back, pause and a failing
# health check take it out (a failing check: the same endpoint, not ready). dockerd killed and restarted: the map converges
# to the containers that run. Bad labels: one log line, nothing else.
# Seed-fleet labelling (NAMESPACE env, host network, --node-ip) and
# registrator style (SERVICE_NAME) join services of a services file; of
# two networks, vipd.network (else the first by name) gives the IP. A
# service whose containers are all stopped rejects at once; it goes with
# the last of them (docker rm). A periodic relist of steady containers
# mends nothing.
#
#   ┌ $client ─────────┐    ┌ $node ──────────────────────────────────────┐
#   │ 10.250.1.2       ├────┤ 10.250.1.1   br0 10.250.2.1 (= --node-ip)   │
#   │ curl 10.96.0.x   │    │ vipd --docker local (node-a)                │
#   └──────────────────┘    │ dockerd a: vipdnet 10.252.0.0/24 (c1 c2 c3  │
#                           │   h1 bad1-4 r2 m1 m2), bridge 10.251.0.0/24 │
#                           │   (r1 m1 m2), host (s1 :8099, s2 :8098)     │
#                           │ 10.96.0.0/16 via 10.250.2.99 (nobody): a    │
#                           │   VIP vipd does not reject would hang       │
#                           └─────────────────────────────────────────────┘
#
#   10.96.0.10:80  web            vipd.vip label of c1 c2 c3 h1 (vipd.port=8080)
#   10.96.0.20:80  arch.task.http services file (target 8099): s1, NAMESPACE env
#   10.96.0.21:80  arch2.task     services file (target 8098): s2, {label:group}.{label:service}
#   10.96.0.30:80  api            services file: r1, SERVICE_NAME=api SERVICE_PORT=8081
#   10.96.0.40:80  multi          services file: m1 m2 on vipdnet and bridge (vipd.network)
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib_etcd.sh
source "$(dirname "$0")/lib_etcd.sh" # log_mark, log_since, re
# shellcheck source-path=SCRIPTDIR source=lib_docker.sh
source "$(dirname "$0")/lib_docker.sh"

topo_up 0
pn ip route add 10.96.0.0/16 via 10.250.2.99
docker_up a
vargs=(--docker local --docker-socket "$(dk_sock a)" --node-name node-a --node-ip 10.250.2.1 --docker-relist 1
	--docker-name-from env:NAMESPACE --docker-name-from '{label:group}.{label:service}')
WEB=(-l vipd.vip=10.96.0.10:80)

# web_converged: the kernel sends web to exactly the running (and healthy)
# containers that carry its vipd.vip label.
web_ips() { running_ips label=vipd.vip=10.96.0.10:80; }
web_converged() { [[ $(map_ips 10.96.0.10 80) == "$(web_ips)" && -n $(web_ips) ]]; }
not_converged() { fail "$1: kernel map sends web to [$(map_ips 10.96.0.10 80 | tr '\n' ' ')], running containers are [$(web_ips | tr '\n' ' ')]"; }
in_map() { map_ips 10.96.0.10 80 | grep -qxF "$1"; }
out_of_map() { ! in_map "$1"; }
# vip_known VIP: in the services map, or in the noendpoints set (no endpoint).
in_noep() { pn nft list set ip vipd noendpoints 2>/dev/null | grep -qwF "$1"; }
vip_known() { vip_in_map "$1" || in_noep "$1"; }
is_running() { [[ $(dk inspect -f '{{.State.Running}}' "$1" 2>/dev/null) == true ]]; }
# state_since CONTAINER TEXT: since the last log_mark, the backend state line
# of web's endpoint CONTAINER (watcher/bstate.c) ends in TEXT (a regexp).
state_re() { echo "service \"web\" backend $1 \\($(re "$(cip "$1")") port 8080\\): $2\$"; }
state_since() { log_since "$(state_re "$1" "$2")"; }

say "vipd --docker local, no --services-file: reads no file, starts"
log_mark
start_vipd_in "$node" "$vipd_log" "${vargs[@]}"
vipd_pid=$started_pid
sleep 0.3
assert_alive "$vipd_pid" "vipd --docker local without --services-file or etcd"

say "1. c1 c2 c3 (vipd.service=web vipd.port=8080 vipd.vip=10.96.0.10:80) share the VIP"
run_web c1 "${WEB[@]}" --restart always
run_web c2 "${WEB[@]}"
run_web c3 "${WEB[@]}" --restart always
wait_vip 10.96.0.10
within 3 web_converged || not_converged "3 s after c1 c2 c3 answered"
for c in c1 c2 c3; do
	pn nft list map ip vipd backends | grep -qF "comment \"web/$c\"" || fail "no backend element with comment \"web/$c\" (endpoint id = container name)"
done
out=$(spread_pages 10.96.0.10 80 300 - c1 c2 c3)
echo "$out"
for c in c1 c2 c3; do assert_ge "$(hits "$c" "$out")" 60 "connections of 300 to $c (a fair share is 100)"; done

say "2. docker stop c2 (stop timeout 2 s) while a client runs: no new connection to c2 after 1 s, none fails"
pages_loop 10.96.0.10:80
has_loop_c2() { [[ $(pages_last c2) -gt 0 ]]; }
within 3 has_loop_c2 || fail "client loop: no answer from c2 in 3 s before the stop"
c2ip=$(cip c2)
log_mark
t_stop=$(now_ms)
dk stop c2 >/dev/null &
stop_job=$!
wait "$stop_job" || fail "docker stop c2"
t_died=$(now_ms)
sleep 0.5
pages_loop_end
last=$(pages_last c2)
echo "docker stop took $((t_died - t_stop)) ms; last connection to c2 started $((last - t_stop)) ms after the stop command"
echo "client: $(pages_count 0 "$t_stop") requests before the stop, $(pages_count "$t_stop" 99999999999999) after; $(pages_count 0 99999999999999 -) failed"
assert_ge "$((t_died - t_stop))" 1500 "ms docker stop c2 took (httpd ignores TERM: the stop timeout, 2 s)"
assert_eq "$(pages_count 0 99999999999999 -)" 0 "failed requests while c2 stopped"
assert_le "$last" "$((t_stop + 1000))" "start of the last connection to c2 (ms; stop command at $t_stop)"
assert_ge "$(pages_count "$((t_stop + 1000))" "$t_died")" 10 "requests between 1 s after the stop command and c2's death"
out_of_map "$(DK=a cip c2)" || fail "c2 still in the backends map after it died"
log_since "service \"web\" backend c2 \\($(re "$c2ip") port 8080\\): healthy -> terminating: docker stop$" ||
	fail "no state line 'service \"web\" backend c2 ($c2ip port 8080): healthy -> terminating: docker stop'"

say "3. docker start c2: back within 2 s; pause c3: out, unpause: back"
dk start c2 >/dev/null
t0=$(now_ms)
wait_web c2
since_ms=$t0 within 2 has_page 10.96.0.10 80 c2 || fail "c2 gets no connection through the VIP 2 s after docker start"
within 1 web_converged || not_converged "after docker start c2"
c3ip=$(cip c3)
t0=$(now_ms)
dk pause c3 >/dev/null
since_ms=$t0 within 1 out_of_map "$c3ip" || fail "paused c3 still in the backends map 1 s after docker pause"
spread_pages 10.96.0.10 80 40 c3 c1 c2
t0=$(now_ms)
dk unpause c3 >/dev/null
since_ms=$t0 within 1 has_page 10.96.0.10 80 c3 || fail "c3 gets no connection 1 s after docker unpause"

say "3b. docker kill -s HUP c1 (a reload, not its stop signal): c1 stays an endpoint"
dk kill -s HUP c1 >/dev/null
sleep 0.5
in_map "$(cip c1)" || fail "c1 left the backends map after SIGHUP (only its stop signal or KILL stops it)"
is_running c1 || fail "c1 died of SIGHUP"

say "4. health checks: only healthy containers take traffic; the others are not-ready endpoints"
# h2's first check is 30 s away: it stays "starting" for the whole test part.
log_mark
run_web h2 "${WEB[@]}" --health-cmd true --health-interval 30s
run_web h1 "${WEB[@]}" "${dk_health[@]}"
wait_health h1 healthy
within 2 has_page 10.96.0.10 80 h1 || fail "healthy h1 gets no connection 2 s after it turned healthy"
assert_eq "$(health h2)" starting "h2's health"
out_of_map "$(cip h2)" || fail "h2 (health: starting) is in the backends map"
log_since "web: \+h2 $(re "$(cip h2)"):8080 weight 100 \(not ready\)" ||
	fail "no line \"web: +h2 ... (not ready)\": h2 (health: starting) is not a not-ready endpoint"
dk rm -f h2 >/dev/null
# A health change is the same backend turning (not) ready, never a removal.
log_mark
make_unhealthy h1
wait_health h1 unhealthy
t0=$(now_ms)
since_ms=$t0 within 1 out_of_map "$(cip h1)" || fail "unhealthy h1 still in the backends map 1 s after docker said so"
log_since 'web: h1 ready -> not ready$' || fail "no line \"web: h1 ready -> not ready\" for the unhealthy h1"
state_since h1 'healthy -> not ready: docker health unhealthy' ||
	fail "no state line '$(state_re h1 'healthy -> not ready: docker health unhealthy')' for the unhealthy h1"
spread_pages 10.96.0.10 80 40 h1 c1 c2 c3
make_healthy h1
wait_health h1 healthy
since_ms=$(now_ms) within 1 has_page 10.96.0.10 80 h1 || fail "h1 gets no connection 1 s after it turned healthy again"
within 1 web_converged || not_converged "h1 healthy again"
log_since 'web: h1 not ready -> ready$' || fail "no line \"web: h1 not ready -> ready\" for h1 healthy again"
state_since h1 'not ready: docker health unhealthy -> healthy' ||
	fail "no state line '$(state_re h1 'not ready: docker health unhealthy -> healthy')' for h1 healthy again"
! log_since 'web: [-+]h1' || fail "h1 was removed or added while only its health changed: $(grep -E 'web: [-+]h1' "$vipd_log" | tail -n 1)"

say "5. dockerd kill -9: traffic flows while it is down; restarted: the map converges"
before=$(web_ips | tr '\n' ' ')
dockerd_kill a KILL
out=$(count_pages 10.96.0.10 80 40)
assert_eq "$(total "$out")" 40 "answered requests while dockerd is down"
assert_alive "$vipd_pid" "vipd with dockerd down"
t0=$(now_ms)
dockerd_start a
# Without --live-restore dockerd stops every container it finds; the
# --restart always ones (c1, c3) start again, maybe with another IP.
within 15 is_running c1 || fail "c1 (--restart always) not running 15 s after dockerd restarted"
within 15 is_running c3 || fail "c3 (--restart always) not running 15 s after dockerd restarted"
! is_running c2 || fail "c2 (no restart policy) running after dockerd's restart (dockerd behaviour changed?)"
since_ms=$t0 within 10 web_converged || not_converged "10 s after dockerd restarted"
echo "converged $(($(now_ms) - t0)) ms after dockerd start; before [$before], now [$(web_ips | tr '\n' ' ')]"
sleep 1
web_converged || not_converged "1 s after it had converged"
spread_pages 10.96.0.10 80 60 c2,h1 c1 c3

say "6. bad labels: one log line each, nothing else"
log_mark
run_box bad1 -l vipd.service=web -l vipd.port=8080 -l vipd.weight=0 -l vipd.vip=10.96.0.99:80
run_box bad2 -l vipd.service=web -l vipd.port=abc
run_box bad3 -l vipd.service=web -l vipd.port=8080 -l vipd.vip=nonsense
run_box bad4 -l vipd.service=Bad_Name -l vipd.port=8080 -l vipd.vip=10.96.0.98:80
declare -A bad_label=([bad1]=vipd.weight [bad2]=vipd.port [bad3]=vipd.vip [bad4]=vipd.service)
declare -A bad_value=([bad1]=0 [bad2]=abc [bad3]=nonsense [bad4]=Bad_Name) bad_re
for c in bad1 bad2 bad3 bad4; do
	wait_web "$c"
	bad_re[$c]="docker: container $c \\($(cid12 "$c")\\): label $(re "${bad_label[$c]}"): value \"$(re "${bad_value[$c]}")\": .+; ignored"
	within 3 log_since "${bad_re[$c]}" ||
		fail "no log line 'docker: container $c (ID): label ${bad_label[$c]}: value \"${bad_value[$c]}\": ...; ignored' 3 s after it started"
done
sleep 1 # events that follow (e.g. a re-list) must not log them again
for c in bad1 bad2 bad3 bad4; do
	grep -E "${bad_re[$c]}" "$vipd_log" | tail -n 1
	assert_eq "$(tail -n +$((log_lines + 1)) "$vipd_log" | grep -c "docker: container $c ")" 1 "log lines about $c"
	out_of_map "$(cip "$c")" || fail "$c (bad label ${bad_label[$c]}) is in the backends map"
done
! vip_known 10.96.0.99 || fail "bad1's vipd.vip 10.96.0.99 is in the services map (a refused container defines nothing)"
! vip_known 10.96.0.98 || fail "bad4's vipd.vip 10.96.0.98 is in the services map"
spread_pages 10.96.0.10 80 60 bad1,bad2,bad3,bad4,c2,h1 c1 c3
web_converged || not_converged "with bad containers around"
assert_alive "$vipd_pid" vipd

say "6a. a typo (vipd.wieght): the container is an endpoint, one warning names the label"
log_mark
run_web t1 "${WEB[@]}" -l vipd.wieght=50
within 2 has_page 10.96.0.10 80 t1 || fail "t1 (label vipd.wieght) gets no connection 2 s after it answered"
within 1 log_since "docker: container t1 \\($(cid12 t1)\\): label vipd\\.wieght: not a vipd label; ignored" ||
	fail "no warning naming t1's label vipd.wieght"
dk rm -f t1 >/dev/null

say "6b. c4 of web with another vipd.vip: an endpoint; the oldest container's definition stays"
log_mark
run_web c4 -l vipd.vip=10.96.0.11:80
within 2 has_page 10.96.0.10 80 c4 || fail "c4 gets no connection through 10.96.0.10 2 s after it answered"
! vip_known 10.96.0.11 || fail "c4's vipd.vip 10.96.0.11 (younger than c1's) is in the services map"
within 1 log_since 'c4.*c1|c1.*c4' || fail "no log line naming c4 and c1 (whose vipd.vip wins)"
grep -E 'c4.*c1|c1.*c4' "$vipd_log" | tail -n 1
# docker kill (SIGKILL): terminating at the kill event, gone at its death
log_mark
c4ip=$(cip c4)
t0=$(now_ms)
dk kill c4 >/dev/null
since_ms=$t0 within 1 lacks_page 10.96.0.10 80 c4 || fail "c4 still gets connections 1 s after docker kill"
within 1 log_since "service \"web\" backend c4 \\($(re "$c4ip") port 8080\\): healthy -> terminating: docker kill$" ||
	fail "no state line 'service \"web\" backend c4 ($c4ip port 8080): healthy -> terminating: docker kill'"
dk rm -f c4 >/dev/null

say "7. vipd restarted with a services file; seed-fleet style containers on the host network"
stop_vipd TERM
assert_eq "$vipd_status" 0 "exit status of vipd after SIGTERM"
out=$(count_pages 10.96.0.10 80 20)
assert_eq "$(total "$out")" 20 "answered requests while vipd is down"
f=$tmp/services.json
put_file "$f" <<'EOF'
{"services":{
  "arch.task.http":{"vip":"10.96.0.20","ports":[{"port":80,"target_port":8099}]},
  "arch2.task":{"vip":"10.96.0.21","ports":[{"port":80,"target_port":8098}]},
  "api":{"vip":"10.96.0.30","ports":[{"port":80,"target_port":8080}]},
  "multi":{"vip":"10.96.0.40","ports":[{"port":80,"target_port":8080}]}},
 "endpoints":{}}
EOF
log_mark
start_vipd "$f" "${vargs[@]}"
within 5 vip_known 10.96.0.30 || fail "api (services file, no endpoint) not in the services map or noendpoints 5 s after vipd restarted"
within 3 web_converged || not_converged "3 s after vipd restarted"
run_box s1 --network host -e PORT=8099 -l service=task -l group=arch -e NAMESPACE=arch.task.http
run_box s2 --network host -e PORT=8098 -l service=task -l group=arch2
wait_web s1 8099
wait_web s2 8098
s1_ok() { [[ $(cpage 10.96.0.20 80) == s1 ]]; }
s2_ok() { [[ $(cpage 10.96.0.21 80) == s2 ]]; }
within 2 s1_ok || fail "client does not reach s1 (NAMESPACE=arch.task.http, host network) via 10.96.0.20:80"
within 2 s2_ok || fail "client does not reach s2 (labels group=arch2 service=task) via 10.96.0.21:80"
assert_eq "$(map_backends 10.96.0.20 80)" "10.250.2.1 8099" "backends of arch.task.http (host network: --node-ip)"
assert_eq "$(map_backends 10.96.0.21 80)" "10.250.2.1 8098" "backends of arch2.task"
spread_pages 10.96.0.20 80 20 - s1

say "8. registrator style: SERVICE_NAME=api SERVICE_PORT=8081 (default bridge network); SERVICE_IGNORE"
run_box r2 -e SERVICE_NAME=api -e SERVICE_PORT=8081 -e PORT=8081 -e SERVICE_IGNORE=true
wait_web r2 8081
run_box r1 --network bridge -e SERVICE_NAME=api -e SERVICE_PORT=8081 -e PORT=8081
wait_web r1 8081
within 2 has_page 10.96.0.30 80 r1 || fail "r1 (SERVICE_NAME=api) gets no connection via 10.96.0.30:80 2 s after it answered"
assert_eq "$(map_backends 10.96.0.30 80)" "$(cip r1) 8081" "backends of api (r1 on network bridge, SERVICE_PORT 8081; r2 has SERVICE_IGNORE)"
spread_pages 10.96.0.30 80 20 r2 r1

say "8b. two networks: label vipd.network picks one, else the first by name (bridge < vipdnet)"
run_web m1 -l vipd.service=multi -l vipd.port=8080 -l vipd.network=vipdnet
run_web m2 -l vipd.service=multi -l vipd.port=8080
m2_only=$(cip m2 vipdnet)
within 2 has_page 10.96.0.40 80 m2 || fail "m2 (one network) gets no connection via 10.96.0.40:80"
dk network connect bridge m1
dk network connect bridge m2
multi_want=$(printf '%s 8080\n' "$(cip m1 vipdnet)" "$(cip m2 bridge)" | sort)
multi_ok() { [[ $(map_backends 10.96.0.40 80) == "$multi_want" ]]; }
within 2 multi_ok || fail "multi: backends [$(map_backends 10.96.0.40 80 | tr '\n' ' ')], want [$(tr '\n' ' ' <<<"$multi_want")] (m1 on vipdnet by label; m2 on bridge, first by name, after network connect; m2 had $m2_only)"
spread_pages 10.96.0.40 80 40 - m1 m2

say "9. every web container stopped: refused at once, the service stays; docker rm of the last: gone"
dk stop c1 c2 c3 h1 >/dev/null
vip_refused() {
	local t0 out
	t0=$(now_ms)
	refused_out=$(pc curl -sv --max-time 2 http://10.96.0.10/ 2>&1 | grep -E "Connection refused|curl:") || true
	refused_ms=$(($(now_ms) - t0))
	grep -q 'Connection refused' <<<"$refused_out" && [[ $refused_ms -lt 500 ]]
}
within 2 vip_refused || fail "web with every container stopped: curl not refused within 500 ms (took $refused_ms ms: $refused_out)"
echo "curl to web refused in $refused_ms ms"
in_noep 10.96.0.10 || fail "web's VIP not in the noendpoints set while its containers exist (stopped)"
dk rm c1 c2 c3 >/dev/null
sleep 1 # h1 still exists (stopped): nothing may change
in_noep 10.96.0.10 || fail "web's VIP left the noendpoints set while h1 (stopped) still carries its vipd.vip"
vip_refused || fail "web with only h1 (stopped) left: curl not refused within 500 ms (took $refused_ms ms: $refused_out)"
t0=$(now_ms)
dk rm h1 >/dev/null
vip_gone() { ! vip_known 10.96.0.10; }
since_ms=$t0 within 2 vip_gone || fail "web's VIP still in the services map or noendpoints 2 s after docker rm of its last container"
echo "web's VIP gone $(($(now_ms) - t0)) ms after docker rm h1 (bad1-3, vipd.service=web, still run)"
s1_ok || fail "s1 does not answer via arch.task.http after web went"
has_page 10.96.0.30 80 r1 || fail "r1 does not answer via api after web went"
assert_alive "$vipd_pid" vipd

say "10. the periodic relist (every 1 s here) finds every container as its last inspect"
log_mark
sleep 2.5
log_since "docker: relist: [0-9]+ containers, each as its last inspect" || fail "no periodic relist in 2.5 s (--docker-relist 1)"
! log_since "docker: relist: container" || fail "the relist of steady containers mended something: $(grep 'relist: container' "$vipd_log" | tail -n 3)"

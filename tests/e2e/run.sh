#!/usr/bin/env bash
# run.sh [TEST...]: run the e2e tests (all tests/e2e/t_*.sh, or the named
# ones: "spread", "t_spread" or "t_spread.sh"), each in its own bash, and
# print one PASS/FAIL line per test, then "N passed, N failed".
# Needs root; every test builds and removes its own network namespaces.
set -u
dir=$(cd "$(dirname "$0")" && pwd)

[[ $(id -u) -eq 0 ]] || { echo "run.sh: needs root (network namespaces)" >&2; exit 1; }

tests=()
if [[ $# -eq 0 ]]; then
	tests=("$dir"/t_*.sh)
else
	for t in "$@"; do
		t=${t##*/}
		t=${t%.sh}
		t=${t#t_}
		[[ -f $dir/t_$t.sh ]] || { echo "run.sh: no test $dir/t_$t.sh" >&2; exit 1; }
		tests+=("$dir/t_$t.sh")
	done
fi

passed=0 failed=0
log=$(mktemp /tmp/vipd-e2e-run.XXXXXX)
trap 'rm -f "$log" "$log.pid"' EXIT
for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	start=$SECONDS
	# The test's namespaces end in its pid: record it to look for leftovers.
	# shellcheck disable=SC2016
	timeout 300 bash -c 'echo $$ >"$1"; exec bash "$2"' _ "$log.pid" "$t" </dev/null >"$log" 2>&1
	rc=$?
	leaked=$(ip netns list | awk -v p="-$(cat "$log.pid")" '$1 ~ p "$" { print $1 }')
	if [[ -n $leaked ]]; then
		echo "leaked namespaces: $leaked" >>"$log"
		rc=1
	fi
	if [[ $rc -eq 0 ]]; then
		echo "PASS $name ($((SECONDS - start)) s)"
		passed=$((passed + 1))
	else
		echo "FAIL $name ($((SECONDS - start)) s, exit $rc)"
		sed 's/^/    /' "$log"
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]

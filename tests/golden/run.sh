#!/bin/bash
# run.sh: golden tests of `vipd --dry-run`. Each directory here is a case:
#
#   CASE/services.json   the input, in the --services-file format
#   CASE/args            optional: more flags, one line split on blanks
#   CASE/expected.nft    vipd's exact stdout for them
#
# usage: run.sh [--regen] [--self-test] [CASE...]   (no CASE: every case)
#   --regen (or GOLDEN_REGEN=1) rewrites expected.nft instead of comparing.
#   --self-test checks that a wrong expected.nft makes this script fail.
# VIPD overrides the binary (default: the repo's ./vipd); GOLDEN_DIR the
# directory of cases. --dry-run touches no netlink: no root, no namespace.

set -u
export LC_ALL=C
self=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
root_dir=$(cd "$(dirname "$self")/../.." && pwd)
VIPD=${VIPD:-$root_dir/vipd}
GOLDEN_DIR=${GOLDEN_DIR:-$(dirname "$self")}
regen=${GOLDEN_REGEN:-0}
[[ $regen == 0 ]] && regen=
tmp=$(mktemp -d /tmp/vipd-golden.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# A copy of one case with a wrong expected.nft must FAIL, the same copy
# with the right one must PASS.
self_test() {
	local t=$tmp/self out
	mkdir -p "$t"
	cp -r "$GOLDEN_DIR/single-endpoint" "$t/good"
	cp -r "$GOLDEN_DIR/single-endpoint" "$t/bad"
	sed -i 's/10\.0\.2\.11 \. 8080/10.0.2.11 . 8081/' "$t/bad/expected.nft"
	cmp -s "$t/good/expected.nft" "$t/bad/expected.nft" && { echo "self-test: could not alter the case"; return 1; }
	out=$(GOLDEN_DIR=$t GOLDEN_REGEN=0 bash "$self" good bad)
	if [[ $? -ne 1 || $out != *"PASS good"* || $out != *"FAIL bad"* ||
	      $out != *"+"*"10.0.2.11 . 8080"* || $(tail -n 1 <<<"$out") != "1 passed, 1 failed" ]]; then
		printf '%s\nself-test: FAIL (the runner did not catch the altered case)\n' "$out"
		return 1
	fi
	echo "self-test: PASS (an altered expected.nft fails, exit 1)"
}

cases=()
for a; do
	case $a in
	--regen) regen=1 ;;
	--self-test) self_test; exit ;;
	-*) echo "usage: run.sh [--regen] [--self-test] [CASE...]" >&2; exit 2 ;;
	*) cases+=("${a%/}") ;;
	esac
done
if [[ ${#cases[@]} -eq 0 ]]; then
	for d in "$GOLDEN_DIR"/*/; do
		[[ -f $d/services.json ]] && cases+=("$(basename "$d")")
	done
fi
if [[ ! -x $VIPD ]]; then
	echo "run.sh: $VIPD: no such program (make, or set VIPD)" >&2
	exit 2
fi

# run CASE OUT: vipd's stdout to OUT, its stderr to OUT.err
run() {
	local c=$GOLDEN_DIR/$1 args=()
	[[ -f $c/args ]] && read -ra args <"$c/args"
	"$VIPD" --services-file "$c/services.json" --dry-run "${args[@]}" >"$2" 2>"$2.err"
}

pass=0 fail=0
for name in "${cases[@]}"; do
	c=$GOLDEN_DIR/$name out=$tmp/$name.out
	why=
	if [[ ! -f $c/services.json ]]; then
		why="no case $c/services.json"
	elif run "$name" "$out"; rc=$? && [[ $rc -ne 0 ]]; then
		why="vipd exited with $rc"
	elif ! run "$name" "$out.2" || ! cmp -s "$out" "$out.2"; then
		why="two runs printed different rulesets"
	fi
	if [[ -n $why ]]; then
		echo "FAIL $name: $why"
		[[ -s $out.err ]] && sed 's/^/    /' "$out.err"
		[[ -f $out.2 ]] && diff -u --label run1 --label run2 "$out" "$out.2"
		fail=$((fail + 1))
	elif [[ -n $regen ]]; then
		cp "$out" "$c/expected.nft"
		echo "REGEN $name"
		pass=$((pass + 1))
	elif diff -u --label "$name/expected.nft" --label "vipd --dry-run" "$c/expected.nft" "$out"; then
		echo "PASS $name"
		pass=$((pass + 1))
	else
		echo "FAIL $name"
		fail=$((fail + 1))
	fi
done
if [[ -n $regen ]]; then
	echo "$pass regenerated, $fail failed"
else
	echo "$pass passed, $fail failed"
fi
[[ $fail -eq 0 ]]

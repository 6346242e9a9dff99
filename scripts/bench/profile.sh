#!/usr/bin/env bash
# profile.sh S E DIR -- where the time of one full sync goes: `perf record`
# (DWARF call graphs) of vipd --once and of build/rawbatch (the physical
# limit, see fullsync.sh) loading S services x E endpoints (gen.py), each in
# a bare namespace of its own (vprof-PEER-$$, tests/e2e/lib.sh's ns_up),
# removed right after and by lib.sh's cleanup on exit, failure or Ctrl-C.
#
# Writes to DIR, per peer (vipd, raw): perf-PEER.children (inclusive share
# per symbol), perf-PEER.dso (flat share per library), perf-PEER.err; and
# profile.status: "ok", or "skipped: no perf" (exit 0: perf is optional).
set -u
S=${1:-} E=${2:-} OUT=${3:-}
case "$S$E" in '' | *[!0-9]*) echo "usage: $0 S E DIR" >&2; exit 2 ;; esac
[ -d "$OUT" ] || { echo "profile.sh: no directory $OUT" >&2; exit 2; }
if ! command -v perf >/dev/null; then
	echo "profile: perf not installed: skipped" >&2
	echo "skipped: no perf" >"$OUT/profile.status"
	exit 0
fi
# shellcheck source-path=SCRIPTDIR source=../../tests/e2e/lib.sh
source "$(dirname "$0")/../../tests/e2e/lib.sh"
# shellcheck source-path=SCRIPTDIR source=lib_bench.sh
source "$root_dir/scripts/bench/lib_bench.sh"

python3 "$bench_dir/gen.py" vipd "$S" "$E" >"$tmp/prof.json"
python3 "$bench_dir/gen.py" raw "$S" "$E" >"$tmp/prof.raw"
bench_tool rawbatch libnftnl libmnl
for p in vipd raw; do
	ns=vprof-$p-$$
	ns_up "$ns"
	if [ $p = vipd ]; then
		set -- "$VIPD" --once --services-file "$tmp/prof.json"
	else
		set -- "$tool" "$tmp/prof.raw"
	fi
	timeout 300 perf record -q -F 999 --call-graph dwarf,65528 -o "$tmp/perf-$p.data" -- \
		ip netns exec "$ns" "$@" >/dev/null 2>"$OUT/perf-$p.err" ||
		fail "perf record of $p failed: $(tail -n 2 "$OUT/perf-$p.err")"
	ns_del "$ns"
	# inclusive share per symbol (children), and the flat profile per library
	timeout 300 perf report -i "$tmp/perf-$p.data" --stdio --children --sort sym -g none 2>/dev/null |
		grep -v '^#' | grep . >"$OUT/perf-$p.children"
	timeout 300 perf report -i "$tmp/perf-$p.data" --stdio --no-children --sort dso -g none 2>/dev/null |
		grep -v '^#' | grep . >"$OUT/perf-$p.dso"
	rm -f "$tmp/perf-$p.data"
done
echo ok >"$OUT/profile.status"

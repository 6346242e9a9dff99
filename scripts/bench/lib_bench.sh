# shellcheck shell=bash disable=SC2034,SC2154 # globals shared with lib.sh and the scripts
# lib_bench.sh: what the benchmark scripts share beyond tests/e2e/lib.sh
# (namespaces, processes, waits, cleanup: that is lib.sh's). Source it after
# lib.sh. It checks for root, makes vipd quiet (no -v: its debug lines
# would be measured too), keeps $tmp with KEEP=1, and builds the helper
# programs.

[[ $(id -u) -eq 0 ]] || fail "${0##*/}: needs root (network namespaces)"
bench_dir=$root_dir/scripts/bench
vipd_flags=()
[[ ${KEEP:-0} != 1 ]] || keep_tmp=1

# bench_need CMD...: every CMD is installed.
bench_need() {
	local t
	for t in "$@"; do command -v "$t" >/dev/null || fail "${0##*/}: missing $t"; done
}

# bench_tool NAME [PKG...]: build/NAME from scripts/bench/NAME.c (cc -O2,
# pkg-config flags of PKG...), when missing or older than its source; its
# path in $tool. Bounded: 120 s.
bench_tool() {
	local name=$1 flags=''
	shift
	tool=$root_dir/build/$name
	[[ ! -x $tool || $bench_dir/$name.c -nt $tool ]] || return 0
	mkdir -p "$root_dir/build"
	[[ $# -eq 0 ]] || flags=$(pkg-config --cflags --libs "$@") || fail "pkg-config $*"
	# shellcheck disable=SC2086 # flags is a word list
	timeout 120 cc -O2 -Wall -Wextra -o "$tool" "$bench_dir/$name.c" $flags || fail "building $tool failed"
}

# kv KEY TEXT: the number after the first "KEY=" in TEXT.
kv() { sed -n "s/.*\b$1=\([0-9.]*\).*/\1/p" <<<"$2" | head -1; }

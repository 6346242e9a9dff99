#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for FUZZ_SECONDS
# (default 30) from the seeds. Any crash, failed invariant or sanitizer
# report fails the run (non-zero exit) after every target has had its
# turn; the input that did it is left in build/fuzz/ (<target>-crash-*).
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${FUZZ_SECONDS:-30}
# The parts' sources, from the Makefile's object lists (one place).
read -r -a core <<<"${CORE:-$(make -s print-CORE)}"
# The libraries too: the core links every one of them.
read -r -a pkgs <<<"${PKGS:-$(make -s print-PKGS)}"
read -r -a pkg_cflags <<<"$(pkg-config --cflags "${pkgs[@]}")"
read -r -a pkg_libs <<<"$(pkg-config --libs "${pkgs[@]}")"
# target: the core source it #includes to reach static handlers (fuzz_etcd
# only, until the etcd source has pure decoders for its watch messages);
# every other target links the core as it is.
declare -A includes=([etcd]=watcher/etcd.c)
targets=(codec file docker etcd etcd_kv model)
mkdir -p build/fuzz
failed=()
for t in "${targets[@]}"; do
	srcs=()
	for f in "${core[@]}"; do
		[[ $f == "${includes[$t]:-}" ]] || srcs+=("$f")
	done
	clang -g -O1 -std=gnu11 -Iinclude -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=all -fno-omit-frame-pointer "${pkg_cflags[@]}" \
		-o "build/fuzz/fuzz_$t" "tests/fuzz/fuzz_$t.c" "${srcs[@]}" "${pkg_libs[@]}"
	corpus=tests/fuzz/corpus-$t
	mkdir -p "$corpus"
	seeds=(tests/fuzz/seeds)
	[[ -d tests/fuzz/seeds-$t ]] && seeds+=("tests/fuzz/seeds-$t")
	log=build/fuzz/fuzz_$t.log
	max_len=4096
	[[ $t == docker ]] && max_len=8192
	echo "== fuzz_$t for ${secs}s"
	if build/fuzz/fuzz_"$t" -max_total_time="$secs" -max_len="$max_len" \
		-print_final_stats=0 -artifact_prefix="build/fuzz/$t-" \
		-dict=tests/fuzz/json.dict "$corpus" "${seeds[@]}" >"$log" 2>&1; then
		grep -a '^Done' "$log" || tail -n 2 "$log"
	else
		echo "fuzz_$t FAILED (exit $?); the end of $log:"
		tail -n 40 "$log"
		failed+=("$t")
	fi
done
if ((${#failed[@]})); then
	echo "fuzz: failed: ${failed[*]}"
	exit 1
fi

#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for FUZZ_SECONDS
# (default 30) from the seeds; a crash leaves its input in the corpus dir.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${FUZZ_SECONDS:-30}
# The parts' sources, from the Makefile's object lists (one place).
read -r -a core <<<"${CORE:-$(make -s print-CORE)}"
mkdir -p build/fuzz
for t in codec file etcd docker; do
	clang -g -O1 -std=gnu11 -Iinclude -fsanitize=fuzzer,address,undefined \
		$(pkg-config --cflags libnftnl libmnl jansson libcurl) \
		-o build/fuzz/fuzz_$t tests/fuzz/fuzz_$t.c $(for f in "${core[@]}"; do [[ $t =~ ^(etcd|docker)$ && $f == watcher/$t.c ]] || echo "$f"; done) \
		$(pkg-config --libs libnftnl libmnl jansson libcurl)
	corpus=tests/fuzz/corpus-$t
	mkdir -p "$corpus"
	echo "== fuzz_$t for ${secs}s"
	build/fuzz/fuzz_$t -max_total_time="$secs" -max_len=$([[ $t == docker ]] && echo 8192 || echo 4096) -print_final_stats=0 \
		-dict=tests/fuzz/json.dict "$corpus" tests/fuzz/seeds $([[ -d tests/fuzz/seeds-$t ]] && echo tests/fuzz/seeds-$t) 2>&1 | tail -n 3
done

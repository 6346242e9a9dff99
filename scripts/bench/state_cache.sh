#!/usr/bin/env bash
# state_cache.sh [S [E [REPS]]]: the state cache's write and read cost at S
# services x E endpoints (default 10,000 x 10, 5 repetitions), with the
# release objects (run make first). Writes only to a temp dir, removed at
# the end; needs no root. run.sh item `cache`.
set -euo pipefail
cd "$(dirname "$0")/../.."
read -r -a core <<<"$(make -s print-CORE)"
read -r -a pkgs <<<"$(make -s print-PKGS)"
objs=()
for f in "${core[@]}"; do
	o=build/${f%.c}.o
	[[ -f $o ]] || { echo "state_cache.sh: $o missing (run make)" >&2; exit 1; }
	objs+=("$o")
done
tmp=$(mktemp -d /tmp/vipd-sc-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# shellcheck disable=SC2046 # pkg-config's words are flags
cc -O2 -std=gnu11 -Iinclude $(pkg-config --cflags "${pkgs[@]}") -o "$tmp/state_cache" \
	scripts/bench/state_cache.c "${objs[@]}" $(pkg-config --libs "${pkgs[@]}")
"$tmp/state_cache" "$tmp/state" "${1:-10000}" "${2:-10}" "${3:-5}"

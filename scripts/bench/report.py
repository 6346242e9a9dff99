#!/usr/bin/env python3
"""Writes BENCHMARKS.md (to stdout) from the results run.sh collected in $W.
Stdlib only; every input is optional (a missing item is reported as such)."""
import math
import os
import re
import subprocess
import sys

W = os.environ["W"]
E = os.environ


def rd(name):
    try:
        with open(os.path.join(W, name)) as f:
            return f.read()
    except OSError:
        return ""


def tsv(name):
    return [l.split("\t") for l in rd(name).splitlines() if l.strip()]


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def num(x):
    try:
        return float(x)
    except (TypeError, ValueError):
        return None


def ratio(a, b, fmt="%.1fx"):
    a, b = num(a), num(b)
    return fmt % (a / b) if a is not None and b else "–"


out = []
w = out.append
smoke = E.get("SMOKE") == "1"
big, eps = int(E["BIG"]), int(E["EPS"])

# ---------------------------------------------------------------- header
cpu = sh("grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2-").strip() or "?"
mem = sh("awk '/^MemTotal/ { printf \"%.0f GiB\", $2 / 1048576 }' /proc/meminfo")
osr = sh(". /etc/os-release 2>/dev/null; echo \"$PRETTY_NAME\"")
versions = "; ".join(x for x in (
    sh("nft --version"), sh("iptables-legacy --version"),
    sh("etcd --version 2>/dev/null | head -1"), sh("perf --version 2>/dev/null")) if x)
total = int(E["T_END"]) - int(E["T_START"])

w("# vipd benchmarks" + (" (SMOKE RUN: tiny sizes, numbers meaningless)" if smoke else ""))
w("")
w("vipd against the two ways kube-proxy programs a node, with the same services and "
  "endpoints in every shape (`scripts/bench/gen.py`; chain names, rules and "
  "transactions as kube-proxy writes them), and against the physical limit: vipd's "
  "own elements sent as one raw libnftnl batch with no model logic "
  "(`scripts/bench/rawbatch.c`). Everything runs inside network namespaces created "
  "and removed by the scripts; every command is bounded by `timeout`. Services: "
  "VIP 10.96.0.0+i+1 port 80/tcp, E endpoints each at 10.128.0.0/9 port 8080, equal "
  "weights.")
w("")
w("- Command: `%s` (= `%sbash scripts/bench/run.sh`; sizes: SIZES=\"%s\" EPS=%s REPS=%s "
  "NFT_CAP=%s CHANGES=%s SLOW_CHANGES=%s DP_SECS=%s DP_REPS=%s DP_SVCS=%s LB_CONNS=%s)"
  % (E["CMDLINE"], "BENCH_SMOKE=1 " if smoke else "", E["SIZES"], eps, E["REPS"], E["NFT_CAP"],
     E["CHANGES"], E["SLOW_CHANGES"], E["DP_SECS"], E["DP_REPS"], E["DP_SVCS"], E["LB_CONNS"]))
w("- Machine: %s CPUs (%s), %s, kernel %s, %s" % (sh("nproc"), cpu, mem, sh("uname -r"), osr))
w("- Tools: %s" % versions)
w("- vipd: %s (copied at the start, used for the whole run)" % E.get("VIPD_INFO", "?"))
w("- Date: %s; total run time %d min %02d s; load average at the start %s, at the end %s"
  % (E["DATE_START"], total // 60, total % 60, E["LOAD_START"], E.get("LOAD_END", "?")))
failed = E.get("FAILED_ITEMS", "").split()
if failed:
    w("- **FAILED items: %s** (their tables are missing or incomplete)" % ", ".join(failed))
w("")
w("The machine may be shared with other work (%s CPUs here): medians and ratios "
  "within one run are what to compare." % sh("nproc"))
w("")

# ---------------------------------------------------------------- 1. full sync
LABEL = {"vipd": "vipd --once", "raw": "rawbatch: one raw libnftnl batch (physical limit)",
         "nft-vipd": "nft -f, vipd's shape (reference)",
         "nft": "kube-proxy nftables shape, nft -f", "iptables": "kube-proxy iptables shape, iptables-legacy-restore"}
fs = tsv("fullsync.tsv")
w("## 1. Full sync (cold load into an empty namespace)")
w("")
w("Wall time of the loading command and its peak RSS (GNU time), user and system CPU "
  "time; median of the runs, each in a fresh namespace, followed by a count check "
  "of what the kernel holds. Peers over %s s are stopped and shown as skipped."
  % E["NFT_CAP"])
w("")
if not fs:
    w("(not run)")
else:
    w("| services x endpoints | peer | wall s | runs | peak RSS MiB | user s | sys s | vs vipd | vs rawbatch | status |")
    w("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    by = {}
    for r in fs:
        by.setdefault((int(r[0]), int(r[1])), {})[r[2]] = r
    for (s, e), peers in sorted(by.items()):
        base = peers.get("vipd", [None] * 9)[3]
        raw = peers.get("raw", [None] * 9)[3]
        for p in ("vipd", "raw", "nft-vipd", "nft", "iptables"):
            if p not in peers:
                continue
            r = peers[p]
            wall = r[3] if r[3] != "-" else "–"
            w("| %d x %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                s, e, LABEL[p], wall, r[7], r[4].replace("-", "–"), r[5].replace("-", "–"),
                r[6].replace("-", "–"), ratio(r[3], base), ratio(r[3], raw), r[8]))
    sizes = sorted(by)
    if len(sizes) >= 2:
        (s1, e1), (s2, e2) = sizes[0], sizes[-1]
        grow = []
        for p in ("vipd", "raw", "nft-vipd", "nft", "iptables"):
            t1 = num(by[sizes[0]].get(p, [None] * 9)[3])
            t2 = num(by[sizes[-1]].get(p, [None] * 9)[3])
            if t1 and t2 and s2 > s1:
                k = math.log(t2 / t1) / math.log(float(s2) / s1)
                grow.append("%s x%.1f (exponent %.2f)" % (LABEL[p], t2 / t1, k))
        if grow:
            w("")
            w("Growth of the wall time from %d to %d services (x%.1f): %s (exponent: log of "
              "the time ratio over log of the size ratio; 1 is linear growth)."
              % (s1, s2, float(s2) / s1, "; ".join(grow)))
    warn = [l for s in E["SIZES"].split() for l in rd("fullsync-%s.log" % s).splitlines()
            if "listener present" in l]
    if warn:
        w("")
        w("WARNING: an nftables event listener existed on the host during %d run(s) "
          "(another process's `nft monitor` or similar, in any namespace): nf_tables then "
          "builds a notification per added object in every namespace, which inflates "
          "system time of the nftables peers (see scripts/bench/README-notes.txt, finding 4)."
          % len(warn))
w("")

# What a profiled symbol is (shown only for symbols the run's profile lists).
SYMBOLS = (("nf_tables_dump_chains", "is the kernel dumping the table's chains (nft fills its cache "
            "with every chain before it sends a transaction)"),
           ("nft_chain_validate", "is the commit checking the table's jump graph for loops"),
           ("xt_find_match", "looks up an iptables match module, per rule of the table it reads"),
           ("translate_table", "is iptables-legacy's kernel side checking and converting a whole "
            "replaced table"),
           ("alloc_counters", "copies the counters of every rule of the replaced table"))

# ---------------------------------------------------------------- 2. one change
lat = tsv("latency.tsv")
L = {r[1]: r for r in lat if r[0] == "lat"}
M = {r[1]: int(r[2]) for r in lat if r[0] == "mem" and r[2].isdigit()}
w("## 2. One endpoint change with %d x %d loaded" % (big, eps))
w("")
w("Time from one endpoint change at its source to the kernel having it. vipd: t0 "
  "just before the change is made at the source (rename() of the rewritten services "
  "file; the etcd put), t1 when `build/nftwatch` (an independent netlink listener in "
  "the namespace, scripts/bench/nftwatch.c) sees the new backends element. kube-proxy "
  "shapes: the wall time of the process that applies the transaction kube-proxy "
  "sends for that change (`gen.py nft-changes` / `ipt-changes`): it returns after the "
  "kernel's commit; kube-proxy's own work before it (API watch, computing the "
  "transaction) is not included, so these are lower bounds. The same sequence of "
  "changes for every peer (endpoint e0 of a random service gets a new IP); one "
  "warm-up change first, not counted; fewer changes for the slow peers.")
w("")
if not L:
    w("(not run)")
else:
    ref = L.get("etcd", L.get("file"))
    refname = "vipd etcd" if "etcd" in L else "vipd file"
    w("| peer | changes | p50 ms | p90 ms | p99 ms | max ms | p50 vs %s |" % refname)
    w("|---|---:|---:|---:|---:|---:|---:|")
    for p in ("file", "etcd", "nft", "iptables"):
        if p in L:
            r = L[p]
            w("| %s | %s | %s | %s | %s | %s | %s |" % (r[7].replace("_", " "), r[2], r[3], r[4], r[5], r[6],
                                                      ratio(r[3], ref[3])))
    w("")
    prof = [(p, rd("perf-change-%s.txt" % p).splitlines()) for p in ("nft", "iptables")]
    if any(x for _, x in prof):
        w("Where one kube-proxy change goes (the last change applied once more under "
          "`perf record -g`; flat profile, top symbols):")
        w("")
        for p, lines in prof:
            if lines:
                top = []
                for l in lines[:6]:
                    m = re.match(r"\s*([\d.]+)%\s+\S+\s+\[.\]\s+(\S+)", l)
                    if m:
                        top.append("`%s` %s %%" % (m.group(2), m.group(1)))
                w("- %s: %s" % ({"nft": "nft -f", "iptables": "iptables-legacy-restore --noflush"}[p],
                                  ", ".join(top)))
        seen = {m.group(1) for _, lines in prof for l in lines[:6]
                for m in [re.match(r"\s*[\d.]+%\s+\S+\s+\[.\]\s+(\S+)", l)] if m}
        gloss = [(sym, what) for sym, what in SYMBOLS if sym in seen]
        if gloss:
            w("")
            w("What those symbols are: " + "; ".join("`%s` %s" % g for g in gloss) + ".")
    w("")
    w("The services file source re-reads the whole file on every change (after a 20 ms "
      "settle timer, watcher/file.c); the etcd source receives the one changed key.")
    if "file" in L and "etcd" in L and num(L["file"][3]) and num(L["etcd"][3]):
        f50, e50 = num(L["file"][3]), num(L["etcd"][3])
        fast, slow = ("etcd", "file") if e50 < f50 else ("file", "etcd")
        w("In this run (%d x %d), p50 %.2f ms through the file and %.2f ms through etcd: "
          "the %s source is %.1fx faster at the median."
          % (big, eps, f50, e50, fast, max(f50, e50) / min(f50, e50)))
    kp = [(num(L[p][3]), p) for p in ("nft", "iptables") if p in L and num(L[p][3])]
    vp = [(num(L[p][3]), p) for p in ("file", "etcd") if p in L and num(L[p][3])]
    if kp and vp:
        (kb, kn), (vb, vn) = min(kp), min(vp)
        w("Fastest vipd source (%s, p50 %.2f ms) vs fastest kube-proxy shape (%s, p50 %.2f ms): "
          "%s." % (vn, vb, kn, kb, ("vipd %.1fx faster" % (kb / vb)) if vb < kb else
                   ("kube-proxy shape %.1fx faster" % (vb / kb))))
w("")

# ---------------------------------------------------------------- 3. data path
dp = {r[1]: r for r in tsv("datapath.tsv") if r[0] == "dp"}
dp_head = rd("datapath.md")
dp_par = (re.search(r"\bP=(\d+)", dp_head) or re.search("(32)", "32")).group(1)
dp_pin = ", pinned to CPU 0" if "PIN=1" in dp_head else ""
w("## 3. Data path: new TCP connections through the node")
w("")
w("scripts/bench/datapath.sh: client ns -> node ns (the rules under test, ip_forward) "
  "-> 3 backend namespaces running `connbench server`; the client (`connbench client`, "
  "%s connections in flight%s) opens connections for %s s per run, "
  "%s interleaved rounds, median. Client, router and servers share the machine's CPUs, "
  "so absolute rates are machine-bound: compare the ratios (per round, vs case a). "
  "In the big cases the target service is one of %d services x %d endpoints. Case e's "
  "ruleset is loaded in chunks of 500 services (same rules; its full-sync time is in "
  "table 1)." % (dp_par, dp_pin, E["DP_SECS"], E["DP_REPS"], int(E["DP_SVCS"]), eps))
w("")
if not dp:
    w("(not run)")
else:
    desc = {"a": "a: direct to the backends, no rules (no conntrack)",
            "a+ct": "a+ct: direct, conntrack on (one nft ct rule), no NAT",
            "b": "b: vipd, 1 service",
            "c": "c: vipd, %s services" % E["DP_SVCS"],
            "d": "d: kube-proxy iptables, %s services, target in the middle" % E["DP_SVCS"],
            "d-last": "d-last: kube-proxy iptables, target last in KUBE-SERVICES",
            "e": "e: kube-proxy nftables, %s services" % E["DP_SVCS"]}
    w("| case | conn/s | p50 us | p99 us | ratio vs a | failed | rules load s |")
    w("|---|---:|---:|---:|---:|---:|---:|")
    for c in ("a", "a+ct", "b", "c", "d", "d-last", "e"):
        if c in dp:
            r = dp[c]
            w("| %s | %s | %s | %s | %s | %s | %s |" % (desc[c], r[2], r[3], r[4], r[5], r[6], r[7]))
    if "c" in dp:
        parts = ["vipd at %s services vs 1 service: %s" % (E["DP_SVCS"], ratio(dp["c"][2], dp.get("b", [0] * 8)[2], "%.2f"))]
        for c, name in (("d", "kube-proxy iptables (middle)"), ("d-last", "kube-proxy iptables (last)"),
                        ("e", "kube-proxy nftables")):
            if c in dp:
                parts.append("vs %s: %s" % (name, ratio(dp["c"][2], dp[c][2], "%.2fx")))
        w("")
        w("Connection rate ratios (medians): " + "; ".join(parts) + ".")
    busy = {}
    for l in rd("datapath.log").splitlines():
        m = re.match(r"round \d+ case (\S+): machine .*? cpu0 busy=(\d+)%", l)
        if m:
            busy.setdefault(m.group(1), []).append(int(m.group(2)))
    if busy and dp_pin:
        lo = min(min(v) for v in busy.values())
        w("")
        w("The client's CPU (cpu0, the client is pinned there) was %d-%d %% busy during the "
          "measured runs%s." % (lo, max(max(v) for v in busy.values()),
                               ": the client's core, not only the data path, limits these rates, "
                               "so the ratios understate the data path's share" if lo >= 95 else ""))
w("")

# ---------------------------------------------------------------- 4. memory
w("## 4. Memory: vipd daemon RSS")
w("")
w("VmRSS of the running daemon after its initial sync (settled 1-2 s), and of the same "
  "daemon with nothing to do (empty services file / empty etcd registry). Bytes per "
  "endpoint = (RSS loaded - RSS empty) / %d endpoints." % (big * eps))
w("")
if not M:
    w("(not run)")
else:
    w("| vipd daemon, source | services x endpoints | RSS MiB | bytes per endpoint |")
    w("|---|---|---:|---:|")
    rows = (("file-synced", "file-empty", "services file, after the initial sync"),
            ("file-after-changes", "file-empty", "services file, after the %s changes of table 2" % E["CHANGES"]),
            ("file-after-changes-trimmed", "file-empty",
             "services file, the same after malloc_trim(0) (free heap returned)"),
            ("file-empty", None, "services file, empty"),
            ("etcd-synced", "etcd-empty", "etcd, after the initial sync"),
            ("etcd-empty", None, "etcd, empty registry"))
    for k, b, name in rows:
        if k not in M:
            continue
        per = "–"
        if b and b in M:
            per = "%.0f" % ((M[k] - M[b]) * 1024.0 / (big * eps))
        w("| %s | %s | %.1f | %s |" % (name, "0" if b is None else "%d x %d" % (big, eps),
                                        M[k] / 1024.0, per))
    if "file-synced-hwm" in M:
        w("")
        w("Peak RSS (VmHWM) of the file-source daemon up to the end of its initial sync: "
          "%.1f MiB (the file source parses the whole file into one JSON tree, jansson, on "
          "every read)." % (M["file-synced-hwm"] / 1024.0))
        if "file-after-changes-trimmed" in M and "file-after-changes" in M:
            a, t = M["file-after-changes"], M["file-after-changes-trimmed"]
            txt = ("`malloc_trim(0)` (called through gdb, after all measurements) took the "
                   "daemon's RSS from %.1f to %.1f MiB" % (a / 1024.0, t / 1024.0))
            if t < a:
                txt += (": %.1f MiB was free heap that glibc kept; after the trim, %.0f bytes per "
                        "endpoint above the empty daemon"
                        % ((a - t) / 1024.0, (t - M.get("file-empty", 0)) * 1024.0 / (big * eps)))
            w(txt + ".")
w("")

# ---------------------------------------------------------------- 5. LB accuracy
lb = [r for r in tsv("datapath.tsv") if r[0] == "lb"]
w("## 5. Load-balancing accuracy")
w("")
w("vipd, 1 service, 3 backends, %s connections per weight set through the VIP; share "
  "per backend as counted by the client (which backend answered); sigma = binomial "
  "standard error sqrt(p(1-p)/N)." % E["LB_CONNS"])
w("")
if not lb:
    w("(not run)")
else:
    w("| weights | backend | expected % | connections | share % | deviation (pp) | deviation (sigma) |")
    w("|---|---|---:|---:|---:|---:|---:|")
    mx = {}
    for r in lb:
        w("| %s | %s | %s | %s | %s | %s | %s |" % tuple(r[1:8]))
        d, s = abs(float(r[6])), float(r[7])
        m = mx.setdefault(r[1], [0.0, 0.0])
        m[0], m[1] = max(m[0], d), max(m[1], s)
    for k, (d, s) in mx.items():
        w("| %s | **max** | | | | **%.3f** | **%.1f** |" % (k, d, s))
w("")

# ---------------------------------------------------------------- 6. Docker
w("## 6. Docker: container events to the kernel")
w("")
w("`vipd --docker local` against a real dockerd (Debian's docker.io) boxed in a node "
  "namespace: %s stop/start cycles of labelled containers, and a cold start with %s "
  "containers running (`scripts/bench/docker_latency.sh %s %s`; its header says exactly "
  "what t0 and t1 are). t0 is dockerd's own event timestamp, t1 a netlink witness in "
  "the node namespace. There is no kube-proxy peer: kube-proxy has no Docker source."
  % (E.get("DK_CYCLES", "?"), E.get("DK_CONTAINERS", "?"), E.get("DK_CYCLES", "?"),
     E.get("DK_CONTAINERS", "?")))
w("")
w(re.sub(r"(?m)^## ", "### ", rd("docker.md").strip()) or "(not run)")
w("")

# ---------------------------------------------------------------- 7. service semantics
w("## 7. Service semantics (issue 14): ruleset size, full sync, affinity, conntrack")
w("")
sem_cmd = rd("semantics.cmd").strip()
w("`scripts/bench/semantics.sh` (command: `%s`; run.sh item `semantics`): every "
  "namespace is its own, as above. Its tables follow." % (sem_cmd or "not run"))
w("")
w(re.sub(r"(?m)^## ", "### ", rd("semantics.md").strip()) or "(not run)")
w("")

# ---------------------------------------------------------------- 8. active health checks
w("## 8. Active health checks: death to removal, CPU per checked backend")
w("")
hc_cmd = rd("health.cmd").strip()
w("`scripts/bench/health.sh` (command: `%s`; run.sh item `health`): one node namespace, "
  "vipd with a services file; its header says exactly what is timed. Its tables follow."
  % (hc_cmd or "not run"))
w("")
w(re.sub(r"(?m)^## ", "### ", rd("health.md").strip()) or "(not run)")
w("")

# ---------------------------------------------------------------- 9. observability
w("## 9. Observability: /metrics scrape cost and change latency under scraping")
w("")
sc_cmd = rd("scrape.cmd").strip()
sc_md = rd("scrape.md").strip()
w("`scripts/bench/scrape.sh` (command: `%s`; run.sh item `scrape`): one node namespace, "
  "etcd and vipd on etcd with `--metrics` (its HTTP listener runs in vipd's one event "
  "loop, so a scrape is loop time taken from reconciling); its header says exactly what "
  "is timed. Its tables follow." % (sc_cmd or "not run"))
w("")
sc_v = [r for r in tsv("scrape.tsv") if r[0] == "verdict"]
if sc_md and sc_v:
    v = sc_v[-1]
    w("Requirement (p99 of an etcd change to the kernel while /metrics is scraped back to back "
      "at most %sx the idle p99): **%s** (%sx)." % (v[2], v[3], v[1]))
    w("")
w(re.sub(r"(?m)^## ", "### ", sc_md) or "(not run)")
w("")

# ---------------------------------------------------------------- 10. the state cache
w("## 10. The state cache: /var/lib/vipd/state.json at the largest size")
w("")
ca_cmd = rd("cache.cmd").strip()
ca = [re.match(r"(\d+) services x (\d+) endpoints: write (\d+) ms, (\d+) bytes; read (\d+) ms .*fork ([\d.]+) ms", l)
      for l in rd("cache.md").splitlines()]
ca = [m for m in ca if m]
w("`scripts/bench/state_cache.sh` (command: `%s`; run.sh item `cache`; no root): what vipd "
  "writes after a change (at most once a second, by a forked child: write, fsync, rename, "
  "fsync of the directory) and reads at a boot with a source down; medians of the repetitions."
  % (ca_cmd or "not run"))
w("")
if ca:
    med = lambda k: sorted(float(m.group(k)) for m in ca)[len(ca) // 2]
    w("| services x endpoints | file | write (child) | read back | the loop waits for the fork |")
    w("|---|---:|---:|---:|---:|")
    w("| %s x %s | %.1f MB | %d ms | %d ms | %.2f ms |" % (ca[0].group(1), ca[0].group(2),
      med(4) / 1e6, med(3), med(5), med(6)))
else:
    w("(not run)")
w("")

# ---------------------------------------------------------------- gap to the physical limit
def children(name):
    """symbol -> inclusive % from `perf report --children --sort sym -g none`"""
    d = {}
    for l in rd(name).splitlines():
        m = re.match(r"\s*([\d.]+)%\s+([\d.]+)%\s+\[(.)\]\s+(\S+)", l)
        if m:
            d.setdefault(m.group(4), float(m.group(1)))
    return d


def dsos(name):
    d = {}
    for l in rd(name).splitlines():
        m = re.match(r"\s*([\d.]+)%\s+(\S+)", l)
        if m:
            d[m.group(2)] = float(m.group(1))
    return d


w("## Largest gap to the physical limit, and why")
w("")
fsr = {}
for r in fs:
    fsr.setdefault(int(r[0]), {})[r[2]] = r
gaps = [(num(p["vipd"][3]) / num(p["raw"][3]), s) for s, p in fsr.items()
        if "vipd" in p and "raw" in p and num(p["vipd"][3]) and num(p["raw"][3])]
pv, pr = children("perf-vipd.children"), children("perf-raw.children")
dv = dsos("perf-vipd.dso")
if not gaps:
    w("(full sync not run)")
else:
    g, s = max(gaps)
    ab = max((num(p["vipd"][3]) - num(p["raw"][3]), k) for k, p in fsr.items()
             if "vipd" in p and "raw" in p and num(p["vipd"][3]) and num(p["raw"][3]))
    w("vipd --once vs rawbatch (table 1): " + "; ".join(
        "%.1fx at %d x %d (%s vs %s s)" % (num(fsr[k]["vipd"][3]) / num(fsr[k]["raw"][3]), k, eps,
                                        fsr[k]["vipd"][3], fsr[k]["raw"][3])
        for _, k in sorted((k, k) for _, k in gaps)) +
      ". The largest ratio is at %d x %d, the largest absolute gap (%.2f s) at %d x %d."
      % (s, eps, ab[0], ab[1], eps))
    if big in fsr and "vipd" in fsr[big] and "raw" in fsr[big]:
        v, r = fsr[big]["vipd"], fsr[big]["raw"]
        txt = ("At %d x %d, system time is %s s for vipd and %s s for rawbatch, user time %s s "
               "and %s s" % (big, eps, v[6], r[6], v[5], r[5]))
        du = (num(v[5]) or 0) - (num(r[5]) or 0)
        ds = (num(v[6]) or 0) - (num(r[6]) or 0)
        if du > 0 or ds > 0:
            txt += (": of the CPU time vipd spends above rawbatch, %.0f %% is user time"
                    % (100.0 * max(du, 0) / (max(du, 0) + max(ds, 0))))
        w(txt + ".")
    w("")
    if pv:
        def pc(sym, d=pv):
            return d.get(sym, 0.0)
        kern_v = pc("nfnetlink_rcv_batch")
        kern_r = pc("nfnetlink_rcv_batch", pr)
        own = dv.get("vipd", 0.0)
        w("Where vipd --once spends its time at %d x %d (perf record, DWARF call graphs; "
          "inclusive share of its samples):" % (big, eps))
        w("")
        w("| part | symbol | share |")
        w("|---|---|---:|")
        for part, sym in (("reading the services file: parse, check, build the model", "file_read"),
                          ("  of which jansson parsing the JSON text", "json_loadf"),
                          ("  of which freeing the JSON tree", "json_delete"),
                          ("read-back of the tables at start", "rec_load"),
                          ("glibc merging freed small blocks (at a later large malloc)",
                           "malloc_consolidate"),
                          ("reconcile: diff, build the batch, commit", "reconcile"),
                          ("  of which sending the batch and waiting for the kernel", "dp_transact"),
                          ("  of which the kernel processing the batch", "nfnetlink_rcv_batch")):
            if sym in pv:
                w("| %s | `%s` | %.1f %% |" % (part, sym, pv[sym]))
        if dv:
            w("| flat, by library | %s | |" % ", ".join("%s %.1f %%" % (k, x) for k, x in
                                                       sorted(dv.items(), key=lambda t: -t[1])[:5]))
        w("")
        txt = ("The kernel's batch processing is %.0f %% of vipd's samples and %.0f %% of "
               "rawbatch's. " % (kern_v, kern_r))
        parts = [(pc(sym), name) for sym, name in (("json_loadf", "jansson parsing the file"),
                                                   ("json_delete", "freeing the JSON tree"),
                                                   ("malloc_consolidate", "malloc_consolidate"),
                                                   ("rec_load", "the read-back at start"))
                 if pc(sym)]
        if parts:
            top, name = max(parts)
            txt += ("Of the parts above outside the kernel, the largest is %s (%.0f %%). "
                    % (name, top))
        txt += ("vipd's own code (model, diff, slots, message building) is %.0f %% of the samples "
                "flat. rawbatch reads a pre-digested list with no validation, no model and "
                "no read-back." % own)
        w(txt)
    else:
        w("(no profile: perf not available or the profile item failed)")
w("")
w("## How to reproduce, and the pieces")
w("")
w("    make bench          # this file (root; this run: %d min on %s CPUs)" % ((total + 59) // 60, sh("nproc")))
w("    make bench-smoke    # every piece at tiny sizes, about a minute, report in a temp file")
w("")
w("Pieces, each usable alone (see their headers): `scripts/bench/fullsync.sh S E CAP` "
  "(PEERS, REPS), `rawbatch.c`, `change_latency.sh S E CHANGES SLOW_CHANGES` (PEERS), "
  "`etcd_latency.sh`, `file_latency.py`, `nftwatch.c`, `datapath.sh SECONDS` (CASES, "
  "REPS), `semantics.sh` (SVCS, RR, MAGLEV, REPS, CT_FLOWS), `health.sh` (KILLS, INTERVAL, FALL, N, CPU_SECS, CASES), `scrape.sh S E CHANGES` (SCRAPES, STATUS_SCRAPES, BATCH, CAP, LIMIT, CONTROL), `state_cache.sh S E REPS`, `docker_latency.sh CYCLES CONTAINERS` (PARTS, K, SVCS, "
  "REPS), `connbench.c`, `gen.py` (every input shape), `profile.sh S E DIR`. Earlier findings: "
  "`scripts/bench/README-notes.txt` (full sync), "
  "`scripts/bench/datapath-notes.txt`.")
w("")
sys.stdout.write("\n".join(out))

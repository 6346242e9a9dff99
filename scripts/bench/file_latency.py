#!/usr/bin/env python3
"""Event-to-kernel latency of single endpoint changes made in vipd's services
file (the embedded source), observed by an independent netlink witness.

Run inside the namespace where vipd runs with --services-file FILE (FILE as
written by `gen.py vipd S E`). For each change: the new file content (one
endpoint's IP changed) is written to STAGE_DIR/services.json (same file
system, a directory vipd does not watch), then t0, then rename() over FILE,
as configuration tools write files; latency = the CLOCK_MONOTONIC time at
which nftwatch sees the new backends element minus t0. The changes are the
same sequence etcd_latency.py and the kube-proxy peers use (gen.change_seq).

usage: file_latency.py FILE STAGE_DIR S E CHANGES NFTWATCH
"""
import os
import select
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen import change_seq  # noqa: E402


def main():
    path, stage, S, E, N, watch = (sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]),
                                   int(sys.argv[5]), sys.argv[6])
    with open(path) as f:
        text = f.read()
    mon = subprocess.Popen([watch], stdout=subprocess.PIPE, bufsize=0)
    try:
        if mon.stdout.readline().strip() != b"ready":
            sys.exit("nftwatch did not start")
        lat = run(text, path, os.path.join(stage, "services.json"), mon, S, E, N)
    finally:
        mon.terminate()
        mon.wait()
    lat.sort()
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
    print("changes=%d p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f" %
          (len(lat), p(0.50), p(0.90), p(0.99), lat[-1]))


def run(text, path, tmp, mon, S, E, N):
    lat = []
    buf = b""
    for k, _svc, old, new in change_seq(S, E, N):
        a, b = '"ip":"%s"' % old[0], '"ip":"%s"' % new[0]
        if text.count(a) != 1:
            sys.exit("change %d: %s is not in the file exactly once" % (k, a))
        text = text.replace(a, b)
        with open(tmp, "w") as f:
            f.write(text)
        want = (" %s\n" % new[0]).encode()
        t0 = time.monotonic()
        os.rename(tmp, path)
        deadline = t0 + 10
        while want not in buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([mon.stdout], [], [], left)[0]:
                sys.exit("change %d (%s) not seen in the kernel within 10 s" % (k, new[0]))
            buf += mon.stdout.read1(65536) if hasattr(mon.stdout, "read1") else mon.stdout.read(65536)
        end = buf.index(want)
        start = buf.rindex(b"\n", 0, end) + 1 if b"\n" in buf[:end] else 0
        t1 = int(buf[start:end]) / 1e9
        if k >= 0:
            lat.append((t1 - t0) * 1000)
        buf = buf[end + len(want):]
        time.sleep(0.01)
    return lat


if __name__ == "__main__":
    main()

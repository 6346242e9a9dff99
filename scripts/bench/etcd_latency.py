#!/usr/bin/env python3
"""Event-to-kernel latency of single endpoint changes written to etcd.

Run inside the node namespace where etcd and vipd run (etcd_latency.sh does
that). For each change: t0, one put through the gateway (keep-alive), then
wait until an independent netlink listener (nftwatch) in the same namespace
reports the new backends element; latency = its CLOCK_MONOTONIC timestamp
minus t0 (it includes etcd's own commit and fsync).

usage: etcd_latency.py URL N_SERVICES CHANGES NFTWATCH [NET]

NET (default 10.200): the first two octets of the changes' new IPs. The
services changed are the same sequence for every run (seed 7); a second
run in the same registry needs another NET (10.201, ...), or its changes
would write the IPs already there and never reach the kernel.
"""
import base64
import http.client
import json
import random
import select
import subprocess
import sys
import time
import urllib.parse


def main():
    url, S, N = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    u = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    net = sys.argv[5] if len(sys.argv) > 5 else "10.200"
    mon = subprocess.Popen([sys.argv[4]], stdout=subprocess.PIPE, bufsize=0)
    if mon.stdout.readline().strip() != b"ready":
        sys.exit("nftwatch did not start")
    try:
        run(conn, mon, S, N, net)
    finally:
        mon.terminate()
        mon.wait()


def run(conn, mon, S, N, net):
    rng = random.Random(7)
    lat = []
    buf = b""
    # change -1 warms up the connections
    for k in range(-1, N):
        svc = rng.randrange(S)
        ip = "%s.%d.%d" % (net, (k + 1) // 250, (k + 1) % 250 + 1)
        key = "/vipd/endpoints/svc-%d/e0" % svc
        val = json.dumps({"ip": ip, "port": 8080})
        body = json.dumps({"key": base64.b64encode(key.encode()).decode(),
                           "value": base64.b64encode(val.encode()).decode()})
        want = (" %s\n" % ip).encode()
        t0 = time.monotonic()
        conn.request("POST", "/v3/kv/put", body, {"Content-Type": "application/json"})
        r = conn.getresponse()
        r.read()
        deadline = t0 + 5
        while want not in buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([mon.stdout], [], [], left)[0]:
                sys.exit("change %d (%s) not seen in the kernel within 5 s" % (k, ip))
            buf += mon.stdout.read1(65536) if hasattr(mon.stdout, "read1") else mon.stdout.read(65536)
        end = buf.index(want)
        t1 = int(buf[buf.rindex(b"\n", 0, end) + 1 if b"\n" in buf[:end] else 0:end]) / 1e9
        if k >= 0:
            lat.append((t1 - t0) * 1000)
        buf = buf[end + len(want):]
        time.sleep(0.01)
    lat.sort()
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
    print("changes=%d p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f" %
          (len(lat), p(0.50), p(0.90), p(0.99), lat[-1]))


if __name__ == "__main__":
    main()

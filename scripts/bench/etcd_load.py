#!/usr/bin/env python3
"""Bulk-load S services x E endpoints into etcd through the v3 JSON gateway,
128 puts per transaction (etcd's default --max-txn-ops), stdlib only.

usage: etcd_load.py URL S E [PREFIX]
"""
import base64
import http.client
import json
import sys
import urllib.parse


def b64(s):
    return base64.b64encode(s.encode()).decode()


def main():
    url, S, E = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    prefix = sys.argv[4] if len(sys.argv) > 4 else "/vipd"
    u = urllib.parse.urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    ops = []

    def flush():
        if not ops:
            return
        conn.request("POST", "/v3/kv/txn", json.dumps({"success": ops}),
                     {"Content-Type": "application/json"})
        r = conn.getresponse()
        body = r.read()
        if r.status != 200:
            sys.exit("txn failed: %s %s" % (r.status, body[:200]))
        ops.clear()

    def put(k, v):
        ops.append({"request_put": {"key": b64(k), "value": b64(v)}})
        if len(ops) == 128:
            flush()

    for i in range(S):
        svc = {"vip": "10.96.%d.%d" % (i // 250, i % 250 + 1),
               "ports": [{"name": "http", "port": 80, "protocol": "tcp", "target_port": 8080}]}
        put("%s/services/svc-%d" % (prefix, i), json.dumps(svc))
        for j in range(E):
            n = i * E + j
            ep = {"ip": "10.%d.%d.%d" % (128 + n // 65536, (n // 256) % 256, n % 256), "port": 8080}
            put("%s/endpoints/svc-%d/e%d" % (prefix, i, j), json.dumps(ep))
    flush()


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Benchmark input generator for vipd full-sync comparisons (stdlib only).

    gen.py vipd     S E > services.json   vipd --services-file input
    gen.py nft      S E > kp.nft          kube-proxy nftables-mode full-sync
                                          transaction (nft -f), with its flushes
    gen.py nft-plain S E > kp.nft         the same without the flush commands
    gen.py nft-vipd S E > vs.nft          vipd's own ruleset shape (DESIGN.md) with the
                                          same elements, for nft -f (reference only)
    gen.py iptables S E > kp.ipt          kube-proxy iptables-mode nat table
                                          (iptables-legacy-restore)
    gen.py raw      S E > raw.txt         vipd's map elements as a plain list, for
                                          rawbatch.c (the physical limit)
    gen.py vipd-features S E > services.json  vipd input with the issue-14
                                          semantics switched on (GEN_* below)
    gen.py expect   S E                   expected object counts, one
                                          "key value" per line (for checks)
    gen.py nft-chunks S E CHUNK DIR       the nft shape as DIR/000.nft + one file per
                                          CHUNK services (fast set-up of a loaded table)
    gen.py nft-changes S E N DIR          N single-endpoint changes as kube-proxy's
                                          nftables mode sends them (DIR/NNNN.nft)
    gen.py ipt-changes S E N DIR          the same for iptables-legacy-restore --noflush:
                                          the changed KUBE-SVC/KUBE-SEP chains
    gen.py ipt-changes-svc S E N DIR      as ipt-changes, plus KUBE-SERVICES and the other
                                          top chains kube-proxy rewrites on every sync

All three shapes describe the same S services and S*E endpoints:
  service i   : name svc-<i> (namespace "default" in the kube-proxy shapes),
                VIP = 10.96.0.0 + i + 1, port 80/tcp, port name "http",
                target port 8080
  endpoint j  : of service i: id e<j>, IP = 10.128.0.0 + (i*E + j) + 1,
                port 8080, weight 100

The kube-proxy shapes follow kube-proxy's own generated rules
(pkg/proxy/nftables and pkg/proxy/iptables of kubernetes/kubernetes): the
same chain names (hash prefixes computed the same way), one chain per
service and one chain per endpoint, the same per-chain rules, the same base
chains, and, for nft, one `add element` line per element as knftables
writes them. Cluster (pod) CIDR 10.128.0.0/9, service CIDR 10.96.0.0/16.
"""

import base64
import hashlib
import ipaddress
import json
import os
import sys

SVC_BASE = int(ipaddress.IPv4Address("10.96.0.0"))
EP_BASE = int(ipaddress.IPv4Address("10.128.0.0"))
SVC_CIDR = "10.96.0.0/16"
CLUSTER_CIDR = "10.128.0.0/9"
NAMESPACE = "default"
PORT_NAME = "http"
PORT = 80
TARGET_PORT = 8080
WEIGHT = 100
NODE_IP = "192.168.0.2"
MASQ_MARK = "0x4000"


def limits(s, e):
    if s < 1 or e < 1:
        raise SystemExit("gen.py: S and E must be >= 1")
    if s > 65534:
        raise SystemExit("gen.py: S must be <= 65534 (VIPs come from 10.96.0.0/16)")
    if s * e > (1 << 23) - 2:
        raise SystemExit("gen.py: S*E must be <= %d (endpoints come from 10.128.0.0/9)"
                         % ((1 << 23) - 2))


def vip(i):
    return str(ipaddress.IPv4Address(SVC_BASE + i + 1))


def ep_ip(i, j, e):
    return str(ipaddress.IPv4Address(EP_BASE + i * e + j + 1))


def svc_name(i):
    return "svc-%d" % i


# Benchmarks that send traffic (datapath.sh) give one service real backends:
#   GEN_TARGET=i GEN_TARGET_EPS=ip:weight,ip:weight,...
# and GEN_TARGET_LAST=1 puts that service last in iptables' KUBE-SERVICES.
TARGET = int(os.environ.get("GEN_TARGET", "-1"))
TARGET_EPS = [(ip, int(w)) for ip, w in
              (x.split(":") for x in os.environ.get("GEN_TARGET_EPS", "").split(",") if x)]
TARGET_LAST = os.environ.get("GEN_TARGET_LAST") == "1"


def eps_of(i, e):
    """Endpoints of service i as (ip, weight)."""
    if i == TARGET and TARGET_EPS:
        return TARGET_EPS
    return [(ep_ip(i, j, e), WEIGHT) for j in range(e)]


def service_order(s):
    if TARGET_LAST and 0 <= TARGET < s:
        return [i for i in range(s) if i != TARGET] + [TARGET]
    return range(s)


# ---------------------------------------------------------------- vipd

def gen_vipd(s, e, out):
    services = {}
    endpoints = {}
    for i in range(s):
        name = svc_name(i)
        services[name] = {
            "vip": vip(i),
            "ports": [{"name": PORT_NAME, "port": PORT, "protocol": "tcp",
                       "target_port": TARGET_PORT}],
            "algorithm": "random",
        }
        endpoints[name] = {
            "e%d" % j: {"ip": ip, "port": TARGET_PORT, "weight": wt}
            for j, (ip, wt) in enumerate(eps_of(i, e))
        }
    json.dump({"services": services, "endpoints": endpoints}, out,
              separators=(",", ":"))
    out.write("\n")


# ---------------------------------------------------------------- nft (kube-proxy nftables mode)

def kp_nft_hash(name):
    # kube-proxy nftables: hashAndTruncate(): base32(sha256(name))[:8] + "-" + name
    h = base64.b32encode(hashlib.sha256(name.encode()).digest()).decode()
    return h[:8] + "-" + name


NFT_BASE = """\
add table ip kube-proxy { comment "rules for kube-proxy" ; }

add set ip kube-proxy cluster-ips { type ipv4_addr ; comment "Active ClusterIPs" ; }
add set ip kube-proxy nodeport-ips { type ipv4_addr ; comment "IPs that accept NodePort traffic" ; }

add map ip kube-proxy firewall-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "destinations that are subject to LoadBalancerSourceRanges" ; }
add map ip kube-proxy no-endpoint-nodeports { type inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to service nodeports with no endpoints" ; }
add map ip kube-proxy no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict ; comment "vmap to drop or reject packets to services with no endpoints" ; }
add map ip kube-proxy service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; comment "ClusterIP, ExternalIP and LoadBalancer IP traffic" ; }
add map ip kube-proxy service-nodeports { type inet_proto . inet_service : verdict ; comment "NodePort traffic" ; }

add chain ip kube-proxy cluster-ips-check
add chain ip kube-proxy filter-prerouting-pre-dnat { type filter hook prerouting priority -110 ; }
add chain ip kube-proxy filter-output-pre-dnat { type filter hook output priority -110 ; }
add chain ip kube-proxy filter-forward { type filter hook forward priority 0 ; }
add chain ip kube-proxy filter-input { type filter hook input priority 0 ; }
add chain ip kube-proxy filter-output { type filter hook output priority 0 ; }
add chain ip kube-proxy firewall-check
add chain ip kube-proxy mark-for-masquerade
add chain ip kube-proxy masquerading
add chain ip kube-proxy nat-output { type nat hook output priority -100 ; }
add chain ip kube-proxy nat-postrouting { type nat hook postrouting priority 100 ; }
add chain ip kube-proxy nat-prerouting { type nat hook prerouting priority -100 ; }
add chain ip kube-proxy nodeport-endpoints-check
add chain ip kube-proxy reject-chain { comment "helper for @no-endpoint-services / @no-endpoint-nodeports" ; }
add chain ip kube-proxy services
add chain ip kube-proxy service-endpoints-check

add rule ip kube-proxy cluster-ips-check ip daddr @cluster-ips reject comment "Reject traffic to invalid ports of ClusterIPs"
add rule ip kube-proxy cluster-ips-check ip daddr { %(svc_cidr)s } drop comment "Drop traffic to unallocated ClusterIPs"
add rule ip kube-proxy filter-prerouting-pre-dnat ct state new jump firewall-check
add rule ip kube-proxy filter-forward ct state new jump service-endpoints-check
add rule ip kube-proxy filter-forward ct state new jump cluster-ips-check
add rule ip kube-proxy filter-input ct state new jump nodeport-endpoints-check
add rule ip kube-proxy filter-input ct state new jump service-endpoints-check
add rule ip kube-proxy filter-output ct state new jump service-endpoints-check
add rule ip kube-proxy filter-output-pre-dnat ct state new jump firewall-check
add rule ip kube-proxy filter-output ct state new jump cluster-ips-check
add rule ip kube-proxy firewall-check ip daddr . meta l4proto . th dport vmap @firewall-ips
add rule ip kube-proxy mark-for-masquerade mark set mark or %(mark)s
add rule ip kube-proxy masquerading mark and %(mark)s == 0 return
add rule ip kube-proxy masquerading mark set mark xor %(mark)s
add rule ip kube-proxy masquerading masquerade fully-random
add rule ip kube-proxy nat-output jump services
add rule ip kube-proxy nat-postrouting jump masquerading
add rule ip kube-proxy nat-prerouting jump services
add rule ip kube-proxy nodeport-endpoints-check ip daddr @nodeport-ips meta l4proto . th dport vmap @no-endpoint-nodeports
add rule ip kube-proxy reject-chain reject
add rule ip kube-proxy services ip daddr . meta l4proto . th dport vmap @service-ips
add rule ip kube-proxy services ip daddr @nodeport-ips meta l4proto . th dport vmap @service-nodeports

add element ip kube-proxy nodeport-ips { %(node_ip)s }
add rule ip kube-proxy service-endpoints-check ip daddr . meta l4proto . th dport vmap @no-endpoint-services
"""


def gen_nft(s, e, out, flush=True):
    # flush=True writes what kube-proxy's full sync sends: every map it rebuilds
    # is flushed, and every service/endpoint chain is "add chain" + "flush chain"
    # (ensureChain()). On an empty table the flushes change nothing but still
    # cost parsing, evaluation and netlink messages. "nft-plain" drops them.
    w = out.write
    w(NFT_BASE % {"svc_cidr": SVC_CIDR, "mark": MASQ_MARK, "node_ip": NODE_IP})
    if flush:
        for m in ("firewall-ips", "no-endpoint-services", "no-endpoint-nodeports",
                  "service-ips", "service-nodeports"):
            w("flush map ip kube-proxy %s\n" % m)
    # Per service, in the order kube-proxy's syncProxyRules() emits it:
    # ensureChain() for each endpoint chain, then for the service chain, the
    # service-ips (and cluster-ips) elements, the service chain's rules
    # (masquerade check, numgen vmap), then each endpoint chain's rules.
    def chain(c):
        w("add chain ip kube-proxy %s\n" % c)
        if flush:
            w("flush chain ip kube-proxy %s\n" % c)

    for i in range(s):
        v = vip(i)
        spn = "%s/%s/tcp/%s" % (NAMESPACE, svc_name(i), PORT_NAME)
        svc_chain = "service-" + kp_nft_hash(spn)
        ep_chains = []
        for ip, _ in eps_of(i, e):
            ep_chains.append((ip, "endpoint-" + kp_nft_hash("%s__%s/%d" % (spn, ip, TARGET_PORT))))
        for _, c in ep_chains:
            chain(c)
        chain(svc_chain)
        w("add element ip kube-proxy cluster-ips { %s }\n" % v)
        w("add element ip kube-proxy service-ips { %s . tcp . %d : goto %s }\n" % (v, PORT, svc_chain))
        w("add rule ip kube-proxy %s ip daddr %s tcp dport %d ip saddr != %s jump mark-for-masquerade\n"
          % (svc_chain, v, PORT, CLUSTER_CIDR))
        vm = " , ".join("%d : goto %s" % (k, c) for k, (_, c) in enumerate(ep_chains))
        w("add rule ip kube-proxy %s numgen random mod %d vmap { %s }\n"
          % (svc_chain, len(ep_chains), vm))
        for ip, c in ep_chains:
            w("add rule ip kube-proxy %s ip saddr %s jump mark-for-masquerade\n" % (c, ip))
            w("add rule ip kube-proxy %s meta l4proto tcp dnat to %s:%d\n" % (c, ip, TARGET_PORT))


# ---------------------------------------------------------------- nft-vipd (vipd's shape, loaded by nft -f)

def gen_nft_vipd(s, e, out, chunk=1000):
    """vipd's constant ruleset (DESIGN.md "Ruleset shape") with this input's
    elements, as an nft -f script: a reference for what the shape costs in one
    batch independent of vipd's own netlink code. Equal weights -> 1 slot per
    endpoint, so every service jumps to lb-<E>. Elements go in `add element`
    statements of `chunk` elements each."""
    w = out.write
    w("add table ip vipd\n")
    w('add map ip vipd services { type ipv4_addr . inet_proto . inet_service : verdict ; '
      'comment "VIP -> class chain" ; }\n')
    w("add map ip vipd backends { typeof ip daddr . meta l4proto . th dport . numgen random mod 1 : "
      'ip daddr . th dport ; comment "VIP slot -> backend" ; }\n')
    w('add chain ip vipd lb-%d { comment "random, %d slots" ; }\n' % (e, e))
    w("add rule ip vipd lb-%d dnat ip to ip daddr . meta l4proto . th dport . numgen random mod %d "
      "map @backends\n" % (e, e))
    for hook, prio in (("prerouting", "dstnat"), ("output", "-100")):
        w("add chain ip vipd %s { type nat hook %s priority %s ; }\n" % (hook, hook, prio))
        w("add rule ip vipd %s ip daddr . meta l4proto . th dport vmap @services\n" % hook)

    def flush(mapname, items):
        for k in range(0, len(items), chunk):
            w("add element ip vipd %s { %s }\n" % (mapname, ", ".join(items[k:k + chunk])))

    flush("services", ["%s . tcp . %d : goto lb-%d" % (vip(i), PORT, e) for i in range(s)])
    be = []
    for i in range(s):
        v = vip(i)
        for j in range(e):
            be.append("%s . tcp . %d . %d : %s . %d" % (v, PORT, j, ep_ip(i, j, e), TARGET_PORT))
            if len(be) >= chunk:
                flush("backends", be)
                be = []
    flush("backends", be)


# ---------------------------------------------------------------- iptables (kube-proxy iptables mode)

def kp_ipt_hash(s):
    # kube-proxy iptables: base32(sha256(...))[:16]
    return base64.b32encode(hashlib.sha256(s.encode()).digest()).decode()[:16]


def gen_iptables(s, e, out):
    w = out.write
    chains = []   # per-service and per-endpoint chain declarations
    rules = []
    svc_rules = []
    for i in service_order(s):
        v = vip(i)
        spn = "%s/%s:%s" % (NAMESPACE, svc_name(i), PORT_NAME)   # ServicePortName.String()
        svc_chain = "KUBE-SVC-" + kp_ipt_hash(spn + "tcp")
        chains.append(svc_chain)
        svc_rules.append('-A KUBE-SERVICES -m comment --comment "%s cluster IP" -m tcp -p tcp '
                         '-d %s --dport %d -j %s' % (spn, v, PORT, svc_chain))
        rules.append('-A %s -m comment --comment "%s cluster IP" -m tcp -p tcp -d %s --dport %d '
                     '! -s %s -j KUBE-MARK-MASQ' % (svc_chain, spn, v, PORT, CLUSTER_CIDR))
        seps = []
        for ip, _ in eps_of(i, e):
            epstr = "%s:%d" % (ip, TARGET_PORT)
            sep = "KUBE-SEP-" + kp_ipt_hash(spn + "tcp" + epstr)
            chains.append(sep)
            seps.append((sep, ip, epstr))
        for j, (sep, ip, epstr) in enumerate(seps):
            n = len(seps) - j
            if n > 1:
                rules.append('-A %s -m comment --comment "%s -> %s" -m statistic --mode random '
                             '--probability %0.10f -j %s' % (svc_chain, spn, epstr, 1.0 / n, sep))
            else:
                rules.append('-A %s -m comment --comment "%s -> %s" -j %s'
                             % (svc_chain, spn, epstr, sep))
        for sep, ip, epstr in seps:
            rules.append("-A %s -m comment --comment %s -s %s -j KUBE-MARK-MASQ" % (sep, spn, ip))
            rules.append("-A %s -m comment --comment %s -m tcp -p tcp -j DNAT --to-destination %s"
                         % (sep, spn, epstr))

    w("*nat\n")
    for c in ("PREROUTING ACCEPT", "INPUT ACCEPT", "OUTPUT ACCEPT", "POSTROUTING ACCEPT"):
        w(":%s [0:0]\n" % c)
    for c in ("KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-MARK-MASQ"):
        w(":%s - [0:0]\n" % c)
    for c in chains:
        w(":%s - [0:0]\n" % c)
    w('-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES\n')
    w('-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES\n')
    w('-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING\n')
    w("-A KUBE-POSTROUTING -m mark ! --mark %s/%s -j RETURN\n" % (MASQ_MARK, MASQ_MARK))
    w("-A KUBE-POSTROUTING -j MARK --xor-mark %s\n" % MASQ_MARK)
    w('-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" '
      '-j MASQUERADE --random-fully\n')
    w("-A KUBE-MARK-MASQ -j MARK --or-mark %s\n" % MASQ_MARK)
    for r in svc_rules:
        w(r + "\n")
    w('-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be '
      'the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS\n')
    for r in rules:
        w(r + "\n")
    w("COMMIT\n")


# ---------------------------------------------------------------- expected counts

def gen_expect(s, e, out):
    # nft: 16 base chains; iptables: 4 KUBE-* base chains in nat (builtins not counted)
    out.write("services %d\n" % s)
    out.write("endpoints %d\n" % (s * e))
    out.write("nft_chains %d\n" % (16 + s + s * e))
    out.write("nft_service_ips %d\n" % s)
    out.write("ipt_kube_chains %d\n" % (4 + s + s * e))
    out.write("ipt_sep_chains %d\n" % (s * e))
    out.write("ipt_rules %d\n" % (3 + 3 + 1 + s + 1 + s * (1 + e) + 2 * s * e))


# ---------------------------------------------------------------- raw (rawbatch.c input)

def gen_raw(s, e, out):
    """vipd's elements for this input, one per line, for rawbatch.c: the same
    keys, data and comments vipd --once writes (equal weights: one slot per
    endpoint, every service in class chain lb-E)."""
    w = out.write
    w("table vipd\nclass lb-%d %d\n" % (e, e))
    for i in range(s):
        w("svc %s tcp %d lb-%d %s:%s\n" % (vip(i), PORT, e, svc_name(i), PORT_NAME))
    for i in range(s):
        v = vip(i)
        for j in range(e):
            w("be %s tcp %d %d %s %d %s/e%d\n" % (v, PORT, j, ep_ip(i, j, e), TARGET_PORT,
                                                   svc_name(i), j))


# ---------------------------------------------------------------- vipd, service semantics

def gen_vipd_features(s, e, out):
    """gen_vipd's services and endpoints, with the service semantics of
    DESIGN.md switched on by environment (scripts/bench/semantics.sh):
      GEN_NODEPORT=1      ports[0].node_port = 20000 + i (unique)
      GEN_EXTIP=1         external_ips = [198.18.0.0 + i + 1] (one per service)
      GEN_AFFINITY=T      affinity_timeout T (0: off)
      GEN_LOCAL_EVERY=K   traffic_policy local on every K-th service (0: none);
                          endpoints alternate node "node-a" / "node-b" (vipd
                          runs with --node-name node-a)
      GEN_ALGO=mix|ALGO   mix: services 0..R-1 round-robin, the next M maglev,
                          the others random and source-hash in turn; else
                          every service ALGO (random, round-robin, ...)
      GEN_RR=R            (mix) the number of round-robin services
      GEN_MAGLEV=M        (mix) the number of maglev services (each frontend
                          of one fills 1021 slots: keep M small for speed)"""
    env = os.environ.get
    nodeport = env("GEN_NODEPORT", "0") == "1"
    extip = env("GEN_EXTIP", "0") == "1"
    aff = int(env("GEN_AFFINITY", "0"))
    local_every = int(env("GEN_LOCAL_EVERY", "0"))
    algo = env("GEN_ALGO", "mix")
    rr = int(env("GEN_RR", "0"))
    mg = int(env("GEN_MAGLEV", "0"))
    if nodeport and s > 45535:
        raise SystemExit("gen.py: node ports 20000+i need S <= 45535")
    mix = ("random", "source-hash")
    ext_base = int(ipaddress.IPv4Address("198.18.0.0"))
    services = {}
    endpoints = {}
    for i in range(s):
        name = svc_name(i)
        port = {"name": PORT_NAME, "port": PORT, "protocol": "tcp", "target_port": TARGET_PORT}
        if nodeport:
            port["node_port"] = 20000 + i
        svc = {"vip": vip(i), "ports": [port]}
        if algo != "mix":
            svc["algorithm"] = algo
        elif i < rr:
            svc["algorithm"] = "round-robin"
        elif i < rr + mg:
            svc["algorithm"] = "maglev"
        else:
            svc["algorithm"] = mix[(i - rr - mg) % len(mix)]
        if extip:
            svc["external_ips"] = [str(ipaddress.IPv4Address(ext_base + i + 1))]
        if aff:
            svc["affinity_timeout"] = aff
        if local_every and i % local_every == 0:
            svc["traffic_policy"] = "local"
        services[name] = svc
        endpoints[name] = {
            "e%d" % j: dict({"ip": ip, "port": TARGET_PORT, "weight": wt},
                            **({"node": "node-a" if j % 2 == 0 else "node-b"} if local_every else {}))
            for j, (ip, wt) in enumerate(eps_of(i, e))
        }
    json.dump({"services": services, "endpoints": endpoints}, out, separators=(",", ":"))
    out.write("\n")


# ---------------------------------------------------------------- kube-proxy nft in chunks

def gen_nft_chunks(s, e, chunk, outdir):
    """The `nft` shape split into outdir/000.nft (base chains, sets, map
    flushes) and outdir/NNN.nft (CHUNK services each). Loading the files one
    after the other gives the same kernel state as one nft -f, but avoids the
    quadratic cost of one huge transaction (see README-notes.txt finding 2):
    only for setting up a loaded table quickly, never for timing a full sync."""
    import io
    import os
    buf = io.StringIO()
    gen_nft(s, e, buf, flush=True)
    lines = buf.getvalue().splitlines(True)
    first = next(k for k, l in enumerate(lines) if l.startswith("add chain ip kube-proxy endpoint-"))
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "000.nft"), "w") as f:
        f.writelines(lines[:first])
    n, k, cur, in_svc = 0, 1, [], 0
    for l in lines[first:]:
        # a service's block starts with its endpoint chains after the previous
        # service's rules
        if l.startswith("add chain ip kube-proxy endpoint-") and cur and not cur[-1].startswith(
                ("add chain", "flush chain")):
            n += 1
            if n == chunk:
                with open(os.path.join(outdir, "%03d.nft" % k), "w") as f:
                    f.writelines(cur)
                k, n, cur = k + 1, 0, []
        cur.append(l)
    if cur:
        with open(os.path.join(outdir, "%03d.nft" % k), "w") as f:
            f.writelines(cur)


# ---------------------------------------------------------------- one endpoint change, kube-proxy style

def change_seq(s, e, n):
    """The N single-endpoint changes the change-latency benchmark makes, the
    same sequence for every peer (etcd_latency.py's): change k moves endpoint
    e0 of a random service to 10.200.<(k+1)//250>.<(k+1)%250+1>. Yields
    (k, service, old endpoint IP list, new endpoint IP list)."""
    import random
    rng = random.Random(7)
    cur = {}
    # change -1 is the warm-up (etcd_latency.py makes it too)
    for k in range(-1, n):
        i = rng.randrange(s)
        ips = cur.get(i) or [ep_ip(i, j, e) for j in range(e)]
        new = list(ips)
        new[0] = "10.200.%d.%d" % ((k + 1) // 250, (k + 1) % 250 + 1)
        cur[i] = new
        yield k, i, ips, new


def gen_nft_changes(s, e, n, outdir):
    """outdir/NNNN.nft: for each change, the transaction kube-proxy's nftables
    mode sends for one changed endpoint (its partial sync of that service,
    pkg/proxy/nftables/proxier.go): add+flush of every endpoint chain of the
    service and of the service chain, the service's map elements again, the
    service chain's rules (masquerade check + numgen vmap over all endpoint
    chains), every endpoint chain's rules, and a flush of the now-stale
    endpoint chain (kube-proxy deletes stale chains in a later sync)."""
    import os
    os.makedirs(outdir, exist_ok=True)
    for k, i, old, new in change_seq(s, e, n):
        v = vip(i)
        spn = "%s/%s/tcp/%s" % (NAMESPACE, svc_name(i), PORT_NAME)
        sc = "service-" + kp_nft_hash(spn)
        ch = lambda ip: "endpoint-" + kp_nft_hash("%s__%s/%d" % (spn, ip, TARGET_PORT))
        with open(os.path.join(outdir, "%04d.nft" % (k + 1)), "w") as f:
            w = f.write
            for c in [ch(ip) for ip in new] + [sc]:
                w("add chain ip kube-proxy %s\nflush chain ip kube-proxy %s\n" % (c, c))
            w("add element ip kube-proxy cluster-ips { %s }\n" % v)
            w("add element ip kube-proxy service-ips { %s . tcp . %d : goto %s }\n" % (v, PORT, sc))
            w("add rule ip kube-proxy %s ip daddr %s tcp dport %d ip saddr != %s jump mark-for-masquerade\n"
              % (sc, v, PORT, CLUSTER_CIDR))
            w("add rule ip kube-proxy %s numgen random mod %d vmap { %s }\n"
              % (sc, e, " , ".join("%d : goto %s" % (j, ch(ip)) for j, ip in enumerate(new))))
            for ip in new:
                w("add rule ip kube-proxy %s ip saddr %s jump mark-for-masquerade\n" % (ch(ip), ip))
                w("add rule ip kube-proxy %s meta l4proto tcp dnat to %s:%d\n" % (ch(ip), ip, TARGET_PORT))
            for ip in set(old) - set(new):
                w("flush chain ip kube-proxy %s\n" % ch(ip))


def gen_ipt_changes(s, e, n, outdir, services_chain=False):
    """outdir/NNNN.ipt: for each change, an iptables-legacy-restore --noflush
    input with the changed service's KUBE-SVC chain and all its KUBE-SEP
    chains (declared, so flushed, then refilled), and -X of the stale
    KUBE-SEP chain. services_chain=True adds what kube-proxy's iptables mode
    also writes on every sync: the KUBE-SERVICES chain with one rule per
    service, KUBE-NODEPORTS, KUBE-POSTROUTING and KUBE-MARK-MASQ."""
    import os
    os.makedirs(outdir, exist_ok=True)
    sep = lambda spn, ip: "KUBE-SEP-" + kp_ipt_hash(spn + "tcp" + "%s:%d" % (ip, TARGET_PORT))
    for k, i, old, new in change_seq(s, e, n):
        v = vip(i)
        spn = "%s/%s:%s" % (NAMESPACE, svc_name(i), PORT_NAME)
        sc = "KUBE-SVC-" + kp_ipt_hash(spn + "tcp")
        with open(os.path.join(outdir, "%04d.ipt" % (k + 1)), "w") as f:
            w = f.write
            w("*nat\n")
            if services_chain:
                for c in ("KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-MARK-MASQ"):
                    w(":%s - [0:0]\n" % c)
            w(":%s - [0:0]\n" % sc)
            for ip in new:
                w(":%s - [0:0]\n" % sep(spn, ip))
            # a chain must be empty to be deleted: kube-proxy declares
            # (flushes) the stale chain, then deletes it
            for ip in set(old) - set(new):
                w(":%s - [0:0]\n" % sep(spn, ip))
            if services_chain:
                w("-A KUBE-POSTROUTING -m mark ! --mark %s/%s -j RETURN\n" % (MASQ_MARK, MASQ_MARK))
                w("-A KUBE-POSTROUTING -j MARK --xor-mark %s\n" % MASQ_MARK)
                w('-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" '
                  '-j MASQUERADE --random-fully\n')
                w("-A KUBE-MARK-MASQ -j MARK --or-mark %s\n" % MASQ_MARK)
                for x in range(s):
                    xs = "%s/%s:%s" % (NAMESPACE, svc_name(x), PORT_NAME)
                    w('-A KUBE-SERVICES -m comment --comment "%s cluster IP" -m tcp -p tcp '
                      '-d %s --dport %d -j %s\n' % (xs, vip(x), PORT, "KUBE-SVC-" + kp_ipt_hash(xs + "tcp")))
                w('-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be '
                  'the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS\n')
            w('-A %s -m comment --comment "%s cluster IP" -m tcp -p tcp -d %s --dport %d '
              '! -s %s -j KUBE-MARK-MASQ\n' % (sc, spn, v, PORT, CLUSTER_CIDR))
            for j, ip in enumerate(new):
                ep = "%s:%d" % (ip, TARGET_PORT)
                m = e - j
                if m > 1:
                    w('-A %s -m comment --comment "%s -> %s" -m statistic --mode random '
                      '--probability %0.10f -j %s\n' % (sc, spn, ep, 1.0 / m, sep(spn, ip)))
                else:
                    w('-A %s -m comment --comment "%s -> %s" -j %s\n' % (sc, spn, ep, sep(spn, ip)))
            for ip in new:
                ep = "%s:%d" % (ip, TARGET_PORT)
                w("-A %s -m comment --comment %s -s %s -j KUBE-MARK-MASQ\n" % (sep(spn, ip), spn, ip))
                w("-A %s -m comment --comment %s -m tcp -p tcp -j DNAT --to-destination %s\n"
                  % (sep(spn, ip), spn, ep))
            for ip in set(old) - set(new):
                w("-X %s\n" % sep(spn, ip))
            w("COMMIT\n")


USAGE = """usage: gen.py vipd|vipd-features|nft|nft-plain|nft-vipd|iptables|raw|expect S E
       gen.py nft-chunks S E CHUNK DIR
       gen.py nft-changes|ipt-changes|ipt-changes-svc S E N DIR
"""


def main(argv):
    modes = {"vipd": 0, "vipd-features": 0, "nft": 0, "nft-plain": 0, "nft-vipd": 0, "iptables": 0, "raw": 0,
             "expect": 0, "nft-chunks": 2, "nft-changes": 2, "ipt-changes": 2,
             "ipt-changes-svc": 2}
    if len(argv) < 4 or argv[1] not in modes or len(argv) != 4 + modes[argv[1]]:
        sys.stderr.write(USAGE)
        return 2
    try:
        s, e = int(argv[2]), int(argv[3])
        n = int(argv[4]) if modes[argv[1]] else 0
    except ValueError:
        sys.stderr.write("gen.py: S, E (and CHUNK/N) must be integers\n")
        return 2
    limits(s, e)
    mode = argv[1]
    if mode == "nft-chunks":
        gen_nft_chunks(s, e, max(1, n), argv[5])
    elif mode == "nft-changes":
        gen_nft_changes(s, e, n, argv[5])
    elif mode in ("ipt-changes", "ipt-changes-svc"):
        gen_ipt_changes(s, e, n, argv[5], services_chain=mode == "ipt-changes-svc")
    else:
        {"vipd": gen_vipd, "vipd-features": gen_vipd_features, "nft": gen_nft, "iptables": gen_iptables,
         "nft-plain": lambda s, e, out: gen_nft(s, e, out, flush=False),
         "nft-vipd": gen_nft_vipd, "raw": gen_raw,
         "expect": gen_expect}[mode](s, e, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

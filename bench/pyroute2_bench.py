#!/usr/bin/python3
"""The pyroute2 contender of the netqos benchmark (bench/run.ts starts it; not for direct use).

Runs inside the namespace it measures (the worker that starts it was started with
`ip netns exec`), with one IPRoute socket opened before the clock starts, like a long-running
agent. Reads one JSON job on stdin, prints one JSON line:

  {"mode": "ops", "ops": [netqos operations]}     sends them one by one (pyroute2 waits for
                                                   each acknowledgement); the interface indexes
                                                   come from one link dump, taken after the IFBs
                                                   are created (both timed)
  {"mode": "read", "hosts": [...], "ifbs": [...]}  links, qdiscs (with statistics) and each
                                                   host's clsact ingress-hook filters
  {"mode": "lat", "op": op, "count": N}           N sequential sends of one operation, each timed

Output: {"seconds": s} or {"samples": [s, ...]}, plus counts for validation.
pyroute2 has no action cookies: filters are sent without them (noted in the report).
"""
import json
import sys
import time

from pyroute2 import IPRoute
from pyroute2.netlink.rtnl import TC_H_ROOT

ETH_P = {"all": 0x0003, "ip": 0x0800, "ipv6": 0x86DD}
CLSACT_INGRESS = 0xFFFFFFF2
CLSACT_EGRESS = 0xFFFFFFF3


def handle_of(h):
    if h is None:
        return 0
    if isinstance(h, int):
        return h
    major, _, minor = h.partition(":")
    return (int(major or "0", 16) << 16) | int(minor or "0", 16)


def latency_arg(us):
    return "%dms" % (us // 1000) if us % 1000 == 0 else "%dus" % us


def send(ipr, o, index):
    if "link" in o:
        link = o["link"]
        if o["op"] == "add":
            kw = dict(ifname=link["name"], kind="ifb")
            if link.get("mtu"):
                kw["mtu"] = link["mtu"]
            if link.get("up"):
                kw["state"] = "up"
            if link.get("group") is not None:
                kw["group"] = link["group"]
            ipr.link("add", **kw)
            return True
        raise ValueError("link %s is not translated" % o["op"])
    if "qdisc" in o:
        q = o["qdisc"]
        idx = index[q["dev"]]
        if q.get("kind") == "clsact":
            ipr.tc(o["op"], "clsact", idx)
            return False
        if q.get("kind") != "tbf":
            raise ValueError("qdisc kind %r" % q.get("kind"))
        kw = dict(rate="%dbit" % q["rate"], burst=q["burst"])
        if "limit" in q:
            kw["limit"] = q["limit"]
        else:
            kw["latency"] = latency_arg(q["latencyUs"])
        ipr.tc(o["op"], "tbf", idx, handle_of(q.get("handle")), parent=TC_H_ROOT, **kw)
        return False
    f = o["filter"]
    if f.get("kind") != "u32" or o["op"] != "add":
        raise ValueError("filter %r" % f)
    actions = []
    for a in f.get("actions", []):
        if a["kind"] != "mirred":
            raise ValueError("action %r" % a["kind"])
        actions.append(dict(kind="mirred", direction=a.get("direction", "egress"),
                            action=a.get("mode", "redirect"), ifindex=index[a["dev"]]))
    parent = CLSACT_INGRESS if f["parent"] == "ingress" else CLSACT_EGRESS
    ipr.tc("add-filter", "u32", index[f["dev"]], parent=parent, prio=f["priority"],
           protocol=ETH_P[f.get("protocol", "all")], keys=["0x0/0x0+0"], target=0,
           action=actions)
    return False


def links(ipr):
    return {l.get_attr("IFLA_IFNAME"): l["index"] for l in ipr.get_links()}


def run_ops(ipr, ops):
    start = time.perf_counter()
    # Links first (as the netqos operations are ordered), then one dump for every index.
    index = {}
    rest = []
    for o in ops:
        if "link" in o and o["op"] == "add":
            send(ipr, o, index)
        else:
            rest.append(o)
    index = links(ipr)
    for o in rest:
        send(ipr, o, index)
    return {"seconds": time.perf_counter() - start, "sent": len(ops)}


def run_read(ipr, hosts, ifbs):
    start = time.perf_counter()
    index = links(ipr)
    tbfs = {}
    for q in ipr.get_qdiscs():
        if q.get_attr("TCA_KIND") == "tbf":
            parms = q.get_attr("TCA_OPTIONS").get_attr("TCA_TBF_PARMS")
            tbfs[q["index"]] = (parms["rate"], q.get_attr("TCA_STATS2"))
    found = 0
    redirects = 0
    for h, ifb in zip(hosts, ifbs):
        if index.get(h) in tbfs and index.get(ifb) in tbfs:
            found += 1
        for f in ipr.get_filters(index=index[h], parent=CLSACT_INGRESS):
            if f.get_attr("TCA_OPTIONS") is not None and f.get_attr("TCA_KIND") == "u32":
                acts = f.get_attr("TCA_OPTIONS").get_attr("TCA_U32_ACT")
                if acts is not None:
                    redirects += 1
    return {"seconds": time.perf_counter() - start, "found": found, "redirects": redirects}


def run_lat(ipr, o, count):
    index = links(ipr)
    samples = []
    for _ in range(count):
        t = time.perf_counter()
        send(ipr, o, index)
        samples.append(time.perf_counter() - t)
    return {"samples": samples}


def main():
    job = json.load(sys.stdin)
    ipr = IPRoute()
    try:
        if job["mode"] == "ops":
            out = run_ops(ipr, job["ops"])
        elif job["mode"] == "read":
            out = run_read(ipr, job["hosts"], job["ifbs"])
        elif job["mode"] == "lat":
            out = run_lat(ipr, job["op"], job["count"])
        else:
            raise ValueError(job["mode"])
    finally:
        ipr.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()

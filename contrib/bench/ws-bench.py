#!/usr/bin/python3
# ws-bench.py: what a WebSocket miner costs sluice, beside a TCP one.
#
# sluice-bench's miners speak stratum over TCP only, so this smaller
# script measures WebSocket miners: it starts a test pool (sluice-bench
# pool) and sluice with a plain and a WebSocket bind, logs N miners in
# over one transport, reads sluice's resident memory before and after
# (per miner), then has every miner submit K valid shares, paced so that
# all of them together send R shares a second at evenly spread instants,
# and reads sluice's CPU time (/proc/PID/schedstat) over them (per
# share). It does the same with TCP miners, at the same rate, for the
# comparison: the CPU per share depends on how many shares the proxy
# finds per loop turn, so both must see the same pattern. The miners are
# Python (asyncio; Debian's python3-websockets), so the figures are
# sluice's own, not its clients'.
#
# usage: contrib/bench/ws-bench.py -s SLUICE -b SLUICE_BENCH
#	 [-n MINERS (2000)] [-k SHARES_PER_MINER (10)] [-r RATE (2000/s)]
import argparse
import asyncio
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time

import websockets


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_ns(pid):
    with open("/proc/%d/schedstat" % pid) as f:
        return int(f.read().split()[0])


def wait_port(port, deadline):
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit("ws-bench: nothing listens on %d" % port)


def result_hex(diff):
    r = (2**64 - 1) // diff
    return "ab" * 24 + r.to_bytes(8, "little").hex()


class Miner:
    """One miner: a line-level send/recv over TCP or WebSocket."""

    def __init__(self, transport, port):
        self.transport, self.port = transport, port
        self.session = self.job = None
        self.slot = 0
        self.nonce = 0

    async def open(self):
        if self.transport == "ws":
            self.ws = await websockets.connect(
                "ws://127.0.0.1:%d/" % self.port, ping_interval=None,
                max_size=None, compression=None)
        else:
            self.r, self.w = await asyncio.open_connection("127.0.0.1",
                                                           self.port)

    async def send(self, obj):
        line = json.dumps(obj)
        if self.transport == "ws":
            await self.ws.send(line)
        else:
            self.w.write(line.encode() + b"\n")

    async def recv(self):
        if self.transport == "ws":
            return json.loads(await self.ws.recv())
        return json.loads(await self.r.readline())

    async def reply(self, rid):
        while True:
            m = await self.recv()
            if m.get("method") == "job":
                self.job = m["params"]["job_id"]
                continue
            if m.get("id") == rid:
                return m

    async def login(self, i):
        await self.open()
        await self.send({"id": 1, "jsonrpc": "2.0", "method": "login",
                         "params": {"login": "WALLET", "pass": "x",
                                    "rigid": "r%d" % i,
                                    "agent": "ws-bench"}})
        m = await self.reply(1)
        self.session = m["result"]["id"]
        self.job = m["result"]["job"]["job_id"]
        self.slot = int(m["result"]["job"]["blob"][84:86], 16)

    async def shares(self, k, res, t0, period):
        ok = 0
        for j in range(k):
            # This miner's tick: its own offset in each period.
            delay = t0 + j * period - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            self.nonce += 1
            n = (self.nonce & 0xffffff) | self.slot << 24
            await self.send({"id": 10 + j, "jsonrpc": "2.0",
                             "method": "submit",
                             "params": {"id": self.session,
                                        "job_id": self.job,
                                        "nonce": n.to_bytes(4, "little")
                                        .hex(), "result": res}})
            m = await self.reply(10 + j)
            ok += m.get("error") is None
        return ok

    async def close(self):
        if self.transport == "ws":
            await self.ws.close()
        else:
            self.w.close()


async def run(transport, port, pid, n, k, rate):
    miners = [Miner(transport, port) for _ in range(n)]
    rss0 = rss_kib(pid)
    for i in range(0, n, 200):
        await asyncio.gather(*(m.login(i + j)
                               for j, m in enumerate(miners[i:i + 200])))
    await asyncio.sleep(1)
    rss1 = rss_kib(pid)
    res = result_hex(4000)
    cpu0 = cpu_ns(pid)
    t0 = time.time()
    period = n / rate
    start = time.monotonic() + 0.5
    oks = await asyncio.gather(*(m.shares(k, res, start + i * period / n,
                                          period)
                                 for i, m in enumerate(miners)))
    wall = time.time() - t0
    cpu1 = cpu_ns(pid)
    await asyncio.gather(*(m.close() for m in miners))
    shares = n * k
    return {"transport": transport, "miners": n, "shares": shares,
            "accepted": sum(oks),
            "rss_per_miner_bytes": (rss1 - rss0) * 1024 // n,
            "cpu_us_per_share": (cpu1 - cpu0) / 1000 / shares,
            "shares_per_s": shares / wall}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-s", required=True)
    ap.add_argument("-b", required=True)
    ap.add_argument("-n", type=int, default=2000)
    ap.add_argument("-k", type=int, default=10)
    ap.add_argument("-r", type=float, default=2000)
    a = ap.parse_args()
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    out = []
    for transport in ("tcp", "ws"):
        d = tempfile.mkdtemp(prefix="ws-bench.")
        pp, tp, wp = free_port(), free_port(), free_port()
        pool = subprocess.Popen([a.b, "pool", "--port", str(pp), "--host",
                                 "127.0.0.1", "--diff", "1000"],
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        wait_port(pp, time.time() + 10)
        conf = {"mode": "nicehash", "bind": [
            {"host": "127.0.0.1", "port": tp},
            {"host": "127.0.0.1", "port": wp, "websocket": True}],
            "pools": [{"url": "127.0.0.1:%d" % pp, "user": "W"}],
            "history": {"enabled": False}, "watch": False,
            "pid-file": d + "/pid", "http": {"enabled": False}}
        with open(d + "/config.json", "w") as f:
            json.dump(conf, f)
        px = subprocess.Popen([a.s, "-d", "-c", d + "/config.json"],
                              stdout=subprocess.DEVNULL,
                              stderr=open(d + "/log", "w"))
        wait_port(tp, time.time() + 10)
        time.sleep(0.5)
        try:
            r = asyncio.run(run(transport, tp if transport == "tcp" else wp,
                                px.pid, a.n, a.k, a.r))
        finally:
            px.terminate()
            px.wait()
            pool.terminate()
            pool.wait()
        out.append(r)
        print(json.dumps(r), flush=True)
    print("transport  miners  shares  accepted  RSS/miner  CPU/share  "
          "shares/s")
    for r in out:
        print("%-9s  %6d  %6d  %8d  %7d B  %6.1f us  %8.0f" % (
            r["transport"], r["miners"], r["shares"], r["accepted"],
            r["rss_per_miner_bytes"], r["cpu_us_per_share"],
            r["shares_per_s"]))


main()

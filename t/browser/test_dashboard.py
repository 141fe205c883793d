#!/usr/bin/python3
"""test_dashboard.py: sluice's dashboard in a real browser (make check-browser).

Headless Chromium, driven by Selenium through chromedriver (Debian's
chromium, chromium-driver and python3-selenium), loads the dashboard of the
real sluice binary, which proxies a fake pool and fake miners written here
(stratum over plain sockets, as t/lib/harness.cc speaks it), and checks
what a person would see:

  0. the chart against a stand-in API (www/ and canned JSON served from
     here, with /1/history and /1/history/workers in the issue's shapes,
     two coins, two fleet nodes): the chart draws points, each range asks
     for its step, a coin and a worker are charted, a worker without
     history gets a note and no request, the fleet panel lists the nodes
     with their totals; so the chart is tested whether or not this sluice
     has /1/history yet;
  1. no token: the Miners tile shows the connected miners; the workers
     table lists them (a worker named like HTML shows as text), sorts,
     filters, and marks them active; the upstreams table shows the pool;
     the read-only badge; no fleet panel (no fleet.redis); the chart has drawn points when this sluice has
     /1/history, else an empty chart with its note (said in the output);
     a click on a worker charts it; the console has no error; a
     screenshot (OUT/dashboard.png, and the README's with --readme-shot);
  2. 10,000 workers (sluice-bench miners, --big N): the table pages them,
     and a sort or a page turn takes well under a second;
  2b. a page from another origin (served here) mines one share over
     ws:// through a WebSocket bind: it logs in, gets a job with its
     fixed byte, submits and sees the pool's OK; websocket-origins
     lists that page's origin, and the same page from another origin
     (another port) is refused;
  3. with http.access-token: the token prompt (an input of type
     password) appears and hides the data, the typed token shows it, a
     reload does not ask again (sessionStorage), and the console has no
     error; then a wrong token is refused with a message;
  4. the live feed (that sluice's API is not restricted): rig-01 is
     picked and watched, which starts a capture of it (POST /1/capture);
     its next share shows in the feed within seconds, rig-02's does not;
     Stop ends the capture (DELETE); the console has no error.

Everything is on 127.0.0.1; Chromium is kept off every other address (a
dead proxy and a resolver that resolves nothing). Waits are WebDriverWait
or condition variables with deadlines, never sleeps; the whole run has an
alarm. Every process started here (sluice, sluice-bench, chromedriver and
its Chromium) is stopped by its PID in the end, also on failure.
The last line is "browser: N passed, N failed, N skipped".
"""

import argparse
import http.server
import math
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

RUN_DEADLINE_S = 480        # the whole run, by SIGALRM
WAIT_S = 20                 # one condition in the page
HISTORY_WAIT_S = 150        # the first history points (a sample per 10 s)
TOKEN = "browser-token-1"
BLOB = ("1010" "e0c5d3a206"
        "3f00000000000000000000000000000000000000000000000000000000a500c1"
        "00000000"
        "7d0000000000000000000000000000000000000000000000000000001b0000e4"
        "05")
SEED = "a3f1c8d20b7e4596" * 4
HOSTILE = "<img src=x onerror=\"document.title='pwned'\">"
WORKERS = ["rig-01", "rig-02", "rig-03", "rig-04", HOSTILE]


# A page that mines one share over stratum-over-WebSocket: log in, take
# the job's fixed byte (blob byte 42) into the nonce, submit, close.
MINER_PAGE = """<!doctype html><meta charset="utf-8"><title>ws miner</title>
<script>
function mine(url, result) {
  return new Promise(function (resolve) {
    var out = {};
    var ws;
    try {
      ws = new WebSocket(url);
    } catch (e) {
      resolve({error: String(e)});
      return;
    }
    ws.onerror = function () { out.error = "websocket error"; };
    ws.onopen = function () {
      ws.send(JSON.stringify({id: 1, jsonrpc: "2.0", method: "login",
        params: {login: "WALLET", pass: "x", agent: "Chromium page",
                 rigid: "ws-browser"}}));
    };
    ws.onmessage = function (ev) {
      var m = JSON.parse(ev.data);
      if (m.id === 1 && m.result) {
        out.login = m;
        var job = m.result.job;
        ws.send(JSON.stringify({id: 2, jsonrpc: "2.0", method: "submit",
          params: {id: m.result.id, job_id: job.job_id,
                   nonce: "0000a1" + job.blob.substr(84, 2),
                   result: result, algo: "rx/0"}}));
      } else if (m.id === 2) {
        out.submit = m;
        ws.close(1000);
      }
    };
    ws.onclose = function (ev) { out.code = ev.code; resolve(out); };
  });
}
</script>
"""


class Failed(Exception):
    pass


class Results:
    """Counts checks; a failed one is reported and the run goes on."""

    def __init__(self):
        self.passed = self.failed = self.skipped = 0

    def check(self, cond, what, detail=""):
        if cond:
            self.passed += 1
            print("ok - %s" % what, flush=True)
        else:
            self.failed += 1
            print("FAIL - %s%s" % (what, ": " + detail if detail else ""),
                  flush=True)
        return cond

    def skip(self, what, why):
        self.skipped += 1
        print("skip - %s: %s" % (what, why), flush=True)

    def note(self, text):
        print("# " + text, flush=True)


R = Results()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_result(diff):
    """A result hash of difficulty diff (last 8 bytes: LE 2^64-1 / diff)."""
    hx = "0123456789abcdef"
    head = "".join(hx[(i * 7 + 3) & 15] + hx[(i * 11 + 5) & 15]
                   for i in range(24))
    return head + ((2 ** 64 - 1) // diff).to_bytes(8, "little").hex()


class Lines:
    """A socket read line by line, each a JSON object, with deadlines."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def send(self, obj):
        self.sock.sendall((json.dumps(obj) + "\n").encode())

    def recv(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failed("no line within %.0f s" % timeout)
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not data:
                raise Failed("connection closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)


class FakePool:
    """A pool: answers login with a job, submits and keepalived with OK."""

    def __init__(self):
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(128)
        self.port = self.lsock.getsockname()[1]
        self.conns = []
        self.submits = 0
        self.lock = threading.Lock()
        self.stopping = False
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        n = 0
        while not self.stopping:
            try:
                s, _ = self.lsock.accept()
            except OSError:
                return
            n += 1
            with self.lock:
                self.conns.append(s)
            threading.Thread(target=self.serve, args=(s, n),
                             daemon=True).start()

    def serve(self, s, n):
        conn = Lines(s)
        try:
            while True:
                m = conn.recv(3600)
                method = m.get("method")
                if method == "login":
                    conn.send({"id": m["id"], "jsonrpc": "2.0",
                               "error": None, "result": {
                                   "id": "pool-session-%d" % n,
                                   "job": {"blob": BLOB,
                                           "job_id": "job%d" % n,
                                           "target": "b88d0600",
                                           "algo": "rx/0",
                                           "height": 1000,
                                           "seed_hash": SEED},
                                   "extensions": ["algo", "nicehash",
                                                  "keepalive"],
                                   "status": "OK"}})
                elif method == "submit":
                    with self.lock:
                        self.submits += 1
                    conn.send({"id": m["id"], "jsonrpc": "2.0",
                               "error": None, "result": {"status": "OK"}})
                elif method == "keepalived":
                    conn.send({"id": m["id"], "jsonrpc": "2.0",
                               "error": None,
                               "result": {"status": "KEEPALIVED"}})
        except (Failed, OSError, ValueError):
            pass

    def close(self):
        self.stopping = True
        self.lsock.close()
        with self.lock:
            for s in self.conns:
                try:
                    s.close()
                except OSError:
                    pass


class FakeMiner:
    """An XMRig-like miner: logs in with a rig id, submits valid shares."""

    def __init__(self, port, rigid):
        self.rigid = rigid
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.conn = Lines(self.sock)
        self.next_id = 2
        self.nonce = 0
        self.lock = threading.Lock()
        self.conn.send({"id": 1, "jsonrpc": "2.0", "method": "login",
                        "params": {"login": "WALLET", "pass": "x",
                                   "agent": "XMRig/6.21.0 (Linux x86_64)",
                                   "rigid": rigid, "algo": ["rx/0"]}})
        r = self.reply(1)
        if r.get("error") is not None:
            raise Failed("login %s: %s" % (rigid, r["error"]))
        self.session = r["result"]["id"]
        self.job_id = r["result"]["job"]["job_id"]
        self.slot = r["result"]["job"]["blob"][84:86]

    def reply(self, want):
        while True:
            m = self.conn.recv(10)
            if m.get("method") == "job":
                self.job_id = m["params"]["job_id"]
                self.slot = m["params"]["blob"][84:86]
                continue
            if m.get("id") == want:
                return m

    def share(self):
        """One share of difficulty 20000 (the pool's is 10000): accepted?"""
        with self.lock:
            self.nonce += 1
            i = self.next_id
            self.next_id += 1
            self.conn.send({"id": i, "jsonrpc": "2.0", "method": "submit",
                            "params": {"id": self.session,
                                       "job_id": self.job_id,
                                       "nonce": "%06x%s" % (self.nonce,
                                                            self.slot),
                                       "result": make_result(20000),
                                       "algo": "rx/0"}})
            r = self.reply(i)
        return r.get("error") is None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Pacer:
    """Miners submit a share every few seconds, so the page stays live."""

    def __init__(self, miners, every_s=3.0):
        self.miners = miners
        self.every = every_s
        self.stop_ev = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop_ev.wait(self.every):
            for m in self.miners:
                try:
                    m.share()
                except (Failed, OSError, ValueError):
                    pass

    def stop(self):
        self.stop_ev.set()
        self.thread.join(15)


class Sluice:
    """The real daemon on a temporary config; its log kept in memory."""

    def __init__(self, binary, workdir, pool_port, http_extra, ws_origin=None):
        self.bind = free_port()
        self.ws = free_port()
        self.http = free_port()
        self.dir = tempfile.mkdtemp(prefix="sluice-", dir=workdir)
        conf = {
            "mode": "nicehash",
            "bind": [{"host": "127.0.0.1", "port": self.bind},
                     {"host": "127.0.0.1", "port": self.ws,
                      "websocket": True, "path": "/mine"}],
            "pools": [{"url": "127.0.0.1:%d" % pool_port,
                       "user": "WALLET", "pass": "x"}],
            "http": dict({"enabled": True, "host": "127.0.0.1",
                          "port": self.http}, **http_extra),
            "workers": "rig_id",
            "workers-max": 50000,     # room for --big and ours
            # Ignored (with a warning) by a sluice without history.
            "history": {"file": os.path.join(self.dir, "history.db"),
                        "days": 30},
            "retries": 1, "retry-pause": 1, "watch": False, "syslog": False,
            "pid-file": os.path.join(self.dir, "sluice.pid"),
        }
        if ws_origin is not None:
            conf["websocket-origins"] = [ws_origin]
        self.config = os.path.join(self.dir, "config.json")
        with open(self.config, "w") as f:
            json.dump(conf, f)
        self.log = []
        self.cv = threading.Condition()
        self.proc = subprocess.Popen([binary, "-d", "-v", "-c", self.config],
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        threading.Thread(target=self.read, daemon=True).start()

    def read(self):
        for raw in self.proc.stdout:
            with self.cv:
                self.log.append(raw.decode(errors="replace"))
                self.cv.notify_all()
        with self.cv:
            self.log.append("<exited>")
            self.cv.notify_all()

    def wait_log(self, needle, timeout):
        deadline = time.monotonic() + timeout
        with self.cv:
            while not any(needle in line for line in self.log):
                left = deadline - time.monotonic()
                if left <= 0 or (self.log and self.log[-1] == "<exited>"):
                    raise Failed("sluice: no %r in its log:\n%s" %
                                 (needle, "".join(self.log[-40:])))
                self.cv.wait(left)

    def url(self, path="/"):
        return "http://127.0.0.1:%d%s" % (self.http, path)

    def get_json(self, path, token=None):
        req = urllib.request.Request(self.url(path))
        if token:
            req.add_header("Authorization", "Bearer " + token)
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.load(r)

    def stop(self):
        """SIGTERM, then SIGKILL after 10 s; by PID. The exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        with self.cv:
            with open(os.path.join(self.dir, "sluice.log"), "w") as f:
                f.write("".join(self.log))
        return self.proc.returncode


def stop_pid(proc, grace=10):
    """Stop a child we started (and its process group, which is its own)."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(grace)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(5)


def start_browser(workdir):
    """Headless Chromium through chromedriver, kept on loopback."""
    opts = Options()
    opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu",
              "--disable-dev-shm-usage", "--window-size=1280,1000",
              "--user-data-dir=" + os.path.join(workdir, "profile"),
              "--no-first-run", "--no-default-browser-check",
              "--disable-extensions", "--disable-sync",
              "--disable-background-networking", "--disable-component-update",
              "--disable-default-apps", "--disable-domain-reliability",
              "--disable-client-side-phishing-detection", "--no-pings",
              "--dns-prefetch-disable", "--metrics-recording-only",
              "--disable-features=Translate,OptimizationHints,MediaRouter,"
              "AutofillServerCommunication,CertificateTransparencyComponent"
              "Updater",
              # Anything not on loopback goes to a dead local proxy, and
              # no name resolves: nothing leaves the machine.
              "--proxy-server=http://127.0.0.1:9",
              "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
              "--force-color-profile=srgb", "--hide-scrollbars"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver_bin = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    service = Service(executable_path=driver_bin,
                      log_path=os.path.join(workdir, "chromedriver.log"))
    driver = webdriver.Chrome(service=service, options=opts)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    return driver, service


def wait(driver, cond, what, timeout=WAIT_S):
    """A check: WebDriverWait until cond is true; its value, or None."""
    try:
        v = WebDriverWait(driver, timeout, poll_frequency=0.2).until(cond)
    except TimeoutException:
        R.check(False, what, "not within %d s" % timeout)
        return None
    R.check(True, what)
    return v


def tile_value(driver, tile):
    return driver.find_element(By.CSS_SELECTOR,
                               "#%s .value" % tile).text.strip()


def count(text):
    digits = "".join(c for c in text if c.isdigit())
    return int(digits) if digits else -1


def console_errors(driver):
    """The browser console's entries since the last call; errors apart."""
    logs = driver.get_log("browser")
    for e in logs:
        if e["level"] != "SEVERE":
            R.note("console %s: %s" % (e["level"], e["message"]))
    return [e for e in logs if e["level"] == "SEVERE"]


def worker_names(driver):
    return [td.text for td in driver.find_elements(
        By.CSS_SELECTOR, "#workers tbody tr[data-key] td:first-child")]


def chart_ink(driver):
    """Pixels of the chart drawn in the series' colour (the line)."""
    return driver.execute_script("""
        const c = document.getElementById('chart');
        const x = c.getContext('2d');
        const d = x.getImageData(0, 0, c.width, c.height).data;
        const probe = document.createElement('canvas').getContext('2d');
        probe.fillStyle =
            getComputedStyle(c).getPropertyValue('--accent').trim();
        probe.fillRect(0, 0, 1, 1);
        const a = probe.getImageData(0, 0, 1, 1).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4)
            if (d[i + 3] > 200 && Math.abs(d[i] - a[0]) < 24 &&
                Math.abs(d[i + 1] - a[1]) < 24 &&
                Math.abs(d[i + 2] - a[2]) < 24)
                n++;
        return n;
    """)


class StandIn:
    """The page's files from www/ and canned API answers, on loopback."""

    TYPES = {".html": "text/html; charset=utf-8",
             ".js": "text/javascript; charset=utf-8",
             ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
    HISTORY_WORKERS = ["rig-a", "rig-b"]

    def __init__(self, www):
        self.www = www
        self.requests = []
        stand = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                stand.serve(self)

            def log_message(self, *a):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                     Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever,
                         daemon=True).start()

    def url(self, path="/"):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def history(self, q):
        """Points every step from from to to: a wave, one gap."""
        step, frm, to = int(q["step"]), int(q["from"]), int(q["to"])
        pts, t = [], frm - frm % step + step
        while t <= to:
            if not (to - 20 * step < t < to - 17 * step):
                hr = 50000 + 20000 * math.sin(t / (step * 8.0))
                pts.append([t, round(hr, 1), 3, 0, 0])
            t += step
        return {"worker": q.get("worker"), "coin": q.get("coin"),
                "step": step, "persisted": True, "points": pts}

    def serve(self, h):
        u = urllib.parse.urlsplit(h.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        self.requests.append((u.path, q))
        now_ms = int(time.time() * 1000)
        docs = {
            "/dashboard.json": {"token": False, "endpoints": [
                "/1/summary", "/1/workers", "/1/upstreams", "/1/coins",
                "/1/fleet", "/1/history", "/1/history/workers"]},
            "/1/summary": {
                "worker_id": "stand-in", "version": "0", "mode": "nicehash",
                "algo": "rx/0", "uptime": 93784, "restricted": True,
                "hashrate": {"total": [55.1, 54.2, 50.3, 49.8, 48.7, 48.0]},
                "miners": {"now": 3, "max": 4}, "workers": 3,
                "upstreams": {"active": 2, "sleep": 0, "error": 0,
                              "total": 2},
                "results": {"accepted": 1234, "rejected": 5, "invalid": 2}},
            "/1/workers": {"workers": [
                ["rig-a", "10.0.0.1", 1, 600, 2, 1, 6000000, now_ms - 5000,
                 20.1, 19.9, 18.7, 18.0, 17.2],
                ["rig-b", "10.0.0.2", 1, 500, 3, 1, 5000000, now_ms - 400000,
                 18.1, 17.5, 16.2, 16.0, 15.9],
                ["rig-c", "10.0.0.3", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]]},
            "/1/upstreams": {"upstreams": [
                {"id": 0, "pool": "pool-a:3333", "state": "active",
                 "coin": "xmr", "miners": 2, "jobs": 40, "accepted": 900,
                 "rejected": 3, "latency_ms": 41},
                {"id": 1, "pool": "pool-b:3333", "state": "active",
                 "coin": "wow", "miners": 1, "jobs": 12, "accepted": 334,
                 "rejected": 2, "latency_ms": 87}]},
            "/1/coins": {"coins": [
                {"name": "xmr", "algo": "rx/0", "default": True, "miners": 2,
                 "upstreams": 1, "refused": 0,
                 "hashrate": [38.2, 37.4, 34.9, 34, 33.1, 33]},
                {"name": "wow", "algo": "rx/wow", "default": False,
                 "miners": 1, "upstreams": 1, "refused": 0,
                 "hashrate": [16.9, 16.8, 15.4, 15.8, 15.6, 15]}]},
            "/1/history/workers": {"workers": self.HISTORY_WORKERS},
            "/1/fleet": {"nodes": [
                {"name": "edge-1:3333", "version": "0", "uptime": 7200,
                 "miners": 15012, "workers": 140,
                 "upstreams": {"active": 59, "total": 60},
                 "hashrate": [1234.5, 1200, 1190, 1180, 1170, 1160],
                 "accepted": 90211, "rejected": 12, "seen": 0},
                {"name": "edge-2:3333", "version": "0", "uptime": 7100,
                 "miners": 15008, "workers": 141,
                 "upstreams": {"active": 59, "total": 59},
                 "hashrate": [1235.6, 1201, 1191, 1181, 1171, 1161],
                 "accepted": 90199, "rejected": 13, "seen": 0}],
                "total": {"nodes": 2, "miners": 30020, "workers": 281,
                          "hashrate": [2470.1, 2401, 2381, 2361, 2341,
                                       2321],
                          "accepted": 180410, "rejected": 25}},
        }
        if u.path == "/1/history":
            if q.get("worker") not in [None] + self.HISTORY_WORKERS:
                return self.reply(h, 404, b'{"error":"unknown worker"}',
                                  "application/json")
            body = json.dumps(self.history(q)).encode()
            return self.reply(h, 200, body, "application/json")
        if u.path in docs:
            return self.reply(h, 200, json.dumps(docs[u.path]).encode(),
                              "application/json")
        name = "index.html" if u.path == "/" else u.path.lstrip("/")
        ext = os.path.splitext(name)[1]
        path = os.path.join(self.www, name)
        if "/" in name or ext not in self.TYPES or not os.path.exists(path):
            return self.reply(h, 404, b'{"error":"no"}', "application/json")
        with open(path, "rb") as f:
            self.reply(h, 200, f.read(), self.TYPES[ext])

    def reply(self, h, code, body, ctype):
        h.send_response(code)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def asked(self, path, **want):
        return [q for p, q in self.requests if p == path and
                all(q.get(k) == v for k, v in want.items())]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def points(driver):
    return int(driver.find_element(By.ID, "chart").get_attribute(
        "data-points"))


def phase_chart(driver, args):
    """The chart, the coins and the series against the stand-in API."""
    www = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                       "..", "..", "www")
    st = StandIn(www)
    try:
        R.note("stand-in API on port %d: the chart with /1/history" %
               st.port)
        driver.get(st.url("/"))
        wait(driver, lambda d: points(d) > 0,
             "stand-in: the chart draws the total's points")
        h = st.asked("/1/history")
        R.check(h and h[0].get("step") == "60" and
                int(h[0]["to"]) - int(h[0]["from"]) == 3600 and
                "worker" not in h[0] and "coin" not in h[0],
                "stand-in: 1 h asks for the total at step 60", repr(h[:1]))
        R.check(chart_ink(driver) > 100, "stand-in: the line is drawn")
        R.check("No points" not in driver.find_element(
            By.ID, "chart-note").text, "stand-in: no note over points")
        driver.find_element(By.CSS_SELECTOR,
                            'button[data-range="24h"]').click()
        wait(driver, lambda d: st.asked("/1/history", step="300"),
             "stand-in: 24 h asks for step 300")
        driver.find_element(By.CSS_SELECTOR,
                            'button[data-range="30d"]').click()
        wait(driver, lambda d: st.asked("/1/history", step="3600"),
             "stand-in: 30 d asks for step 3600")
        wait(driver, lambda d: points(d) > 300,
             "stand-in: 30 d draws its points")
        driver.find_element(By.CSS_SELECTOR,
                            'button[data-range="1h"]').click()

        # Two coins: their table and a series each.
        wait(driver, lambda d: d.find_element(By.ID, "coins-panel")
             .is_displayed() and len(d.find_elements(
                 By.CSS_SELECTOR, "#coins tbody tr")) == 2,
             "stand-in: two coins show the coins table")
        # Two nodes in /1/fleet: the fleet panel with their totals.
        wait(driver, lambda d: d.find_element(By.ID, "fleet-panel")
             .is_displayed() and len(d.find_elements(
                 By.CSS_SELECTOR, "#fleet tbody tr")) == 2 and
             "30,020 miners" in d.find_element(By.ID, "fleet-total").text,
             "stand-in: two nodes show the fleet panel and its totals")
        Select(driver.find_element(By.ID, "series")).select_by_value(
            "coin:wow")
        wait(driver, lambda d: st.asked("/1/history", coin="wow"),
             "stand-in: the coin series asks for coin=wow")

        # A worker with history, then one without (no request: a note).
        driver.find_element(By.CSS_SELECTOR,
                            '#workers tr[data-key="rig-a"]').click()
        wait(driver, lambda d: st.asked("/1/history", worker="rig-a") and
             points(d) > 0, "stand-in: a click on rig-a charts it")
        driver.find_element(By.CSS_SELECTOR,
                            '#workers tr[data-key="rig-c"]').click()
        wait(driver, lambda d: "No history for worker rig-c" in
             d.find_element(By.ID, "chart-note").text and points(d) == 0,
             "stand-in: rig-c, without history, gets a note")
        R.check(not st.asked("/1/history", worker="rig-c"),
                "stand-in: no request for a worker without history")
        status = [td.text for td in driver.find_elements(
            By.CSS_SELECTOR, "#workers tbody td:nth-child(2)")]
        R.check(status == ["active", "late", "offline"],
                "stand-in: status by last share age", repr(status))
        Select(driver.find_element(By.ID, "series")).select_by_value("total")
        wait(driver, lambda d: points(d) > 0, "stand-in: back to the total")
        shot = os.path.join(args.out, "dashboard-chart.png")
        driver.execute_script("document.activeElement.blur()")
        driver.save_screenshot(shot)
        R.note("stand-in screenshot: " + shot)
        errs = console_errors(driver)
        R.check(not errs, "stand-in: the browser console has no error",
                json.dumps(errs, indent=1))
        driver.get("about:blank")
    finally:
        st.close()


def phase_open(driver, sl, miners, args):
    """No token: tiles, tables, chart, console, screenshot."""
    driver.get(sl.url("/"))
    n = len(miners)
    api = sl.get_json("/1/summary")
    R.check(api["miners"]["now"] == n, "the API counts %d miners" % n,
            "/1/summary miners.now = %r" % api["miners"]["now"])
    ok = wait(driver, lambda d: count(tile_value(d, "tile-miners")) == n,
              "the Miners tile shows %d" % n)
    tile = driver.find_element(By.ID, "tile-miners")
    R.check(ok and tile.is_displayed() and
            tile.text.split() == ["Miners", str(n)],
            "the Miners tile reads 'Miners %d'" % n, repr(tile.text))

    names = wait(driver, lambda d: (set(WORKERS) <= set(worker_names(d)) and
                                    worker_names(d)),
                 "the workers table lists the %d workers" % n)
    if names:
        R.check(HOSTILE in names and not driver.find_elements(
            By.CSS_SELECTOR, "#workers img") and driver.title != "pwned",
            "a worker named like HTML shows as text, not markup")
    wait(driver, lambda d: d.find_element(
        By.CSS_SELECTOR, '#workers tr[data-key="rig-01"] td:nth-child(2)'
    ).text == "active", "rig-01's status is active after its share")

    # Sort by name both ways, then filter.
    head = driver.find_element(By.CSS_SELECTOR,
                               "#workers thead th:nth-child(1) button")
    asc = worker_names(driver)
    head.click()
    desc = worker_names(driver)
    R.check(asc and desc == list(reversed(asc)) and
            driver.find_element(By.CSS_SELECTOR,
                                "#workers thead th:nth-child(1)"
                                ).get_attribute("aria-sort") == "descending",
            "a click on Worker sorts the other way", "%r / %r" % (asc, desc))
    head.click()
    box = driver.find_element(By.ID, "workers-filter")
    box.send_keys("rig-03")
    R.check(worker_names(driver) == ["rig-03"], "the filter keeps rig-03",
            repr(worker_names(driver)))
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.DELETE)
    wait(driver, lambda d: len(worker_names(d)) == n,
         "clearing the filter shows all workers again")

    pool = "127.0.0.1:%d" % args.pool_port
    wait(driver, lambda d: [r for r in d.find_elements(
        By.CSS_SELECTOR, "#upstreams tbody tr")
        if pool in r.text and "active" in r.text],
        "the upstreams table shows %s active" % pool)
    R.check(driver.find_element(By.ID, "readonly").is_displayed(),
            "restricted API: the read-only badge shows")
    R.check(not driver.find_element(By.ID, "auth").is_displayed(),
            "no token configured: no prompt")
    R.check(not driver.find_element(By.ID, "fleet-panel").is_displayed(),
            "no fleet.redis: no fleet panel")

    # The chart: points only if this sluice has /1/history.
    endpoints = sl.get_json("/dashboard.json")["endpoints"]
    canvas = driver.find_element(By.ID, "chart")
    R.check(canvas.is_displayed() and canvas.size["height"] > 100,
            "the chart area is there")
    if "/1/history" in endpoints:
        R.note("this sluice has /1/history: the chart must draw points")
        pts = wait(driver, lambda d: int(d.find_element(
            By.ID, "chart").get_attribute("data-points")) > 0,
            "the chart has drawn points", HISTORY_WAIT_S)
        if pts:
            R.note("%s points" % canvas.get_attribute("data-points"))
            R.check(chart_ink(driver) > 20, "the line is on the canvas")
    else:
        R.skip("the chart has drawn points",
               "this sluice has no /1/history endpoint (not in "
               "/dashboard.json); checking the empty chart's note instead")
        note = driver.find_element(By.ID, "chart-note").text
        R.check("no /1/history" in note and
                canvas.get_attribute("data-points") == "0",
                "without /1/history: an empty chart and a note", repr(note))

    # A click on a worker charts it.
    driver.find_element(By.CSS_SELECTOR,
                        '#workers tr[data-key="rig-02"]').click()
    R.check(driver.find_element(By.ID, "series").get_attribute("value") ==
            "worker:rig-02", "a click on rig-02 charts rig-02")
    wait(driver, lambda d: d.find_element(
        By.CSS_SELECTOR, '#workers tr[data-key="rig-02"]'
    ).get_attribute("aria-selected") == "true",
        "rig-02's row is marked")
    if "/1/history" in endpoints:
        wait(driver, lambda d: int(d.find_element(
            By.ID, "chart").get_attribute("data-points")) > 0 or
            "No history for worker" in d.find_element(
                By.ID, "chart-note").text,
            "rig-02's chart: points or a note", HISTORY_WAIT_S)
    Select(driver.find_element(By.ID, "series")).select_by_value("total")
    wait(driver, lambda d: d.find_element(By.ID, "series").get_attribute(
        "value") == "total", "back to the total")

    # The screenshot: the whole page (a viewport as tall as it), at the
    # top, no focus ring, once it is live.
    driver.execute_script("document.activeElement.blur(); "
                          "window.scrollTo(0, 0)")
    height = driver.execute_script(
        "return document.documentElement.scrollHeight")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": 1280, "height": min(height, 2400), "deviceScaleFactor": 1,
        "mobile": False})
    wait(driver, lambda d: count(tile_value(d, "tile-miners")) == n,
         "the page is still live before the screenshot")
    shot = os.path.join(args.out, "dashboard.png")
    driver.save_screenshot(shot)
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    R.check(os.path.getsize(shot) > 10000, "screenshot saved in " + shot)
    if args.readme_shot:
        shutil.copyfile(shot, args.readme_shot)
        R.note("README screenshot refreshed: " + args.readme_shot)

    errs = console_errors(driver)
    R.check(not errs, "the browser console has no error",
            json.dumps(errs, indent=1))


def phase_big(driver, sl, args, workdir):
    """10,000 workers: paged, sorted and turned without a long task."""
    out = os.path.join(workdir, "bench-miners.json")
    log = open(os.path.join(workdir, "bench-miners.log"), "w")
    bench = subprocess.Popen(
        [args.bench, "miners", "--port", str(sl.bind), "--count",
         str(args.big), "--login-rate", "4000", "--hold", "120",
         "--json", out], stdout=log, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        want = args.big + len(WORKERS)
        ok = wait(driver, lambda d: count(tile_value(d, "tile-workers")) >=
                  want, "the Workers tile reaches %d" % want, 60)
        if not ok:
            return
        wait(driver, lambda d: int(d.find_element(By.ID, "workers")
                                   .get_attribute("data-rows")) >= want,
             "the workers table holds %d rows" % want, 30)
        rows = len(driver.find_elements(By.CSS_SELECTOR,
                                        "#workers tbody tr"))
        R.check(rows == 50, "the table shows one page of 50 rows", str(rows))
        pages = driver.find_element(By.CSS_SELECTOR,
                                    "#workers-pager .pages").text
        R.check(("of %s" % format(want, ",")) in pages,
                "the pager counts them all", repr(pages))
        # A sort by the 1 min hashrate, then a page turn: one click
        # each, measured in the page (sort and render are synchronous).
        ms = driver.execute_script("""
            const t = performance.now();
            document.querySelector(
                '#workers thead th:nth-child(5) button').click();
            const a = performance.now() - t;
            const u = performance.now();
            document.querySelector(
                '#workers-pager button[data-page="1"]').click();
            return [a, performance.now() - u];
        """)
        R.note("10k workers: sort %.0f ms, page turn %.0f ms" %
               (ms[0], ms[1]))
        R.check(ms[0] < 1000 and ms[1] < 1000,
                "sorting and paging %d workers take under a second" % want,
                "%r ms" % ms)
        R.check("page 2 of" in driver.find_element(
            By.CSS_SELECTOR, "#workers-pager .pages").text,
            "the second page shows")
        # A whole refresh with 10k rows (fetch, parse, sort, render)
        # leaves the page answering at once.
        t0 = time.monotonic()
        driver.execute_script("return 1")
        R.check(time.monotonic() - t0 < 2, "the page stays responsive")
        render = float(driver.find_element(By.ID, "workers").get_attribute(
            "data-render-ms"))
        R.note("last table render: %.1f ms" % render)
        errs = console_errors(driver)
        R.check(not errs, "no console error with 10k workers",
                json.dumps(errs, indent=1))
    finally:
        stop_pid(bench)
        log.close()


def phase_token(driver, sl, miners):
    """With a token: the prompt, the data once typed, asked only once."""
    n = len(miners)
    try:
        sl.get_json("/1/summary")
        R.check(False, "the API asks for the token")
    except urllib.error.HTTPError as e:
        R.check(e.code == 401, "the API asks for the token", str(e.code))
    driver.get(sl.url("/"))
    prompt = wait(driver, lambda d: d.find_element(By.ID, "token")
                  .is_displayed() and d.find_element(By.ID, "token"),
                  "the token prompt appears")
    if not prompt:
        return
    R.check(prompt.get_attribute("type") == "password",
            "the token prompt is a password input")
    R.check(not driver.find_element(By.ID, "main").is_displayed(),
            "no data before the token")
    prompt.send_keys(TOKEN + Keys.ENTER)
    wait(driver, lambda d: d.find_element(By.ID, "main").is_displayed()
         and count(tile_value(d, "tile-miners")) == n,
         "the typed token shows the data (Miners %d)" % n)
    R.check(driver.execute_script(
        "return sessionStorage.getItem('sluice.token')") == TOKEN,
        "the token is kept in sessionStorage")
    driver.refresh()
    ok = wait(driver, lambda d: count(tile_value(d, "tile-miners")) == n,
              "after a reload the data shows again")
    if ok:
        R.check(not driver.find_element(By.ID, "auth").is_displayed(),
                "after a reload the token is not asked again")
    errs = console_errors(driver)
    R.check(not errs, "the browser console has no error (token)",
            json.dumps(errs, indent=1))

    # A wrong token: refused with a message, the prompt stays. (The 403
    # is in the console from here on: not checked.)
    driver.execute_script("sessionStorage.clear()")
    driver.refresh()
    prompt = wait(driver, lambda d: d.find_element(By.ID, "token")
                  .is_displayed() and d.find_element(By.ID, "token"),
                  "the prompt is back without a stored token")
    if prompt:
        prompt.send_keys("not-" + TOKEN + Keys.ENTER)
        wait(driver, lambda d: "refused" in d.find_element(
            By.ID, "auth-msg").text, "a wrong token is refused")
        R.check(not driver.find_element(By.ID, "main").is_displayed(),
                "a wrong token shows no data")


class MinerPage:
    """Serves MINER_PAGE on a port of its own: another origin."""

    def __init__(self):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = MINER_PAGE.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                      Handler)
        self.origin = "http://127.0.0.1:%d" % self.server.server_port
        threading.Thread(target=self.server.serve_forever,
                         daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def phase_ws(driver, sl, pool, page, other):
    """A page of another origin mines one share over ws://."""
    url = "ws://127.0.0.1:%d/mine" % sl.ws
    script = ("var done = arguments[arguments.length - 1];"
              "mine(arguments[0], arguments[1]).then(done);")
    before = pool.submits
    driver.get(page.origin + "/miner.html")
    out = driver.execute_async_script(script, url, make_result(20000))
    login = (out or {}).get("login") or {}
    job = (login.get("result") or {}).get("job") or {}
    R.check(login.get("error") is None and
            (login.get("result") or {}).get("status") == "OK" and
            len(job.get("blob", "")) > 86,
            "a page logs in over ws:// and gets a job", repr(out))
    submit = (out or {}).get("submit") or {}
    R.check(submit.get("error") is None and
            (submit.get("result") or {}).get("status") == "OK",
            "its share, in its fixed byte, is accepted", repr(out))
    with pool.lock:
        got = pool.submits
    R.check(got > before, "the share reached the pool",
            "%d submits before, %d after" % (before, got))
    R.check((out or {}).get("code") == 1000,
            "the page's close frame is answered", repr(out))
    sl.wait_log('reason="websocket close"', 10)
    # The same page from another origin: 403, never open.
    driver.get(other.origin + "/miner.html")
    out = driver.execute_async_script(script, url, make_result(20000))
    R.check(out is not None and out.get("login") is None and
            out.get("code") == 1006,
            "a page of another origin is refused", repr(out))
    sl.wait_log("Origin not allowed", 10)
    driver.get("about:blank")
    # The refused page's console error was expected: not counted later.
    driver.get_log("browser")


def phase_feed(driver, sl, miners):
    """The live feed of rig-01: its share shows, rig-02's does not."""
    if not wait(driver, lambda d: d.find_element(By.ID, "feed-panel")
                .is_displayed(), "the live feed panel shows"):
        return
    opts = wait(driver, lambda d: [o.get_attribute("value") for o in
                                   d.find_elements(By.CSS_SELECTOR,
                                                   "#feed-miner option")
                                   if "rig-01" in o.text],
                "rig-01 is in the live feed's miner list")
    if not opts:
        return
    Select(driver.find_element(By.ID, "feed-miner")).select_by_value(opts[0])
    driver.find_element(By.ID, "feed-watch").click()
    wait(driver, lambda d: "Recording miner" in d.find_element(
        By.ID, "feed-note").text, "Watch starts a capture of rig-01")
    sl.wait_log("type=capture status=on by=miner", 10)
    sl.wait_log("type=capture_stream status=open", 10)
    by = {m.rigid: m for m in miners}
    t0 = time.monotonic()
    R.check(by["rig-02"].share() and by["rig-01"].share(),
            "rig-02's and rig-01's shares are accepted")

    def submits(d):
        return [li.text for li in d.find_elements(By.CSS_SELECTOR, "#feed li")
                if li.get_attribute("data-direction") == "miner_to_proxy"
                and '"submit"' in li.text]
    got = wait(driver, submits, "rig-01's submit shows in the live feed")
    if got:
        R.check(time.monotonic() - t0 < 5,
                "the submit showed within 5 s",
                "%.1f s" % (time.monotonic() - t0))
        R.check(len(got) == 1 and by["rig-01"].session in got[0] and
                by["rig-02"].session not in " ".join(
                    li.text for li in driver.find_elements(
                        By.CSS_SELECTOR, "#feed li")),
                "only rig-01's lines are in the feed", repr(got))
    driver.find_element(By.ID, "feed-stop").click()
    sl.wait_log("type=capture status=off", 10)
    R.check(driver.find_element(By.ID, "feed-stop").get_attribute(
        "disabled") is not None, "Stop ends the feed")
    errs = console_errors(driver)
    R.check(not errs, "the browser console has no error (live feed)",
            json.dumps(errs, indent=1))


def run(args, workdir):
    pool = FakePool()
    page, other = MinerPage(), MinerPage()
    args.pool_port = pool.port
    sluices, miners, pacer, driver, service = [], [], None, None, None
    try:
        sl = Sluice(args.sluice, workdir, pool.port, {}, page.origin)
        sluices.append(sl)
        sl.wait_log("type=ready", 10)
        sl.wait_log("state=up", 10)
        for name in WORKERS:
            miners.append(FakeMiner(sl.bind, name))
        R.check(all(m.share() for m in miners),
                "%d fake miners logged in, each share accepted" %
                len(miners))
        pacer = Pacer(miners)
        driver, service = start_browser(workdir)
        phase_chart(driver, args)
        phase_open(driver, sl, miners, args)
        if args.big > 0:
            phase_big(driver, sl, args, workdir)
        else:
            R.skip("10,000 workers", "--big 0")
        phase_ws(driver, sl, pool, page, other)
        # Leave the page before its sluice goes, so the console stays
        # clean of that.
        driver.get("about:blank")
        console_errors(driver)
        pacer.stop()
        pacer = None
        for m in miners:
            m.close()
        miners = []
        R.check(sl.stop() == 0, "sluice exits cleanly")

        sl = Sluice(args.sluice, workdir, pool.port,
                    {"access-token": TOKEN, "restricted": False})
        sluices.append(sl)
        sl.wait_log("type=ready", 10)
        sl.wait_log("state=up", 10)
        for name in WORKERS[:2]:
            miners.append(FakeMiner(sl.bind, name))
        phase_token(driver, sl, miners)
        # The wrong token's prompt is up (its 403 in the console, read
        # and dropped here): the right one again.
        console_errors(driver)
        driver.execute_script("sessionStorage.setItem('sluice.token', "
                              "arguments[0])", TOKEN)
        driver.get(sl.url("/"))
        phase_feed(driver, sl, miners)
        driver.get("about:blank")
        R.check(sl.stop() == 0, "sluice (token) exits cleanly")
    finally:
        if pacer:
            pacer.stop()
        for m in miners:
            m.close()
        if driver is not None:
            try:
                driver.quit()
            except WebDriverException:
                pass
        if service is not None and service.process is not None:
            stop_pid_plain(service.process)
        for s in sluices:
            s.stop()
        pool.close()
        page.close()
        other.close()


def stop_pid_plain(proc):
    """Stop a child that shares our process group."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def on_alarm(signum, frame):
    raise Failed("the run passed its %d s deadline" % RUN_DEADLINE_S)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sluice", required=True, help="the sluice binary")
    ap.add_argument("--bench", help="sluice-bench, for --big")
    ap.add_argument("--out", default="build", help="where dashboard.png goes")
    ap.add_argument("--big", type=int, default=10000,
                    help="workers for the big table (0: skip)")
    ap.add_argument("--readme-shot", help="also copy the screenshot here")
    ap.add_argument("--keep", action="store_true",
                    help="keep the temporary folder (logs, configs)")
    args = ap.parse_args()
    if args.big > 0 and not args.bench:
        ap.error("--big needs --bench")
    os.makedirs(args.out, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="sluice-browser-")
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(RUN_DEADLINE_S)
    try:
        run(args, workdir)
    except Exception as e:  # a broken step: counted, then the summary
        R.check(False, "the run completed", "%s\n%s" %
                (e, traceback.format_exc()))
    finally:
        signal.alarm(0)
        if R.failed or args.keep:
            print("# logs kept in " + workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print("browser: %d passed, %d failed, %d skipped" %
          (R.passed, R.failed, R.skipped))
    return 1 if R.failed else 0


if __name__ == "__main__":
    sys.exit(main())

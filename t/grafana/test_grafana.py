#!/usr/bin/python3
"""test_grafana.py: the Grafana dashboard loads and asks only for what
sluice exports (make check-grafana).

contrib/grafana/sluice.json is checked three ways:

  1. as a Grafana dashboard: it validates (python3-jsonschema, Draft 7)
     against t/grafana/dashboard.schema.json, a minimal schema of the
     part of Grafana's dashboard model it uses; then what a schema cannot
     say: unique panel ids, panels inside the 24 columns and not
     overlapping, one refId per target in a panel, every data source the
     $datasource variable, every $variable defined;
  2. as PromQL: every expr, with the dashboard's variables filled in,
     goes through "promtool check rules" as a recording rule, so a syntax
     error fails here and not in front of an operator;
  3. against the real thing: sluice runs (two coins, metrics.per-worker
     on) behind sluice-bench's test pool with a few sluice-bench miners
     submitting shares, and every metric name an expr selects must be a
     family of its live /metrics with samples; every label a selector
     matches must be on that family's samples (instance and job aside,
     which Prometheus adds), and each value an equality or a plain
     alternation names must occur; every "by (...)" label too. The
     metrics the dashboard must show (hashrate, miners, upstreams by
     state, shares by result, pool latency, close reasons, coins, the
     per-worker families) must each be in some expr. promtool check
     metrics passes on the live page.

Every process started here (sluice, the test pool, the miners) is stopped
by its PID, also on failure. The last line is
"grafana: N passed, N failed".
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import jsonschema

RUN_DEADLINE_S = 180

# What the dashboard must show (issue 14): each must be in some expr.
REQUIRED = [
    "sluice_hashrate_hashes_per_second",
    "sluice_miners",
    "sluice_upstreams",
    "sluice_shares_total",
    "sluice_pool_latency_seconds",
    "sluice_connections_closed_total",
    "sluice_coin_miners",
    "sluice_worker_hashrate_hashes_per_second",
    "sluice_worker_shares_total",
]
# Labels Prometheus adds at scrape time.
TARGET_LABELS = {"instance", "job"}
# PromQL words that are not metric names.
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right",
            "and", "or", "unless", "bool", "offset"}
GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}
# Aggregation operators, which may be followed by "by (...)" before "(".
AGGREGATIONS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar",
                "count", "count_values", "bottomk", "topk", "quantile"}
# Grafana's own variables.
BUILTIN_VARS = {"__rate_interval", "__interval", "__range", "__range_s",
                "__interval_ms"}


class Results:
    """Counts checks; a failed one is reported and the run goes on."""

    def __init__(self):
        self.passed = self.failed = 0

    def check(self, cond, what, detail=""):
        if cond:
            self.passed += 1
            print("ok - %s" % what, flush=True)
        else:
            self.failed += 1
            print("FAIL - %s%s" % (what, ": " + detail if detail else ""),
                  flush=True)
        return cond


R = Results()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def panels_of(dash):
    """Every panel, those inside collapsed rows too."""
    for p in dash.get("panels", []):
        yield p
        for q in p.get("panels", []) or []:
            yield q


def targets_of(dash):
    for p in panels_of(dash):
        for t in p.get("targets", []) or []:
            yield p, t


# ---------------------------------------------------------------- PromQL

TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<range>\[[^\]]*\])
  | (?P<num>[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?)
  | (?P<op>=~|!~|!=|==|<=|>=|[-+*/%^<>=(),{}])
  | (?P<id>[A-Za-z_:][A-Za-z0-9_:]*)
  | (?P<var>\$\{?[A-Za-z_][A-Za-z0-9_]*\}?)
""", re.VERBOSE)


def lex(expr):
    pos, out = 0, []
    while pos < len(expr):
        m = TOKEN.match(expr, pos)
        if m is None:
            raise ValueError("cannot read %r at %d" % (expr[pos:], pos))
        pos = m.end()
        if m.lastgroup != "ws":
            out.append((m.lastgroup, m.group()))
    return out


def unquote(s):
    return re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m.group(1),
                                                       m.group(1)), s[1:-1])


def parse_expr(expr):
    """The selectors of an expr, [(metric, [(label, op, value)])], and the
    labels of its by/without/on/ignoring clauses."""
    toks = lex(expr)
    selectors, grouping = [], set()
    i = 0
    while i < len(toks):
        kind, text = toks[i]
        nxt = toks[i + 1][1] if i + 1 < len(toks) else None
        if kind == "id" and text in GROUPING and nxt == "(":
            i += 2
            while i < len(toks) and toks[i][1] != ")":
                if toks[i][0] == "id":
                    grouping.add(toks[i][1])
                i += 1
        elif kind == "id" and (nxt == "(" or text in KEYWORDS or
                               text in AGGREGATIONS):
            pass                    # a function, an aggregation, a word
        elif kind == "id":
            matchers = []
            if nxt == "{":
                i += 2
                while i < len(toks) and toks[i][1] != "}":
                    if toks[i][0] == "id" and i + 2 < len(toks):
                        matchers.append((toks[i][1], toks[i + 1][1],
                                         unquote(toks[i + 2][1])))
                        i += 3
                    else:
                        i += 1      # a comma
            selectors.append((text, matchers))
        i += 1
    return selectors, grouping


def fill_vars(expr):
    """The expr as Prometheus would get it from Grafana."""
    expr = expr.replace("$__rate_interval", "5m")
    expr = expr.replace("$__interval", "1m").replace("$__range", "1h")
    return re.sub(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?", ".*", expr)


# --------------------------------------------------------- /metrics text

SAMPLE = re.compile(r'^([A-Za-z_:][A-Za-z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?')


def parse_metrics(text):
    """{family: [labels dict per sample]} and the TYPE of each family."""
    samples, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
            samples.setdefault(name, [])
            continue
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if m is None:
            raise ValueError("not a sample line: %r" % line)
        labels, rest = {}, m.group(3) or ""
        while rest:
            lm = LABEL.match(rest)
            if lm is None:
                raise ValueError("bad labels in %r" % line)
            labels[lm.group(1)] = unquote('"' + lm.group(2) + '"')
            rest = rest[lm.end():]
        samples.setdefault(m.group(1), []).append(labels)
    return samples, types


# ------------------------------------------------------------ the checks


def check_model(dash, schema):
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(dash),
                    key=lambda e: list(e.path))
    R.check(not errors, "the dashboard validates against %s" %
            "t/grafana/dashboard.schema.json",
            "; ".join("%s: %s" % ("/".join(map(str, e.path)), e.message)
                      for e in errors[:10]))

    panels = list(panels_of(dash))
    ids = [p.get("id") for p in panels]
    R.check(len(ids) == len(set(ids)), "panel ids are unique", str(ids))
    inside = [p["title"] for p in panels
              if p["gridPos"]["x"] + p["gridPos"]["w"] > 24]
    R.check(not inside, "every panel is inside the 24 columns",
            ", ".join(inside))
    overlaps = []
    for i, a in enumerate(panels):
        for b in panels[i + 1:]:
            ga, gb = a["gridPos"], b["gridPos"]
            if (ga["x"] < gb["x"] + gb["w"] and gb["x"] < ga["x"] + ga["w"]
                    and ga["y"] < gb["y"] + gb["h"] and
                    gb["y"] < ga["y"] + ga["h"]):
                overlaps.append("%s / %s" % (a["title"], b["title"]))
    R.check(not overlaps, "no two panels overlap", ", ".join(overlaps))
    dup = [p["title"] for p in panels if len({t["refId"] for t in
           p.get("targets", [])}) != len(p.get("targets", []))]
    R.check(not dup, "refIds are unique in each panel", ", ".join(dup))

    variables = {v["name"] for v in dash["templating"]["list"]}
    R.check("datasource" in variables and any(
        v["type"] == "datasource" and v["query"] == "prometheus"
        for v in dash["templating"]["list"]),
        "a $datasource variable of Prometheus data sources")
    refs = [json.dumps(x.get("datasource")) for x in panels
            if "datasource" in x] + \
        [json.dumps(t.get("datasource")) for _, t in targets_of(dash)] + \
        [json.dumps(v.get("datasource")) for v in
         dash["templating"]["list"] if "datasource" in v]
    bad = sorted({r for r in refs if json.loads(r) !=
                  {"type": "prometheus", "uid": "${datasource}"}})
    R.check(not bad, "every data source is the $datasource variable",
            ", ".join(bad))
    used = set()
    for _, t in targets_of(dash):
        used |= set(re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", t["expr"]))
    undefined = sorted(used - variables - BUILTIN_VARS)
    R.check(not undefined, "every $variable in an expr is defined",
            ", ".join(undefined))


def check_promql(dash, workdir):
    rules = {"groups": [{"name": "sluice-dashboard", "rules": []}]}
    for n, (p, t) in enumerate(targets_of(dash)):
        rules["groups"][0]["rules"].append(
            {"record": "dashboard:expr_%d" % n, "expr": fill_vars(t["expr"])})
    path = os.path.join(workdir, "dashboard-rules.yml")
    with open(path, "w") as f:
        json.dump(rules, f, indent=1)   # JSON is YAML
    r = subprocess.run(["promtool", "check", "rules", path],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    R.check(r.returncode == 0, "promtool check rules: every expr is PromQL "
            "(%d exprs)" % len(rules["groups"][0]["rules"]), r.stdout)


def check_live(dash, text, workdir):
    path = os.path.join(workdir, "metrics.txt")
    with open(path, "w") as f:
        f.write(text)
    with open(path) as f:
        r = subprocess.run(["promtool", "check", "metrics"], stdin=f,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
    R.check(r.returncode == 0, "promtool check metrics on the live page",
            r.stdout)
    samples, _ = parse_metrics(text)
    selected = set()
    for p, t in targets_of(dash):
        where = "%s (%s)" % (p["title"], t["refId"])
        try:
            selectors, grouping = parse_expr(t["expr"])
        except ValueError as e:
            R.check(False, "%s: expr readable" % where, str(e))
            continue
        problems, labels_here = [], set(TARGET_LABELS)
        for name, matchers in selectors:
            selected.add(name)
            rows = samples.get(name)
            if not rows:
                problems.append("%s: %s" % (name, "no such family" if rows
                                            is None else "no sample"))
                continue
            have = set().union(*(r.keys() for r in rows))
            labels_here |= have
            for label, op, value in matchers:
                if label in TARGET_LABELS:
                    continue
                if label not in have:
                    problems.append("%s has no label %s" % (name, label))
                    continue
                values = {r.get(label) for r in rows}
                if "$" in value:
                    continue
                if op == "=":
                    want = [value]
                elif op == "=~" and re.fullmatch(r"[A-Za-z0-9_.|-]+", value):
                    want = value.split("|")
                else:
                    want = []
                missing = [w for w in want if w not in values]
                if missing:
                    problems.append("%s{%s} has no %s (has %s)" % (
                        name, label, ", ".join(missing),
                        ", ".join(sorted(map(str, values)))))
        for label in sorted(grouping - labels_here):
            problems.append("by/without label %s is on none of its metrics"
                            % label)
        R.check(not problems, "%s: %s" % (where, ", ".join(
            sorted({n for n, _ in selectors}))), "; ".join(problems))
    missing = [m for m in REQUIRED if m not in selected]
    R.check(not missing, "the dashboard shows every metric it must (%s)" %
            ", ".join(REQUIRED), "missing: " + ", ".join(missing))


# ------------------------------------------------------- the live proxy


def start(argv, log):
    return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)


def stop(proc):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def wait_for(what, cond, timeout, proc=None, log=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(0.1)
    detail = ""
    if log is not None and os.path.exists(log):
        with open(log, errors="replace") as f:
            detail = "".join(f.readlines()[-20:])
    raise RuntimeError("%s%s" % (what, "\n" + detail if detail else ""))


def live_metrics(args, workdir):
    """Run the pool, sluice and miners; return sluice's /metrics text."""
    procs = []
    try:
        pport, cport = free_port(), free_port()
        mport, hport = free_port(), free_port()
        plog = os.path.join(workdir, "pool.log")
        with open(plog, "w") as f:
            procs.append(start([args.bench, "pool", "--port", str(pport),
                                "--control-port", str(cport), "--diff",
                                "1000"], f))
        subprocess.run([args.bench, "ctl", "--port", str(cport), "--wait",
                        "5", "stats"], check=True, stdout=subprocess.DEVNULL)
        pool = [{"url": "127.0.0.1:%d" % pport, "user": "WALLET",
                 "pass": "x"}]
        conf = {
            "mode": "nicehash",
            "bind": [{"host": "127.0.0.1", "port": mport}],
            "coins": {"xmr": {"pools": pool}, "xmr-b": {"pools": pool}},
            "default-coin": "xmr",
            "switch": {"state-file": os.path.join(workdir,
                                                  "user-coin.json")},
            # Ignored (with a warning) by a sluice without history.
            "history": {"file": os.path.join(workdir, "history.db")},
            "http": {"enabled": True, "host": "127.0.0.1", "port": hport},
            "metrics": {"per-worker": True},
            "workers": "rig_id",
            "retries": 1, "retry-pause": 1, "watch": False,
            "syslog": False, "print-time": 0,
            "pid-file": os.path.join(workdir, "sluice.pid"),
        }
        cpath = os.path.join(workdir, "config.json")
        with open(cpath, "w") as f:
            json.dump(conf, f)
        slog = os.path.join(workdir, "sluice.log")
        with open(slog, "w") as f:
            sl = start([args.sluice, "-d", "-c", cpath], f)
        procs.append(sl)

        def ready():
            with open(slog, errors="replace") as f:
                return "type=ready" in f.read()
        wait_for("sluice did not start", ready, 10, sl, slog)

        mlog = os.path.join(workdir, "miners.log")
        with open(mlog, "w") as f:
            miners = start([args.bench, "miners", "--port", str(mport),
                            "--count", "4", "--login-rate", "20",
                            "--share-rate", "8", "--duration", "3",
                            "--procs", "1", "--quiet"], f)
        procs.append(miners)
        try:
            miners.wait(30)
        except subprocess.TimeoutExpired:
            raise RuntimeError("the miners did not finish in 30 s")
        url = "http://127.0.0.1:%d/metrics" % hport
        with urllib.request.urlopen(url, timeout=10) as r:
            text = r.read().decode()
        R.check(sl.poll() is None, "sluice ran throughout")
        return text
    finally:
        for p in reversed(procs):
            stop(p)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sluice", required=True)
    ap.add_argument("--bench", required=True)
    ap.add_argument("--srcdir", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    ap.add_argument("--out", default="build")
    args = ap.parse_args()

    signal.signal(signal.SIGALRM, lambda *_: sys.exit(
        "test_grafana: no end after %d s" % RUN_DEADLINE_S))
    signal.alarm(RUN_DEADLINE_S)
    os.makedirs(args.out, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="grafana-", dir=args.out)
    keep = False
    try:
        dpath = os.path.join(args.srcdir, "contrib/grafana/sluice.json")
        spath = os.path.join(args.srcdir, "t/grafana/dashboard.schema.json")
        with open(spath) as f:
            schema = json.load(f)
        jsonschema.Draft7Validator.check_schema(schema)
        try:
            with open(dpath) as f:
                dash = json.load(f)
        except ValueError as e:
            R.check(False, "contrib/grafana/sluice.json is JSON", str(e))
            return
        R.check(True, "contrib/grafana/sluice.json is JSON (%d panels, %d "
                "exprs)" % (len(list(panels_of(dash))),
                            len(list(targets_of(dash)))))
        check_model(dash, schema)
        check_promql(dash, workdir)
        try:
            text = live_metrics(args, workdir)
        except (RuntimeError, OSError, subprocess.SubprocessError) as e:
            R.check(False, "a live sluice's /metrics", str(e))
            return
        check_live(dash, text, workdir)
    finally:
        keep = R.failed > 0
        if keep:
            print("# logs kept in %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
        print("grafana: %d passed, %d failed" % (R.passed, R.failed))


if __name__ == "__main__":
    main()
    sys.exit(1 if R.failed else 0)

#!/usr/bin/python3
"""make bench: how close the extension comes to the physical limits (see bench/README.md).

    python3 bench/run.py [--quick] [--only throughput|memory|sweep|latency|rate ...] [--max-in N]

Serves CXengage pages as static files from nginx (one worker, loopback) for the client-bound
scenarios, and from bench/delay_server.py (a fixed latency per answer, optionally a vendor rate
window) for the latency-bound ones. Each measurement is a fresh sqlite3 shell loading
build/interactions.so, compared in the same run with what curl (+ SQLite's json_each, or
--parallel) or a Python standard-library script does with the same pages, or with the physical
floor. Prints one table to stdout, progress to stderr. A benchmark, not a test: it never fails on a
time, only when a query fails or returns wrong counts.

Python 3 standard library only; needs the sqlite3 shell, curl and nginx (tools/deps.sh).
"""
import argparse
import hashlib
import heapq
import json
import math
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.dont_write_bytecode = True  # keep tests/ free of __pycache__ litter

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))

from cases_env import REGISTRY, sandbox_environment  # noqa: E402
from sandbox_process import Sandbox, library  # noqa: E402

SCENARIOS = ("latency", "rate", "throughput", "memory")
BENCH_CONTACT = "bench-100k"
BENCH_TOTAL = 100000  # interactions the sandbox serves for BENCH_CONTACT
PAGE_SIZE = 100  # CXengage's maximum page size, which the table asks for
# The scenarios in the order they run: the old names (SCENARIOS) plus the IN-list sweep.
ALL_SCENARIOS = ("throughput", "memory", "sweep", "latency", "rate")
HIGH_RATE_LIMIT = "100000/1s"  # "no rate limit" on the table's side
IN_SIZES = (100, 1000, 10000, 50000)
CONCURRENCIES = (8, 64)
# Every contact but the bench and body-size ones gets the same one-interaction page.
BODY_SIZES = (("body-64k", 64 << 10), ("body-1m", 1 << 20), ("body-8m", 8 << 20))
BODY_PAGES = 4
FULL_DEFAULTS = {"interactions": 100000, "latency_ms": 50, "join_customers": 5000,
                 "shared_customers": 100, "memory_small": 1000, "memory_large": 100000}
QUICK_DEFAULTS = {"interactions": 10000, "latency_ms": 50, "join_customers": 100,
                  "shared_customers": 60, "memory_small": 1000, "memory_large": 10000}
TIMEOUT_S = 1800  # one shell or curl run; only a hang gets near it
assert set(SCENARIOS) <= set(ALL_SCENARIOS)


def progress(message):
    print(f"bench: {message}", file=sys.stderr, flush=True)


class BenchError(Exception):
    pass


def free_port_wait(port, process, what):
    """Waits (bounded) until a loopback port accepts connections."""
    for _ in range(400):
        if process.poll() is not None:
            raise BenchError(f"{what} exited with status {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise BenchError(f"{what} did not listen on 127.0.0.1:{port}")


# ---- The static site: CXengage pages as files ----

def sandbox_digest():
    """What the bench pages are made from: the sandbox's sources."""
    digest = hashlib.sha256(b"bench-site 2")  # and how build_site lays it out
    folder = os.path.join(ROOT, "tests", "sandbox")
    for base, _, files in sorted(os.walk(folder)):
        for name in sorted(files):
            if name.endswith((".py", ".json")):
                with open(os.path.join(base, name), "rb") as handle:
                    digest.update(name.encode() + handle.read())
    return digest.hexdigest()


def build_site(folder):
    """build/bench-site: the 1,000 pages of BENCH_CONTACT as the sandbox serves them (fetched
    once, kept while the sandbox's sources are unchanged), one.json (a one-interaction page, what
    every other contact gets) and, per body size, BODY_PAGES pages of 100 rows padded to it."""
    stamp = os.path.join(folder, "stamp")
    digest = sandbox_digest()
    if os.path.exists(stamp) and open(stamp, encoding="utf-8").read() == digest:
        return
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(os.path.join(folder, BENCH_CONTACT))
    pages = BENCH_TOTAL // PAGE_SIZE
    progress(f"fetching the {pages} pages of {BENCH_CONTACT} from the sandbox once ({folder})")
    with Sandbox() as sandbox:
        env = sandbox_environment(sandbox.url)
        url = (f"{env['CXENGAGE_BASE_URL']}/v1/tenants/{env['CXENGAGE_TENANT_ID']}/contacts/"
               f"{BENCH_CONTACT}/interactions?limit={PAGE_SIZE}&page=[0-{pages - 1}]")
        config = os.path.join(folder, "fetch.config")
        with open(config, "w", encoding="utf-8") as handle:
            handle.write(f'user = "{env["CXENGAGE_USERNAME"]}:{env["CXENGAGE_PASSWORD"]}"\n'
                         f'url = "{url}"\noutput = "{folder}/{BENCH_CONTACT}/page_#1.json"\n')
        curl = run_child(["curl", "-sS", "--fail", "--parallel", "--parallel-max", "4", "-K",
                          config], plain_env())
        os.remove(config)
        if curl.returncode != 0:
            raise BenchError(f"fetching the bench pages: curl: {curl.stderr.strip()}")
    with open(os.path.join(folder, BENCH_CONTACT, "page_0.json"), encoding="utf-8") as handle:
        first = json.load(handle)
    item = first["results"][0]
    with open(os.path.join(folder, "one.json"), "w", encoding="utf-8") as handle:
        json.dump({"page": 0, "limit": PAGE_SIZE, "offset": 0, "total": 1, "results": [item]},
                  handle, separators=(",", ":"))
    for contact, size in BODY_SIZES:
        os.makedirs(os.path.join(folder, contact))
        pad = max(0, size // PAGE_SIZE - len(json.dumps(item)))
        for page in range(BODY_PAGES):
            # Each page the bench contact's own (distinct ids: repeats would be dropped).
            with open(os.path.join(folder, BENCH_CONTACT, f"page_{page}.json"),
                      encoding="utf-8") as handle:
                rows = [dict(row, transcript="x" * pad) for row in json.load(handle)["results"]]
            with open(os.path.join(folder, contact, f"page_{page}.json"), "w",
                      encoding="utf-8") as handle:
                json.dump({"page": page, "limit": PAGE_SIZE, "offset": page * PAGE_SIZE,
                           "total": BODY_PAGES * PAGE_SIZE, "results": rows}, handle,
                          separators=(",", ":"))
    with open(stamp, "w", encoding="utf-8") as handle:
        handle.write(digest)


NGINX_CONFIG = """
worker_processes 1;
error_log {dir}/error.log warn;
pid {dir}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
  log_format status '$status';
  access_log {dir}/access.log status;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  default_type application/json;
  server {{
    listen 127.0.0.1:{port} backlog=4096;
    root {site};
    location ~ ^/cxengage/v1/tenants/[^/]+/contacts/({paged})/interactions$ {{
      try_files /$1/page_$arg_page.json =404;
    }}
    location ~ ^/cxengage/v1/tenants/[^/]+/contacts/[^/]+/interactions$ {{
      try_files /one.json =404;
    }}
  }}
}}
"""


class ServerProcess:
    """A server the bench started (self.process) with its scratch directory (self.dir)."""

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


class Nginx(ServerProcess):
    """nginx serving the site on a free loopback port, unprivileged (as tests/nginx_limit.t)."""

    def __init__(self, site):
        self.site = site

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="ix-bench-nginx-")
        self.port = free_port()
        paged = "|".join([BENCH_CONTACT] + [contact for contact, _ in BODY_SIZES])
        with open(os.path.join(self.dir, "nginx.conf"), "w", encoding="utf-8") as handle:
            handle.write(NGINX_CONFIG.format(dir=self.dir, port=self.port, site=self.site,
                                             paged=paged))
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        self.process = subprocess.Popen([binary, "-p", self.dir, "-c",
                                         os.path.join(self.dir, "nginx.conf"), "-g", "daemon off;"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        free_port_wait(self.port, self.process, "nginx")
        self.url = f"http://127.0.0.1:{self.port}"
        return self

    def counts(self):
        """(requests, non-200 answers) so far, from the access log."""
        with open(os.path.join(self.dir, "access.log"), encoding="utf-8") as handle:
            statuses = handle.read().split()
        return len(statuses), sum(1 for status in statuses if status != "200")


class DelayServer(ServerProcess):
    """bench/delay_server.py on a free loopback port: one.json after a fixed latency."""

    def __init__(self, body, latency_ms, rate=None):
        self.arguments = ["--body", body, "--latency-ms", f"{latency_ms:g}"]
        if rate:
            self.arguments += ["--rate", rate]

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="ix-bench-delay-")
        port_file = os.path.join(self.dir, "port")
        self.process = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "delay_server.py"), "--port-file", port_file]
            + self.arguments, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(400):
            if os.path.exists(port_file) and open(port_file, encoding="utf-8").read():
                break
            if self.process.poll() is not None:
                raise BenchError("bench/delay_server.py exited")
            time.sleep(0.05)
        self.port = int(open(port_file, encoding="utf-8").read())
        free_port_wait(self.port, self.process, "bench/delay_server.py")
        self.url = f"http://127.0.0.1:{self.port}"
        return self

    def call(self, path):
        with urllib.request.urlopen(self.url + path, timeout=30) as answer:
            return json.loads(answer.read())

    def reset(self):
        self.call("/_reset")

    def stats(self):
        return self.call("/_stats")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# ---- Child processes, each with its own resource usage ----

class Child:
    """A finished child process: exit status, output, wall time and its own rusage (os.wait4)."""

    def __init__(self, command, returncode, stdout, stderr, rusage, wall):
        self.command, self.returncode = command, returncode
        self.stdout, self.stderr, self.rusage, self.wall = stdout, stderr, rusage, wall

    @property
    def cpu(self):
        return self.rusage.ru_utime + self.rusage.ru_stime


class Started:
    """A running child; finish() reaps it with os.wait4, so the CPU times are this child's alone
    (RUSAGE_CHILDREN would add up every child so far). Its ru_maxrss is not used: see
    peak_rss_kib."""

    def __init__(self, command, env, stdin_text="", timeout=TIMEOUT_S):
        self.command = command
        self.files = [tempfile.TemporaryFile() for _ in range(3)]
        stdin, stdout, stderr = self.files
        stdin.write(stdin_text.encode())
        stdin.seek(0)
        self.started = time.monotonic()
        self.process = subprocess.Popen(command, stdin=stdin, stdout=stdout, stderr=stderr,
                                        env=env, cwd=ROOT)
        self.timer = threading.Timer(timeout, self.process.kill)
        self.timer.start()

    def finish(self):
        try:
            _, status, rusage = os.wait4(self.process.pid, 0)
        finally:
            self.timer.cancel()
        wall = time.monotonic() - self.started
        self.process.returncode = os.waitstatus_to_exitcode(status)  # reaped: no second wait
        _, stdout, stderr = self.files
        stdout.seek(0)
        stderr.seek(0)
        child = Child(self.command, self.process.returncode,
                      stdout.read().decode("utf-8", "replace"),
                      stderr.read().decode("utf-8", "replace"), rusage, wall)
        for handle in self.files:
            handle.close()
        return child


def run_child(command, env, stdin_text="", timeout=TIMEOUT_S):
    return Started(command, env, stdin_text, timeout).finish()


def sqlite3_command():
    # The sqlite3 shell the tests use (IX_SQLITE3), but never under IX_SQLITE3_WRAPPER or
    # IX_PRELOAD: valgrind or the sanitizers would be what gets measured.
    return [os.environ.get("IX_SQLITE3", "sqlite3"), "-bail", "-batch", ":memory:"]


def sql_quote(text):
    return "'" + text.replace("'", "''") + "'"


TIMER_LINE = re.compile(r"^Run Time: real ([0-9.]+) user ([0-9.]+) sys ([0-9.]+)$")


class ShellRun:
    """One sqlite3 shell: setup (untimed), one statement timed by the shell's .timer, then
    after (untimed). Each part's output lines are kept apart with .print markers."""

    def __init__(self, child):
        self.child = child
        sections, current = {}, None
        for line in child.stdout.splitlines():
            if line.startswith("@@bench:"):
                current = line[len("@@bench:"):]
                sections[current] = []
            elif current is not None:
                sections[current].append(line)
        self.setup = sections.get("setup", [])
        self.after = sections.get("after", [])
        self.result, self.seconds, self.cpu = [], None, None
        for line in sections.get("statement", []):
            match = TIMER_LINE.match(line)
            if match:
                self.seconds = float(match.group(1))
                self.cpu = float(match.group(2)) + float(match.group(3))
            else:
                self.result.append(line)


PEAK_RSS = ".system grep VmHWM /proc/$PPID/status"  # $PPID: the sqlite3 shell that runs sh -c


def shell_script(statement=None, setup=(), after=(), load=True, discard=False):
    """The shell's input; discard sends the statement's rows to /dev/null (the shell still
    formats every column: SELECT * is computed in full), while .timer still prints to stdout."""
    lines = ([f'.load "{library()}"'] if load else []) + [".print @@bench:setup"] + list(setup)
    if statement is not None:
        lines += [".print @@bench:statement"] + ([".output /dev/null"] if discard else [])
        lines += [".timer on", statement, ".timer off"] + ([".output"] if discard else [])
    lines += [".print @@bench:after"] + list(after) + [PEAK_RSS]
    return "\n".join(lines) + "\n"


def shell_result(child, label, timed=True):
    if child.returncode != 0:
        raise BenchError(f"{label}: sqlite3 exited with status {child.returncode}:\n"
                         f"{child.stderr.strip() or child.stdout[-2000:]}")
    run = ShellRun(child)
    if timed and run.seconds is None:
        raise BenchError(f"{label}: no .timer line in the shell's output:\n{child.stdout[-2000:]}")
    run.peak_kib = peak_rss_kib(run, label)
    return run


def run_shell(env, statement=None, setup=(), after=(), label="sqlite3", load=True, discard=False):
    child = run_child(sqlite3_command(), env, shell_script(statement, setup, after, load, discard))
    return shell_result(child, label, statement is not None)


def peak_rss_kib(run, label):
    """VmHWM of the shell, printed by its own last command. Not ru_maxrss: Linux carries a
    process's peak RSS across fork and exec, so a shell started from this Python process would
    report at least Python's own RSS (about 20 MiB) however little it used itself."""
    for line in run.after:
        match = re.match(r"^VmHWM:\s+(\d+) kB$", line)
        if match:
            return int(match.group(1))
    raise BenchError(f"{label}: no VmHWM line in {run.after!r}")


def one_row(lines, label):
    if len(lines) != 1:
        raise BenchError(f"{label}: expected one result row, got {lines!r}")
    return lines[0].split("|")


def empty_curl_seconds():
    """A curl process that transfers nothing: its start-up and exit, taken off the baselines
    (the shell's .timer leaves out ours)."""
    best = None
    for _ in range(5):
        child = run_child(["curl", "-sS", "-o", "/dev/null", "file:///dev/null"], plain_env())
        best = child.wall if best is None else min(best, child.wall)
    return best


# ---- Floors ----

def floor_seconds(requests, concurrency, latency_s, rate=None, from_answer=False):
    """The earliest the last of `requests` answers can arrive when at most `concurrency` are in
    flight, each takes latency_s, and (rate = (N, W)) at most N start in any W seconds: each request
    starts as soon as a slot is free and the N-th request before it started at least W ago (with
    from_answer: was answered at least W ago, the safe limiter's rule, ext/limit/ratelimit.h).
    Without a rate it is ceil(requests / concurrency) x latency_s."""
    if requests <= 0:
        return 0.0
    free = [0.0] * max(1, concurrency)
    starts = []
    for k in range(requests):
        start = heapq.heappop(free)
        if rate and k >= rate[0]:
            counted = starts[k - rate[0]] + (latency_s if from_answer else 0.0)
            start = max(start, counted + rate[1])
        starts.append(start)
        heapq.heappush(free, start + latency_s)
    return max(free)


# ---- The report ----

class Row:
    def __init__(self, scenario, requests="", wall="", floor="", ratio="", target="", notes=""):
        self.cells = [scenario, requests, wall, floor, ratio, target, notes]


def seconds(value):
    return f"{value:.3f} s"


def verdict(ratio, limit):
    """The target column: the limit and whether this run met it."""
    return f"<= {limit} {'met' if round(ratio, 2) <= limit else 'MISSED'}"  # as printed


def plain_env():
    """The environment for curl and the baselines' sqlite3: this process's (main() has added
    no_proxy for loopback)."""
    return dict(os.environ)


STATE_DIR = tempfile.mkdtemp(prefix="ix-bench-state-")  # never the user's runtime dir


def base_env(url, **extra):
    """The environment for the extension: examples/sandbox.env's credentials with CXengage pointed
    at url, quiet, the response cache off, the rate-limit state in a directory of the bench's own,
    plus extra."""
    env = sandbox_environment(url)
    env["CXENGAGE_BASE_URL"] = url + "/cxengage"
    env["INTERACTIONS_QUIET"] = "1"
    env["INTERACTIONS_STATE_DIR"] = STATE_DIR
    for registration in REGISTRY.REGISTRATIONS:
        env[registration.variable("cache_ttl")] = "0"  # measure requests, not the response cache
    env.update(extra)
    return env


def contact_url(env, contact):
    return (f"{env['CXENGAGE_BASE_URL']}/v1/tenants/{env['CXENGAGE_TENANT_ID']}/contacts/"
            f"{contact}/interactions")


def curl_config(path, env, urls):
    """A curl -K file: the same Basic credentials and Accept header as the table sends, each
    answer to /dev/null unless urls gives (url, output) pairs."""
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(f'user = "{env["CXENGAGE_USERNAME"]}:{env["CXENGAGE_PASSWORD"]}"\n'
                     'header = "Accept: application/json"\n')
        for url, output in urls:
            handle.write(f'url = "{url}"\noutput = "{output}"\n')


def ids_setup(count, prefix="c"):
    return ["CREATE TABLE ids(id TEXT PRIMARY KEY);",
            f"INSERT INTO ids SELECT '{prefix}' || value FROM generate_series(1, {count});"]


# ---- Scenarios ----

class Context:
    def __init__(self, args, report, site, nginx):
        self.args, self.report, self.site, self.nginx = args, report, site, nginx
        self.env = base_env(nginx.url, CXENGAGE_RATE_LIMIT=HIGH_RATE_LIMIT)
        self.startup = empty_curl_seconds()
        self.in_memory = {}  # (N, C) -> KiB per customer, from the sweep


def limited(statement_from, rows):
    """statement_from is 'SELECT <columns> FROM <table> WHERE ...'; LIMIT rows unless all."""
    return statement_from if rows >= BENCH_TOTAL else f"{statement_from} LIMIT {rows}"


OUR_SELECT = f"SELECT * FROM cxengage_interactions WHERE contact_id = '{BENCH_CONTACT}'"
OUR_COUNT_INNER = f"SELECT 1 FROM cxengage_interactions WHERE contact_id = '{BENCH_CONTACT}'"
# SELECT * as a user would write it over the saved pages: the same 22 columns, json_each per page,
# ->> per column, times through datetime().
BASE_COLUMNS = ("datetime(v ->> 'startTimestamp'), lower(v ->> 'channelType'), "
                "v ->> 'lastDispositionName', NULL, NULL, v ->> 'interactionId', v ->> 'customer', "
                "v ->> 'channelName', v ->> 'directionType', v ->> 'directionName', "
                "datetime(v ->> 'endTimestamp'), v ->> 'lastAgentId', v ->> 'lastAgentName', "
                "v ->> 'lastQueueId', v ->> 'lastQueueName', v ->> 'lastDispositionId', "
                "v ->> 'lastDispositionName', v -> 'csat', v -> 'note', v ->> 'recording', "
                "v ->> 'transcript', v")


def scenario_throughput(ctx):
    args, report, env = ctx.args, ctx.report, ctx.env
    n = args.interactions
    pages = math.ceil(n / PAGE_SIZE)
    report.settings.append(f"throughput: nginx (1 worker) serving {pages} static pages of "
                           f"{PAGE_SIZE} rows of {BENCH_CONTACT}; cxengage rate_limit "
                           f"{HIGH_RATE_LIMIT}, cache_ttl 0")

    # The baselines' fetch: one curl, the pages in order on one kept-alive connection (URL
    # globbing), saved to files in memory (/dev/shm when there is one), then json_each over them.
    workdir = tempfile.mkdtemp(prefix="ix-bench-pages-",
                               dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    try:
        config = os.path.join(workdir, "curl.config")
        curl_config(config, env, [(f"{contact_url(env, BENCH_CONTACT)}?limit={PAGE_SIZE}"
                                   f"&page=[0-{pages - 1}]", f"{workdir}/page_#1.json")])
        before, _ = ctx.nginx.counts()
        progress(f"throughput: curl fetches {pages} pages")
        curl = run_child(["curl", "-sS", "--fail", "--compressed", "-K", config], plain_env())
        if curl.returncode != 0:
            raise BenchError(f"throughput baseline: curl: {curl.stderr.strip()}")
        curl_requests = ctx.nginx.counts()[0] - before
        fetch_s = max(0.0, curl.wall - ctx.startup)
        source = (f"SELECT j.value AS v FROM generate_series(0, {pages - 1}) AS p, "
                  f"json_each(CAST(readfile(printf({sql_quote(workdir + '/page_%d.json')}, "
                  f"p.value)) AS TEXT), '$.results') AS j LIMIT {n}")
        for mode in ("count", "select"):
            if mode == "count":
                ours_sql = f"SELECT count(*) FROM ({limited(OUR_COUNT_INNER, n)});"
                base_sql = f"SELECT count(*) FROM ({source});"
                name, target = "count(*)", 1.0
            else:
                ours_sql = limited(OUR_SELECT, n) + ";"
                base_sql = f"SELECT {BASE_COLUMNS} FROM ({source});"
                name, target = "SELECT *", 0.25
            progress(f"throughput {name}: ours, json_each, Python over {n} rows")
            before, _ = ctx.nginx.counts()
            ours = run_shell(env, ours_sql, label=f"throughput {name} (ours)",
                             discard=mode == "select")
            requests = ctx.nginx.counts()[0] - before
            base = run_shell(plain_env(), base_sql, label=f"throughput {name} (json_each)",
                             load=False, discard=mode == "select")
            python = run_child([sys.executable, os.path.join(HERE, "baseline_stdlib.py"),
                                "--url", contact_url(env, BENCH_CONTACT), "--user",
                                f"{env['CXENGAGE_USERNAME']}:{env['CXENGAGE_PASSWORD']}",
                                "--rows", str(n), "--mode", mode], plain_env())
            if python.returncode != 0:
                raise BenchError(f"throughput Python baseline: {python.stderr.strip()}")
            python_rows, python_s = python.stdout.split()
            if mode == "count":
                got = int(one_row(ours.result, "throughput count(*)")[0])
                base_got = int(one_row(base.result, "throughput json_each")[0])
                if not got == base_got == n:
                    report.problems.append(f"throughput: ours counted {got} rows, json_each "
                                           f"{base_got}; expected {n}")
            if int(python_rows) != n:
                report.problems.append(f"throughput: the Python baseline read {python_rows} rows")
            baseline_s = fetch_s + base.seconds
            ratio = ours.seconds / baseline_s
            report.rows.append(Row(
                f"{name} ({n} rows)", requests, seconds(ours.seconds), seconds(baseline_s),
                f"{ratio:.2f}", verdict(ratio, target),
                f"floor = curl + json_each: curl {fetch_s:.3f} s ({curl_requests} requests) + "
                f"json_each {base.seconds:.3f} s; ours {n / ours.seconds:,.0f} rows/s, client "
                f"CPU {ours.cpu:.2f} s; Python stdlib {float(python_s):.3f} s (ours "
                f"{ours.seconds / float(python_s):.2f}x)"))
            progress(f"  ours {ours.seconds:.3f} s, curl + json_each {baseline_s:.3f} s, "
                     f"Python {float(python_s):.3f} s")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def scenario_memory(ctx):
    args, report, env = ctx.args, ctx.report, ctx.env
    idle = run_shell(env, setup=["SELECT count(*) FROM interactions_settings;"],
                     label="memory (idle)")
    idle_mib = idle.peak_kib / 1024
    report.settings.append(f"memory: VmHWM of each shell; a shell that loaded the extension and "
                           f"read nothing peaks at {idle_mib:.1f} MiB")
    peaks = []
    for rows in (args.memory_small, args.memory_large):
        progress(f"memory: {rows} rows of {BENCH_CONTACT}, raw read")
        label = f"memory ({rows} rows)"
        inner = limited(f"SELECT raw FROM cxengage_interactions WHERE contact_id = "
                        f"'{BENCH_CONTACT}'", rows)
        run = run_shell(env, f"SELECT count(*), sum(length(raw)) FROM ({inner});", label=label)
        got = int(one_row(run.result, label)[0])
        if got != rows:
            report.problems.append(f"memory: expected {rows} rows, read {got}")
        peaks.append(run.peak_kib / 1024)
        report.rows.append(Row(f"memory {rows} rows", "", seconds(run.seconds), "", "", "",
                               f"peak RSS {peaks[-1]:.1f} MiB ({peaks[-1] - idle_mib:+.1f} MiB "
                               f"over idle)"))
    growth = peaks[1] - peaks[0]
    report.rows.append(Row(f"  RSS growth {args.memory_small} -> {args.memory_large} rows", "", "",
                           "", "", "< 10 MiB " + ("met" if growth < 10 else "MISSED"),
                           f"{growth:+.1f} MiB"))
    for contact, size in BODY_SIZES:
        body = os.path.getsize(os.path.join(ctx.site, contact, "page_0.json"))
        progress(f"memory: {BODY_PAGES} pages of {body / 1024:,.0f} KiB ({contact})")
        label = f"memory ({contact})"
        run = run_shell(env, f"SELECT count(*), sum(length(raw)) FROM cxengage_interactions "
                             f"WHERE contact_id = '{contact}';", label=label)
        got = int(one_row(run.result, label)[0])
        if got != BODY_PAGES * PAGE_SIZE:
            report.problems.append(f"memory: {contact}: read {got} rows")
        over = run.peak_kib / 1024 - idle_mib
        report.rows.append(Row(f"memory per body {body / 1048576:.2f} MiB", "",
                               seconds(run.seconds), "", "", "",
                               f"peak RSS {run.peak_kib / 1024:.1f} MiB, {over:+.1f} MiB over "
                               f"idle = {over * 1048576 / body:.1f} x one page's body"))


def in_statement():
    return "SELECT count(*) FROM cxengage_interactions WHERE contact_id IN (SELECT id FROM ids);"


def scenario_sweep(ctx):
    args, report = ctx.args, ctx.report
    sizes = [n for n in IN_SIZES if n <= args.max_in]
    report.settings.append(f"sweep: contacts c1..cN each get one.json (1 row) from nginx; the "
                           f"floor is curl --parallel --parallel-max C over the same N URLs")
    workdir = tempfile.mkdtemp(prefix="ix-bench-sweep-")
    try:
        for n in sizes:
            # The idle shell builds the same ids table and the same IN ephemeral index, so what
            # is left of the peak is the table's.
            idle = run_shell(ctx.env, setup=ids_setup(n) + [
                "SELECT count(*) FROM ids WHERE id IN (SELECT id FROM ids);"],
                label=f"sweep idle {n}")
            config = os.path.join(workdir, f"curl-{n}.config")
            curl_config(config, ctx.env, [(f"{contact_url(ctx.env, f'c{i}')}?limit={PAGE_SIZE}"
                                           f"&page=0", "/dev/null") for i in range(1, n + 1)])
            for c in CONCURRENCIES:
                env = dict(ctx.env, CXENGAGE_MAX_CONCURRENCY=str(c))
                progress(f"sweep: IN of {n} customers at concurrency {c}")
                before, bad_before = ctx.nginx.counts()
                ours = run_shell(env, in_statement(), setup=ids_setup(n),
                                 label=f"sweep IN {n} C={c}")
                requests, bad = (x - y for x, y in zip(ctx.nginx.counts(), (before, bad_before)))
                got = int(one_row(ours.result, f"sweep IN {n}")[0])
                if got != n:
                    report.problems.append(f"sweep: IN of {n} at C={c} read {got} rows")
                curl = run_child(["curl", "-sS", "--fail", "--compressed", "--parallel",
                                  "--parallel-max", str(c), "-K", config], plain_env())
                if curl.returncode != 0:
                    raise BenchError(f"sweep: curl --parallel: {curl.stderr.strip()[:500]}")
                curl_s = max(1e-6, curl.wall - ctx.startup)
                per_customer = (ours.peak_kib - idle.peak_kib) / n
                ctx.in_memory[(n, c)] = per_customer
                ratio = ours.seconds / curl_s
                target = verdict(ratio, 1.2) if n == max(IN_SIZES) else ""
                report.rows.append(Row(
                    f"IN {n} customers, C={c}", requests, seconds(ours.seconds), seconds(curl_s),
                    f"{ratio:.2f}", target,
                    f"floor = curl --parallel-max {c} (CPU {curl.cpu:.2f} s); ours CPU "
                    f"{ours.cpu:.2f} s, {n / ours.seconds:,.0f} customers/s; memory "
                    f"{per_customer:.2f} KiB/customer" + (f"; {bad} non-200" if bad else "")))
                progress(f"  ours {ours.seconds:.3f} s, curl {curl_s:.3f} s, "
                         f"{per_customer:.2f} KiB/customer")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if ctx.in_memory:
        (n, c), worst = max(ctx.in_memory.items(), key=lambda item: (item[0][0], item[1]))
        report.rows.append(Row(f"  IN-list memory at {n}", "", "", "", "", "<= 0.3 KiB " +
                               ("met" if worst <= 0.3 else "MISSED"),
                               f"{worst:.2f} KiB per customer (peak RSS over the same shell "
                               f"without the query, / N)"))


def scenario_latency(ctx):
    args, report = ctx.args, ctx.report
    latency_s = args.latency_ms / 1000.0
    n_join = min(args.join_customers, args.max_in)
    report.settings.append(f"latency: bench/delay_server.py answers one.json after "
                           f"{args.latency_ms:g} ms, no rate limit")
    runs = [("IN", n_join, 8), ("IN", n_join, 64), ("JOIN", n_join, 8)]
    if args.max_in > n_join:
        runs.append(("IN", min(args.max_in, max(IN_SIZES)), 64))
    with DelayServer(os.path.join(ctx.site, "one.json"), args.latency_ms) as server:
        walls = {}
        for form, n, c in runs:
            env = base_env(server.url, CXENGAGE_RATE_LIMIT=HIGH_RATE_LIMIT,
                           CXENGAGE_MAX_CONCURRENCY=str(c))
            if form == "IN":
                statement = in_statement()
                floor = floor_seconds(n, c, latency_s)
                how = f"ceil({n}/{c}) x {args.latency_ms:g} ms"
            else:
                statement = ("SELECT count(*) FROM ids JOIN cxengage_interactions cx "
                             "ON cx.contact_id = ids.id;")
                floor = floor_seconds(n, 1, latency_s)  # one xFilter per row: serial
                how = f"serial: {n} x {args.latency_ms:g} ms"
            server.reset()
            progress(f"latency: {form} of {n} customers at C={c} (floor {floor:.2f} s)")
            run = run_shell(env, statement, setup=ids_setup(n), label=f"latency {form} {n}")
            got = int(one_row(run.result, f"latency {form}")[0])
            if got != n:
                report.problems.append(f"latency: {form} of {n} at C={c} read {got} rows")
            stats = server.stats()
            walls[(form, n, c)] = run.seconds
            ratio = run.seconds / floor
            notes = (f"floor {how}; server max_concurrent {stats['max_concurrent']}, "
                     f"connections {stats['connections']}")
            if form == "JOIN":
                notes += "; a join calls the table once per row (no target)"
            report.rows.append(Row(f"{form} {n} customers, C={c}, {args.latency_ms:g} ms",
                                   stats["requests"], seconds(run.seconds), seconds(floor),
                                   f"{ratio:.2f}", verdict(ratio, 1.1) if form == "IN" else "-",
                                   notes))
            progress(f"  {run.seconds:.3f} s, {stats['requests']} requests")
        if ("JOIN", n_join, 8) in walls and ("IN", n_join, 64) in walls:
            report.rows.append(Row(f"  JOIN / IN at {n_join}", "", "", "", "", "",
                                   f"the IN form is {walls[('JOIN', n_join, 8)] / walls[('IN', n_join, 8)]:.1f}x "
                                   f"faster at C=8, "
                                   f"{walls[('JOIN', n_join, 8)] / walls[('IN', n_join, 64)]:.1f}x "
                                   f"at C=64"))


def redis_script():
    """The limiter's Lua script, read from ext/limit/redis.c (the C string literal), to time it
    alone with redis-benchmark."""
    source = open(os.path.join(ROOT, "ext", "limit", "redis.c"), encoding="utf-8").read()
    body = source.split("RATE_REDIS_SCRIPT[] =", 1)[1].split(";\n", 1)[0]
    pieces = re.findall(r'"((?:[^"\\]|\\.)*)"', body)
    return "".join(piece.encode().decode("unicode_escape") for piece in pieces)


class RedisServer:
    """Debian's redis-server on a free loopback port, no persistence."""

    def __enter__(self):
        self.port = free_port()
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(400):
            if self.cli("PING").strip() == "PONG":
                break
            if self.process.poll() is not None:
                raise BenchError("redis-server exited")
            time.sleep(0.025)
        self.url = f"redis://127.0.0.1:{self.port}"
        return self

    def cli(self, *arguments):
        return subprocess.run(["redis-cli", "-p", str(self.port)] + list(arguments),
                              capture_output=True, text=True).stdout

    def calls(self, command):
        match = re.search(rf"cmdstat_{command}:calls=(\d+)", self.cli("INFO", "commandstats"))
        return int(match.group(1)) if match else 0

    def __exit__(self, *exc):
        self.process.kill()
        self.process.wait()


def rate_run(ctx, server, window, rate, processes, hosts, redis=None, customers=None):
    """processes sqlite3 shells on one key, each C=8 over its own customers (customers each,
    default --shared-customers); hosts > 1 gives each its own state directory (with redis: the
    shared limiter). Returns the wall time, the floor and the server's counts."""
    args, report = ctx.args, ctx.report
    n, concurrency = customers or args.shared_customers, 8
    # Every run starts with the account's windows empty, as the floor and the server do: the
    # limiter's state of the run before (the same key and host) would hold its first window back.
    server.reset()
    if redis:
        redis.cli("FLUSHALL")
    host_dir = tempfile.mkdtemp(prefix="run-", dir=STATE_DIR)
    envs = []
    for k in range(processes):
        env = base_env(server.url, CXENGAGE_RATE_LIMIT=window,
                       CXENGAGE_MAX_CONCURRENCY=str(concurrency))
        env["INTERACTIONS_STATE_DIR"] = host_dir
        if hosts > 1:
            env["INTERACTIONS_STATE_DIR"] = tempfile.mkdtemp(prefix=f"host{k}-", dir=host_dir)
        if redis:
            env["CXENGAGE_LIMITER_URL"] = redis.url
        envs.append(env)
    where = f"{hosts} hosts through Redis" if redis else f"{processes} process(es) on one host"
    progress(f"rate: {where}, {n} customers each, under {window}")
    # Each shell stamps the wall clock right before and after its statement: ours runs from the
    # first statement's start to the last one's end, as the floor does, so shells that happened
    # to start apart never make a run look faster than the account allows.
    stamp = "SELECT printf('@@stamp %.6f', (julianday('now') - 2440587.5) * 86400.0);"
    started = [Started(sqlite3_command(), env,
                       shell_script(in_statement(), ids_setup(n, prefix=f"p{k}-") + [stamp],
                                    [stamp]))
               for k, env in enumerate(envs)]
    runs = [shell_result(s.finish(), f"rate process {k}") for k, s in enumerate(started)]
    for run in runs:
        got = int(one_row(run.result, "rate")[0])
        if got != n:
            report.problems.append(f"rate: a process read {got} rows of {n}")
    stamps = [[float(line.split()[1]) for line in part if line.startswith("@@stamp ")]
              for run in runs for part in (run.setup, run.after)]
    if any(len(found) != 1 for found in stamps):
        raise BenchError(f"rate: a shell printed no time stamp: {stamps!r}")
    wall = max(found[0] for found in stamps[1::2]) - min(found[0] for found in stamps[0::2])
    stats = server.stats()
    floor = floor_seconds(processes * n, processes * concurrency, args.latency_ms / 1000.0, rate)
    stats["safe_floor"] = floor_seconds(processes * n, processes * concurrency,
                                        args.latency_ms / 1000.0, rate, from_answer=True)
    progress(f"  {wall:.3f} s, {stats['requests']} requests, {stats['status_429']} x 429")
    return wall, floor, stats


def scenario_rate(ctx):
    """Processes and hosts on one key: the vendor's window is the account's, whoever sends. The
    floor is the vendor's windows applied to the request count, start-counted; the limiter counts
    each window from the N-th previous answer's first byte (ext/limit/ratelimit.h), so a window
    costs W plus one answer time L, and the notes give the ratio to that safe floor too. Two
    windows: the bench's 50/1s, where L/W = 5 % makes 1.05 the least a safe limiter can take, and
    Optimove's 50 per 10 s at half scale, 50/5s (L/W = 1 %, as 100 ms answers in 10 s)."""
    args, report = ctx.args, ctx.report
    latency_s = args.latency_ms / 1000.0
    report.settings.append(f"rate: bench/delay_server.py answers after {args.latency_ms:g} ms with "
                           f"an exact window (429 beyond it), the table's rate_limit the same, "
                           f"max_concurrency 8, the same key; one host = one "
                           f"INTERACTIONS_STATE_DIR; hosts through Debian's redis-server on loopback")
    n = args.shared_customers
    # (window, processes, hosts, through Redis, customers each)
    plans = [("50/1s", 1, 1, False, n), ("50/1s", 2, 1, False, n), ("50/1s", 8, 1, False, n),
             ("50/1s", 4, 4, True, n),
             # Optimove's 50/10s at half scale, about 10 to 15 s each: 3 and 4 windows.
             ("50/5s", 2, 1, False, 75), ("50/5s", 8, 1, False, 25), ("50/5s", 4, 4, True, 50)]
    with RedisServer() as redis:
        for window in dict.fromkeys(plan[0] for plan in plans):
            count, seconds_text = window.split("/")
            rate = (int(count), float(seconds_text.rstrip("s")))
            with DelayServer(os.path.join(ctx.site, "one.json"), args.latency_ms, window) as server:
                for _, processes, hosts, shared, customers in (p for p in plans if p[0] == window):
                    before = redis.calls("evalsha") if shared else 0
                    wall, floor, stats = rate_run(ctx, server, window, rate, processes, hosts,
                                                  redis if shared else None, customers)
                    ratio = wall / floor
                    refused = stats["status_429"]
                    target = 1.10 if shared else 1.05
                    met = round(ratio, 2) <= target and refused == 0
                    safe = stats["safe_floor"]
                    notes = (f"429s: {refused}; floor {processes * customers} requests, {window}, "
                             f"C=8 each, {args.latency_ms:g} ms, start-counted (floor_seconds); "
                             f"the answer-counted floor {safe:.3f} s is x{safe / floor:.3f} of it, "
                             f"ours x{wall / safe:.3f} of that")
                    if shared:
                        trips = (redis.calls("evalsha") - before) / max(1, stats["requests"])
                        notes += f"; Redis calls per request {trips:.2f}"
                    who = (f"{hosts} hosts (Redis)" if shared else
                           f"{processes} process{'es' if processes > 1 else ''}")
                    report.rows.append(Row(f"{who} x {customers} customers, {window}",
                                           stats["requests"], seconds(wall), seconds(floor),
                                           f"{ratio:.2f}",
                                           f"<= {target}, 0 x 429 {'met' if met else 'MISSED'}",
                                           notes))
        # What one Redis serves: the admission script alone, from 8 clients, one account.
        sha = redis.cli("SCRIPT", "LOAD", redis_script()).strip()
        progress("rate: admissions per second one Redis serves (redis-benchmark)")
        bench = subprocess.run(
            ["redis-benchmark", "-p", str(redis.port), "-n", "100000", "-c", "8", "-q",
             "EVALSHA", sha, "2", "ix:{bench}:state", "ix:{bench}:starts", "admit",
             "1000000000/1000", "61000", "0", ""], capture_output=True, text=True)
        found = re.findall(r"([\d.]+) requests per second", bench.stdout)
        per_second = float(found[-1]) if found else 0.0
        report.rows.append(Row("one Redis: admissions per second", "100000", "", "",
                               "", "", f"{per_second:,.0f} admissions/s (redis-benchmark, 8 "
                               f"clients, one account, every call admitted); 1 core"))


# ---- Machine and report ----

def machine(env):
    fields = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                if not line.strip():
                    break  # the first processor is enough
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    cpu = fields.get("model name", "unknown CPU")
    if "cpu family" in fields:
        cpu += f" (family {fields['cpu family']}, model {fields.get('model', '?')})"
    memory = ""
    try:
        with open("/proc/meminfo", encoding="utf-8") as handle:
            kib = int(re.search(r"MemTotal:\s+(\d+)", handle.read()).group(1))
            memory = f", {kib / 1024 / 1024:.1f} GiB RAM"
    except (OSError, AttributeError):
        pass
    debug = run_shell(env, setup=["SELECT interactions_debug();"], label="debug")
    versions = [line for line in debug.setup
                if line.split(" ")[0] in ("sqlite-interactions", "sqlite", "libcurl", "build")]
    commit = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                            capture_output=True, text=True).stdout.strip() or "unknown"
    curl = subprocess.run(["curl", "--version"], capture_output=True, text=True).stdout
    nginx = subprocess.run([shutil.which("nginx") or "/usr/sbin/nginx", "-v"],
                           capture_output=True, text=True).stderr.strip()
    return [f"cpu: {len(os.sched_getaffinity(0))} x {cpu}{memory}",
            f"kernel: {platform.system()} {platform.release()} ({platform.machine()})",
            *versions,
            f"curl (baselines): {curl.splitlines()[0] if curl else 'unknown'}",
            f"server: {nginx or 'nginx'} (1 worker); bench/delay_server.py (Python asyncio)",
            f"tree: {commit}"]


class Report:
    def __init__(self):
        self.rows, self.settings, self.problems = [], [], []

    def print(self, machine_lines, args):
        out = sys.stdout
        print("sqlite-interactions benchmark" + (" (--quick)" if args.quick else ""), file=out)
        for line in machine_lines + self.settings:
            print("  " + line, file=out)
        print(file=out)
        header = Row("scenario", "requests", "ours", "floor", "ratio", "target", "notes").cells
        table = [header] + [[str(cell) for cell in row.cells] for row in self.rows]
        widths = [max(len(row[i]) for row in table) for i in range(len(header) - 1)]
        right = {1, 2, 3, 4}
        for index, row in enumerate(table):
            cells = [row[i].rjust(widths[i]) if i in right else row[i].ljust(widths[i])
                     for i in range(len(widths))]
            print("  ".join(cells + [row[-1]]).rstrip(), file=out)
            if index == 0:
                print("  ".join("-" * w for w in widths + [len("notes")]), file=out)
        print(file=out)
        print("ratio = ours / floor, the floor measured in this run (a baseline on the same pages) "
              "or computed (latencies, windows); lower is better. See bench/README.md.", file=out)
        for problem in self.problems:
            print(f"PROBLEM: {problem}", file=out)


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Benchmark the extension against nginx and curl (see bench/README.md).")
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke run")
    parser.add_argument("--only", action="append", choices=ALL_SCENARIOS, metavar="NAME",
                        help=f"run only this scenario (repeatable): {', '.join(ALL_SCENARIOS)}")
    parser.add_argument("--max-in", type=int,
                        help="the largest IN list (default IX_BENCH_MAX_IN, else 50000; "
                             "quick 1000)")
    parser.add_argument("--latency-ms", type=float, help="the delay server's latency (default 50)")
    parser.add_argument("--join-customers", type=int,
                        help="JOIN against IN: customers (default 5000, quick 100)")
    parser.add_argument("--shared-customers", type=int,
                        help="two processes on one key: customers each (default 100, quick 60)")
    parser.add_argument("--interactions", type=int,
                        help=f"throughput: rows of {BENCH_CONTACT} (default 100000, quick 10000)")
    parser.add_argument("--memory-small", type=int, help="memory: the small read (default 1000)")
    parser.add_argument("--memory-large", type=int,
                        help="memory: the large read (default 100000, quick 10000)")
    args = parser.parse_args(argv)
    defaults = QUICK_DEFAULTS if args.quick else FULL_DEFAULTS
    for key, value in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.max_in is None:
        args.max_in = int(os.environ.get("IX_BENCH_MAX_IN") or (1000 if args.quick else 50000))
    args.only = args.only or list(ALL_SCENARIOS)
    for key in ("interactions", "memory_small", "memory_large"):
        if not 1 <= getattr(args, key) <= BENCH_TOTAL:
            parser.error(f"--{key.replace('_', '-')}: {BENCH_CONTACT} has {BENCH_TOTAL} "
                         "interactions")
    if args.latency_ms <= 0 or args.max_in < 1:
        parser.error("--latency-ms and --max-in must be positive")
    return args


def main(argv):
    args = parse_args(argv)
    # libcurl (in the extension and in curl) and urllib honour http_proxy: loopback never goes
    # through a proxy the caller has set.
    os.environ.update(no_proxy="127.0.0.1,localhost", NO_PROXY="127.0.0.1,localhost")
    if not os.path.exists(library()):
        print(f"bench: {library()} is missing: run make first", file=sys.stderr)
        return 2
    for tool in (sqlite3_command()[0], "curl"):
        if shutil.which(tool) is None:
            print(f"bench: {tool} is not installed (tools/deps.sh bench)", file=sys.stderr)
            return 2
    if not (shutil.which("nginx") or os.path.exists("/usr/sbin/nginx")):
        print("bench: nginx is not installed (tools/deps.sh test)", file=sys.stderr)
        return 2
    report = Report()
    machine_lines = []
    site = os.path.join(ROOT, "build", "bench-site")
    try:
        build_site(site)
        with Nginx(site) as nginx:
            ctx = Context(args, report, site, nginx)
            machine_lines = machine(ctx.env)
            for name in ALL_SCENARIOS:
                if name in args.only:
                    globals()[f"scenario_{name}"](ctx)
    except BenchError as error:
        # What was measured is still worth printing; the failure goes last.
        print(f"bench: {error}", file=sys.stderr)
        report.problems.append(str(error).splitlines()[0])
    finally:
        shutil.rmtree(STATE_DIR, ignore_errors=True)
    report.print(machine_lines, args)
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/python3
"""make bench: how close the extension comes to the physical limits (see bench/README.md).

    python3 bench/run.py [--quick] [--only latency|rate|throughput|memory ...] [--customers N] ...

Starts the sandbox once (tests/sandbox/, with an injected per-request latency), runs each scenario
in fresh sqlite3 shells loading build/interactions.so, and prints one table to stdout: requests,
wall time, the physical floor (or the baseline), and measured/floor. Progress goes to stderr. A
benchmark, not a test: it never fails on a time, only when a query fails or returns wrong counts.

Python 3 standard library only; needs the sqlite3 shell and curl (tools/deps.sh bench).
"""
import argparse
import heapq
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

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
CRM_CUSTOMERS = 300
HIGH_RATE_LIMIT = "100000/1s"  # "no rate limit" on the table's side
FULL_DEFAULTS = {"customers": 200, "latency_ms": 50, "optimove_customers": 120,
                 "interactions": 100000, "memory_small": 1000, "memory_large": 100000}
QUICK_DEFAULTS = {"customers": 40, "latency_ms": 50, "optimove_customers": 60,
                  "interactions": 10000, "memory_small": 1000, "memory_large": 10000}
TIMEOUT_S = 1800  # one shell or curl run; only a hang gets near it


def progress(message):
    print(f"bench: {message}", file=sys.stderr, flush=True)


class BenchError(Exception):
    pass


# ---- The sandbox ----

class BenchSandbox(Sandbox):
    """The tests' sandbox, with the control calls the scenarios use."""

    def config(self, **changes):
        return self.control("POST", "/_sandbox/config", changes)

    def responses(self, vendor, status=None):
        return sum(1 for record in self.log()
                   if record.get("vendor") == vendor
                   and (status is None or record.get("status") == status))


# ---- Child processes, each with its own resource usage ----

class Child:
    """A finished child process: exit status, output, wall time and its own rusage (os.wait4)."""

    def __init__(self, command, returncode, stdout, stderr, rusage, wall):
        self.command, self.returncode = command, returncode
        self.stdout, self.stderr, self.rusage, self.wall = stdout, stderr, rusage, wall

    @property
    def cpu(self):
        return self.rusage.ru_utime + self.rusage.ru_stime


def run_child(command, env, stdin_text="", timeout=TIMEOUT_S):
    """Runs command to completion and reaps it with os.wait4, so the CPU times are this child's
    alone (RUSAGE_CHILDREN would add up every child so far). Its ru_maxrss is not used: see
    peak_rss_kib."""
    with tempfile.TemporaryFile() as stdin, tempfile.TemporaryFile() as stdout, \
            tempfile.TemporaryFile() as stderr:
        stdin.write(stdin_text.encode())
        stdin.seek(0)
        started = time.monotonic()
        process = subprocess.Popen(command, stdin=stdin, stdout=stdout, stderr=stderr, env=env,
                                   cwd=ROOT)
        timer = threading.Timer(timeout, process.kill)
        timer.start()
        try:
            _, status, rusage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
        wall = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped: Popen must not wait again
        stdout.seek(0)
        stderr.seek(0)
        return Child(command, process.returncode, stdout.read().decode("utf-8", "replace"),
                     stderr.read().decode("utf-8", "replace"), rusage, wall)


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


def run_shell(env, statement=None, setup=(), after=(), label="sqlite3", load=True):
    lines = ([f'.load "{library()}"'] if load else []) + [".print @@bench:setup"] + list(setup)
    if statement is not None:
        lines += [".print @@bench:statement", ".timer on", statement, ".timer off"]
    lines += [".print @@bench:after"] + list(after)
    child = run_child(sqlite3_command(), env, "\n".join(lines) + "\n")
    if child.returncode != 0:
        raise BenchError(f"{label}: sqlite3 exited with status {child.returncode}:\n"
                         f"{child.stderr.strip() or child.stdout[-2000:]}")
    run = ShellRun(child)
    if statement is not None and run.seconds is None:
        raise BenchError(f"{label}: no .timer line in the shell's output:\n{child.stdout[-2000:]}")
    return run


def one_row(lines, label):
    if len(lines) != 1:
        raise BenchError(f"{label}: expected one result row, got {lines!r}")
    return lines[0].split("|")


# ---- Floors ----

def parse_rate(text):
    """'50/10s' -> (50, 10.0); None for no limit."""
    if not text:
        return None
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*", text)
    if not match:
        raise BenchError(f"cannot read the rate limit {text!r}")
    scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}[match.group(3)]
    return int(match.group(1)), float(match.group(2)) * scale


def floor_seconds(requests, concurrency, latency_s, rate=None):
    """The earliest the last of `requests` answers can arrive when at most `concurrency` are in
    flight, each takes latency_s, and (rate = (N, W)) at most N start in any W seconds: each request
    starts as soon as a slot is free and the N-th request before it started at least W ago."""
    if requests <= 0:
        return 0.0
    free = [0.0] * max(1, concurrency)
    starts = []
    for k in range(requests):
        start = heapq.heappop(free)
        if rate and k >= rate[0]:
            start = max(start, starts[k - rate[0]] + rate[1])
        starts.append(start)
        heapq.heappush(free, start + latency_s)
    return max(free)


# ---- Scenarios ----

class Row:
    def __init__(self, scenario, requests="", wall="", floor="", ratio="", target="", notes=""):
        self.cells = [scenario, requests, wall, floor, ratio, target, notes]


def seconds(value):
    return f"{value:.3f} s"


def plain_env():
    """The environment for curl and the baseline's sqlite3: this process's (main() has added
    no_proxy for loopback)."""
    return dict(os.environ)


def base_env(sandbox, **extra):
    """The environment for the extension: examples/sandbox.env pointed at the sandbox, quiet, the
    response cache off, plus extra."""
    env = sandbox_environment(sandbox.url)
    env["INTERACTIONS_QUIET"] = "1"
    for registration in REGISTRY.REGISTRATIONS:
        env[registration.variable("cache_ttl")] = "0"  # measure requests, not the response cache
    env.update(extra)
    return env


def setting(env, vendor, key):
    run = run_shell(env, setup=[f"SELECT value FROM interactions_settings WHERE vendor = "
                                f"{sql_quote(vendor)} AND key = {sql_quote(key)};"],
                    label=f"setting {vendor}.{key}")
    return one_row(run.setup, f"setting {vendor}.{key}")[0]


def scenario_latency(sandbox, args, report):
    n, latency_s = args.customers, args.latency_ms / 1000.0
    env = base_env(sandbox, CAPILLARY_RATE_LIMIT=HIGH_RATE_LIMIT)
    concurrency = int(setting(env, "capillary", "max_concurrency"))
    report.settings.append(f"capillary max_concurrency {concurrency}, rate_limit "
                           f"{HIGH_RATE_LIMIT}, cache_ttl 0; sandbox latency "
                           f"{args.latency_ms:g} ms, no rate limit")
    crm = [".read examples/crm.sql",
           f"SELECT count(DISTINCT mobile) FROM (SELECT mobile FROM crm LIMIT {n});"]
    statements = [
        ("IN", f"SELECT count(*) FROM capillary_interactions "
               f"WHERE mobile IN (SELECT mobile FROM crm LIMIT {n});"),
        ("JOIN", f"SELECT count(*) FROM crm JOIN capillary_interactions ci "
                 f"ON ci.mobile = crm.mobile WHERE crm.id <= {n};"),
    ]
    counts = {}
    for name, statement in statements:
        sandbox.reset()
        sandbox.config(latency_ms=args.latency_ms)
        progress(f"latency-bound {name}: {n} Capillary customers, {args.latency_ms:g} ms each")
        run = run_shell(env, statement, setup=crm, label=f"latency-bound {name}")
        distinct = int(one_row(run.setup, "distinct customers")[0])
        counts[name] = int(one_row(run.result, f"latency-bound {name}")[0])
        stats = sandbox.stats()
        if name == "IN":
            floor = floor_seconds(distinct, concurrency, latency_s)
            how = f"ceil({distinct}/{concurrency}) x {args.latency_ms:g} ms"
            target = "<= 1.5"
        else:
            floor = floor_seconds(distinct, 1, latency_s)  # one xFilter per CRM row: serial
            how = f"serial: {distinct} x {args.latency_ms:g} ms"
            target = "-"
        notes = (f"floor {how}; sandbox max_concurrent {stats['max_concurrent']}, "
                 f"connections {stats['connections']}; {counts[name]} rows")
        report.rows.append(Row(f"latency-bound {name} ({n} customers)", stats["requests"],
                               seconds(run.seconds), seconds(floor),
                               f"{run.seconds / floor:.2f}", target, notes))
        progress(f"  {run.seconds:.3f} s, {stats['requests']} requests, floor {floor:.3f} s")
    if counts["IN"] != counts["JOIN"]:
        report.problems.append(f"latency-bound: IN returned {counts['IN']} rows, JOIN "
                               f"{counts['JOIN']}: they read the same customers")


def scenario_rate(sandbox, args, report):
    n, latency_s = args.optimove_customers, args.latency_ms / 1000.0
    env = base_env(sandbox)  # OPTIMOVE_RATE_LIMIT unset: the table's default (the documented one)
    table_limit = setting(env, "optimove", "rate_limit")
    concurrency = int(setting(env, "optimove", "max_concurrency"))
    sandbox.reset()
    sandbox.config(latency_ms=args.latency_ms)
    vendor_limit = sandbox.control("GET", "/_sandbox/config")["rate_limits"].get("optimove")
    rate = parse_rate(vendor_limit)
    report.settings.append(f"optimove rate_limit {table_limit} (table default), max_concurrency "
                           f"{concurrency}, cache_ttl 0; sandbox window {vendor_limit}, latency "
                           f"{args.latency_ms:g} ms")
    progress(f"rate-bound: {n} Optimove customers at {vendor_limit} (about "
             f"{floor_seconds(n, concurrency, latency_s, rate):.0f} s)")
    run = run_shell(env, f"SELECT count(*) FROM optimove_interactions "
                         f"WHERE customer_id IN (SELECT optimove_id FROM crm LIMIT {n}) "
                         f"AND start_date = '2025-01-01';",
                    setup=[".read examples/crm.sql",
                           f"SELECT count(DISTINCT optimove_id) FROM "
                           f"(SELECT optimove_id FROM crm LIMIT {n});"],
                    label="rate-bound")
    distinct = int(one_row(run.setup, "distinct customers")[0])
    rows = int(one_row(run.result, "rate-bound")[0])
    stats = sandbox.stats()
    refused = sandbox.responses("optimove", 429)
    floor = floor_seconds(distinct, concurrency, latency_s, rate)
    if rate:
        how = (f"{rate[0]} per {rate[1]:g} s window, C={concurrency}, "
               f"{args.latency_ms:g} ms each")
    else:
        how = f"no vendor limit: ceil({distinct}/{concurrency}) x {args.latency_ms:g} ms"
    report.rows.append(Row(f"rate-bound IN ({n} customers)", stats["requests"],
                           seconds(run.seconds), seconds(floor), f"{run.seconds / floor:.2f}",
                           "<= 1.2, 0 x 429", f"429s from the sandbox: {refused}; floor {how}; "
                                              f"{rows} rows"))
    progress(f"  {run.seconds:.3f} s, {stats['requests']} requests, {refused} x 429, "
             f"floor {floor:.3f} s")


def cxengage_statement(rows, column):
    """count(*) and sum(length(column)) over the first `rows` interactions of the bench contact."""
    where = f"WHERE contact_id = {sql_quote(BENCH_CONTACT)}"
    if rows >= BENCH_TOTAL:
        return f"SELECT count(*), sum(length({column})) FROM cxengage_interactions {where};"
    return (f"SELECT count(*), sum(length({column})) FROM "
            f"(SELECT {column} FROM cxengage_interactions {where} LIMIT {rows});")


def empty_curl_seconds():
    """A curl process that transfers nothing: its start-up and exit, taken off the baseline."""
    best = None
    for _ in range(5):
        child = run_child(["curl", "-sS", "-o", "/dev/null", "file:///dev/null"], plain_env())
        best = child.wall if best is None else min(best, child.wall)
    return best


def scenario_throughput(sandbox, args, report):
    n = args.interactions
    pages = math.ceil(n / PAGE_SIZE)
    env = base_env(sandbox, CXENGAGE_RATE_LIMIT=HIGH_RATE_LIMIT)
    report.settings.append(f"cxengage rate_limit {HIGH_RATE_LIMIT} (the table's default is "
                           f"{setting(base_env(sandbox), 'cxengage', 'rate_limit')}), cache_ttl 0; "
                           f"sandbox latency 0 ms")

    sandbox.reset()
    sandbox.config(latency_ms=0)
    progress(f"throughput (ours): {n} interactions of {BENCH_CONTACT}, {pages} pages")
    ours = run_shell(env, cxengage_statement(n, "interaction_id"), label="throughput (ours)")
    our_rows, our_chars = map(int, one_row(ours.result, "throughput (ours)"))
    our_requests = sandbox.stats()["requests"]
    progress(f"  {ours.seconds:.3f} s, {our_requests} requests")

    # The baseline: one curl process fetching the pages in order over one kept-alive connection
    # (URL globbing), asking for gzip as the extension does, then one sqlite3 run parsing the files
    # with json_each. The credentials go in a -K config file, as a careful user would do.
    sandbox.reset()
    sandbox.config(latency_ms=0)
    progress(f"throughput (curl + json_each): the same {pages} pages")
    startup = empty_curl_seconds()
    workdir = tempfile.mkdtemp(prefix="ix-bench-pages-")
    try:
        base = env["CXENGAGE_BASE_URL"]
        url = (f"{base}/v1/tenants/{env['CXENGAGE_TENANT_ID']}/contacts/{BENCH_CONTACT}/"
               f"interactions?limit={PAGE_SIZE}&page=[0-{pages - 1}]")
        config = os.path.join(workdir, "curl.config")
        with open(config, "w", encoding="utf-8") as handle:
            handle.write(f'user = "{env["CXENGAGE_USERNAME"]}:{env["CXENGAGE_PASSWORD"]}"\n'
                         f'url = "{url}"\n'
                         f'output = "{workdir}/page_#1.json"\n')
        curl = run_child(["curl", "--silent", "--show-error", "--fail", "--compressed",
                          "-H", "Accept: application/json", "-K", config], plain_env())
        if curl.returncode != 0:
            raise BenchError(f"throughput baseline: curl exited with status {curl.returncode}: "
                             f"{curl.stderr.strip()}")
        fetch_seconds = max(0.0, curl.wall - startup)
        parse = run_shell(plain_env(), (
            f"SELECT count(*), sum(length(id)) FROM (SELECT j.value ->> 'interactionId' AS id "
            f"FROM generate_series(0, {pages - 1}) AS p, json_each(CAST(readfile(printf("
            f"{sql_quote(workdir + '/page_%d.json')}, p.value)) AS TEXT), '$.results') AS j "
            f"LIMIT {n});"), label="throughput baseline (json_each)", load=False)
        base_rows, base_chars = map(int, one_row(parse.result, "throughput baseline"))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    base_requests = sandbox.stats()["requests"]
    base_seconds = fetch_seconds + parse.seconds
    progress(f"  {base_seconds:.3f} s ({fetch_seconds:.3f} s curl after {startup * 1000:.1f} ms "
             f"start-up, {parse.seconds:.3f} s json_each), {base_requests} requests")

    if (our_rows, our_chars) != (base_rows, base_chars) or our_rows != min(n, BENCH_TOTAL):
        report.problems.append(f"throughput: ours read {our_rows} rows ({our_chars} id chars), the "
                               f"baseline {base_rows} ({base_chars}); expected {n}")
    our_rate, base_rate = our_rows / ours.seconds, base_rows / base_seconds
    report.rows.append(Row(f"throughput ours ({n} rows)", our_requests, seconds(ours.seconds),
                           seconds(base_seconds), f"{ours.seconds / base_seconds:.2f}", "<= 1.0",
                           f"{our_rate:,.0f} rows/s vs {base_rate:,.0f} rows/s "
                           f"(x{our_rate / base_rate:.2f}); client CPU {ours.cpu:.2f} s"))
    report.rows.append(Row("  baseline curl + json_each", base_requests, seconds(base_seconds),
                           "", "", "", f"curl {fetch_seconds:.3f} s + json_each "
                                       f"{parse.seconds:.3f} s; client CPU "
                                       f"{curl.cpu + parse.cpu:.2f} s"))


def peak_rss_kib(run, label):
    """VmHWM of the shell, printed by its own last command. Not ru_maxrss: Linux carries a
    process's peak RSS across fork and exec, so a shell started from this Python process would
    report at least Python's own RSS (about 20 MiB) however little it used itself."""
    for line in run.after:
        match = re.match(r"^VmHWM:\s+(\d+) kB$", line)
        if match:
            return int(match.group(1))
    raise BenchError(f"{label}: no VmHWM line in {run.after!r}")


PEAK_RSS = ".system grep VmHWM /proc/$PPID/status"  # $PPID: the sqlite3 shell that runs sh -c


def scenario_memory(sandbox, args, report):
    env = base_env(sandbox, CXENGAGE_RATE_LIMIT=HIGH_RATE_LIMIT)
    sandbox.reset()
    sandbox.config(latency_ms=0)
    progress("memory: the shell with the extension loaded, reading nothing")
    idle = run_shell(env, "SELECT count(*) FROM interactions_settings;", after=[PEAK_RSS],
                     label="memory (idle)")
    idle_mib = peak_rss_kib(idle, "memory (idle)") / 1024
    measured = []
    for rows in (args.memory_small, args.memory_large):
        sandbox.reset()
        sandbox.config(latency_ms=0)
        progress(f"memory: {rows} rows of {BENCH_CONTACT}, raw read")
        label = f"memory ({rows} rows)"
        run = run_shell(env, cxengage_statement(rows, "raw"), after=[PEAK_RSS], label=label)
        got = int(one_row(run.result, label)[0])
        if got != rows:
            report.problems.append(f"memory: expected {rows} rows, read {got}")
        peak_mib = peak_rss_kib(run, label) / 1024
        measured.append((rows, sandbox.stats()["requests"], run, peak_mib))
        progress(f"  peak RSS {peak_mib:.1f} MiB, {run.seconds:.3f} s")
    for rows, requests, run, peak_mib in measured:
        report.rows.append(Row(f"memory {rows} rows", requests, seconds(run.seconds), "", "", "",
                               f"peak RSS {peak_mib:.1f} MiB (the shell with the extension "
                               f"loaded: {idle_mib:.1f} MiB)"))
    (small, _, _, small_mib), (large, _, _, large_mib) = measured
    report.rows.append(Row(f"  RSS growth {small} -> {large} rows", "", "", "", "",
                           "< 10 MiB", f"{large_mib - small_mib:+.1f} MiB"))


# ---- Machine and report ----

def machine(sandbox):
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
    debug = run_shell(base_env(sandbox), setup=["SELECT interactions_debug();"], label="debug")
    versions = [line for line in debug.setup
                if line.split(" ")[0] in ("sqlite-interactions", "sqlite", "libcurl", "build")]
    commit = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                            capture_output=True, text=True).stdout.strip() or "unknown"
    curl = subprocess.run(["curl", "--version"], capture_output=True, text=True).stdout
    return [f"cpu: {len(os.sched_getaffinity(0))} x {cpu}{memory}",
            f"kernel: {platform.system()} {platform.release()} ({platform.machine()})",
            *versions,
            f"curl (baseline): {curl.splitlines()[0] if curl else 'unknown'}",
            f"tree: {commit}"]


class Report:
    def __init__(self):
        self.rows, self.settings, self.problems = [], [], []

    def print(self, machine_lines, args, sandbox_kind):
        out = sys.stdout
        print("sqlite-interactions benchmark" + (" (--quick)" if args.quick else ""), file=out)
        for line in machine_lines:
            print("  " + line, file=out)
        print(f"  sandbox: {sandbox_kind}", file=out)
        for line in self.settings:
            print("  " + line, file=out)
        print(file=out)
        header = Row("scenario", "requests", "wall", "floor", "ratio", "target", "notes").cells
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
        print("ratio = wall / floor (throughput: our wall / the baseline's for the same rows); "
              "1.00 is the physical limit, lower is better.", file=out)
        for problem in self.problems:
            print(f"PROBLEM: {problem}", file=out)


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Benchmark the extension against the sandbox (see bench/README.md).")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes for a smoke run (about 20 s)")
    parser.add_argument("--only", action="append", choices=SCENARIOS, metavar="NAME",
                        help=f"run only this scenario (repeatable): {', '.join(SCENARIOS)}")
    parser.add_argument("--customers", type=int,
                        help="latency-bound: Capillary customers (default 200, quick 40)")
    parser.add_argument("--latency-ms", type=float,
                        help="latency the sandbox adds to every answer (default 50)")
    parser.add_argument("--optimove-customers", type=int,
                        help="rate-bound: Optimove customers (default 120, quick 60)")
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
    args.only = args.only or list(SCENARIOS)
    if not (1 <= args.customers <= CRM_CUSTOMERS and 1 <= args.optimove_customers <= CRM_CUSTOMERS):
        parser.error(f"examples/crm.sql has {CRM_CUSTOMERS} customers")
    for key in ("interactions", "memory_small", "memory_large"):
        if not 1 <= getattr(args, key) <= BENCH_TOTAL:
            parser.error(f"--{key.replace('_', '-')}: {BENCH_CONTACT} has {BENCH_TOTAL} "
                         "interactions")
    if args.latency_ms <= 0:
        parser.error("--latency-ms must be positive: the floors are counted in latencies")
    return args


def main(argv):
    args = parse_args(argv)
    # libcurl (in the extension and in curl) and urllib (the control API) honour http_proxy:
    # loopback never goes through a proxy the caller has set.
    os.environ.update(no_proxy="127.0.0.1,localhost", NO_PROXY="127.0.0.1,localhost")
    if not os.path.exists(library()):
        print(f"bench: {library()} is missing: run make first", file=sys.stderr)
        return 2
    for tool in (sqlite3_command()[0], "curl"):
        if shutil.which(tool) is None:
            print(f"bench: {tool} is not installed (tools/deps.sh bench)", file=sys.stderr)
            return 2
    sandbox_kind = "tests/sandbox/server.py"
    report = Report()
    machine_lines = []
    progress(f"starting the sandbox ({sandbox_kind}, --latency-ms {args.latency_ms:g})")
    try:
        with BenchSandbox("--latency-ms", f"{args.latency_ms:g}") as sandbox:
            machine_lines = machine(sandbox)
            for name in SCENARIOS:
                if name in args.only:
                    globals()[f"scenario_{name}"](sandbox, args, report)
    except BenchError as error:
        # What was measured is still worth printing; the failure goes last.
        print(f"bench: {error}", file=sys.stderr)
        report.problems.append(str(error).splitlines()[0])
    report.print(machine_lines, args, sandbox_kind)
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

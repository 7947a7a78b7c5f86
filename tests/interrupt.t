#!/usr/bin/env python3
"""Interrupts end every kind of wait: Ctrl-C in the sqlite3 shell (SIGINT -> sqlite3_interrupt) and
Python's connection.interrupt() from another thread, while a statement waits for the rate limiter,
for a retry backoff, on a stalled transfer, or on the first pages of an IN list; and a connection
waiting for another connection's token exchange (one token per account in a process).

Every wait here is 60 s or more (a 1/300s rate limit, a Retry-After of 300 s, which clamps at 60 s,
a sandbox that hangs for 300 s), so a statement that ends with "interrupted" within the harness's
30 s ended because of the interrupt, not because the wait ran out; no clock decides a pass. The
interrupt is sent only once the statement is shown to be in its wait: the sandbox's log has the
requests the wait follows, and for the rate limit the child's stderr has the note the limiter prints
as it starts waiting (by then the first customer's answer is in the cache, which the Python run's
query after the interrupt reads). The Python runs then use the same connection again, which must
work. Prints TAP."""
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from sandbox_process import Sandbox, library, print_tap, with_preload  # noqa: E402
from cases_env import sandbox_environment  # noqa: E402

# How long the harness lets a child run after the interrupt before calling it a failure.
GRACE_SECONDS = 30
# How long it waits for the child to reach its wait (valgrind starts slowly).
REACH_SECONDS = 120

MOBILES = ["919988221100", "447824371047", "61418086042"]
JOIN = ("SELECT count(*) FROM (SELECT '{0}' AS m UNION ALL SELECT '{1}') AS v "
        "JOIN cap ON cap.mobile = v.m;").format(*MOBILES)

# name, table options, faults, SQL, and when the statement is surely waiting: the sandbox log has
# at least `records` vendor requests, the last with status `status` (None: still unanswered), and
# the child's stderr holds `said` (None: nothing to wait for there).
WAITS = [
    ("a rate-limit wait", "rate_limit='1/300s'", [], JOIN, 1, 200, "for the rate limit"),
    # A 503, not a 429: a 429 would also pause the account's limiter for 60 s, and the Python run's
    # query after the interrupt would wait for that pause.
    ("a retry backoff (Retry-After 300)", "retry_budget_ms=600000",
     [{"vendor": "capillary", "kind": "status", "status": 503,
       "headers": {"Retry-After": "300"}}],
     "SELECT count(*) FROM cap('mobile', '%s');" % MOBILES[0], 1, 503, None),
    ("a stalled transfer", "timeout_ms=600000, stall_timeout_ms=600000",
     [{"vendor": "capillary", "kind": "hang", "seconds": 300}],
     "SELECT count(*) FROM cap('mobile', '%s');" % MOBILES[0], 1, None, None),
    ("an IN-list fan-out", "timeout_ms=600000, stall_timeout_ms=600000",
     [{"vendor": "capillary", "kind": "hang", "seconds": 300, "count": 3}],
     "SELECT count(*) FROM cap WHERE mobile IN ('%s', '%s', '%s');" % tuple(MOBILES), 3, None,
     None),
]

# The Python child: runs the waiting statement, interrupts it from a thread once the harness says
# it waits (by creating the file `go`), then runs a query on the same connection. Prints one JSON
# line.
PYTHON_CHILD = r"""
import json, os, sqlite3, sys, threading, time, urllib.request
library, sandbox, create, sql, go = json.loads(sys.argv[1])
connection = sqlite3.connect(":memory:", check_same_thread=False)
connection.enable_load_extension(True)
connection.load_extension(library)
connection.execute(create)

def interrupter():
    for _ in range(2400):
        if os.path.exists(go):
            break
        time.sleep(0.05)
    connection.interrupt()

thread = threading.Thread(target=interrupter)
thread.start()
outcome = {}
try:
    outcome["rows"] = connection.execute(sql).fetchall()
except sqlite3.Error as error:
    outcome["error"] = str(error)
thread.join()
urllib.request.urlopen(urllib.request.Request(sandbox + "/_sandbox/reset", data=b"{}",
                                              method="POST"), timeout=30).read()
try:
    outcome["after"] = connection.execute(
        "SELECT count(*) FROM cap('mobile', '919988221100')").fetchall()
except sqlite3.Error as error:
    outcome["after_error"] = str(error)
print(json.dumps(outcome))
"""


def vendor_log(sandbox):
    return [record for record in sandbox.log() if record.get("vendor")]


def reached(sandbox, records, status, said, stderr_path):
    log = vendor_log(sandbox)
    if len(log) < records or log[-1].get("status") != status:
        return False
    with open(stderr_path) as stderr:
        return said is None or said in stderr.read()


def wait_until_reached(sandbox, records, status, said, stderr_path, process):
    """Whether the statement was shown to be in its wait (WAITS) before the child ended. While it
    runs, SQLite keeps an interrupt's flag set until a check sees it, so an interrupt sent from here on
    ends the wait. For the rate limit the log alone is not enough: it shows the first customer's
    answer before the client has read it and put it in the cache, and an interrupt landing there
    ends the statement in the transfer, not in the wait, leaving the Python run's query after it
    no cached answer (it would then wait out the 1/300s window). The note the limiter prints as
    it starts waiting closes that gap; a pause of 0.3 s stood in for it before (once in about six
    runs under load lost the Python interrupt without it, in the suite of issue 21; not seen
    again in 12 runs beside two busy processes, with the pause or with the note)."""
    for _ in range(REACH_SECONDS * 20):
        if reached(sandbox, records, status, said, stderr_path):
            return True
        if process.poll() is not None:
            break
        time.sleep(0.05)
    return False


def child_env(sandbox):
    env = sandbox_environment(sandbox.url)
    # A state directory per child: the rate-limit window is shared by processes, and one case's
    # request must not make the next case's first request wait.
    env["INTERACTIONS_STATE_DIR"] = tempfile.mkdtemp(dir=STATE_DIR)
    with_preload(env)
    return env


def finish(process, timeout=GRACE_SECONDS):
    """The child's exit status, or None when it outlived timeout (then it is killed)."""
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return None


def shell_case(sandbox, name, options, faults, sql, records, status, said):
    sandbox.reset()
    if faults:
        sandbox.control("POST", "/_sandbox/faults", faults)
    work = tempfile.mkdtemp(prefix="ix-interrupt-")
    script = os.path.join(work, "script.sql")
    with open(script, "w") as handle:
        handle.write(".load %s\nCREATE VIRTUAL TABLE temp.cap USING capillary_interactions(%s);\n%s\n"
                     % (library(), options, sql))
    command = shlex.split(os.environ.get("IX_SQLITE3_WRAPPER", "")) + [
        os.environ.get("IX_SQLITE3", "sqlite3"), "-batch", ":memory:"]
    with open(script) as stdin, open(os.path.join(work, "out"), "w") as out, \
            open(os.path.join(work, "err"), "w") as err:
        process = subprocess.Popen(command, stdin=stdin, stdout=out, stderr=err,
                                   env=child_env(sandbox), cwd=work)
        waiting = wait_until_reached(sandbox, records, status, said, os.path.join(work, "err"),
                                     process)
        already = process.poll()
        signalled = time.monotonic()
        process.send_signal(signal.SIGINT)
        code = finish(process)
        took = time.monotonic() - signalled
    stdout = open(os.path.join(work, "out")).read()
    stderr = open(os.path.join(work, "err")).read()
    shutil.rmtree(work, ignore_errors=True)
    # Exit status 1: the statement failed (not a crash, not valgrind's 97).
    passed = (waiting and already is None and code == 1 and "interrupted" in stderr
              and stdout == "")
    detail = "%s; exit %s (%s before the signal), %.1f s after SIGINT\nstdout: %s\nstderr: %s" % (
        "in its wait" if waiting else "never shown waiting", code,
        "exited" if already is not None else "running", took, stdout, stderr)
    return passed, "sqlite3 shell: Ctrl-C ends " + name, detail


def python_child(sandbox, script, arguments, env, reach, timeout):
    """Runs script (a Python child taking arguments plus the path of its `go` file) and creates
    `go` once the child is in its wait (reach: records, status, said, as wait_until_reached
    takes them). Returns whether it was shown waiting, its exit status (None when it outlived
    timeout), the JSON of its last line of output ({} without one) and its stderr."""
    # CPython keeps its own allocations until exit by design: LeakSanitizer would report the
    # interpreter, not the extension (the SQL suite checks the extension for leaks).
    env = dict(env, ASAN_OPTIONS=env.get("ASAN_OPTIONS", "") + ":detect_leaks=0")
    work = tempfile.mkdtemp(prefix="ix-interrupt-")
    go = os.path.join(work, "go")
    with open(os.path.join(work, "out"), "w") as out, open(os.path.join(work, "err"), "w") as err:
        process = subprocess.Popen(
            ["/usr/bin/python3", "-c", script, json.dumps(arguments + [go])],
            stdout=out, stderr=err, env=env, cwd=work)
        waiting = wait_until_reached(sandbox, *reach, os.path.join(work, "err"), process)
        open(go, "w").close()  # the child's thread interrupts once it sees this
        code = finish(process, timeout)
    stdout = open(os.path.join(work, "out")).read()
    stderr = open(os.path.join(work, "err")).read()
    shutil.rmtree(work, ignore_errors=True)
    try:
        outcome = json.loads(stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        outcome = {}
    return waiting, code, outcome, stderr


def python_case(sandbox, name, options, faults, sql, records, status, said):
    sandbox.reset()
    if faults:
        sandbox.control("POST", "/_sandbox/faults", faults)
    create = "CREATE VIRTUAL TABLE temp.cap USING capillary_interactions(%s)" % options
    waiting, code, outcome, stderr = python_child(
        sandbox, PYTHON_CHILD, [library(), sandbox.url, create, sql], child_env(sandbox),
        (records, status, said), GRACE_SECONDS)
    passed = (waiting and code == 0 and "interrupted" in outcome.get("error", "")
              and outcome.get("after") == [[2]])
    detail = "%s; outcome: %s\nstderr: %s" % (
        "in its wait" if waiting else "never shown waiting", outcome, stderr)
    return passed, "Python interrupt() ends %s; the connection works after" % name, detail


# Two connections of one process share an account's token: the first asks for it on a token
# endpoint that hangs for 300 s, the second waits for that answer and is interrupted while it does
# (once its note on stderr says it waits).
EXCHANGE_CHILD = r"""
import json, os, sqlite3, sys, threading, time, urllib.request
library, sandbox, go = json.loads(sys.argv[1])
create = ("CREATE VIRTUAL TABLE temp.cap USING capillary_interactions("
          "timeout_ms=600000, stall_timeout_ms=600000)")
def connect():
    connection = sqlite3.connect(":memory:", check_same_thread=False)
    connection.enable_load_extension(True)
    connection.load_extension(library)
    connection.execute(create)
    return connection
asker, waiter = connect(), connect()
sql = "SELECT count(*) FROM cap('mobile', '919988221100')"
outcome = {}
def ask():
    try:
        asker.execute(sql).fetchall()
    except sqlite3.Error as error:
        outcome["asker"] = str(error)
thread = threading.Thread(target=ask)
thread.start()
for _ in range(2400):  # until the first connection's token request is on the wire
    with urllib.request.urlopen(sandbox + "/_sandbox/log", timeout=30) as answer:
        if any(r.get("vendor") for r in json.loads(answer.read())):
            break
    time.sleep(0.05)
def interrupt_waiter():  # once the harness saw the waiting connection's note
    while not os.path.exists(go):
        time.sleep(0.05)
    outcome["interrupted_at"] = time.monotonic()
    waiter.interrupt()
threading.Thread(target=interrupt_waiter).start()
try:
    outcome["rows"] = waiter.execute(sql).fetchall()
except sqlite3.Error as error:
    outcome["error"] = str(error)
outcome["took"] = time.monotonic() - outcome.get("interrupted_at", time.monotonic())
asker.interrupt()  # the first connection's hanging exchange ends too
thread.join()
print(json.dumps(outcome))
"""


def exchange_case(sandbox):
    """A connection waiting for another connection's token exchange is interruptible."""
    sandbox.reset()
    sandbox.control("POST", "/_sandbox/faults",
                    [{"vendor": "capillary", "match": "oauth/token", "kind": "hang",
                      "seconds": 300}])
    env = child_env(sandbox)
    env["CAPILLARY_OAUTH_KEY"] = "sandbox-cap-key"
    env["CAPILLARY_OAUTH_SECRET"] = "sandbox-cap-secret"
    # The second connection says it waits for the first one's token (after 3 s of waiting).
    waiting, code, outcome, stderr = python_child(
        sandbox, EXCHANGE_CHILD, [library(), sandbox.url], env,
        (1, None, "another statement of this process"), REACH_SECONDS + GRACE_SECONDS)
    # The token endpoint hangs 300 s: an error within the grace period came from the interrupt.
    passed = (waiting and code == 0 and "interrupted" in outcome.get("error", "")
              and outcome.get("took", GRACE_SECONDS) < GRACE_SECONDS)
    detail = "%s; outcome: %s\nstderr: %s" % (
        "in its wait" if waiting else "never shown waiting", outcome, stderr)
    return passed, "Python interrupt() ends a wait for another connection's token exchange", detail


STATE_DIR = None


def main():
    global STATE_DIR
    state = tempfile.TemporaryDirectory(prefix="ix-interrupt-state-")
    STATE_DIR = state.name
    results = []
    with Sandbox() as sandbox:
        for wait in WAITS:
            results.append(shell_case(sandbox, *wait))
            results.append(python_case(sandbox, *wait))
        results.append(exchange_case(sandbox))
        sandbox.reset()
    state.cleanup()
    return print_tap(results)


if __name__ == "__main__":
    sys.exit(main())

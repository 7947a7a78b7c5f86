"""Starts and drives the sandbox server (tests/sandbox/server.py) for tests and benchmarks."""
import atexit
import json
import shlex
import shutil
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Sandbox:
    """A sandbox on a free loopback port for the life of a `with` block."""

    def __init__(self, *arguments):
        self.arguments = list(arguments)
        self.process = None
        self.url = None
        self.directory = None

    def __enter__(self):
        self.directory = tempfile.TemporaryDirectory(prefix="ix-sandbox-")
        port_file = os.path.join(self.directory.name, "port")
        self.log_path = os.path.join(self.directory.name, "requests.log")
        # stderr goes to a file, not a pipe nobody reads: a burst of tracebacks must never block
        # the server in the middle of a test.
        self.stderr_path = os.path.join(self.directory.name, "stderr")
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        with open(self.stderr_path, "wb") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, os.path.join(ROOT, "tests", "sandbox", "server.py"), "--port", "0",
                 "--port-file", port_file, "--log", self.log_path] + self.arguments,
                stdout=subprocess.DEVNULL, stderr=stderr, env=env)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if os.path.exists(port_file) and open(port_file).read().strip():
                break
            if self.process.poll() is not None:
                raise RuntimeError("sandbox exited: " + open(self.stderr_path).read())
            time.sleep(0.02)
        else:
            self.process.kill()
            self.process.wait()
            raise RuntimeError("sandbox did not start within 20 s")
        self.url = "http://127.0.0.1:" + open(port_file).read().strip()
        return self

    def __exit__(self, *exc):
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.directory.cleanup()

    def control(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else (b"{}" if method == "POST" else None)
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")

    def reset(self):
        self.control("POST", "/_sandbox/reset")

    def log(self):
        return self.control("GET", "/_sandbox/log")

    def stats(self):
        return self.control("GET", "/_sandbox/stats")


def library():
    """The extension under test: IX_LIB (the asan target sets its own build), else the normal one."""
    return os.path.abspath(os.environ.get("IX_LIB", os.path.join(ROOT, "build", "interactions.so")))


_state_dir = None


def private_state_dir():
    """A directory of this process's own for INTERACTIONS_STATE_DIR (removed at exit): the
    extension's shared rate-limit state must never go to the user's real runtime directory."""
    global _state_dir
    if _state_dir is None:
        _state_dir = tempfile.mkdtemp(prefix="ix-state-")
        atexit.register(shutil.rmtree, _state_dir, True)
    return _state_dir


def with_preload(env, interpreter=False):
    """Adds IX_PRELOAD (the sanitizer runtimes make asan names) to env's LD_PRELOAD for a child
    process, and returns env. interpreter: the child is a Python interpreter, which keeps its own
    allocations until exit by design, so LeakSanitizer would report the interpreter, not the
    extension: leak checks are off for it (the SQL suite checks the extension for leaks)."""
    if os.environ.get("IX_PRELOAD"):
        env["LD_PRELOAD"] = os.environ["IX_PRELOAD"]
        if interpreter:
            env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
    return env


def run_sqlite(script, env, cwd=None, timeout=600):
    """Runs the sqlite3 shell on script the way every test does: under IX_SQLITE3_WRAPPER (valgrind)
    and with IX_PRELOAD (the sanitizer runtimes) when the make target sets them, and with a private
    INTERACTIONS_STATE_DIR unless env names one."""
    command = shlex.split(os.environ.get("IX_SQLITE3_WRAPPER", "")) + [
        os.environ.get("IX_SQLITE3", "sqlite3"), "-bail", "-batch", ":memory:"]
    child_env = dict(env)
    child_env.setdefault("INTERACTIONS_STATE_DIR", private_state_dir())
    with_preload(child_env)
    return subprocess.run(command, input=script, capture_output=True, text=True, env=child_env,
                          cwd=cwd, timeout=timeout)


def print_tap(results):
    """Prints (passed, name, detail) results as TAP; returns the exit status."""
    for number, (passed, name, detail) in enumerate(results, 1):
        print(f"{'ok' if passed else 'not ok'} {number} - {name}")
        if not passed:
            for line in (detail or "").splitlines():
                print(f"#   {line}", file=sys.stderr)  # shown by prove without -v
    print(f"1..{len(results)}")
    return 0 if all(result[0] for result in results) else 1


def sqlite_command():
    """The sqlite3 shell a test runs, under IX_SQLITE3_WRAPPER (valgrind) when set."""
    return shlex.split(os.environ.get("IX_SQLITE3_WRAPPER", "")) + [
        os.environ.get("IX_SQLITE3", "sqlite3"), "-bail", "-batch", ":memory:"]


def start_sqlite(script, env):
    """A sqlite3 shell running script after loading the library, left to run (finish_sqlite)."""
    child_env = dict(env)
    with_preload(child_env)
    process = subprocess.Popen(sqlite_command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=child_env, cwd=ROOT)
    process.stdin.write(f".load {library()}\n" + script)
    process.stdin.close()
    return process


def finish_sqlite(process, timeout=300):
    """(exit code, stdout, stderr) of a start_sqlite process; the timeout is a bound on a hang,
    reaching it is a failure (exit code -1), not a timing test."""
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return -1, process.stdout.read(), process.stderr.read() + "\n(did not finish: killed)"
    return process.returncode, process.stdout.read(), process.stderr.read()


def status_counts(sandbox):
    """How many requests in the sandbox's log got each HTTP status."""
    counts = {}
    for record in sandbox.log():
        counts[record["status"]] = counts.get(record["status"], 0) + 1
    return counts

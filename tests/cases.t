#!/usr/bin/env python3
"""Runs the SQL cases in tests/cases/ through the real sqlite3 shell against the sandbox; prints TAP.

Each case is one file (format: tests/cases/README.md): the SQL, the rows it must print, or the error
it must fail with, and the exact requests the sandbox must have seen. The cases run in parallel:
IX_CASES_JOBS workers (default: one per CPU, at least 2), each with a sandbox of its own that it
resets before every step. Each case's results are kept until every case before it has printed, so
the TAP stream is in case order whatever order the cases finish in.

Environment:
  IX_LIB              the extension to load (default build/interactions.so)
  IX_PRELOAD          libraries to LD_PRELOAD into sqlite3 (the asan target sets libasan)
  IX_SQLITE3_WRAPPER  a command to run sqlite3 under (the valgrind target sets valgrind)
  IX_CASES            only run cases whose path contains this text
  IX_CASES_JOBS       how many cases run at once
  IX_CASES_TIMES      set: print each case's wall time as a TAP comment, slowest first
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from sandbox_process import Sandbox, library as extension_library, run_sqlite  # noqa: E402
from cases_env import REGISTRY, VENDOR_PREFIXES, sandbox_env_file  # noqa: E402

SECRET_NAME = re.compile(r"(PASSWORD|TOKEN|API_KEY|SECRET)$")
ERROR_LINE = re.compile(
    r"^(?:(?:Parse|Runtime) error near line \d+: |Error: (?:near line \d+: )?(?:in prepare, |stepping, )?)(.*)$"
)
STEP_SECTIONS = ("rows", "error", "requests", "request-count", "status-count", "connections",
                 "stats", "file-lacks", "stderr")


class Results:
    """One case's assertions, kept until the case's turn to print."""

    def __init__(self):
        self.items = []  # (passed, name, diagnostics)

    def ok(self, condition, name, diagnostics=""):
        self.items.append((bool(condition), name, diagnostics))


class Tap:
    def __init__(self):
        self.count = 0
        self.failed = 0

    def emit(self, results):
        """A failure's diagnostics go to stderr too, as Test::More's do: `prove` without -v shows
        stderr, so the output of `make test` alone says which case failed, its statement, and
        what was expected against what came."""
        for passed, name, diagnostics in results.items:
            self.count += 1
            if not passed:
                self.failed += 1
            print(f"{'ok' if passed else 'not ok'} {self.count} - {name}")
            if not passed:
                sys.stdout.flush()
                lines = [f"Failed test {self.count} - {name}"] + diagnostics.rstrip("\n").split("\n")
                sys.stderr.write("".join(f"#   {line}\n" for line in lines))
                sys.stderr.flush()
        sys.stdout.flush()

    def finish(self):
        print(f"1..{self.count}")
        return 1 if self.failed else 0


def parse_case(path):
    """Returns (env dict, list of steps); a step is a dict of section name -> text.

    An `--- env` before the first `--- sql` is the whole case's; one after it is the next step's
    only (on top of the case's), like `--- setup`."""
    env, steps, pending_setup, pending_env = {}, [], [], {}
    section, lines = None, []

    def close():
        text = "\n".join(lines).strip("\n")
        if section is None:
            return
        if section == "env":
            target = pending_env if steps else env
            for line in text.splitlines():
                if line.strip() and not line.startswith("#"):
                    if line.startswith("-"):
                        target[line[1:].strip()] = None
                    else:
                        name, _, value = line.partition("=")
                        target[name.strip()] = value
        elif section == "setup":
            pending_setup.extend(l for l in text.splitlines() if l.strip())
        elif section == "sql":
            steps.append({"sql": text, "setup": list(pending_setup), "env": dict(pending_env)})
            pending_setup.clear()
            pending_env.clear()
        elif section in STEP_SECTIONS:
            if not steps:
                raise ValueError(f"{path}: '--- {section}' before any '--- sql'")
            steps[-1][section] = text
        else:
            raise ValueError(f"{path}: unknown section '--- {section}'")

    with open(path, encoding="utf-8") as handle:
        for raw in handle.read().split("\n"):
            match = re.match(r"^--- ([a-z-]+)\s*$", raw)
            if match:
                close()
                section, lines = match.group(1), []
            elif section is not None:
                lines.append(raw)
    close()
    return env, steps


def secrets_of(env):
    """Every secret value a run may hold, and the forms they travel in (MD5, Basic): those of
    every setting a vendor's registration marks secret (tests/sandbox/vendors/), and any other
    variable whose name says it is one (a case's own password_env='EU_CAP_PASSWORD')."""
    found = REGISTRY.secret_forms(env)
    for name, value in env.items():
        if value and SECRET_NAME.search(name) and len(value) >= 4:
            found.add(value)
    return found


def sql_text(value):
    return "'" + value.replace("'", "''") + "'"


def registry_variables():
    """Variables a case may use instead of naming the vendors: $VENDOR_COUNT (how many there
    are) and $SECRET_VALUES (every sandbox secret, as a list of SQL strings for IN (...))."""
    secrets = {}
    for registration in REGISTRY.REGISTRATIONS:
        env = registration.sandbox_env()
        for setting in registration.settings:
            if setting.secret:
                secrets[env[registration.variable(setting.key)]] = None
    return {"VENDOR_COUNT": str(len(REGISTRY.NAMES)),
            "SECRET_VALUES": ", ".join(sql_text(s) for s in secrets)}


def request_lines(records):
    lines = []
    for record in records:
        target = record["path"] + ("?" + record["query"] if record.get("query") else "")
        window = record.get("rate_window_ms")  # the sandbox's limiter refused it: why
        lines.append(f"{record['method']} {target} auth={record['auth']} {record['status']}"
                     + (f" (window held {len(window)}, ages {window[0]}..{window[-1]} ms)"
                        if window else ""))
    return lines


def matches(want, got):
    """Exact comparison, except that <...> in want stands for any text (times, counts)."""
    if got is None:
        return False
    pattern = ".*?".join(re.escape(part) for part in want.split("<...>"))
    return re.fullmatch(pattern, got, re.S) is not None


def error_message(stderr):
    for line in stderr.splitlines():
        match = ERROR_LINE.match(line)
        if match:
            return match.group(1)
    return None


def substitute(text, variables):
    # Longest name first, so that $TMP never eats the start of a longer $TMP_SOMETHING.
    for name in sorted(variables, key=len, reverse=True):
        text = text.replace("$" + name, variables[name])
    return text


class StepResults:
    """A step's assertions: a failing one says the case's file and the step's statement first."""

    def __init__(self, results, path, sql):
        self.results = results
        statement = "\n".join("    " + line for line in sql.strip("\n").split("\n"))
        self.context = f"case: {os.path.relpath(path, ROOT)}\nstatement:\n{statement}\n"

    def ok(self, condition, name, diagnostics=""):
        self.results.ok(condition, name, self.context + diagnostics)


def run_step(results, name, step, env, sandbox, variables, secrets, path):
    """One step: a fresh sqlite3 against a freshly reset sandbox."""
    results = StepResults(results, path, step["sql"])
    sandbox.reset()
    for line in step["setup"]:
        method, path, body = (substitute(line, variables).split(" ", 2) + [""])[:3]
        sandbox.control(method, path, json.loads(body) if body.strip() else None)

    library = extension_library()
    variables = dict(variables, LIB=library)
    sql = substitute(step["sql"], variables)
    # .open closes the connection and the extension with it: a step that opens a file loads the
    # extension itself, after opening (.load $LIB).
    preamble = "" if re.search(r"^\.open ", sql, re.M) else f".load {library}\n"
    script = preamble + ".nullvalue NULL\n" + sql + "\n"
    try:
        result = run_sqlite(script, env, cwd=variables["TMP"])
        stdout, stderr, code = result.stdout, result.stderr, result.returncode
    except subprocess.TimeoutExpired as expired:
        stdout, stderr, code = expired.stdout or "", (expired.stderr or "") + "\n(timed out)", -1
    records = sandbox.log()

    transcript = f"exit {code}\n--- stdout\n{stdout}--- stderr\n{stderr}"
    if "error" in step:
        want = substitute(step["error"], variables).strip()
        got = error_message(stderr)
        results.ok(code != 0 and matches(want, got), f"{name}: error",
               f"want: {want}\ngot:  {got}\n{transcript}")
    else:
        quiet = stderr == "" or "stderr" in step
        results.ok(code == 0 and quiet, f"{name}: runs cleanly", transcript)
    if "stderr" in step:
        # Each line of the section must be one line of stderr (in any order).
        for want in substitute(step["stderr"], variables).strip().splitlines():
            said = any(matches(want.strip(), line) for line in stderr.splitlines())
            results.ok(said, f"{name}: stderr says it", f"want: {want}\n{transcript}")
    if "rows" in step:
        want = substitute(step["rows"], variables).strip("\n")
        got = stdout.strip("\n")
        results.ok(got == want, f"{name}: rows", diff(want, got) + f"\n--- stderr\n{stderr or '(empty)'}")
    if "requests" in step:
        want = [l.strip() for l in substitute(step["requests"], variables).splitlines() if l.strip()]
        got = request_lines(records)
        results.ok(got == want, f"{name}: requests",
                   diff("\n".join(want), "\n".join(got)) + f"\n--- stderr\n{stderr or '(empty)'}")
    if "request-count" in step:
        want = int(step["request-count"].strip())
        results.ok(len(records) == want, f"{name}: {want} requests",
               f"got {len(records)}:\n" + "\n".join(request_lines(records)))
    if "status-count" in step:
        for line in step["status-count"].splitlines():
            if not line.strip():
                continue
            status, want = line.split()
            got = sum(1 for r in records if str(r["status"]) == status)
            condition = got >= int(want[2:]) if want.startswith(">=") else got == int(want)
            results.ok(condition, f"{name}: {want} requests answered {status}",
                   f"got {got}:\n" + "\n".join(request_lines(records)))
    if "connections" in step:
        want = int(step["connections"].strip())
        got = sandbox.stats()["connections"]
        results.ok(got == want, f"{name}: {want} TCP connection(s)", f"got {got}")
    if "stats" in step:
        stats = sandbox.stats()
        for line in step["stats"].splitlines():
            if not line.strip():
                continue
            key, op, want = line.split()
            got = stats[key]
            condition = {"=": got == int(want), "<=": got <= int(want), ">=": got >= int(want)}[op]
            results.ok(condition, f"{name}: sandbox {key} {op} {want}", f"got {got}")
    if "file-lacks" in step:
        for line in step["file-lacks"].splitlines():
            if not line.strip():
                continue
            path, text = substitute(line, variables).split(" ", 1)
            with open(os.path.join(variables["TMP"], path), "rb") as handle:
                content = handle.read()
            results.ok(text.encode() not in content, f"{name}: {path} does not contain the secret")
    leaked = [s for s in secrets if s in stdout or s in stderr]
    results.ok(not leaked, f"{name}: no secret in the output", f"leaked: {leaked}")


def diff(want, got):
    import difflib
    return "\n".join(difflib.unified_diff(want.split("\n"), got.split("\n"), "expected", "got",
                                          lineterm=""))


def run_case(path, sandbox, sandbox_vars, base_env):
    """Every step of one case, against this worker's sandbox; returns its Results."""
    results = Results()
    name = os.path.relpath(path, os.path.join(ROOT, "tests", "cases"))[: -len(".case")]
    try:
        case_env, steps = parse_case(path)
    except ValueError as error:
        results.ok(False, f"{name}: parses", str(error))
        return results
    with tempfile.TemporaryDirectory(prefix="ix-case-") as tmp:
        # $SANDBOX_HOST is host:port alone, to write another scheme (an https:// URL at it);
        # $SANDBOX_PORT the port alone, to write another spelling of the host (LOCALHOST).
        variables = {"SANDBOX": sandbox.url, "SANDBOX_HOST": sandbox.url.split("://", 1)[1],
                     "SANDBOX_PORT": sandbox.url.rsplit(":", 1)[1], "TMP": tmp, "ROOT": ROOT}
        variables.update(registry_variables())
        env = apply_env(dict(base_env, **sandbox_vars), case_env, variables)
        for number, step in enumerate(steps, 1):
            step_name = name if len(steps) == 1 else f"{name} #{number}"
            step_env = apply_env(dict(env), step["env"], variables)
            chosen = step_env.get("INTERACTIONS_STATE_DIR")
            if chosen and chosen.startswith(tmp + os.sep):
                os.makedirs(chosen, 0o700, exist_ok=True)  # a case's own, made ready for .load
            if "INTERACTIONS_STATE_DIR" not in case_env and "INTERACTIONS_STATE_DIR" not in step["env"]:
                # Each step is a process of its own: a state directory of its own, so that no
                # step (and no parallel case) inherits another's rate-limit windows, and nothing
                # is ever written to the user's real runtime directory.
                state = os.path.join(tmp, f".state-{number}")
                os.mkdir(state, 0o700)
                step_env["INTERACTIONS_STATE_DIR"] = state
            secrets = secrets_of(step_env) | secrets_of(sandbox_vars)
            run_step(results, step_name, step, step_env, sandbox, variables, secrets, path)
    return results


def apply_env(env, changes, variables):
    """env with a case's or step's `--- env` lines applied (None unsets)."""
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = substitute(value, variables)
    return env


def worker_count(cases):
    wanted = os.environ.get("IX_CASES_JOBS", "")
    jobs = int(wanted) if wanted.isdigit() and int(wanted) > 0 else max(2, os.cpu_count() or 1)
    return max(1, min(jobs, len(cases)))


def main():
    tap = Tap()
    only = os.environ.get("IX_CASES", "")
    cases = []
    for directory, _, files in os.walk(os.path.join(ROOT, "tests", "cases")):
        cases += [os.path.join(directory, f) for f in files if f.endswith(".case")]
    # Matched against the path under tests/cases/ ("acme", "limiter/"), not the absolute one, so
    # a checkout's own directory names never match.
    cases_dir = os.path.join(ROOT, "tests", "cases") + os.sep
    cases = sorted(c for c in cases if only in c[len(cases_dir):])
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(VENDOR_PREFIXES)}

    done = [None] * len(cases)  # Results per case, in case order
    times = [0.0] * len(cases)
    claimed = iter(range(len(cases)))
    lock = threading.Condition()

    alive = [0]
    failures = []  # why a worker had no sandbox

    def work():
        try:
            with Sandbox() as sandbox:
                sandbox_vars = sandbox_env_file(sandbox.url)
                while True:
                    with lock:
                        index = next(claimed, None)
                    if index is None:
                        return
                    started = time.monotonic()
                    try:
                        results = run_case(cases[index], sandbox, sandbox_vars, base_env)
                    except Exception:  # a runner or sandbox failure: say so, go on
                        results = Results()
                        results.ok(False, f"{os.path.relpath(cases[index], ROOT)}: runs to the end",
                                   traceback.format_exc())
                    times[index] = time.monotonic() - started
                    with lock:
                        done[index] = results
                        lock.notify_all()
        except Exception:  # this worker's sandbox would not start: the others carry on
            with lock:
                failures.append(traceback.format_exc())
        finally:
            with lock:
                alive[0] -= 1
                lock.notify_all()

    workers = [threading.Thread(target=work, daemon=True) for _ in range(worker_count(cases))]
    alive[0] = len(workers)
    for worker in workers:
        worker.start()
    for index in range(len(cases)):
        with lock:
            while done[index] is None and alive[0] > 0:
                lock.wait()
            if done[index] is None:  # every worker is gone: no sandbox could start
                done[index] = Results()
                done[index].ok(False, f"{os.path.relpath(cases[index], ROOT)}: has a sandbox",
                               "\n".join(failures))
        tap.emit(done[index])
    for worker in workers:
        worker.join()
    if os.environ.get("IX_CASES_TIMES"):
        for seconds, path in sorted(zip(times, cases), reverse=True):
            print(f"# {seconds:6.2f} s  {os.path.relpath(path, ROOT)}")
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Runs the SQL cases in tests/cases/ through the real sqlite3 shell against the sandbox; prints TAP.

Each case is one file (format: tests/cases/README.md): the SQL, the rows it must print, or the error
it must fail with, and the exact requests the sandbox must have seen. One sandbox serves the whole
run and is reset before every step.

Environment:
  IX_LIB              the extension to load (default build/interactions.so)
  IX_PRELOAD          libraries to LD_PRELOAD into sqlite3 (the asan target sets libasan)
  IX_SQLITE3_WRAPPER  a command to run sqlite3 under (the valgrind target sets valgrind)
  IX_CASES            only run cases whose path contains this text
"""
import hashlib
import base64
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from sandbox_process import Sandbox, library as extension_library, run_sqlite  # noqa: E402
from cases_env import VENDOR_PREFIXES, sandbox_env_file  # noqa: E402

SECRET_NAME = re.compile(r"(PASSWORD|TOKEN|API_KEY|SECRET)$")
ERROR_LINE = re.compile(
    r"^(?:(?:Parse|Runtime) error near line \d+: |Error: (?:near line \d+: )?(?:in prepare, |stepping, )?)(.*)$"
)
STEP_SECTIONS = ("rows", "error", "requests", "request-count", "status-count", "connections",
                 "stats", "file-lacks", "stderr")


class Tap:
    def __init__(self):
        self.count = 0
        self.failed = 0

    def ok(self, condition, name, diagnostics=""):
        self.count += 1
        if not condition:
            self.failed += 1
        print(f"{'ok' if condition else 'not ok'} {self.count} - {name}")
        if not condition and diagnostics:
            for line in diagnostics.rstrip("\n").split("\n"):
                print(f"#   {line}")
        sys.stdout.flush()

    def finish(self):
        print(f"1..{self.count}")
        return 1 if self.failed else 0


def parse_case(path):
    """Returns (env dict, list of steps); a step is a dict of section name -> text."""
    env, steps, pending_setup = {}, [], []
    section, lines = None, []

    def close():
        text = "\n".join(lines).strip("\n")
        if section is None:
            return
        if section == "env":
            for line in text.splitlines():
                if line.strip() and not line.startswith("#"):
                    if line.startswith("-"):
                        env[line[1:].strip()] = None
                    else:
                        name, _, value = line.partition("=")
                        env[name.strip()] = value
        elif section == "setup":
            pending_setup.extend(l for l in text.splitlines() if l.strip())
        elif section == "sql":
            steps.append({"sql": text, "setup": list(pending_setup)})
            pending_setup.clear()
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
    """Every secret value a run may hold, and the forms they travel in (MD5, Basic)."""
    found = set()
    for name, value in env.items():
        if value and SECRET_NAME.search(name) and len(value) >= 4:
            found.add(value)
    for prefix in ("CAPILLARY", "CXENGAGE"):
        user, password = env.get(f"{prefix}_USERNAME"), env.get(f"{prefix}_PASSWORD")
        if user and password:
            md5 = hashlib.md5(password.encode()).hexdigest()
            found.add(md5)
            for secret in (password, md5):
                found.add(base64.b64encode(f"{user}:{secret}".encode()).decode())
    return found


def request_lines(records):
    lines = []
    for record in records:
        target = record["path"] + ("?" + record["query"] if record.get("query") else "")
        lines.append(f"{record['method']} {target} auth={record['auth']} {record['status']}")
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
    for name, value in variables.items():
        text = text.replace("$" + name, value)
    return text


def run_step(tap, name, step, env, sandbox, variables, secrets):
    sandbox.reset()
    for line in step["setup"]:
        method, path, body = (substitute(line, variables).split(" ", 2) + [""])[:3]
        sandbox.control(method, path, json.loads(body) if body.strip() else None)

    # Each step its own rate-limit state (never the user's runtime directory): steps and parallel
    # cases must not share windows. A case may name its own.
    if "INTERACTIONS_STATE_DIR" not in env:
        env = dict(env, INTERACTIONS_STATE_DIR=tempfile.mkdtemp(prefix="state-", dir=variables["TMP"]))
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
        tap.ok(code != 0 and matches(want, got), f"{name}: error",
               f"want: {want}\ngot:  {got}\n{transcript}")
    else:
        quiet = stderr == "" or "stderr" in step
        tap.ok(code == 0 and quiet, f"{name}: runs cleanly", transcript)
    if "stderr" in step:
        want = substitute(step["stderr"], variables).strip()
        said = any(matches(want, line) for line in stderr.splitlines())
        tap.ok(said, f"{name}: stderr says it", f"want: {want}\n{transcript}")
    if "rows" in step:
        want = substitute(step["rows"], variables).strip("\n")
        got = stdout.strip("\n")
        tap.ok(got == want, f"{name}: rows", diff(want, got))
    if "requests" in step:
        want = [l.strip() for l in substitute(step["requests"], variables).splitlines() if l.strip()]
        got = request_lines(records)
        tap.ok(got == want, f"{name}: requests", diff("\n".join(want), "\n".join(got)))
    if "request-count" in step:
        want = int(step["request-count"].strip())
        tap.ok(len(records) == want, f"{name}: {want} requests",
               f"got {len(records)}:\n" + "\n".join(request_lines(records)))
    if "status-count" in step:
        for line in step["status-count"].splitlines():
            if not line.strip():
                continue
            status, want = line.split()
            got = sum(1 for r in records if str(r["status"]) == status)
            condition = got >= int(want[2:]) if want.startswith(">=") else got == int(want)
            tap.ok(condition, f"{name}: {want} requests answered {status}",
                   f"got {got}:\n" + "\n".join(request_lines(records)))
    if "connections" in step:
        want = int(step["connections"].strip())
        got = sandbox.stats()["connections"]
        tap.ok(got == want, f"{name}: {want} TCP connection(s)", f"got {got}")
    if "stats" in step:
        stats = sandbox.stats()
        for line in step["stats"].splitlines():
            if not line.strip():
                continue
            key, op, want = line.split()
            got = stats[key]
            condition = {"=": got == int(want), "<=": got <= int(want), ">=": got >= int(want)}[op]
            tap.ok(condition, f"{name}: sandbox {key} {op} {want}", f"got {got}")
    if "file-lacks" in step:
        for line in step["file-lacks"].splitlines():
            if not line.strip():
                continue
            path, text = substitute(line, variables).split(" ", 1)
            with open(os.path.join(variables["TMP"], path), "rb") as handle:
                content = handle.read()
            tap.ok(text.encode() not in content, f"{name}: {path} does not contain the secret")
    leaked = [s for s in secrets if s in stdout or s in stderr]
    tap.ok(not leaked, f"{name}: no secret in the output", f"leaked: {leaked}")


def diff(want, got):
    import difflib
    return "\n".join(difflib.unified_diff(want.split("\n"), got.split("\n"), "expected", "got",
                                          lineterm=""))


def main():
    tap = Tap()
    only = os.environ.get("IX_CASES", "")
    cases = []
    for directory, _, files in os.walk(os.path.join(ROOT, "tests", "cases")):
        cases += [os.path.join(directory, f) for f in files if f.endswith(".case")]
    cases = sorted(c for c in cases if only in c)
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(VENDOR_PREFIXES)}
    with Sandbox() as sandbox:
        sandbox_vars = sandbox_env_file(sandbox.url)
        for path in cases:
            name = os.path.relpath(path, os.path.join(ROOT, "tests", "cases"))[: -len(".case")]
            try:
                case_env, steps = parse_case(path)
            except ValueError as error:
                tap.ok(False, f"{name}: parses", str(error))
                continue
            with tempfile.TemporaryDirectory() as tmp:
                variables = {"SANDBOX": sandbox.url, "TMP": tmp, "ROOT": ROOT}
                env = dict(base_env)
                env.update(sandbox_vars)
                for key, value in case_env.items():
                    if value is None:
                        env.pop(key, None)
                    else:
                        env[key] = substitute(value, variables)
                secrets = secrets_of(env) | secrets_of(sandbox_vars)
                for number, step in enumerate(steps, 1):
                    step_name = name if len(steps) == 1 else f"{name} #{number}"
                    run_step(tap, step_name, step, env, sandbox, variables, secrets)
    return tap.finish()


if __name__ == "__main__":
    sys.exit(main())

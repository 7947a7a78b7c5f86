#!/usr/bin/env python3
"""Memory stays bounded by max_response_bytes under hostile answers. Prints TAP.

- Bodies of every costly shape (10 MB of "[{},{},...]", of empty strings, of numbers, of one long
  string, of the vendor's own valid JSON) either return their rows or fail with an error naming
  max_response_bytes, and the sqlite3 process's peak memory (VmHWM, read from /proc by a .shell
  child of the shell) grows by at most 3 x max_response_bytes over what it was before the query.
  Under valgrind or the sanitizers (their own memory dwarfs ours) only the answers are checked.
- A next-page cursor of 1 MB fails with an error naming the cursor; one of 60 KB works, and the
  request log keeps only the start of its URLs.
- A 1 MB response header line (and a 70 KB one) fails with an error naming the header line, not
  "out of memory"."""
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from sandbox_process import Sandbox, library, print_tap, with_preload  # noqa: E402
from cases_env import sandbox_environment  # noqa: E402

MIB = 1024 * 1024
MAX_RESPONSE_BYTES = 12 * MIB
BODY_BYTES = 10 * MIB
MEASURED = not os.environ.get("IX_SQLITE3_WRAPPER") and not os.environ.get("IX_PRELOAD")
HWM = ".shell grep VmHWM /proc/$PPID/status"


def hostile_bodies():
    """name -> (a body of about BODY_BYTES, what its error must say)."""
    def repeat(item, opening="[", closing="]"):
        count = (BODY_BYTES - 2) // (len(item) + 1)
        return opening + ",".join([item] * count) + closing
    too_costly = "raise max_response_bytes (option 'max_response_bytes') if that is expected"
    return {
        "[{},{},...]": (repeat("{}"), too_costly),
        "[\"\",\"\",...]": (repeat('""'), too_costly),
        "[0,0,...]": (repeat("0"), too_costly),
        "[[],[],...]": (repeat("[]"), too_costly),
        "{\"a\":{},\"a\":{},...}": (repeat('"a":{}', "{", "}"), too_costly),
        # Cheap to parse, and not the vendor's shape.
        "one long string": ('["' + "x" * (BODY_BYTES - 4) + '"]', "not a shape"),
    }


def run(script, env):
    command = shlex.split(os.environ.get("IX_SQLITE3_WRAPPER", "")) + [
        os.environ.get("IX_SQLITE3", "sqlite3"), "-batch", ":memory:"]
    child_env = dict(env)
    with_preload(child_env)
    return subprocess.run(command, input=script, capture_output=True, text=True, env=child_env,
                          timeout=900, cwd=tempfile.gettempdir())


def peaks(stdout):
    return [int(kb) * 1024 for kb in re.findall(r"VmHWM:\s+(\d+) kB", stdout)]


def body_case(sandbox, env, name, body, expect_error, vendor="capillary"):
    sandbox.reset()
    sandbox.control("POST", "/_sandbox/faults", {"vendor": vendor, "kind": "body", "body": body})
    script = "\n".join([
        ".load " + library(),
        "CREATE VIRTUAL TABLE temp.cap USING capillary_interactions(max_response_bytes=%d, "
        "max_retries=0);" % MAX_RESPONSE_BYTES,
        HWM,
        "SELECT count(*) FROM cap('mobile', '919988221100');",
        HWM, ""])
    result = run(script, env)
    return check_bounded(name, result, expect_error=expect_error)


def check_bounded(name, result, expect_error=None, expect_rows=None):
    measured = peaks(result.stdout)
    grew = measured[-1] - measured[0] if len(measured) == 2 else None
    # Exit status 1 for an error, 0 for rows: not a crash, not valgrind's 97.
    answered = (result.returncode == (1 if expect_error else 0)
                and (expect_error is None or expect_error in result.stderr)
                and (expect_rows is None or expect_rows in result.stdout))
    bounded = not MEASURED or (grew is not None and grew <= 3 * MAX_RESPONSE_BYTES)
    detail = "exit %d, peak grew by %s bytes (bound %d)\nstdout: %s\nstderr: %s" % (
        result.returncode, grew, 3 * MAX_RESPONSE_BYTES, result.stdout[-2000:], result.stderr[-2000:])
    what = "fails saying: %s" % expect_error if expect_error else "returns its rows"
    return (answered and bounded,
            "a %d MB body of %s %s%s" % (BODY_BYTES // MIB, name, what,
                                          ", peak memory within 3 x max_response_bytes"
                                          if MEASURED else ""), detail)


def valid_body_case(sandbox, env):
    """The vendor's own shape, 4 MB: accepted, and still within the bound."""
    sandbox.reset()
    sandbox.control("POST", "/_sandbox/faults",
                    {"vendor": "capillary", "kind": "oversized", "bytes": 4 * MIB})
    script = "\n".join([
        ".load " + library(),
        "CREATE VIRTUAL TABLE temp.cap USING capillary_interactions(max_response_bytes=%d);"
        % MAX_RESPONSE_BYTES,
        HWM,
        "SELECT count(*) > 1000 FROM cap('mobile', '919988221100');",
        HWM, ""])
    passed, _, detail = check_bounded("", run(script, env), expect_rows="\n1\n")
    return passed, "a 4 MB body of the vendor's own JSON returns its rows%s" % (
        ", peak memory within 3 x max_response_bytes" if MEASURED else ""), detail


def alpharun_page(cursor):
    return json.dumps({"data": {"customer_interactions": [{"id": "p1"}]}, "next_cursor": cursor})


def cursor_cases(sandbox, env):
    results = []
    sandbox.reset()
    sandbox.control("POST", "/_sandbox/faults",
                    {"vendor": "alpharun", "kind": "body", "body": alpharun_page("c" * MIB)})
    result = run(".load %s\nSELECT interaction_id FROM alpharun_interactions "
                 "WHERE contact_ext_id = 'sample';\n" % library(), env)
    results.append((result.returncode == 1 and "next-page cursor is 1048576 bytes long, more "
                    "than the 65536 accepted" in result.stderr, "a 1 MB cursor fails naming the cursor and its limit",
                    result.stderr))

    sandbox.reset()
    sandbox.control("POST", "/_sandbox/faults", [
        {"vendor": "alpharun", "kind": "body", "body": alpharun_page("c" * 60000), "count": 1},
        {"vendor": "alpharun", "kind": "body", "match": "cursor=ccc",
         "body": alpharun_page(None)}])
    result = run(".load %s\nSELECT interaction_id FROM alpharun_interactions "
                 "WHERE contact_ext_id = 'sample';\n"
                 "SELECT max(length(url)), max(url LIKE '%%more bytes not logged)') "
                 "FROM interactions_requests;\n" % library(), env)
    rows = result.stdout.split()
    longest = rows[-1].split("|") if rows else ["", ""]
    results.append((result.returncode == 0 and rows[:2] == ["p1", "p1"] and longest[1] == "1" and int(longest[0]) < 2200,
                    "a 60 KB cursor works; the request log keeps only the start of its URL",
                    result.stdout + result.stderr))
    return results


def header_cases(sandbox, env):
    results = []
    for size in (70000, MIB):
        sandbox.reset()
        sandbox.control("POST", "/_sandbox/faults", {
            "vendor": "capillary", "kind": "status", "status": 200, "headers": {"X-Big": "a" * size}})
        result = run(".load %s\nSELECT count(*) FROM capillary_interactions('mobile', "
                     "'919988221100');\n" % library(), env)
        passed = (result.returncode == 1 and "a response header line" in result.stderr and "longer than 65536 bytes"
                  in result.stderr and "memory" not in result.stderr)
        results.append((passed, "a %d-byte header line fails naming the header line" % size,
                        result.stderr))
    return results


def main():
    results = []
    with Sandbox() as sandbox:
        env = sandbox_environment(sandbox.url)
        env["INTERACTIONS_STATE_DIR"] = tempfile.mkdtemp(prefix="ix-memory-state-")
        for name, (body, expect_error) in hostile_bodies().items():
            results.append(body_case(sandbox, env, name, body, expect_error))
        results.append(valid_body_case(sandbox, env))
        results += cursor_cases(sandbox, env)
        results += header_cases(sandbox, env)
    return print_tap(results)


if __name__ == "__main__":
    sys.exit(main())

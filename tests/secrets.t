#!/usr/bin/env python3
"""No secret leaks through what a vendor says back. The sandbox's `echo` fault answers like a
careless server: its error body repeats every header it received (a Basic credential decoded, as
in "invalid credentials till.user:<md5>"), and the query, plainly, upper-cased or percent-encoded,
behind 0 to 200 dots so that each secret straddles the client's 200-character cut somewhere; and,
the credential headers and the query first, as hex, as hex pairs joined by ':', as HTML numeric
references (decimal, hex, leading zeros, with and without ';') and in groups of irregular sizes
split by ' ', '-', '.', ':', '_' and line breaks (tests/sandbox/faults.py, echo_text). Every
table of every vendor gets each of those answers with several statuses (401, 400, 404, 500, and
a 200 that is not the vendor's JSON), in the vendor's error format and as plain text.

The secrets and their forms are derived from the extension's own settings (interactions_settings
shows a secret as 'set'), not from a list here: for each secret setting its value, its MD5, its
base64, the Basic base64 of user:value and user:md5 for every other setting of the vendor given
in the environment, and the percent-encoding and the hex of each. No 8-character fragment of any
of them, in any letter case, may appear in stdout, stderr or the interactions_requests rows as
they are, nor in the errors (stderr, the rows' error column) after decoding references and %XX
and removing the separators above (leaks()).
Prints TAP."""
import base64
import hashlib
import html
import os
import re
import shlex
import subprocess
import sys
import tempfile
from urllib.parse import quote, unquote

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from sandbox_process import Sandbox, library, print_tap, with_preload  # noqa: E402
from cases_env import REGISTRY, sandbox_environment  # noqa: E402
from vendors.base import from_table  # noqa: E402  (tests/sandbox/, on the path from cases_env)

FRAGMENT = 8
# (vendor, statement): one statement per table that sends a request, as each vendor module
# declares them (REGISTRATION.secrets_queries; tests/registry.t checks there is one per table).
QUERIES = [(r.name, query) for r in REGISTRY.REGISTRATIONS for query in r.secrets_queries]
# Hostile values for every secret setting: long, mixed case, with characters percent-encoding
# changes (no & < > " ': the sandbox's XML errors would escape them, a form not tested here).
SECRET_ALPHABET = "Kq7/Zp+Wm=Ns%Xv Bt3#Rg9@Hc;Ld$Jf"


def hostile_value(variable):
    digest = hashlib.sha256(variable.encode()).digest()
    return "".join(SECRET_ALPHABET[b % len(SECRET_ALPHABET)] for b in digest[:24])


def sqlite_command():
    return shlex.split(os.environ.get("IX_SQLITE3_WRAPPER", "")) + [
        os.environ.get("IX_SQLITE3", "sqlite3"), "-batch", ":memory:"]


def child_env(base):
    env = dict(base)
    with_preload(env)
    return env


def settings(env):
    """(vendor, key, value shown, variable) of every setting, as the extension reports them."""
    script = ".load %s\n.mode tabs\nSELECT vendor, key, value, source FROM interactions_settings;\n" % (
        library())
    result = subprocess.run(sqlite_command(), input=script, capture_output=True, text=True,
                            env=child_env(env), timeout=300)
    rows = []
    for line in result.stdout.splitlines():
        vendor, key, value, source = (line.split("\t") + ["", "", "", ""])[:4]
        rows.append((vendor, key, value, source))
    return rows


def secret_forms(env, rows):
    """vendor -> {form name: (text, first secret character)} for every secret setting that has a
    value in env. The base64 of "user:secret" starts with characters that encode only the user
    name, which is no secret: fragments are looked for from the first one the secret decides."""
    forms = {}
    for vendor, key, _, _ in [r for r in rows if r[2] in ("set", "unset")]:
        variable = "%s_%s" % (vendor.upper(), key.upper())
        value = env.get(variable)
        if not value:
            continue
        md5 = hashlib.md5(value.encode()).hexdigest()
        named = {variable: (value, 0), "md5(%s)" % variable: (md5, 0),
                 "base64(%s)" % variable: (base64.b64encode(value.encode()).decode(), 0)}
        for other_vendor, other_key, shown, source in rows:
            if other_vendor != vendor or shown in ("set", "unset") or not source.startswith("env "):
                continue
            user = env.get(source[4:], "")
            user_only = (len(user.encode()) + 1) // 3 * 4
            named["basic(%s:%s)" % (other_key, variable)] = (base64.b64encode(
                ("%s:%s" % (user, value)).encode()).decode(), user_only)
            named["basic(%s:md5)" % other_key] = (base64.b64encode(
                ("%s:%s" % (user, md5)).encode()).decode(), user_only)
        for name, (text, secret_from) in list(named.items()):
            named["percent(%s)" % name] = (quote(text, safe=""),
                                           len(quote(text[:secret_from], safe="")))
            named["hex(%s)" % name] = (text.encode().hex(), 2 * len(text[:secret_from].encode()))
        forms.setdefault(vendor, {}).update(named)
    return forms


# What a grouping inserts between the characters of a value.
SEPARATORS = re.compile(r"[ \t\r\n.:_-]")


def decoded(output):
    """output with HTML references (twice: '&amp;#72;') and %XX decoded, and without separators,
    so that a form echoed as references or in groups reads as the form without separators."""
    return SEPARATORS.sub("", unquote(html.unescape(html.unescape(output))))


ERRORS_LOGGED = "-- the errors logged --"


def leaks(output, forms, vendor_text):
    """(form name, fragment) for every 8-character fragment of a form found in output as it is,
    or in vendor_text (the errors: where a vendor's words go) decoded, the fragment without
    separators. Only there: decoded, our own numbers run together (a time 16:25:40.087 reads
    162540087) and would match the hex of some form by chance."""
    haystacks = (output.lower(), decoded(vendor_text).lower())
    found = []
    for name, (text, secret_from) in forms.items():
        text = text.lower()
        for start in range(max(0, secret_from - FRAGMENT + 1), max(0, len(text) - FRAGMENT) + 1):
            fragment = text[start:start + FRAGMENT]
            stripped = SEPARATORS.sub("", text[start:])[:FRAGMENT]
            if len(fragment) == FRAGMENT and fragment in haystacks[0] or (
                    len(stripped) == FRAGMENT and stripped in haystacks[1]):
                found.append((name, fragment))
                break
    return found


def echo_faults(vendor):
    """The answers one table gets, in order: one statement each."""
    faults = []
    for form in ("plain", "upper", "percent"):
        for pad in range(0, 208, 7):
            faults.append({"status": 401, "form": form, "pad": pad, "format": "vendor"})
        for status in (400, 403, 404, 500, 200):
            for output_format in ("vendor", "text"):
                for pad in (0, 120, 180):
                    faults.append({"status": status, "form": form, "pad": pad,
                                   "format": output_format})
    # The encoded forms are longer: fewer offsets, each status and format once.
    for form in ("hex", "hex_pairs", "references", "groups"):
        for pad in range(0, 208, 26):
            faults.append({"status": 401, "form": form, "pad": pad, "format": "vendor"})
        for status in (400, 403, 404, 500, 200):
            for output_format in ("vendor", "text"):
                faults.append({"status": status, "form": form, "pad": 60, "format": output_format})
    return [dict(fault, vendor=vendor, kind="echo") for fault in faults]


def run_table(sandbox, env, vendor, query):
    faults = echo_faults(vendor)
    sandbox.reset()
    sandbox.control("POST", "/_sandbox/faults", faults)
    table = from_table(query)
    lines = [".load " + library(), ".mode list"]
    # Retries and the cache would spend or skip an answer meant for the next statement.
    lines.append("CREATE VIRTUAL TABLE temp.t USING %s(max_retries=0, cache_ttl=0, rate_limit='100000/1s');" % table)
    statement = query.replace(table, "t", 1)
    lines += [statement] * len(faults)
    lines.append("SELECT * FROM interactions_requests;")
    # The texts a vendor's words can reach, for the decoded reading of leaks().
    lines += [".print %s" % ERRORS_LOGGED,
              "SELECT error FROM interactions_requests WHERE coalesce(error, '') <> '';"]
    result = subprocess.run(sqlite_command(), input="\n".join(lines) + "\n", capture_output=True,
                            text=True, env=child_env(env), timeout=600, cwd=tempfile.gettempdir())
    left = sandbox.control("GET", "/_sandbox/faults")
    return result, len(faults), left


def main():
    results = []
    with Sandbox() as sandbox:
        base = sandbox_environment(sandbox.url)
        rows = settings(base)
        # limiter_url is shown as set or unset for the password it may carry, but goes to Redis,
        # never to a vendor (tests/limiter_redis.t checks that password).
        secret_variables = ["%s_%s" % (v.upper(), k.upper()) for v, k, shown, _ in rows
                            if shown in ("set", "unset") and k != "limiter_url"]
        # Every secret set (tokens win where a vendor has one), then without the token settings
        # so the password forms travel.
        everything = dict(base, **{name: hostile_value(name) for name in secret_variables})
        # A secret exchanged for a token (X_SECRET) works only with its key (X_KEY), which may not be
        # a secret itself: give it one, so the exchange travels too.
        exchanged = {name: name[: -len("SECRET")] + "KEY" for name in secret_variables
                     if name.endswith("_SECRET")}
        for key in exchanged.values():
            everything.setdefault(key, hostile_value(key))
        without_tokens = {k: v for k, v in everything.items()
                          if not (k in secret_variables and "TOKEN" in k and "API_TOKEN" not in k)
                          and k not in exchanged and k not in exchanged.values()}
        for mode, env in (("every secret set", everything), ("passwords, no tokens", without_tokens)):
            env = dict(env)
            env["INTERACTIONS_STATE_DIR"] = tempfile.mkdtemp(prefix="ix-secrets-state-")
            forms = secret_forms(env, settings(env))
            for vendor, query in QUERIES:
                result, sent, left = run_table(sandbox, env, vendor, query)
                output = result.stdout + "\n" + result.stderr
                vendor_text = result.stdout.partition(ERRORS_LOGGED)[2] + "\n" + result.stderr
                found = leaks(output, forms.get(vendor, {}), vendor_text)
                errors = len(re.findall(r"^(?:Parse error|Runtime error|Error)", result.stderr,
                                        re.M))
                name = "%s (%s): %d echoing answers, no fragment of any of %d secret forms" % (
                    from_table(query), mode, sent, len(forms.get(vendor, {})))
                detail = "\n".join("%s: %r" % leak for leak in found[:20])
                detail += "\nexit status %d" % result.returncode
                detail += "\nfaults left unused: %d; errors reported: %d\nstderr head:\n%s" % (
                    len(left), errors, "\n".join(result.stderr.splitlines()[:5]))
                # Exit status 1: statements failed, as they should (not a crash, not valgrind's 97).
                passed = (not found and not left and len(forms.get(vendor, {})) > 0
                          and result.returncode == 1)
                results.append((passed, name, detail))
    return print_tap(results)


if __name__ == "__main__":
    sys.exit(main())

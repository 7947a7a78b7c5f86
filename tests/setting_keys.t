#!/usr/bin/env python3
"""Every setting the C sources name by its key exists (issue 14). A misspelt key would read as unset
in a release build: Capillary's "oauth_kye" would make every query say the key is missing. So every
string key passed to config_get, config_get_int or config_origin, and every token exchange's
key_setting and secret_setting, is checked against the settings interactions_settings lists: in
ext/providers/<vendor>.c against that vendor's settings, elsewhere in ext/ against the settings every
vendor has. And the engine's own settings are read from their typed fields (config_engine), never by
key: a config_get or config_get_int of a common setting outside config.c fails here. Prints TAP."""
import glob
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from cases_env import VENDOR_PREFIXES, private_state_dir  # noqa: E402
from sandbox_process import library, print_tap, run_sqlite  # noqa: E402

LOOKUP = re.compile(r"\bconfig_(get|get_int|origin)\s*\(")
DESCRIPTOR_KEY = re.compile(r"\.(key_setting|secret_setting)\s*=\s*\"([^\"]*)\"")
STRING = re.compile(r"\"((?:[^\"\\]|\\.)*)\"")


def settings_by_vendor():
    """{vendor: set of keys} from interactions_settings, with no vendor variable set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(VENDOR_PREFIXES)}
    env["INTERACTIONS_STATE_DIR"] = private_state_dir()
    run = run_sqlite(f".load {library()}\n.mode tabs\n"
                     "SELECT vendor, key FROM interactions_settings WHERE source <> 'derived';\n",
                     env)
    keys = {}
    for line in run.stdout.splitlines():
        vendor, key = (line.split("\t") + [""])[:2]
        if vendor != "interactions":
            keys.setdefault(vendor, set()).add(key)
    return keys, run


def call_arguments(text, start):
    """The text between the parenthesis at start - 1 and its match."""
    depth, i = 1, start
    while i < len(text) and depth:
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        i += 1
    return text[start:i - 1]


def named_keys(text):
    """[(function, key, line)] for every string key the file passes to a lookup."""
    found = []
    for match in LOOKUP.finditer(text):
        arguments = call_arguments(text, match.end())
        rest = arguments.split(",", 1)[1] if "," in arguments else ""
        line = text.count("\n", 0, match.start()) + 1
        for key in STRING.findall(rest):
            found.append((f"config_{match.group(1)}", key, line))
    for match in DESCRIPTOR_KEY.finditer(text):
        found.append((f".{match.group(1)}", match.group(2), text.count("\n", 0, match.start()) + 1))
    return found


def main():
    results = []
    keys, run = settings_by_vendor()
    results.append((run.returncode == 0 and keys, "interactions_settings lists the vendors' settings",
                    run.stderr))
    if not keys:
        return print_tap(results)
    common = set.intersection(*keys.values())
    sources = sorted(glob.glob(os.path.join(ROOT, "ext", "**", "*.c"), recursive=True))
    total, by_key = 0, []
    for path in sources:
        name = os.path.relpath(path, ROOT)
        if name == "ext/settings/config.c":
            continue
        with open(path, encoding="utf-8") as source:
            text = source.read()
        vendor = re.search(r"\.vendor\s*=\s*\"([^\"]+)\"", text)
        if "/providers/" in name and not vendor:
            results.append((False, f"{name}: names its vendor (.vendor = \"...\")", ""))
            continue
        allowed = keys.get(vendor.group(1), set()) if vendor and "/providers/" in name else common
        where = f"{vendor.group(1)}'s settings" if "/providers/" in name else "the common settings"
        found = named_keys(text)
        total += len(found)
        unknown = [f"line {line}: {function}(..., \"{key}\") is not one of {where}"
                   for function, key, line in found if key not in allowed]
        if found:
            results.append((not unknown, f"{name}: every key it names is one of {where} ({len(found)} named)",
                            "\n".join(unknown) + f"\n{where}: {', '.join(sorted(allowed))}"))
        by_key += [f"{name} line {line}: {function}(..., \"{key}\"): read "
                   f"config_engine(config)->{key}" for function, key, line in found
                   if key in common and function in ("config_get", "config_get_int")]
    results.append((not by_key, "no common setting is read by key outside config.c",
                    "\n".join(by_key)))
    results.append((total > 50, f"the scan found the keys the sources name ({total})", ""))
    return print_tap(results)


if __name__ == "__main__":
    sys.exit(main())

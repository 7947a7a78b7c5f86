"""The environment every test gives sqlite3: the caller's, without any real vendor settings, plus
examples/sandbox.env pointed at a running sandbox. The vendors (their prefixes, their secrets) come
from the sandbox's registry, tests/sandbox/vendors/."""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "sandbox"))
sys.dont_write_bytecode = True  # keep tests/sandbox/ free of __pycache__ litter
import vendors  # noqa: E402
from sandbox_process import private_state_dir  # noqa: E402  (tests/, first on the caller's path)

REGISTRY = vendors
# Every vendor's variables, and the process-wide INTERACTIONS_* switches (the state directory too).
VENDOR_PREFIXES = vendors.env_prefixes() + ("INTERACTIONS_",)


def sandbox_env_file(sandbox_url):
    """The variables examples/sandbox.env exports, with the sandbox's URL filled in."""
    values = {}
    with open(os.path.join(ROOT, "examples", "sandbox.env"), encoding="utf-8") as handle:
        for line in handle:
            match = re.match(r'^\s*export\s+([A-Z0-9_]+)=["\']?(.*?)["\']?\s*$', line)
            if match:
                values[match.group(1)] = match.group(2).replace("${SANDBOX_URL}", sandbox_url)
    return values


def sandbox_environment(sandbox_url):
    env = {k: v for k, v in os.environ.items() if not k.startswith(VENDOR_PREFIXES)}
    env.update(sandbox_env_file(sandbox_url))
    env["INTERACTIONS_STATE_DIR"] = private_state_dir()
    return env

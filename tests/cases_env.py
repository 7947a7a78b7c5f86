"""The environment every test gives sqlite3: the caller's, without any real vendor settings, plus
examples/sandbox.env pointed at a running sandbox."""
import os
import re
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENDOR_PREFIXES = ("CAPILLARY_", "OPTIMOVE_", "CXENGAGE_", "ALPHARUN_", "WHICH50_", "INTERACTIONS_")


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
    # Rate-limit state of tests never goes to the user's own runtime directory.
    env["INTERACTIONS_STATE_DIR"] = os.environ.get("INTERACTIONS_STATE_DIR") or tempfile.mkdtemp(
        prefix="ix-state-")
    return env

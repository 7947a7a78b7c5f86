#!/usr/bin/env python3
"""A second, independent rate limiter that no one here wrote: nginx's limit_req in front of the
sandbox, stricter than the table's own rate_limit, so 429s really happen. The query must still
return every row, exactly once, and nginx must have refused some requests. Prints TAP."""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from sandbox_process import Sandbox, library, print_tap, run_sqlite  # noqa: E402

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
CONFIG = """
worker_processes 1;
error_log {dir}/error.log warn;
pid {dir}/nginx.pid;
events {{ worker_connections 64; }}
http {{
  access_log {dir}/access.log;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  # A leaky bucket of 4 requests/s with a burst of 2: far stricter than the table's 50/1s.
  limit_req_zone $binary_remote_addr zone=api:1m rate=4r/s;
  server {{
    listen 127.0.0.1:{port};
    location / {{
      limit_req zone=api burst=2 nodelay;
      limit_req_status 429;
      proxy_pass {upstream};
    }}
  }}
}}
"""


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def sqlite(env, sql):
    return run_sqlite(f".load {library()}\n{sql}\n", env)


def main():
    tests = []
    mobiles = ["447824371047", "61418086042", "61450880111", "16195550109", "447985968284",
               "919988221100", "917385022695", "15125550117", "447700900001", "61411111111",
               "447880810456", "61434810736"]
    crm = "CREATE TABLE crm(mobile TEXT);\n" + "".join(f"INSERT INTO crm VALUES ('{m}');\n" for m in mobiles)
    query = ("SELECT crm.mobile, count(ci.message_id), count(*) FROM crm "
             "JOIN {table} ci ON ci.mobile = crm.mobile GROUP BY crm.mobile ORDER BY crm.mobile;")
    with Sandbox() as sandbox, tempfile.TemporaryDirectory() as work:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CAPILLARY_")}
        env.update(CAPILLARY_USERNAME="sandbox.till", CAPILLARY_PASSWORD="sandbox-pass",
                   CAPILLARY_BASE_URL=sandbox.url + "/capillary", INTERACTIONS_QUIET="1")
        direct = sqlite(env, crm + query.format(table="capillary_interactions"))
        tests.append((direct.returncode == 0 and direct.stdout.count("\n") == 9,
                      "the same join straight to the sandbox: 9 of the 12 customers are known", direct.stderr))

        port = free_port()
        with open(os.path.join(work, "nginx.conf"), "w") as conf:
            conf.write(CONFIG.format(dir=work, port=port, upstream=sandbox.url))
        nginx = subprocess.Popen([NGINX, "-p", work, "-c", os.path.join(work, "nginx.conf"),
                                  "-g", "daemon off;"], stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.05)
            sandbox.reset()
            env["CAPILLARY_BASE_URL"] = f"http://127.0.0.1:{port}/capillary"
            through = sqlite(env, crm + "CREATE VIRTUAL TABLE temp.cap USING capillary_interactions("
                             "rate_limit='50/1s', retry_base_ms=300, max_retries=8);\n" +
                             query.format(table="cap"))
        finally:
            nginx.terminate()
            nginx.wait(timeout=10)
        tests.append((through.returncode == 0, "the join through nginx succeeds", through.stderr))
        tests.append((through.stdout == direct.stdout, "every row, exactly once, as without nginx",
                      f"direct:\n{direct.stdout}\nthrough nginx:\n{through.stdout}"))
        with open(os.path.join(work, "access.log")) as log:
            statuses = re.findall(r'" (\d{3}) ', log.read())
        refused = statuses.count("429")
        tests.append((refused >= 1, f"nginx refused {refused} requests with 429", " ".join(statuses)))
        forwarded = [r for r in sandbox.log() if r["vendor"] == "capillary"]
        tests.append((len(forwarded) == len(mobiles),
                      f"the sandbox saw each customer once ({len(forwarded)} requests)", ""))
    return print_tap(tests)


if __name__ == "__main__":
    sys.exit(main())

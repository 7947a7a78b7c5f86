"""Stopping a long statement from Python: connection.interrupt().

    SANDBOX_URL=http://127.0.0.1:8765 . examples/sandbox.env
    /usr/bin/python3 examples/python_interrupt.py [--limit SECONDS] [path/to/interactions]

Ctrl-C in the sqlite3 shell stops a statement within a tenth of a second. In Python it does not by
itself: Python runs its signal handler (the KeyboardInterrupt) only when the C call returns, and a
statement waiting for a vendor's rate limit may not return for minutes. What stops it is
connection.interrupt(), called from another thread while the statement runs. The recipe: run the
statement in a worker thread, and let the main thread, which receives Ctrl-C, call interrupt();
a timer calling interrupt() puts a time limit on a statement the same way. The connection stays
usable afterwards.

The statement here waits on purpose: a table limited to one request per 300 s, joined with two
customers, so the second customer's request waits 300 s for the limit.
"""
import sqlite3
import sys
import threading


def run_interruptible(connection, sql, limit=None):
    """Runs sql in a worker thread; Ctrl-C, or `limit` seconds, calls connection.interrupt()."""
    result = {}
    done = threading.Event()

    def work():
        try:
            result["rows"] = connection.execute(sql).fetchall()
        except sqlite3.Error as error:
            result["error"] = error
        finally:
            done.set()

    threading.Thread(target=work, daemon=True).start()
    timer = threading.Timer(limit, connection.interrupt) if limit else None
    if timer:
        timer.start()
    try:
        while not done.wait(0.1):  # the main thread stays in Python, where Ctrl-C arrives
            pass
    except KeyboardInterrupt:
        connection.interrupt()
        done.wait()
    finally:
        if timer:
            timer.cancel()
    if "error" in result:
        raise result["error"]
    return result["rows"]


def main(argv):
    limit = None
    if argv[:1] == ["--limit"]:
        limit, argv = float(argv[1]), argv[2:]
    library = argv[0] if argv else "build/interactions"
    # check_same_thread=False: the worker thread runs the statement on this connection.
    connection = sqlite3.connect(":memory:", check_same_thread=False)
    connection.enable_load_extension(True)
    connection.load_extension(library)
    connection.enable_load_extension(False)
    connection.execute("CREATE VIRTUAL TABLE temp.slow USING capillary_interactions("
                       "rate_limit = '1/300s')")
    sql = ("SELECT count(*) FROM (SELECT '919988221100' AS m UNION ALL SELECT '447824371047') AS v "
           "JOIN slow ON slow.mobile = v.m")
    print("running (Ctrl-C stops it)", flush=True)
    try:
        print(run_interruptible(connection, sql, limit))
    except sqlite3.OperationalError as error:
        print(f"stopped: {error}")
    print("the connection still works:", connection.execute("SELECT 6 * 7").fetchone()[0])


if __name__ == "__main__":
    main(sys.argv[1:])

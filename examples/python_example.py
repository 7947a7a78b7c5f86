"""sqlite-interactions from Python's standard sqlite3 module.

    SANDBOX_URL=http://127.0.0.1:8765 . examples/sandbox.env
    python3 examples/python_example.py [path/to/interactions]

Loads the extension into a connection, creates the demo CRM table and asks Capillary, through SQL,
for each of the first five customers' message counts. A vendor error arrives as an ordinary
sqlite3.OperationalError whose message starts with the table's name.
"""
import os
import sqlite3
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
library = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "interactions")

connection = sqlite3.connect(":memory:")
connection.enable_load_extension(True)
connection.load_extension(library)
connection.enable_load_extension(False)  # no further extensions can be loaded through SQL

with open(os.path.join(ROOT, "examples", "crm.sql"), encoding="utf-8") as crm:
    connection.executescript(crm.read())

query = """
    SELECT crm.name, count(ci.message_id) AS messages, max(ci.occurred_at) AS latest
    FROM crm JOIN capillary_interactions AS ci ON ci.mobile = crm.mobile
    WHERE crm.id <= 5
    GROUP BY crm.id ORDER BY crm.id
"""
for name, messages, latest in connection.execute(query):
    print(f"{name:<20} {messages:>4} messages, latest {latest}")

try:
    connection.execute("SELECT * FROM capillary_interactions").fetchall()
except sqlite3.OperationalError as error:
    print(f"error: {error}")

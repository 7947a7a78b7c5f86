#!/bin/sh
# sqlite-interactions from sqlite-utils (Debian: apt-get install sqlite-utils).
#
#   SANDBOX_URL=http://127.0.0.1:8765 . examples/sandbox.env
#   examples/sqlite_utils_example.sh [path/to/interactions] [directory for crm.db]
#
# Every sqlite-utils command that opens a database takes --load-extension with the library's path.
# The example builds the demo CRM database (your own CRM file takes its place), joins it to
# Capillary, prints a contact's Which50 history as JSON, keeps a copy of vendor rows in a local
# table (a plain table in the file, which later queries read without any request), and shows that a
# vendor error is an ordinary error with exit status 1.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
LIBRARY=${1:-$ROOT/build/interactions}
WORK=${2:-$(mktemp -d)}
mkdir -p "$WORK"
DB=$WORK/crm.db

rm -f "$DB"
sqlite3 "$DB" <"$ROOT/examples/crm.sql"

echo "-- messages per customer (JOIN of the CRM table and capillary_interactions)"
sqlite-utils query "$DB" --load-extension "$LIBRARY" --table --fmt psql "
  SELECT crm.name, count(ci.message_id) AS messages, max(ci.occurred_at) AS latest
  FROM crm JOIN capillary_interactions AS ci ON ci.mobile = crm.mobile
  WHERE crm.id <= 3 GROUP BY crm.id ORDER BY crm.id"

echo "-- one contact's Which50 history, as JSON"
sqlite-utils query "$DB" --load-extension "$LIBRARY" "
  SELECT occurred_at, channel, status FROM which50_interactions
  WHERE contact_id = 'zVCvT20YU6S747BYwrV60W5vRioi4KV/U+hloX2vD74=' ORDER BY occurred_at LIMIT 3"

echo "-- a local copy: a plain table that later queries read without any request"
sqlite-utils query "$DB" --load-extension "$LIBRARY" "
  CREATE TABLE which50_history AS
  SELECT crm.id AS crm_id, w.occurred_at, w.channel, w.status
  FROM crm JOIN which50_interactions AS w ON w.contact_id = crm.which50_contact_id
  WHERE crm.id <= 3"
sqlite-utils query "$DB" --csv \
  "SELECT crm_id, count(*) AS communications FROM which50_history GROUP BY crm_id ORDER BY crm_id"

echo "-- a vendor error"
if sqlite-utils query "$DB" --load-extension "$LIBRARY" \
  "SELECT * FROM capillary_interactions" 2>"$WORK/error.txt"; then
  echo "expected an error" >&2
  exit 1
fi
sed -n 's/^Error: //p' "$WORK/error.txt"

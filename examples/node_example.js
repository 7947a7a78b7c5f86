// sqlite-interactions from Node.js with better-sqlite3 (npm install better-sqlite3@12).
//
//   SANDBOX_URL=http://127.0.0.1:8765 . examples/sandbox.env
//   node examples/node_example.js [path/to/interactions]
//
// better-sqlite3 brings its own SQLite and loads extensions with db.loadExtension(path). The
// example creates the demo CRM table, asks Capillary for five customers at once with the IN form
// (fetched concurrently), runs a prepared statement with a parameter, reads rows lazily with
// iterate(), and shows that a vendor error is an ordinary SqliteError whose message starts with
// the table's name.
'use strict';
const fs = require('fs');
const path = require('path');
const Database = require('better-sqlite3');

const root = path.join(__dirname, '..');
const library = process.argv[2] || path.join(root, 'build', 'interactions');

const db = new Database(':memory:');
db.loadExtension(library);
db.exec(fs.readFileSync(path.join(root, 'examples', 'crm.sql'), 'utf8'));

// The IN form hands the whole list to the extension at once: up to max_concurrency requests in
// flight, where a JOIN would ask for one customer at a time.
const perCustomer = db.prepare(`
  SELECT ci.mobile, count(ci.message_id) AS messages, max(ci.occurred_at) AS latest
  FROM capillary_interactions AS ci
  WHERE ci.mobile IN (SELECT mobile FROM crm WHERE id <= 5)
  GROUP BY ci.mobile ORDER BY ci.mobile`);
for (const row of perCustomer.all()) {
  console.log(`${row.mobile.padEnd(14)} ${String(row.messages).padStart(4)} messages, latest ${row.latest}`);
}

// A prepared statement with a parameter: one customer's history, newest first.
const history = db.prepare(`
  SELECT occurred_at, channel, status FROM which50_interactions
  WHERE contact_id = ? ORDER BY occurred_at DESC LIMIT 2`);
for (const row of history.iterate('zVCvT20YU6S747BYwrV60W5vRioi4KV/U+hloX2vD74=')) {
  console.log(`${row.occurred_at} ${row.channel} ${row.status}`);
}

const count = db.prepare('SELECT count(*) AS n FROM interactions_requests WHERE from_cache = 0').get();
console.log(`${count.n} requests`);

try {
  db.prepare('SELECT * FROM capillary_interactions').all();
} catch (error) {
  console.log(`${error.code}: ${error.message}`);
}
db.close();

-- customer_timeline: one timeline of every vendor's interactions per customer of a local CRM table.
--
--   .load interactions
--   .read examples/crm.sql          -- or your own crm table with these identifier columns
--   .read sql/timeline.sql
--   SELECT * FROM customer_timeline WHERE customer = 42 ORDER BY occurred_at;
--
-- It is a TEMP view because the vendor tables refuse to be used from anything stored in a database
-- file (a file you open must not make network calls with your credentials). SQLite pushes
-- `customer = 42` into each arm, so that query asks each vendor once, for that customer only.
-- Optimove requires a start date; the view asks for the last three years. Alpharun has no subject:
-- its summary stands in.
--
-- Columns: customer (crm.id), vendor, occurred_at (UTC), channel, status, subject, campaign_id, raw.
CREATE TEMP VIEW IF NOT EXISTS customer_timeline AS
SELECT crm.id AS customer, 'capillary' AS vendor, c.occurred_at, c.channel, c.status, c.subject,
       c.campaign_id, c.raw
FROM crm JOIN capillary_interactions AS c ON c.mobile = crm.mobile
UNION ALL
SELECT crm.id, 'optimove', o.occurred_at, o.channel, o.status, o.subject, o.campaign_id, o.raw
FROM crm JOIN optimove_interactions AS o
  ON o.customer_id = crm.optimove_id AND o.occurred_at >= date('now', '-3 years')
UNION ALL
SELECT crm.id, 'cxengage', x.occurred_at, x.channel, x.status, x.subject, x.campaign_id, x.raw
FROM crm JOIN cxengage_interactions AS x ON x.contact_id = crm.cxengage_contact_id
UNION ALL
SELECT crm.id, 'alpharun', a.occurred_at, a.channel, a.status, coalesce(a.subject, a.summary),
       a.campaign_id, a.raw
FROM crm JOIN alpharun_interactions AS a ON a.contact_id = crm.alpharun_contact_id
UNION ALL
SELECT crm.id, 'which50', w.occurred_at, w.channel, w.status, w.subject, w.campaign_id, w.raw
FROM crm JOIN which50_interactions AS w ON w.contact_id = crm.which50_contact_id;

-- sqlite-interactions demo: a local CRM table (examples/crm.sql) joined with the interaction history
-- Capillary holds for each customer, then one customer's timeline across all five platforms
-- (the customer_timeline view from sql/timeline.sql, read before this file). `make demo` runs it against the sandbox; the same SQL runs
-- against the real API once CAPILLARY_BASE_URL and the credentials are set.
.headers on
.mode box

.print
.print 1. Our ten most valuable customers, and the last message each one received
SELECT crm.name, crm.segment, ci.channel, ci.subject, ci.status,
       max(ci.occurred_at) AS last_message_at
FROM (SELECT * FROM crm ORDER BY lifetime_value DESC LIMIT 10) AS crm
JOIN capillary_interactions AS ci ON ci.mobile = crm.mobile
GROUP BY crm.id
ORDER BY crm.lifetime_value DESC;

.print
.print 2. Delivery failures by channel, across the first 40 customers (IN: asked for 16 at a time)
SELECT ci.channel,
       count(*) AS messages,
       count(*) FILTER (WHERE ci.status IN ('FAILED', 'NOT-DELIVERED', 'SOFT_BOUNCED',
                                            'GTW_NOT_FOUND')) AS failed,
       printf('%.1f%%', 100.0 * count(*) FILTER (WHERE ci.status IN ('FAILED', 'NOT-DELIVERED',
                                   'SOFT_BOUNCED', 'GTW_NOT_FOUND')) / count(*)) AS failure_rate
FROM capillary_interactions AS ci
WHERE ci.mobile IN (SELECT mobile FROM crm WHERE id <= 40)
GROUP BY ci.channel
ORDER BY failed DESC;

.print
.print 3. VIP customers Capillary has no record of (one request each; NOT EXISTS stops at a first row)
SELECT crm.id, crm.name, crm.mobile
FROM crm
WHERE crm.segment = 'vip'
  AND NOT EXISTS (SELECT 1 FROM capillary_interactions AS ci WHERE ci.mobile = crm.mobile);

.print
.print 4. One customer's interaction counts by type (capillary_interaction_summary)
SELECT s.channel, s.count, s.last_interaction_at
FROM crm JOIN capillary_interaction_summary AS s ON s.mobile = crm.mobile
WHERE crm.id = 1 AND s.count > 0;

.print
.print 5. One customer across all five platforms: the latest touches (sql/timeline.sql)
SELECT occurred_at, vendor, channel, status, substr(subject, 1, 50) AS subject
FROM customer_timeline
WHERE customer = 1
ORDER BY occurred_at DESC
LIMIT 12;

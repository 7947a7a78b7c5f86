/*
 * Unit tests for ext/observe/joinsql.c: the column and table a join compared the virtual table's
 * key with, read from the statement's SQL for the IN-form hint (issue 23: the hint named the
 * table's first key, not the one the join used, nor the CRM column to select).
 */
#include "observe/joinsql.h"

#include "tap.h"

static void expect(const char *sql, const char *table, const char *key, const char *column,
                   const char *from, const char *what) {
  joinsql_match match;
  joinsql_find(sql, table, key, &match);
  is_str(match.column, column, "%s: the column", what);
  is_str(match.table, from, "%s: its table", what);
}

int main(void) {
  expect(
      "SELECT count(*) FROM crm JOIN optimove_interactions oi ON oi.customer_id = "
      "crm.optimove_id WHERE crm.id <= 25",
      "optimove_interactions", "customer_id", "optimove_id", "crm", "the README's join");
  expect("SELECT * FROM crm c JOIN capillary_interactions AS ci ON c.external_id = ci.external_id",
         "capillary_interactions", "external_id", "external_id", "crm", "the key on the right");
  expect(
      "SELECT * FROM crm c JOIN capillary_interactions ci ON ci.mobile = c.mobile "
      "JOIN x ON ci.external_id = x.ext",
      "capillary_interactions", "external_id", "ext", "x", "the key the plan used, not the first");
  expect(
      "SELECT * FROM main.crm AS people, alpharun_interactions a "
      "WHERE a.contact_ext_id == people.alpharun_ext_id",
      "alpharun_interactions", "contact_ext_id", "alpharun_ext_id", "crm",
      "a schema, AS, a comma join and ==");
  expect(
      "SELECT * FROM \"my crm\" m JOIN optimove_interactions ON customer_id = m.\"opt id\" "
      "-- customer_id = wrong.one\n",
      "optimove_interactions", "customer_id", "opt id", "my crm",
      "quoted names, a bare key, a comment");
  expect("SELECT * FROM crm JOIN capillary_interactions ci ON ci.mobile = crm.mobile",
         "capillary_interactions", "mobile", "mobile", "crm", "the same column name on both sides");
  expect("SELECT * FROM crm JOIN optimove_interactions oi ON oi.customer_id = 'x' || crm.id",
         "optimove_interactions", "customer_id", "", "", "an expression: nothing");
  expect("SELECT * FROM crm JOIN optimove_interactions USING (customer_id)",
         "optimove_interactions", "customer_id", "", "", "USING: nothing");
  expect(NULL, "optimove_interactions", "customer_id", "", "", "no SQL");
  expect("SELECT 'oi.customer_id = crm.x' FROM optimove_interactions oi", "optimove_interactions",
         "customer_id", "", "", "a string literal is not SQL");
  return done_testing();
}

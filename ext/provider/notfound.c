/*
 * A 404 is "no such customer" only in the shape the vendor documents (issue 19): a gateway's or a
 * framework's stock not-found answer ({"message":"no Route matched with those values"},
 * {"detail":"Not Found"}, {}) comes from a wrong base URL, and reading it as "no rows" turns a
 * report silently empty. And once a customer's first page has arrived, a 404 on a later page is a
 * lost page (an expired cursor), never the end of the history.
 */
#include "provider/notfound.h"

#include <stdio.h>
#include <string.h>

SQLITE_EXTENSION_INIT3

/* Whether the text holds needle, without regard to ASCII case. */
static int notfound_contains_nocase(const char *text, const char *needle) {
  size_t length = strlen(needle);
  for (; *text; text++) {
    if (sqlite3_strnicmp(text, needle, (int)length) == 0) return 1;
  }
  return length == 0;
}

/* Whether value is one of values: a number by its digits, a text holding one of them. */
static int notfound_value_matches(const cJSON *value, const char *const *values) {
  char digits[32];
  const char *text = NULL;
  if (cJSON_IsNumber(value)) {
    snprintf(digits, sizeof(digits), "%.17g", value->valuedouble);
    text = digits;
  } else if (cJSON_IsString(value)) {
    text = value->valuestring;
  }
  for (int i = 0; text && i < IX_NOT_FOUND_VALUES && values[i]; i++) {
    if (cJSON_IsNumber(value) ? strcmp(text, values[i]) == 0
                              : notfound_contains_nocase(text, values[i])) {
      return 1;
    }
  }
  return 0;
}

/* Follows path from node; an array on the way is searched element by element. */
static int notfound_path_matches(const cJSON *node, const char *const *path, int depth,
                                 const char *const *values) {
  if (cJSON_IsArray(node)) {
    for (const cJSON *each = node->child; each; each = each->next) {
      if (notfound_path_matches(each, path, depth, values)) return 1;
    }
    return 0;
  }
  if (depth == IX_NOT_FOUND_PATH || !path[depth]) return notfound_value_matches(node, values);
  if (!cJSON_IsObject(node)) return 0;
  return notfound_path_matches(cJSON_GetObjectItem(node, path[depth]), path, depth + 1, values);
}

int notfound_rule_matches(const ix_not_found_rule *rule, const cJSON *body) {
  for (int m = 0; body && m < IX_NOT_FOUND_MATCHES; m++) {
    if (rule->match[m].path[0] &&
        notfound_path_matches(body, rule->match[m].path, 0, rule->match[m].values)) {
      return 1;
    }
  }
  return 0;
}

/* The first text at one of the rule's paths, for the wrong-setting phrase. */
static const char *notfound_rule_text(const ix_not_found_rule *rule, const cJSON *body) {
  for (int m = 0; body && m < IX_NOT_FOUND_MATCHES && rule->match[m].path[0]; m++) {
    const cJSON *node = body;
    for (int d = 0; node && d < IX_NOT_FOUND_PATH && rule->match[m].path[d]; d++) {
      node = cJSON_IsObject(node) ? cJSON_GetObjectItem(node, rule->match[m].path[d]) : NULL;
    }
    if (cJSON_IsString(node)) return node->valuestring;
  }
  return NULL;
}

int notfound_is_unknown_customer(const ix_call *call, const cJSON *root, char **error_out) {
  const ix_provider *provider = call->provider;
  const ix_not_found_rule *rule = &provider->not_found;
  if (call->page_index > 1) {
    int cursor = provider->paging && strstr(provider->paging, "cursor") != NULL;
    *error_out = ix_errorf(
        "%s: HTTP 404 on page %d of this customer, after its first page arrived: a customer the "
        "API "
        "knows does not vanish mid-history, so the rows so far are not the whole of it%s: run the "
        "statement again",
        call->table_name, call->page_index, cursor ? " (the page's cursor may have expired)" : "");
    return 0;
  }
  if (rule->never) return 0;
  const char *text = notfound_rule_text(rule, root);
  if (rule->setting_phrase && text && notfound_contains_nocase(text, rule->setting_phrase)) {
    int argument = 0; /* the setting is also a table argument (tenant_id) */
    for (int c = 0; c < provider->column_count; c++) {
      if (strcmp(provider->columns[c].name, rule->setting) == 0) argument = 1;
    }
    *error_out = ix_errorf("%s: HTTP 404 (the API said: %.200s): check the %s (%s%s%s%s)",
                           call->table_name, text, rule->setting_phrase,
                           config_origin(call->config, rule->setting), argument ? ", or the " : "",
                           argument ? rule->setting : "", argument ? " argument" : "");
    return 0;
  }
  return notfound_rule_matches(rule, root);
}

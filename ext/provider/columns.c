/*
 * The engine's side of rows: the value xColumn returns for a row's column (an echoed argument, a
 * generic kind, or the provider's callback), each row's members found once for it, and emptying a
 * page and a plan's constraint values between requests. The JSON-to-SQL conversions themselves
 * are the providers' toolkit (rows.c), which the engine uses the same way a provider does.
 */
#include <stdlib.h>
#include <string.h>

#include "provider/columns.h"

#include "json/jsonarena.h"
#include "provider/jsonspan.h"
#include "provider/rows_internal.h"

SQLITE_EXTENSION_INIT3

/* Every member of every row is hashed: its length and a few of its bytes are enough to spread
 * a table's few dozen keys (a collision costs one strcmp more), for less than hashing it whole. */
static uint32_t columns_member_hash(const char *key) {
  size_t length = strlen(key);
  if (length == 0) return 0;
  uint32_t hash = (uint32_t)length * 0x9E3779B1u;
  hash ^= (uint32_t)(unsigned char)key[0] * 0x85EBCA77u;
  hash ^= (uint32_t)(unsigned char)key[length - 1] * 0xC2B2AE3Du;
  hash ^= (uint32_t)(unsigned char)key[length / 2] * 0x27D4EB2Fu;
  return hash ^ (hash >> 15);
}

static void columns_members_index(rows_member_cache *cache, const ix_provider *provider) {
  memset(cache->keys, 0, sizeof(cache->keys));
  for (int c = 0; c < provider->column_count && c < IX_MAX_COLUMNS; c++) {
    const ix_column_def *def = &provider->columns[c];
    for (int k = 0; k < 3 && def->keys[k]; k++) {
      uint32_t hash = columns_member_hash(def->keys[k]);
      unsigned i = hash & (IX_MEMBER_SLOTS - 1);
      while (cache->keys[i].key) i = (i + 1) & (IX_MEMBER_SLOTS - 1);
      cache->keys[i] = (rows_member_key){def->keys[k], hash, (short)c, (short)k};
    }
  }
  cache->provider = provider;
}

static void columns_members_fill(rows_member_cache *cache, const ix_provider *provider,
                                 const cJSON *item) {
  if (cache->provider != provider) columns_members_index(cache, provider);
  short rank[IX_MAX_COLUMNS];
  for (int c = 0; c < IX_MAX_COLUMNS; c++) {
    cache->members[c] = NULL;
    rank[c] = 3;
  }
  if (!cJSON_IsObject(item)) return;
  for (const cJSON *child = item->child; child; child = child->next) {
    if (!child->string) continue;
    uint32_t hash = columns_member_hash(child->string);
    /* Every column naming this key is in the probe run: one key can serve several columns. */
    for (unsigned i = hash & (IX_MEMBER_SLOTS - 1); cache->keys[i].key;
         i = (i + 1) & (IX_MEMBER_SLOTS - 1)) {
      const rows_member_key *slot = &cache->keys[i];
      if (slot->hash == hash && slot->rank < rank[slot->column] &&
          strcmp(slot->key, child->string) == 0) {
        cache->members[slot->column] = child;
        rank[slot->column] = slot->rank;
      }
    }
  }
}

/* The member a generic column reads: ix_json_member(row->item, keys), found once per row. */
static const cJSON *columns_row_member(const ix_call *call, const ix_row *row, int column) {
  const ix_page *page = call->page;
  const char *const *keys = call->provider->columns[column].keys;
  rows_member_cache *cache = page ? rows_page_members(page) : NULL;
  uintptr_t at = (uintptr_t)row, first = cache ? (uintptr_t)page->rows : 0;
  if (!cache || at < first || at >= first + (uintptr_t)page->row_count * sizeof(ix_row)) {
    return ix_json_member(row->item, keys); /* a row that is not the page's (none today) */
  }
  if (cache->item != row->item || !row->item) {
    cache->item = row->item;
    cache->filled = 0;
    return ix_json_member(row->item, keys);
  }
  if (!cache->filled) {
    columns_members_fill(cache, call->provider, row->item);
    cache->filled = 1;
  }
  return cache->members[column];
}

ix_json_arena *columns_page_release_tree(ix_page *page) {
  rows_members_forget(page);
  ix_json_arena *arena = page->arena;
  page->arena = NULL;
  page->root = NULL;
  page->context = NULL;
  page->row_count = 0;
  return arena;
}

void columns_page_reset(ix_page *page) {
  rows_members_forget(page);
  free(page->body); /* http.c and cache.c allocate bodies with malloc */
  page->body = NULL;
  page->body_len = 0;
  jsonarena_free(page->arena);
  page->arena = NULL;
  page->root = NULL;
  page->context = NULL;
  page->row_count = 0;
  sqlite3_free(page->next_token);
  page->next_token = NULL;
}

void columns_args_clear(ix_args *args) {
  for (int i = 0; i < IX_MAX_COLUMNS; i++) {
    sqlite3_value_free(args->eq[i]);
    args->eq[i] = NULL;
  }
  sqlite3_free(args->range_low);
  sqlite3_free(args->range_high);
  sqlite3_free(args->range_low_unusable);
  memset(args, 0, sizeof(*args));
  args->row_hint = -1;
}

/* A vendor time no documented format reads ("2024-02-30T25:61:61+99:00", "not-a-date", 20180820)
 * fails the statement, naming the field and the value (issue 19): as NULL it would pass for "no
 * time", and any date bound would then drop the row silently. Absent, null, "null" and "" are
 * NULL. Returns 1 when the error was set. */
static int columns_time_unreadable(const ix_call *call, const cJSON *member, int column,
                                   sqlite3_context *ctx) {
  if (!member || cJSON_IsNull(member)) return 0;
  char converted[TIMEFMT_MAX];
  if (cJSON_IsString(member)) {
    const char *text = member->valuestring;
    if (!*text || strcmp(text, "null") == 0 ||
        timefmt_to_utc(text, strlen(text), call->zone, converted) > 0) {
      return 0;
    }
  }
  char *value = cJSON_PrintUnformatted(member);
  char *message = sqlite3_mprintf(
      "%s: the vendor's %s is %.80s, which no time format the vendor documents reads, so the "
      "row's %s cannot be known; report it to the vendor",
      call->table_name, member->string ? member->string : "time", value ? value : "?",
      call->provider->columns[column].name);
  cJSON_free(value);
  if (message) {
    sqlite3_result_error(ctx, message, -1);
  } else {
    sqlite3_result_error_nomem(ctx);
  }
  sqlite3_free(message);
  return 1;
}

void columns_row_value(const ix_call *call, const ix_row *row, int column, sqlite3_context *ctx) {
  const ix_provider *provider = call->provider;
  const ix_column_def *def = &provider->columns[column];
  sqlite3_value *given = call->args->eq[column];
  if (given && (def->flags & IX_COL_EXACT)) {
    /* Echo the value the API was asked for, as text for TEXT columns: SQLite's re-check (or the
     * user) sees exactly what was sent. */
    if (strcmp(def->decl_type, "TEXT") == 0) {
      sqlite3_result_text(ctx, (const char *)sqlite3_value_text(given), -1, SQLITE_TRANSIENT);
    } else {
      sqlite3_result_value(ctx, given);
    }
    return;
  }
  switch (def->kind) {
    case IX_VALUE_CUSTOM: provider->column(call, row, column, ctx); break;
    case IX_VALUE_RAW: {
      const char *raw;
      size_t length;
      if (jsonspan_row_raw(call->page, row, &raw, &length)) {
        sqlite3_result_text64(ctx, raw, length, SQLITE_TRANSIENT, SQLITE_UTF8);
        sqlite3_result_subtype(ctx, IX_JSON_SUBTYPE);
      } else {
        ix_result_json(ctx, row->item, IX_VALUE_RAW, call->zone);
      }
      break;
    }
    case IX_VALUE_NONE:
      /* Argument columns without a per-row value: the provider may still know one. */
      if (provider->column) {
        provider->column(call, row, column, ctx);
      } else {
        sqlite3_result_null(ctx);
      }
      break;
    default: {
      const cJSON *member = columns_row_member(call, row, column);
      if (def->kind == IX_VALUE_TIME && columns_time_unreadable(call, member, column, ctx)) break;
      ix_result_json(ctx, member, def->kind, call->zone);
      break;
    }
  }
}

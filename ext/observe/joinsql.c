/*
 * A join's compared column, from its SQL text (joinsql.h).
 *
 * How it works
 *   The text is cut into tokens (names, bare or quoted; '.', '=', ',' and anything else), comments
 *   and string literals skipped. Then three passes: the names the virtual table goes by (its own,
 *   and the alias after it: `optimove_interactions oi`, `... AS oi`); the first equality whose one
 *   side is the key (bare, or qualified by one of those names) and whose other side is a column
 *   qualified by another name; and the table that other name stands for in a FROM or JOIN.
 */
#include "observe/joinsql.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define JOINSQL_MAX_TOKENS 2048
#define JOINSQL_MAX_ALIASES 8

typedef enum joinsql_kind { JT_NAME, JT_DOT, JT_EQ, JT_COMMA, JT_OTHER } joinsql_kind;

typedef struct joinsql_token {
  joinsql_kind kind;
  int quoted;
  const char *start;
  int length;
} joinsql_token;

typedef struct joinsql_tokens {
  joinsql_token items[JOINSQL_MAX_TOKENS];
  int count;
} joinsql_tokens;

/* Words that follow a table where an alias could stand: never an alias. */
static const char *const joinsql_keywords[] = {
    "AS",     "ON",        "USING",  "WHERE",   "JOIN",      "INNER", "LEFT",  "RIGHT",
    "FULL",   "CROSS",     "OUTER",  "NATURAL", "GROUP",     "ORDER", "LIMIT", "UNION",
    "EXCEPT", "INTERSECT", "WINDOW", "HAVING",  "INDEXED",   "NOT",   "FROM",  "SELECT",
    "AND",    "OR",        "SET",    "VALUES",  "RETURNING", NULL};

/* Skips what holds no token (space, comments); returns where the next token starts. */
static const char *joinsql_skip(const char *p) {
  for (;;) {
    while (isspace((unsigned char)*p)) p++;
    if (p[0] == '-' && p[1] == '-') {
      while (*p && *p != '\n') p++;
    } else if (p[0] == '/' && p[1] == '*') {
      const char *end = strstr(p + 2, "*/");
      p = end ? end + 2 : p + strlen(p);
    } else {
      return p;
    }
  }
}

/* One token at p; returns where the next begins. */
static const char *joinsql_token_at(const char *p, joinsql_token *token) {
  const char *close = *p == '"' ? "\"" : *p == '`' ? "`" : *p == '[' ? "]" : *p == '\'' ? "'" : 0;
  token->quoted = 0;
  if (close) {
    const char *end = strchr(p + 1, close[0]);
    if (!end) end = p + strlen(p);
    token->kind = *p == '\'' ? JT_OTHER : JT_NAME; /* a string literal is no name */
    token->quoted = 1;
    token->start = p + 1;
    token->length = (int)(end - p - 1);
    return *end ? end + 1 : end;
  }
  token->start = p;
  if (isalpha((unsigned char)*p) || *p == '_' || (unsigned char)*p >= 0x80) {
    const char *end = p;
    while (isalnum((unsigned char)*end) || *end == '_' || *end == '$' ||
           (unsigned char)*end >= 0x80) {
      end++;
    }
    token->kind = JT_NAME;
    token->length = (int)(end - p);
    return end;
  }
  token->length = 1;
  token->kind = *p == '.' ? JT_DOT : *p == '=' ? JT_EQ : *p == ',' ? JT_COMMA : JT_OTHER;
  if (p[0] == '=' && p[1] == '=') return p + 2;
  return p + 1;
}

static void joinsql_tokenize(const char *sql, joinsql_tokens *tokens) {
  tokens->count = 0;
  for (const char *p = joinsql_skip(sql); *p && tokens->count < JOINSQL_MAX_TOKENS;
       p = joinsql_skip(p)) {
    p = joinsql_token_at(p, &tokens->items[tokens->count++]);
  }
}

static int joinsql_is(const joinsql_token *token, const char *name) {
  return token->kind == JT_NAME && (int)strlen(name) == token->length &&
         strncasecmp(token->start, name, (size_t)token->length) == 0;
}

static int joinsql_same(const joinsql_token *a, const joinsql_token *b) {
  return a->kind == JT_NAME && b->kind == JT_NAME && a->length == b->length &&
         strncasecmp(a->start, b->start, (size_t)a->length) == 0;
}

static int joinsql_is_keyword(const joinsql_token *token) {
  if (token->kind != JT_NAME || token->quoted) return 0;
  for (int k = 0; joinsql_keywords[k]; k++) {
    if (joinsql_is(token, joinsql_keywords[k])) return 1;
  }
  return 0;
}

/* The token at i, or a JT_OTHER one outside the list. */
static const joinsql_token *joinsql_at(const joinsql_tokens *tokens, int i) {
  static const joinsql_token none = {JT_OTHER, 0, "", 0};
  return i >= 0 && i < tokens->count ? &tokens->items[i] : &none;
}

/* The virtual table's own names: indexes of tokens naming it (the table's, then aliases). */
static int joinsql_own_names(const joinsql_tokens *tokens, const char *table, int *names) {
  int count = 0;
  for (int i = 0; i < tokens->count && count < JOINSQL_MAX_ALIASES; i++) {
    if (!joinsql_is(joinsql_at(tokens, i), table)) continue;
    if (count == 0) names[count++] = i;
    int alias = joinsql_is(joinsql_at(tokens, i + 1), "AS") ? i + 2 : i + 1;
    const joinsql_token *next = joinsql_at(tokens, alias);
    if (next->kind == JT_NAME && !joinsql_is_keyword(next) && count < JOINSQL_MAX_ALIASES) {
      names[count++] = alias;
    }
  }
  return count;
}

static int joinsql_is_own(const joinsql_tokens *tokens, const joinsql_token *name, const int *own,
                          int own_count) {
  for (int n = 0; n < own_count; n++) {
    if (joinsql_same(name, joinsql_at(tokens, own[n]))) return 1;
  }
  return 0;
}

/* One side of an equality: [qualifier .] column. */
typedef struct joinsql_side {
  const joinsql_token *qualifier; /* NULL when bare */
  const joinsql_token *column;    /* NULL when the side is not a column */
} joinsql_side;

static joinsql_side joinsql_left(const joinsql_tokens *tokens, int eq) {
  joinsql_side side = {NULL, NULL};
  if (joinsql_at(tokens, eq - 1)->kind != JT_NAME) return side;
  side.column = joinsql_at(tokens, eq - 1);
  if (joinsql_at(tokens, eq - 2)->kind == JT_DOT && joinsql_at(tokens, eq - 3)->kind == JT_NAME) {
    side.qualifier = joinsql_at(tokens, eq - 3);
  }
  return side;
}

static joinsql_side joinsql_right(const joinsql_tokens *tokens, int eq) {
  joinsql_side side = {NULL, NULL};
  if (joinsql_at(tokens, eq + 1)->kind != JT_NAME) return side;
  if (joinsql_at(tokens, eq + 2)->kind == JT_DOT && joinsql_at(tokens, eq + 3)->kind == JT_NAME) {
    side.qualifier = joinsql_at(tokens, eq + 1);
    side.column = joinsql_at(tokens, eq + 3);
  } else {
    side.column = joinsql_at(tokens, eq + 1);
  }
  return side;
}

static int joinsql_is_key(const joinsql_tokens *tokens, joinsql_side side, const char *key,
                          const int *own, int own_count) {
  return side.column && joinsql_is(side.column, key) &&
         (!side.qualifier || joinsql_is_own(tokens, side.qualifier, own, own_count));
}

static int joinsql_is_other(const joinsql_tokens *tokens, joinsql_side side, const int *own,
                            int own_count) {
  return side.column && side.qualifier && !joinsql_is_own(tokens, side.qualifier, own, own_count);
}

static void joinsql_copy(char *out, const joinsql_token *token) {
  int length = token->length < JOINSQL_NAME_MAX - 1 ? token->length : JOINSQL_NAME_MAX - 1;
  memcpy(out, token->start, (size_t)length);
  out[length] = '\0';
}

static int joinsql_starts_table(const joinsql_token *token) {
  return token->kind == JT_COMMA || joinsql_is(token, "FROM") || joinsql_is(token, "JOIN");
}

/* The table the qualifier stands for: itself after FROM or JOIN, or the table before it. */
static const joinsql_token *joinsql_table_of(const joinsql_tokens *tokens,
                                             const joinsql_token *qualifier) {
  for (int j = 0; j < tokens->count; j++) {
    const joinsql_token *here = joinsql_at(tokens, j);
    if (!joinsql_same(here, qualifier) || joinsql_at(tokens, j + 1)->kind == JT_DOT ||
        joinsql_at(tokens, j - 1)->kind == JT_DOT) {
      continue;
    }
    if (joinsql_starts_table(joinsql_at(tokens, j - 1))) return here;
    int table = joinsql_is(joinsql_at(tokens, j - 1), "AS") ? j - 2 : j - 1;
    const joinsql_token *candidate = joinsql_at(tokens, table);
    const joinsql_token *before = joinsql_at(tokens, table - 1);
    if (candidate->kind == JT_NAME && !joinsql_is_keyword(candidate) &&
        (joinsql_starts_table(before) || before->kind == JT_DOT)) {
      return candidate;
    }
  }
  return NULL;
}

void joinsql_find(const char *sql, const char *table, const char *key, joinsql_match *match) {
  match->column[0] = match->table[0] = '\0';
  if (!sql || !table || !key) return;
  static _Thread_local joinsql_tokens tokens; /* 50 kB: off the stack of whichever thread steps */
  joinsql_tokenize(sql, &tokens);
  int own[JOINSQL_MAX_ALIASES];
  int own_count = joinsql_own_names(&tokens, table, own);
  for (int i = 0; i < tokens.count; i++) {
    if (tokens.items[i].kind != JT_EQ) continue;
    joinsql_side left = joinsql_left(&tokens, i), right = joinsql_right(&tokens, i);
    joinsql_side other = {NULL, NULL};
    if (joinsql_is_key(&tokens, left, key, own, own_count) &&
        joinsql_is_other(&tokens, right, own, own_count)) {
      other = right;
    } else if (joinsql_is_key(&tokens, right, key, own, own_count) &&
               joinsql_is_other(&tokens, left, own, own_count)) {
      other = left;
    }
    if (!other.column) continue;
    joinsql_copy(match->column, other.column);
    const joinsql_token *found = joinsql_table_of(&tokens, other.qualifier);
    if (found) joinsql_copy(match->table, found);
    return;
  }
}

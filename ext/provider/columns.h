/*
 * The engine's side of rows (columns.c): a row's column values as xColumn returns them, and
 * emptying a page and a plan's constraint values between requests. Engine only: providers build
 * rows with the helpers in provider.h.
 */
#ifndef IX_COLUMNS_H
#define IX_COLUMNS_H

#include "provider/provider.h"

/* Empties the constraint values (sqlite3_value_free) for the next plan. */
void columns_args_clear(ix_args *args);

/* A column's value for one row, exactly as xColumn produces it (echoed arguments, generic kinds,
 * the provider's callback). Exposed for the fuzz targets, which drive parse_page and every column
 * without HTTP. */
void columns_row_value(const ix_call *call, const ix_row *row, int column, sqlite3_context *ctx);

/* Frees what a page owns (the parsed tree, the body, the next-page token) and empties it; keeps
 * the rows array for reuse. */
void columns_page_reset(ix_page *page);
/* Forgets the page's tree and rows, keeping its body (which the next page is compared with) and
 * next-page token: for when SQLite is done with the rows and the next page is coming. Returns
 * the tree's arena, for the next parse to reuse (the caller owns it), or NULL. */
struct ix_json_arena *columns_page_release_tree(ix_page *page);

#endif

/* table — a virtualized, sortable, filterable list of rows with a header.
 *
 * The table does not own rows. A TableSourceClass (callbacks on the caller's
 * `ctx`) supplies the row count, a stable id per row, cell text, a filter
 * haystack and comparisons; rows are addressed by the source's row number
 * (0..count-1). The table keeps a view: the row numbers that pass the filter,
 * in sort order. Only the visible rows are formatted and drawn.
 *
 * - Selection is kept by row id: after table_refresh() (the source changed)
 *   the same id stays selected even if it moved; if it vanished, the row at
 *   the same view position is selected instead.
 * - The filter is a case-insensitive substring match on the haystack; the
 *   table caches the lowercased haystacks, and a filter that only narrows
 *   (the new text contains the old one) scans the previous matches only.
 * - The sort is stable and kept as an index of all rows; filtering never
 *   re-sorts.
 *
 * The struct begins with a Widget: (Widget *)table is valid. Keys handled:
 * move-up/down, page-up/down, move-first/last, sort-next/prev/reverse.
 * The owner creates and sizes the WINDOW (header on line 0, rows below). */
#ifndef QD_WIDGETS_TABLE_H
#define QD_WIDGETS_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "widgets/theme.h"
#include "widgets/widget.h"

typedef struct {
	/* Number of rows the source has now. */
	size_t (*count)(void *ctx);
	/* A stable, unique id for the row (kept across refreshes). */
	const char *(*row_id)(void *ctx, size_t row);
	/* Text of (row, col): write into buf and return buf, or return a string
	 * that stays valid until the next call. Untrusted text is fine: the table
	 * sanitizes what it draws. */
	const char *(*cell)(void *ctx, size_t row, int col, char *buf, size_t sz);
	/* What the filter searches for the row. NULL = the cells joined by spaces. */
	const char *(*haystack)(void *ctx, size_t row, char *buf, size_t sz);
	/* <0, 0, >0 ordering of rows a and b by column col (ascending).
	 * NULL = compare cell texts (strcasecmp). */
	int (*compare)(void *ctx, size_t a, size_t b, int col);
	/* ThemeRole for the whole row (e.g. ROLE_STATE_FAILED for failed rows);
	 * ROLE_DEFAULT for none. NULL = always default. */
	ThemeRole (*row_role)(void *ctx, size_t row);
	/* ThemeRole for one cell (e.g. the state column); ROLE_DEFAULT = use the
	 * row's role. NULL = row role everywhere. */
	ThemeRole (*cell_role)(void *ctx, size_t row, int col);
	/* Changes whenever the row's content changes (e.g. the record's version).
	 * Optional: with it, table_refresh() keeps the cached haystacks of rows
	 * whose id and version are unchanged instead of rebuilding all of them. */
	uint64_t (*row_version)(void *ctx, size_t row);
} TableSourceClass;

typedef struct {
	const char *title;
	int width;  /* fixed width, or the minimum width when flex > 0 */
	int flex;   /* 0 = fixed; >0 = share of the room left over */
	bool right; /* right-align (numbers, money) */
	/* The logical column this is (e.g. the caller's enum value), unique in a
	 * column set: table_set_columns() finds the sort column again by it. */
	int key;
} TableColumn;

typedef struct Table Table;

/* What table_save_state() captures and table_restore_state() puts back. */
typedef struct {
	char *filter;      /* owned; NULL = no filter */
	int sort_col;      /* -1 = source order */
	bool sort_desc;
	char *selected_id; /* owned; NULL = nothing selected */
	size_t top;        /* first visible view position */
} TableState;

/* `cols` is copied (titles are not: they must outlive the table). `win` may
 * be NULL and set later with table_set_window(). */
Table *table_new(WINDOW *win, const TableSourceClass *src, void *ctx, const TableColumn *cols, int ncols);
void table_free(Table **t);
Widget *table_widget(Table *t);
/* Replaces the window (after the owner created or resized it). */
void table_set_window(Table *t, WINDOW *win);
/* Replaces the column set (a responsive layout: fewer columns on a narrow
 * screen). `cols` is copied as in table_new(). The view state survives: the
 * filter, the selection (by row id), the scroll position and the sort, which
 * follows its column's key to wherever that column now stands (no sort when
 * the new set lacks it). Set the window first: the scroll is fitted to it.
 * Cells are asked for again by their new column numbers, so the source must
 * already answer for the new set. Returns false, changing nothing, when the
 * set is the same as the current one. */
bool table_set_columns(Table *t, const TableColumn *cols, int ncols);
/* The key of column col of the current set; -1 when out of range. */
int table_column_key(const Table *t, int col);

/* The source changed (rows added, removed, moved or edited): rebuild the
 * view, keep the selection by id. The haystack cache is dropped, or with a
 * row_version callback kept for the rows whose id and version match. */
void table_refresh(Table *t);
/* Only row `row` changed in place (same row number): cheaper than a full
 * refresh while a filter is active (only its haystack is recomputed). */
void table_row_changed(Table *t, size_t row);

/* Builds up to max_rows cached haystacks (0 = none, SIZE_MAX = all); true
 * when every row has one. The first filter keystroke builds what is missing
 * (~1 µs a row), so an owner may call this from idle time or when "/" opens
 * the filter line, to keep that keystroke fast at 100k rows. */
bool table_prepare_filter(Table *t, size_t max_rows);

/* Sets the filter text ("" or NULL = none). Returns true if the view changed. */
bool table_set_filter(Table *t, const char *text);
const char *table_filter(const Table *t); /* "" when none */

/* Sort by column `col` (-1 = source order), ascending or descending. */
void table_set_sort(Table *t, int col, bool desc);
int table_sort_col(const Table *t);
bool table_sort_desc(const Table *t);

/* Selection. Returns false when the view is empty. */
bool table_selected_row(const Table *t, size_t *row);
/* The selected row's id (a copy the table owns), NULL when none. */
const char *table_selected_id(const Table *t);
/* Selects the row with this id if it is in the view; false otherwise. */
bool table_select_id(Table *t, const char *id);
/* Moves the selection by delta rows (clamped). */
void table_move(Table *t, long delta);
/* Selects view position pos (clamped). */
void table_move_to(Table *t, size_t pos);
size_t table_selected_pos(const Table *t);

/* Rows in the view (after filter) / in the source. */
size_t table_view_count(const Table *t);
size_t table_source_count(const Table *t);
/* Source row number at view position pos (pos < table_view_count). */
size_t table_view_row(const Table *t, size_t pos);
/* First visible view position. */
size_t table_top(const Table *t);
/* Number of row lines the window shows (window height minus the header). */
int table_page_rows(const Table *t);

/* The focused table shows the selection in ROLE_SELECTED, else
 * ROLE_SELECTED_UNFOCUSED. */
void table_set_focused(Table *t, bool focused);
/* What to show when the view is empty (e.g. "No allocations match 'x'").
 * Copied. NULL = nothing. */
void table_set_empty_text(Table *t, const char *text);

void table_save_state(const Table *t, TableState *st);
void table_restore_state(Table *t, const TableState *st);
void table_state_done(TableState *st);

#endif

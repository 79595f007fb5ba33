/* workbench — the landing screen: live and actionable allocations (or all of
 * them in History), a table over the store, kept live by a store listener.
 *
 * Rows are store indices (the store's insertion order is stable and records
 * are replaced in place), so a row never holds a pointer that a live update
 * could free. The listener only records which ids changed; the work happens
 * in wb_sync() right before the next draw or key: a changed row that stays in
 * the view is redrawn alone, anything else rebuilds the row list. */
#include "tui/workbench.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"
#include "keymaps/keymap.h"
#include "tui/signin.h"
#include "tui/triage.h"
#include "tui/views_common.h"
#include "widgets/draw.h"
#include "widgets/table.h"
#include "widgets/theme.h"

typedef enum { C_NAME, C_STATE, C_SKU, C_NODE, C_RUNTIME, C_STORAGE, C_AGE, C_PRICE, C_COUNT } Col;

static const TableColumn all_columns[C_COUNT] = {
	[C_NAME] = { "NAME", 12, 3, false, C_NAME },
	[C_STATE] = { "STATE", 16, 0, false, C_STATE },
	[C_SKU] = { "SKU / GPUS", 20, 0, false, C_SKU },
	[C_NODE] = { "NODE", 14, 0, false, C_NODE },
	[C_RUNTIME] = { "RUNTIME / REASON", 12, 4, false, C_RUNTIME },
	[C_STORAGE] = { "STORAGE", 14, 0, false, C_STORAGE },
	[C_AGE] = { "AGE", 4, 0, true, C_AGE },
	[C_PRICE] = { "$/H", 7, 0, true, C_PRICE },
};

/* Which columns fit: everything from 112 columns, no storage from 96, and
 * at 80 columns name, state, SKU, runtime/reason, age and price. */
static const int cols_wide[] = { C_NAME, C_STATE, C_SKU, C_NODE, C_RUNTIME, C_STORAGE, C_AGE, C_PRICE };
static const int cols_mid[] = { C_NAME, C_STATE, C_SKU, C_NODE, C_RUNTIME, C_AGE, C_PRICE };
static const int cols_narrow[] = { C_NAME, C_STATE, C_SKU, C_RUNTIME, C_AGE, C_PRICE };
static const ViewsColumnSet col_sets[] = {
	{ 112, cols_wide, (int)QD_ARRAY_LEN(cols_wide) },
	{ 96, cols_mid, (int)QD_ARRAY_LEN(cols_mid) },
	{ 0, cols_narrow, (int)QD_ARRAY_LEN(cols_narrow) },
};

#define WB_PENDING_MAX 16

typedef struct {
	Widget base;
	App *app;
	Store *store;
	Table *table;
	WINDOW *table_win;
	const ViewsColumnSet *cols; /* the column set shown: cols->ids[col] is the Col */
	int top_lines;           /* title (+ band) above the table */

	bool history;            /* all states instead of live + actionable */
	size_t *rows;            /* store indices in the view's source */
	size_t nrows, cap;
	long *pos_of;            /* store index -> row, -1 when not a row */
	size_t pos_cap;
	size_t pos_n;            /* store records pos_of covers (the rest are new) */
	size_t needs_action;     /* release_failed rows in the store (admin band) */

	bool rebuild;            /* full rebuild at the next sync */
	char *pending[WB_PENDING_MAX];
	int npending;

	ViewsFilter filter;      /* the "/" line (Esc restores the filter it had) */
	char *select_later;      /* select this id once its row shows up */
} Workbench;

static Workbench *the_wb;    /* the console has one workbench */

/* --- the rows ------------------------------------------------------------- */

static bool in_view(const Workbench *wb, const Allocation *a)
{
	/* Seed 003: the server decides what is actionable; never the client clock. */
	return wb->history || (a->is_actionable && a->archived_at_ms == 0);
}

static const Allocation *row_alloc(const Workbench *wb, size_t row)
{
	return store_allocation_at(wb->store, wb->rows[row]);
}

/* Newest first, as the server lists them (created_at DESC, id DESC). */
static int newest_first(const void *x, const void *y, void *ctx)
{
	const Store *st = ctx;
	const Allocation *a = store_allocation_at(st, *(const size_t *)x);
	const Allocation *b = store_allocation_at(st, *(const size_t *)y);
	if (a->created_ms != b->created_ms)
		return a->created_ms < b->created_ms ? 1 : -1;
	return -strcmp(a->id, b->id);
}

/* The store holds records in arrival order: the pages' order, then what
 * events brought. The unsorted view shows the server's order, so a launch
 * lands on top, not under the whole fleet. Pages arrive in order, so the
 * check is one pass and the sort runs only once something new came. */
static void order_rows(Workbench *wb)
{
	bool ordered = true;
	for (size_t k = 1; k < wb->nrows && ordered; k++)
		ordered = newest_first(&wb->rows[k - 1], &wb->rows[k], wb->store) <= 0;
	if (ordered)
		return;
	qsort_r(wb->rows, wb->nrows, sizeof *wb->rows, newest_first, wb->store);
	for (size_t k = 0; k < wb->nrows; k++)
		wb->pos_of[wb->rows[k]] = (long)k;
}

static void rebuild_rows(Workbench *wb)
{
	size_t n = store_allocation_count(wb->store);
	if (n > wb->cap) {
		wb->cap = n + n / 2 + 64;
		wb->rows = xrealloc(wb->rows, wb->cap * sizeof *wb->rows);
	}
	if (n > wb->pos_cap) {
		wb->pos_cap = n + n / 2 + 64;
		wb->pos_of = xrealloc(wb->pos_of, wb->pos_cap * sizeof *wb->pos_of);
	}
	wb->nrows = 0;
	wb->needs_action = 0;
	wb->pos_n = n;
	for (size_t i = 0; i < n; i++) {
		const Allocation *a = store_allocation_at(wb->store, i);
		if (a->state == ALLOC_RELEASE_FAILED)
			wb->needs_action++;
		if (in_view(wb, a)) {
			wb->pos_of[i] = (long)wb->nrows;
			wb->rows[wb->nrows++] = i;
		} else {
			wb->pos_of[i] = -1;
		}
	}
	order_rows(wb);
}

static void clear_pending(Workbench *wb)
{
	for (int i = 0; i < wb->npending; i++)
		free(wb->pending[i]);
	wb->npending = 0;
}

/* Finds the store index of a record by pointer (ids are unique in the store). */
static long store_index_of(const Store *s, const Allocation *a)
{
	size_t n = store_allocation_count(s);
	for (size_t i = n; i-- > 0;)
		if (store_allocation_at(s, i) == a)
			return (long)i;
	return -1;
}

/* Brings the rows in line with the store before anything reads them. */
static void wb_sync(Workbench *wb)
{
	if (!wb->rebuild && wb->npending == 0)
		return;
	bool full = wb->rebuild;
	size_t n = store_allocation_count(wb->store);
	if (!full && n != wb->pos_n)
		full = true; /* new records: pos_of says nothing about them yet */
	for (int i = 0; !full && i < wb->npending; i++) {
		const Allocation *a = store_allocation(wb->store, wb->pending[i]);
		long idx = a ? store_index_of(wb->store, a) : -1;
		if (idx < 0 || (size_t)idx >= wb->pos_n) {
			full = true;
			break;
		}
		bool was = wb->pos_of[idx] >= 0;
		if (was != in_view(wb, a)) {
			full = true;
			break;
		}
		/* table_row_changed re-places the row under any sort and
		 * recomputes only its haystack: no full re-sort. */
		if (was)
			table_row_changed(wb->table, (size_t)wb->pos_of[idx]);
	}
	if (!full) {
		/* The admin band counts release_failed rows; recount cheaply. */
		wb->needs_action = triage_count(wb->store);
	} else {
		rebuild_rows(wb);
		table_refresh(wb->table);
	}
	wb->rebuild = false;
	clear_pending(wb);
	if (wb->select_later && table_select_id(wb->table, wb->select_later)) {
		free(wb->select_later);
		wb->select_later = NULL;
	}
}

static void on_store(void *ud, StoreKind kind, const char *id)
{
	Workbench *wb = ud;
	if (!(kind & (STORE_ALLOC | STORE_RESET)))
		return;
	if ((kind & STORE_RESET) || !id || wb->npending == WB_PENDING_MAX) {
		wb->rebuild = true;
		clear_pending(wb);
	} else if (!wb->rebuild) {
		wb->pending[wb->npending++] = xstrdup(id);
	}
	wb->base.dirty = true;
	app_invalidate(wb->app);
}

/* --- the table's source ------------------------------------------------------- */

static size_t src_count(void *ctx) { return ((Workbench *)ctx)->nrows; }

static const char *src_row_id(void *ctx, size_t row) { return row_alloc(ctx, row)->id; }

/* The record's version grows on every change: table_refresh() keeps the
 * cached filter haystacks of unchanged rows instead of rebuilding 100k. */
static uint64_t src_row_version(void *ctx, size_t row) { return (uint64_t)row_alloc(ctx, row)->version; }

static const char *src_cell(void *ctx, size_t row, int col, char *buf, size_t sz)
{
	Workbench *wb = ctx;
	const Allocation *a = row_alloc(wb, row);
	bool ascii = app_ascii(wb->app);
	switch (wb->cols->ids[col]) {
	case C_NAME:
		return a->name[0] ? a->name : a->id;
	case C_STATE:
		views_state(a, ascii, buf, sz);
		return buf;
	case C_SKU:
		views_sku(a, ascii, buf, sz);
		return buf;
	case C_NODE:
		views_node(a, ascii, buf, sz);
		return buf;
	case C_RUNTIME:
		views_runtime(a, ascii, buf, sz);
		return buf;
	case C_STORAGE:
		views_storage(a, buf, sz);
		return buf;
	case C_AGE:
		views_age(a->created_ms, qd_now_ms(), buf, sz);
		return buf;
	case C_PRICE:
		views_price(a->price_per_hour_cents, buf, sz);
		return buf;
	case C_COUNT:
		break;
	}
	return "";
}

static const char *src_haystack(void *ctx, size_t row, char *buf, size_t sz)
{
	Workbench *wb = ctx;
	const Allocation *a = row_alloc(wb, row);
	char sku[128], rt[256];
	views_sku(a, false, sku, sizeof sku);
	views_runtime(a, false, rt, sizeof rt);
	snprintf(buf, sz, "%s %s %s %s %s %s %s %s %s", a->name, a->id, alloc_state_name(a->state), sku,
	         a->node_name, a->region, rt, a->owner_name, a->project_name);
	return buf;
}

static int cmp_int64(int64_t x, int64_t y) { return x < y ? -1 : x > y; }

static int src_compare(void *ctx, size_t ra, size_t rb, int col)
{
	Workbench *wb = ctx;
	const Allocation *a = row_alloc(wb, ra), *b = row_alloc(wb, rb);
	int c = 0;
	switch (wb->cols->ids[col]) {
	case C_NAME:
		c = strcasecmp(a->name, b->name);
		break;
	case C_STATE:
		c = strcmp(alloc_state_name(a->state), alloc_state_name(b->state));
		break;
	case C_SKU:
		c = strcasecmp(a->sku_name, b->sku_name);
		if (!c)
			c = a->gpu_count - b->gpu_count;
		break;
	case C_NODE:
		c = strcasecmp(a->node_name, b->node_name);
		break;
	case C_RUNTIME: {
		char x[256], y[256];
		views_runtime(a, false, x, sizeof x);
		views_runtime(b, false, y, sizeof y);
		c = strcasecmp(x, y);
		break;
	}
	case C_STORAGE: {
		long long sa = 0, sb = 0;
		for (int i = 0; i < a->storage_count; i++)
			sa += a->storage[i].size_gb;
		for (int i = 0; i < b->storage_count; i++)
			sb += b->storage[i].size_gb;
		c = cmp_int64(sa, sb);
		break;
	}
	case C_AGE:
		/* Older first when ascending, like `ls -t` reversed: age grows. */
		c = cmp_int64(b->created_ms, a->created_ms);
		break;
	case C_PRICE:
		c = a->price_per_hour_cents - b->price_per_hour_cents;
		break;
	case C_COUNT:
		break;
	}
	return c ? c : strcmp(a->id, b->id);
}

static ThemeRole src_row_role(void *ctx, size_t row)
{
	const Allocation *a = row_alloc(ctx, row);
	return a->state == ALLOC_RELEASED ? ROLE_DIM : ROLE_DEFAULT;
}

static ThemeRole src_cell_role(void *ctx, size_t row, int col)
{
	Workbench *wb = ctx;
	const Allocation *a = row_alloc(wb, row);
	if (wb->cols->ids[col] == C_STATE)
		return (ThemeRole)views_state_role(a->state);
	if (wb->cols->ids[col] == C_RUNTIME && alloc_state_is_failure(a->state))
		return ROLE_STATE_FAILED;
	return ROLE_DEFAULT;
}

static const TableSourceClass wb_source = {
	.count = src_count,
	.row_id = src_row_id,
	.row_version = src_row_version,
	.cell = src_cell,
	.haystack = src_haystack,
	.compare = src_compare,
	.row_role = src_row_role,
	.cell_role = src_cell_role,
};

/* --- layout --------------------------------------------------------------------- */

/* (Re)creates the windows and, when the width calls for another column set,
 * the table's columns (the table keeps filter, sort, selection and scroll). */
static void layout(Workbench *wb)
{
	views_screen_window(&wb->base.win, app_content_rows(wb->app));
	bool band = app_is_admin(wb->app) && wb->needs_action > 0;
	wb->top_lines = band ? 2 : 1;
	views_sub_window(wb->base.win, &wb->table_win, wb->top_lines);
	if (wb->table)
		table_set_window(wb->table, wb->table_win);
	views_fit_columns(&wb->table, wb->table_win, &wb_source, wb, all_columns, col_sets,
	                  (int)QD_ARRAY_LEN(col_sets), &wb->cols, COLS);
}

/* --- drawing ----------------------------------------------------------------------- */

static void update_empty_text(Workbench *wb)
{
	Session *s = app_session(wb->app);
	const char *msg = session_message(s);
	char text[512];
	const char *f = table_filter(wb->table);
	switch (session_state(s)) {
	case SESSION_CONNECTING:
	case SESSION_LOADING:
		if (!session_fully_loaded(s)) {
			snprintf(text, sizeof text, "Loading allocations%s %zu loaded so far",
			         app_ascii(wb->app) ? "..." : "…", store_allocation_count(wb->store));
			table_set_empty_text(wb->table, text);
			return;
		}
		break;
	case SESSION_UNAUTHORIZED:
		if (signin_possible(wb->app)) {
			char key[24], url[256];
			views_clean(session_target(s)->api_url, 0, app_ascii(wb->app), url, sizeof url);
			/* The key first: the line is cut at the screen's width. */
			snprintf(text, sizeof text, "Signed out (401). Press %s to sign in: the server at %s "
			         "refused the token.",
			         keymap_first_key("global", ACTION_REFRESH, key, sizeof key), url);
			table_set_empty_text(wb->table, text);
			return;
		}
		snprintf(text, sizeof text,
		         "Signed out (401). %s. The token file is $XDG_CONFIG_HOME/quarterdeck/token (mode 0600); "
		         "then restart qdeck.",
		         msg && *msg ? msg : "The server refused the token: set QDECK_TOKEN or write the token file");
		table_set_empty_text(wb->table, text);
		return;
	case SESSION_FORBIDDEN:
		table_set_empty_text(wb->table, "Restricted (403): your role may not list allocations here.");
		return;
	case SESSION_RATE_LIMITED:
		snprintf(text, sizeof text, "Rate limited (429): %s", msg && *msg ? msg : "waiting to retry");
		table_set_empty_text(wb->table, text);
		return;
	case SESSION_ERROR:
		snprintf(text, sizeof text, "Error: %s", msg && *msg ? msg : "the server answered with an error");
		table_set_empty_text(wb->table, text);
		return;
	case SESSION_RECONNECTING:
		if (store_allocation_count(wb->store) == 0) {
			snprintf(text, sizeof text, "Cannot reach the server: %s", msg && *msg ? msg : "retrying");
			table_set_empty_text(wb->table, text);
			return;
		}
		break;
	case SESSION_LIVE:
		break;
	}
	if (f[0])
		snprintf(text, sizeof text, "No allocations match '%s'. Ctrl-U clears the filter.", f);
	else if (wb->history)
		snprintf(text, sizeof text, "No allocations yet. n launches one.");
	else
		snprintf(text, sizeof text, "No live workloads. H shows history, n launches one.");
	table_set_empty_text(wb->table, text);
}

static void wb_draw(Widget *w)
{
	Workbench *wb = (Workbench *)w;
	wb_sync(wb);
	bool band = app_is_admin(wb->app) && wb->needs_action > 0;
	if ((band ? 2 : 1) != wb->top_lines)
		layout(wb);
	update_empty_text(wb);

	bool ascii = app_ascii(wb->app);
	const char *sep = ascii ? "|" : "·";
	Session *s = app_session(wb->app);
	char title[512];
	int len = snprintf(title, sizeof title, " %s %s %zu of %zu", wb->history ? "History" : "Workloads",
	                   wb->history ? "(all states)" : "(live & actionable)", table_view_count(wb->table),
	                   wb->nrows);
	/* "loading" only while pages can still come: not when the session stopped. */
	SessionState st = session_state(s);
	bool loading = st == SESSION_CONNECTING || st == SESSION_LOADING || st == SESSION_LIVE;
	if (!session_fully_loaded(s) && loading && len < (int)sizeof title)
		len += snprintf(title + len, sizeof title - (size_t)len, " %s loading%s %zu loaded", sep,
		                ascii ? "..." : "…", store_allocation_count(wb->store));
	if (session_state(s) == SESSION_RECONNECTING && store_allocation_count(wb->store) > 0 &&
	    len < (int)sizeof title)
		len += snprintf(title + len, sizeof title - (size_t)len, " %s reconnecting: showing last data", sep);
	/* With rows on screen the table stays; the title says what is wrong. */
	if (store_allocation_count(wb->store) > 0 && len < (int)sizeof title) {
		const char *problem = NULL;
		switch (session_state(s)) {
		case SESSION_UNAUTHORIZED: problem = "signed out (401): data may be stale"; break;
		case SESSION_FORBIDDEN: problem = "restricted (403)"; break;
		case SESSION_RATE_LIMITED: problem = "rate limited (429): waiting to retry"; break;
		case SESSION_ERROR: problem = "server error: data may be stale"; break;
		default: break;
		}
		if (problem)
			len += snprintf(title + len, sizeof title - (size_t)len, " %s %s", sep, problem);
	}
	const char *f = table_filter(wb->table);
	if (f[0] && len < (int)sizeof title)
		len += snprintf(title + len, sizeof title - (size_t)len, " %s filter: %s", sep, f);
	int sc = table_sort_col(wb->table);
	if (sc >= 0 && sc < wb->cols->n && len < (int)sizeof title)
		snprintf(title + len, sizeof title - (size_t)len, " %s sort: %s %s", sep,
		         all_columns[wb->cols->ids[sc]].title, table_sort_desc(wb->table) ? "desc" : "asc");
	draw_text_pad(w->win, 0, 0, COLS, title, ROLE_HEADER, false);
	if (band) {
		char b[256];
		snprintf(b, sizeof b, " %s Needs action: %zu release_failed allocation%s fleet-wide %s A to triage",
		         ascii ? "!" : "⚠", wb->needs_action, wb->needs_action == 1 ? "" : "s", sep);
		draw_text_pad(w->win, 1, 0, COLS, b, ROLE_STATUS_WARN, false);
	}
	widget_draw(table_widget(wb->table));
	/* The table draws through a derived window: make the parent's refresh copy it. */
	touchwin(w->win);
}

/* --- keys ---------------------------------------------------------------------------- */

static const char *selected_id(Workbench *wb)
{
	return table_selected_id(wb->table);
}

static void sync_cb(void *ud) { wb_sync(ud); }

static WidgetResult wb_key(Widget *w, const KeyEvent *ev)
{
	Workbench *wb = (Workbench *)w;
	wb_sync(wb);
	/* The operator moved on: a pending "select the new row" would surprise. */
	free(wb->select_later);
	wb->select_later = NULL;
	const char *id = selected_id(wb);
	switch (ev->action) {
	case ACTION_OPEN:
		if (!id)
			return W_HANDLED;
		app_open_detail(wb->app, id);
		return W_HANDLED | W_REDRAW;
	case ACTION_FILTER:
		views_filter_open(&wb->filter);
		return W_HANDLED | W_REDRAW;
	case ACTION_CLEAR_FILTER:
		table_set_filter(wb->table, "");
		return W_HANDLED | W_REDRAW;
	case ACTION_BACK:
		if (table_filter(wb->table)[0]) {
			table_set_filter(wb->table, "");
			return W_HANDLED | W_REDRAW;
		}
		return W_IGNORED;
	case ACTION_VIEW_HISTORY:
		wb->history = !wb->history;
		wb->rebuild = true;
		wb_sync(wb);
		app_message(wb->app, false, wb->history ? "History: all states, released included (H returns)"
		                                        : "Workloads: live and actionable (H shows history)");
		return W_HANDLED | W_REDRAW;
	case ACTION_RELEASE:
		app_release(wb->app, id);
		return W_HANDLED | W_REDRAW;
	case ACTION_FORCE_RELEASE:
		app_force_release(wb->app, id);
		return W_HANDLED | W_REDRAW;
	case ACTION_COPY_SSH: {
		const Allocation *a = id ? store_allocation(wb->store, id) : NULL;
		if (!a)
			return W_HANDLED;
		app_copy(wb->app, a->ssh_command, "SSH command");
		return W_HANDLED | W_REDRAW;
	}
	case ACTION_RESTART:
		app_restart(wb->app, id);
		return W_HANDLED | W_REDRAW;
	case ACTION_TERMINAL:
		app_open_terminal(wb->app, id);
		return W_HANDLED | W_REDRAW;
	default:
		break;
	}
	WidgetResult r = widget_key(table_widget(wb->table), ev);
	return r;
}

static void wb_resize(Widget *w) { layout((Workbench *)w); }

static void wb_destroy(Widget *w)
{
	Workbench *wb = (Workbench *)w;
	store_unlisten(wb->store, on_store, wb);
	views_screen_free_windows(&wb->table, &wb->table_win, &wb->base.win);
	clear_pending(wb);
	free(wb->rows);
	free(wb->pos_of);
	views_filter_done(&wb->filter);
	free(wb->select_later);
	if (the_wb == wb)
		the_wb = NULL;
}

static const WidgetClass wb_class = {
	.name = "workbench",
	.draw = wb_draw,
	.key = wb_key,
	.resize = wb_resize,
	.destroy = wb_destroy,
	.keymap_context = "table",
};

static void wb_describe(void *obj, char *mode, size_t msz, char *hints, size_t hsz)
{
	Workbench *wb = obj;
	snprintf(mode, msz, "%s", wb->history ? "History" : "Workloads");
	const ViewHint h[] = {
		{ACTION_OPEN, "open"}, {ACTION_FILTER, "filter"}, {ACTION_SORT_NEXT, "sort"},
		{ACTION_RELEASE, "release"},
		{wb->history ? ACTION_VIEW_WORKBENCH : ACTION_VIEW_HISTORY, wb->history ? "live" : "history"},
		{ACTION_HELP, "help"},
	};
	views_hints(wb->app, "table", h, QD_ARRAY_LEN(h), hints, hsz);
}

static bool wb_command(void *obj, Action a, const char *arg)
{
	Workbench *wb = obj;
	return views_filter_command(&wb->filter, a, arg);
}

void workbench_open(App *app)
{
	Workbench *wb = xcalloc(1, sizeof *wb);
	wb->base.klass = &wb_class;
	wb->app = app;
	wb->store = app_store(app);
	wb->rebuild = true;
	layout(wb);
	views_filter_init(&wb->filter, app, wb->table, sync_cb, wb);
	store_listen(wb->store, on_store, wb);
	the_wb = wb;
	AppLayer l = { .w = &wb->base, .obj = wb, .free_obj = views_free_screen, .describe = wb_describe,
	               .command = wb_command, .full = true };
	app_push(app, &l);
}

void workbench_select_later(App *app, const char *alloc_id)
{
	Workbench *wb = the_wb;
	if (!wb || wb->app != app)
		return;
	free(wb->select_later);
	wb->select_later = NULL;
	wb_sync(wb);
	if (!table_select_id(wb->table, alloc_id))
		wb->select_later = xstrdup(alloc_id);
	app_invalidate(app);
}

/* triage — admin "Needs action": every release_failed allocation the session
 * can see (fleet-wide for admins), oldest failure first, with its reason.
 * F force releases with a required reason (the server audits it); Enter opens
 * detail. Rows come from the store and follow it live, like the workbench. */
#include "tui/triage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"
#include "tui/views_common.h"
#include "widgets/draw.h"
#include "widgets/table.h"

enum { T_NAME, T_OWNER, T_NODE, T_REASON, T_AGE, T_BILLING, T_COUNT };

static const TableColumn tcols[T_COUNT] = {
	[T_NAME] = { "NAME", 14, 2, false, T_NAME },
	[T_OWNER] = { "OWNER", 12, 0, false, T_OWNER },
	[T_NODE] = { "NODE", 14, 0, false, T_NODE },
	[T_REASON] = { "RELEASE FAILED BECAUSE", 16, 5, false, T_REASON },
	[T_AGE] = { "FOR", 4, 0, true, T_AGE },
	[T_BILLING] = { "BILLING", 7, 0, false, T_BILLING },
};

typedef struct {
	Widget base;
	App *app;
	Store *store;
	Table *table;
	WINDOW *table_win;
	size_t *rows;
	size_t nrows, cap;
	bool stale;
	uint64_t gen;
} Triage;

size_t triage_count(const Store *s)
{
	size_t n = 0, total = store_allocation_count(s);
	for (size_t i = 0; i < total; i++)
		if (store_allocation_at(s, i)->state == ALLOC_RELEASE_FAILED)
			n++;
	return n;
}

static const Allocation *row_alloc(const Triage *t, size_t row)
{
	return store_allocation_at(t->store, t->rows[row]);
}

static void sync_rows(Triage *t)
{
	if (!t->stale)
		return;
	t->stale = false;
	size_t n = store_allocation_count(t->store);
	if (n > t->cap) {
		t->cap = n + 64;
		t->rows = xrealloc(t->rows, t->cap * sizeof *t->rows);
	}
	t->nrows = 0;
	for (size_t i = 0; i < n; i++)
		if (store_allocation_at(t->store, i)->state == ALLOC_RELEASE_FAILED)
			t->rows[t->nrows++] = i;
	table_refresh(t->table);
}

static void on_store(void *ud, StoreKind kind, const char *id)
{
	Triage *t = ud;
	if (!(kind & (STORE_ALLOC | STORE_RESET)))
		return;
	t->stale = true;
	app_invalidate(t->app);
}

static size_t src_count(void *ctx) { return ((Triage *)ctx)->nrows; }
static const char *src_row_id(void *ctx, size_t row) { return row_alloc(ctx, row)->id; }

static const char *src_cell(void *ctx, size_t row, int col, char *buf, size_t sz)
{
	Triage *t = ctx;
	const Allocation *a = row_alloc(t, row);
	switch (col) {
	case T_NAME:
		return a->name[0] ? a->name : a->id;
	case T_OWNER:
		snprintf(buf, sz, "%s", a->owner_name[0] ? a->owner_name : a->org_id);
		return buf;
	case T_NODE:
		views_node(a, app_ascii(t->app), buf, sz);
		return buf;
	case T_REASON:
		views_reason(a, buf, sz);
		if (!buf[0])
			snprintf(buf, sz, "no reason recorded");
		return buf;
	case T_AGE:
		views_age(a->state_since_ms, qd_now_ms(), buf, sz);
		return buf;
	case T_BILLING:
		return a->billing_stopped ? "stopped" : "RUNNING";
	}
	return "";
}

static int src_compare(void *ctx, size_t ra, size_t rb, int col)
{
	Triage *t = ctx;
	const Allocation *a = row_alloc(t, ra), *b = row_alloc(t, rb);
	int c = 0;
	if (col == T_AGE)
		c = a->state_since_ms < b->state_since_ms ? 1 : a->state_since_ms > b->state_since_ms ? -1 : 0;
	else if (col == T_BILLING)
		c = (int)a->billing_stopped - (int)b->billing_stopped;
	else {
		char x[512], y[512];
		c = strcasecmp(src_cell(ctx, ra, col, x, sizeof x), src_cell(ctx, rb, col, y, sizeof y));
	}
	return c ? c : strcmp(a->id, b->id);
}

static ThemeRole src_cell_role(void *ctx, size_t row, int col)
{
	const Allocation *a = row_alloc(ctx, row);
	if (col == T_REASON)
		return ROLE_STATE_FAILED;
	if (col == T_BILLING && !a->billing_stopped)
		return ROLE_STATUS_ERROR;
	return ROLE_DEFAULT;
}

static const TableSourceClass triage_source = {
	.count = src_count, .row_id = src_row_id, .cell = src_cell,
	.compare = src_compare, .cell_role = src_cell_role,
};

static void tr_layout(Triage *t)
{
	views_screen_window(&t->base.win, app_content_rows(t->app));
	views_sub_window(t->base.win, &t->table_win, 2);
	if (t->table)
		table_set_window(t->table, t->table_win);
}

static void tr_draw(Widget *w)
{
	Triage *t = (Triage *)w;
	sync_rows(t);
	const char *sep = app_ascii(t->app) ? "|" : "·";
	char title[256];
	snprintf(title, sizeof title, " Needs action %s %zu release_failed allocation%s fleet-wide", sep, t->nrows,
	         t->nrows == 1 ? "" : "s");
	draw_text_pad(w->win, 0, 0, COLS, title, ROLE_HEADER, false);
	draw_text_pad(w->win, 1, 0, COLS,
	              " The node did not confirm these releases. Check the reason, then F force releases "
	              "with a reason for the audit log.",
	              ROLE_DIM, false);
	table_set_empty_text(t->table, "Nothing needs action: no release_failed allocations. Esc goes back.");
	widget_draw(table_widget(t->table));
	touchwin(w->win);
}

static WidgetResult tr_key(Widget *w, const KeyEvent *ev)
{
	Triage *t = (Triage *)w;
	sync_rows(t);
	const char *id = table_selected_id(t->table);
	switch (ev->action) {
	case ACTION_BACK:
	case ACTION_VIEW_NEEDS_ACTION:
		return W_CLOSE;
	case ACTION_OPEN:
		if (id)
			app_open_detail(t->app, id);
		return W_HANDLED | W_REDRAW;
	case ACTION_FORCE_RELEASE:
		app_force_release(t->app, id);
		return W_HANDLED | W_REDRAW;
	case ACTION_RELEASE:
		app_message(t->app, true, "these releases already failed: F force releases with a reason");
		return W_HANDLED | W_REDRAW;
	case ACTION_COPY_SSH: {
		const Allocation *a = id ? store_allocation(t->store, id) : NULL;
		if (a)
			app_copy(t->app, a->ssh_command, "SSH command");
		return W_HANDLED | W_REDRAW;
	}
	default:
		return widget_key(table_widget(t->table), ev);
	}
}

static void tr_resize(Widget *w) { tr_layout((Triage *)w); }

static void tr_destroy(Widget *w)
{
	Triage *t = (Triage *)w;
	store_unlisten(t->store, on_store, t);
	views_screen_free_windows(&t->table, &t->table_win, &t->base.win);
	free(t->rows);
}

static const WidgetClass triage_class = {
	.name = "triage", .draw = tr_draw, .key = tr_key, .resize = tr_resize,
	.destroy = tr_destroy, .keymap_context = "table",
};

static void tr_describe(void *obj, char *mode, size_t msz, char *hints, size_t hsz)
{
	Triage *t = obj;
	static const ViewHint h[] = {
		{ACTION_FORCE_RELEASE, "force release"}, {ACTION_OPEN, "open"}, {ACTION_SORT_NEXT, "sort"},
		{ACTION_BACK, "back"}, {ACTION_HELP, "help"},
	};
	snprintf(mode, msz, "Needs action");
	views_hints(t->app, "table", h, QD_ARRAY_LEN(h), hints, hsz);
}

void triage_open(App *app)
{
	Triage *t = xcalloc(1, sizeof *t);
	t->base.klass = &triage_class;
	t->app = app;
	t->store = app_store(app);
	t->stale = true;
	tr_layout(t);
	t->table = table_new(t->table_win, &triage_source, t, tcols, T_COUNT);
	table_set_focused(t->table, true);
	table_set_sort(t->table, T_AGE, true);
	store_listen(t->store, on_store, t);
	AppLayer l = { .w = &t->base, .obj = t, .free_obj = views_free_screen, .describe = tr_describe, .full = true };
	app_push(app, &l);
}

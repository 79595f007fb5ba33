/* views_common — shared row formatting for allocation screens and the CLI. */
#include "tui/views_common.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sanitize.h"
#include "common/util.h"
#include "keymaps/keymap.h"
#include "widgets/theme.h"

void views_clean(const char *in, int cols, bool ascii, char *buf, size_t sz)
{
	if (!in)
		in = "";
	if (cols > 0)
		sanitize_fit(in, buf, sz, cols, ascii);
	else
		sanitize_str(in, strlen(in), buf, sz, false);
}

void views_state(const Allocation *a, bool ascii, char *buf, size_t sz)
{
	snprintf(buf, sz, "%s %s", alloc_state_glyph(a->state, ascii), alloc_state_name(a->state));
}

void views_sku(const Allocation *a, bool ascii, char *buf, size_t sz)
{
	char name[128];
	views_clean(a->sku_name[0] ? a->sku_name : a->sku_id, 0, ascii, name, sizeof name);
	snprintf(buf, sz, "%s %s%d", name, ascii ? "x" : "×", a->gpu_count);
}

void views_reason(const Allocation *a, char *buf, size_t sz)
{
	const char *code = "", *msg = "";
	if (a->state == ALLOC_RELEASE_FAILED && a->release_failed_code[0]) {
		code = a->release_failed_code;
		msg = a->release_failed_message;
	} else if (alloc_state_is_failure(a->state) || a->failure_code[0]) {
		code = a->failure_code;
		msg = a->failure_message;
	}
	if (!code[0] && !msg[0]) {
		buf[0] = '\0';
		return;
	}
	char raw[1024];
	snprintf(raw, sizeof raw, "%s%s%s", code, code[0] && msg[0] ? ": " : "", msg);
	views_clean(raw, 0, false, buf, sz);
}

void views_runtime(const Allocation *a, bool ascii, char *buf, size_t sz)
{
	if (alloc_state_is_failure(a->state)) {
		char r[512];
		views_reason(a, r, sizeof r);
		if (r[0]) {
			snprintf(buf, sz, "%s", r);
			return;
		}
	}
	if (!a->runtime_bundle[0]) {
		snprintf(buf, sz, "%s", ascii ? "-" : "—");
		return;
	}
	char raw[256];
	snprintf(raw, sizeof raw, "%s %s%s%s%s", a->runtime_bundle, a->runtime_version,
	         a->runtime_state[0] ? " (" : "", a->runtime_state, a->runtime_state[0] ? ")" : "");
	views_clean(raw, 0, ascii, buf, sz);
}

static void size_fmt(long long gb, char *buf, size_t sz)
{
	if (gb >= 1000 && gb % 100 == 0)
		snprintf(buf, sz, "%lld.%lldT", gb / 1000, gb % 1000 / 100);
	else if (gb >= 1000)
		snprintf(buf, sz, "%lldT", (gb + 500) / 1000);
	else
		snprintf(buf, sz, "%lldG", gb);
}

void views_storage(const Allocation *a, char *buf, size_t sz)
{
	if (a->storage_count <= 0) {
		snprintf(buf, sz, "scratch only");
		return;
	}
	long long total = 0;
	for (int i = 0; i < a->storage_count; i++)
		total += a->storage[i].size_gb;
	char size[32];
	size_fmt(total, size, sizeof size);
	if (a->storage_count == 1) {
		char name[64];
		views_clean(a->storage[0].name, 24, false, name, sizeof name);
		snprintf(buf, sz, "%s %s", name, size);
	} else {
		snprintf(buf, sz, "%d volumes %s", a->storage_count, size);
	}
}

void views_age(int64_t since_ms, int64_t now_ms, char *buf, size_t sz)
{
	int64_t m = since_ms > 0 && now_ms > since_ms ? (now_ms - since_ms) / 60000 : 0;
	if (m < 1)
		snprintf(buf, sz, "<1m");
	else if (m < 60)
		snprintf(buf, sz, "%lldm", (long long)m);
	else if (m < 48 * 60)
		snprintf(buf, sz, "%lldh", (long long)(m / 60));
	else
		snprintf(buf, sz, "%lldd", (long long)(m / 1440));
}

void views_price(int cents, char *buf, size_t sz)
{
	if (cents < 0)
		cents = 0;
	snprintf(buf, sz, "$%d.%02d", cents / 100, cents % 100);
}

void views_node(const Allocation *a, bool ascii, char *buf, size_t sz)
{
	if (!a->node_name[0] && !a->node_id[0]) {
		snprintf(buf, sz, "%s", ascii ? "-" : "—");
		return;
	}
	views_clean(a->node_name[0] ? a->node_name : a->node_id, 0, ascii, buf, sz);
}

int views_state_role(AllocState s)
{
	switch (s) {
	case ALLOC_ACTIVE:
		return ROLE_STATE_OK;
	case ALLOC_PROVISIONING:
	case ALLOC_RESTARTING:
	case ALLOC_RELEASING:
		return ROLE_STATE_PROGRESS;
	case ALLOC_RELEASED:
		return ROLE_STATE_GONE;
	default:
		return alloc_state_is_failure(s) ? ROLE_STATE_FAILED : ROLE_DEFAULT;
	}
}

/* --- plumbing shared by the full-screen views ------------------------------------- */

void views_screen_window(WINDOW **win, int rows)
{
	if (!*win) {
		*win = newwin(rows, COLS, 0, 0);
		return;
	}
	wresize(*win, rows, COLS);
	mvwin(*win, 0, 0);
	werase(*win);
}

void views_sub_window(WINDOW *parent, WINDOW **sub, int top)
{
	if (*sub)
		delwin(*sub);
	int rows = getmaxy(parent);
	*sub = derwin(parent, rows > top ? rows - top : 1, COLS, rows > top ? top : 0, 0);
}

bool views_fit_columns(Table **t, WINDOW *win, const TableSourceClass *src, void *ctx, const TableColumn *all,
                       const ViewsColumnSet *sets, int nsets, const ViewsColumnSet **current, int width)
{
	const ViewsColumnSet *set = &sets[nsets - 1];
	for (int i = 0; i < nsets - 1; i++) {
		if (width >= sets[i].min_width) {
			set = &sets[i];
			break;
		}
	}
	if (*t && set == *current)
		return false;
	TableColumn *tc = xcalloc((size_t)set->n + 1, sizeof *tc);
	for (int i = 0; i < set->n; i++)
		tc[i] = all[set->ids[i]];
	*current = set;
	if (*t)
		table_set_columns(*t, tc, set->n);
	else {
		*t = table_new(win, src, ctx, tc, set->n);
		table_set_focused(*t, true);
	}
	free(tc);
	return true;
}

void views_free_screen(void *obj)
{
	Widget *w = obj;
	if (w->klass && w->klass->destroy)
		w->klass->destroy(w);
	free(obj);
}

void views_filter_set(ViewsFilter *f, const char *text)
{
	if (f->sync)
		f->sync(f->ud);
	table_set_filter(f->table, text);
}

static void filter_changed(void *ud, const char *text)
{
	ViewsFilter *f = ud;
	views_filter_set(f, text);
	app_invalidate(f->app);
}

static void filter_closed(void *ud, bool submitted, const char *text)
{
	ViewsFilter *f = ud;
	if (!submitted)
		table_set_filter(f->table, f->before ? f->before : "");
	views_filter_done(f);
	app_invalidate(f->app);
}

void views_filter_init(ViewsFilter *f, App *app, Table *t, void (*sync)(void *ud), void *ud)
{
	*f = (ViewsFilter){ .app = app, .table = t, .sync = sync, .ud = ud };
}

void views_filter_open(ViewsFilter *f)
{
	free(f->before);
	f->before = xstrdup(table_filter(f->table));
	table_prepare_filter(f->table, SIZE_MAX);
	app_prompt(f->app, "/", table_filter(f->table), filter_changed, filter_closed, f);
}

bool views_filter_command(ViewsFilter *f, Action a, const char *arg)
{
	if (a != ACTION_FILTER || !arg || !*arg)
		return false;
	views_filter_set(f, arg);
	return true;
}

void views_filter_done(ViewsFilter *f)
{
	free(f->before);
	f->before = NULL;
}

void views_screen_free_windows(Table **t, WINDOW **sub, WINDOW **win)
{
	table_free(t);
	if (*sub)
		delwin(*sub);
	if (*win)
		delwin(*win);
	*sub = *win = NULL;
}

void views_hints(const App *app, const char *context, const ViewHint *hints, size_t n, char *out,
                 size_t sz)
{
	const char *sep = app_ascii(app) ? "|" : "·";
	size_t len = 0;
	if (!sz)
		return;
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		char key[32];
		if (!keymap_first_key(context, hints[i].action, key, sizeof key)[0])
			continue;
		int w = snprintf(out + len, sz - len, "%s%s%s%s %s", len ? " " : "", len ? sep : "",
		                 len ? " " : "", key, hints[i].what);
		if (w < 0 || len + (size_t)w >= sz) {
			out[len] = '\0'; /* what fitted whole stays */
			break;
		}
		len += (size_t)w;
	}
}

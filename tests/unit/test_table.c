/* Unit tests for widgets/table: sort, incremental filter (narrowing gives the
 * same rows as a full scan), selection by id across refreshes and live row
 * changes, view-state save/restore and across column-set changes, paging, and
 * what gets drawn (read back from a headless curses screen). The row source
 * is an in-memory test double. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "tests/unit/curses_fixture.h"
#include "widgets/table.h"
#include "widgets/theme.h"

typedef struct {
	char id[16];
	char name[64];
	int gpus;
	bool failed;
} Row;

typedef struct {
	Row rows[256];
	size_t n;
} Src;

static size_t src_count(void *ctx) { return ((Src *)ctx)->n; }
static const char *src_id(void *ctx, size_t r) { return ((Src *)ctx)->rows[r].id; }

static const char *src_cell(void *ctx, size_t r, int col, char *buf, size_t sz)
{
	Row *row = &((Src *)ctx)->rows[r];
	switch (col) {
	case 0: return row->name;
	case 1: snprintf(buf, sz, "%d", row->gpus); return buf;
	default: return row->id;
	}
}

static int src_compare(void *ctx, size_t a, size_t b, int col)
{
	Row *x = &((Src *)ctx)->rows[a], *y = &((Src *)ctx)->rows[b];
	switch (col) {
	case 0: return strcmp(x->name, y->name);
	case 1: return (x->gpus > y->gpus) - (x->gpus < y->gpus);
	default: return strcmp(x->id, y->id);
	}
}

static ThemeRole src_role(void *ctx, size_t r)
{
	return ((Src *)ctx)->rows[r].failed ? ROLE_STATE_FAILED : ROLE_DEFAULT;
}

static const TableSourceClass src_class = {
	.count = src_count, .row_id = src_id, .cell = src_cell, .compare = src_compare, .row_role = src_role,
};

static const TableColumn cols[] = {
	{.title = "NAME", .width = 10, .flex = 1},
	{.title = "GPUS", .width = 5, .right = true},
	{.title = "ID", .width = 6},
};

static void add(Src *s, const char *id, const char *name, int gpus)
{
	Row *r = &s->rows[s->n++];
	snprintf(r->id, sizeof r->id, "%s", id);
	snprintf(r->name, sizeof r->name, "%s", name);
	r->gpus = gpus;
	r->failed = false;
}

static void fill(Src *s)
{
	s->n = 0;
	add(s, "a1", "train-llama", 8);
	add(s, "a2", "Eval-Mistral", 1);
	add(s, "a3", "notebook", 2);
	add(s, "a4", "train-vit", 4);
	add(s, "a5", "batch-infer", 2);
	add(s, "a6", "TRAIN-bert", 1);
}

/* The ids in view order, joined with spaces. */
static const char *order(Table *t, Src *s)
{
	static char buf[1024];
	size_t len = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < table_view_count(t); i++)
		len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s", i ? " " : "", s->rows[table_view_row(t, i)].id);
	return buf;
}

static void test_sort(void **state)
{
	(void)state;
	Src s;
	fill(&s);
	Table *t = table_new(NULL, &src_class, &s, cols, 3);
	assert_string_equal(order(t, &s), "a1 a2 a3 a4 a5 a6");
	table_set_sort(t, 0, false);
	assert_string_equal(order(t, &s), "a2 a6 a5 a3 a1 a4"); /* strcmp: upper case first */
	table_set_sort(t, 1, false);
	/* ties keep source order, whatever the direction */
	assert_string_equal(order(t, &s), "a2 a6 a3 a5 a4 a1");
	table_set_sort(t, 1, true);
	assert_string_equal(order(t, &s), "a1 a4 a3 a5 a2 a6");
	assert_int_equal(table_sort_col(t), 1);
	assert_true(table_sort_desc(t));
	/* sort-next / sort-reverse through the key handler */
	KeyEvent ev = {.action = ACTION_SORT_NEXT};
	assert_true(widget_key(table_widget(t), &ev) & W_REDRAW);
	assert_int_equal(table_sort_col(t), 2);
	assert_false(table_sort_desc(t));
	ev.action = ACTION_SORT_REVERSE;
	widget_key(table_widget(t), &ev);
	assert_string_equal(order(t, &s), "a6 a5 a4 a3 a2 a1");
	table_free(&t);
	assert_null(t);
}

/* Default comparison (no compare callback) sorts by cell text, case-blind. */
static void test_sort_default_compare(void **state)
{
	(void)state;
	Src s;
	fill(&s);
	TableSourceClass c = src_class;
	c.compare = NULL;
	Table *t = table_new(NULL, &c, &s, cols, 3);
	table_set_sort(t, 0, false);
	assert_string_equal(order(t, &s), "a5 a2 a3 a6 a1 a4");
	table_free(&t);
}

static void test_filter_incremental(void **state)
{
	(void)state;
	Src s;
	fill(&s);
	Table *t = table_new(NULL, &src_class, &s, cols, 3);
	table_set_sort(t, 0, false);
	assert_true(table_set_filter(t, "t"));
	assert_string_equal(order(t, &s), "a2 a6 a5 a3 a1 a4");
	assert_true(table_set_filter(t, "tr")); /* narrowing */
	assert_string_equal(order(t, &s), "a2 a6 a1 a4");
	assert_false(table_set_filter(t, "TRA")); /* case-insensitive; "Mistral" still matches */
	assert_string_equal(order(t, &s), "a2 a6 a1 a4");
	assert_true(table_set_filter(t, "TRAI"));
	assert_string_equal(order(t, &s), "a6 a1 a4");
	assert_true(table_set_filter(t, "train-v"));
	assert_string_equal(order(t, &s), "a4");
	assert_false(table_set_filter(t, "TRAIN-V")); /* same needle: nothing changes */
	assert_string_equal(table_filter(t), "TRAIN-V");
	assert_true(table_set_filter(t, "train")); /* widening */
	assert_string_equal(order(t, &s), "a6 a1 a4");
	assert_true(table_set_filter(t, "zzz"));
	assert_int_equal(table_view_count(t), 0);
	assert_false(table_selected_row(t, NULL));
	assert_null(table_selected_id(t));
	assert_true(table_set_filter(t, ""));
	assert_int_equal(table_view_count(t), 6);
	/* the filter matches any column (default haystack: all cells) */
	table_set_filter(t, "a5");
	assert_string_equal(order(t, &s), "a5");
	table_free(&t);
}

/* Narrowing scans only the previous matches: it must give exactly what a
 * fresh full scan gives, for every prefix of a needle. */
static void test_filter_narrowing_equals_full_scan(void **state)
{
	(void)state;
	Src s = {0};
	for (int i = 0; i < 200; i++) {
		char id[16], name[64];
		snprintf(id, sizeof id, "r%03d", i);
		snprintf(name, sizeof name, "%s-%d-%s", i % 3 ? "train" : "eval", i * 7 % 13, i % 5 ? "gpu" : "cpu");
		add(&s, id, name, i % 9);
	}
	Table *inc = table_new(NULL, &src_class, &s, cols, 3);
	table_set_sort(inc, 1, true);
	const char *needle = "train-1";
	for (size_t len = 1; len <= strlen(needle); len++) {
		char part[16];
		memcpy(part, needle, len);
		part[len] = '\0';
		table_set_filter(inc, part);
		Table *full = table_new(NULL, &src_class, &s, cols, 3);
		table_set_sort(full, 1, true);
		table_set_filter(full, part);
		char a[4096];
		snprintf(a, sizeof a, "%s", order(inc, &s));
		assert_string_equal(a, order(full, &s));
		table_free(&full);
	}
	assert_true(table_view_count(inc) > 0);
	table_free(&inc);
}

static void test_selection_kept_by_id(void **state)
{
	(void)state;
	Src s;
	fill(&s);
	Table *t = table_new(NULL, &src_class, &s, cols, 3);
	table_set_sort(t, 0, false);
	assert_true(table_select_id(t, "a3"));
	assert_string_equal(table_selected_id(t), "a3");
	/* rows arrive before it and the source is reordered: a3 stays selected */
	Row keep = s.rows[2];
	memmove(&s.rows[1], &s.rows[0], 2 * sizeof(Row));
	s.rows[0] = keep;
	add(&s, "a7", "aaa-first", 3);
	add(&s, "a8", "Aardvark", 3);
	table_refresh(t);
	assert_string_equal(table_selected_id(t), "a3");
	size_t row;
	assert_true(table_selected_row(t, &row));
	assert_string_equal(s.rows[row].id, "a3");
	/* filtering it out and back: the view position is kept, then it is a row
	 * that matches; the id follows what is shown */
	table_set_filter(t, "train");
	assert_non_null(table_selected_id(t));
	assert_true(strstr(s.rows[table_view_row(t, table_selected_pos(t))].name, "rain") ||
	            strstr(s.rows[table_view_row(t, table_selected_pos(t))].name, "RAIN"));
	table_set_filter(t, "");
	/* the selected row disappears: the same position is selected instead */
	table_select_id(t, "a5");
	size_t pos = table_selected_pos(t);
	for (size_t i = 0; i < s.n; i++)
		if (strcmp(s.rows[i].id, "a5") == 0) {
			memmove(&s.rows[i], &s.rows[i + 1], (s.n - i - 1) * sizeof(Row));
			s.n--;
			break;
		}
	table_refresh(t);
	assert_int_equal(table_selected_pos(t), pos);
	assert_string_not_equal(table_selected_id(t), "a5");
	table_free(&t);
}

static void test_row_changed_moves_row(void **state)
{
	(void)state;
	Src s;
	fill(&s);
	Table *t = table_new(NULL, &src_class, &s, cols, 3);
	table_set_sort(t, 1, false); /* by gpus */
	table_select_id(t, "a3");
	/* a3 grows from 2 to 16 GPUs: it moves to the end, still selected */
	s.rows[2].gpus = 16;
	table_row_changed(t, 2);
	assert_string_equal(order(t, &s), "a2 a6 a5 a4 a1 a3");
	assert_string_equal(table_selected_id(t), "a3");
	assert_int_equal(table_selected_pos(t), 5);
	/* with a filter: the changed row leaves and re-enters the view in place */
	table_set_filter(t, "train");
	assert_string_equal(order(t, &s), "a6 a4 a1");
	strcpy(s.rows[2].name, "train-new");
	table_row_changed(t, 2);
	assert_string_equal(order(t, &s), "a6 a4 a1 a3");
	strcpy(s.rows[0].name, "stopped");
	table_row_changed(t, 0);
	assert_string_equal(order(t, &s), "a6 a4 a3");
	/* a row count change through row_changed falls back to a refresh */
	add(&s, "a9", "train-late", 0);
	table_row_changed(t, 8);
	assert_string_equal(order(t, &s), "a9 a6 a4 a3");
	table_free(&t);
}

static void test_paging_and_state(void **state)
{
	(void)state;
	Src s = {0};
	for (int i = 0; i < 100; i++) {
		char id[16], name[32];
		snprintf(id, sizeof id, "id%03d", i);
		snprintf(name, sizeof name, "job-%03d", i);
		add(&s, id, name, i % 4);
	}
	WINDOW *win = newwin(11, 60, 0, 0); /* header + 10 rows */
	Table *t = table_new(win, &src_class, &s, cols, 3);
	assert_int_equal(table_page_rows(t), 10);
	KeyEvent ev = {.action = ACTION_PAGE_DOWN};
	assert_true(widget_key(table_widget(t), &ev) & W_REDRAW);
	assert_int_equal(table_selected_pos(t), 10);
	assert_int_equal(table_top(t), 10);
	ev.action = ACTION_MOVE_DOWN;
	widget_key(table_widget(t), &ev);
	assert_int_equal(table_selected_pos(t), 11);
	ev.action = ACTION_MOVE_LAST;
	widget_key(table_widget(t), &ev);
	assert_int_equal(table_selected_pos(t), 99);
	assert_int_equal(table_top(t), 90);
	ev.action = ACTION_MOVE_DOWN; /* at the end: handled, nothing to redraw */
	assert_int_equal(widget_key(table_widget(t), &ev), W_HANDLED);
	ev.action = ACTION_MOVE_FIRST;
	widget_key(table_widget(t), &ev);
	assert_int_equal(table_selected_pos(t), 0);
	assert_int_equal(table_top(t), 0);
	ev.action = ACTION_MOVE_UP;
	assert_int_equal(widget_key(table_widget(t), &ev), W_HANDLED);
	ev.action = ACTION_OPEN; /* not the table's business */
	assert_int_equal(widget_key(table_widget(t), &ev), W_IGNORED);

	/* save: sorted by gpus desc, filtered, row 37 selected, scrolled */
	table_set_sort(t, 1, true);
	table_set_filter(t, "job-0");
	assert_true(table_select_id(t, "id037"));
	ev.action = ACTION_MOVE_UP;
	widget_key(table_widget(t), &ev);
	widget_key(table_widget(t), &ev);
	TableState st;
	table_save_state(t, &st);
	char want_id[16];
	snprintf(want_id, sizeof want_id, "%s", table_selected_id(t));
	size_t want_top = table_top(t), want_pos = table_selected_pos(t);
	table_free(&t);

	/* a new table (returning from detail) gets all of it back */
	t = table_new(win, &src_class, &s, cols, 3);
	table_restore_state(t, &st);
	table_state_done(&st);
	assert_string_equal(table_filter(t), "job-0");
	assert_int_equal(table_sort_col(t), 1);
	assert_true(table_sort_desc(t));
	assert_string_equal(table_selected_id(t), want_id);
	assert_int_equal(table_selected_pos(t), want_pos);
	assert_int_equal(table_top(t), want_top);
	table_free(&t);
	delwin(win);
}

/* Reads line y of a window back as UTF-8 text. */
static void line_text(WINDOW *win, int y, char *out, size_t sz)
{
	int w = getmaxx(win);
	size_t len = 0;
	out[0] = '\0';
	for (int x = 0; x < w; x++) {
		cchar_t cc;
		wchar_t wch[CCHARW_MAX + 1];
		attr_t a;
		short pair;
		if (mvwin_wch(win, y, x, &cc) == ERR)
			break;
		getcchar(&cc, wch, &a, &pair, NULL);
		char mb[16];
		mbstate_t st = {0};
		size_t n = wch[0] ? wcrtomb(mb, wch[0], &st) : 0;
		if (n == (size_t)-1)
			n = 0;
		if (len + n + 1 < sz) {
			memcpy(out + len, mb, n);
			len += n;
		}
	}
	out[len] = '\0';
	while (len && out[len - 1] == ' ')
		out[--len] = '\0';
}

static void test_draw(void **state)
{
	(void)state;
	Src s;
	fill(&s);
	strcpy(s.rows[1].name, "evil\x1b]0;pwned\x07-name-that-is-long");
	s.rows[3].failed = true;
	WINDOW *win = newwin(5, 40, 0, 0);
	Table *t = table_new(win, &src_class, &s, cols, 3);
	table_set_sort(t, 1, false);
	table_move_to(t, 0); /* the sort moved the selection (a1) to the end: back to the top */
	table_select_id(t, "a3");
	assert_int_equal(table_top(t), 0);
	widget_draw(table_widget(t));
	char line[512];
	line_text(win, 0, line, sizeof line);
	/* the sort column says so with a glyph, not colour alone */
	assert_non_null(strstr(line, "GPUS\xe2\x96\xb2"));
	assert_non_null(strstr(line, "NAME"));
	line_text(win, 1, line, sizeof line);
	/* control bytes visible, long name cut with an ellipsis */
	assert_non_null(strstr(line, "evil^[]0;pwn"));
	assert_non_null(strstr(line, "\xe2\x80\xa6"));
	assert_null(strchr(line, '\x1b'));
	/* rows 1..4 visible: a2 a6 a3 a5; a3 selected, marked with the cursor glyph */
	line_text(win, 3, line, sizeof line);
	assert_true(strncmp(line, "\xe2\x96\xb6notebook", strlen("\xe2\x96\xb6notebook")) == 0);
	assert_non_null(strstr(line, "a3"));
	chtype ch = mvwinch(win, 3, 5);
	assert_true((ch & A_COLOR) == (theme_attr(ROLE_SELECTED) & A_COLOR));
	line_text(win, 2, line, sizeof line);
	assert_true(line[0] == ' ');
	/* an empty view shows its text */
	table_set_empty_text(t, "No allocations match");
	table_set_filter(t, "nothing-matches");
	widget_draw(table_widget(t));
	line_text(win, 2, line, sizeof line);
	assert_string_equal(line, "No allocations match");
	line_text(win, 1, line, sizeof line);
	assert_string_equal(line, "");
	table_free(&t);
	delwin(win);
}

static int hay_calls;
static uint64_t versions[256];

static const char *src_hay(void *ctx, size_t r, char *buf, size_t sz)
{
	hay_calls++;
	Row *row = &((Src *)ctx)->rows[r];
	snprintf(buf, sz, "%s %s", row->name, row->id);
	return buf;
}

/* The test double keeps a version per id (the id's number). */
static uint64_t src_version(void *ctx, size_t r)
{
	return versions[atoi(((Src *)ctx)->rows[r].id + 1)];
}

static void test_refresh_keeps_haystacks_by_version(void **state)
{
	(void)state;
	Src s;
	fill(&s);
	memset(versions, 0, sizeof versions);
	TableSourceClass c = src_class;
	c.haystack = src_hay;
	c.row_version = src_version;
	Table *t = table_new(NULL, &c, &s, cols, 3);
	hay_calls = 0;
	table_set_filter(t, "train");
	assert_int_equal(hay_calls, 6);
	assert_string_equal(order(t, &s), "a1 a4 a6");
	/* rows move, one arrives, a3 changes (new version), a4 changes WITHOUT a
	 * new version (the source broke its promise: it keeps the old haystack) */
	Row r0 = s.rows[0];
	s.rows[0] = s.rows[5];
	s.rows[5] = r0;
	strcpy(s.rows[2].name, "train-resnet");
	versions[3]++;
	add(&s, "a7", "train-gpt", 8);
	hay_calls = 0;
	table_refresh(t);
	assert_int_equal(hay_calls, 2); /* a3 and the new a7 only */
	assert_string_equal(order(t, &s), "a6 a3 a4 a1 a7");
	/* without row_version every row is rebuilt */
	c.row_version = NULL;
	Table *u = table_new(NULL, &c, &s, cols, 3);
	table_set_filter(u, "train");
	hay_calls = 0;
	table_refresh(u);
	assert_int_equal(hay_calls, 7);
	table_free(&u);
	table_free(&t);
}

/* A source whose column numbers go through a map, as a screen with a
 * responsive column set does: `map` gives the logical column (the key). */
typedef struct {
	Src s;
	const int *map;
} Mapped;

static const char *mapped_cell(void *ctx, size_t r, int col, char *buf, size_t sz)
{
	Mapped *m = ctx;
	return src_cell(&m->s, r, m->map[col], buf, sz);
}

static int mapped_compare(void *ctx, size_t a, size_t b, int col)
{
	Mapped *m = ctx;
	return src_compare(&m->s, a, b, m->map[col]);
}

static const TableSourceClass mapped_class = {
	.count = src_count, .row_id = src_id, .cell = mapped_cell, .compare = mapped_compare,
};

static void test_set_columns_keeps_view_state(void **state)
{
	(void)state;
	static Mapped m; /* 256 rows: keep it off the stack */
	m.s.n = 0;
	for (int i = 0; i < 20; i++) {
		char id[16], name[24];
		snprintf(id, sizeof id, "r%02d", i);
		snprintf(name, sizeof name, "job-%d", i);
		add(&m.s, id, name, i % 5);
	}
	static const int wide_map[] = { 0, 1, 2 }, narrow_map[] = { 1, 0 }, id_map[] = { 2 };
	const TableColumn wide[] = {
		{ .title = "NAME", .width = 10, .flex = 1, .key = 0 },
		{ .title = "GPUS", .width = 5, .right = true, .key = 1 },
		{ .title = "ID", .width = 6, .key = 2 },
	};
	const TableColumn narrow[] = {
		{ .title = "GPUS", .width = 5, .right = true, .key = 1 },
		{ .title = "NAME", .width = 10, .flex = 1, .key = 0 },
	};
	const TableColumn id_only[] = { { .title = "ID", .width = 6, .key = 2 } };
	WINDOW *win = newwin(6, 40, 0, 0); /* header + 5 rows */
	m.map = wide_map;
	Table *t = table_new(win, &mapped_class, &m, wide, 3);
	assert_int_equal(table_column_key(t, 2), 2);
	assert_int_equal(table_column_key(t, 3), -1);
	table_set_sort(t, 1, true);
	table_set_filter(t, "JOB-1"); /* job-1, job-10..job-19 */
	assert_int_equal(table_view_count(t), 11);
	table_move_to(t, 7);
	char before[1024];
	snprintf(before, sizeof before, "%s", order(t, &m.s));
	char sel[16];
	snprintf(sel, sizeof sel, "%s", table_selected_id(t));
	size_t top = table_top(t);
	assert_true(top > 0); /* scrolled: the restore has something to keep */

	/* the same set again changes nothing */
	assert_false(table_set_columns(t, wide, 3));

	/* GPUS moves from column 1 to column 0: the sort follows its key */
	m.map = narrow_map;
	assert_true(table_set_columns(t, narrow, 2));
	assert_int_equal(table_sort_col(t), 0);
	assert_true(table_sort_desc(t));
	assert_string_equal(table_filter(t), "JOB-1");
	assert_string_equal(order(t, &m.s), before);
	assert_string_equal(table_selected_id(t), sel);
	assert_int_equal(table_selected_pos(t), 7);
	assert_int_equal(table_top(t), top);
	assert_int_equal(table_column_key(t, 1), 0);
	/* what is drawn is the new set, sorted column marked */
	widget_draw(table_widget(t));
	char line[41];
	mvwinnstr(win, 0, 0, line, 40);
	assert_non_null(strstr(line, "GPUS"));
	assert_true(strstr(line, "GPUS") < strstr(line, "NAME"));
	assert_null(strstr(line, "ID"));

	/* back to wide: sort column 1 again, same view */
	m.map = wide_map;
	assert_true(table_set_columns(t, wide, 3));
	assert_int_equal(table_sort_col(t), 1);
	assert_string_equal(order(t, &m.s), before);
	assert_string_equal(table_selected_id(t), sel);

	/* a set without the sort column drops the sort; the filter text stays and
	 * searches the new cells (no stale haystack: the ids do not say "job") */
	m.map = id_map;
	assert_true(table_set_columns(t, id_only, 1));
	assert_int_equal(table_sort_col(t), -1);
	assert_string_equal(table_filter(t), "JOB-1");
	assert_int_equal(table_view_count(t), 0);
	table_set_filter(t, "r1");
	assert_string_equal(order(t, &m.s), "r10 r11 r12 r13 r14 r15 r16 r17 r18 r19");
	table_free(&t);
	delwin(win);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sort),
		cmocka_unit_test(test_sort_default_compare),
		cmocka_unit_test(test_filter_incremental),
		cmocka_unit_test(test_filter_narrowing_equals_full_scan),
		cmocka_unit_test(test_selection_kept_by_id),
		cmocka_unit_test(test_row_changed_moves_row),
		cmocka_unit_test(test_paging_and_state),
		cmocka_unit_test(test_draw),
		cmocka_unit_test(test_refresh_keeps_haystacks_by_version),
		cmocka_unit_test(test_set_columns_keeps_view_state),
	};
	return cmocka_run_group_tests(tests, curses_fixture_up, curses_fixture_down);
}

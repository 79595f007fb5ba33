/* table — virtualized rows from a TableSourceClass: sort index, filtered
 * view, selection by id, and drawing of the visible rows only. */
#include "widgets/table.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/sanitize.h"
#include "common/util.h"
#include "widgets/draw.h"

#define HAY_NONE UINT32_MAX
#define CELL_MAX 1024

typedef struct {
	uint32_t off;    /* haystack in the arena; HAY_NONE = not built */
	uint32_t id_off; /* the row's id when built (only with row_version) */
	uint64_t version;
} HayEntry;

struct Table {
	Widget w;
	const TableSourceClass *src;
	void *ctx;
	TableColumn *cols;
	int ncols;
	int *colw; /* laid out for the current window width */

	size_t nrows;   /* source count at the last refresh */
	size_t *sorted; /* every row, in sort order */
	size_t *view;   /* the rows passing the filter, in sort order */
	size_t nview;

	/* Lowercased haystacks, built lazily: offsets into one arena so 100k
	 * rows cost one allocation, not 100k. */
	HayEntry *hay;
	char *arena;
	size_t arena_len, arena_cap;

	/* Sort keys when the source has no compare: the sort column's text. */
	char **keys;

	char *filter;    /* as typed */
	char *filter_lc; /* lowercased, what is searched for */
	int sort_col;
	bool sort_desc;

	size_t sel;        /* view position */
	size_t sel_row;    /* source row of the selection */
	char *sel_id;      /* its id: what survives a refresh */
	size_t top;
	bool focused;
	char *empty_text;
};

static const WidgetClass table_class;

/* --- sorting ------------------------------------------------------------------ */

static const char *cell_text(Table *t, size_t row, int col, char *buf, size_t sz)
{
	buf[0] = '\0';
	const char *s = t->src->cell ? t->src->cell(t->ctx, row, col, buf, sz) : buf;
	return s ? s : "";
}

static void keys_free(Table *t)
{
	if (!t->keys)
		return;
	for (size_t i = 0; i < t->nrows; i++)
		free(t->keys[i]);
	free(t->keys);
	t->keys = NULL;
}

static void key_build(Table *t, size_t row)
{
	char buf[CELL_MAX];
	free(t->keys[row]);
	t->keys[row] = xstrdup(cell_text(t, row, t->sort_col, buf, sizeof buf));
}

static void keys_build(Table *t)
{
	keys_free(t);
	if (t->sort_col < 0 || t->src->compare || t->nrows == 0)
		return;
	t->keys = xcalloc(t->nrows, sizeof *t->keys);
	for (size_t i = 0; i < t->nrows; i++)
		key_build(t, i);
}

/* The one ordering: by column (reversed when descending), ties by source row
 * so the order is total and stable whatever qsort does. */
static int cmp_rows(Table *t, size_t a, size_t b)
{
	int c = 0;
	if (t->sort_col >= 0) {
		if (t->src->compare)
			c = t->src->compare(t->ctx, a, b, t->sort_col);
		else if (t->keys)
			c = strcasecmp(t->keys[a], t->keys[b]);
		if (t->sort_desc)
			c = -c;
	}
	if (c == 0)
		c = a < b ? -1 : a > b;
	return c;
}

static int qsort_cmp(const void *pa, const void *pb, void *ud)
{
	return cmp_rows(ud, *(const size_t *)pa, *(const size_t *)pb);
}

static void sort_all(Table *t)
{
	for (size_t i = 0; i < t->nrows; i++)
		t->sorted[i] = i;
	if (t->sort_col < 0)
		return;
	keys_build(t);
	qsort_r(t->sorted, t->nrows, sizeof *t->sorted, qsort_cmp, t);
}

/* First position in arr[0..n) whose row sorts after `row`. */
static size_t upper_bound(Table *t, const size_t *arr, size_t n, size_t row)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cmp_rows(t, arr[mid], row) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool remove_value(size_t *arr, size_t *n, size_t row)
{
	for (size_t i = 0; i < *n; i++) {
		if (arr[i] == row) {
			memmove(arr + i, arr + i + 1, (*n - i - 1) * sizeof *arr);
			(*n)--;
			return true;
		}
	}
	return false;
}

static void insert_at(size_t *arr, size_t *n, size_t pos, size_t row)
{
	memmove(arr + pos + 1, arr + pos, (*n - pos) * sizeof *arr);
	arr[pos] = row;
	(*n)++;
}

/* --- filtering ------------------------------------------------------------------ */

static void lower_ascii(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x80)
			*s = (char)tolower((unsigned char)*s);
}

static void hay_reset(Table *t)
{
	free(t->hay);
	t->hay = xmalloc((t->nrows ? t->nrows : 1) * sizeof *t->hay);
	for (size_t i = 0; i < t->nrows; i++)
		t->hay[i].off = HAY_NONE;
	t->arena_len = 0;
}

/* Appends s (n bytes + NUL) to the arena; returns its offset. */
static uint32_t arena_put(Table *t, const char *s, size_t n)
{
	if (t->arena_len + n + 1 > t->arena_cap) {
		size_t cap = t->arena_cap ? t->arena_cap : 1 << 16;
		while (t->arena_len + n + 1 > cap)
			cap *= 2;
		if (cap > UINT32_MAX) /* 4 GB of haystacks: not a console any more */
			util_oom();
		t->arena = xrealloc(t->arena, cap);
		t->arena_cap = cap;
	}
	uint32_t off = (uint32_t)t->arena_len;
	memcpy(t->arena + off, s, n);
	t->arena[off + n] = '\0';
	t->arena_len += n + 1;
	return off;
}

static const char *haystack(Table *t, size_t row)
{
	if (t->hay[row].off != HAY_NONE)
		return t->arena + t->hay[row].off;
	char buf[4096];
	const char *h;
	if (t->src->haystack) {
		buf[0] = '\0';
		h = t->src->haystack(t->ctx, row, buf, sizeof buf);
		if (!h)
			h = "";
	} else {
		size_t len = 0;
		buf[0] = '\0';
		for (int c = 0; c < t->ncols && len + 1 < sizeof buf; c++) {
			char cb[CELL_MAX];
			const char *s = cell_text(t, row, c, cb, sizeof cb);
			size_t n = strlen(s);
			if (len + n + 2 > sizeof buf)
				n = sizeof buf - len - 2;
			memcpy(buf + len, s, n);
			len += n;
			buf[len++] = ' ';
			buf[len] = '\0';
		}
		h = buf;
	}
	HayEntry *e = &t->hay[row];
	if (t->src->row_version) {
		/* remember whose haystack this is, so a refresh can keep it */
		const char *id = t->src->row_id ? t->src->row_id(t->ctx, row) : NULL;
		e->id_off = arena_put(t, id ? id : "", id ? strlen(id) : 0);
		e->version = t->src->row_version(t->ctx, row);
	}
	e->off = arena_put(t, h, strlen(h));
	lower_ascii(t->arena + e->off);
	return t->arena + e->off;
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

/* A refresh with a row_version callback: keep the haystack of every row
 * whose id and version are unchanged (a live update touches a few rows of
 * 100k; rebuilding all of them would cost ~100 ms per update while a filter
 * is active). Rows that moved keep theirs too: the match is by id. */
static void hay_carry_over(Table *t, size_t oldn)
{
	HayEntry *old = t->hay;
	size_t cached = 0;
	for (size_t i = 0; i < oldn; i++)
		cached += old[i].off != HAY_NONE;
	t->hay = NULL;
	if (cached == 0 || !t->src->row_id) {
		free(old);
		hay_reset(t);
		return;
	}
	size_t cap = 16;
	while (cap < cached * 2)
		cap *= 2;
	uint32_t *slots = xmalloc(cap * sizeof *slots); /* old index + 1; 0 = empty */
	memset(slots, 0, cap * sizeof *slots);
	for (size_t i = 0; i < oldn; i++) {
		if (old[i].off == HAY_NONE)
			continue;
		size_t j = hash_str(t->arena + old[i].id_off) & (cap - 1);
		while (slots[j])
			j = (j + 1) & (cap - 1);
		slots[j] = (uint32_t)i + 1;
	}
	t->hay = xmalloc((t->nrows ? t->nrows : 1) * sizeof *t->hay);
	size_t live = 0;
	for (size_t r = 0; r < t->nrows; r++) {
		t->hay[r].off = HAY_NONE;
		const char *id = t->src->row_id(t->ctx, r);
		if (!id)
			continue;
		for (size_t j = hash_str(id) & (cap - 1); slots[j]; j = (j + 1) & (cap - 1)) {
			HayEntry *o = &old[slots[j] - 1];
			if (strcmp(t->arena + o->id_off, id) != 0)
				continue;
			if (o->version == t->src->row_version(t->ctx, r)) {
				t->hay[r] = *o;
				live += strlen(t->arena + o->off) + strlen(id) + 2;
			}
			break;
		}
	}
	free(slots);
	free(old);
	/* Dropped and superseded strings stay in the arena until it is mostly
	 * garbage; then the live ones are copied into a fresh one. */
	if (t->arena_len > 4 * live + (1u << 20)) {
		char *prev = t->arena;
		t->arena = NULL;
		t->arena_len = t->arena_cap = 0;
		for (size_t r = 0; r < t->nrows; r++) {
			HayEntry *e = &t->hay[r];
			if (e->off == HAY_NONE)
				continue;
			const char *id = prev + e->id_off, *h = prev + e->off;
			e->id_off = arena_put(t, id, strlen(id));
			e->off = arena_put(t, h, strlen(h));
		}
		free(prev);
	}
}

static bool row_matches(Table *t, size_t row)
{
	if (!t->filter_lc[0])
		return true;
	return strstr(haystack(t, row), t->filter_lc) != NULL;
}

/* Keeps from `from` (n rows, in sort order) those that match, into view. */
static void filter_from(Table *t, const size_t *from, size_t n)
{
	size_t k = 0;
	if (!t->filter_lc[0]) {
		if (from != t->view)
			memcpy(t->view, from, n * sizeof *from);
		t->nview = n;
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (row_matches(t, from[i]))
			t->view[k++] = from[i];
	t->nview = k;
}

/* --- selection ------------------------------------------------------------------ */

static void set_selection_pos(Table *t, size_t pos)
{
	if (t->nview == 0) {
		t->sel = 0;
		free(t->sel_id);
		t->sel_id = NULL;
		return;
	}
	if (pos >= t->nview)
		pos = t->nview - 1;
	t->sel = pos;
	t->sel_row = t->view[pos];
	const char *id = t->src->row_id ? t->src->row_id(t->ctx, t->sel_row) : NULL;
	if (!t->sel_id || !id || strcmp(t->sel_id, id) != 0) {
		free(t->sel_id);
		t->sel_id = id ? xstrdup(id) : NULL;
	}
}

int table_page_rows(const Table *t)
{
	if (!t->w.win)
		return 1;
	int h = getmaxy(t->w.win) - 1;
	return h > 0 ? h : 1;
}

/* Keeps the selection on screen and the page full where possible. */
static void fix_top(Table *t)
{
	size_t page = (size_t)table_page_rows(t);
	if (t->nview == 0) {
		t->top = 0;
		return;
	}
	if (t->sel < t->top)
		t->top = t->sel;
	if (t->sel >= t->top + page)
		t->top = t->sel - page + 1;
	if (t->nview > page && t->top > t->nview - page)
		t->top = t->nview - page;
	if (t->nview <= page)
		t->top = 0;
}

/* After the view changed with the source unchanged: the same row number is
 * the same row, so look for it without calling row_id 100k times. */
static void reselect_row(Table *t)
{
	if (t->sel_id) {
		for (size_t i = 0; i < t->nview; i++) {
			if (t->view[i] == t->sel_row) {
				t->sel = i;
				fix_top(t);
				return;
			}
		}
	}
	set_selection_pos(t, t->sel);
	fix_top(t);
}

/* After a refresh rows may have moved: find the selection by id. */
static void reselect_id(Table *t)
{
	if (t->sel_id && t->src->row_id) {
		for (size_t i = 0; i < t->nview; i++) {
			const char *id = t->src->row_id(t->ctx, t->view[i]);
			if (id && strcmp(id, t->sel_id) == 0) {
				t->sel = i;
				t->sel_row = t->view[i];
				fix_top(t);
				return;
			}
		}
	}
	set_selection_pos(t, t->sel);
	fix_top(t);
}

/* --- public: lifecycle ------------------------------------------------------------ */

static void columns_copy(Table *t, const TableColumn *cols, int ncols)
{
	t->ncols = ncols > 0 ? ncols : 0;
	t->cols = xcalloc((size_t)t->ncols + 1, sizeof *t->cols);
	if (t->ncols)
		memcpy(t->cols, cols, (size_t)t->ncols * sizeof *cols);
	t->colw = xcalloc((size_t)t->ncols + 1, sizeof *t->colw);
}

Table *table_new(WINDOW *win, const TableSourceClass *src, void *ctx, const TableColumn *cols, int ncols)
{
	Table *t = xcalloc(1, sizeof *t);
	t->w.klass = &table_class;
	t->w.win = win;
	t->w.dirty = true;
	t->src = src;
	t->ctx = ctx;
	columns_copy(t, cols, ncols);
	t->filter = xstrdup("");
	t->filter_lc = xstrdup("");
	t->sort_col = -1;
	t->focused = true;
	table_refresh(t);
	return t;
}

static void table_destroy(Widget *w)
{
	Table *t = (Table *)w;
	keys_free(t);
	free(t->cols);
	free(t->colw);
	free(t->sorted);
	free(t->view);
	free(t->hay);
	free(t->arena);
	free(t->filter);
	free(t->filter_lc);
	free(t->sel_id);
	free(t->empty_text);
	free(t);
}

void table_free(Table **t)
{
	if (!t || !*t)
		return;
	table_destroy(&(*t)->w);
	*t = NULL;
}

Widget *table_widget(Table *t)
{
	return &t->w;
}

void table_set_window(Table *t, WINDOW *win)
{
	t->w.win = win;
	fix_top(t);
	t->w.dirty = true;
}

static bool same_columns(const Table *t, const TableColumn *cols, int ncols)
{
	if (ncols != t->ncols)
		return false;
	for (int c = 0; c < ncols; c++) {
		const TableColumn *a = &t->cols[c], *b = &cols[c];
		if (a->key != b->key || a->width != b->width || a->flex != b->flex || a->right != b->right ||
		    (a->title != b->title && (!a->title || !b->title || strcmp(a->title, b->title) != 0)))
			return false;
	}
	return true;
}

bool table_set_columns(Table *t, const TableColumn *cols, int ncols)
{
	if (ncols < 0)
		ncols = 0;
	if (same_columns(t, cols, ncols))
		return false;
	TableState st;
	table_save_state(t, &st);
	int sort_key = st.sort_col >= 0 && st.sort_col < t->ncols ? t->cols[st.sort_col].key : -1;
	bool sorted = st.sort_col >= 0 && st.sort_col < t->ncols;
	st.sort_col = -1;
	for (int c = 0; sorted && c < ncols; c++) {
		if (cols[c].key == sort_key) {
			st.sort_col = c;
			break;
		}
	}
	free(t->cols);
	free(t->colw);
	columns_copy(t, cols, ncols);
	/* Start over as a new table would: the default haystack and the sort keys
	 * are made of cells, which the new set numbers differently. */
	free(t->hay);
	t->hay = NULL;
	free(t->filter);
	free(t->filter_lc);
	t->filter = xstrdup("");
	t->filter_lc = xstrdup("");
	t->sort_col = -1;
	t->sort_desc = false;
	t->sel = t->top = 0;
	free(t->sel_id);
	t->sel_id = NULL;
	table_refresh(t);
	table_restore_state(t, &st);
	table_state_done(&st);
	return true;
}

int table_column_key(const Table *t, int col)
{
	return col >= 0 && col < t->ncols ? t->cols[col].key : -1;
}

void table_refresh(Table *t)
{
	keys_free(t);
	size_t n = t->src->count ? t->src->count(t->ctx) : 0;
	size_t oldn = t->nrows;
	t->nrows = n;
	t->sorted = xrealloc(t->sorted, (n ? n : 1) * sizeof *t->sorted);
	t->view = xrealloc(t->view, (n ? n : 1) * sizeof *t->view);
	if (t->src->row_version && t->hay)
		hay_carry_over(t, oldn);
	else
		hay_reset(t);
	sort_all(t);
	filter_from(t, t->sorted, n);
	reselect_id(t);
	t->w.dirty = true;
}

void table_row_changed(Table *t, size_t row)
{
	if (row >= t->nrows || (t->src->count && t->src->count(t->ctx) != t->nrows)) {
		table_refresh(t); /* rows came or went: that is a refresh */
		return;
	}
	t->hay[row].off = HAY_NONE;
	if (t->keys)
		key_build(t, row);
	/* move the one row to its new place rather than re-sorting everything */
	size_t n = t->nrows;
	if (remove_value(t->sorted, &n, row))
		insert_at(t->sorted, &n, upper_bound(t, t->sorted, n, row), row);
	size_t nv = t->nview;
	remove_value(t->view, &nv, row);
	if (row_matches(t, row))
		insert_at(t->view, &nv, upper_bound(t, t->view, nv, row), row);
	t->nview = nv;
	reselect_row(t);
	t->w.dirty = true;
}

bool table_prepare_filter(Table *t, size_t max_rows)
{
	size_t done = 0;
	/* in sort order, so the arena is laid out the way a filter scans it */
	for (size_t i = 0; i < t->nrows; i++) {
		size_t r = t->sorted[i];
		if (t->hay[r].off != HAY_NONE)
			continue;
		if (done++ == max_rows)
			return false;
		haystack(t, r);
	}
	return true;
}

/* --- public: filter and sort -------------------------------------------------------- */

bool table_set_filter(Table *t, const char *text)
{
	if (!text)
		text = "";
	char *lc = xstrdup(text);
	lower_ascii(lc);
	if (strcmp(lc, t->filter_lc) == 0) {
		free(t->filter);
		t->filter = xstrdup(text);
		free(lc);
		return false;
	}
	/* Matches of a longer needle that contains the old one are a subset of the
	 * old matches: scan only those (the common case while typing). */
	bool narrowing = t->filter_lc[0] && strstr(lc, t->filter_lc);
	free(t->filter);
	free(t->filter_lc);
	t->filter = xstrdup(text);
	t->filter_lc = lc;
	size_t before = t->nview;
	if (narrowing)
		filter_from(t, t->view, t->nview);
	else
		filter_from(t, t->sorted, t->nrows);
	reselect_row(t);
	t->w.dirty = true;
	return narrowing ? t->nview != before : true;
}

const char *table_filter(const Table *t)
{
	return t->filter;
}

void table_set_sort(Table *t, int col, bool desc)
{
	if (col >= t->ncols)
		col = t->ncols - 1;
	if (col < -1)
		col = -1;
	if (col == t->sort_col && desc == t->sort_desc)
		return;
	t->sort_col = col;
	t->sort_desc = desc;
	sort_all(t);
	filter_from(t, t->sorted, t->nrows);
	reselect_row(t);
	t->w.dirty = true;
}

int table_sort_col(const Table *t)
{
	return t->sort_col;
}

bool table_sort_desc(const Table *t)
{
	return t->sort_desc;
}

/* --- public: selection ------------------------------------------------------------ */

bool table_selected_row(const Table *t, size_t *row)
{
	if (t->nview == 0)
		return false;
	if (row)
		*row = t->view[t->sel];
	return true;
}

const char *table_selected_id(const Table *t)
{
	return t->nview ? t->sel_id : NULL;
}

bool table_select_id(Table *t, const char *id)
{
	if (!id || !t->src->row_id)
		return false;
	for (size_t i = 0; i < t->nview; i++) {
		const char *rid = t->src->row_id(t->ctx, t->view[i]);
		if (rid && strcmp(rid, id) == 0) {
			set_selection_pos(t, i);
			fix_top(t);
			t->w.dirty = true;
			return true;
		}
	}
	return false;
}

void table_move_to(Table *t, size_t pos)
{
	set_selection_pos(t, pos);
	fix_top(t);
	t->w.dirty = true;
}

void table_move(Table *t, long delta)
{
	if (t->nview == 0)
		return;
	long pos = (long)t->sel + delta;
	if (pos < 0)
		pos = 0;
	table_move_to(t, (size_t)pos);
}

size_t table_selected_pos(const Table *t)
{
	return t->sel;
}

size_t table_view_count(const Table *t)
{
	return t->nview;
}

size_t table_source_count(const Table *t)
{
	return t->nrows;
}

size_t table_view_row(const Table *t, size_t pos)
{
	return pos < t->nview ? t->view[pos] : 0;
}

size_t table_top(const Table *t)
{
	return t->top;
}

void table_set_focused(Table *t, bool focused)
{
	if (t->focused != focused)
		t->w.dirty = true;
	t->focused = focused;
}

void table_set_empty_text(Table *t, const char *text)
{
	free(t->empty_text);
	t->empty_text = text ? xstrdup(text) : NULL;
	t->w.dirty = true;
}

/* --- public: view state -------------------------------------------------------------- */

void table_save_state(const Table *t, TableState *st)
{
	st->filter = t->filter[0] ? xstrdup(t->filter) : NULL;
	st->sort_col = t->sort_col;
	st->sort_desc = t->sort_desc;
	st->selected_id = t->nview && t->sel_id ? xstrdup(t->sel_id) : NULL;
	st->top = t->top;
}

void table_restore_state(Table *t, const TableState *st)
{
	table_set_sort(t, st->sort_col, st->sort_desc);
	table_set_filter(t, st->filter ? st->filter : "");
	if (!st->selected_id || !table_select_id(t, st->selected_id))
		table_move_to(t, t->sel);
	/* put the page back where it was, as long as the selection stays on it */
	size_t page = (size_t)table_page_rows(t);
	size_t top = st->top;
	if (t->nview > page && top > t->nview - page)
		top = t->nview - page;
	if (t->nview <= page)
		top = 0;
	if (t->sel >= top && t->sel < top + page)
		t->top = top;
	fix_top(t);
	t->w.dirty = true;
}

void table_state_done(TableState *st)
{
	free(st->filter);
	free(st->selected_id);
	st->filter = st->selected_id = NULL;
}

/* --- drawing ---------------------------------------------------------------------- */

/* Column widths for `width` columns of screen (after the marker column):
 * fixed columns keep their width, flex ones share what is left. */
static void layout(Table *t, int width)
{
	int used = 0, flex_total = 0;
	for (int c = 0; c < t->ncols; c++) {
		t->colw[c] = t->cols[c].width > 0 ? t->cols[c].width : 1;
		used += t->colw[c] + (c ? 1 : 0);
		flex_total += t->cols[c].flex > 0 ? t->cols[c].flex : 0;
	}
	int extra = width - used;
	if (extra > 0 && flex_total > 0) {
		int given = 0, last_flex = -1;
		for (int c = 0; c < t->ncols; c++) {
			if (t->cols[c].flex <= 0)
				continue;
			int add = extra * t->cols[c].flex / flex_total;
			t->colw[c] += add;
			given += add;
			last_flex = c;
		}
		t->colw[last_flex] += extra - given;
	}
}

static void draw_header(Table *t, int width)
{
	WINDOW *win = t->w.win;
	draw_fill(win, 0, 0, 1, ROLE_HEADER);
	int x = 1;
	for (int c = 0; c < t->ncols && x < width + 1; c++) {
		if (c) {
			draw_fill(win, 0, x, 1, ROLE_HEADER);
			x++;
		}
		bool sorted = c == t->sort_col;
		char title[128];
		const char *raw = t->cols[c].title ? t->cols[c].title : "";
		if (sorted) {
			/* cut the title, never the direction glyph */
			char cut[100];
			sanitize_fit(raw, cut, sizeof cut, t->colw[c] > 1 ? t->colw[c] - 1 : 0, theme_ascii());
			snprintf(title, sizeof title, "%s%s", cut,
			         draw_glyph(t->sort_desc ? GLYPH_SORT_DESC : GLYPH_SORT_ASC));
		} else {
			snprintf(title, sizeof title, "%s", raw);
		}
		draw_text_pad(win, 0, x, t->colw[c], title, sorted ? ROLE_HEADER_SORTED : ROLE_HEADER, false);
		x += t->colw[c];
	}
	if (x < width + 1)
		draw_fill(win, 0, x, width + 1 - x, ROLE_HEADER);
}

static void draw_row(Table *t, int y, size_t pos, int width)
{
	WINDOW *win = t->w.win;
	size_t row = t->view[pos];
	bool selected = pos == t->sel;
	ThemeRole rrole = t->src->row_role ? t->src->row_role(t->ctx, row) : ROLE_DEFAULT;
	attr_t rattr = selected ? theme_attr(t->focused ? ROLE_SELECTED : ROLE_SELECTED_UNFOCUSED)
	                        : theme_attr(rrole);
	/* The marker makes the selection readable without colour or reverse
	 * video (and in a text dump of the screen). */
	draw_text_attr(win, y, 0, 1, selected ? draw_glyph(GLYPH_CURSOR) : " ", rattr, false);
	int x = 1;
	for (int c = 0; c < t->ncols && x < width + 1; c++) {
		if (c) {
			draw_text_attr(win, y, x, 1, " ", rattr, false);
			x++;
		}
		char buf[CELL_MAX];
		const char *s = cell_text(t, row, c, buf, sizeof buf);
		attr_t a = rattr;
		if (!selected && t->src->cell_role) {
			ThemeRole cr = t->src->cell_role(t->ctx, row, c);
			if (cr != ROLE_DEFAULT)
				a = theme_attr(cr);
		}
		draw_text_attr(win, y, x, t->colw[c], s, a, t->cols[c].right);
		x += t->colw[c];
	}
	if (x < width + 1)
		draw_text_attr(win, y, x, width + 1 - x, "", rattr, false);
}

static void table_draw(Widget *w)
{
	Table *t = (Table *)w;
	WINDOW *win = w->win;
	if (!win)
		return;
	/* Columns after the marker, leaving the window's last column alone: a
	 * line that ends short of the margin leaves the terminal cursor in a
	 * known place, so curses moves it with "\r" instead of an absolute
	 * address (part of keeping a selection move under 300 bytes). */
	int h = getmaxy(win), width = getmaxx(win) - 2;
	if (width < 1 || h < 1)
		return;
	layout(t, width);
	fix_top(t);
	draw_header(t, width);
	/* Every line is rewritten in full (no werase): curses compares with what
	 * the terminal shows and sends only the cells that changed. */
	for (int i = 0; i < h - 1; i++) {
		size_t pos = t->top + (size_t)i;
		if (pos < t->nview)
			draw_row(t, i + 1, pos, width);
		else if (t->nview == 0 && i == 1 && t->empty_text)
			draw_text_pad(win, i + 1, 0, width + 1, t->empty_text, ROLE_DIM, false);
		else
			draw_fill(win, i + 1, 0, width + 1, ROLE_DEFAULT);
	}
	wattrset(win, A_NORMAL);
	/* The cursor rests at the selected row: screen readers follow it, and
	 * the next frame starts next to the lines a move rewrites. */
	if (t->nview)
		wmove(win, 1 + (int)(t->sel - t->top), 0);
	w->dirty = false;
}

static WidgetResult table_key(Widget *w, const KeyEvent *ev)
{
	Table *t = (Table *)w;
	size_t old_sel = t->sel, old_top = t->top;
	long page = table_page_rows(t);
	switch (ev->action) {
	case ACTION_MOVE_UP: table_move(t, -1); break;
	case ACTION_MOVE_DOWN: table_move(t, 1); break;
	case ACTION_PAGE_UP:
		t->top = t->top > (size_t)page ? t->top - (size_t)page : 0;
		table_move(t, -page);
		break;
	case ACTION_PAGE_DOWN:
		/* scroll a whole page, like less: the selection keeps its line */
		if (t->nview > (size_t)page)
			t->top = QD_MIN(t->top + (size_t)page, t->nview - (size_t)page);
		table_move(t, page);
		break;
	case ACTION_MOVE_FIRST: table_move_to(t, 0); break;
	case ACTION_MOVE_LAST: table_move_to(t, t->nview ? t->nview - 1 : 0); break;
	case ACTION_SORT_NEXT:
	case ACTION_SORT_PREV: {
		if (t->ncols == 0)
			return W_HANDLED;
		int d = ev->action == ACTION_SORT_NEXT ? 1 : -1;
		int col = t->sort_col < 0 ? (d > 0 ? 0 : t->ncols - 1) : (t->sort_col + d + t->ncols) % t->ncols;
		table_set_sort(t, col, false);
		return W_HANDLED | W_REDRAW;
	}
	case ACTION_SORT_REVERSE:
		table_set_sort(t, t->sort_col < 0 ? 0 : t->sort_col, !t->sort_desc);
		return W_HANDLED | W_REDRAW;
	default: return W_IGNORED;
	}
	return t->sel != old_sel || t->top != old_top ? W_HANDLED | W_REDRAW : W_HANDLED;
}

static void table_resize(Widget *w)
{
	fix_top((Table *)w);
	w->dirty = true;
}

static const WidgetClass table_class = {
	.name = "table",
	.draw = table_draw,
	.key = table_key,
	.resize = table_resize,
	.destroy = table_destroy,
	.keymap_context = "table",
};

/* textview — sanitized lines with roles, scrolled by the movement actions. */
#include "widgets/textview.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "common/sanitize.h"
#include "common/util.h"
#include "widgets/draw.h"

typedef struct {
	char *text; /* sanitized */
	ThemeRole role;
	int label_cols; /* >0: the first label_cols columns are a label in ROLE_DIM */
} Line;

struct Textview {
	Widget w;
	Line *lines;
	size_t n, cap;
	size_t top;
	bool follow;         /* pinned to the last line now */
	bool follow_enabled; /* a live log: pin again when the user returns to the end */
	bool wrap;
};

static const WidgetClass textview_class;

Textview *textview_new(WINDOW *win)
{
	Textview *tv = xcalloc(1, sizeof *tv);
	tv->w.klass = &textview_class;
	tv->w.win = win;
	tv->w.dirty = true;
	return tv;
}

void textview_clear(Textview *tv)
{
	for (size_t i = 0; i < tv->n; i++)
		free(tv->lines[i].text);
	tv->n = 0;
	tv->top = 0;
	tv->w.dirty = true;
}

static void textview_destroy(Widget *w)
{
	Textview *tv = (Textview *)w;
	textview_clear(tv);
	free(tv->lines);
	free(tv);
}

void textview_free(Textview **tv)
{
	if (!tv || !*tv)
		return;
	textview_destroy(&(*tv)->w);
	*tv = NULL;
}

Widget *textview_widget(Textview *tv) { return &tv->w; }
void textview_set_window(Textview *tv, WINDOW *win) { tv->w.win = win; tv->w.dirty = true; }
size_t textview_line_count(const Textview *tv) { return tv->n; }
const char *textview_line(const Textview *tv, size_t i) { return i < tv->n ? tv->lines[i].text : ""; }
size_t textview_top(const Textview *tv) { return tv->top; }
void textview_set_wrap(Textview *tv, bool wrap) { tv->wrap = wrap; tv->w.dirty = true; }

static size_t page_rows(const Textview *tv)
{
	int h = tv->w.win ? getmaxy(tv->w.win) : 1;
	return h > 0 ? (size_t)h : 1;
}

static size_t max_top(const Textview *tv)
{
	size_t page = page_rows(tv);
	return tv->n > page ? tv->n - page : 0;
}

void textview_scroll_to(Textview *tv, size_t top)
{
	size_t m = max_top(tv);
	top = top > m ? m : top;
	if (top != tv->top)
		tv->w.dirty = true;
	tv->top = top;
	/* scrolling up leaves follow mode; reaching the end re-enters it */
	tv->follow = tv->follow_enabled && tv->top == m;
}

void textview_set_follow(Textview *tv, bool follow)
{
	tv->follow_enabled = follow;
	tv->follow = follow;
	if (follow)
		textview_scroll_to(tv, max_top(tv));
}

static void push(Textview *tv, const char *text, size_t len, ThemeRole role, int label_cols)
{
	if (tv->n == tv->cap) {
		tv->cap = tv->cap ? tv->cap * 2 : 64;
		tv->lines = xrealloc(tv->lines, tv->cap * sizeof *tv->lines);
	}
	/* sanitized output is at most 4x the input (<xx> for one C1 byte pair) */
	size_t cap = len * 4 + 1;
	char *clean = xmalloc(cap);
	sanitize_str(text, len, clean, cap, false);
	tv->lines[tv->n++] = (Line){.text = clean, .role = role, .label_cols = label_cols};
}

void textview_add(Textview *tv, const char *text, ThemeRole role)
{
	const char *p = text ? text : "";
	for (;;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		push(tv, p, len, role, 0);
		if (!nl)
			break;
		p = nl + 1;
	}
	if (tv->follow)
		tv->top = max_top(tv);
	tv->w.dirty = true;
}

void textview_addf(Textview *tv, ThemeRole role, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s;
	if (vasprintf(&s, fmt, ap) < 0)
		util_oom();
	va_end(ap);
	textview_add(tv, s, role);
	free(s);
}

void textview_add_pair(Textview *tv, const char *label, const char *value, int label_cols, ThemeRole value_role)
{
	char lab[256];
	int w = sanitize_fit(label ? label : "", lab, sizeof lab, label_cols > 1 ? label_cols - 1 : 1, theme_ascii());
	char *line = xasprintf("%s%*s%s", lab, label_cols - w > 0 ? label_cols - w : 1, "", value ? value : "");
	/* the value may not hold newlines here: one pair, one line */
	for (char *p = line; *p; p++)
		if (*p == '\n')
			*p = ' ';
	push(tv, line, strlen(line), value_role, label_cols);
	free(line);
	if (tv->follow)
		tv->top = max_top(tv);
	tv->w.dirty = true;
}

/* Bytes of s that fit in cols columns (whole characters). */
static size_t fit_bytes(const char *s, int cols)
{
	mbstate_t st = {0};
	size_t i = 0, len = strlen(s);
	int used = 0;
	while (i < len) {
		wchar_t wc;
		size_t n = mbrtowc(&wc, s + i, len - i, &st);
		if (n == (size_t)-1 || n == (size_t)-2 || n == 0)
			n = 1, wc = L'?';
		int w = wcwidth(wc);
		if (w < 0)
			w = 1;
		if (used + w > cols)
			break;
		used += w, i += n;
	}
	return i;
}

static void textview_draw(Widget *w)
{
	Textview *tv = (Textview *)w;
	WINDOW *win = w->win;
	if (!win)
		return;
	int h = getmaxy(win), width = getmaxx(win);
	if (tv->top > max_top(tv))
		tv->top = max_top(tv);
	int y = 0;
	for (size_t i = tv->top; i < tv->n && y < h; i++) {
		Line *l = &tv->lines[i];
		if (l->label_cols > 0 && l->label_cols < width) {
			/* label dim, value in its role */
			size_t lb = fit_bytes(l->text, l->label_cols);
			char lab[512];
			size_t k = lb < sizeof lab ? lb : sizeof lab - 1;
			memcpy(lab, l->text, k);
			lab[k] = '\0';
			draw_text_pad(win, y, 0, l->label_cols, lab, ROLE_DIM, false);
			draw_text_pad(win, y, l->label_cols, width - l->label_cols, l->text + lb, l->role, false);
			y++;
			continue;
		}
		if (!tv->wrap) {
			draw_text_pad(win, y++, 0, width, l->text, l->role, false);
			continue;
		}
		const char *p = l->text;
		do {
			size_t b = fit_bytes(p, width);
			if (b == 0 && *p)
				b = 1;
			char chunk[1024];
			size_t k = b < sizeof chunk ? b : sizeof chunk - 1;
			memcpy(chunk, p, k);
			chunk[k] = '\0';
			draw_text_pad(win, y++, 0, width, chunk, l->role, false);
			p += b;
		} while (*p && y < h);
	}
	for (; y < h; y++)
		draw_fill(win, y, 0, width, ROLE_DEFAULT);
	wattrset(win, A_NORMAL);
	w->dirty = false;
}

static WidgetResult textview_key(Widget *w, const KeyEvent *ev)
{
	Textview *tv = (Textview *)w;
	size_t old = tv->top, page = page_rows(tv);
	switch (ev->action) {
	case ACTION_MOVE_UP: textview_scroll_to(tv, tv->top ? tv->top - 1 : 0); break;
	case ACTION_MOVE_DOWN: textview_scroll_to(tv, tv->top + 1); break;
	case ACTION_PAGE_UP: textview_scroll_to(tv, tv->top > page ? tv->top - page : 0); break;
	case ACTION_PAGE_DOWN: textview_scroll_to(tv, tv->top + page); break;
	case ACTION_MOVE_FIRST: textview_scroll_to(tv, 0); break;
	case ACTION_MOVE_LAST: textview_scroll_to(tv, max_top(tv)); break;
	default: return W_IGNORED;
	}
	return tv->top != old ? W_HANDLED | W_REDRAW : W_HANDLED;
}

static void textview_resize(Widget *w)
{
	Textview *tv = (Textview *)w;
	if (tv->follow || tv->top > max_top(tv))
		tv->top = max_top(tv);
	w->dirty = true;
}

static const WidgetClass textview_class = {
	.name = "textview",
	.draw = textview_draw,
	.key = textview_key,
	.resize = textview_resize,
	.destroy = textview_destroy,
	.keymap_context = "text",
};

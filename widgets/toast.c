/* toast — up to four timed notices in a small window at the top right. */
#include "widgets/toast.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sanitize.h"
#include "common/util.h"

#define TOAST_MAX 4
#define TOAST_WIDTH 48

typedef struct {
	char *text;
	DrawLevel level;
	int64_t expires;
} Notice;

struct Toast {
	Widget w;
	Notice n[TOAST_MAX];
	int count;
};

static const WidgetClass toast_class;

Toast *toast_new(void)
{
	Toast *t = xcalloc(1, sizeof *t);
	t->w.klass = &toast_class;
	return t;
}

static void toast_destroy(Widget *w)
{
	Toast *t = (Toast *)w;
	for (int i = 0; i < t->count; i++)
		free(t->n[i].text);
	if (w->win)
		delwin(w->win);
	free(t);
}

void toast_free(Toast **t)
{
	if (!t || !*t)
		return;
	toast_destroy(&(*t)->w);
	*t = NULL;
}

Widget *toast_widget(Toast *t) { return &t->w; }
bool toast_visible(const Toast *t) { return t->count > 0; }
int toast_count(const Toast *t) { return t->count; }
const char *toast_text(const Toast *t, int i) { return i >= 0 && i < t->count ? t->n[i].text : ""; }

/* One line per notice, below the top line (tabs/title stay readable). */
static void place(Toast *t)
{
	if (t->count == 0) {
		if (t->w.win)
			delwin(t->w.win);
		t->w.win = NULL;
		return;
	}
	int w = QD_MIN(TOAST_WIDTH, COLS);
	int h = QD_MIN(t->count, LINES > 2 ? LINES - 2 : 1);
	int x = COLS - w, y = LINES > 2 ? 1 : 0;
	if (!t->w.win) {
		t->w.win = newwin(h, w, y, x);
	} else {
		mvwin(t->w.win, 0, 0);
		wresize(t->w.win, h, w);
		mvwin(t->w.win, y, x);
	}
	t->w.dirty = true;
}

static void drop(Toast *t, int i)
{
	free(t->n[i].text);
	memmove(t->n + i, t->n + i + 1, (size_t)(t->count - i - 1) * sizeof *t->n);
	t->count--;
}

void toast_show(Toast *t, DrawLevel level, const char *text, int64_t now_ms, int64_t ttl_ms)
{
	if (t->count == TOAST_MAX)
		drop(t, 0);
	t->n[t->count++] = (Notice){
		.text = xstrdup(text ? text : ""),
		.level = level,
		.expires = now_ms + (ttl_ms > 0 ? ttl_ms : 4000),
	};
	place(t);
}

bool toast_tick(Toast *t, int64_t now_ms)
{
	bool changed = false;
	for (int i = 0; i < t->count;) {
		if (now_ms >= t->n[i].expires) {
			drop(t, i);
			changed = true;
		} else {
			i++;
		}
	}
	if (changed)
		place(t);
	return changed;
}

static void toast_draw(Widget *w)
{
	Toast *t = (Toast *)w;
	if (!w->win)
		return;
	int h = getmaxy(w->win), width = getmaxx(w->win);
	/* newest at the top */
	for (int y = 0; y < h && y < t->count; y++) {
		Notice *n = &t->n[t->count - 1 - y];
		char buf[1024];
		snprintf(buf, sizeof buf, " %s %s: %s", draw_glyph(draw_level_glyph(n->level)), draw_level_word(n->level),
		         n->text);
		draw_text_pad(w->win, y, 0, width, buf, n->level == LEVEL_ERROR ? ROLE_STATUS_ERROR
		                                        : n->level == LEVEL_WARN ? ROLE_STATUS_WARN
		                                                                 : ROLE_TOAST, false);
	}
	wattrset(w->win, A_NORMAL);
	w->dirty = false;
}

static void toast_resize(Widget *w)
{
	Toast *t = (Toast *)w;
	if (t->count) {
		if (w->win)
			delwin(w->win);
		w->win = NULL;
		place(t);
	}
}

static const WidgetClass toast_class = {
	.name = "toast",
	.draw = toast_draw,
	.resize = toast_resize,
	.destroy = toast_destroy,
};

/* tabs — a line of labelled tabs, the active one bracketed and highlighted. */
#include "widgets/tabs.h"

#include <stdlib.h>
#include <string.h>

#include "common/sanitize.h"
#include "common/util.h"
#include "widgets/draw.h"

struct Tabs {
	Widget w;
	char **labels;
	int n;
	int active;
};

static const WidgetClass tabs_class;

Tabs *tabs_new(WINDOW *win, const char *const *labels, int n)
{
	Tabs *t = xcalloc(1, sizeof *t);
	t->w.klass = &tabs_class;
	t->w.win = win;
	t->w.dirty = true;
	t->n = n > 0 ? n : 0;
	t->labels = xcalloc((size_t)t->n + 1, sizeof *t->labels);
	for (int i = 0; i < t->n; i++)
		t->labels[i] = xstrdup(labels[i] ? labels[i] : "");
	return t;
}

static void tabs_destroy(Widget *w)
{
	Tabs *t = (Tabs *)w;
	for (int i = 0; i < t->n; i++)
		free(t->labels[i]);
	free(t->labels);
	free(t);
}

void tabs_free(Tabs **t)
{
	if (!t || !*t)
		return;
	tabs_destroy(&(*t)->w);
	*t = NULL;
}

Widget *tabs_widget(Tabs *t) { return &t->w; }
void tabs_set_window(Tabs *t, WINDOW *win) { t->w.win = win; t->w.dirty = true; }
int tabs_active(const Tabs *t) { return t->active; }
int tabs_count(const Tabs *t) { return t->n; }

void tabs_set_active(Tabs *t, int i)
{
	if (t->n == 0)
		return;
	i = i < 0 ? 0 : i >= t->n ? t->n - 1 : i;
	if (i != t->active)
		t->w.dirty = true;
	t->active = i;
}

int tabs_step(Tabs *t, int delta)
{
	if (t->n == 0)
		return 0;
	int i = ((t->active + delta) % t->n + t->n) % t->n;
	tabs_set_active(t, i);
	return t->active;
}

static void tabs_draw(Widget *w)
{
	Tabs *t = (Tabs *)w;
	WINDOW *win = w->win;
	if (!win)
		return;
	int width = getmaxx(win), x = 0;
	/* When the tabs do not all fit, start late enough that the active one shows. */
	int first = 0;
	for (;;) {
		int need = 0;
		for (int i = first; i <= t->active && i < t->n; i++)
			need += sanitize_width(t->labels[i]) + 3;
		if (need <= width || first >= t->active)
			break;
		first++;
	}
	if (first > 0)
		x += draw_text(win, 0, x, width - x, draw_glyph(GLYPH_ELLIPSIS), ROLE_TAB_INACTIVE);
	for (int i = first; i < t->n && x < width; i++) {
		bool on = i == t->active;
		char buf[256];
		snprintf(buf, sizeof buf, on ? "[%s]" : " %s ", t->labels[i]);
		x += draw_text(win, 0, x, width - x, buf, on ? ROLE_TAB_ACTIVE : ROLE_TAB_INACTIVE);
		if (x < width)
			x += draw_text(win, 0, x, 1, " ", ROLE_DEFAULT);
	}
	if (x < width)
		draw_fill(win, 0, x, width - x, ROLE_DEFAULT);
	wattrset(win, A_NORMAL);
	w->dirty = false;
}

static WidgetResult tabs_key(Widget *w, const KeyEvent *ev)
{
	Tabs *t = (Tabs *)w;
	if (ev->action == ACTION_NEXT_TAB || ev->action == ACTION_PREV_TAB) {
		int old = t->active;
		tabs_step(t, ev->action == ACTION_NEXT_TAB ? 1 : -1);
		return t->active != old ? W_HANDLED | W_REDRAW : W_HANDLED;
	}
	return W_IGNORED;
}

static const WidgetClass tabs_class = {
	.name = "tabs",
	.draw = tabs_draw,
	.key = tabs_key,
	.destroy = tabs_destroy,
	.keymap_context = NULL,
};

/* help — the key bindings of a context (then global) as a scrollable overlay. */
#include "widgets/help.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sanitize.h"
#include "common/util.h"
#include "keymaps/keymap.h"
#include "widgets/draw.h"
#include "widgets/textview.h"

struct Help {
	Widget w;
	char *context;
	char *title;
	Textview *tv;
	WINDOW *inner; /* derwin inside the frame, where the textview draws */
};

static const WidgetClass help_class;

static void add_action(Help *h, Action a, bool *listed)
{
	char keys[128];
	if (listed[a] || keymap_keys_for(h->context, a, keys, sizeof keys) == 0)
		return;
	listed[a] = true;
	char key_col[64];
	int kw = sanitize_fit(keys, key_col, sizeof key_col, 16, theme_ascii());
	char *line = xasprintf("  %s%*s %-18s %s", key_col, 16 - kw, "", action_name(a), action_help(a));
	textview_add(h->tv, line, ROLE_DEFAULT);
	free(line);
}

static void add_section(Help *h, const char *ctx, bool *listed, const char *heading)
{
	KeyBinding kb[256];
	size_t n = keymap_bindings(ctx, kb, QD_ARRAY_LEN(kb));
	if (n > QD_ARRAY_LEN(kb))
		n = QD_ARRAY_LEN(kb);
	bool any = false;
	for (size_t i = 0; i < n; i++) {
		if (kb[i].action == ACTION_NONE || listed[kb[i].action])
			continue;
		char keys[8];
		if (keymap_keys_for(h->context, kb[i].action, keys, sizeof keys) == 0)
			continue;
		if (!any) {
			textview_add(h->tv, "", ROLE_DEFAULT);
			textview_add(h->tv, heading, ROLE_HEADER_SORTED);
			any = true;
		}
		add_action(h, kb[i].action, listed);
	}
}

void help_rebuild(Help *h)
{
	textview_clear(h->tv);
	bool listed[ACTION_COUNT] = {false};
	char heading[160];
	textview_add(h->tv, "  key              action             what it does", ROLE_HEADER);
	if (h->context && strcmp(h->context, "global") != 0) {
		snprintf(heading, sizeof heading, "%s (%s)", h->title, h->context);
		add_section(h, h->context, listed, heading);
	}
	add_section(h, "global", listed, "Everywhere (global)");
	textview_add(h->tv, "", ROLE_DEFAULT);
	textview_add(h->tv, "Rebind keys in $XDG_CONFIG_HOME/quarterdeck/keys, e.g. 'bind table x release'.", ROLE_DIM);
	h->w.dirty = true;
}

static void place(Help *h)
{
	int hh = LINES - 4, ww = COLS - 8;
	if (ww > 100)
		ww = 100;
	if (hh < 6)
		hh = LINES;
	if (ww < 40)
		ww = COLS;
	/* the subwindow goes first: ncurses does not resize a window under a child */
	if (h->inner)
		delwin(h->inner);
	h->inner = NULL;
	draw_center_window(&h->w.win, hh, ww);
	int ih = getmaxy(h->w.win) - 2, iw = getmaxx(h->w.win) - 4;
	h->inner = derwin(h->w.win, ih > 1 ? ih : 1, iw > 1 ? iw : 1, 1, 2);
	syncok(h->inner, TRUE); /* writes there mark the overlay window changed */
	textview_set_window(h->tv, h->inner);
	widget_mark_dirty(&h->w);
}

Help *help_new(const char *context, const char *title)
{
	Help *h = xcalloc(1, sizeof *h);
	h->w.klass = &help_class;
	h->context = xstrdup(context ? context : "global");
	h->title = xstrdup(title ? title : "This screen");
	h->tv = textview_new(NULL);
	place(h);
	help_rebuild(h);
	return h;
}

static void help_destroy(Widget *w)
{
	Help *h = (Help *)w;
	textview_free(&h->tv);
	if (h->inner)
		delwin(h->inner);
	if (h->w.win)
		delwin(h->w.win);
	free(h->context);
	free(h->title);
	free(h);
}

void help_free(Help **h)
{
	if (!h || !*h)
		return;
	help_destroy(&(*h)->w);
	*h = NULL;
}

Widget *help_widget(Help *h) { return &h->w; }
size_t help_line_count(const Help *h) { return textview_line_count(h->tv); }
const char *help_line(const Help *h, size_t i) { return textview_line(h->tv, i); }

static void help_draw(Widget *w)
{
	Help *h = (Help *)w;
	if (!w->win)
		return;
	char title[200];
	snprintf(title, sizeof title, "Keys: %s", h->title);
	draw_frame(w->win, ROLE_MODAL_BORDER, title);
	widget_draw(textview_widget(h->tv));
	/* a hint on the bottom edge: how to leave, and whether there is more */
	int width = getmaxx(w->win), bottom = getmaxy(w->win) - 1;
	size_t top = textview_top(h->tv), n = textview_line_count(h->tv);
	size_t page = (size_t)getmaxy(h->inner);
	char hint[96];
	snprintf(hint, sizeof hint, " %s%s q/Esc close ", top > 0 ? draw_glyph(GLYPH_MORE_UP) : "",
	         top + page < n ? draw_glyph(GLYPH_MORE_DOWN) : "");
	int hw = sanitize_width(hint);
	if (hw < width - 2)
		draw_text(w->win, bottom, width - hw - 2, hw, hint, ROLE_KEY_HINT);
	wattrset(w->win, A_NORMAL);
	w->dirty = false;
}

static WidgetResult help_key(Widget *w, const KeyEvent *ev)
{
	Help *h = (Help *)w;
	switch (ev->action) {
	case ACTION_BACK:
	case ACTION_CANCEL:
	case ACTION_HELP:
	case ACTION_QUIT: return W_HANDLED | W_REDRAW | W_CLOSE;
	default: break;
	}
	if (!ev->is_keycode && (ev->key == 'q' || ev->key == 27))
		return W_HANDLED | W_REDRAW | W_CLOSE;
	WidgetResult r = widget_key(textview_widget(h->tv), ev);
	if (r & W_REDRAW)
		w->dirty = true;
	/* an overlay swallows everything else: keys must not act on the screen below */
	return r | W_HANDLED;
}

static void help_resize(Widget *w)
{
	place((Help *)w);
}

static const WidgetClass help_class = {
	.name = "help",
	.draw = help_draw,
	.key = help_key,
	.resize = help_resize,
	.destroy = help_destroy,
	.keymap_context = "help",
};

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

/* Columns of a binding line: "  " keys, " ", action name, " ", description. */
enum { INDENT = 2, KEY_COLS = 16, NAME_COLS = 18, DESC_X = INDENT + KEY_COLS + 1 + NAME_COLS + 1 };
/* Below this many description columns the columns would read worse than a
 * description on its own lines under the key. */
enum { MIN_DESC_COLS = 20, NARROW_INDENT = 6 };

typedef enum { ENTRY_BINDING, ENTRY_TEXT } EntryKind;

/* One logical item; re-flowed into screen lines for the current width. */
typedef struct {
	EntryKind kind;
	char *keys; /* ENTRY_BINDING: sanitized "j/<Down>" */
	char *name; /* ENTRY_BINDING: action name */
	char *text; /* sanitized description, heading or note ("" = blank line) */
	ThemeRole role;
	size_t first_line; /* its first line in the textview after the last flow */
} Entry;

struct Help {
	Widget w;
	char *context;
	char *title;
	Entry *e;
	size_t n, cap;
	Textview *tv;
	WINDOW *inner; /* derwin inside the frame, where the textview draws */
};

static const WidgetClass help_class;

/* --- wrapping -------------------------------------------------------------------- */

/* Bytes of the (valid, sanitized) UTF-8 character at s. */
static size_t char_len(const char *s)
{
	unsigned char c = (unsigned char)*s;
	size_t n = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
	for (size_t i = 1; i < n; i++)
		if (!s[i])
			return i;
	return n;
}

/* Display columns of the character at s (sanitize_width does the wcwidth). */
static int char_cols(const char *s, size_t n)
{
	char one[8];
	memcpy(one, s, n);
	one[n] = '\0';
	return sanitize_width(one);
}

static void push_line(char ***lines, size_t *n, size_t *cap, const char *s, size_t len)
{
	while (len > 0 && s[len - 1] == ' ')
		len--;
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 8;
		*lines = xrealloc(*lines, *cap * sizeof **lines);
	}
	(*lines)[(*n)++] = xstrndup(s, len);
}

size_t help_wrap(const char *text, int width, char ***lines)
{
	size_t n = 0, cap = 0;
	*lines = NULL;
	if (width < 1)
		width = 1;
	const char *p = text ? text : "";
	while (*p) {
		const char *start = p, *brk_end = NULL, *brk_next = NULL;
		int cols = 0;
		for (;;) {
			if (!*p) {
				push_line(lines, &n, &cap, start, (size_t)(p - start));
				break;
			}
			size_t len = char_len(p);
			int w = char_cols(p, len);
			if (*p == ' ') {
				brk_end = p, brk_next = p + 1;
				if (cols + w > width) { /* the space itself is the break */
					push_line(lines, &n, &cap, start, (size_t)(p - start));
					p++;
					break;
				}
			} else if (cols + w > width) {
				if (brk_end) { /* back to the last break: the word moves down */
					push_line(lines, &n, &cap, start, (size_t)(brk_end - start));
					p = brk_next;
				} else if (p == start) { /* one character wider than the line */
					push_line(lines, &n, &cap, p, len);
					p += len;
				} else { /* a word longer than the line: cut it */
					push_line(lines, &n, &cap, start, (size_t)(p - start));
				}
				break;
			}
			cols += w;
			p += len;
			if (p[-1] == '/')
				brk_end = brk_next = p;
		}
		/* a new line never starts with the spaces of the break */
		while (*p == ' ')
			p++;
	}
	if (n == 0)
		push_line(lines, &n, &cap, "", 0);
	return n;
}

void help_wrap_free(char ***lines, size_t n)
{
	if (!lines || !*lines)
		return;
	for (size_t i = 0; i < n; i++)
		free((*lines)[i]);
	free(*lines);
	*lines = NULL;
}

/* --- entries ---------------------------------------------------------------------- */

static char *clean(const char *s)
{
	size_t len = strlen(s), cap = len * 4 + 1;
	char *out = xmalloc(cap);
	sanitize_str(s, len, out, cap, false);
	return out;
}

static void add_entry(Help *h, EntryKind kind, const char *keys, const char *name, const char *text, ThemeRole role)
{
	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 64;
		h->e = xrealloc(h->e, h->cap * sizeof *h->e);
	}
	h->e[h->n++] = (Entry){
		.kind = kind,
		.keys = keys ? clean(keys) : NULL,
		.name = name ? clean(name) : NULL,
		.text = clean(text ? text : ""),
		.role = role,
	};
}

static void clear_entries(Help *h)
{
	for (size_t i = 0; i < h->n; i++) {
		free(h->e[i].keys);
		free(h->e[i].name);
		free(h->e[i].text);
	}
	h->n = 0;
}

static void add_action(Help *h, Action a, bool *listed)
{
	char keys[256];
	if (listed[a] || keymap_keys_for(h->context, a, keys, sizeof keys) == 0)
		return;
	listed[a] = true;
	add_entry(h, ENTRY_BINDING, keys, action_name(a), action_help(a), ROLE_DEFAULT);
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
			add_entry(h, ENTRY_TEXT, NULL, NULL, "", ROLE_DEFAULT);
			add_entry(h, ENTRY_TEXT, NULL, NULL, heading, ROLE_HEADER_SORTED);
			any = true;
		}
		add_action(h, kb[i].action, listed);
	}
}

/* --- flow: entries -> screen lines for a width ------------------------------------------- */

/* Appends `s` padded with blanks to exactly `cols` columns (s fits). */
static size_t put_padded(char *buf, size_t pos, size_t sz, const char *s, int cols)
{
	int w = sanitize_width(s);
	pos += (size_t)snprintf(buf + pos, pos < sz ? sz - pos : 0, "%s%*s", s, cols > w ? cols - w : 0, "");
	return pos < sz ? pos : sz - 1;
}

static void flow_binding(Help *h, const Entry *e, int width)
{
	bool narrow = width - DESC_X < MIN_DESC_COLS;
	char **kl, **dl;
	size_t nk = help_wrap(e->keys, narrow ? width - INDENT : KEY_COLS, &kl);
	/* narrow: "keys name" first, then the description indented under it */
	int desc_x = narrow ? NARROW_INDENT : DESC_X;
	size_t nd = help_wrap(e->text, width - desc_x > 1 ? width - desc_x : 1, &dl);
	char name[64];
	sanitize_fit(e->name, name, sizeof name, NAME_COLS, theme_ascii());
	char line[2048];
	if (narrow) {
		for (size_t i = 0; i < nk; i++) {
			size_t pos = put_padded(line, 0, sizeof line, "", INDENT);
			pos = put_padded(line, pos, sizeof line, kl[i], 0);
			if (i + 1 == nk && sanitize_width(kl[i]) + 1 + sanitize_width(name) <= width - INDENT)
				snprintf(line + pos, sizeof line - pos, " %s", name);
			textview_add(h->tv, line, e->role);
		}
		if (sanitize_width(kl[nk - 1]) + 1 + sanitize_width(name) > width - INDENT) {
			size_t pos = put_padded(line, 0, sizeof line, "", INDENT + 2);
			snprintf(line + pos, sizeof line - pos, "%s", name);
			textview_add(h->tv, line, e->role);
		}
		for (size_t i = 0; i < nd; i++) {
			size_t pos = put_padded(line, 0, sizeof line, "", desc_x);
			snprintf(line + pos, sizeof line - pos, "%s", dl[i]);
			textview_add(h->tv, line, e->role);
		}
	} else {
		size_t rows = nk > nd ? nk : nd;
		for (size_t i = 0; i < rows; i++) {
			size_t pos = put_padded(line, 0, sizeof line, "", INDENT);
			pos = put_padded(line, pos, sizeof line, i < nk ? kl[i] : "", KEY_COLS + 1);
			pos = put_padded(line, pos, sizeof line, i == 0 ? name : "", NAME_COLS + 1);
			snprintf(line + pos, sizeof line - pos, "%s", i < nd ? dl[i] : "");
			textview_add(h->tv, line, e->role);
		}
	}
	help_wrap_free(&kl, nk);
	help_wrap_free(&dl, nd);
}

/* Re-flows every entry for the inner window's width; with `keep_top` the
 * entry that was at the top of the window stays at the top (a resize), else
 * the text starts from its first line. */
static void flow(Help *h, bool keep_top)
{
	size_t top = textview_top(h->tv), keep = 0;
	for (size_t i = 0; keep_top && i < h->n && h->e[i].first_line <= top; i++)
		keep = i;
	int width = h->inner ? getmaxx(h->inner) : 72;
	textview_clear(h->tv);
	for (size_t i = 0; i < h->n; i++) {
		Entry *e = &h->e[i];
		e->first_line = textview_line_count(h->tv);
		if (e->kind == ENTRY_BINDING) {
			flow_binding(h, e, width);
			continue;
		}
		char **tl;
		size_t nt = help_wrap(e->text, width, &tl);
		for (size_t j = 0; j < nt; j++)
			textview_add(h->tv, tl[j], e->role);
		help_wrap_free(&tl, nt);
	}
	textview_scroll_to(h->tv, keep < h->n ? h->e[keep].first_line : 0);
	h->w.dirty = true;
}

void help_rebuild(Help *h)
{
	clear_entries(h);
	bool listed[ACTION_COUNT] = {false};
	char heading[160];
	add_entry(h, ENTRY_BINDING, "key", "action", "what it does", ROLE_HEADER);
	if (h->context && strcmp(h->context, "global") != 0) {
		snprintf(heading, sizeof heading, "%s (%s)", h->title, h->context);
		add_section(h, h->context, listed, heading);
	}
	add_section(h, "global", listed, "Everywhere (global)");
	add_entry(h, ENTRY_TEXT, NULL, NULL, "", ROLE_DEFAULT);
	add_entry(h, ENTRY_TEXT, NULL, NULL, "Rebind keys in $XDG_CONFIG_HOME/quarterdeck/keys, e.g. 'bind table x release'.",
	          ROLE_DIM);
	flow(h, false);
}

/* --- window ------------------------------------------------------------------------ */

static void place(Help *h)
{
	/* At 80 columns the description column needs the room: 2 columns of the
	 * screen below stay visible on each side. */
	int hh = LINES - 4, ww = COLS >= 108 ? 100 : COLS - 4;
	if (hh < 6)
		hh = LINES;
	if (ww < 40)
		ww = COLS;
	/* the subwindow goes first: ncurses does not resize a window under a child */
	if (h->inner)
		delwin(h->inner);
	h->inner = NULL;
	draw_center_window(&h->w.win, hh, ww);
	werase(h->w.win); /* a resized window keeps its old cells: the old frame must go */
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
	clear_entries(h);
	free(h->e);
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
size_t help_top(const Help *h) { return textview_top(h->tv); }

size_t help_page(const Help *h)
{
	int rows = h->inner ? getmaxy(h->inner) : 1;
	return rows > 0 ? (size_t)rows : 1;
}

const char *help_position(const Help *h, char *buf, size_t sz)
{
	size_t top = help_top(h), page = help_page(h), n = help_line_count(h);
	if (n <= page)
		snprintf(buf, sz, "%s", "");
	else
		snprintf(buf, sz, "%zu-%zu/%zu", top + 1, top + page < n ? top + page : n, n);
	return buf;
}

static void help_draw(Widget *w)
{
	Help *h = (Help *)w;
	if (!w->win)
		return;
	char title[200];
	snprintf(title, sizeof title, "Keys: %s", h->title);
	draw_frame(w->win, ROLE_MODAL_BORDER, title);
	widget_draw(textview_widget(h->tv));
	/* The bottom edge: where we are when it scrolls (arrows, not colour, say
	 * which way there is more), and the keys that close it, from the keymap. */
	int width = getmaxx(w->win), bottom = getmaxy(w->win) - 1;
	size_t top = help_top(h), page = help_page(h), n = help_line_count(h);
	char pos[64], keys[64], hint[192];
	help_position(h, pos, sizeof pos);
	if (keymap_keys_for(help_class.keymap_context, ACTION_BACK, keys, sizeof keys) == 0)
		snprintf(keys, sizeof keys, "%s", "");
	snprintf(hint, sizeof hint, " %s%s%s%s%s%s%s ", pos, pos[0] ? " " : "", top > 0 ? draw_glyph(GLYPH_MORE_UP) : "",
	         top + page < n ? draw_glyph(GLYPH_MORE_DOWN) : "", pos[0] && keys[0] ? " " : "", keys,
	         keys[0] ? " close" : "");
	int hw = sanitize_width(hint);
	if (hw > width - 4) /* a narrow window: the position matters more than the close hint */
		snprintf(hint, sizeof hint, " %s ", pos[0] ? pos : keys);
	hw = sanitize_width(hint);
	if (hw > 2 && hw < width - 2)
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
	WidgetResult r = widget_key(textview_widget(h->tv), ev);
	if (r & W_REDRAW)
		w->dirty = true;
	/* an overlay swallows everything else: keys must not act on the screen below */
	return r | W_HANDLED;
}

static void help_resize(Widget *w)
{
	Help *h = (Help *)w;
	place(h);
	flow(h, true);
}

static const WidgetClass help_class = {
	.name = "help",
	.draw = help_draw,
	.key = help_key,
	.resize = help_resize,
	.destroy = help_destroy,
	.keymap_context = "help",
};

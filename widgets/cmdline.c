/* cmdline — a one-line editor over a wide-character buffer, with history. */
#include "widgets/cmdline.h"

#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <wctype.h>

#include "common/sanitize.h"
#include "common/util.h"
#include "widgets/draw.h"

#define HISTORY_MAX 100

struct Cmdline {
	Widget w;
	char *prompt;
	wchar_t *buf; /* max + 1 */
	size_t len, cur, max;
	char *utf8;   /* cmdline_text() cache */
	bool utf8_stale;
	CmdlineOutcome outcome;
	CmdlineChangeFn on_change;
	void *ud;
	char **hist;
	size_t nhist;
	size_t hpos;  /* nhist = editing a new line */
	char *stash;  /* the line being edited while walking history */
};

static const WidgetClass cmdline_class;

Cmdline *cmdline_new(WINDOW *win, const char *prompt, size_t max_chars)
{
	Cmdline *c = xcalloc(1, sizeof *c);
	c->w.klass = &cmdline_class;
	c->w.win = win;
	c->w.dirty = true;
	c->prompt = xstrdup(prompt ? prompt : "");
	c->max = max_chars ? max_chars : 1024;
	c->buf = xcalloc(c->max + 1, sizeof *c->buf);
	c->utf8 = xstrdup("");
	c->hist = xcalloc(HISTORY_MAX, sizeof *c->hist);
	return c;
}

static void cmdline_destroy(Widget *w)
{
	Cmdline *c = (Cmdline *)w;
	for (size_t i = 0; i < c->nhist; i++)
		free(c->hist[i]);
	free(c->hist);
	free(c->stash);
	free(c->prompt);
	free(c->buf);
	free(c->utf8);
	free(c);
}

void cmdline_free(Cmdline **c)
{
	if (!c || !*c)
		return;
	cmdline_destroy(&(*c)->w);
	*c = NULL;
}

Widget *cmdline_widget(Cmdline *c) { return &c->w; }
void cmdline_set_window(Cmdline *c, WINDOW *win) { c->w.win = win; c->w.dirty = true; }
CmdlineOutcome cmdline_outcome(const Cmdline *c) { return c->outcome; }
size_t cmdline_length(const Cmdline *c) { return c->len; }
size_t cmdline_cursor(const Cmdline *c) { return c->cur; }

void cmdline_set_on_change(Cmdline *c, CmdlineChangeFn fn, void *ud)
{
	c->on_change = fn;
	c->ud = ud;
}

const char *cmdline_text(const Cmdline *c)
{
	Cmdline *m = (Cmdline *)c; /* the UTF-8 copy is a cache */
	if (m->utf8_stale) {
		free(m->utf8);
		size_t cap = m->len * MB_CUR_MAX + 1, pos = 0;
		m->utf8 = xmalloc(cap > 4 ? cap : 4);
		mbstate_t st = {0};
		for (size_t i = 0; i < m->len; i++) {
			size_t n = wcrtomb(m->utf8 + pos, m->buf[i], &st);
			if (n != (size_t)-1)
				pos += n;
		}
		m->utf8[pos] = '\0';
		m->utf8_stale = false;
	}
	return m->utf8;
}

void cmdline_set_text(Cmdline *c, const char *text)
{
	c->len = c->cur = 0;
	if (text) {
		mbstate_t st = {0};
		const char *p = text;
		size_t left = strlen(text);
		while (left && c->len < c->max) {
			wchar_t wc;
			size_t n = mbrtowc(&wc, p, left, &st);
			if (n == (size_t)-1 || n == (size_t)-2) {
				wc = 0xfffd, n = 1;
				memset(&st, 0, sizeof st);
			} else if (n == 0) {
				break;
			}
			/* never keep a control character in the text */
			if (!iswcntrl((wint_t)wc))
				c->buf[c->len++] = wc;
			p += n, left -= n;
		}
	}
	c->buf[c->len] = 0;
	c->cur = c->len;
	c->utf8_stale = true;
	c->w.dirty = true;
}

void cmdline_open(Cmdline *c, const char *prompt, const char *initial)
{
	if (prompt) {
		free(c->prompt);
		c->prompt = xstrdup(prompt);
	}
	cmdline_set_text(c, initial);
	c->outcome = CMDLINE_EDITING;
	c->hpos = c->nhist;
	free(c->stash);
	c->stash = NULL;
}

void cmdline_history_add(Cmdline *c, const char *text)
{
	if (!text || !*text)
		return;
	if (c->nhist && strcmp(c->hist[c->nhist - 1], text) == 0)
		return;
	if (c->nhist == HISTORY_MAX) {
		free(c->hist[0]);
		memmove(c->hist, c->hist + 1, (HISTORY_MAX - 1) * sizeof *c->hist);
		c->nhist--;
	}
	c->hist[c->nhist++] = xstrdup(text);
	c->hpos = c->nhist;
}

static void changed(Cmdline *c)
{
	c->utf8_stale = true;
	c->w.dirty = true;
	if (c->on_change)
		c->on_change(c->ud, cmdline_text(c));
}

static void delete_range(Cmdline *c, size_t from, size_t to)
{
	memmove(c->buf + from, c->buf + to, (c->len - to + 1) * sizeof *c->buf);
	c->len -= to - from;
	c->cur = from;
}

static void history_step(Cmdline *c, int d)
{
	if (c->nhist == 0)
		return;
	if (d < 0 && c->hpos == 0)
		return;
	if (d > 0 && c->hpos >= c->nhist)
		return;
	if (c->hpos == c->nhist) {
		free(c->stash);
		c->stash = xstrdup(cmdline_text(c));
	}
	c->hpos = d < 0 ? c->hpos - 1 : c->hpos + 1;
	cmdline_set_text(c, c->hpos == c->nhist ? c->stash : c->hist[c->hpos]);
	changed(c);
}

WidgetResult cmdline_key(Cmdline *c, const KeyEvent *ev)
{
	int k = ev->key;
	const WidgetResult done = W_HANDLED | W_REDRAW;
	if (ev->is_keycode) {
		switch (k) {
		case KEY_ENTER: goto submit;
		case KEY_BACKSPACE: goto backspace;
		case KEY_DC:
			if (c->cur < c->len) {
				delete_range(c, c->cur, c->cur + 1);
				changed(c);
			}
			return done;
		case KEY_LEFT: if (c->cur) c->cur--; c->w.dirty = true; return done;
		case KEY_RIGHT: if (c->cur < c->len) c->cur++; c->w.dirty = true; return done;
		case KEY_HOME: c->cur = 0; c->w.dirty = true; return done;
		case KEY_END: c->cur = c->len; c->w.dirty = true; return done;
		case KEY_UP: history_step(c, -1); return done;
		case KEY_DOWN: history_step(c, 1); return done;
		default: return W_IGNORED;
		}
	}
	switch (k) {
	case '\r':
	case '\n':
	submit:
		c->outcome = CMDLINE_SUBMITTED;
		cmdline_history_add(c, cmdline_text(c));
		return done | W_CLOSE;
	case 27: /* Esc */
	case 7:  /* Ctrl-G, as in emacs and readline */
		c->outcome = CMDLINE_CANCELLED;
		return done | W_CLOSE;
	case 127:
	case 8:
	backspace:
		if (c->cur) {
			delete_range(c, c->cur - 1, c->cur);
			changed(c);
		} else if (c->len == 0) {
			/* backspace on an empty line leaves it, like vim's : line */
			c->outcome = CMDLINE_CANCELLED;
			return done | W_CLOSE;
		}
		return done;
	case 1: c->cur = 0; c->w.dirty = true; return done;      /* Ctrl-A */
	case 5: c->cur = c->len; c->w.dirty = true; return done; /* Ctrl-E */
	case 2: if (c->cur) c->cur--; c->w.dirty = true; return done;          /* Ctrl-B */
	case 6: if (c->cur < c->len) c->cur++; c->w.dirty = true; return done; /* Ctrl-F */
	case 21: /* Ctrl-U: kill to the start */
		if (c->cur) {
			delete_range(c, 0, c->cur);
			changed(c);
		}
		return done;
	case 11: /* Ctrl-K: kill to the end */
		if (c->cur < c->len) {
			c->len = c->cur;
			c->buf[c->len] = 0;
			changed(c);
		}
		return done;
	case 23: { /* Ctrl-W: kill the word before the cursor */
		size_t i = c->cur;
		while (i && iswspace((wint_t)c->buf[i - 1]))
			i--;
		while (i && !iswspace((wint_t)c->buf[i - 1]))
			i--;
		if (i != c->cur) {
			delete_range(c, i, c->cur);
			changed(c);
		}
		return done;
	}
	case 16: history_step(c, -1); return done; /* Ctrl-P */
	case 14: history_step(c, 1); return done;  /* Ctrl-N */
	default: break;
	}
	if (k < 32 || k == 127 || (k >= 0x80 && k < 0xa0) || iswcntrl((wint_t)k))
		return W_HANDLED; /* other controls: swallow, never insert */
	if (c->len >= c->max) {
		beep();
		return W_HANDLED;
	}
	memmove(c->buf + c->cur + 1, c->buf + c->cur, (c->len - c->cur + 1) * sizeof *c->buf);
	c->buf[c->cur++] = (wchar_t)k;
	c->len++;
	changed(c);
	return done;
}

static int wc_width(wchar_t wc)
{
	int w = wcwidth(wc);
	return w < 0 ? 1 : w;
}

int cmdline_draw_at(Cmdline *c, WINDOW *win, int y, int x, int cols, ThemeRole role, bool show_cursor)
{
	if (!win || cols <= 0)
		return x;
	int pw = c->prompt[0] ? draw_text(win, y, x, cols, c->prompt, role) : 0;
	int room = cols - pw;
	if (room <= 1)
		return x + pw;
	/* Scroll horizontally so the cursor (and one cell after it) fits. */
	size_t first = 0;
	int before = 0;
	for (size_t i = 0; i < c->cur; i++)
		before += wc_width(c->buf[i]);
	while (before >= room && first < c->cur)
		before -= wc_width(c->buf[first++]);
	wattrset(win, theme_attr(role));
	wmove(win, y, x + pw);
	int used = 0;
	for (size_t i = first; i < c->len; i++) {
		int w = wc_width(c->buf[i]);
		if (used + w > room)
			break;
		wchar_t s[2] = {c->buf[i], 0};
		waddnwstr(win, s, 1);
		used += w;
	}
	for (; used < room; used++)
		waddch(win, ' ');
	int cx = x + pw + before;
	if (show_cursor)
		wmove(win, y, cx);
	return cx;
}

static void cmdline_draw(Widget *w)
{
	Cmdline *c = (Cmdline *)w;
	if (!w->win)
		return;
	cmdline_draw_at(c, w->win, 0, 0, getmaxx(w->win), ROLE_INPUT, true);
	w->dirty = false;
}

static WidgetResult cmdline_widget_key(Widget *w, const KeyEvent *ev)
{
	return cmdline_key((Cmdline *)w, ev);
}

static const WidgetClass cmdline_class = {
	.name = "cmdline",
	.draw = cmdline_draw,
	.key = cmdline_widget_key,
	.destroy = cmdline_destroy,
	.keymap_context = "cmdline",
};

/* modal — a centered dialog with buttons and an optional text input. */
#include "widgets/modal.h"

#include <stdlib.h>
#include <string.h>

#include "common/sanitize.h"
#include "common/util.h"
#include "widgets/cmdline.h"
#include "widgets/draw.h"

enum { FOCUS_INPUT, FOCUS_ACCEPT, FOCUS_CANCEL };

struct Modal {
	Widget w;
	char *title;
	char **lines; /* the body, sanitized and wrapped for the current width */
	size_t nlines;
	char *body;   /* sanitized, unwrapped */
	char *accept;
	char *cancel; /* NULL = info box */
	bool danger;
	char *input_label;
	bool input_required;
	Cmdline *input; /* NULL = none */
	int focus;
	bool refused;   /* accept was pressed with a required input empty */
	ModalOutcome outcome;
	ModalDoneFn done;
	void *ud;
	void *userdata;
};

static const WidgetClass modal_class;

static void free_lines(Modal *m)
{
	for (size_t i = 0; i < m->nlines; i++)
		free(m->lines[i]);
	free(m->lines);
	m->lines = NULL;
	m->nlines = 0;
}

/* Greedy word wrap at `width` columns; words longer than a line are cut. */
static void wrap_body(Modal *m, int width)
{
	free_lines(m);
	size_t cap = 8;
	m->lines = xmalloc(cap * sizeof *m->lines);
	const char *p = m->body;
	for (;;) {
		const char *nl = strchr(p, '\n');
		size_t plen = nl ? (size_t)(nl - p) : strlen(p);
		char *para = xstrndup(p, plen);
		char *s = para;
		do {
			/* take as many words as fit */
			char line[1024];
			size_t best = 0, i = 0;
			while (s[i]) {
				while (s[i] && s[i] != ' ')
					i++;
				if (i >= sizeof line)
					break;
				memcpy(line, s, i);
				line[i] = '\0';
				if (sanitize_width(line) > width)
					break;
				best = i;
				while (s[i] == ' ')
					i++;
			}
			if (best == 0 && *s) { /* one word too long: cut it */
				char cut[1024];
				sanitize_fit(s, cut, sizeof cut, width, theme_ascii());
				best = strlen(cut);
				const char *ell = draw_glyph(GLYPH_ELLIPSIS);
				size_t el = strlen(ell);
				if (best >= el && strcmp(cut + best - el, ell) == 0)
					best -= el;
				if (best == 0)
					best = 1;
			}
			if (m->nlines == cap)
				m->lines = xrealloc(m->lines, (cap *= 2) * sizeof *m->lines);
			m->lines[m->nlines++] = xstrndup(s, best);
			s += best;
			while (*s == ' ')
				s++;
		} while (*s);
		free(para);
		if (!nl)
			break;
		p = nl + 1;
	}
}

static void place(Modal *m)
{
	int maxw = COLS - 4 < 72 ? COLS - 4 : 72;
	if (maxw < 20)
		maxw = COLS;
	int bodyw = sanitize_width(m->body);
	int tw = sanitize_width(m->title) + 6;
	int w = bodyw + 4 > tw ? bodyw + 4 : tw;
	if (w < 40)
		w = 40;
	if (w > maxw)
		w = maxw;
	wrap_body(m, w - 4 > 1 ? w - 4 : 1);
	/* frame, blank, body, blank, [input, blank], buttons, frame */
	int h = (int)m->nlines + 5 + (m->input ? 3 : 0);
	draw_center_window(&m->w.win, h, w);
	m->w.dirty = true;
}

Modal *modal_new(const ModalSpec *spec)
{
	Modal *m = xcalloc(1, sizeof *m);
	m->w.klass = &modal_class;
	m->title = xstrdup(spec->title ? spec->title : "");
	const char *body = spec->body ? spec->body : "";
	size_t cap = strlen(body) * 4 + 1;
	m->body = xmalloc(cap);
	sanitize_str(body, strlen(body), m->body, cap, true);
	m->accept = xstrdup(spec->accept_label ? spec->accept_label : "OK");
	m->cancel = spec->cancel_label ? xstrdup(spec->cancel_label) : NULL;
	m->danger = spec->danger;
	if (spec->input_label) {
		m->input_label = xstrdup(spec->input_label);
		m->input_required = spec->input_required;
		m->input = cmdline_new(NULL, NULL, spec->input_max ? spec->input_max : 256);
		cmdline_open(m->input, NULL, spec->input_initial);
	}
	/* a destructive confirm starts on Cancel, so a stray Enter is harmless;
	 * one with a required reason starts in the reason field */
	if (m->input && m->input_required)
		m->focus = FOCUS_INPUT;
	else if (m->danger && m->cancel)
		m->focus = FOCUS_CANCEL;
	else if (m->input)
		m->focus = FOCUS_INPUT;
	else
		m->focus = FOCUS_ACCEPT;
	place(m);
	return m;
}

Modal *modal_confirm_new(const char *title, const char *body, const char *accept_label, bool danger)
{
	ModalSpec spec = {
		.title = title, .body = body, .accept_label = accept_label,
		.cancel_label = "Cancel", .danger = danger,
	};
	return modal_new(&spec);
}

static void modal_destroy(Widget *w)
{
	Modal *m = (Modal *)w;
	free_lines(m);
	cmdline_free(&m->input);
	if (m->w.win)
		delwin(m->w.win);
	free(m->title);
	free(m->body);
	free(m->accept);
	free(m->cancel);
	free(m->input_label);
	free(m);
}

void modal_free(Modal **m)
{
	if (!m || !*m)
		return;
	modal_destroy(&(*m)->w);
	*m = NULL;
}

Widget *modal_widget(Modal *m) { return &m->w; }
void modal_set_callback(Modal *m, ModalDoneFn fn, void *ud) { m->done = fn, m->ud = ud; }
void modal_set_userdata(Modal *m, void *data) { m->userdata = data; }
void *modal_userdata(const Modal *m) { return m->userdata; }
ModalOutcome modal_outcome(const Modal *m) { return m->outcome; }
const char *modal_input(const Modal *m) { return m->input ? cmdline_text(m->input) : ""; }
int modal_focus(const Modal *m) { return m->focus; }

static bool input_blank(const Modal *m)
{
	for (const char *p = modal_input(m); *p; p++)
		if (*p != ' ')
			return false;
	return true;
}

static WidgetResult finish(Modal *m, ModalOutcome o)
{
	if (o == MODAL_ACCEPTED && m->input && m->input_required && input_blank(m)) {
		m->refused = true;
		m->focus = FOCUS_INPUT;
		m->w.dirty = true;
		return W_HANDLED | W_REDRAW;
	}
	if (m->outcome != MODAL_PENDING)
		return W_HANDLED;
	m->outcome = o;
	if (m->done)
		m->done(m->ud, m, o);
	return W_HANDLED | W_REDRAW | W_CLOSE;
}

static void step_focus(Modal *m, int d)
{
	int order[3], n = 0;
	if (m->input)
		order[n++] = FOCUS_INPUT;
	order[n++] = FOCUS_ACCEPT;
	if (m->cancel)
		order[n++] = FOCUS_CANCEL;
	int i = 0;
	while (i < n && order[i] != m->focus)
		i++;
	m->focus = order[((i + d) % n + n) % n];
	m->w.dirty = true;
}

static WidgetResult modal_key(Widget *w, const KeyEvent *ev)
{
	Modal *m = (Modal *)w;
	const WidgetResult moved = W_HANDLED | W_REDRAW;
	/* Tab and Esc mean the same in the input as on the buttons */
	if (ev->action == ACTION_CANCEL || ev->action == ACTION_BACK || (!ev->is_keycode && ev->key == 27))
		return finish(m, MODAL_CANCELLED);
	if (ev->action == ACTION_NEXT_FIELD || ev->action == ACTION_PREV_FIELD ||
	    (!ev->is_keycode && ev->key == '\t') || (ev->is_keycode && ev->key == KEY_BTAB)) {
		/* in the input, Left/Right edit the text rather than move the focus */
		bool arrow = ev->is_keycode && (ev->key == KEY_LEFT || ev->key == KEY_RIGHT);
		if (!(arrow && m->focus == FOCUS_INPUT)) {
			bool back = ev->action == ACTION_PREV_FIELD || (ev->is_keycode && ev->key == KEY_BTAB);
			step_focus(m, back ? -1 : 1);
			return moved;
		}
	}
	bool enter = ev->action == ACTION_SUBMIT || (!ev->is_keycode && (ev->key == '\n' || ev->key == '\r')) ||
	             (ev->is_keycode && ev->key == KEY_ENTER);
	if (m->focus == FOCUS_INPUT) {
		if (enter)
			return finish(m, MODAL_ACCEPTED);
		WidgetResult r = cmdline_key(m->input, ev);
		if (r & W_CLOSE) /* the editor's own Esc/empty-backspace: not a decision */
			cmdline_open(m->input, NULL, cmdline_text(m->input));
		if (m->refused && !input_blank(m))
			m->refused = false;
		m->w.dirty = true;
		return W_HANDLED | W_REDRAW;
	}
	if (enter)
		return finish(m, m->focus == FOCUS_CANCEL ? MODAL_CANCELLED : MODAL_ACCEPTED);
	if (ev->is_keycode && (ev->key == KEY_LEFT || ev->key == KEY_RIGHT)) {
		step_focus(m, ev->key == KEY_LEFT ? -1 : 1);
		return moved;
	}
	/* y/n answer a confirm directly; a modal swallows everything else */
	if (!ev->is_keycode && m->cancel && !m->input && (ev->key == 'n' || ev->key == 'N'))
		return finish(m, MODAL_CANCELLED);
	return W_HANDLED;
}

static void draw_button(WINDOW *win, int y, int x, const char *label, bool focused, bool danger)
{
	char buf[128];
	snprintf(buf, sizeof buf, focused ? "[ %s ]" : "  %s  ", label);
	(void)danger;
	draw_text(win, y, x, getmaxx(win) - x - 1, buf, focused ? ROLE_BUTTON_FOCUSED : ROLE_BUTTON);
}

static void modal_draw(Widget *w)
{
	Modal *m = (Modal *)w;
	WINDOW *win = w->win;
	if (!win)
		return;
	int h = getmaxy(win), width = getmaxx(win);
	ThemeRole frame = m->danger ? ROLE_MODAL_DANGER : ROLE_MODAL_BORDER;
	for (int y = 0; y < h; y++)
		draw_fill(win, y, 0, width, ROLE_DEFAULT);
	char title[256];
	snprintf(title, sizeof title, "%s%s", m->danger ? (theme_ascii() ? "! " : "\xe2\x9a\xa0 ") : "", m->title);
	draw_frame(win, frame, title);
	int y = 2;
	for (size_t i = 0; i < m->nlines && y < h - 2; i++)
		draw_text(win, y++, 2, width - 4, m->lines[i], ROLE_DEFAULT);
	int cursor_x = -1, cursor_y = -1;
	if (m->input) {
		y++;
		char label[128];
		snprintf(label, sizeof label, "%s%s: ", m->input_label, m->input_required ? " (required)" : "");
		int lw = draw_text(win, y, 2, width - 4, label, m->refused ? ROLE_STATUS_ERROR : ROLE_DEFAULT);
		if (width - 4 - lw > 4) {
			cursor_x = cmdline_draw_at(m->input, win, y, 2 + lw, width - 4 - lw,
			                           m->focus == FOCUS_INPUT ? ROLE_INPUT : ROLE_BUTTON, false);
			cursor_y = y;
		}
		y++;
		if (m->refused)
			draw_text(win, y, 2, width - 4, "A reason is required.", ROLE_STATUS_ERROR);
		y++;
	}
	y = h - 2;
	/* buttons right-aligned: [ Accept ]  [ Cancel ] */
	int aw = sanitize_width(m->accept) + 4, cw = m->cancel ? sanitize_width(m->cancel) + 4 : 0;
	int x = width - 2 - aw - (m->cancel ? cw + 2 : 0);
	if (x < 2)
		x = 2;
	draw_button(win, y, x, m->accept, m->focus == FOCUS_ACCEPT, m->danger);
	if (m->cancel)
		draw_button(win, y, x + aw + 2, m->cancel, m->focus == FOCUS_CANCEL, false);
	if (m->focus == FOCUS_INPUT && cursor_y >= 0)
		wmove(win, cursor_y, cursor_x);
	wattrset(win, A_NORMAL);
	w->dirty = false;
}

static void modal_resize(Widget *w)
{
	place((Modal *)w);
}

static const WidgetClass modal_class = {
	.name = "modal",
	.draw = modal_draw,
	.key = modal_key,
	.resize = modal_resize,
	.destroy = modal_destroy,
	.keymap_context = "modal",
};

/* statusline — mode | message or hints | connection, on one line. */
#include "widgets/statusline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sanitize.h"
#include "common/util.h"

struct Statusline {
	Widget w;
	char *mode;
	char *hints;
	char *msg;
	DrawLevel level;
	int64_t expires; /* 0 = never */
	char *conn;
	ThemeRole conn_role;
};

static const WidgetClass statusline_class;

static void replace(char **dst, const char *s)
{
	free(*dst);
	*dst = xstrdup(s ? s : "");
}

Statusline *statusline_new(WINDOW *win)
{
	Statusline *s = xcalloc(1, sizeof *s);
	s->w.klass = &statusline_class;
	s->w.win = win;
	s->w.dirty = true;
	s->mode = xstrdup("");
	s->hints = xstrdup("");
	s->msg = xstrdup("");
	s->conn = xstrdup("");
	s->conn_role = ROLE_STATUS_BAR;
	return s;
}

static void statusline_destroy(Widget *w)
{
	Statusline *s = (Statusline *)w;
	free(s->mode);
	free(s->hints);
	free(s->msg);
	free(s->conn);
	free(s);
}

void statusline_free(Statusline **s)
{
	if (!s || !*s)
		return;
	statusline_destroy(&(*s)->w);
	*s = NULL;
}

Widget *statusline_widget(Statusline *s) { return &s->w; }
void statusline_set_window(Statusline *s, WINDOW *win) { s->w.win = win; s->w.dirty = true; }

/* Setters mark dirty only on a real change, so a steady state draws nothing. */
static void set_text(Statusline *s, char **dst, const char *text)
{
	if (strcmp(*dst, text ? text : "") == 0)
		return;
	replace(dst, text);
	s->w.dirty = true;
}

void statusline_set_mode(Statusline *s, const char *text) { set_text(s, &s->mode, text); }
void statusline_set_hints(Statusline *s, const char *text) { set_text(s, &s->hints, text); }

void statusline_set_message(Statusline *s, DrawLevel level, const char *text, int64_t now_ms, int64_t ttl_ms)
{
	replace(&s->msg, text);
	s->level = level;
	s->expires = ttl_ms > 0 ? now_ms + ttl_ms : 0;
	s->w.dirty = true;
}

void statusline_clear_message(Statusline *s)
{
	set_text(s, &s->msg, "");
}

void statusline_set_connection(Statusline *s, const char *text, ThemeRole role)
{
	if (role != s->conn_role)
		s->w.dirty = true;
	s->conn_role = role;
	set_text(s, &s->conn, text);
}

bool statusline_tick(Statusline *s, int64_t now_ms)
{
	if (s->msg[0] && s->expires && now_ms >= s->expires) {
		replace(&s->msg, "");
		s->expires = 0;
		s->w.dirty = true;
		return true;
	}
	return false;
}

const char *statusline_message(const Statusline *s)
{
	return s->msg;
}

static void statusline_draw(Widget *w)
{
	Statusline *s = (Statusline *)w;
	WINDOW *win = w->win;
	if (!win)
		return;
	int width = getmaxx(win);
	/* Right side first: the connection state must always be readable. */
	int cw = sanitize_width(s->conn);
	if (cw > width / 2)
		cw = width / 2;
	int left_room = width - (cw ? cw + 1 : 0);
	int x = 0;
	if (s->mode[0] && left_room > 0) {
		x += draw_text(win, 0, x, QD_MIN(left_room, 24), s->mode, ROLE_KEY_HINT);
		if (x < left_room)
			x += draw_text(win, 0, x, 1, " ", ROLE_STATUS_BAR);
	}
	if (x < left_room) {
		if (s->msg[0]) {
			char buf[1024];
			snprintf(buf, sizeof buf, "%s %s: %s", draw_glyph(draw_level_glyph(s->level)),
			         draw_level_word(s->level), s->msg);
			x += draw_text(win, 0, x, left_room - x, buf, draw_level_role(s->level));
		} else {
			x += draw_text(win, 0, x, left_room - x, s->hints, ROLE_STATUS_BAR);
		}
	}
	if (x < width - cw)
		draw_fill(win, 0, x, width - cw - x, ROLE_STATUS_BAR);
	if (cw)
		draw_text_pad(win, 0, width - cw, cw, s->conn, s->conn_role, true);
	wattrset(win, A_NORMAL);
	w->dirty = false;
}

static const WidgetClass statusline_class = {
	.name = "statusline",
	.draw = statusline_draw,
	.destroy = statusline_destroy,
};

/* draw — sanitized, width-fitted text, glyphs, badges and frames. */
#include "widgets/draw.h"

#include <string.h>

#include "common/sanitize.h"

static const char *const glyphs[GLYPH_COUNT][2] = {
	/* {unicode, ascii} */
	[GLYPH_SORT_ASC] = {"\xe2\x96\xb2", "^"},  [GLYPH_SORT_DESC] = {"\xe2\x96\xbc", "v"},
	[GLYPH_ELLIPSIS] = {"\xe2\x80\xa6", "~"},  [GLYPH_LIVE] = {"\xe2\x97\x8f", "*"},
	[GLYPH_DOWN] = {"\xe2\x97\x8b", "o"},      [GLYPH_SEP] = {"\xc2\xb7", "|"},
	[GLYPH_CURSOR] = {"\xe2\x96\xb6", ">"},    [GLYPH_CHECK_ON] = {"[x]", "[x]"},
	[GLYPH_CHECK_OFF] = {"[ ]", "[ ]"},        [GLYPH_INFO] = {"\xe2\x84\xb9", "i"},
	[GLYPH_OK] = {"\xe2\x9c\x93", "+"},        [GLYPH_WARN] = {"\xe2\x96\xb2", "!"},
	[GLYPH_ERROR] = {"\xe2\x9c\x97", "x"},     [GLYPH_MORE_UP] = {"\xe2\x86\x91", "^"},
	[GLYPH_MORE_DOWN] = {"\xe2\x86\x93", "v"},
};

const char *draw_glyph(DrawGlyph g)
{
	if ((unsigned)g >= GLYPH_COUNT)
		return "?";
	return glyphs[g][theme_ascii() ? 1 : 0];
}

const char *draw_level_word(DrawLevel l)
{
	switch (l) {
	case LEVEL_OK: return "ok";
	case LEVEL_WARN: return "warn";
	case LEVEL_ERROR: return "error";
	default: return "info";
	}
}

DrawGlyph draw_level_glyph(DrawLevel l)
{
	switch (l) {
	case LEVEL_OK: return GLYPH_OK;
	case LEVEL_WARN: return GLYPH_WARN;
	case LEVEL_ERROR: return GLYPH_ERROR;
	default: return GLYPH_INFO;
	}
}

ThemeRole draw_level_role(DrawLevel l)
{
	switch (l) {
	case LEVEL_OK: return ROLE_STATE_OK;
	case LEVEL_WARN: return ROLE_STATUS_WARN;
	case LEVEL_ERROR: return ROLE_STATUS_ERROR;
	default: return ROLE_STATUS_BAR;
	}
}

static void blanks(WINDOW *win, int n)
{
	static const char sp[] = "                                                                ";
	while (n > 0) {
		int k = n < (int)sizeof sp - 1 ? n : (int)sizeof sp - 1;
		waddnstr(win, sp, k);
		n -= k;
	}
}

int draw_text_attr(WINDOW *win, int y, int x, int cols, const char *s, attr_t attr, bool right)
{
	if (!win || cols <= 0)
		return 0;
	int maxx = getmaxx(win);
	if (x >= maxx)
		return 0;
	if (x + cols > maxx)
		cols = maxx - x;
	char buf[1024];
	int w = sanitize_fit(s ? s : "", buf, sizeof buf, cols, theme_ascii());
	wattrset(win, attr);
	wmove(win, y, x);
	if (right)
		blanks(win, cols - w);
	waddstr(win, buf);
	if (!right)
		blanks(win, cols - w);
	return w;
}

int draw_text_pad(WINDOW *win, int y, int x, int cols, const char *s, ThemeRole role, bool right)
{
	return draw_text_attr(win, y, x, cols, s, theme_attr(role), right);
}

int draw_text(WINDOW *win, int y, int x, int max_cols, const char *s, ThemeRole role)
{
	if (!win || max_cols <= 0)
		return 0;
	int maxx = getmaxx(win);
	if (x >= maxx)
		return 0;
	if (x + max_cols > maxx)
		max_cols = maxx - x;
	char buf[1024];
	int w = sanitize_fit(s ? s : "", buf, sizeof buf, max_cols, theme_ascii());
	wattrset(win, theme_attr(role));
	mvwaddstr(win, y, x, buf);
	return w;
}

void draw_fill(WINDOW *win, int y, int x, int cols, ThemeRole role)
{
	if (!win || cols <= 0)
		return;
	int maxx = getmaxx(win);
	if (x + cols > maxx)
		cols = maxx - x;
	wattrset(win, theme_attr(role));
	wmove(win, y, x);
	blanks(win, cols);
}

int draw_badge(WINDOW *win, int y, int x, int cols, const char *glyph, const char *word, ThemeRole role)
{
	char buf[256];
	size_t gl = glyph ? strlen(glyph) : 0;
	if (gl >= sizeof buf / 2)
		gl = 0;
	memcpy(buf, glyph, gl);
	size_t pos = gl;
	if (gl)
		buf[pos++] = ' ';
	{
		size_t wl = word ? strlen(word) : 0;
		if (wl > sizeof buf - pos - 1)
			wl = sizeof buf - pos - 1;
		memcpy(buf + pos, word ? word : "", wl);
		buf[pos + wl] = '\0';
	}
	if (cols > 0)
		return draw_text_pad(win, y, x, cols, buf, role, false);
	return draw_text(win, y, x, getmaxx(win) - x, buf, role);
}

void draw_frame(WINDOW *win, ThemeRole role, const char *title)
{
	if (!win)
		return;
	wattrset(win, theme_attr(role));
	if (theme_ascii())
		wborder(win, '|', '|', '-', '-', '+', '+', '+', '+');
	else
		box(win, 0, 0);
	if (title && *title) {
		int w = getmaxx(win) - 6;
		if (w > 0) {
			mvwaddstr(win, 0, 2, " ");
			int n = draw_text(win, 0, 3, w, title, role);
			wattrset(win, theme_attr(role));
			mvwaddstr(win, 0, 3 + n, " ");
		}
	}
}

void draw_center_window(WINDOW **win, int h, int w)
{
	if (h > LINES)
		h = LINES;
	if (w > COLS)
		w = COLS;
	if (h < 1)
		h = 1;
	if (w < 1)
		w = 1;
	int y = (LINES - h) / 2, x = (COLS - w) / 2;
	if (!*win) {
		*win = newwin(h, w, y, x);
		return;
	}
	int oh, ow, oy, ox;
	getmaxyx(*win, oh, ow);
	getbegyx(*win, oy, ox);
	if (oh == h && ow == w && oy == y && ox == x)
		return;
	/* move to the origin first so the resize never crosses the screen edge */
	mvwin(*win, 0, 0);
	wresize(*win, h, w);
	mvwin(*win, y, x);
}

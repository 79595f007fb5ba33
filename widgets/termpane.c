/* termpane — libvterm state machine driving our own cell grid, drawn through curses. */
#include "widgets/termpane.h"

#include <stdlib.h>
#include <string.h>
#include <vterm.h>
#include <wchar.h>

#include "common/sanitize.h"
#include "common/util.h"

#define CONT 0xFFFFFFFFu /* right half of a wide character */
#define NCHARS 3         /* base + two combining marks; more are dropped */
#define DIM_MAX 1000
#define TERMPANE_OSC_MAX 4096 /* longer OSC strings (titles, OSC 52) are dropped whole */

typedef struct {
	uint32_t ch[NCHARS];
	uint32_t fg, bg;
	uint8_t attrs;
	uint8_t width;
} Cell;

/* Row r's cells from used[r] on are all the canonical blank (cell_blank()
 * with the default background): clearing a row, copying it to the
 * scrollback and finding its end cost what was written, not the width. A
 * `yes` flood touches one cell per line instead of 120. */
typedef struct {
	Cell **rows; /* row pointers: scrolling rotates these, cells stay put */
	int *used;   /* rotated with rows */
	/* rows and used are windows into these: a full-screen scroll slides
	 * the window down by n (the rows that left go to the end), and only
	 * when the slack runs out is the window moved back. */
	Cell **rstore;
	int *ustore;
	int base, cap;
} Grid;

#define GRID_SLACK 256

typedef struct {
	Cell *cells;
	int len, cap;
} SbLine;

struct TermPane {
	VTerm *vt;
	VTermState *state;
	int rows, cols;
	Grid grid[2]; /* primary, alternate */
	int cur;      /* which grid is shown */
	Cell pen;     /* attributes for new glyphs and erased cells */

	int crow, ccol;
	bool cursor_visible, bell;
	char title[TERMPANE_TITLE_MAX];

	/* Damage, in screen rows. full: everything (resize, alt switch, scroll view). */
	bool *dirty;
	bool any_dirty, full, cursor_moved;
	WINDOW *last_win;
	int last_y, last_x;

	SbLine *sb; /* ring of TERMPANE_SCROLLBACK lines */
	int sb_head, sb_count;
	uint64_t sb_total; /* lines ever pushed: the serial of screen row 0 */
	int offset;        /* view scrolled back this many lines */

	bool sel;
	uint64_t sel_a, sel_b; /* line serials, sel_a <= sel_b */

	bool depth_forced;
	ThemeDepth depth;
	struct {
		uint32_t key;
		int pair;
	} pair_cache[1024]; /* alloc_pair() is a search: dense colour output needs many slots */

	void (*reply)(void *ud, const char *bytes, size_t len);
	void *reply_ud;

	uint8_t filt; /* FILT_*: where the input filter stands between writes */
	char osc[TERMPANE_OSC_MAX]; /* an OSC being collected, from its ESC ] */
	size_t osc_len;             /* > TERMPANE_OSC_MAX: overflowed, dropped at its end */
};

/* libvterm 0.1.4 parses CSI, OSC and DCS but not APC (ESC _), PM (ESC ^) or
 * SOS (ESC X): it would show their payload as text. termpane_write() drops
 * those strings before libvterm sees them. The filter's state survives
 * writes, so a sequence split anywhere (even between ESC and '_') is still
 * dropped whole. In UTF-8 mode libvterm ignores 8-bit C1, so 0x9F etc. are
 * not introducers here.
 *
 * libvterm 0.1.4 also loses an OSC (the window title) that arrives in two
 * writes, which PTY reads do all the time: the filter collects each OSC and
 * hands it over in one piece. */
enum {
	FILT_GROUND,  /* passing bytes through */
	FILT_ESC,     /* an ESC ended the last write: held back until we see the next byte */
	FILT_STR,     /* inside an APC/PM/SOS string: dropping */
	FILT_STR_ESC, /* ESC inside the string: ST if '\\' follows */
	FILT_OSC,     /* inside an OSC: collecting into osc[] */
	FILT_OSC_ESC, /* ESC inside the OSC */
};

/* --- grid ------------------------------------------------------------------ */

static void cell_blank(Cell *c, uint32_t bg)
{
	memset(c, 0, sizeof(*c));
	c->bg = bg;
	c->width = 1;
}

static void row_blank(Cell *row, int from, int to, uint32_t bg)
{
	for (int c = from; c < to; c++)
		cell_blank(&row[c], bg);
}

static void grid_alloc(Grid *g, int rows, int cols)
{
	g->cap = rows * 2 + GRID_SLACK;
	g->rstore = xcalloc((size_t)g->cap, sizeof(*g->rstore));
	g->ustore = xcalloc((size_t)g->cap, sizeof(*g->ustore));
	g->base = 0;
	g->rows = g->rstore;
	g->used = g->ustore;
	for (int r = 0; r < rows; r++) {
		g->rows[r] = xmalloc((size_t)cols * sizeof(Cell));
		row_blank(g->rows[r], 0, cols, TERMPANE_COLOR_DEFAULT);
	}
}

static void grid_free(Grid *g, int rows)
{
	if (!g->rows)
		return;
	for (int r = 0; r < rows; r++)
		free(g->rows[r]);
	free(g->rstore);
	free(g->ustore);
	g->rstore = g->rows = NULL;
	g->ustore = g->used = NULL;
}

/* Blanks cells [from, to) of row r with background bg; used[r] stays a bound on what is not blank. */
static void grid_blank(Grid *g, int r, int from, int to, uint32_t bg)
{
	if (bg == TERMPANE_COLOR_DEFAULT) {
		row_blank(g->rows[r], from, QD_MIN(to, g->used[r]), bg);
		if (to >= g->used[r] && from < g->used[r])
			g->used[r] = from;
	} else {
		row_blank(g->rows[r], from, to, bg);
		if (to > g->used[r])
			g->used[r] = to;
	}
}

static void grid_touch(Grid *g, int r, int to)
{
	if (to > g->used[r])
		g->used[r] = to;
}

static void damage_rows(TermPane *p, int from, int to)
{
	if (from < 0)
		from = 0;
	if (to > p->rows)
		to = p->rows;
	for (int r = from; r < to; r++)
		p->dirty[r] = true;
	if (from < to)
		p->any_dirty = true;
}

static void damage_all(TermPane *p)
{
	p->full = true;
	p->any_dirty = true;
}

/* --- scrollback -------------------------------------------------------------- */

static bool cell_is_blank(const Cell *c)
{
	return (c->ch[0] == 0 || c->ch[0] == ' ') && c->bg == TERMPANE_COLOR_DEFAULT &&
	       !(c->attrs & (TERMPANE_REVERSE | TERMPANE_UNDERLINE));
}

/* Copies one row leaving the top of the primary screen into the ring: one
 * memcpy of its non-blank prefix, reusing the oldest line's buffer. */
static void sb_push(TermPane *p, const Cell *row, int used)
{
	int len = QD_MIN(used, p->cols), idx;
	SbLine *l;

	while (len > 0 && cell_is_blank(&row[len - 1]))
		len--;
	if (p->sb_count < TERMPANE_SCROLLBACK) {
		idx = (p->sb_head + p->sb_count) % TERMPANE_SCROLLBACK;
		p->sb_count++;
	} else {
		idx = p->sb_head;
		p->sb_head = (p->sb_head + 1) % TERMPANE_SCROLLBACK;
	}
	l = &p->sb[idx];
	if (l->cap < len) {
		l->cap = len < 80 ? 80 : len;
		l->cells = xrealloc(l->cells, (size_t)l->cap * sizeof(Cell));
	}
	if (len)
		memcpy(l->cells, row, (size_t)len * sizeof(Cell));
	l->len = len;
	p->sb_total++;
	if (p->offset > 0) {
		/* Keep a scrolled-back view on the same text. */
		p->offset++;
		if (p->offset > p->sb_count)
			p->offset = p->sb_count;
	}
}

/* View row → its cells and length; NULL when the row is outside the history. */
static const Cell *view_row(const TermPane *p, int r, int *len, uint64_t *serial)
{
	uint64_t s = p->sb_total - (uint64_t)p->offset + (uint64_t)r;

	if (serial)
		*serial = s;
	if (s >= p->sb_total) {
		*len = p->cols;
		return p->grid[p->cur].rows[s - p->sb_total];
	}
	{
		uint64_t oldest = p->sb_total - (uint64_t)p->sb_count;
		const SbLine *l;

		if (s < oldest)
			return NULL;
		l = &p->sb[(p->sb_head + (int)(s - oldest)) % TERMPANE_SCROLLBACK];
		*len = l->len;
		return l->cells;
	}
}

/* --- libvterm state callbacks: record only ---------------------------------------- */

static uint32_t color_from_vterm(const VTermColor *c, bool is_fg)
{
	if (is_fg ? VTERM_COLOR_IS_DEFAULT_FG(c) : VTERM_COLOR_IS_DEFAULT_BG(c))
		return TERMPANE_COLOR_DEFAULT;
	if (VTERM_COLOR_IS_INDEXED(c))
		return TERMPANE_COLOR_INDEX(c->indexed.idx);
	return TERMPANE_COLOR_RGB(c->rgb.red, c->rgb.green, c->rgb.blue);
}

static int cb_putglyph(VTermGlyphInfo *info, VTermPos pos, void *user)
{
	TermPane *p = user;
	Cell *row, *c;
	int w = info->width, i;

	if (pos.row < 0 || pos.row >= p->rows || pos.col < 0 || pos.col >= p->cols)
		return 1;
	row = p->grid[p->cur].rows[pos.row];
	c = &row[pos.col];
	/* Overwriting half of a wide character blanks its other half. */
	if (c->ch[0] == CONT && pos.col > 0)
		cell_blank(&row[pos.col - 1], row[pos.col - 1].bg);
	if (c->width == 2 && w < 2 && pos.col + 1 < p->cols)
		cell_blank(&row[pos.col + 1], row[pos.col + 1].bg);
	*c = p->pen;
	for (i = 0; i < NCHARS && info->chars[i]; i++)
		c->ch[i] = info->chars[i];
	for (; i < NCHARS; i++)
		c->ch[i] = 0;
	c->width = w == 2 && pos.col + 1 < p->cols ? 2 : 1;
	if (c->width == 2) {
		Cell *n = &row[pos.col + 1];

		if (n->width == 2 && pos.col + 2 < p->cols)
			cell_blank(&row[pos.col + 2], row[pos.col + 2].bg);
		*n = p->pen;
		n->ch[0] = CONT;
		n->width = 0;
	}
	grid_touch(&p->grid[p->cur], pos.row, pos.col + c->width);
	p->dirty[pos.row] = true;
	p->any_dirty = true;
	return 1;
}

static int cb_movecursor(VTermPos pos, VTermPos oldpos, int visible, void *user)
{
	TermPane *p = user;

	p->crow = pos.row;
	p->ccol = pos.col;
	p->cursor_moved = true;
	return 1;
}

static int cb_erase(VTermRect rect, int selective, void *user)
{
	TermPane *p = user;

	for (int r = QD_MAX(rect.start_row, 0); r < rect.end_row && r < p->rows; r++) {
		Cell *row = p->grid[p->cur].rows[r];
		int from = QD_MAX(rect.start_col, 0), to = QD_MIN(rect.end_col, p->cols);

		if (from > 0 && row[from].ch[0] == CONT)
			cell_blank(&row[from - 1], row[from - 1].bg);
		if (to < p->cols && to > 0 && row[to - 1].width == 2)
			cell_blank(&row[to], row[to].bg);
		grid_blank(&p->grid[p->cur], r, from, to, p->pen.bg);
	}
	damage_rows(p, rect.start_row, rect.end_row);
	return 1;
}

/* vterm.h names vterm_scroll_rect's callback parameters (src, dest), but
 * libvterm calls it as moverect(dest, src), as its own screen layer expects. */
static int cb_moverect(VTermRect dest, VTermRect src, void *user)
{
	TermPane *p = user;
	int h = src.end_row - src.start_row, w = src.end_col - src.start_col;
	Grid *g = &p->grid[p->cur];
	Cell **rows = g->rows;

	if (w <= 0 || h <= 0 || src.start_row < 0 || dest.start_row < 0 ||
	    QD_MAX(src.end_row, dest.end_row) > p->rows || src.start_col < 0 || dest.start_col < 0 ||
	    QD_MAX(src.end_col, dest.end_col) > p->cols)
		return 1;
	for (int i = 0; i < h; i++)
		grid_touch(g, dest.start_row + i, dest.end_col);
	if (dest.start_row < src.start_row) {
		for (int i = 0; i < h; i++)
			memmove(&rows[dest.start_row + i][dest.start_col],
			        &rows[src.start_row + i][src.start_col], (size_t)w * sizeof(Cell));
	} else {
		for (int i = h - 1; i >= 0; i--)
			memmove(&rows[dest.start_row + i][dest.start_col],
			        &rows[src.start_row + i][src.start_col], (size_t)w * sizeof(Cell));
	}
	/* Moving part of a row (insert/delete characters) can split a wide
	 * character: as when a glyph overwrites half of one, the half left
	 * behind becomes a blank (xterm does the same). */
	for (int i = 0; i < h; i++) {
		Cell *row = rows[dest.start_row + i];

		for (int c = 0; c < p->cols; c++) {
			if (row[c].width == 2 && (c + 1 >= p->cols || row[c + 1].ch[0] != CONT))
				cell_blank(&row[c], row[c].bg);
			else if (row[c].ch[0] == CONT && (c == 0 || row[c - 1].width != 2))
				cell_blank(&row[c], row[c].bg);
		}
	}
	damage_rows(p, dest.start_row, dest.end_row);
	return 1;
}

/* Scrolls the whole grid up by n rows in O(n): the first n rows move to
 * the end of the window, which then starts n rows later. */
static void grid_slide(Grid *g, int nrows, int n)
{
	if (g->base + nrows + n > g->cap) {
		memmove(g->rstore, g->rows, (size_t)nrows * sizeof(*g->rows));
		memmove(g->ustore, g->used, (size_t)nrows * sizeof(*g->used));
		g->base = 0;
		g->rows = g->rstore;
		g->used = g->ustore;
	}
	memcpy(&g->rows[nrows], g->rows, (size_t)n * sizeof(*g->rows));
	memcpy(&g->used[nrows], g->used, (size_t)n * sizeof(*g->used));
	g->base += n;
	g->rows = g->rstore + g->base;
	g->used = g->ustore + g->base;
}

/* Full-width scrolls (the common case: newline at the bottom, scroll regions)
 * rotate row pointers; rows leaving the top of the primary screen are copied
 * to the scrollback. Anything else goes through libvterm's generic helper. */
static int cb_scrollrect(VTermRect rect, int downward, int rightward, void *user)
{
	TermPane *p = user;
	int top = rect.start_row, bot = rect.end_row, h = bot - top, n;
	Grid *g = &p->grid[p->cur];
	Cell **rows = g->rows, *tmp[DIM_MAX];
	int *used = g->used, utmp[DIM_MAX];

	if (top < 0 || bot > p->rows || h <= 0)
		return 1;
	if (rightward != 0 || rect.start_col != 0 || rect.end_col != p->cols) {
		vterm_scroll_rect(rect, downward, rightward, cb_moverect, cb_erase, p);
		return 1;
	}
	n = abs(downward);
	if (n > h)
		n = h;
	if (downward > 0) {
		if (top == 0 && p->cur == 0)
			for (int i = 0; i < n; i++)
				sb_push(p, rows[i], used[i]);
		if (top == 0 && bot == p->rows) {
			grid_slide(g, p->rows, n);
		} else {
			memcpy(tmp, &rows[top], (size_t)n * sizeof(Cell *));
			memmove(&rows[top], &rows[top + n], (size_t)(h - n) * sizeof(Cell *));
			memcpy(&rows[bot - n], tmp, (size_t)n * sizeof(Cell *));
			memcpy(utmp, &used[top], (size_t)n * sizeof(int));
			memmove(&used[top], &used[top + n], (size_t)(h - n) * sizeof(int));
			memcpy(&used[bot - n], utmp, (size_t)n * sizeof(int));
		}
		for (int i = bot - n; i < bot; i++)
			grid_blank(g, i, 0, p->cols, p->pen.bg);
	} else if (downward < 0) {
		memcpy(tmp, &rows[bot - n], (size_t)n * sizeof(Cell *));
		memmove(&rows[top + n], &rows[top], (size_t)(h - n) * sizeof(Cell *));
		memcpy(&rows[top], tmp, (size_t)n * sizeof(Cell *));
		memcpy(utmp, &used[bot - n], (size_t)n * sizeof(int));
		memmove(&used[top + n], &used[top], (size_t)(h - n) * sizeof(int));
		memcpy(&used[top], utmp, (size_t)n * sizeof(int));
		for (int i = top; i < top + n; i++)
			grid_blank(g, i, 0, p->cols, p->pen.bg);
	}
	damage_rows(p, top, bot);
	return 1;
}

static int cb_initpen(void *user)
{
	TermPane *p = user;

	cell_blank(&p->pen, TERMPANE_COLOR_DEFAULT);
	return 1;
}

static void pen_flag(TermPane *p, unsigned flag, bool on)
{
	if (on)
		p->pen.attrs |= flag;
	else
		p->pen.attrs &= (uint8_t)~flag;
}

static int cb_setpenattr(VTermAttr attr, VTermValue *val, void *user)
{
	TermPane *p = user;

	switch (attr) {
	case VTERM_ATTR_BOLD: pen_flag(p, TERMPANE_BOLD, val->boolean); break;
	case VTERM_ATTR_UNDERLINE: pen_flag(p, TERMPANE_UNDERLINE, val->number != 0); break;
	case VTERM_ATTR_ITALIC: pen_flag(p, TERMPANE_ITALIC, val->boolean); break;
	case VTERM_ATTR_BLINK: pen_flag(p, TERMPANE_BLINK, val->boolean); break;
	case VTERM_ATTR_REVERSE: pen_flag(p, TERMPANE_REVERSE, val->boolean); break;
	case VTERM_ATTR_STRIKE: pen_flag(p, TERMPANE_STRIKE, val->boolean); break;
	case VTERM_ATTR_FOREGROUND: p->pen.fg = color_from_vterm(&val->color, true); break;
	case VTERM_ATTR_BACKGROUND: p->pen.bg = color_from_vterm(&val->color, false); break;
	default: break;
	}
	return 1;
}

static void set_altscreen(TermPane *p, bool on)
{
	int want = on ? 1 : 0;

	if (p->cur == want)
		return;
	p->cur = want;
	if (on) /* xterm's 1049: the alternate screen starts blank */
		for (int r = 0; r < p->rows; r++)
			grid_blank(&p->grid[1], r, 0, p->cols, TERMPANE_COLOR_DEFAULT);
	p->offset = 0;
	damage_all(p);
}

static int cb_settermprop(VTermProp prop, VTermValue *val, void *user)
{
	TermPane *p = user;

	switch (prop) {
	case VTERM_PROP_CURSORVISIBLE:
		p->cursor_visible = val->boolean;
		p->cursor_moved = true;
		break;
	case VTERM_PROP_ALTSCREEN:
		set_altscreen(p, val->boolean);
		break;
	case VTERM_PROP_TITLE:
		if (val->string)
			sanitize_str(val->string, strnlen(val->string, 4096), p->title, sizeof(p->title),
			             false);
		else
			p->title[0] = '\0';
		p->any_dirty = true;
		break;
	default:
		break;
	}
	return 1;
}

static int cb_bell(void *user)
{
	((TermPane *)user)->bell = true;
	return 1;
}

/* Moves `shift` rows off the top (into scrollback on the primary screen),
 * then copies what fits into a grid of the new size. */
static void grid_resize(TermPane *p, int which, int nrows, int ncols, int shift)
{
	Grid *g = &p->grid[which], ng;

	grid_alloc(&ng, nrows, ncols);
	for (int r = 0; r < shift && r < p->rows; r++)
		if (which == 0)
			sb_push(p, g->rows[r], g->used[r]);
	for (int r = shift; r < p->rows && r - shift < nrows; r++) {
		int w = QD_MIN(p->cols, ncols);

		memcpy(ng.rows[r - shift], g->rows[r], (size_t)w * sizeof(Cell));
		ng.used[r - shift] = QD_MIN(g->used[r], w);
		if (w > 0 && ng.rows[r - shift][w - 1].width == 2)
			cell_blank(&ng.rows[r - shift][w - 1], TERMPANE_COLOR_DEFAULT);
	}
	grid_free(g, p->rows);
	*g = ng;
}

static int cb_resize(int rows, int cols, VTermPos *delta, void *user)
{
	TermPane *p = user;
	int shift = p->crow + 1 > rows ? p->crow + 1 - rows : 0;

	grid_resize(p, 0, rows, cols, p->cur == 0 ? shift : 0);
	grid_resize(p, 1, rows, cols, p->cur == 1 ? shift : 0);
	free(p->dirty);
	p->dirty = xcalloc((size_t)rows, sizeof(bool));
	p->rows = rows;
	p->cols = cols;
	if (delta)
		delta->row -= shift;
	p->offset = 0;
	damage_all(p);
	return 1;
}

static const VTermStateCallbacks state_cbs = {
    .putglyph = cb_putglyph,
    .movecursor = cb_movecursor,
    .scrollrect = cb_scrollrect,
    .erase = cb_erase,
    .initpen = cb_initpen,
    .setpenattr = cb_setpenattr,
    .settermprop = cb_settermprop,
    .bell = cb_bell,
    .resize = cb_resize,
};

/* --- lifecycle ------------------------------------------------------------------ */

static int clamp_dim(int v) { return v < 1 ? 1 : v > DIM_MAX ? DIM_MAX : v; }

TermPane *termpane_new(int rows, int cols)
{
	TermPane *p = xcalloc(1, sizeof(*p));

	p->rows = clamp_dim(rows);
	p->cols = clamp_dim(cols);
	grid_alloc(&p->grid[0], p->rows, p->cols);
	grid_alloc(&p->grid[1], p->rows, p->cols);
	p->dirty = xcalloc((size_t)p->rows, sizeof(bool));
	p->sb = xcalloc(TERMPANE_SCROLLBACK, sizeof(SbLine));
	p->cursor_visible = true;
	cell_blank(&p->pen, TERMPANE_COLOR_DEFAULT);
	p->vt = vterm_new(p->rows, p->cols);
	if (!p->vt)
		util_oom();
	vterm_set_utf8(p->vt, 1);
	p->state = vterm_obtain_state(p->vt);
	vterm_state_set_callbacks(p->state, &state_cbs, p);
	vterm_state_set_bold_highbright(p->state, 0);
	vterm_state_reset(p->state, 1);
	damage_all(p);
	return p;
}

void termpane_free(TermPane **pp)
{
	TermPane *p = pp ? *pp : NULL;

	if (!p)
		return;
	vterm_free(p->vt);
	grid_free(&p->grid[0], p->rows);
	grid_free(&p->grid[1], p->rows);
	for (int i = 0; i < TERMPANE_SCROLLBACK; i++)
		free(p->sb[i].cells);
	free(p->sb);
	free(p->dirty);
	free(p);
	*pp = NULL;
}

static void flush_replies(TermPane *p)
{
	char buf[256];
	size_t n;

	while ((n = vterm_output_read(p->vt, buf, sizeof(buf))) > 0)
		if (p->reply)
			p->reply(p->reply_ud, buf, n);
}

/* libvterm 0.1.4 decodes a text run into a stack array as long as the
 * write (uint32_t codepoints[len]): one multi-megabyte write overflows the
 * stack. Feed it in bounded pieces; its parser state carries across. */
#define VT_FEED_MAX 8192

static void vt_feed(TermPane *p, const char *s, size_t len)
{
	while (len > 0) {
		size_t n = QD_MIN(len, (size_t)VT_FEED_MAX);

		vterm_input_write(p->vt, s, n);
		s += n;
		len -= n;
	}
}

static bool is_string_intro(uint8_t c) { return c == '_' || c == '^' || c == 'X'; }

static void osc_begin(TermPane *p)
{
	memcpy(p->osc, "\x1b]", 2);
	p->osc_len = 2;
	p->filt = FILT_OSC;
}

static void osc_add(TermPane *p, const uint8_t *s, size_t n)
{
	if (p->osc_len > TERMPANE_OSC_MAX)
		return;
	if (n > TERMPANE_OSC_MAX - p->osc_len) {
		p->osc_len = TERMPANE_OSC_MAX + 1;
		return;
	}
	memcpy(p->osc + p->osc_len, s, n);
	p->osc_len += n;
}

/* Hands the collected OSC (with its terminator, or cut short by CAN, SUB or
 * ESC, which libvterm then sees the same way) to libvterm in one write. */
static void osc_end(TermPane *p)
{
	if (p->osc_len <= TERMPANE_OSC_MAX)
		vt_feed(p, p->osc, p->osc_len);
	p->osc_len = 0;
	p->filt = FILT_GROUND;
}

/* Passes s[0..len) to libvterm minus APC/PM/SOS strings, in as few
 * vterm_input_write() calls as there are such strings (memchr finds ESC). */
static void filter_input(TermPane *p, const uint8_t *s, size_t len)
{
	size_t i = 0, start = 0;

	while (i < len) {
		switch (p->filt) {
		case FILT_ESC: /* the held-back ESC from the previous write */
			if (is_string_intro(s[i])) {
				p->filt = FILT_STR;
				i++;
				start = i;
			} else if (s[i] == ']') {
				osc_begin(p);
				i++;
				start = i;
			} else {
				vt_feed(p, "\x1b", 1);
				p->filt = FILT_GROUND;
			}
			break;
		case FILT_GROUND: {
			const uint8_t *e = memchr(s + i, 0x1b, len - i);
			size_t at;

			if (!e) {
				i = len;
				break;
			}
			at = (size_t)(e - s);
			if (at + 1 == len) {
				if (at > start)
					vt_feed(p, (const char *)s + start, at - start);
				p->filt = FILT_ESC;
				i = start = len;
			} else if (is_string_intro(s[at + 1]) || s[at + 1] == ']') {
				if (at > start)
					vt_feed(p, (const char *)s + start, at - start);
				if (s[at + 1] == ']')
					osc_begin(p);
				else
					p->filt = FILT_STR;
				i = start = at + 2;
			} else {
				i = at + 1;
			}
			break;
		}
		case FILT_STR:
			/* ST (ESC \\) ends the string; CAN and SUB abort it. */
			for (; i < len; i++) {
				if (s[i] == 0x1b) {
					p->filt = FILT_STR_ESC;
					i++;
					break;
				}
				if (s[i] == 0x18 || s[i] == 0x1a) {
					p->filt = FILT_GROUND;
					i++;
					break;
				}
			}
			start = i;
			break;
		case FILT_STR_ESC:
			if (s[i] == '\\') {
				p->filt = FILT_GROUND;
				i++;
				start = i;
			} else {
				/* ESC + anything else ends the string and begins a new
				 * sequence: treat it like an ESC seen in the ground state. */
				p->filt = FILT_ESC;
				start = i;
			}
			break;
		case FILT_OSC: {
			size_t from = i;

			for (; i < len; i++)
				if (s[i] == 0x07 || s[i] == 0x1b || s[i] == 0x18 || s[i] == 0x1a)
					break;
			osc_add(p, s + from, i - from);
			if (i < len) {
				uint8_t c = s[i++];

				if (c == 0x1b) {
					p->filt = FILT_OSC_ESC;
				} else {
					osc_add(p, &c, 1);
					osc_end(p);
				}
			}
			start = i;
			break;
		}
		case FILT_OSC_ESC:
			if (s[i] == '\\') {
				osc_add(p, (const uint8_t *)"\x1b\\", 2);
				osc_end(p);
				i++;
				start = i;
			} else {
				/* As in the string case: the ESC begins something new. */
				osc_end(p);
				p->filt = FILT_ESC;
				start = i;
			}
			break;
		}
	}
	if (p->filt == FILT_GROUND && len > start)
		vt_feed(p, (const char *)s + start, len - start);
}

void termpane_write(TermPane *p, const void *bytes, size_t len)
{
	if (!len)
		return;
	filter_input(p, bytes, len);
	if (vterm_output_get_buffer_current(p->vt) > 0)
		flush_replies(p);
}

void termpane_set_reply(TermPane *p, void (*fn)(void *ud, const char *bytes, size_t len), void *ud)
{
	p->reply = fn;
	p->reply_ud = ud;
}

void termpane_resize(TermPane *p, int rows, int cols)
{
	rows = clamp_dim(rows);
	cols = clamp_dim(cols);
	if (rows == p->rows && cols == p->cols)
		return;
	vterm_set_size(p->vt, rows, cols); /* calls cb_resize */
}

void termpane_size(const TermPane *p, int *rows, int *cols)
{
	if (rows)
		*rows = p->rows;
	if (cols)
		*cols = p->cols;
}

void termpane_set_depth(TermPane *p, ThemeDepth depth)
{
	p->depth_forced = true;
	p->depth = depth;
	memset(p->pair_cache, 0, sizeof(p->pair_cache));
	damage_all(p);
}

const char *termpane_title(const TermPane *p) { return p->title; }
bool termpane_altscreen(const TermPane *p) { return p->cur == 1; }

bool termpane_cursor(const TermPane *p, int *row, int *col)
{
	if (row)
		*row = p->crow;
	if (col)
		*col = p->ccol;
	return p->cursor_visible && p->offset == 0;
}

bool termpane_take_bell(TermPane *p)
{
	bool b = p->bell;

	p->bell = false;
	return b;
}

bool termpane_dirty(const TermPane *p) { return p->any_dirty || p->cursor_moved; }
void termpane_invalidate(TermPane *p) { damage_all(p); }

/* --- drawing ---------------------------------------------------------------------- */

static const uint8_t cube[6] = {0, 95, 135, 175, 215, 255};
static const uint8_t ansi16[16][3] = {
    {0, 0, 0},       {205, 0, 0},     {0, 205, 0},     {205, 205, 0},
    {0, 0, 238},     {205, 0, 205},   {0, 205, 205},   {229, 229, 229},
    {127, 127, 127}, {255, 0, 0},     {0, 255, 0},     {255, 255, 0},
    {92, 92, 255},   {255, 0, 255},   {0, 255, 255},   {255, 255, 255},
};

static void index_rgb(int i, int rgb[3])
{
	if (i < 16) {
		for (int k = 0; k < 3; k++)
			rgb[k] = ansi16[i][k];
	} else if (i < 232) {
		i -= 16;
		rgb[0] = cube[i / 36];
		rgb[1] = cube[(i / 6) % 6];
		rgb[2] = cube[i % 6];
	} else {
		rgb[0] = rgb[1] = rgb[2] = 8 + 10 * (i - 232);
	}
}

static int dist2(const int a[3], int r, int g, int b)
{
	return (a[0] - r) * (a[0] - r) + (a[1] - g) * (a[1] - g) + (a[2] - b) * (a[2] - b);
}

static int cube_level(int v)
{
	int best = 0;

	for (int i = 1; i < 6; i++)
		if (abs(cube[i] - v) < abs(cube[best] - v))
			best = i;
	return best;
}

static int nearest256(int r, int g, int b)
{
	int ri = cube_level(r), gi = cube_level(g), bi = cube_level(b);
	int ci = 16 + 36 * ri + 6 * gi + bi, crgb[3], grey, gi2, grgb[3];

	index_rgb(ci, crgb);
	grey = (r + g + b) / 3;
	gi2 = grey < 8 ? 0 : grey > 238 ? 23 : (grey - 8 + 5) / 10;
	index_rgb(232 + gi2, grgb);
	return dist2(grgb, r, g, b) < dist2(crgb, r, g, b) ? 232 + gi2 : ci;
}

static int nearest8(int r, int g, int b)
{
	int best = 0, bd = 1 << 30;

	for (int i = 0; i < 8; i++) {
		int rgb[3], d;

		index_rgb(i, rgb);
		d = dist2(rgb, r, g, b);
		if (d < bd) {
			bd = d;
			best = i;
		}
	}
	return best;
}

/* A stored colour as a curses colour number for this depth; -1 = default.
 * *bright is set when an 8-colour terminal should show it bold instead. */
static int curses_color(uint32_t c, ThemeDepth depth, bool *bright)
{
	int rgb[3];

	if (c == TERMPANE_COLOR_DEFAULT || depth == THEME_MONO)
		return -1;
	if (c & 0x01000000u) {
		int i = (int)(c & 0xFF);

		if (depth == THEME_256)
			return i;
		if (i < 8)
			return i;
		if (i < 16) {
			*bright = true;
			return i - 8;
		}
		index_rgb(i, rgb);
		return nearest8(rgb[0], rgb[1], rgb[2]);
	}
	rgb[0] = (int)(c >> 16) & 0xFF;
	rgb[1] = (int)(c >> 8) & 0xFF;
	rgb[2] = (int)c & 0xFF;
	return depth == THEME_256 ? nearest256(rgb[0], rgb[1], rgb[2]) : nearest8(rgb[0], rgb[1], rgb[2]);
}

static int pair_for(TermPane *p, int fg, int bg)
{
	uint32_t key = ((uint32_t)(fg + 1) << 16) | (uint32_t)(bg + 1);
	unsigned slot = (key * 2654435761u) >> 22;
	int pair;

	if (fg < 0 && bg < 0)
		return 0;
	if (p->pair_cache[slot].key == key + 1)
		return p->pair_cache[slot].pair;
	pair = alloc_pair(fg, bg);
	if (pair < 0)
		pair = 0;
	p->pair_cache[slot].key = key + 1;
	p->pair_cache[slot].pair = pair;
	return pair;
}

/* A code point that is safe to hand to curses with the width the grid gave
 * it; anything else becomes a visible stand-in. */
static wchar_t safe_char(uint32_t ch, int width)
{
	int w;

	if (ch == 0)
		return L' ';
	if (ch < 0x20 || (ch >= 0x7F && ch < 0xA0) || ch > 0x10FFFF || (ch >= 0xD800 && ch < 0xE000))
		return L'?';
	w = wcwidth((wchar_t)ch);
	if (w != width)
		return L'?';
	return (wchar_t)ch;
}

typedef struct {
	uint32_t fg, bg;
	uint8_t attrs;
	bool selected, valid;
	attr_t attr;
	int pair;
} DrawPen;

static void draw_row(TermPane *p, WINDOW *win, int y, int x, int r, ThemeDepth depth)
{
	int len, c;
	uint64_t serial;
	const Cell *row = view_row(p, r, &len, &serial);
	bool selected = p->sel && serial >= p->sel_a && serial <= p->sel_b;
	DrawPen pen = {.valid = false};
	static const Cell blank = {.width = 1};

	for (c = 0; c < p->cols; c++) {
		const Cell *cell = row && c < len ? &row[c] : &blank;
		wchar_t wch[NCHARS + 1];
		cchar_t cc;
		int n = 0, width = 1;

		if (!pen.valid || cell->fg != pen.fg || cell->bg != pen.bg || cell->attrs != pen.attrs ||
		    selected != pen.selected) {
			bool bright = false;
			int fg = curses_color(cell->fg, depth, &bright);
			bool dummy = false;
			int bg = curses_color(cell->bg, depth, &dummy);

			pen.fg = cell->fg;
			pen.bg = cell->bg;
			pen.attrs = cell->attrs;
			pen.selected = selected;
			pen.valid = true;
			pen.attr = 0;
			if ((cell->attrs & TERMPANE_BOLD) || bright)
				pen.attr |= A_BOLD;
			if (cell->attrs & TERMPANE_UNDERLINE)
				pen.attr |= A_UNDERLINE;
			if (cell->attrs & TERMPANE_ITALIC)
				pen.attr |= A_ITALIC;
			if (cell->attrs & TERMPANE_BLINK)
				pen.attr |= A_BLINK;
			if (!!(cell->attrs & TERMPANE_REVERSE) != selected)
				pen.attr |= A_REVERSE;
			pen.pair = depth == THEME_MONO ? 0 : pair_for(p, fg, bg);
		}
		if (cell->ch[0] == CONT) {
			/* A right half whose left half was drawn is skipped; a stray one is a blank. */
			if (c > 0 && row && c - 1 < len && row[c - 1].width == 2)
				continue;
			wch[n++] = L' ';
		} else {
			width = cell->width == 2 && c + 1 < p->cols ? 2 : 1;
			wch[n] = safe_char(cell->ch[0], width);
			if (wch[n] == L'?' && width == 2)
				width = 1; /* drawn narrow; the next column gets a blank below */
			n++;
			for (int k = 1; k < NCHARS && cell->ch[k] && wch[0] != L'?'; k++)
				if (cell->ch[k] >= 0x300 && cell->ch[k] <= 0x10FFFF &&
				    wcwidth((wchar_t)cell->ch[k]) == 0)
					wch[n++] = (wchar_t)cell->ch[k];
		}
		wch[n] = L'\0';
		setcchar(&cc, wch, pen.attr, 0, &pen.pair);
		mvwadd_wch(win, y + r, x + c, &cc);
		if (cell->width == 2 && width == 1 && c + 1 < p->cols) {
			wchar_t sp[2] = {L' ', L'\0'};

			setcchar(&cc, sp, pen.attr, 0, &pen.pair);
			mvwadd_wch(win, y + r, x + c + 1, &cc);
			c++;
		}
	}
}

int termpane_draw(TermPane *p, WINDOW *win, int y, int x)
{
	ThemeDepth depth = p->depth_forced ? p->depth : theme_depth();
	int drawn = 0;

	if (!win)
		return 0;
	if (win != p->last_win || y != p->last_y || x != p->last_x || p->offset > 0)
		p->full = p->full || win != p->last_win || y != p->last_y || x != p->last_x ||
		          (p->offset > 0 && p->any_dirty);
	if (p->any_dirty || p->full) {
		for (int r = 0; r < p->rows; r++) {
			if (!p->full && !p->dirty[r])
				continue;
			draw_row(p, win, y, x, r, depth);
			drawn++;
		}
	}
	memset(p->dirty, 0, (size_t)p->rows * sizeof(bool));
	p->any_dirty = p->full = p->cursor_moved = false;
	p->last_win = win;
	p->last_y = y;
	p->last_x = x;
	if (termpane_cursor(p, NULL, NULL))
		wmove(win, y + p->crow, x + p->ccol);
	return drawn;
}

/* --- keys -------------------------------------------------------------------------- */

typedef struct {
	const char *name; /* ncurses extended key name prefix, e.g. "kUP" */
	VTermKey key;
} ExtKey;

static const ExtKey ext_keys[] = {
    {"kUP", VTERM_KEY_UP},    {"kDN", VTERM_KEY_DOWN}, {"kLFT", VTERM_KEY_LEFT},
    {"kRIT", VTERM_KEY_RIGHT}, {"kHOM", VTERM_KEY_HOME}, {"kEND", VTERM_KEY_END},
    {"kPRV", VTERM_KEY_PAGEUP}, {"kNXT", VTERM_KEY_PAGEDOWN}, {"kDC", VTERM_KEY_DEL},
    {"kIC", VTERM_KEY_INS},
};

/* ncurses names modified keys "kUP5" (ctrl), "kUP3" (alt), "kUP2" (shift)... */
static bool ext_key(int key, VTermKey *vk, VTermModifier *mod)
{
	const char *name = keyname(key);

	if (!name)
		return false;
	for (size_t i = 0; i < QD_ARRAY_LEN(ext_keys); i++) {
		size_t n = strlen(ext_keys[i].name);
		int m;

		if (strncmp(name, ext_keys[i].name, n) != 0 || !name[n] || name[n + 1])
			continue;
		m = name[n] - '1'; /* xterm: 1 + (shift 1 | alt 2 | ctrl 4) */
		if (m < 1 || m > 7)
			return false;
		*vk = ext_keys[i].key;
		*mod = (VTermModifier)(((m & 1) ? VTERM_MOD_SHIFT : 0) | ((m & 2) ? VTERM_MOD_ALT : 0) |
		                       ((m & 4) ? VTERM_MOD_CTRL : 0));
		return true;
	}
	return false;
}

static bool curses_key(int key, VTermKey *vk, VTermModifier *mod)
{
	*mod = VTERM_MOD_NONE;
	switch (key) {
	case KEY_UP: *vk = VTERM_KEY_UP; return true;
	case KEY_DOWN: *vk = VTERM_KEY_DOWN; return true;
	case KEY_LEFT: *vk = VTERM_KEY_LEFT; return true;
	case KEY_RIGHT: *vk = VTERM_KEY_RIGHT; return true;
	case KEY_SR: *vk = VTERM_KEY_UP; *mod = VTERM_MOD_SHIFT; return true;
	case KEY_SF: *vk = VTERM_KEY_DOWN; *mod = VTERM_MOD_SHIFT; return true;
	case KEY_SLEFT: *vk = VTERM_KEY_LEFT; *mod = VTERM_MOD_SHIFT; return true;
	case KEY_SRIGHT: *vk = VTERM_KEY_RIGHT; *mod = VTERM_MOD_SHIFT; return true;
	case KEY_HOME: *vk = VTERM_KEY_HOME; return true;
	case KEY_END: *vk = VTERM_KEY_END; return true;
	case KEY_SHOME: *vk = VTERM_KEY_HOME; *mod = VTERM_MOD_SHIFT; return true;
	case KEY_SEND: *vk = VTERM_KEY_END; *mod = VTERM_MOD_SHIFT; return true;
	case KEY_PPAGE: *vk = VTERM_KEY_PAGEUP; return true;
	case KEY_NPAGE: *vk = VTERM_KEY_PAGEDOWN; return true;
	case KEY_IC: *vk = VTERM_KEY_INS; return true;
	case KEY_DC: *vk = VTERM_KEY_DEL; return true;
	case KEY_BACKSPACE: *vk = VTERM_KEY_BACKSPACE; return true;
	case KEY_ENTER: *vk = VTERM_KEY_ENTER; return true;
	case KEY_BTAB: *vk = VTERM_KEY_TAB; *mod = VTERM_MOD_SHIFT; return true;
	default: break;
	}
	if (key >= KEY_F(1) && key <= KEY_F(12)) {
		*vk = VTERM_KEY_FUNCTION(key - KEY_F0);
		return true;
	}
	if (key > KEY_F(12) && key <= KEY_F(48)) {
		/* ncurses: F13-F24 are shift+F1-12, F25-36 ctrl, F37-48 ctrl+shift */
		int n = key - KEY_F0 - 1, group = n / 12;

		*vk = VTERM_KEY_FUNCTION(n % 12 + 1);
		*mod = group == 1 ? VTERM_MOD_SHIFT
		       : group == 2 ? VTERM_MOD_CTRL
		                    : (VTermModifier)(VTERM_MOD_CTRL | VTERM_MOD_SHIFT);
		return true;
	}
	return ext_key(key, vk, mod);
}

size_t termpane_key(TermPane *p, int key, bool is_keycode, char *out, size_t outsz)
{
	VTermKey vk;
	VTermModifier mod;

	flush_replies(p); /* the output buffer must hold only this key's bytes */
	if (is_keycode) {
		if (!curses_key(key, &vk, &mod))
			return 0;
		vterm_keyboard_key(p->vt, vk, mod);
	} else if (key == '\r' || key == '\n') {
		vterm_keyboard_key(p->vt, VTERM_KEY_ENTER, VTERM_MOD_NONE);
	} else if (key == 0x7F || key == 0x08) {
		vterm_keyboard_key(p->vt, VTERM_KEY_BACKSPACE, VTERM_MOD_NONE);
	} else if (key == '\t') {
		vterm_keyboard_key(p->vt, VTERM_KEY_TAB, VTERM_MOD_NONE);
	} else if (key == 0x1B) {
		vterm_keyboard_key(p->vt, VTERM_KEY_ESCAPE, VTERM_MOD_NONE);
	} else if (key >= 0 && key < 0x20) {
		/* Control characters (Ctrl-C, Ctrl-D...) go through as themselves. */
		if (outsz < 1)
			return 0;
		out[0] = (char)key;
		return 1;
	} else if (key >= 0x20 && key <= 0x10FFFF && !(key >= 0xD800 && key < 0xE000)) {
		vterm_keyboard_unichar(p->vt, (uint32_t)key, VTERM_MOD_NONE);
	} else {
		return 0;
	}
	return vterm_output_read(p->vt, out, outsz);
}

size_t termpane_paste(TermPane *p, const char *text, size_t len, char *out, size_t outsz)
{
	size_t n = 0;

	flush_replies(p);
	vterm_keyboard_start_paste(p->vt);
	n += vterm_output_read(p->vt, out, outsz);
	if (len > outsz - n)
		len = outsz - n;
	memcpy(out + n, text, len);
	n += len;
	vterm_keyboard_end_paste(p->vt);
	n += vterm_output_read(p->vt, out + n, outsz - n);
	return n;
}

/* --- scrollback and copy mode ---------------------------------------------------------- */

int termpane_scroll(TermPane *p, int delta)
{
	int o = p->offset + delta;

	if (p->cur == 1)
		o = 0; /* full-screen programs have no history of their own */
	if (o < 0)
		o = 0;
	if (o > p->sb_count)
		o = p->sb_count;
	if (o != p->offset) {
		p->offset = o;
		damage_all(p);
	}
	return p->offset;
}

int termpane_scroll_offset(const TermPane *p) { return p->offset; }
int termpane_scrollback_lines(const TermPane *p) { return p->sb_count; }

void termpane_select(TermPane *p, int a, int b)
{
	/* Rows may lie outside the view (an anchor that scrolled away): the
	 * selection spans scrollback and screen, clamped to what still exists. */
	int64_t top = (int64_t)(p->sb_total - (uint64_t)p->offset);
	int64_t oldest = (int64_t)(p->sb_total - (uint64_t)p->sb_count);
	int64_t newest = (int64_t)p->sb_total + p->rows - 1;
	int64_t lo = top + QD_MIN(a, b), hi = top + QD_MAX(a, b);

	p->sel = true;
	p->sel_a = (uint64_t)QD_MAX(oldest, QD_MIN(lo, newest));
	p->sel_b = (uint64_t)QD_MAX(oldest, QD_MIN(hi, newest));
	damage_all(p);
}

void termpane_select_clear(TermPane *p)
{
	if (p->sel)
		damage_all(p);
	p->sel = false;
}

bool termpane_has_selection(const TermPane *p) { return p->sel; }

/* UTF-8 of a cell run with trailing blanks trimmed. */
static void cells_text(const Cell *cells, int len, QdBuf *b)
{
	size_t start = b->len, keep = b->len;

	for (int c = 0; c < len; c++) {
		const Cell *cell = &cells[c];
		char mb[8];

		if (cell->ch[0] == CONT)
			continue;
		for (int k = 0; k < NCHARS && (k == 0 || cell->ch[k]); k++) {
			uint32_t ch = cell->ch[k];
			wchar_t wc;
			mbstate_t st;
			size_t n;

			if (k == 0)
				wc = safe_char(ch, cell->width == 2 ? 2 : 1);
			else if (wcwidth((wchar_t)ch) == 0)
				wc = (wchar_t)ch;
			else
				continue;
			memset(&st, 0, sizeof(st));
			n = wcrtomb(mb, wc, &st);
			if (n == (size_t)-1) {
				mb[0] = '?';
				n = 1;
			}
			qdbuf_append(b, mb, n);
		}
		if (cell->ch[0] != 0 && cell->ch[0] != (uint32_t)' ')
			keep = b->len;
	}
	b->len = keep > start ? keep : start;
}

char *termpane_selection_text(const TermPane *p)
{
	uint64_t oldest = p->sb_total - (uint64_t)p->sb_count;
	QdBuf b;

	if (!p->sel || p->sel_a < oldest)
		return NULL;
	qdbuf_init(&b);
	for (uint64_t s = p->sel_a; s <= p->sel_b; s++) {
		const Cell *cells;
		int len;

		if (s >= p->sb_total + (uint64_t)p->rows)
			break;
		if (s >= p->sb_total) {
			cells = p->grid[p->cur].rows[s - p->sb_total];
			len = p->cols;
		} else {
			const SbLine *l = &p->sb[(p->sb_head + (int)(s - oldest)) % TERMPANE_SCROLLBACK];

			cells = l->cells;
			len = l->len;
		}
		/* Lines are '\n'-separated, with none after the last: pasting a
		 * copied command into a shell must not run it. */
		if (s > p->sel_a)
			qdbuf_append(&b, "\n", 1);
		cells_text(cells, len, &b);
	}
	qdbuf_cstr(&b);
	return b.data;
}

size_t termpane_row_text(const TermPane *p, int row, char *buf, size_t bufsz)
{
	QdBuf b;
	const Cell *cells;
	int len;
	size_t n;

	if (bufsz == 0)
		return 0;
	buf[0] = '\0';
	if (row < 0 || row >= p->rows)
		return 0;
	cells = view_row(p, row, &len, NULL);
	if (!cells)
		return 0;
	qdbuf_init(&b);
	cells_text(cells, len, &b);
	n = QD_MIN(b.len, bufsz - 1);
	memcpy(buf, b.data ? b.data : "", n);
	buf[n] = '\0';
	qdbuf_done(&b);
	return n;
}

bool termpane_cell(const TermPane *p, int row, int col, TermPaneCell *out)
{
	const Cell *cells;
	int len;

	memset(out, 0, sizeof(*out));
	if (row < 0 || row >= p->rows || col < 0 || col >= p->cols)
		return false;
	cells = view_row(p, row, &len, NULL);
	if (!cells)
		return false;
	if (col >= len) {
		out->width = 1;
		return true;
	}
	out->ch = cells[col].ch[0] == CONT ? 0 : cells[col].ch[0];
	out->width = cells[col].width;
	out->fg = cells[col].fg;
	out->bg = cells[col].bg;
	out->attrs = cells[col].attrs;
	return true;
}

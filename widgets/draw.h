/* draw — the few primitives every widget draws with.
 *
 * Every string a widget puts on screen goes through here: it is sanitized
 * (control bytes shown visibly), measured with wcwidth and cut to the room
 * left with an ellipsis. Glyphs come in a Unicode and an ASCII form chosen by
 * theme_ascii(), and message levels always carry a word, never colour alone. */
#ifndef QD_WIDGETS_DRAW_H
#define QD_WIDGETS_DRAW_H

#include <curses.h>
#include <stdbool.h>

#include "widgets/theme.h"

typedef enum {
	GLYPH_SORT_ASC,   /* ▲ / ^ */
	GLYPH_SORT_DESC,  /* ▼ / v */
	GLYPH_ELLIPSIS,   /* … / ~ */
	GLYPH_LIVE,       /* ● / * */
	GLYPH_DOWN,       /* ○ / o */
	GLYPH_SEP,        /* · / | */
	GLYPH_CURSOR,     /* ▶ / > (selection marker) */
	GLYPH_CHECK_ON,   /* [x] (same in both) */
	GLYPH_CHECK_OFF,  /* [ ] */
	GLYPH_INFO,       /* ℹ / i */
	GLYPH_OK,         /* ✓ / + */
	GLYPH_WARN,       /* ▲ / ! */
	GLYPH_ERROR,      /* ✗ / x */
	GLYPH_MORE_UP,    /* ↑ / ^ (more text above) */
	GLYPH_MORE_DOWN,  /* ↓ / v (more text below) */
	GLYPH_COUNT
} DrawGlyph;

/* Severity of a transient message (status line, toast). */
typedef enum { LEVEL_INFO, LEVEL_OK, LEVEL_WARN, LEVEL_ERROR } DrawLevel;

const char *draw_glyph(DrawGlyph g);
/* "info", "ok", "warn", "error". */
const char *draw_level_word(DrawLevel l);
DrawGlyph draw_level_glyph(DrawLevel l);
ThemeRole draw_level_role(DrawLevel l);

/* Draws untrusted `s` sanitized and cut to `max_cols` (ellipsis when cut) at
 * y,x with the role's attribute. Returns the columns drawn. */
int draw_text(WINDOW *win, int y, int x, int max_cols, const char *s, ThemeRole role);
/* Same, then fills with blanks to exactly `cols` columns, so a redraw leaves
 * no stale tail without clearing the line first. `right` aligns right. */
int draw_text_pad(WINDOW *win, int y, int x, int cols, const char *s, ThemeRole role, bool right);
/* Same as draw_text_pad with an explicit attribute (role attrs combined). */
int draw_text_attr(WINDOW *win, int y, int x, int cols, const char *s, attr_t attr, bool right);
/* `cols` blanks in the role's attribute. */
void draw_fill(WINDOW *win, int y, int x, int cols, ThemeRole role);
/* "glyph word" (e.g. "● active") in the role, padded to `cols` (0 = no pad). */
int draw_badge(WINDOW *win, int y, int x, int cols, const char *glyph, const char *word, ThemeRole role);
/* A box around the whole window in the role (ACS lines, or +-| in ASCII),
 * with an optional title drawn into the top edge. */
void draw_frame(WINDOW *win, ThemeRole role, const char *title);

/* Creates or moves/resizes `*win` to an h x w window centered on the screen
 * (LINES x COLS), clamped to fit. Used by overlays that own their window. */
void draw_center_window(WINDOW **win, int h, int w);

#endif

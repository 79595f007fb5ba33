/* termpane — a terminal emulator pane: libvterm parses the shell's bytes into
 * our own cell grid, and the pane draws that grid into a curses window.
 *
 * dvtm-style opaque interface. termpane_write() only parses and records
 * damage (dirty rows) and state (title, cursor, alternate screen, bell); it
 * never draws. termpane_draw() writes only the rows damaged since the last
 * draw, through curses, so bytes from the shell never reach the outer
 * terminal except as cells (every code point drawn is checked: controls and
 * unprintables become '?' / U+FFFD). The caller paces drawing (≤ 60 Hz).
 *
 * The grid is libvterm's VTermState driving our own rows (an array of row
 * pointers), so a scroll is a pointer rotation plus one copy of the line
 * that leaves into the scrollback ring: this is where libvterm's own screen
 * layer spends ~3.4 µs per scrolled line. Each row remembers how far it was
 * written, so blanking and copying a row cost its text, not its width; a
 * full-screen scroll slides a window over the row pointers (O(1)).
 *
 * Input filter (before libvterm 0.1.4, which lacks these): APC, PM and SOS
 * strings are dropped whole (it would show them as text), each OSC is handed
 * over in one piece (it loses an OSC split across writes), and writes are
 * cut into 8 KiB pieces (it sizes a stack array by the write). The filter's
 * state survives writes, so any split of the stream gives the same screen.
 *
 * Colours: 256-colour and truecolor cells are reduced at draw time to what
 * the outer terminal has (theme_depth(): nearest xterm-256 index, nearest of
 * 8, or attributes only). */
#ifndef QD_WIDGETS_TERMPANE_H
#define QD_WIDGETS_TERMPANE_H

#include <curses.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "widgets/theme.h"

typedef struct TermPane TermPane;

#define TERMPANE_SCROLLBACK 2000
#define TERMPANE_TITLE_MAX 256

/* Cell attributes (TermPaneCell.attrs). */
enum {
	TERMPANE_BOLD = 1 << 0,
	TERMPANE_UNDERLINE = 1 << 1,
	TERMPANE_ITALIC = 1 << 2,
	TERMPANE_REVERSE = 1 << 3,
	TERMPANE_BLINK = 1 << 4,
	TERMPANE_STRIKE = 1 << 5,
};

/* Colour as stored: TERMPANE_COLOR_DEFAULT, TERMPANE_COLOR_INDEX(i) or TERMPANE_COLOR_RGB(r,g,b). */
#define TERMPANE_COLOR_DEFAULT 0u
#define TERMPANE_COLOR_INDEX(i) (0x01000000u | (uint32_t)(uint8_t)(i))
#define TERMPANE_COLOR_RGB(r, g, b) \
	(0x02000000u | ((uint32_t)(uint8_t)(r) << 16) | ((uint32_t)(uint8_t)(g) << 8) | (uint8_t)(b))

/* One cell as tests and copy mode see it. */
typedef struct {
	uint32_t ch;     /* base code point; 0 = blank; for the right half of a wide char, 0 and width 0 */
	int width;       /* 1, 2, or 0 for the right half of a wide char */
	uint32_t fg, bg; /* TERMPANE_COLOR_* encoding */
	unsigned attrs;  /* TERMPANE_BOLD ... */
} TermPaneCell;

/* rows, cols are clamped to 1..1000. */
TermPane *termpane_new(int rows, int cols);
void termpane_free(TermPane **pane);

/* Feeds bytes from the shell. Never draws. */
void termpane_write(TermPane *pane, const void *bytes, size_t len);

/* Replies the emulator owes the shell (device attributes, cursor position
 * reports) are passed to this callback; send them on the stdin channel. */
void termpane_set_reply(TermPane *pane, void (*fn)(void *ud, const char *bytes, size_t len),
                        void *ud);

/* Draws the rows damaged since the last draw into win at (y, x). A different
 * window or origin than last time, or termpane_invalidate(), redraws all. The
 * curses cursor is left at the terminal's cursor when it is visible. Returns
 * the number of rows written. */
int termpane_draw(TermPane *pane, WINDOW *win, int y, int x);
void termpane_invalidate(TermPane *pane);
/* True when something changed since the last draw (the frame timer asks). */
bool termpane_dirty(const TermPane *pane);

/* Resizes the grid (and libvterm); rows that no longer fit go to scrollback. */
void termpane_resize(TermPane *pane, int rows, int cols);
void termpane_size(const TermPane *pane, int *rows, int *cols);

/* Colour depth override (tests, benchmarks); by default theme_depth() at draw. */
void termpane_set_depth(TermPane *pane, ThemeDepth depth);

/* Sanitized window title from OSC 0/2 ("" if none). */
const char *termpane_title(const TermPane *pane);
bool termpane_altscreen(const TermPane *pane);
/* Cursor position in view rows; returns whether it is visible (hidden while
 * the view is scrolled back). */
bool termpane_cursor(const TermPane *pane, int *row, int *col);
/* Returns and clears the bell flag. */
bool termpane_take_bell(TermPane *pane);

/* Maps one key from wget_wch (a character, or a KEY_* code when is_keycode)
 * to the bytes the shell expects, honouring application cursor/keypad modes.
 * Returns bytes written to out (0 = key has no terminal meaning). */
size_t termpane_key(TermPane *pane, int key, bool is_keycode, char *out, size_t outsz);
/* Wraps pasted text in bracketed-paste markers when the shell asked for them. */
size_t termpane_paste(TermPane *pane, const char *text, size_t len, char *out, size_t outsz);

/* Scrollback: offset 0 is the live screen; positive looks back. While
 * scrolled back, new output keeps the view where it is. Returns the offset. */
int termpane_scroll(TermPane *pane, int delta);
int termpane_scroll_offset(const TermPane *pane);
int termpane_scrollback_lines(const TermPane *pane);

/* Copy mode: select view rows a..b (inclusive, any order; the selection
 * follows the text as it scrolls), drawn in reverse. A row may lie above
 * the view (negative) or below it: the selection then spans scrollback and
 * screen, clamped to the lines that still exist. */
void termpane_select(TermPane *pane, int row_a, int row_b);
void termpane_select_clear(TermPane *pane);
bool termpane_has_selection(const TermPane *pane);
/* The selected lines as UTF-8, '\n'-separated, trailing blanks trimmed;
 * caller frees. NULL when nothing is selected or the lines left the ring. */
char *termpane_selection_text(const TermPane *pane);

/* Text of one view row (as drawn, UTF-8, trailing blanks trimmed) into buf;
 * returns its length. And one cell of the view. For tests and copy mode. */
size_t termpane_row_text(const TermPane *pane, int row, char *buf, size_t bufsz);
bool termpane_cell(const TermPane *pane, int row, int col, TermPaneCell *out);

#endif

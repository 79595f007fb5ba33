/* Unit tests for widgets/termpane: what libvterm parses lands in the grid
 * (colours, attributes, wide characters, cursor, alternate screen, title,
 * scrollback, copy), keys map to the bytes a shell expects, and drawing goes
 * only through curses: nothing the shell sends reaches the outer terminal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <vterm.h>

#include "widgets/termpane.h"

#define FEED(p, s) termpane_write((p), (s), strlen(s))

static int setup(void **state)
{
	(void)state;
	if (!setlocale(LC_CTYPE, "C.UTF-8"))
		setlocale(LC_CTYPE, "en_US.UTF-8");
	return 0;
}

static void test_text_and_cursor(void **state)
{
	TermPane *p = termpane_new(5, 20);
	char buf[64];
	int r, c;
	(void)state;

	FEED(p, "hello\r\nworld");
	termpane_row_text(p, 0, buf, sizeof(buf));
	assert_string_equal(buf, "hello");
	termpane_row_text(p, 1, buf, sizeof(buf));
	assert_string_equal(buf, "world");
	assert_true(termpane_cursor(p, &r, &c));
	assert_int_equal(r, 1);
	assert_int_equal(c, 5);
	FEED(p, "\x1b[4;10HX\x1b[?25l");
	assert_false(termpane_cursor(p, &r, &c));
	assert_int_equal(r, 3);
	assert_int_equal(c, 10);
	termpane_row_text(p, 3, buf, sizeof(buf));
	assert_string_equal(buf, "         X");
	termpane_free(&p);
	assert_null(p);
}

static void test_sgr_colours(void **state)
{
	TermPane *p = termpane_new(3, 40);
	TermPaneCell cell;
	(void)state;

	FEED(p, "\x1b[1;31mA\x1b[0;4;38;5;200mB\x1b[0;7;38;2;10;20;30;48;5;17mC\x1b[0mD");
	assert_true(termpane_cell(p, 0, 0, &cell));
	assert_int_equal(cell.ch, 'A');
	assert_int_equal(cell.fg, TERMPANE_COLOR_INDEX(1));
	assert_true(cell.attrs & TERMPANE_BOLD);
	termpane_cell(p, 0, 1, &cell);
	assert_int_equal(cell.fg, TERMPANE_COLOR_INDEX(200));
	assert_true(cell.attrs & TERMPANE_UNDERLINE);
	assert_false(cell.attrs & TERMPANE_BOLD);
	termpane_cell(p, 0, 2, &cell);
	assert_int_equal(cell.fg, TERMPANE_COLOR_RGB(10, 20, 30));
	assert_int_equal(cell.bg, TERMPANE_COLOR_INDEX(17));
	assert_true(cell.attrs & TERMPANE_REVERSE);
	termpane_cell(p, 0, 3, &cell);
	assert_int_equal(cell.fg, TERMPANE_COLOR_DEFAULT);
	assert_int_equal(cell.bg, TERMPANE_COLOR_DEFAULT);
	assert_int_equal(cell.attrs, 0);
	termpane_free(&p);
}

static void test_wide_chars(void **state)
{
	TermPane *p = termpane_new(3, 10);
	TermPaneCell cell;
	char buf[64];
	int r, c;
	(void)state;

	FEED(p, "a\xe4\xb8\xad" "b\xf0\x9f\x98\x80"); /* a 中 b 😀 */
	termpane_cell(p, 0, 1, &cell);
	assert_int_equal(cell.ch, 0x4E2D);
	assert_int_equal(cell.width, 2);
	termpane_cell(p, 0, 2, &cell);
	assert_int_equal(cell.width, 0);
	termpane_cell(p, 0, 3, &cell);
	assert_int_equal(cell.ch, 'b');
	termpane_cell(p, 0, 4, &cell);
	assert_int_equal(cell.ch, 0x1F600);
	termpane_cursor(p, &r, &c);
	assert_int_equal(c, 6);
	termpane_row_text(p, 0, buf, sizeof(buf));
	assert_string_equal(buf, "a\xe4\xb8\xad" "b\xf0\x9f\x98\x80");
	/* Overwriting the right half of a wide char blanks its left half. */
	FEED(p, "\x1b[1;3HZ");
	termpane_cell(p, 0, 1, &cell);
	assert_int_equal(cell.width, 1);
	assert_int_equal(cell.ch, 0);
	termpane_free(&p);
}

static void test_alternate_screen(void **state)
{
	TermPane *p = termpane_new(4, 20);
	char buf[64];
	(void)state;

	FEED(p, "shell prompt");
	assert_false(termpane_altscreen(p));
	FEED(p, "\x1b[?1049h\x1b[Hfull screen app");
	assert_true(termpane_altscreen(p));
	termpane_row_text(p, 0, buf, sizeof(buf));
	assert_string_equal(buf, "full screen app");
	FEED(p, "\x1b[?1049l");
	assert_false(termpane_altscreen(p));
	termpane_row_text(p, 0, buf, sizeof(buf));
	assert_string_equal(buf, "shell prompt");
	termpane_free(&p);
}

static void test_title_sanitized(void **state)
{
	TermPane *p = termpane_new(4, 20);
	(void)state;

	FEED(p, "\x1b]0;build \xc2\x9b" "2J done\x07");
	assert_null(strchr(termpane_title(p), 0x1b));
	assert_null(strstr(termpane_title(p), "\xc2\x9b"));
	assert_non_null(strstr(termpane_title(p), "build"));
	FEED(p, "\x1b]2;plain\x1b\\");
	assert_string_equal(termpane_title(p), "plain");
	termpane_free(&p);
}

static void test_scrollback_and_copy(void **state)
{
	TermPane *p = termpane_new(3, 20);
	char buf[64], *sel;
	(void)state;

	for (int i = 0; i < 10; i++) {
		snprintf(buf, sizeof(buf), "line %d\r\n", i);
		FEED(p, buf);
	}
	/* Rows: "line 8", "line 9", "" → 8 lines went to history. */
	assert_int_equal(termpane_scrollback_lines(p), 8);
	termpane_row_text(p, 0, buf, sizeof(buf));
	assert_string_equal(buf, "line 8");
	assert_int_equal(termpane_scroll(p, 3), 3);
	termpane_row_text(p, 0, buf, sizeof(buf));
	assert_string_equal(buf, "line 5");
	assert_false(termpane_cursor(p, NULL, NULL));
	termpane_select(p, 1, 0);
	sel = termpane_selection_text(p);
	assert_string_equal(sel, "line 5\nline 6");
	free(sel);
	/* New output keeps a scrolled-back view on the same text. */
	FEED(p, "line 10\r\n");
	termpane_row_text(p, 0, buf, sizeof(buf));
	assert_string_equal(buf, "line 5");
	assert_int_equal(termpane_scroll(p, -100), 0);
	assert_int_equal(termpane_scroll(p, 1000), termpane_scrollback_lines(p));
	termpane_free(&p);
}

/* Copy mode selects across more than a screenful: an anchor that scrolled
 * out of the 3-row view still counts, clamped to lines that exist. */
static void test_selection_spans_screens(void **state)
{
	TermPane *p = termpane_new(3, 20);
	char buf[64], *sel;
	(void)state;

	for (int i = 0; i < 10; i++) {
		snprintf(buf, sizeof(buf), "line %d\r\n", i);
		FEED(p, buf);
	}
	/* Live view: "line 8", "line 9", "". From line 2 (6 rows above the
	 * view) down to line 9. */
	termpane_select(p, -6, 1);
	sel = termpane_selection_text(p);
	assert_string_equal(sel, "line 2\nline 3\nline 4\nline 5\nline 6\nline 7\nline 8\nline 9");
	free(sel);
	/* Far past both ends: everything there is, oldest line first. */
	termpane_select(p, 100, -100);
	sel = termpane_selection_text(p);
	assert_non_null(sel);
	assert_int_equal(strncmp(sel, "line 0\n", 7), 0);
	assert_non_null(strstr(sel, "line 9"));
	free(sel);
	termpane_free(&p);
}

static void test_resize_keeps_cursor_line(void **state)
{
	TermPane *p = termpane_new(10, 20);
	char buf[64];
	int r, c;
	(void)state;

	for (int i = 0; i < 8; i++) {
		snprintf(buf, sizeof(buf), "%sl%d", i ? "\r\n" : "", i);
		FEED(p, buf);
	}
	termpane_resize(p, 4, 10);
	termpane_cursor(p, &r, &c);
	assert_int_equal(r, 3);
	termpane_row_text(p, 3, buf, sizeof(buf));
	assert_string_equal(buf, "l7");
	termpane_resize(p, 0, 5000); /* clamped */
	termpane_size(p, &r, &c);
	assert_int_equal(r, 1);
	assert_int_equal(c, 1000);
	termpane_free(&p);
}

static void test_keys(void **state)
{
	TermPane *p = termpane_new(3, 20);
	char out[32];
	size_t n;
	(void)state;

	n = termpane_key(p, 'x', false, out, sizeof(out));
	assert_int_equal(n, 1);
	assert_int_equal(out[0], 'x');
	n = termpane_key(p, 0xE9, false, out, sizeof(out)); /* é as UTF-8 */
	assert_int_equal(n, 2);
	assert_memory_equal(out, "\xc3\xa9", 2);
	n = termpane_key(p, 3, false, out, sizeof(out)); /* Ctrl-C */
	assert_int_equal(n, 1);
	assert_int_equal(out[0], 3);
	n = termpane_key(p, KEY_UP, true, out, sizeof(out));
	assert_int_equal(n, 3);
	assert_memory_equal(out, "\x1b[A", 3);
	FEED(p, "\x1b[?1h"); /* application cursor keys (vi, less) */
	n = termpane_key(p, KEY_UP, true, out, sizeof(out));
	assert_int_equal(n, 3);
	assert_memory_equal(out, "\x1bOA", 3);
	n = termpane_key(p, '\r', false, out, sizeof(out));
	assert_int_equal(n, 1);
	assert_int_equal(out[0], '\r');
	n = termpane_key(p, KEY_F(5), true, out, sizeof(out));
	assert_true(n > 2 && out[0] == 0x1b);
	assert_int_equal(termpane_key(p, KEY_MOUSE, true, out, sizeof(out)), 0);
	termpane_free(&p);
}

static char reply_buf[64];
static size_t reply_len;
static void on_reply(void *ud, const char *b, size_t n)
{
	(void)ud;
	if (reply_len + n < sizeof(reply_buf)) {
		memcpy(reply_buf + reply_len, b, n);
		reply_len += n;
	}
}

static void test_replies(void **state)
{
	TermPane *p = termpane_new(3, 20);
	(void)state;

	termpane_set_reply(p, on_reply, NULL);
	FEED(p, "ab\x1b[6n"); /* cursor position report */
	reply_buf[reply_len] = '\0';
	assert_string_equal(reply_buf, "\x1b[1;3R");
	termpane_free(&p);
}

/* Draws into a real curses screen whose output goes to a file, then checks
 * cells with mvwin_wch and that the shell's escape payloads never appear in
 * what curses wrote. */
static void test_draw_is_cells_only(void **state)
{
	FILE *out = tmpfile(), *in = fopen("/dev/null", "r");
	SCREEN *scr;
	TermPane *p = termpane_new(6, 30);
	cchar_t cc;
	wchar_t wch[8];
	attr_t attrs;
	short pair;
	char *data;
	long len;
	int drawn;
	(void)state;

	assert_non_null(out);
	scr = newterm("xterm-256color", out, in);
	assert_non_null(scr);
	set_term(scr);
	start_color();
	use_default_colors();
	termpane_set_depth(p, THEME_256);
	FEED(p, "\x1b]52;c;U0VDUkVU\x07"           /* clipboard write attempt */
	        "\x1b]0;TITLEPAYLOAD\x07"         /* title: stored, not forwarded */
	        "\x1bP+q544e\x1b\\"               /* DCS query */
	        "\x1b[31mred\x1b[0m \xe4\xb8\xad\r\n"
	        "\x1b[?1049h\x1b[?1049l");
	drawn = termpane_draw(p, stdscr, 0, 0);
	assert_int_equal(drawn, 6);
	wnoutrefresh(stdscr);
	doupdate();
	mvwin_wch(stdscr, 0, 0, &cc);
	getcchar(&cc, wch, &attrs, &pair, NULL);
	assert_int_equal(wch[0], L'r');
	mvwin_wch(stdscr, 0, 4, &cc);
	getcchar(&cc, wch, &attrs, &pair, NULL);
	assert_int_equal(wch[0], 0x4E2D);
	/* Nothing changed: nothing is redrawn. */
	assert_int_equal(termpane_draw(p, stdscr, 0, 0), 0);
	FEED(p, "x");
	assert_int_equal(termpane_draw(p, stdscr, 0, 0), 1);
	endwin();
	delscreen(scr);
	fflush(out);
	len = ftell(out);
	data = calloc(1, (size_t)len + 1);
	rewind(out);
	assert_int_equal(fread(data, 1, (size_t)len, out), (size_t)len);
	assert_null(memmem(data, (size_t)len, "U0VDUkVU", 8));
	assert_null(memmem(data, (size_t)len, "TITLEPAYLOAD", 12));
	assert_null(memmem(data, (size_t)len, "544e", 4));
	assert_null(memmem(data, (size_t)len, "\x1b]52", 4));
	assert_non_null(memmem(data, (size_t)len, "red", 3));
	free(data);
	fclose(out);
	fclose(in);
	termpane_free(&p);
}

/* APC, PM and SOS strings (kitty graphics, tmux passthrough, screen's
 * messages) vanish whole, wherever the stream is split; what follows them,
 * and the escape sequences libvterm does parse, still work. */
static void test_apc_pm_sos_filtered(void **state)
{
	static const char stream[] =
	    "a\x1b_Gf=100,a=T;AAAA\x1b\\b"     /* APC (kitty graphics) */
	    "\x1b^private message\x1b\\c"      /* PM */
	    "\x1bXstart of string\x1b\\d"      /* SOS */
	    "\x1b_cancelled\x18" "e"           /* CAN aborts a string */
	    "\x1b_esc in it\x1b[1mF\x1b[0m"      /* ESC + other ends it, CSI still parsed */
	    "\x1b]0;t\x1b\\g";                 /* OSC with ST still reaches libvterm, */
	static const char title[] = "\x1b]2;a title\x07"; /* whole even when split */
	char buf[64];
	TermPaneCell cell;
	(void)state;

	/* Every split point, including between ESC and the introducer and
	 * between the ESC and '\\' of the terminator. */
	for (size_t cut = 0; cut <= sizeof(stream) - 1; cut++) {
		TermPane *p = termpane_new(3, 40);

		termpane_write(p, stream, cut);
		termpane_write(p, stream + cut, sizeof(stream) - 1 - cut);
		termpane_row_text(p, 0, buf, sizeof(buf));
		assert_string_equal(buf, "abcdeFg");
		assert_true(termpane_cell(p, 0, 5, &cell));
		assert_int_equal(cell.ch, 'F');
		assert_true(cell.attrs & TERMPANE_BOLD);
		assert_string_equal(termpane_title(p), "t");
		termpane_free(&p);
	}
	for (size_t cut = 0; cut <= sizeof(title) - 1; cut++) {
		TermPane *p = termpane_new(3, 40);

		termpane_write(p, title, cut);
		termpane_write(p, title + cut, sizeof(title) - 1 - cut);
		assert_string_equal(termpane_title(p), "a title");
		termpane_free(&p);
	}
	/* One byte at a time. */
	{
		TermPane *p = termpane_new(3, 40);

		for (size_t i = 0; i < sizeof(stream) - 1; i++)
			termpane_write(p, stream + i, 1);
		termpane_row_text(p, 0, buf, sizeof(buf));
		assert_string_equal(buf, "abcdeFg");
		termpane_free(&p);
	}
	/* An unterminated APC swallows what follows until it ends; a lone ESC
	 * held back at the end of a write is not lost. */
	{
		TermPane *p = termpane_new(3, 40);

		FEED(p, "x\x1b_never ends ");
		FEED(p, "still inside");
		termpane_row_text(p, 0, buf, sizeof(buf));
		assert_string_equal(buf, "x");
		FEED(p, "\x1b\\y\x1b");
		FEED(p, "[31mz");
		termpane_row_text(p, 0, buf, sizeof(buf));
		assert_string_equal(buf, "xyz");
		assert_true(termpane_cell(p, 0, 2, &cell));
		assert_int_equal(cell.fg, TERMPANE_COLOR_INDEX(1));
		termpane_free(&p);
	}
}

/* Scrolling keeps text, colours and erased backgrounds right through the
 * fast paths (row rotation, lazy blanking, the scrollback copy). */
static void test_scroll_fast_paths(void **state)
{
	TermPane *p = termpane_new(4, 10);
	char buf[64];
	TermPaneCell cell;
	(void)state;

	FEED(p, "\x1b[44m\x1b[K\x1b[0mblue\r\n"); /* whole row erased with a blue background */
	FEED(p, "1\r\n2\r\n3\r\n4\r\n5");
	termpane_row_text(p, 0, buf, sizeof(buf));
	assert_string_equal(buf, "2");
	termpane_row_text(p, 3, buf, sizeof(buf));
	assert_string_equal(buf, "5");
	termpane_cell(p, 3, 5, &cell);
	assert_int_equal(cell.bg, TERMPANE_COLOR_DEFAULT);
	/* The blue row went to the scrollback with its background. */
	termpane_scroll(p, 2);
	termpane_row_text(p, 0, buf, sizeof(buf));
	assert_string_equal(buf, "blue");
	termpane_cell(p, 0, 9, &cell);
	assert_int_equal(cell.bg, TERMPANE_COLOR_INDEX(4));
	termpane_scroll(p, -2);
	/* A scroll with a coloured pen fills the new row with that background. */
	FEED(p, "\x1b[42m\r\n\x1b[0m");
	termpane_cell(p, 3, 7, &cell);
	assert_int_equal(cell.bg, TERMPANE_COLOR_INDEX(2));
	termpane_row_text(p, 2, buf, sizeof(buf));
	assert_string_equal(buf, "5");
	/* Long lines overwritten by short ones leave no stale tail. */
	FEED(p, "\x1b[2J\x1b[H");
	FEED(p, "abcdefghij\r\n");
	FEED(p, "\x1b[1;1Hxy\x1b[K\r\n\r\n\r\n\r\n"); /* "xy" scrolls off */
	termpane_scroll(p, 1);
	termpane_row_text(p, 0, buf, sizeof(buf));
	assert_string_equal(buf, "xy");
	termpane_free(&p);
}

/* Insert and delete characters, and insert mode, move part of a row. */
static void test_insert_delete_chars(void **state)
{
	TermPane *p = termpane_new(3, 20);
	char buf[64];
	(void)state;

	FEED(p, "abcdef\x1b[1;2H\x1b[P");
	termpane_row_text(p, 0, buf, sizeof(buf));
	assert_string_equal(buf, "acdef");
	FEED(p, "\x1b[2@");
	termpane_row_text(p, 0, buf, sizeof(buf));
	assert_string_equal(buf, "a  cdef");
	FEED(p, "\x1b[4hXY\x1b[4l");
	termpane_row_text(p, 0, buf, sizeof(buf));
	assert_string_equal(buf, "aXY  cdef");
	termpane_free(&p);
}

/* One huge write (a WebSocket message, a test) must not reach libvterm in
 * one piece: 0.1.4 sizes a stack array by the length of the write. */
static void test_huge_write(void **state)
{
	size_t n = 4u << 20;
	char *big = malloc(n), buf[64];
	TermPane *p = termpane_new(4, 20);
	(void)state;

	assert_non_null(big);
	for (size_t i = 0; i + 3 <= n; i += 3)
		memcpy(big + i, "y\r\n", 3);
	termpane_write(p, big, n / 3 * 3);
	FEED(p, "end");
	termpane_row_text(p, 2, buf, sizeof(buf));
	assert_string_equal(buf, "y");
	termpane_row_text(p, 3, buf, sizeof(buf));
	assert_string_equal(buf, "end");
	assert_int_equal(termpane_scrollback_lines(p), TERMPANE_SCROLLBACK);
	termpane_free(&p);
	free(big);
}

/* --- differential: the pane's grid against libvterm's own screen layer --- */

static uint64_t diff_rng;
static unsigned diff_rnd(unsigned n)
{
	diff_rng = diff_rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned)(diff_rng >> 33) % n;
}

/* A stream that exercises every grid path: text and wide text with wrap,
 * newlines at the bottom (fast scroll), scroll regions, index/reverse
 * index, SU/SD, insert/delete lines and characters (moverect), erases with
 * coloured backgrounds, cursor motion, the alternate screen. */
static void diff_stream(char *out, size_t cap, size_t *len)
{
	static const char *const tokens[] = {
	    "hello ", "y\r\n", "\r\n", "\n", "\t", "\b", "\r", "\xe4\xb8\xad\xe6\x96\x87",
	    "\xf0\x9f\x98\x80", "\xc3\xa9", "\x1b[K", "\x1b[1K", "\x1b[2K", "\x1b[J", "\x1b[1J",
	    "\x1b[2J", "\x1b[44m", "\x1b[0m", "\x1b[31;1m", "\x1b[L", "\x1b[3L", "\x1b[M",
	    "\x1b[2M", "\x1b[@", "\x1b[4@", "\x1b[P", "\x1b[5P", "\x1b[X", "\x1b[S", "\x1b[2S",
	    "\x1b[T", "\x1b[3T", "\033D", "\033M", "\033E", "\0337", "\0338", "\x1b[r",
	    "\x1b[2;5r", "\x1b[3;8r", "\x1b[H", "\x1b[8;20H", "\x1b[5;1H", "\x1b[A", "\x1b[3B",
	    "\x1b[10C", "\x1b[4D", "\x1b[?1049h", "\x1b[?1049l", "\x1b[4h", "\x1b[4l",
	    "\x1b[?7l", "\x1b[?7h", "\x1b[?6h", "\x1b[?6l",
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
	};

	*len = 0;
	while (*len + 80 < cap) {
		const char *t = tokens[diff_rnd(sizeof(tokens) / sizeof(tokens[0]))];
		size_t n = strlen(t);

		memcpy(out + *len, t, n);
		*len += n;
	}
}

/* Both screens side by side, for the failure message. */
static void diff_dump(TermPane *p, VTermScreen *scr, int rows, int cols)
{
	for (int r = 0; r < rows; r++) {
		char a[1024], b[1024];
		size_t n = 0;

		termpane_row_text(p, r, a, sizeof(a));
		for (int c = 0; c < cols && n + 5 < sizeof(b); c++) {
			VTermScreenCell sc;
			VTermPos pos = {.row = r, .col = c};
			uint32_t ch;

			vterm_screen_get_cell(scr, pos, &sc);
			ch = sc.chars[0];
			if (ch == (uint32_t)-1)
				continue;
			b[n++] = ch == 0 ? ' ' : ch < 0x80 ? (char)ch : '*';
		}
		while (n > 0 && b[n - 1] == ' ')
			n--;
		b[n] = '\0';
		print_message("%2d pane   |%s|\n   screen |%s|\n", r, a, b);
	}
}

static void diff_compare(TermPane *p, VTermScreen *scr, int rows, int cols, int step)
{
	for (int r = 0; r < rows; r++)
		for (int c = 0; c < cols; c++) {
			TermPaneCell pc;
			VTermScreenCell sc;
			VTermPos pos = {.row = r, .col = c};
			uint32_t a, b;

			assert_true(termpane_cell(p, r, c, &pc));
			vterm_screen_get_cell(scr, pos, &sc);
			a = pc.ch == ' ' ? 0 : pc.ch;
			b = sc.chars[0] == ' ' || sc.chars[0] == (uint32_t)-1 ? 0 : sc.chars[0];
			/* libvterm's screen keeps the left half of a wide character
			 * whose right half was overwritten (it reports it narrow); the
			 * pane blanks it, as xterm does. */
			if (a == 0 && b != 0 && sc.width == 1 && wcwidth((wchar_t)b) == 2)
				continue;
			if (a != b) {
				diff_dump(p, scr, rows, cols);
				fail_msg("step %d: cell %d,%d: pane U+%04X, libvterm screen U+%04X", step, r, c,
				         (unsigned)a, (unsigned)b);
			}
			/* ...and after moving part of a row it can report a narrow
			 * character wide (a stray right half lands next to it). */
			if (b != 0 && sc.width != pc.width && wcwidth((wchar_t)b) != pc.width)
				fail_msg("step %d: cell %d,%d: width %d vs %d", step, r, c, pc.width, sc.width);
			if (b != 0 && !!sc.attrs.bold != !!(pc.attrs & TERMPANE_BOLD))
				fail_msg("step %d: cell %d,%d: bold differs", step, r, c);
		}
}

static void test_matches_libvterm_screen(void **state)
{
	static char buf[1 << 16];
	(void)state;

	for (int seed = 1; seed <= 150; seed++) {
		int rows = 3 + seed % 9, cols = 10 + seed * 7 % 50;
		TermPane *p = termpane_new(rows, cols);
		VTerm *vt = vterm_new(rows, cols);
		VTermScreen *scr;
		size_t len;

		vterm_set_utf8(vt, 1);
		scr = vterm_obtain_screen(vt);
		vterm_screen_enable_altscreen(scr, 1);
		vterm_screen_reset(scr, 1);
		diff_rng = (uint64_t)seed;
		for (int step = 0; step < 20; step++) {
			size_t cut;

			diff_stream(buf, 400 + diff_rnd(4000), &len);
			cut = diff_rnd((unsigned)len + 1);
			termpane_write(p, buf, cut); /* split anywhere: the pane must not care */
			termpane_write(p, buf + cut, len - cut);
			vterm_input_write(vt, buf, len);
			diff_compare(p, scr, rows, cols, seed * 100 + step);
		}
		vterm_free(vt);
		termpane_free(&p);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_text_and_cursor),
	    cmocka_unit_test(test_sgr_colours),
	    cmocka_unit_test(test_wide_chars),
	    cmocka_unit_test(test_alternate_screen),
	    cmocka_unit_test(test_title_sanitized),
	    cmocka_unit_test(test_scrollback_and_copy),
	    cmocka_unit_test(test_selection_spans_screens),
	    cmocka_unit_test(test_resize_keeps_cursor_line),
	    cmocka_unit_test(test_keys),
	    cmocka_unit_test(test_replies),
	    cmocka_unit_test(test_draw_is_cells_only),
	    cmocka_unit_test(test_apc_pm_sos_filtered),
	    cmocka_unit_test(test_scroll_fast_paths),
	    cmocka_unit_test(test_insert_delete_chars),
	    cmocka_unit_test(test_huge_write),
	    cmocka_unit_test(test_matches_libvterm_screen),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}

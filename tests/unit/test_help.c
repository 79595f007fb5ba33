/* Unit tests for widgets/help: the word wrap (exact fit, words longer than a
 * line, wide CJK characters, breaks after '/'), and the overlay's scrolling
 * (bounds, the position indicator, keys only through the keymap, a resize
 * keeping the same entry at the top), in curses on /dev/null. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curses.h>
#include <stdio.h>
#include <string.h>

#include "common/sanitize.h"
#include "keymaps/keymap.h"
#include "tests/unit/curses_fixture.h"
#include "widgets/help.h"
#include "widgets/theme.h"

/* Wraps and compares with the expected lines (NULL-terminated). */
static void expect_wrap(const char *text, int width, const char *const *want)
{
	char **lines;
	size_t n = help_wrap(text, width, &lines);
	size_t k = 0;
	while (want[k])
		k++;
	if (n != k) {
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, "line %zu: '%s'\n", i, lines[i]);
	}
	assert_int_equal(n, k);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(lines[i], want[i]);
		assert_true(sanitize_width(lines[i]) <= width);
	}
	help_wrap_free(&lines, n);
	assert_null(lines);
}

static void test_wrap_words(void **state)
{
	(void)state;
	/* exact fit: one line; one column less: the last word moves down */
	expect_wrap("abc def", 7, (const char *const[]){"abc def", NULL});
	expect_wrap("abc def", 6, (const char *const[]){"abc", "def", NULL});
	/* a space right at the edge is the break, not the start of the next line */
	expect_wrap("abcd efgh", 4, (const char *const[]){"abcd", "efgh", NULL});
	/* runs of spaces and trailing spaces go at the break */
	expect_wrap("one   two  ", 5, (const char *const[]){"one", "two", NULL});
	/* empty text is one empty line */
	expect_wrap("", 10, (const char *const[]){"", NULL});
	/* greedy: as many words as fit */
	expect_wrap("Open a shell on the selected allocation", 34,
	            (const char *const[]){"Open a shell on the selected", "allocation", NULL});
}

static void test_wrap_long_words_and_slashes(void **state)
{
	(void)state;
	/* a word longer than the line is cut; the next word starts a new line */
	expect_wrap("abcdefghij xy", 4, (const char *const[]){"abcd", "efgh", "ij", "xy", NULL});
	expect_wrap("abcdefgh", 4, (const char *const[]){"abcd", "efgh", NULL});
	/* key lists break after a '/', which stays on the upper line */
	expect_wrap("<PageDown>/<C-f>/<Space>", 16, (const char *const[]){"<PageDown>/", "<C-f>/<Space>", NULL});
	expect_wrap("$XDG_CONFIG_HOME/quarterdeck/keys", 20,
	            (const char *const[]){"$XDG_CONFIG_HOME/", "quarterdeck/keys", NULL});
}

static void test_wrap_wide_characters(void **state)
{
	(void)state;
	/* 日本語テキスト: every character is two columns; none straddles a break */
	expect_wrap("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x83\x86\xe3\x82\xad\xe3\x82\xb9\xe3\x83\x88", 5,
	            (const char *const[]){"\xe6\x97\xa5\xe6\x9c\xac", "\xe8\xaa\x9e\xe3\x83\x86",
	                                  "\xe3\x82\xad\xe3\x82\xb9", "\xe3\x83\x88", NULL});
	/* exact fit in columns, not bytes: 日本 is 4 columns, 6 bytes */
	expect_wrap("\xe6\x97\xa5\xe6\x9c\xac ab", 4, (const char *const[]){"\xe6\x97\xa5\xe6\x9c\xac", "ab", NULL});
	/* mixed: the word moves down whole when it fits a line */
	expect_wrap("ab \xe6\x97\xa5\xe6\x9c\xac", 5, (const char *const[]){"ab", "\xe6\x97\xa5\xe6\x9c\xac", NULL});
	/* a wide character in a one-column line is alone on its line, not lost */
	char **lines;
	size_t n = help_wrap("\xe6\x97\xa5x", 1, &lines);
	assert_int_equal(n, 2);
	assert_string_equal(lines[0], "\xe6\x97\xa5");
	assert_string_equal(lines[1], "x");
	help_wrap_free(&lines, n);

	/* every width: no line wider than it, and no non-space byte lost */
	const char *text = "Show \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e the keys/bindings of caf\xc3\xa9 screens "
	                   "supercalifragilistic x";
	size_t want = 0;
	for (const char *p = text; *p; p++)
		want += *p != ' ';
	for (int w = 2; w <= 60; w++) {
		n = help_wrap(text, w, &lines);
		size_t got = 0;
		for (size_t i = 0; i < n; i++) {
			assert_true(sanitize_width(lines[i]) <= w);
			assert_true(lines[i][0] != ' ');
			for (const char *p = lines[i]; *p; p++)
				got += *p != ' ';
		}
		assert_int_equal(got, want);
		help_wrap_free(&lines, n);
	}
}

/* What the app does on SIGWINCH for a layer. */
static void widget_resize(Widget *w)
{
	w->klass->resize(w);
}

/* A key as the loop delivers it to the overlay: looked up in "help". */
static WidgetResult press(Help *h, int key, bool is_keycode)
{
	Widget *w = help_widget(h);
	KeyEvent ev = {.action = keymap_lookup(w->klass->keymap_context, key, is_keycode), .key = key,
	               .is_keycode = is_keycode};
	return widget_key(w, &ev);
}

static size_t find_line(Help *h, const char *needle)
{
	for (size_t i = 0; i < help_line_count(h); i++)
		if (strstr(help_line(h, i), needle))
			return i;
	fail_msg("no help line has '%s'", needle);
	return 0;
}

static void test_help_hanging_indent(void **state)
{
	(void)state;
	Help *h = help_new("table", "Workloads");
	/* at 80 columns the description column starts at 38 and is 34 wide */
	size_t i = find_line(h, "Open a shell on the selected");
	assert_non_null(strstr(help_line(h, i), "  c "));
	assert_non_null(strstr(help_line(h, i), "terminal"));
	const char *cont = help_line(h, i + 1);
	assert_int_equal(strspn(cont, " "), 38);
	assert_string_equal(cont + 38, "allocation");
	/* a key list too long for its column wraps after a '/' under itself */
	i = find_line(h, "page-down");
	assert_non_null(strstr(help_line(h, i), "<PageDown>/ "));
	assert_int_equal(strncmp(help_line(h, i + 1), "  <C-f>/<Space>", 15), 0);
	for (i = 0; i < help_line_count(h); i++)
		assert_true(sanitize_width(help_line(h, i)) <= 72);
	help_free(&h);
}

static void test_help_scroll_bounds(void **state)
{
	(void)state;
	Help *h = help_new("table", "Workloads");
	size_t n = help_line_count(h), page = help_page(h);
	char pos[64], want[64];
	assert_int_equal(page, 24 - 4 - 2); /* the frame inside LINES - 4 */
	assert_true(n > page);               /* the table context does not fit 80x24 */
	assert_int_equal(help_top(h), 0);
	snprintf(want, sizeof want, "1-%zu/%zu", page, n);
	assert_string_equal(help_position(h, pos, sizeof pos), want);
	/* up at the top: nothing moves, nothing to redraw */
	assert_int_equal(press(h, 'k', false), W_HANDLED);
	assert_int_equal(press(h, KEY_UP, true), W_HANDLED);
	assert_int_equal(help_top(h), 0);
	/* the console's movement keys, all through the keymap */
	assert_true(press(h, 'j', false) & W_REDRAW);
	assert_int_equal(help_top(h), 1);
	assert_true(press(h, KEY_DOWN, true) & W_REDRAW);
	assert_int_equal(help_top(h), 2);
	press(h, KEY_NPAGE, true);
	assert_int_equal(help_top(h), 2 + page);
	press(h, KEY_PPAGE, true);
	assert_int_equal(help_top(h), 2);
	press(h, 'G', false); /* end: the last line is the last row, not beyond */
	assert_int_equal(help_top(h), n - page);
	snprintf(want, sizeof want, "%zu-%zu/%zu", n - page + 1, n, n);
	assert_string_equal(help_position(h, pos, sizeof pos), want);
	assert_int_equal(press(h, 'j', false), W_HANDLED);
	assert_int_equal(press(h, KEY_NPAGE, true), W_HANDLED);
	assert_int_equal(help_top(h), n - page);
	assert_non_null(strstr(help_line(h, n - 1), "release'."));
	press(h, KEY_HOME, true);
	assert_int_equal(help_top(h), 0);
	press(h, KEY_END, true);
	assert_int_equal(help_top(h), n - page);
	press(h, 'g', false);
	assert_int_equal(help_top(h), 0);
	/* a key the overlay does not use is swallowed, not passed below */
	assert_int_equal(press(h, 'r', false), W_HANDLED);
	widget_draw(help_widget(h));
	help_free(&h);

	/* a context whose lines fit shows no position */
	resizeterm(60, 120);
	h = help_new("terminal", "Terminal");
	assert_true(help_line_count(h) <= help_page(h));
	assert_string_equal(help_position(h, pos, sizeof pos), "");
	assert_int_equal(press(h, 'G', false), W_HANDLED);
	assert_int_equal(help_top(h), 0);
	help_free(&h);
	resizeterm(24, 80);
}

static void test_help_keys_from_keymap(void **state)
{
	(void)state;
	Help *h = help_new("table", "Workloads");
	assert_true(press(h, 'q', false) & W_CLOSE);
	assert_true(press(h, 27, false) & W_CLOSE);
	assert_true(press(h, '?', false) & W_CLOSE);
	/* unbound in the help context: q no longer closes it (nothing hard-coded) */
	assert_int_equal(keymap_load_text("unbind help q\nunbind global q\nbind help x back\nbind help J move-down\n",
	                                  "t", NULL, NULL),
	                 0);
	assert_false(press(h, 'q', false) & W_CLOSE);
	assert_true(press(h, 'x', false) & W_CLOSE);
	press(h, 'J', false);
	assert_int_equal(help_top(h), 1);
	help_free(&h);
	assert_int_equal(keymap_load_defaults(), 0);
}

static void test_help_resize_keeps_entry(void **state)
{
	(void)state;
	Help *h = help_new("table", "Workloads");
	while (!strstr(help_line(h, help_top(h)), "sort-reverse"))
		assert_true(press(h, 'j', false) & W_REDRAW);
	size_t n80 = help_line_count(h);
	/* narrower than the columns need: descriptions go under their keys */
	resizeterm(20, 60);
	widget_resize(help_widget(h));
	assert_non_null(strstr(help_line(h, help_top(h)), "sort-reverse"));
	assert_true(help_line_count(h) > n80);
	size_t i = find_line(h, "sort-reverse");
	assert_string_equal(help_line(h, i + 1), "      Reverse the sort order");
	for (i = 0; i < help_line_count(h); i++)
		assert_true(sanitize_width(help_line(h, i)) <= 56);
	/* wider: fewer lines, same entry on top, and the end is still reachable */
	resizeterm(30, 120);
	widget_resize(help_widget(h));
	assert_non_null(strstr(help_line(h, help_top(h)), "sort-reverse"));
	assert_true(help_line_count(h) < n80);
	press(h, KEY_END, true);
	size_t n = help_line_count(h), page = help_page(h);
	assert_int_equal(help_top(h), n > page ? n - page : 0);
	/* back to 80x24: the top is clamped, never past the end */
	resizeterm(24, 80);
	widget_resize(help_widget(h));
	assert_int_equal(help_line_count(h), n80);
	assert_true(help_top(h) + help_page(h) <= n80);
	widget_draw(help_widget(h));
	help_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wrap_words),
		cmocka_unit_test(test_wrap_long_words_and_slashes),
		cmocka_unit_test(test_wrap_wide_characters),
		cmocka_unit_test(test_help_hanging_indent),
		cmocka_unit_test(test_help_scroll_bounds),
		cmocka_unit_test(test_help_keys_from_keymap),
		cmocka_unit_test(test_help_resize_keeps_entry),
	};
	return cmocka_run_group_tests(tests, curses_fixture_up_keymap, curses_fixture_down);
}

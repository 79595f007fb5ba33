/* Unit tests for widgets/cmdline (editing keys, history, live on-change) and
 * the small widgets around it: tabs, status line expiry, toast, help overlay
 * (generated from the keymap), textview scrolling. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keymaps/keymap.h"
#include "tests/unit/curses_fixture.h"
#include "widgets/cmdline.h"
#include "widgets/draw.h"
#include "widgets/help.h"
#include "widgets/statusline.h"
#include "widgets/tabs.h"
#include "widgets/textview.h"
#include "widgets/theme.h"
#include "widgets/toast.h"

static WidgetResult type(Cmdline *c, int key, bool is_keycode)
{
	KeyEvent ev = {.action = ACTION_NONE, .key = key, .is_keycode = is_keycode};
	return cmdline_key(c, &ev);
}

static void type_str(Cmdline *c, const char *s)
{
	for (; *s; s++)
		type(c, (unsigned char)*s, false);
}

static char changes[16][64];
static int nchanges;
static void on_change(void *ud, const char *text)
{
	(void)ud;
	if (nchanges < 16)
		snprintf(changes[nchanges++], sizeof changes[0], "%s", text);
}

static void test_editing(void **state)
{
	(void)state;
	Cmdline *c = cmdline_new(NULL, ":", 0);
	cmdline_open(c, NULL, NULL);
	nchanges = 0;
	cmdline_set_on_change(c, on_change, NULL);
	type_str(c, "relase");
	assert_int_equal(nchanges, 6);
	assert_string_equal(changes[2], "rel");
	type(c, KEY_LEFT, true);
	type(c, KEY_LEFT, true);
	type(c, KEY_LEFT, true);
	type(c, 'e', false);
	assert_string_equal(cmdline_text(c), "release");
	assert_int_equal(cmdline_cursor(c), 4);
	type(c, KEY_END, true);
	type_str(c, " a1");
	type(c, KEY_BACKSPACE, true);
	type(c, 127, false); /* DEL from the terminal is backspace too */
	assert_string_equal(cmdline_text(c), "release ");
	type(c, KEY_HOME, true);
	type(c, KEY_DC, true);
	assert_string_equal(cmdline_text(c), "elease ");
	type(c, 5, false); /* Ctrl-E */
	type_str(c, "x y");
	type(c, 23, false); /* Ctrl-W kills "y" */
	assert_string_equal(cmdline_text(c), "elease x ");
	type(c, 21, false); /* Ctrl-U kills to the start */
	assert_string_equal(cmdline_text(c), "");
	/* control characters are never inserted */
	type(c, 0x9b, false);
	type(c, 3, false);
	assert_string_equal(cmdline_text(c), "");
	/* wide characters */
	type(c, 0x65e5, false); /* 日 */
	assert_string_equal(cmdline_text(c), "\xe6\x97\xa5");
	assert_int_equal(cmdline_length(c), 1);
	assert_true(type(c, '\n', false) & W_CLOSE);
	assert_int_equal(cmdline_outcome(c), CMDLINE_SUBMITTED);
	cmdline_free(&c);
	assert_null(c);
}

static void test_cancel_and_history(void **state)
{
	(void)state;
	Cmdline *c = cmdline_new(NULL, ":", 8);
	cmdline_open(c, NULL, NULL);
	type_str(c, "first");
	type(c, '\r', false);
	cmdline_open(c, NULL, NULL);
	type_str(c, "second");
	type(c, KEY_ENTER, true);
	cmdline_open(c, NULL, NULL);
	type_str(c, "draft");
	type(c, KEY_UP, true);
	assert_string_equal(cmdline_text(c), "second");
	type(c, KEY_UP, true);
	assert_string_equal(cmdline_text(c), "first");
	type(c, KEY_UP, true); /* at the oldest: stays */
	assert_string_equal(cmdline_text(c), "first");
	type(c, KEY_DOWN, true);
	type(c, KEY_DOWN, true);
	assert_string_equal(cmdline_text(c), "draft"); /* the line being typed comes back */
	/* max length: extra characters are refused */
	type_str(c, "12345");
	assert_string_equal(cmdline_text(c), "draft123");
	assert_true(type(c, 27, false) & W_CLOSE);
	assert_int_equal(cmdline_outcome(c), CMDLINE_CANCELLED);
	/* backspace on an empty line leaves it */
	cmdline_open(c, "/", "");
	assert_true(type(c, KEY_BACKSPACE, true) & W_CLOSE);
	assert_int_equal(cmdline_outcome(c), CMDLINE_CANCELLED);
	/* set_text sanitizes: no control characters */
	cmdline_set_text(c, "a\x1b[2Jb");
	assert_string_equal(cmdline_text(c), "a[2Jb");
	cmdline_free(&c);
}

static void test_cmdline_draw_scrolls(void **state)
{
	(void)state;
	WINDOW *win = newwin(1, 10, 0, 0);
	Cmdline *c = cmdline_new(win, "/", 0);
	cmdline_open(c, NULL, "abcdefghijklmnop");
	widget_draw(cmdline_widget(c));
	/* the cursor (at the end) is visible: the text scrolled left */
	int y, x;
	getyx(win, y, x);
	assert_int_equal(y, 0);
	assert_int_equal(x, 9);
	char buf[32];
	mvwinnstr(win, 0, 0, buf, 10);
	assert_string_equal(buf, "/ijklmnop "); /* one cell kept for the cursor */
	cmdline_free(&c);
	delwin(win);
}

static void test_tabs(void **state)
{
	(void)state;
	const char *labels[] = {"Overview", "SSH Access", "Storage"};
	WINDOW *win = newwin(1, 60, 0, 0);
	Tabs *t = tabs_new(win, labels, 3);
	KeyEvent ev = {.action = ACTION_PREV_TAB};
	assert_true(widget_key(tabs_widget(t), &ev) & W_REDRAW);
	assert_int_equal(tabs_active(t), 2); /* wraps */
	ev.action = ACTION_NEXT_TAB;
	widget_key(tabs_widget(t), &ev);
	assert_int_equal(tabs_active(t), 0);
	ev.action = ACTION_OPEN;
	assert_int_equal(widget_key(tabs_widget(t), &ev), W_IGNORED);
	widget_draw(tabs_widget(t));
	char buf[64];
	mvwinnstr(win, 0, 0, buf, 30);
	/* the active tab is marked in the text, not only by attributes */
	assert_true(strncmp(buf, "[Overview]  SSH Access   Stora", 30) == 0);
	tabs_free(&t);
	delwin(win);
}

static void test_statusline(void **state)
{
	(void)state;
	WINDOW *win = newwin(1, 80, 23, 0);
	Statusline *s = statusline_new(win);
	statusline_set_mode(s, "Workloads");
	statusline_set_connection(s, "\xe2\x97\x8f live \xc2\xb7 local control plane", ROLE_STATE_OK);
	statusline_set_message(s, LEVEL_ERROR, "release failed", 1000, 3000);
	widget_draw(statusline_widget(s));
	char buf[128];
	mvwinnstr(win, 0, 0, buf, 80);
	/* level as a word, not only colour; connection at the right edge */
	assert_non_null(strstr(buf, "error: release failed"));
	assert_true(strncmp(buf, "Workloads", 9) == 0);
	assert_false(statusline_tick(s, 3999));
	assert_true(statusline_tick(s, 4000));
	assert_string_equal(statusline_message(s), "");
	assert_false(statusline_tick(s, 5000));
	statusline_free(&s);
	delwin(win);
}

static void test_toast(void **state)
{
	(void)state;
	Toast *t = toast_new();
	assert_false(toast_visible(t));
	toast_show(t, LEVEL_OK, "one", 0, 1000);
	toast_show(t, LEVEL_INFO, "two", 0, 2000);
	assert_true(toast_visible(t));
	assert_non_null(toast_widget(t)->win);
	for (int i = 0; i < 4; i++)
		toast_show(t, LEVEL_INFO, "more", 0, 5000);
	assert_int_equal(toast_count(t), 4); /* the oldest went */
	assert_string_equal(toast_text(t, 0), "more");
	assert_true(toast_tick(t, 5000));
	assert_false(toast_visible(t));
	assert_null(toast_widget(t)->win);
	toast_free(&t);
}

static void test_help_from_keymap(void **state)
{
	(void)state;
	Help *h = help_new("table", "Workloads");
	bool release = false, quit = false, term_detach = false;
	for (size_t i = 0; i < help_line_count(h); i++) {
		const char *l = help_line(h, i);
		if (strstr(l, "release") && strstr(l, "Release the selected allocation") && strstr(l, "  r "))
			release = true;
		if (strstr(l, "quit") && strstr(l, "Quit quarterdeck"))
			quit = true;
		if (strstr(l, "term-detach"))
			term_detach = true;
	}
	assert_true(release);
	assert_true(quit);
	assert_false(term_detach); /* another context's binding */
	/* follows the keymap: unbind release in table and rebuild */
	keymap_load_text("unbind table r\n", "t", NULL, NULL);
	help_rebuild(h);
	for (size_t i = 0; i < help_line_count(h); i++)
		assert_null(strstr(help_line(h, i), "Release the selected allocation"));
	KeyEvent ev = {.action = ACTION_BACK, .key = 27};
	assert_true(widget_key(help_widget(h), &ev) & W_CLOSE);
	widget_draw(help_widget(h));
	help_free(&h);
	keymap_load_defaults();
}

static void test_textview(void **state)
{
	(void)state;
	WINDOW *win = newwin(3, 20, 0, 0);
	Textview *tv = textview_new(win);
	textview_add(tv, "one\ntwo\x1b[2J", ROLE_DEFAULT);
	assert_int_equal(textview_line_count(tv), 2);
	assert_string_equal(textview_line(tv, 1), "two^[[2J");
	for (int i = 0; i < 8; i++)
		textview_addf(tv, ROLE_DIM, "line %d", i);
	KeyEvent ev = {.action = ACTION_MOVE_LAST};
	widget_key(textview_widget(tv), &ev);
	assert_int_equal(textview_top(tv), 7);
	ev.action = ACTION_PAGE_UP;
	widget_key(textview_widget(tv), &ev);
	assert_int_equal(textview_top(tv), 4);
	/* follow mode keeps the end in view as lines arrive */
	textview_set_follow(tv, true);
	textview_add(tv, "new", ROLE_DEFAULT);
	assert_int_equal(textview_top(tv), 8);
	widget_draw(textview_widget(tv));
	char buf[32];
	mvwinnstr(win, 2, 0, buf, 3);
	assert_string_equal(buf, "new");
	textview_add_pair(tv, "State", "active", 10, ROLE_STATE_OK);
	assert_string_equal(textview_line(tv, textview_line_count(tv) - 1), "State     active");
	textview_free(&tv);
	delwin(win);
}

static void test_theme_depths_and_ascii(void **state)
{
	(void)state;
	setenv("NO_COLOR", "1", 1);
	theme_init(false);
	assert_int_equal(theme_depth(), THEME_MONO);
	/* mono: no colour anywhere, and the roles that must stand out still do */
	for (int r = 0; r < ROLE_COUNT; r++)
		assert_int_equal(theme_attr((ThemeRole)r) & A_COLOR, 0);
	assert_true(theme_attr(ROLE_SELECTED) & A_REVERSE);
	assert_true(theme_attr(ROLE_TAB_ACTIVE) & A_REVERSE);
	assert_true(theme_attr(ROLE_HEADER) & (A_BOLD | A_UNDERLINE));
	assert_true(theme_attr(ROLE_STATUS_ERROR) != theme_attr(ROLE_STATUS_BAR));
	setenv("NO_COLOR", "", 1); /* empty means unset (no-color.org) */
	theme_init(false);
	assert_int_equal(theme_depth(), THEME_256);
	assert_true(theme_attr(ROLE_STATE_FAILED) & A_COLOR);
	unsetenv("NO_COLOR");
	theme_init(true); /* --no-color */
	assert_int_equal(theme_depth(), THEME_MONO);
	theme_init(false);
	/* ASCII glyphs when the locale is not UTF-8 */
	theme_set_ascii(true);
	assert_string_equal(draw_glyph(GLYPH_SORT_ASC), "^");
	assert_string_equal(draw_glyph(GLYPH_ELLIPSIS), "~");
	assert_string_equal(draw_level_word(LEVEL_ERROR), "error");
	WINDOW *win = newwin(1, 8, 0, 0);
	draw_text(win, 0, 0, 8, "abcdefghijk", ROLE_DEFAULT);
	char buf[16];
	mvwinnstr(win, 0, 0, buf, 8);
	assert_string_equal(buf, "abcdefg~");
	delwin(win);
	theme_set_ascii(false);
	assert_string_equal(draw_glyph(GLYPH_SORT_ASC), "\xe2\x96\xb2");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_editing),
		cmocka_unit_test(test_cancel_and_history),
		cmocka_unit_test(test_cmdline_draw_scrolls),
		cmocka_unit_test(test_tabs),
		cmocka_unit_test(test_statusline),
		cmocka_unit_test(test_toast),
		cmocka_unit_test(test_help_from_keymap),
		cmocka_unit_test(test_textview),
		cmocka_unit_test(test_theme_depths_and_ascii),
	};
	return cmocka_run_group_tests(tests, curses_fixture_up_keymap, curses_fixture_down);
}

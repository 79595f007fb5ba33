/* curses_fixture — the headless curses screen shared by the widget unit tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curses.h>
#include <locale.h>
#include <stdio.h>

#include "keymaps/keymap.h"
#include "tests/unit/curses_fixture.h"
#include "widgets/theme.h"

static SCREEN *scr;
static FILE *scr_out, *scr_in;

int curses_fixture_up(void **state)
{
	(void)state;
	/* Before newterm: curses picks its wide-character handling from the locale. */
	setlocale(LC_ALL, "C.UTF-8");
	scr_out = fopen("/dev/null", "w");
	scr_in = fopen("/dev/null", "r");
	scr = newterm("xterm-256color", scr_out, scr_in);
	assert_non_null(scr);
	resizeterm(24, 80);
	theme_set_ascii(false);
	theme_init(false);
	return 0;
}

int curses_fixture_up_keymap(void **state)
{
	curses_fixture_up(state);
	assert_int_equal(keymap_load_defaults(), 0);
	return 0;
}

int curses_fixture_down(void **state)
{
	(void)state;
	endwin();
	delscreen(scr);
	fclose(scr_out);
	fclose(scr_in);
	return 0;
}

/* Unit tests for keymaps/: default bindings, fallback to global, the key-file
 * parser (every kind of bad line, with its line number), unbind, key names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curses.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keymaps/keymap.h"

typedef struct {
	char msgs[16][256];
	int n;
} Errors;

static void collect(void *ud, const char *msg)
{
	Errors *e = ud;
	if (e->n < 16)
		snprintf(e->msgs[e->n++], sizeof e->msgs[0], "%s", msg);
}

static int setup(void **state)
{
	(void)state;
	assert_int_equal(keymap_load_defaults(), 0);
	return 0;
}

static void test_defaults_core_keys(void **state)
{
	(void)state;
	assert_int_equal(keymap_lookup("table", KEY_UP, true), ACTION_MOVE_UP);
	assert_int_equal(keymap_lookup("table", 'k', false), ACTION_MOVE_UP);
	assert_int_equal(keymap_lookup("table", KEY_DOWN, true), ACTION_MOVE_DOWN);
	assert_int_equal(keymap_lookup("table", 'j', false), ACTION_MOVE_DOWN);
	assert_int_equal(keymap_lookup("table", KEY_NPAGE, true), ACTION_PAGE_DOWN);
	assert_int_equal(keymap_lookup("table", KEY_PPAGE, true), ACTION_PAGE_UP);
	assert_int_equal(keymap_lookup("table", KEY_HOME, true), ACTION_MOVE_FIRST);
	assert_int_equal(keymap_lookup("table", 'g', false), ACTION_MOVE_FIRST);
	assert_int_equal(keymap_lookup("table", KEY_END, true), ACTION_MOVE_LAST);
	assert_int_equal(keymap_lookup("table", 'G', false), ACTION_MOVE_LAST);
	assert_int_equal(keymap_lookup("table", '/', false), ACTION_FILTER);
	assert_int_equal(keymap_lookup("table", '\n', false), ACTION_OPEN);
	assert_int_equal(keymap_lookup("table", '\r', false), ACTION_OPEN);     /* normalized */
	assert_int_equal(keymap_lookup("table", KEY_ENTER, true), ACTION_OPEN); /* normalized */
	assert_int_equal(keymap_lookup("table", 's', false), ACTION_SORT_NEXT);
	assert_int_equal(keymap_lookup("table", 'S', false), ACTION_SORT_REVERSE);
	assert_int_equal(keymap_lookup("table", 'r', false), ACTION_RELEASE);
	assert_int_equal(keymap_lookup("table", 'R', false), ACTION_RESTART);
	assert_int_equal(keymap_lookup("table", 'F', false), ACTION_FORCE_RELEASE);
	assert_int_equal(keymap_lookup("table", 'c', false), ACTION_TERMINAL);
	assert_int_equal(keymap_lookup("table", 'y', false), ACTION_COPY_SSH);
	assert_int_equal(keymap_lookup("global", 'q', false), ACTION_QUIT);
	assert_int_equal(keymap_lookup("global", '?', false), ACTION_HELP);
	assert_int_equal(keymap_lookup("global", ':', false), ACTION_COMMAND);
	assert_int_equal(keymap_lookup("global", 27, false), ACTION_BACK);
	assert_int_equal(keymap_lookup("global", '\t', false), ACTION_NEXT_TAB);
	assert_int_equal(keymap_lookup("global", KEY_BTAB, true), ACTION_PREV_TAB);
	assert_int_equal(keymap_lookup("global", 'H', false), ACTION_VIEW_HISTORY);
	assert_int_equal(keymap_lookup("global", 'A', false), ACTION_VIEW_NEEDS_ACTION);
	assert_int_equal(keymap_lookup("global", 'N', false), ACTION_VIEW_NODES);
	assert_int_equal(keymap_lookup("global", 'n', false), ACTION_LAUNCH);
	assert_int_equal(keymap_lookup("global", 12, false), ACTION_REDRAW);   /* Ctrl-L */
	assert_int_equal(keymap_lookup("global", KEY_F(5), true), ACTION_REFRESH);
	assert_int_equal(keymap_lookup("global", 18, false), ACTION_REFRESH);  /* Ctrl-R */
	assert_int_equal(keymap_lookup("global", 29, false), ACTION_TERM_PREFIX); /* Ctrl-] */
	assert_int_equal(keymap_lookup(NULL, 'q', false), ACTION_QUIT);
	/* a key code is not the character with the same number */
	assert_int_equal(keymap_lookup("global", KEY_UP, false), ACTION_NONE);
}

static void test_fallback_to_global(void **state)
{
	(void)state;
	/* table has no binding of its own for q or ?: global answers */
	assert_int_equal(keymap_lookup("table", 'q', false), ACTION_QUIT);
	assert_int_equal(keymap_lookup("detail", '?', false), ACTION_HELP);
	/* a context's own binding wins over global */
	assert_int_equal(keymap_lookup("terminal", 'q', false), ACTION_TERM_LEAVE);
	assert_int_equal(keymap_lookup("help", 'q', false), ACTION_BACK);
	/* an unknown context behaves like global */
	assert_int_equal(keymap_lookup("nosuch", 'q', false), ACTION_QUIT);
	assert_int_equal(keymap_lookup("table", 'Z', false), ACTION_NONE);
}

static void test_bad_lines_reported_rest_loads(void **state)
{
	(void)state;
	const char *text = "# my keys\n"
	                   "bind table x release\n"       /* 2: ok */
	                   "bind table z frobnicate\n"     /* 3: unknown action */
	                   "bind table <Foo> quit\n"       /* 4: unknown key */
	                   "bind nowhere x quit\n"         /* 5: unknown context */
	                   "bind table x\n"                /* 6: missing argument */
	                   "unbind table\n"                /* 7: missing argument */
	                   "rebind table x quit\n"         /* 8: unknown command */
	                   "\n"
	                   "   bind   global   <C-t>   terminal   # trailing comment\n" /* 10: ok */
	                   "bind table w quit extra\n"     /* 11: unexpected argument */
	                   "bind table <F13> quit\n";      /* 12: unknown key */
	Errors e = {0};
	int bad = keymap_load_text(text, "keys", collect, &e);
	assert_int_equal(bad, 8);
	assert_int_equal(e.n, 8);
	assert_string_equal(e.msgs[0], "keys:3: unknown action 'frobnicate'");
	assert_string_equal(e.msgs[1], "keys:4: unknown key '<Foo>'");
	assert_string_equal(e.msgs[2], "keys:5: unknown context 'nowhere'");
	assert_string_equal(e.msgs[3], "keys:6: missing argument: expected 'bind <context> <key> <action>'");
	assert_string_equal(e.msgs[4], "keys:7: missing argument: expected 'unbind <context> <key>'");
	assert_string_equal(e.msgs[5], "keys:8: unknown command 'rebind' (expected bind or unbind)");
	assert_string_equal(e.msgs[6], "keys:11: unexpected argument 'extra'");
	assert_string_equal(e.msgs[7], "keys:12: unknown key '<F13>'");
	/* the good lines took effect */
	assert_int_equal(keymap_lookup("table", 'x', false), ACTION_RELEASE);
	assert_int_equal(keymap_lookup("detail", 20, false), ACTION_TERMINAL);
	/* and the bad ones did not */
	assert_int_equal(keymap_lookup("table", 'z', false), ACTION_NONE);
	assert_int_equal(keymap_lookup("table", 'w', false), ACTION_NONE);
}

static void test_unbind_core_key(void **state)
{
	(void)state;
	Errors e = {0};
	assert_int_equal(keymap_load_text("unbind table G\nunbind global q\nbind global Q quit\n", "k", collect, &e), 0);
	assert_int_equal(e.n, 0);
	/* G is gone in table even though global still has it */
	assert_int_equal(keymap_lookup("table", 'G', false), ACTION_NONE);
	assert_int_equal(keymap_lookup("detail", 'G', false), ACTION_MOVE_LAST);
	/* q is gone everywhere that does not bind it itself */
	assert_int_equal(keymap_lookup("table", 'q', false), ACTION_NONE);
	assert_int_equal(keymap_lookup("table", 'Q', false), ACTION_QUIT);
	/* rebinding in a context overrides the default */
	assert_int_equal(keymap_load_text("bind table j move-up\n", "k", collect, &e), 0);
	assert_int_equal(keymap_lookup("table", 'j', false), ACTION_MOVE_UP);
	/* defaults come back on reload */
	assert_int_equal(keymap_load_defaults(), 0);
	assert_int_equal(keymap_lookup("table", 'G', false), ACTION_MOVE_LAST);
	assert_int_equal(keymap_lookup("table", 'j', false), ACTION_MOVE_DOWN);
}

static void test_load_file(void **state)
{
	(void)state;
	char path[] = "/tmp/qd_keys_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char *text = "bind table <C-]> term-prefix\nbind table <Bad quit\n";
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	Errors e = {0};
	assert_int_equal(keymap_load_file(path, collect, &e), 1);
	assert_int_equal(e.n, 1);
	char want[256];
	snprintf(want, sizeof want, "%s:2: unknown key '<Bad'", path);
	assert_string_equal(e.msgs[0], want);
	assert_int_equal(keymap_lookup("table", 29, false), ACTION_TERM_PREFIX);
	unlink(path);
	/* a missing file is not an error message, just -1 */
	e.n = 0;
	assert_int_equal(keymap_load_file(path, collect, &e), -1);
	assert_int_equal(e.n, 0);
}

static void test_key_names(void **state)
{
	(void)state;
	static const char *names[] = {
		"<Up>", "<Down>", "<Left>", "<Right>", "<PageUp>", "<PageDown>", "<Home>", "<End>",
		"<Enter>", "<Esc>", "<Tab>", "<S-Tab>", "<Backspace>", "<Space>", "<F1>", "<F12>",
		"<C-a>", "<C-z>", "<C-]>", "j", "G", "/", "?",
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		int k;
		bool kc;
		char buf[32];
		assert_true(keymap_parse_key(names[i], &k, &kc));
		assert_string_equal(keymap_key_name(k, kc, buf, sizeof buf), names[i]);
	}
	int k;
	bool kc;
	assert_false(keymap_parse_key("", &k, &kc));
	assert_false(keymap_parse_key("ab", &k, &kc));
	assert_false(keymap_parse_key("<C-1>", &k, &kc));
	assert_false(keymap_parse_key("<F0>", &k, &kc));
	assert_true(keymap_parse_key("<Backspace>", &k, &kc));
	/* 127 from the terminal is Backspace */
	assert_int_equal(keymap_lookup("table", 127, false), keymap_lookup("table", KEY_BACKSPACE, true));
}

static void test_reverse_lookup(void **state)
{
	(void)state;
	char buf[128];
	assert_int_equal(keymap_keys_for("table", ACTION_RELEASE, buf, sizeof buf), 1);
	assert_string_equal(buf, "r");
	/* global keys reach a context unless shadowed */
	assert_int_equal(keymap_keys_for("table", ACTION_MOVE_DOWN, buf, sizeof buf), 2);
	assert_string_equal(buf, "<Down>/j");
	assert_int_equal(keymap_keys_for("table", ACTION_TERM_DETACH, buf, sizeof buf), 0);
	assert_string_equal(buf, "");
	/* in terminal, q is shadowed, so quit is unreachable there */
	assert_int_equal(keymap_keys_for("terminal", ACTION_QUIT, buf, sizeof buf), 0);
	KeyBinding kb[64];
	size_t n = keymap_bindings("help", kb, 64);
	assert_int_equal(n, 3);
	assert_int_equal(kb[0].action, ACTION_BACK);
	/* The first key, for short hints; "" when unbound. */
	assert_string_equal(keymap_first_key("table", ACTION_MOVE_DOWN, buf, sizeof buf), "Down");
	assert_string_equal(keymap_first_key("global", ACTION_TERM_PREFIX, buf, sizeof buf), "Ctrl-]");
	assert_string_equal(keymap_first_key("table", ACTION_SORT_PREV, buf, sizeof buf), "<");
	assert_string_equal(keymap_first_key("table", ACTION_RELEASE, buf, sizeof buf), "r");
	assert_string_equal(keymap_first_key("table", ACTION_TERM_DETACH, buf, sizeof buf), "");
}

/* Copy mode's keys live in their own context, rebindable like any other;
 * moves come from global. */
static void test_copy_context(void **state)
{
	(void)state;
	char buf[64];
	Errors e = {0};
	assert_true(keymap_context_known("copy"));
	assert_int_equal(keymap_lookup("copy", 'v', false), ACTION_COPY_MARK);
	assert_int_equal(keymap_lookup("copy", 'y', false), ACTION_COPY_YANK);
	assert_int_equal(keymap_lookup("copy", 'q', false), ACTION_BACK); /* not quit */
	assert_int_equal(keymap_lookup("copy", KEY_UP, true), ACTION_MOVE_UP);
	assert_int_equal(keymap_load_text("unbind copy y\nbind copy Y copy-yank\n", "k", collect, &e), 0);
	assert_int_equal(keymap_lookup("copy", 'y', false), ACTION_NONE);
	assert_string_equal(keymap_first_key("copy", ACTION_COPY_YANK, buf, sizeof buf), "Enter");
	assert_int_equal(keymap_lookup("copy", 'Y', false), ACTION_COPY_YANK);
}

static void test_actions_table(void **state)
{
	(void)state;
	assert_string_equal(action_name(ACTION_MOVE_UP), "move-up");
	assert_string_equal(action_name(ACTION_NONE), "none");
	assert_int_equal(action_from_name("force-release"), ACTION_FORCE_RELEASE);
	assert_int_equal(action_from_name("none"), ACTION_NONE);
	assert_int_equal(action_from_name("Move-Up"), ACTION_NONE);
	for (int a = 1; a < ACTION_COUNT; a++) {
		assert_int_equal(action_from_name(action_name((Action)a)), a);
		assert_true(strlen(action_help((Action)a)) > 0);
	}
}

int main(void)
{
	setlocale(LC_ALL, "C.UTF-8");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_defaults_core_keys, setup),
		cmocka_unit_test_setup(test_fallback_to_global, setup),
		cmocka_unit_test_setup(test_bad_lines_reported_rest_loads, setup),
		cmocka_unit_test_setup(test_unbind_core_key, setup),
		cmocka_unit_test_setup(test_load_file, setup),
		cmocka_unit_test_setup(test_key_names, setup),
		cmocka_unit_test_setup(test_reverse_lookup, setup),
		cmocka_unit_test_setup(test_copy_context, setup),
		cmocka_unit_test(test_actions_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The screen harness proven against plain programs (sh, printf, stty, od),
 * before it is trusted to judge qdeck: text and bytes, attributes, keys in
 * the terminal's current cursor-key mode, resize with SIGWINCH, window title
 * detection, idle detection, exit status, and the SVG/text screenshots. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/screen/harness.h"

static Hs *sh(const char *script, int rows, int cols)
{
	const char *argv[] = {"/bin/sh", "-c", script, NULL};
	Hs *h = hs_spawn_program(argv, rows, cols);
	assert_non_null(h);
	return h;
}

static int teardown(void **state)
{
	Hs *h = *state;
	hs_stop(&h);
	*state = NULL;
	return 0;
}

static void test_text_and_bytes(void **state)
{
	Hs *h = sh("printf 'hello world\\r\\nsecond   line   \\r\\n'; sleep 5", 24, 80);
	*state = h;
	assert_true(hs_wait_text(h, "second", 5000));
	assert_true(hs_wait_idle(h, 100, 5000));
	assert_string_equal(hs_row(h, 0), "hello world");
	assert_string_equal(hs_row(h, 1), "second   line"); /* trailing spaces trimmed */
	assert_string_equal(hs_row(h, 2), "");
	assert_int_equal(hs_find_row(h, "line"), 1);
	assert_int_equal(hs_find_row(h, "absent"), -1);
	/* Exactly what reached the terminal: 11+2 and 16+2 bytes written, and the
	 * tty's ONLCR made each \n a \r\n (+2). */
	assert_int_equal(hs_bytes_written(h), 33);
	assert_true(hs_first_byte_ms(h) >= 0);
	const char *text = hs_screen_text(h);
	assert_true(strncmp(text, "hello world\nsecond   line\n\n", 27) == 0);
}

static void test_wait_text_times_out(void **state)
{
	Hs *h = sh("printf 'only this'; sleep 5", 24, 80);
	*state = h;
	assert_true(hs_wait_text(h, "only this", 5000));
	/* A wait for text that never comes must say so (and dump the screen). */
	assert_false(hs_wait_text(h, "never shown", 300));
	assert_true(hs_wait_gone(h, "never shown", 100));
	assert_false(hs_wait_gone(h, "only this", 200));
}

static void test_attributes(void **state)
{
	Hs *h = sh("printf 'plain \\033[1;31mred\\033[0m \\033[7mrev\\033[0m \\033[38;5;208mor\\033[0m"
	           " \\033[4mun\\033[0m'; sleep 5",
	           24, 80);
	*state = h;
	assert_true(hs_wait_text(h, "un", 5000));
	HsAttrs a = hs_cell_attrs(h, 0, 0);
	assert_false(a.bold);
	assert_false(a.reverse);
	assert_int_equal(a.fg, -1);
	assert_int_equal(a.bg, -1);
	a = hs_cell_attrs(h, 0, 6); /* "red" */
	assert_true(a.bold);
	assert_int_equal(a.fg, 1);
	a = hs_cell_attrs(h, 0, 10); /* "rev" */
	assert_true(a.reverse);
	assert_false(a.bold);
	a = hs_cell_attrs(h, 0, 14); /* "or" */
	assert_int_equal(a.fg, 208);
	a = hs_cell_attrs(h, 0, 17); /* "un" */
	assert_true(a.underline);
	assert_true(hs_any_color(h));
}

static void test_no_color_detected(void **state)
{
	Hs *h = sh("printf '\\033[1mbold\\033[0m \\033[7mrev\\033[0m'; sleep 5", 24, 80);
	*state = h;
	assert_true(hs_wait_text(h, "rev", 5000));
	assert_false(hs_any_color(h));
}

static void test_keys_in_application_mode(void **state)
{
	/* After DECCKM (ESC [?1h, what ncurses' keypad() sends) an arrow is ESC O A. */
	Hs *h = sh("printf '\\033[?1hready\\r\\n'; stty raw -echo; "
	           "dd bs=1 count=3 2>/dev/null | od -An -c; sleep 5",
	           24, 80);
	*state = h;
	assert_true(hs_wait_text(h, "ready", 5000));
	assert_true(hs_wait_idle(h, 150, 5000)); /* let stty run before typing */
	assert_true(hs_send_key(h, "Up"));
	assert_true(hs_wait_text(h, "033   O   A", 5000));
}

static void test_keys_normal_mode(void **state)
{
	Hs *h = sh("printf 'ready\\r\\n'; stty raw -echo; dd bs=1 count=8 2>/dev/null | od -An -tx1; sleep 5",
	           24, 80);
	*state = h;
	assert_true(hs_wait_text(h, "ready", 5000));
	assert_true(hs_wait_idle(h, 150, 5000));
	assert_true(hs_send_key(h, "Down"));    /* 1b 5b 42 */
	assert_true(hs_send_key(h, "Enter"));   /* 0d */
	assert_true(hs_send_key(h, "Esc"));     /* 1b */
	assert_true(hs_send_key(h, "C-l"));     /* 0c */
	assert_true(hs_send_keys(h, "/q"));     /* 2f 71 */
	assert_true(hs_wait_text(h, "1b 5b 42 0d 1b 0c 2f 71", 5000));
	assert_false(hs_send_key(h, "NoSuchKey"));
}

static void test_typed_line(void **state)
{
	Hs *h = sh("printf 'name? '; read x; printf 'got:%s\\r\\n' \"$x\"; sleep 5", 24, 80);
	*state = h;
	assert_true(hs_wait_text(h, "name?", 5000));
	assert_true(hs_send_keys(h, "qdeck"));
	assert_true(hs_send_key(h, "Enter"));
	assert_true(hs_wait_text(h, "got:qdeck", 5000));
}

static void test_resize_sends_sigwinch(void **state)
{
	Hs *h = sh("trap 'printf \"size=%s\\r\\n\" \"$(stty size)\"' WINCH; printf 'start=%s\\r\\n' \"$(stty size)\";"
	           " i=0; while [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done",
	           40, 120);
	*state = h;
	assert_true(hs_wait_text(h, "start=40 120", 5000));
	assert_int_equal(hs_rows(h), 40);
	assert_true(hs_resize(h, 24, 80));
	assert_int_equal(hs_rows(h), 24);
	assert_int_equal(hs_cols(h), 80);
	assert_true(hs_wait_text(h, "size=24 80", 5000));
}

static void test_title_and_bell(void **state)
{
	Hs *h = sh("printf '\\033]0;pwned\\007\\007after'; sleep 5", 24, 80);
	*state = h;
	assert_true(hs_wait_text(h, "after", 5000));
	/* The harness must see a title change, or the console's "no title change"
	 * check would prove nothing. */
	assert_string_equal(hs_title(h), "pwned");
	assert_int_equal(hs_bells(h), 1);
	assert_false(hs_contains(h, "pwned"));
}

static void test_wide_characters(void **state)
{
	Hs *h = sh("printf '\\346\\227\\245\\346\\234\\254|\\342\\227\\217 active|'; sleep 5", 24, 80);
	*state = h;
	assert_true(hs_wait_text(h, "active|", 5000));
	assert_string_equal(hs_row(h, 0), "日本|● active|");
}

static void test_exit_status(void **state)
{
	Hs *h = sh("printf bye; exit 3", 24, 80);
	*state = h;
	int st = 0;
	assert_true(hs_wait_exit(h, 5000, &st));
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 3);
	assert_true(hs_contains(h, "bye"));
	assert_false(hs_send_keys(h, "x"));
}

static void test_idle(void **state)
{
	Hs *h = sh("printf a; sleep 0.3; printf b; sleep 5", 24, 80);
	*state = h;
	assert_true(hs_wait_text(h, "a", 5000));
	/* Not idle for 1 s while b is still to come within 0.3 s... */
	assert_true(hs_wait_idle(h, 1000, 5000));
	assert_true(hs_contains(h, "ab"));
	assert_int_equal(hs_bytes_written(h), 2);
	/* ...and a max shorter than the quiet period reports failure. */
	Hs *g = sh("while :; do printf x; sleep 0.05; done", 24, 80);
	assert_false(hs_wait_idle(g, 500, 400));
	hs_stop(&g);
	assert_null(g);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	static char buf[1 << 16];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static void test_screenshots(void **state)
{
	Hs *h = sh("printf 'a<b & \\033[1;32mok\\033[0m \\033[41mbad\\033[0m'; sleep 5", 24, 80);
	*state = h;
	assert_true(hs_wait_text(h, "bad", 5000));
	char dir[] = "/tmp/qdeck-shot-XXXXXX";
	assert_non_null(mkdtemp(dir));
	/* `make screenshots` sets QD_SCREENSHOTS for every test: keep its value. */
	const char *old = getenv("QD_SCREENSHOTS");
	char *saved = old ? strdup(old) : NULL;
	setenv("QD_SCREENSHOTS", dir, 1);
	assert_true(hs_screenshot(h, "probe"));
	unsetenv("QD_SCREENSHOTS");

	char path[256];
	snprintf(path, sizeof path, "%s/probe.txt", dir);
	char *txt = slurp(path);
	assert_non_null(txt);
	assert_true(strncmp(txt, "a<b & ok bad\n", 13) == 0);
	unlink(path);

	snprintf(path, sizeof path, "%s/probe.svg", dir);
	char *svg = slurp(path);
	assert_non_null(svg);
	assert_non_null(strstr(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
	assert_non_null(strstr(svg, "a&lt;b &amp;"));               /* escaped */
	assert_non_null(strstr(svg, "font-weight=\"bold\">ok</text>")); /* bold green run */
	assert_non_null(strstr(svg, "fill=\"#1c1c1c\""));            /* dark background */
	assert_non_null(strstr(svg, "</svg>"));
	unlink(path);
	rmdir(dir);
	/* Without QD_SCREENSHOTS nothing is written and that is not an error. */
	assert_true(hs_screenshot(h, "unused"));
	if (saved) {
		setenv("QD_SCREENSHOTS", saved, 1);
		free(saved);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_text_and_bytes, teardown),
		cmocka_unit_test_teardown(test_wait_text_times_out, teardown),
		cmocka_unit_test_teardown(test_attributes, teardown),
		cmocka_unit_test_teardown(test_no_color_detected, teardown),
		cmocka_unit_test_teardown(test_keys_in_application_mode, teardown),
		cmocka_unit_test_teardown(test_keys_normal_mode, teardown),
		cmocka_unit_test_teardown(test_typed_line, teardown),
		cmocka_unit_test_teardown(test_resize_sends_sigwinch, teardown),
		cmocka_unit_test_teardown(test_title_and_bell, teardown),
		cmocka_unit_test_teardown(test_wide_characters, teardown),
		cmocka_unit_test_teardown(test_exit_status, teardown),
		cmocka_unit_test_teardown(test_idle, teardown),
		cmocka_unit_test_teardown(test_screenshots, teardown),
	};
	return cmocka_run_group_tests_name("screen harness", tests, NULL, NULL);
}

/* Screen scenarios for the terminal pane (issue 4) through the real console:
 * qdeck under a PTY fed into libvterm, qdeckd on loopback with the demo seed.
 * `c` on an active allocation opens a shell that runs on this host in the
 * allocation's scratch directory; the checks read the pane the operator sees.
 *
 * Shell output is recognised by markers the typed command line cannot show:
 * `echo "@@""tag"` echoes as typed with the quotes, but prints "@@tag".
 *
 * With QD_SCREENSHOTS=dir the runs write terminal_split and terminal_full. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/screen/scenario.h"

#define T SC_WAIT_MS
/* Reconnecting waits out a backoff (up to 8 s) on top of the restart. */
#define T_RECONNECT 40000

#define CURSOR "\xe2\x96\xb6"

typedef struct {
	Hs *h; /* first: sc_ctx_start stores it here */
	char name[128];
	char id[64];
} Ctx;

/* Column (in cells) where the ASCII text starts on row r, or -1. */
static int cell_col(Hs *h, int r, const char *text)
{
	size_t n = strlen(text);
	for (int c = 0; c + (int)n <= hs_cols(h); c++) {
		size_t k = 0;
		while (k < n && hs_cell_char(h, r, c + (int)k) == (uint32_t)(unsigned char)text[k])
			k++;
		if (k == n)
			return c;
	}
	return -1;
}

/* The value printed after "key=" on the screen (up to the end of its row). */
static bool screen_value(Hs *h, const char *key, char *out, size_t sz)
{
	for (int r = hs_rows(h) - 1; r >= 0; r--) {
		const char *row = hs_row(h, r);
		const char *p = strstr(row, key);
		if (p && (p == row || p[-1] == ' ')) {
			snprintf(out, sz, "%s", p + strlen(key));
			return true;
		}
	}
	return false;
}

/* Runs `echo "key=$(cmd)"` and returns what it printed. */
static void shell_value(Hs *h, const char *key, const char *cmd, char *out, size_t sz)
{
	char line[256], tag[64];
	snprintf(line, sizeof line, "echo \"%s=$(%s)\"", key, cmd);
	sc_sh(h, line);
	snprintf(tag, sizeof tag, "%s-done", key);
	sc_sync_shell(h, tag);
	char want[64];
	snprintf(want, sizeof want, "%s=", key);
	if (!screen_value(h, want, out, sz)) {
		hs_dump(h, want);
		fail_msg("no %s on screen", want);
	}
}

/* ops (admin) at 120x40; the workbench filtered to one active row; `c`
 * opens its shell, which has answered once this returns. */
static Ctx *open_shell(void **state)
{
	HsOpts o = {.rows = 40, .cols = 120, .user = "ops"};
	Ctx *c = sc_ctx_start(state, sizeof *c, &o);
	Hs *h = c->h;
	sc_wait_loaded(h);
	sc_filter_to_active(h, c->name, sizeof c->name, c->id, sizeof c->id);

	assert_true(hs_send_keys(h, "c"));
	char label[256];
	snprintf(label, sizeof label, " Terminal \xc2\xb7 %s (%s) \xc2\xb7 connected", c->name, c->id);
	assert_true(hs_wait_text(h, label, T));
	/* Let the prompt arrive first (typed-ahead text would echo before it:
	 * harmless, but the screenshots read better). */
	assert_true(hs_wait_idle(h, 300, T));
	sc_sync_shell(h, "ready");
	return c;
}

/* ---- scenarios ---------------------------------------------------------------------- */

static bool is_red(int fg)
{
	if (fg == 1 || fg == 9 || fg == 160 || fg == 196)
		return true;
	if (fg & 0x1000000) {
		int r = (fg >> 16) & 0xff, g = (fg >> 8) & 0xff, b = fg & 0xff;
		return r >= 0x80 && g < 0x60 && b < 0x60;
	}
	return false;
}

static void test_open_colours_wide_and_full(void **state)
{
	Ctx *c = open_shell(state);
	Hs *h = c->h;

	/* Split: the table stays above the pane, the frame names the session. */
	int fr = sc_frame_row(h);
	assert_true(fr > 2);
	assert_int_equal(sc_count_state_rows(h), 1);
	assert_true(hs_find_row(h, c->name) < fr);

	/* Colour and wide characters (written as octal escapes so only the
	 * output, not the typed line, holds them). */
	sc_sh(h, "printf '\\033[31mRED\\033[0m \\346\\274\\242\\345\\255\\227 ok\\n'");
	assert_true(hs_wait_text(h, "RED \xe6\xbc\xa2\xe5\xad\x97 ok", T));
	assert_true(hs_wait_idle(h, 150, T));
	int r = hs_find_row(h, "RED \xe6\xbc\xa2\xe5\xad\x97 ok");
	assert_true(r > fr);
	int col = cell_col(h, r, "RED ");
	assert_true(col >= 0);
	HsAttrs red = hs_cell_attrs(h, r, col);
	if (!is_red(red.fg))
		fail_msg("\"RED\" is drawn with foreground %#x, not red", red.fg);
	assert_true(is_red(hs_cell_attrs(h, r, col + 2).fg));
	/* SGR 0 after it: the space is back to the default colour. */
	assert_false(is_red(hs_cell_attrs(h, r, col + 3).fg));
	/* 漢 and 字 take two cells each; "ok" starts right after them. */
	assert_int_equal(hs_cell_char(h, r, col + 4), 0x6f22);
	assert_int_equal(hs_cell_width(h, r, col + 4), 2);
	assert_int_equal(hs_cell_width(h, r, col + 5), 0);
	assert_int_equal(hs_cell_char(h, r, col + 6), 0x5b57);
	assert_int_equal(hs_cell_width(h, r, col + 6), 2);
	assert_int_equal(hs_cell_width(h, r, col + 7), 0);
	assert_int_equal(cell_col(h, r, " ok"), col + 8);
	hs_screenshot(h, "terminal_split");

	/* C-] z: full screen (the frame moves to the top, the table is hidden);
	 * again: back to the split. */
	assert_true(hs_send_key(h, "C-]"));
	assert_true(hs_wait_text(h, "PREFIX: d detach", T));
	assert_true(hs_send_keys(h, "z"));
	assert_true(hs_wait_row_text(h, 0, " Terminal ", T));
	assert_true(hs_wait_idle(h, 200, T));
	assert_int_equal(sc_count_state_rows(h), 0);
	assert_true(hs_contains(h, "RED \xe6\xbc\xa2\xe5\xad\x97 ok"));
	hs_screenshot(h, "terminal_full");
	/* Keys still reach the shell at full size. */
	sc_sync_shell(h, "full");
	assert_true(hs_send_key(h, "C-]"));
	assert_true(hs_send_keys(h, "s"));
	assert_true(hs_wait_idle(h, 200, T));
	assert_int_equal(sc_frame_row(h), fr);
	assert_int_equal(sc_count_state_rows(h), 1);

	/* C-] ? lists the prefix keys; Esc closes the help, keys go to the shell. */
	assert_true(hs_send_key(h, "C-]"));
	assert_true(hs_send_keys(h, "?"));
	assert_true(hs_wait_text(h, "term-detach", T) || hs_contains(h, "detach"));
	assert_true(hs_wait_idle(h, 150, T));
	assert_true(hs_send_key(h, "Esc"));
	assert_true(hs_wait_idle(h, 150, T));
	sc_sync_shell(h, "after-help");
}

static bool have_program(const char *name)
{
	const char *path = getenv("PATH");
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	char *dup = strdup(path);
	assert_non_null(dup);
	bool found = false;
	for (char *save = NULL, *dir = strtok_r(dup, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
		char full[1024];
		snprintf(full, sizeof full, "%s/%s", dir, name);
		found = access(full, X_OK) == 0;
	}
	free(dup);
	return found;
}

static void test_fullscreen_program_restores_screen(void **state)
{
	bool vi = have_program("vi"), less = have_program("less");
	if (!vi && !less) {
		print_message("neither vi nor less is installed: skipping the alternate screen scenario\n");
		skip();
	}
	Ctx *c = open_shell(state);
	Hs *h = c->h;
	sc_sync_shell(h, "before-fullscreen");
	int fr = sc_frame_row(h);
	if (vi) {
		/* No user vimrc: the default screen is what is checked. */
		sc_sh(h, "vi qd-alt-probe.txt");
		assert_true(hs_wait_gone(h, "@@before-fullscreen", T));
		assert_true(hs_wait_text(h, "qd-alt-probe.txt", T));
		/* Empty buffer lines are "~" at the left of the pane. */
		assert_true(hs_wait_row_text(h, fr + 2, "~", T));
		assert_true(hs_wait_idle(h, 200, T));
		assert_true(hs_send_key(h, "Esc"));
		assert_true(hs_send_keys(h, ":q!\r"));
	} else {
		sc_sh(h, "seq 1 500 > qd-alt-probe.txt; less qd-alt-probe.txt");
		assert_true(hs_wait_gone(h, "@@before-fullscreen", T));
		assert_true(hs_wait_row_text(h, fr + 1, "1", T));
		assert_true(hs_wait_idle(h, 200, T));
		assert_true(hs_send_keys(h, "q"));
	}
	/* The shell's screen comes back as it was (alternate screen left). */
	assert_true(hs_wait_text(h, "@@before-fullscreen", T));
	sc_sync_shell(h, "after-fullscreen");
	for (int r = fr + 1; r < hs_rows(h) - 1; r++)
		assert_false(strncmp(hs_row(h, r), "~", 1) == 0 && strlen(hs_row(h, r)) == 1);
}

static void test_resize_reaches_the_shell(void **state)
{
	Ctx *c = open_shell(state);
	Hs *h = c->h;
	char v[64], want[64];
	/* The pane is the rows between the frame line and the status line. */
	int fr = sc_frame_row(h);
	snprintf(want, sizeof want, "%d %d", hs_rows(h) - 2 - fr, hs_cols(h));
	shell_value(h, "size1", "stty size", v, sizeof v);
	assert_string_equal(v, want);

	assert_true(hs_resize(h, 30, 100));
	assert_true(hs_wait_idle(h, 300, T));
	fr = sc_frame_row(h);
	assert_true(fr > 0);
	snprintf(want, sizeof want, "%d %d", hs_rows(h) - 2 - fr, 100);
	/* The resize message may trail the redraw: ask until it has arrived. */
	for (int i = 0; i < 20; i++) {
		char key[32];
		snprintf(key, sizeof key, "size%d", i + 2);
		shell_value(h, key, "stty size", v, sizeof v);
		if (strcmp(v, want) == 0)
			break;
		hs_pump(h, 200);
	}
	assert_string_equal(v, want);
	/* The split keeps its proportion: under half the 29 rows above the status. */
	assert_true(hs_rows(h) - 2 - fr < 29 / 2 + 2);
}

static void test_detach_and_reattach(void **state)
{
	Ctx *c = open_shell(state);
	Hs *h = c->h;
	char pid1[32], pid2[32];
	shell_value(h, "pid1", "echo $$", pid1, sizeof pid1);
	sc_sync_shell(h, "kept-output");

	assert_true(hs_send_key(h, "C-]"));
	assert_true(hs_send_keys(h, "d"));
	assert_true(hs_wait_text(h, "detached from", T));
	assert_true(hs_wait_gone(h, "@@kept-output", T));
	assert_int_equal(sc_frame_row(h), -1);
	/* Keys are the console's again: the row is there and selected. */
	assert_int_equal(sc_count_state_rows(h), 1);
	assert_true(hs_send_keys(h, "j"));
	assert_true(hs_wait_idle(h, 150, T));
	assert_int_equal(sc_frame_row(h), -1);

	/* c on the same allocation: the same session, the same shell. */
	assert_true(hs_send_keys(h, "c"));
	assert_true(hs_wait_text(h, "reattached to", T));
	assert_true(hs_wait_text(h, "@@kept-output", T));
	assert_true(hs_contains(h, "connected"));
	shell_value(h, "pid2", "echo $$", pid2, sizeof pid2);
	assert_string_equal(pid1, pid2);

	/* C-] q leaves the pane in place: keys go to the console. */
	assert_true(hs_send_key(h, "C-]"));
	assert_true(hs_send_keys(h, "q"));
	assert_true(hs_wait_text(h, "keys go to the console", T));
	assert_true(sc_frame_row(h) > 0);
}

static void test_connection_cut_reconnects(void **state)
{
	Ctx *c = open_shell(state);
	Hs *h = c->h;
	char pid1[32], pid2[32];
	shell_value(h, "pid1", "echo $$", pid1, sizeof pid1);
	sc_sync_shell(h, "before-cut");

	/* qdeckd dies with the shell it ran: the pane says it is reconnecting. */
	assert_true(hs_server_kill(h));
	assert_true(sc_wait_frame(h, "reconnecting", true, T));
	/* What was on the pane stays on it. */
	assert_true(hs_contains(h, "@@before-cut"));

	/* Back: a newly minted token opens a new shell (the old one is gone
	 * server-side), in the same pane. */
	assert_true(hs_server_restart(h));
	char label[256];
	snprintf(label, sizeof label, "%s (%s) \xc2\xb7 connected", c->name, c->id);
	assert_true(sc_wait_frame(h, label, true, T_RECONNECT));
	assert_true(hs_contains(h, "@@before-cut"));
	sc_sync_shell(h, "after-cut");
	shell_value(h, "pid2", "echo $$", pid2, sizeof pid2);
	assert_string_not_equal(pid1, pid2);
}

static void test_exit_shows_code(void **state)
{
	Ctx *c = open_shell(state);
	Hs *h = c->h;
	sc_sh(h, "exit 3");
	assert_true(hs_wait_text(h, "exited with code 3", T));
	int fr = sc_frame_row(h);
	assert_true(fr > 0);
	assert_true(strstr(hs_row(h, fr), "Enter closes") != NULL);
	/* Typing does nothing now; Enter closes the pane. */
	assert_true(hs_send_keys(h, "x"));
	assert_true(hs_wait_idle(h, 150, T));
	assert_true(hs_contains(h, "exited with code 3"));
	assert_true(hs_send_key(h, "Enter"));
	assert_true(hs_wait_gone(h, "exited with code 3", T));
	assert_int_equal(sc_frame_row(h), -1);
	assert_int_equal(sc_count_state_rows(h), 1);
}

/* Shell output is the least trusted input there is: titles, bells, clipboard
 * writes and device control strings are the pane's business only. */
static void test_hostile_output_stays_in_the_pane(void **state)
{
	Ctx *c = open_shell(state);
	Hs *h = c->h;
	hs_record_output(h, true);
	sc_sh(h, "printf '\\033]0;pwned\\007'");
	sc_sh(h, "printf '\\033]2;pwned-two\\033\\\\'");
	sc_sh(h, "printf '\\007\\033]52;c;cHduZWQ=\\007\\033P+q544e\\033\\\\\\033]8;;http://x.example/\\033\\\\link\\033]8;;\\033\\\\\\n'");
	/* A title split across two reads of the PTY still never leaks. */
	sc_sh(h, "printf 'ti\\033]0;pwned-split'; sleep 0.2; printf '_tail\\007tle\\n'");
	sc_sync_shell(h, "hostile-done");
	assert_true(hs_wait_idle(h, 200, T));

	/* The pane shows the shell's title in its frame, sanitized... */
	int fr = sc_frame_row(h);
	assert_true(fr > 0);
	assert_true(strstr(hs_row(h, fr), "pwned") != NULL);
	/* ...and the outer terminal never got a title, a bell or any of it raw. */
	assert_string_equal(hs_title(h), "");
	assert_int_equal(hs_bells(h), 0);
	static const char *const raw[] = {"\x1b]0;", "\x1b]2;", "\x1b]52;", "\x1bP", "\x1b]8;", "pwned-split_tail"};
	for (size_t i = 0; i < sizeof raw / sizeof raw[0]; i++)
		if (hs_output_has(h, raw[i], strlen(raw[i])))
			fail_msg("shell output reached the terminal raw: sequence %zu", i);
	assert_false(hs_output_has(h, "\a", 1));
	/* The console is intact: its status line is still at the bottom. */
	assert_true(strstr(hs_row(h, hs_rows(h) - 1), "live") != NULL);
	/* The split title was taken whole: the text around it joins up. */
	assert_true(hs_find_row(h, "title") > fr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_open_colours_wide_and_full, sc_teardown_ctx),
		cmocka_unit_test_teardown(test_fullscreen_program_restores_screen, sc_teardown_ctx),
		cmocka_unit_test_teardown(test_resize_reaches_the_shell, sc_teardown_ctx),
		cmocka_unit_test_teardown(test_detach_and_reattach, sc_teardown_ctx),
		cmocka_unit_test_teardown(test_connection_cut_reconnects, sc_teardown_ctx),
		cmocka_unit_test_teardown(test_exit_shows_code, sc_teardown_ctx),
		cmocka_unit_test_teardown(test_hostile_output_stays_in_the_pane, sc_teardown_ctx),
	};
	/* QD_TEST_FILTER=test_exit_shows_code runs one scenario (a glob). */
	const char *only = getenv("QD_TEST_FILTER");
	if (only && *only)
		cmocka_set_test_filter(only);
	return cmocka_run_group_tests_name("terminal pane screens", tests, NULL, NULL);
}

/* More terminal pane scenarios (issue 4) through the real console: two
 * sessions at once, scrollback, copy mode with OSC 52, and the bell.
 *
 * Like test_terminal_screen.c: qdeck under a PTY read back through libvterm,
 * qdeckd on loopback with the demo seed, ops (admin) at 120x40. Shell output
 * is recognised by markers the typed line cannot show: `echo "@@""tag"`
 * echoes with the quotes but prints "@@tag". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/screen/scenario.h"

#define T SC_WAIT_MS

#define DOT "\xc2\xb7"

typedef struct {
	char name[128];
	char id[64];
} Target;

typedef struct {
	Hs *h; /* first: sc_ctx_start stores it here */
	Target a, b;
} Ctx;

/* An active allocation whose name no other allocation contains (so the
 * filter leaves exactly its row), other than `not`. */
static void pick_active(Hs *h, const char *not, Target *out)
{
	sc_pick_active(h, false, not, out->name, sizeof out->name, out->id, sizeof out->id);
}

/* The workbench filtered down to the allocation's row (C-u clears the old filter). */
static void filter_to(Hs *h, const char *name)
{
	assert_true(hs_send_key(h, "C-u"));
	assert_true(hs_wait_idle(h, 100, T));
	assert_true(hs_send_keys(h, "/"));
	for (const char *p = name; *p; p++) {
		char ch[2] = {*p, 0};
		assert_true(hs_send_keys(h, ch));
	}
	assert_true(hs_wait_idle(h, 150, T));
	assert_true(hs_send_key(h, "Enter"));
	assert_true(hs_wait_idle(h, 150, T));
	assert_true(hs_wait_text(h, name, T));
}

/* `c` on the filtered row; waits for "connected" and the first prompt. */
static void open_terminal(Hs *h, const Target *t)
{
	filter_to(h, t->name);
	assert_true(hs_send_keys(h, "c"));
	char label[256];
	snprintf(label, sizeof label, "%s (%s) " DOT " connected", t->name, t->id);
	assert_true(sc_wait_frame(h, label, true, T));
	assert_true(hs_wait_idle(h, 300, T));
}

static Ctx *start(void **state)
{
	HsOpts o = {.rows = 40, .cols = 120, .user = "ops"};
	Ctx *c = sc_ctx_start(state, sizeof *c, &o);
	sc_wait_loaded(c->h);
	pick_active(c->h, NULL, &c->a);
	return c;
}

/* One shell on c->a, answering. */
static Ctx *start_shell(void **state)
{
	Ctx *c = start(state);
	open_terminal(c->h, &c->a);
	sc_sync_shell(c->h, "ready");
	return c;
}

/* ---- scenarios ---------------------------------------------------------------------- */

/* Two allocations, two shells: the frame lists both, prefix n switches, and a
 * bell in the one out of sight flags it in the list until it is shown. */
static void test_two_sessions_and_hidden_bell(void **state)
{
	Ctx *c = start(state);
	Hs *h = c->h;
	pick_active(h, c->a.name, &c->b);
	char go[1200];
	snprintf(go, sizeof go, "%s/bell-go", hs_dir(h));

	open_terminal(h, &c->a);
	sc_sync_shell(h, "first");
	/* The first shell rings once the test says so (a file, not a sleep). */
	char line[1400];
	snprintf(line, sizeof line, "while [ ! -e '%s' ]; do sleep 0.05; done; printf '\\007'; echo \"@@\"\"rang\"", go);
	sc_sh(h, line);
	assert_true(hs_wait_idle(h, 200, T));

	/* Keys back to the console, then a second allocation's shell. */
	assert_true(hs_send_key(h, "C-]"));
	assert_true(hs_send_keys(h, "q"));
	assert_true(hs_wait_text(h, "keys go to the console", T));
	open_terminal(h, &c->b);
	sc_sync_shell(h, "second");

	/* Both listed, the current (second) one in brackets. */
	char one[200], two[200];
	snprintf(one, sizeof one, " 1 %s ", c->a.name);
	snprintf(two, sizeof two, "[2 %s]", c->b.name);
	assert_true(sc_wait_frame(h, one, true, T));
	assert_true(sc_frame_has(h, two));
	hs_record_output(h, true);

	/* The first shell rings while out of sight: flagged, nothing raw. */
	FILE *f = fopen(go, "w");
	assert_non_null(f);
	fclose(f);
	char flagged[200];
	snprintf(flagged, sizeof flagged, " 1 %s (bell) [2 %s]", c->a.name, c->b.name);
	assert_true(sc_wait_frame(h, flagged, true, T));
	assert_false(hs_contains(h, "@@rang"));
	assert_int_equal(hs_bells(h), 0);
	assert_false(hs_output_has(h, "\a", 1));

	/* C-] n: the first session is shown, with its output; the flag clears. */
	assert_true(hs_send_key(h, "C-]"));
	assert_true(hs_send_keys(h, "n"));
	snprintf(one, sizeof one, "[1 %s]", c->a.name);
	assert_true(sc_wait_frame(h, one, true, T));
	assert_true(hs_wait_text(h, "@@rang", T));
	assert_true(sc_wait_frame(h, "(bell)", false, T));
	assert_false(hs_contains(h, "@@second"));
	sc_sync_shell(h, "first-again");
	/* And n again: back to the second, whose screen is as it was. */
	assert_true(hs_send_key(h, "C-]"));
	assert_true(hs_send_keys(h, "n"));
	assert_true(sc_wait_frame(h, two, true, T));
	assert_true(hs_wait_text(h, "@@second", T));
	assert_false(hs_contains(h, "@@first-again"));
	assert_int_equal(hs_bells(h), 0);
}

/* The smallest "line-NNN" number on screen, or -1. */
static int min_line_shown(Hs *h)
{
	int best = -1;
	for (int r = 0; r < hs_rows(h); r++) {
		const char *row = hs_row(h, r);
		int n;
		if (strncmp(row, "line-", 5) == 0 && sscanf(row + 5, "%d", &n) == 1 && (best < 0 || n < best))
			best = n;
	}
	return best;
}

static void test_scrollback(void **state)
{
	Ctx *c = start_shell(state);
	Hs *h = c->h;
	sc_sh(h, "seq -f 'line-%03g' 1 200");
	assert_true(hs_wait_text(h, "line-200", T));
	sc_sync_shell(h, "printed");
	assert_true(hs_wait_idle(h, 150, T));
	int live_min = min_line_shown(h);
	assert_true(live_min > 100);
	assert_false(hs_contains(h, "line-001"));

	/* C-] [: scroll mode; PageUp shows earlier lines, page by page, back to
	 * the first (200 lines fit in the 2000-line ring). */
	assert_true(hs_send_key(h, "C-]"));
	assert_true(hs_send_keys(h, "["));
	assert_true(sc_wait_frame(h, "SCROLL (Esc ends)", true, T));
	assert_true(hs_send_key(h, "PageUp"));
	assert_true(hs_wait_idle(h, 150, T));
	int m = min_line_shown(h);
	assert_true(m > 0 && m < live_min);
	assert_false(hs_contains(h, "line-200"));
	for (int i = 0; i < 30 && !hs_contains(h, "line-001"); i++) {
		assert_true(hs_send_key(h, "PageUp"));
		assert_true(hs_wait_idle(h, 100, T));
	}
	assert_true(hs_wait_text(h, "line-001", T));
	/* The terminal cursor is hidden while scrolled back; output lines stay. */
	assert_true(sc_frame_has(h, "SCROLL"));

	/* Esc: back to the live screen. */
	assert_true(hs_send_key(h, "Esc"));
	assert_true(sc_wait_frame(h, "SCROLL", false, T));
	assert_true(hs_wait_text(h, "@@printed", T));
	assert_true(hs_wait_gone(h, "line-001", T));
	assert_true(hs_contains(h, "line-200"));
	sc_sync_shell(h, "live-again");
}

/* C-] v, select two lines, y: the console writes OSC 52 with their text. */
static void test_copy_mode_osc52(void **state)
{
	Ctx *c = start_shell(state);
	Hs *h = c->h;
	sc_sh(h, "echo \"cp\"\"-one\"; echo \"cp\"\"-two\"");
	assert_true(hs_wait_text(h, "cp-two", T));
	assert_true(hs_wait_idle(h, 200, T));
	int r1 = hs_find_row(h, "cp-one");
	assert_true(r1 > 0);
	assert_string_equal(hs_row(h, r1), "cp-one");
	assert_string_equal(hs_row(h, r1 + 1), "cp-two");

	hs_record_output(h, true);
	assert_true(hs_send_key(h, "C-]"));
	assert_true(hs_send_keys(h, "v"));
	assert_true(sc_wait_frame(h, "COPY:", true, T));
	/* The cursor starts on the prompt line, right under cp-two: up twice,
	 * mark, down once. */
	assert_true(hs_send_key(h, "Up"));
	assert_true(hs_send_key(h, "Up"));
	assert_true(hs_send_keys(h, "v"));
	assert_true(hs_send_key(h, "Down"));
	assert_true(hs_wait_idle(h, 150, T));
	/* The selection is drawn in reverse. */
	assert_true(hs_cell_attrs(h, r1, 0).reverse);
	assert_true(hs_cell_attrs(h, r1 + 1, 0).reverse);
	assert_false(hs_cell_attrs(h, r1 - 1, 0).reverse);
	assert_true(hs_send_keys(h, "y"));
	assert_true(hs_wait_text(h, "copied terminal lines", T));
	assert_true(sc_wait_frame(h, "COPY:", false, T));
	/* base64("cp-one\ncp-two"): whole lines, newline-separated, none after the last */
	static const char want[] = "\033]52;c;Y3Atb25lCmNwLXR3bw==";
	if (!hs_output_has(h, want, strlen(want))) {
		hs_dump(h, "no OSC 52 with the selected lines");
		if (hs_output_has(h, "\033]52;c;", 7))
			fail_msg("the console wrote OSC 52, but not with base64 of \"cp-one\\ncp-two\"");
		fail_msg("the console did not write OSC 52 with base64 of \"cp-one\\ncp-two\"");
	}
	/* The selection is gone, keys reach the shell again. */
	assert_false(hs_cell_attrs(h, r1, 0).reverse);
	sc_sync_shell(h, "after-copy");
}

/* Copy mode reaches past the screen: mark the last of 100 lines, move up
 * 59 lines (more than the pane is tall, so the view scrolls), copy. */
static void test_copy_mode_spans_screens(void **state)
{
	Ctx *c = start_shell(state);
	Hs *h = c->h;
	sc_sh(h, "for i in $(seq 1 100); do printf 'sel-%03d\\n' $i; done");
	assert_true(hs_wait_text(h, "sel-100", T));
	assert_true(hs_wait_idle(h, 200, T));
	assert_true(60 > hs_rows(h) - 2); /* the selection cannot fit one screen */

	hs_record_output(h, true);
	assert_true(hs_send_key(h, "C-]"));
	assert_true(hs_send_keys(h, "v"));
	assert_true(sc_wait_frame(h, "COPY:", true, T));
	assert_true(hs_send_key(h, "Up")); /* from the prompt line to sel-100 */
	assert_true(hs_send_keys(h, "v"));
	for (int i = 0; i < 59; i++)
		assert_true(hs_send_key(h, "Up"));
	assert_true(hs_wait_text(h, "sel-041", T));
	assert_true(hs_wait_idle(h, 150, T));
	assert_true(hs_send_keys(h, "y"));
	assert_true(hs_wait_text(h, "copied terminal lines", T));

	char text[64 * 8 + 1] = "";
	for (int i = 41; i <= 100; i++)
		snprintf(text + strlen(text), sizeof text - strlen(text), "sel-%03d%s", i, i < 100 ? "\n" : "");
	unsigned char b64[sizeof text * 2];
	int n = EVP_EncodeBlock(b64, (const unsigned char *)text, (int)strlen(text));
	char want[sizeof b64 + 16];
	snprintf(want, sizeof want, "\033]52;c;%.*s", n, (const char *)b64);
	if (!hs_output_has(h, want, strlen(want))) {
		hs_dump(h, "no OSC 52 with the 60 selected lines");
		fail_msg("the console did not write OSC 52 with base64 of sel-041..sel-100");
	}
	sc_sync_shell(h, "after-long-copy");
}

/* A bell in the session in view flashes its frame line; the BEL itself never
 * reaches the outer terminal and no flag is left behind. */
static void test_visible_bell(void **state)
{
	Ctx *c = start_shell(state);
	Hs *h = c->h;
	int fr = sc_frame_row(h);
	assert_true(fr > 0);
	bool reverse_before = hs_cell_attrs(h, fr, 1).reverse;
	hs_record_output(h, true);
	hs_watch_cell(h, fr, 1);
	sc_sh(h, "printf '\\007\\007\\007'; echo \"@@\"\"rung\"");
	assert_true(hs_wait_text(h, "@@rung", T));
	assert_true(hs_wait_idle(h, 400, T));
	assert_int_equal(hs_bells(h), 0);
	assert_false(hs_output_has(h, "\a", 1));
	assert_false(sc_frame_has(h, "(bell)"));
	/* The flash has ended: the frame line looks as before. */
	assert_int_equal(hs_cell_attrs(h, fr, 1).reverse, reverse_before);
	/* ...and while it lasted, the frame line was redrawn in reverse. */
	assert_true(hs_watch_flipped(h));
	sc_sync_shell(h, "after-bell");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_two_sessions_and_hidden_bell, sc_teardown_ctx),
		cmocka_unit_test_teardown(test_scrollback, sc_teardown_ctx),
		cmocka_unit_test_teardown(test_copy_mode_osc52, sc_teardown_ctx),
		cmocka_unit_test_teardown(test_copy_mode_spans_screens, sc_teardown_ctx),
		cmocka_unit_test_teardown(test_visible_bell, sc_teardown_ctx),
	};
	/* QD_TEST_FILTER=test_scrollback runs one scenario (a glob). */
	const char *only = getenv("QD_TEST_FILTER");
	if (only && *only)
		cmocka_set_test_filter(only);
	return cmocka_run_group_tests_name("terminal pane screens, more", tests, NULL, NULL);
}

/* Unit tests for widgets/modal (confirm with Cancel as the default for
 * destructive actions, required reason input, callback once, no nested loop)
 * and widgets/form (text / select / checkbox fields, required fields, and
 * scrolling a form taller than its window so the focused field and its error
 * stay on screen), and the secret field (never drawn, only masked; its
 * replaced text wiped). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curses.h>
#include <stdio.h>
#include <string.h>

#include "keymaps/keymap.h"
#include "tests/unit/curses_fixture.h"
#include "widgets/form.h"
#include "widgets/modal.h"
#include "widgets/theme.h"

/* A key as the loop delivers it: looked up in the widget's context. */
static WidgetResult press(Widget *w, int key, bool is_keycode)
{
	KeyEvent ev = {.action = keymap_lookup(w->klass->keymap_context, key, is_keycode), .key = key,
	               .is_keycode = is_keycode};
	return widget_key(w, &ev);
}

static int calls;
static ModalOutcome last;
static void done(void *ud, Modal *m, ModalOutcome o)
{
	(void)m;
	(void)ud;
	calls++;
	last = o;
}

static bool window_has(WINDOW *win, const char *needle)
{
	char buf[256];
	for (int y = 0; y < getmaxy(win); y++) {
		mvwinnstr(win, y, 0, buf, getmaxx(win) < 255 ? getmaxx(win) : 255);
		if (strstr(buf, needle))
			return true;
	}
	return false;
}

static void test_destructive_confirm_defaults_to_cancel(void **state)
{
	(void)state;
	Modal *m = modal_confirm_new("Release allocation", "Release train-llama (a1)?\nThe GPUs go back to the pool.",
	                             "Release", true);
	calls = 0;
	modal_set_callback(m, done, NULL);
	assert_int_equal(modal_focus(m), 2); /* Cancel */
	widget_draw(modal_widget(m));
	assert_true(window_has(modal_widget(m)->win, "train-llama (a1)"));
	assert_true(window_has(modal_widget(m)->win, "[ Cancel ]"));
	/* a stray letter does nothing; Enter on the default cancels */
	assert_int_equal(press(modal_widget(m), 'x', false), W_HANDLED);
	assert_int_equal(modal_outcome(m), MODAL_PENDING);
	assert_true(press(modal_widget(m), '\n', false) & W_CLOSE);
	assert_int_equal(modal_outcome(m), MODAL_CANCELLED);
	assert_int_equal(calls, 1);
	assert_int_equal(last, MODAL_CANCELLED);
	/* decided once: more keys change nothing, the callback does not run again */
	press(modal_widget(m), '\n', false);
	assert_int_equal(calls, 1);
	modal_free(&m);

	m = modal_confirm_new("Release allocation", "Release?", "Release", true);
	modal_set_callback(m, done, NULL);
	calls = 0;
	press(modal_widget(m), KEY_LEFT, true); /* to Release */
	assert_int_equal(modal_focus(m), 1);
	widget_draw(modal_widget(m));
	assert_true(window_has(modal_widget(m)->win, "[ Release ]"));
	assert_true(press(modal_widget(m), '\r', false) & W_CLOSE);
	assert_int_equal(modal_outcome(m), MODAL_ACCEPTED);
	assert_int_equal(calls, 1);
	modal_free(&m);

	/* Esc cancels from anywhere */
	m = modal_confirm_new("Restart", "Restart?", "Restart", false);
	assert_int_equal(modal_focus(m), 1); /* not destructive: the action is the default */
	press(modal_widget(m), 27, false);
	assert_int_equal(modal_outcome(m), MODAL_CANCELLED);
	modal_free(&m);
}

static void test_required_reason(void **state)
{
	(void)state;
	ModalSpec spec = {
		.title = "Force release",
		.body = "Force-release a3? The node will be drained.",
		.accept_label = "Force release",
		.cancel_label = "Cancel",
		.danger = true,
		.input_label = "Reason",
		.input_required = true,
	};
	Modal *m = modal_new(&spec);
	assert_int_equal(modal_focus(m), 0); /* starts in the reason */
	/* accept with a blank reason is refused, visibly */
	assert_false(press(modal_widget(m), '\n', false) & W_CLOSE);
	assert_int_equal(modal_outcome(m), MODAL_PENDING);
	widget_draw(modal_widget(m));
	assert_true(window_has(modal_widget(m)->win, "A reason is required."));
	/* typing goes to the input, even keys the keymap binds (q, j) */
	const char *reason = "stuck job";
	for (const char *p = reason; *p; p++)
		press(modal_widget(m), (unsigned char)*p, false);
	assert_string_equal(modal_input(m), "stuck job");
	widget_draw(modal_widget(m));
	assert_false(window_has(modal_widget(m)->win, "A reason is required."));
	/* Tab to the buttons: Release then Cancel */
	press(modal_widget(m), '\t', false);
	assert_int_equal(modal_focus(m), 1);
	press(modal_widget(m), '\t', false);
	assert_int_equal(modal_focus(m), 2);
	press(modal_widget(m), KEY_BTAB, true);
	assert_true(press(modal_widget(m), '\n', false) & W_CLOSE);
	assert_int_equal(modal_outcome(m), MODAL_ACCEPTED);
	assert_string_equal(modal_input(m), "stuck job");
	modal_free(&m);
}

static void test_form_fields(void **state)
{
	(void)state;
	WINDOW *win = newwin(16, 60, 2, 2);
	Form *f = form_new(win, "Launch allocation");
	int name = form_add_text(f, "Name", NULL, 32, true);
	const char *skus[] = {"H100 SXM", "A100 80G", "L40S"};
	int sku = form_add_select(f, "SKU", skus, 3, 0);
	int ssh = form_add_checkbox(f, "Attach SSH key", true);
	form_set_buttons(f, "Launch", "Cancel");
	assert_int_equal(form_field_count(f), 3);
	assert_int_equal(form_focus(f), name);
	/* submitting with the required name empty: refused, error shown */
	assert_false(press(form_widget(f), '\n', false) & W_CLOSE);
	assert_int_equal(form_outcome(f), FORM_PENDING);
	widget_draw(form_widget(f));
	assert_true(window_has(win, "Name is required"));
	for (const char *p = "job-1"; *p; p++)
		press(form_widget(f), (unsigned char)*p, false);
	assert_string_equal(form_text(f, name), "job-1");
	press(form_widget(f), '\t', false);
	assert_int_equal(form_focus(f), sku);
	press(form_widget(f), KEY_RIGHT, true);
	press(form_widget(f), KEY_RIGHT, true);
	press(form_widget(f), KEY_RIGHT, true); /* wraps */
	assert_int_equal(form_selected(f, sku), 0);
	press(form_widget(f), KEY_LEFT, true);
	assert_string_equal(form_selected_label(f, sku), "L40S");
	press(form_widget(f), KEY_DOWN, true);
	assert_int_equal(form_focus(f), ssh);
	press(form_widget(f), ' ', false);
	assert_false(form_checked(f, ssh));
	widget_draw(form_widget(f));
	assert_true(window_has(win, "L40S"));
	assert_true(window_has(win, "[ ] no"));
	/* Tab to Launch, then Cancel, then around to the first field */
	press(form_widget(f), '\t', false);
	assert_int_equal(form_focus(f), 3);
	press(form_widget(f), KEY_RIGHT, true);
	assert_int_equal(form_focus(f), 4);
	press(form_widget(f), '\t', false);
	assert_int_equal(form_focus(f), 0);
	/* a server-side error puts the focus back on the field */
	form_set_error(f, sku, "sold out");
	assert_int_equal(form_focus(f), sku);
	widget_draw(form_widget(f));
	assert_true(window_has(win, "error: sold out"));
	assert_true(press(form_widget(f), '\n', false) & W_CLOSE);
	assert_int_equal(form_outcome(f), FORM_SUBMITTED);
	form_reopen(f);
	assert_int_equal(form_outcome(f), FORM_PENDING);
	press(form_widget(f), 27, false);
	assert_int_equal(form_outcome(f), FORM_CANCELLED);
	form_free(&f);
	delwin(win);
}

/* The screen row showing `needle` in win, or -1. */
static int window_row(WINDOW *win, const char *needle)
{
	char buf[256];
	for (int y = 0; y < getmaxy(win); y++) {
		mvwinnstr(win, y, 0, buf, getmaxx(win) < 255 ? getmaxx(win) : 255);
		if (strstr(buf, needle))
			return y;
	}
	return -1;
}

enum { TALL = 12 };

static Form *tall_form(WINDOW *win)
{
	Form *f = form_new(win, "Access");
	form_set_note(f, "Space ticks a key");
	const char *opts[] = {"a", "b"};
	for (int i = 0; i < TALL; i++) {
		char label[32];
		snprintf(label, sizeof label, "Field %02d", i);
		if (i % 3 == 0)
			form_add_checkbox(f, label, false);
		else if (i % 3 == 1)
			form_add_text(f, label, "v", 16, false);
		else
			form_add_select(f, label, opts, 2, 0);
	}
	return f;
}

/* The focused field is on screen (its label drawn), and the "more" lines
 * count what is out of view. */
static void assert_focus_shown(Form *f, WINDOW *win)
{
	int i = form_focus(f);
	widget_draw(form_widget(f));
	if (i >= form_field_count(f))
		return;
	assert_true(form_field_visible(f, i));
	char label[32];
	snprintf(label, sizeof label, "Field %02d", i);
	int y = window_row(win, label);
	assert_true(y > 0 && y < getmaxy(win) - 2);
	int above = 0;
	for (int k = 0; k < form_field_count(f); k++) {
		snprintf(label, sizeof label, "Field %02d", k);
		if (window_row(win, label) < 0 && k < i)
			above++;
	}
	char more[32];
	const char *up = theme_ascii() ? "^" : "\xe2\x86\x91";
	snprintf(more, sizeof more, "%s %d more", up, above);
	if (above)
		assert_true(window_has(win, more));
	snprintf(more, sizeof more, " %s ", up);
	if (!above)
		assert_false(window_has(win, more));
}

static void test_form_scrolls_to_focus(void **state)
{
	(void)state;
	/* 10 rows: frame, note, spacer, 4 field rows, spacer, buttons, frame */
	WINDOW *win = newwin(10, 60, 2, 2);
	Form *f = tall_form(win);
	widget_draw(form_widget(f));
	assert_int_equal(form_scroll(f), 0);
	assert_true(form_field_visible(f, 3));
	assert_false(form_field_visible(f, 4));
	assert_true(window_has(win, "\xe2\x86\x93 8 more")); /* "↓ 8 more" below the fields */
	assert_false(window_has(win, "Field 04"));
	/* down through every field, then the buttons */
	for (int i = 1; i < TALL; i++) {
		press(form_widget(f), i % 2 ? KEY_DOWN : '\t', i % 2 != 0);
		assert_int_equal(form_focus(f), i);
		assert_focus_shown(f, win);
	}
	assert_int_equal(form_scroll(f), TALL - 4); /* the last field on the last row, no further */
	assert_false(window_has(win, "more below"));
	press(form_widget(f), '\t', false); /* Submit: the fields stay put */
	assert_int_equal(form_scroll(f), TALL - 4);
	assert_focus_shown(f, win);
	/* and back up, one field at a time */
	press(form_widget(f), KEY_BTAB, true);
	for (int i = TALL - 2; i >= 0; i--) {
		press(form_widget(f), KEY_UP, true);
		assert_int_equal(form_focus(f), i);
		assert_focus_shown(f, win);
	}
	assert_int_equal(form_scroll(f), 0);
	/* around the end: from the first field back to Cancel, Submit, the last field */
	press(form_widget(f), KEY_BTAB, true);
	press(form_widget(f), KEY_BTAB, true);
	press(form_widget(f), KEY_BTAB, true);
	assert_int_equal(form_focus(f), TALL - 1);
	assert_focus_shown(f, win);
	form_set_focus(f, 0);
	assert_int_equal(form_scroll(f), 0);

	/* ASCII terminals: the same words with ^ and v */
	theme_set_ascii(true);
	form_set_focus(f, 6);
	assert_focus_shown(f, win);
	assert_true(window_has(win, "v "));
	theme_set_ascii(false);
	form_free(&f);
	delwin(win);
}

static void test_form_error_scrolls_with_field(void **state)
{
	(void)state;
	WINDOW *win = newwin(10, 60, 2, 2);
	Form *f = tall_form(win);
	/* an error far down focuses its field and shows both lines */
	form_set_error(f, 8, "that network is full");
	assert_int_equal(form_focus(f), 8);
	assert_true(form_field_visible(f, 8));
	widget_draw(form_widget(f));
	int y = window_row(win, "Field 08");
	assert_true(y > 0);
	assert_int_equal(window_row(win, "error: that network is full"), y + 1);
	assert_true(y + 1 < getmaxy(win) - 3); /* above the "more" line and the buttons */
	/* moving on, the error goes up with its field, and off screen with it */
	for (int i = 9; i < TALL; i++) {
		press(form_widget(f), KEY_DOWN, true);
		widget_draw(form_widget(f));
		int fy = window_row(win, "Field 08"), ey = window_row(win, "error: that network");
		assert_true(ey < 0 || ey == fy + 1);
		/* the field on the last row of the room may have its error cut */
		assert_true(fy < 0 || ey == fy + 1 || fy == getmaxy(win) - 4);
		assert_focus_shown(f, win);
	}
	/* and up past it: the top row is a field's label, never an orphan error */
	for (int i = TALL - 2; i >= 0; i--) {
		press(form_widget(f), KEY_UP, true);
		widget_draw(form_widget(f));
		int fy = window_row(win, "Field 08"), ey = window_row(win, "error: that network");
		assert_true(ey < 0 || ey == fy + 1);
		/* the field on the last row of the room may have its error cut */
		assert_true(fy < 0 || ey == fy + 1 || fy == getmaxy(win) - 4);
		assert_focus_shown(f, win);
	}
	form_free(&f);
	delwin(win);
}

static void test_form_resize_keeps_focus(void **state)
{
	(void)state;
	WINDOW *win = newwin(20, 60, 0, 0);
	Form *f = tall_form(win);
	form_set_focus(f, 9);
	widget_draw(form_widget(f));
	assert_int_equal(form_scroll(f), 0); /* 14 rows of room: everything fits */
	assert_false(window_has(win, " more"));
	/* shorter: the focused field stays in view */
	wresize(win, 10, 60);
	form_widget(f)->klass->resize(form_widget(f));
	assert_true(form_field_visible(f, 9));
	assert_focus_shown(f, win);
	/* too short for spacers: the "more" lines go onto the frame's edges */
	wresize(win, 7, 60);
	form_widget(f)->klass->resize(form_widget(f));
	assert_true(form_field_visible(f, 9));
	assert_focus_shown(f, win);
	assert_true(window_has(win, "\xe2\x86\x93 2 more"));
	assert_int_equal(window_row(win, "\xe2\x86\x93 2 more"), 6);
	assert_true(window_has(win, "[ ]") || window_has(win, "\xe2\x97\x80"));
	/* taller again: back to showing everything from the first field */
	wresize(win, 22, 60);
	form_set_window(f, win);
	assert_int_equal(form_scroll(f), 0);
	assert_focus_shown(f, win);
	form_free(&f);
	delwin(win);
}

static void test_form_secret(void **state)
{
	(void)state;
	WINDOW *win = newwin(14, 60, 2, 2);
	Form *f = form_new(win, "Sign in");
	form_set_note(f, "line one of the note\nline two of the note");
	int tok = form_add_secret(f, "Token", 12, true);
	int save = form_add_checkbox(f, "Save", true);
	form_set_buttons(f, "Sign in", "Cancel");
	widget_draw(form_widget(f));
	assert_true(window_has(win, "line one of the note"));
	assert_true(window_has(win, "line two of the note"));
	/* required, like a text field */
	assert_false(press(form_widget(f), '\n', false) & W_CLOSE);
	widget_draw(form_widget(f));
	assert_true(window_has(win, "Token is required"));
	/* Typed characters reach the owner, never the window: none of Q, Z, 9
	 * appears anywhere else in this form. */
	for (const char *p = "QZ9QZ9q"; *p; p++)
		press(form_widget(f), (unsigned char)*p, false);
	assert_string_equal(form_text(f, tok), "QZ9QZ9q"); /* 'q' is text here, not quit */
	widget_draw(form_widget(f));
	assert_false(window_has(win, "Q"));
	assert_false(window_has(win, "Z"));
	assert_false(window_has(win, "9"));
	assert_false(window_has(win, "required")); /* an edit clears the error */
	assert_true(window_has(win, "\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2"));
	assert_false(window_has(win, "\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2"));
	/* Backspace takes a whole character, a non-ASCII one included */
	press(form_widget(f), KEY_BACKSPACE, true);
	press(form_widget(f), 0xe9, false); /* é: two bytes, one mark */
	assert_string_equal(form_text(f, tok), "QZ9QZ9\xc3\xa9");
	press(form_widget(f), 127, false);
	assert_string_equal(form_text(f, tok), "QZ9QZ9");
	/* the capacity (12 bytes) holds: more typing is dropped */
	for (int i = 0; i < 10; i++)
		press(form_widget(f), 'Q', false);
	assert_int_equal(strlen(form_text(f, tok)), 12);
	/* Ctrl-U clears it */
	press(form_widget(f), 21, false);
	assert_string_equal(form_text(f, tok), "");
	/* Replacing the text wipes what was there: the same buffer, zero past
	 * the new end. */
	form_set_text(f, tok, "QZ9QZ9QZ9QZ9");
	const char *buf = form_text(f, tok);
	form_set_text(f, tok, "QZ");
	assert_ptr_equal(form_text(f, tok), buf);
	for (int i = 2; i <= 12; i++)
		assert_int_equal(buf[i], 0);
	/* In ASCII mode the marks are '*' and still one per character. */
	theme_set_ascii(true);
	form_set_text(f, tok, "QZ9");
	widget_draw(form_widget(f));
	assert_true(window_has(win, "***"));
	assert_false(window_has(win, "Q"));
	theme_set_ascii(false);
	/* submit carries the secret to the owner */
	press(form_widget(f), '\t', false);
	assert_int_equal(form_focus(f), save);
	assert_true(press(form_widget(f), '\n', false) & W_CLOSE);
	assert_string_equal(form_text(f, tok), "QZ9");
	form_free(&f);
	delwin(win);
}

static void test_secret_mask(void **state)
{
	(void)state;
	char buf[128];
	form_secret_mask(0, 40, false, buf, sizeof buf);
	assert_string_equal(buf, "");
	form_secret_mask(3, 40, true, buf, sizeof buf);
	assert_string_equal(buf, "***");
	form_secret_mask(2, 40, false, buf, sizeof buf);
	assert_string_equal(buf, "\xe2\x80\xa2\xe2\x80\xa2");
	/* more than the columns: a count instead of marks */
	form_secret_mask(40, 40, false, buf, sizeof buf);
	assert_string_equal(buf, "(hidden, 40 chars)");
	form_secret_mask(4096, 50, true, buf, sizeof buf);
	assert_string_equal(buf, "(hidden, 4096 chars)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_destructive_confirm_defaults_to_cancel),
		cmocka_unit_test(test_required_reason),
		cmocka_unit_test(test_form_fields),
		cmocka_unit_test(test_form_scrolls_to_focus),
		cmocka_unit_test(test_form_error_scrolls_with_field),
		cmocka_unit_test(test_form_resize_keeps_focus),
		cmocka_unit_test(test_form_secret),
		cmocka_unit_test(test_secret_mask),
	};
	return cmocka_run_group_tests(tests, curses_fixture_up_keymap, curses_fixture_down);
}

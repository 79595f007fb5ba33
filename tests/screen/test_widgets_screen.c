/* Screen scenarios for two widgets at the smallest supported size, 80x24:
 * the help overlay (wrapped, scrolled to its last binding with the console's
 * own keys, clean across a resize) and a form taller than its window (the
 * launch wizard's Access step with many SSH keys: every field, reached with
 * Down, is on screen when it has the focus).
 *
 * With QD_SCREENSHOTS=dir the runs write help_80x24, help_80x24_end and
 * launch_access_80x24. */
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

#include "tests/screen/scenario.h"

#define T SC_WAIT_MS

#define ACTIVE SC_ACTIVE

static Hs *console(void **state, const char *user)
{
	HsOpts o = {.rows = 24, .cols = 80, .user = user};
	Hs *h = sc_console(state, &o);
	assert_true(hs_wait_idle(h, 300, T));
	return h;
}

/* ---- help ----------------------------------------------------------------------------- */

static void test_help_scrolls_to_the_end_at_80x24(void **state)
{
	Hs *h = console(state, "ops");
	assert_true(hs_wait_text(h, ACTIVE, T));
	assert_true(hs_send_keys(h, "?"));
	assert_true(hs_wait_text(h, "Keys: Workloads", T));
	/* more than fits: the frame says which lines are on screen */
	assert_true(hs_wait_text(h, " 1-18/", T));
	/* a description too long for its column wraps under itself */
	int r = hs_find_row(h, "Open a shell on the selected");
	assert_true(r > 0);
	assert_non_null(strstr(hs_row(h, r + 1), "                                      allocation"));
	assert_true(hs_wait_idle(h, 200, T));
	hs_screenshot(h, "help_80x24");

	/* the console's own keys scroll it: j, PageDown, then End */
	assert_true(hs_send_keys(h, "j"));
	assert_true(hs_wait_text(h, " 2-19/", T));
	assert_true(hs_send_key(h, "PageDown"));
	assert_true(hs_wait_text(h, " 20-37/", T));
	assert_true(hs_send_key(h, "End"));
	assert_true(hs_wait_text(h, "Go to the last row", T)); /* the last binding */
	assert_true(hs_wait_text(h, "release'.", T));          /* and the note after it */
	assert_true(hs_contains(h, "Keys: Workloads"));
	assert_true(hs_wait_idle(h, 200, T));
	hs_screenshot(h, "help_80x24_end");
	/* End at the end moves nothing: the last line stays the last row */
	int last = hs_find_row(h, "release'.");
	assert_true(hs_send_key(h, "Down"));
	assert_true(hs_wait_idle(h, 200, T));
	assert_int_equal(hs_find_row(h, "release'."), last);

	/* a resize and back: re-flowed, no stale frame left inside */
	assert_true(hs_resize(h, 20, 60));
	assert_true(hs_wait_text(h, "Keys: Workloads", T));
	assert_true(hs_wait_idle(h, 200, T));
	assert_true(hs_resize(h, 24, 80));
	assert_true(hs_wait_idle(h, 300, T));
	assert_true(hs_contains(h, "Keys: Workloads"));
	int top = hs_find_row(h, "Keys: Workloads");
	for (int y = top + 1; y < top + 19; y++) {
		const char *row = hs_row(h, y);
		/* inside the frame: the left edge, the text, the right edge, nothing stray */
		const char *edge = strstr(row, "\xe2\x94\x82"); /* │ */
		assert_non_null(edge);
		assert_non_null(strstr(edge + 3, "\xe2\x94\x82"));
		assert_null(strstr(edge + 3, "\xe2\x94\x80")); /* no ─ from the 60-column frame */
	}

	assert_true(hs_send_key(h, "Esc"));
	assert_true(hs_wait_gone(h, "Keys: Workloads", T));
	assert_true(hs_contains(h, ACTIVE));
}

/* ---- forms ---------------------------------------------------------------------------- */

/* A well-formed ssh-ed25519 public key line whose key bytes derive from n. */
static void ed25519_key(int n, char *out, size_t sz)
{
	unsigned char blob[4 + 11 + 4 + 32];
	size_t k = 0;
	blob[k++] = 0, blob[k++] = 0, blob[k++] = 0, blob[k++] = 11;
	memcpy(blob + k, "ssh-ed25519", 11);
	k += 11;
	blob[k++] = 0, blob[k++] = 0, blob[k++] = 0, blob[k++] = 32;
	for (int i = 0; i < 32; i++)
		blob[k++] = (unsigned char)(n * 37 + i * 11 + 5);
	unsigned char b64[96];
	EVP_EncodeBlock(b64, blob, (int)k);
	snprintf(out, sz, "ssh-ed25519 %s test-%d", (const char *)b64, n);
}

enum { EXTRA_KEYS = 14 };

/* The row where `label` starts a field line inside the form's frame ("│ label"),
 * or -1: the info lines above the form list key names too. */
static int field_row(Hs *h, const char *label)
{
	size_t n = strlen(label);
	for (int r = 0; r < hs_rows(h); r++) {
		const char *row = hs_row(h, r);
		if (strncmp(row, "\xe2\x94\x82 ", 4) == 0 && strncmp(row + 4, label, n) == 0 && row[4 + n] == ' ')
			return r;
	}
	return -1;
}

/* Pumps until field_row finds the label. */
static bool wait_field(Hs *h, const char *label)
{
	for (int tries = 0; tries < 100; tries++) {
		if (field_row(h, label) >= 0)
			return true;
		hs_pump(h, 100);
	}
	hs_dump(h, label);
	return false;
}

static void test_tall_form_keeps_focus_visible_at_80x24(void **state)
{
	Hs *h = console(state, "acme-dev");
	/* enough keys that the Access step is far taller than its window */
	for (int i = 0; i < EXTRA_KEYS; i++) {
		char key[200], body[400];
		ed25519_key(i + 1, key, sizeof key);
		snprintf(body, sizeof body, "{\"name\":\"scr-key-%02d\",\"public_key\":\"%s\"}", i + 1, key);
		long status = 0;
		char *resp = hs_api(h, "POST", "/api/v1/ssh-keys", body, &status);
		if (status != 201 && status != 200)
			fprintf(stderr, "POST /api/v1/ssh-keys: %ld %s\n", status, resp ? resp : "");
		assert_true(status == 201 || status == 200);
		free(resp);
	}
	/* the Access step's fields, in the order the wizard shows them */
	long status = 0;
	char *text = hs_api(h, "GET", "/api/v1/ssh-keys", NULL, &status);
	assert_int_equal(status, 200);
	json_t *j = json_loads(text, 0, NULL);
	free(text);
	assert_non_null(j);
	json_t *items = json_is_array(j) ? j : json_object_get(j, "items");
	assert_true(json_array_size(items) >= EXTRA_KEYS);
	size_t nlabels = json_array_size(items) + 2;
	char **labels = calloc(nlabels, sizeof *labels);
	assert_non_null(labels);
	for (size_t i = 0; i < json_array_size(items); i++)
		labels[i] = strdup(json_string_value(json_object_get(json_array_get(items, i), "name")));
	labels[nlabels - 2] = strdup("New key name");
	labels[nlabels - 1] = strdup("New public key");
	json_decref(j);

	assert_true(hs_send_keys(h, "n"));
	assert_true(hs_wait_text(h, "Step 1 of 7: Hardware", T));
	assert_true(hs_wait_text(h, "/GPU-h", T));
	assert_true(hs_wait_idle(h, 200, T));
	for (int step = 2; step <= 4; step++) {
		static const char *const names[] = {"", "", "Step 2 of 7: Image", "Step 3 of 7: Network",
		                                    "Step 4 of 7: Access"};
		assert_true(hs_send_key(h, "Enter"));
		assert_true(hs_wait_text(h, names[step], T));
		assert_true(hs_wait_idle(h, 150, T));
	}
	/* taller than the window: the fields below are announced */
	assert_true(hs_wait_text(h, " more", T));
	assert_true(wait_field(h, labels[0]));
	assert_int_equal(field_row(h, labels[nlabels - 1]), -1);
	hs_screenshot(h, "launch_access_80x24");
	for (size_t i = 1; i < nlabels; i++) {
		assert_true(hs_send_key(h, "Down"));
		assert_true(hs_wait_idle(h, 100, T));
		if (!wait_field(h, labels[i]))
			fail_msg("field %zu (%s) is not on screen when focused", i, labels[i]);
	}
	assert_true(hs_contains(h, "\xe2\x86\x91 ")); /* "↑ N more": the first keys are above now */
	/* and back up to the first */
	for (size_t i = nlabels - 1; i-- > 0;) {
		assert_true(hs_send_key(h, "Up"));
		assert_true(hs_wait_idle(h, 100, T));
		if (!wait_field(h, labels[i]))
			fail_msg("field %zu (%s) is not on screen when focused", i, labels[i]);
	}
	assert_true(hs_send_key(h, "Esc"));
	for (size_t i = 0; i < nlabels; i++)
		free(labels[i]);
	free(labels);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_help_scrolls_to_the_end_at_80x24, sc_teardown),
		cmocka_unit_test_teardown(test_tall_form_keeps_focus_visible_at_80x24, sc_teardown),
	};
	const char *only = getenv("QD_TEST_FILTER");
	if (only && *only)
		cmocka_set_test_filter(only);
	return cmocka_run_group_tests_name("widget screens", tests, NULL, NULL);
}

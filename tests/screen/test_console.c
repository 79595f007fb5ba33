/* Screen scenarios for qdeck against a real qdeckd (demo seed, --speed 20):
 * qdeck runs under a PTY, its output goes through libvterm, and the checks
 * read the screen the operator would see. Ground truth (which allocations
 * exist, in which state) comes from the API with the same token.
 *
 * With QD_SCREENSHOTS=dir the same runs write dir/NAME.txt and NAME.svg for
 * every main screen (`make screenshots`). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tests/screen/scenario.h"

#define T SC_WAIT_MS

#define LIVE SC_LIVE
#define CURSOR "\xe2\x96\xb6"            /* "▶" selection marker */
#define ACTIVE SC_ACTIVE
#define RELEASING "\xe2\x97\x90 releasing"
#define RELEASED "\xe2\x97\x8b released"

static Hs *console(void **state, int rows, int cols, const char *user, bool no_color)
{
	HsOpts o = {.rows = rows, .cols = cols, .user = user, .no_color = no_color};
	return sc_console(state, &o);
}

/* A 120x40 console with the workbench's first page drawn. */
static Hs *workbench(void **state, const char *user, bool no_color)
{
	Hs *h = console(state, 40, 120, user, no_color);
	sc_wait_loaded(h);
	return h;
}

/* The first word of a table row after the selection marker column. */
static void row_name(const char *row, char *out, size_t sz)
{
	if (strncmp(row, CURSOR, strlen(CURSOR)) == 0)
		row += strlen(CURSOR);
	while (*row == ' ')
		row++;
	size_t n = strcspn(row, " ");
	if (n >= sz)
		n = sz - 1;
	memcpy(out, row, n);
	out[n] = '\0';
}

static int selected_row(Hs *h)
{
	for (int r = 0; r < hs_rows(h); r++)
		if (strncmp(hs_row(h, r), CURSOR, strlen(CURSOR)) == 0)
			return r;
	return -1;
}

static void selected_name(Hs *h, char *out, size_t sz)
{
	int r = selected_row(h);
	if (r < 0) {
		hs_dump(h, "no selected row");
		fail_msg("no row carries the selection marker");
	}
	row_name(hs_row(h, r), out, sz);
}

static int first_state_row(Hs *h)
{
	for (int r = 0; r < hs_rows(h); r++)
		if (sc_is_state_row(hs_row(h, r)))
			return r;
	return -1;
}

/* Column (in cells) of `text` on row r; ASCII-only text, any prefix. */
static int text_col(Hs *h, int r, const char *text)
{
	const char *row = hs_row(h, r);
	const char *p = strstr(row, text);
	if (!p)
		return -1;
	int col = 0;
	for (const char *q = row; q < p; q++)
		if (((unsigned char)*q & 0xc0) != 0x80)
			col++;
	return col;
}

static bool attrs_equal(HsAttrs a, HsAttrs b)
{
	return a.bold == b.bold && a.reverse == b.reverse && a.underline == b.underline &&
	       a.fg == b.fg && a.bg == b.bg;
}

/* A create request for the cheapest available SKU (JSON text, caller frees). */
static char *create_body(Hs *h, const char *name_json)
{
	json_t *skus = sc_api(h, "GET", "/api/v1/skus", NULL, 200);
	json_t *imgs = sc_api(h, "GET", "/api/v1/images", NULL, 200);
	json_t *nets = sc_api(h, "GET", "/api/v1/networks", NULL, 200);
	json_t *best = NULL, *s;
	json_int_t best_cost = 0;
	size_t i;
	json_array_foreach(json_object_get(skus, "items"), i, s) {
		json_int_t n = json_integer_value(json_array_get(json_object_get(s, "gpu_counts"), 0));
		json_int_t cost = n * json_integer_value(json_object_get(s, "price_per_gpu_hour_cents"));
		if (json_is_true(json_object_get(s, "available")) && n > 0 && (!best || cost < best_cost)) {
			best = s;
			best_cost = cost;
		}
	}
	assert_non_null(best);
	char *body = NULL;
	json_int_t n = json_integer_value(json_array_get(json_object_get(best, "gpu_counts"), 0));
	if (asprintf(&body,
	             "{\"name\": %s, \"sku_id\": \"%s\", \"gpu_count\": %lld, \"image_id\": \"%s\", "
	             "\"network_id\": \"%s\", \"ssh_key_ids\": []}",
	             name_json, sc_jstr(best, "id"), (long long)n,
	             sc_jstr(json_array_get(json_object_get(imgs, "items"), 0), "id"),
	             sc_jstr(json_array_get(json_object_get(nets, "items"), 0), "id")) < 0)
		fail_msg("out of memory");
	json_decref(skus);
	json_decref(imgs);
	json_decref(nets);
	return body;
}

/* ---- the landing screen ---------------------------------------------------------- */

static void test_landing_is_runtime_first(void **state)
{
	Hs *h = workbench(state, "ops", false);
	hs_screenshot(h, "workbench");

	/* Hidden: released rows, and the names of allocations that are only
	 * released/failed and no longer actionable. */
	assert_false(hs_contains(h, RELEASED));
	json_t *gone = sc_api(h, "GET", "/api/v1/admin/allocations?state=released&limit=500", NULL, 200);
	json_t *live = sc_api(h, "GET", "/api/v1/admin/allocations?state=active,provisioning&limit=500", NULL, 200);
	json_t *all = sc_api(h, "GET", "/api/v1/admin/allocations?limit=500", NULL, 200);
	size_t i, k;
	json_t *a, *b;
	int checked = 0;
	json_array_foreach(json_object_get(gone, "items"), i, a) {
		const char *n = sc_jstr(a, "name");
		/* Names repeat across states: only judge names that no allocation in
		 * another state shares. */
		bool shared = false;
		json_array_foreach(json_object_get(all, "items"), k, b) {
			if (strcmp(sc_jstr(b, "state"), "released") != 0 &&
			    (strstr(sc_jstr(b, "name"), n) || strstr(n, sc_jstr(b, "name"))))
				shared = true;
		}
		if (shared || strlen(n) < 4)
			continue;
		if (hs_contains(h, n)) {
			hs_dump(h, n);
			fail_msg("released allocation %s is on the landing screen", n);
		}
		checked++;
	}
	json_decref(all);
	assert_true(checked > 0);

	/* Shown: runtime-first rows, and they come first. */
	int first = first_state_row(h);
	assert_true(first >= 0);
	const char *row = hs_row(h, first);
	assert_true(strstr(row, "active") || strstr(row, "provisioning") || strstr(row, "restarting") ||
	            strstr(row, "failed"));
	/* Every active allocation that fits the screen is there: at least as many
	 * rows as active ones up to the visible height. */
	size_t nactive = 0;
	json_array_foreach(json_object_get(live, "items"), i, a) {
		if (strcmp(sc_jstr(a, "state"), "active") == 0)
			nactive++;
	}
	int rows = sc_count_state_rows(h);
	assert_true(nactive > 0);
	assert_true((size_t)rows >= (nactive < 30 ? nactive : 30));
	json_decref(gone);
	json_decref(live);

	/* The selection starts on the first row; the status line says who. */
	assert_int_equal(selected_row(h), first);
	assert_true(hs_contains(h, "ops (admin)"));
}

static void test_filter_narrows_and_clears(void **state)
{
	Hs *h = workbench(state, "ops", false);
	int before = sc_count_state_rows(h);
	char name[128], id[64];
	sc_pick_active(h, true, NULL, name, sizeof name, id, sizeof id);
	assert_true(before > 1);

	/* Incremental: the rows narrow as the text is typed, before Enter. */
	assert_true(sc_type_filter(h, name));
	assert_int_equal(sc_count_state_rows(h), 1);
	assert_true(strstr(hs_row(h, first_state_row(h)), name) != NULL);
	assert_true(hs_send_key(h, "Enter"));
	assert_true(hs_wait_idle(h, 150, T));
	assert_int_equal(sc_count_state_rows(h), 1);

	/* A filter nothing matches empties the table, and C-u clears it. */
	assert_true(sc_type_filter(h, "zz-no-such-thing"));
	assert_int_equal(sc_count_state_rows(h), 0);
	assert_true(hs_send_key(h, "Esc"));
	assert_true(hs_wait_idle(h, 150, T));
	assert_true(hs_send_key(h, "C-u"));
	assert_true(hs_wait_idle(h, 200, T));
	assert_int_equal(sc_count_state_rows(h), before);
}

/* Names of the visible rows, top to bottom, with any cut-off ellipsis removed. */
static int visible_names(Hs *h, char names[][128], int max)
{
	int n = 0;
	for (int r = 0; r < hs_rows(h) && n < max; r++) {
		const char *row = hs_row(h, r);
		if (!sc_is_state_row(row))
			continue;
		row_name(row, names[n], sizeof names[n]);
		char *cut = strstr(names[n], "\xe2\x80\xa6");
		if (cut)
			*cut = '\0';
		n++;
	}
	return n;
}

/* Every adjacent pair in order (desc: reversed), comparing the common prefix
 * so a name cut by the column width still compares fairly. */
static bool names_sorted(char names[][128], int n, bool desc)
{
	for (int i = 0; i + 1 < n; i++) {
		size_t len = strlen(names[i]) < strlen(names[i + 1]) ? strlen(names[i]) : strlen(names[i + 1]);
		int c = strncasecmp(names[i], names[i + 1], len);
		if (desc ? c < 0 : c > 0) {
			fprintf(stderr, "out of order: \"%s\" then \"%s\"\n", names[i], names[i + 1]);
			return false;
		}
	}
	return true;
}

static long sort_arrow_col(Hs *h, int hdr)
{
	const char *row = hs_row(h, hdr);
	const char *up = strstr(row, "\xe2\x96\xb2"), *down = strstr(row, "\xe2\x96\xbc");
	return up ? up - row : down ? down - row : -1;
}

static void test_sort_changes_order(void **state)
{
	Hs *h = workbench(state, "ops", false);
	char names[64][128];

	/* s: sort by the first column (name), ascending, arrow in the header. */
	assert_true(hs_send_keys(h, "s"));
	assert_true(hs_wait_text(h, "sort: ", T));
	assert_true(hs_wait_idle(h, 200, T));
	int n = visible_names(h, names, 64);
	assert_true(n > 3);
	assert_true(names_sorted(names, n, false));
	char first[128];
	snprintf(first, sizeof first, "%s", names[0]);
	int hdr = first_state_row(h) - 1;
	long arrow = sort_arrow_col(h, hdr);
	assert_true(arrow >= 0);

	/* S: the same column reversed; another row comes first. */
	assert_true(hs_send_keys(h, "S"));
	assert_true(hs_wait_text(h, "desc", T));
	assert_true(hs_wait_idle(h, 200, T));
	n = visible_names(h, names, 64);
	assert_true(names_sorted(names, n, true));
	assert_string_not_equal(first, names[0]);
	assert_true(strstr(hs_row(h, hdr), "\xe2\x96\xbc") != NULL);

	/* s again: the next column; the arrow moves right. */
	assert_true(hs_send_keys(h, "s"));
	assert_true(hs_wait_idle(h, 200, T));
	long arrow2 = sort_arrow_col(h, hdr);
	assert_true(arrow2 > arrow);
}

/* ---- detail and back ---------------------------------------------------------------- */

static void test_detail_tabs_and_return(void **state)
{
	Hs *h = workbench(state, "ops", false);
	for (int i = 0; i < 3; i++)
		assert_true(hs_send_key(h, "Down"));
	assert_true(hs_wait_idle(h, 150, T));
	char sel[128];
	selected_name(h, sel, sizeof sel);
	int sel_row = selected_row(h);
	assert_true(sel_row > first_state_row(h));

	assert_true(hs_send_key(h, "Enter"));
	assert_true(hs_wait_text(h, "Overview", T));
	assert_true(hs_wait_text(h, "Activity", T));
	assert_true(hs_wait_idle(h, 200, T));
	assert_true(hs_contains(h, sel));
	hs_screenshot(h, "detail_overview");

	/* The active tab is drawn differently from the others, and Tab moves it. */
	int tr = hs_find_row(h, "SSH Access");
	assert_true(tr >= 0);
	int c_over = text_col(h, tr, "Overview"), c_ssh = text_col(h, tr, "SSH Access");
	assert_true(c_over >= 0 && c_ssh >= 0);
	HsAttrs on = hs_cell_attrs(h, tr, c_over + 1), off = hs_cell_attrs(h, tr, c_ssh + 1);
	assert_false(attrs_equal(on, off));
	assert_true(hs_send_key(h, "Tab"));
	assert_true(hs_wait_idle(h, 150, T));
	assert_true(attrs_equal(hs_cell_attrs(h, tr, c_ssh + 1), on));
	assert_true(attrs_equal(hs_cell_attrs(h, tr, c_over + 1), off));

	/* Five more: Activity (the seventh tab); one more wraps to Overview. */
	for (int i = 0; i < 5; i++)
		assert_true(hs_send_key(h, "Tab"));
	assert_true(hs_wait_idle(h, 200, T));
	int c_act = text_col(h, tr, "Activity");
	assert_true(c_act >= 0);
	assert_true(attrs_equal(hs_cell_attrs(h, tr, c_act + 1), on));
	hs_screenshot(h, "detail_activity");
	assert_true(hs_send_key(h, "Tab"));
	assert_true(hs_wait_idle(h, 150, T));
	assert_true(attrs_equal(hs_cell_attrs(h, tr, c_over + 1), on));

	/* Esc: the workbench exactly as it was. */
	assert_true(hs_send_key(h, "Esc"));
	assert_true(hs_wait_gone(h, "SSH Access", T));
	assert_true(hs_wait_idle(h, 150, T));
	char back[128];
	selected_name(h, back, sizeof back);
	assert_string_equal(sel, back);
	assert_int_equal(selected_row(h), sel_row);

	/* With a filter: it survives the trip too. */
	char name[128], id[64];
	sc_filter_to_active(h, name, sizeof name, id, sizeof id);
	assert_true(hs_send_key(h, "Enter"));
	assert_true(hs_wait_text(h, "SSH Access", T));
	assert_true(hs_send_key(h, "Esc"));
	assert_true(hs_wait_gone(h, "SSH Access", T));
	assert_true(hs_wait_idle(h, 150, T));
	assert_int_equal(sc_count_state_rows(h), 1);
	selected_name(h, back, sizeof back);
	assert_string_equal(name, back);
}

/* ---- release -------------------------------------------------------------------------- */

static void test_release_confirm_and_live_states(void **state)
{
	Hs *h = workbench(state, "ops", false);
	char name[128], id[64];
	sc_filter_to_active(h, name, sizeof name, id, sizeof id);

	/* The dialog names the allocation; Enter first presses Cancel. */
	assert_true(hs_send_keys(h, "r"));
	assert_true(hs_wait_text(h, "Release allocation", T));
	assert_true(hs_wait_idle(h, 150, T));
	assert_true(hs_contains(h, id) || hs_contains(h, name));
	hs_screenshot(h, "release_confirm");
	assert_true(hs_send_key(h, "Enter"));
	assert_true(hs_wait_gone(h, "Release allocation", T));
	assert_true(hs_wait_text(h, "cancelled", T));
	char path[128];
	snprintf(path, sizeof path, "/api/v1/allocations/%s", id);
	json_t *a = sc_api(h, "GET", path, NULL, 200);
	assert_string_equal(sc_jstr(a, "state"), "active");
	json_decref(a);
	assert_true(strstr(hs_row(h, first_state_row(h)), ACTIVE) != NULL);

	/* Again, move to Release, press it: releasing, then released, live. */
	assert_true(hs_send_keys(h, "r"));
	assert_true(hs_wait_text(h, "Release allocation", T));
	assert_true(hs_send_key(h, "Tab"));
	assert_true(hs_wait_idle(h, 100, T));
	assert_true(hs_send_key(h, "Enter"));
	assert_true(hs_wait_gone(h, "Release allocation", T));
	assert_true(hs_wait_text(h, "accepted", T));
	/* The row shows releasing (unless the reconciler was already quicker),
	 * then leaves the runtime-first view once released. */
	assert_true(hs_wait_text(h, RELEASING, T) || hs_contains(h, RELEASED) || sc_count_state_rows(h) == 0);
	assert_true(hs_wait_gone(h, RELEASING, T));
	a = sc_api(h, "GET", path, NULL, 200);
	assert_true(strcmp(sc_jstr(a, "state"), "released") == 0 || strcmp(sc_jstr(a, "state"), "release_failed") == 0);
	json_decref(a);

	/* History shows it released. */
	assert_true(hs_send_keys(h, "H"));
	assert_true(hs_wait_text(h, RELEASED, T));
}

static void test_release_from_detail(void **state)
{
	Hs *h = workbench(state, "ops", false);
	char name[128], id[64];
	sc_pick_active(h, true, NULL, name, sizeof name, id, sizeof id);
	assert_true(sc_type_filter(h, name));
	assert_true(hs_send_key(h, "Enter"));
	assert_true(hs_send_key(h, "Enter"));
	assert_true(hs_wait_text(h, "SSH Access", T));
	assert_true(hs_wait_text(h, "active", T));
	assert_true(hs_send_keys(h, "r"));
	assert_true(hs_wait_text(h, "Release allocation", T));
	assert_true(hs_send_key(h, "Tab"));
	assert_true(hs_send_key(h, "Enter"));
	assert_true(hs_wait_gone(h, "Release allocation", T));
	/* The detail stays open and follows the state to the end. */
	assert_true(hs_wait_text(h, "released", T));
	assert_true(hs_contains(h, "SSH Access"));
}

/* ---- views -------------------------------------------------------------------------------- */

static void test_views_history_triage_help(void **state)
{
	Hs *h = workbench(state, "ops", false);

	assert_true(hs_send_keys(h, "H"));
	assert_true(hs_wait_text(h, RELEASED, T));
	assert_true(hs_wait_idle(h, 200, T));
	hs_screenshot(h, "history");
	assert_true(hs_send_keys(h, "H")); /* H toggles back */
	assert_true(hs_wait_gone(h, RELEASED, T));

	/* Needs action: release_failed rows fleet-wide, each with its reason. */
	json_t *rf = sc_api(h, "GET", "/api/v1/admin/allocations?state=release_failed&limit=500", NULL, 200);
	json_t *first = json_array_get(json_object_get(rf, "items"), 0);
	assert_non_null(first);
	const char *code = sc_jstr(json_object_get(first, "release_failed_reason"), "code");
	assert_true(hs_send_keys(h, "A"));
	assert_true(hs_wait_text(h, "release_failed", T));
	if (code[0])
		assert_true(hs_wait_text(h, code, T));
	assert_true(hs_wait_idle(h, 200, T));
	hs_screenshot(h, "needs_action");
	json_decref(rf);
	assert_true(hs_send_key(h, "Esc"));
	assert_true(hs_wait_idle(h, 200, T));

	/* Help is generated from the keymap: the bindings it lists are real. */
	assert_true(hs_send_keys(h, "?"));
	assert_true(hs_wait_text(h, "release", T));
	assert_true(hs_wait_text(h, "filter", T));
	assert_true(hs_wait_idle(h, 200, T));
	hs_screenshot(h, "help");
	assert_true(hs_send_key(h, "Esc"));
	assert_true(hs_wait_idle(h, 200, T));
	assert_true(hs_contains(h, ACTIVE));
}

static void test_user_cannot_open_needs_action(void **state)
{
	Hs *h = console(state, 40, 120, "acme-dev", false);
	assert_true(hs_wait_text(h, "acme-dev", T));
	assert_false(hs_contains(h, "(admin)"));
	assert_true(hs_send_keys(h, "A"));
	assert_true(hs_wait_text(h, "Needs action is for admins", T));
	/* Org isolation on screen: no globex allocation shows for acme. */
	json_t *mine = sc_api(h, "GET", "/api/v1/allocations?limit=500", NULL, 200);
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(mine, "items"), i, a) {
		assert_string_equal(sc_jstr(a, "org_id"), "org_acme");
	}
	json_decref(mine);
	assert_false(hs_contains(h, "globex"));
}

/* ---- terminal conditions ---------------------------------------------------------------------- */

static void test_resize_to_80x24(void **state)
{
	Hs *h = workbench(state, "ops", false);
	assert_true(hs_resize(h, 24, 80));
	assert_true(hs_wait_idle(h, 300, T));
	/* Still readable: the status line at the bottom, states as glyph + word, a
	 * selected row, and nothing left over from the wider layout. */
	assert_true(strstr(hs_row(h, 23), "live") != NULL);
	assert_true(hs_contains(h, ACTIVE));
	assert_true(selected_row(h) >= 0);
	assert_true(sc_count_state_rows(h) >= 5);
	hs_screenshot(h, "workbench_80x24");
	/* Movement still works at the small size. */
	int sel = selected_row(h);
	assert_true(hs_send_key(h, "Down"));
	assert_true(hs_wait_idle(h, 150, T));
	assert_int_equal(selected_row(h), sel + 1);
	/* And back to large. */
	assert_true(hs_resize(h, 40, 120));
	assert_true(hs_wait_idle(h, 300, T));
	assert_true(strstr(hs_row(h, 39), "live") != NULL);
}

static void test_no_color(void **state)
{
	Hs *h = workbench(state, "ops", true);
	assert_false(hs_any_color(h));
	/* Selection still visible without colour: marker and an attribute. */
	int sel = selected_row(h);
	assert_true(sel >= 0);
	HsAttrs a = hs_cell_attrs(h, sel, 3);
	assert_true(a.reverse || a.bold || a.underline);
	hs_screenshot(h, "workbench_no_color");
	/* Detail's active tab too. */
	assert_true(hs_send_key(h, "Enter"));
	assert_true(hs_wait_text(h, "SSH Access", T));
	assert_true(hs_wait_idle(h, 200, T));
	assert_false(hs_any_color(h));
}

static void test_server_killed_and_restarted(void **state)
{
	/* acme-dev: an ordinary user with a balance, who can create. */
	Hs *h = workbench(state, "acme-dev", false);

	assert_true(hs_server_kill(h));
	assert_true(hs_wait_gone(h, LIVE, T));
	hs_screenshot(h, "workbench_reconnecting");
	/* Keys still work while the server is gone. */
	int sel = selected_row(h);
	assert_true(hs_send_key(h, "Down"));
	assert_true(hs_wait_idle(h, 150, T));
	assert_int_equal(selected_row(h), sel + 1);

	/* Restart, and change something at once, before the console is back. */
	assert_true(hs_server_restart(h));
	char *body = create_body(h, "\"outage-probe\"");
	json_t *receipt = sc_api(h, "POST", "/api/v1/allocations", body, 202);
	free(body);
	json_decref(receipt);

	/* Back live, and the change made during the gap is on screen. */
	assert_true(hs_wait_text(h, LIVE, T));
	assert_true(hs_wait_text(h, "outage-probe", T));
	/* The row may still be mid-draw when its name first shows: let the frame settle. */
	assert_true(hs_wait_idle(h, 150, T));
	int r = hs_find_row(h, "outage-probe");
	assert_true(r >= 0);
	assert_true(sc_is_state_row(hs_row(h, r)));
}

#define EVIL_JSON "\"evil\\u001b]0;pwned\\u0007\\u001b[31mred\\u009b2J\""
#define EVIL_RAW "evil\x1b]0;pwned\x07\x1b[31mred\xc2\x9b" "2J"
#define EVIL_SHOWN "evil^[]0;pwned^G^[[31mred"

/* After a screen showed the hostile text: nothing reached the terminal. */
static void assert_harmless(Hs *h)
{
	assert_string_equal(hs_title(h), "");
	assert_int_equal(hs_bells(h), 0);
	int r = hs_find_row(h, "evil^[");
	assert_true(r >= 0);
	/* "red" is drawn like "evil" before it: SGR 31 did nothing (the row
	 * itself may well be red: it is a failed row). */
	int c = text_col(h, r, "red"), e = text_col(h, r, "evil^[");
	assert_true(c >= 0 && e >= 0);
	assert_true(attrs_equal(hs_cell_attrs(h, r, c), hs_cell_attrs(h, r, e)));
	/* CSI 2J (as C1 CSI) did not clear the screen: the status line is there. */
	assert_true(strstr(hs_row(h, hs_rows(h) - 1), "live") != NULL);
}

/* Server strings full of escape sequences: stored as-is by the server, shown
 * in caret notation by the console, never acted on by the terminal. The
 * server refuses control characters in names (400), so the hostile string
 * travels in a failure message, which is free text: an injected release
 * fault carries it into release_failed_reason.message. */
static void test_hostile_server_string(void **state)
{
	Hs *h = workbench(state, "ops", false);

	/* A hostile name is either refused or stored verbatim; never mangled. */
	char *body = create_body(h, EVIL_JSON);
	long status = 0;
	char *res = hs_api(h, "POST", "/api/v1/allocations", body, &status);
	free(body);
	assert_true(status == 400 || status == 422 || status == 202);
	free(res);

	char name[128], id[64];
	sc_pick_active(h, true, NULL, name, sizeof name, id, sizeof id);
	res = hs_api(h, "POST", "/api/v1/admin/faults",
	             "{\"kind\": \"release_fail\", \"reason_code\": \"evil_probe\", \"message\": " EVIL_JSON
	             ", \"count\": 1}",
	             &status);
	if (status < 200 || status > 299)
		fprintf(stderr, "fault injection: %ld %s\n", status, res ? res : "");
	assert_true(status >= 200 && status <= 299);
	free(res);
	char path[160];
	snprintf(path, sizeof path, "/api/v1/allocations/%s/release", id);
	json_t *r = sc_api(h, "POST", path, NULL, 202);
	json_decref(r);
	snprintf(path, sizeof path, "/api/v1/allocations/%s", id);
	json_t *a = NULL;
	for (int i = 0; i < 150; i++) {
		json_decref(a);
		a = sc_api(h, "GET", path, NULL, 200);
		if (strcmp(sc_jstr(a, "state"), "release_failed") == 0)
			break;
		hs_pump(h, 100);
	}
	assert_string_equal(sc_jstr(a, "state"), "release_failed");
	assert_string_equal(sc_jstr(json_object_get(a, "release_failed_reason"), "message"), EVIL_RAW);
	json_decref(a);

	/* Needs action shows the reason; then the detail shows all of it. */
	assert_true(hs_send_keys(h, "A"));
	assert_true(hs_wait_text(h, "evil_probe", T));
	assert_true(hs_wait_text(h, "evil^[", T));
	assert_true(hs_wait_idle(h, 200, T));
	assert_harmless(h);
	assert_true(hs_send_key(h, "Esc"));
	assert_true(sc_type_filter(h, name));
	assert_true(hs_send_key(h, "Enter"));
	assert_true(hs_send_key(h, "Enter"));
	assert_true(hs_wait_text(h, "SSH Access", T));
	assert_true(hs_wait_text(h, EVIL_SHOWN, T));
	assert_true(hs_wait_idle(h, 200, T));
	assert_harmless(h);
	hs_screenshot(h, "detail_hostile_string");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_landing_is_runtime_first, sc_teardown),
		cmocka_unit_test_teardown(test_filter_narrows_and_clears, sc_teardown),
		cmocka_unit_test_teardown(test_sort_changes_order, sc_teardown),
		cmocka_unit_test_teardown(test_detail_tabs_and_return, sc_teardown),
		cmocka_unit_test_teardown(test_release_confirm_and_live_states, sc_teardown),
		cmocka_unit_test_teardown(test_release_from_detail, sc_teardown),
		cmocka_unit_test_teardown(test_views_history_triage_help, sc_teardown),
		cmocka_unit_test_teardown(test_user_cannot_open_needs_action, sc_teardown),
		cmocka_unit_test_teardown(test_resize_to_80x24, sc_teardown),
		cmocka_unit_test_teardown(test_no_color, sc_teardown),
		cmocka_unit_test_teardown(test_server_killed_and_restarted, sc_teardown),
		cmocka_unit_test_teardown(test_hostile_server_string, sc_teardown),
	};
	/* QD_TEST_FILTER=test_no_color runs one scenario (a glob). */
	const char *only = getenv("QD_TEST_FILTER");
	if (only && *only)
		cmocka_set_test_filter(only);
	return cmocka_run_group_tests_name("console screens", tests, NULL, NULL);
}

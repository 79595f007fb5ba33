/* Screen scenarios for the Nodes screen (N) and node detail through the real
 * console: qdeck under a PTY read back through libvterm, qdeckd on loopback
 * with the demo seed.
 *
 * The node worked on is picked from the API (online, scheduling on, holding
 * allocations, a name no other node contains) so the seed can change without
 * breaking the scenario. With QD_SCREENSHOTS=dir the runs write nodes and
 * node_detail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/screen/scenario.h"

#define T SC_WAIT_MS

#define ONLINE "\xe2\x97\x8f online"
#define DRAINING "\xe2\x97\x90 draining"
#define CURSOR "\xe2\x96\xb6"
#define DOT "\xc2\xb7"

typedef struct {
	Hs *h; /* first: sc_ctx_start stores it here */
	char name[128];
	char id[64];
} Ctx;

/* ---- helpers -------------------------------------------------------------------- */

static json_t *nodes_json(Hs *h)
{
	json_t *j = sc_api(h, "GET", "/api/v1/nodes?limit=500", NULL, 200);
	assert_true(json_is_array(json_object_get(j, "items")));
	return j;
}

/* An online node with scheduling on and allocations, whose name no other node contains. */
static void pick_node(Hs *h, char *name, size_t nsz, char *id, size_t isz)
{
	json_t *all = nodes_json(h);
	json_t *items = json_object_get(all, "items");
	size_t i;
	json_t *n;
	name[0] = '\0';
	json_array_foreach(items, i, n) {
		const char *nm = sc_jstr(n, "name");
		if (strcmp(sc_jstr(n, "state"), "online") != 0 || !json_is_true(json_object_get(n, "scheduling")) ||
		    json_integer_value(json_object_get(n, "allocation_count")) < 1 || strlen(nm) < 4)
			continue;
		bool unique = true;
		size_t k;
		json_t *o;
		json_array_foreach(items, k, o) {
			if (k != i && strstr(sc_jstr(o, "name"), nm))
				unique = false;
		}
		if (unique) {
			snprintf(name, nsz, "%s", nm);
			snprintf(id, isz, "%s", sc_jstr(n, "id"));
			break;
		}
	}
	json_decref(all);
	if (!name[0])
		fail_msg("the seed has no online, scheduling node with allocations and a unique name");
}

/* The node's state, scheduling flag and allocation count as the API says now. */
static void node_now(Hs *h, const char *id, char *state, size_t ssz, bool *scheduling)
{
	char path[160];
	snprintf(path, sizeof path, "/api/v1/nodes/%s", id);
	json_t *j = sc_api(h, "GET", path, NULL, 200);
	json_t *n = json_object_get(j, "node") ? json_object_get(j, "node") : j;
	snprintf(state, ssz, "%s", sc_jstr(n, "state"));
	*scheduling = json_is_true(json_object_get(n, "scheduling"));
	json_decref(j);
}

/* First row holding text that is not the title's "filter: text", or -1. */
static int find_row(Hs *h, const char *text)
{
	for (int r = 0; r < hs_rows(h); r++) {
		const char *row = hs_row(h, r);
		const char *p = strstr(row, text);
		if (p && !(p - row >= 8 && strncmp(p - 8, "filter: ", 8) == 0))
			return r;
	}
	return -1;
}

/* The row holding text, or "" with a dump. */
static const char *row_with(Hs *h, const char *text)
{
	int r = find_row(h, text);
	if (r < 0) {
		hs_dump(h, text);
		return "";
	}
	return hs_row(h, r);
}

/* Waits until the row holding `key` also holds `want`. */
static bool wait_row_has(Hs *h, const char *key, const char *want, int timeout_ms)
{
	for (int waited = 0; waited < timeout_ms; waited += 50) {
		int r = find_row(h, key);
		if (r >= 0 && strstr(hs_row(h, r), want))
			return true;
		if (hs_pump(h, 50) < 0)
			break;
	}
	char why[256];
	snprintf(why, sizeof why, "waited %d ms for the row with \"%s\" to show \"%s\"", timeout_ms, key, want);
	hs_dump(h, why);
	return false;
}

/* hs_contains that shows the screen when the text is not there. */
static bool has(Hs *h, const char *text)
{
	if (hs_contains(h, text))
		return true;
	char why[256];
	snprintf(why, sizeof why, "no \"%s\" on screen", text);
	hs_dump(h, why);
	return false;
}

/* Down until the selected line (the cursor glyph) names op; false after 40 steps. */
static bool select_op(Hs *h, const char *op)
{
	for (int i = 0; i < 40; i++) {
		int r = hs_find_row(h, CURSOR);
		if (r >= 0 && strstr(hs_row(h, r), op))
			return true;
		if (!hs_send_key(h, "Down") || !hs_wait_idle(h, 100, T))
			return false;
	}
	hs_dump(h, op);
	return false;
}

static Ctx *start(void **state, const char *user)
{
	HsOpts o = {.rows = 40, .cols = 120, .user = user};
	Ctx *c = sc_ctx_start(state, sizeof *c, &o);
	assert_true(hs_wait_idle(c->h, 300, T));
	pick_node(c->h, c->name, sizeof c->name, c->id, sizeof c->id);
	return c;
}

static void open_nodes(Hs *h)
{
	assert_true(hs_send_keys(h, "N"));
	assert_true(hs_wait_text(h, " Nodes " DOT " ", T));
	assert_true(hs_wait_text(h, "heartbeats read", T));
	assert_true(hs_wait_idle(h, 200, T));
}

static void filter_nodes(Hs *h, const char *name)
{
	assert_true(hs_send_keys(h, "/"));
	for (const char *p = name; *p; p++) {
		char ch[2] = {*p, 0};
		assert_true(hs_send_keys(h, ch));
	}
	assert_true(hs_wait_idle(h, 150, T));
	assert_true(hs_send_key(h, "Enter"));
	assert_true(hs_wait_idle(h, 150, T));
	char want[200];
	snprintf(want, sizeof want, "filter: %s", name);
	assert_true(hs_wait_text(h, want, T));
	assert_true(hs_wait_text(h, " 1 of ", T));
}

/* ---- scenarios ---------------------------------------------------------------------- */

/* Every node the API lists is in the table with its state as glyph + word. */
static void test_table_lists_nodes(void **state)
{
	Ctx *c = start(state, "ops");
	Hs *h = c->h;
	open_nodes(h);
	json_t *all = nodes_json(h);
	json_t *items = json_object_get(all, "items");
	assert_true(json_array_size(items) > 0);
	static const struct { const char *word, *glyph; } glyphs[] = {
		{"online", "\xe2\x97\x8f"}, {"draining", "\xe2\x97\x90"}, {"enrolling", "\xe2\x97\x8c"},
		{"offline", "\xe2\x97\x8b"}, {"maintenance", "\xe2\x96\xb2"}, {"retired", "\xe2\x9c\x97"},
	};
	size_t i, seen = 0;
	json_t *n;
	json_array_foreach(items, i, n) {
		const char *nm = sc_jstr(n, "name"), *st = sc_jstr(n, "state");
		int r = hs_find_row(h, nm);
		if (r < 0)
			continue; /* below the fold at 40 rows */
		seen++;
		char want[64] = "";
		for (size_t g = 0; g < sizeof glyphs / sizeof glyphs[0]; g++)
			if (strcmp(glyphs[g].word, st) == 0)
				snprintf(want, sizeof want, "%s %s", glyphs[g].glyph, st);
		if (!want[0])
			fail_msg("node %s has a state the test does not know: %s", nm, st);
		if (!strstr(hs_row(h, r), want)) {
			hs_dump(h, nm);
			fail_msg("the row of %s does not show \"%s\"", nm, want);
		}
	}
	/* All of them fit unless the fleet is bigger than the screen. */
	size_t count = json_array_size(items);
	assert_true(seen == count || seen >= (size_t)hs_rows(h) - 6);
	json_decref(all);
	/* The summary line counts them in words. */
	char total[64];
	snprintf(total, sizeof total, " %zu nodes", count);
	assert_true(has(h, total));
	hs_screenshot(h, "nodes");

	/* "/" filters to one node; Esc clears the filter, then leaves. */
	filter_nodes(h, c->name);
	assert_true(strstr(row_with(h, c->name), ONLINE) != NULL);
	assert_true(hs_send_key(h, "Esc"));
	assert_true(hs_wait_gone(h, "filter:", T));
	assert_true(hs_send_key(h, "Esc"));
	assert_true(hs_wait_gone(h, " Nodes " DOT " ", T));
}

/* Enter opens the detail with the operation groups; disabling scheduling
 * needs a reason and shows draining live; enabling returns the node online. */
static void test_detail_and_scheduling(void **state)
{
	Ctx *c = start(state, "ops");
	Hs *h = c->h;
	open_nodes(h);
	filter_nodes(h, c->name);
	assert_true(hs_send_key(h, "Enter"));
	char title[256];
	snprintf(title, sizeof title, " Node %s " DOT " %s " DOT " " ONLINE " " DOT " scheduling on", c->name, c->id);
	assert_true(hs_wait_text(h, title, T));
	assert_true(hs_wait_text(h, "Operations by intent", T));
	assert_true(hs_wait_idle(h, 200, T));
	static const char *const groups[] = {"  Inspect", "  Repair", "  Scheduling"};
	for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
		assert_true(hs_find_row(h, groups[i]) > 0);
	/* What can run now is selected first, its description unfolded. */
	int sel = hs_find_row(h, CURSOR);
	assert_true(sel > 0);
	assert_true(strstr(hs_row(h, sel), "Disable scheduling (drain)") != NULL);
	assert_true(strstr(hs_row(h, sel), "runnable now: Enter") != NULL);
	assert_true(has(h, "Preconditions"));
	hs_screenshot(h, "node_detail");
	/* The rest of the groups and the node's allocations further down. */
	assert_true(hs_send_key(h, "End"));
	assert_true(hs_wait_text(h, "  Destructive", T));
	assert_true(hs_wait_text(h, "Allocations on this node", T));
	assert_true(has(h, "  Retirement"));
	assert_true(hs_send_key(h, "Home"));
	assert_true(hs_wait_text(h, "  Inspect", T));
	assert_true(select_op(h, "Disable scheduling (drain)"));

	/* Enter: the dialog asks for a reason; Enter on an empty one is refused. */
	assert_true(hs_send_key(h, "Enter"));
	assert_true(hs_wait_text(h, "Reason (required)", T));
	assert_true(has(h, "It holds allocations"));
	assert_true(hs_send_key(h, "Enter"));
	assert_true(hs_wait_text(h, "A reason is required.", T));
	char st[32];
	bool sched;
	node_now(h, c->id, st, sizeof st, &sched);
	assert_string_equal(st, "online");
	assert_true(sched);
	assert_true(hs_send_keys(h, "ECC errors on GPU 3"));
	assert_true(hs_send_key(h, "Enter"));

	/* The node goes draining, on screen (title, State) and in the API. */
	snprintf(title, sizeof title, " Node %s " DOT " %s " DOT " " DRAINING " " DOT " scheduling off", c->name, c->id);
	assert_true(hs_wait_text(h, title, T));
	assert_true(hs_wait_text(h, "audit row written", T));
	node_now(h, c->id, st, sizeof st, &sched);
	assert_string_equal(st, "draining");
	assert_false(sched);
	/* The table behind shows it too. */
	assert_true(hs_send_key(h, "Esc"));
	assert_true(hs_wait_text(h, " Nodes " DOT " ", T));
	assert_true(wait_row_has(h, c->name, DRAINING, T));
	assert_true(wait_row_has(h, c->name, " off ", T));

	/* Enable: back online, scheduling on. */
	assert_true(hs_send_key(h, "Enter"));
	assert_true(hs_wait_text(h, "Operations by intent", T));
	assert_true(hs_wait_idle(h, 150, T));
	assert_true(select_op(h, "Enable scheduling (resume)"));
	assert_true(strstr(row_with(h, CURSOR), "runnable now: Enter") != NULL);
	assert_true(hs_send_key(h, "Enter"));
	assert_true(hs_wait_text(h, "Reason (optional)", T));
	assert_true(has(h, "it becomes online"));
	assert_true(hs_send_key(h, "Enter"));
	snprintf(title, sizeof title, " Node %s " DOT " %s " DOT " " ONLINE " " DOT " scheduling on", c->name, c->id);
	assert_true(hs_wait_text(h, title, T));
	node_now(h, c->id, st, sizeof st, &sched);
	assert_string_equal(st, "online");
	assert_true(sched);
	assert_true(hs_send_key(h, "Esc"));
	assert_true(wait_row_has(h, c->name, ONLINE, T));
}

/* acme-dev (no admin role) reads the fleet but the scheduling operation is
 * refused, with the reason on the line and in the status line. */
static void test_non_admin_refused(void **state)
{
	Ctx *c = start(state, "acme-dev");
	Hs *h = c->h;
	open_nodes(h);
	filter_nodes(h, c->name);
	assert_true(hs_send_key(h, "Enter"));
	assert_true(hs_wait_text(h, "Operations by intent", T));
	assert_true(hs_wait_idle(h, 200, T));
	assert_true(select_op(h, "Disable scheduling (drain)"));
	assert_true(strstr(row_with(h, CURSOR), "runnable, not now: needs the admin role") != NULL);
	assert_true(hs_send_key(h, "Enter"));
	assert_true(hs_wait_text(h, "cannot Disable scheduling (drain): needs the admin role", T));
	assert_false(hs_contains(h, "Reason (required)"));
	char st[32];
	bool sched;
	node_now(h, c->id, st, sizeof st, &sched);
	assert_string_equal(st, "online");
	assert_true(sched);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_table_lists_nodes, sc_teardown_ctx),
		cmocka_unit_test_teardown(test_detail_and_scheduling, sc_teardown_ctx),
		cmocka_unit_test_teardown(test_non_admin_refused, sc_teardown_ctx),
	};
	/* QD_TEST_FILTER=test_non_admin_refused runs one scenario (a glob). */
	const char *only = getenv("QD_TEST_FILTER");
	if (only && *only)
		cmocka_set_test_filter(only);
	return cmocka_run_group_tests_name("nodes screens", tests, NULL, NULL);
}

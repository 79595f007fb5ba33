/* Unit tests for allocation lists: keyset pagination (stable, no duplicates,
 * no gaps), cursor validation, and filters that agree with the serialised
 * actionability fields, including across the clock edge. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "server/db_internal.h"
#include "tests/unit/db_fixture.h"

typedef struct {
	DbFx fix; /* first: dbfx_new and dbfx_teardown rely on it */
	Principal dev, ops;
} Fx;

/* The demo fleet plus bulk rows, so pages cross many created_at values. */
static int setup(void **state)
{
	Fx *fx = dbfx_new(sizeof *fx, "qdlist");
	ApiError err;
	if (!fx || db_seed_bulk(fx->fix.db, 1500, &err) != 1500)
		return -1;
	/* Ties on created_at must still page stably: give some rows the same one. */
	if (!db_exec(fx->fix.db, "UPDATE allocations SET created_at = 1700000000000"
	                         " WHERE rowid IN (SELECT rowid FROM allocations ORDER BY id LIMIT 40)"))
		return -1;
	if (!dbfx_principal(fx->fix.db, "acme-dev", &fx->dev) || !dbfx_principal(fx->fix.db, "ops", &fx->ops))
		return -1;
	*state = fx;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Walks every page of f; checks order and uniqueness; calls check on each row. */
static size_t walk(Fx *fx, const Principal *p, AllocFilter f, bool admin,
                   void (*check)(json_t *row, void *ud), void *ud)
{
	ApiError err;
	size_t cap = 4096, n = 0;
	char **ids = xmalloc(cap * sizeof *ids);
	char *cursor = NULL;
	int64_t prev_created = INT64_MAX;
	char prev_id[DB_ID_MAX] = "~";
	for (int page = 0; page < 1000; page++) {
		f.cursor = cursor;
		json_t *l = model_allocations(fx->fix.db, p, &f, admin, &err);
		if (!l)
			fail_msg("page %d: %s %s", page, err.code, err.message);
		assert_true(json_is_integer(json_object_get(l, "as_of_event_id")));
		json_t *items = json_object_get(l, "items");
		assert_true(json_array_size(items) <= (size_t)f.limit);
		size_t i;
		json_t *row;
		json_array_foreach(items, i, row) {
			int64_t c = qd_time_parse(json_string_value(json_object_get(row, "created_at")));
			const char *id = json_string_value(json_object_get(row, "id"));
			/* created_at desc, then id desc */
			assert_true(c < prev_created || (c == prev_created && strcmp(id, prev_id) < 0));
			prev_created = c;
			qd_strlcpy(prev_id, id, sizeof prev_id);
			if (n == cap)
				ids = xrealloc(ids, (cap *= 2) * sizeof *ids);
			ids[n++] = xstrdup(id);
			if (check)
				check(row, ud);
		}
		free(cursor);
		cursor = NULL;
		json_t *next = json_object_get(l, "next_cursor");
		if (json_is_string(next))
			cursor = xstrdup(json_string_value(next));
		else
			assert_true(json_is_null(next));
		json_decref(l);
		if (!cursor)
			break;
	}
	assert_null(cursor);
	qsort(ids, n, sizeof *ids, cmp_str);
	for (size_t i = 1; i < n; i++)
		if (strcmp(ids[i - 1], ids[i]) == 0)
			fail_msg("duplicate %s across pages", ids[i]);
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	return n;
}

static void test_pagination_complete_and_stable(void **state)
{
	Fx *fx = *state;
	AllocFilter f = {.actionable = -1, .archived = -1, .limit = 37};
	size_t n = walk(fx, &fx->ops, f, true, NULL, NULL);
	assert_int_equal(n, dbfx_count(fx->fix.db, "SELECT COUNT(*) FROM allocations"));
	f.limit = 500;
	assert_int_equal(walk(fx, &fx->ops, f, true, NULL, NULL), n);
	f.limit = 1;
	f.state_mask = 1u << ALLOC_RELEASE_FAILED;
	assert_int_equal(walk(fx, &fx->ops, f, true, NULL, NULL),
	                 dbfx_count(fx->fix.db, "SELECT COUNT(*) FROM allocations WHERE state = 'release_failed'"));
	/* the org scope pages too */
	f = (AllocFilter){.actionable = -1, .archived = -1, .limit = 100};
	assert_int_equal(walk(fx, &fx->dev, f, false, NULL, NULL),
	                 dbfx_count(fx->fix.db, "SELECT COUNT(*) FROM allocations WHERE org_id = 'org_acme'"));
}

static void test_cursor_rejected(void **state)
{
	Fx *fx = *state;
	ApiError err;
	AllocFilter f = {.actionable = -1, .archived = -1, .limit = 10, .cursor = "bm90IGEgY3Vyc29y"};
	int64_t before = dbfx_count(fx->fix.db, "SELECT COUNT(*) FROM allocations");
	assert_null(model_allocations(fx->fix.db, &fx->ops, &f, true, &err));
	assert_int_equal(err.status, 400);
	assert_string_equal(err.code, "invalid_cursor");
	f.cursor = "!!";
	assert_null(model_allocations(fx->fix.db, &fx->ops, &f, true, &err));
	assert_int_equal(err.status, 400);
	/* a node-list cursor is not an allocation cursor */
	char *nc = db_cursor_encode("n", 0, "nd_use1_h100_01");
	f.cursor = nc;
	assert_null(model_allocations(fx->fix.db, &fx->ops, &f, true, &err));
	assert_string_equal(err.code, "invalid_cursor");
	free(nc);
	assert_int_equal(dbfx_count(fx->fix.db, "SELECT COUNT(*) FROM allocations"), before);
}

typedef struct {
	int want_actionable; /* -1 any */
	int want_archived;
	unsigned mask;
	const char *node, *project, *q;
	size_t rows;
} Expect;

static void check_row(json_t *row, void *ud)
{
	Expect *e = ud;
	e->rows++;
	bool act = json_is_true(json_object_get(row, "is_actionable"));
	bool arch = !json_is_null(json_object_get(row, "archived_at"));
	if (e->want_actionable >= 0 && act != (e->want_actionable == 1))
		fail_msg("%s: is_actionable %d but filtered actionable=%d",
		         json_string_value(json_object_get(row, "id")), act, e->want_actionable);
	if (e->want_archived >= 0 && arch != (e->want_archived == 1))
		fail_msg("%s: archived_at %s but filtered archived=%d",
		         json_string_value(json_object_get(row, "id")), arch ? "set" : "null",
		         e->want_archived);
	if (e->mask) {
		AllocState s = alloc_state_from_name(json_string_value(json_object_get(row, "state")));
		assert_true(e->mask & (1u << s));
	}
	if (e->node)
		assert_string_equal(json_string_value(json_object_get(json_object_get(row, "node"), "id")),
		                    e->node);
	if (e->project)
		assert_string_equal(json_string_value(json_object_get(json_object_get(row, "project"), "id")),
		                    e->project);
	if (e->q) {
		/* substring of name, id, node name or owner name, case-insensitively */
		char hay[512];
		json_t *node = json_object_get(row, "node");
		snprintf(hay, sizeof hay, "%s %s %s %s", json_string_value(json_object_get(row, "name")),
		         json_string_value(json_object_get(row, "id")),
		         json_is_object(node) ? json_string_value(json_object_get(node, "name")) : "",
		         json_string_value(json_object_get(json_object_get(row, "owner"), "name")));
		assert_non_null(strcasestr(hay, e->q));
	}
}

static size_t filtered(Fx *fx, int actionable, int archived, unsigned mask)
{
	AllocFilter f = {.actionable = actionable, .archived = archived, .state_mask = mask, .limit = 200};
	Expect e = {actionable, archived, mask, NULL, NULL, NULL, 0};
	size_t n = walk(fx, &fx->ops, f, true, check_row, &e);
	assert_int_equal(n, e.rows);
	return n;
}

static void test_filters_agree_with_fields(void **state)
{
	Fx *fx = *state;
	size_t total = (size_t)dbfx_count(fx->fix.db, "SELECT COUNT(*) FROM allocations");
	for (int shift = 0; shift < 3; shift++) {
		/* now, then 8 days later (failures age out), then 30 days later */
		db_set_clock_offset_ms(fx->fix.db, shift == 0 ? 0 : shift == 1 ? 8LL * 86400000 : 30LL * 86400000);
		size_t act = filtered(fx, 1, -1, 0), inact = filtered(fx, 0, -1, 0);
		size_t arch = filtered(fx, -1, 1, 0), live = filtered(fx, -1, 0, 0);
		assert_int_equal(act + inact, total);
		assert_int_equal(arch + live, total);
		assert_true(act > 0 && inact > 0 && arch > 0 && live > 0);
		/* the workbench's default band */
		filtered(fx, 1, 0, 0);
		filtered(fx, -1, -1, 1u << ALLOC_FAILED | 1u << ALLOC_RESTART_FAILED);
		filtered(fx, 0, 1, 1u << ALLOC_FAILED);
	}
	db_set_clock_offset_ms(fx->fix.db, 0);
}

static void test_failed_row_crosses_the_window(void **state)
{
	Fx *fx = *state;
	/* One failed row whose window ends exactly at a chosen instant. */
	int64_t now = db_now_ms(fx->fix.db);
	assert_true(db_exec(fx->fix.db, "UPDATE allocations SET state = 'failed' WHERE id = (SELECT id FROM"
	                                " allocations ORDER BY id LIMIT 1)"));
	char sql[320];
	int64_t since = now - ACTIONABLE_WINDOW_MS + 3600 * 1000; /* an hour of window left */
	snprintf(sql, sizeof sql, "UPDATE allocations SET state_since = %lld, name = 'edge-case-row',"
	                          " search = 'edge-case-row ' || id"
	                          " WHERE id = (SELECT id FROM allocations ORDER BY id LIMIT 1)",
	         (long long)since);
	assert_true(db_exec(fx->fix.db, sql));
	AllocFilter f = {.actionable = 1, .archived = -1, .limit = 500, .q = "edge-case-row"};
	ApiError err;
	json_t *l = model_allocations(fx->fix.db, &fx->ops, &f, true, &err);
	assert_int_equal(json_array_size(json_object_get(l, "items")), 1);
	json_decref(l);
	/* at exactly actionable_until it has left the actionable set */
	db_set_clock_offset_ms(fx->fix.db, 3600 * 1000 + (db_now_ms(fx->fix.db) - now));
	f.actionable = 1;
	l = model_allocations(fx->fix.db, &fx->ops, &f, true, &err);
	size_t n = json_array_size(json_object_get(l, "items"));
	json_decref(l);
	f.actionable = 0;
	f.archived = 1;
	json_t *l2 = model_allocations(fx->fix.db, &fx->ops, &f, true, &err);
	size_t m = json_array_size(json_object_get(l2, "items"));
	/* the clock moves between reads; either way filter and fields agree */
	if (m == 1) {
		json_t *row = json_array_get(json_object_get(l2, "items"), 0);
		assert_false(json_is_true(json_object_get(row, "is_actionable")));
		assert_false(json_is_null(json_object_get(row, "archived_at")));
	}
	assert_int_equal(n + m, 1);
	json_decref(l2);
	db_set_clock_offset_ms(fx->fix.db, 0);
}

static void test_node_project_and_text_filters(void **state)
{
	Fx *fx = *state;
	AllocFilter f = {.actionable = -1, .archived = -1, .limit = 100, .node_id = "nd_use1_h100_02"};
	Expect e = {-1, -1, 0, "nd_use1_h100_02", NULL, NULL, 0};
	size_t n = walk(fx, &fx->ops, f, true, check_row, &e);
	assert_int_equal(n, dbfx_count(fx->fix.db, "SELECT COUNT(*) FROM allocations WHERE node_id = 'nd_use1_h100_02'"));
	assert_true(n > 0);

	f = (AllocFilter){.actionable = -1, .archived = -1, .limit = 100, .project_id = "prj_acme_ml"};
	e = (Expect){-1, -1, 0, NULL, "prj_acme_ml", NULL, 0};
	assert_true(walk(fx, &fx->dev, f, false, check_row, &e) > 0);

	const char *qs[] = {"MIXTRAL", "use1-h100-03", "globex-dev", "al_"};
	for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
		f = (AllocFilter){.actionable = -1, .archived = -1, .limit = 250, .q = qs[i]};
		e = (Expect){-1, -1, 0, NULL, NULL, qs[i], 0};
		assert_true(walk(fx, &fx->ops, f, true, check_row, &e) > 0);
	}
	/* LIKE wildcards are literal */
	const char *wild[] = {"%", "\\", "mixtral%eval", "a_b", "x%"};
	for (size_t i = 0; i < sizeof wild / sizeof wild[0]; i++) {
		f = (AllocFilter){.actionable = -1, .archived = -1, .limit = 250, .q = wild[i]};
		assert_int_equal(walk(fx, &fx->ops, f, true, NULL, NULL), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pagination_complete_and_stable, setup, dbfx_teardown),
		cmocka_unit_test_setup_teardown(test_cursor_rejected, setup, dbfx_teardown),
		cmocka_unit_test_setup_teardown(test_filters_agree_with_fields, setup, dbfx_teardown),
		cmocka_unit_test_setup_teardown(test_failed_row_crosses_the_window, setup, dbfx_teardown),
		cmocka_unit_test_setup_teardown(test_node_project_and_text_filters, setup, dbfx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

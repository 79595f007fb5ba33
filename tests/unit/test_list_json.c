/* Unit tests for model_allocations_text(), the list endpoints' fast path: on a
 * seeded database, for several filters, scopes and cursors, its text must be
 * byte for byte what json_dumps(JSON_COMPACT) makes of model_allocations()
 * (the transport's writer makes the same bytes), and must parse back to an
 * equal value. Rows are doctored so escapes, non-ASCII text, invalid UTF-8,
 * volumes, runtimes and odd key lists all go through both serialisers. */
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

static int setup(void **state)
{
	Fx *fx = dbfx_new(sizeof *fx, "qdlistjson");
	ApiError err;
	if (!fx || db_seed_bulk(fx->fix.db, 1200, &err) != 1200)
		return -1;
	/* Rows the seed never makes: every kind of string both writers must agree
	 * on. Ids stay valid (cursors carry them); the doctored rows are the
	 * newest so the first pages hold them. */
	static const char *const doctor[] = {
		"UPDATE allocations SET created_at = 1900000000000 + rowid % 7"
		" WHERE rowid IN (SELECT rowid FROM allocations ORDER BY id LIMIT 12)",
		/* quotes, backslash, control characters, non-ASCII */
		"UPDATE allocations SET name = 'q\"uo\\te' || char(1) || char(9) || char(10) || char(31)"
		" || char(127) || ' caf' || char(233) || ' ' || char(8232) || ' ' || char(128512)"
		" WHERE rowid = (SELECT rowid FROM allocations ORDER BY id LIMIT 1)",
		/* invalid UTF-8: col_str() makes it "" */
		"UPDATE allocations SET name = CAST(x'41ff42' AS TEXT), failure_code = 'x',"
		" failure_message = CAST(x'c0af' AS TEXT)"
		" WHERE rowid = (SELECT rowid FROM allocations ORDER BY id LIMIT 1 OFFSET 1)",
		/* key lists: empty pieces, a piece jansson refuses, a lone key */
		"UPDATE allocations SET ssh_key_ids = ',k1,,' || CAST(x'e282' AS TEXT) || ',k2,'"
		" WHERE rowid = (SELECT rowid FROM allocations ORDER BY id LIMIT 1 OFFSET 2)",
		"UPDATE allocations SET ssh_key_ids = ''"
		" WHERE rowid = (SELECT rowid FROM allocations ORDER BY id LIMIT 1 OFFSET 3)",
		/* a runtime, a released-with-billing-stopped row, nulls where the
		 * schema allows them */
		"UPDATE allocations SET runtime_bundle = 'vllm', runtime_version = '0.6',"
		" runtime_state = NULL, task_id = NULL, deadline_at = NULL"
		" WHERE rowid = (SELECT rowid FROM allocations ORDER BY id LIMIT 1 OFFSET 4)",
		"UPDATE allocations SET state = 'active', ssh_port = 2222, billing_stopped = 1"
		" WHERE rowid = (SELECT rowid FROM allocations ORDER BY id LIMIT 1 OFFSET 5)",
		"UPDATE allocations SET state = 'restarting', ssh_port = NULL"
		" WHERE rowid = (SELECT rowid FROM allocations ORDER BY id LIMIT 1 OFFSET 6)",
		/* volumes, one of them with an awkward name */
		"INSERT INTO volumes SELECT 'vol_t1', id, org_id, 'data \"1\"', '/data', 100, 1, 5"
		" FROM allocations ORDER BY id LIMIT 1 OFFSET 7",
		"INSERT INTO volumes SELECT 'vol_t2', id, org_id, 'scratch', '/scratch', 20, 0, 4"
		" FROM allocations ORDER BY id LIMIT 1 OFFSET 7",
		"UPDATE allocations SET volume_count = 2"
		" WHERE rowid = (SELECT rowid FROM allocations ORDER BY id LIMIT 1 OFFSET 7)",
		/* a node whose host is not ASCII (json_string takes it) and one that is
		 * not UTF-8 (json_string refuses it: no "host", no "command") */
		"UPDATE nodes SET host = 'n' || char(246) || 'de.example' WHERE id ="
		" (SELECT node_id FROM allocations WHERE state = 'active' AND node_id IS NOT NULL"
		" ORDER BY created_at DESC LIMIT 1)",
	};
	for (size_t i = 0; i < QD_ARRAY_LEN(doctor); i++)
		if (!db_exec(fx->fix.db, doctor[i]))
			return -1;
	if (!dbfx_principal(fx->fix.db, "acme-dev", &fx->dev) || !dbfx_principal(fx->fix.db, "ops", &fx->ops))
		return -1;
	*state = fx;
	return 0;
}

/* routes.c's writer (whose bytes the text path reproduces) writes the hex of
 * \u00XX escapes in lower case where json_dumps writes upper case; all else
 * is the same. Lower-cases those escapes in place. */
static void lower_u_escapes(char *s)
{
	for (; *s; s++) {
		if (s[0] != '\\')
			continue;
		if (s[1] == 'u' && s[2] && s[3] && s[4] && s[5]) {
			for (int i = 2; i < 6; i++)
				if (s[i] >= 'A' && s[i] <= 'F')
					s[i] = (char)(s[i] - 'A' + 'a');
			s += 5;
		} else if (s[1])
			s++; /* \\ and the like: skip the escaped character */
	}
}

/* One page both ways; returns the next cursor (caller frees) or NULL. */
static char *same_page(Fx *fx, const Principal *p, const AllocFilter *f, bool admin)
{
	ApiError err1, err2;
	memset(&err1, 0, sizeof err1);
	memset(&err2, 0, sizeof err2);
	json_t *j = model_allocations(fx->fix.db, p, f, admin, &err1);
	size_t len = 0;
	char *text = model_allocations_text(fx->fix.db, p, f, admin, &len, &err2);
	if (!j) {
		/* Refused: refused alike. */
		assert_null(text);
		assert_int_equal(err1.status, err2.status);
		assert_string_equal(err1.code, err2.code);
		assert_string_equal(err1.message, err2.message);
		return NULL;
	}
	if (!text)
		fail_msg("text path failed where json did: %s %s", err2.code, err2.message);
	assert_int_equal(strlen(text), len);
	char *dumped = json_dumps(j, JSON_COMPACT);
	assert_non_null(dumped);
	lower_u_escapes(dumped);
	if (strcmp(dumped, text) != 0) {
		size_t at = 0;
		while (dumped[at] && dumped[at] == text[at])
			at++;
		fail_msg("bytes differ at %zu:\n json: %.120s\n text: %.120s", at,
		         dumped + (at > 40 ? at - 40 : 0), text + (at > 40 ? at - 40 : 0));
	}
	json_error_t je;
	json_t *parsed = json_loadb(text, len, 0, &je);
	if (!parsed)
		fail_msg("text does not parse: %s (column %d)", je.text, je.column);
	assert_true(json_equal(parsed, j));
	json_t *next = json_object_get(j, "next_cursor");
	char *cursor = json_is_string(next) ? xstrdup(json_string_value(next)) : NULL;
	json_decref(parsed);
	free(dumped);
	free(text);
	json_decref(j);
	return cursor;
}

/* Every page of f, comparing each; returns the number of pages. */
static int same_walk(Fx *fx, const Principal *p, AllocFilter f, bool admin)
{
	char *cursor = NULL;
	int pages = 0;
	do {
		f.cursor = cursor;
		char *next = same_page(fx, p, &f, admin);
		free(cursor);
		cursor = next;
		pages++;
	} while (cursor && pages < 200);
	assert_null(cursor);
	return pages;
}

static void test_unfiltered_pages_match(void **state)
{
	Fx *fx = *state;
	AllocFilter f = {.actionable = -1, .archived = -1, .limit = 500};
	assert_true(same_walk(fx, &fx->ops, f, true) >= 3);
	f.limit = 97;
	assert_true(same_walk(fx, &fx->dev, f, false) >= 3);
	f.limit = 0; /* the default */
	free(same_page(fx, &fx->ops, &f, true));
}

static void test_filtered_pages_match(void **state)
{
	Fx *fx = *state;
	AllocFilter f = {.actionable = -1, .archived = -1, .limit = 50};
	f.state_mask = 1u << ALLOC_FAILED | 1u << ALLOC_RELEASE_FAILED;
	f.archived = 0;
	same_walk(fx, &fx->ops, f, true);
	f = (AllocFilter){.actionable = 1, .archived = -1, .limit = 200};
	same_walk(fx, &fx->dev, f, false);
	f = (AllocFilter){.actionable = 0, .archived = 1, .limit = 200};
	same_walk(fx, &fx->ops, f, true);
	f = (AllocFilter){.actionable = -1, .archived = -1, .limit = 500, .q = "llama"};
	same_walk(fx, &fx->dev, f, false);
	f = (AllocFilter){.actionable = -1, .archived = -1, .limit = 500, .q = "no such text"};
	assert_int_equal(same_walk(fx, &fx->ops, f, true), 1);
	f = (AllocFilter){.actionable = -1, .archived = -1, .limit = 500, .project_id = "prj_acme_ml"};
	same_walk(fx, &fx->ops, f, true);
	f = (AllocFilter){.actionable = -1, .archived = -1, .limit = 1,
	                  .state_mask = 1u << ALLOC_RELEASE_FAILED};
	free(same_page(fx, &fx->ops, &f, true));
}

/* The doctored rows are really on the first page, so the test exercises them. */
static void test_doctored_rows_present(void **state)
{
	Fx *fx = *state;
	AllocFilter f = {.actionable = -1, .archived = -1, .limit = 20};
	ApiError err;
	size_t len;
	char *text = model_allocations_text(fx->fix.db, &fx->ops, &f, true, &len, &err);
	assert_non_null(text);
	assert_non_null(strstr(text, "q\\\"uo\\\\te\\u0001\\t\\n\\u001f"));
	assert_non_null(strstr(text, "\"name\":\"\""));           /* invalid UTF-8 became "" */
	assert_non_null(strstr(text, "\"ssh_key_ids\":[\"k1\",\"k2\"]"));
	assert_non_null(strstr(text, "\"storage\":[{\"id\":\"vol_t2\""));
	assert_non_null(strstr(text, "\"runtime\":{\"bundle\":\"vllm\",\"version\":\"0.6\",\"state\":null}"));
	free(text);
}

static void test_refusals_match(void **state)
{
	Fx *fx = *state;
	AllocFilter f = {.actionable = -1, .archived = -1, .limit = 10, .cursor = "garbage!"};
	same_page(fx, &fx->ops, &f, true);
	f.cursor = NULL;
	same_page(fx, &fx->dev, &f, true); /* admin scope without the role: 403 */
}

/* A host that is not UTF-8: row_json leaves out "host" and "command". */
static void test_bad_host_matches(void **state)
{
	Fx *fx = *state;
	assert_true(db_exec(fx->fix.db, "UPDATE nodes SET host = CAST(x'6eff' AS TEXT) WHERE id ="
	                                " (SELECT node_id FROM allocations WHERE state = 'active'"
	                                " AND node_id IS NOT NULL ORDER BY created_at DESC LIMIT 1)"));
	AllocFilter f = {.actionable = -1, .archived = -1, .limit = 500,
	                 .state_mask = 1u << ALLOC_ACTIVE};
	same_walk(fx, &fx->ops, f, true);
	size_t len;
	ApiError err;
	char *text = model_allocations_text(fx->fix.db, &fx->ops, &f, true, &len, &err);
	assert_non_null(text);
	assert_non_null(strstr(text, "\"ssh\":{\"port\":"));
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unfiltered_pages_match, setup, dbfx_teardown),
		cmocka_unit_test_setup_teardown(test_filtered_pages_match, setup, dbfx_teardown),
		cmocka_unit_test_setup_teardown(test_doctored_rows_present, setup, dbfx_teardown),
		cmocka_unit_test_setup_teardown(test_refusals_match, setup, dbfx_teardown),
		cmocka_unit_test_setup_teardown(test_bad_host_matches, setup, dbfx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

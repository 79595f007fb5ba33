/* GET /api/v1/runtimes against a real qdeckd: the demo seed's runtimes in
 * their documented order (bundle, then newest version first) with labels,
 * who may read them, creates naming a listed and an unlisted runtime, and a
 * database from before runtimes had labels upgrading on start. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "common/util.h"
#include "tests/api/fixture.h"

static ApiServer *const S = &apifx_srv;

/* The demo seed's runtimes as the list must give them. */
static const char *const want[][3] = {
	{ "jax", "0.4", "JAX 0.4" },
	{ "jupyter", "4.2", "JupyterLab 4.2" },
	{ "pytorch", "2.4", "PyTorch 2.4" },
	{ "pytorch", "2.3", "PyTorch 2.3" },
	{ "triton", "24.09", "Triton Inference Server 24.09" },
	{ "vllm", "0.6", "vLLM 0.6" },
};

/* The list is exactly `want`, in order, each item {bundle, version, label}. */
static void check_list(json_t *list)
{
	assert_true(json_is_null(json_object_get(list, "next_cursor")));
	json_t *items = json_object_get(list, "items");
	assert_true(json_is_array(items));
	assert_int_equal(json_array_size(items), QD_ARRAY_LEN(want));
	for (size_t i = 0; i < QD_ARRAY_LEN(want); i++) {
		json_t *it = json_array_get(items, i);
		assert_int_equal(json_object_size(it), 3);
		assert_string_equal(apifx_jstr(it, "bundle"), want[i][0]);
		assert_string_equal(apifx_jstr(it, "version"), want[i][1]);
		assert_string_equal(apifx_jstr(it, "label"), want[i][2]);
	}
}

static void test_list(void **state)
{
	(void)state;
	json_t *l = apifx_get_ok("/api/v1/runtimes", S->tok_acme);
	check_list(l);
	json_decref(l);
}

/* A catalog read: every signed-in role gets the same list; no token or a
 * wrong one is 401; the path has no POST. */
static void test_roles(void **state)
{
	(void)state;
	const char *tokens[] = { S->tok_acme, S->tok_globex, S->tok_ops, S->tok_billing };
	for (size_t i = 0; i < QD_ARRAY_LEN(tokens); i++) {
		json_t *l = apifx_get_ok("/api/v1/runtimes", tokens[i]);
		check_list(l);
		json_decref(l);
	}
	ApiResp r;
	assert_int_equal(api_get(S, "/api/v1/runtimes", NULL, &r), 0);
	assert_true(api_is_error(&r, 401, NULL));
	api_resp_done(&r);
	assert_int_equal(api_get(S, "/api/v1/runtimes", "qd_not_a_token_at_all_0000000000", &r), 0);
	assert_true(api_is_error(&r, 401, NULL));
	api_resp_done(&r);
	assert_int_equal(api_post(S, "/api/v1/runtimes", S->tok_acme, "{}", &r), 0);
	assert_int_equal(r.status, 405);
	api_resp_done(&r);
}

static char *create_body(const char *name, const char *bundle, const char *version)
{
	json_t *b = json_pack("{s:s, s:s, s:i, s:s, s:s, s:[s], s:{s:s, s:s}}", "name", name, "sku_id",
	                      "sku_a100_slice", "gpu_count", 1, "image_id", "img_ubuntu2204_cuda124",
	                      "network_id", "net_default", "ssh_key_ids", "key_acme_dev_laptop", "runtime",
	                      "bundle", bundle, "version", version);
	char *s = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	return s;
}

/* Every entry of the list is something a create accepts: take one no client
 * ever offered (vllm) and read it back from the allocation. */
static void test_create_with_listed_runtime(void **state)
{
	(void)state;
	json_t *l = apifx_get_ok("/api/v1/runtimes", S->tok_acme);
	json_t *vllm = NULL, *it;
	size_t i;
	json_array_foreach(json_object_get(l, "items"), i, it)
		if (strcmp(apifx_jstr(it, "bundle"), "vllm") == 0)
			vllm = it;
	assert_non_null(vllm);
	char *body = create_body("rt-listed", apifx_jstr(vllm, "bundle"), apifx_jstr(vllm, "version"));
	json_decref(l);
	ApiResp r;
	assert_int_equal(api_post(S, "/api/v1/allocations", S->tok_acme, body, &r), 0);
	free(body);
	if (r.status != 202)
		fail_msg("create with vllm 0.6: %ld %s", r.status, r.raw ? r.raw : "");
	char path[128];
	snprintf(path, sizeof path, "/api/v1/allocations/%s", apifx_jstr(r.json, "allocation_id"));
	api_resp_done(&r);
	json_t *a = apifx_get_ok(path, S->tok_acme);
	json_t *rt = json_object_get(a, "runtime");
	assert_string_equal(apifx_jstr(rt, "bundle"), "vllm");
	assert_string_equal(apifx_jstr(rt, "version"), "0.6");
	json_decref(a);
}

/* A runtime the list does not hold is refused (422 unknown_reference, naming
 * the runtime) and nothing is created. */
static void test_create_with_unlisted_runtime(void **state)
{
	(void)state;
	static const char *const bad[][2] = { { "pytorch", "9.9" }, { "tensorflow", "2.16" }, { "vllm", "0.60" } };
	for (size_t i = 0; i < QD_ARRAY_LEN(bad); i++) {
		json_t *before = apifx_snapshot();
		char *body = create_body("rt-unlisted", bad[i][0], bad[i][1]);
		ApiResp r;
		assert_int_equal(api_post(S, "/api/v1/allocations", S->tok_acme, body, &r), 0);
		free(body);
		if (!api_is_error(&r, 422, "unknown_reference"))
			fail_msg("create with %s %s: %ld %s", bad[i][0], bad[i][1], r.status, r.raw ? r.raw : "");
		assert_non_null(strstr(apifx_jstr(json_object_get(r.json, "error"), "message"), "runtime"));
		api_resp_done(&r);
		apifx_check_unchanged(before, "a refused create");
	}
}

static void sql(sqlite3 *db, const char *text)
{
	char *msg = NULL;
	if (sqlite3_exec(db, text, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", text, msg ? msg : "?");
	sqlite3_free(msg);
}

static int schema_version(sqlite3 *db)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT MAX(version) FROM schema_version", -1, &st, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* A database written before runtimes had labels (runtimes(bundle, version),
 * schema one migration back) upgrades on start: seeded rows get their
 * labels, a row the seed never had gets "bundle version", and allocations
 * are kept. Runs last: it restarts the server. */
static void test_upgrade_from_unlabelled(void **state)
{
	(void)state;
	json_t *before = apifx_snapshot();
	assert_int_equal(apitest_stop(S), 0);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(S->db, &db), SQLITE_OK);
	int latest = schema_version(db);
	assert_true(latest >= 2);
	/* Back to the shape the previous migration left. */
	sql(db, "BEGIN; ALTER TABLE runtimes DROP COLUMN label;"
	        " INSERT INTO runtimes VALUES('tensorflow', '2.16');");
	char del[96];
	snprintf(del, sizeof del, "DELETE FROM schema_version WHERE version = %d; COMMIT;", latest);
	sql(db, del);
	assert_int_equal(schema_version(db), latest - 1);
	sqlite3_close(db);

	assert_int_equal(apitest_restart(S, NULL), 0);
	json_t *l = apifx_get_ok("/api/v1/runtimes", S->tok_acme);
	json_t *items = json_object_get(l, "items");
	assert_int_equal(json_array_size(items), QD_ARRAY_LEN(want) + 1);
	/* tensorflow sorts between pytorch and triton. */
	for (size_t i = 0, w = 0; i < json_array_size(items); i++) {
		json_t *it = json_array_get(items, i);
		if (strcmp(apifx_jstr(it, "bundle"), "tensorflow") == 0) {
			assert_int_equal(i, 4);
			assert_string_equal(apifx_jstr(it, "version"), "2.16");
			assert_string_equal(apifx_jstr(it, "label"), "tensorflow 2.16");
			continue;
		}
		assert_string_equal(apifx_jstr(it, "bundle"), want[w][0]);
		assert_string_equal(apifx_jstr(it, "version"), want[w][1]);
		assert_string_equal(apifx_jstr(it, "label"), want[w][2]);
		w++;
	}
	json_decref(l);
	apifx_check_unchanged(before, "the upgrade");

	/* The upgraded database is at the latest version again, and a create
	 * naming the row it kept works. */
	assert_int_equal(sqlite3_open_v2(S->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(schema_version(db), latest);
	sqlite3_close(db);
	char *body = create_body("rt-upgraded", "tensorflow", "2.16");
	ApiResp r;
	assert_int_equal(api_post(S, "/api/v1/allocations", S->tok_acme, body, &r), 0);
	free(body);
	if (r.status != 202)
		fail_msg("create with tensorflow 2.16 after the upgrade: %ld %s", r.status, r.raw ? r.raw : "");
	api_resp_done(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_roles),
		cmocka_unit_test(test_create_with_listed_runtime),
		cmocka_unit_test(test_create_with_unlisted_runtime),
		cmocka_unit_test(test_upgrade_from_unlabelled),
	};
	return cmocka_run_group_tests_name("api_runtimes", tests, apifx_setup, apifx_teardown);
}

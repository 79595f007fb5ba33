/* API tests of POST /api/v1/admin/nodes/{id}/scheduling against a real
 * qdeckd: roles, validation, the online <-> draining moves, the audit row,
 * the node.updated event, the no-op answer, and 409 for a retired node (the
 * API cannot retire nodes, so that test marks one retired in the database
 * directly, as an out-of-band decommission would). */
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

static json_t *node_get(const char *id)
{
	char path[128];
	snprintf(path, sizeof path, "/api/v1/nodes/%s", id);
	return apifx_get_ok(path, S->tok_acme);
}

/* First node in state `state` with scheduling on and allocations (>0) or
 * none (0); the caller frees. NULL when the seed has none. */
static char *pick_node(const char *state, bool with_allocs)
{
	json_t *j = apifx_get_ok("/api/v1/nodes?limit=500", S->tok_ops);
	json_t *it;
	size_t i;
	char *id = NULL;
	json_array_foreach(json_object_get(j, "items"), i, it) {
		const char *st = json_string_value(json_object_get(it, "state"));
		json_int_t n = json_integer_value(json_object_get(it, "allocation_count"));
		if (st && strcmp(st, state) == 0 && json_is_true(json_object_get(it, "scheduling")) &&
		    (with_allocs ? n > 0 : n == 0)) {
			id = xstrdup(json_string_value(json_object_get(it, "id")));
			break;
		}
	}
	json_decref(j);
	return id;
}

static void post_expect(const char *id, const char *token, const char *body, long status, const char *code)
{
	char path[128];
	snprintf(path, sizeof path, "/api/v1/admin/nodes/%s/scheduling", id);
	ApiResp r;
	assert_int_equal(api_post(S, path, token, body, &r), 0);
	if (r.status != status || (code && !api_is_error(&r, status, code)))
		fprintf(stderr, "POST %s %s -> %ld %s\n", path, body ? body : "", r.status, r.raw ? r.raw : "");
	assert_int_equal(r.status, status);
	if (code)
		assert_true(api_is_error(&r, status, code));
	api_resp_done(&r);
}

static json_t *post_ok(const char *id, const char *body)
{
	char path[128];
	snprintf(path, sizeof path, "/api/v1/admin/nodes/%s/scheduling", id);
	ApiResp r;
	assert_int_equal(api_post(S, path, S->tok_ops, body, &r), 0);
	if (r.status != 200)
		fprintf(stderr, "POST %s -> %ld %s\n", path, r.status, r.raw ? r.raw : "");
	assert_int_equal(r.status, 200);
	json_t *j = json_incref(r.json);
	api_resp_done(&r);
	return j;
}

static int64_t last_event_id(void)
{
	json_t *j = apifx_get_ok("/api/v1/nodes?limit=1", S->tok_acme);
	int64_t id = (int64_t)json_integer_value(json_object_get(j, "as_of_event_id"));
	json_decref(j);
	return id;
}

/* The node.updated events after `since` for node id, as seen by `token`. */
static json_t *node_events_since(int64_t since, const char *id, const char *token)
{
	char path[128];
	snprintf(path, sizeof path, "/api/v1/events?since=%lld&limit=500", (long long)since);
	json_t *j = apifx_get_ok(path, token);
	json_t *out = json_array(), *it;
	size_t i;
	json_array_foreach(json_object_get(j, "items"), i, it) {
		const char *type = json_string_value(json_object_get(it, "type"));
		const char *nid = json_string_value(json_object_get(it, "node_id"));
		if (type && nid && strcmp(type, "node.updated") == 0 && strcmp(nid, id) == 0)
			json_array_append(out, it);
	}
	json_decref(j);
	return out;
}

static json_t *audit_rows_for(const char *id)
{
	json_t *j = apifx_get_ok("/api/v1/admin/audit-logs?limit=500", S->tok_ops);
	json_t *out = json_array(), *it;
	size_t i;
	json_array_foreach(json_object_get(j, "items"), i, it) {
		const char *t = json_string_value(json_object_get(it, "target_id"));
		if (t && strcmp(t, id) == 0)
			json_array_append(out, it);
	}
	json_decref(j);
	return out;
}

static void test_roles_and_validation(void **state)
{
	(void)state;
	char *id = pick_node("online", true);
	assert_non_null(id);
	json_t *before = apifx_snapshot();
	const char *off = "{\"enabled\": false, \"reason\": \"ECC errors\"}";
	post_expect(id, S->tok_acme, off, 403, "forbidden");
	post_expect(id, S->tok_billing, off, 403, "forbidden");
	post_expect(id, NULL, off, 401, "unauthorized");
	post_expect(id, S->tok_ops, "{\"enabled\": false}", 422, "reason_required");
	post_expect(id, S->tok_ops, "{\"enabled\": false, \"reason\": \"   \"}", 422, "reason_required");
	post_expect(id, S->tok_ops, "{\"reason\": \"x\"}", 400, NULL);
	post_expect(id, S->tok_ops, "{\"enabled\": \"no\", \"reason\": \"x\"}", 400, NULL);
	post_expect(id, S->tok_ops, "{\"enabled\": false, \"reason\": 7}", 400, NULL);
	post_expect(id, S->tok_ops, "{\"enabled\": false, \"reason\": \"x\", \"force\": true}", 400, NULL);
	post_expect(id, S->tok_ops, "[]", 400, NULL);
	post_expect("nd_no_such_node", S->tok_ops, off, 404, "not_found");
	apifx_check_unchanged(before, "refused scheduling requests");
	json_t *n = node_get(id);
	assert_true(json_is_true(json_object_get(n, "scheduling")));
	assert_string_equal(json_string_value(json_object_get(n, "state")), "online");
	json_decref(n);
	free(id);
}

static void test_disable_drains_then_enable(void **state)
{
	(void)state;
	char *id = pick_node("online", true);
	assert_non_null(id);
	int64_t since = last_event_id();

	json_t *r = post_ok(id, "{\"enabled\": false, \"reason\": \"ECC errors on GPU 3\"}");
	assert_string_equal(json_string_value(json_object_get(r, "operation")), "node.scheduling_disable");
	json_t *acc = json_object_get(r, "accepted");
	assert_true(json_is_true(json_object_get(acc, "changed")));
	assert_string_equal(json_string_value(json_object_get(acc, "from_state")), "online");
	assert_string_equal(json_string_value(json_object_get(acc, "to_state")), "draining");
	assert_string_equal(json_string_value(json_object_get(acc, "reason")), "ECC errors on GPU 3");
	json_t *rn = json_object_get(r, "node");
	assert_true(json_is_false(json_object_get(rn, "scheduling")));
	json_decref(r);

	json_t *n = node_get(id);
	assert_true(json_is_false(json_object_get(n, "scheduling")));
	assert_string_equal(json_string_value(json_object_get(n, "state")), "draining");
	json_decref(n);

	/* The event carries the node after the change and every org sees it. */
	json_t *ev = node_events_since(since, id, S->tok_globex);
	assert_int_equal(json_array_size(ev), 1);
	json_t *en = json_object_get(json_array_get(ev, 0), "node");
	assert_string_equal(json_string_value(json_object_get(en, "state")), "draining");
	assert_true(json_is_false(json_object_get(en, "scheduling")));
	assert_non_null(strstr(json_string_value(json_object_get(json_array_get(ev, 0), "message")),
	                       "ECC errors on GPU 3"));
	json_decref(ev);

	json_t *aud = audit_rows_for(id);
	assert_int_equal(json_array_size(aud), 1);
	json_t *row = json_array_get(aud, 0);
	assert_string_equal(json_string_value(json_object_get(row, "action")), "node.scheduling_disable");
	assert_string_equal(json_string_value(json_object_get(row, "reason")), "ECC errors on GPU 3");
	assert_string_equal(json_string_value(json_object_get(row, "state_before")), "online");
	assert_string_equal(json_string_value(json_object_get(row, "state_after")), "draining");
	assert_string_equal(json_string_value(json_object_get(json_object_get(row, "actor"), "name")), "ops");
	assert_non_null(json_string_value(json_object_get(row, "request_id")));
	json_decref(aud);

	/* Disabling again changes nothing: no second audit row, no event. */
	since = last_event_id();
	r = post_ok(id, "{\"enabled\": false, \"reason\": \"still broken\"}");
	assert_true(json_is_false(json_object_get(json_object_get(r, "accepted"), "changed")));
	json_decref(r);
	ev = node_events_since(since, id, S->tok_ops);
	assert_int_equal(json_array_size(ev), 0);
	json_decref(ev);
	aud = audit_rows_for(id);
	assert_int_equal(json_array_size(aud), 1);
	json_decref(aud);

	/* Enable needs no reason and brings the node back online. */
	since = last_event_id();
	r = post_ok(id, "{\"enabled\": true}");
	acc = json_object_get(r, "accepted");
	assert_true(json_is_true(json_object_get(acc, "changed")));
	assert_string_equal(json_string_value(json_object_get(acc, "to_state")), "online");
	json_decref(r);
	n = node_get(id);
	assert_true(json_is_true(json_object_get(n, "scheduling")));
	assert_string_equal(json_string_value(json_object_get(n, "state")), "online");
	json_decref(n);
	ev = node_events_since(since, id, S->tok_acme);
	assert_int_equal(json_array_size(ev), 1);
	json_decref(ev);
	aud = audit_rows_for(id);
	assert_int_equal(json_array_size(aud), 2);
	/* Newest first. */
	assert_string_equal(json_string_value(json_object_get(json_array_get(aud, 0), "action")),
	                    "node.scheduling_enable");
	json_decref(aud);
	free(id);
}

static void test_disable_empty_node_stays_online(void **state)
{
	(void)state;
	char *id = pick_node("online", false);
	if (!id) {
		/* The demo seed may fill every online node; then there is nothing to test. */
		skip();
		return;
	}
	json_t *r = post_ok(id, "{\"enabled\": false, \"reason\": \"cordon for firmware update\"}");
	json_t *acc = json_object_get(r, "accepted");
	assert_true(json_is_true(json_object_get(acc, "changed")));
	assert_string_equal(json_string_value(json_object_get(acc, "to_state")), "online");
	json_decref(r);
	json_t *n = node_get(id);
	assert_true(json_is_false(json_object_get(n, "scheduling")));
	assert_string_equal(json_string_value(json_object_get(n, "state")), "online");
	json_decref(n);
	json_decref(post_ok(id, "{\"enabled\": true, \"reason\": \"firmware done\"}"));
	free(id);
}

static void test_retired_is_409(void **state)
{
	(void)state;
	char *id = pick_node("online", false);
	if (!id)
		id = pick_node("online", true);
	assert_non_null(id);
	sqlite3 *h = NULL;
	assert_int_equal(sqlite3_open(S->db, &h), SQLITE_OK);
	sqlite3_busy_timeout(h, 5000);
	char sql[256];
	snprintf(sql, sizeof sql, "UPDATE nodes SET state = 'retired', scheduling = 0 WHERE id = '%s'", id);
	assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
	post_expect(id, S->tok_ops, "{\"enabled\": true}", 409, "invalid_state");
	post_expect(id, S->tok_ops, "{\"enabled\": false, \"reason\": \"x\"}", 409, "invalid_state");
	json_t *n = node_get(id);
	assert_string_equal(json_string_value(json_object_get(n, "state")), "retired");
	json_decref(n);
	free(id);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roles_and_validation),
		cmocka_unit_test(test_disable_drains_then_enable),
		cmocka_unit_test(test_disable_empty_node_stays_online),
		cmocka_unit_test(test_retired_is_409),
	};
	return cmocka_run_group_tests(tests, apifx_setup, apifx_teardown);
}

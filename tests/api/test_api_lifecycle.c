/* API tests of the allocation lifecycle against a real qdeckd at --speed 50:
 * create with its prechecks, release, restart, an injected release failure,
 * and force release with its audit row. The reconciler moves states on its
 * own timers; the tests poll with a generous overall timeout and never assert
 * on elapsed time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "common/util.h"
#include "tests/api/fixture.h"

static ApiServer *const S = &apifx_srv;

static void check_receipt(json_t *r, const char *alloc_id)
{
	assert_non_null(json_string_value(json_object_get(r, "operation")));
	if (alloc_id)
		assert_string_equal(json_string_value(json_object_get(r, "allocation_id")), alloc_id);
	else
		assert_non_null(json_string_value(json_object_get(r, "allocation_id")));
	assert_non_null(json_string_value(json_object_get(r, "task_id")));
	assert_true(json_is_object(json_object_get(r, "accepted")));
	assert_true(json_is_array(json_object_get(r, "follow_ups")));
}

/* POSTs, expects 202 + receipt; returns the receipt. */
static json_t *post_accepted(const char *path, const char *token, const char *body,
                             const char *alloc_id, char *request_id_out)
{
	ApiResp r;
	assert_int_equal(api_post(S, path, token, body, &r), 0);
	if (r.status != 202)
		fail_msg("POST %s: want 202, got %ld %s", path, r.status, r.raw ? r.raw : "");
	check_receipt(r.json, alloc_id);
	if (request_id_out)
		strcpy(request_id_out, r.request_id);
	json_t *j = json_incref(r.json);
	api_resp_done(&r);
	return j;
}

static json_t *task_of(const char *task_id, const char *token)
{
	char path[256];
	snprintf(path, sizeof path, "/api/v1/tasks/%s", task_id);
	return apifx_get_ok(path, token);
}

/* Waits until the task has left `running`; returns it. */
static json_t *task_done(const char *task_id, const char *token)
{
	for (int i = 0; i < APIFX_SETTLE_MS / 50; i++) {
		json_t *t = task_of(task_id, token);
		const char *st = json_string_value(json_object_get(t, "state"));
		if (st && strcmp(st, "running") != 0)
			return t;
		json_decref(t);
		struct timespec ts = {0, 50 * 1000000L};
		nanosleep(&ts, NULL);
	}
	fail_msg("task %s never finished", task_id);
	return NULL;
}

/* --- create ------------------------------------------------------------------- */

typedef struct {
	char network[64];
	char key[64];
	char image[64];
	int64_t balance;
} Account;

static void account(const char *token, Account *a)
{
	json_t *j = apifx_get_ok("/api/v1/networks", token);
	qd_strlcpy(a->network, json_string_value(json_object_get(json_array_get(json_object_get(j, "items"), 0), "id")),
	           sizeof a->network);
	json_decref(j);
	j = apifx_get_ok("/api/v1/ssh-keys", token);
	json_t *k = json_array_get(json_object_get(j, "items"), 0);
	qd_strlcpy(a->key, k ? json_string_value(json_object_get(k, "id")) : "", sizeof a->key);
	json_decref(j);
	j = apifx_get_ok("/api/v1/images", token);
	qd_strlcpy(a->image, json_string_value(json_object_get(json_array_get(json_object_get(j, "items"), 0), "id")),
	           sizeof a->image);
	json_decref(j);
	j = apifx_get_ok("/api/v1/me", token);
	a->balance = json_integer_value(json_object_get(j, "balance_cents"));
	json_decref(j);
}

static char *create_body(const Account *a, const char *name, const char *sku, int gpus,
                         const char *node)
{
	json_t *b = json_pack("{s:s, s:s, s:i, s:s, s:s, s:[]}", "name", name, "sku_id", sku,
	                      "gpu_count", gpus, "image_id", a->image, "network_id", a->network,
	                      "ssh_key_ids");
	if (a->key[0])
		json_array_append_new(json_object_get(b, "ssh_key_ids"), json_string(a->key));
	if (node)
		json_object_set_new(b, "node_id", json_string(node));
	char *s = json_dumps(b, JSON_COMPACT);
	json_decref(b);
	return s;
}

static void test_create_provisions(void **state)
{
	(void)state;
	Account a;
	account(S->tok_acme, &a);
	json_t *skus = apifx_get_ok("/api/v1/skus", S->tok_acme);
	json_t *it, *pick = NULL;
	size_t i;
	json_array_foreach(json_object_get(skus, "items"), i, it)
		if (!pick && json_is_true(json_object_get(it, "available")) &&
		    strcmp(json_string_value(json_object_get(it, "kind")), "slice") == 0)
			pick = it;
	assert_non_null(pick);
	int gpus = (int)json_integer_value(json_array_get(json_object_get(pick, "gpu_counts"), 0));
	char *body = create_body(&a, "api-test-create", json_string_value(json_object_get(pick, "id")),
	                         gpus, NULL);
	json_t *rc = post_accepted("/api/v1/allocations", S->tok_acme, body, NULL, NULL);
	assert_true(json_integer_value(json_object_get(rc, "price_per_hour_cents")) > 0);
	const char *id = json_string_value(json_object_get(rc, "allocation_id"));
	apifx_wait_state(id, S->tok_acme, "active");
	json_t *t = task_done(json_string_value(json_object_get(rc, "task_id")), S->tok_acme);
	assert_string_equal(json_string_value(json_object_get(t, "kind")), "provision");
	assert_string_equal(json_string_value(json_object_get(t, "state")), "succeeded");
	assert_true(json_array_size(json_object_get(t, "steps")) > 0);
	json_decref(t);
	json_decref(rc);
	free(body);
	json_decref(skus);
}

static void refused(const char *token, const char *body, const char *code)
{
	json_t *before = apifx_snapshot();
	ApiResp r;
	assert_int_equal(api_post(S, "/api/v1/allocations", token, body, &r), 0);
	if (!api_is_error(&r, 422, code))
		fail_msg("create %s: want 422 %s, got %ld %s", body, code, r.status, r.raw ? r.raw : "");
	assert_true(strlen(json_string_value(json_object_get(json_object_get(r.json, "error"), "suggestion"))) > 0);
	api_resp_done(&r);
	apifx_check_unchanged(before, "refused create (%s)", code);
}

static void test_create_prechecks(void **state)
{
	(void)state;
	Account acme, globex;
	account(S->tok_acme, &acme);
	account(S->tok_globex, &globex);
	json_t *skus = apifx_get_ok("/api/v1/skus", S->tok_acme);
	json_t *nodes = apifx_get_ok("/api/v1/nodes?limit=500", S->tok_ops);
	json_t *sku, *node;
	size_t i, k;
	bool did_sold = false, did_balance = false, did_offline = false, did_topology = false;

	json_array_foreach(json_object_get(skus, "items"), i, sku) {
		const char *id = json_string_value(json_object_get(sku, "id"));
		const char *model = json_string_value(json_object_get(sku, "gpu_model"));
		const char *region = json_string_value(json_object_get(sku, "region"));
		json_t *counts = json_object_get(sku, "gpu_counts");
		int maxg = (int)json_integer_value(json_array_get(counts, json_array_size(counts) - 1));
		int ming = (int)json_integer_value(json_array_get(counts, 0));
		int64_t price = json_integer_value(json_object_get(sku, "price_per_gpu_hour_cents"));
		bool avail = json_is_true(json_object_get(sku, "available"));

		if (!avail && !did_sold) {
			/* Only if some node of its kind is online, else node_offline comes first. */
			bool online = false;
			json_array_foreach(json_object_get(nodes, "items"), k, node)
				online = online || (strcmp(json_string_value(json_object_get(node, "gpu_model")), model) == 0 &&
				                    strcmp(json_string_value(json_object_get(node, "region")), region) == 0 &&
				                    strcmp(json_string_value(json_object_get(node, "state")), "online") == 0);
			if (online) {
				char *b = create_body(&acme, "t-sold", id, ming, NULL);
				refused(S->tok_acme, b, "sold_out");
				free(b);
				did_sold = true;
			}
		}
		if (avail && !did_balance && price * maxg > globex.balance) {
			char *b = create_body(&globex, "t-poor", id, maxg, NULL);
			refused(S->tok_globex, b, "insufficient_balance");
			free(b);
			did_balance = true;
		}
		json_array_foreach(json_object_get(nodes, "items"), k, node) {
			const char *nm = json_string_value(json_object_get(node, "gpu_model"));
			const char *nr = json_string_value(json_object_get(node, "region"));
			const char *ns = json_string_value(json_object_get(node, "state"));
			const char *nid = json_string_value(json_object_get(node, "id"));
			if (avail && !did_offline && strcmp(ns, "offline") == 0 && strcmp(nm, model) == 0 &&
			    strcmp(nr, region) == 0) {
				char *b = create_body(&acme, "t-offline", id, ming, nid);
				refused(S->tok_acme, b, "node_offline");
				free(b);
				did_offline = true;
			}
			if (avail && !did_topology && strcmp(ns, "online") == 0 &&
			    json_is_true(json_object_get(node, "scheduling")) && strcmp(nm, model) != 0) {
				char *b = create_body(&acme, "t-topo", id, ming, nid);
				refused(S->tok_acme, b, "topology_unsatisfiable");
				free(b);
				did_topology = true;
			}
		}
	}
	assert_true(did_sold);
	assert_true(did_balance);
	assert_true(did_offline);
	assert_true(did_topology);
	json_decref(skus);
	json_decref(nodes);
}

/* --- transitions ------------------------------------------------------------------ */

static void test_release(void **state)
{
	(void)state;
	char *id = apifx_alloc(S->tok_acme, "active", "acme-dev");
	assert_non_null(id);
	char path[256];
	snprintf(path, sizeof path, "/api/v1/allocations/%s/release", id);
	json_t *rc = post_accepted(path, S->tok_acme, NULL, id, NULL);
	apifx_wait_state(id, S->tok_acme, "released");
	json_t *t = task_done(json_string_value(json_object_get(rc, "task_id")), S->tok_acme);
	assert_string_equal(json_string_value(json_object_get(t, "kind")), "release");
	assert_string_equal(json_string_value(json_object_get(t, "state")), "succeeded");
	json_decref(t);
	/* Now the table forbids another release: 409 naming the state. */
	ApiResp r;
	assert_int_equal(api_post(S, path, S->tok_acme, NULL, &r), 0);
	assert_true(api_is_error(&r, 409, NULL));
	assert_non_null(strstr(json_string_value(json_object_get(json_object_get(r.json, "error"), "message")),
	                       "released"));
	api_resp_done(&r);
	json_decref(rc);
	free(id);
}

static void test_restart(void **state)
{
	(void)state;
	char *id = apifx_alloc(S->tok_acme, "active", "acme-dev");
	assert_non_null(id);
	char path[256];
	snprintf(path, sizeof path, "/api/v1/allocations/%s", id);
	json_t *a0 = apifx_get_ok(path, S->tok_acme);
	json_int_t v0 = json_integer_value(json_object_get(a0, "version"));
	json_decref(a0);
	snprintf(path, sizeof path, "/api/v1/allocations/%s/restart", id);
	json_t *rc = post_accepted(path, S->tok_acme, NULL, id, NULL);
	json_t *t = task_done(json_string_value(json_object_get(rc, "task_id")), S->tok_acme);
	assert_string_equal(json_string_value(json_object_get(t, "kind")), "restart");
	assert_string_equal(json_string_value(json_object_get(t, "state")), "succeeded");
	json_decref(t);
	apifx_wait_state(id, S->tok_acme, "active");
	snprintf(path, sizeof path, "/api/v1/allocations/%s", id);
	json_t *a1 = apifx_get_ok(path, S->tok_acme);
	assert_true(json_integer_value(json_object_get(a1, "version")) >= v0 + 2);
	json_decref(a1);
	json_decref(rc);
	free(id);
}

static void test_injected_release_failure(void **state)
{
	(void)state;
	ApiResp r;
	assert_int_equal(api_post(S, "/api/v1/admin/faults", S->tok_ops,
	                          "{\"kind\":\"release_fail\",\"reason_code\":\"storage_detach_timeout\","
	                          "\"message\":\"volume vol_x did not detach\",\"count\":1}",
	                          &r),
	                 0);
	assert_true(r.status >= 200 && r.status < 300);
	api_resp_done(&r);
	char *id = apifx_alloc(S->tok_acme, "active", "acme-dev");
	assert_non_null(id);
	char path[256];
	snprintf(path, sizeof path, "/api/v1/allocations/%s/release", id);
	json_t *rc = post_accepted(path, S->tok_acme, NULL, id, NULL);
	apifx_wait_state(id, S->tok_acme, "release_failed");
	snprintf(path, sizeof path, "/api/v1/allocations/%s", id);
	json_t *a = apifx_get_ok(path, S->tok_acme);
	json_t *reason = json_object_get(a, "release_failed_reason");
	assert_string_equal(json_string_value(json_object_get(reason, "code")), "storage_detach_timeout");
	assert_true(json_is_true(json_object_get(a, "is_actionable")));
	json_decref(a);
	json_decref(rc);
	free(id);
}

static void test_force_release_and_audit(void **state)
{
	(void)state;
	json_t *j = apifx_get_ok("/api/v1/admin/allocations?state=release_failed&limit=1", S->tok_ops);
	json_t *a = json_array_get(json_object_get(j, "items"), 0);
	assert_non_null(a);
	char id[80];
	qd_strlcpy(id, json_string_value(json_object_get(a, "id")), sizeof id);
	json_decref(j);
	char path[256];
	snprintf(path, sizeof path, "/api/v1/admin/allocations/%s/force-release", id);

	/* Without a reason: 422, and no audit row. */
	json_t *before = apifx_snapshot();
	const char *bad[] = {NULL, "{}", "{\"reason\":\"\"}"};
	for (size_t i = 0; i < QD_ARRAY_LEN(bad); i++) {
		ApiResp r;
		assert_int_equal(api_post(S, path, S->tok_ops, bad[i], &r), 0);
		if (!api_is_error(&r, 422, "reason_required"))
			fail_msg("force release with %s: got %ld %s", bad[i] ? bad[i] : "no body", r.status, r.raw);
		api_resp_done(&r);
	}
	apifx_check_unchanged(before, "refused force release");

	char rid[32];
	json_t *rc = post_accepted(path, S->tok_ops, "{\"reason\":\"storage stuck; detached by hand\"}", id, rid);
	json_t *logs = apifx_get_ok("/api/v1/admin/audit-logs?limit=500", S->tok_billing);
	json_t *row = NULL, *it;
	size_t i;
	json_array_foreach(json_object_get(logs, "items"), i, it)
		if (strcmp(json_string_value(json_object_get(it, "target_id")), id) == 0)
			row = it;
	assert_non_null(row);
	assert_string_equal(json_string_value(json_object_get(row, "action")), "allocation.force_release");
	assert_string_equal(json_string_value(json_object_get(row, "reason")), "storage stuck; detached by hand");
	assert_string_equal(json_string_value(json_object_get(row, "state_before")), "release_failed");
	assert_non_null(json_string_value(json_object_get(row, "state_after")));
	assert_string_equal(json_string_value(json_object_get(json_object_get(row, "actor"), "name")), "ops");
	assert_string_equal(json_string_value(json_object_get(row, "request_id")), rid);
	assert_non_null(json_string_value(json_object_get(row, "at")));
	json_decref(logs);

	apifx_wait_state(id, S->tok_ops, "released");
	snprintf(path, sizeof path, "/api/v1/allocations/%s", id);
	json_t *done = apifx_get_ok(path, S->tok_ops);
	assert_true(json_is_true(json_object_get(done, "billing_stopped")));
	json_decref(done);

	/* The event says so too. */
	json_t *ev = apifx_get_ok("/api/v1/events?since=0&limit=500", S->tok_ops);
	bool seen = false;
	for (int pages = 0; pages < 100 && !seen; pages++) {
		json_array_foreach(json_object_get(ev, "items"), i, it) {
			const char *aid = json_string_value(json_object_get(it, "allocation_id"));
			const char *type = json_string_value(json_object_get(it, "type"));
			if (aid && strcmp(aid, id) == 0 && type && strstr(type, "force_release"))
				seen = true;
		}
		json_t *items = json_object_get(ev, "items");
		size_t n = json_array_size(items);
		if (seen || n == 0)
			break;
		char next[128];
		snprintf(next, sizeof next, "/api/v1/events?since=%lld&limit=500",
		         (long long)json_integer_value(json_object_get(json_array_get(items, n - 1), "id")));
		json_decref(ev);
		ev = apifx_get_ok(next, S->tok_ops);
	}
	json_decref(ev);
	assert_true(seen);
	json_decref(rc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_provisions),
		cmocka_unit_test(test_create_prechecks),
		cmocka_unit_test(test_release),
		cmocka_unit_test(test_restart),
		cmocka_unit_test(test_injected_release_failure),
		cmocka_unit_test(test_force_release_and_audit),
	};
	return cmocka_run_group_tests_name("api_lifecycle", tests, apifx_setup, apifx_teardown);
}

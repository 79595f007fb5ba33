/* API tests of events: GET /events paging, and the WebSocket stream — refusals
 * before the upgrade, delivery in id order, and a reconnect from the last id
 * seen with nothing missed or repeated. */
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

/* Every event after since visible to token, paged by `limit`, as an array. */
static json_t *events_after(int64_t since, const char *token, int limit)
{
	json_t *all = json_array();
	for (int pages = 0; pages < 10000; pages++) {
		char path[128];
		snprintf(path, sizeof path, "/api/v1/events?since=%lld&limit=%d", (long long)since, limit);
		json_t *j = apifx_get_ok(path, token);
		json_t *items = json_object_get(j, "items");
		size_t n = json_array_size(items);
		assert_true(n <= (size_t)limit);
		json_array_extend(all, items);
		if (n > 0)
			since = json_integer_value(json_object_get(json_array_get(items, n - 1), "id"));
		json_decref(j);
		if (n == 0)
			break;
	}
	return all;
}

static void assert_increasing(json_t *events)
{
	json_int_t prev = 0;
	json_t *e;
	size_t i;
	json_array_foreach(events, i, e) {
		json_int_t id = json_integer_value(json_object_get(e, "id"));
		if (id <= prev)
			fail_msg("event ids not increasing: %lld after %lld", (long long)id, (long long)prev);
		prev = id;
	}
}

static char *active_ids[8];

static void pick_active(int n)
{
	json_t *ids = apifx_alloc_ids(S->tok_acme, "active", "acme-dev");
	assert_true(json_array_size(ids) >= (size_t)n);
	for (int k = 0; k < n; k++)
		active_ids[k] = xstrdup(json_string_value(json_array_get(ids, (size_t)k)));
	json_decref(ids);
}

static void act(const char *id, const char *verb)
{
	char path[256];
	snprintf(path, sizeof path, "/api/v1/allocations/%s/%s", id, verb);
	ApiResp r;
	assert_int_equal(api_post(S, path, S->tok_acme, NULL, &r), 0);
	if (r.status != 202)
		fail_msg("POST %s: %ld %s", path, r.status, r.raw);
	api_resp_done(&r);
}

static void test_events_paging(void **state)
{
	(void)state;
	json_t *big = events_after(0, S->tok_ops, 500);
	assert_true(json_array_size(big) > 0);
	assert_increasing(big);
	json_int_t last = json_integer_value(json_object_get(json_array_get(big, json_array_size(big) - 1), "id"));
	json_t *small = events_after(0, S->tok_ops, 7);
	assert_increasing(small);
	/* The reconciler may have added events in between: compare up to `last`. */
	size_t n = 0;
	while (n < json_array_size(small) &&
	       json_integer_value(json_object_get(json_array_get(small, n), "id")) <= last)
		n++;
	assert_int_equal(n, json_array_size(big));
	for (size_t i = 0; i < n; i++)
		assert_int_equal(json_integer_value(json_object_get(json_array_get(small, i), "id")),
		                 json_integer_value(json_object_get(json_array_get(big, i), "id")));
	/* since in the middle starts right after it. */
	json_int_t mid = json_integer_value(json_object_get(json_array_get(big, json_array_size(big) / 2), "id"));
	char path[128];
	snprintf(path, sizeof path, "/api/v1/events?since=%lld&limit=1", (long long)mid);
	json_t *one = apifx_get_ok(path, S->tok_ops);
	assert_true(json_integer_value(json_object_get(json_array_get(json_object_get(one, "items"), 0), "id")) > mid);
	json_decref(one);
	/* A user sees only their org's events. */
	json_t *mine = events_after(0, S->tok_acme, 500);
	json_t *e;
	size_t i;
	assert_true(json_array_size(mine) > 0);
	json_array_foreach(mine, i, e) {
		const char *org = json_string_value(json_object_get(e, "org_id"));
		assert_true(!org || strcmp(org, "org_acme") == 0);
	}
	json_decref(mine);
	json_decref(big);
	json_decref(small);
}

static void test_stream_refusals(void **state)
{
	(void)state;
	WsClient ws;
	assert_int_equal(ws_connect(&ws, S->port, "/api/v1/events/stream?since=0", NULL, "qd-events"), -1);
	assert_int_equal(ws.status, 401);
	assert_int_equal(ws_connect(&ws, S->port, "/api/v1/events/stream?since=0", "bogus-token", "qd-events"), -1);
	assert_int_equal(ws.status, 401);
	assert_int_equal(ws_connect(&ws, S->port, "/api/v1/events/stream?since=-4", S->tok_acme, "qd-events"), -1);
	assert_int_equal(ws.status, 400);
	assert_int_equal(ws_connect(&ws, S->port, "/api/v1/events/stream?since=0&x=1", S->tok_acme, NULL), -1);
	assert_int_equal(ws.status, 400);
	assert_int_equal(ws_connect(&ws, S->port, "/api/v1/events/streams", S->tok_acme, NULL), -1);
	assert_int_equal(ws.status, 404);
	/* The server is still fine. */
	json_t *h = apifx_get_ok("/api/v1/healthz", NULL);
	json_decref(h);
}

/* Reads messages until one with id >= until arrives; appends them to got. */
static int read_until(WsClient *ws, json_t *got, json_int_t until, int max_msgs)
{
	int64_t deadline = qd_mono_ms() + 60000;
	int n = 0;
	while (qd_mono_ms() < deadline && (max_msgs <= 0 || n < max_msgs)) {
		char *m = NULL;
		int cc = 0;
		int rc = ws_read_text(ws, 1000, &m, &cc);
		if (rc < 0)
			return -1;
		if (rc == 0)
			continue;
		json_t *e = json_loads(m, 0, NULL);
		free(m);
		assert_non_null(e);
		json_int_t id = json_integer_value(json_object_get(e, "id"));
		json_array_append_new(got, e);
		n++;
		if (until > 0 && id >= until)
			break;
	}
	return n;
}

static void test_stream_resume_after_reconnect(void **state)
{
	(void)state;
	pick_active(3);
	json_t *first = apifx_get_ok("/api/v1/allocations?limit=1", S->tok_acme);
	json_int_t since = json_integer_value(json_object_get(first, "as_of_event_id"));
	json_decref(first);

	WsClient ws;
	char path[128];
	snprintf(path, sizeof path, "/api/v1/events/stream?since=%lld", (long long)since);
	assert_int_equal(ws_connect(&ws, S->port, path, S->tok_acme, "qd-events"), 0);

	act(active_ids[0], "release");
	act(active_ids[1], "restart");
	json_t *got = json_array();
	assert_true(read_until(&ws, got, 0, 3) == 3);
	ws_close(&ws); /* drop mid-stream */
	json_int_t last = json_integer_value(json_object_get(json_array_get(got, json_array_size(got) - 1), "id"));

	/* Events keep happening while we are away. */
	act(active_ids[2], "restart");
	apifx_wait_state(active_ids[0], S->tok_acme, "released");
	apifx_wait_state(active_ids[1], S->tok_acme, "active");
	apifx_wait_state(active_ids[2], S->tok_acme, "active");

	json_t *want = json_array();
	json_t *hist = events_after(since, S->tok_acme, 500);
	json_array_extend(want, hist);
	json_decref(hist);
	assert_true(json_array_size(want) > 3);
	json_int_t newest = json_integer_value(json_object_get(json_array_get(want, json_array_size(want) - 1), "id"));

	/* Resume from the last id seen; no subprotocol this time. */
	snprintf(path, sizeof path, "/api/v1/events/stream?since=%lld", (long long)last);
	assert_int_equal(ws_connect(&ws, S->port, path, S->tok_acme, NULL), 0);
	assert_true(read_until(&ws, got, newest, 0) > 0);
	ws_close(&ws);

	assert_increasing(got);
	/* Exactly the history: same ids in the same order, nothing else. */
	size_t n = 0;
	while (n < json_array_size(got) &&
	       json_integer_value(json_object_get(json_array_get(got, n), "id")) <= newest)
		n++;
	assert_int_equal(n, json_array_size(want));
	for (size_t i = 0; i < n; i++) {
		json_t *a = json_array_get(got, i), *b = json_array_get(want, i);
		assert_int_equal(json_integer_value(json_object_get(a, "id")), json_integer_value(json_object_get(b, "id")));
		assert_string_equal(json_string_value(json_object_get(a, "type")), json_string_value(json_object_get(b, "type")));
		const char *org = json_string_value(json_object_get(a, "org_id"));
		assert_true(!org || strcmp(org, "org_acme") == 0);
	}
	/* The stream carried the allocation as it is after each change. */
	bool released = false;
	json_t *e;
	size_t i;
	json_array_foreach(got, i, e) {
		json_t *al = json_object_get(e, "allocation");
		const char *aid = json_string_value(json_object_get(al, "id"));
		const char *st = json_string_value(json_object_get(al, "state"));
		if (aid && st && strcmp(aid, active_ids[0]) == 0 && strcmp(st, "released") == 0)
			released = true;
	}
	assert_true(released);
	json_decref(got);
	json_decref(want);
	for (int k = 0; k < 3; k++)
		free(active_ids[k]);
}

/* Another org's events never reach a stream. */
static void test_stream_org_filter(void **state)
{
	(void)state;
	WsClient ws;
	assert_int_equal(ws_connect(&ws, S->port, "/api/v1/events/stream?since=0", S->tok_globex, "qd-events"), 0);
	json_t *got = json_array();
	json_t *hist = events_after(0, S->tok_globex, 500);
	json_int_t newest = json_integer_value(json_object_get(json_array_get(hist, json_array_size(hist) - 1), "id"));
	assert_true(read_until(&ws, got, newest, 0) > 0);
	ws_close(&ws);
	json_t *e;
	size_t i;
	json_array_foreach(got, i, e) {
		const char *org = json_string_value(json_object_get(e, "org_id"));
		assert_true(!org || strcmp(org, "org_globex") == 0);
	}
	json_decref(got);
	json_decref(hist);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_events_paging),
		cmocka_unit_test(test_stream_refusals),
		cmocka_unit_test(test_stream_resume_after_reconnect),
		cmocka_unit_test(test_stream_org_filter),
	};
	return cmocka_run_group_tests_name("api_events", tests, apifx_setup, apifx_teardown);
}

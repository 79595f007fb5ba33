/* fixture — shared setup and checks of the API tests (see fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "tests/api/fixture.h"

ApiServer apifx_srv;

int apifx_setup(void **state)
{
	(void)state;
	return apitest_start(&apifx_srv, NULL);
}

int apifx_teardown(void **state)
{
	(void)state;
	int rc = apitest_stop(&apifx_srv);
	if (rc != 0) {
		fprintf(stderr, "qdeckd exited with %d on SIGTERM\n", rc);
		apitest_dump_log(&apifx_srv);
	}
	apitest_cleanup(&apifx_srv);
	return rc == 0 ? 0 : -1;
}

int apifx_cleanup(void **state)
{
	(void)state;
	apitest_cleanup(&apifx_srv);
	return 0;
}

json_t *apifx_get_ok(const char *path, const char *token)
{
	ApiResp r;
	assert_int_equal(api_get(&apifx_srv, path, token, &r), 0);
	if (r.status != 200)
		fail_msg("GET %s -> %ld %s", path, r.status, r.raw ? r.raw : "");
	assert_non_null(r.json);
	json_t *j = json_incref(r.json);
	api_resp_done(&r);
	return j;
}

const char *apifx_jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

json_t *apifx_alloc_ids(const char *token, const char *state, const char *owner)
{
	char path[128];
	snprintf(path, sizeof path, "/api/v1/allocations?state=%s&limit=500", state);
	json_t *j = apifx_get_ok(path, token), *ids = json_array(), *it;
	size_t i;
	json_array_foreach(json_object_get(j, "items"), i, it) {
		const char *o = json_string_value(json_object_get(json_object_get(it, "owner"), "name"));
		json_t *id = json_object_get(it, "id");
		if (json_is_string(id) && (!owner || (o && strcmp(o, owner) == 0)))
			json_array_append(ids, id);
	}
	json_decref(j);
	return ids;
}

char *apifx_alloc(const char *token, const char *state, const char *owner)
{
	json_t *ids = apifx_alloc_ids(token, state, owner);
	const char *first = json_string_value(json_array_get(ids, 0));
	char *id = first ? xstrdup(first) : NULL;
	json_decref(ids);
	return id;
}

void apifx_wait_state(const char *id, const char *token, const char *states)
{
	if (!api_wait_state(&apifx_srv, id, token, states, APIFX_SETTLE_MS)) {
		apitest_dump_log(&apifx_srv);
		fail_msg("allocation %s never reached %s", id, states);
	}
}

json_t *apifx_snapshot(void)
{
	json_t *s = api_snapshot(&apifx_srv);
	assert_non_null(s);
	return s;
}

void apifx_check_unchanged(json_t *before, const char *what, ...)
{
	json_t *after = apifx_snapshot();
	char why[256], subject[256];
	bool same = api_snapshot_unchanged(before, after, why, sizeof why);
	json_decref(before);
	json_decref(after);
	if (same)
		return;
	va_list ap;
	va_start(ap, what);
	vsnprintf(subject, sizeof subject, what, ap);
	va_end(ap);
	fail_msg("%s changed the database: %s", subject, why);
}

/* API tests against a real qdeckd: the demo seed, listing, filters and
 * pagination, the OpenAPI file against what is served, role and org
 * isolation, and every kind of bad input leaving the database unchanged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/util.h"
#include "tests/api/fixture.h"

static ApiServer *const S = &apifx_srv;

/* Every allocation the admin sees, all pages. */
static json_t *all_allocations(const char *query)
{
	json_t *all = json_array();
	char *cursor = NULL;
	for (int i = 0; i < 100; i++) {
		char path[1024];
		snprintf(path, sizeof path, "/api/v1/admin/allocations?limit=500%s%s%s", query ? "&" : "",
		         query ? query : "", cursor ? "&cursor=" : "");
		if (cursor)
			qd_strlcpy(path + strlen(path), cursor, sizeof path - strlen(path));
		free(cursor);
		cursor = NULL;
		json_t *page = apifx_get_ok(path, S->tok_ops);
		json_array_extend(all, json_object_get(page, "items"));
		const char *next = json_string_value(json_object_get(page, "next_cursor"));
		if (next)
			cursor = xstrdup(next); /* the model's cursors are URL-safe base64 */
		json_decref(page);
		if (!cursor)
			break;
	}
	return all;
}

static bool contains_ci(const char *hay, const char *needle)
{
	return hay && strcasestr(hay, needle) != NULL;
}

/* --- tests ------------------------------------------------------------------- */

static void test_healthz_needs_no_token(void **state)
{
	(void)state;
	json_t *j = apifx_get_ok("/api/v1/healthz", NULL);
	assert_true(json_is_true(json_object_get(j, "ok")));
	assert_non_null(json_string_value(json_object_get(j, "version")));
	json_decref(j);
}

static void test_demo_seed(void **state)
{
	(void)state;
	struct {
		const char *tok, *org, *role;
	} who[] = {{S->tok_acme, "acme", "user"},
	           {S->tok_globex, "globex", "user"},
	           {S->tok_ops, NULL, "admin"},
	           {S->tok_billing, NULL, "billing_operator"}};
	for (size_t i = 0; i < QD_ARRAY_LEN(who); i++) {
		json_t *me = apifx_get_ok("/api/v1/me", who[i].tok);
		if (who[i].org)
			assert_string_equal(json_string_value(json_object_get(json_object_get(me, "org"), "name")),
			                    who[i].org);
		bool has_role = false;
		json_t *r;
		size_t k;
		json_array_foreach(json_object_get(me, "roles"), k, r)
			has_role = has_role || strcmp(json_string_value(r), who[i].role) == 0;
		assert_true(has_role);
		json_decref(me);
	}

	/* Nodes: 20+, several GPU models, 3+ regions. */
	json_t *nodes = apifx_get_ok("/api/v1/nodes?limit=500", S->tok_ops);
	json_t *items = json_object_get(nodes, "items"), *n;
	size_t i;
	assert_true(json_array_size(items) >= 20);
	bool h100 = false, a100 = false, l40s = false;
	json_t *regions = json_object();
	json_array_foreach(items, i, n) {
		const char *m = json_string_value(json_object_get(n, "gpu_model"));
		h100 = h100 || contains_ci(m, "H100");
		a100 = a100 || contains_ci(m, "A100");
		l40s = l40s || contains_ci(m, "L40S");
		json_object_set_new(regions, json_string_value(json_object_get(n, "region")), json_true());
	}
	assert_true(h100 && a100 && l40s);
	assert_true(json_object_size(regions) >= 3);
	json_decref(regions);
	json_decref(nodes);

	/* SKUs: whole-node and slice, one sold out. */
	json_t *skus = apifx_get_ok("/api/v1/skus", S->tok_acme);
	bool node_kind = false, slice_kind = false, sold_out = false;
	json_array_foreach(json_object_get(skus, "items"), i, n) {
		const char *k = json_string_value(json_object_get(n, "kind"));
		node_kind = node_kind || (k && strcmp(k, "node") == 0);
		slice_kind = slice_kind || (k && strcmp(k, "slice") == 0);
		sold_out = sold_out || json_is_false(json_object_get(n, "available"));
	}
	assert_true(node_kind && slice_kind && sold_out);
	json_decref(skus);

	/* Allocations: 60+, both orgs, every state (in-progress ones may already
	 * have moved on at --speed 50, so their creation events count too). */
	json_t *all = all_allocations(NULL);
	assert_true(json_array_size(all) >= 60);
	unsigned seen = 0;
	bool acme = false, globex = false, archived = false;
	json_t *reasons = json_object();
	const char *states[] = {"provisioning", "active", "restarting", "restart_failed",
	                        "releasing", "release_failed", "released", "failed"};
	json_array_foreach(all, i, n) {
		const char *st = json_string_value(json_object_get(n, "state"));
		for (unsigned s = 0; s < QD_ARRAY_LEN(states); s++)
			if (st && strcmp(st, states[s]) == 0)
				seen |= 1u << s;
		const char *org = json_string_value(json_object_get(n, "org_id"));
		acme = acme || (org && strcmp(org, "org_acme") == 0);
		globex = globex || (org && strcmp(org, "org_globex") == 0);
		if (st && strcmp(st, "release_failed") == 0) {
			const char *code = json_string_value(
			        json_object_get(json_object_get(n, "release_failed_reason"), "code"));
			assert_non_null(code);
			json_object_set_new(reasons, code, json_true());
		}
		if (!json_is_null(json_object_get(n, "archived_at")) &&
		    json_is_false(json_object_get(n, "is_actionable")))
			archived = true;
	}
	json_t *events = apifx_get_ok("/api/v1/events?since=0&limit=500", S->tok_ops);
	json_array_foreach(json_object_get(events, "items"), i, n) {
		const char *st = json_string_value(json_object_get(json_object_get(n, "allocation"), "state"));
		for (unsigned s = 0; s < QD_ARRAY_LEN(states); s++)
			if (st && strcmp(st, states[s]) == 0)
				seen |= 1u << s;
	}
	json_decref(events);
	for (unsigned s = 0; s < QD_ARRAY_LEN(states); s++)
		if (!(seen & (1u << s)))
			fail_msg("no allocation was ever in state %s", states[s]);
	assert_true(acme && globex);
	assert_true(json_object_size(reasons) >= 2);
	assert_true(archived);
	json_decref(reasons);
	json_decref(all);
}

static void test_pagination_no_dupes_no_gaps(void **state)
{
	(void)state;
	const char *tokens[] = {S->tok_acme, S->tok_ops};
	const char *paths[] = {"/api/v1/allocations", "/api/v1/admin/allocations"};
	for (int t = 0; t < 2; t++) {
		json_t *big = api_collect_ids(S, paths[t], tokens[t], 500);
		json_t *small = api_collect_ids(S, paths[t], tokens[t], 7);
		json_t *one = api_collect_ids(S, paths[t], tokens[t], 1);
		assert_non_null(big);
		assert_non_null(small);
		assert_non_null(one);
		assert_true(json_array_size(big) > 7);
		assert_true(json_equal(big, small));
		assert_true(json_equal(big, one));
		for (size_t i = 1; i < json_array_size(big); i++)
			assert_string_not_equal(json_string_value(json_array_get(big, i - 1)),
			                        json_string_value(json_array_get(big, i)));
		json_decref(big);
		json_decref(small);
		json_decref(one);
	}
	/* The user sees only their org. */
	json_t *mine = apifx_get_ok("/api/v1/allocations?limit=500", S->tok_acme);
	json_t *it;
	size_t i;
	json_array_foreach(json_object_get(mine, "items"), i, it)
		assert_string_equal(json_string_value(json_object_get(it, "org_id")), "org_acme");
	assert_true(json_is_integer(json_object_get(mine, "as_of_event_id")));
	json_decref(mine);
}

static void test_limit_and_cursor_bounds(void **state)
{
	(void)state;
	const char *bad[] = {"0", "501", "-1", "abc", "1e3", "99999999999999999999", "", "5x"};
	for (size_t i = 0; i < QD_ARRAY_LEN(bad); i++) {
		char path[128];
		snprintf(path, sizeof path, "/api/v1/allocations?limit=%s", bad[i]);
		ApiResp r;
		assert_int_equal(api_get(S, path, S->tok_acme, &r), 0);
		if (!api_is_error(&r, 400, "invalid_limit"))
			fail_msg("limit=%s: got %ld %s", bad[i], r.status, r.raw);
		api_resp_done(&r);
	}
	json_t *j = apifx_get_ok("/api/v1/allocations?limit=1", S->tok_acme);
	assert_int_equal(json_array_size(json_object_get(j, "items")), 1);
	json_decref(j);
	j = apifx_get_ok("/api/v1/admin/allocations?limit=500", S->tok_ops);
	assert_true(json_array_size(json_object_get(j, "items")) <= 500);
	json_decref(j);
	const char *cursors[] = {"garbage", "%01%02", "YWJj", "bm90LWEtY3Vyc29y"};
	for (size_t i = 0; i < QD_ARRAY_LEN(cursors); i++) {
		char path[128];
		snprintf(path, sizeof path, "/api/v1/allocations?cursor=%s", cursors[i]);
		ApiResp r;
		assert_int_equal(api_get(S, path, S->tok_acme, &r), 0);
		if (!api_is_error(&r, 400, NULL))
			fail_msg("cursor=%s: got %ld %s", cursors[i], r.status, r.raw);
		api_resp_done(&r);
	}
}

/* Each filter returns only matching rows, and a non-empty set where the seed has some. */
static void test_filters(void **state)
{
	(void)state;
	json_t *all = all_allocations(NULL);
	json_t *sample = NULL, *it;
	size_t i;
	json_array_foreach(all, i, it)
		if (!json_is_null(json_object_get(it, "node")) && !sample)
			sample = it;
	assert_non_null(sample);
	const char *node = json_string_value(json_object_get(json_object_get(sample, "node"), "id"));
	const char *project = json_string_value(json_object_get(json_object_get(sample, "project"), "id"));
	char name_part[16];
	qd_strlcpy(name_part, json_string_value(json_object_get(sample, "name")), 6);

	char q[256];
	json_t *f;

	f = all_allocations("state=release_failed");
	assert_true(json_array_size(f) >= 2);
	json_array_foreach(f, i, it)
		assert_string_equal(json_string_value(json_object_get(it, "state")), "release_failed");
	json_decref(f);

	f = all_allocations("state=active,failed");
	assert_true(json_array_size(f) >= 1);
	json_array_foreach(f, i, it) {
		const char *st = json_string_value(json_object_get(it, "state"));
		assert_true(strcmp(st, "active") == 0 || strcmp(st, "failed") == 0);
	}
	json_decref(f);

	f = all_allocations("actionable=true");
	assert_true(json_array_size(f) >= 1);
	json_array_foreach(f, i, it)
		assert_true(json_is_true(json_object_get(it, "is_actionable")));
	json_decref(f);

	f = all_allocations("actionable=false");
	json_array_foreach(f, i, it)
		assert_true(json_is_false(json_object_get(it, "is_actionable")));
	json_decref(f);

	f = all_allocations("archived=true");
	assert_true(json_array_size(f) >= 1);
	json_array_foreach(f, i, it)
		assert_false(json_is_null(json_object_get(it, "archived_at")));
	json_decref(f);

	f = all_allocations("archived=false");
	assert_true(json_array_size(f) >= 1);
	json_array_foreach(f, i, it)
		assert_true(json_is_null(json_object_get(it, "archived_at")));
	json_decref(f);

	snprintf(q, sizeof q, "node=%s", node);
	f = all_allocations(q);
	assert_true(json_array_size(f) >= 1);
	json_array_foreach(f, i, it)
		assert_string_equal(json_string_value(json_object_get(json_object_get(it, "node"), "id")), node);
	json_decref(f);

	snprintf(q, sizeof q, "project=%s", project);
	f = all_allocations(q);
	assert_true(json_array_size(f) >= 1);
	json_array_foreach(f, i, it)
		assert_string_equal(json_string_value(json_object_get(json_object_get(it, "project"), "id")),
		                    project);
	json_decref(f);

	snprintf(q, sizeof q, "q=%s", name_part);
	f = all_allocations(q);
	assert_true(json_array_size(f) >= 1);
	json_array_foreach(f, i, it) {
		const char *fields[] = {
		        json_string_value(json_object_get(it, "name")),
		        json_string_value(json_object_get(it, "id")),
		        json_string_value(json_object_get(json_object_get(it, "node"), "name")),
		        json_string_value(json_object_get(json_object_get(it, "owner"), "name"))};
		bool hit = false;
		for (size_t k = 0; k < QD_ARRAY_LEN(fields); k++)
			hit = hit || contains_ci(fields[k], name_part);
		assert_true(hit);
	}
	json_decref(f);
	json_decref(all);

	/* The user-scope list takes the same filters. */
	json_t *u = apifx_get_ok("/api/v1/allocations?state=released&archived=true&limit=500", S->tok_acme);
	json_array_foreach(json_object_get(u, "items"), i, it) {
		assert_string_equal(json_string_value(json_object_get(it, "state")), "released");
		assert_string_equal(json_string_value(json_object_get(it, "org_id")), "org_acme");
	}
	json_decref(u);
}

/* --- the OpenAPI file ----------------------------------------------------------- */

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	QdBuf b;
	qdbuf_init(&b);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		qdbuf_append(&b, chunk, n);
	fclose(f);
	char *s = xstrdup(qdbuf_cstr(&b));
	qdbuf_done(&b);
	return s;
}

static char *openapi_text(void)
{
	const char *candidates[] = {"docs/api/openapi.yaml", "../docs/api/openapi.yaml",
	                            "../../docs/api/openapi.yaml", "../../../docs/api/openapi.yaml"};
	const char *env = getenv("QD_OPENAPI");
	if (env)
		return read_file(env);
	for (size_t i = 0; i < QD_ARRAY_LEN(candidates); i++) {
		char *s = read_file(candidates[i]);
		if (s)
			return s;
	}
	return NULL;
}

/* The `required: [...]` list of components.schemas.NAME as a JSON array. */
static json_t *schema_required(const char *yaml, const char *name)
{
	char key[80];
	snprintf(key, sizeof key, "\n    %s:\n", name);
	const char *p = strstr(yaml, key);
	if (!p)
		return NULL;
	p += strlen(key);
	/* Only inside this schema: stop at the next 4-space key. */
	const char *end = strstr(p, "\n    ");
	while (end && end[5] == ' ')
		end = strstr(end + 1, "\n    ");
	const char *req = strstr(p, "      required: [");
	if (!req || (end && req > end))
		return NULL;
	req += strlen("      required: [");
	const char *close = strchr(req, ']');
	json_t *out = json_array();
	while (req < close) {
		while (*req == ' ' || *req == ',')
			req++;
		size_t n = strcspn(req, ",]");
		char field[64];
		qd_strlcpy(field, req, QD_MIN(n + 1, sizeof field));
		if (*field)
			json_array_append_new(out, json_string(field));
		req += n;
	}
	return out;
}

static void assert_has_fields(json_t *obj, json_t *required, const char *what)
{
	json_t *f;
	size_t i;
	assert_non_null(required);
	assert_true(json_array_size(required) > 0);
	json_array_foreach(required, i, f)
		if (!json_object_get(obj, json_string_value(f)))
			fail_msg("%s lacks required field %s", what, json_string_value(f));
}

static void test_openapi_paths_are_served(void **state)
{
	(void)state;
	char *yaml = openapi_text();
	assert_non_null(yaml);
	assert_non_null(strstr(yaml, "openapi: 3.1"));

	/* Real ids to put into {id}. */
	json_t *list = apifx_get_ok("/api/v1/allocations?state=active&limit=1", S->tok_acme);
	json_t *alloc = json_array_get(json_object_get(list, "items"), 0);
	assert_non_null(alloc);
	char alloc_id[80], task_id[80] = "", node_id[80];
	qd_strlcpy(alloc_id, json_string_value(json_object_get(alloc, "id")), sizeof alloc_id);
	if (json_is_string(json_object_get(alloc, "task_id")))
		qd_strlcpy(task_id, json_string_value(json_object_get(alloc, "task_id")), sizeof task_id);
	qd_strlcpy(node_id, json_string_value(json_object_get(json_object_get(alloc, "node"), "id")),
	           sizeof node_id);
	assert_true(task_id[0] != '\0');

	int paths = 0, ops = 0;
	const char *section = strstr(yaml, "\npaths:\n");
	assert_non_null(section);
	char cur[256] = "";
	for (const char *line = section + 8; *line && !(line[0] != ' ' && line[0] != '\n');) {
		const char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		char l[512];
		qd_strlcpy(l, line, QD_MIN(len + 1, sizeof l));
		if (strncmp(l, "  /", 3) == 0 && l[len - 1] == ':') {
			qd_strlcpy(cur, l + 2, QD_MIN(len - 2, sizeof cur));
			paths++;
		} else if (cur[0] && (strcmp(l, "    get:") == 0 || strcmp(l, "    post:") == 0)) {
			bool is_get = strcmp(l, "    get:") == 0;
			/* Fill {id} by what the path names. */
			char path[512];
			const char *brace = strstr(cur, "{id}");
			if (brace) {
				const char *id = strstr(cur, "/tasks/") ? task_id
				                 : strstr(cur, "/nodes/") ? node_id
				                                          : alloc_id;
				snprintf(path, sizeof path, "%.*s%s%s", (int)(brace - cur), cur, id, brace + 4);
			} else {
				qd_strlcpy(path, cur, sizeof path);
			}
			ApiResp r;
			/* POSTs get a body that is not an object: routed and refused
			 * before anything changes (400), never 404 or 405. */
			if (is_get)
				assert_int_equal(api_get(S, path, S->tok_ops, &r), 0);
			else
				assert_int_equal(api_post(S, path, S->tok_ops, "[]", &r), 0);
			if (r.status == 404 || r.status == 405 || r.status == 0 || r.status >= 500)
				fail_msg("%s %s (from openapi.yaml) answered %ld: %s", is_get ? "GET" : "POST",
				         path, r.status, r.raw ? r.raw : "");
			if (!is_get)
				assert_int_equal(r.status, 400);
			api_resp_done(&r);
			ops++;
		}
		if (!eol)
			break;
		line = eol + 1;
	}
	assert_true(paths >= 20);
	assert_true(ops >= paths);

	/* Responses carry what the schema requires. */
	json_t *req = schema_required(yaml, "Allocation");
	char path[256];
	snprintf(path, sizeof path, "/api/v1/allocations/%s", alloc_id);
	json_t *one = apifx_get_ok(path, S->tok_acme);
	assert_has_fields(one, req, "allocation");
	json_t *it;
	size_t i;
	json_t *many = apifx_get_ok("/api/v1/admin/allocations?limit=500", S->tok_ops);
	json_array_foreach(json_object_get(many, "items"), i, it)
		assert_has_fields(it, req, "listed allocation");
	json_t *list_req = schema_required(yaml, "AllocationList");
	assert_has_fields(many, list_req, "allocation list");
	json_decref(list_req);
	json_decref(many);
	json_decref(one);
	json_decref(req);

	struct {
		const char *schema, *path, *item;
	} more[] = {{"Me", "/api/v1/me", NULL},
	            {"Sku", "/api/v1/skus", "items"},
	            {"Node", "/api/v1/nodes", "items"},
	            {"Task", NULL, NULL},
	            {"Event", "/api/v1/events?since=0&limit=20", "items"},
	            {"Health", "/api/v1/healthz", NULL}};
	for (size_t k = 0; k < QD_ARRAY_LEN(more); k++) {
		char tp[256];
		const char *p = more[k].path;
		if (!p) {
			snprintf(tp, sizeof tp, "/api/v1/tasks/%s", task_id);
			p = tp;
		}
		json_t *body = apifx_get_ok(p, S->tok_ops);
		json_t *r = schema_required(yaml, more[k].schema);
		if (more[k].item) {
			assert_true(json_array_size(json_object_get(body, more[k].item)) > 0);
			json_array_foreach(json_object_get(body, more[k].item), i, it)
				assert_has_fields(it, r, more[k].schema);
		} else {
			assert_has_fields(body, r, more[k].schema);
		}
		json_decref(r);
		json_decref(body);
	}
	json_decref(list);
	free(yaml);
}

/* --- isolation ------------------------------------------------------------------ */

static void expect(const char *method, const char *path, const char *token, const char *body,
                   long status, const char *code)
{
	ApiResp r;
	assert_int_equal(apitest_request(S, method, path, token, body, body ? strlen(body) : 0, &r), 0);
	if (!api_is_error(&r, status, code))
		fail_msg("%s %s: want %ld %s, got %ld %s", method, path, status, code ? code : "",
		         r.status, r.raw ? r.raw : "");
	api_resp_done(&r);
}

static void test_role_isolation(void **state)
{
	(void)state;
	char *id = apifx_alloc(S->tok_acme, "release_failed", NULL);
	assert_non_null(id);
	char path[256];
	snprintf(path, sizeof path, "/api/v1/admin/allocations/%s/force-release", id);
	const char *users[] = {S->tok_acme, S->tok_globex, S->tok_billing};
	for (size_t i = 0; i < QD_ARRAY_LEN(users); i++) {
		expect("GET", "/api/v1/admin/allocations", users[i], NULL, 403, "forbidden");
		expect("POST", path, users[i], "{\"reason\":\"x\"}", 403, "forbidden");
		expect("POST", "/api/v1/admin/faults", users[i], "{\"kind\":\"stall\"}", 403, "forbidden");
	}
	expect("GET", "/api/v1/admin/audit-logs", S->tok_acme, NULL, 403, "forbidden");
	expect("GET", "/api/v1/admin/audit-logs", S->tok_globex, NULL, 403, "forbidden");
	json_t *j = apifx_get_ok("/api/v1/admin/audit-logs", S->tok_billing);
	json_decref(j);
	j = apifx_get_ok("/api/v1/admin/audit-logs", S->tok_ops);
	json_decref(j);
	free(id);
}

static void test_org_isolation(void **state)
{
	(void)state;
	char *id = apifx_alloc(S->tok_acme, "active", NULL);
	assert_non_null(id);
	char path[256];
	snprintf(path, sizeof path, "/api/v1/allocations/%s", id);
	expect("GET", path, S->tok_globex, NULL, 404, "not_found");
	snprintf(path, sizeof path, "/api/v1/allocations/%s/release", id);
	expect("POST", path, S->tok_globex, NULL, 404, "not_found");
	snprintf(path, sizeof path, "/api/v1/allocations/%s/restart", id);
	expect("POST", path, S->tok_globex, NULL, 404, "not_found");

	snprintf(path, sizeof path, "/api/v1/allocations/%s", id);
	json_t *a = apifx_get_ok(path, S->tok_acme);
	const char *task = json_string_value(json_object_get(a, "task_id"));
	if (task) {
		snprintf(path, sizeof path, "/api/v1/tasks/%s", task);
		expect("GET", path, S->tok_globex, NULL, 404, "not_found");
	}
	json_decref(a);

	json_t *g = apifx_get_ok("/api/v1/allocations?limit=500", S->tok_globex);
	json_t *it;
	size_t i;
	assert_true(json_array_size(json_object_get(g, "items")) > 0);
	json_array_foreach(json_object_get(g, "items"), i, it)
		assert_string_equal(json_string_value(json_object_get(it, "org_id")), "org_globex");
	json_decref(g);
	json_t *ev = apifx_get_ok("/api/v1/events?since=0&limit=500", S->tok_globex);
	json_array_foreach(json_object_get(ev, "items"), i, it) {
		const char *org = json_string_value(json_object_get(it, "org_id"));
		assert_true(org == NULL || strcmp(org, "org_acme") != 0);
	}
	json_decref(ev);
	free(id);
}

/* --- bad input ------------------------------------------------------------------ */

static void test_bad_input_changes_nothing(void **state)
{
	(void)state;
	char *active = apifx_alloc(S->tok_acme, "active", NULL);
	char *released = apifx_alloc(S->tok_acme, "released", NULL);
	assert_non_null(active);
	assert_non_null(released);
	json_t *before = apifx_snapshot();
	char path[256];

	/* malformed JSON, wrong shapes and types, unknown enums and references */
	expect("POST", "/api/v1/allocations", S->tok_acme, "{\"name\": ", 400, "invalid_json");
	expect("POST", "/api/v1/allocations", S->tok_acme, "{\"name\": \"x\",}", 400, "invalid_json");
	expect("POST", "/api/v1/allocations", S->tok_acme, "[1,2]", 400, "invalid_json");
	expect("POST", "/api/v1/allocations", S->tok_acme, "\"str\"", 400, "invalid_json");
	expect("POST", "/api/v1/allocations", S->tok_acme, "", 400, "invalid_json");
	expect("POST", "/api/v1/allocations", S->tok_acme, "{\"a\":1,\"a\":2}", 400, "invalid_json");
	expect("POST", "/api/v1/allocations", S->tok_acme,
	       "{\"name\":\"t\",\"sku_id\":\"sku_h100_slice\",\"gpu_count\":\"two\","
	       "\"image_id\":\"img_ubuntu2204_cuda124\",\"network_id\":\"net_default\",\"ssh_key_ids\":[]}",
	       400, NULL);
	expect("POST", "/api/v1/allocations", S->tok_acme,
	       "{\"name\":42,\"sku_id\":\"sku_h100_slice\",\"gpu_count\":1,"
	       "\"image_id\":\"img_ubuntu2204_cuda124\",\"network_id\":\"net_default\",\"ssh_key_ids\":[]}",
	       400, NULL);
	ApiResp r;
	assert_int_equal(api_post(S, "/api/v1/allocations", S->tok_acme,
	                          "{\"name\":\"t\",\"sku_id\":\"sku_nope\",\"gpu_count\":1,"
	                          "\"image_id\":\"img_ubuntu2204_cuda124\",\"network_id\":\"net_default\","
	                          "\"ssh_key_ids\":[]}",
	                          &r),
	                 0);
	assert_true(r.status == 400 || r.status == 422);
	assert_true(api_is_error(&r, r.status, NULL));
	api_resp_done(&r);
	expect("GET", "/api/v1/allocations?state=bogus", S->tok_acme, NULL, 400, NULL);
	expect("GET", "/api/v1/allocations?state=active,", S->tok_acme, NULL, 400, NULL);
	expect("GET", "/api/v1/allocations?actionable=maybe", S->tok_acme, NULL, 400, NULL);
	expect("GET", "/api/v1/allocations?node=bad%20id", S->tok_acme, NULL, 400, NULL);
	expect("GET", "/api/v1/allocations?limit=5&limit=6", S->tok_acme, NULL, 400, NULL);
	expect("GET", "/api/v1/allocations?colour=red", S->tok_acme, NULL, 400, NULL);
	expect("GET", "/api/v1/events?since=-1", S->tok_acme, NULL, 400, NULL);
	expect("GET", "/api/v1/events?since=abc", S->tok_acme, NULL, 400, NULL);
	expect("GET", "/api/v1/events?limit=100000", S->tok_acme, NULL, 400, "invalid_limit");
	expect("POST", "/api/v1/admin/faults", S->tok_ops, "{\"kind\":\"meteor\"}", 400, NULL);
	expect("POST", "/api/v1/ssh-keys", S->tok_acme, "{\"name\":\"k\",\"public_key\":\"nope\"}", 400, NULL);

	/* oversized body */
	size_t big = 100 * 1024;
	char *huge = xmalloc(big + 1);
	memset(huge, ' ', big);
	huge[0] = '{';
	huge[big - 1] = '}';
	huge[big] = '\0';
	assert_int_equal(apitest_request(S, "POST", "/api/v1/allocations", S->tok_acme, huge, big, &r), 0);
	assert_true(api_is_error(&r, 413, "body_too_large"));
	api_resp_done(&r);
	free(huge);

	/* tokens */
	assert_int_equal(api_get(S, "/api/v1/allocations", NULL, &r), 0);
	assert_true(api_is_error(&r, 401, "unauthorized"));
	assert_non_null(strstr(json_string_value(json_object_get(json_object_get(r.json, "error"),
	                                                         "suggestion")),
	                       "qdeckd token create"));
	api_resp_done(&r);
	expect("GET", "/api/v1/allocations", "not-a-real-token", NULL, 401, "unauthorized");
	expect("POST", "/api/v1/allocations", "not-a-real-token", "{}", 401, "unauthorized");

	/* unknown ids, bad ids, unknown paths, wrong methods */
	expect("GET", "/api/v1/allocations/al_doesnotexist", S->tok_acme, NULL, 404, "not_found");
	expect("POST", "/api/v1/allocations/al_doesnotexist/release", S->tok_acme, NULL, 404, "not_found");
	expect("GET", "/api/v1/tasks/tk_nope", S->tok_acme, NULL, 404, "not_found");
	expect("GET", "/api/v1/nodes/nd_nope", S->tok_acme, NULL, 404, "not_found");
	expect("GET", "/api/v1/allocations/bad$id", S->tok_acme, NULL, 404, "not_found");
	expect("GET", "/api/v1/allocations/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	       S->tok_acme, NULL, 404, "not_found");
	expect("GET", "/api/v1/nope", S->tok_acme, NULL, 404, "not_found");
	expect("GET", "/api/v2/allocations", S->tok_acme, NULL, 404, "not_found");
	expect("DELETE", "/api/v1/allocations", S->tok_acme, NULL, 405, "method_not_allowed");
	expect("PUT", "/api/v1/me", S->tok_acme, "{}", 405, "method_not_allowed");
	snprintf(path, sizeof path, "/api/v1/allocations/%s", active);
	expect("DELETE", path, S->tok_acme, NULL, 405, "method_not_allowed");
	expect("GET", "/api/v1/events/stream", S->tok_acme, NULL, 400, "websocket_required");

	/* forbidden transitions and refusals */
	snprintf(path, sizeof path, "/api/v1/allocations/%s/release", released);
	assert_int_equal(api_post(S, path, S->tok_acme, NULL, &r), 0);
	assert_true(api_is_error(&r, 409, NULL));
	assert_non_null(strstr(json_string_value(json_object_get(json_object_get(r.json, "error"), "message")),
	                       "released"));
	api_resp_done(&r);
	snprintf(path, sizeof path, "/api/v1/allocations/%s/restart", released);
	expect("POST", path, S->tok_acme, NULL, 409, NULL);
	snprintf(path, sizeof path, "/api/v1/admin/allocations/%s/force-release", active);
	expect("POST", path, S->tok_ops, "{}", 422, "reason_required");
	expect("POST", path, S->tok_ops, "{\"reason\":\"\"}", 422, "reason_required");
	expect("POST", path, S->tok_ops, "{\"reason\":17}", 400, NULL);
	snprintf(path, sizeof path, "/api/v1/allocations/%s/release", active);
	expect("POST", path, S->tok_acme, "not json", 400, "invalid_json");

	apifx_check_unchanged(before, "bad requests");
	json_t *h = apifx_get_ok("/api/v1/healthz", NULL);
	json_decref(h);
	free(active);
	free(released);
}

/* One line per request with its request id, and never a token. */
static void test_log_has_no_secrets(void **state)
{
	(void)state;
	ApiResp r;
	assert_int_equal(api_get(S, "/api/v1/me?token=leak", S->tok_acme, &r), 0);
	char rid[32];
	qd_strlcpy(rid, r.request_id, sizeof rid);
	api_resp_done(&r);
	char *log = read_file(S->log);
	assert_non_null(log);
	assert_non_null(strstr(log, rid));
	assert_null(strstr(log, "token=leak"));
	const char *toks[] = {S->tok_acme, S->tok_globex, S->tok_ops, S->tok_billing};
	for (size_t i = 0; i < QD_ARRAY_LEN(toks); i++)
		assert_null(strstr(log, toks[i]));
	assert_null(strstr(log, "Bearer"));
	free(log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_healthz_needs_no_token),
		cmocka_unit_test(test_demo_seed),
		cmocka_unit_test(test_pagination_no_dupes_no_gaps),
		cmocka_unit_test(test_limit_and_cursor_bounds),
		cmocka_unit_test(test_filters),
		cmocka_unit_test(test_openapi_paths_are_served),
		cmocka_unit_test(test_role_isolation),
		cmocka_unit_test(test_org_isolation),
		cmocka_unit_test(test_bad_input_changes_nothing),
		cmocka_unit_test(test_log_has_no_secrets),
	};
	return cmocka_run_group_tests_name("api_basic", tests, apifx_setup, apifx_teardown);
}

/* libFuzzer target for qdeckd's router: routes_handle() driven directly, no
 * sockets, against a demo-seeded database in a private temp dir (created once
 * in LLVMFuzzerInitialize, removed at exit; the reconciler does not run).
 *
 * Input layout (no seed corpus needed: known paths come from a dictionary):
 *   byte 0   bits 0-2 method, bits 3-4 Authorization (none, admin, user,
 *            garbage), bits 5-7 which real id an empty id field becomes;
 *            bit 7 also sends an (empty) body, bits 5-6 and byte 1 bit 0
 *            all set mark the body as over the cap (as http.c would)
 *   byte 1   < 0xC0: ROUTE_PATHS[b % N], "{id}" replaced by the id field
 *            (or, when that is empty, a real id of the path's kind);
 *            >= 0xC0: the path is the first field, verbatim
 *   then     fields separated by 0x00: id or path, query, body. The query is
 *            split on '&' and '=' like http.c does; a body of 0x01 plus one
 *            byte picks a well-formed body from BODIES.
 *
 * Invariant checked on every response: status 100..599, the body is valid
 * JSON, and for status >= 400 an "error" object with code, message and
 * request_id strings. Built by `make fuzz`. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/util.h"
#include "server/db_internal.h"
#include "server/model.h"
#include "server/routes.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static Db *g_db;
static Routes *g_routes;
static char g_dir[64];
static char g_path[128];
static char g_auth[4][192];   /* none (unused), admin, user, garbage */
/* Real ids per kind (allocations, nodes, tasks), so {id} routes get past 404. */
static char g_ids[3][8][48];
static int g_nids[3];
static bool g_verbose;

static const char *const METHODS[8] = {"GET", "POST", "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"};

static const char *const ROUTE_PATHS[] = {
	"/api/v1/healthz",
	"/api/v1/me",
	"/api/v1/skus",
	"/api/v1/images",
	"/api/v1/networks",
	"/api/v1/ssh-keys",
	"/api/v1/allocations",
	"/api/v1/allocations/{id}",
	"/api/v1/allocations/{id}/release",
	"/api/v1/allocations/{id}/restart",
	"/api/v1/allocations/{id}/terminal-token",
	"/api/v1/tasks/{id}",
	"/api/v1/events",
	"/api/v1/events/stream",
	"/api/v1/nodes",
	"/api/v1/nodes/{id}",
	"/api/v1/admin/allocations",
	"/api/v1/admin/allocations/{id}/force-release",
	"/api/v1/admin/nodes/{id}/scheduling",
	"/api/v1/admin/audit-logs",
	"/api/v1/admin/faults",
	"/api/v1/terminal",
};

/* Well-formed bodies the fuzzer could hardly assemble byte by byte, so the
 * write paths (create, key add, release, force release, scheduling, faults)
 * run to completion too. A body field of 0x01 and one selector byte picks one. */
static const char *const BODIES[] = {
	"{\"name\":\"fz\",\"sku_id\":\"sku_h100_slice\",\"gpu_count\":1,\"image_id\":\"img_ubuntu2204_cuda124\","
	"\"network_id\":\"net_default\",\"ssh_key_ids\":[]}",
	"{\"name\":\"fz2\",\"sku_id\":\"sku_a100_node\",\"gpu_count\":8,\"image_id\":\"img_ngc_pytorch_2409\","
	"\"network_id\":\"net_default\",\"ssh_key_ids\":[],\"project_id\":\"prj_acme_infer\","
	"\"storage\":[{\"name\":\"d\",\"size_gb\":10,\"mount_path\":\"/mnt/d\"}],"
	"\"runtime\":{\"bundle\":\"pytorch\",\"version\":\"2.4\"}}",
	"{\"name\":\"k\",\"public_key\":"
	"\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f fz\"}",
	"{\"reason\":\"fuzz\"}",
	"{\"enabled\":false,\"reason\":\"fuzz\"}",
	"{\"enabled\":true}",
	"{\"kind\":\"release_fail\",\"reason_code\":\"x\",\"message\":\"y\",\"count\":1}",
	"{\"kind\":\"stall\"}",
	"{}",
};

static void cleanup(void)
{
	routes_free(&g_routes);
	db_close(&g_db);
	/* the db, its WAL and shm, and any scratch dir the model made under it */
	char cmd[128];
	if (g_dir[0]) {
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
		if (system(cmd) != 0)
			fprintf(stderr, "fuzz_routes: could not remove %s\n", g_dir);
	}
}

static void die(const char *what, const ApiError *e)
{
	fprintf(stderr, "fuzz_routes: %s: %s\n", what, e ? e->message : "");
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *tmp = getenv("TMPDIR");
	snprintf(g_dir, sizeof g_dir, "%s/qd-fuzz-routes-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(g_dir))
		die("mkdtemp", NULL);
	snprintf(g_path, sizeof g_path, "%s/fuzz.db", g_dir);
	atexit(cleanup);
	g_verbose = getenv("FUZZ_ROUTES_VERBOSE") != NULL;

	ApiError err;
	g_db = db_open(g_path, &err);
	if (!g_db)
		die("db_open", &err);
	/* Durability is not under test here and fsync per mutation would cap the
	 * fuzzer at a few hundred execs/s. db_exec is the db layer's own helper. */
	if (!db_exec(g_db, "PRAGMA synchronous=OFF"))
		die("synchronous=OFF", NULL);
	if (db_seed_demo(g_db, &err) != 1)
		die("seed", &err);

	char *t;
	if (!(t = db_token_create(g_db, "ops", &err)))
		die("token ops", &err);
	snprintf(g_auth[1], sizeof g_auth[1], "Bearer %s", t);
	free(t);
	if (!(t = db_token_create(g_db, "acme-dev", &err)))
		die("token acme-dev", &err);
	snprintf(g_auth[2], sizeof g_auth[2], "Bearer %s", t);
	free(t);
	snprintf(g_auth[3], sizeof g_auth[3], "Bearer qdt_not-a-real-token");

	/* A rate high enough that the bucket never empties: 429 is not the point. */
	g_routes = routes_new(g_db, NULL, 1e12, 1e12);
	routes_set_base_url(g_routes, "http://127.0.0.1:1");

	static const char *const ID_SQL[3] = {
		"SELECT id FROM allocations ORDER BY id LIMIT 8",
		"SELECT id FROM nodes ORDER BY id LIMIT 8",
		"SELECT id FROM tasks ORDER BY id LIMIT 8",
	};
	for (int k = 0; k < 3; k++) {
		sqlite3_stmt *st = db_prep(g_db, ID_SQL[k]);
		if (!st)
			die("reading ids", NULL);
		while (g_nids[k] < 8 && sqlite3_step(st) == SQLITE_ROW)
			qd_strlcpy(g_ids[k][g_nids[k]++], (const char *)sqlite3_column_text(st, 0),
			           sizeof g_ids[k][0]);
		sqlite3_reset(st);
	}
	return 0;
}

/* Next 0x00-separated field of [*p, end); NULL-terminated copy in buf. */
static size_t next_field(const uint8_t **p, const uint8_t *end, char *buf, size_t bufsz)
{
	const uint8_t *s = *p;
	const uint8_t *z = memchr(s, 0, (size_t)(end - s));
	size_t n = z ? (size_t)(z - s) : (size_t)(end - s);
	*p = z ? z + 1 : end;
	size_t k = n < bufsz - 1 ? n : bufsz - 1;
	memcpy(buf, s, k);
	buf[k] = '\0';
	return n;
}

static void check_response(const RouteRequest *req, const RouteResponse *resp)
{
	if (resp->status < 100 || resp->status > 599) {
		fprintf(stderr, "%s %s: status %d\n", req->method, req->path, resp->status);
		abort();
	}
	if (!resp->body) {
		fprintf(stderr, "%s %s: %d without a body\n", req->method, req->path, resp->status);
		abort();
	}
	json_error_t jerr;
	json_t *j = json_loadb(resp->body, resp->body_len, JSON_DECODE_ANY, &jerr);
	if (!j) {
		fprintf(stderr, "%s %s: %d body is not JSON (%s): %.*s\n", req->method, req->path,
		        resp->status, jerr.text, (int)(resp->body_len > 300 ? 300 : resp->body_len),
		        resp->body);
		abort();
	}
	if (resp->status >= 400) {
		json_t *e = json_object_get(j, "error");
		if (!json_is_object(e) || !json_is_string(json_object_get(e, "code")) ||
		    !json_is_string(json_object_get(e, "message")) ||
		    !json_is_string(json_object_get(e, "request_id"))) {
			fprintf(stderr, "%s %s: %d without the error shape: %.*s\n", req->method, req->path,
			        resp->status, (int)(resp->body_len > 300 ? 300 : resp->body_len), resp->body);
			abort();
		}
	}
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	const uint8_t *p = data + 2, *end = data + size;

	static char path[1100], field[1100], id[80], query[2048], body[4096];
	size_t body_len;

	if (data[1] < 0xC0) {
		next_field(&p, end, id, sizeof id);
		const char *tmpl = ROUTE_PATHS[data[1] % QD_ARRAY_LEN(ROUTE_PATHS)];
		const char *use = id;
		/* an empty id field picks a real id of the path's kind */
		int kind = strstr(tmpl, "nodes/") ? 1 : strstr(tmpl, "tasks/") ? 2 : 0;
		if (!*id && g_nids[kind])
			use = g_ids[kind][(data[0] >> 5) % g_nids[kind]];
		const char *brace = strstr(tmpl, "{id}");
		if (brace)
			snprintf(path, sizeof path, "%.*s%s%s", (int)(brace - tmpl), tmpl, use, brace + 4);
		else
			qd_strlcpy(path, tmpl, sizeof path);
	} else {
		next_field(&p, end, field, sizeof field);
		qd_strlcpy(path, field, sizeof path);
	}
	next_field(&p, end, query, sizeof query);
	body_len = next_field(&p, end, body, sizeof body);
	if (body_len >= sizeof body)
		body_len = sizeof body - 1;
	bool has_body = p != end || body_len > 0 || (data[0] & 0x80);
	if (body_len == 2 && body[0] == 1) {
		body_len = strlen(BODIES[(uint8_t)body[1] % QD_ARRAY_LEN(BODIES)]);
		memcpy(body, BODIES[(uint8_t)body[1] % QD_ARRAY_LEN(BODIES)], body_len + 1);
	}

	RouteRequest req;
	memset(&req, 0, sizeof req);
	req.method = METHODS[data[0] & 7];
	req.path = path;
	int auth = (data[0] >> 3) & 3;
	req.authorization = auth ? g_auth[auth] : NULL;
	req.body = has_body ? body : NULL;
	req.body_len = has_body ? body_len : 0;
	req.body_too_large = (data[0] & 0x60) == 0x60 && (data[1] & 1);
	req.request_id = "req_0000f00d";

	/* the query, split like http_collect_query: fragments at '&', key=value */
	char *save = NULL;
	for (char *frag = strtok_r(query, "&", &save); frag; frag = strtok_r(NULL, "&", &save)) {
		if (req.nquery >= ROUTES_MAX_QUERY) {
			req.query_overflow = true;
			break;
		}
		char *eq = strchr(frag, '=');
		if (eq)
			*eq = '\0';
		req.query[req.nquery].key = frag;
		req.query[req.nquery].value = eq ? eq + 1 : "";
		req.nquery++;
	}

	RouteResponse resp;
	memset(&resp, 0, sizeof resp);
	routes_handle(g_routes, &req, &resp);
	if (g_verbose) /* FUZZ_ROUTES_VERBOSE=1 ./fuzz_routes crash-file: what happened */
		fprintf(stderr, "%s %s -> %d %.*s\n", req.method, req.path, resp.status,
		        (int)(resp.body_len > 400 ? 400 : resp.body_len), resp.body ? resp.body : "");
	check_response(&req, &resp);
	route_response_done(&resp);
	return 0;
}

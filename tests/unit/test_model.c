/* Unit tests for the model against a temporary seeded database: the seed,
 * create prechecks, transitions, force release and its audit row, org
 * isolation, the reconciler (driven by the test clock), fault injection,
 * events and their hooks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "server/db_internal.h"
#include "server/reconciler.h"
#include "tests/unit/db_fixture.h"

typedef struct {
	DbFx fix; /* first: dbfx_new and dbfx_teardown rely on it */
	Principal dev, lee, globex, ops, billing;
} Fx;

static int setup(void **state)
{
	Fx *fx = dbfx_new(sizeof *fx, "qdmodel");
	ApiError err;
	if (!fx || db_seed_demo(fx->fix.db, &err) != 1)
		return -1;
	Db *db = fx->fix.db;
	if (!dbfx_principal(db, "acme-dev", &fx->dev) || !dbfx_principal(db, "acme-lee", &fx->lee) ||
	    !dbfx_principal(db, "globex-dev", &fx->globex) || !dbfx_principal(db, "ops", &fx->ops) ||
	    !dbfx_principal(db, "billing", &fx->billing))
		return -1;
	*state = fx;
	return 0;
}

static const char *pick(Db *db, const char *sql)
{
	static char id[4][DB_ID_MAX];
	static int slot;
	sqlite3_stmt *st = db_prep(db, sql);
	assert_non_null(st);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	char *out = id[slot++ % 4];
	qd_strlcpy(out, (const char *)sqlite3_column_text(st, 0), DB_ID_MAX);
	sqlite3_reset(st);
	return out;
}

static const char *jstr(json_t *j, const char *path1, const char *path2)
{
	json_t *v = json_object_get(j, path1);
	if (path2)
		v = json_object_get(v, path2);
	return json_string_value(v);
}

/* --- seed -------------------------------------------------------------------------------- */

static void test_seed_shape_and_idempotence(void **state)
{
	Fx *fx = *state;
	Db *db = fx->fix.db;
	assert_true(dbfx_count(db, "SELECT COUNT(*) FROM allocations") >= 60);
	assert_true(dbfx_count(db, "SELECT COUNT(*) FROM nodes") >= 20);
	assert_true(dbfx_count(db, "SELECT COUNT(*) FROM regions") >= 3);
	assert_int_equal(dbfx_count(db, "SELECT COUNT(DISTINCT state) FROM allocations"), ALLOC_STATE_COUNT);
	assert_int_equal(dbfx_count(db, "SELECT COUNT(DISTINCT gpu_model) FROM nodes"), 3);
	assert_true(dbfx_count(db, "SELECT COUNT(*) FROM nodes WHERE state <> 'online'") >= 2);
	assert_true(dbfx_count(db, "SELECT COUNT(DISTINCT rf_code) FROM allocations WHERE state = 'release_failed'") >= 3);
	assert_true(dbfx_count(db, "SELECT COUNT(*) FROM skus WHERE kind = 'node'") >= 1);
	assert_true(dbfx_count(db, "SELECT COUNT(*) FROM skus WHERE kind = 'slice'") >= 1);
	assert_true(dbfx_count(db, "SELECT COUNT(*) FROM tasks t JOIN allocations a ON a.task_id = t.id"
	                           " WHERE a.state IN ('provisioning','restarting','releasing')"
	                           " AND t.state = 'running'") ==
	            dbfx_count(db, "SELECT COUNT(*) FROM allocations"
	                           " WHERE state IN ('provisioning','restarting','releasing')"));
	/* GPU accounting is consistent: free = total - held */
	assert_int_equal(dbfx_count(db, "SELECT COUNT(*) FROM nodes n WHERE n.gpu_free <> n.gpu_total -"
	                                " (SELECT COALESCE(SUM(gpu_count), 0) FROM allocations a"
	                                "  WHERE a.node_id = n.id AND a.gpus_held = 1)"),
	                 0);

	/* exactly one SKU is sold out */
	ApiError err;
	json_t *skus = model_skus(db, &fx->dev, &err);
	assert_non_null(skus);
	size_t i, sold_out = 0;
	json_t *s;
	json_array_foreach(json_object_get(skus, "items"), i, s) {
		if (!json_is_true(json_object_get(s, "available"))) {
			sold_out++;
			assert_int_equal(json_integer_value(json_object_get(s, "available_count")), 0);
		}
	}
	assert_int_equal(sold_out, 1);
	json_decref(skus);

	/* old released and failed rows are archived and not actionable */
	AllocFilter f = {.actionable = 0, .archived = 1, .limit = 500};
	f.state_mask = 1u << ALLOC_RELEASED;
	json_t *l = model_allocations(db, &fx->ops, &f, true, &err);
	assert_non_null(l);
	assert_true(json_array_size(json_object_get(l, "items")) >= 3);
	json_decref(l);
	f.state_mask = 1u << ALLOC_FAILED;
	l = model_allocations(db, &fx->ops, &f, true, &err);
	assert_true(json_array_size(json_object_get(l, "items")) >= 3);
	json_decref(l);

	int64_t allocs = dbfx_count(db, "SELECT COUNT(*) FROM allocations");
	int64_t events = dbfx_count(db, "SELECT COUNT(*) FROM events");
	assert_int_equal(db_seed_demo(db, &err), 0);
	assert_int_equal(dbfx_count(db, "SELECT COUNT(*) FROM allocations"), allocs);
	assert_int_equal(dbfx_count(db, "SELECT COUNT(*) FROM events"), events);
}

static void test_seed_deterministic(void **state)
{
	Fx *fx = *state;
	char path[128];
	snprintf(path, sizeof path, "%s/second.db", fx->fix.dir);
	ApiError err;
	Db *other = db_open(path, &err);
	assert_non_null(other);
	assert_int_equal(db_seed_demo(other, &err), 1);
	const char *sql = "SELECT group_concat(id || ':' || name || ':' || state || ':' || COALESCE(node_id, '-'), ',')"
	                  " FROM (SELECT * FROM allocations ORDER BY id)";
	sqlite3_stmt *a = db_prep(fx->fix.db, sql), *b = db_prep(other, sql);
	assert_int_equal(sqlite3_step(a), SQLITE_ROW);
	assert_int_equal(sqlite3_step(b), SQLITE_ROW);
	assert_string_equal(sqlite3_column_text(a, 0), sqlite3_column_text(b, 0));
	sqlite3_reset(a);
	sqlite3_reset(b);
	db_close(&other);
}

/* --- create ------------------------------------------------------------------------------ */

static json_t *body(const char *sku, int gpus)
{
	return json_pack("{s:s, s:s, s:i, s:s, s:s, s:[s]}", "name", "unit-test-1", "sku_id", sku,
	                 "gpu_count", gpus, "image_id", "img_ubuntu2204_cuda124", "network_id",
	                 "net_default", "ssh_key_ids", "key_acme_dev_laptop");
}

/* A 1-GPU H100 slice created as acme-dev, which must be accepted; its id in id. */
static void create_slice(Fx *fx, char id[DB_ID_MAX])
{
	ApiError err;
	json_t *b = body("sku_h100_slice", 1);
	json_t *r = model_allocation_create(fx->fix.db, &fx->dev, b, &err);
	json_decref(b);
	assert_non_null(r);
	qd_strlcpy(id, jstr(r, "allocation_id", NULL), DB_ID_MAX);
	json_decref(r);
}

static void expect_refused(Fx *fx, const Principal *p, json_t *b, int status, const char *code,
                           const char *in_message)
{
	int64_t allocs = dbfx_count(fx->fix.db, "SELECT COUNT(*) FROM allocations");
	int64_t events = dbfx_count(fx->fix.db, "SELECT COUNT(*) FROM events");
	int64_t tasks = dbfx_count(fx->fix.db, "SELECT COUNT(*) FROM tasks");
	int64_t free_gpus = dbfx_count(fx->fix.db, "SELECT SUM(gpu_free) FROM nodes");
	ApiError err = {0};
	json_t *r = model_allocation_create(fx->fix.db, p, b, &err);
	if (r)
		fail_msg("expected %s, got a receipt", code);
	assert_int_equal(err.status, status);
	assert_string_equal(err.code, code);
	assert_true(err.suggestion[0] != '\0');
	if (in_message && !strstr(err.message, in_message))
		fail_msg("message '%s' does not name '%s'", err.message, in_message);
	assert_int_equal(dbfx_count(fx->fix.db, "SELECT COUNT(*) FROM allocations"), allocs);
	assert_int_equal(dbfx_count(fx->fix.db, "SELECT COUNT(*) FROM events"), events);
	assert_int_equal(dbfx_count(fx->fix.db, "SELECT COUNT(*) FROM tasks"), tasks);
	assert_int_equal(dbfx_count(fx->fix.db, "SELECT SUM(gpu_free) FROM nodes"), free_gpus);
	json_decref(b);
}

static void test_create_prechecks(void **state)
{
	Fx *fx = *state;
	expect_refused(fx, &fx->dev, body("sku_l40s_node", 8), 422, "sold_out", "L40S node");
	json_t *b = body("sku_h100_node", 8);
	json_object_set_new(b, "ssh_key_ids", json_array());
	expect_refused(fx, &fx->globex, b, 422, "insufficient_balance", "one hour");
	b = body("sku_h100_slice", 1);
	json_object_set_new(b, "node_id", json_string("nd_use1_h100_08"));
	expect_refused(fx, &fx->dev, b, 422, "node_offline", "use1-h100-08");
	/* no online node of the model at all */
	assert_true(db_exec(fx->fix.db, "UPDATE nodes SET state = 'offline' WHERE gpu_model = 'A100 80GB'"));
	expect_refused(fx, &fx->dev, body("sku_a100_slice", 1), 422, "node_offline", "A100");
	assert_true(db_exec(fx->fix.db, "UPDATE nodes SET state = 'online' WHERE gpu_model = 'A100 80GB'"
	                                " AND name NOT IN ('usw2-a100-06')"));
	/* every node has some room, none has four GPUs */
	assert_true(db_exec(fx->fix.db, "UPDATE nodes SET gpu_free = MIN(gpu_free, 2) WHERE gpu_model = 'A100 80GB'"));
	assert_true(db_exec(fx->fix.db, "UPDATE nodes SET gpu_free = 2 WHERE name = 'usw2-a100-01'"));
	expect_refused(fx, &fx->dev, body("sku_a100_slice", 4), 422, "topology_unsatisfiable", "4");
	expect_refused(fx, &fx->dev, body("sku_h100_slice", 3), 422, "invalid_gpu_count", "gpu_count 3");
	expect_refused(fx, &fx->dev, body("sku_nope", 1), 422, "unknown_reference", "sku_id");
	b = body("sku_h100_slice", 1);
	json_object_set_new(b, "image_id", json_string("img_nope"));
	expect_refused(fx, &fx->dev, b, 422, "unknown_reference", "image_id");
	b = body("sku_h100_slice", 1);
	json_object_set_new(b, "network_id", json_string("net_globex_lab")); /* another org's */
	expect_refused(fx, &fx->dev, b, 422, "unknown_reference", "network_id");
	b = body("sku_h100_slice", 1);
	json_object_set_new(b, "ssh_key_ids", json_pack("[s]", "key_globex_dev"));
	expect_refused(fx, &fx->dev, b, 422, "unknown_reference", "ssh_key_ids[0]");
	/* malformed bodies: 400 naming the field */
	b = body("sku_h100_slice", 1);
	json_object_set_new(b, "colour", json_string("red"));
	expect_refused(fx, &fx->dev, b, 400, "unknown_field", "colour");
	b = body("sku_h100_slice", 1);
	json_object_del(b, "image_id");
	expect_refused(fx, &fx->dev, b, 400, "missing_field", "image_id");
	b = body("sku_h100_slice", 1);
	json_object_set_new(b, "gpu_count", json_string("1"));
	expect_refused(fx, &fx->dev, b, 400, "invalid_type", "gpu_count");
	b = body("sku_h100_slice", 1);
	json_object_set_new(b, "name", json_string("bad name\x1b[31m"));
	expect_refused(fx, &fx->dev, b, 400, "invalid_value", "name");
	b = body("sku_h100_slice", 1);
	json_object_set_new(b, "storage", json_pack("[{s:s, s:i, s:s}]", "name", "d", "size_gb", 10,
	                                            "mount_path", "/mnt/../etc"));
	expect_refused(fx, &fx->dev, b, 400, "invalid_value", "storage[0].mount_path");
	b = body("sku_h100_slice", 1);
	json_object_set_new(b, "runtime", json_pack("{s:s, s:s}", "bundle", "pytorch", "version", "0.1"));
	expect_refused(fx, &fx->dev, b, 422, "unknown_reference", "runtime");
	expect_refused(fx, &fx->dev, json_array(), 400, "invalid_body", NULL);
}

static void test_create_accepted(void **state)
{
	Fx *fx = *state;
	int64_t newest = model_last_event_id(fx->fix.db);
	json_t *b = body("sku_h100_slice", 2);
	json_object_set_new(b, "storage", json_pack("[{s:s, s:i, s:s}]", "name", "data", "size_gb", 100,
	                                            "mount_path", "/mnt/data"));
	json_object_set_new(b, "runtime", json_pack("{s:s, s:s}", "bundle", "pytorch", "version", "2.4"));
	ApiError err;
	json_t *r = model_allocation_create(fx->fix.db, &fx->dev, b, &err);
	json_decref(b);
	assert_non_null(r);
	assert_string_equal(jstr(r, "operation", NULL), "allocation.create");
	assert_int_equal(json_integer_value(json_object_get(r, "price_per_hour_cents")), 2 * 498);
	const char *id = jstr(r, "allocation_id", NULL);
	const char *task = jstr(r, "task_id", NULL);
	assert_non_null(id);
	assert_non_null(task);
	json_t *fu = json_array_get(json_object_get(r, "follow_ups"), 0);
	assert_string_equal(jstr(fu, "rel", NULL), "task");
	char href[80];
	snprintf(href, sizeof href, "/api/v1/tasks/%s", task);
	assert_string_equal(jstr(fu, "href", NULL), href);

	json_t *a = model_allocation(fx->fix.db, &fx->dev, id, &err);
	assert_non_null(a);
	assert_string_equal(jstr(a, "state", NULL), "provisioning");
	assert_true(json_is_string(json_object_get(a, "deadline_at")));
	assert_string_equal(jstr(a, "task_id", NULL), task);
	assert_string_equal(jstr(a, "owner", "name"), "acme-dev");
	assert_string_equal(jstr(a, "sku", "kind"), "slice");
	assert_int_equal(json_array_size(json_object_get(a, "storage")), 1);
	assert_string_equal(jstr(a, "runtime", "state"), "pending");
	assert_true(json_is_true(json_object_get(a, "is_actionable")));
	assert_int_equal(json_integer_value(json_object_get(a, "version")), 1);
	json_decref(a);

	json_t *t = model_task(fx->fix.db, &fx->dev, task, &err);
	assert_non_null(t);
	assert_string_equal(jstr(t, "kind", NULL), "provision");
	assert_string_equal(jstr(t, "state", NULL), "running");
	assert_string_equal(jstr(t, "current_step", NULL), "schedule");
	assert_true(json_array_size(json_object_get(t, "steps")) >= 4);
	json_decref(t);
	/* another org cannot see the task either */
	assert_null(model_task(fx->fix.db, &fx->globex, task, &err));
	assert_int_equal(err.status, 404);

	json_t *ev = model_events(fx->fix.db, &fx->dev, newest, 10, &err);
	json_t *e0 = json_array_get(json_object_get(ev, "items"), 0);
	assert_string_equal(jstr(e0, "type", NULL), "allocation.created");
	assert_string_equal(jstr(e0, "allocation", "id"), id);
	assert_string_equal(jstr(e0, "allocation", "state"), "provisioning");
	json_decref(ev);
	json_decref(r);
}

/* --- reconciler --------------------------------------------------------------------------- */

/* Runs reconcile passes, moving the test clock by step_ms each, until the
 * allocation reaches want or max passes go by. */
static const char *run_until(Fx *fx, const char *id, const char *want, int64_t step_ms, int max)
{
	static char st[32];
	int64_t off = 0;
	for (int i = 0; i < max; i++) {
		ApiError err;
		json_t *a = model_allocation(fx->fix.db, &fx->ops, id, &err);
		assert_non_null(a);
		qd_strlcpy(st, jstr(a, "state", NULL), sizeof st);
		json_decref(a);
		if (strcmp(st, want) == 0)
			break;
		off += step_ms;
		db_set_clock_offset_ms(fx->fix.db, off);
		model_reconcile(fx->fix.db, 100);
	}
	return st;
}

static void state_hook(void *ud, const char *alloc_id, AllocState s)
{
	(void)alloc_id;
	int *seen = ud;
	seen[s]++;
}

static void event_hook(void *ud, int64_t newest)
{
	int64_t *last = ud;
	assert_true(newest > *last);
	*last = newest;
}

static void test_reconcile_to_active(void **state)
{
	Fx *fx = *state;
	int seen[ALLOC_STATE_COUNT] = {0};
	int64_t last = model_last_event_id(fx->fix.db);
	model_set_state_hook(fx->fix.db, state_hook, seen);
	model_set_event_hook(fx->fix.db, event_hook, &last);
	ApiError err;
	json_t *b = body("sku_h100_slice", 1);
	json_t *r = model_allocation_create(fx->fix.db, &fx->dev, b, &err);
	json_decref(b);
	assert_non_null(r);
	assert_int_equal(last, model_last_event_id(fx->fix.db)); /* hook saw the commit */
	char id[DB_ID_MAX], task[DB_ID_MAX];
	qd_strlcpy(id, jstr(r, "allocation_id", NULL), sizeof id);
	qd_strlcpy(task, jstr(r, "task_id", NULL), sizeof task);
	json_decref(r);
	/* at speed 100 each step takes a few ms; 200 ms a pass is plenty */
	assert_string_equal(run_until(fx, id, "active", 200, 50), "active");
	assert_true(seen[ALLOC_ACTIVE] >= 1);
	json_t *t = model_task(fx->fix.db, &fx->dev, task, &err);
	assert_string_equal(jstr(t, "state", NULL), "succeeded");
	assert_true(json_is_null(json_object_get(t, "current_step")));
	size_t i;
	json_t *s;
	json_array_foreach(json_object_get(t, "steps"), i, s)
		assert_string_equal(jstr(s, "state", NULL), "done");
	assert_true(json_array_size(json_object_get(t, "activity")) >= 5);
	json_decref(t);
	json_t *a = model_allocation(fx->fix.db, &fx->dev, id, &err);
	assert_true(json_is_null(json_object_get(a, "deadline_at")));
	assert_true(json_integer_value(json_object_get(a, "version")) >= 2);
	assert_true(json_is_object(json_object_get(a, "ssh")));
	json_decref(a);
	assert_int_equal(last, model_last_event_id(fx->fix.db));
	model_set_state_hook(fx->fix.db, NULL, NULL);
	model_set_event_hook(fx->fix.db, NULL, NULL);
	/* nothing left pending for this allocation: the reconciler would sleep */
	int64_t due = 0;
	for (int k = 0; k < 100 && due != -1; k++) {
		db_set_clock_offset_ms(fx->fix.db, 3600 * 1000 + k * 1000);
		due = model_reconcile(fx->fix.db, 100);
	}
	assert_int_equal(due, -1);
}

static json_t *fault(Fx *fx, const char *kind, const char *code, const char *msg, int n)
{
	ApiError err;
	json_t *b = json_pack("{s:s, s:s, s:s, s:i}", "kind", kind, "reason_code", code, "message", msg,
	                      "count", n);
	json_t *r = model_fault_inject(fx->fix.db, &fx->ops, b, &err);
	json_decref(b);
	return r;
}

static void test_deadline_sends_to_failure_twin(void **state)
{
	Fx *fx = *state;
	db_set_speed(fx->fix.db, 100); /* what the reconciler sets when qdeckd starts */
	json_t *f = fault(fx, "stall", "stalled", "agent went quiet", 1);
	assert_non_null(f);
	json_decref(f);
	ApiError err;
	char id[DB_ID_MAX];
	create_slice(fx, id);
	/* stalled: a few passes go by and nothing moves */
	assert_string_equal(run_until(fx, id, "active", 200, 5), "provisioning");
	/* the deadline is 120 s at speed 1; at speed 100 that is 1.2 s */
	db_set_clock_offset_ms(fx->fix.db, 5000);
	model_reconcile(fx->fix.db, 100);
	json_t *a = model_allocation(fx->fix.db, &fx->dev, id, &err);
	assert_string_equal(jstr(a, "state", NULL), "failed");
	assert_string_equal(jstr(a, "failure_reason", "code"), "deadline_exceeded");
	assert_true(json_is_null(json_object_get(a, "deadline_at")));
	assert_string_equal(jstr(a, "action_required", NULL), "release_or_retry");
	json_t *t = model_task(fx->fix.db, &fx->dev, jstr(a, "task_id", NULL), &err);
	assert_string_equal(jstr(t, "state", NULL), "failed");
	json_decref(t);
	json_decref(a);
	/* the failed provision gave its GPUs back */
	assert_int_equal(dbfx_count(fx->fix.db, "SELECT COUNT(*) FROM nodes n WHERE n.gpu_free <> n.gpu_total -"
	                                        " (SELECT COALESCE(SUM(gpu_count), 0) FROM allocations a"
	                                        "  WHERE a.node_id = n.id AND a.gpus_held = 1)"),
	                 0);
}

static void test_fault_release_fail(void **state)
{
	Fx *fx = *state;
	const char *id = pick(fx->fix.db, "SELECT id FROM allocations WHERE state = 'active'"
	                                  " AND owner_id = 'usr_acme_dev' ORDER BY id LIMIT 1");
	/* non-admins cannot inject */
	ApiError err;
	json_t *b = json_pack("{s:s}", "kind", "stall");
	assert_null(model_fault_inject(fx->fix.db, &fx->dev, b, &err));
	assert_int_equal(err.status, 403);
	json_decref(b);
	b = json_pack("{s:s}", "kind", "explode");
	assert_null(model_fault_inject(fx->fix.db, &fx->ops, b, &err));
	assert_int_equal(err.status, 400);
	json_decref(b);

	json_t *f = fault(fx, "release_fail", "storage_detach_timeout", "volume data stuck", 1);
	assert_non_null(f);
	json_decref(f);
	json_t *r = model_allocation_release(fx->fix.db, &fx->dev, id, &err);
	assert_non_null(r);
	assert_string_equal(jstr(r, "operation", NULL), "allocation.release");
	json_decref(r);
	assert_string_equal(run_until(fx, id, "release_failed", 200, 50), "release_failed");
	json_t *a = model_allocation(fx->fix.db, &fx->dev, id, &err);
	assert_string_equal(jstr(a, "release_failed_reason", "code"), "storage_detach_timeout");
	assert_string_equal(jstr(a, "release_failed_reason", "message"), "volume data stuck");
	assert_false(json_is_true(json_object_get(a, "billing_stopped")));
	assert_string_equal(jstr(a, "action_required", NULL), "force_release");
	json_decref(a);
	/* the fault was used up: the retry succeeds */
	r = model_allocation_release(fx->fix.db, &fx->dev, id, &err);
	assert_non_null(r);
	json_decref(r);
	assert_string_equal(run_until(fx, id, "released", 200, 50), "released");
	a = model_allocation(fx->fix.db, &fx->dev, id, &err);
	assert_true(json_is_true(json_object_get(a, "billing_stopped")));
	assert_true(json_is_null(json_object_get(a, "release_failed_reason")));
	json_decref(a);
}

static void test_restart_and_restart_fault(void **state)
{
	Fx *fx = *state;
	char id[DB_ID_MAX];
	qd_strlcpy(id, pick(fx->fix.db, "SELECT id FROM allocations WHERE state = 'active'"
	                                " AND owner_id = 'usr_acme_dev' ORDER BY id DESC LIMIT 1"),
	           sizeof id);
	ApiError err;
	json_t *r = model_allocation_restart(fx->fix.db, &fx->dev, id, &err);
	assert_non_null(r);
	json_decref(r);
	/* restarting refuses another restart and a release, naming the state */
	assert_null(model_allocation_restart(fx->fix.db, &fx->dev, id, &err));
	assert_int_equal(err.status, 409);
	assert_non_null(strstr(err.message, "restarting"));
	assert_string_equal(run_until(fx, id, "active", 200, 50), "active");
	json_t *f = fault(fx, "restart_fail", "health_check_timeout", "no answer on :8080", 1);
	json_decref(f);
	r = model_allocation_restart(fx->fix.db, &fx->dev, id, &err);
	assert_non_null(r);
	json_decref(r);
	assert_string_equal(run_until(fx, id, "restart_failed", 200, 50), "restart_failed");
	json_t *a = model_allocation(fx->fix.db, &fx->dev, id, &err);
	assert_string_equal(jstr(a, "failure_reason", "code"), "health_check_timeout");
	json_decref(a);
}


static void test_fault_provision_fail_counts_down(void **state)
{
	Fx *fx = *state;
	db_set_speed(fx->fix.db, 100);
	json_t *f = fault(fx, "provision_fail", "image_pull_failed", "registry timed out", 2);
	assert_non_null(f);
	json_decref(f);
	const char *want[] = {"failed", "failed", "active"};
	for (int i = 0; i < 3; i++) {
		ApiError err;
		char id[DB_ID_MAX];
		create_slice(fx, id);
		assert_string_equal(run_until(fx, id, want[i], 200, 50), want[i]);
		json_t *a = model_allocation(fx->fix.db, &fx->dev, id, &err);
		if (i < 2) {
			assert_string_equal(jstr(a, "failure_reason", "code"), "image_pull_failed");
			assert_string_equal(jstr(a, "failure_reason", "message"), "registry timed out");
		} else {
			assert_true(json_is_null(json_object_get(a, "failure_reason")));
		}
		json_decref(a);
	}
	assert_int_equal(dbfx_count(fx->fix.db, "SELECT SUM(remaining) FROM faults"), 0);
}

/* --- transitions, roles, isolation --------------------------------------------------------- */

static void test_release_rules(void **state)
{
	Fx *fx = *state;
	ApiError err;
	const char *released = pick(fx->fix.db, "SELECT id FROM allocations WHERE state = 'released'"
	                                        " AND org_id = 'org_acme' LIMIT 1");
	int64_t events = dbfx_count(fx->fix.db, "SELECT COUNT(*) FROM events");
	assert_null(model_allocation_release(fx->fix.db, &fx->ops, released, &err));
	assert_int_equal(err.status, 409);
	assert_string_equal(err.code, "invalid_state");
	assert_non_null(strstr(err.message, "is released"));
	assert_int_equal(dbfx_count(fx->fix.db, "SELECT COUNT(*) FROM events"), events);

	const char *devs = pick(fx->fix.db, "SELECT id FROM allocations WHERE state = 'active'"
	                                    " AND owner_id = 'usr_acme_dev' LIMIT 1");
	/* same org, not the owner: 403; another org: 404 (existence does not leak) */
	assert_null(model_allocation_release(fx->fix.db, &fx->lee, devs, &err));
	assert_int_equal(err.status, 403);
	assert_null(model_allocation_release(fx->fix.db, &fx->globex, devs, &err));
	assert_int_equal(err.status, 404);
	assert_string_equal(err.code, "not_found");
	assert_null(model_allocation(fx->fix.db, &fx->globex, devs, &err));
	assert_int_equal(err.status, 404);
	assert_null(model_allocation_restart(fx->fix.db, &fx->globex, devs, &err));
	assert_int_equal(err.status, 404);
	json_t *a = model_allocation(fx->fix.db, &fx->ops, devs, &err); /* admin sees all */
	assert_non_null(a);
	json_decref(a);
	assert_null(model_allocation(fx->fix.db, &fx->dev, "al_does_not_exist", &err));
	assert_int_equal(err.status, 404);
	assert_null(model_allocation(fx->fix.db, &fx->dev, "../../etc/passwd", &err));
	assert_int_equal(err.status, 404);
	/* an admin may release anyone's */
	json_t *r = model_allocation_release(fx->fix.db, &fx->ops, devs, &err);
	assert_non_null(r);
	json_decref(r);

	/* lists: a user sees only their org; admin scope needs admin */
	AllocFilter f = {.actionable = -1, .archived = -1, .limit = 500};
	json_t *l = model_allocations(fx->fix.db, &fx->globex, &f, false, &err);
	size_t i;
	json_t *it;
	json_array_foreach(json_object_get(l, "items"), i, it)
		assert_string_equal(jstr(it, "org_id", NULL), "org_globex");
	assert_int_equal(json_array_size(json_object_get(l, "items")),
	                 dbfx_count(fx->fix.db, "SELECT COUNT(*) FROM allocations WHERE org_id = 'org_globex'"));
	json_decref(l);
	assert_null(model_allocations(fx->fix.db, &fx->dev, &f, true, &err));
	assert_int_equal(err.status, 403);
	/* and events of another org never reach them */
	json_t *ev = model_events(fx->fix.db, &fx->globex, 0, 500, &err);
	json_array_foreach(json_object_get(ev, "items"), i, it) {
		json_t *org = json_object_get(it, "org_id");
		assert_true(json_is_null(org) || strcmp(json_string_value(org), "org_globex") == 0);
	}
	json_decref(ev);
}

static void test_force_release(void **state)
{
	Fx *fx = *state;
	ApiError err;
	char id[DB_ID_MAX];
	qd_strlcpy(id, pick(fx->fix.db, "SELECT id FROM allocations WHERE state = 'release_failed'"
	                                " AND org_id = 'org_acme' LIMIT 1"),
	           sizeof id);
	int64_t version = dbfx_count(fx->fix.db, "SELECT version FROM allocations WHERE state = 'release_failed'"
	                                         " AND org_id = 'org_acme' ORDER BY rowid LIMIT 1");
	(void)version;
	assert_null(model_allocation_force_release(fx->fix.db, &fx->dev, id, "because", "req_1", &err));
	assert_int_equal(err.status, 403);
	assert_null(model_allocation_force_release(fx->fix.db, &fx->billing, id, "because", "req_1", &err));
	assert_int_equal(err.status, 403);
	const char *empties[] = {"", "   ", "\t\n ", NULL};
	for (size_t i = 0; i < sizeof empties / sizeof empties[0]; i++) {
		assert_null(model_allocation_force_release(fx->fix.db, &fx->ops, id, empties[i], "req_2", &err));
		assert_int_equal(err.status, 422);
		assert_string_equal(err.code, "reason_required");
	}
	assert_int_equal(dbfx_count(fx->fix.db, "SELECT COUNT(*) FROM audit_logs"), 0);
	json_t *a = model_allocation(fx->fix.db, &fx->ops, id, &err);
	assert_string_equal(jstr(a, "state", NULL), "release_failed");
	int64_t v0 = json_integer_value(json_object_get(a, "version"));
	json_decref(a);

	int64_t newest = model_last_event_id(fx->fix.db);
	json_t *r = model_allocation_force_release(fx->fix.db, &fx->ops, id, "  node lost; detached by hand ",
	                                           "req_abc", &err);
	assert_non_null(r);
	assert_string_equal(jstr(r, "operation", NULL), "allocation.force_release");
	assert_string_equal(jstr(r, "accepted", "reason"), "node lost; detached by hand");
	json_decref(r);
	a = model_allocation(fx->fix.db, &fx->ops, id, &err);
	assert_string_equal(jstr(a, "state", NULL), "released");
	assert_true(json_is_true(json_object_get(a, "billing_stopped")));
	assert_true(json_integer_value(json_object_get(a, "version")) > v0);
	assert_false(json_is_true(json_object_get(a, "is_actionable")));
	json_decref(a);

	json_t *logs = model_audit_logs(fx->fix.db, &fx->billing, 10, NULL, &err);
	assert_non_null(logs);
	json_t *row = json_array_get(json_object_get(logs, "items"), 0);
	assert_string_equal(jstr(row, "actor", "name"), "ops");
	assert_string_equal(jstr(row, "action", NULL), "allocation.force_release");
	assert_string_equal(jstr(row, "target_id", NULL), id);
	assert_string_equal(jstr(row, "reason", NULL), "node lost; detached by hand");
	assert_string_equal(jstr(row, "state_before", NULL), "release_failed");
	assert_string_equal(jstr(row, "state_after", NULL), "released");
	assert_string_equal(jstr(row, "request_id", NULL), "req_abc");
	assert_true(qd_time_parse(jstr(row, "at", NULL)) > 0);
	json_decref(logs);
	assert_null(model_audit_logs(fx->fix.db, &fx->dev, 10, NULL, &err));
	assert_int_equal(err.status, 403);

	json_t *ev = model_events(fx->fix.db, &fx->ops, newest, 10, &err);
	json_t *items = json_object_get(ev, "items");
	assert_int_equal(json_array_size(items), 3);
	assert_string_equal(jstr(json_array_get(items, 0), "type", NULL),
	                    "provisioning.force_release_requested");
	assert_string_equal(jstr(json_array_get(items, 1), "type", NULL), "allocation.state_changed");
	assert_string_equal(jstr(json_array_get(items, 1), "allocation", "state"), "released");
	/* its GPUs went back to the node, and the fleet hears of it */
	json_t *ne = json_array_get(items, 2);
	assert_string_equal(jstr(ne, "type", NULL), "node.updated");
	assert_true(json_is_null(json_object_get(ne, "allocation")));
	assert_true(json_is_null(json_object_get(ne, "org_id")));
	assert_true(json_is_integer(json_object_get(json_object_get(ne, "node"), "gpu_free")));
	json_decref(ev);

	/* released is terminal: a second force release is a 409 */
	assert_null(model_allocation_force_release(fx->fix.db, &fx->ops, id, "again", "req_3", &err));
	assert_int_equal(err.status, 409);
}

static void test_events_paging(void **state)
{
	Fx *fx = *state;
	ApiError err;
	int64_t since = 0, prev = 0, total = 0;
	for (int page = 0; page < 100; page++) {
		json_t *ev = model_events(fx->fix.db, &fx->ops, since, 7, &err);
		assert_non_null(ev);
		assert_true(json_integer_value(json_object_get(ev, "as_of_event_id")) >=
		            model_last_event_id(fx->fix.db));
		size_t i;
		json_t *e;
		json_array_foreach(json_object_get(ev, "items"), i, e) {
			int64_t id = json_integer_value(json_object_get(e, "id"));
			assert_true(id > prev);
			prev = id;
			total++;
		}
		json_t *next = json_object_get(ev, "next_cursor");
		bool more = json_is_string(next);
		since = prev;
		json_decref(ev);
		if (!more)
			break;
	}
	assert_int_equal(total, dbfx_count(fx->fix.db, "SELECT COUNT(*) FROM events"));
}

static void test_workdir(void **state)
{
	Fx *fx = *state;
	const char *id = pick(fx->fix.db, "SELECT id FROM allocations WHERE state = 'active' LIMIT 1");
	char *dir = model_allocation_workdir(fx->fix.db, id);
	assert_non_null(dir);
	struct stat sb;
	assert_int_equal(stat(dir, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777, 0700);
	assert_non_null(strstr(dir, fx->fix.dir));
	char *again = model_allocation_workdir(fx->fix.db, id);
	assert_string_equal(dir, again);
	free(again);
	free(dir);
	assert_null(model_allocation_workdir(fx->fix.db, "al_nope"));
	assert_null(model_allocation_workdir(fx->fix.db, "../x"));
}

static void test_me_and_catalog(void **state)
{
	Fx *fx = *state;
	ApiError err;
	json_t *me = model_me(fx->fix.db, &fx->dev, &err);
	assert_string_equal(jstr(me, "user", "name"), "acme-dev");
	assert_string_equal(jstr(me, "org", "id"), "org_acme");
	assert_true(json_integer_value(json_object_get(me, "balance_cents")) > 0);
	assert_true(json_array_size(json_object_get(me, "projects")) >= 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(me, "roles"), 0)), "user");
	json_decref(me);
	json_t *nets = model_networks(fx->fix.db, &fx->dev, &err);
	size_t i;
	json_t *n;
	json_array_foreach(json_object_get(nets, "items"), i, n)
		assert_string_not_equal(jstr(n, "id", NULL), "net_globex_lab");
	json_decref(nets);
	json_t *keys = model_ssh_keys(fx->fix.db, &fx->globex, &err);
	assert_int_equal(json_array_size(json_object_get(keys, "items")), 1);
	json_decref(keys);

	/* nodes page with a cursor and no duplicates */
	json_t *p1 = model_nodes(fx->fix.db, &fx->dev, 10, NULL, &err);
	const char *cur = jstr(p1, "next_cursor", NULL);
	assert_non_null(cur);
	json_t *p2 = model_nodes(fx->fix.db, &fx->dev, 10, cur, &err);
	assert_non_null(p2);
	assert_string_not_equal(jstr(json_array_get(json_object_get(p1, "items"), 9), "id", NULL),
	                        jstr(json_array_get(json_object_get(p2, "items"), 0), "id", NULL));
	json_decref(p2);
	json_decref(p1);
	assert_null(model_nodes(fx->fix.db, &fx->dev, 10, "garbage!", &err));
	assert_int_equal(err.status, 400);
	json_t *node = model_node(fx->fix.db, &fx->dev, "nd_use1_h100_08", &err);
	assert_string_equal(jstr(node, "state", NULL), "offline");
	json_decref(node);
	assert_null(model_node(fx->fix.db, &fx->dev, "nd_nope", &err));
	assert_int_equal(err.status, 404);

	/* ssh key add: validated, fingerprinted, duplicates refused */
	json_t *b = json_pack("{s:s, s:s}", "name", "new",
	                      "public_key", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me@host");
	json_t *k = model_ssh_key_add(fx->fix.db, &fx->dev, b, &err);
	assert_non_null(k);
	assert_int_equal(strncmp(jstr(k, "fingerprint", NULL), "SHA256:", 7), 0);
	json_decref(k);
	assert_null(model_ssh_key_add(fx->fix.db, &fx->dev, b, &err));
	assert_int_equal(err.status, 409);
	json_decref(b);
	b = json_pack("{s:s, s:s}", "name", "bad", "public_key", "ssh-ed25519 notbase64!! x");
	assert_null(model_ssh_key_add(fx->fix.db, &fx->dev, b, &err));
	assert_int_equal(err.status, 400);
	json_decref(b);
}


/* --- the uv timer -------------------------------------------------------------------------- */

typedef struct {
	Fx *fx;
	const char *id;
	int polls;
	bool active;
	uv_timer_t timer;
	Reconciler *rec;
} Watch;

static void on_poll(uv_timer_t *t)
{
	Watch *w = t->data;
	ApiError err;
	json_t *a = model_allocation(w->fx->fix.db, &w->fx->ops, w->id, &err);
	w->active = a && strcmp(json_string_value(json_object_get(a, "state")), "active") == 0;
	json_decref(a);
	/* bounded: 400 polls of 25 ms; done either way */
	if (w->active || ++w->polls >= 400) {
		uv_timer_stop(t);
		uv_close((uv_handle_t *)t, NULL);
		reconciler_free(&w->rec);
	}
}

static void test_reconciler_timer_drives_provisioning(void **state)
{
	Fx *fx = *state;
	uv_loop_t loop;
	assert_int_equal(uv_loop_init(&loop), 0);
	Watch w = {.fx = fx};
	w.rec = reconciler_new(&loop, fx->fix.db, 100);
	char id[DB_ID_MAX];
	create_slice(fx, id);
	w.id = id;
	reconciler_kick(w.rec);
	uv_timer_init(&loop, &w.timer);
	w.timer.data = &w;
	uv_timer_start(&w.timer, on_poll, 25, 25);
	uv_run(&loop, UV_RUN_DEFAULT); /* returns once the poll timer and reconciler are closed */
	assert_int_equal(uv_loop_close(&loop), 0);
	assert_true(w.active);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_seed_shape_and_idempotence, setup, dbfx_teardown),
		cmocka_unit_test_setup_teardown(test_seed_deterministic, setup, dbfx_teardown),
		cmocka_unit_test_setup_teardown(test_create_prechecks, setup, dbfx_teardown),
		cmocka_unit_test_setup_teardown(test_create_accepted, setup, dbfx_teardown),
		cmocka_unit_test_setup_teardown(test_reconcile_to_active, setup, dbfx_teardown),
		cmocka_unit_test_setup_teardown(test_deadline_sends_to_failure_twin, setup, dbfx_teardown),
		cmocka_unit_test_setup_teardown(test_fault_release_fail, setup, dbfx_teardown),
		cmocka_unit_test_setup_teardown(test_restart_and_restart_fault, setup, dbfx_teardown),
		cmocka_unit_test_setup_teardown(test_fault_provision_fail_counts_down, setup, dbfx_teardown),
		cmocka_unit_test_setup_teardown(test_release_rules, setup, dbfx_teardown),
		cmocka_unit_test_setup_teardown(test_force_release, setup, dbfx_teardown),
		cmocka_unit_test_setup_teardown(test_events_paging, setup, dbfx_teardown),
		cmocka_unit_test_setup_teardown(test_workdir, setup, dbfx_teardown),
		cmocka_unit_test_setup_teardown(test_reconciler_timer_drives_provisioning, setup, dbfx_teardown),
		cmocka_unit_test_setup_teardown(test_me_and_catalog, setup, dbfx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

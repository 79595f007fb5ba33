/* Unit tests for net/model: the v1 decoders against good, wrong and hostile JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "net/model.h"

static const char *GOOD_ALLOC =
	"{\"id\": \"al_7f3a91c2\", \"name\": \"llama-ft-3\", \"org_id\": \"org_acme\","
	" \"project\": {\"id\": \"prj_acme_ml\", \"name\": \"ml-research\"},"
	" \"owner\": {\"id\": \"usr_acme_dev\", \"name\": \"acme-dev\"},"
	" \"state\": \"release_failed\", \"state_since\": \"2026-11-23T10:00:00.000Z\","
	" \"deadline_at\": null,"
	" \"failure_reason\": null,"
	" \"release_failed_reason\": {\"code\": \"storage_detach_timeout\", \"message\": \"volume busy\"},"
	" \"billing_stopped\": true,"
	" \"node\": {\"id\": \"nd_use1_h100_03\", \"name\": \"use1-h100-03\", \"region\": \"us-east-1\"},"
	" \"sku\": {\"id\": \"sku_h100_slice\", \"name\": \"H100 SXM slice\", \"gpu_model\": \"H100 SXM\", \"kind\": \"slice\"},"
	" \"gpu_count\": 2,"
	" \"image\": {\"id\": \"img_u\", \"name\": \"Ubuntu 22.04 + CUDA 12.4\"},"
	" \"network\": {\"id\": \"net_default\", \"name\": \"default\"},"
	" \"runtime\": {\"bundle\": \"pytorch\", \"version\": \"2.4\", \"state\": \"ready\"},"
	" \"storage\": [{\"id\": \"vol_x\", \"name\": \"datasets\", \"mount_path\": \"/mnt/datasets\", \"size_gb\": 500, \"persistent\": true}],"
	" \"ssh\": {\"host\": \"h\", \"port\": 22022, \"user\": \"ubuntu\", \"command\": \"ssh -p 22022 ubuntu@h\"},"
	" \"ssh_key_ids\": [\"key_1\"],"
	" \"price_per_hour_cents\": 498, \"task_id\": \"tk_1\", \"version\": 7,"
	" \"created_at\": \"2026-11-23T09:00:00.000Z\", \"updated_at\": \"2026-11-23T10:00:00.500Z\","
	" \"is_actionable\": true, \"action_required\": \"force_release\","
	" \"actionable_until\": \"2026-11-30T10:00:00.000Z\", \"archived_at\": null}";

static json_t *parse(const char *s)
{
	json_error_t e;
	json_t *j = json_loads(s, JSON_DECODE_ANY, &e);
	if (!j)
		fail_msg("test JSON does not parse: %s", e.text);
	return j;
}

static void test_good_allocation(void **state)
{
	(void)state;
	json_t *j = parse(GOOD_ALLOC);
	Allocation a;
	char err[200];
	assert_int_equal(decode_allocation(j, &a, err, sizeof err), 0);
	assert_string_equal(a.id, "al_7f3a91c2");
	assert_string_equal(a.name, "llama-ft-3");
	assert_string_equal(a.project_name, "ml-research");
	assert_string_equal(a.owner_name, "acme-dev");
	assert_int_equal(a.state, ALLOC_RELEASE_FAILED);
	assert_int_equal(a.state_since_ms, qd_time_parse("2026-11-23T10:00:00.000Z"));
	assert_int_equal(a.deadline_ms, 0);
	assert_string_equal(a.failure_code, "");
	assert_string_equal(a.release_failed_code, "storage_detach_timeout");
	assert_string_equal(a.release_failed_message, "volume busy");
	assert_true(a.billing_stopped);
	assert_string_equal(a.node_name, "use1-h100-03");
	assert_string_equal(a.region, "us-east-1");
	assert_true(a.sku_slice);
	assert_string_equal(a.gpu_model, "H100 SXM");
	assert_int_equal(a.gpu_count, 2);
	assert_string_equal(a.runtime_bundle, "pytorch");
	assert_int_equal(a.storage_count, 1);
	assert_string_equal(a.storage[0].mount_path, "/mnt/datasets");
	assert_int_equal(a.storage[0].size_gb, 500);
	assert_true(a.storage[0].persistent);
	assert_string_equal(a.ssh_command, "ssh -p 22022 ubuntu@h");
	assert_int_equal(a.price_per_hour_cents, 498);
	assert_int_equal(a.version, 7);
	assert_int_equal(a.updated_ms % 1000, 500);
	assert_true(a.is_actionable);
	assert_string_equal(a.action_required, "force_release");
	assert_true(a.actionable_until_ms > 0);
	assert_int_equal(a.archived_at_ms, 0);

	Allocation c;
	allocation_copy(&c, &a);
	allocation_done(&a);
	assert_null(a.id);
	assert_string_equal(c.name, "llama-ft-3");
	assert_string_equal(c.storage[0].name, "datasets");
	allocation_done(&c);
	json_decref(j);
}

/* Each case: one field replaced with a wrong value; the error must name it. */
static void test_bad_field_types(void **state)
{
	(void)state;
	static const struct {
		const char *key, *value, *expect;
	} cases[] = {
		{"id", "42", "allocation.id: expected string, got integer"},
		{"id", "\"\"", "allocation.id: empty id"},
		{"name", "[]", "allocation.name: expected string, got array"},
		{"state", "\"exploded\"", "allocation.state: unknown value 'exploded'"},
		{"state", "null", "allocation.state: must not be null"},
		{"state", "7", "allocation.state: expected string, got integer"},
		{"gpu_count", "\"2\"", "allocation.gpu_count: expected integer, got string"},
		{"gpu_count", "2.5", "allocation.gpu_count: expected integer, got number"},
		{"version", "\"7\"", "allocation.version: expected integer, got string"},
		{"billing_stopped", "\"no\"", "allocation.billing_stopped: expected boolean, got string"},
		{"node", "\"nd_1\"", "allocation.node: expected object, got string"},
		{"storage", "{}", "allocation.storage: expected array, got object"},
		{"storage", "[1]", "allocation.storage[0]: expected object, got integer"},
		{"created_at", "\"yesterday\"", "allocation.created_at: not an RFC 3339 UTC time"},
		{"created_at", "1700000000", "allocation.created_at: expected string, got integer"},
		{"sku", "{\"kind\": \"rack\"}", "allocation.sku.kind: unknown value (expected node or slice)"},
		{"failure_reason", "{\"code\": 5}", "allocation.failure_reason.code: expected string, got integer"},
	};
	for (size_t i = 0; i < QD_ARRAY_LEN(cases); i++) {
		json_t *j = parse(GOOD_ALLOC);
		json_object_set_new(j, cases[i].key, parse(cases[i].value));
		Allocation a;
		memset(&a, 0x55, sizeof a);
		char err[200] = "";
		int rc = decode_allocation(j, &a, err, sizeof err);
		if (rc != -1 || strcmp(err, cases[i].expect) != 0)
			fail_msg("case %s=%s: rc %d, error '%s', want '%s'", cases[i].key, cases[i].value, rc,
			         err, cases[i].expect);
		assert_null(a.id); /* left zeroed, owns nothing */
		assert_null(a.storage);
		json_decref(j);
	}
	/* Missing required fields. */
	json_t *j = parse(GOOD_ALLOC);
	json_object_del(j, "version");
	Allocation a;
	char err[200];
	assert_int_equal(decode_allocation(j, &a, err, sizeof err), -1);
	assert_string_equal(err, "allocation.version: missing");
	json_decref(j);
	assert_int_equal(decode_allocation(NULL, &a, err, sizeof err), -1);
	j = parse("[1,2]");
	assert_int_equal(decode_allocation(j, &a, err, sizeof err), -1);
	assert_string_equal(err, "allocation: expected object, got array");
	json_decref(j);
}

static void test_optional_absent(void **state)
{
	(void)state;
	json_t *j = parse("{\"id\": \"al_1\", \"state\": \"active\", \"version\": 1}");
	Allocation a;
	char err[200];
	assert_int_equal(decode_allocation(j, &a, err, sizeof err), 0);
	assert_string_equal(a.name, "");
	assert_string_equal(a.node_name, "");
	assert_string_equal(a.ssh_command, "");
	assert_int_equal(a.storage_count, 0);
	assert_null(a.storage);
	allocation_done(&a);
	json_decref(j);
}

static void test_numbers_clamped(void **state)
{
	(void)state;
	json_t *j = parse(GOOD_ALLOC);
	json_object_set_new(j, "gpu_count", json_integer(1000000000LL));
	json_object_set_new(j, "price_per_hour_cents", json_integer(-5));
	json_object_set_new(j, "version", json_integer(-3));
	Allocation a;
	char err[200];
	assert_int_equal(decode_allocation(j, &a, err, sizeof err), 0);
	assert_int_equal(a.gpu_count, 1024);
	assert_int_equal(a.price_per_hour_cents, 0);
	assert_int_equal(a.version, 0);
	allocation_done(&a);
	json_decref(j);
}

/* Escape sequences are data (display sanitizes), but bounded. */
static void test_hostile_strings(void **state)
{
	(void)state;
	json_t *j = parse(GOOD_ALLOC);
	json_object_set_new(j, "name", json_string("\x1b[2J\x1b]52;c;AAAA\x07pwned"));
	char big[5000];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	json_object_set_new(json_object_get(j, "release_failed_reason"), "message", json_string(big));
	/* "é" straddling the 256-byte cut must not be split. */
	char name[300];
	memset(name, 'a', 255);
	strcpy(name + 255, "\xc3\xa9zz");
	json_object_set_new(json_object_get(j, "owner"), "name", json_string(name));
	/* Embedded NUL ends the string. */
	json_object_set_new(json_object_get(j, "node"), "name", json_stringn("ab\0cd", 5));
	Allocation a;
	char err[200];
	assert_int_equal(decode_allocation(j, &a, err, sizeof err), 0);
	assert_string_equal(a.name, "\x1b[2J\x1b]52;c;AAAA\x07pwned");
	assert_int_equal(strlen(a.release_failed_message), 1024);
	assert_int_equal(strlen(a.owner_name), 255);
	assert_string_equal(a.node_name, "ab");
	allocation_done(&a);

	/* An over-long id is rejected, not cut (a cut id could alias another). */
	char id[200];
	memset(id, 'i', sizeof id - 1);
	id[sizeof id - 1] = '\0';
	json_object_set_new(j, "id", json_string(id));
	assert_int_equal(decode_allocation(j, &a, err, sizeof err), -1);
	assert_string_equal(err, "allocation.id: id too long");
	/* The unknown value is quoted bounded and printable. */
	json_object_set_new(j, "id", json_string("al_1"));
	json_object_set_new(j, "state", json_string("\x1b[31mred"));
	assert_int_equal(decode_allocation(j, &a, err, sizeof err), -1);
	assert_string_equal(err, "allocation.state: unknown value '?[31mred'");
	json_decref(j);
}

static void test_node(void **state)
{
	(void)state;
	json_t *j = parse("{\"id\": \"nd_1\", \"name\": \"use1-h100-01\", \"region\": \"us-east-1\","
	                  " \"gpu_model\": \"H100 SXM\", \"gpu_total\": 8, \"gpu_free\": 99,"
	                  " \"state\": \"draining\", \"scheduling\": false, \"agent_version\": \"1.2\","
	                  " \"cert_expires_at\": \"2027-01-01T00:00:00Z\", \"last_heartbeat_at\": null,"
	                  " \"allocation_count\": 3}");
	Node n;
	char err[200];
	assert_int_equal(decode_node(j, &n, err, sizeof err), 0);
	assert_string_equal(n.name, "use1-h100-01");
	assert_int_equal(n.state, NODE_DRAINING);
	assert_int_equal(n.gpu_total, 8);
	assert_int_equal(n.gpu_free, 8); /* clamped to the total */
	assert_false(n.scheduling);
	assert_true(n.cert_expires_ms > 0);
	assert_int_equal(n.last_heartbeat_ms, 0);
	node_done(&n);
	json_object_set_new(j, "state", json_string("melted"));
	assert_int_equal(decode_node(j, &n, err, sizeof err), -1);
	assert_string_equal(err, "node.state: unknown value 'melted'");
	json_object_set_new(j, "state", json_string("online"));
	json_object_set_new(j, "gpu_total", json_string("8"));
	assert_int_equal(decode_node(j, &n, err, sizeof err), -1);
	assert_string_equal(err, "node.gpu_total: expected integer, got string");
	json_decref(j);
}

static void test_task(void **state)
{
	(void)state;
	json_t *j = parse("{\"id\": \"tk_1\", \"kind\": \"release\", \"allocation_id\": \"al_1\","
	                  " \"state\": \"running\", \"current_step\": \"detach_storage\","
	                  " \"steps\": [{\"name\": \"stop\", \"state\": \"done\", \"started_at\": \"2026-11-23T10:00:00Z\","
	                  "   \"finished_at\": \"2026-11-23T10:00:01Z\"},"
	                  "  {\"name\": \"detach_storage\", \"state\": \"running\", \"started_at\": \"2026-11-23T10:00:01Z\","
	                  "   \"finished_at\": null}],"
	                  " \"activity\": [{\"at\": \"2026-11-23T10:00:00Z\", \"message\": \"release requested\"}],"
	                  " \"created_at\": \"2026-11-23T10:00:00Z\", \"updated_at\": \"2026-11-23T10:00:01Z\"}");
	Task t;
	char err[200];
	assert_int_equal(decode_task(j, &t, err, sizeof err), 0);
	assert_string_equal(t.kind, "release");
	assert_string_equal(t.state, "running");
	assert_string_equal(t.current_step, "detach_storage");
	assert_int_equal(t.step_count, 2);
	assert_string_equal(t.steps[1].name, "detach_storage");
	assert_string_equal(t.steps[1].state, "running");
	assert_int_equal(t.steps[1].finished_ms, 0);
	assert_int_equal(t.activity_count, 1);
	assert_string_equal(t.activity[0].message, "release requested");
	task_done(&t);

	json_object_set_new(j, "state", json_string("sleeping"));
	assert_int_equal(decode_task(j, &t, err, sizeof err), -1);
	assert_string_equal(err, "task.state: unknown value 'sleeping'");
	json_object_set_new(j, "state", json_string("failed"));
	json_object_set_new(json_array_get(json_object_get(j, "steps"), 0), "state", json_string("meh"));
	assert_int_equal(decode_task(j, &t, err, sizeof err), -1);
	assert_string_equal(err, "task.steps[].state: unknown value 'meh'");
	assert_null(t.steps);
	json_decref(j);

	/* Long activity keeps the newest 100. */
	j = parse("{\"id\": \"tk_2\", \"state\": \"succeeded\", \"activity\": []}");
	json_t *act = json_object_get(j, "activity");
	for (int i = 0; i < 250; i++) {
		char m[32];
		snprintf(m, sizeof m, "line %d", i);
		json_array_append_new(act, json_pack("{s:s, s:s}", "at", "2026-11-23T10:00:00Z", "message", m));
	}
	assert_int_equal(decode_task(j, &t, err, sizeof err), 0);
	assert_int_equal(t.activity_count, 100);
	assert_string_equal(t.activity[0].message, "line 150");
	assert_string_equal(t.activity[99].message, "line 249");
	task_done(&t);
	json_decref(j);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_allocation),
		cmocka_unit_test(test_bad_field_types),
		cmocka_unit_test(test_optional_absent),
		cmocka_unit_test(test_numbers_clamped),
		cmocka_unit_test(test_hostile_strings),
		cmocka_unit_test(test_node),
		cmocka_unit_test(test_task),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for net/store: puts, versions, applying events, resume, listeners, 100k rows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "common/util.h"
#include "net/store.h"

static json_t *alloc_json(const char *id, const char *state, int64_t version)
{
	return json_pack("{s:s, s:s, s:s, s:I, s:s, s:i}", "id", id, "name", "job", "state", state,
	                 "version", (json_int_t)version, "created_at", "2026-11-23T10:00:00Z",
	                 "gpu_count", 1);
}

static json_t *event_json(int64_t id, const char *type, json_t *alloc)
{
	json_t *ev = json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)id, "at",
	                       "2026-11-23T10:00:00Z", "type", type, "org_id", "org_acme");
	json_object_set_new(ev, "allocation", alloc ? alloc : json_null());
	json_object_set_new(ev, "node", json_null());
	return ev;
}

static void put(Store *s, const char *id, const char *state, int64_t version)
{
	json_t *j = alloc_json(id, state, version);
	Allocation a;
	char err[200];
	assert_int_equal(decode_allocation(j, &a, err, sizeof err), 0);
	store_put_allocation(s, &a);
	assert_null(a.id); /* ownership moved */
	json_decref(j);
}

typedef struct {
	int calls;
	StoreKind last_kind;
	char last_id[64];
} Seen;

static void listener(void *ud, StoreKind kind, const char *id)
{
	Seen *seen = ud;
	seen->calls++;
	seen->last_kind = kind;
	snprintf(seen->last_id, sizeof seen->last_id, "%s", id ? id : "");
}

static void test_put_and_versions(void **state)
{
	(void)state;
	Store *s = store_new();
	Seen seen = {0};
	store_listen(s, listener, &seen);
	put(s, "al_1", "active", 3);
	put(s, "al_2", "provisioning", 1);
	assert_int_equal(store_allocation_count(s), 2);
	assert_int_equal(seen.calls, 2);
	assert_int_equal(seen.last_kind, STORE_ALLOC);
	assert_string_equal(seen.last_id, "al_2");
	const Allocation *a1 = store_allocation(s, "al_1");
	assert_non_null(a1);
	assert_int_equal(a1->state, ALLOC_ACTIVE);

	/* An older page row does not overwrite a newer record. */
	uint64_t gen = store_generation(s);
	put(s, "al_1", "provisioning", 2);
	assert_int_equal(store_allocation(s, "al_1")->state, ALLOC_ACTIVE);
	assert_int_equal(store_generation(s), gen);
	assert_int_equal(seen.calls, 2);
	/* A newer one does, in place: order and count unchanged. */
	put(s, "al_1", "releasing", 4);
	assert_int_equal(store_allocation(s, "al_1")->state, ALLOC_RELEASING);
	assert_int_equal(store_allocation_count(s), 2);
	assert_string_equal(store_allocation_at(s, 0)->id, "al_1");
	assert_string_equal(store_allocation_at(s, 1)->id, "al_2");
	assert_null(store_allocation_at(s, 2));
	assert_null(store_allocation(s, "al_3"));
	assert_true(store_generation(s) > gen);

	store_unlisten(s, listener, &seen);
	put(s, "al_3", "active", 1);
	assert_int_equal(seen.calls, 3);
	store_free(&s);
	assert_null(s);
}

static void test_apply_events(void **state)
{
	(void)state;
	Store *s = store_new();
	Seen seen = {0};
	store_listen(s, listener, &seen);
	put(s, "al_1", "active", 3);
	store_set_last_event_id(s, 100);
	char err[200];

	json_t *ev = event_json(101, "allocation.state_changed", alloc_json("al_1", "releasing", 4));
	assert_int_equal(store_apply_event(s, ev, err, sizeof err), 1);
	json_decref(ev);
	assert_int_equal(store_last_event_id(s), 101);
	assert_int_equal(store_allocation(s, "al_1")->state, ALLOC_RELEASING);
	assert_string_equal(seen.last_id, "al_1");

	/* Duplicate after a resume: the same id again is not applied twice. */
	ev = event_json(101, "allocation.state_changed", alloc_json("al_1", "released", 5));
	assert_int_equal(store_apply_event(s, ev, err, sizeof err), 0);
	json_decref(ev);
	ev = event_json(99, "allocation.state_changed", alloc_json("al_1", "released", 5));
	assert_int_equal(store_apply_event(s, ev, err, sizeof err), 0);
	json_decref(ev);
	assert_int_equal(store_allocation(s, "al_1")->state, ALLOC_RELEASING);

	/* A new allocation arrives through an event. */
	ev = event_json(102, "allocation.created", alloc_json("al_9", "provisioning", 1));
	assert_int_equal(store_apply_event(s, ev, err, sizeof err), 1);
	json_decref(ev);
	assert_int_equal(store_allocation_count(s), 2);

	/* An event without a record only moves the id. */
	ev = event_json(103, "provisioning.force_release_requested", NULL);
	assert_int_equal(store_apply_event(s, ev, err, sizeof err), 1);
	json_decref(ev);
	assert_int_equal(store_last_event_id(s), 103);

	/* A node event. */
	ev = event_json(104, "node.updated", NULL);
	json_object_set_new(ev, "node", json_pack("{s:s, s:s, s:i, s:i}", "id", "nd_1", "state", "online",
	                                          "gpu_total", 8, "gpu_free", 2));
	assert_int_equal(store_apply_event(s, ev, err, sizeof err), 1);
	json_decref(ev);
	assert_int_equal(store_node_count(s), 1);
	assert_int_equal(store_node(s, "nd_1")->gpu_free, 2);
	assert_int_equal(seen.last_kind, STORE_NODE);
	store_free(&s);
}

static void test_malformed_events_change_nothing(void **state)
{
	(void)state;
	Store *s = store_new();
	put(s, "al_1", "active", 3);
	store_set_last_event_id(s, 10);
	uint64_t gen = store_generation(s);
	char err[200];
	json_t *bad[] = {
		json_string("nope"),
		json_pack("{s:s}", "type", "allocation.updated"),                       /* no id */
		json_pack("{s:s, s:s}", "id", "11", "type", "allocation.updated"),      /* id as string */
		json_pack("{s:i, s:s}", "id", -4, "type", "allocation.updated"),
		json_pack("{s:i}", "id", 11),                                           /* no type */
		event_json(11, "allocation.state_changed", alloc_json("al_1", "vaporised", 9)),
		event_json(11, "allocation.state_changed", json_pack("{s:s, s:s}", "id", "al_1", "state", "active")),
		event_json(11, "allocation.updated", json_string("al_1")),
	};
	/* A good allocation with a bad node: nothing of it may be applied. */
	json_t *mixed = event_json(11, "node.updated", alloc_json("al_1", "released", 9));
	json_object_set_new(mixed, "node", json_pack("{s:s, s:s}", "id", "nd_1", "state", "on fire"));
	for (size_t i = 0; i < QD_ARRAY_LEN(bad); i++) {
		err[0] = '\0';
		assert_int_equal(store_apply_event(s, bad[i], err, sizeof err), -1);
		assert_true(err[0] != '\0');
		json_decref(bad[i]);
	}
	assert_int_equal(store_apply_event(s, mixed, err, sizeof err), -1);
	assert_non_null(strstr(err, "node.state"));
	json_decref(mixed);
	assert_int_equal(store_last_event_id(s), 10);
	assert_int_equal(store_generation(s), gen);
	assert_int_equal(store_allocation(s, "al_1")->state, ALLOC_ACTIVE);
	assert_int_equal(store_allocation(s, "al_1")->version, 3);
	assert_int_equal(store_node_count(s), 0);
	store_free(&s);
}

/* Page rows read before an applied event carry older versions: event wins. */
static void test_page_after_event(void **state)
{
	(void)state;
	Store *s = store_new();
	store_set_last_event_id(s, 50);
	char err[200];
	json_t *ev = event_json(51, "allocation.state_changed", alloc_json("al_5", "released", 6));
	assert_int_equal(store_apply_event(s, ev, err, sizeof err), 1);
	json_decref(ev);
	put(s, "al_5", "releasing", 5); /* the page row, read earlier */
	assert_int_equal(store_allocation(s, "al_5")->state, ALLOC_RELEASED);
	assert_int_equal(store_allocation(s, "al_5")->version, 6);
	put(s, "al_5", "released", 6); /* same version: replaced (server-derived fields may move) */
	assert_int_equal(store_allocation_count(s), 1);
	store_free(&s);
}

static void test_tasks(void **state)
{
	(void)state;
	Store *s = store_new();
	json_t *j = json_pack("{s:s, s:s, s:s}", "id", "tk_1", "state", "running", "kind", "release");
	Task t;
	char err[200];
	assert_int_equal(decode_task(j, &t, err, sizeof err), 0);
	store_put_task(s, &t);
	assert_non_null(store_task(s, "tk_1"));
	assert_string_equal(store_task(s, "tk_1")->kind, "release");
	assert_null(store_task(s, "tk_2"));
	json_decref(j);
	store_free(&s);
}

/* 100k rows: all findable, pointers stable while the table grows. */
static void test_100k(void **state)
{
	(void)state;
	Store *s = store_new();
	const Allocation *first = NULL;
	for (int i = 0; i < 100000; i++) {
		char id[32];
		snprintf(id, sizeof id, "al_%08x", (unsigned)i * 2654435761u);
		Allocation a = {0};
		/* Decoding 100k JSON objects would test jansson; build records directly. */
		json_t *j = alloc_json(id, i % 3 ? "active" : "release_failed", 1);
		assert_int_equal(decode_allocation(j, &a, NULL, 0), 0);
		json_decref(j);
		store_put_allocation(s, &a);
		if (i == 0)
			first = store_allocation(s, id);
	}
	assert_int_equal(store_allocation_count(s), 100000);
	assert_ptr_equal(store_allocation(s, "al_00000000"), first);
	for (int i = 0; i < 100000; i += 997) {
		char id[32];
		snprintf(id, sizeof id, "al_%08x", (unsigned)i * 2654435761u);
		const Allocation *a = store_allocation(s, id);
		assert_non_null(a);
		assert_string_equal(a->id, id);
		assert_ptr_equal(store_allocation_at(s, (size_t)i), a);
	}
	store_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_and_versions),
		cmocka_unit_test(test_apply_events),
		cmocka_unit_test(test_malformed_events_change_nothing),
		cmocka_unit_test(test_page_after_event),
		cmocka_unit_test(test_tasks),
		cmocka_unit_test(test_100k),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* store — the console's cache of allocations, nodes and tasks.
 *
 * Each kind is a Table: records in fixed-size chunks (so a pointer handed out
 * stays put while the table grows) in insertion order, plus an open-addressing
 * index of uint32 slots (record index + 1, 0 = empty) at load <= 1/2. Records
 * are never removed: the platform archives, it does not delete, and a reload
 * (STORE_RESET) replaces nothing that a view still points at. Every record
 * struct begins with `char *id`, which is the key. */
#include "net/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

#define CHUNK_SHIFT 10
#define CHUNK_LEN (1u << CHUNK_SHIFT)

typedef struct {
	size_t elem;        /* sizeof the record struct */
	char **chunks;
	size_t nchunks;
	size_t count;
	uint32_t *slots;
	size_t cap;         /* power of two, or 0 */
} Table;

typedef struct {
	StoreListener fn;
	void *ud;
} Listener;

struct Store {
	Table allocs, nodes, tasks;
	Listener *listeners;
	size_t nlisteners;
	int notifying;      /* >0 while calling listeners: unlisten only marks */
	int64_t last_event_id;
	uint64_t generation;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static void *table_at(const Table *t, size_t i)
{
	return t->chunks[i >> CHUNK_SHIFT] + (i & (CHUNK_LEN - 1)) * t->elem;
}

static const char *rec_id(const void *rec)
{
	return *(char *const *)rec;
}

/* Slot holding id, or the empty slot where it would go. */
static size_t table_slot(const Table *t, const char *id)
{
	size_t mask = t->cap - 1;
	size_t i = hash_str(id) & mask;
	while (t->slots[i] && strcmp(rec_id(table_at(t, t->slots[i] - 1)), id) != 0)
		i = (i + 1) & mask;
	return i;
}

static void *table_find(const Table *t, const char *id)
{
	if (!t->cap || !id)
		return NULL;
	size_t i = table_slot(t, id);
	return t->slots[i] ? table_at(t, t->slots[i] - 1) : NULL;
}

static void table_grow_index(Table *t)
{
	size_t ncap = t->cap ? t->cap * 2 : 64;
	uint32_t *old = t->slots;
	size_t ocap = t->cap;
	t->slots = xcalloc(ncap, sizeof *t->slots);
	t->cap = ncap;
	for (size_t i = 0; i < ocap; i++)
		if (old[i])
			t->slots[table_slot(t, rec_id(table_at(t, old[i] - 1)))] = old[i];
	free(old);
}

/* Appends a zeroed record for id's slot; the caller fills it in. */
static void *table_append(Table *t)
{
	if ((t->count + 1) * 2 > t->cap)
		table_grow_index(t);
	if ((t->count >> CHUNK_SHIFT) >= t->nchunks) {
		t->chunks = xrealloc(t->chunks, (t->nchunks + 1) * sizeof *t->chunks);
		t->chunks[t->nchunks++] = xcalloc(CHUNK_LEN, t->elem);
	}
	return table_at(t, t->count++);
}

static void table_index(Table *t, const char *id)
{
	t->slots[table_slot(t, id)] = (uint32_t)t->count;
}

static void table_done(Table *t, void (*done)(void *))
{
	for (size_t i = 0; i < t->count; i++)
		done(table_at(t, i));
	for (size_t i = 0; i < t->nchunks; i++)
		free(t->chunks[i]);
	free(t->chunks);
	free(t->slots);
	memset(t, 0, sizeof *t);
}

static void done_alloc(void *p) { allocation_done(p); }
static void done_node(void *p) { node_done(p); }
static void done_task(void *p) { task_done(p); }

Store *store_new(void)
{
	Store *s = xcalloc(1, sizeof *s);
	s->allocs.elem = sizeof(Allocation);
	s->nodes.elem = sizeof(Node);
	s->tasks.elem = sizeof(Task);
	return s;
}

void store_free(Store **sp)
{
	if (!sp || !*sp)
		return;
	Store *s = *sp;
	table_done(&s->allocs, done_alloc);
	table_done(&s->nodes, done_node);
	table_done(&s->tasks, done_task);
	free(s->listeners);
	free(s);
	*sp = NULL;
}

void store_listen(Store *s, StoreListener fn, void *ud)
{
	s->listeners = xrealloc(s->listeners, (s->nlisteners + 1) * sizeof *s->listeners);
	s->listeners[s->nlisteners++] = (Listener){fn, ud};
}

static void compact_listeners(Store *s)
{
	size_t j = 0;
	for (size_t i = 0; i < s->nlisteners; i++)
		if (s->listeners[i].fn)
			s->listeners[j++] = s->listeners[i];
	s->nlisteners = j;
}

void store_unlisten(Store *s, StoreListener fn, void *ud)
{
	for (size_t i = 0; i < s->nlisteners; i++)
		if (s->listeners[i].fn == fn && s->listeners[i].ud == ud) {
			s->listeners[i].fn = NULL;
			break;
		}
	if (!s->notifying)
		compact_listeners(s);
}

static void notify(Store *s, StoreKind kind, const char *id)
{
	s->generation++;
	s->notifying++;
	/* A listener may add listeners (realloc): index, don't hold a pointer. */
	for (size_t i = 0; i < s->nlisteners; i++)
		if (s->listeners[i].fn)
			s->listeners[i].fn(s->listeners[i].ud, kind, id);
	if (--s->notifying == 0)
		compact_listeners(s);
}

/* Inserts or replaces; the record's contents move into the table. */
static void *table_put(Table *t, void *rec, void (*done)(void *))
{
	void *slot = table_find(t, rec_id(rec));
	if (slot) {
		done(slot);
	} else {
		slot = table_append(t);
	}
	memcpy(slot, rec, t->elem);
	memset(rec, 0, t->elem);
	if (t->slots[table_slot(t, rec_id(slot))] == 0)
		table_index(t, rec_id(slot));
	return slot;
}

void store_put_allocation(Store *s, Allocation *a)
{
	if (!a || !a->id || !a->id[0]) {
		allocation_done(a);
		return;
	}
	const Allocation *held = table_find(&s->allocs, a->id);
	/* A page read before an event we already applied carries an older version. */
	if (held && held->version > a->version) {
		allocation_done(a);
		return;
	}
	Allocation *rec = table_put(&s->allocs, a, done_alloc);
	notify(s, STORE_ALLOC, rec->id);
}

void store_put_node(Store *s, Node *n)
{
	if (!n || !n->id || !n->id[0]) {
		node_done(n);
		return;
	}
	Node *rec = table_put(&s->nodes, n, done_node);
	notify(s, STORE_NODE, rec->id);
}

void store_put_task(Store *s, Task *t)
{
	if (!t || !t->id || !t->id[0]) {
		task_done(t);
		return;
	}
	Task *rec = table_put(&s->tasks, t, done_task);
	notify(s, STORE_TASK, rec->id);
}

const Allocation *store_allocation(const Store *s, const char *id)
{
	return table_find(&s->allocs, id);
}

const Node *store_node(const Store *s, const char *id)
{
	return table_find(&s->nodes, id);
}

const Task *store_task(const Store *s, const char *id)
{
	return table_find(&s->tasks, id);
}

size_t store_allocation_count(const Store *s)
{
	return s->allocs.count;
}

const Allocation *store_allocation_at(const Store *s, size_t i)
{
	return i < s->allocs.count ? table_at(&s->allocs, i) : NULL;
}

size_t store_node_count(const Store *s)
{
	return s->nodes.count;
}

const Node *store_node_at(const Store *s, size_t i)
{
	return i < s->nodes.count ? table_at(&s->nodes, i) : NULL;
}

int store_apply_event(Store *s, json_t *ev, char *errbuf, size_t errsz)
{
	if (errbuf && errsz)
		errbuf[0] = '\0';
	if (!json_is_object(ev)) {
		snprintf(errbuf, errsz, "event: expected object");
		return -1;
	}
	json_t *jid = json_object_get(ev, "id");
	if (!json_is_integer(jid) || json_integer_value(jid) <= 0) {
		snprintf(errbuf, errsz, "event.id: expected positive integer");
		return -1;
	}
	json_t *type = json_object_get(ev, "type");
	if (!json_is_string(type)) {
		snprintf(errbuf, errsz, "event.type: expected string");
		return -1;
	}
	int64_t id = json_integer_value(jid);

	/* Decode everything first so a malformed event leaves the store untouched. */
	Allocation a = {0};
	Node n = {0};
	Task t = {0};
	bool has_a = false, has_n = false, has_t = false;
	char why[200];
	json_t *ja = json_object_get(ev, "allocation");
	if (ja && !json_is_null(ja)) {
		if (decode_allocation(ja, &a, why, sizeof why) < 0) {
			snprintf(errbuf, errsz, "event %lld: %s", (long long)id, why);
			return -1;
		}
		has_a = true;
	}
	json_t *jn = json_object_get(ev, "node");
	if (jn && !json_is_null(jn)) {
		if (decode_node(jn, &n, why, sizeof why) < 0) {
			allocation_done(&a);
			snprintf(errbuf, errsz, "event %lld: %s", (long long)id, why);
			return -1;
		}
		has_n = true;
	}
	/* Not in the contract today; taken when a server sends it. */
	json_t *jt = json_object_get(ev, "task");
	if (jt && !json_is_null(jt)) {
		if (decode_task(jt, &t, why, sizeof why) < 0) {
			allocation_done(&a);
			node_done(&n);
			snprintf(errbuf, errsz, "event %lld: %s", (long long)id, why);
			return -1;
		}
		has_t = true;
	}
	if (id <= s->last_event_id) {
		allocation_done(&a);
		node_done(&n);
		task_done(&t);
		return 0;
	}
	s->last_event_id = id;
	if (has_a)
		store_put_allocation(s, &a);
	if (has_n)
		store_put_node(s, &n);
	if (has_t)
		store_put_task(s, &t);
	if (!has_a && !has_n && !has_t)
		s->generation++;
	return 1;
}

int64_t store_last_event_id(const Store *s)
{
	return s->last_event_id;
}

void store_set_last_event_id(Store *s, int64_t id)
{
	s->last_event_id = id;
}

uint64_t store_generation(const Store *s)
{
	return s->generation;
}

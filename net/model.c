/* model — decoders from untrusted v1 JSON into the console's structs.
 *
 * Policy (the contract is docs/api/v1.md):
 * - A field of the wrong type is rejected, naming the field ("allocation.gpu_count:
 *   expected integer, got string"). Unknown enum values (allocation/node/task
 *   states) are rejected: they drive logic. Free-text labels (task kind, runtime
 *   state) are accepted as data.
 * - Required: the id and state of every record, an allocation's version.
 *   Everything else may be null or absent and then reads as ""/0/false, so a
 *   server that omits a cosmetic field still shows its fleet.
 * - Over-long strings are CUT, not rejected (at a UTF-8 boundary): ids at 128
 *   bytes are the exception and are rejected, since a cut id would alias
 *   another record. Names 256 bytes, messages and commands 1024. Control
 *   bytes are kept as data; display code sanitizes.
 * - Numbers are clamped to sane ranges, never trusted.
 *
 * Memory: all strings of one record live in ONE heap block whose start is the
 * record's id (plus, for arrays, their own element block). That keeps 100k
 * allocations at one string allocation each instead of ~30. *_done frees it. */
#include "net/model.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

#define ID_MAX 128
#define NAME_MAX_B 256
#define MSG_MAX 1024
#define STORAGE_MAX 64
#define SSH_KEYS_MAX 64
#define STEPS_MAX 64
#define ACTIVITY_MAX 100

typedef struct {
	char **dst;
	const char *src;
	size_t len;
} Pending;

/* One decode in progress: the error sink and the strings to copy at the end. */
typedef struct {
	char *errbuf;
	size_t errsz;
	bool failed;
	Pending *p;
	size_t n, cap;
} Dec;

static void dec_init(Dec *d, char *errbuf, size_t errsz)
{
	memset(d, 0, sizeof *d);
	d->errbuf = errbuf;
	d->errsz = errsz;
	if (errbuf && errsz)
		errbuf[0] = '\0';
}

static void dec_fail(Dec *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void dec_fail(Dec *d, const char *fmt, ...)
{
	if (d->failed)
		return; /* keep the first reason: it is the one that explains the rest */
	d->failed = true;
	if (d->errbuf && d->errsz) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(d->errbuf, d->errsz, fmt, ap);
		va_end(ap);
	}
}

static const char *json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "object";
	case JSON_ARRAY: return "array";
	case JSON_STRING: return "string";
	case JSON_INTEGER: return "integer";
	case JSON_REAL: return "number";
	case JSON_TRUE:
	case JSON_FALSE: return "boolean";
	case JSON_NULL: return "null";
	}
	return "unknown";
}

/* Longest prefix of s (at most max bytes) that does not split a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	size_t n = max;
	/* Back off continuation bytes, then the lead byte they belong to. */
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

static void dec_plan(Dec *d, char **dst, const char *src, size_t len)
{
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 48;
		d->p = xrealloc(d->p, d->cap * sizeof *d->p);
	}
	d->p[d->n++] = (Pending){dst, src, len};
}

/* Copies every planned string into one block; the first planned string (the
 * id) sits at its start, which is what *_done frees. */
static void dec_commit(Dec *d)
{
	size_t total = 0;
	for (size_t i = 0; i < d->n; i++)
		total += d->p[i].len + 1;
	char *block = xmalloc(total ? total : 1);
	char *w = block;
	for (size_t i = 0; i < d->n; i++) {
		memcpy(w, d->p[i].src, d->p[i].len);
		w[d->p[i].len] = '\0';
		*d->p[i].dst = w;
		w += d->p[i].len + 1;
	}
}

static void dec_done(Dec *d)
{
	free(d->p);
	d->p = NULL;
	d->n = d->cap = 0;
}

/* Looks up key; NULL when absent or null. Records a type error when the value
 * is present with another type than `type` (JSON_TRUE stands for boolean). */
static json_t *field(Dec *d, json_t *obj, const char *key, const char *path, json_type type,
                     bool required)
{
	json_t *v = obj ? json_object_get(obj, key) : NULL;
	if (!v || json_is_null(v)) {
		if (required)
			dec_fail(d, "%s: %s", path, v ? "must not be null" : "missing");
		return NULL;
	}
	bool ok = type == JSON_TRUE ? json_is_boolean(v) : json_typeof(v) == type;
	if (!ok) {
		const char *want = type == JSON_OBJECT ? "object" : type == JSON_ARRAY ? "array"
		                 : type == JSON_STRING ? "string" : type == JSON_INTEGER ? "integer"
		                 : "boolean";
		dec_fail(d, "%s: expected %s, got %s", path, want, json_kind(v));
		return NULL;
	}
	return v;
}

/* A bounded string; "" when absent/null and optional. An embedded NUL ends it. */
static void get_str(Dec *d, json_t *obj, const char *key, const char *path, char **dst,
                    size_t max, bool required)
{
	json_t *v = field(d, obj, key, path, JSON_STRING, required);
	if (!v) {
		dec_plan(d, dst, "", 0);
		return;
	}
	const char *s = json_string_value(v);
	size_t len = strnlen(s, json_string_length(v));
	dec_plan(d, dst, s, utf8_cut(s, len, max));
}

/* Ids are keys: never cut (a cut id could alias another), never empty. */
static void get_id(Dec *d, json_t *obj, const char *key, const char *path, char **dst,
                   bool required)
{
	json_t *v = field(d, obj, key, path, JSON_STRING, required);
	if (!v) {
		dec_plan(d, dst, "", 0);
		return;
	}
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	if (len == 0 || len > ID_MAX || strnlen(s, len) != len) {
		dec_fail(d, "%s: %s", path, len == 0 ? "empty id" : len > ID_MAX ? "id too long" : "id contains NUL");
		dec_plan(d, dst, "", 0);
		return;
	}
	dec_plan(d, dst, s, len);
}

static int64_t clamp64(json_int_t v, int64_t lo, int64_t hi)
{
	return v < lo ? lo : v > hi ? hi : (int64_t)v;
}

static int64_t get_int(Dec *d, json_t *obj, const char *key, const char *path, int64_t lo,
                       int64_t hi, bool required)
{
	json_t *v = field(d, obj, key, path, JSON_INTEGER, required);
	return v ? clamp64(json_integer_value(v), lo, hi) : 0;
}

static bool get_bool(Dec *d, json_t *obj, const char *key, const char *path)
{
	json_t *v = field(d, obj, key, path, JSON_TRUE, false);
	return v ? json_is_true(v) : false;
}

/* RFC 3339 time in ms; 0 when absent/null and optional. */
static int64_t get_time(Dec *d, json_t *obj, const char *key, const char *path, bool required)
{
	json_t *v = field(d, obj, key, path, JSON_STRING, required);
	if (!v)
		return 0;
	int64_t ms = qd_time_parse(json_string_value(v));
	if (ms < 0) {
		dec_fail(d, "%s: not an RFC 3339 UTC time", path);
		return 0;
	}
	return ms;
}

/* Validates an enum value against a list; returns its index or -1 (error set). */
static int get_enum(Dec *d, json_t *obj, const char *key, const char *path,
                    int (*from_name)(const char *), bool required)
{
	json_t *v = field(d, obj, key, path, JSON_STRING, required);
	if (!v)
		return -1;
	const char *s = json_string_value(v);
	int e = from_name(s);
	if (e < 0) {
		/* The value is untrusted: quote a bounded, printable prefix only. */
		char shown[33];
		size_t j = 0;
		for (size_t i = 0; s[i] && j < sizeof shown - 1; i++)
			shown[j++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
		shown[j] = '\0';
		dec_fail(d, "%s: unknown value '%s'", path, shown);
	}
	return e;
}

static int alloc_state_idx(const char *s) { return (int)alloc_state_from_name(s); }
static int node_state_idx(const char *s) { return (int)node_state_from_name(s); }

static int name_in(const char *s, const char *const *names)
{
	for (int i = 0; names[i]; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}
static int task_state_idx(const char *s)
{
	static const char *const names[] = {"running", "succeeded", "failed", NULL};
	return name_in(s, names);
}
static int step_state_idx(const char *s)
{
	static const char *const names[] = {"pending", "running", "done", "failed", NULL};
	return name_in(s, names);
}

/* ---- allocation --------------------------------------------------------- */

int decode_allocation(json_t *obj, Allocation *out, char *errbuf, size_t errsz)
{
	Dec d;
	dec_init(&d, errbuf, errsz);
	memset(out, 0, sizeof *out);
	if (!json_is_object(obj)) {
		dec_fail(&d, "allocation: expected object, got %s", obj ? json_kind(obj) : "nothing");
		return -1;
	}
	Allocation a = {0};
	get_id(&d, obj, "id", "allocation.id", &a.id, true); /* first: it heads the block */
	get_str(&d, obj, "name", "allocation.name", &a.name, NAME_MAX_B, false);
	get_str(&d, obj, "org_id", "allocation.org_id", &a.org_id, ID_MAX, false);

	json_t *o = field(&d, obj, "project", "allocation.project", JSON_OBJECT, false);
	get_str(&d, o, "id", "allocation.project.id", &a.project_id, ID_MAX, false);
	get_str(&d, o, "name", "allocation.project.name", &a.project_name, NAME_MAX_B, false);
	o = field(&d, obj, "owner", "allocation.owner", JSON_OBJECT, false);
	get_str(&d, o, "id", "allocation.owner.id", &a.owner_id, ID_MAX, false);
	get_str(&d, o, "name", "allocation.owner.name", &a.owner_name, NAME_MAX_B, false);

	a.state = (AllocState)get_enum(&d, obj, "state", "allocation.state", alloc_state_idx, true);
	a.state_since_ms = get_time(&d, obj, "state_since", "allocation.state_since", false);
	a.deadline_ms = get_time(&d, obj, "deadline_at", "allocation.deadline_at", false);

	o = field(&d, obj, "failure_reason", "allocation.failure_reason", JSON_OBJECT, false);
	get_str(&d, o, "code", "allocation.failure_reason.code", &a.failure_code, NAME_MAX_B, false);
	get_str(&d, o, "message", "allocation.failure_reason.message", &a.failure_message, MSG_MAX, false);
	o = field(&d, obj, "release_failed_reason", "allocation.release_failed_reason", JSON_OBJECT, false);
	get_str(&d, o, "code", "allocation.release_failed_reason.code", &a.release_failed_code,
	        NAME_MAX_B, false);
	get_str(&d, o, "message", "allocation.release_failed_reason.message",
	        &a.release_failed_message, MSG_MAX, false);
	a.billing_stopped = get_bool(&d, obj, "billing_stopped", "allocation.billing_stopped");

	o = field(&d, obj, "node", "allocation.node", JSON_OBJECT, false);
	get_str(&d, o, "id", "allocation.node.id", &a.node_id, ID_MAX, false);
	get_str(&d, o, "name", "allocation.node.name", &a.node_name, NAME_MAX_B, false);
	get_str(&d, o, "region", "allocation.node.region", &a.region, NAME_MAX_B, false);

	o = field(&d, obj, "sku", "allocation.sku", JSON_OBJECT, false);
	get_str(&d, o, "id", "allocation.sku.id", &a.sku_id, ID_MAX, false);
	get_str(&d, o, "name", "allocation.sku.name", &a.sku_name, NAME_MAX_B, false);
	get_str(&d, o, "gpu_model", "allocation.sku.gpu_model", &a.gpu_model, NAME_MAX_B, false);
	json_t *kind = field(&d, o, "kind", "allocation.sku.kind", JSON_STRING, false);
	if (kind) {
		const char *k = json_string_value(kind);
		if (strcmp(k, "slice") == 0)
			a.sku_slice = true;
		else if (strcmp(k, "node") != 0)
			dec_fail(&d, "allocation.sku.kind: unknown value (expected node or slice)");
	}
	a.gpu_count = (int)get_int(&d, obj, "gpu_count", "allocation.gpu_count", 0, 1024, false);

	o = field(&d, obj, "image", "allocation.image", JSON_OBJECT, false);
	get_str(&d, o, "name", "allocation.image.name", &a.image_name, NAME_MAX_B, false);
	o = field(&d, obj, "network", "allocation.network", JSON_OBJECT, false);
	get_str(&d, o, "name", "allocation.network.name", &a.network_name, NAME_MAX_B, false);
	o = field(&d, obj, "runtime", "allocation.runtime", JSON_OBJECT, false);
	get_str(&d, o, "bundle", "allocation.runtime.bundle", &a.runtime_bundle, NAME_MAX_B, false);
	get_str(&d, o, "version", "allocation.runtime.version", &a.runtime_version, NAME_MAX_B, false);
	get_str(&d, o, "state", "allocation.runtime.state", &a.runtime_state, NAME_MAX_B, false);

	json_t *arr = field(&d, obj, "storage", "allocation.storage", JSON_ARRAY, false);
	size_t ns = arr ? QD_MIN(json_array_size(arr), (size_t)STORAGE_MAX) : 0;
	if (ns) {
		a.storage = xcalloc(ns, sizeof *a.storage);
		a.storage_count = (int)ns;
	}
	for (size_t i = 0; i < ns && !d.failed; i++) {
		json_t *it = json_array_get(arr, i);
		StorageItem *si = &a.storage[i];
		if (!json_is_object(it)) {
			dec_fail(&d, "allocation.storage[%zu]: expected object, got %s", i, json_kind(it));
			break;
		}
		get_str(&d, it, "id", "allocation.storage[].id", &si->id, ID_MAX, false);
		get_str(&d, it, "name", "allocation.storage[].name", &si->name, NAME_MAX_B, false);
		get_str(&d, it, "mount_path", "allocation.storage[].mount_path", &si->mount_path,
		        MSG_MAX, false);
		si->size_gb = (int)get_int(&d, it, "size_gb", "allocation.storage[].size_gb", 0,
		                           100 * 1000 * 1000, false);
		si->persistent = get_bool(&d, it, "persistent", "allocation.storage[].persistent");
	}

	o = field(&d, obj, "ssh", "allocation.ssh", JSON_OBJECT, false);
	get_str(&d, o, "command", "allocation.ssh.command", &a.ssh_command, MSG_MAX, false);
	/* The account keys the allocation authorizes (ids only; at most 16 by the API). */
	arr = field(&d, obj, "ssh_key_ids", "allocation.ssh_key_ids", JSON_ARRAY, false);
	size_t nk = arr ? QD_MIN(json_array_size(arr), (size_t)SSH_KEYS_MAX) : 0;
	if (nk && !d.failed) {
		a.ssh_key_ids = xcalloc(nk, sizeof *a.ssh_key_ids);
		a.ssh_key_count = (int)nk;
	}
	for (size_t i = 0; i < nk && !d.failed; i++) {
		json_t *it = json_array_get(arr, i);
		if (!json_is_string(it)) {
			dec_fail(&d, "allocation.ssh_key_ids[%zu]: expected string, got %s", i, json_kind(it));
			break;
		}
		const char *ks = json_string_value(it);
		size_t klen = strnlen(ks, json_string_length(it));
		dec_plan(&d, &a.ssh_key_ids[i], ks, utf8_cut(ks, klen, ID_MAX));
	}
	a.price_per_hour_cents = (int)get_int(&d, obj, "price_per_hour_cents",
	                                      "allocation.price_per_hour_cents", 0, 100000000, false);
	get_str(&d, obj, "task_id", "allocation.task_id", &a.task_id, ID_MAX, false);
	a.version = get_int(&d, obj, "version", "allocation.version", 0, INT64_MAX, true);
	a.created_ms = get_time(&d, obj, "created_at", "allocation.created_at", false);
	a.updated_ms = get_time(&d, obj, "updated_at", "allocation.updated_at", false);
	a.is_actionable = get_bool(&d, obj, "is_actionable", "allocation.is_actionable");
	get_str(&d, obj, "action_required", "allocation.action_required", &a.action_required,
	        NAME_MAX_B, false);
	a.actionable_until_ms = get_time(&d, obj, "actionable_until", "allocation.actionable_until", false);
	a.archived_at_ms = get_time(&d, obj, "archived_at", "allocation.archived_at", false);

	if (d.failed) {
		free(a.storage);
		free(a.ssh_key_ids);
		dec_done(&d);
		return -1;
	}
	dec_commit(&d);
	dec_done(&d);
	*out = a;
	return 0;
}

/* The string fields of Allocation, id first (it heads the block). */
#define ALLOC_STR_FIELDS(X)                                                             \
	X(id) X(name) X(org_id) X(project_id) X(project_name) X(owner_id) X(owner_name)   \
	X(failure_code) X(failure_message) X(release_failed_code) X(release_failed_message) \
	X(node_id) X(node_name) X(region) X(sku_id) X(sku_name) X(gpu_model) X(image_name) \
	X(network_name) X(runtime_bundle) X(runtime_version) X(runtime_state) X(ssh_command) \
	X(task_id) X(action_required)

void allocation_done(Allocation *a)
{
	if (!a)
		return;
	free(a->id); /* the string block */
	free(a->storage);
	free(a->ssh_key_ids);
	memset(a, 0, sizeof *a);
}

static const char *or_empty(const char *s) { return s ? s : ""; }

void allocation_copy(Allocation *dst, const Allocation *src)
{
	Dec d;
	dec_init(&d, NULL, 0);
	*dst = *src;
	dst->storage = NULL;
	if (src->storage_count > 0) {
		dst->storage = xcalloc((size_t)src->storage_count, sizeof *dst->storage);
		memcpy(dst->storage, src->storage, (size_t)src->storage_count * sizeof *dst->storage);
	}
#define X(f) dec_plan(&d, &dst->f, or_empty(src->f), strlen(or_empty(src->f)));
	ALLOC_STR_FIELDS(X)
#undef X
	for (int i = 0; i < src->storage_count; i++) {
		const StorageItem *s = &src->storage[i];
		StorageItem *t = &dst->storage[i];
		dec_plan(&d, &t->id, or_empty(s->id), strlen(or_empty(s->id)));
		dec_plan(&d, &t->name, or_empty(s->name), strlen(or_empty(s->name)));
		dec_plan(&d, &t->mount_path, or_empty(s->mount_path), strlen(or_empty(s->mount_path)));
	}
	dst->ssh_key_ids = NULL;
	if (src->ssh_key_count > 0) {
		dst->ssh_key_ids = xcalloc((size_t)src->ssh_key_count, sizeof *dst->ssh_key_ids);
		for (int i = 0; i < src->ssh_key_count; i++)
			dec_plan(&d, &dst->ssh_key_ids[i], or_empty(src->ssh_key_ids[i]),
			         strlen(or_empty(src->ssh_key_ids[i])));
	}
	dec_commit(&d);
	dec_done(&d);
}

/* ---- node --------------------------------------------------------------- */

int decode_node(json_t *obj, Node *out, char *errbuf, size_t errsz)
{
	Dec d;
	dec_init(&d, errbuf, errsz);
	memset(out, 0, sizeof *out);
	if (!json_is_object(obj)) {
		dec_fail(&d, "node: expected object, got %s", obj ? json_kind(obj) : "nothing");
		return -1;
	}
	Node n = {0};
	get_id(&d, obj, "id", "node.id", &n.id, true);
	get_str(&d, obj, "name", "node.name", &n.name, NAME_MAX_B, false);
	get_str(&d, obj, "region", "node.region", &n.region, NAME_MAX_B, false);
	get_str(&d, obj, "gpu_model", "node.gpu_model", &n.gpu_model, NAME_MAX_B, false);
	get_str(&d, obj, "agent_version", "node.agent_version", &n.agent_version, NAME_MAX_B, false);
	n.state = (NodeState)get_enum(&d, obj, "state", "node.state", node_state_idx, true);
	n.gpu_total = (int)get_int(&d, obj, "gpu_total", "node.gpu_total", 0, 1024, false);
	n.gpu_free = (int)get_int(&d, obj, "gpu_free", "node.gpu_free", 0, n.gpu_total, false);
	n.allocation_count = (int)get_int(&d, obj, "allocation_count", "node.allocation_count", 0,
	                                  INT_MAX, false);
	n.scheduling = get_bool(&d, obj, "scheduling", "node.scheduling");
	n.cert_expires_ms = get_time(&d, obj, "cert_expires_at", "node.cert_expires_at", false);
	n.last_heartbeat_ms = get_time(&d, obj, "last_heartbeat_at", "node.last_heartbeat_at", false);
	if (d.failed) {
		dec_done(&d);
		return -1;
	}
	dec_commit(&d);
	dec_done(&d);
	*out = n;
	return 0;
}

void node_done(Node *n)
{
	if (!n)
		return;
	free(n->id);
	memset(n, 0, sizeof *n);
}

/* ---- task --------------------------------------------------------------- */

int decode_task(json_t *obj, Task *out, char *errbuf, size_t errsz)
{
	Dec d;
	dec_init(&d, errbuf, errsz);
	memset(out, 0, sizeof *out);
	if (!json_is_object(obj)) {
		dec_fail(&d, "task: expected object, got %s", obj ? json_kind(obj) : "nothing");
		return -1;
	}
	Task t = {0};
	get_id(&d, obj, "id", "task.id", &t.id, true);
	get_str(&d, obj, "kind", "task.kind", &t.kind, NAME_MAX_B, false);
	get_str(&d, obj, "allocation_id", "task.allocation_id", &t.allocation_id, ID_MAX, false);
	get_enum(&d, obj, "state", "task.state", task_state_idx, true);
	get_str(&d, obj, "state", "task.state", &t.state, NAME_MAX_B, true);
	get_str(&d, obj, "current_step", "task.current_step", &t.current_step, NAME_MAX_B, false);
	t.created_ms = get_time(&d, obj, "created_at", "task.created_at", false);
	t.updated_ms = get_time(&d, obj, "updated_at", "task.updated_at", false);

	json_t *arr = field(&d, obj, "steps", "task.steps", JSON_ARRAY, false);
	size_t ns = arr ? QD_MIN(json_array_size(arr), (size_t)STEPS_MAX) : 0;
	if (ns && !d.failed) {
		t.steps = xcalloc(ns, sizeof *t.steps);
		t.step_count = (int)ns;
	}
	for (size_t i = 0; i < (size_t)t.step_count && !d.failed; i++) {
		json_t *it = json_array_get(arr, i);
		if (!json_is_object(it)) {
			dec_fail(&d, "task.steps[%zu]: expected object, got %s", i, json_kind(it));
			break;
		}
		TaskStep *st = &t.steps[i];
		get_str(&d, it, "name", "task.steps[].name", &st->name, NAME_MAX_B, true);
		get_enum(&d, it, "state", "task.steps[].state", step_state_idx, true);
		get_str(&d, it, "state", "task.steps[].state", &st->state, NAME_MAX_B, true);
		st->started_ms = get_time(&d, it, "started_at", "task.steps[].started_at", false);
		st->finished_ms = get_time(&d, it, "finished_at", "task.steps[].finished_at", false);
	}

	/* Activity can grow long: keep the newest ACTIVITY_MAX entries (the tail). */
	arr = field(&d, obj, "activity", "task.activity", JSON_ARRAY, false);
	size_t total = arr ? json_array_size(arr) : 0;
	size_t na = QD_MIN(total, (size_t)ACTIVITY_MAX);
	size_t first = total - na;
	if (na && !d.failed) {
		t.activity = xcalloc(na, sizeof *t.activity);
		t.activity_count = (int)na;
	}
	for (size_t i = 0; i < (size_t)t.activity_count && !d.failed; i++) {
		json_t *it = json_array_get(arr, first + i);
		if (!json_is_object(it)) {
			dec_fail(&d, "task.activity[%zu]: expected object, got %s", first + i, json_kind(it));
			break;
		}
		TaskActivity *ac = &t.activity[i];
		ac->at_ms = get_time(&d, it, "at", "task.activity[].at", false);
		get_str(&d, it, "message", "task.activity[].message", &ac->message, MSG_MAX, false);
	}
	if (d.failed) {
		free(t.steps);
		free(t.activity);
		dec_done(&d);
		return -1;
	}
	dec_commit(&d);
	dec_done(&d);
	*out = t;
	return 0;
}

void task_done(Task *t)
{
	if (!t)
		return;
	free(t->id);
	free(t->steps);
	free(t->activity);
	memset(t, 0, sizeof *t);
}

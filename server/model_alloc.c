/* model_alloc — allocations: the serialiser, the filtered keyset list, and the
 * create / release / restart / force-release mutations with their prechecks. */
#include "server/db_internal.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "server/jsonout.h"

#define ALLOC_SELECT                                                                              \
	"SELECT a.id, a.name, a.org_id, a.project_id, p.name, a.owner_id, u.name, a.state,"        \
	" a.state_since, a.deadline_at, a.failure_code, a.failure_message, a.rf_code, a.rf_message," \
	" a.billing_stopped, a.node_id, n.name, n.region_id, n.host, a.sku_id, s.name, s.gpu_model," \
	" s.kind, a.gpu_count, a.image_id, i.name, a.network_id, w.name, a.runtime_bundle,"         \
	" a.runtime_version, a.runtime_state, a.ssh_key_ids, a.ssh_port, a.price_per_hour_cents,"   \
	" a.task_id, a.version, a.created_at, a.updated_at, a.volume_count"                                          \
	" FROM allocations a LEFT JOIN projects p ON p.id = a.project_id"                            \
	" LEFT JOIN users u ON u.id = a.owner_id LEFT JOIN nodes n ON n.id = a.node_id"             \
	" LEFT JOIN skus s ON s.id = a.sku_id LEFT JOIN images i ON i.id = a.image_id"              \
	" LEFT JOIN networks w ON w.id = a.network_id"

enum { C_ID, C_NAME, C_ORG, C_PRJ, C_PRJ_NAME, C_OWNER, C_OWNER_NAME, C_STATE, C_SINCE,
       C_DEADLINE, C_FCODE, C_FMSG, C_RFCODE, C_RFMSG, C_BILLING, C_NODE, C_NODE_NAME, C_REGION,
       C_HOST, C_SKU, C_SKU_NAME, C_GPU_MODEL, C_KIND, C_GPUS, C_IMAGE, C_IMAGE_NAME, C_NET,
       C_NET_NAME, C_RT_BUNDLE, C_RT_VERSION, C_RT_STATE, C_KEYS, C_SSH_PORT, C_PRICE, C_TASK,
       C_VERSION, C_CREATED, C_UPDATED, C_VOLUMES };

/* Lists build thousands of these: set keys without jansson's UTF-8 re-check
 * (our keys are ASCII literals) and values without json_pack's parsing. */
#define SET(obj, key, val) json_object_set_new_nocheck((obj), (key), (val))

static json_t *col_str(sqlite3_stmt *st, int i)
{
	const unsigned char *s = sqlite3_column_text(st, i);
	if (!s)
		return json_null();
	json_t *j = json_stringn((const char *)s, (size_t)sqlite3_column_bytes(st, i));
	return j ? j : json_string("");
}

static json_t *id_name(sqlite3_stmt *st, int id, int name)
{
	if (sqlite3_column_type(st, id) == SQLITE_NULL)
		return json_null();
	json_t *o = json_object();
	SET(o, "id", col_str(st, id));
	SET(o, "name", col_str(st, name));
	return o;
}

static json_t *reason(sqlite3_stmt *st, int code, int msg)
{
	if (sqlite3_column_type(st, code) == SQLITE_NULL)
		return json_null();
	json_t *o = json_object();
	SET(o, "code", col_str(st, code));
	SET(o, "message", col_str(st, msg));
	return o;
}

static json_t *storage_json(Db *db, const char *alloc_id)
{
	json_t *arr = json_array();
	sqlite3_stmt *st = db_prep(db, "SELECT id, name, mount_path, size_gb, persistent FROM volumes"
	                               " WHERE allocation_id = ? ORDER BY created_at, id");
	if (!st)
		return arr;
	sqlite3_bind_text(st, 1, alloc_id, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(arr, json_pack("{s:o, s:o, s:o, s:I, s:b}", "id", col_str(st, 0),
		                                     "name", col_str(st, 1), "mount_path",
		                                     col_str(st, 2), "size_gb",
		                                     (json_int_t)sqlite3_column_int64(st, 3),
		                                     "persistent", sqlite3_column_int(st, 4)));
	sqlite3_reset(st);
	return arr;
}

static json_t *keys_json(const char *csv)
{
	json_t *arr = json_array();
	while (csv && *csv) {
		const char *comma = strchr(csv, ',');
		size_t n = comma ? (size_t)(comma - csv) : strlen(csv);
		if (n)
			json_array_append_new(arr, json_stringn(csv, n));
		csv = comma ? comma + 1 : NULL;
	}
	return arr;
}

/* One row of ALLOC_SELECT as the API shows it. now_ms drives actionability. */
static json_t *row_json(Db *db, sqlite3_stmt *st, int64_t now)
{
	const char *id = (const char *)sqlite3_column_text(st, C_ID);
	const char *state_name = (const char *)sqlite3_column_text(st, C_STATE);
	AllocState state = alloc_state_from_name(state_name);
	int64_t since = sqlite3_column_int64(st, C_SINCE);
	bool billing_stopped = sqlite3_column_int(st, C_BILLING) != 0;
	AllocActionability act = alloc_actionability(state, since, now, billing_stopped);

	json_t *j = json_object();
	SET(j, "id", col_str(st, C_ID));
	SET(j, "name", col_str(st, C_NAME));
	SET(j, "org_id", col_str(st, C_ORG));
	SET(j, "project", id_name(st, C_PRJ, C_PRJ_NAME));
	SET(j, "owner", id_name(st, C_OWNER, C_OWNER_NAME));
	SET(j, "state", col_str(st, C_STATE));
	SET(j, "state_since", db_time_json(since));
	SET(j, "deadline_at", db_time_json(sqlite3_column_int64(st, C_DEADLINE)));
	SET(j, "failure_reason", reason(st, C_FCODE, C_FMSG));
	SET(j, "release_failed_reason", reason(st, C_RFCODE, C_RFMSG));
	SET(j, "billing_stopped", json_boolean(billing_stopped));
	json_t *node = json_null();
	if (sqlite3_column_type(st, C_NODE) != SQLITE_NULL) {
		node = id_name(st, C_NODE, C_NODE_NAME);
		SET(node, "region", col_str(st, C_REGION));
	}
	SET(j, "node", node);
	json_t *sku = id_name(st, C_SKU, C_SKU_NAME);
	if (json_is_object(sku)) {
		SET(sku, "gpu_model", col_str(st, C_GPU_MODEL));
		SET(sku, "kind", col_str(st, C_KIND));
	}
	SET(j, "sku", sku);
	SET(j, "gpu_count", json_integer(sqlite3_column_int(st, C_GPUS)));
	SET(j, "image", id_name(st, C_IMAGE, C_IMAGE_NAME));
	SET(j, "network", id_name(st, C_NET, C_NET_NAME));
	json_t *rt = json_null();
	if (sqlite3_column_type(st, C_RT_BUNDLE) != SQLITE_NULL) {
		rt = json_object();
		SET(rt, "bundle", col_str(st, C_RT_BUNDLE));
		SET(rt, "version", col_str(st, C_RT_VERSION));
		SET(rt, "state", col_str(st, C_RT_STATE));
	}
	SET(j, "runtime", rt);
	SET(j, "storage", sqlite3_column_int(st, C_VOLUMES) > 0 ? storage_json(db, id) : json_array());
	/* SSH is offered while the machine exists and is meant to be up. */
	json_t *ssh = json_null();
	const char *host = (const char *)sqlite3_column_text(st, C_HOST);
	if (host && sqlite3_column_type(st, C_SSH_PORT) != SQLITE_NULL &&
	    (state == ALLOC_ACTIVE || state == ALLOC_RESTARTING || state == ALLOC_RESTART_FAILED)) {
		int port = sqlite3_column_int(st, C_SSH_PORT);
		char cmd[320];
		snprintf(cmd, sizeof cmd, "ssh -p %d ubuntu@%s", port, host);
		ssh = json_object();
		SET(ssh, "host", json_string(host));
		SET(ssh, "port", json_integer(port));
		SET(ssh, "user", json_string("ubuntu"));
		SET(ssh, "command", json_string(cmd));
	}
	SET(j, "ssh", ssh);
	SET(j, "ssh_key_ids", keys_json((const char *)sqlite3_column_text(st, C_KEYS)));
	SET(j, "price_per_hour_cents", json_integer(sqlite3_column_int64(st, C_PRICE)));
	SET(j, "task_id", col_str(st, C_TASK));
	SET(j, "version", json_integer(sqlite3_column_int64(st, C_VERSION)));
	SET(j, "created_at", db_time_json(sqlite3_column_int64(st, C_CREATED)));
	SET(j, "updated_at", db_time_json(sqlite3_column_int64(st, C_UPDATED)));
	SET(j, "is_actionable", json_boolean(act.is_actionable));
	SET(j, "action_required",
	    act.action_required ? json_string_nocheck(act.action_required) : json_null());
	SET(j, "actionable_until", db_time_json(act.actionable_until_ms));
	SET(j, "archived_at", db_time_json(act.archived_at_ms));
	return j;
}

json_t *db_alloc_json(Db *db, const char *id)
{
	sqlite3_stmt *st = db_prep(db, ALLOC_SELECT " WHERE a.id = ?");
	if (!st)
		return NULL;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	json_t *j = NULL;
	if (sqlite3_step(st) == SQLITE_ROW)
		j = row_json(db, st, db_now_ms(db));
	sqlite3_reset(st);
	return j;
}

/* --- list ------------------------------------------------------------------------- */

/* SQL twins of alloc_actionability(): they must agree with row_json's fields,
 * and the unit tests check that they do. :wcut = now - ACTIONABLE_WINDOW_MS,
 * :acut = now - ARCHIVE_AFTER_MS. */
#define SQL_ACTIONABLE                                                                       \
	"(a.state IN ('provisioning','active','restarting','releasing','release_failed')"   \
	" OR (a.state IN ('failed','restart_failed') AND a.state_since > :wcut))"
#define SQL_ARCHIVED                                                                          \
	"((a.state IN ('failed','restart_failed') AND a.state_since <= :wcut)"                \
	" OR (a.state = 'released' AND a.state_since <= :acut))"

static void bind_text(sqlite3_stmt *st, const char *name, const char *v)
{
	int i = sqlite3_bind_parameter_index(st, name);
	if (i > 0)
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

static void bind_i64(sqlite3_stmt *st, const char *name, int64_t v)
{
	int i = sqlite3_bind_parameter_index(st, name);
	if (i > 0)
		sqlite3_bind_int64(st, i, v);
}

/* "%text%" for LIKE with its wildcards and the escape character escaped. */
static char *like_pattern(const char *q)
{
	QdBuf b;
	qdbuf_init(&b);
	qdbuf_append(&b, "%", 1);
	for (const char *s = q; *s; s++) {
		if (*s == '%' || *s == '_' || *s == '\\')
			qdbuf_append(&b, "\\", 1);
		char c = (char)tolower((unsigned char)*s);
		qdbuf_append(&b, &c, 1);
	}
	qdbuf_append(&b, "%", 1);
	char *r = xstrdup(qdbuf_cstr(&b));
	qdbuf_done(&b);
	return r;
}

static int64_t last_event_id(Db *db)
{
	sqlite3_stmt *st = db_prep(db, "SELECT COALESCE(MAX(id), 0) FROM events");
	int64_t id = 0;
	if (st && sqlite3_step(st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	if (st)
		sqlite3_reset(st);
	return id;
}

/* An open list query, stepped inside the read transaction list_open began.
 * Both serialisers share it so the jansson path and the text path cannot
 * disagree on which rows a page holds.
 *
 * A state filter runs one statement per asked-for state, each walking its own
 * (state, created_at, id) index in list order, and merges them: a state that
 * holds few rows then costs a few index steps instead of a walk of the whole
 * list order looking for them. */
typedef struct {
	sqlite3_stmt *sts[ALLOC_STATE_COUNT];
	bool live[ALLOC_STATE_COUNT]; /* sts[i] is on a row not yet handed out */
	int nst;
	int rc;                       /* the first failing sqlite3_step's code, else SQLITE_DONE */
	bool primed;
	int limit;
	int64_t now;
	int64_t as_of;
	char *pat;
} ListQuery;

static void list_query_done(ListQuery *lq)
{
	free(lq->pat);
	lq->pat = NULL;
}

/* Builds one statement of the query: state is the state it is limited to, or
 * -1 for all states. */
static sqlite3_stmt *list_prep(Db *db, const Principal *p, const AllocFilter *f, bool admin_scope,
                               int state, int64_t ckey, const char *cid, ListQuery *lq)
{
	QdBuf sql;
	qdbuf_init(&sql);
	qdbuf_appendf(&sql, "%s WHERE 1", ALLOC_SELECT);
	if (!admin_scope)
		qdbuf_appendf(&sql, " AND a.org_id = :org");
	/* A literal: the statement is one per state, so the planner sees which
	 * index range it reads. */
	if (state >= 0)
		qdbuf_appendf(&sql, " AND a.state = '%s'", alloc_state_name((AllocState)state));
	if (f->actionable == 1)
		qdbuf_appendf(&sql, " AND " SQL_ACTIONABLE);
	else if (f->actionable == 0)
		qdbuf_appendf(&sql, " AND NOT " SQL_ACTIONABLE);
	if (f->archived == 1)
		qdbuf_appendf(&sql, " AND " SQL_ARCHIVED);
	else if (f->archived == 0)
		qdbuf_appendf(&sql, " AND NOT " SQL_ARCHIVED);
	if (f->node_id)
		qdbuf_appendf(&sql, " AND a.node_id = :node");
	if (f->project_id)
		qdbuf_appendf(&sql, " AND a.project_id = :project");
	if (lq->pat)
		qdbuf_appendf(&sql, " AND a.search LIKE :q ESCAPE '\\'");
	if (f->cursor)
		qdbuf_appendf(&sql, " AND (a.created_at, a.id) < (:ckey, :cid)");
	qdbuf_appendf(&sql, " ORDER BY a.created_at DESC, a.id DESC LIMIT :limit");
	sqlite3_stmt *st = db_prep(db, qdbuf_cstr(&sql));
	qdbuf_done(&sql);
	if (!st)
		return NULL;
	bind_text(st, ":org", p->org_id);
	bind_i64(st, ":wcut", lq->now - ACTIONABLE_WINDOW_MS);
	bind_i64(st, ":acut", lq->now - ARCHIVE_AFTER_MS);
	if (f->node_id)
		bind_text(st, ":node", f->node_id);
	if (f->project_id)
		bind_text(st, ":project", f->project_id);
	if (lq->pat)
		bind_text(st, ":q", lq->pat);
	if (f->cursor) {
		bind_i64(st, ":ckey", ckey);
		bind_text(st, ":cid", cid);
	}
	bind_i64(st, ":limit", lq->limit + 1);
	return st;
}

/* Validates the filter, builds and binds the statements, opens the snapshot.
 * false with *err filled (nothing left open) on failure. */
static bool list_open(Db *db, const Principal *p, const AllocFilter *f, bool admin_scope,
                      ListQuery *lq, ApiError *err)
{
	memset(lq, 0, sizeof *lq);
	lq->rc = SQLITE_DONE;
	if (admin_scope && !p->is_admin) {
		api_error_set(err, 403, "forbidden", "ask an operator with the admin role",
		              "listing every org's allocations needs the admin role");
		return false;
	}
	int64_t ckey = 0;
	char cid[DB_ID_MAX];
	if (f->cursor && !db_cursor_decode(f->cursor, "a", &ckey, cid, sizeof cid)) {
		api_error_set(err, 400, "invalid_cursor", "start again from the first page",
		              "the cursor is not one this server issued for allocation lists");
		return false;
	}
	if (f->q && strlen(f->q) > 200) {
		api_error_set(err, 400, "invalid_parameter", "search for at most 200 characters",
		              "q is %zu characters long", strlen(f->q));
		return false;
	}
	lq->limit = f->limit < 1 ? QD_PAGE_LIMIT_DEFAULT : QD_MIN(f->limit, QD_PAGE_LIMIT_MAX);
	lq->pat = f->q && *f->q ? like_pattern(f->q) : NULL;
	if (!db_begin_read(db)) {
		db_fail(db, err, "read allocations");
		list_query_done(lq);
		return false;
	}
	lq->as_of = last_event_id(db);
	lq->now = db_now_ms(db);
	unsigned mask = f->state_mask & ((1u << ALLOC_STATE_COUNT) - 1);
	for (int s = mask ? 0 : -1; s < ALLOC_STATE_COUNT; s++) {
		if (s >= 0 && !(mask & 1u << s))
			continue;
		sqlite3_stmt *st = list_prep(db, p, f, admin_scope, s, ckey, cid, lq);
		if (!st) {
			for (int i = 0; i < lq->nst; i++)
				sqlite3_reset(lq->sts[i]);
			db_rollback(db);
			db_fail(db, err, "read allocations");
			list_query_done(lq);
			return false;
		}
		lq->sts[lq->nst++] = st;
		if (s < 0)
			break;
	}
	return true;
}

static void list_step_one(ListQuery *lq, int i)
{
	int rc = sqlite3_step(lq->sts[i]);
	lq->live[i] = rc == SQLITE_ROW;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE && lq->rc == SQLITE_DONE)
		lq->rc = rc;
}

/* a's row comes before b's in list order: created_at desc, then id desc (the
 * BINARY collation the index orders by). */
static bool list_before(sqlite3_stmt *a, sqlite3_stmt *b)
{
	int64_t ca = sqlite3_column_int64(a, C_CREATED), cb = sqlite3_column_int64(b, C_CREATED);
	if (ca != cb)
		return ca > cb;
	const void *ia = sqlite3_column_blob(a, C_ID), *ib = sqlite3_column_blob(b, C_ID);
	int na = sqlite3_column_bytes(a, C_ID), nb = sqlite3_column_bytes(b, C_ID);
	int c = memcmp(ia ? ia : "", ib ? ib : "", (size_t)QD_MIN(na, nb));
	return c != 0 ? c > 0 : na > nb;
}

/* The statement holding the next row in list order (valid until the next
 * call), or NULL at the end or on an error (lq->rc says which). */
static sqlite3_stmt *list_next(ListQuery *lq)
{
	if (!lq->primed) {
		lq->primed = true;
		for (int i = 0; i < lq->nst; i++)
			list_step_one(lq, i);
	}
	if (lq->rc != SQLITE_DONE)
		return NULL;
	int best = -1;
	for (int i = 0; i < lq->nst; i++)
		if (lq->live[i] && (best < 0 || list_before(lq->sts[i], lq->sts[best])))
			best = i;
	if (best < 0)
		return NULL;
	/* Handed out now, stepped on the next call: the caller reads it first. */
	lq->live[best] = false;
	sqlite3_stmt *st = lq->sts[best];
	return st;
}

/* Advances the stream whose row list_next last handed out. */
static void list_advance(ListQuery *lq, sqlite3_stmt *handed)
{
	for (int i = 0; i < lq->nst; i++)
		if (lq->sts[i] == handed) {
			list_step_one(lq, i);
			return;
		}
}

/* Ends the snapshot and returns the next cursor (NULL on the last page)
 * through *next; false with *err on a database error. */
static bool list_finish(Db *db, ListQuery *lq, int n, int64_t last_created, const char *last_id,
                        char **next, ApiError *err)
{
	for (int i = 0; i < lq->nst; i++)
		sqlite3_reset(lq->sts[i]);
	*next = NULL;
	if (lq->rc != SQLITE_DONE) {
		db_rollback(db);
		db_fail(db, err, "read allocations");
		return false;
	}
	db_commit(db);
	if (n > lq->limit)
		*next = db_cursor_encode("a", last_created, last_id);
	return true;
}

json_t *model_allocations(Db *db, const Principal *p, const AllocFilter *f, bool admin_scope,
                          ApiError *err)
{
	ListQuery lq;
	if (!list_open(db, p, f, admin_scope, &lq, err))
		return NULL;
	json_t *items = json_array();
	json_t *out = NULL;
	int n = 0;
	int64_t last_created = 0;
	char last_id[DB_ID_MAX] = "";
	for (sqlite3_stmt *st; (st = list_next(&lq)) != NULL; list_advance(&lq, st)) {
		if (n == lq.limit) {
			n++;
			break;
		}
		json_array_append_new(items, row_json(db, st, lq.now));
		last_created = sqlite3_column_int64(st, C_CREATED);
		qd_strlcpy(last_id, (const char *)sqlite3_column_text(st, C_ID), sizeof last_id);
		n++;
	}
	char *next = NULL;
	if (list_finish(db, &lq, n, last_created, last_id, &next, err))
		out = json_pack("{s:O, s:o, s:I}", "items", items, "next_cursor",
		                next ? json_string(next) : json_null(), "as_of_event_id",
		                (json_int_t)lq.as_of);
	free(next);
	json_decref(items);
	list_query_done(&lq);
	return out;
}

/* --- list as text ------------------------------------------------------------------ */

/* The same page written straight from the sqlite row into text, byte for byte
 * what routes.c's writer makes of model_allocations()'s json: building 20k
 * jansson values per 500-row page, then walking and freeing them, was most of
 * a page's time. Keys appear in row_json's order; strings get jansson's
 * treatment (invalid UTF-8 becomes what col_str makes of it, and the escapes
 * are json_dumps's) through the same writer, server/jsonout.c.
 * tests/unit/test_list_json.c holds the two paths equal. */

/* s must be a string literal (sizeof of anything else is a pointer's). */
#define OUT_LIT(o, s) jsonout_raw((o), "" s, sizeof(s) - 1)

static void out_i64(JsonOut *o, int64_t v)
{
	char b[24];
	int i = (int)sizeof b;
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	do {
		b[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		b[--i] = '-';
	jsonout_raw(o, b + i, sizeof b - (size_t)i);
}

/* Whether jansson would take these bytes as a string. ASCII (nearly every
 * value) is decided here; anything else is asked of jansson itself so the two
 * paths cannot differ on what valid UTF-8 is. */
static bool utf8_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80) {
			json_t *j = json_stringn(s, n);
			json_decref(j);
			return j != NULL;
		}
	return true;
}

/* What col_str() makes of a column: null, the text, or "" for bad UTF-8. */
static void out_col(JsonOut *o, sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);
	if (!s) {
		OUT_LIT(o, "null");
		return;
	}
	size_t n = (size_t)sqlite3_column_bytes(st, i);
	if (utf8_ok(s, n))
		jsonout_string(o, s, n);
	else
		OUT_LIT(o, "\"\"");
}

static void out_time(JsonOut *o, int64_t ms)
{
	if (ms <= 0) {
		OUT_LIT(o, "null");
		return;
	}
	char buf[32];
	db_time_format(ms, buf);
	jsonout_string(o, buf, strlen(buf));
}

static void out_bool(JsonOut *o, bool b)
{
	if (b)
		OUT_LIT(o, "true");
	else
		OUT_LIT(o, "false");
}

/* id_name()'s object, left open when more members follow (close = false). */
static bool out_id_name(JsonOut *o, sqlite3_stmt *st, int id, int name, bool close)
{
	if (sqlite3_column_type(st, id) == SQLITE_NULL) {
		OUT_LIT(o, "null");
		return false;
	}
	OUT_LIT(o, "{\"id\":");
	out_col(o, st, id);
	OUT_LIT(o, ",\"name\":");
	out_col(o, st, name);
	if (close)
		OUT_LIT(o, "}");
	return true;
}

static void out_reason(JsonOut *o, sqlite3_stmt *st, int code, int msg)
{
	if (sqlite3_column_type(st, code) == SQLITE_NULL) {
		OUT_LIT(o, "null");
		return;
	}
	OUT_LIT(o, "{\"code\":");
	out_col(o, st, code);
	OUT_LIT(o, ",\"message\":");
	out_col(o, st, msg);
	OUT_LIT(o, "}");
}

static void out_storage(Db *db, JsonOut *o, const char *alloc_id)
{
	OUT_LIT(o, "[");
	sqlite3_stmt *st = db_prep(db, "SELECT id, name, mount_path, size_gb, persistent FROM volumes"
	                               " WHERE allocation_id = ? ORDER BY created_at, id");
	if (st) {
		sqlite3_bind_text(st, 1, alloc_id, -1, SQLITE_STATIC);
		for (int n = 0; sqlite3_step(st) == SQLITE_ROW; n++) {
			if (n)
				OUT_LIT(o, ",");
			OUT_LIT(o, "{\"id\":");
			out_col(o, st, 0);
			OUT_LIT(o, ",\"name\":");
			out_col(o, st, 1);
			OUT_LIT(o, ",\"mount_path\":");
			out_col(o, st, 2);
			OUT_LIT(o, ",\"size_gb\":");
			out_i64(o, sqlite3_column_int64(st, 3));
			OUT_LIT(o, ",\"persistent\":");
			out_bool(o, sqlite3_column_int(st, 4) != 0);
			OUT_LIT(o, "}");
		}
		sqlite3_reset(st);
	}
	OUT_LIT(o, "]");
}

/* keys_json(): empty pieces and pieces jansson refuses are left out. */
static void out_keys(JsonOut *o, const char *csv)
{
	OUT_LIT(o, "[");
	bool first = true;
	while (csv && *csv) {
		const char *comma = strchr(csv, ',');
		size_t n = comma ? (size_t)(comma - csv) : strlen(csv);
		if (n && utf8_ok(csv, n)) {
			if (!first)
				OUT_LIT(o, ",");
			first = false;
			jsonout_string(o, csv, n);
		}
		csv = comma ? comma + 1 : NULL;
	}
	OUT_LIT(o, "]");
}

/* A member json_string() would refuse is one row_json never sets: leave it out. */
static void out_member_cstr(JsonOut *o, bool *first, const char *key, const char *s)
{
	size_t n = strlen(s);
	if (!utf8_ok(s, n))
		return;
	if (!*first)
		OUT_LIT(o, ",");
	*first = false;
	jsonout_string(o, key, strlen(key));
	OUT_LIT(o, ":");
	jsonout_string(o, s, n);
}

/* row_json(), as text. */
static void out_row(Db *db, JsonOut *o, sqlite3_stmt *st, int64_t now)
{
	const char *id = (const char *)sqlite3_column_text(st, C_ID);
	const char *state_name = (const char *)sqlite3_column_text(st, C_STATE);
	AllocState state = alloc_state_from_name(state_name);
	int64_t since = sqlite3_column_int64(st, C_SINCE);
	bool billing_stopped = sqlite3_column_int(st, C_BILLING) != 0;
	AllocActionability act = alloc_actionability(state, since, now, billing_stopped);

	OUT_LIT(o, "{\"id\":");
	out_col(o, st, C_ID);
	OUT_LIT(o, ",\"name\":");
	out_col(o, st, C_NAME);
	OUT_LIT(o, ",\"org_id\":");
	out_col(o, st, C_ORG);
	OUT_LIT(o, ",\"project\":");
	out_id_name(o, st, C_PRJ, C_PRJ_NAME, true);
	OUT_LIT(o, ",\"owner\":");
	out_id_name(o, st, C_OWNER, C_OWNER_NAME, true);
	OUT_LIT(o, ",\"state\":");
	out_col(o, st, C_STATE);
	OUT_LIT(o, ",\"state_since\":");
	out_time(o, since);
	OUT_LIT(o, ",\"deadline_at\":");
	out_time(o, sqlite3_column_int64(st, C_DEADLINE));
	OUT_LIT(o, ",\"failure_reason\":");
	out_reason(o, st, C_FCODE, C_FMSG);
	OUT_LIT(o, ",\"release_failed_reason\":");
	out_reason(o, st, C_RFCODE, C_RFMSG);
	OUT_LIT(o, ",\"billing_stopped\":");
	out_bool(o, billing_stopped);
	OUT_LIT(o, ",\"node\":");
	if (out_id_name(o, st, C_NODE, C_NODE_NAME, false)) {
		OUT_LIT(o, ",\"region\":");
		out_col(o, st, C_REGION);
		OUT_LIT(o, "}");
	}
	OUT_LIT(o, ",\"sku\":");
	if (out_id_name(o, st, C_SKU, C_SKU_NAME, false)) {
		OUT_LIT(o, ",\"gpu_model\":");
		out_col(o, st, C_GPU_MODEL);
		OUT_LIT(o, ",\"kind\":");
		out_col(o, st, C_KIND);
		OUT_LIT(o, "}");
	}
	OUT_LIT(o, ",\"gpu_count\":");
	out_i64(o, sqlite3_column_int(st, C_GPUS));
	OUT_LIT(o, ",\"image\":");
	out_id_name(o, st, C_IMAGE, C_IMAGE_NAME, true);
	OUT_LIT(o, ",\"network\":");
	out_id_name(o, st, C_NET, C_NET_NAME, true);
	OUT_LIT(o, ",\"runtime\":");
	if (sqlite3_column_type(st, C_RT_BUNDLE) != SQLITE_NULL) {
		OUT_LIT(o, "{\"bundle\":");
		out_col(o, st, C_RT_BUNDLE);
		OUT_LIT(o, ",\"version\":");
		out_col(o, st, C_RT_VERSION);
		OUT_LIT(o, ",\"state\":");
		out_col(o, st, C_RT_STATE);
		OUT_LIT(o, "}");
	} else
		OUT_LIT(o, "null");
	OUT_LIT(o, ",\"storage\":");
	if (sqlite3_column_int(st, C_VOLUMES) > 0)
		out_storage(db, o, id);
	else
		OUT_LIT(o, "[]");
	OUT_LIT(o, ",\"ssh\":");
	const char *host = (const char *)sqlite3_column_text(st, C_HOST);
	if (host && sqlite3_column_type(st, C_SSH_PORT) != SQLITE_NULL &&
	    (state == ALLOC_ACTIVE || state == ALLOC_RESTARTING || state == ALLOC_RESTART_FAILED)) {
		int port = sqlite3_column_int(st, C_SSH_PORT);
		char cmd[320];
		snprintf(cmd, sizeof cmd, "ssh -p %d ubuntu@%s", port, host);
		bool first = true;
		OUT_LIT(o, "{");
		out_member_cstr(o, &first, "host", host);
		if (first)
			OUT_LIT(o, "\"port\":");
		else
			OUT_LIT(o, ",\"port\":");
		out_i64(o, port);
		OUT_LIT(o, ",\"user\":\"ubuntu\"");
		first = false;
		out_member_cstr(o, &first, "command", cmd);
		OUT_LIT(o, "}");
	} else
		OUT_LIT(o, "null");
	OUT_LIT(o, ",\"ssh_key_ids\":");
	out_keys(o, (const char *)sqlite3_column_text(st, C_KEYS));
	OUT_LIT(o, ",\"price_per_hour_cents\":");
	out_i64(o, sqlite3_column_int64(st, C_PRICE));
	OUT_LIT(o, ",\"task_id\":");
	out_col(o, st, C_TASK);
	OUT_LIT(o, ",\"version\":");
	out_i64(o, sqlite3_column_int64(st, C_VERSION));
	OUT_LIT(o, ",\"created_at\":");
	out_time(o, sqlite3_column_int64(st, C_CREATED));
	OUT_LIT(o, ",\"updated_at\":");
	out_time(o, sqlite3_column_int64(st, C_UPDATED));
	OUT_LIT(o, ",\"is_actionable\":");
	out_bool(o, act.is_actionable);
	OUT_LIT(o, ",\"action_required\":");
	if (act.action_required)
		jsonout_string(o, act.action_required, strlen(act.action_required));
	else
		OUT_LIT(o, "null");
	OUT_LIT(o, ",\"actionable_until\":");
	out_time(o, act.actionable_until_ms);
	OUT_LIT(o, ",\"archived_at\":");
	out_time(o, act.archived_at_ms);
	OUT_LIT(o, "}");
}

/* Largest page so far: the next one is written without regrowing. */
static size_t list_text_hint = 64 * 1024;

char *model_allocations_text(Db *db, const Principal *p, const AllocFilter *f, bool admin_scope,
                             size_t *len, ApiError *err)
{
	ListQuery lq;
	if (!list_open(db, p, f, admin_scope, &lq, err))
		return NULL;
	JsonOut o;
	jsonout_init(&o, list_text_hint);
	OUT_LIT(&o, "{\"items\":[");
	int n = 0;
	int64_t last_created = 0;
	char last_id[DB_ID_MAX] = "";
	for (sqlite3_stmt *st; (st = list_next(&lq)) != NULL; list_advance(&lq, st)) {
		if (n == lq.limit) {
			n++;
			break;
		}
		if (n)
			OUT_LIT(&o, ",");
		out_row(db, &o, st, lq.now);
		last_created = sqlite3_column_int64(st, C_CREATED);
		qd_strlcpy(last_id, (const char *)sqlite3_column_text(st, C_ID), sizeof last_id);
		n++;
	}
	char *next = NULL;
	if (!list_finish(db, &lq, n, last_created, last_id, &next, err)) {
		free(o.p);
		list_query_done(&lq);
		return NULL;
	}
	OUT_LIT(&o, "],\"next_cursor\":");
	if (next)
		jsonout_string(&o, next, strlen(next));
	else
		OUT_LIT(&o, "null");
	OUT_LIT(&o, ",\"as_of_event_id\":");
	out_i64(&o, lq.as_of);
	OUT_LIT(&o, "}");
	jsonout_raw(&o, "", 1); /* NUL, not counted */
	o.len--;
	if (o.cap > list_text_hint)
		list_text_hint = o.cap;
	free(next);
	list_query_done(&lq);
	*len = o.len;
	return o.p;
}

/* --- one allocation --------------------------------------------------------------- */

typedef struct {
	char id[DB_ID_MAX];
	char name[80];
	char org_id[DB_ID_MAX];
	char owner_id[DB_ID_MAX];
	char task_id[DB_ID_MAX];
	AllocState state;
} AllocHead;

static void not_found(ApiError *err, const char *id)
{
	char shown[48];
	qd_strlcpy(shown, id ? id : "", sizeof shown);
	for (char *c = shown; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			*c = '?';
	api_error_set(err, 404, "not_found", "check the id; list allocations to find it",
	              "no allocation '%s'", shown);
}

/* Loads what access checks need; another org's allocation is "not found" so
 * its existence does not leak. */
static bool alloc_head(Db *db, const Principal *p, const char *id, AllocHead *h, ApiError *err)
{
	if (!db_id_valid(id)) {
		not_found(err, id);
		return false;
	}
	sqlite3_stmt *st = db_prep(db, "SELECT name, org_id, owner_id, state, task_id FROM allocations"
	                               " WHERE id = ?");
	if (!st) {
		db_fail(db, err, "read the allocation");
		return false;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	bool found = sqlite3_step(st) == SQLITE_ROW;
	if (found) {
		qd_strlcpy(h->id, id, sizeof h->id);
		qd_strlcpy(h->name, (const char *)sqlite3_column_text(st, 0), sizeof h->name);
		qd_strlcpy(h->org_id, (const char *)sqlite3_column_text(st, 1), sizeof h->org_id);
		qd_strlcpy(h->owner_id, (const char *)sqlite3_column_text(st, 2), sizeof h->owner_id);
		h->state = alloc_state_from_name((const char *)sqlite3_column_text(st, 3));
		const unsigned char *t = sqlite3_column_text(st, 4);
		qd_strlcpy(h->task_id, t ? (const char *)t : "", sizeof h->task_id);
	}
	sqlite3_reset(st);
	if (!found || (!p->is_admin && strcmp(h->org_id, p->org_id) != 0)) {
		not_found(err, id);
		return false;
	}
	return true;
}

json_t *model_allocation(Db *db, const Principal *p, const char *id, ApiError *err)
{
	AllocHead h;
	if (!alloc_head(db, p, id, &h, err))
		return NULL;
	json_t *j = db_alloc_json(db, id);
	if (!j)
		not_found(err, id);
	return j;
}

static json_t *receipt(const char *op, const char *alloc_id, const char *task_id, json_t *accepted,
                       int64_t price)
{
	char href[96];
	snprintf(href, sizeof href, "/api/v1/tasks/%s", task_id);
	char ahref[96];
	snprintf(ahref, sizeof ahref, "/api/v1/allocations/%s", alloc_id);
	json_t *r = json_pack("{s:s, s:s, s:s, s:o, s:[{s:s, s:s}, {s:s, s:s}]}", "operation", op,
	                      "allocation_id", alloc_id, "task_id", task_id, "accepted", accepted,
	                      "follow_ups", "rel", "task", "href", href, "rel", "allocation", "href",
	                      ahref);
	if (price >= 0)
		json_object_set_new(r, "price_per_hour_cents", json_integer(price));
	return r;
}

/* "active, restart_failed or failed": the states an action may start from. */
static void allowed_from(AllocAction a, char *buf, size_t sz)
{
	const char *names[ALLOC_STATE_COUNT];
	int n = 0;
	for (int s = 0; s < ALLOC_STATE_COUNT; s++)
		if (alloc_action_allowed(a, (AllocState)s))
			names[n++] = alloc_state_name((AllocState)s);
	buf[0] = '\0';
	size_t len = 0;
	for (int i = 0; i < n; i++) {
		const char *sep = i == 0 ? "" : i == n - 1 ? " or " : ", ";
		len += (size_t)snprintf(buf + len, len < sz ? sz - len : 0, "%s%s", sep, names[i]);
		if (len >= sz)
			break;
	}
}

static void invalid_state(ApiError *err, const AllocHead *h, AllocAction a)
{
	char from[160];
	allowed_from(a, from, sizeof from);
	api_error_set(err, 409, "invalid_state", "refresh the allocation and pick an action its state allows",
	              "allocation %s is %s; %s needs it to be %s", h->id, alloc_state_name(h->state),
	              alloc_action_name(a), from);
}

static bool owner_or_admin(const Principal *p, const AllocHead *h, const char *what, ApiError *err)
{
	if (p->is_admin || strcmp(p->user_id, h->owner_id) == 0)
		return true;
	api_error_set(err, 403, "forbidden", "ask the allocation's owner or an admin",
	              "only the owner or an admin may %s allocation %s", what, h->id);
	return false;
}

/* Takes one matching injected fault, if any: release_fail/restart_fail/
 * provision_fail for the operation's kind, or stall for any. */
static bool fault_take(Db *db, TaskKind kind, bool *stall, char *code, size_t code_sz, char *msg,
                       size_t msg_sz)
{
	const char *want = kind == TASK_PROVISION ? "provision_fail"
	                   : kind == TASK_RELEASE ? "release_fail"
	                                          : "restart_fail";
	sqlite3_stmt *st = db_prep(db, "SELECT id, kind, reason_code, message FROM faults"
	                               " WHERE remaining > 0 AND kind IN (?, 'stall') ORDER BY id LIMIT 1");
	if (!st)
		return false;
	sqlite3_bind_text(st, 1, want, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		return false;
	}
	int64_t id = sqlite3_column_int64(st, 0);
	*stall = strcmp((const char *)sqlite3_column_text(st, 1), "stall") == 0;
	qd_strlcpy(code, (const char *)sqlite3_column_text(st, 2), code_sz);
	qd_strlcpy(msg, (const char *)sqlite3_column_text(st, 3), msg_sz);
	sqlite3_reset(st);
	st = db_prep(db, "UPDATE faults SET remaining = remaining - 1 WHERE id = ?");
	if (!st)
		return false;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_step(st);
	sqlite3_reset(st);
	return true;
}

/* Starts a task of `kind` (taking any matching fault) and moves the allocation to `to`. */
static bool start_operation(Db *db, TaskKind kind, const AllocHead *h, AllocState to, int64_t now,
                            char task_id[DB_ID_MAX])
{
	bool stall = false;
	char code[48] = "", msg[256] = "";
	bool faulted = fault_take(db, kind, &stall, code, sizeof code, msg, sizeof msg);
	int fail_idx = faulted && !stall ? db_task_fault_step(kind) : -1;
	if (!db_task_start(db, kind, h->id, h->org_id, fail_idx, stall, code, msg, now, task_id))
		return false;
	return db_alloc_transition(db, h->id, to, NULL, NULL, task_id, now);
}

static json_t *simple_action(Db *db, const Principal *p, const char *id, AllocAction action,
                             TaskKind kind, AllocState to, const char *op, const char *verb,
                             ApiError *err)
{
	AllocHead h;
	if (!db_begin(db)) {
		db_fail(db, err, "start a transaction");
		return NULL;
	}
	if (!alloc_head(db, p, id, &h, err) || !owner_or_admin(p, &h, verb, err))
		goto refuse;
	if (!alloc_action_allowed(action, h.state)) {
		invalid_state(err, &h, action);
		goto refuse;
	}
	int64_t now = db_now_ms(db);
	char task_id[DB_ID_MAX];
	if (!start_operation(db, kind, &h, to, now, task_id)) {
		db_fail(db, err, "record the operation");
		goto refuse;
	}
	if (!db_commit(db)) {
		db_fail(db, err, "commit the operation");
		return NULL;
	}
	return receipt(op, h.id, task_id,
	               json_pack("{s:s, s:s, s:s}", "allocation_id", h.id, "from_state",
	                         alloc_state_name(h.state), "to_state", alloc_state_name(to)),
	               -1);
refuse:
	db_rollback(db);
	return NULL;
}

json_t *model_allocation_release(Db *db, const Principal *p, const char *id, ApiError *err)
{
	return simple_action(db, p, id, ALLOC_ACTION_RELEASE, TASK_RELEASE, ALLOC_RELEASING,
	                     "allocation.release", "release", err);
}

json_t *model_allocation_restart(Db *db, const Principal *p, const char *id, ApiError *err)
{
	return simple_action(db, p, id, ALLOC_ACTION_RESTART, TASK_RESTART, ALLOC_RESTARTING,
	                     "allocation.restart", "restart", err);
}

json_t *model_allocation_force_release(Db *db, const Principal *p, const char *id,
                                       const char *reason, const char *request_id, ApiError *err)
{
	if (!p->is_admin) {
		api_error_set(err, 403, "forbidden", "ask an operator with the admin role",
		              "force release needs the admin role");
		return NULL;
	}
	/* Trim: a reason of spaces is no reason. */
	const char *r = reason ? reason : "";
	while (*r && isspace((unsigned char)*r))
		r++;
	size_t rlen = strlen(r);
	while (rlen && isspace((unsigned char)r[rlen - 1]))
		rlen--;
	AllocHead h;
	if (!db_begin(db)) {
		db_fail(db, err, "start a transaction");
		return NULL;
	}
	if (!alloc_head(db, p, id, &h, err))
		goto refuse;
	if (rlen == 0) {
		api_error_set(err, 422, "reason_required",
		              "say why, e.g. {\"reason\": \"node lost; storage detached by hand\"}",
		              "force release needs a non-empty reason; it goes into the audit log");
		goto refuse;
	}
	if (rlen > 1000) {
		api_error_set(err, 400, "invalid_value", "keep the reason under 1000 characters",
		              "reason is %zu characters long", rlen);
		goto refuse;
	}
	if (!alloc_action_allowed(ALLOC_ACTION_FORCE_RELEASE, h.state)) {
		invalid_state(err, &h, ALLOC_ACTION_FORCE_RELEASE);
		goto refuse;
	}
	int64_t now = db_now_ms(db);
	char *why = xstrndup(r, rlen);
	char task_id[DB_ID_MAX];
	bool ok = true;
	/* A release still running loses to the operator's decision. */
	if (h.task_id[0])
		ok = db_task_fail(db, h.task_id, now, "superseded by a force release");
	ok = ok && db_task_start(db, TASK_FORCE_RELEASE, h.id, h.org_id, -1, false, NULL, NULL, now,
	                         task_id);
	char msg[400];
	snprintf(msg, sizeof msg, "%s: force release requested by %s: %s", h.name, p->user_name, why);
	ok = ok && db_task_activity(db, task_id, now, "force release by %s: %s", p->user_name, why);
	ok = ok && db_event_alloc(db, "provisioning.force_release_requested", h.id, task_id, msg) > 0;
	ok = ok && db_alloc_transition(db, h.id, ALLOC_RELEASED, NULL, NULL, task_id, now);
	if (ok) {
		sqlite3_stmt *st = db_prep(db, "INSERT INTO audit_logs(at, actor_id, actor_name, action,"
		                               " target_id, reason, state_before, state_after, request_id)"
		                               " VALUES(?, ?, ?, 'allocation.force_release', ?, ?, ?, ?, ?)");
		ok = st != NULL;
		if (ok) {
			sqlite3_bind_int64(st, 1, now);
			sqlite3_bind_text(st, 2, p->user_id, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 3, p->user_name, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 4, h.id, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 5, why, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 6, alloc_state_name(h.state), -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 7, alloc_state_name(ALLOC_RELEASED), -1, SQLITE_STATIC);
			if (request_id && *request_id)
				sqlite3_bind_text(st, 8, request_id, -1, SQLITE_TRANSIENT);
			ok = sqlite3_step(st) == SQLITE_DONE;
			sqlite3_reset(st);
		}
	}
	if (!ok) {
		free(why);
		db_fail(db, err, "record the force release");
		goto refuse;
	}
	if (!db_commit(db)) {
		free(why);
		db_fail(db, err, "commit the force release");
		return NULL;
	}
	json_t *acc = json_pack("{s:s, s:s, s:s, s:s}", "allocation_id", h.id, "reason", why,
	                        "from_state", alloc_state_name(h.state), "to_state", "released");
	free(why);
	return receipt("allocation.force_release", h.id, task_id, acc, -1);
refuse:
	db_rollback(db);
	return NULL;
}

/* --- create ------------------------------------------------------------------------ */

static const char *const create_fields[] = {"name",     "sku_id",      "gpu_count", "image_id",
                                            "network_id", "ssh_key_ids", "project_id", "storage",
                                            "runtime",  "node_id"};

static void bad(ApiError *err, const char *code, const char *suggestion, const char *fmt,
                const char *field)
{
	char shown[64];
	qd_strlcpy(shown, field, sizeof shown);
	for (char *c = shown; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			*c = '?';
	api_error_set(err, 400, code, suggestion, fmt, shown);
}

/* A required (or, with optional, possibly absent/null) string field. */
static bool get_str(json_t *obj, const char *key, const char *path, bool optional,
                    const char **out, ApiError *err)
{
	json_t *v = json_object_get(obj, key);
	*out = NULL;
	if (!v || json_is_null(v)) {
		if (optional)
			return true;
		bad(err, "missing_field", "see POST /api/v1/allocations in docs/api/v1.md",
		    "%s is required", path);
		return false;
	}
	if (!json_is_string(v)) {
		bad(err, "invalid_type", "send it as a JSON string", "%s must be a string", path);
		return false;
	}
	*out = json_string_value(v);
	return true;
}

static bool printable_name(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return false;
	for (const char *c = s; *c; c++)
		if (!(isalnum((unsigned char)*c) || *c == '-' || *c == '_' || *c == '.'))
			return false;
	return true;
}

static bool mount_path_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < 2 || n > 128 || s[0] != '/' || strstr(s, "/../") || strstr(s, "//") ||
	    (n >= 3 && strcmp(s + n - 3, "/..") == 0))
		return false;
	for (const char *c = s; *c; c++)
		if (!(isalnum((unsigned char)*c) || *c == '/' || *c == '-' || *c == '_' || *c == '.'))
			return false;
	return true;
}

static bool unknown_ref(ApiError *err, const char *field, const char *value)
{
	char shown[48];
	qd_strlcpy(shown, value, sizeof shown);
	for (char *c = shown; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			*c = '?';
	api_error_set(err, 422, "unknown_reference", "list the catalog (GET /api/v1/skus, /images, /networks, /ssh-keys) for valid ids",
	              "%s '%s' does not exist or is not yours", field, shown);
	return false;
}

typedef struct {
	const char *name, *sku_id, *image_id, *network_id, *project_id, *node_id;
	const char *rt_bundle, *rt_version;
	int gpu_count;
	json_t *keys, *storage;
} CreateReq;

static bool parse_create(json_t *body, CreateReq *r, ApiError *err)
{
	memset(r, 0, sizeof *r);
	if (!json_is_object(body)) {
		api_error_set(err, 400, "invalid_body", "send a JSON object",
		              "the request body must be a JSON object");
		return false;
	}
	const char *key;
	json_t *v;
	json_object_foreach(body, key, v) {
		bool known = false;
		for (size_t i = 0; i < QD_ARRAY_LEN(create_fields); i++)
			known = known || strcmp(key, create_fields[i]) == 0;
		if (!known) {
			bad(err, "unknown_field", "remove it; see docs/api/v1.md for the fields",
			    "unknown field '%s'", key);
			return false;
		}
	}
	if (!get_str(body, "name", "name", false, &r->name, err) ||
	    !get_str(body, "sku_id", "sku_id", false, &r->sku_id, err))
		return false;
	v = json_object_get(body, "gpu_count");
	if (!v) {
		bad(err, "missing_field", "see the SKU's gpu_counts", "%s is required", "gpu_count");
		return false;
	}
	if (!json_is_integer(v)) {
		bad(err, "invalid_type", "send a whole number", "%s must be an integer", "gpu_count");
		return false;
	}
	json_int_t gc = json_integer_value(v);
	r->gpu_count = gc < 0 || gc > 1024 ? -1 : (int)gc;
	if (!get_str(body, "image_id", "image_id", false, &r->image_id, err) ||
	    !get_str(body, "network_id", "network_id", false, &r->network_id, err) ||
	    !get_str(body, "project_id", "project_id", true, &r->project_id, err) ||
	    !get_str(body, "node_id", "node_id", true, &r->node_id, err))
		return false;
	if (!printable_name(r->name, 63)) {
		bad(err, "invalid_value", "use 1-63 letters, digits, '-', '_' or '.'",
		    "%s is empty, too long or has characters other than letters, digits, '-', '_', '.'",
		    "name");
		return false;
	}
	r->keys = json_object_get(body, "ssh_key_ids");
	if (!r->keys) {
		bad(err, "missing_field", "send [] for none, or ids from GET /api/v1/ssh-keys",
		    "%s is required", "ssh_key_ids");
		return false;
	}
	if (!json_is_array(r->keys) || json_array_size(r->keys) > 16) {
		bad(err, "invalid_type", "send an array of at most 16 key ids",
		    "%s must be an array of at most 16 strings", "ssh_key_ids");
		return false;
	}
	size_t i;
	json_array_foreach(r->keys, i, v) {
		if (!json_is_string(v)) {
			char f[40];
			snprintf(f, sizeof f, "ssh_key_ids[%zu]", i);
			bad(err, "invalid_type", "send key ids as strings", "%s must be a string", f);
			return false;
		}
	}
	r->storage = json_object_get(body, "storage");
	if (r->storage && json_is_null(r->storage))
		r->storage = NULL;
	if (r->storage) {
		if (!json_is_array(r->storage) || json_array_size(r->storage) > 8) {
			bad(err, "invalid_type", "send an array of at most 8 volumes",
			    "%s must be an array of at most 8 objects", "storage");
			return false;
		}
		json_array_foreach(r->storage, i, v) {
			char f[64];
			if (!json_is_object(v)) {
				snprintf(f, sizeof f, "storage[%zu]", i);
				bad(err, "invalid_type", "send {\"name\",\"size_gb\",\"mount_path\"}",
				    "%s must be an object", f);
				return false;
			}
			const char *k;
			json_t *x;
			json_object_foreach(v, k, x) {
				if (strcmp(k, "name") && strcmp(k, "size_gb") && strcmp(k, "mount_path")) {
					snprintf(f, sizeof f, "storage[%zu].%.32s", i, k);
					bad(err, "unknown_field", "a volume has name, size_gb and mount_path",
					    "unknown field '%s'", f);
					return false;
				}
			}
			const char *name, *mp;
			snprintf(f, sizeof f, "storage[%zu].name", i);
			if (!get_str(v, "name", f, false, &name, err))
				return false;
			if (!printable_name(name, 63)) {
				bad(err, "invalid_value", "use 1-63 letters, digits, '-', '_' or '.'",
				    "%s is not a valid volume name", f);
				return false;
			}
			snprintf(f, sizeof f, "storage[%zu].mount_path", i);
			if (!get_str(v, "mount_path", f, false, &mp, err))
				return false;
			if (!mount_path_ok(mp)) {
				bad(err, "invalid_value", "use an absolute path like /mnt/data",
				    "%s must be an absolute path without '..'", f);
				return false;
			}
			snprintf(f, sizeof f, "storage[%zu].size_gb", i);
			json_t *sz = json_object_get(v, "size_gb");
			if (!sz) {
				bad(err, "missing_field", "give the size in GB", "%s is required", f);
				return false;
			}
			if (!json_is_integer(sz) || json_integer_value(sz) < 1 ||
			    json_integer_value(sz) > 100000) {
				bad(err, "invalid_value", "send a whole number of GB, 1..100000",
				    "%s must be an integer between 1 and 100000", f);
				return false;
			}
		}
	}
	json_t *rt = json_object_get(body, "runtime");
	if (rt && !json_is_null(rt)) {
		if (!json_is_object(rt)) {
			bad(err, "invalid_type", "send {\"bundle\",\"version\"}", "%s must be an object",
			    "runtime");
			return false;
		}
		const char *k;
		json_t *x;
		json_object_foreach(rt, k, x) {
			if (strcmp(k, "bundle") && strcmp(k, "version")) {
				char f[64];
				snprintf(f, sizeof f, "runtime.%.40s", k);
				bad(err, "unknown_field", "a runtime has bundle and version",
				    "unknown field '%s'", f);
				return false;
			}
		}
		if (!get_str(rt, "bundle", "runtime.bundle", false, &r->rt_bundle, err) ||
		    !get_str(rt, "version", "runtime.version", false, &r->rt_version, err))
			return false;
	}
	return true;
}

static bool exists(Db *db, const char *sql, const char *a, const char *b)
{
	sqlite3_stmt *st = db_prep(db, sql);
	if (!st)
		return false;
	sqlite3_bind_text(st, 1, a, -1, SQLITE_TRANSIENT);
	if (b)
		sqlite3_bind_text(st, 2, b, -1, SQLITE_TRANSIENT);
	bool found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_reset(st);
	return found;
}

static bool counts_allow(const char *csv, int n, int *min_out)
{
	bool ok = false;
	int min = 0;
	for (const char *s = csv; s && *s;) {
		int v = atoi(s);
		if (v > 0 && (min == 0 || v < min))
			min = v;
		if (v == n)
			ok = true;
		s = strchr(s, ',');
		if (s)
			s++;
	}
	*min_out = min;
	return ok;
}

typedef struct {
	char name[80], gpu_model[40], kind[8], counts[48], region[40];
	int64_t price_per_gpu;
} SkuRow;

static bool load_sku(Db *db, const char *id, SkuRow *s)
{
	sqlite3_stmt *st = db_prep(db, "SELECT name, gpu_model, kind, gpu_counts,"
	                               " price_per_gpu_hour_cents, region_id FROM skus WHERE id = ?");
	if (!st)
		return false;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	bool found = sqlite3_step(st) == SQLITE_ROW;
	if (found) {
		qd_strlcpy(s->name, (const char *)sqlite3_column_text(st, 0), sizeof s->name);
		qd_strlcpy(s->gpu_model, (const char *)sqlite3_column_text(st, 1), sizeof s->gpu_model);
		qd_strlcpy(s->kind, (const char *)sqlite3_column_text(st, 2), sizeof s->kind);
		qd_strlcpy(s->counts, (const char *)sqlite3_column_text(st, 3), sizeof s->counts);
		s->price_per_gpu = sqlite3_column_int64(st, 4);
		qd_strlcpy(s->region, (const char *)sqlite3_column_text(st, 5), sizeof s->region);
	}
	sqlite3_reset(st);
	return found;
}

static int64_t one_int(Db *db, const char *sql, const char *a, const char *b, int64_t c)
{
	sqlite3_stmt *st = db_prep(db, sql);
	if (!st)
		return -1;
	if (a)
		sqlite3_bind_text(st, 1, a, -1, SQLITE_TRANSIENT);
	if (b)
		sqlite3_bind_text(st, 2, b, -1, SQLITE_TRANSIENT);
	if (sqlite3_bind_parameter_count(st) >= 3)
		sqlite3_bind_int64(st, 3, c);
	int64_t v = -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return v;
}

/* Checks references and prechecks, then inserts; all inside the caller's
 * transaction so a refusal leaves nothing behind. */
static bool create_in_tx(Db *db, const Principal *p, const CreateReq *r, int64_t now,
                         char alloc_id[DB_ID_MAX], char task_id[DB_ID_MAX], int64_t *price_out,
                         char project_out[DB_ID_MAX], char node_out[DB_ID_MAX], ApiError *err)
{
	SkuRow sku;
	if (!load_sku(db, r->sku_id, &sku))
		return unknown_ref(err, "sku_id", r->sku_id);
	int min_count;
	if (!counts_allow(sku.counts, r->gpu_count, &min_count)) {
		char counts[64];
		qd_strlcpy(counts, sku.counts, sizeof counts);
		for (char *c = counts; *c; c++)
			if (*c == ',')
				*c = '/';
		api_error_set(err, 422, "invalid_gpu_count", "pick one of the SKU's gpu_counts",
		              "gpu_count %d is not offered by %s; choose %s", r->gpu_count, sku.name,
		              counts);
		return false;
	}
	if (!exists(db, "SELECT 1 FROM images WHERE id = ?", r->image_id, NULL))
		return unknown_ref(err, "image_id", r->image_id);
	if (!exists(db, "SELECT 1 FROM networks WHERE id = ? AND (org_id IS NULL OR org_id = ?)",
	            r->network_id, p->org_id))
		return unknown_ref(err, "network_id", r->network_id);
	QdBuf keys;
	qdbuf_init(&keys);
	size_t i;
	json_t *v;
	json_array_foreach(r->keys, i, v) {
		const char *kid = json_string_value(v);
		if (!exists(db, "SELECT 1 FROM ssh_keys WHERE id = ? AND user_id = ?", kid, p->user_id) ||
		    strchr(kid, ',')) {
			char f[40];
			snprintf(f, sizeof f, "ssh_key_ids[%zu]", i);
			qdbuf_done(&keys);
			return unknown_ref(err, f, kid);
		}
		qdbuf_appendf(&keys, "%s%s", i ? "," : "", kid);
	}
	char project[DB_ID_MAX] = "";
	if (r->project_id) {
		if (!exists(db, "SELECT 1 FROM projects WHERE id = ? AND org_id = ?", r->project_id,
		            p->org_id)) {
			qdbuf_done(&keys);
			return unknown_ref(err, "project_id", r->project_id);
		}
		qd_strlcpy(project, r->project_id, sizeof project);
	} else {
		sqlite3_stmt *st = db_prep(db, "SELECT p.id FROM projects p LEFT JOIN project_members m"
		                               " ON m.project_id = p.id AND m.user_id = ?"
		                               " WHERE p.org_id = ? ORDER BY m.user_id IS NULL, p.id LIMIT 1");
		if (st) {
			sqlite3_bind_text(st, 1, p->user_id, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 2, p->org_id, -1, SQLITE_TRANSIENT);
			if (sqlite3_step(st) == SQLITE_ROW)
				qd_strlcpy(project, (const char *)sqlite3_column_text(st, 0), sizeof project);
			sqlite3_reset(st);
		}
		if (!project[0]) {
			qdbuf_done(&keys);
			api_error_set(err, 422, "unknown_reference", "ask an admin to create a project",
			              "your org has no project to put the allocation in");
			return false;
		}
	}
	if (r->rt_bundle && !exists(db, "SELECT 1 FROM runtimes WHERE bundle = ? AND version = ?",
	                            r->rt_bundle, r->rt_version)) {
		qdbuf_done(&keys);
		api_error_set(err, 422, "unknown_reference", "pick a bundle and version the platform offers",
		              "runtime.bundle/runtime.version: no runtime bundle matches");
		return false;
	}
	bool whole = strcmp(sku.kind, "node") == 0;
	char node[DB_ID_MAX] = "";
	if (r->node_id) {
		sqlite3_stmt *st = db_prep(db, "SELECT state, scheduling, gpu_model, region_id, gpu_free,"
		                               " gpu_total, name FROM nodes WHERE id = ?");
		if (!st) {
			qdbuf_done(&keys);
			db_fail(db, err, "read the node");
			return false;
		}
		sqlite3_bind_text(st, 1, r->node_id, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) != SQLITE_ROW) {
			sqlite3_reset(st);
			qdbuf_done(&keys);
			return unknown_ref(err, "node_id", r->node_id);
		}
		char nstate[24], nmodel[40], nregion[40], nname[64];
		qd_strlcpy(nstate, (const char *)sqlite3_column_text(st, 0), sizeof nstate);
		bool sched = sqlite3_column_int(st, 1) != 0;
		qd_strlcpy(nmodel, (const char *)sqlite3_column_text(st, 2), sizeof nmodel);
		qd_strlcpy(nregion, (const char *)sqlite3_column_text(st, 3), sizeof nregion);
		int nfree = sqlite3_column_int(st, 4), ntotal = sqlite3_column_int(st, 5);
		qd_strlcpy(nname, (const char *)sqlite3_column_text(st, 6), sizeof nname);
		sqlite3_reset(st);
		if (strcmp(nstate, "online") != 0 || !sched) {
			qdbuf_done(&keys);
			api_error_set(err, 422, "node_offline", "leave node_id out to let the scheduler choose",
			              "node %s is %s%s", nname, nstate,
			              sched ? "" : " and not accepting new work");
			return false;
		}
		if (strcmp(nmodel, sku.gpu_model) != 0 || strcmp(nregion, sku.region) != 0) {
			qdbuf_done(&keys);
			api_error_set(err, 422, "topology_unsatisfiable",
			              "pick a node in the SKU's region with its GPU model, or leave node_id out",
			              "node %s has %s GPUs in %s; %s needs %s in %s", nname, nmodel, nregion,
			              sku.name, sku.gpu_model, sku.region);
			return false;
		}
		if (nfree < r->gpu_count || (whole && nfree != ntotal)) {
			qdbuf_done(&keys);
			api_error_set(err, 422, "topology_unsatisfiable",
			              "pick another node or a smaller gpu_count",
			              "node %s has %d of %d GPUs free; %d must be on that one node", nname,
			              nfree, ntotal, r->gpu_count);
			return false;
		}
		qd_strlcpy(node, r->node_id, sizeof node);
	} else if (one_int(db, "SELECT COUNT(*) FROM nodes WHERE gpu_model = ? AND region_id = ?"
	                       " AND state = 'online' AND scheduling = 1",
	                   sku.gpu_model, sku.region, 0) <= 0) {
		qdbuf_done(&keys);
		api_error_set(err, 422, "node_offline", "try another region or GPU model",
		              "no online node in %s has %s GPUs", sku.region, sku.gpu_model);
		return false;
	}
	if (db_sku_available_count(db, r->sku_id) <= 0) {
		qdbuf_done(&keys);
		api_error_set(err, 422, "sold_out", "pick another SKU or try again later",
		              "%s is sold out in %s", sku.name, sku.region);
		return false;
	}
	int64_t price = sku.price_per_gpu * r->gpu_count;
	int64_t balance = one_int(db, "SELECT balance_cents FROM orgs WHERE id = ?", p->org_id, NULL, 0);
	if (balance < price) {
		qdbuf_done(&keys);
		api_error_set(err, 422, "insufficient_balance",
		              "add funds or choose fewer GPUs; the balance must cover one hour",
		              "the balance of $%" PRId64 ".%02d does not cover one hour at $%" PRId64
		              ".%02d/h",
		              balance / 100, (int)(balance % 100), price / 100, (int)(price % 100));
		return false;
	}
	if (!node[0]) {
		/* Best fit: the fullest node that still holds the request, so big holes
		 * stay open for big requests. */
		sqlite3_stmt *st = db_prep(db, "SELECT id FROM nodes WHERE gpu_model = ? AND region_id = ?"
		                               " AND state = 'online' AND scheduling = 1 AND gpu_free >= ?"
		                               " AND (? = 0 OR gpu_free = gpu_total)"
		                               " ORDER BY gpu_free, id LIMIT 1");
		if (st) {
			sqlite3_bind_text(st, 1, sku.gpu_model, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 2, sku.region, -1, SQLITE_TRANSIENT);
			sqlite3_bind_int(st, 3, r->gpu_count);
			sqlite3_bind_int(st, 4, whole);
			if (sqlite3_step(st) == SQLITE_ROW)
				qd_strlcpy(node, (const char *)sqlite3_column_text(st, 0), sizeof node);
			sqlite3_reset(st);
		}
		if (!node[0]) {
			int64_t most = one_int(db, "SELECT COALESCE(MAX(gpu_free), 0) FROM nodes WHERE"
			                           " gpu_model = ? AND region_id = ? AND state = 'online'"
			                           " AND scheduling = 1",
			                       sku.gpu_model, sku.region, 0);
			qdbuf_done(&keys);
			api_error_set(err, 422, "topology_unsatisfiable",
			              "ask for fewer GPUs; a slice must fit on one node",
			              "no single node has %d free %s GPUs (the most free on one node is %" PRId64
			              ")",
			              r->gpu_count, sku.gpu_model, most);
			return false;
		}
	}

	/* Accepted: write it all. */
	db_random_id(alloc_id, DB_ID_MAX, "al_", 6);
	bool ok = true;
	sqlite3_stmt *st = db_prep(db, "UPDATE nodes SET gpu_free = gpu_free - ?,"
	                               " next_ssh_port = next_ssh_port + 1 WHERE id = ?"
	                               " RETURNING next_ssh_port - 1, name");
	int port = 22022;
	char node_name[64] = "";
	if (!st)
		ok = false;
	else {
		sqlite3_bind_int(st, 1, r->gpu_count);
		sqlite3_bind_text(st, 2, node, -1, SQLITE_TRANSIENT);
		ok = sqlite3_step(st) == SQLITE_ROW;
		if (ok) {
			port = sqlite3_column_int(st, 0);
			qd_strlcpy(node_name, (const char *)sqlite3_column_text(st, 1), sizeof node_name);
		}
		sqlite3_step(st);
		sqlite3_reset(st);
	}
	char *search = xasprintf("%s %s %s %s", r->name, alloc_id, node_name, p->user_name);
	for (char *c = search; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	st = ok ? db_prep(db, "INSERT INTO allocations(id, name, org_id, project_id, owner_id, state,"
	                      " state_since, deadline_at, node_id, sku_id, gpu_count, gpus_held, image_id,"
	                      " network_id, runtime_bundle, runtime_version, runtime_state, ssh_key_ids,"
	                      " ssh_port, price_per_hour_cents, version, created_at, updated_at, search)"
	                      " VALUES(?1, ?2, ?3, ?4, ?5, 'provisioning', ?6, ?7, ?8, ?9, ?10, 1, ?11,"
	                      " ?12, ?13, ?14, ?15, ?16, ?17, ?18, 1, ?6, ?6, ?19)")
	        : NULL;
	if (st) {
		sqlite3_bind_text(st, 1, alloc_id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, r->name, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 3, p->org_id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 4, project, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 5, p->user_id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 6, now);
		sqlite3_bind_int64(st, 7, db_deadline_for(db, ALLOC_PROVISIONING, now));
		sqlite3_bind_text(st, 8, node, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 9, r->sku_id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(st, 10, r->gpu_count);
		sqlite3_bind_text(st, 11, r->image_id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 12, r->network_id, -1, SQLITE_TRANSIENT);
		if (r->rt_bundle) {
			sqlite3_bind_text(st, 13, r->rt_bundle, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 14, r->rt_version, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 15, "pending", -1, SQLITE_STATIC);
		}
		sqlite3_bind_text(st, 16, qdbuf_cstr(&keys), -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(st, 17, port);
		sqlite3_bind_int64(st, 18, price);
		sqlite3_bind_text(st, 19, search, -1, SQLITE_TRANSIENT);
		ok = sqlite3_step(st) == SQLITE_DONE;
		sqlite3_reset(st);
	} else
		ok = false;
	free(search);
	qdbuf_done(&keys);
	if (ok && r->storage && json_array_size(r->storage) > 0) {
		st = db_prep(db, "UPDATE allocations SET volume_count = ? WHERE id = ?");
		ok = st != NULL;
		if (ok) {
			sqlite3_bind_int(st, 1, (int)json_array_size(r->storage));
			sqlite3_bind_text(st, 2, alloc_id, -1, SQLITE_TRANSIENT);
			ok = sqlite3_step(st) == SQLITE_DONE;
			sqlite3_reset(st);
		}
	}
	if (ok && r->storage) {
		json_array_foreach(r->storage, i, v) {
			char vid[DB_ID_MAX];
			db_random_id(vid, sizeof vid, "vol_", 6);
			st = db_prep(db, "INSERT INTO volumes(id, allocation_id, org_id, name, mount_path,"
			                 " size_gb, persistent, created_at) VALUES(?, ?, ?, ?, ?, ?, 1, ?)");
			if (!st) {
				ok = false;
				break;
			}
			sqlite3_bind_text(st, 1, vid, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 2, alloc_id, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 3, p->org_id, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 4, json_string_value(json_object_get(v, "name")), -1,
			                  SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 5, json_string_value(json_object_get(v, "mount_path")), -1,
			                  SQLITE_TRANSIENT);
			sqlite3_bind_int64(st, 6, json_integer_value(json_object_get(v, "size_gb")));
			sqlite3_bind_int64(st, 7, now + (int64_t)i); /* keeps the request's order */
			ok = sqlite3_step(st) == SQLITE_DONE;
			sqlite3_reset(st);
			if (!ok)
				break;
		}
	}
	if (ok) {
		AllocHead h = {0};
		qd_strlcpy(h.id, alloc_id, sizeof h.id);
		qd_strlcpy(h.org_id, p->org_id, sizeof h.org_id);
		bool stall = false;
		char code[48] = "", msg[256] = "";
		bool faulted = fault_take(db, TASK_PROVISION, &stall, code, sizeof code, msg, sizeof msg);
		int fail_idx = faulted && !stall ? db_task_fault_step(TASK_PROVISION) : -1;
		ok = db_task_start(db, TASK_PROVISION, alloc_id, p->org_id, fail_idx, stall, code, msg,
		                   now, task_id);
	}
	if (ok) {
		char emsg[200];
		snprintf(emsg, sizeof emsg, "%s created by %s on %s (%d GPU%s)", r->name, p->user_name,
		         node_name, r->gpu_count, r->gpu_count == 1 ? "" : "s");
		ok = db_event_alloc(db, "allocation.created", alloc_id, task_id, emsg) > 0;
		db_note_state(db, alloc_id, ALLOC_PROVISIONING);
		snprintf(emsg, sizeof emsg, "%d GPU%s reserved for %s", r->gpu_count,
		         r->gpu_count == 1 ? "" : "s", r->name);
		ok = ok && db_event_node(db, node, emsg) > 0;
	}
	if (!ok) {
		db_fail(db, err, "create the allocation");
		return false;
	}
	*price_out = price;
	qd_strlcpy(project_out, project, DB_ID_MAX);
	qd_strlcpy(node_out, node, DB_ID_MAX);
	return true;
}

json_t *model_allocation_create(Db *db, const Principal *p, json_t *body, ApiError *err)
{
	CreateReq r;
	if (!parse_create(body, &r, err))
		return NULL;
	if (r.gpu_count < 1) {
		api_error_set(err, 422, "invalid_gpu_count", "pick one of the SKU's gpu_counts",
		              "gpu_count must be a positive number the SKU offers");
		return NULL;
	}
	if (!db_begin(db)) {
		db_fail(db, err, "start a transaction");
		return NULL;
	}
	char alloc_id[DB_ID_MAX], task_id[DB_ID_MAX], project[DB_ID_MAX], node[DB_ID_MAX];
	int64_t price = 0;
	if (!create_in_tx(db, p, &r, db_now_ms(db), alloc_id, task_id, &price, project, node, err)) {
		db_rollback(db);
		return NULL;
	}
	if (!db_commit(db)) {
		db_fail(db, err, "commit the allocation");
		return NULL;
	}
	json_t *acc = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:O}", "name", r.name, "sku_id",
	                        r.sku_id, "gpu_count", r.gpu_count, "image_id", r.image_id,
	                        "network_id", r.network_id, "project_id", project, "node_id", node,
	                        "ssh_key_ids", r.keys);
	if (r.storage)
		json_object_set(acc, "storage", r.storage);
	if (r.rt_bundle)
		json_object_set_new(acc, "runtime", json_pack("{s:s, s:s}", "bundle", r.rt_bundle,
		                                              "version", r.rt_version));
	return receipt("allocation.create", alloc_id, task_id, acc, price);
}

/* model_events — the append-only event log: appends inside mutations, reads
 * for GET /events and the stream, and the hooks that wake the transport. */
#include "server/db_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

int64_t db_event_append(Db *db, const char *type, const char *org_id, const char *alloc_id,
                        const char *node_id, const char *task_id, const char *message,
                        json_t *alloc, json_t *node)
{
	sqlite3_stmt *st = db_prep(db, "INSERT INTO events(at, type, org_id, allocation_id, node_id,"
	                               " task_id, message, allocation_json, node_json)"
	                               " VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (!st)
		return -1;
	char *aj = alloc ? json_dumps(alloc, JSON_COMPACT) : NULL;
	char *nj = node ? json_dumps(node, JSON_COMPACT) : NULL;
	sqlite3_bind_int64(st, 1, db_now_ms(db));
	sqlite3_bind_text(st, 2, type, -1, SQLITE_TRANSIENT);
	if (org_id)
		sqlite3_bind_text(st, 3, org_id, -1, SQLITE_TRANSIENT);
	if (alloc_id)
		sqlite3_bind_text(st, 4, alloc_id, -1, SQLITE_TRANSIENT);
	if (node_id)
		sqlite3_bind_text(st, 5, node_id, -1, SQLITE_TRANSIENT);
	if (task_id)
		sqlite3_bind_text(st, 6, task_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 7, message ? message : "", -1, SQLITE_TRANSIENT);
	if (aj)
		sqlite3_bind_text(st, 8, aj, -1, SQLITE_TRANSIENT);
	if (nj)
		sqlite3_bind_text(st, 9, nj, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	free(aj);
	free(nj);
	if (rc != SQLITE_DONE) {
		fprintf(stderr, "qdeckd: db: cannot append an event: %s\n", sqlite3_errmsg(db->h));
		return -1;
	}
	int64_t id = sqlite3_last_insert_rowid(db->h);
	db_note_event(db, id);
	return id;
}

int64_t db_event_alloc(Db *db, const char *type, const char *alloc_id, const char *task_id,
                       const char *message)
{
	json_t *a = db_alloc_json(db, alloc_id);
	if (!a)
		return -1;
	const char *org = json_string_value(json_object_get(a, "org_id"));
	json_t *node = json_object_get(a, "node");
	const char *node_id = json_is_object(node) ? json_string_value(json_object_get(node, "id")) : NULL;
	int64_t id = db_event_append(db, type, org, alloc_id, node_id, task_id, message, a, NULL);
	json_decref(a);
	return id;
}

static json_t *parsed(sqlite3_stmt *st, int col)
{
	const char *s = (const char *)sqlite3_column_text(st, col);
	if (!s)
		return json_null();
	json_t *j = json_loads(s, 0, NULL);
	return j ? j : json_null();
}

static json_t *str_or_null(sqlite3_stmt *st, int col)
{
	const char *s = (const char *)sqlite3_column_text(st, col);
	return s ? json_string(s) : json_null();
}

json_t *model_events(Db *db, const Principal *p, int64_t since, int limit, ApiError *err)
{
	if (since < 0)
		since = 0;
	limit = limit < 1 ? QD_PAGE_LIMIT_DEFAULT : QD_MIN(limit, QD_PAGE_LIMIT_MAX);
	if (!db_begin_read(db)) {
		db_fail(db, err, "read events");
		return NULL;
	}
	int64_t as_of = model_last_event_id(db);
	/* Node events (no org) are fleet news everyone may read. */
	sqlite3_stmt *st = db_prep(db, p->is_admin
	                                   ? "SELECT id, at, type, org_id, allocation_id, node_id,"
	                                     " task_id, message, allocation_json, node_json FROM events"
	                                     " WHERE id > ?1 ORDER BY id LIMIT ?3"
	                                   : "SELECT id, at, type, org_id, allocation_id, node_id,"
	                                     " task_id, message, allocation_json, node_json FROM events"
	                                     " WHERE id > ?1 AND (org_id = ?2 OR org_id IS NULL)"
	                                     " ORDER BY id LIMIT ?3");
	if (!st) {
		db_rollback(db);
		db_fail(db, err, "read events");
		return NULL;
	}
	sqlite3_bind_int64(st, 1, since);
	if (!p->is_admin)
		sqlite3_bind_text(st, 2, p->org_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 3, limit + 1);
	json_t *items = json_array();
	int n = 0;
	int64_t last = since;
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (n == limit) {
			n++;
			break;
		}
		last = sqlite3_column_int64(st, 0);
		json_t *e = json_object();
		json_object_set_new(e, "id", json_integer(last));
		json_object_set_new(e, "at", db_time_json(sqlite3_column_int64(st, 1)));
		json_object_set_new(e, "type", str_or_null(st, 2));
		json_object_set_new(e, "org_id", str_or_null(st, 3));
		json_object_set_new(e, "allocation_id", str_or_null(st, 4));
		json_object_set_new(e, "node_id", str_or_null(st, 5));
		json_object_set_new(e, "task_id", str_or_null(st, 6));
		json_object_set_new(e, "message", str_or_null(st, 7));
		json_object_set_new(e, "allocation", parsed(st, 8));
		json_object_set_new(e, "node", parsed(st, 9));
		json_array_append_new(items, e);
		n++;
	}
	sqlite3_reset(st);
	db_commit(db);
	json_t *next = json_null();
	if (n > limit) {
		char buf[32];
		snprintf(buf, sizeof buf, "%lld", (long long)last);
		json_decref(next);
		next = json_string(buf);
	}
	return json_pack("{s:o, s:o, s:I}", "items", items, "next_cursor", next, "as_of_event_id",
	                 (json_int_t)as_of);
}

int64_t model_last_event_id(Db *db)
{
	sqlite3_stmt *st = db_prep(db, "SELECT COALESCE(MAX(id), 0) FROM events");
	int64_t id = 0;
	if (st && sqlite3_step(st) == SQLITE_ROW)
		id = sqlite3_column_int64(st, 0);
	if (st)
		sqlite3_reset(st);
	return id;
}

void model_set_event_hook(Db *db, void (*hook)(void *ud, int64_t newest_id), void *ud)
{
	db->event_hook = hook;
	db->event_ud = ud;
}

void model_set_state_hook(Db *db, void (*hook)(void *ud, const char *alloc_id, AllocState state),
                          void *ud)
{
	db->state_hook = hook;
	db->state_ud = ud;
}

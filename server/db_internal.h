/* db_internal — what the model_*.c files share behind server/model.h: the Db
 * struct, the prepared-statement cache, transactions that fire the hooks only
 * after COMMIT, ids, cursors, token hashing, and the allocation serialiser.
 * Nothing outside server/db.c, server/model_*.c, server/seed.c and the unit
 * tests includes this. */
#ifndef QD_SERVER_DB_INTERNAL_H
#define QD_SERVER_DB_INTERNAL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "server/model.h"

typedef struct {
	uint64_t hash;
	char *sql;
	sqlite3_stmt *st;
} DbCachedStmt;

typedef struct {
	char alloc_id[40];
	AllocState state;
} DbStateChange;

struct Db {
	sqlite3 *h;
	char *dir;               /* directory holding the database: scratch dirs live here */
	int64_t clock_offset_ms;
	double speed;            /* last speed the reconciler ran at; scales new deadlines */

	DbCachedStmt *stmts;
	size_t n_stmts, cap_stmts;

	void (*event_hook)(void *ud, int64_t newest_id);
	void *event_ud;
	void (*state_hook)(void *ud, const char *alloc_id, AllocState state);
	void *state_ud;

	/* What the open transaction did, reported to the hooks after COMMIT. */
	bool in_tx;
	int64_t tx_newest_event;
	DbStateChange *tx_changes;
	size_t n_changes, cap_changes;
};

#define DB_ID_MAX 40

/* A cached statement, reset and with bindings cleared; NULL (logged) if the SQL
 * does not prepare. Do not hold one across a call that may use the same SQL. */
sqlite3_stmt *db_prep(Db *db, const char *sql);
/* Runs SQL with no results; false (logged) on error. */
bool db_exec(Db *db, const char *sql);
/* BEGIN IMMEDIATE: writers serialise here rather than failing at COMMIT. */
bool db_begin(Db *db);
/* BEGIN (deferred): a read snapshot for multi-statement reads. */
bool db_begin_read(Db *db);
/* COMMIT, then the hooks. false (and a rollback) if the commit failed. */
bool db_commit(Db *db);
void db_rollback(Db *db);
/* A 500 `internal` naming what failed; the SQLite message goes to the log only. */
void db_fail(Db *db, ApiError *err, const char *what);

/* Records for the hooks: called inside the transaction. */
void db_note_event(Db *db, int64_t id);
void db_note_state(Db *db, const char *alloc_id, AllocState s);

/* prefix + 2*nbytes lowercase hex of random bytes (RAND_bytes). */
void db_random_id(char *out, size_t outsz, const char *prefix, int nbytes);

/* base64url without padding; decode returns -1 on a bad character or length. */
char *db_b64url_encode(const unsigned char *p, size_t n);
ssize_t db_b64url_decode(const char *s, unsigned char *out, size_t outsz);

/* Keyset cursors: kind is a short tag naming the list ("a" allocations, "n"
 * nodes, "l" audit logs) so one list's cursor is refused by another. */
char *db_cursor_encode(const char *kind, int64_t key, const char *id);
bool db_cursor_decode(const char *cursor, const char *kind, int64_t *key, char *id, size_t idsz);
/* Ids we mint and accept in cursors and paths: [a-z0-9_-], 1..39 bytes. */
bool db_id_valid(const char *id);

/* SHA-256 of a token's text. */
void db_token_hash(const char *token, unsigned char out[32]);
/* The first 8 bytes of a hash as an index key. */
int64_t db_hash_hint(const unsigned char hash[32]);
/* A new secret: prefix + base64url(32 random bytes). Caller frees. */
char *db_token_new(const char *prefix);

/* What qd_time_format writes, without gmtime_r/strftime (buf: 32 bytes). */
void db_time_format(int64_t ms, char buf[32]);
/* RFC 3339 string, or JSON null when ms <= 0. */
json_t *db_time_json(int64_t ms);

/* --- allocation serialisation (model_alloc.c) --------------------------------- */
/* The allocation as docs/api/v1.md shows it, read inside the caller's
 * transaction; NULL if the id is unknown. */
json_t *db_alloc_json(Db *db, const char *id);

/* --- catalog (model_catalog.c) ------------------------------------------------ */
/* How many nodes could take the SKU now (what GET /skus reports); -1 if unknown. */
int64_t db_sku_available_count(Db *db, const char *sku_id);
/* Appends a node.updated event (visible to every org) carrying the node as it is now. */
int64_t db_event_node(Db *db, const char *node_id, const char *message);

/* --- events (model_events.c) -------------------------------------------------- */
/* Appends an event; alloc and node are borrowed (may be NULL). Returns the id or -1. */
int64_t db_event_append(Db *db, const char *type, const char *org_id, const char *alloc_id,
                        const char *node_id, const char *task_id, const char *message,
                        json_t *alloc, json_t *node);
/* Appends an event carrying the allocation as it is now. */
int64_t db_event_alloc(Db *db, const char *type, const char *alloc_id, const char *task_id,
                       const char *message);

/* --- tasks and transitions (model_tasks.c) ------------------------------------ */
typedef enum { TASK_PROVISION, TASK_RELEASE, TASK_RESTART, TASK_FORCE_RELEASE } TaskKind;

const char *db_task_kind_name(TaskKind k);
/* Creates a running task for the allocation with its steps, the first one
 * started; fail_idx >= 0 makes that step fail with fail_code/fail_message;
 * stall keeps it on its first step. Writes task_id into the allocation.
 * Returns false on a database error. */
bool db_task_start(Db *db, TaskKind kind, const char *alloc_id, const char *org_id, int fail_idx,
                   bool stall, const char *fail_code, const char *fail_message, int64_t now,
                   char task_id_out[DB_ID_MAX]);
/* Appends an activity line to a task. */
bool db_task_activity(Db *db, const char *task_id, int64_t at, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Marks a running task failed (its running step too) with a reason line. */
bool db_task_fail(Db *db, const char *task_id, int64_t now, const char *why);
/* Index of the step of kind's step list that a fault makes fail. */
int db_task_fault_step(TaskKind kind);

/* Writes a task as if it had run (for the demo seed): state running (idx is
 * the running step, next_at when it finishes), failed (idx failed) or
 * succeeded; steps timed between start and end. */
bool db_task_seed(Db *db, TaskKind kind, const char *task_id, const char *alloc_id,
                  const char *org_id, const char *state, int idx, const char *fail_code,
                  const char *fail_message, int64_t start, int64_t end, int64_t next_at);

/* Moves an allocation to `to` (state_since = now, version + 1, deadline set for
 * in-progress states), updates reasons, billing and GPU holds as the target
 * state implies, and appends the state_changed event. reason_code/message go
 * to failure_reason, or release_failed_reason for release_failed. */
bool db_alloc_transition(Db *db, const char *alloc_id, AllocState to, const char *reason_code,
                         const char *reason_message, const char *task_id, int64_t now);
/* Deadline for an in-progress state entered at now, at the current speed. */
int64_t db_deadline_for(Db *db, AllocState s, int64_t now);

#endif

/* model_tasks — tasks and their steps, allocation transitions, and the
 * reconcile pass that advances due steps and enforces deadlines. */
#include "server/db_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

typedef struct {
	const char *name;
	int ms; /* duration at speed 1 */
} StepDef;

static const StepDef provision_steps[] = {
	{"schedule", 600}, {"attach_storage", 800}, {"boot", 1500}, {"install_runtime", 1200}, {"ready", 400},
};
static const StepDef release_steps[] = {
	{"stop_processes", 600}, {"detach_storage", 900}, {"wipe_scratch", 700}, {"stop_billing", 300},
};
static const StepDef restart_steps[] = {
	{"stop", 700}, {"boot", 1500}, {"health_check", 800},
};
static const StepDef force_steps[] = {
	{"stop_billing", 0}, {"mark_released", 0},
};

static const struct {
	const char *name;
	const StepDef *steps;
	int n;
	int fault_step; /* the step an injected *_fail fault makes fail */
	AllocState in_progress;
} kinds[] = {
	[TASK_PROVISION] = {"provision", provision_steps, (int)QD_ARRAY_LEN(provision_steps), 2,
	                    ALLOC_PROVISIONING},
	[TASK_RELEASE] = {"release", release_steps, (int)QD_ARRAY_LEN(release_steps), 1,
	                  ALLOC_RELEASING},
	[TASK_RESTART] = {"restart", restart_steps, (int)QD_ARRAY_LEN(restart_steps), 2,
	                  ALLOC_RESTARTING},
	[TASK_FORCE_RELEASE] = {"force_release", force_steps, (int)QD_ARRAY_LEN(force_steps), -1,
	                        ALLOC_RELEASED},
};

const char *db_task_kind_name(TaskKind k) { return kinds[k].name; }

int db_task_fault_step(TaskKind k) { return kinds[k].fault_step; }

static int kind_from_name(const char *s)
{
	for (int k = 0; k < (int)QD_ARRAY_LEN(kinds); k++)
		if (s && strcmp(s, kinds[k].name) == 0)
			return k;
	return -1;
}

static int64_t scaled(Db *db, int64_t ms)
{
	double v = (double)ms / (db->speed > 0 ? db->speed : 1.0);
	return v < 1 ? 1 : (int64_t)v;
}

int64_t db_deadline_for(Db *db, AllocState s, int64_t now)
{
	const AllocStateInfo *i = alloc_state_info(s);
	if (!i || !i->in_progress)
		return 0;
	return now + scaled(db, (int64_t)i->deadline_s * 1000);
}

static bool step_ok(sqlite3_stmt *st)
{
	bool ok = st && sqlite3_step(st) == SQLITE_DONE;
	if (st)
		sqlite3_reset(st);
	return ok;
}

bool db_task_activity(Db *db, const char *task_id, int64_t at, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	sqlite3_stmt *st = db_prep(db, "INSERT INTO task_activity(task_id, at, message) VALUES(?, ?, ?)");
	if (!st)
		return false;
	sqlite3_bind_text(st, 1, task_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, at);
	sqlite3_bind_text(st, 3, msg, -1, SQLITE_TRANSIENT);
	return step_ok(st);
}

/* Steps a one-row SELECT whose only parameter is `id`. False when the
 * statement could not be prepared; else *row is the statement on its row
 * (the caller reads it, then sqlite3_reset()s), or NULL when there is none. */
static bool select_one(Db *db, const char *sql, const char *id, sqlite3_stmt **row)
{
	*row = NULL;
	sqlite3_stmt *st = db_prep(db, sql);
	if (!st)
		return false;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_ROW)
		sqlite3_reset(st);
	else
		*row = st;
	return true;
}

/* The INSERT of a task row with its first four columns bound; the caller
 * binds state (5), current_idx (6), next_at (7), fail_idx (8), fail_code (9),
 * fail_message (10), created_at (11) and updated_at (12). NULL on error. */
static sqlite3_stmt *task_insert(Db *db, const char *task_id, TaskKind kind, const char *alloc_id,
                                 const char *org_id)
{
	sqlite3_stmt *st = db_prep(db, "INSERT INTO tasks(id, kind, allocation_id, org_id, state,"
	                               " current_idx, next_at, fail_idx, fail_code, fail_message,"
	                               " created_at, updated_at) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (!st)
		return NULL;
	sqlite3_bind_text(st, 1, task_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, kinds[kind].name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, alloc_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, org_id, -1, SQLITE_TRANSIENT);
	return st;
}

/* One task_steps row; started/finished NULL leave those times unset. */
static bool step_insert(Db *db, const char *task_id, int idx, const StepDef *step, const char *state,
                        const int64_t *started, const int64_t *finished)
{
	sqlite3_stmt *st = db_prep(db, "INSERT INTO task_steps(task_id, idx, name, state, dur_ms, started_at,"
	                               " finished_at) VALUES(?, ?, ?, ?, ?, ?, ?)");
	if (!st)
		return false;
	sqlite3_bind_text(st, 1, task_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 2, idx);
	sqlite3_bind_text(st, 3, step->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, state, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, step->ms);
	if (started)
		sqlite3_bind_int64(st, 6, *started);
	if (finished)
		sqlite3_bind_int64(st, 7, *finished);
	return step_ok(st);
}

/* Points the allocation at the task that now drives it. */
static bool alloc_set_task(Db *db, const char *alloc_id, const char *task_id)
{
	sqlite3_stmt *st = db_prep(db, "UPDATE allocations SET task_id = ? WHERE id = ?");
	if (!st)
		return false;
	sqlite3_bind_text(st, 1, task_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, alloc_id, -1, SQLITE_TRANSIENT);
	return step_ok(st);
}

bool db_task_start(Db *db, TaskKind kind, const char *alloc_id, const char *org_id, int fail_idx,
                   bool stall, const char *fail_code, const char *fail_message, int64_t now,
                   char task_id[DB_ID_MAX])
{
	bool instant = kind == TASK_FORCE_RELEASE;
	db_random_id(task_id, DB_ID_MAX, "tk_", 6);
	const StepDef *steps = kinds[kind].steps;
	sqlite3_stmt *st = task_insert(db, task_id, kind, alloc_id, org_id);
	if (!st)
		return false;
	sqlite3_bind_text(st, 5, instant ? "succeeded" : "running", -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 6, instant ? kinds[kind].n - 1 : 0);
	if (!instant && !stall)
		sqlite3_bind_int64(st, 7, now + scaled(db, steps[0].ms));
	sqlite3_bind_int(st, 8, fail_idx);
	if (fail_idx >= 0) {
		sqlite3_bind_text(st, 9, fail_code && *fail_code ? fail_code : "injected_fault", -1,
		                  SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 10, fail_message && *fail_message ? fail_message : "injected fault",
		                  -1, SQLITE_TRANSIENT);
	}
	sqlite3_bind_int64(st, 11, now);
	sqlite3_bind_int64(st, 12, now);
	if (!step_ok(st))
		return false;
	for (int i = 0; i < kinds[kind].n; i++)
		if (!step_insert(db, task_id, i, &steps[i], instant ? "done" : i == 0 ? "running" : "pending",
		                 instant || i == 0 ? &now : NULL, instant ? &now : NULL))
			return false;
	if (!alloc_set_task(db, alloc_id, task_id))
		return false;
	if (instant)
		return db_task_activity(db, task_id, now, "%s done", kinds[kind].name);
	return db_task_activity(db, task_id, now, "%s started; %s running", kinds[kind].name,
	                        steps[0].name) &&
	       (!stall || db_task_activity(db, task_id, now, "waiting on the node agent"));
}

bool db_task_fail(Db *db, const char *task_id, int64_t now, const char *why)
{
	sqlite3_stmt *st;
	if (!select_one(db, "SELECT current_idx FROM tasks WHERE id = ? AND state = 'running'", task_id, &st))
		return false;
	if (!st)
		return true; /* nothing to stop */
	int idx = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	st = db_prep(db, "UPDATE task_steps SET state = 'failed', finished_at = ? WHERE task_id = ?"
	                 " AND idx = ?");
	if (!st)
		return false;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_text(st, 2, task_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 3, idx);
	if (!step_ok(st))
		return false;
	st = db_prep(db, "UPDATE tasks SET state = 'failed', next_at = NULL, updated_at = ? WHERE id = ?");
	if (!st)
		return false;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_text(st, 2, task_id, -1, SQLITE_TRANSIENT);
	return step_ok(st) && db_task_activity(db, task_id, now, "failed: %s", why);
}

/* --- transitions ---------------------------------------------------------------------- */

bool db_alloc_transition(Db *db, const char *alloc_id, AllocState to, const char *reason_code,
                         const char *reason_message, const char *task_id, int64_t now)
{
	sqlite3_stmt *st;
	if (!select_one(db, "SELECT state, name, node_id, gpu_count, gpus_held FROM allocations WHERE id = ?",
	                alloc_id, &st) ||
	    !st)
		return false;
	AllocState from = alloc_state_from_name((const char *)sqlite3_column_text(st, 0));
	char name[80], node[DB_ID_MAX] = "";
	qd_strlcpy(name, (const char *)sqlite3_column_text(st, 1), sizeof name);
	if (sqlite3_column_type(st, 2) != SQLITE_NULL)
		qd_strlcpy(node, (const char *)sqlite3_column_text(st, 2), sizeof node);
	int gpus = sqlite3_column_int(st, 3);
	bool held = sqlite3_column_int(st, 4) != 0;
	sqlite3_reset(st);
	if (!alloc_transition_allowed(from, to)) {
		fprintf(stderr, "qdeckd: refusing transition %s -> %s for %s\n", alloc_state_name(from),
		        alloc_state_name(to), alloc_id);
		return false;
	}
	int64_t deadline = db_deadline_for(db, to, now);
	/* Reasons: a failure twin records why; success clears what no longer applies. */
	bool set_failure = to == ALLOC_FAILED || to == ALLOC_RESTART_FAILED;
	bool set_rf = to == ALLOC_RELEASE_FAILED;
	bool clear_failure = to == ALLOC_ACTIVE;
	bool clear_rf = to == ALLOC_RELEASING || to == ALLOC_RELEASED;
	bool free_gpus = held && (to == ALLOC_RELEASED || (to == ALLOC_FAILED && from == ALLOC_PROVISIONING));
	st = db_prep(db,
	             "UPDATE allocations SET state = :to, state_since = :now, updated_at = :now,"
	             " version = version + 1, deadline_at = :deadline,"
	             " failure_code = CASE WHEN :setf THEN :code WHEN :clearf THEN NULL ELSE failure_code END,"
	             " failure_message = CASE WHEN :setf THEN :msg WHEN :clearf THEN NULL ELSE failure_message END,"
	             " rf_code = CASE WHEN :setrf THEN :code WHEN :clearrf THEN NULL ELSE rf_code END,"
	             " rf_message = CASE WHEN :setrf THEN :msg WHEN :clearrf THEN NULL ELSE rf_message END,"
	             " billing_stopped = CASE WHEN :to = 'released' THEN 1 ELSE billing_stopped END,"
	             " gpus_held = CASE WHEN :free THEN 0 ELSE gpus_held END,"
	             " runtime_state = CASE WHEN runtime_bundle IS NULL THEN NULL"
	             "  WHEN :to = 'active' THEN 'ready' WHEN :to = 'released' THEN 'stopped'"
	             "  WHEN :to IN ('failed','restart_failed') THEN 'error' ELSE runtime_state END"
	             " WHERE id = :id");
	if (!st)
		return false;
	const char *code = reason_code ? reason_code : "unknown";
	const char *msg = reason_message ? reason_message : "no reason recorded";
	sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, ":to"), alloc_state_name(to), -1,
	                  SQLITE_STATIC);
	sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":now"), now);
	if (deadline > 0)
		sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":deadline"), deadline);
	sqlite3_bind_int(st, sqlite3_bind_parameter_index(st, ":setf"), set_failure);
	sqlite3_bind_int(st, sqlite3_bind_parameter_index(st, ":clearf"), clear_failure);
	sqlite3_bind_int(st, sqlite3_bind_parameter_index(st, ":setrf"), set_rf);
	sqlite3_bind_int(st, sqlite3_bind_parameter_index(st, ":clearrf"), clear_rf);
	sqlite3_bind_int(st, sqlite3_bind_parameter_index(st, ":free"), free_gpus);
	sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, ":code"), code, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, ":msg"), msg, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, ":id"), alloc_id, -1, SQLITE_TRANSIENT);
	if (!step_ok(st))
		return false;
	if (free_gpus && node[0]) {
		st = db_prep(db, "UPDATE nodes SET gpu_free = MIN(gpu_total, gpu_free + ?) WHERE id = ?");
		if (!st)
			return false;
		sqlite3_bind_int(st, 1, gpus);
		sqlite3_bind_text(st, 2, node, -1, SQLITE_TRANSIENT);
		if (!step_ok(st))
			return false;
	}
	char emsg[400];
	if (set_failure || set_rf)
		snprintf(emsg, sizeof emsg, "%s: %s -> %s (%s: %s)", name, alloc_state_name(from),
		         alloc_state_name(to), code, msg);
	else
		snprintf(emsg, sizeof emsg, "%s: %s -> %s", name, alloc_state_name(from),
		         alloc_state_name(to));
	db_note_state(db, alloc_id, to);
	if (db_event_alloc(db, "allocation.state_changed", alloc_id, task_id, emsg) <= 0)
		return false;
	if (free_gpus && node[0]) {
		snprintf(emsg, sizeof emsg, "%d GPU%s freed by %s", gpus, gpus == 1 ? "" : "s", name);
		return db_event_node(db, node, emsg) > 0;
	}
	return true;
}

/* --- task read ------------------------------------------------------------------------ */

json_t *model_task(Db *db, const Principal *p, const char *id, ApiError *err)
{
	if (!db_id_valid(id)) {
		api_error_set(err, 404, "not_found", "use the task_id from a receipt or an allocation",
		              "no such task");
		return NULL;
	}
	if (!db_begin_read(db)) {
		db_fail(db, err, "read the task");
		return NULL;
	}
	sqlite3_stmt *st = db_prep(db, "SELECT kind, allocation_id, org_id, state, current_idx,"
	                               " created_at, updated_at FROM tasks WHERE id = ?");
	json_t *j = NULL;
	if (!st)
		goto fail;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_ROW ||
	    (!p->is_admin && strcmp((const char *)sqlite3_column_text(st, 2), p->org_id) != 0)) {
		sqlite3_reset(st);
		db_commit(db);
		api_error_set(err, 404, "not_found", "use the task_id from a receipt or an allocation",
		              "no task '%s'", id);
		return NULL;
	}
	bool running = strcmp((const char *)sqlite3_column_text(st, 3), "running") == 0;
	int cur = sqlite3_column_int(st, 4);
	j = json_pack("{s:s, s:s, s:s, s:s}", "id", id, "kind", sqlite3_column_text(st, 0),
	              "allocation_id", sqlite3_column_text(st, 1), "state", sqlite3_column_text(st, 3));
	int64_t created = sqlite3_column_int64(st, 5), updated = sqlite3_column_int64(st, 6);
	sqlite3_reset(st);
	json_t *steps = json_array();
	json_t *current = json_null();
	st = db_prep(db, "SELECT idx, name, state, started_at, finished_at FROM task_steps"
	                 " WHERE task_id = ? ORDER BY idx");
	if (!st) {
		json_decref(steps);
		goto fail;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 1);
		if (running && sqlite3_column_int(st, 0) == cur) {
			json_decref(current);
			current = json_string(name);
		}
		json_array_append_new(steps, json_pack("{s:s, s:s, s:o, s:o}", "name", name, "state",
		                                       sqlite3_column_text(st, 2), "started_at",
		                                       db_time_json(sqlite3_column_int64(st, 3)),
		                                       "finished_at",
		                                       db_time_json(sqlite3_column_int64(st, 4))));
	}
	sqlite3_reset(st);
	json_object_set_new(j, "steps", steps);
	json_object_set_new(j, "current_step", current);
	json_t *act = json_array();
	st = db_prep(db, "SELECT at, message FROM task_activity WHERE task_id = ? ORDER BY id");
	if (!st) {
		json_decref(act);
		goto fail;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(act, json_pack("{s:o, s:s}", "at",
		                                     db_time_json(sqlite3_column_int64(st, 0)), "message",
		                                     sqlite3_column_text(st, 1)));
	sqlite3_reset(st);
	json_object_set_new(j, "activity", act);
	json_object_set_new(j, "created_at", db_time_json(created));
	json_object_set_new(j, "updated_at", db_time_json(updated));
	db_commit(db);
	return j;
fail:
	json_decref(j);
	db_rollback(db);
	db_fail(db, err, "read the task");
	return NULL;
}

/* --- reconcile -------------------------------------------------------------------------- */

typedef struct {
	char id[DB_ID_MAX];
} IdBuf;

static size_t collect_ids(Db *db, const char *sql, int64_t now, IdBuf *out, size_t max)
{
	sqlite3_stmt *st = db_prep(db, sql);
	size_t n = 0;
	if (!st)
		return 0;
	sqlite3_bind_int64(st, 1, now);
	while (n < max && sqlite3_step(st) == SQLITE_ROW)
		qd_strlcpy(out[n++].id, (const char *)sqlite3_column_text(st, 0), sizeof out[0].id);
	sqlite3_reset(st);
	return n;
}

/* Sends an allocation past its deadline to its failure twin. */
static bool expire(Db *db, const char *alloc_id, int64_t now)
{
	sqlite3_stmt *st;
	if (!select_one(db, "SELECT state, task_id FROM allocations WHERE id = ?", alloc_id, &st) || !st)
		return false;
	AllocState s = alloc_state_from_name((const char *)sqlite3_column_text(st, 0));
	char task[DB_ID_MAX] = "";
	if (sqlite3_column_type(st, 1) != SQLITE_NULL)
		qd_strlcpy(task, (const char *)sqlite3_column_text(st, 1), sizeof task);
	sqlite3_reset(st);
	const AllocStateInfo *info = alloc_state_info(s);
	if (!info || !info->in_progress) {
		/* A settled state with a leftover deadline: just clear it. */
		st = db_prep(db, "UPDATE allocations SET deadline_at = NULL WHERE id = ?");
		if (!st)
			return false;
		sqlite3_bind_text(st, 1, alloc_id, -1, SQLITE_TRANSIENT);
		return step_ok(st);
	}
	char msg[200];
	snprintf(msg, sizeof msg, "%s did not finish within its %d s deadline (at speed 1)",
	         alloc_state_name(s), info->deadline_s);
	if (task[0] && !db_task_fail(db, task, now, msg))
		return false;
	return db_alloc_transition(db, alloc_id, info->on_failure, "deadline_exceeded", msg,
	                           task[0] ? task : NULL, now);
}

/* Finishes the running step of a due task and starts the next, or ends the
 * task. Times are the step's due time, not the pass's: a reconciler that slept
 * through several steps catches up with the timeline it would have had. */
static bool advance(Db *db, const char *task_id, int64_t pass_now)
{
	sqlite3_stmt *st;
	if (!select_one(db, "SELECT t.kind, t.allocation_id, t.current_idx, t.fail_idx,"
	                    " t.fail_code, t.fail_message, a.state, a.task_id, t.next_at"
	                    " FROM tasks t LEFT JOIN allocations a ON a.id = t.allocation_id"
	                    " WHERE t.id = ? AND t.state = 'running'",
	                task_id, &st))
		return false;
	if (!st)
		return true; /* finished or gone since the pass listed it */
	int kind = kind_from_name((const char *)sqlite3_column_text(st, 0));
	char alloc[DB_ID_MAX], code[48] = "", msg[256] = "", cur_task[DB_ID_MAX] = "";
	qd_strlcpy(alloc, (const char *)sqlite3_column_text(st, 1), sizeof alloc);
	int idx = sqlite3_column_int(st, 2), fail_idx = sqlite3_column_int(st, 3);
	if (sqlite3_column_type(st, 4) != SQLITE_NULL) {
		qd_strlcpy(code, (const char *)sqlite3_column_text(st, 4), sizeof code);
		qd_strlcpy(msg, (const char *)sqlite3_column_text(st, 5), sizeof msg);
	}
	AllocState as = alloc_state_from_name((const char *)sqlite3_column_text(st, 6));
	if (sqlite3_column_type(st, 7) != SQLITE_NULL)
		qd_strlcpy(cur_task, (const char *)sqlite3_column_text(st, 7), sizeof cur_task);
	int64_t now = sqlite3_column_type(st, 8) == SQLITE_NULL ? pass_now : sqlite3_column_int64(st, 8);
	if (now > pass_now)
		now = pass_now;
	sqlite3_reset(st);
	if (kind < 0 || kind == TASK_FORCE_RELEASE)
		return db_task_fail(db, task_id, now, "unknown task kind");
	/* The allocation moved on without this task (force release, deadline). */
	if (strcmp(cur_task, task_id) != 0 || as != kinds[kind].in_progress)
		return db_task_fail(db, task_id, now, "superseded: the allocation is no longer waiting on it");

	const StepDef *steps = kinds[kind].steps;
	int n = kinds[kind].n;
	if (idx == fail_idx) {
		char why[320];
		snprintf(why, sizeof why, "%s failed: %s: %s", steps[idx].name, code, msg);
		return db_task_fail(db, task_id, now, why) &&
		       db_alloc_transition(db, alloc, alloc_state_info(as)->on_failure, code, msg, task_id,
		                           now);
	}
	st = db_prep(db, "UPDATE task_steps SET state = 'done', finished_at = ? WHERE task_id = ? AND idx = ?");
	if (!st)
		return false;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_text(st, 2, task_id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 3, idx);
	if (!step_ok(st) || !db_task_activity(db, task_id, now, "%s done", steps[idx].name))
		return false;
	if (idx + 1 < n) {
		st = db_prep(db, "UPDATE task_steps SET state = 'running', started_at = ? WHERE task_id = ?"
		                 " AND idx = ?");
		if (!st)
			return false;
		sqlite3_bind_int64(st, 1, now);
		sqlite3_bind_text(st, 2, task_id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(st, 3, idx + 1);
		if (!step_ok(st))
			return false;
		st = db_prep(db, "UPDATE tasks SET current_idx = ?, next_at = ?, updated_at = ? WHERE id = ?");
		if (!st)
			return false;
		sqlite3_bind_int(st, 1, idx + 1);
		sqlite3_bind_int64(st, 2, now + scaled(db, steps[idx + 1].ms));
		sqlite3_bind_int64(st, 3, now);
		sqlite3_bind_text(st, 4, task_id, -1, SQLITE_TRANSIENT);
		if (!step_ok(st) ||
		    !db_task_activity(db, task_id, now, "%s running", steps[idx + 1].name))
			return false;
		char emsg[160];
		snprintf(emsg, sizeof emsg, "%s: %s step %s done, %s running", alloc, kinds[kind].name,
		         steps[idx].name, steps[idx + 1].name);
		return db_event_alloc(db, "task.updated", alloc, task_id, emsg) > 0;
	}
	st = db_prep(db, "UPDATE tasks SET state = 'succeeded', next_at = NULL, updated_at = ? WHERE id = ?");
	if (!st)
		return false;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_text(st, 2, task_id, -1, SQLITE_TRANSIENT);
	if (!step_ok(st) || !db_task_activity(db, task_id, now, "%s succeeded", kinds[kind].name))
		return false;
	return db_alloc_transition(db, alloc, alloc_state_info(as)->on_success, NULL, NULL, task_id, now);
}

static int64_t next_due(Db *db)
{
	sqlite3_stmt *st = db_prep(db, "SELECT MIN(t) FROM ("
	                               " SELECT MIN(next_at) AS t FROM tasks WHERE state = 'running'"
	                               " AND next_at IS NOT NULL"
	                               " UNION ALL SELECT MIN(deadline_at) FROM allocations"
	                               " WHERE deadline_at IS NOT NULL)");
	int64_t t = -1;
	if (st && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		t = sqlite3_column_int64(st, 0);
	if (st)
		sqlite3_reset(st);
	return t;
}

#define RECONCILE_BATCH 256

int64_t model_reconcile(Db *db, double speed)
{
	db_set_speed(db, speed);
	int64_t now = db_now_ms(db);
	IdBuf *ids = xmalloc(RECONCILE_BATCH * sizeof *ids);
	if (db_begin(db)) {
		bool ok = true;
		/* Steps first, several rounds, so a task whose steps all fell due
		 * before its deadline finishes rather than expiring. Steps due after
		 * the allocation's deadline wait for expire() below. */
		for (int round = 0; ok && round < 16; round++) {
			size_t m = collect_ids(db, "SELECT t.id FROM tasks t LEFT JOIN allocations a"
			                           " ON a.id = t.allocation_id WHERE t.state = 'running'"
			                           " AND t.next_at IS NOT NULL AND t.next_at <= ?1"
			                           " AND (a.deadline_at IS NULL OR t.next_at <= a.deadline_at)"
			                           " ORDER BY t.next_at LIMIT 256",
			                       now, ids, RECONCILE_BATCH);
			for (size_t i = 0; ok && i < m; i++)
				ok = advance(db, ids[i].id, now);
			if (m == 0)
				break;
		}
		size_t n = ok ? collect_ids(db, "SELECT id FROM allocations WHERE deadline_at IS NOT NULL"
		                                " AND deadline_at <= ? ORDER BY deadline_at LIMIT 256",
		                            now, ids, RECONCILE_BATCH)
		              : 0;
		for (size_t i = 0; ok && i < n; i++)
			ok = expire(db, ids[i].id, now);
		sqlite3_stmt *hb = ok ? db_prep(db, "UPDATE nodes SET last_heartbeat_at = ?1"
		                                    " WHERE state = 'online' AND (last_heartbeat_at IS NULL"
		                                    " OR last_heartbeat_at < ?1 - 15000)")
		                      : NULL;
		if (hb) {
			sqlite3_bind_int64(hb, 1, now);
			ok = step_ok(hb);
		}
		if (!ok || !db_commit(db)) {
			fprintf(stderr, "qdeckd: reconcile pass failed; retrying soon\n");
			db_rollback(db);
			free(ids);
			return 1000;
		}
	}
	free(ids);
	int64_t due = next_due(db);
	if (due < 0)
		return -1;
	int64_t now2 = db_now_ms(db);
	return due > now2 ? due - now2 : 0;
}

/* --- seeding ---------------------------------------------------------------------------- */

bool db_task_seed(Db *db, TaskKind kind, const char *task_id, const char *alloc_id,
                  const char *org_id, const char *state, int idx, const char *fail_code,
                  const char *fail_message, int64_t start, int64_t end, int64_t next_at)
{
	const StepDef *steps = kinds[kind].steps;
	int n = kinds[kind].n;
	bool running = strcmp(state, "running") == 0, failed = strcmp(state, "failed") == 0;
	if (!running && !failed)
		idx = n - 1;
	if (idx < 0 || idx >= n)
		idx = 0;
	sqlite3_stmt *st = task_insert(db, task_id, kind, alloc_id, org_id);
	if (!st)
		return false;
	sqlite3_bind_text(st, 5, state, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 6, idx);
	if (running && next_at > 0)
		sqlite3_bind_int64(st, 7, next_at);
	sqlite3_bind_int(st, 8, -1);
	if (failed && fail_code) {
		sqlite3_bind_text(st, 9, fail_code, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 10, fail_message, -1, SQLITE_TRANSIENT);
	}
	sqlite3_bind_int64(st, 11, start);
	sqlite3_bind_int64(st, 12, end);
	if (!step_ok(st))
		return false;
	/* Spread the finished steps evenly between start and end. */
	int64_t span = end > start ? end - start : 0;
	for (int i = 0; i < n; i++) {
		const char *s = i < idx ? "done" : i > idx ? "pending" : running ? "running" : failed ? "failed" : "done";
		int64_t t0 = start + span * i / n, t1 = start + span * (i + 1) / n;
		if (!step_insert(db, task_id, i, &steps[i], s, i <= idx ? &t0 : NULL,
		                 i < idx || (i == idx && !running) ? &t1 : NULL))
			return false;
		if (i <= idx && !db_task_activity(db, task_id, t0, "%s running", steps[i].name))
			return false;
		if (strcmp(s, "done") == 0 && !db_task_activity(db, task_id, t1, "%s done", steps[i].name))
			return false;
	}
	if (failed && !db_task_activity(db, task_id, end, "failed: %s failed: %s: %s", steps[idx].name,
	                                fail_code ? fail_code : "unknown",
	                                fail_message ? fail_message : ""))
		return false;
	if (!running && !failed && !db_task_activity(db, task_id, end, "%s succeeded", kinds[kind].name))
		return false;
	return alloc_set_task(db, alloc_id, task_id);
}

/* model_nodes — node lifecycle mutations the local control plane can really
 * perform (seed 003 "Node Lifecycle Operations Are First-Class"). Today that
 * is scheduling on/off; repair, reimage, retire and the rest need a node agent
 * and MAAS, which this control plane does not have, so the console shows them
 * as guided/manual instead of pretending here.
 *
 * Scheduling semantics (docs/api/v1.md "Node scheduling"):
 * - disable (needs a reason): scheduling = off; an online node that still
 *   holds allocations becomes `draining` (its work keeps running, nothing new
 *   is placed); an online node with nothing on it stays `online` but takes no
 *   new work (cordoned).
 * - enable: scheduling = on; a `draining` node becomes `online` again.
 *   offline/maintenance/enrolling nodes keep their state: placement also
 *   needs `online`, so they take work only once they are back.
 * - a retired node refuses both (409 invalid_state).
 * - asking for what is already so changes nothing: 200 with changed=false, no
 *   audit row and no event.
 * Every change is one transaction: the node row, an audit row and a
 * node.updated event carrying the node as it is after the change. */
#include "server/db_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

#define REASON_MAX 1000

static bool body_fields_known(json_t *body, ApiError *err)
{
	const char *key;
	json_t *v;
	json_object_foreach(body, key, v) {
		if (strcmp(key, "enabled") != 0 && strcmp(key, "reason") != 0) {
			char shown[64];
			qd_strlcpy(shown, key, sizeof shown);
			for (char *c = shown; *c; c++)
				if (!isprint((unsigned char)*c))
					*c = '?';
			api_error_set(err, 400, "unknown_field", "send only {\"enabled\": bool, \"reason\": \"...\"}",
			              "unknown field '%s'", shown);
			return false;
		}
	}
	return true;
}

json_t *model_node_set_scheduling(Db *db, const Principal *p, const char *id, json_t *body,
                                  const char *request_id, ApiError *err)
{
	if (!p->is_admin) {
		api_error_set(err, 403, "forbidden", "ask an operator with the admin role",
		              "changing a node's scheduling needs the admin role");
		return NULL;
	}
	if (!json_is_object(body)) {
		api_error_set(err, 400, "invalid_body", "send {\"enabled\": false, \"reason\": \"why\"}",
		              "the body must be a JSON object");
		return NULL;
	}
	if (!body_fields_known(body, err))
		return NULL;
	json_t *je = json_object_get(body, "enabled");
	if (!json_is_boolean(je)) {
		api_error_set(err, 400, je ? "invalid_type" : "missing_field",
		              "send {\"enabled\": true} or {\"enabled\": false, \"reason\": \"why\"}",
		              je ? "enabled must be true or false" : "enabled is required");
		return NULL;
	}
	bool enable = json_is_true(je);
	json_t *jr = json_object_get(body, "reason");
	if (jr && !json_is_null(jr) && !json_is_string(jr)) {
		api_error_set(err, 400, "invalid_type", "send {\"reason\": \"why\"}", "reason must be a string");
		return NULL;
	}
	/* Trim: a reason of spaces is no reason. */
	const char *r = json_is_string(jr) ? json_string_value(jr) : "";
	while (*r && isspace((unsigned char)*r))
		r++;
	size_t rlen = strlen(r);
	while (rlen && isspace((unsigned char)r[rlen - 1]))
		rlen--;
	if (rlen > REASON_MAX) {
		api_error_set(err, 400, "invalid_value", "keep the reason under 1000 characters",
		              "reason is %zu characters long", rlen);
		return NULL;
	}
	if (!db_id_valid(id)) {
		api_error_set(err, 404, "not_found", "list nodes to find the id", "no such node");
		return NULL;
	}

	if (!db_begin(db)) {
		db_fail(db, err, "start a transaction");
		return NULL;
	}
	sqlite3_stmt *st = db_prep(db, "SELECT n.state, n.scheduling, n.name,"
	                               " (SELECT COUNT(*) FROM allocations a WHERE a.node_id = n.id"
	                               " AND a.gpus_held = 1) FROM nodes n WHERE n.id = ?");
	if (!st) {
		db_rollback(db);
		db_fail(db, err, "read the node");
		return NULL;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		db_rollback(db);
		api_error_set(err, 404, "not_found", "list nodes to find the id", "no such node");
		return NULL;
	}
	char from_state[24], name[64];
	qd_strlcpy(from_state, (const char *)sqlite3_column_text(st, 0), sizeof from_state);
	bool was_on = sqlite3_column_int(st, 1) != 0;
	qd_strlcpy(name, (const char *)sqlite3_column_text(st, 2), sizeof name);
	int64_t allocs = sqlite3_column_int64(st, 3);
	sqlite3_reset(st);

	if (strcmp(from_state, "retired") == 0) {
		db_rollback(db);
		api_error_set(err, 409, "invalid_state", "a retired node cannot take work again; enroll a new node",
		              "node %s is retired; scheduling cannot change", id);
		return NULL;
	}
	/* Checked after the state so the operator learns the real blocker first. */
	if (!enable && rlen == 0) {
		db_rollback(db);
		api_error_set(err, 422, "reason_required",
		              "say why, e.g. {\"enabled\": false, \"reason\": \"ECC errors on GPU 3\"}",
		              "disabling scheduling needs a non-empty reason; it goes into the audit log");
		return NULL;
	}

	const char *to_state = from_state;
	if (!enable && strcmp(from_state, "online") == 0 && allocs > 0)
		to_state = "draining";
	else if (enable && strcmp(from_state, "draining") == 0)
		to_state = "online";
	bool changed = was_on != enable || strcmp(to_state, from_state) != 0;
	char *why = xstrndup(r, rlen);

	if (changed) {
		int64_t now = db_now_ms(db);
		bool ok = true;
		st = db_prep(db, "UPDATE nodes SET scheduling = ?, state = ? WHERE id = ?");
		ok = st != NULL;
		if (ok) {
			sqlite3_bind_int(st, 1, enable ? 1 : 0);
			sqlite3_bind_text(st, 2, to_state, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 3, id, -1, SQLITE_TRANSIENT);
			ok = sqlite3_step(st) == SQLITE_DONE;
			sqlite3_reset(st);
		}
		if (ok) {
			st = db_prep(db, "INSERT INTO audit_logs(at, actor_id, actor_name, action, target_id,"
			                 " reason, state_before, state_after, request_id)"
			                 " VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)");
			ok = st != NULL;
		}
		if (ok) {
			sqlite3_bind_int64(st, 1, now);
			sqlite3_bind_text(st, 2, p->user_id, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 3, p->user_name, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 4, enable ? "node.scheduling_enable" : "node.scheduling_disable", -1,
			                  SQLITE_STATIC);
			sqlite3_bind_text(st, 5, id, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 6, why, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 7, from_state, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 8, to_state, -1, SQLITE_TRANSIENT);
			if (request_id && *request_id)
				sqlite3_bind_text(st, 9, request_id, -1, SQLITE_TRANSIENT);
			ok = sqlite3_step(st) == SQLITE_DONE;
			sqlite3_reset(st);
		}
		if (ok) {
			char msg[1200];
			if (enable)
				snprintf(msg, sizeof msg, "%s: scheduling enabled by %s%s%s", name, p->user_name,
				         rlen ? ": " : "", why);
			else
				snprintf(msg, sizeof msg, "%s: scheduling disabled by %s: %s%s", name, p->user_name, why,
				         strcmp(to_state, "draining") == 0 ? " (draining)" : "");
			ok = db_event_node(db, id, msg) > 0;
		}
		if (!ok) {
			free(why);
			db_rollback(db);
			db_fail(db, err, "record the scheduling change");
			return NULL;
		}
	}
	if (!db_commit(db)) {
		free(why);
		db_fail(db, err, "commit the scheduling change");
		return NULL;
	}
	json_t *node = model_node(db, p, id, err);
	if (!node) {
		free(why);
		return NULL;
	}
	char href[96];
	snprintf(href, sizeof href, "/api/v1/nodes/%s", id);
	json_t *j = json_pack("{s:s, s:s, s:{s:b, s:s, s:s, s:s, s:b}, s:o, s:[{s:s, s:s}, {s:s, s:s}]}",
	                      "operation", enable ? "node.scheduling_enable" : "node.scheduling_disable",
	                      "node_id", id, "accepted", "enabled", enable, "reason", why, "from_state",
	                      from_state, "to_state", to_state, "changed", changed, "node", node,
	                      "follow_ups", "rel", "node", "href", href, "rel", "audit", "href",
	                      "/api/v1/admin/audit-logs");
	free(why);
	return j;
}

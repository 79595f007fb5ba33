/* model_catalog — read models of the catalog and fleet (SKUs with availability
 * computed from node capacity, images, networks, SSH keys, nodes), the audit
 * log, and fault injection. */
#include "server/db_internal.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

static json_t *list_of(json_t *items, int64_t as_of)
{
	return json_pack("{s:o, s:n, s:I}", "items", items, "next_cursor", "as_of_event_id",
	                 (json_int_t)as_of);
}

static json_t *counts_json(const char *csv)
{
	json_t *a = json_array();
	for (const char *s = csv; s && *s;) {
		json_array_append_new(a, json_integer(atoi(s)));
		s = strchr(s, ',');
		if (s)
			s++;
	}
	return a;
}

/* Whole-node SKUs count nodes with every GPU free; slices count nodes that can
 * hold the SKU's smallest slice. Only online nodes accepting work count. */
#define SKU_AVAIL_SQL                                                                             \
	"(SELECT COUNT(*) FROM nodes n WHERE n.gpu_model = s.gpu_model AND n.region_id = s.region_id" \
	" AND n.state = 'online' AND n.scheduling = 1 AND CASE s.kind WHEN 'node'"                   \
	" THEN n.gpu_free = n.gpu_total ELSE n.gpu_free >= CAST(s.gpu_counts AS INTEGER) END)"

int64_t db_sku_available_count(Db *db, const char *sku_id)
{
	sqlite3_stmt *st = db_prep(db, "SELECT " SKU_AVAIL_SQL " FROM skus s WHERE s.id = ?");
	int64_t n = -1;
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, sku_id, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return n;
}

json_t *model_skus(Db *db, const Principal *p, ApiError *err)
{
	(void)p;
	if (!db_begin_read(db)) {
		db_fail(db, err, "read SKUs");
		return NULL;
	}
	int64_t as_of = model_last_event_id(db);
	sqlite3_stmt *st = db_prep(db, "SELECT s.id, s.name, s.gpu_model, s.kind, s.gpu_counts,"
	                               " s.price_per_gpu_hour_cents, s.region_id, " SKU_AVAIL_SQL
	                               " FROM skus s ORDER BY s.sort, s.id");
	if (!st) {
		db_rollback(db);
		db_fail(db, err, "read SKUs");
		return NULL;
	}
	json_t *items = json_array();
	while (sqlite3_step(st) == SQLITE_ROW) {
		int64_t avail = sqlite3_column_int64(st, 7);
		json_array_append_new(
			items, json_pack("{s:s, s:s, s:s, s:s, s:o, s:I, s:b, s:I, s:s}", "id",
		                         sqlite3_column_text(st, 0), "name", sqlite3_column_text(st, 1),
		                         "gpu_model", sqlite3_column_text(st, 2), "kind",
		                         sqlite3_column_text(st, 3), "gpu_counts",
		                         counts_json((const char *)sqlite3_column_text(st, 4)),
		                         "price_per_gpu_hour_cents",
		                         (json_int_t)sqlite3_column_int64(st, 5), "available", avail > 0,
		                         "available_count", (json_int_t)avail, "region",
		                         sqlite3_column_text(st, 6)));
	}
	sqlite3_reset(st);
	db_commit(db);
	return list_of(items, as_of);
}

static json_t *simple_list(Db *db, const Principal *p, const char *sql, bool bind_org,
                           const char *what, ApiError *err)
{
	if (!db_begin_read(db)) {
		db_fail(db, err, what);
		return NULL;
	}
	int64_t as_of = model_last_event_id(db);
	sqlite3_stmt *st = db_prep(db, sql);
	if (!st) {
		db_rollback(db);
		db_fail(db, err, what);
		return NULL;
	}
	if (bind_org)
		sqlite3_bind_text(st, 1, p->org_id, -1, SQLITE_TRANSIENT);
	json_t *items = json_array();
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(items, json_pack("{s:s, s:s}", "id", sqlite3_column_text(st, 0),
		                                       "name", sqlite3_column_text(st, 1)));
	sqlite3_reset(st);
	db_commit(db);
	return list_of(items, as_of);
}

json_t *model_images(Db *db, const Principal *p, ApiError *err)
{
	return simple_list(db, p, "SELECT id, name FROM images ORDER BY sort, id", false,
	                   "read images", err);
}

json_t *model_networks(Db *db, const Principal *p, ApiError *err)
{
	return simple_list(db, p, "SELECT id, name FROM networks WHERE org_id IS NULL OR org_id = ?"
	                          " ORDER BY org_id IS NOT NULL, name, id",
	                   true, "read networks", err);
}

/* Version strings compare part by part, numerically where both parts are
 * digits, so "2.10" sorts above "2.9" and "24.09" above "4.2". */
static int version_cmp(const char *a, const char *b)
{
	while (*a || *b) {
		if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
			while (*a == '0' && isdigit((unsigned char)a[1]))
				a++;
			while (*b == '0' && isdigit((unsigned char)b[1]))
				b++;
			size_t na = strspn(a, "0123456789"), nb = strspn(b, "0123456789");
			if (na != nb)
				return na < nb ? -1 : 1;
			int c = strncmp(a, b, na);
			if (c)
				return c;
			a += na;
			b += nb;
		} else {
			if (*a != *b)
				return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
			a++;
			b++;
		}
	}
	return 0;
}

/* Bundle ascending, then the newest version first: a bundle's first entry is
 * what a caller naming only the bundle gets. */
static int runtime_order(const void *x, const void *y)
{
	json_t *a = *(json_t *const *)x, *b = *(json_t *const *)y;
	int c = strcmp(json_string_value(json_object_get(a, "bundle")),
	               json_string_value(json_object_get(b, "bundle")));
	if (c)
		return c;
	return -version_cmp(json_string_value(json_object_get(a, "version")),
	                    json_string_value(json_object_get(b, "version")));
}

json_t *model_runtimes(Db *db, const Principal *p, ApiError *err)
{
	(void)p;
	if (!db_begin_read(db)) {
		db_fail(db, err, "read runtimes");
		return NULL;
	}
	int64_t as_of = model_last_event_id(db);
	sqlite3_stmt *st = db_prep(db, "SELECT bundle, version, label FROM runtimes");
	if (!st) {
		db_rollback(db);
		db_fail(db, err, "read runtimes");
		return NULL;
	}
	size_t n = 0, cap = 8;
	json_t **rows = xmalloc(cap * sizeof *rows);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *bundle = (const char *)sqlite3_column_text(st, 0);
		const char *version = (const char *)sqlite3_column_text(st, 1);
		const char *label = (const char *)sqlite3_column_text(st, 2);
		char fallback[160];
		if (!label || !*label) { /* a row added by hand without one */
			snprintf(fallback, sizeof fallback, "%s %s", bundle, version);
			label = fallback;
		}
		if (n == cap)
			rows = xrealloc(rows, (cap *= 2) * sizeof *rows);
		rows[n++] = json_pack("{s:s, s:s, s:s}", "bundle", bundle, "version", version, "label",
		                      label);
	}
	sqlite3_reset(st);
	db_commit(db);
	qsort(rows, n, sizeof *rows, runtime_order);
	json_t *items = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(items, rows[i]);
	free(rows);
	return list_of(items, as_of);
}

static json_t *key_json(sqlite3_stmt *st)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:o}", "id", sqlite3_column_text(st, 0), "name",
	                 sqlite3_column_text(st, 1), "public_key", sqlite3_column_text(st, 2),
	                 "fingerprint", sqlite3_column_text(st, 3), "created_at",
	                 db_time_json(sqlite3_column_int64(st, 4)));
}

json_t *model_ssh_keys(Db *db, const Principal *p, ApiError *err)
{
	if (!db_begin_read(db)) {
		db_fail(db, err, "read SSH keys");
		return NULL;
	}
	int64_t as_of = model_last_event_id(db);
	sqlite3_stmt *st = db_prep(db, "SELECT id, name, public_key, fingerprint, created_at"
	                               " FROM ssh_keys WHERE user_id = ? ORDER BY created_at, id");
	if (!st) {
		db_rollback(db);
		db_fail(db, err, "read SSH keys");
		return NULL;
	}
	sqlite3_bind_text(st, 1, p->user_id, -1, SQLITE_TRANSIENT);
	json_t *items = json_array();
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(items, key_json(st));
	sqlite3_reset(st);
	db_commit(db);
	return list_of(items, as_of);
}

static const char *const key_types[] = {"ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256",
                                        "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
                                        "sk-ssh-ed25519@openssh.com"};

/* Validates "TYPE BASE64 [comment]" and computes OpenSSH's SHA256 fingerprint. */
static bool parse_public_key(const char *key, char *fp, size_t fpsz, const char **why)
{
	size_t n = strlen(key);
	if (n > 8192) {
		*why = "public_key is longer than 8192 characters";
		return false;
	}
	for (const char *c = key; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			*why = "public_key must be one line of printable text";
			return false;
		}
	const char *sp = strchr(key, ' ');
	bool typed = false;
	for (size_t i = 0; sp && i < QD_ARRAY_LEN(key_types); i++)
		typed = typed || ((size_t)(sp - key) == strlen(key_types[i]) &&
		                  strncmp(key, key_types[i], (size_t)(sp - key)) == 0);
	if (!typed) {
		*why = "public_key must start with a key type such as ssh-ed25519 or ssh-rsa";
		return false;
	}
	const char *b = sp + 1;
	size_t blen = strcspn(b, " ");
	if (blen < 16 || blen % 4 != 0) {
		*why = "public_key's key data is not base64";
		return false;
	}
	unsigned char *raw = xmalloc(blen);
	int rn = EVP_DecodeBlock(raw, (const unsigned char *)b, (int)blen);
	if (rn < 0) {
		free(raw);
		*why = "public_key's key data is not base64";
		return false;
	}
	rn -= (b[blen - 1] == '=') + (b[blen - 2] == '=');
	/* The blob starts with its own type name: it must match the text's. */
	uint32_t tl = rn >= 4 ? (uint32_t)raw[0] << 24 | (uint32_t)raw[1] << 16 |
	                                (uint32_t)raw[2] << 8 | raw[3]
	                      : 0;
	if (rn < 4 || tl != (uint32_t)(sp - key) || (int)(4 + tl) > rn ||
	    memcmp(raw + 4, key, tl) != 0) {
		free(raw);
		*why = "public_key's key data does not match its type";
		return false;
	}
	unsigned char md[32];
	unsigned int mdlen = 0;
	EVP_Digest(raw, (size_t)rn, md, &mdlen, EVP_sha256(), NULL);
	free(raw);
	unsigned char enc[64];
	int en = EVP_EncodeBlock(enc, md, 32);
	while (en > 0 && enc[en - 1] == '=')
		en--;
	snprintf(fp, fpsz, "SHA256:%.*s", en, enc);
	return true;
}

json_t *model_ssh_key_add(Db *db, const Principal *p, json_t *body, ApiError *err)
{
	if (!json_is_object(body)) {
		api_error_set(err, 400, "invalid_body", "send {\"name\", \"public_key\"}",
		              "the request body must be a JSON object");
		return NULL;
	}
	const char *k;
	json_t *v;
	json_object_foreach(body, k, v) {
		if (strcmp(k, "name") && strcmp(k, "public_key")) {
			char shown[48];
			qd_strlcpy(shown, k, sizeof shown);
			for (char *c = shown; *c; c++)
				if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
					*c = '?';
			api_error_set(err, 400, "unknown_field", "send only name and public_key",
			              "unknown field '%s'", shown);
			return NULL;
		}
	}
	json_t *jn = json_object_get(body, "name"), *jk = json_object_get(body, "public_key");
	if (!jn || !jk) {
		api_error_set(err, 400, "missing_field", "send {\"name\", \"public_key\"}", "%s is required",
		              !jn ? "name" : "public_key");
		return NULL;
	}
	if (!json_is_string(jn) || !json_is_string(jk)) {
		api_error_set(err, 400, "invalid_type", "send strings", "%s must be a string",
		              !json_is_string(jn) ? "name" : "public_key");
		return NULL;
	}
	const char *name = json_string_value(jn), *key = json_string_value(jk);
	size_t nl = strlen(name);
	bool name_ok = nl > 0 && nl <= 64;
	for (const char *c = name; name_ok && *c; c++)
		name_ok = (unsigned char)*c >= 0x20 && *c != 0x7f;
	if (!name_ok) {
		api_error_set(err, 400, "invalid_value", "use 1-64 printable characters",
		              "name must be 1-64 printable characters");
		return NULL;
	}
	char fp[80];
	const char *why = NULL;
	if (!parse_public_key(key, fp, sizeof fp, &why)) {
		api_error_set(err, 400, "invalid_value", "paste the one line from ~/.ssh/id_ed25519.pub",
		              "%s", why);
		return NULL;
	}
	if (!db_begin(db)) {
		db_fail(db, err, "start a transaction");
		return NULL;
	}
	sqlite3_stmt *st = db_prep(db, "SELECT id FROM ssh_keys WHERE user_id = ? AND fingerprint = ?");
	bool dup = false;
	if (st) {
		sqlite3_bind_text(st, 1, p->user_id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, fp, -1, SQLITE_TRANSIENT);
		dup = sqlite3_step(st) == SQLITE_ROW;
		sqlite3_reset(st);
	}
	if (dup) {
		db_rollback(db);
		api_error_set(err, 409, "duplicate_key", "the key is already on your account",
		              "a key with fingerprint %s is already on your account", fp);
		return NULL;
	}
	char id[DB_ID_MAX];
	db_random_id(id, sizeof id, "key_", 6);
	int64_t now = db_now_ms(db);
	st = db_prep(db, "INSERT INTO ssh_keys(id, user_id, org_id, name, public_key, fingerprint,"
	                 " created_at) VALUES(?, ?, ?, ?, ?, ?, ?)");
	bool ok = st != NULL;
	if (ok) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, p->user_id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 3, p->org_id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 4, name, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 5, key, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 6, fp, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 7, now);
		ok = sqlite3_step(st) == SQLITE_DONE;
		sqlite3_reset(st);
	}
	if (!ok || !db_commit(db)) {
		db_rollback(db);
		db_fail(db, err, "store the key");
		return NULL;
	}
	return json_pack("{s:s, s:s, s:s, s:s, s:o}", "id", id, "name", name, "public_key", key,
	                 "fingerprint", fp, "created_at", db_time_json(now));
}

/* --- nodes ------------------------------------------------------------------------------ */

#define NODE_SELECT                                                                         \
	"SELECT n.id, n.name, n.region_id, n.gpu_model, n.gpu_total, n.gpu_free, n.state,"  \
	" n.scheduling, n.agent_version, n.cert_expires_at, n.last_heartbeat_at,"          \
	" (SELECT COUNT(*) FROM allocations a WHERE a.node_id = n.id AND a.gpus_held = 1)"   \
	" FROM nodes n"

static json_t *node_json(sqlite3_stmt *st)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:i, s:i, s:s, s:b, s:s, s:o, s:o, s:I}", "id",
	                 sqlite3_column_text(st, 0), "name", sqlite3_column_text(st, 1), "region",
	                 sqlite3_column_text(st, 2), "gpu_model", sqlite3_column_text(st, 3),
	                 "gpu_total", sqlite3_column_int(st, 4), "gpu_free",
	                 sqlite3_column_int(st, 5), "state", sqlite3_column_text(st, 6), "scheduling",
	                 sqlite3_column_int(st, 7), "agent_version", sqlite3_column_text(st, 8),
	                 "cert_expires_at", db_time_json(sqlite3_column_int64(st, 9)),
	                 "last_heartbeat_at", db_time_json(sqlite3_column_int64(st, 10)),
	                 "allocation_count", (json_int_t)sqlite3_column_int64(st, 11));
}

int64_t db_event_node(Db *db, const char *node_id, const char *message)
{
	sqlite3_stmt *st = db_prep(db, NODE_SELECT " WHERE n.id = ?");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, node_id, -1, SQLITE_TRANSIENT);
	json_t *node = sqlite3_step(st) == SQLITE_ROW ? node_json(st) : NULL;
	sqlite3_reset(st);
	if (!node)
		return -1;
	int64_t id = db_event_append(db, "node.updated", NULL, NULL, node_id, NULL, message, NULL, node);
	json_decref(node);
	return id;
}

json_t *model_nodes(Db *db, const Principal *p, int limit, const char *cursor, ApiError *err)
{
	(void)p;
	int64_t unused;
	char cid[DB_ID_MAX] = "";
	if (cursor && !db_cursor_decode(cursor, "n", &unused, cid, sizeof cid)) {
		api_error_set(err, 400, "invalid_cursor", "start again from the first page",
		              "the cursor is not one this server issued for node lists");
		return NULL;
	}
	limit = limit < 1 ? QD_PAGE_LIMIT_DEFAULT : QD_MIN(limit, QD_PAGE_LIMIT_MAX);
	if (!db_begin_read(db)) {
		db_fail(db, err, "read nodes");
		return NULL;
	}
	int64_t as_of = model_last_event_id(db);
	sqlite3_stmt *st = db_prep(db, NODE_SELECT " WHERE n.id > ? ORDER BY n.id LIMIT ?");
	if (!st) {
		db_rollback(db);
		db_fail(db, err, "read nodes");
		return NULL;
	}
	sqlite3_bind_text(st, 1, cid, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 2, limit + 1);
	json_t *items = json_array();
	int n = 0;
	char last[DB_ID_MAX] = "";
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (n++ == limit)
			break;
		qd_strlcpy(last, (const char *)sqlite3_column_text(st, 0), sizeof last);
		json_array_append_new(items, node_json(st));
	}
	sqlite3_reset(st);
	db_commit(db);
	char *next = n > limit ? db_cursor_encode("n", 0, last) : NULL;
	json_t *j = json_pack("{s:o, s:o, s:I}", "items", items, "next_cursor",
	                      next ? json_string(next) : json_null(), "as_of_event_id",
	                      (json_int_t)as_of);
	free(next);
	return j;
}

json_t *model_node(Db *db, const Principal *p, const char *id, ApiError *err)
{
	(void)p;
	json_t *j = NULL;
	if (db_id_valid(id)) {
		sqlite3_stmt *st = db_prep(db, NODE_SELECT " WHERE n.id = ?");
		if (!st) {
			db_fail(db, err, "read the node");
			return NULL;
		}
		sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) == SQLITE_ROW)
			j = node_json(st);
		sqlite3_reset(st);
	}
	if (!j)
		api_error_set(err, 404, "not_found", "list nodes to find the id", "no such node");
	return j;
}

/* --- audit logs ------------------------------------------------------------------------- */

json_t *model_audit_logs(Db *db, const Principal *p, int limit, const char *cursor, ApiError *err)
{
	if (!p->is_admin && !p->is_billing) {
		api_error_set(err, 403, "forbidden", "ask an admin or billing operator",
		              "the audit log needs the admin or billing_operator role");
		return NULL;
	}
	int64_t key = INT64_MAX;
	char cid[DB_ID_MAX];
	if (cursor && !db_cursor_decode(cursor, "l", &key, cid, sizeof cid)) {
		api_error_set(err, 400, "invalid_cursor", "start again from the first page",
		              "the cursor is not one this server issued for audit logs");
		return NULL;
	}
	limit = limit < 1 ? QD_PAGE_LIMIT_DEFAULT : QD_MIN(limit, QD_PAGE_LIMIT_MAX);
	if (!db_begin_read(db)) {
		db_fail(db, err, "read the audit log");
		return NULL;
	}
	int64_t as_of = model_last_event_id(db);
	sqlite3_stmt *st = db_prep(db, "SELECT id, at, actor_id, actor_name, action, target_id, reason,"
	                               " state_before, state_after, request_id FROM audit_logs"
	                               " WHERE id < ? ORDER BY id DESC LIMIT ?");
	if (!st) {
		db_rollback(db);
		db_fail(db, err, "read the audit log");
		return NULL;
	}
	sqlite3_bind_int64(st, 1, key);
	sqlite3_bind_int(st, 2, limit + 1);
	json_t *items = json_array();
	int n = 0;
	int64_t last = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (n++ == limit)
			break;
		last = sqlite3_column_int64(st, 0);
		char id[32];
		snprintf(id, sizeof id, "aud_%08lld", (long long)last);
		const unsigned char *rid = sqlite3_column_text(st, 9);
		const unsigned char *sb = sqlite3_column_text(st, 7), *sa = sqlite3_column_text(st, 8);
		json_array_append_new(
			items, json_pack("{s:s, s:o, s:{s:s, s:s}, s:s, s:s, s:s, s:o, s:o, s:o}", "id", id,
		                         "at", db_time_json(sqlite3_column_int64(st, 1)), "actor", "id",
		                         sqlite3_column_text(st, 2), "name", sqlite3_column_text(st, 3),
		                         "action", sqlite3_column_text(st, 4), "target_id",
		                         sqlite3_column_text(st, 5), "reason", sqlite3_column_text(st, 6),
		                         "state_before", sb ? json_string((const char *)sb) : json_null(),
		                         "state_after", sa ? json_string((const char *)sa) : json_null(),
		                         "request_id",
		                         rid ? json_string((const char *)rid) : json_null()));
	}
	sqlite3_reset(st);
	db_commit(db);
	char cidbuf[32];
	snprintf(cidbuf, sizeof cidbuf, "aud_%lld", (long long)last);
	char *next = n > limit ? db_cursor_encode("l", last, cidbuf) : NULL;
	json_t *j = json_pack("{s:o, s:o, s:I}", "items", items, "next_cursor",
	                      next ? json_string(next) : json_null(), "as_of_event_id",
	                      (json_int_t)as_of);
	free(next);
	return j;
}

/* --- faults ------------------------------------------------------------------------------ */

json_t *model_fault_inject(Db *db, const Principal *p, json_t *body, ApiError *err)
{
	if (!p->is_admin) {
		api_error_set(err, 403, "forbidden", "ask an operator with the admin role",
		              "fault injection needs the admin role");
		return NULL;
	}
	if (!json_is_object(body)) {
		api_error_set(err, 400, "invalid_body", "send {\"kind\", \"reason_code\", \"message\", \"count\"}",
		              "the request body must be a JSON object");
		return NULL;
	}
	const char *k;
	json_t *v;
	json_object_foreach(body, k, v) {
		if (strcmp(k, "kind") && strcmp(k, "reason_code") && strcmp(k, "message") &&
		    strcmp(k, "count")) {
			char shown[48];
			qd_strlcpy(shown, k, sizeof shown);
			for (char *c = shown; *c; c++)
				if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
					*c = '?';
			api_error_set(err, 400, "unknown_field", "send kind, reason_code, message, count",
			              "unknown field '%s'", shown);
			return NULL;
		}
	}
	json_t *jk = json_object_get(body, "kind");
	if (!jk) {
		api_error_set(err, 400, "missing_field", "kind is one of release_fail, restart_fail, provision_fail, stall",
		              "kind is required");
		return NULL;
	}
	const char *kind = json_string_value(jk);
	if (!kind || (strcmp(kind, "release_fail") && strcmp(kind, "restart_fail") &&
	              strcmp(kind, "provision_fail") && strcmp(kind, "stall"))) {
		api_error_set(err, 400, "invalid_value", "kind is one of release_fail, restart_fail, provision_fail, stall",
		              "kind must be release_fail, restart_fail, provision_fail or stall");
		return NULL;
	}
	bool stall = strcmp(kind, "stall") == 0;
	json_t *jc = json_object_get(body, "reason_code"), *jm = json_object_get(body, "message"),
	       *jn = json_object_get(body, "count");
	if ((jc && !json_is_string(jc)) || (jm && !json_is_string(jm))) {
		api_error_set(err, 400, "invalid_type", "send strings", "%s must be a string",
		              jc && !json_is_string(jc) ? "reason_code" : "message");
		return NULL;
	}
	if (!stall && (!jc || !jm)) {
		api_error_set(err, 400, "missing_field", "a failure needs a reason_code and a message",
		              "%s is required for kind %s", !jc ? "reason_code" : "message", kind);
		return NULL;
	}
	const char *code = jc ? json_string_value(jc) : "stalled";
	const char *msg = jm ? json_string_value(jm) : "the node agent stopped reporting progress";
	size_t cl = strlen(code);
	bool code_ok = cl > 0 && cl < 48;
	for (const char *c = code; code_ok && *c; c++)
		code_ok = islower((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '_';
	if (!code_ok) {
		api_error_set(err, 400, "invalid_value", "use snake_case, e.g. storage_detach_timeout",
		              "reason_code must be 1-47 characters of a-z, 0-9 and _");
		return NULL;
	}
	size_t ml = strlen(msg);
	if (ml == 0 || ml > 255) {
		api_error_set(err, 400, "invalid_value", "say what failed in under 256 characters",
		              "message must be 1-255 characters");
		return NULL;
	}
	json_int_t count = 1;
	if (jn) {
		if (!json_is_integer(jn) || json_integer_value(jn) < 1 || json_integer_value(jn) > 1000) {
			api_error_set(err, 400, "invalid_value", "count is how many operations fail, 1..1000",
			              "count must be an integer between 1 and 1000");
			return NULL;
		}
		count = json_integer_value(jn);
	}
	if (!db_begin(db)) {
		db_fail(db, err, "start a transaction");
		return NULL;
	}
	sqlite3_stmt *st = db_prep(db, "INSERT INTO faults(kind, reason_code, message, remaining, created_at)"
	                               " VALUES(?, ?, ?, ?, ?)");
	bool ok = st != NULL;
	if (ok) {
		sqlite3_bind_text(st, 1, kind, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, code, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 3, msg, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 4, count);
		sqlite3_bind_int64(st, 5, db_now_ms(db));
		ok = sqlite3_step(st) == SQLITE_DONE;
		sqlite3_reset(st);
	}
	int64_t id = sqlite3_last_insert_rowid(db->h);
	if (!ok || !db_commit(db)) {
		db_rollback(db);
		db_fail(db, err, "store the fault");
		return NULL;
	}
	char fid[32];
	snprintf(fid, sizeof fid, "flt_%lld", (long long)id);
	return json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:I}}", "operation", "fault.inject", "fault_id",
	                 fid, "accepted", "kind", kind, "reason_code", code, "message", msg, "count",
	                 count);
}

/* model_auth — bearer tokens, the caller's profile, single-use terminal tokens
 * and the per-allocation scratch directory their sessions start in.
 *
 * Secrets are stored only as SHA-256 hashes; a lookup narrows by the first
 * bytes of the hash (an index) and then compares the whole hash in constant
 * time, so neither the database nor the timing gives a token away. */
#include "server/db_internal.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/util.h"

#define API_TOKEN_PREFIX "qdt_"
#define TERM_TOKEN_PREFIX "qtt_"
#define TOKEN_MAX_LEN 128
#define TERM_TOKEN_TTL_MS 60000

char *db_token_create(Db *db, const char *user_name, ApiError *err)
{
	if (!user_name || !*user_name) {
		api_error_set(err, 400, "invalid_value", "pass --user NAME", "no user name given");
		return NULL;
	}
	if (!db_begin(db)) {
		db_fail(db, err, "start a transaction");
		return NULL;
	}
	sqlite3_stmt *st = db_prep(db, "SELECT id FROM users WHERE name = ?");
	char uid[DB_ID_MAX] = "";
	if (st) {
		sqlite3_bind_text(st, 1, user_name, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) == SQLITE_ROW)
			qd_strlcpy(uid, (const char *)sqlite3_column_text(st, 0), sizeof uid);
		sqlite3_reset(st);
	}
	if (!uid[0]) {
		db_rollback(db);
		char shown[64];
		qd_strlcpy(shown, user_name, sizeof shown);
		api_error_set(err, 404, "not_found", "seed the demo (--seed demo) or check the name",
		              "no user named '%s'", shown);
		return NULL;
	}
	char *tok = db_token_new(API_TOKEN_PREFIX);
	unsigned char hash[32];
	db_token_hash(tok, hash);
	st = db_prep(db, "INSERT INTO auth_tokens(hint, hash, user_id, created_at) VALUES(?, ?, ?, ?)");
	bool ok = st != NULL;
	if (ok) {
		sqlite3_bind_int64(st, 1, db_hash_hint(hash));
		sqlite3_bind_blob(st, 2, hash, sizeof hash, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 3, uid, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 4, db_now_ms(db));
		ok = sqlite3_step(st) == SQLITE_DONE;
		sqlite3_reset(st);
	}
	if (!ok || !db_commit(db)) {
		db_rollback(db);
		OPENSSL_cleanse(tok, strlen(tok));
		free(tok);
		db_fail(db, err, "store the token");
		return NULL;
	}
	return tok;
}

static bool token_shape_ok(const char *token, const char *prefix)
{
	size_t n = strnlen(token, TOKEN_MAX_LEN + 1);
	return n > strlen(prefix) && n <= TOKEN_MAX_LEN && strncmp(token, prefix, strlen(prefix)) == 0;
}

static void fill_principal(sqlite3_stmt *st, int col, Principal *out)
{
	memset(out, 0, sizeof *out);
	qd_strlcpy(out->user_id, (const char *)sqlite3_column_text(st, col), sizeof out->user_id);
	qd_strlcpy(out->user_name, (const char *)sqlite3_column_text(st, col + 1), sizeof out->user_name);
	qd_strlcpy(out->org_id, (const char *)sqlite3_column_text(st, col + 2), sizeof out->org_id);
	const char *roles = (const char *)sqlite3_column_text(st, col + 3);
	for (const char *r = roles; r && *r;) {
		const char *comma = strchr(r, ',');
		size_t n = comma ? (size_t)(comma - r) : strlen(r);
		if (n == strlen(ROLE_ADMIN) && strncmp(r, ROLE_ADMIN, n) == 0)
			out->is_admin = true;
		if (n == strlen(ROLE_BILLING) && strncmp(r, ROLE_BILLING, n) == 0)
			out->is_billing = true;
		r = comma ? comma + 1 : NULL;
	}
}

bool db_authenticate(Db *db, const char *token, Principal *out)
{
	if (!token || !token_shape_ok(token, API_TOKEN_PREFIX))
		return false;
	unsigned char hash[32];
	db_token_hash(token, hash);
	sqlite3_stmt *st = db_prep(db, "SELECT t.hash, u.id, u.name, u.org_id, u.roles FROM auth_tokens t"
	                               " JOIN users u ON u.id = t.user_id WHERE t.hint = ?");
	if (!st)
		return false;
	sqlite3_bind_int64(st, 1, db_hash_hint(hash));
	bool found = false;
	while (!found && sqlite3_step(st) == SQLITE_ROW) {
		const void *h = sqlite3_column_blob(st, 0);
		if (h && sqlite3_column_bytes(st, 0) == 32 && CRYPTO_memcmp(h, hash, 32) == 0) {
			fill_principal(st, 1, out);
			found = true;
		}
	}
	sqlite3_reset(st);
	return found;
}

json_t *model_me(Db *db, const Principal *p, ApiError *err)
{
	if (!db_begin_read(db)) {
		db_fail(db, err, "read your profile");
		return NULL;
	}
	sqlite3_stmt *st = db_prep(db, "SELECT u.email, u.roles, o.id, o.display_name, o.balance_cents"
	                               " FROM users u JOIN orgs o ON o.id = u.org_id WHERE u.id = ?");
	json_t *j = NULL;
	if (st) {
		sqlite3_bind_text(st, 1, p->user_id, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) == SQLITE_ROW) {
			json_t *roles = json_array();
			const char *r = (const char *)sqlite3_column_text(st, 1);
			while (r && *r) {
				const char *comma = strchr(r, ',');
				size_t n = comma ? (size_t)(comma - r) : strlen(r);
				json_array_append_new(roles, json_stringn(r, n));
				r = comma ? comma + 1 : NULL;
			}
			j = json_pack("{s:{s:s, s:s, s:s}, s:o, s:{s:s, s:s}, s:I}", "user", "id",
			              p->user_id, "name", p->user_name, "email", sqlite3_column_text(st, 0),
			              "roles", roles, "org", "id", sqlite3_column_text(st, 2), "name",
			              sqlite3_column_text(st, 3), "balance_cents",
			              (json_int_t)sqlite3_column_int64(st, 4));
		}
		sqlite3_reset(st);
	}
	if (j) {
		json_t *projects = json_array();
		st = db_prep(db, "SELECT p.id, p.name FROM projects p JOIN project_members m"
		                 " ON m.project_id = p.id WHERE m.user_id = ? ORDER BY p.name, p.id");
		if (st) {
			sqlite3_bind_text(st, 1, p->user_id, -1, SQLITE_TRANSIENT);
			while (sqlite3_step(st) == SQLITE_ROW)
				json_array_append_new(projects, json_pack("{s:s, s:s}", "id",
				                                          sqlite3_column_text(st, 0), "name",
				                                          sqlite3_column_text(st, 1)));
			sqlite3_reset(st);
		}
		json_object_set_new(j, "projects", projects);
	}
	db_commit(db);
	if (!j)
		api_error_set(err, 401, "unauthorized", "create a new token", "the token's user no longer exists");
	return j;
}

/* --- terminal tokens ------------------------------------------------------------------ */

json_t *model_terminal_token_mint(Db *db, const Principal *p, const char *alloc_id,
                                  const char *base_url, ApiError *err)
{
	if (!db_id_valid(alloc_id)) {
		api_error_set(err, 404, "not_found", "check the id", "no such allocation");
		return NULL;
	}
	if (!db_begin(db)) {
		db_fail(db, err, "start a transaction");
		return NULL;
	}
	sqlite3_stmt *st = db_prep(db, "SELECT org_id, owner_id, state FROM allocations WHERE id = ?");
	if (!st) {
		db_rollback(db);
		db_fail(db, err, "read the allocation");
		return NULL;
	}
	sqlite3_bind_text(st, 1, alloc_id, -1, SQLITE_TRANSIENT);
	bool found = sqlite3_step(st) == SQLITE_ROW;
	bool visible = found && (p->is_admin ||
	                         strcmp((const char *)sqlite3_column_text(st, 0), p->org_id) == 0);
	bool owner = found && strcmp((const char *)sqlite3_column_text(st, 1), p->user_id) == 0;
	AllocState s = found ? alloc_state_from_name((const char *)sqlite3_column_text(st, 2))
	                     : ALLOC_STATE_INVALID;
	sqlite3_reset(st);
	if (!visible) {
		db_rollback(db);
		api_error_set(err, 404, "not_found", "check the id", "no allocation '%s'", alloc_id);
		return NULL;
	}
	if (!owner && !p->is_admin) {
		db_rollback(db);
		api_error_set(err, 403, "forbidden", "ask the allocation's owner or an admin",
		              "only the owner or an admin may open a terminal on %s", alloc_id);
		return NULL;
	}
	if (!alloc_action_allowed(ALLOC_ACTION_TERMINAL, s)) {
		db_rollback(db);
		api_error_set(err, 409, "invalid_state", "wait until the allocation is active",
		              "allocation %s is %s; a terminal needs it to be active", alloc_id,
		              alloc_state_name(s));
		return NULL;
	}
	int64_t now = db_now_ms(db);
	int64_t expires = now + TERM_TOKEN_TTL_MS;
	char *tok = db_token_new(TERM_TOKEN_PREFIX);
	unsigned char hash[32];
	db_token_hash(tok, hash);
	st = db_prep(db, "INSERT INTO terminal_tokens(hint, hash, user_id, allocation_id, expires_at,"
	                 " created_at) VALUES(?, ?, ?, ?, ?, ?)");
	bool ok = st != NULL;
	if (ok) {
		sqlite3_bind_int64(st, 1, db_hash_hint(hash));
		sqlite3_bind_blob(st, 2, hash, sizeof hash, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 3, p->user_id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 4, alloc_id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 5, expires);
		sqlite3_bind_int64(st, 6, now);
		ok = sqlite3_step(st) == SQLITE_DONE;
		sqlite3_reset(st);
	}
	/* Spent tokens are no use to anyone: sweep them as we go. */
	if (ok) {
		st = db_prep(db, "DELETE FROM terminal_tokens WHERE expires_at < ?");
		if (st) {
			sqlite3_bind_int64(st, 1, now - 3600 * 1000);
			sqlite3_step(st);
			sqlite3_reset(st);
		}
	}
	if (!ok || !db_commit(db)) {
		db_rollback(db);
		OPENSSL_cleanse(tok, strlen(tok));
		free(tok);
		db_fail(db, err, "store the terminal token");
		return NULL;
	}
	char *url = xasprintf("%s/api/v1/terminal", base_url ? base_url : "");
	json_t *j = json_pack("{s:s, s:s, s:o}", "token", tok, "url", url, "expires_at",
	                      db_time_json(expires));
	OPENSSL_cleanse(tok, strlen(tok));
	free(tok);
	free(url);
	return j;
}

bool model_terminal_token_consume(Db *db, const char *token, char *alloc_id_out,
                                  size_t alloc_id_sz, char *user_id_out, size_t user_id_sz)
{
	if (!token || !token_shape_ok(token, TERM_TOKEN_PREFIX))
		return false;
	unsigned char hash[32];
	db_token_hash(token, hash);
	if (!db_begin(db))
		return false;
	sqlite3_stmt *st = db_prep(db, "SELECT t.id, t.hash, t.user_id, t.allocation_id, t.expires_at,"
	                               " a.state FROM terminal_tokens t LEFT JOIN allocations a"
	                               " ON a.id = t.allocation_id WHERE t.hint = ? AND t.used = 0");
	if (!st) {
		db_rollback(db);
		return false;
	}
	sqlite3_bind_int64(st, 1, db_hash_hint(hash));
	int64_t id = -1, expires = 0;
	char user[DB_ID_MAX] = "", alloc[DB_ID_MAX] = "", state[24] = "";
	while (sqlite3_step(st) == SQLITE_ROW) {
		const void *h = sqlite3_column_blob(st, 1);
		if (h && sqlite3_column_bytes(st, 1) == 32 && CRYPTO_memcmp(h, hash, 32) == 0) {
			id = sqlite3_column_int64(st, 0);
			qd_strlcpy(user, (const char *)sqlite3_column_text(st, 2), sizeof user);
			qd_strlcpy(alloc, (const char *)sqlite3_column_text(st, 3), sizeof alloc);
			expires = sqlite3_column_int64(st, 4);
			const unsigned char *s = sqlite3_column_text(st, 5);
			qd_strlcpy(state, s ? (const char *)s : "", sizeof state);
			break;
		}
	}
	sqlite3_reset(st);
	if (id < 0) {
		db_rollback(db);
		return false;
	}
	/* Used up even when it turns out stale: a token is never tried twice. */
	st = db_prep(db, "UPDATE terminal_tokens SET used = 1 WHERE id = ?");
	bool ok = st != NULL;
	if (ok) {
		sqlite3_bind_int64(st, 1, id);
		ok = sqlite3_step(st) == SQLITE_DONE;
		sqlite3_reset(st);
	}
	if (!ok || !db_commit(db)) {
		db_rollback(db);
		return false;
	}
	if (db_now_ms(db) >= expires || strcmp(state, "active") != 0)
		return false;
	if (alloc_id_out)
		qd_strlcpy(alloc_id_out, alloc, alloc_id_sz);
	if (user_id_out)
		qd_strlcpy(user_id_out, user, user_id_sz);
	return true;
}

static int mkdir_0700(const char *path)
{
	if (mkdir(path, 0700) == 0 || errno == EEXIST)
		return 0;
	return -1;
}

char *model_allocation_workdir(Db *db, const char *alloc_id)
{
	if (!db_id_valid(alloc_id))
		return NULL;
	sqlite3_stmt *st = db_prep(db, "SELECT 1 FROM allocations WHERE id = ?");
	if (!st)
		return NULL;
	sqlite3_bind_text(st, 1, alloc_id, -1, SQLITE_TRANSIENT);
	bool found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_reset(st);
	if (!found)
		return NULL;
	char *scratch = xasprintf("%s/scratch", db->dir);
	char *dir = xasprintf("%s/%s", scratch, alloc_id);
	if (mkdir_0700(scratch) != 0 || mkdir_0700(dir) != 0) {
		fprintf(stderr, "qdeckd: cannot create %s: %s\n", dir, strerror(errno));
		free(scratch);
		free(dir);
		return NULL;
	}
	free(scratch);
	return dir;
}

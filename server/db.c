/* db — the SQLite connection behind the model: open, versioned migrations,
 * the prepared-statement cache, transactions whose hooks fire after COMMIT, and
 * small shared helpers (ids, cursors, token hashing, timestamps). */
#include "server/db_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

/* Each migration runs in its own transaction; schema_version records the last
 * one applied. Append only: never edit a migration that has shipped. */
static const char *const migrations[] = {
	/* 1: the whole v1 schema */
	"CREATE TABLE orgs(id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
	" display_name TEXT NOT NULL, balance_cents INTEGER NOT NULL DEFAULT 0,"
	" created_at INTEGER NOT NULL);"
	"CREATE TABLE users(id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, email TEXT NOT NULL,"
	" org_id TEXT NOT NULL REFERENCES orgs(id), roles TEXT NOT NULL, created_at INTEGER NOT NULL);"
	"CREATE TABLE projects(id TEXT PRIMARY KEY, org_id TEXT NOT NULL REFERENCES orgs(id),"
	" name TEXT NOT NULL);"
	"CREATE TABLE project_members(project_id TEXT NOT NULL REFERENCES projects(id),"
	" user_id TEXT NOT NULL REFERENCES users(id), PRIMARY KEY(project_id, user_id)) WITHOUT ROWID;"
	"CREATE TABLE auth_tokens(id INTEGER PRIMARY KEY, hint INTEGER NOT NULL, hash BLOB NOT NULL,"
	" user_id TEXT NOT NULL REFERENCES users(id), created_at INTEGER NOT NULL);"
	"CREATE INDEX auth_tokens_hint ON auth_tokens(hint);"
	"CREATE TABLE regions(id TEXT PRIMARY KEY, name TEXT NOT NULL);"
	"CREATE TABLE nodes(id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
	" region_id TEXT NOT NULL REFERENCES regions(id), host TEXT NOT NULL, gpu_model TEXT NOT NULL,"
	" gpu_total INTEGER NOT NULL, gpu_free INTEGER NOT NULL, state TEXT NOT NULL,"
	" scheduling INTEGER NOT NULL, agent_version TEXT NOT NULL, cert_expires_at INTEGER,"
	" last_heartbeat_at INTEGER, next_ssh_port INTEGER NOT NULL DEFAULT 22022);"
	"CREATE TABLE skus(id TEXT PRIMARY KEY, name TEXT NOT NULL, gpu_model TEXT NOT NULL,"
	" kind TEXT NOT NULL CHECK(kind IN ('node','slice')), gpu_counts TEXT NOT NULL,"
	" price_per_gpu_hour_cents INTEGER NOT NULL, region_id TEXT NOT NULL REFERENCES regions(id),"
	" sort INTEGER NOT NULL);"
	"CREATE TABLE images(id TEXT PRIMARY KEY, name TEXT NOT NULL, sort INTEGER NOT NULL);"
	"CREATE TABLE networks(id TEXT PRIMARY KEY, name TEXT NOT NULL, org_id TEXT REFERENCES orgs(id),"
	" cidr TEXT NOT NULL);"
	"CREATE TABLE runtimes(bundle TEXT NOT NULL, version TEXT NOT NULL,"
	" PRIMARY KEY(bundle, version)) WITHOUT ROWID;"
	"CREATE TABLE ssh_keys(id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id),"
	" org_id TEXT NOT NULL REFERENCES orgs(id), name TEXT NOT NULL, public_key TEXT NOT NULL,"
	" fingerprint TEXT NOT NULL, created_at INTEGER NOT NULL);"
	"CREATE TABLE allocations(id TEXT PRIMARY KEY, name TEXT NOT NULL,"
	" org_id TEXT NOT NULL REFERENCES orgs(id), project_id TEXT NOT NULL REFERENCES projects(id),"
	" owner_id TEXT NOT NULL REFERENCES users(id), state TEXT NOT NULL,"
	" state_since INTEGER NOT NULL, deadline_at INTEGER, failure_code TEXT, failure_message TEXT,"
	" rf_code TEXT, rf_message TEXT, billing_stopped INTEGER NOT NULL DEFAULT 0,"
	" node_id TEXT REFERENCES nodes(id), sku_id TEXT NOT NULL REFERENCES skus(id),"
	" gpu_count INTEGER NOT NULL, gpus_held INTEGER NOT NULL DEFAULT 0,"
	" image_id TEXT NOT NULL REFERENCES images(id), network_id TEXT NOT NULL REFERENCES networks(id),"
	" runtime_bundle TEXT, runtime_version TEXT, runtime_state TEXT, ssh_key_ids TEXT NOT NULL,"
	" ssh_port INTEGER, price_per_hour_cents INTEGER NOT NULL, task_id TEXT,"
	" version INTEGER NOT NULL DEFAULT 1, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,"
	" search TEXT NOT NULL);"
	"CREATE INDEX alloc_order ON allocations(created_at, id);"
	"CREATE INDEX alloc_org_order ON allocations(org_id, created_at, id);"
	"CREATE INDEX alloc_node_order ON allocations(node_id, created_at, id);"
	"CREATE INDEX alloc_project_order ON allocations(project_id, created_at, id);"
	"CREATE INDEX alloc_held ON allocations(node_id) WHERE gpus_held = 1;"
	"CREATE INDEX alloc_deadline ON allocations(deadline_at) WHERE deadline_at IS NOT NULL;"
	"CREATE TABLE volumes(id TEXT PRIMARY KEY, allocation_id TEXT NOT NULL REFERENCES allocations(id),"
	" org_id TEXT NOT NULL, name TEXT NOT NULL, mount_path TEXT NOT NULL, size_gb INTEGER NOT NULL,"
	" persistent INTEGER NOT NULL, created_at INTEGER NOT NULL);"
	"CREATE INDEX volumes_alloc ON volumes(allocation_id);"
	"CREATE TABLE tasks(id TEXT PRIMARY KEY, kind TEXT NOT NULL, allocation_id TEXT NOT NULL,"
	" org_id TEXT NOT NULL, state TEXT NOT NULL, current_idx INTEGER NOT NULL DEFAULT 0,"
	" next_at INTEGER, fail_idx INTEGER NOT NULL DEFAULT -1, fail_code TEXT, fail_message TEXT,"
	" created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
	"CREATE INDEX tasks_due ON tasks(next_at) WHERE state = 'running';"
	"CREATE INDEX tasks_alloc ON tasks(allocation_id);"
	"CREATE TABLE task_steps(task_id TEXT NOT NULL REFERENCES tasks(id), idx INTEGER NOT NULL,"
	" name TEXT NOT NULL, state TEXT NOT NULL, dur_ms INTEGER NOT NULL, started_at INTEGER,"
	" finished_at INTEGER, PRIMARY KEY(task_id, idx)) WITHOUT ROWID;"
	"CREATE TABLE task_activity(id INTEGER PRIMARY KEY, task_id TEXT NOT NULL REFERENCES tasks(id),"
	" at INTEGER NOT NULL, message TEXT NOT NULL);"
	"CREATE INDEX task_activity_task ON task_activity(task_id, id);"
	"CREATE TABLE events(id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL,"
	" type TEXT NOT NULL, org_id TEXT, allocation_id TEXT, node_id TEXT, task_id TEXT,"
	" message TEXT NOT NULL, allocation_json TEXT, node_json TEXT);"
	"CREATE INDEX events_org ON events(org_id, id);"
	"CREATE TABLE audit_logs(id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL,"
	" actor_id TEXT NOT NULL, actor_name TEXT NOT NULL, action TEXT NOT NULL,"
	" target_id TEXT NOT NULL, reason TEXT NOT NULL, state_before TEXT, state_after TEXT,"
	" request_id TEXT);"
	"CREATE TABLE terminal_tokens(id INTEGER PRIMARY KEY, hint INTEGER NOT NULL, hash BLOB NOT NULL,"
	" user_id TEXT NOT NULL, allocation_id TEXT NOT NULL, expires_at INTEGER NOT NULL,"
	" used INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL);"
	"CREATE INDEX terminal_tokens_hint ON terminal_tokens(hint);"
	"CREATE TABLE faults(id INTEGER PRIMARY KEY, kind TEXT NOT NULL, reason_code TEXT NOT NULL,"
	" message TEXT NOT NULL, remaining INTEGER NOT NULL, created_at INTEGER NOT NULL);",
	/* 2: lists skip the volumes lookup for the many allocations without any */
	"ALTER TABLE allocations ADD COLUMN volume_count INTEGER NOT NULL DEFAULT 0;"
	"UPDATE allocations SET volume_count ="
	" (SELECT COUNT(*) FROM volumes v WHERE v.allocation_id = allocations.id);",
	/* 3: the list orders carry what the filters test, so state, actionability
	 * and text filters reject rows from the index without a table lookup */
	"DROP INDEX alloc_order;"
	"CREATE INDEX alloc_order ON allocations(created_at, id, state, state_since, search);"
	"DROP INDEX alloc_org_order;"
	"CREATE INDEX alloc_org_order ON allocations(org_id, created_at, id, state, state_since, search);",
	/* 4: a state filter reads each asked-for state in list order from its own
	 * range (model_alloc.c merges them), so a rare state costs a few steps,
	 * not a walk of the whole list order */
	"CREATE INDEX alloc_state_order ON allocations(state, created_at, id, state_since, search);"
	"CREATE INDEX alloc_org_state_order ON allocations(org_id, state, created_at, id, state_since,"
	" search);",
	/* 5: runtimes carry the name people read ("PyTorch 2.4"), so the console
	 * and CLI list what the server offers instead of keeping their own copy.
	 * Rows of an older database get the label the demo seed now writes. */
	"ALTER TABLE runtimes ADD COLUMN label TEXT NOT NULL DEFAULT '';"
	"UPDATE runtimes SET label = CASE bundle WHEN 'pytorch' THEN 'PyTorch' WHEN 'vllm' THEN 'vLLM'"
	" WHEN 'jax' THEN 'JAX' WHEN 'triton' THEN 'Triton Inference Server' WHEN 'jupyter'"
	" THEN 'JupyterLab' ELSE bundle END || ' ' || version WHERE label = '';",
};

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

sqlite3_stmt *db_prep(Db *db, const char *sql)
{
	uint64_t h = fnv1a(sql);
	for (size_t i = 0; i < db->n_stmts; i++) {
		DbCachedStmt *c = &db->stmts[i];
		if (c->hash == h && strcmp(c->sql, sql) == 0) {
			sqlite3_reset(c->st);
			sqlite3_clear_bindings(c->st);
			return c->st;
		}
	}
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "qdeckd: db: cannot prepare statement: %s\n", sqlite3_errmsg(db->h));
		return NULL;
	}
	if (db->n_stmts == db->cap_stmts) {
		db->cap_stmts = db->cap_stmts ? db->cap_stmts * 2 : 64;
		db->stmts = xrealloc(db->stmts, db->cap_stmts * sizeof *db->stmts);
	}
	db->stmts[db->n_stmts++] = (DbCachedStmt){h, xstrdup(sql), st};
	return st;
}

bool db_exec(Db *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "qdeckd: db: %s\n", msg ? msg : sqlite3_errmsg(db->h));
		sqlite3_free(msg);
		return false;
	}
	return true;
}

static void tx_reset(Db *db)
{
	db->in_tx = false;
	db->tx_newest_event = 0;
	db->n_changes = 0;
}

bool db_begin(Db *db)
{
	if (!db_exec(db, "BEGIN IMMEDIATE"))
		return false;
	tx_reset(db);
	db->in_tx = true;
	return true;
}

bool db_begin_read(Db *db)
{
	if (!db_exec(db, "BEGIN"))
		return false;
	tx_reset(db);
	db->in_tx = true;
	return true;
}

bool db_commit(Db *db)
{
	if (!db_exec(db, "COMMIT")) {
		db_rollback(db);
		return false;
	}
	/* Copy what the hooks need first: a hook may call back into the model. */
	int64_t newest = db->tx_newest_event;
	size_t n = db->n_changes;
	DbStateChange *changes = n ? xmalloc(n * sizeof *changes) : NULL;
	if (n)
		memcpy(changes, db->tx_changes, n * sizeof *changes);
	tx_reset(db);
	for (size_t i = 0; i < n; i++)
		if (db->state_hook)
			db->state_hook(db->state_ud, changes[i].alloc_id, changes[i].state);
	if (newest > 0 && db->event_hook)
		db->event_hook(db->event_ud, newest);
	free(changes);
	return true;
}

void db_rollback(Db *db)
{
	if (!sqlite3_get_autocommit(db->h))
		db_exec(db, "ROLLBACK");
	tx_reset(db);
}

void db_fail(Db *db, ApiError *err, const char *what)
{
	fprintf(stderr, "qdeckd: db: %s: %s\n", what, sqlite3_errmsg(db->h));
	if (err)
		api_error_set(err, 500, "internal", "retry; if it persists, check the qdeckd log",
		              "the control plane could not %s", what);
}

void db_note_event(Db *db, int64_t id)
{
	if (id > db->tx_newest_event)
		db->tx_newest_event = id;
}

void db_note_state(Db *db, const char *alloc_id, AllocState s)
{
	if (db->n_changes == db->cap_changes) {
		db->cap_changes = db->cap_changes ? db->cap_changes * 2 : 16;
		db->tx_changes = xrealloc(db->tx_changes, db->cap_changes * sizeof *db->tx_changes);
	}
	DbStateChange *c = &db->tx_changes[db->n_changes++];
	qd_strlcpy(c->alloc_id, alloc_id, sizeof c->alloc_id);
	c->state = s;
}

/* --- open / close ---------------------------------------------------------------- */

static int schema_version(Db *db)
{
	sqlite3_stmt *st = NULL;
	int v = -1;
	if (sqlite3_prepare_v2(db->h, "SELECT MAX(version) FROM schema_version", -1, &st, NULL) ==
	    SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

static bool migrate(Db *db, ApiError *err)
{
	if (!db_exec(db, "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER PRIMARY KEY,"
	                 " applied_at INTEGER NOT NULL)")) {
		db_fail(db, err, "create the schema_version table");
		return false;
	}
	int have = schema_version(db);
	if (have < 0) {
		db_fail(db, err, "read the schema version");
		return false;
	}
	int want = (int)QD_ARRAY_LEN(migrations);
	if (have > want) {
		api_error_set(err, 500, "internal", "use the qdeckd that wrote this database",
		              "database schema version %d is newer than this qdeckd knows (%d)", have,
		              want);
		return false;
	}
	for (int v = have + 1; v <= want; v++) {
		if (!db_begin(db)) {
			db_fail(db, err, "start a migration");
			return false;
		}
		char rec[96];
		snprintf(rec, sizeof rec, "INSERT INTO schema_version VALUES(%d, %" PRId64 ")", v,
		         qd_now_ms());
		if (!db_exec(db, migrations[v - 1]) || !db_exec(db, rec) || !db_commit(db)) {
			db_rollback(db);
			api_error_set(err, 500, "internal", "check the qdeckd log",
			              "database migration %d failed", v);
			return false;
		}
	}
	return true;
}

static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

Db *db_open(const char *path, ApiError *err)
{
	if (!path || !*path) {
		api_error_set(err, 500, "internal", "pass --db PATH", "no database path given");
		return NULL;
	}
	Db *db = xcalloc(1, sizeof *db);
	db->speed = 1.0;
	if (sqlite3_open_v2(path, &db->h,
	                    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK) {
		api_error_set(err, 500, "internal", "check the path and its permissions",
		              "cannot open the database: %s",
		              db->h ? sqlite3_errmsg(db->h) : "out of memory");
		db_close(&db);
		return NULL;
	}
	db->dir = dir_of(path);
	sqlite3_busy_timeout(db->h, 5000);
	sqlite3_extended_result_codes(db->h, 1);
	/* WAL keeps readers off the writer's back; FULL makes a COMMIT durable
	 * across power loss, which is what "acknowledged after commit" promises. */
	if (!db_exec(db, "PRAGMA journal_mode=WAL") || !db_exec(db, "PRAGMA synchronous=FULL") ||
	    !db_exec(db, "PRAGMA foreign_keys=ON") || !db_exec(db, "PRAGMA temp_store=MEMORY") ||
	    /* Pages of 500 rows over 100k allocations read a lot of b-tree: keep it
	     * in memory rather than pread()ing it per page. */
	    !db_exec(db, "PRAGMA cache_size=-65536") || !db_exec(db, "PRAGMA mmap_size=268435456")) {
		db_fail(db, err, "configure the database");
		db_close(&db);
		return NULL;
	}
	if (!migrate(db, err)) {
		db_close(&db);
		return NULL;
	}
	return db;
}

void db_close(Db **pdb)
{
	Db *db = *pdb;
	if (!db)
		return;
	for (size_t i = 0; i < db->n_stmts; i++) {
		sqlite3_finalize(db->stmts[i].st);
		free(db->stmts[i].sql);
	}
	free(db->stmts);
	free(db->tx_changes);
	if (db->h) {
		/* Folds the WAL back into the main file so a copied .db is complete. */
		sqlite3_exec(db->h, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
		sqlite3_close(db->h);
	}
	free(db->dir);
	free(db);
	*pdb = NULL;
}

void db_set_clock_offset_ms(Db *db, int64_t offset_ms) { db->clock_offset_ms = offset_ms; }

int64_t db_now_ms(const Db *db) { return qd_now_ms() + db->clock_offset_ms; }

void db_set_speed(Db *db, double speed)
{
	if (speed > 0)
		db->speed = speed;
}

/* --- ids, encodings, tokens -------------------------------------------------------- */

void db_random_id(char *out, size_t outsz, const char *prefix, int nbytes)
{
	unsigned char b[32];
	if (nbytes > (int)sizeof b)
		nbytes = sizeof b;
	if (RAND_bytes(b, nbytes) != 1)
		util_oom(); /* no entropy means no safe ids: nothing sensible to go on with */
	size_t n = qd_strlcpy(out, prefix, outsz);
	for (int i = 0; i < nbytes && n + 2 < outsz; i++, n += 2)
		snprintf(out + n, 3, "%02x", b[i]);
}

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *db_b64url_encode(const unsigned char *p, size_t n)
{
	char *out = xmalloc(n / 3 * 4 + 5);
	size_t o = 0, i = 0;
	for (; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
		out[o++] = b64url[v >> 6 & 63];
		out[o++] = b64url[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
		out[o++] = b64url[v >> 6 & 63];
	}
	out[o] = '\0';
	return out;
}

static int b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

ssize_t db_b64url_decode(const char *s, unsigned char *out, size_t outsz)
{
	size_t n = strlen(s);
	if (n % 4 == 1)
		return -1;
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		int v = b64val(s[i]);
		if (v < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= outsz)
				return -1;
			out[o++] = (unsigned char)(acc >> bits & 0xff);
		}
	}
	/* Leftover bits must be zero, or two strings would decode alike. */
	if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
		return -1;
	return (ssize_t)o;
}

bool db_id_valid(const char *id)
{
	if (!id)
		return false;
	size_t n = 0;
	for (; id[n]; n++) {
		char c = id[n];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
		if (n >= DB_ID_MAX - 1)
			return false;
	}
	return n > 0;
}

char *db_cursor_encode(const char *kind, int64_t key, const char *id)
{
	char raw[128];
	int n = snprintf(raw, sizeof raw, "%s1|%" PRId64 "|%s", kind, key, id);
	return db_b64url_encode((const unsigned char *)raw, (size_t)n);
}

bool db_cursor_decode(const char *cursor, const char *kind, int64_t *key, char *id, size_t idsz)
{
	unsigned char raw[128];
	if (!cursor || strlen(cursor) > 160)
		return false;
	ssize_t n = db_b64url_decode(cursor, raw, sizeof raw - 1);
	if (n <= 0)
		return false;
	raw[n] = '\0';
	if (memchr(raw, '\0', (size_t)n))
		return false;
	char *s = (char *)raw;
	size_t kl = strlen(kind);
	if (strncmp(s, kind, kl) != 0 || s[kl] != '1' || s[kl + 1] != '|')
		return false;
	s += kl + 2;
	char *bar = strchr(s, '|');
	if (!bar || bar == s)
		return false;
	*bar = '\0';
	if (*s == '-')
		return false;
	errno = 0;
	char *end;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || v < 0)
		return false;
	const char *ids = bar + 1;
	if (!db_id_valid(ids) || strlen(ids) >= idsz)
		return false;
	*key = v;
	qd_strlcpy(id, ids, idsz);
	return true;
}

void db_token_hash(const char *token, unsigned char out[32])
{
	unsigned int len = 0;
	if (EVP_Digest(token, strlen(token), out, &len, EVP_sha256(), NULL) != 1 || len != 32)
		util_oom(); /* EVP only fails on allocation */
}

int64_t db_hash_hint(const unsigned char hash[32])
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | hash[i];
	return (int64_t)(v >> 1); /* keep it a non-negative SQLite integer */
}

char *db_token_new(const char *prefix)
{
	unsigned char b[32];
	if (RAND_bytes(b, sizeof b) != 1)
		util_oom();
	char *enc = db_b64url_encode(b, sizeof b);
	char *tok = xasprintf("%s%s", prefix, enc);
	OPENSSL_cleanse(b, sizeof b);
	OPENSSL_cleanse(enc, strlen(enc));
	free(enc);
	return tok;
}

/* Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm): lists
 * format five timestamps a row, and gmtime_r + strftime dominated them. */
static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

static void put2(char *p, int v)
{
	p[0] = (char)('0' + v / 10 % 10);
	p[1] = (char)('0' + v % 10);
}

void db_time_format(int64_t ms, char buf[32])
{
	if (ms < 0 || ms >= 253402300800000LL) { /* outside years 1970..9999 */
		qd_time_format(ms, buf, 32);
		return;
	}
	int64_t secs = ms / 1000, days = secs / 86400, rem = secs % 86400;
	int y, m, d;
	civil_from_days(days, &y, &m, &d);
	put2(buf, y / 100);
	put2(buf + 2, y % 100);
	buf[4] = '-';
	put2(buf + 5, m);
	buf[7] = '-';
	put2(buf + 8, d);
	buf[10] = 'T';
	put2(buf + 11, (int)(rem / 3600));
	buf[13] = ':';
	put2(buf + 14, (int)(rem / 60 % 60));
	buf[16] = ':';
	put2(buf + 17, (int)(rem % 60));
	buf[19] = '.';
	int frac = (int)(ms % 1000);
	buf[20] = (char)('0' + frac / 100);
	put2(buf + 21, frac % 100);
	buf[23] = 'Z';
	buf[24] = '\0';
}

json_t *db_time_json(int64_t ms)
{
	if (ms <= 0)
		return json_null();
	char buf[32];
	db_time_format(ms, buf);
	return json_string_nocheck(buf);
}

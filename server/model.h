/* model — qdeckd's domain layer: the SQLite database, its migrations, and every
 * read and mutation the v1 API offers, as functions that take a Principal and
 * return jansson values shaped exactly as docs/api/v1.md says.
 *
 * The transport (http.c, routes) parses requests, authenticates, calls one model
 * function and serialises its result or its ApiError. The model never sees HTTP
 * and the transport never sees SQL. Every mutation is one transaction; a model
 * function returns only after COMMIT, so a 2xx means the write is durable.
 *
 * Ownership: every json_t* returned is a new reference the caller must
 * json_decref(). NULL return means *err was filled. */
#ifndef QD_SERVER_MODEL_H
#define QD_SERVER_MODEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/contract.h"

typedef struct Db Db;

/* An error as the API reports it. status is the HTTP status. */
typedef struct {
	int status;
	char code[48];
	char message[256];
	char suggestion[256];
	int retry_after_s; /* for 429 */
} ApiError;

void api_error_set(ApiError *e, int status, const char *code, const char *suggestion,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Who is asking, resolved from a bearer token. */
typedef struct {
	char user_id[40];
	char user_name[64];
	char org_id[40];
	bool is_admin;
	bool is_billing;
} Principal;

/* Opens (creating if needed) the database at path in WAL mode and runs pending
 * migrations. NULL and *err on failure. */
Db *db_open(const char *path, ApiError *err);
void db_close(Db **db);
/* Clock override for tests of actionability; 0 means the real clock. */
void db_set_clock_offset_ms(Db *db, int64_t offset_ms);
int64_t db_now_ms(const Db *db);

/* Demo seed: on an empty database creates the fleet of issue 2 and returns 1;
 * on a database with data changes nothing and returns 0; -1 on error. */
int db_seed_demo(Db *db, ApiError *err);

/* Creates a new bearer token for an existing user; returns the plaintext
 * (caller frees) which is stored only as a SHA-256 hash. */
char *db_token_create(Db *db, const char *user_name, ApiError *err);
/* Resolves a bearer token (constant-time hash comparison). false if unknown. */
bool db_authenticate(Db *db, const char *token, Principal *out);

/* Filters for allocation lists; NULL/-1 fields mean "not filtered". */
typedef struct {
	unsigned state_mask;   /* bit per AllocState; 0 = all */
	int actionable;        /* -1, 0, 1 */
	int archived;          /* -1, 0, 1 */
	const char *node_id;
	const char *project_id;
	const char *q;
	int limit;             /* already validated 1..QD_PAGE_LIMIT_MAX */
	const char *cursor;    /* opaque, validated by the model (400 if garbled) */
} AllocFilter;

json_t *model_me(Db *db, const Principal *p, ApiError *err);
json_t *model_skus(Db *db, const Principal *p, ApiError *err);
json_t *model_images(Db *db, const Principal *p, ApiError *err);
json_t *model_networks(Db *db, const Principal *p, ApiError *err);
json_t *model_ssh_keys(Db *db, const Principal *p, ApiError *err);
/* The managed runtimes a create may name, bundle ascending and each bundle's
 * newest version first: {"items":[{"bundle","version","label"}...]}. */
json_t *model_runtimes(Db *db, const Principal *p, ApiError *err);
json_t *model_ssh_key_add(Db *db, const Principal *p, json_t *body, ApiError *err);

/* admin_scope: all orgs (caller already checked is_admin). */
json_t *model_allocations(Db *db, const Principal *p, const AllocFilter *f, bool admin_scope,
                          ApiError *err);
json_t *model_allocation(Db *db, const Principal *p, const char *id, ApiError *err);
json_t *model_allocation_create(Db *db, const Principal *p, json_t *body, ApiError *err);
json_t *model_allocation_release(Db *db, const Principal *p, const char *id, ApiError *err);
json_t *model_allocation_restart(Db *db, const Principal *p, const char *id, ApiError *err);
json_t *model_allocation_force_release(Db *db, const Principal *p, const char *id,
                                       const char *reason, const char *request_id, ApiError *err);
json_t *model_task(Db *db, const Principal *p, const char *id, ApiError *err);
json_t *model_nodes(Db *db, const Principal *p, int limit, const char *cursor, ApiError *err);
json_t *model_node(Db *db, const Principal *p, const char *id, ApiError *err);
json_t *model_audit_logs(Db *db, const Principal *p, int limit, const char *cursor, ApiError *err);
json_t *model_fault_inject(Db *db, const Principal *p, json_t *body, ApiError *err);

/* Events with id > since that p may see, oldest first, at most limit. */
json_t *model_events(Db *db, const Principal *p, int64_t since, int limit, ApiError *err);
int64_t model_last_event_id(Db *db);
/* Called after every COMMIT that appended events, with the newest id. The
 * transport uses it to wake WebSocket streams. */
void model_set_event_hook(Db *db, void (*hook)(void *ud, int64_t newest_id), void *ud);

/* Called after the COMMIT of every allocation state change (the terminal
 * module ends sessions of allocations that leave `active`). */
void model_set_state_hook(Db *db, void (*hook)(void *ud, const char *alloc_id, AllocState state),
                          void *ud);
/* The allocation's scratch directory on this host (created on demand), where
 * its terminal sessions start; caller frees. NULL if unknown id. */
char *model_allocation_workdir(Db *db, const char *alloc_id);

/* Terminal tokens (issue 4): mint for an active allocation p may reach, and
 * consume (single use, constant-time compare, expiry checked). */
json_t *model_terminal_token_mint(Db *db, const Principal *p, const char *alloc_id,
                                  const char *base_url, ApiError *err);
bool model_terminal_token_consume(Db *db, const char *token, char *alloc_id_out,
                                  size_t alloc_id_sz, char *user_id_out, size_t user_id_sz);

/* Reconciler support: the reconciler (reconciler.c) calls these on its timers. */
/* Advances every in-progress task one step if its step time has come, moves
 * states past their deadline to their failure twin. Returns ms until the next
 * thing is due (for the timer), or -1 when nothing is pending. */
int64_t model_reconcile(Db *db, double speed);

/* Appended by the domain layer. */
/* Adds n_allocations synthetic allocations (for benchmarks) in one transaction,
 * seeding the demo catalog first if the database is empty. They hold no GPUs and
 * write no events. Returns the number added, -1 on error. */
int db_seed_bulk(Db *db, int n_allocations, ApiError *err);
/* The speed new deadlines and step timings are scaled by (model_reconcile also
 * records the speed it is called with). speed <= 0 is ignored. */
void db_set_speed(Db *db, double speed);

/* Appended by nodes (server/model_nodes.c). Admin only: POST
 * /admin/nodes/{id}/scheduling with body {"enabled": bool, "reason": "..."}
 * (reason required when disabling, 422 reason_required). Disabling an online
 * node that holds allocations makes it draining; enabling a draining node
 * makes it online. 409 for a retired node. A change writes an audit row and a
 * node.updated event in one transaction; a no-op answers changed=false. */
json_t *model_node_set_scheduling(Db *db, const Principal *p, const char *id, json_t *body,
                                  const char *request_id, ApiError *err);

/* Appended by perf (server/model_alloc.c). model_allocations() as the compact
 * JSON text the transport sends (exactly the bytes its writer makes of the
 * json_t), written straight from the rows; *len is its length without the
 * terminating NUL. Caller frees. NULL means *err was filled. */
char *model_allocations_text(Db *db, const Principal *p, const AllocFilter *f, bool admin_scope,
                             size_t *len, ApiError *err);

#endif

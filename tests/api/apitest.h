/* apitest — what every API test and the server benchmark share: spawn a real
 * qdeckd (QDECKD_BIN, default bin/qdeckd) on an ephemeral loopback port with a
 * temporary database, mint tokens through `qdeckd token create` (read from the
 * child's stdout, never argv), make HTTP requests with libcurl, and read the
 * events WebSocket with a small blocking client. */
#ifndef QD_TESTS_APITEST_H
#define QD_TESTS_APITEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct {
	pid_t pid;
	int port;
	char dir[128];       /* temp dir holding db, port file, log */
	char db[192];
	char log[192];
	char base[64];       /* "http://127.0.0.1:PORT" */
	char tok_acme[160];  /* acme-dev */
	char tok_globex[160];
	char tok_ops[160];   /* admin */
	char tok_billing[160];
	void *curl;          /* one easy handle, reused (keep-alive) */
} ApiServer;

typedef struct {
	long status;         /* 0 on transport failure */
	json_t *json;        /* parsed body or NULL */
	char *raw;           /* body text */
	char request_id[32]; /* X-Request-Id header */
	int retry_after;     /* Retry-After header, -1 if absent */
} ApiResp;

/* Starts qdeckd on a fresh temp db with `--seed demo --speed 50` plus extra
 * args (NULL-terminated list, may be NULL) and mints the four tokens.
 * 0 on success; on failure prints why and the server log. */
int apitest_start(ApiServer *s, const char *const *extra);
/* Starts qdeckd again on the same db (no seed args), tokens kept. */
int apitest_restart(ApiServer *s, const char *const *extra);
/* SIGTERM and wait; returns the exit status (or -1 on timeout, then SIGKILL). */
int apitest_stop(ApiServer *s);
/* SIGKILL and reap. */
void apitest_kill9(ApiServer *s);
/* apitest_stop if running, then removes the temp dir. */
void apitest_cleanup(ApiServer *s);
/* Path of the qdeckd binary under test. */
const char *apitest_qdeckd_bin(void);
/* Runs `qdeckd --db db token create --user NAME`; token into out. 0 on success. */
int apitest_token(const char *db, const char *user, char *out, size_t outsz);
/* Prints the server's log to stderr (for failure diagnosis). */
void apitest_dump_log(const ApiServer *s);

/* One request. body may be NULL; token NULL sends no Authorization. */
int apitest_request(ApiServer *s, const char *method, const char *path, const char *token,
                const char *body, size_t body_len, ApiResp *out);
int api_get(ApiServer *s, const char *path, const char *token, ApiResp *out);
int api_post(ApiServer *s, const char *path, const char *token, const char *body, ApiResp *out);
void api_resp_done(ApiResp *r);
/* True when r is an error in the contract's shape with this code (NULL: any). */
bool api_is_error(const ApiResp *r, long status, const char *code);

/* Every allocation id visible at path (following next_cursor), as a sorted
 * JSON array of strings; NULL on failure. page_limit per request. */
json_t *api_collect_ids(ApiServer *s, const char *path, const char *token, int page_limit);
/* The visible state, to prove a bad request changed nothing: every
 * allocation's state and version (admin scope) and the audit log's length. */
json_t *api_snapshot(ApiServer *s);
/* False (with why) when after shows a change the reconciler cannot explain:
 * a new allocation, a settled allocation with another version, or new audit rows. */
bool api_snapshot_unchanged(json_t *before, json_t *after, char *why, size_t whysz);

/* Polls GET /allocations/{id} until its state is one of the comma-separated
 * states or timeout_ms passes; returns the final state (static) or NULL. */
const char *api_wait_state(ApiServer *s, const char *id, const char *token, const char *states,
                           int timeout_ms);

/* --- a minimal blocking WebSocket client for the events stream ------------- */
typedef struct {
	int fd;
	int status;          /* handshake HTTP status */
	char *buf;
	size_t len, cap;
} WsClient;

/* Connects to 127.0.0.1:port, upgrades path with the bearer token (NULL: none)
 * and subprotocol (NULL: none). Returns 0 with ws->status 101, or -1 (status
 * holds the refusal's HTTP status if there was one). */
int ws_connect(WsClient *ws, int port, const char *path, const char *token,
               const char *subprotocol);
/* Next text message (caller frees) within timeout_ms: 1 got one, 0 timeout,
 * -1 closed or error (*close_code set when a close frame came). Pings are answered. */
int ws_read_text(WsClient *ws, int timeout_ms, char **out, int *close_code);
/* Nonblocking step for many clients: parse one complete frame already in the
 * buffer; same return values, 0 meaning "need more bytes". */
int ws_parse_one(WsClient *ws, char **out, int *close_code);
/* Reads what the socket has into the buffer; -1 on EOF/error. */
int ws_fill(WsClient *ws);
void ws_close(WsClient *ws);

#endif

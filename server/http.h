/* http — qdeckd's listener: libwebsockets on the server's one libuv loop.
 *
 * Owns the lws context (foreign loop), the protocol list (HTTP, the events
 * stream, the terminal), request collection (64 KiB body cap), the response
 * writer (chunked over WRITEABLE so a large page never blocks), and the one log
 * line per request. Routing and everything after it is routes.c's. */
#ifndef QD_SERVER_HTTP_H
#define QD_SERVER_HTTP_H

#include <libwebsockets.h>
#include <stdbool.h>
#include <uv.h>

#include "server/model.h"
#include "server/reconciler.h"
#include "server/routes.h"

typedef struct HttpServer HttpServer;

typedef struct {
	const char *host;        /* TCP: numeric address to bind; NULL for the unix socket */
	int port;                /* TCP port, 0 = ephemeral */
	const char *unix_path;   /* unix socket path when host is NULL */
	Db *db;
	Reconciler *rec;
	double rate;             /* requests/s per token; burst is twice that */
} HttpConfig;

/* Creates the lws context on loop and starts listening. NULL with a one-line
 * reason in errbuf on failure. */
HttpServer *http_new(uv_loop_t *loop, const HttpConfig *cfg, char *errbuf, size_t errsz);
/* The TCP port actually bound (after port 0), or 0 for the unix socket. */
int http_port(const HttpServer *s);
/* Step 1 of shutdown: tell WebSocket clients goodbye. */
void http_shutdown_begin(HttpServer *s);
/* Step 2, from a uv callback: lws_context_destroy (first call), closes own handles. */
void http_shutdown_in_loop(HttpServer *s);
/* Step 3, after uv_run returned: the second destroy that frees; then free. */
void http_free(HttpServer **s);

/* Splits the request's query (WSI_TOKEN_HTTP_URI_ARGS) into req->query, the
 * strings living in store (storesz bytes). Also used by the events stream. */
void http_collect_query(struct lws *wsi, RouteRequest *req, char *store, size_t storesz);

/* One log line on stderr: "qdeckd: METHOD PATH STATUS MS REQUEST_ID [user]". */
void http_log_request(const char *method, const char *path, int status, double ms,
                      const char *request_id, const char *user);

#endif

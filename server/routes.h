/* routes — the v1 REST API's router, independent of the HTTP library.
 *
 * http.c turns one lws request into a RouteRequest (method, decoded path, query
 * pairs, Authorization header, body) and writes back the RouteResponse. Here
 * the request is matched exactly on method + path, authenticated, rate-limited
 * per token, validated (ids, query parameters, JSON bodies) and handed to one
 * model_* function; its json or ApiError becomes the response body. Every
 * error carries the request's id in the contract's error shape. */
#ifndef QD_SERVER_ROUTES_H
#define QD_SERVER_ROUTES_H

#include <stdbool.h>
#include <stddef.h>

#include "server/model.h"
#include "server/reconciler.h"

typedef struct Routes Routes;

typedef struct {
	const char *key;
	const char *value;
} RouteQuery;

#define ROUTES_MAX_QUERY 16

typedef struct {
	const char *method;       /* "GET", "POST", ... */
	const char *path;         /* decoded, without the query */
	RouteQuery query[ROUTES_MAX_QUERY];
	int nquery;
	bool query_overflow;      /* more than ROUTES_MAX_QUERY parameters */
	const char *authorization; /* header value or NULL */
	const char *body;         /* NULL when there was none */
	size_t body_len;
	bool body_too_large;
	const char *request_id;   /* "req_" + 8 hex */
} RouteRequest;

typedef struct {
	int status;
	char *body;               /* JSON text, owned (free()) */
	size_t body_len;
	int retry_after_s;        /* > 0: send Retry-After */
	const char *allow;        /* for 405: the methods the path has */
	char user[64];            /* who asked, for the log line ("" if nobody) */
} RouteResponse;

/* rate: requests per second per token (bucket refill), burst: bucket size. */
Routes *routes_new(Db *db, Reconciler *rec, double rate, double burst);
void routes_free(Routes **r);
/* Base URL clients use to reach this server ("http://127.0.0.1:8080"), for
 * the terminal token's ws URL. Copied. */
void routes_set_base_url(Routes *r, const char *base_url);

/* Handles one request; always fills resp (resp->body owned by the caller). */
void routes_handle(Routes *r, const RouteRequest *req, RouteResponse *resp);
void route_response_done(RouteResponse *resp);

/* Resolves "Bearer <token>" (the header value) into a principal. */
bool routes_authenticate(Routes *r, const char *authorization, Principal *out);

/* Fills buf (>= 13 bytes) with a fresh "req_" + 8 hex id. */
void routes_new_request_id(char *buf, size_t bufsz);

/* The error shape as JSON text (caller frees). */
char *routes_error_json(const ApiError *e, const char *request_id);

/* True when s is a well-formed id: 1..64 chars of [A-Za-z0-9_-]. */
bool routes_id_valid(const char *s);

/* Parses a non-negative decimal integer (no sign, no spaces, fits int64). */
bool routes_parse_u64(const char *s, int64_t *out);

#endif

/* api — the console's non-blocking HTTP client for the v1 API: libcurl's
 * multi_socket interface driven by uv_poll and uv_timer on the console's one
 * libuv loop (the shape of curl's multi-uv example). No call here blocks.
 *
 * A request completes exactly once through its callback, with a decoded
 * ApiResponse: transport failure, HTTP error with the contract's error shape,
 * or a JSON body. Responses are size-capped and must be JSON objects. */
#ifndef QD_NET_API_H
#define QD_NET_API_H

#include <jansson.h>
#include <stdbool.h>
#include <uv.h>

typedef struct Api Api;
typedef struct ApiRequest ApiRequest;

typedef struct {
	const char *base_url;     /* "http://127.0.0.1:8080" or "http://localhost" with unix_socket */
	const char *unix_socket;  /* NULL for TCP */
	const char *token;        /* bearer token; copied, never logged */
	long timeout_ms;          /* whole request; 0 = 15000 */
} ApiConfig;

typedef enum {
	API_OK,             /* 2xx with a JSON object body */
	API_HTTP_ERROR,     /* non-2xx; err_* filled from the error shape when present */
	API_TRANSPORT,      /* could not connect, timed out, reset, ... */
	API_BAD_RESPONSE,   /* 2xx but not valid JSON / too large */
	API_CANCELLED,
} ApiOutcome;

typedef struct {
	ApiOutcome outcome;
	long status;               /* HTTP status, 0 if none */
	json_t *body;              /* borrowed; valid during the callback */
	const char *err_code;      /* "" when none */
	const char *err_message;   /* one line, for the status line; already sanitized */
	const char *err_suggestion;
	int retry_after_s;         /* from Retry-After on 429, else 0 */
} ApiResponse;

typedef void (*ApiDone)(void *ud, const ApiResponse *r);

Api *api_new(uv_loop_t *loop, const ApiConfig *cfg);
/* Cancels every pending request (callbacks run with API_CANCELLED) and frees. */
void api_free(Api **api);
void api_set_token(Api *api, const char *token);

/* Starts a request. path is "/api/v1/..." including any query; body may be
 * NULL (borrowed: serialised before return). The returned handle is valid
 * until the callback has run; pass it to api_cancel to abandon the request. */
ApiRequest *api_request(Api *api, const char *method, const char *path, json_t *body,
                        ApiDone done, void *ud);
void api_cancel(ApiRequest *req);
/* Number of requests in flight (for the status line's activity indicator). */
int api_in_flight(const Api *api);

/* Percent-encodes s for a query value into a new heap string. */
char *api_escape(const char *s);

#endif

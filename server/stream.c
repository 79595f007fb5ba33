/* stream — the events WebSocket. See stream.h. */
#include "server/stream.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "server/http.h"

#define STREAM_BATCH 200            /* events read from the db at a time */
#define STREAM_PING_MS (20 * 1000)
#define STREAM_KIND 0x5354524d      /* tags a StreamConn in a shared pss */
#define STREAM_WRITE_CLOSE ((enum lws_write_protocol)4)

typedef struct StreamConn {
	uint32_t kind;                  /* STREAM_KIND once established */
	struct lws *wsi;
	Principal p;
	bool authed;
	int64_t last_sent;              /* newest event id delivered */
	json_t *batch;                  /* events read but not yet sent */
	size_t batch_idx;
	bool drained;                   /* the last read found nothing newer */
	bool ping_due;
	bool closing;
	char request_id[16];
	int64_t t0;
	struct StreamConn *prev, *next;
} StreamConn;

static struct {
	uv_loop_t *loop;
	Db *db;
	Routes *routes;
	struct lws_context *ctx;
	uv_timer_t ping;
	bool ping_started;
	bool shutting_down;
	StreamConn *head;
	int count;
} S;

static void wake(StreamConn *c)
{
	if (c->wsi)
		lws_callback_on_writable(c->wsi);
}

/* Model hook: after a commit that appended events, every stream may have more. */
static void on_event(void *ud, int64_t newest_id)
{
	(void)ud;
	for (StreamConn *c = S.head; c; c = c->next)
		if (newest_id > c->last_sent) {
			c->drained = false;
			wake(c);
		}
}

static void on_ping(uv_timer_t *t)
{
	(void)t;
	for (StreamConn *c = S.head; c; c = c->next) {
		c->ping_due = true;
		wake(c);
	}
}

int stream_init(uv_loop_t *loop, Db *db, Routes *routes)
{
	memset(&S, 0, sizeof S);
	S.loop = loop;
	S.db = db;
	S.routes = routes;
	if (uv_timer_init(loop, &S.ping) != 0)
		return -1;
	uv_timer_start(&S.ping, on_ping, STREAM_PING_MS, STREAM_PING_MS);
	S.ping_started = true;
	model_set_event_hook(db, on_event, NULL);
	return 0;
}

void stream_set_context(struct lws_context *ctx) { S.ctx = ctx; }

void stream_begin_shutdown(void)
{
	S.shutting_down = true;
	for (StreamConn *c = S.head; c; c = c->next) {
		c->closing = true;
		wake(c);
	}
	/* Called from a uv signal callback, outside lws: make lws notice now. */
	if (S.ctx)
		lws_cancel_service(S.ctx);
}

void stream_done(void)
{
	if (S.ping_started) {
		uv_timer_stop(&S.ping);
		uv_close((uv_handle_t *)&S.ping, NULL);
		S.ping_started = false;
	}
	if (S.db)
		model_set_event_hook(S.db, NULL, NULL);
}

int stream_count(void) { return S.count; }

size_t stream_pss_size(void) { return sizeof(StreamConn); }

/* Refuses the upgrade with a plain HTTP error in the contract's error shape. */
static int reject(struct lws *wsi, int status, const char *code, const char *message,
                  const char *suggestion, const char *request_id)
{
	ApiError e;
	memset(&e, 0, sizeof e);
	e.status = status;
	qd_strlcpy(e.code, code, sizeof e.code);
	qd_strlcpy(e.message, message, sizeof e.message);
	qd_strlcpy(e.suggestion, suggestion, sizeof e.suggestion);
	char *body = routes_error_json(&e, request_id);
	size_t blen = strlen(body);
	unsigned char buf[LWS_PRE + 2048];
	unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
	if (lws_add_http_common_headers(wsi, (unsigned int)status, "application/json", blen, &p,
	                                end) == 0 &&
	    lws_add_http_header_by_name(wsi, (const unsigned char *)"x-request-id:",
	                                (const unsigned char *)request_id, (int)strlen(request_id),
	                                &p, end) == 0 &&
	    lws_finalize_http_header(wsi, &p, end) == 0 && (size_t)(end - p) > blen) {
		memcpy(p, body, blen);
		p += blen;
		/* Small enough for the socket buffer: it leaves before the close. */
		lws_write(wsi, start, (size_t)(p - start), LWS_WRITE_HTTP_FINAL);
	}
	free(body);
	http_log_request("GET", STREAM_PATH, status, 0, request_id, "");
	return -1;
}

/* Checks path, query and token; fills c. Returns 0 to accept. */
static int filter(struct lws *wsi, StreamConn *c)
{
	char uri[256];
	char rid[16];
	routes_new_request_id(rid, sizeof rid);
	int n = lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI);
	if (n <= 0 || strcmp(uri, STREAM_PATH) != 0)
		return reject(wsi, 404, "not_found", "no WebSocket endpoint at this path",
		              "the events stream is at " STREAM_PATH, rid);

	RouteRequest req;
	char store[2048];
	memset(&req, 0, sizeof req);
	http_collect_query(wsi, &req, store, sizeof store);
	int64_t since = 0;
	if (req.query_overflow)
		return reject(wsi, 400, "invalid_parameter", "too many query parameters",
		              "use only ?since=ID", rid);
	for (int i = 0; i < req.nquery; i++) {
		if (strcmp(req.query[i].key, "since") != 0)
			return reject(wsi, 400, "invalid_parameter", "unknown query parameter",
			              "use only ?since=ID", rid);
		if (!routes_parse_u64(req.query[i].value, &since))
			return reject(wsi, 400, "invalid_parameter",
			              "since must be a non-negative integer",
			              "use the id of the last event you have, or 0", rid);
	}

	char auth[512];
	int alen = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
	Principal p;
	if (alen <= 0 || alen >= (int)sizeof auth ||
	    lws_hdr_copy(wsi, auth, sizeof auth, WSI_TOKEN_HTTP_AUTHORIZATION) <= 0 ||
	    !routes_authenticate(S.routes, auth, &p))
		return reject(wsi, 401, "unauthorized",
		              alen > 0 ? "the bearer token is not valid"
		                       : "missing Authorization: Bearer <token> header",
		              "create one with: qdeckd token create --user NAME", rid);
	if (S.shutting_down)
		return reject(wsi, 503, "shutting_down", "the server is shutting down",
		              "reconnect in a moment", rid);

	memset(c, 0, sizeof *c);
	c->p = p;
	c->authed = true;
	c->last_sent = since;
	qd_strlcpy(c->request_id, rid, sizeof c->request_id);
	return 0;
}

static void unlink_conn(StreamConn *c)
{
	if (c->kind != STREAM_KIND)
		return;
	if (c->prev)
		c->prev->next = c->next;
	else if (S.head == c)
		S.head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	c->kind = 0;
	S.count--;
	json_decref(c->batch);
	c->batch = NULL;
}

/* Reads the next batch of visible events after last_sent. */
static void refill(StreamConn *c)
{
	ApiError err;
	json_decref(c->batch);
	c->batch = NULL;
	c->batch_idx = 0;
	json_t *j = model_events(S.db, &c->p, c->last_sent, STREAM_BATCH, &err);
	if (!j) {
		fprintf(stderr, "qdeckd: events stream %s: reading events failed: %s\n", c->request_id,
		        err.message);
		c->drained = true;
		return;
	}
	json_t *items = json_is_array(j) ? j : json_object_get(j, "items");
	if (!json_is_array(items) || json_array_size(items) == 0) {
		json_decref(j);
		c->drained = true;
		return;
	}
	c->batch = json_incref(items);
	json_decref(j);
}

static int writeable(struct lws *wsi, StreamConn *c)
{
	if (c->closing) {
		/* lws 4.1.6 hangs up without a close frame when a callback returns -1
		 * after lws_close_reason() (seen here on SIGTERM), so the frame is
		 * written directly: opcode close via lws_write's internal
		 * LWS_WRITE_CLOSE (4), which its public header only leaves out. */
		static const char why[] = "server shutting down";
		unsigned char cbuf[LWS_PRE + 2 + sizeof why];
		unsigned char *p = cbuf + LWS_PRE;
		p[0] = (unsigned char)(LWS_CLOSE_STATUS_GOINGAWAY >> 8);
		p[1] = (unsigned char)(LWS_CLOSE_STATUS_GOINGAWAY & 0xff);
		memcpy(p + 2, why, sizeof why - 1);
		lws_write(wsi, p, 2 + sizeof why - 1, STREAM_WRITE_CLOSE);
		return -1;
	}
	if (c->ping_due) {
		unsigned char pbuf[LWS_PRE + 4];
		c->ping_due = false;
		if (lws_write(wsi, pbuf + LWS_PRE, 0, LWS_WRITE_PING) < 0)
			return -1;
		lws_callback_on_writable(wsi);
		return 0;
	}
	if (!c->batch || c->batch_idx >= json_array_size(c->batch)) {
		if (c->drained)
			return 0; /* WRITEABLE with nothing queued: tolerated */
		refill(c);
		if (!c->batch)
			return 0;
	}
	json_t *ev = json_array_get(c->batch, c->batch_idx++);
	json_int_t id = json_integer_value(json_object_get(ev, "id"));
	char *text = json_dumps(ev, JSON_COMPACT);
	if (!text)
		util_oom();
	size_t n = strlen(text);
	unsigned char *buf = xmalloc(LWS_PRE + n);
	memcpy(buf + LWS_PRE, text, n);
	free(text);
	int w = lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT);
	free(buf);
	if (w < (int)n)
		return -1;
	if (id > c->last_sent)
		c->last_sent = id;
	/* One message per WRITEABLE: ask again while there may be more. */
	lws_callback_on_writable(wsi);
	return 0;
}

int stream_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
	StreamConn *c = user;
	(void)in;
	(void)len;
	switch (reason) {
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		if (!c)
			return -1;
		return filter(wsi, c);
	case LWS_CALLBACK_ESTABLISHED:
		if (!c || !c->authed)
			return -1; /* never passed the filter */
		c->kind = STREAM_KIND;
		c->wsi = wsi;
		c->t0 = qd_mono_ms();
		c->next = S.head;
		if (S.head)
			S.head->prev = c;
		S.head = c;
		S.count++;
		http_log_request("GET", STREAM_PATH, 101, 0, c->request_id, c->p.user_name);
		lws_callback_on_writable(wsi);
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		if (!c || c->kind != STREAM_KIND)
			return 0;
		return writeable(wsi, c);
	case LWS_CALLBACK_RECEIVE:
		return 0; /* the stream is one-way; whatever a client sends is dropped */
	case LWS_CALLBACK_CLOSED:
		if (c && c->kind == STREAM_KIND) {
			fprintf(stderr, "qdeckd: events stream %s closed after %.1fs (last event %" PRId64 ")\n",
			        c->request_id, (double)(qd_mono_ms() - c->t0) / 1000.0, c->last_sent);
			unlink_conn(c);
		}
		return 0;
	default:
		return 0;
	}
}

struct lws_protocols stream_protocol(void)
{
	struct lws_protocols p = {
		.name = STREAM_SUBPROTOCOL,
		.callback = stream_callback,
		.per_session_data_size = sizeof(StreamConn),
		.rx_buffer_size = 1024,
	};
	return p;
}

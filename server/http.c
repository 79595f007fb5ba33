/* http — the lws context on the server's libuv loop, request collection and
 * the response writer. See http.h. */
#include "server/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/sanitize.h"
#include "common/util.h"
#include "server/chunked.h"
#include "server/stream.h"
#include "server/terminal.h"

#define HTTP_KIND 0x48545450u   /* tags an HttpConn in the shared pss */
#define AUTH_MAX 1024
#define PATH_MAX_LEN 1024
#define QUERY_STORE 4096
#define WRITE_CHUNK 32768
#define CL_MAX 64           /* longest Content-Length value we bother reading */

struct HttpServer {
	uv_loop_t *loop;
	struct lws_context *ctx;
	Routes *routes;
	int port;
	bool destroyed_once;
	struct lws_protocols protocols[4];
};

/* Per HTTP connection; persists across keep-alive transactions. */
typedef struct {
	uint32_t kind;
	bool in_request;
	char method[8];
	char *path;
	char *auth;
	char query_store[QUERY_STORE];
	RouteRequest req;
	QdBuf body;
	bool has_body;
	bool too_large;
	/* lws 4.1 does not decode chunked request bodies on its HTTP/1 server:
	 * it hands us the raw framing in HTTP_BODY and, having no Content-Length,
	 * waits for 100 MiB before HTTP_BODY_COMPLETION. So chunked.c decodes it and
	 * we answer when the last chunk arrives. */
	bool chunked;
	bool close_after;        /* framing is unreliable: close after answering */
	ChunkDecoder dechunk;
	char request_id[16];
	int64_t t0;
	RouteResponse resp;
	size_t resp_off;
	bool responding;
} HttpConn;

static HttpServer *g_server; /* the callback reaches routes through this */

static int64_t now_us(void)
{
	return (int64_t)(uv_hrtime() / 1000);
}

void http_log_request(const char *method, const char *path, int status, double ms,
                      const char *request_id, const char *user)
{
	char when[32], safe[256];
	qd_time_format(qd_now_ms(), when, sizeof when);
	/* The path is the client's: make it harmless on an operator's terminal. */
	sanitize_str(path ? path : "", strlen(path ? path : ""), safe, sizeof safe, false);
	fprintf(stderr, "%s %s %s %d %.2fms %s%s%s\n", when, method, safe, status, ms, request_id,
	        user && *user ? " user=" : "", user && *user ? user : "");
}

void http_collect_query(struct lws *wsi, RouteRequest *req, char *store, size_t storesz)
{
	size_t used = 0;
	req->nquery = 0;
	req->query_overflow = false;
	for (int i = 0; i < 64; i++) {
		int flen = lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i);
		if (flen <= 0)
			break;
		if (req->nquery >= ROUTES_MAX_QUERY || used + (size_t)flen + 2 > storesz) {
			req->query_overflow = true;
			break;
		}
		char *frag = store + used;
		int n = lws_hdr_copy_fragment(wsi, frag, (int)(storesz - used), WSI_TOKEN_HTTP_URI_ARGS, i);
		if (n < 0) {
			req->query_overflow = true;
			break;
		}
		used += (size_t)n + 1;
		char *eq = strchr(frag, '=');
		if (eq)
			*eq = '\0';
		req->query[req->nquery].key = frag;
		req->query[req->nquery].value = eq ? eq + 1 : "";
		req->nquery++;
	}
}

static void conn_reset(HttpConn *c)
{
	free(c->path);
	free(c->auth);
	c->path = c->auth = NULL;
	qdbuf_done(&c->body);
	route_response_done(&c->resp);
	c->in_request = c->has_body = c->too_large = c->responding = false;
	c->chunked = c->close_after = false;
	chunked_init(&c->dechunk);
	c->resp_off = 0;
}

static char *copy_header(struct lws *wsi, enum lws_token_indexes h, int max)
{
	int n = lws_hdr_total_length(wsi, h);
	if (n <= 0)
		return NULL;
	if (n >= max)
		return xstrdup("(too long)"); /* fails auth like any unknown token */
	char *s = xmalloc((size_t)n + 1);
	if (lws_hdr_copy(wsi, s, n + 1, h) < 0) {
		free(s);
		return NULL;
	}
	return s;
}

static const struct {
	enum lws_token_indexes tok;
	const char *name;
} METHODS[] = {
	{WSI_TOKEN_GET_URI, "GET"},       {WSI_TOKEN_POST_URI, "POST"},
	{WSI_TOKEN_PUT_URI, "PUT"},       {WSI_TOKEN_PATCH_URI, "PATCH"},
	{WSI_TOKEN_DELETE_URI, "DELETE"}, {WSI_TOKEN_OPTIONS_URI, "OPTIONS"},
	{WSI_TOKEN_HEAD_URI, "HEAD"},
};

static int send_response(struct lws *wsi, HttpConn *c);

/* Routes the collected request and writes the response headers; the body
 * follows on WRITEABLE. */
static int dispatch(struct lws *wsi, HttpConn *c)
{
	RouteRequest *req = &c->req;
	req->method = c->method;
	req->path = c->path;
	req->authorization = c->auth;
	req->body = c->has_body ? qdbuf_cstr(&c->body) : NULL;
	req->body_len = c->has_body ? c->body.len : 0;
	req->body_too_large = c->too_large;
	req->request_id = c->request_id;

	routes_handle(g_server->routes, req, &c->resp);
	return send_response(wsi, c);
}

/* Logs the request and writes c->resp's headers; the body follows on WRITEABLE. */
static int send_response(struct lws *wsi, HttpConn *c)
{
	c->responding = true;
	c->resp_off = 0;
	http_log_request(c->method, c->path, c->resp.status,
	                 (double)(now_us() - c->t0) / 1000.0, c->request_id, c->resp.user);

	unsigned char buf[LWS_PRE + 1024];
	unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
	char num[16];
	if (lws_add_http_common_headers(wsi, (unsigned int)c->resp.status, "application/json",
	                                c->resp.body_len, &p, end) ||
	    lws_add_http_header_by_name(wsi, (const unsigned char *)"x-request-id:",
	                                (const unsigned char *)c->request_id,
	                                (int)strlen(c->request_id), &p, end) ||
	    lws_add_http_header_by_name(wsi, (const unsigned char *)"cache-control:",
	                                (const unsigned char *)"no-store", 8, &p, end))
		return 1;
	if (c->resp.retry_after_s > 0) {
		snprintf(num, sizeof num, "%d", c->resp.retry_after_s);
		if (lws_add_http_header_by_name(wsi, (const unsigned char *)"retry-after:",
		                                (const unsigned char *)num, (int)strlen(num), &p, end))
			return 1;
	}
	if (c->close_after &&
	    lws_add_http_header_by_name(wsi, (const unsigned char *)"connection:",
	                                (const unsigned char *)"close", 5, &p, end))
		return 1;
	if (c->resp.allow && *c->resp.allow &&
	    lws_add_http_header_by_name(wsi, (const unsigned char *)"allow:",
	                                (const unsigned char *)c->resp.allow,
	                                (int)strlen(c->resp.allow), &p, end))
		return 1;
	if (lws_finalize_write_http_header(wsi, start, &p, end))
		return 1;
	lws_callback_on_writable(wsi);
	return 0;
}

static int write_body(struct lws *wsi, HttpConn *c)
{
	static unsigned char buf[LWS_PRE + WRITE_CHUNK];
	if (!c->responding)
		return 0; /* WRITEABLE with nothing queued */
	size_t left = c->resp.body_len - c->resp_off;
	size_t n = QD_MIN(left, (size_t)WRITE_CHUNK);
	bool last = n == left;
	memcpy(buf + LWS_PRE, c->resp.body + c->resp_off, n);
	if (lws_write(wsi, buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)n)
		return -1;
	c->resp_off += n;
	if (!last) {
		lws_callback_on_writable(wsi);
		return 0;
	}
	bool close_now = c->close_after;
	conn_reset(c);
	/* After a chunked or mis-framed body lws's idea of where the next request
	 * starts is wrong (it still counts body bytes), so end the connection;
	 * lws flushes what is buffered before it closes. */
	if (close_now)
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* Answers a request refused for its framing, before routing, and closes the
 * connection afterwards: the body's extent is unknown. */
static int refuse(struct lws *wsi, HttpConn *c, int status, const char *code,
                  const char *suggestion, const char *message)
{
	ApiError e;
	memset(&e, 0, sizeof e);
	api_error_set(&e, status, code, suggestion, "%s", message);
	c->close_after = true;
	c->resp.status = status;
	c->resp.body = routes_error_json(&e, c->request_id);
	c->resp.body_len = strlen(c->resp.body);
	return send_response(wsi, c);
}

static void body_take(HttpConn *c, const char *p, size_t n)
{
	if (c->too_large || n == 0)
		return;
	if (c->body.len + n > QD_MAX_BODY_BYTES) {
		c->too_large = true;
		qdbuf_done(&c->body); /* the rest is read and dropped */
		qdbuf_init(&c->body);
		return;
	}
	qdbuf_append(&c->body, p, n);
}

static bool method_has_body(const char *m)
{
	/* the methods lws reads a body for when no Content-Length says otherwise */
	return !strcmp(m, "POST") || !strcmp(m, "PUT") || !strcmp(m, "PATCH");
}

static int begin_request(struct lws *wsi, HttpConn *c, const char *in, size_t len)
{
	conn_reset(c);
	c->kind = HTTP_KIND;
	c->in_request = true;
	c->t0 = now_us();
	routes_new_request_id(c->request_id, sizeof c->request_id);
	qd_strlcpy(c->method, "?", sizeof c->method);
	for (size_t i = 0; i < QD_ARRAY_LEN(METHODS); i++)
		if (lws_hdr_total_length(wsi, METHODS[i].tok) > 0) {
			qd_strlcpy(c->method, METHODS[i].name, sizeof c->method);
			break;
		}
	c->path = xstrndup(in ? in : "", QD_MIN(len, (size_t)PATH_MAX_LEN));
	c->auth = copy_header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, AUTH_MAX);
	memset(&c->req, 0, sizeof c->req);
	http_collect_query(wsi, &c->req, c->query_store, sizeof c->query_store);
	qdbuf_init(&c->body);

	/* Framing first: the body's extent must be known before anything else. */
	int te_len = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING);
	int cl_len = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH);
	if (te_len > 0) {
		char te[32] = "";
		if (te_len >= (int)sizeof te || lws_hdr_copy(wsi, te, sizeof te, WSI_TOKEN_HTTP_TRANSFER_ENCODING) < 0 ||
		    strcasecmp(te, "chunked") != 0)
			return refuse(wsi, c, 501, "unsupported_transfer_encoding",
			              "send the body with a Content-Length header",
			              "Transfer-Encoding other than \"chunked\" is not supported");
		if (cl_len > 0)
			return refuse(wsi, c, 400, "invalid_framing", "send either Content-Length or chunked, not both",
			              "the request has both Content-Length and Transfer-Encoding: chunked");
		if (!method_has_body(c->method))
			return refuse(wsi, c, 400, "invalid_framing", "send the request without a body",
			              "a chunked body is only accepted on POST, PUT and PATCH");
		c->chunked = true;
		c->close_after = true;
		c->has_body = true;
		chunked_init(&c->dechunk);
		return 0; /* HTTP_BODY feeds the decoder; we answer at the last chunk */
	}

	long long content_length = 0;
	if (cl_len > 0) {
		char cl[CL_MAX + 1];
		int64_t v;
		if (cl_len > CL_MAX || lws_hdr_copy(wsi, cl, sizeof cl, WSI_TOKEN_HTTP_CONTENT_LENGTH) < 0 ||
		    !routes_parse_u64(cl, &v)) {
			/* lws would have framed the body with atoll()'s guess: close after. */
			char safe[32], msg[160];
			if (cl_len > CL_MAX)
				qd_strlcpy(safe, "(too long)", sizeof safe);
			else
				sanitize_str(cl, strlen(cl), safe, sizeof safe, false);
			snprintf(msg, sizeof msg,
			         "Content-Length \"%s\" is not a non-negative decimal number that fits in 64 bits",
			         safe);
			return refuse(wsi, c, 400, "invalid_content_length",
			              "send Content-Length as the body's size in bytes, a plain decimal number", msg);
		}
		content_length = (long long)v;
	}
	if (content_length > 0) {
		/* lws delivers the body in HTTP_BODY callbacks; answer at completion. */
		c->has_body = true;
		if (content_length > QD_MAX_BODY_BYTES)
			c->too_large = true;
		return 0;
	}
	return dispatch(wsi, c);
}

static int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t len)
{
	HttpConn *c = user;
	switch (reason) {
	/* A WebSocket upgrade without a subprotocol lands on this default protocol:
	 * it can only be the events stream, so hand it over. */
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
	case LWS_CALLBACK_ESTABLISHED:
	case LWS_CALLBACK_SERVER_WRITEABLE:
	case LWS_CALLBACK_RECEIVE:
	case LWS_CALLBACK_CLOSED:
		return stream_callback(wsi, reason, user, in, len);

	case LWS_CALLBACK_HTTP:
		if (!c)
			return -1;
		return begin_request(wsi, c, in, len);
	case LWS_CALLBACK_HTTP_BODY:
		if (!c || c->kind != HTTP_KIND || !c->in_request)
			return -1;
		if (c->responding)
			return 0; /* answered already (bad framing); dropped until close */
		if (!c->chunked) {
			body_take(c, in, len);
			return 0;
		}
		switch (chunked_feed(&c->dechunk, in, len, &c->body, QD_MAX_BODY_BYTES)) {
		case CHUNKED_BAD:
			return refuse(wsi, c, 400, "invalid_chunked_body",
			              "send a well-formed chunked body or use Content-Length",
			              chunked_error(&c->dechunk));
		case CHUNKED_DONE:
			/* the whole body was read, so a 413 now is the right answer */
			c->too_large = chunked_over_cap(&c->dechunk);
			return dispatch(wsi, c);
		case CHUNKED_MORE:
			break;
		}
		return 0;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		if (!c || c->kind != HTTP_KIND || !c->in_request)
			return -1;
		if (c->responding)
			return 0; /* lws reports an empty POST body too; we answered already */
		if (c->chunked && chunked_status(&c->dechunk) != CHUNKED_DONE)
			/* lws gave up counting (100 MiB) before the last chunk came */
			return refuse(wsi, c, 400, "invalid_chunked_body",
			              "send a well-formed chunked body or use Content-Length",
			              "the chunked body never ended");
		return dispatch(wsi, c);
	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (!c || c->kind != HTTP_KIND)
			return 0;
		return write_body(wsi, c);
	case LWS_CALLBACK_CLOSED_HTTP:
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
		if (c && c->kind == HTTP_KIND) {
			conn_reset(c);
			c->kind = 0;
		}
		return 0;
	default:
		return 0;
	}
}

static void lws_log_emit(int level, const char *line)
{
	(void)level;
	fprintf(stderr, "qdeckd: lws: %s", line);
}

HttpServer *http_new(uv_loop_t *loop, const HttpConfig *cfg, char *errbuf, size_t errsz)
{
	HttpServer *s = xcalloc(1, sizeof *s);
	s->loop = loop;
	s->routes = routes_new(cfg->db, cfg->rec, cfg->rate, cfg->rate * 2);
	g_server = s;

	lws_set_log_level(LLL_ERR, lws_log_emit);

	size_t pss = sizeof(HttpConn);
	if (stream_pss_size() > pss)
		pss = stream_pss_size();
	s->protocols[0] = (struct lws_protocols){
		.name = "http",
		.callback = http_callback,
		.per_session_data_size = pss,
		.rx_buffer_size = 0,
	};
	s->protocols[1] = stream_protocol();
	s->protocols[2] = terminal_protocol();
	/* protocols[3] stays zeroed: the terminator */

	if (stream_init(loop, cfg->db, s->routes) != 0 || terminal_init(loop, cfg->db) != 0) {
		snprintf(errbuf, errsz, "could not start the stream or terminal module");
		routes_free(&s->routes);
		free(s);
		g_server = NULL;
		return NULL;
	}

	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	void *foreign[1] = {loop};
	info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_VALIDATE_UTF8;
	info.foreign_loops = foreign;
	info.protocols = s->protocols;
	info.pt_serv_buf_size = 65536;
	info.max_http_header_data = 8192;
	info.server_string = "qdeckd";
	info.timeout_secs = 30;
	if (cfg->host) {
		info.iface = cfg->host;
		info.port = cfg->port;
		if (!strchr(cfg->host, ':'))
			info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	} else {
		info.options |= LWS_SERVER_OPTION_UNIX_SOCK;
		info.iface = cfg->unix_path;
		info.port = 0;
	}
	s->ctx = lws_create_context(&info);
	if (!s->ctx) {
		snprintf(errbuf, errsz, "could not listen on %s%s%d", cfg->host ? cfg->host : cfg->unix_path,
		         cfg->host ? ":" : "", cfg->host ? cfg->port : 0);
		if (cfg->host == NULL)
			errbuf[strlen(errbuf) - 1] = '\0'; /* no ":0" after a socket path */
		stream_done();
		terminal_shutdown();
		routes_free(&s->routes);
		free(s);
		g_server = NULL;
		return NULL;
	}
	stream_set_context(s->ctx);
	if (cfg->host) {
		struct lws_vhost *vh = lws_get_vhost_by_name(s->ctx, "default");
		s->port = vh ? lws_get_vhost_listen_port(vh) : cfg->port;
		char base[128];
		snprintf(base, sizeof base, strchr(cfg->host, ':') ? "http://[%s]:%d" : "http://%s:%d",
		         cfg->host, s->port);
		routes_set_base_url(s->routes, base);
	} else {
		routes_set_base_url(s->routes, "http://localhost");
	}
	return s;
}

int http_port(const HttpServer *s) { return s->port; }

void http_shutdown_begin(HttpServer *s)
{
	(void)s;
	stream_begin_shutdown();
}

void http_shutdown_in_loop(HttpServer *s)
{
	stream_done();
	terminal_shutdown();
	if (s->ctx && !s->destroyed_once) {
		s->destroyed_once = true;
		lws_context_destroy(s->ctx);
	}
}

void http_free(HttpServer **sp)
{
	HttpServer *s = *sp;
	if (!s)
		return;
	if (s->ctx)
		lws_context_destroy(s->ctx); /* the second call, outside the loop, frees */
	s->ctx = NULL;
	routes_free(&s->routes);
	if (g_server == s)
		g_server = NULL;
	free(s);
	*sp = NULL;
}

/* api — libcurl multi_socket on the console's libuv loop.
 *
 * curl tells us which sockets to watch (sock_cb) and when to wake it
 * (timer_cb); uv_poll and uv_timer call curl_multi_socket_action; finished
 * transfers are collected in check_done and each completes exactly once.
 * uv handles live in their own allocations and are freed in their close
 * callbacks, because curl (like lws) forgets a socket before uv has closed it. */
#include "net/api.h"

#include <ctype.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sanitize.h"
#include "common/util.h"

#ifndef QD_VERSION
#define QD_VERSION "dev" /* builds outside the Makefile (make fuzz) */
#endif

#define BODY_CAP (8u * 1024 * 1024)
#define DEFAULT_TIMEOUT_MS 15000L
#define CONNECT_TIMEOUT_MS 5000L

typedef struct SockCtx {
	uv_poll_t poll;
	curl_socket_t fd;
	struct Api *api;
	struct SockCtx *prev, *next;
} SockCtx;

struct ApiRequest {
	Api *api;
	CURL *easy;
	struct curl_slist *headers;
	char *payload;
	QdBuf body;
	bool overflow;
	bool completing;
	int retry_after_s;
	ApiDone done;
	void *ud;
	char curl_err[CURL_ERROR_SIZE];
	ApiRequest *prev, *next;
};

struct Api {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t *timer;   /* own allocation: freed in its close callback */
	char *base_url, *unix_socket, *token;
	long timeout_ms;
	ApiRequest *reqs;
	int in_flight;
	SockCtx *socks;
	int dispatching;     /* >0 while calling ApiDone callbacks */
	bool doomed;         /* api_free was called from inside a callback */
};

static void check_done(Api *api);
static void api_destroy(Api *api);

/* ---- curl <-> uv glue --------------------------------------------------- */

static void on_handle_closed(uv_handle_t *h)
{
	free(h->data);
}

static void sock_release(Api *api, SockCtx *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		api->socks = c->next;
	if (c->next)
		c->next->prev = c->prev;
	uv_poll_stop(&c->poll);
	uv_close((uv_handle_t *)&c->poll, on_handle_closed);
}

static void poll_cb(uv_poll_t *h, int status, int events)
{
	SockCtx *c = h->data;
	Api *api = c->api;
	int flags = 0;
	if (status < 0)
		flags = CURL_CSELECT_ERR;
	else {
		if (events & UV_READABLE)
			flags |= CURL_CSELECT_IN;
		if (events & UV_WRITABLE)
			flags |= CURL_CSELECT_OUT;
	}
	int running;
	/* c may be released inside this call (CURL_POLL_REMOVE); don't touch it after. */
	curl_multi_socket_action(api->multi, c->fd, flags, &running);
	check_done(api);
}

static int sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	Api *api = userp;
	SockCtx *c = socketp;
	if (what == CURL_POLL_REMOVE) {
		if (c) {
			sock_release(api, c);
			curl_multi_assign(api->multi, fd, NULL);
		}
		return 0;
	}
	if (!c) {
		c = xcalloc(1, sizeof *c);
		c->fd = fd;
		c->api = api;
		if (uv_poll_init_socket(api->loop, &c->poll, fd) != 0) {
			free(c);
			return -1;
		}
		c->poll.data = c;
		c->next = api->socks;
		if (api->socks)
			api->socks->prev = c;
		api->socks = c;
		curl_multi_assign(api->multi, fd, c);
	}
	int ev = 0;
	if (what & CURL_POLL_IN)
		ev |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		ev |= UV_WRITABLE;
	uv_poll_start(&c->poll, ev, poll_cb);
	return 0;
}

static void timer_fire(uv_timer_t *t)
{
	Api *api = t->data;
	int running;
	curl_multi_socket_action(api->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(api);
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	Api *api = userp;
	if (timeout_ms < 0)
		uv_timer_stop(api->timer);
	else
		uv_timer_start(api->timer, timer_fire, (uint64_t)timeout_ms, 0);
	return 0;
}

/* ---- per request callbacks ---------------------------------------------- */

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	ApiRequest *r = ud;
	size_t n = size * nmemb;
	if (r->body.len + n > BODY_CAP) {
		r->overflow = true;
		return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
	}
	qdbuf_append(&r->body, ptr, n);
	return n;
}

static size_t header_cb(char *buf, size_t size, size_t nitems, void *ud)
{
	ApiRequest *r = ud;
	size_t n = size * nitems;
	static const char name[] = "retry-after:";
	if (n > sizeof name - 1 && strncasecmp(buf, name, sizeof name - 1) == 0) {
		/* Seconds only; an HTTP-date is rare from APIs and gets a modest default. */
		const char *p = buf + sizeof name - 1;
		const char *end = buf + n;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		long v = 0;
		bool digits = false;
		while (p < end && isdigit((unsigned char)*p)) {
			digits = true;
			if (v < 100000)
				v = v * 10 + (*p - '0');
			p++;
		}
		r->retry_after_s = digits ? (int)QD_MIN(v, 3600L) : 5;
	}
	return n;
}

/* curl's sockets are not close-on-exec; the local qdeckd we may spawn later
 * must not inherit them. */
static int sockopt_cb(void *ud, curl_socket_t fd, curlsocktype purpose)
{
	(void)ud;
	(void)purpose;
	int fl = fcntl(fd, F_GETFD);
	if (fl >= 0)
		fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
	return CURL_SOCKOPT_OK;
}

/* ---- lifecycle ---------------------------------------------------------- */

Api *api_new(uv_loop_t *loop, const ApiConfig *cfg)
{
	static bool curl_ready;
	if (!curl_ready) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		curl_ready = true;
	}
	Api *api = xcalloc(1, sizeof *api);
	api->loop = loop;
	api->multi = curl_multi_init();
	if (!api->multi)
		util_oom();
	api->timer = xcalloc(1, sizeof *api->timer);
	uv_timer_init(loop, api->timer);
	api->timer->data = api;
	curl_multi_setopt(api->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(api->multi, CURLMOPT_SOCKETDATA, api);
	curl_multi_setopt(api->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(api->multi, CURLMOPT_TIMERDATA, api);
	const char *base = cfg && cfg->base_url ? cfg->base_url : "http://localhost";
	size_t bl = strlen(base);
	while (bl > 0 && base[bl - 1] == '/')
		bl--;
	api->base_url = xstrndup(base, bl);
	api->unix_socket = cfg && cfg->unix_socket ? xstrdup(cfg->unix_socket) : NULL;
	api->token = cfg && cfg->token ? xstrdup(cfg->token) : NULL;
	api->timeout_ms = cfg && cfg->timeout_ms > 0 ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS;
	return api;
}

static void wipe_free(char *s)
{
	if (s) {
		memset(s, 0, strlen(s)); /* tokens should not linger in freed memory */
		free(s);
	}
}

void api_set_token(Api *api, const char *token)
{
	wipe_free(api->token);
	api->token = token ? xstrdup(token) : NULL;
}

static void req_free(ApiRequest *r)
{
	Api *api = r->api;
	if (r->prev)
		r->prev->next = r->next;
	else
		api->reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
	api->in_flight--;
	curl_multi_remove_handle(api->multi, r->easy);
	curl_easy_cleanup(r->easy);
	curl_slist_free_all(r->headers); /* holds the bearer header */
	free(r->payload);
	qdbuf_done(&r->body);
	free(r);
}

/* Runs the callback once, then frees the request. */
static void req_complete(ApiRequest *r, ApiResponse *resp)
{
	Api *api = r->api;
	r->completing = true;
	curl_multi_remove_handle(api->multi, r->easy);
	api->dispatching++;
	if (r->done)
		r->done(r->ud, resp);
	api->dispatching--;
	req_free(r);
	if (api->doomed && !api->dispatching)
		api_destroy(api);
}

static void cancel_all(Api *api)
{
	while (api->reqs) {
		ApiResponse resp = {.outcome = API_CANCELLED, .err_code = "", .err_message = "cancelled",
		                    .err_suggestion = ""};
		req_complete(api->reqs, &resp);
	}
}

static void api_destroy(Api *api)
{
	/* Held for good: no callback below can start a second destroy. */
	api->dispatching++;
	api->doomed = false;
	cancel_all(api);
	curl_multi_cleanup(api->multi);
	/* Sockets curl did not hand back before cleanup. */
	while (api->socks)
		sock_release(api, api->socks);
	uv_timer_stop(api->timer);
	api->timer->data = api->timer;
	uv_close((uv_handle_t *)api->timer, on_handle_closed);
	free(api->base_url);
	free(api->unix_socket);
	wipe_free(api->token);
	free(api);
}

void api_free(Api **apip)
{
	if (!apip || !*apip)
		return;
	Api *api = *apip;
	*apip = NULL;
	if (api->dispatching) {
		/* Inside a completion callback: finish the dispatch loop first. */
		api->doomed = true;
		return;
	}
	api_destroy(api);
}

/* ---- responses ---------------------------------------------------------- */

static const char *jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : "";
}

static void finish(ApiRequest *r, CURLcode rc)
{
	char code[64] = "", msg[256] = "", sugg[256] = "";
	ApiResponse resp = {.err_code = code, .err_message = msg, .err_suggestion = sugg};
	json_t *body = NULL;
	long status = 0;
	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	resp.status = status;

	if (r->overflow) {
		resp.outcome = API_BAD_RESPONSE;
		snprintf(msg, sizeof msg, "response larger than %u MiB", BODY_CAP >> 20);
	} else if (rc != CURLE_OK) {
		resp.outcome = API_TRANSPORT;
		const char *why = r->curl_err[0] ? r->curl_err : curl_easy_strerror(rc);
		sanitize_str(why, strlen(why), msg, sizeof msg, false);
	} else {
		json_error_t jerr;
		if (r->body.len)
			body = json_loadb(r->body.data, r->body.len, JSON_REJECT_DUPLICATES, &jerr);
		if (status >= 200 && status < 300) {
			if (!r->body.len)
				body = json_object(); /* 204 and friends */
			if (json_is_object(body)) {
				resp.outcome = API_OK;
			} else {
				resp.outcome = API_BAD_RESPONSE;
				snprintf(msg, sizeof msg, "HTTP %ld: response is not a JSON object", status);
			}
		} else {
			resp.outcome = API_HTTP_ERROR;
			resp.retry_after_s = status == 429 ? (r->retry_after_s ? r->retry_after_s : 1) : 0;
			json_t *e = json_object_get(body, "error");
			const char *c = jstr(e, "code"), *m = jstr(e, "message"), *s = jstr(e, "suggestion");
			sanitize_str(c, strlen(c), code, sizeof code, false);
			sanitize_str(m, strlen(m), msg, sizeof msg, false);
			sanitize_str(s, strlen(s), sugg, sizeof sugg, false);
			if (!msg[0])
				snprintf(msg, sizeof msg, "HTTP %ld", status);
		}
	}
	resp.body = resp.outcome == API_OK ? body : NULL;
	if (resp.outcome == API_HTTP_ERROR)
		resp.body = body; /* callers may want extra fields of the error */
	req_complete(r, &resp);
	json_decref(body);
}

static void check_done(Api *api)
{
	CURLMsg *m;
	int left;
	api->dispatching++;
	while (!api->doomed && (m = curl_multi_info_read(api->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		ApiRequest *r = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
		if (r)
			finish(r, m->data.result);
	}
	api->dispatching--;
	if (api->doomed && !api->dispatching)
		api_destroy(api);
}

/* ---- requests ----------------------------------------------------------- */

ApiRequest *api_request(Api *api, const char *method, const char *path, json_t *body,
                        ApiDone done, void *ud)
{
	ApiRequest *r = xcalloc(1, sizeof *r);
	r->api = api;
	r->done = done;
	r->ud = ud;
	qdbuf_init(&r->body);
	r->easy = curl_easy_init();
	if (!r->easy)
		util_oom();

	char *url = xasprintf("%s%s", api->base_url, path);
	curl_easy_setopt(r->easy, CURLOPT_URL, url);
	free(url);
	curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
	curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->easy, CURLOPT_SOCKOPTFUNCTION, sockopt_cb);
	curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->curl_err);
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, api->timeout_ms);
	curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS, QD_MIN(api->timeout_ms, CONNECT_TIMEOUT_MS));
	curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(r->easy, CURLOPT_USERAGENT, "qdeck/" QD_VERSION);
	if (api->unix_socket)
		curl_easy_setopt(r->easy, CURLOPT_UNIX_SOCKET_PATH, api->unix_socket);

	r->headers = curl_slist_append(r->headers, "Accept: application/json");
	if (api->token && api->token[0]) {
		char *h = xasprintf("Authorization: Bearer %s", api->token);
		r->headers = curl_slist_append(r->headers, h);
		memset(h, 0, strlen(h));
		free(h);
	}
	bool is_get = strcmp(method, "GET") == 0;
	if (body || !is_get) {
		/* A body-less mutation goes out as "{}": an empty object is what the
		 * contract means, and qdeckd (lws) loses the response body of a request
		 * with "Content-Length: 0". */
		r->payload = body ? json_dumps(body, JSON_COMPACT) : NULL;
		if (!r->payload)
			r->payload = xstrdup("{}");
		r->headers = curl_slist_append(r->headers, "Content-Type: application/json");
		curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->payload);
		curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(r->payload));
	}
	if (strcmp(method, "POST") != 0 && !is_get)
		curl_easy_setopt(r->easy, CURLOPT_CUSTOMREQUEST, method);
	/* curl's "Expect: 100-continue" would add a round trip for our small bodies. */
	r->headers = curl_slist_append(r->headers, "Expect:");
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);

	r->next = api->reqs;
	if (api->reqs)
		api->reqs->prev = r;
	api->reqs = r;
	api->in_flight++;
	/* Only arms curl's timer: the transfer starts from the loop, never here. */
	curl_multi_add_handle(api->multi, r->easy);
	return r;
}

void api_cancel(ApiRequest *r)
{
	if (!r || r->completing)
		return;
	ApiResponse resp = {.outcome = API_CANCELLED, .err_code = "", .err_message = "cancelled",
	                    .err_suggestion = ""};
	req_complete(r, &resp);
}

int api_in_flight(const Api *api)
{
	return api ? api->in_flight : 0;
}

char *api_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out = xmalloc(n * 3 + 1);
	char *w = out;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~') {
			*w++ = (char)*p;
		} else {
			*w++ = '%';
			*w++ = hex[*p >> 4];
			*w++ = hex[*p & 15];
		}
	}
	*w = '\0';
	return out;
}

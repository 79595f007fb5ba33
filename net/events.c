/* events — the event-stream WebSocket client (see events.h).
 *
 * lws facts this relies on (lws 4.1.6 on a foreign libuv loop, see
 * ARCHITECTURE.md): the context is created with LWS_SERVER_OPTION_LIBUV and
 * foreign_loops and never serviced by hand; a client address starting with '+'
 * is a unix socket path; timeouts set from outside an lws callback need
 * lws_cancel_service() to be armed, so our own timing uses a uv timer. A wsi
 * outlives our interest in it (lws closes asynchronously), so every callback
 * first checks that the wsi is the current one; a dropped wsi gets its opaque
 * pointer cleared. */
#include "net/events.h"

#include <fcntl.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sanitize.h"
#include "common/util.h"
#include "net/resolve.h"

#define CONNECT_TIMEOUT_MS 10000

struct EventStream {
	uv_loop_t *loop;
	struct lws_context *ctx;
	struct lws *wsi;          /* current connection attempt, or NULL */
	uv_timer_t *timer;        /* connect timeout; own allocation */
	bool connected;
	bool reported;            /* the current attempt's outcome was reported */
	bool in_cb;               /* inside an lws callback for the current wsi */
	bool drop;                /* close the current wsi on the next callback */
	bool connecting;          /* inside lws_client_connect_via_info */
	bool tls;
	char *host, *path_prefix, *address, *token;
	int port;
	Resolve *resolving;       /* host name lookup before the connect */
	char path[512];           /* of the attempt being made */
	QdBuf msg;                /* fragments of the message being received */
	bool msg_oversize;
	int close_code;
	char close_reason[128];
	uint64_t received;
	EventsMessage on_msg;
	EventsState on_state;
	void *ud;
};

/* Contexts whose first lws_context_destroy ran; the second frees them. */
static struct lws_context **reap_list;
static size_t reap_count;

static const lws_retry_bo_t retry_policy = {
	/* lws pings a stream that has been quiet this long, and hangs up when the
	 * ping goes unanswered: a vanished host shows up as a loss, not silence. */
	.secs_since_valid_ping = 20,
	.secs_since_valid_hangup = 40,
};

static void report(EventStream *es, bool connected, int http_status, const char *why)
{
	if (!connected) {
		if (es->reported)
			return;
		es->reported = true;
		es->connected = false;
		uv_timer_stop(es->timer);
	} else {
		es->connected = true;
		uv_timer_stop(es->timer);
	}
	char clean[256];
	sanitize_str(why ? why : "", why ? strlen(why) : 0, clean, sizeof clean, false);
	EventsStatus st = {.connected = connected, .http_status = http_status,
	                   .close_code = es->close_code, .message = clean};
	if (es->on_state)
		es->on_state(es->ud, &st);
}

/* Forgets the current wsi; lws closes it in its own time. */
static void detach(EventStream *es, bool kill)
{
	struct lws *w = es->wsi;
	es->wsi = NULL;
	es->connected = false;
	qdbuf_reset(&es->msg);
	es->msg_oversize = false;
	if (!w)
		return;
	lws_set_opaque_user_data(w, NULL);
	if (kill && !es->in_cb) {
		lws_set_timeout(w, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
		lws_cancel_service(es->ctx);
	}
}

static void deliver(EventStream *es)
{
	json_error_t jerr;
	json_t *ev = json_loadb(es->msg.data, es->msg.len, JSON_REJECT_DUPLICATES, &jerr);
	qdbuf_reset(&es->msg);
	if (!json_is_object(ev)) {
		json_decref(ev);
		/* A stream that sends garbage cannot be trusted to be in sync. */
		es->drop = true;
		report(es, false, 0, "event stream sent a message that is not a JSON object");
		return;
	}
	es->received++;
	if (es->on_msg)
		es->on_msg(es->ud, ev);
	json_decref(ev);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
	EventStream *es = wsi ? lws_get_opaque_user_data(wsi) : NULL;
	/* Over a unix socket the connect completes inside
	 * lws_client_connect_via_info, so the handshake callbacks come before it
	 * has returned (and before pwsi is filled in): adopt the wsi then. */
	if (es && !es->wsi && es->connecting)
		es->wsi = wsi;
	if (!es || es->wsi != wsi) {
		/* A dropped connection still talking: make it go away. */
		if (reason == LWS_CALLBACK_CLIENT_RECEIVE || reason == LWS_CALLBACK_CLIENT_WRITEABLE)
			return -1;
		return 0;
	}
	int rc = 0;
	es->in_cb = true;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
		/* Not inherited by a qdeckd we spawn later (lws does not set it). */
		int fd = (int)lws_get_socket_fd(wsi);
		int fl = fd >= 0 ? fcntl(fd, F_GETFD) : -1;
		if (fl >= 0)
			fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
		if (!es->token || !es->token[0])
			break;
		unsigned char **p = (unsigned char **)in, *end = *p + len;
		char *v = xasprintf("Bearer %s", es->token);
		if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_AUTHORIZATION,
		                                 (unsigned char *)v, (int)strlen(v), p, end))
			rc = -1;
		memset(v, 0, strlen(v));
		free(v);
		break;
	}
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		es->close_code = 0;
		es->close_reason[0] = '\0';
		report(es, true, 0, "");
		break;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (es->msg_oversize || lws_frame_is_binary(wsi)) {
			char why[96];
			snprintf(why, sizeof why, "%s", lws_frame_is_binary(wsi)
			         ? "event stream sent a binary message"
			         : "event stream message larger than 1 MiB");
			es->drop = true;
			report(es, false, 0, why);
			break;
		}
		if (es->msg.len + len > EVENTS_MESSAGE_CAP) {
			es->msg_oversize = true;
			es->drop = true;
			report(es, false, 0, "event stream message larger than 1 MiB");
			break;
		}
		qdbuf_append(&es->msg, in, len);
		if (lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi))
			deliver(es);
		break;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (len >= 2) {
			const unsigned char *b = in;
			es->close_code = (b[0] << 8) | b[1];
			size_t rl = QD_MIN(len - 2, sizeof es->close_reason - 1);
			memcpy(es->close_reason, b + 2, rl);
			es->close_reason[rl] = '\0';
		}
		break;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
		int status = (int)lws_http_client_http_response(wsi);
		char why[200];
		if (status && status != 101)
			snprintf(why, sizeof why, "event stream refused: HTTP %d", status);
		else
			snprintf(why, sizeof why, "event stream: %s",
			         in && len ? (const char *)in : in ? (const char *)in : "connection failed");
		es->wsi = NULL;
		report(es, false, status == 101 ? 0 : status, why);
		break;
	}
	case LWS_CALLBACK_CLIENT_CLOSED: {
		char why[200];
		if (es->close_code)
			snprintf(why, sizeof why, "event stream closed by server (%d%s%s)", es->close_code,
			         es->close_reason[0] ? ": " : "", es->close_reason);
		else
			snprintf(why, sizeof why, "event stream connection lost");
		es->wsi = NULL;
		report(es, false, 0, why);
		break;
	}
	case LWS_CALLBACK_WSI_DESTROY:
		if (es->wsi == wsi) {
			es->wsi = NULL;
			report(es, false, 0, "event stream connection lost");
		}
		break;
	default:
		break;
	}
	if (es->drop && es->wsi == wsi) {
		es->drop = false;
		detach(es, false);
		rc = -1;
	}
	es->in_cb = false;
	return rc;
}

static const struct lws_protocols protocols[] = {
	{"qd-events", callback, 0, 0, 0, NULL, 0},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

/* "http://host:port/prefix" → parts. -1 on anything else. */
static int parse_base(EventStream *es, const char *url, char *errbuf, size_t errsz)
{
	const char *p;
	if (strncmp(url, "http://", 7) == 0) {
		p = url + 7;
		es->port = 80;
	} else if (strncmp(url, "https://", 8) == 0) {
		p = url + 8;
		es->port = 443;
		es->tls = true;
	} else {
		snprintf(errbuf, errsz, "API URL must start with http:// or https://");
		return -1;
	}
	size_t hl = strcspn(p, ":/");
	if (hl == 0 || hl > 253) {
		snprintf(errbuf, errsz, "API URL has no host");
		return -1;
	}
	es->host = xstrndup(p, hl);
	p += hl;
	if (*p == ':') {
		char *e;
		long port = strtol(p + 1, &e, 10);
		if (e == p + 1 || port < 1 || port > 65535 || (*e && *e != '/')) {
			snprintf(errbuf, errsz, "API URL has a bad port");
			return -1;
		}
		es->port = (int)port;
		p = e;
	}
	size_t pl = strlen(p);
	while (pl > 0 && p[pl - 1] == '/')
		pl--;
	es->path_prefix = xstrndup(p, pl);
	return 0;
}

static void timer_fire(uv_timer_t *t)
{
	EventStream *es = t->data;
	if (es->connected || es->reported)
		return;
	resolve_cancel(&es->resolving);
	detach(es, true);
	report(es, false, 0, "event stream: timed out connecting");
}

static void on_timer_closed(uv_handle_t *h)
{
	free(h);
}

static void quiet_log(int level, const char *line)
{
	(void)level;
	(void)line; /* the console owns the terminal: lws must not write to it */
}

void events_silence_lws(void)
{
	/* The log level is global to lws: every lws context in the console
	 * (event stream, terminals) calls this before it is created. */
	if (!getenv("QD_LWS_DEBUG"))
		lws_set_log_level(LLL_ERR, quiet_log);
}

EventStream *events_new(uv_loop_t *loop, const EventsConfig *cfg, EventsMessage on_msg,
                        EventsState on_state, void *ud, char *errbuf, size_t errsz)
{
	EventStream *es = xcalloc(1, sizeof *es);
	es->loop = loop;
	es->on_msg = on_msg;
	es->on_state = on_state;
	es->ud = ud;
	qdbuf_init(&es->msg);
	if (parse_base(es, cfg->base_url ? cfg->base_url : "http://localhost", errbuf, errsz) < 0) {
		free(es->host);
		free(es->path_prefix);
		free(es);
		return NULL;
	}
	if (cfg->unix_socket)
		es->address = xasprintf("+%s", cfg->unix_socket);
	else
		es->address = xstrdup(es->host);
	es->token = cfg->token ? xstrdup(cfg->token) : NULL;

	events_silence_lws();
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	void *loops[1] = {loop};
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.options = LWS_SERVER_OPTION_LIBUV;
	if (es->tls)
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info.foreign_loops = loops;
	info.pt_serv_buf_size = 65536;
	info.gid = (gid_t)-1;
	info.uid = (uid_t)-1;
	es->ctx = lws_create_context(&info);
	if (!es->ctx) {
		snprintf(errbuf, errsz, "cannot create the WebSocket client (libwebsockets)");
		free(es->host);
		free(es->path_prefix);
		free(es->address);
		free(es->token);
		free(es);
		return NULL;
	}
	es->timer = xcalloc(1, sizeof *es->timer);
	uv_timer_init(loop, es->timer);
	es->timer->data = es;
	return es;
}

void events_free(EventStream **esp)
{
	if (!esp || !*esp)
		return;
	EventStream *es = *esp;
	*esp = NULL;
	es->reported = true; /* no callbacks from here on */
	resolve_cancel(&es->resolving);
	detach(es, false);
	uv_timer_stop(es->timer);
	uv_close((uv_handle_t *)es->timer, on_timer_closed);
	/* First destroy closes lws' uv handles; the second (events_reap) frees. */
	lws_context_destroy(es->ctx);
	reap_list = xrealloc(reap_list, (reap_count + 1) * sizeof *reap_list);
	reap_list[reap_count++] = es->ctx;
	qdbuf_done(&es->msg);
	free(es->host);
	free(es->path_prefix);
	free(es->address);
	if (es->token) {
		memset(es->token, 0, strlen(es->token));
		free(es->token);
	}
	free(es);
}

void events_reap(void)
{
	for (size_t i = 0; i < reap_count; i++)
		lws_context_destroy(reap_list[i]);
	free(reap_list);
	reap_list = NULL;
	reap_count = 0;
}

void events_set_token(EventStream *es, const char *token)
{
	if (es->token) {
		memset(es->token, 0, strlen(es->token));
		free(es->token);
	}
	es->token = token ? xstrdup(token) : NULL;
}

static int connect_to(EventStream *es, const char *address, char *errbuf, size_t errsz)
{
	struct lws_client_connect_info ci;
	memset(&ci, 0, sizeof ci);
	ci.context = es->ctx;
	ci.address = address;
	ci.port = es->port;
	ci.path = es->path;
	ci.host = es->host;
	ci.origin = es->host;
	ci.protocol = "qd-events";
	ci.local_protocol_name = "qd-events";
	ci.ssl_connection = es->tls ? LCCSCF_USE_SSL : 0;
	ci.opaque_user_data = es;
	ci.retry_and_idle_policy = &retry_policy;
	ci.pwsi = &es->wsi;
	es->connecting = true;
	struct lws *w = lws_client_connect_via_info(&ci);
	es->connecting = false;
	if (!w) {
		es->wsi = NULL;
		if (es->reported)
			return 0; /* the failure was already reported through the callback */
		es->reported = true;
		uv_timer_stop(es->timer);
		snprintf(errbuf, errsz, "event stream: cannot connect to %s",
		         address[0] == '+' ? address + 1 : address);
		return -1;
	}
	/* Arms lws' own timers set from outside a callback (see ARCHITECTURE.md). */
	lws_cancel_service(es->ctx);
	return 0;
}

static void on_resolved(void *ud, const char *numeric, const char *err)
{
	EventStream *es = ud;
	char why[320];

	es->resolving = NULL;
	if (es->reported)
		return; /* timed out meanwhile */
	if (!numeric) {
		snprintf(why, sizeof why, "event stream: %s", err);
		report(es, false, 0, why);
		return;
	}
	if (connect_to(es, numeric, why, sizeof why) < 0) {
		es->reported = false; /* connect_to marked it; this is the one report */
		report(es, false, 0, why);
	}
}

int events_connect(EventStream *es, int64_t since, char *errbuf, size_t errsz)
{
	detach(es, true);
	resolve_cancel(&es->resolving);
	es->reported = false;
	es->close_code = 0;
	es->close_reason[0] = '\0';
	if (since < 0)
		since = 0;
	snprintf(es->path, sizeof es->path, "%s/api/v1/events/stream?since=%lld", es->path_prefix,
	         (long long)since);
	uv_timer_start(es->timer, timer_fire, CONNECT_TIMEOUT_MS, 0);
	if (es->address[0] == '+' || resolve_is_literal(es->address))
		return connect_to(es, es->address, errbuf, errsz);
	/* A name: look it up off the loop thread; the outcome comes through
	 * EventsState like any other failure. */
	es->resolving = resolve_start(es->loop, es->address, on_resolved, es, errbuf, errsz);
	if (!es->resolving) {
		es->reported = true;
		uv_timer_stop(es->timer);
		return -1;
	}
	return 0;
}

void events_disconnect(EventStream *es)
{
	es->reported = true;
	resolve_cancel(&es->resolving);
	uv_timer_stop(es->timer);
	if (es->in_cb)
		es->drop = true; /* the callback we are inside returns -1 */
	else
		detach(es, true);
}

bool events_connected(const EventStream *es)
{
	return es && es->connected;
}

uint64_t events_received(const EventStream *es)
{
	return es ? es->received : 0;
}

/* termclient — v5.channel.k8s.io client on the console's libuv loop. */
#include "net/termclient.h"
#include "net/events.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <string.h>

#include "common/sanitize.h"
#include "common/util.h"
#include "net/resolve.h"

#define STDIN_QUEUE_MAX (1024 * 1024)

struct TermClient {
	struct lws *wsi;
	TermClientState state;
	TermClientCallbacks cb;
	void *ud;
	char *token; /* wiped and freed once the handshake headers are written */
	int rows, cols;
	bool resize_pending;
	QdBuf out; /* stdin bytes waiting for WRITEABLE */
	int rx_channel; /* channel of the message being received, -1 before its first byte */
	uint8_t ctl[TP_MAX_CONTROL + 1];
	size_t ctl_len;
	bool got_status;
	bool in_cb;       /* inside one of the owner's callbacks */
	bool user_closed; /* termclient_close was called */
	bool reported;    /* the final state was delivered */
	int http_status;
	char why[160];
	/* Where to connect; a host name is looked up first (resolve.h). */
	Resolve *resolving;
	char *host, *path, *unix_addr;
	int port;
	bool tls;
};

static struct {
	struct lws_context *ctx;
	uv_loop_t *loop;
} g;

static void client_free(TermClient *c)
{
	resolve_cancel(&c->resolving);
	free(c->host);
	free(c->path);
	free(c->unix_addr);
	if (c->token) {
		explicit_bzero(c->token, strlen(c->token));
		free(c->token);
	}
	qdbuf_done(&c->out);
	free(c);
}

/* Delivers the final state once; frees c if the owner closed it meanwhile.
 * Returns true when c is gone. */
static bool report_end(TermClient *c, TermClientState st)
{
	c->wsi = NULL;
	if (c->user_closed) {
		client_free(c);
		return true;
	}
	if (c->reported)
		return false;
	c->reported = true;
	c->state = st;
	if (c->cb.state) {
		c->in_cb = true;
		c->cb.state(c->ud, st, c->http_status, c->why);
		c->in_cb = false;
	}
	if (c->user_closed) {
		client_free(c);
		return true;
	}
	return false;
}

static void set_why(TermClient *c, const char *fmt, const char *arg)
{
	char raw[512];

	snprintf(raw, sizeof(raw), fmt, arg ? arg : "");
	sanitize_str(raw, strlen(raw), c->why, sizeof(c->why), false);
}

static int handle_control(struct lws *wsi, TermClient *c)
{
	TpStatus st;
	TpError e;

	if (c->rx_channel != TP_CH_STATUS)
		return 0; /* resize/close from a server: nothing to do */
	e = termproto_status_parse(c->ctl, c->ctl_len, &st);
	if (e != TP_OK) {
		set_why(c, "bad status message from the server: %s", termproto_strerror(e));
		lws_close_reason(wsi, LWS_CLOSE_STATUS_PROTOCOL_ERR, (unsigned char *)"bad status", 10);
		return -1;
	}
	c->got_status = true;
	set_why(c, "%s", st.message[0] ? st.message : (st.success ? "shell exited" : "session ended"));
	if (c->cb.status && !c->user_closed) {
		c->in_cb = true;
		c->cb.status(c->ud, &st);
		c->in_cb = false;
	}
	return 0;
}

static int on_receive(struct lws *wsi, TermClient *c, const uint8_t *in, size_t len)
{
	if (lws_is_first_fragment(wsi)) {
		c->rx_channel = -1;
		c->ctl_len = 0;
		if (!lws_frame_is_binary(wsi)) {
			set_why(c, "server sent a text frame%s", "");
			return -1;
		}
	}
	if (c->rx_channel < 0 && len) {
		TpFrame f;
		TpError e = termproto_decode(in, 1, &f);

		if (e != TP_OK) {
			set_why(c, "server sent %s", termproto_strerror(e));
			lws_close_reason(wsi, LWS_CLOSE_STATUS_PROTOCOL_ERR, (unsigned char *)"bad channel",
			                 11);
			return -1;
		}
		c->rx_channel = in[0];
		in++;
		len--;
	}
	if (c->rx_channel == TP_CH_STDOUT || c->rx_channel == TP_CH_STDERR) {
		/* Streamed fragment by fragment: no reassembly needed for output. */
		if (len && c->cb.output && !c->user_closed)
			c->cb.output(c->ud, (const char *)in, len);
	} else if (c->rx_channel >= 0) {
		if (c->ctl_len + len > TP_MAX_CONTROL) {
			set_why(c, "server control message over %s bytes", "4096");
			lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, (unsigned char *)"too big",
			                 7);
			return -1;
		}
		memcpy(c->ctl + c->ctl_len, in, len);
		c->ctl_len += len;
	}
	if (lws_is_final_fragment(wsi) && c->rx_channel >= 0 && c->rx_channel != TP_CH_STDOUT &&
	    c->rx_channel != TP_CH_STDERR)
		return handle_control(wsi, c);
	return 0;
}

static int on_writeable(struct lws *wsi, TermClient *c)
{
	uint8_t buf[LWS_PRE + 1 + TP_CHUNK];
	size_t n;

	if (c->user_closed) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, (unsigned char *)"detached", 8);
		return -1;
	}
	if (c->resize_pending) {
		n = termproto_resize_format((char *)buf + LWS_PRE + 1, TP_MAX_CONTROL, c->cols, c->rows);
		c->resize_pending = false;
		if (n) {
			buf[LWS_PRE] = TP_CH_RESIZE;
			if (lws_write(wsi, buf + LWS_PRE, n + 1, LWS_WRITE_BINARY) < (int)n + 1)
				return -1;
		}
	} else if (c->out.len) {
		n = QD_MIN(c->out.len, (size_t)TP_CHUNK);
		buf[LWS_PRE] = TP_CH_STDIN;
		memcpy(buf + LWS_PRE + 1, c->out.data, n);
		if (lws_write(wsi, buf + LWS_PRE, n + 1, LWS_WRITE_BINARY) < (int)n + 1)
			return -1;
		memmove(c->out.data, c->out.data + n, c->out.len - n);
		c->out.len -= n;
	}
	if (c->resize_pending || c->out.len)
		lws_callback_on_writable(wsi);
	return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
	TermClient *c = lws_get_opaque_user_data(wsi);

	switch (reason) {
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
		unsigned char **p = in, *end = *p + len;
		char *hdr;
		int rc;

		if (!c || !c->token)
			return -1;
		hdr = xasprintf("Bearer %s", c->token);
		rc = lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_AUTHORIZATION,
		                                  (unsigned char *)hdr, (int)strlen(hdr), p, end);
		explicit_bzero(hdr, strlen(hdr));
		free(hdr);
		/* Single use: the token has no further purpose in this process. */
		explicit_bzero(c->token, strlen(c->token));
		free(c->token);
		c->token = NULL;
		return rc ? -1 : 0;
	}
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		if (!c)
			return -1;
		if (c->user_closed) {
			lws_callback_on_writable(wsi);
			return 0;
		}
		c->state = TERMCLIENT_OPEN;
		c->resize_pending = true; /* the shell starts once it knows the size */
		lws_callback_on_writable(wsi);
		if (c->cb.state) {
			c->in_cb = true;
			c->cb.state(c->ud, TERMCLIENT_OPEN, 0, "");
			c->in_cb = false;
		}
		return 0;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		return c ? on_receive(wsi, c, in, len) : -1;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		return c ? on_writeable(wsi, c) : -1;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (c && !c->got_status && len >= 2) {
			const uint8_t *b = in;
			char reason_txt[128];
			size_t n = QD_MIN(len - 2, sizeof(reason_txt) - 1);

			memcpy(reason_txt, b + 2, n);
			reason_txt[n] = '\0';
			snprintf(c->why, sizeof(c->why), "server closed (%u): ", (unsigned)(b[0] << 8 | b[1]));
			sanitize_str(reason_txt, n, c->why + strlen(c->why), sizeof(c->why) - strlen(c->why),
			             false);
		}
		return 0;
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		if (!c)
			return 0;
		lws_set_opaque_user_data(wsi, NULL);
		c->http_status = (int)lws_http_client_http_response(wsi);
		if (c->http_status == 401)
			set_why(c, "terminal token refused (expired or already used)%s", "");
		else if (c->http_status) {
			char num[16];

			snprintf(num, sizeof(num), "%d", c->http_status);
			set_why(c, "terminal handshake refused: HTTP %s", num);
		}
		else
			set_why(c, "cannot connect: %s", in ? (const char *)in : "unknown error");
		report_end(c, TERMCLIENT_LOST);
		return 0;
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (!c)
			return 0;
		lws_set_opaque_user_data(wsi, NULL);
		if (!c->got_status && !c->why[0])
			set_why(c, "connection lost%s", "");
		report_end(c, c->got_status ? TERMCLIENT_ENDED : TERMCLIENT_LOST);
		return 0;
	default:
		return 0;
	}
}

static const struct lws_protocols protocols[] = {
    {.name = TERMPROTO_SUBPROTOCOL, .callback = callback, .rx_buffer_size = TP_MAX_MESSAGE},
    {0},
};

int termclient_init(uv_loop_t *loop, char *errbuf, size_t errsz)
{
	struct lws_context_creation_info info;
	void *loops[1] = {loop};

	if (g.ctx)
		return 0;
	events_silence_lws();
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.options = LWS_SERVER_OPTION_LIBUV | LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info.foreign_loops = loops;
	info.pt_serv_buf_size = 65536; /* fewer loop iterations on an output flood */
	g.ctx = lws_create_context(&info);
	if (!g.ctx) {
		snprintf(errbuf, errsz, "cannot create the terminal client context");
		return -1;
	}
	g.loop = loop;
	return 0;
}

void termclient_shutdown(void)
{
	if (g.ctx)
		lws_context_destroy(g.ctx);
}

void termclient_reap(void)
{
	if (g.ctx)
		lws_context_destroy(g.ctx);
	g.ctx = NULL;
}

/* -1 when lws refused to start (c may be gone then: see report_end). */
static int client_connect(TermClient *c, const char *address)
{
	struct lws_client_connect_info ci;

	memset(&ci, 0, sizeof(ci));
	ci.context = g.ctx;
	ci.address = address;
	ci.port = c->unix_addr ? 0 : c->port;
	ci.host = c->unix_addr ? "localhost" : c->host;
	ci.origin = ci.host;
	ci.ssl_connection = c->tls && !c->unix_addr ? LCCSCF_USE_SSL : 0;
	ci.path = c->path;
	ci.protocol = TERMPROTO_SUBPROTOCOL;
	ci.local_protocol_name = TERMPROTO_SUBPROTOCOL;
	ci.opaque_user_data = c;
	ci.pwsi = &c->wsi;
	return lws_client_connect_via_info(&ci) ? 0 : -1;
}

static void on_resolved(void *ud, const char *numeric, const char *err)
{
	TermClient *c = ud;

	c->resolving = NULL;
	if (!numeric) {
		set_why(c, "%s", err);
		report_end(c, TERMCLIENT_LOST);
		return;
	}
	if (client_connect(c, numeric) < 0 && !c->reported) {
		set_why(c, "cannot start the terminal connection to %s", numeric);
		report_end(c, TERMCLIENT_LOST);
	}
}

TermClient *termclient_open(const TermClientConfig *cfg, const TermClientCallbacks *cb, void *ud,
                            char *errbuf, size_t errsz)
{
	const char *prot, *ads, *path;
	char *url;
	int port;
	bool tls;
	TermClient *c;

	if (!g.ctx) {
		snprintf(errbuf, errsz, "terminal client not initialised");
		return NULL;
	}
	if (!cfg->url || !cfg->token || !cfg->token[0] || strlen(cfg->url) > 1024) {
		snprintf(errbuf, errsz, "terminal url or token missing");
		return NULL;
	}
	url = xstrdup(cfg->url);
	if (lws_parse_uri(url, &prot, &ads, &port, &path)) {
		free(url);
		snprintf(errbuf, errsz, "terminal url is not a URL");
		return NULL;
	}
	if (!strcmp(prot, "wss") || !strcmp(prot, "https"))
		tls = true;
	else if (!strcmp(prot, "ws") || !strcmp(prot, "http"))
		tls = false;
	else {
		free(url);
		snprintf(errbuf, errsz, "terminal url must be ws://, wss://, http:// or https://");
		return NULL;
	}
	c = xcalloc(1, sizeof(*c));
	c->cb = *cb;
	c->ud = ud;
	c->token = xstrdup(cfg->token);
	c->rows = QD_MAX(TP_DIM_MIN, QD_MIN(cfg->rows, TP_DIM_MAX));
	c->cols = QD_MAX(TP_DIM_MIN, QD_MIN(cfg->cols, TP_DIM_MAX));
	c->rx_channel = -1;
	c->state = TERMCLIENT_CONNECTING;
	qdbuf_init(&c->out);
	c->host = xstrdup(ads);
	c->path = xasprintf("/%s", path);
	c->port = port;
	c->tls = tls;
	free(url);
	if (cfg->unix_socket)
		c->unix_addr = xasprintf("+%s", cfg->unix_socket);

	if (!c->unix_addr && !resolve_is_literal(c->host)) {
		/* A name: look it up off the loop thread; a failure arrives as a
		 * LOST state like any other. */
		c->resolving = resolve_start(g.loop, c->host, on_resolved, c, errbuf, errsz);
		if (!c->resolving) {
			client_free(c);
			return NULL;
		}
		return c;
	}
	if (client_connect(c, c->unix_addr ? c->unix_addr : c->host) < 0) {
		/* lws may already have reported CONNECTION_ERROR through the callback. */
		snprintf(errbuf, errsz, "cannot start the terminal connection");
		if (!c->reported)
			client_free(c);
		return NULL;
	}
	return c;
}

int termclient_send(TermClient *c, const void *bytes, size_t len)
{
	if (!c || c->state != TERMCLIENT_OPEN || !c->wsi)
		return -1;
	if (c->out.len + len > STDIN_QUEUE_MAX)
		return -1;
	qdbuf_append(&c->out, bytes, len);
	lws_callback_on_writable(c->wsi);
	return 0;
}

void termclient_resize(TermClient *c, int rows, int cols)
{
	if (!c)
		return;
	rows = QD_MAX(TP_DIM_MIN, QD_MIN(rows, TP_DIM_MAX));
	cols = QD_MAX(TP_DIM_MIN, QD_MIN(cols, TP_DIM_MAX));
	if (rows == c->rows && cols == c->cols)
		return;
	c->rows = rows;
	c->cols = cols;
	if (c->state == TERMCLIENT_OPEN && c->wsi) {
		c->resize_pending = true;
		lws_callback_on_writable(c->wsi);
	}
}

TermClientState termclient_state(const TermClient *c) { return c ? c->state : TERMCLIENT_LOST; }

void termclient_close(TermClient **cp)
{
	TermClient *c = cp ? *cp : NULL;

	if (!c)
		return;
	*cp = NULL;
	c->user_closed = true;
	memset(&c->cb, 0, sizeof(c->cb));
	if (c->in_cb)
		return; /* freed when the callback returns */
	if (c->wsi) {
		lws_callback_on_writable(c->wsi); /* WRITEABLE closes; CLOSED frees */
		return;
	}
	client_free(c);
}

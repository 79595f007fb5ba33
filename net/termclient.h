/* termclient — the console's WebSocket client for allocation terminals
 * (subprotocol v5.channel.k8s.io, docs/terminal-protocol.md).
 *
 * One lws client context serves every terminal session of the process; it
 * lives on the console's libuv loop (foreign loop) and is separate from the
 * event stream's context in net/events.c, so neither module's protocol list
 * depends on the other's. termclient_init() creates it once.
 *
 * A TermClient is one connection made with one single-use token. It does
 * not reconnect: when it reports TERMCLIENT_LOST the owner mints a new
 * token and opens a new TermClient (the pane, and its screen, survive).
 * Callbacks only record and mark dirty (they run inside lws callbacks).
 *
 * Shutdown (lws on a foreign loop): termclient_close() every client, then
 * termclient_shutdown() from a uv callback, and termclient_reap() after
 * uv_run() has returned. */
#ifndef QD_NET_TERMCLIENT_H
#define QD_NET_TERMCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "common/termproto.h"

typedef struct TermClient TermClient;

typedef enum {
	TERMCLIENT_CONNECTING, /* handshake under way */
	TERMCLIENT_OPEN,       /* handshake done; the size was sent, the shell is starting */
	TERMCLIENT_ENDED,      /* the server sent a status (exit code) and closed */
	TERMCLIENT_LOST,       /* refused, or the connection dropped without a status */
} TermClientState;

typedef struct {
	/* Bytes from the shell for termpane_write(); chunks split UTF-8 anywhere. */
	void (*output)(void *ud, const char *bytes, size_t len);
	/* The session's end: exit code when st->has_code; message is sanitized. */
	void (*status)(void *ud, const TpStatus *st);
	/* http_status: the handshake was refused with this status (401 = token
	 * refused: mint another), else 0. why: one sanitized line. */
	void (*state)(void *ud, TermClientState state, int http_status, const char *why);
} TermClientCallbacks;

typedef struct {
	const char *url;         /* from the mint response: ws[s]://host[:port]/api/v1/terminal (http[s] accepted) */
	const char *token;       /* sent only in the Authorization header; not kept after the handshake */
	const char *unix_socket; /* local control plane: connect here, use the url's path; NULL for TCP */
	int rows, cols;          /* initial size, sent as the first message */
} TermClientConfig;

/* Creates the shared lws client context on loop. 0, or -1 with errbuf. */
int termclient_init(uv_loop_t *loop, char *errbuf, size_t errsz);
/* From a uv callback, after every client was closed: first lws_context_destroy. */
void termclient_shutdown(void);
/* After uv_run() returned: the destroy that frees. */
void termclient_reap(void);

/* Starts connecting. NULL with errbuf when the url is unusable or the context
 * is missing (no callback follows); otherwise callbacks report the outcome. */
TermClient *termclient_open(const TermClientConfig *cfg, const TermClientCallbacks *cb, void *ud,
                            char *errbuf, size_t errsz);
/* Queues keystrokes/paste for the shell (channel 0). -1 when not open or
 * more than 1 MiB is already waiting. */
int termclient_send(TermClient *c, const void *bytes, size_t len);
/* Records the pane's size; sent now if open (only the latest size is sent). */
void termclient_resize(TermClient *c, int rows, int cols);
TermClientState termclient_state(const TermClient *c);
/* Drops the connection; no callback follows. Safe inside this module's callbacks. */
void termclient_close(TermClient **c);

#endif

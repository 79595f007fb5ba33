/* events — the console's client for the v1 event stream
 * (WS /api/v1/events/stream?since=ID, subprotocol "qd-events"): a
 * libwebsockets client context on the console's foreign libuv loop.
 *
 * One text message is one event JSON. Messages are reassembled from fragments
 * up to a 1 MiB cap; a bigger one drops the connection with a clear reason
 * instead of buffering without bound. Each parsed event object is handed to the
 * EventsMessage callback; connection changes go to EventsState. The stream does
 * not reconnect by itself: the session owns the backoff policy.
 *
 * Shutdown (lws on a foreign loop): events_free() from a uv callback or from
 * outside the loop (never from inside one of this module's callbacks), then,
 * after uv_run() has returned, events_reap() frees what lws still holds. */
#ifndef QD_NET_EVENTS_H
#define QD_NET_EVENTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#define EVENTS_MESSAGE_CAP (1024 * 1024)

typedef struct EventStream EventStream;

typedef struct {
	const char *base_url;    /* "http://host:port" (https → TLS); host ignored with unix_socket */
	const char *unix_socket; /* NULL for TCP */
	const char *token;       /* sent in the handshake's Authorization header; copied */
} EventsConfig;

/* Why the stream is not (or no longer) connected. */
typedef struct {
	bool connected;          /* true once the handshake completed */
	int http_status;         /* handshake refused with this status (401, 400, ...), else 0 */
	int close_code;          /* close frame code from the server, else 0 */
	const char *message;     /* one line, sanitized; "" when connected */
} EventsStatus;

/* event is borrowed for the call. */
typedef void (*EventsMessage)(void *ud, json_t *event);
typedef void (*EventsState)(void *ud, const EventsStatus *st);

/* NULL with errbuf filled when the lws context cannot be created. */
EventStream *events_new(uv_loop_t *loop, const EventsConfig *cfg, EventsMessage on_msg,
                        EventsState on_state, void *ud, char *errbuf, size_t errsz);
void events_free(EventStream **es);
/* Frees lws contexts left by events_free once the loop has stopped. */
void events_reap(void);

void events_set_token(EventStream *es, const char *token);
/* Starts one connection attempt from event id > since. A previous connection
 * is dropped silently. The outcome arrives through EventsState exactly once
 * per attempt (connected, then later the loss; or the failure). -1 when the
 * attempt could not even start (errbuf says why; no callback follows). */
int events_connect(EventStream *es, int64_t since, char *errbuf, size_t errsz);
/* Drops the connection without a callback. Safe from any callback. */
void events_disconnect(EventStream *es);
bool events_connected(const EventStream *es);
/* Events handed over since events_new (for tests and the status line). */
uint64_t events_received(const EventStream *es);

/* Keeps libwebsockets from writing log lines to the terminal the console owns
 * (QD_LWS_DEBUG=1 lets them through). Call before creating any lws context. */
void events_silence_lws(void);

#endif

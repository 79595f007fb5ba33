/* stream — the events WebSocket: /api/v1/events/stream?since=ID.
 *
 * Subprotocol "qd-events" (a client sending none is accepted too: http.c
 * forwards WebSocket callbacks of its default protocol here). The bearer token
 * in the handshake's Authorization header is checked before the upgrade. Each
 * connection sends the events its principal may see, one text message per
 * event, in id order from id > since, one message per WRITEABLE so a slow
 * reader only slows itself. New commits wake every stream through the model's
 * event hook. A ping goes out every 20 s; shutdown closes with "going away". */
#ifndef QD_SERVER_STREAM_H
#define QD_SERVER_STREAM_H

#include <libwebsockets.h>
#include <stdbool.h>
#include <uv.h>

#include "server/model.h"
#include "server/routes.h"

#define STREAM_PATH "/api/v1/events/stream"
#define STREAM_SUBPROTOCOL "qd-events"

/* Starts the ping timer and registers the model's event hook. */
int stream_init(uv_loop_t *loop, Db *db, Routes *routes);
void stream_set_context(struct lws_context *ctx);
/* Asks every stream to close with a reason (call before destroying the context). */
void stream_begin_shutdown(void);
/* Closes the ping timer (from a uv callback, before uv_run returns). */
void stream_done(void);

/* The lws protocol entry, and its callback for http.c's forwarding. */
struct lws_protocols stream_protocol(void);
int stream_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len);
size_t stream_pss_size(void);
/* Connections currently streaming (for tests and the log). */
int stream_count(void);

#endif

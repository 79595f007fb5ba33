/* terminal — allocation shells for qdeckd: PTY sessions over WebSocket.
 *
 * The WebSocket subprotocol is "v5.channel.k8s.io" (docs/terminal-protocol.md)
 * on the exact path /api/v1/terminal; the single-use token minted by
 * POST /allocations/{id}/terminal-token arrives in the handshake's
 * Authorization header and is checked (model_terminal_token_consume) before
 * any process starts. The shell starts once the first resize arrives.
 *
 * http.c puts terminal_protocol() into its lws protocol list and calls
 * terminal_init() before creating the lws context. */
#ifndef QD_SERVER_TERMINAL_H
#define QD_SERVER_TERMINAL_H

#include <libwebsockets.h>
#include <uv.h>

#include "server/model.h"

#define TERMINAL_PATH "/api/v1/terminal"
#define TERMINAL_SUBPROTOCOL "v5.channel.k8s.io"

int terminal_init(uv_loop_t *loop, Db *db);
/* Kills every session's child and closes its PTY poll (call from a uv callback). */
void terminal_shutdown(void);
/* The lws protocol entry (name TERMINAL_SUBPROTOCOL, callback, per-session size). */
struct lws_protocols terminal_protocol(void);

#endif

/* local — finding or starting the local control plane (qdeckd on a unix socket
 * in the user's runtime dir) and holding an admin token for it.
 *
 * Everything that waits runs on the loop: probing the socket is a uv_pipe
 * connect, qdeckd is started with uv_spawn (detached: setsid, stdin
 * /dev/null, stderr to $XDG_STATE_HOME/quarterdeck/qdeckd.log), readiness is
 * polled with a uv timer, and the token comes from `qdeckd token create --user
 * ops` read through a pipe. The token is cached in
 * $XDG_STATE_HOME/quarterdeck/local-token (mode 0600) and reused. */
#ifndef QD_NET_LOCAL_H
#define QD_NET_LOCAL_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

/* $XDG_RUNTIME_DIR/quarterdeck/qdeckd.sock, else /tmp/quarterdeck-$UID/qdeckd.sock.
 * Creates the directory (0700) when missing. -1 with errbuf on failure. */
int local_socket_path(char *buf, size_t sz, char *errbuf, size_t errsz);
/* $XDG_STATE_HOME/quarterdeck, else ~/.local/state/quarterdeck (created 0700). */
int local_state_dir(char *buf, size_t sz, char *errbuf, size_t errsz);
/* QDECKD_BIN, else qdeckd next to /proc/self/exe, else "qdeckd" (PATH). Heap string. */
char *local_qdeckd_path(void);

typedef struct LocalPlane LocalPlane;

/* ok: token is the admin token (borrowed for the call); else message says what failed. */
typedef void (*LocalReady)(void *ud, bool ok, const char *token, const char *message);
/* Progress lines for the status bar ("starting local control plane"). */
typedef void (*LocalProgress)(void *ud, const char *message);

LocalPlane *local_new(uv_loop_t *loop, const char *socket_path, LocalReady ready,
                      LocalProgress progress, void *ud);
/* Kills nothing: a qdeckd we started keeps running for the next console. */
void local_free(LocalPlane **lp);
/* Makes sure qdeckd answers on the socket (starting it when nothing does),
 * then reports a token (the cached one when there is one). Again-safe: a call
 * while one is running is ignored. */
void local_ensure(LocalPlane *lp);
/* The token was rejected (401): mint a new one, then report through ready. */
void local_renew_token(LocalPlane *lp);
/* True once this console has spawned qdeckd. */
bool local_spawned(const LocalPlane *lp);

#endif

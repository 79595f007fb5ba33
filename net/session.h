/* session — one signed-in connection to a v1 API: finds or starts the server,
 * loads the caller's profile and the fleet into the store page by page, and
 * keeps it live with the event stream, resuming from the last event id after
 * any disconnect. This is what the console's screens talk to.
 *
 * Everything runs on the caller's libuv loop; state changes are reported
 * through the listener, which must only record and mark things dirty. */
#ifndef QD_NET_SESSION_H
#define QD_NET_SESSION_H

#include <stdbool.h>
#include <uv.h>

#include "net/api.h"
#include "net/store.h"

typedef struct Session Session;

typedef enum {
	SESSION_CONNECTING,   /* first contact not made yet */
	SESSION_LOADING,      /* profile known, pages streaming in */
	SESSION_LIVE,         /* loaded and the event stream is open */
	SESSION_RECONNECTING, /* lost the server or the stream; retrying with backoff */
	SESSION_UNAUTHORIZED, /* 401: the token is missing, unknown or expired */
	SESSION_FORBIDDEN,    /* 403 on the main list */
	SESSION_RATE_LIMITED, /* 429: waiting Retry-After */
	SESSION_ERROR,        /* other error; message says which */
} SessionState;

typedef struct {
	char *user_id, *user_name, *org_id, *org_name;
	bool is_admin, is_billing;
	long long balance_cents;
} SessionProfile;

/* How the console found its server. */
typedef struct {
	char *api_url;        /* --api / QDECK_API_URL / config; NULL = local control plane */
	char *unix_socket;    /* set when talking to the local qdeckd */
	char *token;          /* never printed */
	bool local;           /* true: "local control plane" in the status line */
	bool started_local;   /* we spawned qdeckd this run */
} SessionTarget;

typedef void (*SessionListener)(void *ud, SessionState state, const char *message);

/* Resolves where to connect, in the documented order: --api URL, then
 * QDECK_API_URL, then $XDG_CONFIG_HOME/quarterdeck/config ("api = URL"), else
 * the local control plane (start or reuse qdeckd on
 * $XDG_RUNTIME_DIR/quarterdeck/qdeckd.sock, seeded with demo data, signed in as
 * its admin). Token: QDECK_TOKEN, else $XDG_CONFIG_HOME/quarterdeck/token,
 * which must be mode 0600 or stricter. Returns 0, or -1 with a one-line
 * message in errbuf that says what to do. */
int session_resolve_target(const char *api_flag, SessionTarget *out, char *errbuf, size_t errsz);
void session_target_done(SessionTarget *t);

Session *session_new(uv_loop_t *loop, const SessionTarget *target, Store *store,
                     SessionListener fn, void *ud);
void session_free(Session **s);
/* Before session_start: sign in (find or start the server, read /me) and
 * stop there, in SESSION_LOADING "signed in": no fleet load, no event
 * stream. For CLI verbs, which make their own requests. */
void session_set_profile_only(Session *s, bool on);
void session_start(Session *s);

SessionState session_state(const Session *s);
/* Human line for the status bar ("live", "reconnecting in 4s: connection refused"). */
const char *session_message(const Session *s);
const SessionProfile *session_profile(const Session *s);
const SessionTarget *session_target(const Session *s);
Api *session_api(Session *s);
/* Pages loaded so far / whether the full list is in. */
bool session_fully_loaded(const Session *s);
/* Events from the stream applied to the store since session_new (a resumed
 * stream's duplicates are not counted): for diagnostics and tests. */
unsigned long long session_events_applied(const Session *s);
/* Signs in again with another token (the sign-in dialog, after a 401): the
 * token replaces the old one in the HTTP client and the event stream (the
 * caller's copy may be wiped right after), the unauthorized state is
 * cleared and the flow starts again from GET /me, keeping the store and
 * whatever was loaded; an event stream that was open reopens from the last
 * event id. A refused token ends in SESSION_UNAUTHORIZED again; an accepted
 * one goes on to LOADING and LIVE. The token is never reported anywhere. */
void session_sign_in(Session *s, const char *token);
/* Asks for the freshest copy of one allocation (and its task) now. */
void session_refresh_allocation(Session *s, const char *alloc_id);

#endif

/* contract — the v1 API's enums and the allocation transition table, linked by
 * both qdeck and qdeckd so the two sides can never disagree about them.
 *
 * The table is the one MAAS-style declaration the rest of the code consults:
 * every in-progress state names its success state, its failure twin and its
 * deadline; every action names the states it may start from. The console greys
 * out what contract_action_allowed() refuses; the server answers 409 for it. */
#ifndef QD_CONTRACT_H
#define QD_CONTRACT_H

#include <stdbool.h>
#include <stdint.h>

#define ALLOC_STATES(X)                                                           \
	X(PROVISIONING, "provisioning", "◐", "~")                                 \
	X(ACTIVE, "active", "●", "*")                                             \
	X(RESTARTING, "restarting", "◐", "~")                                     \
	X(RESTART_FAILED, "restart_failed", "✖", "!")                             \
	X(RELEASING, "releasing", "◐", "~")                                       \
	X(RELEASE_FAILED, "release_failed", "✖", "!")                             \
	X(RELEASED, "released", "○", "-")                                         \
	X(FAILED, "failed", "✖", "!")

typedef enum {
#define X(id, name, glyph, ascii) ALLOC_##id,
	ALLOC_STATES(X)
#undef X
	ALLOC_STATE_COUNT,
	ALLOC_STATE_INVALID = -1
} AllocState;

/* Actions a client can ask for on one allocation. */
#define ALLOC_ACTIONS(X)                  \
	X(RELEASE, "release")             \
	X(RESTART, "restart")             \
	X(FORCE_RELEASE, "force_release") \
	X(TERMINAL, "terminal")

typedef enum {
#define X(id, name) ALLOC_ACTION_##id,
	ALLOC_ACTIONS(X)
#undef X
	ALLOC_ACTION_COUNT
} AllocAction;

typedef struct {
	AllocState state;
	bool in_progress;        /* has a deadline and a failure twin */
	AllocState on_success;   /* where an in-progress state goes when its task succeeds */
	AllocState on_failure;   /* the failure twin, also where the deadline sends it */
	int deadline_s;          /* seconds at speed 1; 0 for settled states */
	bool terminal;           /* no further transitions */
} AllocStateInfo;

const char *alloc_state_name(AllocState s);
/* "●" style glyph, or an ASCII stand-in when the terminal cannot show UTF-8. */
const char *alloc_state_glyph(AllocState s, bool ascii);
/* Exact match on the wire name; ALLOC_STATE_INVALID otherwise. */
AllocState alloc_state_from_name(const char *name);
const AllocStateInfo *alloc_state_info(AllocState s);
/* True when the table allows moving from `from` to `to`. */
bool alloc_transition_allowed(AllocState from, AllocState to);
/* True when `action` may start from state `s`. */
bool alloc_action_allowed(AllocAction action, AllocState s);
const char *alloc_action_name(AllocAction a);
int alloc_action_from_name(const char *name);
/* A failed state: failed, restart_failed, release_failed. */
bool alloc_state_is_failure(AllocState s);

/* Server-derived actionability (seed 003), computed from the server's clock only. */
typedef struct {
	bool is_actionable;
	const char *action_required;   /* static string or NULL */
	int64_t actionable_until_ms;   /* 0 when not time-bound */
	int64_t archived_at_ms;        /* 0 when not archived */
} AllocActionability;

/* How long a failure stays actionable and when settled rows archive. */
#define ACTIONABLE_WINDOW_MS (7LL * 24 * 3600 * 1000)
#define ARCHIVE_AFTER_MS (3LL * 24 * 3600 * 1000)

/* `state_since_ms` is when the allocation entered its current state. */
AllocActionability alloc_actionability(AllocState s, int64_t state_since_ms, int64_t now_ms,
                                       bool billing_stopped);

/* Node lifecycle states. */
#define NODE_STATES(X)            \
	X(ENROLLING, "enrolling") \
	X(ONLINE, "online")       \
	X(DRAINING, "draining")   \
	X(OFFLINE, "offline")     \
	X(MAINTENANCE, "maintenance") \
	X(RETIRED, "retired")

typedef enum {
#define X(id, name) NODE_##id,
	NODE_STATES(X)
#undef X
	NODE_STATE_COUNT,
	NODE_STATE_INVALID = -1
} NodeState;

const char *node_state_name(NodeState s);
NodeState node_state_from_name(const char *name);

/* Roles. */
#define ROLE_USER "user"
#define ROLE_ADMIN "admin"
#define ROLE_BILLING "billing_operator"

/* Limits shared by both sides. */
#define QD_PAGE_LIMIT_DEFAULT 100
#define QD_PAGE_LIMIT_MAX 500
#define QD_MAX_BODY_BYTES (64 * 1024)

#endif

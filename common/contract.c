/* contract — allocation state names, the transition table and actionability. */
#include "common/contract.h"

#include <string.h>

static const char *const state_names[] = {
#define X(id, name, glyph, ascii) name,
	ALLOC_STATES(X)
#undef X
};
static const char *const state_glyphs[] = {
#define X(id, name, glyph, ascii) glyph,
	ALLOC_STATES(X)
#undef X
};
static const char *const state_ascii[] = {
#define X(id, name, glyph, ascii) ascii,
	ALLOC_STATES(X)
#undef X
};
static const char *const action_names[] = {
#define X(id, name) name,
	ALLOC_ACTIONS(X)
#undef X
};
static const char *const node_names[] = {
#define X(id, name) name,
	NODE_STATES(X)
#undef X
};

/* Deadlines are at speed 1; qdeckd --speed divides them. */
static const AllocStateInfo state_table[ALLOC_STATE_COUNT] = {
	[ALLOC_PROVISIONING] = {ALLOC_PROVISIONING, true, ALLOC_ACTIVE, ALLOC_FAILED, 120, false},
	[ALLOC_ACTIVE] = {ALLOC_ACTIVE, false, ALLOC_ACTIVE, ALLOC_ACTIVE, 0, false},
	[ALLOC_RESTARTING] = {ALLOC_RESTARTING, true, ALLOC_ACTIVE, ALLOC_RESTART_FAILED, 90, false},
	[ALLOC_RESTART_FAILED] = {ALLOC_RESTART_FAILED, false, ALLOC_RESTART_FAILED, ALLOC_RESTART_FAILED, 0, false},
	[ALLOC_RELEASING] = {ALLOC_RELEASING, true, ALLOC_RELEASED, ALLOC_RELEASE_FAILED, 60, false},
	[ALLOC_RELEASE_FAILED] = {ALLOC_RELEASE_FAILED, false, ALLOC_RELEASE_FAILED, ALLOC_RELEASE_FAILED, 0, false},
	[ALLOC_RELEASED] = {ALLOC_RELEASED, false, ALLOC_RELEASED, ALLOC_RELEASED, 0, true},
	[ALLOC_FAILED] = {ALLOC_FAILED, false, ALLOC_FAILED, ALLOC_FAILED, 0, false},
};

/* Which states each action may start from. */
static const unsigned action_from[ALLOC_ACTION_COUNT] = {
	[ALLOC_ACTION_RELEASE] = 1u << ALLOC_ACTIVE | 1u << ALLOC_RESTART_FAILED | 1u << ALLOC_FAILED |
	                         1u << ALLOC_RELEASE_FAILED,
	[ALLOC_ACTION_RESTART] = 1u << ALLOC_ACTIVE | 1u << ALLOC_RESTART_FAILED,
	[ALLOC_ACTION_FORCE_RELEASE] = 1u << ALLOC_RELEASE_FAILED | 1u << ALLOC_RELEASING |
	                               1u << ALLOC_RESTART_FAILED | 1u << ALLOC_FAILED,
	[ALLOC_ACTION_TERMINAL] = 1u << ALLOC_ACTIVE,
};

/* Where each action sends the allocation when accepted. */
static const AllocState action_to[ALLOC_ACTION_COUNT] = {
	[ALLOC_ACTION_RELEASE] = ALLOC_RELEASING,
	[ALLOC_ACTION_RESTART] = ALLOC_RESTARTING,
	[ALLOC_ACTION_FORCE_RELEASE] = ALLOC_RELEASED,
	[ALLOC_ACTION_TERMINAL] = ALLOC_ACTIVE,
};

const char *alloc_state_name(AllocState s)
{
	return s >= 0 && s < ALLOC_STATE_COUNT ? state_names[s] : "unknown";
}

const char *alloc_state_glyph(AllocState s, bool ascii)
{
	if (s < 0 || s >= ALLOC_STATE_COUNT)
		return "?";
	return ascii ? state_ascii[s] : state_glyphs[s];
}

AllocState alloc_state_from_name(const char *name)
{
	if (!name)
		return ALLOC_STATE_INVALID;
	for (int i = 0; i < ALLOC_STATE_COUNT; i++)
		if (strcmp(name, state_names[i]) == 0)
			return (AllocState)i;
	return ALLOC_STATE_INVALID;
}

const AllocStateInfo *alloc_state_info(AllocState s)
{
	return s >= 0 && s < ALLOC_STATE_COUNT ? &state_table[s] : NULL;
}

bool alloc_transition_allowed(AllocState from, AllocState to)
{
	const AllocStateInfo *fi = alloc_state_info(from);
	if (!fi || !alloc_state_info(to) || fi->terminal)
		return false;
	if (fi->in_progress && (to == fi->on_success || to == fi->on_failure))
		return true;
	/* force release may also end an in-progress release */
	for (int a = 0; a < ALLOC_ACTION_COUNT; a++)
		if ((action_from[a] & (1u << from)) && action_to[a] == to && to != from)
			return true;
	return false;
}

bool alloc_action_allowed(AllocAction action, AllocState s)
{
	if (action < 0 || action >= ALLOC_ACTION_COUNT || s < 0 || s >= ALLOC_STATE_COUNT)
		return false;
	return (action_from[action] & (1u << s)) != 0;
}

const char *alloc_action_name(AllocAction a)
{
	return a >= 0 && a < ALLOC_ACTION_COUNT ? action_names[a] : "unknown";
}

int alloc_action_from_name(const char *name)
{
	if (!name)
		return -1;
	for (int i = 0; i < ALLOC_ACTION_COUNT; i++)
		if (strcmp(name, action_names[i]) == 0)
			return i;
	return -1;
}

bool alloc_state_is_failure(AllocState s)
{
	return s == ALLOC_FAILED || s == ALLOC_RESTART_FAILED || s == ALLOC_RELEASE_FAILED;
}

AllocActionability alloc_actionability(AllocState s, int64_t since_ms, int64_t now_ms,
                                       bool billing_stopped)
{
	AllocActionability a = {0};
	switch (s) {
	case ALLOC_PROVISIONING:
	case ALLOC_ACTIVE:
	case ALLOC_RESTARTING:
	case ALLOC_RELEASING:
		a.is_actionable = true;
		break;
	case ALLOC_RELEASE_FAILED:
		/* Needs an admin until someone force-releases it: never ages out,
		 * because billing may still be running. */
		a.is_actionable = true;
		(void)billing_stopped;
		a.action_required = "force_release";
		break;
	case ALLOC_FAILED:
	case ALLOC_RESTART_FAILED:
		a.actionable_until_ms = since_ms + ACTIONABLE_WINDOW_MS;
		a.is_actionable = now_ms < a.actionable_until_ms;
		a.action_required = s == ALLOC_FAILED ? "release_or_retry" : "restart_or_release";
		if (!a.is_actionable)
			a.archived_at_ms = a.actionable_until_ms;
		break;
	case ALLOC_RELEASED:
		a.archived_at_ms = since_ms + ARCHIVE_AFTER_MS;
		if (a.archived_at_ms > now_ms)
			a.archived_at_ms = 0;
		break;
	default:
		break;
	}
	return a;
}

const char *node_state_name(NodeState s)
{
	return s >= 0 && s < NODE_STATE_COUNT ? node_names[s] : "unknown";
}

NodeState node_state_from_name(const char *name)
{
	if (!name)
		return NODE_STATE_INVALID;
	for (int i = 0; i < NODE_STATE_COUNT; i++)
		if (strcmp(name, node_names[i]) == 0)
			return (NodeState)i;
	return NODE_STATE_INVALID;
}

/* actions — names and help texts of the action table (see actions.h). */
#include "keymaps/actions.h"

#include <string.h>

static const char *const names[ACTION_COUNT] = {
	[ACTION_NONE] = "none",
#define X(id, name, help) [ACTION_##id] = name,
	ACTIONS(X)
#undef X
};

static const char *const helps[ACTION_COUNT] = {
	[ACTION_NONE] = "Do nothing (key unbound)",
#define X(id, name, help) [ACTION_##id] = help,
	ACTIONS(X)
#undef X
};

const char *action_name(Action a)
{
	return (unsigned)a < ACTION_COUNT ? names[a] : "none";
}

const char *action_help(Action a)
{
	return (unsigned)a < ACTION_COUNT ? helps[a] : "";
}

Action action_from_name(const char *name)
{
	if (!name)
		return ACTION_NONE;
	for (int a = ACTION_NONE + 1; a < ACTION_COUNT; a++)
		if (strcmp(names[a], name) == 0)
			return (Action)a;
	return ACTION_NONE;
}

/* actions — every command the console knows, as data (tig's request.h).
 *
 * One X-macro gives the enum, the name used in key files and on the `:`
 * command line, and the help text the help overlay shows. Add a command here
 * and it is bindable, runnable by name and documented, with nothing else to
 * keep in step. */
#ifndef QD_KEYMAPS_ACTIONS_H
#define QD_KEYMAPS_ACTIONS_H

#define ACTIONS(X)                                                                   \
	/* global */                                                                 \
	X(QUIT, "quit", "Quit quarterdeck")                                          \
	X(HELP, "help", "Show the key bindings of this screen")                      \
	X(COMMAND, "command", "Open the : command line")                             \
	X(BACK, "back", "Close this view or dialog and go back")                     \
	X(REFRESH, "refresh", "Reload from the server")                              \
	X(REDRAW, "redraw", "Repaint the whole terminal")                            \
	X(VIEW_WORKBENCH, "view-workbench", "Workloads workbench (live and actionable)") \
	X(VIEW_HISTORY, "view-history", "Toggle History: all states incl. released")  \
	X(VIEW_NEEDS_ACTION, "view-needs-action", "Admin: release_failed rows fleet-wide") \
	X(VIEW_NODES, "view-nodes", "Nodes of the fleet")                            \
	X(NEXT_TAB, "next-tab", "Next tab")                                          \
	X(PREV_TAB, "prev-tab", "Previous tab")                                      \
	/* movement (table, lists, text) */                                          \
	X(MOVE_UP, "move-up", "Move up one row")                                     \
	X(MOVE_DOWN, "move-down", "Move down one row")                               \
	X(PAGE_UP, "page-up", "Move up one page")                                    \
	X(PAGE_DOWN, "page-down", "Move down one page")                              \
	X(MOVE_FIRST, "move-first", "Go to the first row")                           \
	X(MOVE_LAST, "move-last", "Go to the last row")                              \
	X(SORT_NEXT, "sort-next", "Sort by the next column")                         \
	X(SORT_PREV, "sort-prev", "Sort by the previous column")                     \
	X(SORT_REVERSE, "sort-reverse", "Reverse the sort order")                    \
	X(FILTER, "filter", "Filter rows as you type")                               \
	X(CLEAR_FILTER, "clear-filter", "Clear the filter")                          \
	X(OPEN, "open", "Open the selected row")                                     \
	/* allocation verbs */                                                       \
	X(RELEASE, "release", "Release the selected allocation")                     \
	X(RESTART, "restart", "Restart the selected allocation")                     \
	X(FORCE_RELEASE, "force-release", "Admin: force release with a reason")      \
	X(TERMINAL, "terminal", "Open a shell on the selected allocation")           \
	X(COPY_SSH, "copy-ssh", "Copy the SSH command (OSC 52)")                     \
	X(LAUNCH, "launch", "Launch a new allocation")                               \
	/* forms and dialogs */                                                      \
	X(SUBMIT, "submit", "Confirm / submit")                                      \
	X(CANCEL, "cancel", "Cancel")                                                \
	X(NEXT_FIELD, "next-field", "Next field or button")                          \
	X(PREV_FIELD, "prev-field", "Previous field or button")                      \
	/* terminal pane (after the prefix key) */                                   \
	X(TERM_PREFIX, "term-prefix", "Terminal: escape prefix (then a command key)") \
	X(TERM_DETACH, "term-detach", "Terminal: detach, keep the session")          \
	X(TERM_LEAVE, "term-leave", "Terminal: give keys back to the console")       \
	X(TERM_SCROLL, "term-scroll", "Terminal: scroll back through output")        \
	X(TERM_COPY_MODE, "term-copy-mode", "Terminal: select text and copy")        \
	X(TERM_TOGGLE_SPLIT, "term-toggle-split", "Terminal: split or full screen")  \
	X(TERM_NEXT_SESSION, "term-next-session", "Terminal: next session")          \
	X(COPY_MARK, "copy-mark", "Copy mode: start the selection here")            \
	X(COPY_YANK, "copy-yank", "Copy mode: copy the selection (OSC 52), leave")   \
	X(TERM_SEND_PREFIX, "term-send-prefix", "Terminal: send the prefix key itself")

typedef enum {
	ACTION_NONE = 0,
#define X(id, name, help) ACTION_##id,
	ACTIONS(X)
#undef X
	ACTION_COUNT
} Action;

/* "move-up" for ACTION_MOVE_UP; "none" for ACTION_NONE. */
const char *action_name(Action a);
const char *action_help(Action a);
/* Exact name match; ACTION_NONE when unknown. */
Action action_from_name(const char *name);

#endif

/* terminal_view — a shell on an allocation, full screen above the console:
 * mints a single-use terminal token, connects net/termclient, and shows the
 * shell through widgets/termpane. Every key goes to the shell except the
 * prefix (Ctrl-] by default), after which the "terminal" keymap applies
 * (q leave, [ scroll back, Ctrl-] sends the prefix itself, ? help). */
#ifndef QD_TUI_TERMINAL_VIEW_H
#define QD_TUI_TERMINAL_VIEW_H

#include "tui/app.h"

/* Pushes the terminal for alloc_id, or says in the status line why not. */
void terminal_view_open(App *app, const char *alloc_id);
/* After every terminal view was closed, from a uv callback / after uv_run. */
void terminal_view_shutdown(void);
void terminal_view_reap(void);

#endif

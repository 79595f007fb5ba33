/* terminal_view — shells on allocations: up to eight sessions (one per
 * allocation), shown in the app's dock split below the screen or full
 * screen. Each connection mints a single-use terminal token, connects
 * net/termclient and renders through widgets/termpane; a dropped connection
 * reconnects with a newly minted token. Every key goes to the shell except
 * the prefix (Ctrl-] by default), after which the "terminal" keymap applies
 * (d detach, q leave, z/s split or full, n next session, [ scroll back,
 * v copy mode, Ctrl-] sends the prefix itself, ? help). */
#ifndef QD_TUI_TERMINAL_VIEW_H
#define QD_TUI_TERMINAL_VIEW_H

#include "tui/app.h"

/* Shows the allocation's session (reattaching an existing one), or opens a
 * new one, or says in the status line why not. */
void terminal_view_open(App *app, const char *alloc_id);
/* From a uv callback when quitting: ends every session and the lws context. */
void terminal_view_shutdown(void);
/* After uv_run has returned. */
void terminal_view_reap(void);

#endif

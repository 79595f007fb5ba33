/* workbench — the landing screen (seed 003 "Workloads Are Runtime-First"):
 * allocations the server marks actionable and not archived, or every state in
 * History; live from the store; sortable, filterable; selection, filter, sort
 * and scroll survive a trip to detail and back because the screen stays on the
 * layer stack underneath. Admins see a "Needs action" band for release_failed
 * rows fleet-wide. */
#ifndef QD_TUI_WORKBENCH_H
#define QD_TUI_WORKBENCH_H

#include "tui/app.h"

/* Creates the workbench and pushes it as the bottom layer. */
void workbench_open(App *app);
/* Selects the allocation as soon as its row is in the view (a launch's new
 * row arrives with the event stream a moment later). */
void workbench_select_later(App *app, const char *alloc_id);

#endif

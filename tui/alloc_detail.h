/* alloc_detail — one allocation in tabs (seed 000 §4): Overview, SSH Access,
 * Storage, Managed Runtime, Workloads, Metrics/Health, Activity. Live: the
 * store's changes for this allocation and its task redraw it. Read-only apart
 * from release, copy SSH command and terminal. Esc pops it, uncovering the
 * screen below exactly as it was. */
#ifndef QD_TUI_ALLOC_DETAIL_H
#define QD_TUI_ALLOC_DETAIL_H

#include "tui/app.h"

/* Pushes the detail screen for alloc_id (copied). */
void alloc_detail_open(App *app, const char *alloc_id);

#endif

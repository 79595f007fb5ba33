/* triage — the admin "Needs action" view: release_failed rows across the
 * fleet with their reason and age, and force release with a required reason
 * (audited by the server). */
#ifndef QD_TUI_TRIAGE_H
#define QD_TUI_TRIAGE_H

#include <stddef.h>

#include "net/store.h"
#include "tui/app.h"

/* Pushes the Needs-action screen. */
void triage_open(App *app);
/* How many allocations in the store need an admin's action (release_failed). */
size_t triage_count(const Store *s);

#endif

/* reconciler — moves allocations through the transition table on real timers.
 *
 * One uv_timer on the server's loop calls model_reconcile(), which advances
 * task steps whose time has come and sends states past their deadline to their
 * failure twin; the timer is re-armed for whatever is due next. Mutations that
 * start work call reconciler_kick() so it does not wait for the next tick.
 * speed > 1 makes everything faster (tests use 20..100). */
#ifndef QD_SERVER_RECONCILER_H
#define QD_SERVER_RECONCILER_H

#include <uv.h>

#include "server/model.h"

typedef struct Reconciler Reconciler;

Reconciler *reconciler_new(uv_loop_t *loop, Db *db, double speed);
void reconciler_kick(Reconciler *r);
/* Stops the timer; frees in the close callback, so run the loop once after. */
void reconciler_free(Reconciler **r);

#endif

/* reconciler — one uv_timer that runs model_reconcile() and re-arms itself for
 * whatever the model says is due next. All the state lives in the database, so
 * a restarted qdeckd picks up in-flight tasks and deadlines where they were. */
#include "server/reconciler.h"

#include <stdlib.h>

#include "common/util.h"

/* Even with nothing due, look again now and then: node heartbeats and
 * deadlines written by another process are noticed within this. */
#define IDLE_RECHECK_MS 5000

struct Reconciler {
	uv_timer_t timer; /* first: the close callback frees through it */
	Db *db;
	double speed;
};

static void on_tick(uv_timer_t *t)
{
	Reconciler *r = t->data;
	int64_t due = model_reconcile(r->db, r->speed);
	uint64_t wait = due < 0 || due > IDLE_RECHECK_MS ? IDLE_RECHECK_MS : (uint64_t)due;
	/* Never 0: a pass that keeps finding work must still let the loop breathe. */
	uv_timer_start(&r->timer, on_tick, wait ? wait : 1, 0);
}

Reconciler *reconciler_new(uv_loop_t *loop, Db *db, double speed)
{
	Reconciler *r = xcalloc(1, sizeof *r);
	r->db = db;
	r->speed = speed > 0 ? speed : 1.0;
	db_set_speed(db, r->speed);
	uv_timer_init(loop, &r->timer);
	r->timer.data = r;
	uv_timer_start(&r->timer, on_tick, 0, 0);
	return r;
}

void reconciler_kick(Reconciler *r)
{
	if (r && !uv_is_closing((uv_handle_t *)&r->timer))
		uv_timer_start(&r->timer, on_tick, 1, 0);
}

static void on_closed(uv_handle_t *h)
{
	free(h->data);
}

void reconciler_free(Reconciler **pr)
{
	Reconciler *r = *pr;
	if (!r)
		return;
	uv_timer_stop(&r->timer);
	uv_close((uv_handle_t *)&r->timer, on_closed);
	*pr = NULL;
}

/* store — the console's cache of allocations, nodes and tasks, keyed by id.
 *
 * Filled by paginated loads and kept live by the event stream. Views never
 * poll: they register a listener and mark themselves dirty when told. The
 * store remembers the last applied event id, so a resumed stream neither
 * misses nor double-applies anything. Owns every record it holds. */
#ifndef QD_NET_STORE_H
#define QD_NET_STORE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "net/model.h"

typedef struct Store Store;

typedef enum {
	STORE_ALLOC = 1,
	STORE_NODE = 2,
	STORE_TASK = 4,
	STORE_RESET = 8,    /* everything may have changed (reload) */
} StoreKind;

/* id is the record that changed (NULL for STORE_RESET). */
typedef void (*StoreListener)(void *ud, StoreKind kind, const char *id);

Store *store_new(void);
void store_free(Store **s);

void store_listen(Store *s, StoreListener fn, void *ud);
void store_unlisten(Store *s, StoreListener fn, void *ud);

/* Insert or replace from a decoded record (ownership moves into the store;
 * the caller's struct is left zeroed). An allocation whose version is lower
 * than the one held is dropped (a page row older than an applied event). */
void store_put_allocation(Store *s, Allocation *a);
void store_put_node(Store *s, Node *n);
void store_put_task(Store *s, Task *t);

/* Lookups; NULL when absent. Pointers stay valid until the next put/remove of
 * that id or store_free; copy what you keep across loop iterations. */
const Allocation *store_allocation(const Store *s, const char *id);
const Node *store_node(const Store *s, const char *id);
const Task *store_task(const Store *s, const char *id);

size_t store_allocation_count(const Store *s);
/* Stable iteration order (insertion); i < store_allocation_count(). */
const Allocation *store_allocation_at(const Store *s, size_t i);
size_t store_node_count(const Store *s);
const Node *store_node_at(const Store *s, size_t i);

/* Applies one event (docs/api/v1.md). Returns 1 when applied, 0 when its id is
 * not newer than the last applied one (duplicate after a resume), -1 when it
 * is malformed (errbuf says why; the store is unchanged). */
int store_apply_event(Store *s, json_t *event, char *errbuf, size_t errsz);
int64_t store_last_event_id(const Store *s);
void store_set_last_event_id(Store *s, int64_t id);

/* Bumped on every change; cheap "did anything change since I drew" check. */
uint64_t store_generation(const Store *s);

#endif

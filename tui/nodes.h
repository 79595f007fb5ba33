/* nodes — the fleet's nodes (seed 003 "Node Lifecycle Operations Are
 * First-Class"): a Nodes table over the store (live from node.updated
 * events), sortable and filterable like the workbench, and a node detail with
 * its overview, its allocations (Enter opens one) and its lifecycle
 * operations grouped by intent (Inspect, Repair, Scheduling, Provisioning,
 * Retirement, Destructive). Each operation says its preconditions, expected
 * result, where progress shows, its failure path, evidence and danger. Only
 * what the control plane backs runs (scheduling disable/enable, with a
 * confirmation); everything else is labelled guided/manual, never faked.
 *
 * The formatting helpers below are how a node's fields read everywhere on
 * these screens; they are exported for the unit tests. */
#ifndef QD_TUI_NODES_H
#define QD_TUI_NODES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/model.h"
#include "tui/app.h"

/* Pushes the Nodes table. */
void nodes_open(App *app);
/* Pushes the detail of one node (id copied). */
void nodes_open_detail(App *app, const char *node_id);

/* A certificate this close to expiry is flagged "expires in ...". */
#define NODES_CERT_WARN_MS (14LL * 24 * 3600 * 1000)

typedef enum { NODES_CERT_UNKNOWN, NODES_CERT_OK, NODES_CERT_SOON, NODES_CERT_EXPIRED } NodesCertLevel;

/* "● online", "◐ draining", "○ offline", ... ("* online" etc. in ASCII). */
void nodes_state_text(NodeState s, bool ascii, char *buf, size_t sz);
/* A theme role index (ThemeRole) for the state. */
int nodes_state_role(NodeState s);
NodesCertLevel nodes_cert_level(int64_t expires_ms, int64_t now_ms);
/* "EXPIRED", "expires in 3d" / "in 5h" / "in 20m", "ok (45d)", "unknown". */
void nodes_cert_text(int64_t expires_ms, int64_t now_ms, char *buf, size_t sz);
/* "12s ago", "5m ago", "3h ago", "2d ago", "never"; a time ahead of our
 * clock (skew) reads "just now". */
void nodes_heartbeat_text(int64_t at_ms, int64_t now_ms, char *buf, size_t sz);
/* "3/8" (free/total). */
void nodes_gpus_text(const Node *n, char *buf, size_t sz);

/* The scheduling operations the control plane backs. */
typedef enum { NODES_OP_DISABLE_SCHEDULING, NODES_OP_ENABLE_SCHEDULING } NodesSchedOp;
/* Whether op may run on n now for this caller; when not, why says so
 * ("scheduling is already off", "the node is retired", "needs the admin role"). */
bool nodes_sched_allowed(NodesSchedOp op, const Node *n, bool admin, char *why, size_t wsz);

#endif

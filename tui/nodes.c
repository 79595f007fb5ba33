/* nodes — the Nodes table and node detail (see nodes.h).
 *
 * Both screens keep only ids and read the store on every rebuild, so a
 * node.updated event is on screen in the next frame. The fleet is small
 * (tens to thousands of nodes): the table rebuilds its rows on any node
 * change instead of patching single rows like the workbench does.
 *
 * Node detail is one scrolling list: overview lines, operation groups and the
 * node's allocations. The cursor moves over operations and allocations only;
 * the selected operation unfolds its preconditions, result, progress,
 * failure path, evidence and danger under it, wrapped to the width. */
#include "tui/nodes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"
#include "tui/views_common.h"
#include "widgets/draw.h"
#include "widgets/modal.h"
#include "widgets/table.h"
#include "widgets/theme.h"

/* --- formatting (exported for tests) ---------------------------------------------- */

void nodes_state_text(NodeState s, bool ascii, char *buf, size_t sz)
{
	const char *g;
	switch (s) {
	case NODE_ONLINE: g = ascii ? "*" : "●"; break;
	case NODE_DRAINING: g = ascii ? "~" : "◐"; break;
	case NODE_ENROLLING: g = ascii ? "+" : "◌"; break;
	case NODE_OFFLINE: g = ascii ? "o" : "○"; break;
	case NODE_MAINTENANCE: g = ascii ? "!" : "▲"; break;
	case NODE_RETIRED: g = ascii ? "x" : "✗"; break;
	default: g = "?"; break;
	}
	const char *name = s >= 0 && s < NODE_STATE_COUNT ? node_state_name(s) : "unknown";
	snprintf(buf, sz, "%s %s", g, name);
}

int nodes_state_role(NodeState s)
{
	switch (s) {
	case NODE_ONLINE: return ROLE_STATE_OK;
	case NODE_DRAINING:
	case NODE_ENROLLING:
	case NODE_MAINTENANCE: return ROLE_STATE_PROGRESS;
	case NODE_OFFLINE: return ROLE_STATE_FAILED;
	case NODE_RETIRED: return ROLE_STATE_GONE;
	default: return ROLE_DEFAULT;
	}
}

NodesCertLevel nodes_cert_level(int64_t expires_ms, int64_t now_ms)
{
	if (expires_ms <= 0)
		return NODES_CERT_UNKNOWN;
	if (expires_ms <= now_ms)
		return NODES_CERT_EXPIRED;
	if (expires_ms - now_ms < NODES_CERT_WARN_MS)
		return NODES_CERT_SOON;
	return NODES_CERT_OK;
}

/* Largest whole unit of a positive span: "3d", "5h", "20m", "12s". */
static void span_text(int64_t ms, char *buf, size_t sz)
{
	int64_t s = ms / 1000;
	if (s >= 86400)
		snprintf(buf, sz, "%lldd", (long long)(s / 86400));
	else if (s >= 3600)
		snprintf(buf, sz, "%lldh", (long long)(s / 3600));
	else if (s >= 60)
		snprintf(buf, sz, "%lldm", (long long)(s / 60));
	else
		snprintf(buf, sz, "%llds", (long long)s);
}

void nodes_cert_text(int64_t expires_ms, int64_t now_ms, char *buf, size_t sz)
{
	char span[24];
	switch (nodes_cert_level(expires_ms, now_ms)) {
	case NODES_CERT_UNKNOWN:
		snprintf(buf, sz, "unknown");
		return;
	case NODES_CERT_EXPIRED:
		snprintf(buf, sz, "EXPIRED");
		return;
	case NODES_CERT_SOON:
		span_text(expires_ms - now_ms, span, sizeof span);
		snprintf(buf, sz, "expires in %s", span);
		return;
	case NODES_CERT_OK:
		span_text(expires_ms - now_ms, span, sizeof span);
		snprintf(buf, sz, "ok (%s)", span);
		return;
	}
}

void nodes_heartbeat_text(int64_t at_ms, int64_t now_ms, char *buf, size_t sz)
{
	if (at_ms <= 0) {
		snprintf(buf, sz, "never");
		return;
	}
	if (at_ms >= now_ms) {
		snprintf(buf, sz, "just now");
		return;
	}
	char span[24];
	span_text(now_ms - at_ms, span, sizeof span);
	snprintf(buf, sz, "%s ago", span);
}

void nodes_gpus_text(const Node *n, char *buf, size_t sz)
{
	snprintf(buf, sz, "%d/%d", n->gpu_free, n->gpu_total);
}

bool nodes_sched_allowed(NodesSchedOp op, const Node *n, bool admin, char *why, size_t wsz)
{
	why[0] = '\0';
	if (!admin)
		snprintf(why, wsz, "needs the admin role");
	else if (!n)
		snprintf(why, wsz, "the node is not loaded");
	else if (n->state == NODE_RETIRED)
		snprintf(why, wsz, "the node is retired");
	else if (op == NODES_OP_DISABLE_SCHEDULING && !n->scheduling)
		snprintf(why, wsz, "scheduling is already off");
	else if (op == NODES_OP_ENABLE_SCHEDULING && n->scheduling && n->state != NODE_DRAINING)
		snprintf(why, wsz, "scheduling is already on");
	return why[0] == '\0';
}

/* --- the operations catalogue (seed 003) -------------------------------------------- */

typedef enum { BACK_MANUAL, BACK_DISABLE, BACK_ENABLE } OpBackend;

typedef struct {
	const char *group;
	const char *name;
	const char *pre, *result, *progress, *failure, *evidence;
	const char *danger, *confirm;
	const char *manual; /* the guided/manual path while the backend lacks it */
	OpBackend backend;
} NodeOp;

static const char *const op_groups[] = {
	"Inspect", "Repair", "Scheduling", "Provisioning", "Retirement", "Destructive",
};

static const NodeOp ops[] = {
	{ "Inspect", "Probe node agent",
	  "the node agent is reachable over the management network",
	  "agent version, certificate status, capabilities and GPU inventory reported back",
	  "Last heartbeat and Agent on this screen", "no answer: the node goes offline; continue with Repair",
	  "the probe result in the node's activity", "none (read-only)", "no confirmation (read-only)",
	  "check the agent's service status and log on the host over break-glass SSH", BACK_MANUAL },
	{ "Inspect", "Open telemetry",
	  "a telemetry (Netdata) proxy is configured for the node's site",
	  "GPU utilisation, memory, temperature and ECC counters for this node",
	  "the telemetry dashboard", "no proxy configured: nothing to open",
	  "none (read-only)", "none (read-only)", "no confirmation (read-only)",
	  "open the site's telemetry dashboard for this host; this control plane has no telemetry proxy",
	  BACK_MANUAL },
	{ "Inspect", "View evidence (audit log)",
	  "admin or billing_operator role",
	  "the audit rows whose target is this node: who changed it, when and why",
	  "the audit log", "403 without the role",
	  "GET /api/v1/admin/audit-logs (rows with target_id = this node)", "none (read-only)",
	  "no confirmation (read-only)",
	  "the console has no audit view yet: read GET /api/v1/admin/audit-logs and match target_id",
	  BACK_MANUAL },
	{ "Repair", "Repair node agent",
	  "the host is reachable over break-glass SSH",
	  "the agent is reinstalled at the fleet's release and its heartbeat resumes",
	  "Last heartbeat and Agent on this screen", "still no heartbeat: re-enroll the node",
	  "an audit row and a node.updated event (once automated)",
	  "medium: the agent restarts; running allocations keep running", "confirm",
	  "reinstall the node-agent package on the host by hand, then watch Last heartbeat", BACK_MANUAL },
	{ "Repair", "Repair certificates",
	  "the agent runs; its certificate is expiring or EXPIRED",
	  "a new agent certificate; Cert shows the new expiry and console sessions work again",
	  "the Cert field on this screen", "renewal refused: re-enroll the node",
	  "an audit row and a node.updated event (once automated)",
	  "medium: terminal sessions through the agent drop during the renewal", "confirm",
	  "renew the agent certificate on the host with the site's CA, then restart the agent",
	  BACK_MANUAL },
	{ "Repair", "Re-enroll",
	  "an enrollment (bootstrap) token for the node's site",
	  "the node registers again: enrolling, then online with a fresh certificate",
	  "State on this screen", "enrollment stalls: check the bootstrap bundle and the network profile",
	  "an audit row and node.updated events",
	  "high: the node leaves scheduling while it enrolls", "confirm with a reason",
	  "generate an enrollment token for the site and run the bootstrap command on the host",
	  BACK_MANUAL },
	{ "Repair", "Refresh inventory",
	  "the agent runs", "GPU model and count read again from the hardware",
	  "GPUs on this screen", "the agent reports an error: probe the node",
	  "a node.updated event", "low: read-only on the host", "no confirmation",
	  "restart the agent on the host: it reports its inventory at start", BACK_MANUAL },
	{ "Scheduling", "Disable scheduling (drain)",
	  "admin role; the node is not retired; scheduling is on",
	  "nothing new is placed here; with allocations on it the node shows draining and its work keeps "
	  "running; an empty online node stays online, cordoned",
	  "State and SCHED on this screen and in the Nodes table (node.updated event)",
	  "409 when the node is retired; 422 without a reason; the node is unchanged",
	  "audit row node.scheduling_disable with your reason, and a node.updated event",
	  "medium: the node's free GPUs leave the pool", "a reason is required; Cancel unless you confirm",
	  NULL, BACK_DISABLE },
	{ "Scheduling", "Enable scheduling (resume)",
	  "admin role; the node is not retired; scheduling is off or the node is draining",
	  "placement may use the node again; a draining node becomes online; an offline or maintenance "
	  "node takes work once it is back online",
	  "State and SCHED on this screen and in the Nodes table (node.updated event)",
	  "409 when the node is retired; the node is unchanged",
	  "audit row node.scheduling_enable, and a node.updated event",
	  "low: adds capacity", "confirm; the reason is optional", NULL, BACK_ENABLE },
	{ "Provisioning", "Start MAAS onboarding",
	  "a MAAS site and profile for the region; registry, bootstrap bundle and agent release configured",
	  "commissioned and deployed, agent enrolled; the node appears enrolling, then online",
	  "the onboarding workflow's task", "a failed workflow step: retry it",
	  "the workflow's task and audit rows",
	  "medium: the machine is (re)installed", "confirm",
	  "attach the MAAS profile by hand and run the bootstrap steps; poll for the first heartbeat",
	  BACK_MANUAL },
	{ "Provisioning", "Reimage",
	  "drained: scheduling off and no allocations on the node",
	  "the OS image is written again and the agent enrolls anew",
	  "the reimage workflow's task, then State", "reimage fails: the node stays in maintenance",
	  "the workflow's task and audit rows",
	  "high: wipes the node's local disks", "confirm with a reason",
	  "redeploy the machine from MAAS, then re-enroll the agent", BACK_MANUAL },
	{ "Provisioning", "Retry failed workflow",
	  "a failed onboarding or reimage workflow on this node",
	  "the failed step runs again", "the workflow's task",
	  "fails again: read the step's reason before retrying", "the workflow's task",
	  "medium", "confirm",
	  "no workflow engine on this control plane: rerun the failed step by hand", BACK_MANUAL },
	{ "Retirement", "Retire",
	  "drained: scheduling off and no allocations",
	  "state retired: never scheduled again; scheduling changes answer 409",
	  "State on this screen", "refused while allocations remain",
	  "an audit row and a node.updated event",
	  "high: the node's capacity leaves the fleet for good", "confirm with a reason",
	  "decommission through the platform's inventory process", BACK_MANUAL },
	{ "Retirement", "Detach",
	  "retired", "removed from its site and MAAS pool; the record stays for audit",
	  "the node's record", "the site refuses: detach it in MAAS by hand",
	  "an audit row", "high", "confirm with a reason",
	  "release the machine in MAAS and remove it from the site's pool", BACK_MANUAL },
	{ "Retirement", "Remove",
	  "retired and detached", "gone from the Nodes list; its audit rows are kept",
	  "the Nodes list", "refused while anything references the node",
	  "an audit row", "high", "confirm with a reason",
	  "remove the record through the platform's inventory process", BACK_MANUAL },
	{ "Destructive", "Delete",
	  "retired, detached and removed; break-glass approval",
	  "the node's record and history are deleted", "none",
	  "refused while audit retention holds the record", "the break-glass approval record",
	  "destructive: history is lost", "break-glass: typed confirmation and a reason",
	  "database-level break-glass procedure; not exposed here on purpose", BACK_MANUAL },
	{ "Destructive", "Force cleanup",
	  "the node is lost and its agent cannot confirm releases",
	  "GPU holds and storage attachments freed without the agent; allocations on it marked released",
	  "the allocations' tasks (force release)", "storage stays attached: detach it in the storage system",
	  "one force_release audit row per allocation",
	  "destructive: the node's work is abandoned", "typed confirmation and a reason",
	  "force release each allocation on it (A, then F) with a reason", BACK_MANUAL },
};

#define N_OPS ((int)QD_ARRAY_LEN(ops))

/* --- the Nodes table --------------------------------------------------------------------- */

typedef enum { N_NAME, N_STATE, N_REGION, N_MODEL, N_GPUS, N_SCHED, N_ALLOCS, N_AGENT, N_CERT, N_HB, N_COUNT } NCol;

static const TableColumn ncolumns[N_COUNT] = {
	[N_NAME] = { "NAME", 12, 2, false, N_NAME },
	[N_STATE] = { "STATE", 14, 0, false, N_STATE },
	[N_REGION] = { "REGION", 12, 0, false, N_REGION },
	[N_MODEL] = { "GPU MODEL", 10, 1, false, N_MODEL },
	[N_GPUS] = { "FREE/GPUS", 9, 0, true, N_GPUS },
	[N_SCHED] = { "SCHED", 5, 0, false, N_SCHED },
	[N_ALLOCS] = { "ALLOCS", 6, 0, true, N_ALLOCS },
	[N_AGENT] = { "AGENT", 7, 0, false, N_AGENT },
	[N_CERT] = { "CERT", 14, 0, false, N_CERT },
	[N_HB] = { "HEARTBEAT", 10, 0, true, N_HB },
};

/* Everything from 112 columns; no region and agent from 88; at 80 columns
 * name, state, GPUs, scheduling, allocations, cert and heartbeat. */
static const int ncols_wide[] = { N_NAME, N_STATE, N_REGION, N_MODEL, N_GPUS, N_SCHED, N_ALLOCS, N_AGENT, N_CERT, N_HB };
static const int ncols_mid[] = { N_NAME, N_STATE, N_MODEL, N_GPUS, N_SCHED, N_ALLOCS, N_CERT, N_HB };
static const int ncols_narrow[] = { N_NAME, N_STATE, N_GPUS, N_SCHED, N_ALLOCS, N_CERT, N_HB };
static const ViewsColumnSet ncol_sets[] = {
	{ 112, ncols_wide, (int)QD_ARRAY_LEN(ncols_wide) },
	{ 88, ncols_mid, (int)QD_ARRAY_LEN(ncols_mid) },
	{ 0, ncols_narrow, (int)QD_ARRAY_LEN(ncols_narrow) },
};

typedef struct {
	Widget base;
	App *app;
	Store *store;
	Table *table;
	WINDOW *table_win;
	const ViewsColumnSet *cols; /* the column set shown: cols->ids[col] is the NCol */
	/* Nodes shown: the store's count when the table last synced, so the
	 * table never reads a row it has not been told about. Every node is
	 * listed, in store order, so a row is its store index. */
	size_t nrows;
	bool stale;
	ViewsFilter filter; /* the "/" line (Esc restores the filter it had) */
	/* Heartbeats move without node.updated events, so the list reads the
	 * nodes again when it opens and on F5; the title says how old that is. */
	ApiRequest *req;
	int64_t read_at_ms;
} Nodes;

static void nodes_reload(Nodes *ns, const char *cursor);

/* False when there is nothing to apply: the request was cancelled, or it
 * failed, which the message line then says ("<what> failed: <why>"). */
static bool answer_ok(App *app, const ApiResponse *r, const char *what)
{
	if (r->outcome == API_CANCELLED)
		return false;
	if (r->outcome != API_OK) {
		app_message(app, true, "%s failed: %s", what,
		            r->err_message && *r->err_message ? r->err_message : "no answer from the server");
		return false;
	}
	return true;
}

static void nodes_reload_done(void *ud, const ApiResponse *r)
{
	Nodes *ns = ud;
	ns->req = NULL;
	if (!answer_ok(ns->app, r, "reading the nodes"))
		return;
	json_t *items = json_object_get(r->body, "items");
	if (!json_is_array(items)) {
		app_message(ns->app, true, "the node list has no items array");
		return;
	}
	size_t i, bad = 0;
	json_t *it;
	char err[160] = "";
	json_array_foreach(items, i, it) {
		Node n;
		if (decode_node(it, &n, err, sizeof err) == 0)
			store_put_node(ns->store, &n);
		else
			bad++;
	}
	if (bad)
		app_message(ns->app, true, "%zu node%s did not match the contract: %s", bad, bad == 1 ? "" : "s", err);
	const char *next = json_string_value(json_object_get(r->body, "next_cursor"));
	if (next && *next) {
		nodes_reload(ns, next);
		return;
	}
	ns->read_at_ms = qd_now_ms();
	ns->stale = true;
	app_invalidate(ns->app);
}

static void nodes_reload(Nodes *ns, const char *cursor)
{
	if (ns->req && !cursor)
		return;
	char *path;
	if (cursor) {
		char *e = api_escape(cursor);
		path = xasprintf("/api/v1/nodes?limit=500&cursor=%s", e);
		free(e);
	} else {
		path = xstrdup("/api/v1/nodes?limit=500");
	}
	ns->req = api_request(app_api(ns->app), "GET", path, NULL, nodes_reload_done, ns);
	free(path);
}

static const Node *row_node(const Nodes *ns, size_t row) { return store_node_at(ns->store, row); }

static void nodes_sync(Nodes *ns)
{
	if (!ns->stale)
		return;
	ns->stale = false;
	ns->nrows = store_node_count(ns->store);
	table_refresh(ns->table);
}

static void nodes_on_store(void *ud, StoreKind kind, const char *id)
{
	Nodes *ns = ud;
	if (!(kind & (STORE_NODE | STORE_RESET)))
		return;
	ns->stale = true;
	app_invalidate(ns->app);
}

static size_t nsrc_count(void *ctx) { return ((Nodes *)ctx)->nrows; }
static const char *nsrc_row_id(void *ctx, size_t row) { return row_node(ctx, row)->id; }

static const char *nsrc_cell(void *ctx, size_t row, int col, char *buf, size_t sz)
{
	Nodes *ns = ctx;
	const Node *n = row_node(ns, row);
	int64_t now = qd_now_ms();
	switch (ns->cols->ids[col]) {
	case N_NAME: return n->name[0] ? n->name : n->id;
	case N_STATE: nodes_state_text(n->state, app_ascii(ns->app), buf, sz); return buf;
	case N_REGION: return n->region;
	case N_MODEL: return n->gpu_model;
	case N_GPUS: nodes_gpus_text(n, buf, sz); return buf;
	case N_SCHED: return n->scheduling ? "on" : "off";
	case N_ALLOCS: snprintf(buf, sz, "%d", n->allocation_count); return buf;
	case N_AGENT: return n->agent_version[0] ? n->agent_version : (app_ascii(ns->app) ? "-" : "—");
	case N_CERT: nodes_cert_text(n->cert_expires_ms, now, buf, sz); return buf;
	case N_HB: nodes_heartbeat_text(n->last_heartbeat_ms, now, buf, sz); return buf;
	case N_COUNT: break;
	}
	return "";
}

static const char *nsrc_haystack(void *ctx, size_t row, char *buf, size_t sz)
{
	const Node *n = row_node(ctx, row);
	char cert[32];
	nodes_cert_text(n->cert_expires_ms, qd_now_ms(), cert, sizeof cert);
	snprintf(buf, sz, "%s %s %s %s %s %s scheduling-%s %s", n->name, n->id,
	         n->state >= 0 && n->state < NODE_STATE_COUNT ? node_state_name(n->state) : "", n->region,
	         n->gpu_model, n->agent_version, n->scheduling ? "on" : "off", cert);
	return buf;
}

static int cmp_i64(int64_t a, int64_t b) { return a < b ? -1 : a > b; }

static int nsrc_compare(void *ctx, size_t ra, size_t rb, int col)
{
	Nodes *ns = ctx;
	const Node *a = row_node(ns, ra), *b = row_node(ns, rb);
	int c = 0;
	switch (ns->cols->ids[col]) {
	case N_NAME: c = strcasecmp(a->name, b->name); break;
	case N_STATE: c = (int)a->state - (int)b->state; break;
	case N_REGION: c = strcasecmp(a->region, b->region); break;
	case N_MODEL: c = strcasecmp(a->gpu_model, b->gpu_model); break;
	case N_GPUS: c = a->gpu_free - b->gpu_free; if (!c) c = a->gpu_total - b->gpu_total; break;
	case N_SCHED: c = (int)a->scheduling - (int)b->scheduling; break;
	case N_ALLOCS: c = a->allocation_count - b->allocation_count; break;
	case N_AGENT: c = strverscmp(a->agent_version, b->agent_version); break;
	/* Soonest expiry first when ascending: what needs action leads. */
	case N_CERT: c = cmp_i64(a->cert_expires_ms, b->cert_expires_ms); break;
	/* Oldest heartbeat last when ascending: age grows like the workbench's AGE. */
	case N_HB: c = cmp_i64(b->last_heartbeat_ms, a->last_heartbeat_ms); break;
	case N_COUNT: break;
	}
	return c ? c : strcmp(a->id, b->id);
}

static ThemeRole nsrc_row_role(void *ctx, size_t row)
{
	return row_node(ctx, row)->state == NODE_RETIRED ? ROLE_DIM : ROLE_DEFAULT;
}

static ThemeRole nsrc_cell_role(void *ctx, size_t row, int col)
{
	Nodes *ns = ctx;
	const Node *n = row_node(ns, row);
	switch (ns->cols->ids[col]) {
	case N_STATE: return (ThemeRole)nodes_state_role(n->state);
	case N_SCHED: return n->scheduling ? ROLE_DEFAULT : ROLE_STATUS_WARN;
	case N_CERT:
		switch (nodes_cert_level(n->cert_expires_ms, qd_now_ms())) {
		case NODES_CERT_EXPIRED: return ROLE_STATUS_ERROR;
		case NODES_CERT_SOON: return ROLE_STATUS_WARN;
		default: return ROLE_DEFAULT;
		}
	default: return ROLE_DEFAULT;
	}
}

static const TableSourceClass nodes_source = {
	.count = nsrc_count, .row_id = nsrc_row_id, .cell = nsrc_cell, .haystack = nsrc_haystack,
	.compare = nsrc_compare, .row_role = nsrc_row_role, .cell_role = nsrc_cell_role,
};

/* (Re)creates the windows and, when the width calls for another column set,
 * the table's columns (the table keeps filter, sort, selection and scroll). */
static void nodes_layout(Nodes *ns)
{
	views_screen_window(&ns->base.win, app_content_rows(ns->app));
	views_sub_window(ns->base.win, &ns->table_win, 2);
	if (ns->table)
		table_set_window(ns->table, ns->table_win);
	if (views_fit_columns(&ns->table, ns->table_win, &nodes_source, ns, ncolumns, ncol_sets,
	                      (int)QD_ARRAY_LEN(ncol_sets), &ns->cols, COLS))
		ns->stale = true;
}

/* "24 nodes · 18 online · 2 draining · 1 cert EXPIRED": what needs action, in words. */
static void nodes_summary(Nodes *ns, char *buf, size_t sz)
{
	size_t total = store_node_count(ns->store);
	size_t by_state[NODE_STATE_COUNT] = { 0 };
	size_t soon = 0, expired = 0, unsched = 0;
	int64_t now = qd_now_ms();
	for (size_t i = 0; i < total; i++) {
		const Node *n = store_node_at(ns->store, i);
		if (n->state >= 0 && n->state < NODE_STATE_COUNT)
			by_state[n->state]++;
		NodesCertLevel l = nodes_cert_level(n->cert_expires_ms, now);
		soon += l == NODES_CERT_SOON;
		expired += l == NODES_CERT_EXPIRED;
		unsched += !n->scheduling && n->state != NODE_RETIRED;
	}
	const char *sep = app_ascii(ns->app) ? "|" : "·";
	int len = snprintf(buf, sz, " %zu node%s", total, total == 1 ? "" : "s");
	for (int s = 0; s < NODE_STATE_COUNT && len > 0 && (size_t)len < sz; s++)
		if (by_state[s])
			len += snprintf(buf + len, sz - (size_t)len, " %s %zu %s", sep, by_state[s],
			                node_state_name((NodeState)s));
	if (unsched && len > 0 && (size_t)len < sz)
		len += snprintf(buf + len, sz - (size_t)len, " %s %zu not scheduling", sep, unsched);
	if (expired && len > 0 && (size_t)len < sz)
		len += snprintf(buf + len, sz - (size_t)len, " %s %zu cert EXPIRED", sep, expired);
	if (soon && len > 0 && (size_t)len < sz)
		snprintf(buf + len, sz - (size_t)len, " %s %zu cert expiring", sep, soon);
}

static void nodes_draw(Widget *w)
{
	Nodes *ns = (Nodes *)w;
	nodes_sync(ns);
	const char *sep = app_ascii(ns->app) ? "|" : "·";
	char title[512];
	int len = snprintf(title, sizeof title, " Nodes %s %zu of %zu", sep, table_view_count(ns->table), ns->nrows);
	const char *f = table_filter(ns->table);
	if (f[0] && len > 0 && (size_t)len < sizeof title)
		len += snprintf(title + len, sizeof title - (size_t)len, " %s filter: %s", sep, f);
	int sc = table_sort_col(ns->table);
	if (sc >= 0 && sc < ns->cols->n && len > 0 && (size_t)len < sizeof title)
		len += snprintf(title + len, sizeof title - (size_t)len, " %s sort: %s %s", sep,
		                ncolumns[ns->cols->ids[sc]].title, table_sort_desc(ns->table) ? "desc" : "asc");
	if (len > 0 && (size_t)len < sizeof title) {
		char age[24];
		if (ns->req)
			snprintf(title + len, sizeof title - (size_t)len, " %s reading%s", sep,
			         app_ascii(ns->app) ? "..." : "…");
		else if (ns->read_at_ms > 0) {
			nodes_heartbeat_text(ns->read_at_ms, qd_now_ms(), age, sizeof age);
			snprintf(title + len, sizeof title - (size_t)len, " %s heartbeats read %s (F5)", sep, age);
		}
	}
	draw_text_pad(w->win, 0, 0, COLS, title, ROLE_HEADER, false);
	char summary[512];
	nodes_summary(ns, summary, sizeof summary);
	draw_text_pad(w->win, 1, 0, COLS, summary, ROLE_DIM, false);
	Session *s = app_session(ns->app);
	char empty[256];
	if (f[0])
		snprintf(empty, sizeof empty, "No nodes match '%s'. Ctrl-U clears the filter.", f);
	else if (!session_fully_loaded(s))
		snprintf(empty, sizeof empty, "Loading nodes%s", app_ascii(ns->app) ? "..." : "…");
	else
		snprintf(empty, sizeof empty, "The fleet has no nodes this session can see. Esc goes back.");
	table_set_empty_text(ns->table, empty);
	widget_draw(table_widget(ns->table));
	touchwin(w->win);
}

static void nodes_sync_cb(void *ud) { nodes_sync(ud); }

static WidgetResult nodes_key(Widget *w, const KeyEvent *ev)
{
	Nodes *ns = (Nodes *)w;
	nodes_sync(ns);
	const char *id = table_selected_id(ns->table);
	switch (ev->action) {
	case ACTION_BACK:
		if (table_filter(ns->table)[0]) {
			table_set_filter(ns->table, "");
			return W_HANDLED | W_REDRAW;
		}
		return W_CLOSE;
	case ACTION_VIEW_NODES:
		return W_CLOSE;
	case ACTION_OPEN:
		if (id)
			nodes_open_detail(ns->app, id);
		return W_HANDLED | W_REDRAW;
	case ACTION_FILTER:
		views_filter_open(&ns->filter);
		return W_HANDLED | W_REDRAW;
	case ACTION_CLEAR_FILTER:
		table_set_filter(ns->table, "");
		return W_HANDLED | W_REDRAW;
	case ACTION_REFRESH:
		nodes_reload(ns, NULL);
		app_message(ns->app, false, "reading the nodes again (state changes arrive live; heartbeats do not)");
		return W_HANDLED | W_REDRAW;
	case ACTION_RELEASE:
	case ACTION_RESTART:
	case ACTION_FORCE_RELEASE:
	case ACTION_TERMINAL:
	case ACTION_COPY_SSH:
		app_message(ns->app, true, "that acts on an allocation: Enter opens the node, its allocations are listed there");
		return W_HANDLED | W_REDRAW;
	default:
		return widget_key(table_widget(ns->table), ev);
	}
}

static void nodes_resize(Widget *w) { nodes_layout((Nodes *)w); }

static void nodes_destroy(Widget *w)
{
	Nodes *ns = (Nodes *)w;
	store_unlisten(ns->store, nodes_on_store, ns);
	if (ns->req)
		api_cancel(ns->req);
	views_screen_free_windows(&ns->table, &ns->table_win, &ns->base.win);
	views_filter_done(&ns->filter);
}

static const WidgetClass nodes_class = {
	.name = "nodes", .draw = nodes_draw, .key = nodes_key, .resize = nodes_resize,
	.destroy = nodes_destroy, .keymap_context = "table",
};

static void nodes_describe(void *obj, char *mode, size_t msz, char *hints, size_t hsz)
{
	Nodes *ns = obj;
	static const ViewHint h[] = {
		{ACTION_OPEN, "open"}, {ACTION_FILTER, "filter"}, {ACTION_SORT_NEXT, "sort"},
		{ACTION_REFRESH, "reload"}, {ACTION_BACK, "back"}, {ACTION_HELP, "help"},
	};
	snprintf(mode, msz, "Nodes");
	views_hints(ns->app, "table", h, QD_ARRAY_LEN(h), hints, hsz);
}

static bool nodes_command(void *obj, Action a, const char *arg)
{
	Nodes *ns = obj;
	return views_filter_command(&ns->filter, a, arg);
}

void nodes_open(App *app)
{
	Nodes *ns = xcalloc(1, sizeof *ns);
	ns->base.klass = &nodes_class;
	ns->app = app;
	ns->store = app_store(app);
	ns->stale = true;
	nodes_layout(ns);
	views_filter_init(&ns->filter, app, ns->table, nodes_sync_cb, ns);
	/* By name: the table is a pivot lookup; s sorts by state, cert, heartbeat... */
	table_set_sort(ns->table, 0, false);
	store_listen(ns->store, nodes_on_store, ns);
	nodes_reload(ns, NULL);
	AppLayer l = { .w = &ns->base, .obj = ns, .free_obj = views_free_screen, .describe = nodes_describe,
	               .command = nodes_command, .full = true };
	app_push(app, &l);
}

/* --- node detail --------------------------------------------------------------------------- */

typedef enum { L_TEXT, L_OP, L_ALLOC } LineKind;

typedef struct {
	LineKind kind;
	ThemeRole role;
	char *text;
	int op;          /* L_OP: index into ops */
	char *alloc_id;  /* L_ALLOC */
} DLine;

#define LABEL_W 18

typedef struct {
	Widget base;
	App *app;
	Store *store;
	char *id;
	DLine *lines;
	size_t nlines, cap;
	long sel;              /* index into lines of a selectable line, -1 none */
	/* What is selected, by identity, so a rebuild keeps it. */
	LineKind sel_kind;
	int sel_op;
	char *sel_alloc;
	size_t top;
	bool stale;
	int built_cols;
	ApiRequest *req;       /* the scheduling change or refresh in flight */
	char *req_what;        /* "disable scheduling" for the answer's message */
} NodeDetail;

static void lines_clear(NodeDetail *d)
{
	for (size_t i = 0; i < d->nlines; i++) {
		free(d->lines[i].text);
		free(d->lines[i].alloc_id);
	}
	d->nlines = 0;
}

static DLine *line_add(NodeDetail *d, LineKind kind, ThemeRole role, const char *text)
{
	if (d->nlines == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 64;
		d->lines = xrealloc(d->lines, d->cap * sizeof *d->lines);
	}
	DLine *l = &d->lines[d->nlines++];
	*l = (DLine){ .kind = kind, .role = role, .text = xstrdup(text), .op = -1 };
	return l;
}

static void pair(NodeDetail *d, const char *label, const char *value, ThemeRole role)
{
	char *t = xasprintf("  %-*s %s", LABEL_W - 2, label, value);
	line_add(d, L_TEXT, role, t);
	free(t);
}

/* Word-wraps text (our own ASCII prose: byte width = columns) after a label,
 * continuation lines indented under the value. */
static void wrapped(NodeDetail *d, int indent, const char *label, const char *text, ThemeRole role)
{
	int width = COLS - 1;
	int room = width - indent - LABEL_W;
	if (room < 20)
		room = 20;
	const char *p = text;
	bool first = true;
	while (*p || first) {
		size_t len = strlen(p);
		size_t take = len;
		if ((int)len > room) {
			take = (size_t)room;
			while (take > 0 && p[take] != ' ')
				take--;
			if (take == 0)
				take = (size_t)room;
		}
		char *t = xasprintf("%*s%-*s%.*s", indent, "", LABEL_W, first ? label : "", (int)take, p);
		line_add(d, L_TEXT, role, t);
		free(t);
		p += take;
		while (*p == ' ')
			p++;
		first = false;
	}
}

static const char *op_availability(NodeDetail *d, const NodeOp *op, const Node *n, char *buf, size_t sz)
{
	if (op->backend == BACK_MANUAL) {
		if (COLS >= 100)
			snprintf(buf, sz, "guided/manual %s not available on this control plane",
			         app_ascii(d->app) ? "-" : "—");
		else
			snprintf(buf, sz, "guided/manual (not backed here)");
		return buf;
	}
	char why[96];
	NodesSchedOp so = op->backend == BACK_DISABLE ? NODES_OP_DISABLE_SCHEDULING : NODES_OP_ENABLE_SCHEDULING;
	if (nodes_sched_allowed(so, n, app_is_admin(d->app), why, sizeof why))
		snprintf(buf, sz, "runnable now: Enter");
	else
		snprintf(buf, sz, "runnable, not now: %s", why);
	return buf;
}

static bool op_runnable(NodeDetail *d, const NodeOp *op, const Node *n)
{
	if (op->backend == BACK_MANUAL)
		return false;
	char why[96];
	return nodes_sched_allowed(op->backend == BACK_DISABLE ? NODES_OP_DISABLE_SCHEDULING
	                                                       : NODES_OP_ENABLE_SCHEDULING,
	                           n, app_is_admin(d->app), why, sizeof why);
}

static void overview(NodeDetail *d, const Node *n)
{
	bool ascii = app_ascii(d->app);
	const char *sep = ascii ? "|" : "·";
	int64_t now = qd_now_ms();
	char buf[512], a[64], b[64];
	nodes_state_text(n->state, ascii, a, sizeof a);
	snprintf(buf, sizeof buf, "%s %s scheduling %s", a, sep,
	         n->scheduling ? "on" : "off (no new work is placed here)");
	pair(d, "State", buf, (ThemeRole)nodes_state_role(n->state));
	pair(d, "Region", n->region[0] ? n->region : (ascii ? "-" : "—"), ROLE_DEFAULT);
	snprintf(buf, sizeof buf, "%d free of %d %s %s", n->gpu_free, n->gpu_total, sep, n->gpu_model);
	pair(d, "GPUs", buf, ROLE_DEFAULT);
	snprintf(buf, sizeof buf, "%d holding GPUs", n->allocation_count);
	pair(d, "Allocations", buf, ROLE_DEFAULT);
	pair(d, "Agent version", n->agent_version[0] ? n->agent_version : (ascii ? "-" : "—"), ROLE_DEFAULT);
	nodes_cert_text(n->cert_expires_ms, now, a, sizeof a);
	NodesCertLevel cl = nodes_cert_level(n->cert_expires_ms, now);
	if (n->cert_expires_ms > 0) {
		qd_time_format(n->cert_expires_ms, b, sizeof b);
		snprintf(buf, sizeof buf, "%s %s %.16s%s", a, sep, b,
		         cl == NODES_CERT_EXPIRED ? "  (Repair: Repair certificates)"
		         : cl == NODES_CERT_SOON ? "  (renew soon: Repair certificates)" : "");
	} else {
		snprintf(buf, sizeof buf, "%s", a);
	}
	pair(d, "Certificate", buf,
	     cl == NODES_CERT_EXPIRED ? ROLE_STATUS_ERROR : cl == NODES_CERT_SOON ? ROLE_STATUS_WARN : ROLE_DEFAULT);
	nodes_heartbeat_text(n->last_heartbeat_ms, now, a, sizeof a);
	if (n->last_heartbeat_ms > 0) {
		qd_time_format(n->last_heartbeat_ms, b, sizeof b);
		snprintf(buf, sizeof buf, "%s %s %.19s", a, sep, b);
	} else {
		snprintf(buf, sizeof buf, "%s", a);
	}
	pair(d, "Last heartbeat", buf, ROLE_DEFAULT);
	pair(d, "Id", n->id, ROLE_DIM);
}

static void op_lines(NodeDetail *d, const Node *n)
{
	line_add(d, L_TEXT, ROLE_DEFAULT, "");
	line_add(d, L_TEXT, ROLE_HEADER, " Operations by intent (Enter runs what this control plane backs)");
	char *h = xasprintf("    %-28s %-11s %s", "OPERATION", "DANGER", "AVAILABILITY");
	line_add(d, L_TEXT, ROLE_DIM, h);
	free(h);
	for (size_t g = 0; g < QD_ARRAY_LEN(op_groups); g++) {
		char *t = xasprintf("  %s", op_groups[g]);
		line_add(d, L_TEXT, ROLE_HEADER_SORTED, t);
		free(t);
		for (int i = 0; i < N_OPS; i++) {
			const NodeOp *op = &ops[i];
			if (strcmp(op->group, op_groups[g]) != 0)
				continue;
			char avail[160];
			op_availability(d, op, n, avail, sizeof avail);
			bool run = op_runnable(d, op, n);
			t = xasprintf("    %-28s %-11.*s %s", op->name, (int)strcspn(op->danger, ": ("), op->danger,
			              avail);
			DLine *l = line_add(d, L_OP, run ? ROLE_KEY_HINT : op->backend == BACK_MANUAL ? ROLE_DIM : ROLE_DEFAULT, t);
			l->op = i;
			free(t);
			bool selected = d->sel_kind == L_OP && d->sel_op == i;
			if (!selected)
				continue;
			wrapped(d, 6, "Preconditions", op->pre, ROLE_DEFAULT);
			wrapped(d, 6, "Expected result", op->result, ROLE_DEFAULT);
			wrapped(d, 6, "Progress shows", op->progress, ROLE_DEFAULT);
			wrapped(d, 6, "If it fails", op->failure, ROLE_DEFAULT);
			wrapped(d, 6, "Evidence", op->evidence, ROLE_DEFAULT);
			char *dg = xasprintf("%s; %s", op->danger, op->confirm);
			wrapped(d, 6, "Danger", dg, strncmp(op->danger, "destructive", 11) == 0 || strncmp(op->danger, "high", 4) == 0
			                                ? ROLE_STATUS_WARN : ROLE_DEFAULT);
			free(dg);
			if (op->manual)
				wrapped(d, 6, "Manual path", op->manual, ROLE_DIM);
		}
	}
}

static bool alloc_shown(const Allocation *a, const char *node_id)
{
	return a->state != ALLOC_RELEASED && strcmp(a->node_id, node_id) == 0;
}

static void alloc_lines(NodeDetail *d)
{
	bool ascii = app_ascii(d->app);
	const char *sep = ascii ? "|" : "·";
	size_t total = store_allocation_count(d->store), shown = 0, released = 0;
	for (size_t i = 0; i < total; i++) {
		const Allocation *a = store_allocation_at(d->store, i);
		if (alloc_shown(a, d->id))
			shown++;
		else if (a->state == ALLOC_RELEASED && strcmp(a->node_id, d->id) == 0)
			released++;
	}
	line_add(d, L_TEXT, ROLE_DEFAULT, "");
	char *t = xasprintf(" Allocations on this node %s %zu (Enter opens one)", sep, shown);
	line_add(d, L_TEXT, ROLE_HEADER, t);
	free(t);
	if (shown == 0)
		line_add(d, L_TEXT, ROLE_DIM, "    none that this session can see");
	for (size_t i = 0; i < total; i++) {
		const Allocation *a = store_allocation_at(d->store, i);
		if (!alloc_shown(a, d->id))
			continue;
		char name[96], st[64], sku[128], owner[96], age[16];
		views_clean(a->name[0] ? a->name : a->id, 24, ascii, name, sizeof name);
		views_state(a, ascii, st, sizeof st);
		views_sku(a, ascii, sku, sizeof sku);
		views_clean(a->owner_name, 20, ascii, owner, sizeof owner);
		views_age(a->state_since_ms, qd_now_ms(), age, sizeof age);
		t = xasprintf("    %s %s %s (for %s) %s %s %s %s", name, sep, st, age, sep, sku, sep,
		              owner[0] ? owner : a->org_id);
		DLine *l = line_add(d, L_ALLOC, (ThemeRole)views_state_role(a->state), t);
		l->alloc_id = xstrdup(a->id);
		free(t);
	}
	if (released) {
		t = xasprintf("    %zu released allocation%s not listed (History shows them: H)", released,
		              released == 1 ? "" : "s");
		line_add(d, L_TEXT, ROLE_DIM, t);
		free(t);
	}
}

static bool selectable(const DLine *l) { return l->kind == L_OP || l->kind == L_ALLOC; }

static void remember_sel(NodeDetail *d)
{
	free(d->sel_alloc);
	d->sel_alloc = NULL;
	if (d->sel < 0 || (size_t)d->sel >= d->nlines)
		return;
	const DLine *l = &d->lines[d->sel];
	d->sel_kind = l->kind;
	d->sel_op = l->op;
	if (l->kind == L_ALLOC)
		d->sel_alloc = xstrdup(l->alloc_id);
}

static int body_rows(const NodeDetail *d)
{
	int rows = d->base.win ? getmaxy(d->base.win) - 1 : 1;
	return rows > 1 ? rows : 1;
}

/* Keeps the selected line, and as much of an unfolded operation as fits, in view. */
static void scroll_to_sel(NodeDetail *d)
{
	if (d->sel < 0)
		return;
	size_t rows = (size_t)body_rows(d);
	size_t s = (size_t)d->sel;
	size_t end = s;
	while (end + 1 < d->nlines && d->lines[end + 1].kind == L_TEXT && d->lines[s].kind == L_OP &&
	       strncmp(d->lines[end + 1].text, "      ", 6) == 0)
		end++;
	if (end >= d->top + rows)
		d->top = end + 1 - rows;
	if (s < d->top)
		d->top = s;
	if (d->top > s)
		d->top = s;
}

static void rebuild(NodeDetail *d)
{
	lines_clear(d);
	d->stale = false;
	d->built_cols = COLS;
	const Node *n = store_node(d->store, d->id);
	if (!n) {
		char *t = xasprintf("  Loading node %s%s (or it is not in this session's fleet list)", d->id,
		                    app_ascii(d->app) ? "..." : "…");
		line_add(d, L_TEXT, ROLE_DIM, t);
		free(t);
		d->sel = -1;
		return;
	}
	overview(d, n);
	op_lines(d, n);
	alloc_lines(d);
	/* Find the remembered selection; else the first runnable op; else the first op. */
	d->sel = -1;
	for (size_t i = 0; i < d->nlines && d->sel < 0; i++) {
		const DLine *l = &d->lines[i];
		if (d->sel_kind == L_OP && l->kind == L_OP && l->op == d->sel_op)
			d->sel = (long)i;
		else if (d->sel_kind == L_ALLOC && l->kind == L_ALLOC && d->sel_alloc &&
		         strcmp(l->alloc_id, d->sel_alloc) == 0)
			d->sel = (long)i;
	}
	if (d->sel < 0) {
		/* First visit: the first operation that can run now (what to do
		 * next, seed 003); an allocation that left: the first operation. */
		for (size_t i = 0; i < d->nlines && d->sel < 0; i++)
			if (d->lines[i].kind == L_OP && d->sel_kind == L_TEXT && op_runnable(d, &ops[d->lines[i].op], n))
				d->sel = (long)i;
		for (size_t i = 0; i < d->nlines && d->sel < 0; i++)
			if (selectable(&d->lines[i]))
				d->sel = (long)i;
		remember_sel(d);
		/* The unfolded description belongs under the new selection: build
		 * again now that it is remembered (found on the second pass). */
		if (d->sel >= 0 && d->lines[d->sel].kind == L_OP) {
			rebuild(d);
			return;
		}
	}
	scroll_to_sel(d);
}

/* Moves to the next selectable line in direction dir (count times). */
static void move_sel(NodeDetail *d, int dir, int count)
{
	long i = d->sel;
	for (int k = 0; k < count; k++) {
		long j = i + dir;
		while (j >= 0 && (size_t)j < d->nlines && !selectable(&d->lines[j]))
			j += dir;
		if (j < 0 || (size_t)j >= d->nlines)
			break;
		i = j;
	}
	if (i == d->sel) {
		/* At the ends: show the text above the first / below the last line. */
		if (dir < 0)
			d->top = 0;
		else if (d->nlines > (size_t)body_rows(d))
			d->top = d->nlines - (size_t)body_rows(d);
		return;
	}
	d->sel = i;
	remember_sel(d);
	rebuild(d);
}

static void nd_draw(Widget *w)
{
	NodeDetail *d = (NodeDetail *)w;
	if (d->stale || d->built_cols != COLS)
		rebuild(d);
	const Node *n = store_node(d->store, d->id);
	bool ascii = app_ascii(d->app);
	const char *sep = ascii ? "|" : "·";
	char title[512], st[64];
	if (n) {
		nodes_state_text(n->state, ascii, st, sizeof st);
		snprintf(title, sizeof title, " Node %s %s %s %s %s %s %s", n->name, sep, n->id, sep, st, sep,
		         d->req ? (ascii ? "sending..." : "sending…") : n->scheduling ? "scheduling on" : "scheduling off");
	} else {
		snprintf(title, sizeof title, " Node %s", d->id);
	}
	draw_text_pad(w->win, 0, 0, COLS, title, ROLE_HEADER, false);
	int rows = body_rows(d);
	const char *cursor = draw_glyph(GLYPH_CURSOR);
	for (int y = 0; y < rows; y++) {
		size_t i = d->top + (size_t)y;
		if (i >= d->nlines) {
			draw_fill(w->win, y + 1, 0, COLS, ROLE_DEFAULT);
			continue;
		}
		const DLine *l = &d->lines[i];
		bool is_sel = (long)i == d->sel;
		if (l->kind == L_TEXT) {
			draw_text_pad(w->win, y + 1, 0, COLS, l->text, l->role, false);
			continue;
		}
		/* The marker replaces the first columns of the indent, so the row
		 * reads selected without colour too. */
		draw_text_pad(w->win, y + 1, 0, 3, is_sel ? cursor : "", is_sel ? ROLE_SELECTED : ROLE_DEFAULT, false);
		draw_text_pad(w->win, y + 1, 3, COLS - 3, l->text + 3, is_sel ? ROLE_SELECTED : l->role, false);
	}
	/* More below / above, in words, on the last row's right edge. */
	if (d->nlines > d->top + (size_t)rows)
		draw_text(w->win, rows, COLS - 8, 8, ascii ? " more v " : " more ↓ ", ROLE_DIM);
	touchwin(w->win);
}

static void sched_done(void *ud, const ApiResponse *r)
{
	NodeDetail *d = ud;
	d->req = NULL;
	const char *what = d->req_what ? d->req_what : "scheduling change";
	if (r->outcome == API_CANCELLED)
		return;
	if (r->outcome != API_OK) {
		app_message(d->app, true, "%s failed: %s%s%s", what,
		            r->err_message && *r->err_message ? r->err_message : "no answer from the server",
		            r->err_suggestion && *r->err_suggestion ? " · " : "",
		            r->err_suggestion ? r->err_suggestion : "");
		app_invalidate(d->app);
		return;
	}
	/* The node.updated event brings the same record; applying the answer now
	 * shows the change without waiting for the stream. */
	json_t *jn = json_object_get(r->body, "node");
	Node n;
	char err[160];
	if (jn && decode_node(jn, &n, err, sizeof err) == 0)
		store_put_node(d->store, &n);
	json_t *acc = json_object_get(r->body, "accepted");
	bool changed = json_is_true(json_object_get(acc, "changed"));
	const char *to = json_string_value(json_object_get(acc, "to_state"));
	char msg[256];
	if (changed)
		snprintf(msg, sizeof msg, "%s done %s node is %s; audit row written", what,
		         app_ascii(d->app) ? "|" : "·", to ? to : "updated");
	else
		snprintf(msg, sizeof msg, "%s: nothing to change, the node already was so", what);
	app_notify(d->app, msg);
	d->stale = true;
	app_invalidate(d->app);
}

typedef struct {
	NodeDetail *d;
	bool enable;
} SchedCtx;

static void sched_confirm_done(void *ud, Modal *m, ModalOutcome outcome)
{
	SchedCtx *sc = ud;
	NodeDetail *d = sc->d;
	bool enable = sc->enable;
	free(sc);
	const char *what = enable ? "enable scheduling" : "disable scheduling";
	if (outcome != MODAL_ACCEPTED) {
		app_message(d->app, false, "%s cancelled: the node is unchanged", what);
		return;
	}
	if (d->req) {
		app_message(d->app, true, "a scheduling change is already on its way");
		return;
	}
	char *e = api_escape(d->id);
	char *path = xasprintf("/api/v1/admin/nodes/%s/scheduling", e);
	json_t *body = json_pack("{s:b, s:s}", "enabled", enable, "reason", modal_input(m));
	free(d->req_what);
	d->req_what = xstrdup(what);
	d->req = api_request(app_api(d->app), "POST", path, body, sched_done, d);
	app_message(d->app, false, "%s sent%s", what, app_ascii(d->app) ? "..." : "…");
	json_decref(body);
	free(path);
	free(e);
}

static void run_op(NodeDetail *d, const NodeOp *op)
{
	const Node *n = store_node(d->store, d->id);
	if (op->backend == BACK_MANUAL) {
		app_message(d->app, true, "%s is guided/manual: not available on this control plane (manual path shown under it)",
		            op->name);
		return;
	}
	NodesSchedOp so = op->backend == BACK_DISABLE ? NODES_OP_DISABLE_SCHEDULING : NODES_OP_ENABLE_SCHEDULING;
	char why[96];
	if (!nodes_sched_allowed(so, n, app_is_admin(d->app), why, sizeof why)) {
		app_message(d->app, true, "cannot %s: %s", op->name, why);
		return;
	}
	char name[96];
	views_clean(n->name, 40, app_ascii(d->app), name, sizeof name);
	SchedCtx *sc = xcalloc(1, sizeof *sc);
	sc->d = d;
	sc->enable = so == NODES_OP_ENABLE_SCHEDULING;
	char *body;
	Modal *m;
	if (!sc->enable) {
		body = xasprintf("Disable scheduling on %s?\n\nNothing new is placed on it. %s\n\nYour reason goes "
		                 "into the audit log.",
		                 name,
		                 n->allocation_count > 0
		                         ? "It holds allocations: it becomes draining and their work keeps running."
		                         : "It holds no allocations: it stays online, cordoned.");
		ModalSpec spec = { .title = "Disable scheduling", .body = body, .accept_label = "Disable",
		                   .cancel_label = "Cancel", .danger = true, .input_label = "Reason",
		                   .input_required = true, .input_max = 500 };
		m = modal_new(&spec);
	} else {
		body = xasprintf("Enable scheduling on %s?\n\nPlacement may use it again%s.", name,
		                 n->state == NODE_DRAINING ? "; it becomes online"
		                 : n->state == NODE_ONLINE ? ""
		                                           : " once it is back online");
		ModalSpec spec = { .title = "Enable scheduling", .body = body, .accept_label = "Enable",
		                   .cancel_label = "Cancel", .danger = false, .input_label = "Reason (optional)",
		                   .input_required = false, .input_max = 500 };
		m = modal_new(&spec);
	}
	free(body);
	modal_set_callback(m, sched_confirm_done, sc);
	app_push_modal(d->app, m);
}

static void refresh_done(void *ud, const ApiResponse *r)
{
	NodeDetail *d = ud;
	d->req = NULL;
	if (!answer_ok(d->app, r, "reading the node"))
		return;
	Node n;
	char err[160];
	if (decode_node(r->body, &n, err, sizeof err) != 0) {
		app_message(d->app, true, "the server's node did not match the contract: %s", err);
		return;
	}
	store_put_node(d->store, &n);
	app_message(d->app, false, "node read again from the server");
}

static const Allocation *sel_alloc(NodeDetail *d)
{
	if (d->sel < 0 || d->lines[d->sel].kind != L_ALLOC)
		return NULL;
	return store_allocation(d->store, d->lines[d->sel].alloc_id);
}

static WidgetResult nd_key(Widget *w, const KeyEvent *ev)
{
	NodeDetail *d = (NodeDetail *)w;
	if (d->stale || d->built_cols != COLS)
		rebuild(d);
	const Allocation *a = sel_alloc(d);
	switch (ev->action) {
	case ACTION_BACK:
	case ACTION_VIEW_NODES:
		return W_CLOSE;
	case ACTION_MOVE_UP:
		move_sel(d, -1, 1);
		return W_HANDLED | W_REDRAW;
	case ACTION_MOVE_DOWN:
		move_sel(d, 1, 1);
		return W_HANDLED | W_REDRAW;
	case ACTION_PAGE_UP:
		move_sel(d, -1, body_rows(d) / 2 > 0 ? body_rows(d) / 2 : 1);
		return W_HANDLED | W_REDRAW;
	case ACTION_PAGE_DOWN:
		move_sel(d, 1, body_rows(d) / 2 > 0 ? body_rows(d) / 2 : 1);
		return W_HANDLED | W_REDRAW;
	case ACTION_MOVE_FIRST:
		move_sel(d, -1, 1 << 20);
		d->top = 0;
		return W_HANDLED | W_REDRAW;
	case ACTION_MOVE_LAST:
		move_sel(d, 1, 1 << 20);
		if (d->nlines > (size_t)body_rows(d))
			d->top = d->nlines - (size_t)body_rows(d);
		return W_HANDLED | W_REDRAW;
	case ACTION_OPEN:
		if (d->sel < 0)
			return W_HANDLED;
		if (d->lines[d->sel].kind == L_ALLOC)
			app_open_detail(d->app, d->lines[d->sel].alloc_id);
		else
			run_op(d, &ops[d->lines[d->sel].op]);
		return W_HANDLED | W_REDRAW;
	case ACTION_REFRESH:
		if (!d->req) {
			char *e = api_escape(d->id);
			char *path = xasprintf("/api/v1/nodes/%s", e);
			d->req = api_request(app_api(d->app), "GET", path, NULL, refresh_done, d);
			free(path);
			free(e);
		}
		return W_HANDLED | W_REDRAW;
	case ACTION_RELEASE:
	case ACTION_RESTART:
	case ACTION_FORCE_RELEASE:
	case ACTION_TERMINAL:
	case ACTION_COPY_SSH:
		if (!a) {
			app_message(d->app, true, "select one of the node's allocations first (below the operations)");
			return W_HANDLED | W_REDRAW;
		}
		if (ev->action == ACTION_RELEASE)
			app_release(d->app, a->id);
		else if (ev->action == ACTION_RESTART)
			app_restart(d->app, a->id);
		else if (ev->action == ACTION_FORCE_RELEASE)
			app_force_release(d->app, a->id);
		else if (ev->action == ACTION_TERMINAL)
			app_open_terminal(d->app, a->id);
		else
			app_copy(d->app, a->ssh_command, "SSH command");
		return W_HANDLED | W_REDRAW;
	default:
		return W_IGNORED;
	}
}

static void nd_on_store(void *ud, StoreKind kind, const char *id)
{
	NodeDetail *d = ud;
	/* Node changes are rare; allocation ones only matter for this node's
	 * list, but checking node_id needs the record, so mark and let the
	 * rebuild (at most once a frame) do the work. */
	if (kind & (STORE_NODE | STORE_ALLOC | STORE_RESET)) {
		d->stale = true;
		app_invalidate(d->app);
	}
}

static void nd_layout(NodeDetail *d)
{
	int rows = app_content_rows(d->app) > 3 ? app_content_rows(d->app) : 3;
	views_screen_window(&d->base.win, rows);
	d->stale = true;
}

static void nd_resize(Widget *w) { nd_layout((NodeDetail *)w); }

static void nd_destroy(Widget *w)
{
	NodeDetail *d = (NodeDetail *)w;
	store_unlisten(d->store, nd_on_store, d);
	if (d->req)
		api_cancel(d->req);
	lines_clear(d);
	free(d->lines);
	free(d->sel_alloc);
	free(d->req_what);
	free(d->id);
	if (d->base.win)
		delwin(d->base.win);
}

static const WidgetClass nd_class = {
	.name = "node_detail", .draw = nd_draw, .key = nd_key, .resize = nd_resize,
	.destroy = nd_destroy, .keymap_context = "table",
};

static void nd_describe(void *obj, char *mode, size_t msz, char *hints, size_t hsz)
{
	NodeDetail *d = obj;
	static const ViewHint on_alloc_h[] = {
		{ACTION_OPEN, "open allocation"}, {ACTION_RELEASE, "release"}, {ACTION_COPY_SSH, "copy SSH"},
		{ACTION_BACK, "back"}, {ACTION_HELP, "help"},
	};
	static const ViewHint on_op_h[] = {
		{ACTION_OPEN, "run/explain"}, {ACTION_REFRESH, "reload"}, {ACTION_BACK, "back"},
		{ACTION_HELP, "help"},
	};
	snprintf(mode, msz, "Node");
	bool on_alloc = d->sel >= 0 && (size_t)d->sel < d->nlines && d->lines[d->sel].kind == L_ALLOC;
	if (on_alloc)
		views_hints(d->app, "table", on_alloc_h, QD_ARRAY_LEN(on_alloc_h), hints, hsz);
	else
		views_hints(d->app, "table", on_op_h, QD_ARRAY_LEN(on_op_h), hints, hsz);
}

void nodes_open_detail(App *app, const char *node_id)
{
	NodeDetail *d = xcalloc(1, sizeof *d);
	d->base.klass = &nd_class;
	d->app = app;
	d->store = app_store(app);
	d->id = xstrdup(node_id);
	d->sel = -1;
	d->sel_kind = L_TEXT; /* nothing chosen yet: the first runnable operation */
	d->sel_op = -1;
	nd_layout(d);
	store_listen(d->store, nd_on_store, d);
	AppLayer l = { .w = &d->base, .obj = d, .free_obj = views_free_screen, .describe = nd_describe, .full = true };
	app_push(app, &l);
}

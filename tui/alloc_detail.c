/* alloc_detail — one allocation in seven tabs, live from the store.
 *
 * The screen keeps only the allocation's id; every draw reads the current
 * record from the store, so an event arriving while the screen is open is on
 * it in the next frame. The tab's text is rebuilt when the record, its task or
 * the tab changes (not on every frame), keeping the scroll position. */
#include "tui/alloc_detail.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "tui/views_common.h"
#include "widgets/draw.h"
#include "widgets/tabs.h"
#include "widgets/textview.h"

enum { TAB_OVERVIEW, TAB_SSH, TAB_STORAGE, TAB_RUNTIME, TAB_WORKLOADS, TAB_HEALTH, TAB_ACTIVITY, TAB_COUNT };

static const char *const tab_labels[TAB_COUNT] = {
	"Overview", "SSH Access", "Storage", "Managed Runtime", "Workloads", "Metrics/Health", "Activity",
};
/* Below 100 columns the long labels do not fit on one line. */
static const char *const tab_labels_short[TAB_COUNT] = {
	"Overview", "SSH", "Storage", "Runtime", "Workloads", "Health", "Activity",
};
#define TABS_LONG_MIN_COLS 100

#define LABEL_COLS 18

typedef struct {
	Widget base;
	App *app;
	Store *store;
	char *id;
	Tabs *tabs;
	Textview *tv;
	WINDOW *tabs_win, *body_win;
	bool stale;           /* rebuild the tab's text at the next draw */
	int shown_tab;
	bool short_labels;
	int64_t refreshed_version; /* version we last asked the task for */
	json_t *keys;              /* GET /ssh-keys items (names for the key ids), or NULL */
	ApiRequest *keys_req;
} Detail;

/* --- text of the tabs ---------------------------------------------------------- */

static void pair(Detail *d, const char *label, const char *value, ThemeRole role)
{
	textview_add_pair(d->tv, label, value, LABEL_COLS, role);
}

static void pair_time(Detail *d, const char *label, int64_t ms)
{
	char t[40];
	if (ms <= 0)
		return;
	qd_time_format(ms, t, sizeof t);
	pair(d, label, t, ROLE_DEFAULT);
}

static const char *dash(Detail *d) { return app_ascii(d->app) ? "-" : "—"; }

static void overview(Detail *d, const Allocation *a)
{
	char buf[1024], age[16];
	bool ascii = app_ascii(d->app);
	views_state(a, ascii, buf, sizeof buf);
	views_age(a->state_since_ms, qd_now_ms(), age, sizeof age);
	size_t n = strlen(buf);
	snprintf(buf + n, sizeof buf - n, " (for %s)", age);
	pair(d, "State", buf, (ThemeRole)views_state_role(a->state));
	if (a->failure_code[0] || a->failure_message[0]) {
		snprintf(buf, sizeof buf, "%s: %s", a->failure_code, a->failure_message);
		pair(d, "Failure reason", buf, ROLE_STATE_FAILED);
	}
	if (a->release_failed_code[0] || a->release_failed_message[0]) {
		snprintf(buf, sizeof buf, "%s: %s", a->release_failed_code, a->release_failed_message);
		pair(d, "Release failed", buf, ROLE_STATE_FAILED);
	}
	if (a->action_required[0])
		pair(d, "Action required", a->action_required, ROLE_STATUS_WARN);
	pair_time(d, "Deadline", a->deadline_ms);
	pair(d, "Billing", a->billing_stopped ? "stopped (no further charges)" : "running", ROLE_DEFAULT);
	views_price(a->price_per_hour_cents, buf, sizeof buf);
	n = strlen(buf);
	snprintf(buf + n, sizeof buf - n, " per hour");
	pair(d, "Cost", buf, ROLE_DEFAULT);
	if (a->node_name[0] || a->node_id[0]) {
		snprintf(buf, sizeof buf, "%s (%s) %s %s", a->node_name, a->node_id, ascii ? "|" : "·",
		         a->region[0] ? a->region : "no region");
		pair(d, "Node", buf, ROLE_DEFAULT);
	} else {
		pair(d, "Node", "not placed yet", ROLE_DIM);
	}
	views_sku(a, ascii, buf, sizeof buf);
	n = strlen(buf);
	if (a->gpu_model[0])
		snprintf(buf + n, sizeof buf - n, " (%s)", a->gpu_model);
	pair(d, "SKU / GPUs", buf, ROLE_DEFAULT);
	pair(d, "Image", a->image_name[0] ? a->image_name : dash(d), ROLE_DEFAULT);
	pair(d, "Network", a->network_name[0] ? a->network_name : dash(d), ROLE_DEFAULT);
	snprintf(buf, sizeof buf, "%s / %s", a->project_name[0] ? a->project_name : dash(d),
	         a->owner_name[0] ? a->owner_name : dash(d));
	pair(d, "Project / owner", buf, ROLE_DEFAULT);
	pair_time(d, "Created", a->created_ms);
	pair_time(d, "Updated", a->updated_ms);
	textview_add(d->tv, "", ROLE_DEFAULT);
	pair(d, "SSH command", a->ssh_command[0] ? a->ssh_command : "not available until the allocation is active",
	     a->ssh_command[0] ? ROLE_DEFAULT : ROLE_DIM);
	if (a->ssh_command[0])
		textview_add(d->tv, "                  y copies it to your clipboard", ROLE_DIM);
	textview_add(d->tv, "", ROLE_DEFAULT);
	/* What can be done now, from the transition table: disabled ones say why. */
	bool rel = alloc_action_allowed(ALLOC_ACTION_RELEASE, a->state);
	snprintf(buf, sizeof buf, "r release%s", rel ? "" : "  (not allowed while ");
	if (!rel) {
		n = strlen(buf);
		snprintf(buf + n, sizeof buf - n, "%s)", alloc_state_name(a->state));
	}
	pair(d, "Actions", buf, rel ? ROLE_KEY_HINT : ROLE_DIM);
	bool rs = alloc_action_allowed(ALLOC_ACTION_RESTART, a->state);
	snprintf(buf, sizeof buf, "R restart%s%s%s", rs ? " (interrupts sessions and processes)" : "  (not allowed while ",
	         rs ? "" : alloc_state_name(a->state), rs ? "" : ")");
	pair(d, "", buf, rs ? ROLE_KEY_HINT : ROLE_DIM);
	bool term = alloc_action_allowed(ALLOC_ACTION_TERMINAL, a->state);
	pair(d, "", term ? "c terminal (shell on the machine)" : "c terminal  (only while active)",
	     term ? ROLE_KEY_HINT : ROLE_DIM);
	if (app_is_admin(d->app)) {
		bool f = alloc_action_allowed(ALLOC_ACTION_FORCE_RELEASE, a->state);
		snprintf(buf, sizeof buf, "F force release%s", f ? " (needs a reason)" : "  (only from release_failed)");
		pair(d, "", buf, f ? ROLE_KEY_HINT : ROLE_DIM);
	}
}

/* "key_ops  ops-bastion  SHA256:..." when the key is one of the caller's
 * account keys; the bare id otherwise (another user's key). */
static void key_line(Detail *d, const char *id, char *buf, size_t sz)
{
	size_t i;
	json_t *k;
	json_array_foreach(d->keys, i, k) {
		const char *kid = json_string_value(json_object_get(k, "id"));
		if (!kid || strcmp(kid, id) != 0)
			continue;
		const char *name = json_string_value(json_object_get(k, "name"));
		const char *fp = json_string_value(json_object_get(k, "fingerprint"));
		snprintf(buf, sz, "%s  %s  %s", id, name ? name : "", fp ? fp : "");
		return;
	}
	snprintf(buf, sz, "%s%s", id, d->keys ? "  (not one of your account keys)" : "");
}

static void keys_done(void *ud, const ApiResponse *r)
{
	Detail *d = ud;
	d->keys_req = NULL;
	if (r->outcome != API_OK)
		return; /* the ids alone still show */
	json_t *items = json_object_get(r->body, "items");
	if (!json_is_array(items))
		return;
	d->keys = json_incref(items);
	d->stale = true;
	app_invalidate(d->app);
}

static void ssh_tab(Detail *d, const Allocation *a)
{
	pair(d, "SSH command", a->ssh_command[0] ? a->ssh_command : "none yet (the allocation is not active)",
	     a->ssh_command[0] ? ROLE_DEFAULT : ROLE_DIM);
	if (a->ssh_command[0])
		textview_add(d->tv, "y copies the command (OSC 52: works over SSH and inside tmux).", ROLE_DIM);
	textview_add(d->tv, "", ROLE_DEFAULT);
	if (a->ssh_key_count == 0) {
		pair(d, "Authorized keys", "none listed by the server", ROLE_DIM);
	} else {
		/* One key id a line: they are what the operator matches against `ssh-keys`. */
		for (int i = 0; i < a->ssh_key_count; i++) {
			char line[512];
			key_line(d, a->ssh_key_ids[i], line, sizeof line);
			pair(d, i == 0 ? "Authorized keys" : "", line, ROLE_DEFAULT);
		}
		textview_addf(d->tv, ROLE_DIM, "%*s%d account key%s chosen at launch", LABEL_COLS + 1, "",
		              a->ssh_key_count, a->ssh_key_count == 1 ? "" : "s");
	}
	textview_add(d->tv, "", ROLE_DEFAULT);
	textview_add(d->tv, "The platform never shares private keys: connect with the private half of a key you", ROLE_DEFAULT);
	textview_add(d->tv, "added to your account. There is no private-key download.", ROLE_DEFAULT);
}

static void storage_tab(Detail *d, const Allocation *a)
{
	textview_add(d->tv, "Local machine disk is scratch: it is deleted when the allocation is released.",
	             ROLE_STATUS_WARN);
	textview_add(d->tv, "Attached project storage persists across releases.", ROLE_DEFAULT);
	textview_add(d->tv, "", ROLE_DEFAULT);
	if (a->storage_count == 0) {
		textview_add(d->tv, "No project storage attached: only the scratch disk.", ROLE_DIM);
		return;
	}
	textview_addf(d->tv, ROLE_HEADER, "%-20s %-28s %9s  %s", "VOLUME", "MOUNT PATH", "SIZE", "KIND");
	for (int i = 0; i < a->storage_count; i++) {
		const StorageItem *s = &a->storage[i];
		char name[64], path[96];
		views_clean(s->name[0] ? s->name : s->id, 20, app_ascii(d->app), name, sizeof name);
		views_clean(s->mount_path, 28, app_ascii(d->app), path, sizeof path);
		textview_addf(d->tv, ROLE_DEFAULT, "%-20s %-28s %6d GB  %s", name, path, s->size_gb,
		              s->persistent ? "project storage (persists)" : "scratch (deleted on release)");
	}
}

static void runtime_tab(Detail *d, const Allocation *a)
{
	if (!a->runtime_bundle[0]) {
		pair(d, "Managed runtime", "none", ROLE_DIM);
		textview_add(d->tv, "", ROLE_DEFAULT);
		textview_add(d->tv, "This allocation runs without a managed runtime bundle.", ROLE_DEFAULT);
	} else {
		pair(d, "Bundle", a->runtime_bundle, ROLE_DEFAULT);
		pair(d, "Version", a->runtime_version[0] ? a->runtime_version : dash(d), ROLE_DEFAULT);
		pair(d, "State", a->runtime_state[0] ? a->runtime_state : dash(d), ROLE_DEFAULT);
	}
	textview_add(d->tv, "", ROLE_DEFAULT);
	textview_add(d->tv, "The platform owns the managed runtime paths and their updates; what you install",
	             ROLE_DIM);
	textview_add(d->tv, "over SSH elsewhere is yours.", ROLE_DIM);
}

static void health_tab(Detail *d, const Allocation *a)
{
	const Node *n = a->node_id[0] ? store_node(d->store, a->node_id) : NULL;
	if (!a->node_id[0]) {
		textview_add(d->tv, "Not placed on a node yet: no health to show.", ROLE_DIM);
	} else if (!n) {
		pair(d, "Node", a->node_name[0] ? a->node_name : a->node_id, ROLE_DEFAULT);
		textview_add(d->tv, "The node's record is not loaded in this session.", ROLE_DIM);
	} else {
		char buf[256];
		pair(d, "Node", n->name, ROLE_DEFAULT);
		pair(d, "Node state", node_state_name(n->state),
		     n->state == NODE_ONLINE ? ROLE_STATE_OK : ROLE_STATUS_WARN);
		pair(d, "Scheduling", n->scheduling ? "on" : "off (not taking new work)", ROLE_DEFAULT);
		snprintf(buf, sizeof buf, "%d free of %d (%s)", n->gpu_free, n->gpu_total, n->gpu_model);
		pair(d, "GPUs", buf, ROLE_DEFAULT);
		snprintf(buf, sizeof buf, "%d", n->allocation_count);
		pair(d, "Allocations", buf, ROLE_DEFAULT);
		pair_time(d, "Last heartbeat", n->last_heartbeat_ms);
		pair(d, "Agent version", n->agent_version[0] ? n->agent_version : dash(d), ROLE_DEFAULT);
		pair_time(d, "Cert expires", n->cert_expires_ms);
	}
	textview_add(d->tv, "", ROLE_DEFAULT);
	textview_add(d->tv, "GPU utilisation, memory and temperature metrics are not available from this API.",
	             ROLE_DIM);
}

static const char *step_glyph(const char *state, bool ascii)
{
	if (strcmp(state, "done") == 0)
		return ascii ? "+" : "✓";
	if (strcmp(state, "running") == 0)
		return ascii ? "~" : "◐";
	if (strcmp(state, "failed") == 0)
		return ascii ? "!" : "✖";
	return ascii ? "." : "○";
}

static void activity_tab(Detail *d, const Allocation *a)
{
	if (!a->task_id[0]) {
		textview_add(d->tv, "No task has run on this allocation.", ROLE_DIM);
		return;
	}
	const Task *t = store_task(d->store, a->task_id);
	if (!t) {
		textview_addf(d->tv, ROLE_DIM, "Loading task %s%s", a->task_id, app_ascii(d->app) ? "..." : "…");
		return;
	}
	bool ascii = app_ascii(d->app);
	char buf[512];
	snprintf(buf, sizeof buf, "%s %s %s", t->kind, ascii ? "|" : "·", t->id);
	pair(d, "Task", buf, ROLE_DEFAULT);
	pair(d, "State", t->state,
	     strcmp(t->state, "failed") == 0 ? ROLE_STATE_FAILED
	     : strcmp(t->state, "succeeded") == 0 ? ROLE_STATE_OK : ROLE_STATE_PROGRESS);
	pair(d, "Current step", t->current_step[0] ? t->current_step : "none (finished)", ROLE_DEFAULT);
	pair_time(d, "Last update", t->updated_ms);
	textview_add(d->tv, "", ROLE_DEFAULT);
	textview_add(d->tv, "Steps", ROLE_HEADER);
	for (int i = 0; i < t->step_count; i++) {
		const TaskStep *s = &t->steps[i];
		ThemeRole r = strcmp(s->state, "failed") == 0    ? ROLE_STATE_FAILED
		              : strcmp(s->state, "running") == 0 ? ROLE_STATE_PROGRESS
		              : strcmp(s->state, "done") == 0    ? ROLE_STATE_OK : ROLE_DIM;
		textview_addf(d->tv, r, "  %s %-28s %s", step_glyph(s->state, ascii), s->name, s->state);
	}
	textview_add(d->tv, "", ROLE_DEFAULT);
	textview_add(d->tv, "Recent activity", ROLE_HEADER);
	if (t->activity_count == 0)
		textview_add(d->tv, "  nothing recorded yet", ROLE_DIM);
	/* Newest last, like a log; the last 50 are plenty on one screen. */
	int from = t->activity_count > 50 ? t->activity_count - 50 : 0;
	for (int i = from; i < t->activity_count; i++) {
		char tm[40];
		qd_time_format(t->activity[i].at_ms, tm, sizeof tm);
		textview_addf(d->tv, ROLE_DEFAULT, "  %.19s  %s", tm, t->activity[i].message);
	}
}

static void rebuild(Detail *d)
{
	size_t top = d->shown_tab == tabs_active(d->tabs) ? textview_top(d->tv) : 0;
	d->shown_tab = tabs_active(d->tabs);
	textview_clear(d->tv);
	const Allocation *a = store_allocation(d->store, d->id);
	if (!a) {
		textview_addf(d->tv, ROLE_DIM, "Loading %s%s", d->id, app_ascii(d->app) ? "..." : "…");
	} else {
		switch (d->shown_tab) {
		case TAB_OVERVIEW: overview(d, a); break;
		case TAB_SSH: ssh_tab(d, a); break;
		case TAB_STORAGE: storage_tab(d, a); break;
		case TAB_RUNTIME: runtime_tab(d, a); break;
		case TAB_WORKLOADS:
			textview_add(d->tv, "No launchable workloads on this allocation.", ROLE_DIM);
			break;
		case TAB_HEALTH: health_tab(d, a); break;
		case TAB_ACTIVITY: activity_tab(d, a); break;
		}
	}
	textview_scroll_to(d->tv, top);
	d->stale = false;
}

/* --- store --------------------------------------------------------------------- */

static void on_store(void *ud, StoreKind kind, const char *id)
{
	Detail *d = ud;
	const Allocation *a = store_allocation(d->store, d->id);
	bool mine = (kind & STORE_RESET) || (id && strcmp(id, d->id) == 0) ||
	            ((kind & STORE_TASK) && a && id && strcmp(id, a->task_id) == 0) || (kind & STORE_NODE);
	if (!mine)
		return;
	/* An event moved this allocation: fetch its task so Activity is current.
	 * Keyed by version so the refresh's own answer does not ask again. */
	if ((kind & STORE_ALLOC) && a && a->version > d->refreshed_version) {
		d->refreshed_version = a->version;
		session_refresh_allocation(app_session(d->app), d->id);
	}
	d->stale = true;
	app_invalidate(d->app);
}

/* --- widget --------------------------------------------------------------------- */

static void layout(Detail *d)
{
	int rows = app_content_rows(d->app) > 4 ? app_content_rows(d->app) : 4;
	views_screen_window(&d->base.win, rows);
	if (d->tabs_win)
		delwin(d->tabs_win);
	if (d->body_win)
		delwin(d->body_win);
	d->tabs_win = derwin(d->base.win, 1, COLS, 1, 0);
	d->body_win = derwin(d->base.win, rows - 3, COLS, 3, 0);
	bool want_short = COLS < TABS_LONG_MIN_COLS;
	if (d->tabs && want_short != d->short_labels) {
		int active = tabs_active(d->tabs);
		tabs_free(&d->tabs);
		d->tabs = tabs_new(d->tabs_win, want_short ? tab_labels_short : tab_labels, TAB_COUNT);
		tabs_set_active(d->tabs, active);
	} else if (d->tabs) {
		tabs_set_window(d->tabs, d->tabs_win);
	}
	d->short_labels = want_short;
	if (d->tv)
		textview_set_window(d->tv, d->body_win);
}

static void d_draw(Widget *w)
{
	Detail *d = (Detail *)w;
	if (d->stale || d->shown_tab != tabs_active(d->tabs))
		rebuild(d);
	const Allocation *a = store_allocation(d->store, d->id);
	bool ascii = app_ascii(d->app);
	char title[512];
	if (a) {
		char st[64];
		views_state(a, ascii, st, sizeof st);
		snprintf(title, sizeof title, " Allocation %s %s %s %s %s", a->name, ascii ? "|" : "·", a->id,
		         ascii ? "|" : "·", st);
	} else {
		snprintf(title, sizeof title, " Allocation %s", d->id);
	}
	draw_text_pad(w->win, 0, 0, COLS, title, ROLE_HEADER, false);
	widget_draw(tabs_widget(d->tabs));
	draw_fill(w->win, 2, 0, COLS, ROLE_DEFAULT);
	widget_draw(textview_widget(d->tv));
	touchwin(w->win);
}

static WidgetResult d_key(Widget *w, const KeyEvent *ev)
{
	Detail *d = (Detail *)w;
	const Allocation *a = store_allocation(d->store, d->id);
	switch (ev->action) {
	case ACTION_BACK:
		return W_CLOSE;
	case ACTION_NEXT_TAB:
	case ACTION_PREV_TAB:
		tabs_step(d->tabs, ev->action == ACTION_NEXT_TAB ? 1 : -1);
		return W_HANDLED | W_REDRAW;
	case ACTION_RELEASE:
		app_release(d->app, d->id);
		return W_HANDLED | W_REDRAW;
	case ACTION_FORCE_RELEASE:
		app_force_release(d->app, d->id);
		return W_HANDLED | W_REDRAW;
	case ACTION_COPY_SSH:
		app_copy(d->app, a ? a->ssh_command : NULL, "SSH command");
		return W_HANDLED | W_REDRAW;
	case ACTION_REFRESH:
		session_refresh_allocation(app_session(d->app), d->id);
		app_message(d->app, false, "asked the server for the latest %s", d->id);
		return W_HANDLED | W_REDRAW;
	case ACTION_RESTART:
		app_restart(d->app, d->id);
		return W_HANDLED | W_REDRAW;
	case ACTION_TERMINAL:
		app_open_terminal(d->app, d->id);
		return W_HANDLED | W_REDRAW;
	default:
		break;
	}
	/* Number keys jump to a tab. */
	if (!ev->is_keycode && ev->key >= '1' && ev->key < '1' + TAB_COUNT) {
		tabs_set_active(d->tabs, ev->key - '1');
		return W_HANDLED | W_REDRAW;
	}
	return widget_key(textview_widget(d->tv), ev);
}

static void d_resize(Widget *w)
{
	Detail *d = (Detail *)w;
	layout(d);
	d->stale = true;
}

static void d_destroy(Widget *w)
{
	Detail *d = (Detail *)w;
	store_unlisten(d->store, on_store, d);
	if (d->keys_req)
		api_cancel(d->keys_req);
	json_decref(d->keys);
	tabs_free(&d->tabs);
	textview_free(&d->tv);
	if (d->tabs_win)
		delwin(d->tabs_win);
	if (d->body_win)
		delwin(d->body_win);
	if (d->base.win)
		delwin(d->base.win);
	free(d->id);
}

static const WidgetClass detail_class = {
	.name = "alloc_detail", .draw = d_draw, .key = d_key, .resize = d_resize,
	.destroy = d_destroy, .keymap_context = "detail",
};

static void d_describe(void *obj, char *mode, size_t msz, char *hints, size_t hsz)
{
	Detail *d = obj;
	static const ViewHint h[] = {
		{ACTION_NEXT_TAB, "next tab"}, {ACTION_RELEASE, "release"}, {ACTION_COPY_SSH, "copy SSH"},
		{ACTION_TERMINAL, "terminal"}, {ACTION_BACK, "back"}, {ACTION_HELP, "help"},
	};
	snprintf(mode, msz, "Detail");
	views_hints(d->app, "detail", h, QD_ARRAY_LEN(h), hints, hsz);
}

void alloc_detail_open(App *app, const char *alloc_id)
{
	Detail *d = xcalloc(1, sizeof *d);
	d->base.klass = &detail_class;
	d->app = app;
	d->store = app_store(app);
	d->id = xstrdup(alloc_id);
	d->stale = true;
	layout(d);
	d->tabs = tabs_new(d->tabs_win, d->short_labels ? tab_labels_short : tab_labels, TAB_COUNT);
	d->tv = textview_new(d->body_win);
	const Allocation *a = store_allocation(d->store, d->id);
	d->refreshed_version = a ? a->version : 0;
	store_listen(d->store, on_store, d);
	/* The freshest copy and its task, for Activity. */
	session_refresh_allocation(app_session(app), d->id);
	/* Names and fingerprints for the SSH Access tab's key ids. */
	d->keys_req = api_request(app_api(app), "GET", "/api/v1/ssh-keys", NULL, keys_done, d);
	AppLayer l = { .w = &d->base, .obj = d, .free_obj = views_free_screen, .describe = d_describe,
	               .full = true };
	app_push(app, &l);
}

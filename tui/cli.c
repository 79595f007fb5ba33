/* cli — scriptable verbs over the same Session/Api the console uses.
 *
 * Shape: resolve the target, start a Session (which also starts or reuses the
 * local control plane), wait until it has reached the server and loaded the
 * profile, then run the verb's requests on the loop and stop it when the last
 * one answers. Server strings are sanitized before they reach stdout. */
#include "tui/cli.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/sanitize.h"
#include "common/util.h"
#include "net/api.h"
#include "net/events.h"
#include "net/model.h"
#include "net/session.h"
#include "net/store.h"
#include "tui/views_common.h"

typedef enum {
	VERB_LS, VERB_SHOW, VERB_RELEASE, VERB_FORCE, VERB_EVENTS, VERB_RESTART, VERB_LAUNCH, VERB_NODES
} Verb;

/* The catalogs launch resolves names against. */
enum { CAT_SKUS, CAT_IMAGES, CAT_NETS, CAT_KEYS, CAT_RUNTIMES, CAT_COUNT };

typedef struct Cli Cli;

typedef struct {
	Cli *c;
	int idx;
} CatalogReq;

struct Cli {
	uv_loop_t loop;
	Store *store;
	Session *session;
	SessionTarget target;
	Verb verb;
	/* options */
	bool all, json, yes;
	char *state_filter;   /* --state a,b */
	char *id;
	char *reason;
	long long since;
	/* progress */
	bool started;         /* the verb's first request went out */
	bool finished;
	int exit_code;
	bool reached;         /* the session got past CONNECTING at least once */
	int json_count;       /* items printed so far in a --json list */
	const struct PagedList *list; /* the list being read (ls, nodes, events) */
	uv_poll_t prompt;     /* stdin for the release question */
	bool prompt_active;
	char *alloc_name;
	/* launch: what was asked, names or ids as given */
	char *name, *sku, *image, *network;
	char *runtime;        /* BUNDLE or BUNDLE:VERSION, NULL for none */
	int gpus;
	json_t *keys;         /* strings */
	json_t *storage;      /* [{"name","size_gb","mount_path"}] */
	bool wait;
	CatalogReq cat_req[CAT_COUNT];
	json_t *cat[CAT_COUNT];   /* each catalog's items, all pages */
	int cat_pending;
	long long wait_since;     /* newest event id seen before the create; -1 unknown */
	char *new_id;             /* the allocation launch created */
	char *alloc_state;        /* its last state printed while waiting */
	/* events --follow and launch --wait */
	bool follow;
	long long last_event_id;  /* highest event id handed out */
	EventStream *es;
	uv_signal_t sig[2];       /* SIGINT, SIGTERM */
	bool signals_active;
};

static const char *verbs[] = { "ls", "show", "release", "force-release", "events", "restart",
                               "launch", "nodes" };

bool cli_is_verb(const char *word)
{
	for (size_t i = 0; i < QD_ARRAY_LEN(verbs); i++)
		if (strcmp(word, verbs[i]) == 0)
			return true;
	return false;
}

void cli_usage(FILE *f)
{
	fputs("usage: qdeck [--api URL] [--no-color]          open the console (TUI)\n"
	      "       qdeck [--api URL] VERB [ARGS]\n"
	      "\n"
	      "verbs:\n"
	      "  ls [--all] [--state S[,S]] [--json]   list allocations (default: live and actionable;\n"
	      "                                        admins see the whole fleet)\n"
	      "  show ID [--json]                      one allocation\n"
	      "  release ID [--yes]                    release (asks on a terminal; --yes when scripted)\n"
	      "  restart ID [--yes]                    restart (interrupts SSH/terminal sessions and\n"
	      "                                        processes; asks on a terminal)\n"
	      "  force-release ID --reason TEXT        admin: force a release_failed row to released\n"
	      "  events [--since N] [--follow] [--json]\n"
	      "                                        the event log after event id N; --follow then\n"
	      "                                        streams new events until SIGINT/SIGTERM (exit 0)\n"
	      "                                        or until the stream is lost (exit 3)\n"
	      "  nodes [--json]                        the fleet's nodes (every role can read them)\n"
	      "  launch --name NAME --sku SKU --gpus N --image IMAGE --network NET --key KEY[,KEY]\n"
	      "         [--storage NAME:SIZE_GB:MOUNT]... [--runtime BUNDLE[:VERSION]] [--wait] [--json]\n"
	      "                                        create an allocation. SKU, IMAGE, NET and KEY are\n"
	      "                                        ids or exact names (an unknown or ambiguous name\n"
	      "                                        lists what exists); a runtime is one the server\n"
	      "                                        lists, e.g. pytorch (its newest version) or\n"
	      "                                        pytorch:2.3. Prints the receipt; --wait\n"
	      "                                        follows it until active (exit 0) or failed (exit 1);\n"
	      "                                        --json prints JSON lines (receipt, then events)\n"
	      "\n"
	      "options:\n"
	      "  --api URL      the v1 API to use (else QDECK_API_URL, else the config file,\n"
	      "                 else a local control plane started on demand)\n"
	      "  --no-color     monochrome (also when NO_COLOR is set)\n"
	      "  --help, --version\n"
	      "\n"
	      "credentials: QDECK_TOKEN, else $XDG_CONFIG_HOME/quarterdeck/token (mode 0600).\n"
	      "The token is never taken from the command line.\n"
	      "exit codes: 0 ok, 1 refused or failed, 2 usage, 3 cannot reach server, 4 auth\n",
	      f);
}

static void finish(Cli *c, int code)
{
	if (c->finished)
		return;
	c->finished = true;
	c->exit_code = code;
	if (c->signals_active) {
		for (int i = 0; i < 2; i++) {
			uv_signal_stop(&c->sig[i]);
			uv_close((uv_handle_t *)&c->sig[i], NULL);
		}
		c->signals_active = false;
	}
	if (c->prompt_active) {
		uv_poll_stop(&c->prompt);
		uv_close((uv_handle_t *)&c->prompt, NULL);
		c->prompt_active = false;
	}
	uv_stop(&c->loop);
}

/* Maps a failed response to a message on stderr and an exit code. */
static int report_error(const char *what, const ApiResponse *r)
{
	if (r->outcome == API_TRANSPORT) {
		fprintf(stderr, "qdeck: %s: cannot reach the server: %s\n", what, r->err_message);
		return CLI_UNREACHABLE;
	}
	if (r->outcome == API_BAD_RESPONSE) {
		fprintf(stderr, "qdeck: %s: the server sent a response that is not valid: %s\n", what,
		        r->err_message);
		return CLI_FAILED;
	}
	if (r->outcome == API_CANCELLED) {
		fprintf(stderr, "qdeck: %s: cancelled\n", what);
		return CLI_FAILED;
	}
	/* 404 also means "another org's": say plainly that nothing was found. */
	fprintf(stderr, "qdeck: %s: %s%s%s%s (HTTP %ld%s%s)\n", what, r->status == 404 ? "not found: " : "",
	        r->err_message,
	        r->err_suggestion[0] ? "; " : "", r->err_suggestion, r->status,
	        r->err_code[0] ? ", " : "", r->err_code);
	return r->status == 401 ? CLI_AUTH : CLI_FAILED;
}

static char *clean(const char *s)
{
	static char buf[4][1024];
	static int n;
	char *b = buf[n++ & 3];
	views_clean(s, 0, false, b, sizeof buf[0]);
	return b;
}

/* --- ls ------------------------------------------------------------------ */


/* --- paged lists (ls, nodes, events) ------------------------------------------------ */

/* A v1 list read page by page: the first page's path, what to do with each
 * item, and what to do after the last page. */
typedef struct PagedList {
	const char *verb;
	void (*path)(Cli *c, QdBuf *path);
	void (*item)(Cli *c, json_t *it);
	void (*end)(Cli *c);
} PagedList;

static void paged_request(Cli *c, const char *cursor);

static void paged_done(void *ud, const ApiResponse *r)
{
	Cli *c = ud;
	const PagedList *k = c->list;
	if (r->outcome != API_OK) {
		finish(c, report_error(k->verb, r));
		return;
	}
	json_t *items = json_object_get(r->body, "items");
	if (!json_is_array(items)) {
		fprintf(stderr, "qdeck: %s: the server's list has no \"items\" array\n", k->verb);
		finish(c, CLI_FAILED);
		return;
	}
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it)
		k->item(c, it);
	json_t *next = json_object_get(r->body, "next_cursor");
	if (json_is_string(next) && json_string_length(next) > 0) {
		paged_request(c, json_string_value(next));
		return;
	}
	k->end(c);
}

static void paged_request(Cli *c, const char *cursor)
{
	QdBuf path;
	qdbuf_init(&path);
	c->list->path(c, &path);
	if (cursor) {
		char *e = api_escape(cursor);
		qdbuf_appendf(&path, "&cursor=%s", e);
		free(e);
	}
	api_request(session_api(c->session), "GET", qdbuf_cstr(&path), NULL, paged_done, c);
	qdbuf_done(&path);
}

static void paged_start(Cli *c, const PagedList *k)
{
	c->list = k;
	paged_request(c, NULL);
}

/* --json lists print one array, an item a line, as the pages arrive. */
static void json_list_item(Cli *c, json_t *it)
{
	char *s = json_dumps(it, JSON_COMPACT | JSON_ENSURE_ASCII);
	printf("%s%s", c->json_count++ ? ",\n  " : "[\n  ", s ? s : "null");
	free(s);
}

/* After a table's last page: close the --json array, if that is the format. */
static void list_end(Cli *c)
{
	if (c->json)
		printf(c->json_count ? "\n]\n" : "[]\n");
	finish(c, CLI_OK);
}

static void ls_print_row(const Allocation *a)
{
	char state[48], sku[160], node[128], runtime[512], storage[96], age[16], price[24];
	char raw[512], name[96];
	views_state(a, true, state, sizeof state);
	views_sku(a, true, raw, sizeof raw);
	views_clean(raw, 22, true, sku, sizeof sku);
	views_node(a, true, raw, sizeof raw);
	views_clean(raw, 16, true, node, sizeof node);
	/* Columns stay aligned: long values are cut (--json or show has them whole). */
	views_runtime(a, true, raw, sizeof raw);
	views_clean(raw, 24, true, runtime, sizeof runtime);
	views_storage(a, raw, sizeof raw);
	views_clean(raw, 14, true, storage, sizeof storage);
	views_clean(a->name, 20, true, name, sizeof name);
	views_age(a->created_ms, qd_now_ms(), age, sizeof age);
	views_price(a->price_per_hour_cents, price, sizeof price);
	printf("%-16s %-20s %-18s %-22s %-16s %-24s %-14s %5s %7s\n", clean(a->id), name, state, sku, node,
	       runtime, storage, age, price);
}

/* One allocation row, or its JSON. */
static void ls_item(Cli *c, json_t *it)
{
	if (c->json) {
		json_list_item(c, it);
		return;
	}
	Allocation a;
	char err[256];
	if (decode_allocation(it, &a, err, sizeof err) < 0) {
		fprintf(stderr, "qdeck: ls: skipped a row: %s\n", err);
		return;
	}
	ls_print_row(&a);
	allocation_done(&a);
}

static void ls_path(Cli *c, QdBuf *path)
{
	/* Admins list the fleet, like the console's workbench does. */
	const SessionProfile *p = session_profile(c->session);
	qdbuf_appendf(path, "/api/v1/%sallocations?limit=%d", p && p->is_admin ? "admin/" : "",
	              QD_PAGE_LIMIT_MAX);
	if (!c->all && !c->state_filter)
		qdbuf_appendf(path, "&actionable=true&archived=false");
	if (c->state_filter) {
		char *e = api_escape(c->state_filter);
		qdbuf_appendf(path, "&state=%s", e);
		free(e);
	}
}

static const PagedList LS_LIST = { "ls", ls_path, ls_item, list_end };

static void ls_start(Cli *c)
{
	if (!c->json)
		printf("%-16s %-20s %-18s %-22s %-16s %-24s %-14s %5s %7s\n", "ID", "NAME", "STATE",
		       "SKU", "NODE", "RUNTIME/REASON", "STORAGE", "AGE", "$/H");
	paged_start(c, &LS_LIST);
}

/* --- show ------------------------------------------------------------------ */

static void print_time(const char *label, int64_t ms)
{
	char t[40];
	if (ms <= 0)
		return;
	qd_time_format(ms, t, sizeof t);
	printf("%-16s %s\n", label, t);
}

static void show_print(const Allocation *a)
{
	char buf[1024];
	printf("%-16s %s\n", "id", clean(a->id));
	printf("%-16s %s\n", "name", clean(a->name));
	views_state(a, true, buf, sizeof buf);
	printf("%-16s %s\n", "state", buf);
	views_reason(a, buf, sizeof buf);
	if (buf[0])
		printf("%-16s %s\n", a->state == ALLOC_RELEASE_FAILED ? "release failed" : "failure", buf);
	if (a->action_required[0])
		printf("%-16s %s\n", "action required", clean(a->action_required));
	printf("%-16s %s\n", "billing", a->billing_stopped ? "stopped" : "running");
	printf("%-16s %s / %s\n", "project", clean(a->project_name), clean(a->owner_name));
	views_node(a, true, buf, sizeof buf);
	printf("%-16s %s (%s)\n", "node", buf, a->region[0] ? clean(a->region) : "-");
	views_sku(a, true, buf, sizeof buf);
	printf("%-16s %s\n", "sku", buf);
	views_price(a->price_per_hour_cents, buf, sizeof buf);
	printf("%-16s %s/h\n", "cost", buf);
	printf("%-16s %s\n", "image", clean(a->image_name));
	printf("%-16s %s\n", "network", clean(a->network_name));
	if (a->runtime_bundle[0])
		printf("%-16s %s%s%s%s%s%s\n", "runtime", clean(a->runtime_bundle),
		       a->runtime_version[0] ? " " : "", clean(a->runtime_version),
		       a->runtime_state[0] ? " (" : "", clean(a->runtime_state), a->runtime_state[0] ? ")" : "");
	else
		printf("%-16s %s\n", "runtime", "none (no managed runtime)");
	views_storage(a, buf, sizeof buf);
	printf("%-16s %s\n", "storage", buf);
	for (int i = 0; i < a->storage_count; i++)
		printf("%-16s %s at %s, %d GB, %s\n", "", clean(a->storage[i].name),
		       clean(a->storage[i].mount_path), a->storage[i].size_gb,
		       a->storage[i].persistent ? "persists" : "scratch");
	printf("%-16s %s\n", "ssh", a->ssh_command[0] ? clean(a->ssh_command) : "-");
	printf("%-16s %s\n", "task", a->task_id[0] ? clean(a->task_id) : "-");
	print_time("created", a->created_ms);
	print_time("updated", a->updated_ms);
	print_time("state since", a->state_since_ms);
	print_time("deadline", a->deadline_ms);
	print_time("actionable until", a->actionable_until_ms);
	print_time("archived", a->archived_at_ms);
}

static void show_done(void *ud, const ApiResponse *r)
{
	Cli *c = ud;
	if (r->outcome != API_OK) {
		finish(c, report_error("show", r));
		return;
	}
	if (c->json) {
		char *s = json_dumps(r->body, JSON_INDENT(2) | JSON_ENSURE_ASCII);
		printf("%s\n", s ? s : "null");
		free(s);
		finish(c, CLI_OK);
		return;
	}
	Allocation a;
	char err[256];
	if (decode_allocation(r->body, &a, err, sizeof err) < 0) {
		fprintf(stderr, "qdeck: show: the server's allocation is not valid: %s\n", err);
		finish(c, CLI_FAILED);
		return;
	}
	show_print(&a);
	allocation_done(&a);
	finish(c, CLI_OK);
}

static void get_allocation(Cli *c, ApiDone done)
{
	char *e = api_escape(c->id);
	char *path = xasprintf("/api/v1/allocations/%s", e);
	api_request(session_api(c->session), "GET", path, NULL, done, c);
	free(path);
	free(e);
}

/* --- release / force-release / restart ----------------------------------------- */

static const char *verb_word(const Cli *c)
{
	return c->verb == VERB_FORCE ? "force-release" : c->verb == VERB_RESTART ? "restart" : "release";
}

static void receipt_done(void *ud, const ApiResponse *r)
{
	Cli *c = ud;
	const char *what = verb_word(c);
	if (r->outcome != API_OK) {
		finish(c, report_error(what, r));
		return;
	}
	json_t *task = json_object_get(r->body, "task_id");
	printf("%s accepted for %s: task %s\n", what, clean(c->id),
	       json_is_string(task) ? clean(json_string_value(task)) : "(none)");
	printf("follow it with: qdeck show %s\n", clean(c->id));
	finish(c, CLI_OK);
}

static void send_release(Cli *c)
{
	char *e = api_escape(c->id);
	if (c->verb == VERB_FORCE) {
		char *path = xasprintf("/api/v1/admin/allocations/%s/force-release", e);
		json_t *body = json_pack("{s:s}", "reason", c->reason);
		api_request(session_api(c->session), "POST", path, body, receipt_done, c);
		json_decref(body);
		free(path);
	} else {
		char *path = xasprintf("/api/v1/allocations/%s/%s", e, c->verb == VERB_RESTART ? "restart" : "release");
		/* An empty object, not an empty body (see app.c's release). */
		json_t *body = json_object();
		api_request(session_api(c->session), "POST", path, body, receipt_done, c);
		json_decref(body);
		free(path);
	}
	free(e);
}

static void prompt_readable(uv_poll_t *h, int status, int events)
{
	Cli *c = h->data;
	char line[64];
	ssize_t n = read(STDIN_FILENO, line, sizeof line - 1);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	uv_poll_stop(&c->prompt);
	uv_close((uv_handle_t *)&c->prompt, NULL);
	c->prompt_active = false;
	if (n > 0 && (line[0] == 'y' || line[0] == 'Y')) {
		send_release(c);
		return;
	}
	if (n <= 0)
		printf("\n");
	fprintf(stderr, "qdeck: %s: not confirmed; nothing was changed\n", verb_word(c));
	finish(c, CLI_FAILED);
}

static void release_checked(void *ud, const ApiResponse *r)
{
	Cli *c = ud;
	const char *what = verb_word(c);
	if (r->outcome != API_OK) {
		finish(c, report_error(what, r));
		return;
	}
	Allocation a;
	char err[256];
	if (decode_allocation(r->body, &a, err, sizeof err) < 0) {
		fprintf(stderr, "qdeck: %s: the server's allocation is not valid: %s\n", what, err);
		finish(c, CLI_FAILED);
		return;
	}
	AllocAction act = c->verb == VERB_FORCE     ? ALLOC_ACTION_FORCE_RELEASE
	                  : c->verb == VERB_RESTART ? ALLOC_ACTION_RESTART
	                                            : ALLOC_ACTION_RELEASE;
	if (!alloc_action_allowed(act, a.state)) {
		fprintf(stderr, "qdeck: %s: %s (%s) is %s; %s is not allowed from that state\n", what,
		        clean(a.name), clean(a.id), alloc_state_name(a.state), what);
		allocation_done(&a);
		finish(c, CLI_FAILED);
		return;
	}
	if (c->verb == VERB_FORCE || c->yes) {
		allocation_done(&a);
		send_release(c);
		return;
	}
	/* No --yes: ask on a terminal, refuse when scripted. */
	if (!isatty(STDIN_FILENO)) {
		fprintf(stderr, "qdeck: %s: stdin is not a terminal; pass --yes to %s %s (%s)\n", what, what,
		        clean(a.name), clean(a.id));
		allocation_done(&a);
		finish(c, CLI_FAILED);
		return;
	}
	if (c->verb == VERB_RESTART)
		printf("Restart %s (%s) on %s? SSH and terminal sessions are disconnected and running "
		       "processes stop; storage, SSH access and the runtime are kept. [y/N] ",
		       clean(a.name), clean(a.id), a.node_name[0] ? clean(a.node_name) : "no node");
	else
		printf("Release %s (%s) on %s? This stops the machine, deletes local scratch disk and stops "
		       "billing. [y/N] ",
		       clean(a.name), clean(a.id), a.node_name[0] ? clean(a.node_name) : "no node");
	fflush(stdout);
	allocation_done(&a);
	if (uv_poll_init(&c->loop, &c->prompt, STDIN_FILENO) != 0) {
		fprintf(stderr, "qdeck: %s: cannot read the answer from stdin\n", what);
		finish(c, CLI_FAILED);
		return;
	}
	c->prompt.data = c;
	c->prompt_active = true;
	uv_poll_start(&c->prompt, UV_READABLE, prompt_readable);
}

/* --- events ------------------------------------------------------------------- */

static void stream_start(Cli *c, long long since);

/* One event: a line of text, or its JSON on one line. Flushed, so a pipe
 * (qdeck events --follow | grep ...) sees each event as it comes. */
static void print_event(Cli *c, json_t *ev)
{
	if (c->json) {
		char *s = json_dumps(ev, JSON_COMPACT | JSON_ENSURE_ASCII);
		printf("%s\n", s ? s : "null");
		free(s);
	} else {
		json_t *id = json_object_get(ev, "id");
		const char *at = json_string_value(json_object_get(ev, "at"));
		const char *type = json_string_value(json_object_get(ev, "type"));
		const char *alloc = json_string_value(json_object_get(ev, "allocation_id"));
		const char *msg = json_string_value(json_object_get(ev, "message"));
		printf("%8lld  %-24s  %-34s %-14s %s\n",
		       json_is_integer(id) ? (long long)json_integer_value(id) : -1LL, clean(at ? at : ""),
		       clean(type ? type : "?"), clean(alloc ? alloc : "-"), clean(msg ? msg : ""));
	}
	if (c->follow)
		fflush(stdout);
}

static void events_item(Cli *c, json_t *ev)
{
	json_t *id = json_object_get(ev, "id");
	if (json_is_integer(id) && json_integer_value(id) > c->last_event_id)
		c->last_event_id = json_integer_value(id);
	print_event(c, ev);
}

static void events_end(Cli *c)
{
	if (c->follow) {
		/* The stream resumes after the last event printed: nothing between the
		 * backlog's last page and the handshake is lost or printed twice. */
		stream_start(c, c->last_event_id);
		return;
	}
	finish(c, CLI_OK);
}

static void events_path(Cli *c, QdBuf *path)
{
	qdbuf_appendf(path, "/api/v1/events?since=%lld&limit=%d", c->since, QD_PAGE_LIMIT_MAX);
}

static const PagedList EVENTS_LIST = { "events", events_path, events_item, events_end };

/* --- the event stream (events --follow, launch --wait) ----------------------------- */

static void wait_event(Cli *c, json_t *ev);

static void stream_message(void *ud, json_t *ev)
{
	Cli *c = ud;
	if (c->finished)
		return;
	/* A resumed stream may repeat what was already handed out. */
	json_t *id = json_object_get(ev, "id");
	if (!json_is_integer(id) || json_integer_value(id) <= c->last_event_id)
		return;
	c->last_event_id = json_integer_value(id);
	if (c->verb == VERB_EVENTS)
		print_event(c, ev);
	else
		wait_event(c, ev);
}

static void stream_state(void *ud, const EventsStatus *st)
{
	Cli *c = ud;
	if (c->finished || st->connected)
		return;
	const char *what = c->verb == VERB_EVENTS ? "events" : "launch";
	const char *msg = st->message && st->message[0] ? st->message : "connection closed";
	int code;
	if (st->http_status == 401) {
		fprintf(stderr, "qdeck: %s: not signed in: the event stream refused the token\n", what);
		code = CLI_AUTH;
	} else if (st->http_status) {
		fprintf(stderr, "qdeck: %s: the event stream was refused (HTTP %d): %s\n", what,
		        st->http_status, msg);
		code = CLI_FAILED;
	} else {
		/* A CLI does not retry behind the caller's back: a script sees exit 3
		 * and can resume with --since from the last id it printed. */
		fprintf(stderr, "qdeck: %s: lost the event stream after event %lld: %s\n", what,
		        c->last_event_id, msg);
		code = CLI_UNREACHABLE;
	}
	if (c->new_id)
		fprintf(stderr, "qdeck: launch: %s keeps going; check it with: qdeck show %s\n",
		        clean(c->new_id), clean(c->new_id));
	finish(c, code);
}

static void stream_start(Cli *c, long long since)
{
	const char *what = c->verb == VERB_EVENTS ? "events" : "launch";
	const SessionTarget *t = session_target(c->session);
	EventsConfig cfg = {
		.base_url = t->api_url ? t->api_url : "http://localhost",
		.unix_socket = t->unix_socket,
		.token = t->token,
	};
	char err[256];
	c->last_event_id = since;
	if (!c->es)
		c->es = events_new(&c->loop, &cfg, stream_message, stream_state, c, err, sizeof err);
	if (!c->es) {
		fprintf(stderr, "qdeck: %s: cannot open the event stream: %s\n", what, err);
		finish(c, CLI_FAILED);
		return;
	}
	if (events_connect(c->es, since, err, sizeof err) < 0) {
		fprintf(stderr, "qdeck: %s: cannot open the event stream: %s\n", what, err);
		finish(c, CLI_UNREACHABLE);
	}
}

static void on_signal(uv_signal_t *h, int signum)
{
	Cli *c = h->data;
	(void)signum;
	if (c->finished)
		return;
	if (c->verb == VERB_LAUNCH) {
		/* Only the waiting stops; the platform keeps provisioning. */
		if (c->new_id)
			fprintf(stderr, "qdeck: launch: stopped waiting; %s keeps going: qdeck show %s\n",
			        clean(c->new_id), clean(c->new_id));
		else
			fprintf(stderr, "qdeck: launch: interrupted before the request was sent\n");
		finish(c, CLI_FAILED);
		return;
	}
	finish(c, CLI_OK);
}

/* --- launch ----------------------------------------------------------------------- */

static const char *const cat_path[CAT_COUNT] = { "/api/v1/skus", "/api/v1/images", "/api/v1/networks",
                                                 "/api/v1/ssh-keys", "/api/v1/runtimes" };
static const char *const cat_what[CAT_COUNT] = { "SKU", "image", "network", "SSH key", "runtime" };
static const char *const cat_flag[CAT_COUNT] = { "--sku", "--image", "--network", "--key", "--runtime" };
static const char *const cat_ref[CAT_COUNT] = { "the id or name", "the id or name", "the id or name",
                                                "the id or name", "the bundle or bundle:version" };

static void catalog_request(CatalogReq *q, const char *cursor);

/* What a catalog item is called on the command line. A runtime has no id: it
 * is BUNDLE:VERSION (into buf), and its bundle is the name that also finds it;
 * its label is what people read. */
static const char *item_id(int idx, json_t *it, char *buf, size_t bufsz)
{
	if (idx != CAT_RUNTIMES)
		return json_string_value(json_object_get(it, "id"));
	const char *b = json_string_value(json_object_get(it, "bundle"));
	const char *v = json_string_value(json_object_get(it, "version"));
	if (!b || !v)
		return NULL;
	snprintf(buf, bufsz, "%s:%s", b, v);
	return buf;
}

static const char *item_name(int idx, json_t *it)
{
	return json_string_value(json_object_get(it, idx == CAT_RUNTIMES ? "bundle" : "name"));
}

static void print_choice(int idx, json_t *it)
{
	char buf[256];
	const char *id = item_id(idx, it, buf, sizeof buf);
	const char *name = json_string_value(json_object_get(it, idx == CAT_RUNTIMES ? "label" : "name"));
	fprintf(stderr, "  %-26s %s", clean(id ? id : "?"), clean(name ? name : ""));
	if (idx == CAT_SKUS) {
		json_t *counts = json_object_get(it, "gpu_counts"), *n;
		json_t *price = json_object_get(it, "price_per_gpu_hour_cents");
		const char *region = json_string_value(json_object_get(it, "region"));
		size_t i;
		fprintf(stderr, " (%s, GPUs", clean(region ? region : "?"));
		json_array_foreach(counts, i, n)
			if (json_is_integer(n))
				fprintf(stderr, "%s%lld", i ? "/" : " ", (long long)json_integer_value(n));
		if (json_is_integer(price)) {
			char p[24];
			views_price((int)json_integer_value(price), p, sizeof p);
			fprintf(stderr, ", %s/GPU-h", p);
		}
		fprintf(stderr, "%s)", json_is_false(json_object_get(it, "available")) ? ", sold out" : "");
	}
	fputc('\n', stderr);
}

/* The item `want` stands for in catalog idx: an exact id, else the one item
 * with exactly that name. A runtime's name is its bundle, which several
 * versions share: the server lists a bundle's newest version first
 * (docs/api/v1.md), and that is the one a bare bundle means. NULL when it
 * names none (or several); the choices are then on stderr, so the next try
 * can be right. The item is borrowed from c->cat[idx]. */
static json_t *resolve_item(Cli *c, int idx, const char *want)
{
	json_t *items = c->cat[idx], *it;
	size_t i;
	char buf[256];
	json_array_foreach(items, i, it) {
		const char *id = item_id(idx, it, buf, sizeof buf);
		if (id && strcmp(id, want) == 0)
			return it;
	}
	int matches = 0;
	json_t *found = NULL;
	json_array_foreach(items, i, it) {
		const char *name = item_name(idx, it);
		if (item_id(idx, it, buf, sizeof buf) && name && strcmp(name, want) == 0) {
			matches++;
			if (!found)
				found = it;
		}
	}
	if (matches == 1 || (matches > 1 && idx == CAT_RUNTIMES))
		return found;
	if (matches == 0)
		fprintf(stderr, "qdeck: launch: %s '%s' is not %s of any %s you can use; %s:\n",
		        cat_flag[idx], clean(want), cat_ref[idx], cat_what[idx],
		        json_array_size(items) ? "these exist" : "there are none");
	else
		fprintf(stderr, "qdeck: launch: %s '%s' is ambiguous: %d %ss have that name; give an id:\n",
		        cat_flag[idx], clean(want), matches, cat_what[idx]);
	json_array_foreach(items, i, it) {
		const char *name = item_name(idx, it);
		if (matches == 0 || (name && strcmp(name, want) == 0))
			print_choice(idx, it);
	}
	return NULL;
}

/* The id `want` stands for (see resolve_item), NULL when none. */
static const char *resolve(Cli *c, int idx, const char *want)
{
	json_t *it = resolve_item(c, idx, want);
	return it ? json_string_value(json_object_get(it, "id")) : NULL;
}

static void launch_done(void *ud, const ApiResponse *r)
{
	Cli *c = ud;
	if (c->finished)
		return;
	if (r->outcome != API_OK) {
		/* Prechecks (sold_out, insufficient_balance, ...) come back as 422 with
		 * the server's message and suggestion, which report_error prints. */
		finish(c, report_error("launch", r));
		return;
	}
	const char *aid = json_string_value(json_object_get(r->body, "allocation_id"));
	const char *tid = json_string_value(json_object_get(r->body, "task_id"));
	json_t *price = json_object_get(r->body, "price_per_hour_cents");
	if (!aid || !aid[0]) {
		fprintf(stderr, "qdeck: launch: the server's receipt has no allocation_id\n");
		finish(c, CLI_FAILED);
		return;
	}
	if (c->json) {
		char *s = json_dumps(r->body, JSON_COMPACT | JSON_ENSURE_ASCII);
		printf("%s\n", s ? s : "null");
		free(s);
	} else {
		char p[24] = "?";
		if (json_is_integer(price))
			views_price((int)json_integer_value(price), p, sizeof p);
		printf("launch accepted for %s\n", clean(c->name));
		printf("%-12s %s\n", "allocation", clean(aid));
		printf("%-12s %s\n", "task", tid ? clean(tid) : "(none)");
		printf("%-12s %s/h\n", "price", p);
	}
	if (!c->wait) {
		if (!c->json)
			printf("follow it with: qdeck show %s\n", clean(aid));
		finish(c, CLI_OK);
		return;
	}
	c->new_id = xstrdup(aid);
	if (!c->json)
		printf("waiting until %s is active (interrupting stops only the wait)\n", clean(aid));
	fflush(stdout);
	/* From an event id read before the create: its events cannot slip past. */
	stream_start(c, c->wait_since < 0 ? 0 : c->wait_since);
}

static void wait_event(Cli *c, json_t *ev)
{
	const char *aid = json_string_value(json_object_get(ev, "allocation_id"));
	if (!aid || !c->new_id || strcmp(aid, c->new_id) != 0)
		return;
	json_t *alloc = json_object_get(ev, "allocation");
	const char *state = json_string_value(json_object_get(alloc, "state"));
	if (!state || (c->alloc_state && strcmp(state, c->alloc_state) == 0))
		return;
	free(c->alloc_state);
	c->alloc_state = xstrdup(state);
	if (c->json) {
		char *s = json_dumps(ev, JSON_COMPACT | JSON_ENSURE_ASCII);
		printf("%s\n", s ? s : "null");
		free(s);
	} else {
		const char *at = json_string_value(json_object_get(ev, "at"));
		printf("%-24s  %s  %s\n", clean(at ? at : ""), clean(aid), clean(state));
	}
	fflush(stdout);
	if (strcmp(state, "active") == 0) {
		const char *ssh = json_string_value(json_object_get(json_object_get(alloc, "ssh"), "command"));
		if (!c->json && ssh)
			printf("%-24s  %s\n", "ssh", clean(ssh));
		finish(c, CLI_OK);
	} else if (strcmp(state, "provisioning") != 0) {
		json_t *why = json_object_get(alloc, "failure_reason");
		const char *code = json_string_value(json_object_get(why, "code"));
		const char *msg = json_string_value(json_object_get(why, "message"));
		fprintf(stderr, "qdeck: launch: %s is %s%s%s%s%s\n", clean(aid), clean(state),
		        code ? ": " : "", code ? clean(code) : "", msg ? ": " : "", msg ? clean(msg) : "");
		finish(c, CLI_FAILED);
	}
}

static void launch_send(Cli *c)
{
	const char *sku = resolve(c, CAT_SKUS, c->sku);
	const char *image = resolve(c, CAT_IMAGES, c->image);
	const char *net = resolve(c, CAT_NETS, c->network);
	json_t *rt = c->runtime ? resolve_item(c, CAT_RUNTIMES, c->runtime) : NULL;
	json_t *keys = json_array(), *k;
	bool ok = sku && image && net && (rt || !c->runtime);
	size_t i;
	json_array_foreach(c->keys, i, k) {
		const char *id = resolve(c, CAT_KEYS, json_string_value(k));
		if (id)
			json_array_append_new(keys, json_string(id));
		else
			ok = false;
	}
	if (!ok) {
		json_decref(keys);
		finish(c, CLI_USAGE);
		return;
	}
	json_t *body = json_pack("{s:s, s:s, s:i, s:s, s:s, s:o}", "name", c->name, "sku_id", sku,
	                         "gpu_count", c->gpus, "image_id", image, "network_id", net,
	                         "ssh_key_ids", keys);
	if (c->storage)
		json_object_set(body, "storage", c->storage);
	if (rt)
		json_object_set_new(body, "runtime",
		                    json_pack("{s:O, s:O}", "bundle", json_object_get(rt, "bundle"), "version",
		                              json_object_get(rt, "version")));
	api_request(session_api(c->session), "POST", "/api/v1/allocations", body, launch_done, c);
	json_decref(body);
}

static void catalog_done(void *ud, const ApiResponse *r)
{
	CatalogReq *q = ud;
	Cli *c = q->c;
	if (c->finished)
		return;
	char what[64];
	snprintf(what, sizeof what, "launch: listing %ss", cat_what[q->idx]);
	if (r->outcome != API_OK) {
		finish(c, report_error(what, r));
		return;
	}
	json_t *items = json_object_get(r->body, "items");
	if (!json_is_array(items)) {
		fprintf(stderr, "qdeck: %s: the server's list has no \"items\" array\n", what);
		finish(c, CLI_FAILED);
		return;
	}
	json_array_extend(c->cat[q->idx], items);
	json_t *asof = json_object_get(r->body, "as_of_event_id");
	if (json_is_integer(asof) && (c->wait_since < 0 || json_integer_value(asof) < c->wait_since))
		c->wait_since = json_integer_value(asof);
	json_t *next = json_object_get(r->body, "next_cursor");
	if (json_is_string(next) && json_string_length(next) > 0) {
		catalog_request(q, json_string_value(next));
		return;
	}
	if (--c->cat_pending == 0)
		launch_send(c);
}

static void catalog_request(CatalogReq *q, const char *cursor)
{
	QdBuf path;
	qdbuf_init(&path);
	qdbuf_append(&path, cat_path[q->idx], strlen(cat_path[q->idx]));
	if (cursor) {
		char *e = api_escape(cursor);
		qdbuf_appendf(&path, "?cursor=%s", e);
		free(e);
	}
	api_request(session_api(q->c->session), "GET", qdbuf_cstr(&path), NULL, catalog_done, q);
	qdbuf_done(&path);
}

static void launch_start(Cli *c)
{
	/* The catalogs at once; the create goes out when the last one is in. The
	 * runtimes are read only when one was asked for. */
	int n = c->runtime ? CAT_COUNT : CAT_RUNTIMES;
	c->cat_pending = n;
	c->wait_since = -1;
	for (int i = 0; i < CAT_COUNT; i++) {
		c->cat[i] = json_array();
		c->cat_req[i] = (CatalogReq){ .c = c, .idx = i };
	}
	for (int i = 0; i < n && !c->finished; i++)
		catalog_request(&c->cat_req[i], NULL);
}

/* --- nodes ------------------------------------------------------------------------- */


static void nodes_print_row(const Node *n)
{
	char name[80], region[64], model[64], agent[48], hb[16], gpus[24];
	views_clean(n->name, 18, true, name, sizeof name);
	views_clean(n->region, 14, true, region, sizeof region);
	views_clean(n->gpu_model, 12, true, model, sizeof model);
	views_clean(n->agent_version, 8, true, agent, sizeof agent);
	if (n->last_heartbeat_ms > 0)
		views_age(n->last_heartbeat_ms, qd_now_ms(), hb, sizeof hb);
	else
		snprintf(hb, sizeof hb, "-");
	snprintf(gpus, sizeof gpus, "%d/%d", n->gpu_free, n->gpu_total);
	printf("%-20s %-18s %-11s %-5s %-14s %-12s %9s %6d %-8s %9s\n", clean(n->id), name,
	       node_state_name(n->state), n->scheduling ? "on" : "off", region, model, gpus,
	       n->allocation_count, agent, hb);
}

static void nodes_item(Cli *c, json_t *it)
{
	if (c->json) {
		json_list_item(c, it);
		return;
	}
	Node n;
	char err[256];
	if (decode_node(it, &n, err, sizeof err) < 0) {
		fprintf(stderr, "qdeck: nodes: skipped a row: %s\n", err);
		return;
	}
	nodes_print_row(&n);
	node_done(&n);
}

static void nodes_path(Cli *c, QdBuf *path)
{
	(void)c;
	qdbuf_appendf(path, "/api/v1/nodes?limit=%d", QD_PAGE_LIMIT_MAX);
}

static const PagedList NODES_LIST = { "nodes", nodes_path, nodes_item, list_end };

static void nodes_start(Cli *c)
{
	if (!c->json)
		printf("%-20s %-18s %-11s %-5s %-14s %-12s %9s %6s %-8s %9s\n", "ID", "NAME", "STATE", "SCHED",
		       "REGION", "GPU", "FREE/ALL", "ALLOCS", "AGENT", "HEARTBEAT");
	paged_start(c, &NODES_LIST);
}

/* --- driver --------------------------------------------------------------------- */

static void start_verb(Cli *c)
{
	c->started = true;
	switch (c->verb) {
	case VERB_LS:
		ls_start(c);
		break;
	case VERB_SHOW:
		get_allocation(c, show_done);
		break;
	case VERB_RELEASE:
	case VERB_FORCE:
	case VERB_RESTART:
		/* Scripted (--yes, force-release): the server is the authority on
		 * whether the transition is allowed and says why not (409 with the
		 * current state, 403 for a role); a local check on a copy read a moment
		 * earlier would only hide that answer. Asking first needs the row. */
		if (c->yes || c->verb == VERB_FORCE)
			send_release(c);
		else
			get_allocation(c, release_checked);
		break;
	case VERB_EVENTS:
		c->last_event_id = c->since;
		paged_start(c, &EVENTS_LIST);
		break;
	case VERB_LAUNCH:
		launch_start(c);
		break;
	case VERB_NODES:
		nodes_start(c);
		break;
	}
}

static void on_session(void *ud, SessionState state, const char *message)
{
	Cli *c = ud;
	if (c->finished)
		return;
	switch (state) {
	case SESSION_CONNECTING:
		break;
	case SESSION_LOADING:
	case SESSION_LIVE:
	case SESSION_FORBIDDEN:   /* the fleet list is refused; the verb may still be allowed */
		c->reached = true;
		if (!c->started)
			start_verb(c);
		break;
	case SESSION_RECONNECTING:
		/* Before the verb started this means the server is not there; after, the
		 * verb's own request reports its outcome. */
		if (!c->started) {
			/* The session's line carries its retry plan; a CLI does not retry. */
			const char *why = message ? message : "";
			if (strncmp(why, "reconnecting in ", 16) == 0 && strstr(why, ": "))
				why = strstr(why, ": ") + 2;
			fprintf(stderr, "qdeck: cannot reach the server: %s\n", why);
			finish(c, CLI_UNREACHABLE);
		}
		break;
	case SESSION_UNAUTHORIZED:
		if (!c->started) {
			fprintf(stderr, "qdeck: not signed in: %s\n", message ? message : "token refused");
			finish(c, CLI_AUTH);
		}
		break;
	case SESSION_RATE_LIMITED:
		break; /* the session waits Retry-After and tries again */
	case SESSION_ERROR:
		if (!c->started) {
			fprintf(stderr, "qdeck: %s\n", message ? message : "the server answered with an error");
			finish(c, CLI_FAILED);
		}
		break;
	}
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "qdeck: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nrun 'qdeck --help' for usage\n");
	return CLI_USAGE;
}

static const char *const launch_flags[] = { "--name", "--sku", "--gpus", "--image", "--network",
                                            "--key", "--storage", "--runtime" };

static bool launch_flag(const char *a)
{
	for (size_t i = 0; i < QD_ARRAY_LEN(launch_flags); i++)
		if (strcmp(a, launch_flags[i]) == 0)
			return true;
	return false;
}

/* What the server accepts for allocation and volume names (model_alloc.c):
 * refused here so the mistake is a usage error, not a round trip. */
static bool name_ok(const char *s, size_t len)
{
	if (len == 0 || len > 63)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '-' || s[i] == '_' || s[i] == '.'))
			return false;
	return true;
}

/* A catalog reference as typed: an id or a name, printable and bounded. */
static bool ref_ok(const char *s)
{
	size_t n = strlen(s);
	return n > 0 && n <= 200 && sanitize_is_clean(s, n);
}

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v);
}

/* One launch option with its value; CLI_OK or CLI_USAGE (message printed). */
static int launch_option(Cli *c, const char *a, const char *val)
{
	if (strcmp(a, "--name") == 0) {
		if (!name_ok(val, strlen(val)))
			return usage_error("--name '%s' is not a valid name: use 1-63 letters, digits, "
			                   "'-', '_' or '.'", ref_ok(val) ? val : "?");
		set_str(&c->name, val);
	} else if (strcmp(a, "--gpus") == 0) {
		char *end;
		errno = 0;
		long n = strtol(val, &end, 10);
		if (errno || end == val || *end || n < 1 || n > 1024)
			return usage_error("--gpus wants a whole number of GPUs (1-1024), not '%s'",
			                   ref_ok(val) ? val : "?");
		c->gpus = (int)n;
	} else if (strcmp(a, "--sku") == 0 || strcmp(a, "--image") == 0 || strcmp(a, "--network") == 0) {
		if (!ref_ok(val))
			return usage_error("%s wants an id or an exact name", a);
		set_str(strcmp(a, "--sku") == 0 ? &c->sku : strcmp(a, "--image") == 0 ? &c->image : &c->network,
		        val);
	} else if (strcmp(a, "--key") == 0) {
		/* Repeatable and comma-separated: both add keys. */
		if (!c->keys)
			c->keys = json_array();
		const char *p = val;
		for (;;) {
			const char *comma = strchr(p, ',');
			size_t n = comma ? (size_t)(comma - p) : strlen(p);
			char *one = xstrndup(p, n);
			bool good = ref_ok(one);
			if (good)
				json_array_append_new(c->keys, json_string(one));
			free(one);
			if (!good)
				return usage_error("--key wants SSH key ids or names separated by commas, not '%s'",
				                   ref_ok(val) ? val : "?");
			if (!comma)
				break;
			p = comma + 1;
		}
		if (json_array_size(c->keys) > 16)
			return usage_error("%s: at most 16 SSH keys", a);
	} else if (strcmp(a, "--storage") == 0) {
		/* NAME:SIZE_GB:MOUNT; the mount path is the rest, so it is never cut. */
		const char *c1 = strchr(val, ':');
		const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		const char *shown = ref_ok(val) ? val : "?";
		if (!c1 || !c2)
			return usage_error("--storage wants NAME:SIZE_GB:MOUNT (e.g. data:500:/mnt/data), not '%s'",
			                   shown);
		if (!name_ok(val, (size_t)(c1 - val)))
			return usage_error("--storage '%s': the volume name wants 1-63 letters, digits, '-', "
			                   "'_' or '.'", shown);
		char *size_s = xstrndup(c1 + 1, (size_t)(c2 - c1 - 1)), *end;
		errno = 0;
		long gb = strtol(size_s, &end, 10);
		bool size_good = !errno && end != size_s && !*end && gb >= 1 && gb <= 100000;
		free(size_s);
		if (!size_good)
			return usage_error("--storage '%s': the size is a whole number of GB, 1-100000", shown);
		const char *mount = c2 + 1;
		size_t ml = strlen(mount);
		if (ml < 2 || ml > 128 || mount[0] != '/' || strstr(mount, "..") || !sanitize_is_clean(mount, ml))
			return usage_error("--storage '%s': the mount point is an absolute path like /mnt/data, "
			                   "without '..'", shown);
		if (!c->storage)
			c->storage = json_array();
		if (json_array_size(c->storage) >= 8)
			return usage_error("%s: at most 8 volumes", a);
		char *vname = xstrndup(val, (size_t)(c1 - val));
		json_array_append_new(c->storage, json_pack("{s:s, s:i, s:s}", "name", vname, "size_gb",
		                                            (int)gb, "mount_path", mount));
		free(vname);
	} else if (strcmp(a, "--runtime") == 0) {
		/* Only the shape here: which runtimes exist is the server's list
		 * (GET /runtimes), read when the launch goes out. */
		const char *colon = strchr(val, ':');
		if (!ref_ok(val) || val[0] == ':' || (colon && (!colon[1] || strchr(colon + 1, ':'))))
			return usage_error("--runtime wants BUNDLE or BUNDLE:VERSION (e.g. pytorch or "
			                   "pytorch:2.3), not '%s'", ref_ok(val) ? val : "?");
		set_str(&c->runtime, val);
	}
	return CLI_OK;
}

/* Parses the verb's arguments into c; CLI_OK or CLI_USAGE (message printed). */
static int parse_args(Cli *c, int argc, char **argv)
{
	const char *v = argv[0];
	if (strcmp(v, "ls") == 0)
		c->verb = VERB_LS;
	else if (strcmp(v, "show") == 0)
		c->verb = VERB_SHOW;
	else if (strcmp(v, "release") == 0)
		c->verb = VERB_RELEASE;
	else if (strcmp(v, "force-release") == 0)
		c->verb = VERB_FORCE;
	else if (strcmp(v, "events") == 0)
		c->verb = VERB_EVENTS;
	else if (strcmp(v, "restart") == 0)
		c->verb = VERB_RESTART;
	else if (strcmp(v, "launch") == 0)
		c->verb = VERB_LAUNCH;
	else if (strcmp(v, "nodes") == 0)
		c->verb = VERB_NODES;
	else
		return usage_error("unknown verb '%s'", v);

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool has_next = i + 1 < argc;
		bool needs_id = c->verb == VERB_SHOW || c->verb == VERB_RELEASE || c->verb == VERB_FORCE ||
		                c->verb == VERB_RESTART;
		if (strcmp(a, "--json") == 0 && c->verb != VERB_RELEASE && c->verb != VERB_FORCE &&
		    c->verb != VERB_RESTART) {
			c->json = true;
		} else if (strcmp(a, "--all") == 0 && c->verb == VERB_LS) {
			c->all = true;
		} else if (strcmp(a, "--state") == 0 && c->verb == VERB_LS) {
			if (!has_next)
				return usage_error("%s needs a value (e.g. --state active,release_failed)", a);
			const char *val = argv[++i];
			/* Validate each wire name so a typo is a usage error, not an empty list. */
			char *copy = xstrdup(val), *save = NULL;
			for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
				if (alloc_state_from_name(t) == ALLOC_STATE_INVALID) {
					int rc = usage_error("unknown state '%s' (provisioning, active, restarting, "
					                     "restart_failed, releasing, release_failed, released, failed)",
					                     t);
					free(copy);
					return rc;
				}
			}
			free(copy);
			free(c->state_filter);
			c->state_filter = xstrdup(val);
		} else if (strcmp(a, "--yes") == 0 && (c->verb == VERB_RELEASE || c->verb == VERB_RESTART)) {
			c->yes = true;
		} else if (strcmp(a, "--reason") == 0 && c->verb == VERB_FORCE) {
			if (!has_next)
				return usage_error("%s needs a value", a);
			free(c->reason);
			c->reason = xstrdup(argv[++i]);
		} else if (strcmp(a, "--follow") == 0 && c->verb == VERB_EVENTS) {
			c->follow = true;
		} else if (strcmp(a, "--wait") == 0 && c->verb == VERB_LAUNCH) {
			c->wait = true;
		} else if (c->verb == VERB_LAUNCH && a[0] == '-' && a[1] == '-' && launch_flag(a)) {
			if (!has_next)
				return usage_error("%s needs a value", a);
			int rc = launch_option(c, a, argv[++i]);
			if (rc != CLI_OK)
				return rc;
		} else if (strcmp(a, "--since") == 0 && c->verb == VERB_EVENTS) {
			if (!has_next)
				return usage_error("%s needs an event id", a);
			char *end;
			errno = 0;
			long long n = strtoll(argv[++i], &end, 10);
			if (errno || *end || n < 0 || end == argv[i])
				return usage_error("--since wants a non-negative event id, not '%s'", argv[i]);
			c->since = n;
		} else if (a[0] == '-' && a[1]) {
			return usage_error("unknown option '%s' for this verb", a);
		} else if (!c->id && needs_id) {
			c->id = xstrdup(a);
		} else {
			return usage_error("unexpected argument '%s'", a);
		}
	}
	if ((c->verb == VERB_SHOW || c->verb == VERB_RELEASE || c->verb == VERB_FORCE ||
	     c->verb == VERB_RESTART) && !c->id)
		return usage_error("%s needs an allocation id", v);
	if (c->id && (strlen(c->id) > 128 || !sanitize_is_clean(c->id, strlen(c->id))))
		return usage_error("'%s' is not an allocation id", "ID");
	if (c->verb == VERB_FORCE && (!c->reason || !c->reason[0]))
		return usage_error("%s needs --reason TEXT (it goes into the audit log)", v);
	if (c->verb == VERB_LAUNCH) {
		char missing[128] = "";
		const struct { bool given; const char *flag; } req[] = {
			{ c->name, "--name" }, { c->sku, "--sku" }, { c->gpus > 0, "--gpus" },
			{ c->image, "--image" }, { c->network, "--network" }, { c->keys, "--key" },
		};
		for (size_t k = 0; k < QD_ARRAY_LEN(req); k++)
			if (!req[k].given)
				snprintf(missing + strlen(missing), sizeof missing - strlen(missing), "%s%s",
				         missing[0] ? ", " : "", req[k].flag);
		if (missing[0])
			return usage_error("launch needs --name, --sku, --gpus, --image, --network and --key "
			                   "(missing: %s)", missing);
	}
	return CLI_OK;
}

int cli_run(int argc, char **argv, const char *api_flag)
{
	Cli c = { 0 };
	int rc = parse_args(&c, argc, argv);
	if (rc != CLI_OK)
		goto out;

	char err[512];
	if (session_resolve_target(api_flag, &c.target, err, sizeof err) < 0) {
		fprintf(stderr, "qdeck: %s\n", err);
		rc = strstr(err, "token") ? CLI_AUTH : CLI_UNREACHABLE;
		goto out;
	}
	uv_loop_init(&c.loop);
	c.store = store_new();
	c.session = session_new(&c.loop, &c.target, c.store, on_session, &c);
	if (c.follow || c.wait) {
		/* Following ends on SIGINT/SIGTERM: stop cleanly, with the exit code
		 * the verb documents, instead of dying mid-line. */
		static const int signums[2] = { SIGINT, SIGTERM };
		for (int i = 0; i < 2; i++) {
			uv_signal_init(&c.loop, &c.sig[i]);
			c.sig[i].data = &c;
			uv_signal_start(&c.sig[i], on_signal, signums[i]);
		}
		c.signals_active = true;
	}
	session_set_profile_only(c.session, true);
	session_start(c.session);
	uv_run(&c.loop, UV_RUN_DEFAULT);
	rc = c.finished ? c.exit_code : CLI_FAILED;
	fflush(stdout);
	if (!c.finished)
		finish(&c, rc); /* closes the signal handles */
	/* Outside the loop, as events.h asks; events_reap below frees what lws keeps. */
	events_free(&c.es);
	session_free(&c.session);
	store_free(&c.store);
	/* Let close callbacks run; bounded so a stray handle cannot hang the CLI. */
	for (int i = 0; i < 100 && uv_loop_alive(&c.loop); i++)
		uv_run(&c.loop, UV_RUN_NOWAIT);
	events_reap();
	uv_loop_close(&c.loop);
	session_target_done(&c.target);
out:
	for (int i = 0; i < CAT_COUNT; i++)
		json_decref(c.cat[i]);
	json_decref(c.keys);
	json_decref(c.storage);
	free(c.name);
	free(c.sku);
	free(c.image);
	free(c.network);
	free(c.runtime);
	free(c.new_id);
	free(c.alloc_state);
	free(c.state_filter);
	free(c.id);
	free(c.reason);
	free(c.alloc_name);
	return rc;
}

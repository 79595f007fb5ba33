/* cli — scriptable verbs over the same Session/Api the console uses.
 *
 * Shape: resolve the target, start a Session (which also starts or reuses the
 * local control plane), wait until it has reached the server and loaded the
 * profile, then run the verb's requests on the loop and stop it when the last
 * one answers. Server strings are sanitized before they reach stdout. */
#include "tui/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/sanitize.h"
#include "common/util.h"
#include "net/api.h"
#include "net/model.h"
#include "net/session.h"
#include "net/store.h"
#include "tui/views_common.h"

typedef enum { VERB_LS, VERB_SHOW, VERB_RELEASE, VERB_FORCE, VERB_EVENTS, VERB_RESTART } Verb;

typedef struct {
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
	uv_poll_t prompt;     /* stdin for the release question */
	bool prompt_active;
	char *alloc_name;
} Cli;

static const char *verbs[] = { "ls", "show", "release", "force-release", "events", "restart" };

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
	      "  events [--since N] [--json]           the event log after event id N\n"
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
	fprintf(stderr, "qdeck: %s: %s%s%s (HTTP %ld%s%s)\n", what, r->err_message,
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

static void ls_request(Cli *c, const char *cursor);

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

static void ls_done(void *ud, const ApiResponse *r)
{
	Cli *c = ud;
	if (r->outcome != API_OK) {
		finish(c, report_error("ls", r));
		return;
	}
	json_t *items = json_object_get(r->body, "items");
	if (!json_is_array(items)) {
		fprintf(stderr, "qdeck: ls: the server's list has no \"items\" array\n");
		finish(c, CLI_FAILED);
		return;
	}
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it) {
		if (c->json) {
			char *s = json_dumps(it, JSON_COMPACT | JSON_ENSURE_ASCII);
			printf("%s%s", c->json_count++ ? ",\n  " : "[\n  ", s ? s : "null");
			free(s);
			continue;
		}
		Allocation a;
		char err[256];
		if (decode_allocation(it, &a, err, sizeof err) < 0) {
			fprintf(stderr, "qdeck: ls: skipped a row: %s\n", err);
			continue;
		}
		ls_print_row(&a);
		allocation_done(&a);
	}
	json_t *next = json_object_get(r->body, "next_cursor");
	if (json_is_string(next) && json_string_length(next) > 0) {
		ls_request(c, json_string_value(next));
		return;
	}
	if (c->json)
		printf(c->json_count ? "\n]\n" : "[]\n");
	finish(c, CLI_OK);
}

static void ls_request(Cli *c, const char *cursor)
{
	QdBuf path;
	qdbuf_init(&path);
	/* Admins list the fleet, like the console's workbench does. */
	const SessionProfile *p = session_profile(c->session);
	qdbuf_appendf(&path, "/api/v1/%sallocations?limit=%d", p && p->is_admin ? "admin/" : "",
	              QD_PAGE_LIMIT_MAX);
	if (!c->all && !c->state_filter)
		qdbuf_appendf(&path, "&actionable=true&archived=false");
	if (c->state_filter) {
		char *e = api_escape(c->state_filter);
		qdbuf_appendf(&path, "&state=%s", e);
		free(e);
	}
	if (cursor) {
		char *e = api_escape(cursor);
		qdbuf_appendf(&path, "&cursor=%s", e);
		free(e);
	}
	api_request(session_api(c->session), "GET", qdbuf_cstr(&path), NULL, ls_done, c);
	qdbuf_done(&path);
}

static void ls_start(Cli *c)
{
	if (!c->json)
		printf("%-16s %-20s %-18s %-22s %-16s %-24s %-14s %5s %7s\n", "ID", "NAME", "STATE",
		       "SKU", "NODE", "RUNTIME/REASON", "STORAGE", "AGE", "$/H");
	ls_request(c, NULL);
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
	printf("%-16s %s\n", "runtime",
	       a->runtime_bundle[0] ? clean(a->runtime_bundle) : "none (no managed runtime)");
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

static void events_request(Cli *c, const char *cursor);

static void events_done(void *ud, const ApiResponse *r)
{
	Cli *c = ud;
	if (r->outcome != API_OK) {
		finish(c, report_error("events", r));
		return;
	}
	json_t *items = json_object_get(r->body, "items");
	if (!json_is_array(items)) {
		fprintf(stderr, "qdeck: events: the server's list has no \"items\" array\n");
		finish(c, CLI_FAILED);
		return;
	}
	size_t i;
	json_t *ev;
	json_array_foreach(items, i, ev) {
		if (c->json) {
			char *s = json_dumps(ev, JSON_COMPACT | JSON_ENSURE_ASCII);
			printf("%s\n", s ? s : "null");
			free(s);
			continue;
		}
		json_t *id = json_object_get(ev, "id");
		const char *at = json_string_value(json_object_get(ev, "at"));
		const char *type = json_string_value(json_object_get(ev, "type"));
		const char *alloc = json_string_value(json_object_get(ev, "allocation_id"));
		const char *msg = json_string_value(json_object_get(ev, "message"));
		printf("%8lld  %-24s  %-34s %-14s %s\n", json_is_integer(id) ? (long long)json_integer_value(id) : -1LL,
		       clean(at ? at : ""), clean(type ? type : "?"), clean(alloc ? alloc : "-"),
		       clean(msg ? msg : ""));
	}
	json_t *next = json_object_get(r->body, "next_cursor");
	if (json_is_string(next) && json_string_length(next) > 0) {
		events_request(c, json_string_value(next));
		return;
	}
	finish(c, CLI_OK);
}

static void events_request(Cli *c, const char *cursor)
{
	QdBuf path;
	qdbuf_init(&path);
	qdbuf_appendf(&path, "/api/v1/events?since=%lld&limit=%d", c->since, QD_PAGE_LIMIT_MAX);
	if (cursor) {
		char *e = api_escape(cursor);
		qdbuf_appendf(&path, "&cursor=%s", e);
		free(e);
	}
	api_request(session_api(c->session), "GET", qdbuf_cstr(&path), NULL, events_done, c);
	qdbuf_done(&path);
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
		get_allocation(c, release_checked);
		break;
	case VERB_EVENTS:
		events_request(c, NULL);
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
	session_start(c.session);
	uv_run(&c.loop, UV_RUN_DEFAULT);
	rc = c.finished ? c.exit_code : CLI_FAILED;
	fflush(stdout);
	session_free(&c.session);
	store_free(&c.store);
	/* Let close callbacks run; bounded so a stray handle cannot hang the CLI. */
	for (int i = 0; i < 100 && uv_loop_alive(&c.loop); i++)
		uv_run(&c.loop, UV_RUN_NOWAIT);
	uv_loop_close(&c.loop);
	session_target_done(&c.target);
out:
	free(c.state_filter);
	free(c.id);
	free(c.reason);
	free(c.alloc_name);
	return rc;
}

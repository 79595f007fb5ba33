/* session — target resolution, then the load-and-stay-live flow (session.h).
 *
 * Flow: [local: find or start qdeckd, get a token] → GET /me → allocation pages
 * (limit 500) into the store; the event stream starts from the FIRST page's
 * as_of_event_id right after that page, so nothing that happens while paging is
 * missed (page rows older than an applied event lose on `version`) → nodes →
 * LIVE once everything is loaded and the stream is open.
 *
 * Failures: a transport error or a lost stream → RECONNECTING with exponential
 * backoff (0.5 s .. 10 s); the stream resumes from store_last_event_id(). The
 * REST step that failed is retried from where it stopped (same cursor). 401 →
 * UNAUTHORIZED and stop (local: mint a new token once first); 403 → FORBIDDEN;
 * 429 → RATE_LIMITED for Retry-After seconds; 5xx → ERROR and retry; other
 * errors → ERROR and stop. The stream refusing our `since` (HTTP 400/410)
 * means we are too far behind: reload everything. */
#include "net/session.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/sanitize.h"
#include "common/util.h"
#include "net/events.h"
#include "net/local.h"
#include "net/tokenfile.h"

#define PAGE_LIMIT 500
#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 10000
#define PROFILE_STR_MAX 256

typedef enum { STEP_NONE, STEP_LOCAL, STEP_ME, STEP_PAGE, STEP_NODES } Step;

/* A page whose items wait to be decoded into the store. on_page asks for the
 * next page first and leaves the decoding to the next loop turn, so the
 * request is on the wire (curl starts transfers from the loop) while this
 * page is decoded: the server works on page k+1 while we store page k. */
typedef struct PendingPage {
	json_t *items;
	bool nodes;
	bool last;               /* the list's final page: loaded once stored */
	unsigned gen;            /* s->gen when received; a reload bumps it */
	struct PendingPage *next;
} PendingPage;

/* One session_refresh_allocation request in flight. */
typedef struct Refresh {
	struct Session *s;
	ApiRequest *req;
	bool is_task;
	struct Refresh *prev, *next;
} Refresh;

struct Session {
	uv_loop_t *loop;
	bool profile_only;   /* session_set_profile_only: stop once signed in */
	SessionTarget target;
	Store *store;
	SessionListener fn;
	void *ud;
	Api *api;
	EventStream *es;
	LocalPlane *local;
	SessionProfile profile;
	SessionState state;
	char message[256];

	Step step;               /* REST step in progress or to retry */
	ApiRequest *req;         /* the step's request */
	char *cursor;            /* next page cursor (allocations or nodes) */
	bool first_page;
	bool allocs_loaded, nodes_loaded;
	int pages;
	bool minted;             /* local: renewed the token once this run */
	bool stopped;            /* terminal state: no more retries */
	uv_timer_t *rest_timer;
	int rest_backoff_ms;

	bool stream_wanted;      /* the stream should be open (after the first page) */
	bool stream_up;
	uv_timer_t *stream_timer;
	int stream_backoff_ms;
	Refresh *refreshes;
	unsigned long long applied;

	PendingPage *pend_head, *pend_tail;
	uv_timer_t *decode_timer;
	unsigned gen;
};

static void run_step(Session *s);
static void stream_connect(Session *s);

/* The HTTP client, made on first use: curl's start-up (TLS library and all)
 * then happens after the console's first frame, not before it. */
static Api *sapi(Session *s)
{
	if (!s->api) {
		ApiConfig cfg = {
			.base_url = s->target.api_url ? s->target.api_url : "http://localhost",
			.unix_socket = s->target.unix_socket,
			.token = s->target.token,
		};
		s->api = api_new(s->loop, &cfg);
	}
	return s->api;
}

/* ---- target resolution -------------------------------------------------- */

static char *trim(char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	size_t n = strlen(p);
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\n' || p[n - 1] == '\r'))
		p[--n] = '\0';
	return p;
}

static bool url_ok(const char *u)
{
	if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)
		return false;
	for (const char *p = u; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return false;
	return strlen(u) < 2048;
}

/* "api = URL" from the config file; 0 none, 1 found, -1 bad (errbuf). */
static int config_api(const char *dir, char **out, char *errbuf, size_t errsz)
{
	char *path = xasprintf("%s/config", dir);
	FILE *f = fopen(path, "re");
	if (!f) {
		free(path);
		return 0;
	}
	char line[4096];
	int lineno = 0, rc = 0;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		char *p = trim(line);
		if (!*p || *p == '#')
			continue;
		char *eq = strchr(p, '=');
		if (!eq)
			continue;
		*eq = '\0';
		if (strcmp(trim(p), "api") != 0)
			continue;
		char *v = trim(eq + 1);
		if (!url_ok(v)) {
			snprintf(errbuf, errsz, "%s:%d: api must be an http:// or https:// URL", path, lineno);
			rc = -1;
			break;
		}
		free(*out);
		*out = xstrdup(v);
		rc = 1;
	}
	fclose(f);
	free(path);
	return rc;
}

int session_resolve_target(const char *api_flag, SessionTarget *out, char *errbuf, size_t errsz)
{
	memset(out, 0, sizeof *out);
	if (errbuf && errsz)
		errbuf[0] = '\0';
	char dir[PATH_MAX];
	bool have_dir = tokenfile_config_dir(dir, sizeof dir) == 0;
	const char *env = getenv("QDECK_API_URL");
	if (api_flag && api_flag[0]) {
		if (!url_ok(api_flag)) {
			snprintf(errbuf, errsz, "--api must be an http:// or https:// URL");
			return -1;
		}
		out->api_url = xstrdup(api_flag);
	} else if (env && env[0]) {
		if (!url_ok(env)) {
			snprintf(errbuf, errsz, "QDECK_API_URL must be an http:// or https:// URL");
			return -1;
		}
		out->api_url = xstrdup(env);
	} else if (have_dir && config_api(dir, &out->api_url, errbuf, errsz) < 0) {
		return -1;
	}

	const char *tok = getenv("QDECK_TOKEN");
	if (tok && tok[0]) {
		out->token = xstrdup(tok);
	} else if (have_dir && tokenfile_read(dir, &out->token, errbuf, errsz) < 0) {
		session_target_done(out);
		return -1;
	}

	if (!out->api_url) {
		char sock[PATH_MAX];
		if (local_socket_path(sock, sizeof sock, errbuf, errsz) < 0) {
			session_target_done(out);
			return -1;
		}
		out->local = true;
		out->unix_socket = xstrdup(sock);
		/* The local plane signs in as its own admin: a platform token from
		 * the environment is not for it. */
		tokenfile_wipe_free(&out->token);
	}
	return 0;
}

/* memset may be optimised away before free(); explicit_bzero may not. */
static void free_secret(char **p)
{
	tokenfile_wipe_free(p);
}

void session_target_done(SessionTarget *t)
{
	if (!t)
		return;
	free(t->api_url);
	free(t->unix_socket);
	free_secret(&t->token);
	memset(t, 0, sizeof *t);
}

/* ---- state reporting ---------------------------------------------------- */

static void set_state(Session *s, SessionState st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_state(Session *s, SessionState st, const char *fmt, ...)
{
	char raw[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	sanitize_str(raw, strlen(raw), s->message, sizeof s->message, false);
	s->state = st;
	if (s->fn)
		s->fn(s->ud, st, s->message);
}

static bool loaded(const Session *s)
{
	return s->allocs_loaded && s->nodes_loaded;
}

/* Where we stand when nothing is wrong. */
static void settle(Session *s)
{
	if (s->stopped)
		return;
	if (loaded(s) && s->stream_up)
		set_state(s, SESSION_LIVE, "live");
	else if (s->stream_wanted && !s->stream_up && uv_is_active((uv_handle_t *)s->stream_timer))
		; /* keep saying RECONNECTING until the stream is back */
	else if (!loaded(s))
		set_state(s, SESSION_LOADING, "loading: %zu allocations", store_allocation_count(s->store));
	else
		set_state(s, SESSION_LOADING, "opening the event stream");
}

static int next_backoff(int *ms)
{
	int cur = *ms ? *ms : BACKOFF_MIN_MS;
	*ms = QD_MIN(cur * 2, BACKOFF_MAX_MS);
	return cur;
}

static void stop(Session *s, SessionState st, const char *msg)
{
	s->stopped = true;
	uv_timer_stop(s->rest_timer);
	uv_timer_stop(s->stream_timer);
	if (s->es)
		events_disconnect(s->es);
	s->stream_up = false;
	set_state(s, st, "%s", msg);
}

static void on_rest_timer(uv_timer_t *t)
{
	run_step(t->data);
}

static void retry_rest(Session *s, SessionState st, int delay_ms, const char *why)
{
	uv_timer_start(s->rest_timer, on_rest_timer, (uint64_t)delay_ms, 0);
	int secs = (delay_ms + 999) / 1000;
	set_state(s, st, "%s in %ds: %s",
	          st == SESSION_RATE_LIMITED ? "rate limited, retrying" : "reconnecting", secs, why);
}

static void token_rejected(Session *s);

/* Common error handling for the REST steps. Returns true when handled. */
static bool rest_failed(Session *s, const ApiResponse *r)
{
	if (r->outcome == API_OK)
		return false;
	if (r->outcome == API_CANCELLED)
		return true;
	if (r->outcome == API_TRANSPORT || r->outcome == API_BAD_RESPONSE) {
		/* The local qdeckd may have died: the retry goes through local_ensure. */
		if (s->target.local && r->outcome == API_TRANSPORT)
			s->step = STEP_LOCAL;
		retry_rest(s, SESSION_RECONNECTING, next_backoff(&s->rest_backoff_ms), r->err_message);
		return true;
	}
	switch (r->status) {
	case 401:
		token_rejected(s);
		break;
	case 403:
		stop(s, SESSION_FORBIDDEN, r->err_message[0] ? r->err_message : "forbidden");
		break;
	case 429: {
		int secs = r->retry_after_s > 0 ? r->retry_after_s : 1;
		uv_timer_start(s->rest_timer, on_rest_timer, (uint64_t)secs * 1000, 0);
		set_state(s, SESSION_RATE_LIMITED, "rate limited: retrying in %ds", secs);
		break;
	}
	default:
		if (r->status >= 500) {
			int d = next_backoff(&s->rest_backoff_ms);
			uv_timer_start(s->rest_timer, on_rest_timer, (uint64_t)d, 0);
			set_state(s, SESSION_ERROR, "server error (HTTP %ld): %s; retrying in %ds", r->status,
			          r->err_message, (d + 999) / 1000);
		} else {
			char msg[300];
			snprintf(msg, sizeof msg, "HTTP %ld: %s", r->status, r->err_message);
			stop(s, SESSION_ERROR, msg);
		}
		break;
	}
	return true;
}

/* ---- REST steps ----------------------------------------------------------- */

static char *bounded(json_t *v)
{
	const char *str = json_is_string(v) ? json_string_value(v) : "";
	size_t n = strnlen(str, PROFILE_STR_MAX);
	return xstrndup(str, n);
}

static void profile_done(SessionProfile *p)
{
	free(p->user_id);
	free(p->user_name);
	free(p->org_id);
	free(p->org_name);
	memset(p, 0, sizeof *p);
}

static void on_me(void *ud, const ApiResponse *r)
{
	Session *s = ud;
	s->req = NULL;
	if (rest_failed(s, r))
		return;
	json_t *user = json_object_get(r->body, "user");
	json_t *org = json_object_get(r->body, "org");
	json_t *roles = json_object_get(r->body, "roles");
	if (!json_is_object(user) || !json_is_string(json_object_get(user, "id")) ||
	    !json_is_array(roles)) {
		stop(s, SESSION_ERROR, "the server's /me does not match the v1 contract (user, roles)");
		return;
	}
	profile_done(&s->profile);
	s->profile.user_id = bounded(json_object_get(user, "id"));
	s->profile.user_name = bounded(json_object_get(user, "name"));
	s->profile.org_id = bounded(json_object_get(org, "id"));
	s->profile.org_name = bounded(json_object_get(org, "name"));
	size_t i;
	json_t *role;
	json_array_foreach(roles, i, role) {
		if (!json_is_string(role))
			continue;
		if (strcmp(json_string_value(role), ROLE_ADMIN) == 0)
			s->profile.is_admin = true;
		if (strcmp(json_string_value(role), ROLE_BILLING) == 0)
			s->profile.is_billing = true;
	}
	json_t *bal = json_object_get(r->body, "balance_cents");
	s->profile.balance_cents = json_is_integer(bal) ? (long long)json_integer_value(bal) : 0;
	s->rest_backoff_ms = 0;
	if (s->profile_only) {
		/* A CLI verb makes its own requests: signed in is all it needs. */
		s->step = STEP_NONE;
		set_state(s, SESSION_LOADING, "signed in");
		return;
	}
	if (!s->allocs_loaded) {
		s->step = STEP_PAGE;
		if (!s->cursor)
			s->first_page = true;
	} else {
		s->step = STEP_NODES;
	}
	set_state(s, SESSION_LOADING, "loading allocations");
	run_step(s);
}

/* "items" decoded into the store; malformed rows are skipped and counted. */
static int put_items(Session *s, json_t *items, bool nodes, char *why, size_t whysz)
{
	int bad = 0;
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it) {
		char err[200];
		if (nodes) {
			Node n;
			if (decode_node(it, &n, err, sizeof err) == 0)
				store_put_node(s->store, &n);
			else if (bad++ == 0)
				snprintf(why, whysz, "%s", err);
		} else {
			Allocation a;
			if (decode_allocation(it, &a, err, sizeof err) == 0)
				store_put_allocation(s->store, &a);
			else if (bad++ == 0)
				snprintf(why, whysz, "%s", err);
		}
	}
	return bad;
}

static void pending_drop(Session *s)
{
	while (s->pend_head) {
		PendingPage *p = s->pend_head;
		s->pend_head = p->next;
		json_decref(p->items);
		free(p);
	}
	s->pend_tail = NULL;
}

/* Stores the pages on_page queued, in order. */
static void on_decode_timer(uv_timer_t *t)
{
	Session *s = t->data;
	while (s->pend_head) {
		PendingPage *p = s->pend_head;
		s->pend_head = p->next;
		if (!s->pend_head)
			s->pend_tail = NULL;
		char why[200] = "";
		int bad = put_items(s, p->items, p->nodes, why, sizeof why);
		/* A reload since this page arrived starts over: it is not "the last". */
		if (p->last && p->gen == s->gen) {
			if (p->nodes)
				s->nodes_loaded = true;
			else
				s->allocs_loaded = true;
		}
		bool nodes = p->nodes;
		json_decref(p->items);
		free(p);
		if (s->stopped)
			continue;
		settle(s); /* "loading: N allocations" as pages come in, then "live" */
		if (bad) {
			/* Say it, but keep the rest of the fleet: one bad row is not an outage. */
			char was[sizeof s->message];
			snprintf(was, sizeof was, "%s", s->message);
			set_state(s, s->state, "%s; skipped %d malformed %s: %s", was, bad,
			          nodes ? "nodes" : "rows", why);
		}
	}
}

static void on_page(void *ud, const ApiResponse *r)
{
	Session *s = ud;
	s->req = NULL;
	if (rest_failed(s, r))
		return;
	bool nodes = s->step == STEP_NODES;
	json_t *items = json_object_get(r->body, "items");
	json_t *next = json_object_get(r->body, "next_cursor");
	json_t *asof = json_object_get(r->body, "as_of_event_id");
	if (!json_is_array(items) || !(json_is_null(next) || json_is_string(next) || !next)) {
		stop(s, SESSION_ERROR, "a list page does not match the v1 contract (items, next_cursor)");
		return;
	}
	s->rest_backoff_ms = 0;
	if (!nodes && s->first_page) {
		s->first_page = false;
		/* Everything after this id reaches us through the stream. */
		int64_t id = json_is_integer(asof) ? json_integer_value(asof) : 0;
		if (id < 0)
			id = 0;
		store_set_last_event_id(s->store, id);
		s->stream_wanted = true;
		if (!s->stream_up)
			stream_connect(s);
	}
	s->pages++;
	free(s->cursor);
	s->cursor = json_is_string(next) && json_string_length(next) > 0
	          ? xstrndup(json_string_value(next), QD_MIN(json_string_length(next), (size_t)4096))
	          : NULL;
	PendingPage *p = xcalloc(1, sizeof *p);
	p->items = json_incref(items);
	p->nodes = nodes;
	p->last = !s->cursor;
	p->gen = s->gen;
	if (s->pend_tail)
		s->pend_tail->next = p;
	else
		s->pend_head = p;
	s->pend_tail = p;
	if (!s->cursor)
		s->step = nodes ? STEP_NONE : STEP_NODES;
	/* The next request first: curl's timer for it is armed before ours, so
	 * the request goes out on the next loop turn ahead of the decoding. */
	run_step(s);
	uv_timer_start(s->decode_timer, on_decode_timer, 0, 0);
}

static void run_step(Session *s)
{
	if (s->stopped || s->req)
		return;
	char path[4200];
	const char *base;
	switch (s->step) {
	case STEP_NONE:
		return;
	case STEP_LOCAL:
		local_ensure(s->local);
		return;
	case STEP_ME:
		s->req = api_request(sapi(s), "GET", "/api/v1/me", NULL, on_me, s);
		return;
	case STEP_PAGE:
	case STEP_NODES:
		base = s->step == STEP_NODES ? "/api/v1/nodes"
		     : s->profile.is_admin ? "/api/v1/admin/allocations" : "/api/v1/allocations";
		if (s->cursor) {
			char *c = api_escape(s->cursor);
			snprintf(path, sizeof path, "%s?limit=%d&cursor=%s", base, PAGE_LIMIT, c);
			free(c);
		} else {
			snprintf(path, sizeof path, "%s?limit=%d", base, PAGE_LIMIT);
		}
		s->req = api_request(sapi(s), "GET", path, NULL, on_page, s);
		return;
	}
}

/* ---- local control plane -------------------------------------------------- */

static void on_local_progress(void *ud, const char *message)
{
	Session *s = ud;
	set_state(s, SESSION_CONNECTING, "%s", message);
}

static void on_local_ready(void *ud, bool ok, const char *token, const char *message)
{
	Session *s = ud;
	if (!ok) {
		retry_rest(s, SESSION_RECONNECTING, next_backoff(&s->rest_backoff_ms), message);
		return;
	}
	s->target.started_local = s->target.started_local || local_spawned(s->local);
	free_secret(&s->target.token);
	s->target.token = xstrdup(token);
	api_set_token(sapi(s), token);
	if (s->es)
		events_set_token(s->es, token);
	if (s->step == STEP_LOCAL) {
		/* First contact, or qdeckd came back after a loss. */
		s->step = loaded(s) ? STEP_NONE : (s->profile.user_id ? (s->allocs_loaded ? STEP_NODES : STEP_PAGE) : STEP_ME);
		if (s->step == STEP_PAGE && !s->cursor)
			s->first_page = true;
		if (s->step == STEP_ME || s->step == STEP_NONE)
			set_state(s, SESSION_CONNECTING, "connecting to the local control plane");
		run_step(s);
	}
	if (s->stream_wanted && !s->stream_up && !uv_is_active((uv_handle_t *)s->stream_timer))
		stream_connect(s);
}

static void token_rejected(Session *s)
{
	if (s->target.local && s->local && !s->minted) {
		/* The cached token belongs to an older database: mint one. */
		s->minted = true;
		s->step = STEP_LOCAL; /* on_local_ready works out what to redo */
		set_state(s, SESSION_CONNECTING, "signing in to the local control plane");
		local_renew_token(s->local);
		return;
	}
	stop(s, SESSION_UNAUTHORIZED,
	     s->target.token ? "signed out: the server rejected the token (401); set QDECK_TOKEN or "
	                       "update the token file"
	                     : "signed out: no token; set QDECK_TOKEN or write the token file");
}

void session_sign_in(Session *s, const char *token)
{
	if (!s || !token || !*token)
		return;
	/* Whatever was in flight was asked with the old token. */
	if (s->req)
		api_cancel(s->req); /* its callback clears s->req */
	uv_timer_stop(s->rest_timer);
	uv_timer_stop(s->stream_timer);
	if (s->es)
		events_disconnect(s->es);
	s->stream_up = false;
	free_secret(&s->target.token);
	s->target.token = xstrdup(token);
	api_set_token(sapi(s), s->target.token);
	if (s->es)
		events_set_token(s->es, s->target.token);
	s->minted = false;
	s->stopped = false;
	s->rest_backoff_ms = 0;
	s->stream_backoff_ms = 0;
	/* From /me again; on_me picks up where loading stopped (the cursor and
	 * what is loaded are kept, and so is the store). */
	s->step = STEP_ME;
	set_state(s, SESSION_CONNECTING, "signing in to %s",
	          s->target.api_url ? s->target.api_url : "the local control plane");
	run_step(s);
	/* A stream that was open before the refusal reopens from the last event
	 * id, so nothing that happened while signed out is missed. */
	if (s->stream_wanted)
		stream_connect(s);
}

/* ---- event stream --------------------------------------------------------- */

static void on_event(void *ud, json_t *ev)
{
	Session *s = ud;
	char err[256];
	int rc = store_apply_event(s->store, ev, err, sizeof err);
	if (rc < 0) {
		/* Keep the stream: the next good event moves us on. Say it once. */
		set_state(s, s->state, "ignored a malformed event: %s", err);
		return;
	}
	if (rc == 0)
		return;
	s->applied++;
	/* A task we hold (someone looks at it) changed: fetch its fresh copy. */
	json_t *type = json_object_get(ev, "type");
	json_t *tid = json_object_get(ev, "task_id");
	if (json_is_string(type) && strcmp(json_string_value(type), "task.updated") == 0 &&
	    json_is_string(tid) && store_task(s->store, json_string_value(tid))) {
		json_t *aid = json_object_get(ev, "allocation_id");
		if (json_is_string(aid))
			session_refresh_allocation(s, json_string_value(aid));
	}
}

static void on_stream_timer(uv_timer_t *t)
{
	Session *s = t->data;
	if (s->stopped)
		return;
	if (s->target.local && s->local) {
		/* qdeckd may be gone for good: make sure one answers (starting it
		 * again if needed); on_local_ready then reopens the stream. */
		if (s->step == STEP_NONE) {
			s->step = STEP_LOCAL;
			local_ensure(s->local);
			return;
		}
	}
	stream_connect(s);
}

static void stream_retry(Session *s, const char *why)
{
	s->stream_up = false;
	int d = next_backoff(&s->stream_backoff_ms);
	uv_timer_start(s->stream_timer, on_stream_timer, (uint64_t)d, 0);
	set_state(s, SESSION_RECONNECTING, "reconnecting in %ds: %s", (d + 999) / 1000, why);
}

static void reload_all(Session *s)
{
	/* Too far behind for the stream: read everything again from page one. */
	s->gen++;
	pending_drop(s);
	s->allocs_loaded = s->nodes_loaded = false;
	free(s->cursor);
	s->cursor = NULL;
	s->first_page = true;
	s->stream_wanted = false;
	s->step = STEP_PAGE;
	store_set_last_event_id(s->store, 0);
	set_state(s, SESSION_LOADING, "event history gap: reloading");
	run_step(s);
}

static void on_stream_state(void *ud, const EventsStatus *st)
{
	Session *s = ud;
	if (s->stopped)
		return;
	if (st->connected) {
		s->stream_up = true;
		s->stream_backoff_ms = 0;
		settle(s);
		return;
	}
	s->stream_up = false;
	if (st->http_status == 401) {
		token_rejected(s);
		return;
	}
	if (st->http_status == 403) {
		stop(s, SESSION_FORBIDDEN, "forbidden: the event stream refused this token");
		return;
	}
	if (st->http_status == 400 || st->http_status == 410) {
		if (s->req)
			api_cancel(s->req);
		reload_all(s);
		return;
	}
	stream_retry(s, st->message);
}

static void stream_connect(Session *s)
{
	if (s->stopped)
		return;
	uv_timer_stop(s->stream_timer);
	char err[256];
	if (!s->es) {
		EventsConfig cfg = {
			.base_url = s->target.api_url ? s->target.api_url : "http://localhost",
			.unix_socket = s->target.unix_socket,
			.token = s->target.token,
		};
		s->es = events_new(s->loop, &cfg, on_event, on_stream_state, s, err, sizeof err);
		if (!s->es) {
			stop(s, SESSION_ERROR, err);
			return;
		}
	}
	if (events_connect(s->es, store_last_event_id(s->store), err, sizeof err) < 0)
		stream_retry(s, err);
}

/* ---- refresh one allocation ------------------------------------------------ */

static void refresh_unlink(Session *s, Refresh *f)
{
	if (f->prev)
		f->prev->next = f->next;
	else
		s->refreshes = f->next;
	if (f->next)
		f->next->prev = f->prev;
	free(f);
}

static void refresh_start(Session *s, const char *path, bool is_task);

static void on_refresh(void *ud, const ApiResponse *r)
{
	Refresh *f = ud;
	Session *s = f->s;
	bool is_task = f->is_task;
	refresh_unlink(s, f);
	if (r->outcome != API_OK)
		return; /* a refresh is best effort; the stream still keeps us current */
	char err[200];
	if (is_task) {
		Task t;
		if (decode_task(r->body, &t, err, sizeof err) == 0)
			store_put_task(s->store, &t);
		return;
	}
	Allocation a;
	if (decode_allocation(r->body, &a, err, sizeof err) < 0)
		return;
	char *task = a.task_id && a.task_id[0] ? api_escape(a.task_id) : NULL;
	store_put_allocation(s->store, &a);
	if (task) {
		char path[512];
		snprintf(path, sizeof path, "/api/v1/tasks/%s", task);
		refresh_start(s, path, true);
		free(task);
	}
}

static void refresh_start(Session *s, const char *path, bool is_task)
{
	Refresh *f = xcalloc(1, sizeof *f);
	f->s = s;
	f->is_task = is_task;
	f->next = s->refreshes;
	if (s->refreshes)
		s->refreshes->prev = f;
	s->refreshes = f;
	f->req = api_request(sapi(s), "GET", path, NULL, on_refresh, f);
}

void session_refresh_allocation(Session *s, const char *alloc_id)
{
	if (!s || !alloc_id || !alloc_id[0] || strlen(alloc_id) > 128)
		return;
	char *id = api_escape(alloc_id);
	char path[512];
	snprintf(path, sizeof path, "/api/v1/allocations/%s", id);
	free(id);
	refresh_start(s, path, false);
}

/* ---- lifecycle ------------------------------------------------------------ */

static void on_timer_closed(uv_handle_t *h)
{
	free(h);
}

Session *session_new(uv_loop_t *loop, const SessionTarget *target, Store *store,
                     SessionListener fn, void *ud)
{
	Session *s = xcalloc(1, sizeof *s);
	s->loop = loop;
	s->store = store;
	s->fn = fn;
	s->ud = ud;
	s->target.api_url = target->api_url ? xstrdup(target->api_url) : NULL;
	s->target.unix_socket = target->unix_socket ? xstrdup(target->unix_socket) : NULL;
	s->target.token = target->token ? xstrdup(target->token) : NULL;
	s->target.local = target->local;
	s->target.started_local = false;
	s->decode_timer = xcalloc(1, sizeof *s->decode_timer);
	uv_timer_init(loop, s->decode_timer);
	s->decode_timer->data = s;
	s->rest_timer = xcalloc(1, sizeof *s->rest_timer);
	uv_timer_init(loop, s->rest_timer);
	s->rest_timer->data = s;
	s->stream_timer = xcalloc(1, sizeof *s->stream_timer);
	uv_timer_init(loop, s->stream_timer);
	s->stream_timer->data = s;
	s->state = SESSION_CONNECTING;
	snprintf(s->message, sizeof s->message, "%s",
	         s->target.local ? "starting local control plane" : "connecting");
	return s;
}

void session_set_profile_only(Session *s, bool on)
{
	s->profile_only = on;
}

void session_start(Session *s)
{
	if (s->target.local) {
		s->local = local_new(s->loop, s->target.unix_socket, on_local_ready, on_local_progress, s);
		s->step = STEP_LOCAL;
		set_state(s, SESSION_CONNECTING, "starting local control plane");
		local_ensure(s->local);
		return;
	}
	s->step = STEP_ME;
	set_state(s, SESSION_CONNECTING, "connecting to %s", s->target.api_url);
	run_step(s);
}

void session_free(Session **sp)
{
	if (!sp || !*sp)
		return;
	Session *s = *sp;
	*sp = NULL;
	s->stopped = true;
	s->fn = NULL;
	/* Cancels every request; their callbacks see API_CANCELLED. */
	api_free(&s->api);
	while (s->refreshes)
		refresh_unlink(s, s->refreshes);
	events_free(&s->es);
	local_free(&s->local);
	uv_timer_stop(s->rest_timer);
	uv_close((uv_handle_t *)s->rest_timer, on_timer_closed);
	uv_timer_stop(s->stream_timer);
	uv_close((uv_handle_t *)s->stream_timer, on_timer_closed);
	pending_drop(s);
	uv_timer_stop(s->decode_timer);
	uv_close((uv_handle_t *)s->decode_timer, on_timer_closed);
	profile_done(&s->profile);
	free(s->cursor);
	session_target_done(&s->target);
	free(s);
}

SessionState session_state(const Session *s)
{
	return s->state;
}

const char *session_message(const Session *s)
{
	return s->message;
}

const SessionProfile *session_profile(const Session *s)
{
	return &s->profile;
}

const SessionTarget *session_target(const Session *s)
{
	return &s->target;
}

Api *session_api(Session *s)
{
	return sapi(s);
}

unsigned long long session_events_applied(const Session *s)
{
	return s->applied;
}

bool session_fully_loaded(const Session *s)
{
	return loaded(s);
}

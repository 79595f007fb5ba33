/* routes — exact method + path matching, auth, rate limiting, validation, and
 * the call into the model for every v1 endpoint. See routes.h. */
#include "server/routes.h"
#include "server/jsonout.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/rand.h>

#include "common/sanitize.h"
#include "common/util.h"

#define TOKEN_MAX_LEN 256
#define Q_MAX_LEN 200
#define CURSOR_MAX_LEN 512
#define BUCKETS_MAX 1024

/* One token bucket per bearer token; keyed by a hash so no token is kept. */
typedef struct {
	uint64_t key;
	double tokens;
	int64_t last_ms;
} Bucket;

struct Routes {
	Db *db;
	Reconciler *rec;
	double rate;
	double burst;
	Bucket *buckets;
	int nbuckets;
	char *base_url;
	size_t dump_hint;   /* buffer size for the next response body */
};

/* What a handler gets: the caller, the path's id, the request. */
typedef struct {
	Routes *r;
	const RouteRequest *req;
	Principal p;
	char id[72];
	json_t *body;   /* parsed object or NULL */
	int status;     /* handler may change the default 200 */
	char *text;     /* a handler that writes its own JSON text sets this and returns NULL */
	size_t text_len;
} Ctx;

typedef json_t *(*Handler)(Ctx *c, ApiError *err);

enum { AUTH_ANY, AUTH_NONE, AUTH_ADMIN, AUTH_AUDIT };
enum { BODY_NONE, BODY_OPTIONAL, BODY_REQUIRED };

typedef struct {
	const char *method;
	const char *pattern;      /* "{id}" marks the one path parameter */
	Handler handler;
	int auth;
	int body;
	const char *const *params; /* allowed query parameters (NULL: none) */
} Route;

static const char *const P_ALLOC[] = {"limit", "cursor", "state", "actionable", "archived",
                                      "node", "project", "q", NULL};
static const char *const P_PAGE[] = {"limit", "cursor", NULL};
static const char *const P_EVENTS[] = {"since", "limit", NULL};

/* --- small helpers --------------------------------------------------------- */

static void set_err(ApiError *e, int status, const char *code, const char *suggestion,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void set_err(ApiError *e, int status, const char *code, const char *suggestion,
                    const char *fmt, ...)
{
	memset(e, 0, sizeof *e);
	e->status = status;
	qd_strlcpy(e->code, code, sizeof e->code);
	qd_strlcpy(e->suggestion, suggestion ? suggestion : "", sizeof e->suggestion);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof e->message, fmt, ap);
	va_end(ap);
}

/* A client-supplied string made safe to quote in an error message. */
static const char *quote(const char *s, char *buf, size_t bufsz)
{
	sanitize_fit(s ? s : "", buf, bufsz, 64, true);
	return buf;
}

bool routes_id_valid(const char *s)
{
	size_t n = 0;
	if (!s)
		return false;
	for (; s[n]; n++) {
		unsigned char ch = (unsigned char)s[n];
		if (n >= 64 || !(isalnum(ch) || ch == '_' || ch == '-'))
			return false;
	}
	return n > 0;
}

bool routes_parse_u64(const char *s, int64_t *out)
{
	if (!s || !*s || strlen(s) > 19)
		return false;
	for (const char *p = s; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	errno = 0;
	char *end = NULL;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v > (unsigned long long)INT64_MAX)
		return false;
	*out = (int64_t)v;
	return true;
}

void routes_new_request_id(char *buf, size_t bufsz)
{
	unsigned char b[4];
	if (RAND_bytes(b, sizeof b) != 1) {
		/* Request ids are correlation handles, not secrets: a counter will do. */
		static uint32_t fallback;
		uint32_t v = ++fallback ^ (uint32_t)qd_mono_ms();
		memcpy(b, &v, sizeof b);
	}
	snprintf(buf, bufsz, "req_%02x%02x%02x%02x", b[0], b[1], b[2], b[3]);
}

char *routes_error_json(const ApiError *e, const char *request_id)
{
	json_t *o = json_pack("{s:{s:s, s:s, s:s, s:s}}", "error", "code",
	                      e->code[0] ? e->code : "internal", "message", e->message,
	                      "suggestion", e->suggestion, "request_id",
	                      request_id ? request_id : "");
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!s)
		util_oom();
	return s;
}

static const char *query_get(const RouteRequest *req, const char *key)
{
	for (int i = 0; i < req->nquery; i++)
		if (strcmp(req->query[i].key, key) == 0)
			return req->query[i].value;
	return NULL;
}

/* Every parameter must be one the endpoint knows, at most once. */
static bool query_check(const RouteRequest *req, const char *const *allowed, ApiError *err)
{
	char q[96];
	if (req->query_overflow) {
		set_err(err, 400, "invalid_parameter", "send fewer query parameters",
		        "too many query parameters (at most %d)", ROUTES_MAX_QUERY);
		return false;
	}
	for (int i = 0; i < req->nquery; i++) {
		bool known = false;
		for (const char *const *a = allowed; a && *a; a++)
			if (strcmp(*a, req->query[i].key) == 0)
				known = true;
		if (!known) {
			set_err(err, 400, "invalid_parameter", "see docs/api/openapi.yaml for this endpoint's parameters",
			        "unknown query parameter '%s'", quote(req->query[i].key, q, sizeof q));
			return false;
		}
		for (int j = 0; j < i; j++)
			if (strcmp(req->query[j].key, req->query[i].key) == 0) {
				set_err(err, 400, "invalid_parameter", "give each parameter once",
				        "query parameter '%s' given more than once",
				        quote(req->query[i].key, q, sizeof q));
				return false;
			}
	}
	return true;
}

static bool query_limit(const RouteRequest *req, int *limit, ApiError *err)
{
	const char *v = query_get(req, "limit");
	char q[96];
	int64_t n;
	*limit = QD_PAGE_LIMIT_DEFAULT;
	if (!v)
		return true;
	if (!routes_parse_u64(v, &n) || n < 1 || n > QD_PAGE_LIMIT_MAX) {
		set_err(err, 400, "invalid_limit", "use a limit from 1 to 500 and follow next_cursor",
		        "limit must be an integer from 1 to %d, got '%s'", QD_PAGE_LIMIT_MAX,
		        quote(v, q, sizeof q));
		return false;
	}
	*limit = (int)n;
	return true;
}

static bool query_cursor(const RouteRequest *req, const char **cursor, ApiError *err)
{
	const char *v = query_get(req, "cursor");
	*cursor = NULL;
	if (!v)
		return true;
	if (!*v || strlen(v) > CURSOR_MAX_LEN || !sanitize_is_clean(v, strlen(v))) {
		set_err(err, 400, "invalid_cursor", "start again from the first page without a cursor",
		        "the cursor is not one this server issued");
		return false;
	}
	*cursor = v;
	return true;
}

static bool query_bool(const RouteRequest *req, const char *key, int *out, ApiError *err)
{
	const char *v = query_get(req, key);
	char q[96];
	*out = -1;
	if (!v)
		return true;
	if (strcmp(v, "true") == 0)
		*out = 1;
	else if (strcmp(v, "false") == 0)
		*out = 0;
	else {
		set_err(err, 400, "invalid_parameter", "use true or false",
		        "%s must be true or false, got '%s'", key, quote(v, q, sizeof q));
		return false;
	}
	return true;
}

static bool query_id(const RouteRequest *req, const char *key, const char **out, ApiError *err)
{
	const char *v = query_get(req, key);
	char q[96];
	*out = NULL;
	if (!v)
		return true;
	if (!routes_id_valid(v)) {
		set_err(err, 400, "invalid_parameter", "ids are 1-64 letters, digits, '_' or '-'",
		        "%s is not a valid id: '%s'", key, quote(v, q, sizeof q));
		return false;
	}
	*out = v;
	return true;
}

static bool parse_alloc_filter(const RouteRequest *req, AllocFilter *f, ApiError *err)
{
	char q[96];
	memset(f, 0, sizeof *f);
	if (!query_limit(req, &f->limit, err) || !query_cursor(req, &f->cursor, err) ||
	    !query_bool(req, "actionable", &f->actionable, err) ||
	    !query_bool(req, "archived", &f->archived, err) ||
	    !query_id(req, "node", &f->node_id, err) ||
	    !query_id(req, "project", &f->project_id, err))
		return false;
	const char *states = query_get(req, "state");
	if (states) {
		const char *s = states;
		for (;;) {
			const char *comma = strchr(s, ',');
			size_t n = comma ? (size_t)(comma - s) : strlen(s);
			char name[40];
			AllocState st = ALLOC_STATE_INVALID;
			if (n > 0 && n < sizeof name) {
				memcpy(name, s, n);
				name[n] = '\0';
				st = alloc_state_from_name(name);
			}
			if (st == ALLOC_STATE_INVALID) {
				char bad[64];
				qd_strlcpy(bad, s, QD_MIN(n + 1, sizeof bad));
				set_err(err, 400, "invalid_parameter",
				        "states: provisioning, active, restarting, restart_failed, releasing, "
				        "release_failed, released, failed",
				        "unknown state '%s' in state filter", quote(bad, q, sizeof q));
				return false;
			}
			f->state_mask |= 1u << st;
			if (!comma)
				break;
			s = comma + 1;
		}
	}
	const char *text = query_get(req, "q");
	if (text) {
		if (strlen(text) > Q_MAX_LEN || !sanitize_is_clean(text, strlen(text))) {
			set_err(err, 400, "invalid_parameter", "search for a shorter piece of text",
			        "q must be at most %d printable characters", Q_MAX_LEN);
			return false;
		}
		if (*text)
			f->q = text;
	}
	return true;
}

/* --- handlers -------------------------------------------------------------- */

static json_t *h_healthz(Ctx *c, ApiError *err)
{
	(void)c;
	(void)err;
	return json_pack("{s:b, s:s}", "ok", 1, "version", QD_VERSION);
}

static json_t *h_me(Ctx *c, ApiError *err) { return model_me(c->r->db, &c->p, err); }
static json_t *h_skus(Ctx *c, ApiError *err) { return model_skus(c->r->db, &c->p, err); }
static json_t *h_images(Ctx *c, ApiError *err) { return model_images(c->r->db, &c->p, err); }
static json_t *h_networks(Ctx *c, ApiError *err) { return model_networks(c->r->db, &c->p, err); }
static json_t *h_runtimes(Ctx *c, ApiError *err) { return model_runtimes(c->r->db, &c->p, err); }
static json_t *h_ssh_keys(Ctx *c, ApiError *err) { return model_ssh_keys(c->r->db, &c->p, err); }

static json_t *h_ssh_key_add(Ctx *c, ApiError *err)
{
	json_t *j = model_ssh_key_add(c->r->db, &c->p, c->body, err);
	if (j)
		c->status = 201;
	return j;
}

static json_t *allocations_list(Ctx *c, bool admin, ApiError *err)
{
	AllocFilter f;
	if (!parse_alloc_filter(c->req, &f, err))
		return NULL;
	/* Pages are the big answers: the model writes them as text directly
	 * rather than as json_t for respond_json to walk (issue 2's 5 ms). */
	c->text = model_allocations_text(c->r->db, &c->p, &f, admin, &c->text_len, err);
	return NULL;
}

static json_t *h_allocations(Ctx *c, ApiError *err) { return allocations_list(c, false, err); }
static json_t *h_admin_allocations(Ctx *c, ApiError *err) { return allocations_list(c, true, err); }

/* Mutations that start reconciler work answer 202 and wake the reconciler. */
static json_t *started(Ctx *c, json_t *j)
{
	if (j) {
		c->status = 202;
		if (c->r->rec)
			reconciler_kick(c->r->rec);
	}
	return j;
}

static json_t *h_allocation_create(Ctx *c, ApiError *err)
{
	return started(c, model_allocation_create(c->r->db, &c->p, c->body, err));
}

static json_t *h_allocation(Ctx *c, ApiError *err) { return model_allocation(c->r->db, &c->p, c->id, err); }

static json_t *h_release(Ctx *c, ApiError *err)
{
	return started(c, model_allocation_release(c->r->db, &c->p, c->id, err));
}

static json_t *h_restart(Ctx *c, ApiError *err)
{
	return started(c, model_allocation_restart(c->r->db, &c->p, c->id, err));
}

static json_t *h_terminal_token(Ctx *c, ApiError *err)
{
	json_t *j = model_terminal_token_mint(c->r->db, &c->p, c->id,
	                                      c->r->base_url ? c->r->base_url : "http://localhost", err);
	if (j)
		c->status = 201;
	return j;
}

static json_t *h_force_release(Ctx *c, ApiError *err)
{
	const char *reason = "";
	json_t *jr = c->body ? json_object_get(c->body, "reason") : NULL;
	if (jr && !json_is_null(jr)) {
		if (!json_is_string(jr)) {
			set_err(err, 400, "invalid_type", "send {\"reason\": \"why\"}",
			        "reason must be a string");
			return NULL;
		}
		reason = json_string_value(jr);
	}
	return started(c, model_allocation_force_release(c->r->db, &c->p, c->id, reason,
	                                                 c->req->request_id, err));
}

/* Synchronous (no task): the node row changes in the model's transaction. */
static json_t *h_node_scheduling(Ctx *c, ApiError *err)
{
	return model_node_set_scheduling(c->r->db, &c->p, c->id, c->body, c->req->request_id, err);
}

static json_t *h_task(Ctx *c, ApiError *err) { return model_task(c->r->db, &c->p, c->id, err); }

static json_t *h_events(Ctx *c, ApiError *err)
{
	int limit;
	int64_t since = 0;
	const char *v = query_get(c->req, "since");
	char q[96];
	if (v && !routes_parse_u64(v, &since)) {
		set_err(err, 400, "invalid_parameter", "use the id of the last event you have, or 0",
		        "since must be a non-negative integer, got '%s'", quote(v, q, sizeof q));
		return NULL;
	}
	if (!query_limit(c->req, &limit, err))
		return NULL;
	return model_events(c->r->db, &c->p, since, limit, err);
}

static json_t *paged(Ctx *c, ApiError *err,
                     json_t *(*fn)(Db *, const Principal *, int, const char *, ApiError *))
{
	int limit;
	const char *cursor;
	if (!query_limit(c->req, &limit, err) || !query_cursor(c->req, &cursor, err))
		return NULL;
	return fn(c->r->db, &c->p, limit, cursor, err);
}

static json_t *h_nodes(Ctx *c, ApiError *err) { return paged(c, err, model_nodes); }
static json_t *h_node(Ctx *c, ApiError *err) { return model_node(c->r->db, &c->p, c->id, err); }
static json_t *h_audit_logs(Ctx *c, ApiError *err) { return paged(c, err, model_audit_logs); }

static json_t *h_faults(Ctx *c, ApiError *err)
{
	json_t *j = model_fault_inject(c->r->db, &c->p, c->body, err);
	if (j && c->r->rec)
		reconciler_kick(c->r->rec);
	return j;
}

/* The WebSocket endpoints reached with plain HTTP: they exist, but need an upgrade. */
static json_t *h_needs_upgrade(Ctx *c, ApiError *err)
{
	(void)c;
	set_err(err, 400, "websocket_required", "connect with a WebSocket client (Upgrade: websocket)",
	        "this endpoint is a WebSocket; a plain HTTP request cannot use it");
	return NULL;
}

static const Route ROUTES[] = {
	{"GET", "/api/v1/healthz", h_healthz, AUTH_NONE, BODY_NONE, NULL},
	{"GET", "/api/v1/me", h_me, AUTH_ANY, BODY_NONE, NULL},
	{"GET", "/api/v1/skus", h_skus, AUTH_ANY, BODY_NONE, NULL},
	{"GET", "/api/v1/images", h_images, AUTH_ANY, BODY_NONE, NULL},
	{"GET", "/api/v1/networks", h_networks, AUTH_ANY, BODY_NONE, NULL},
	{"GET", "/api/v1/runtimes", h_runtimes, AUTH_ANY, BODY_NONE, NULL},
	{"GET", "/api/v1/ssh-keys", h_ssh_keys, AUTH_ANY, BODY_NONE, NULL},
	{"POST", "/api/v1/ssh-keys", h_ssh_key_add, AUTH_ANY, BODY_REQUIRED, NULL},
	{"GET", "/api/v1/allocations", h_allocations, AUTH_ANY, BODY_NONE, P_ALLOC},
	{"POST", "/api/v1/allocations", h_allocation_create, AUTH_ANY, BODY_REQUIRED, NULL},
	{"GET", "/api/v1/allocations/{id}", h_allocation, AUTH_ANY, BODY_NONE, NULL},
	{"POST", "/api/v1/allocations/{id}/release", h_release, AUTH_ANY, BODY_OPTIONAL, NULL},
	{"POST", "/api/v1/allocations/{id}/restart", h_restart, AUTH_ANY, BODY_OPTIONAL, NULL},
	{"POST", "/api/v1/allocations/{id}/terminal-token", h_terminal_token, AUTH_ANY, BODY_OPTIONAL, NULL},
	{"GET", "/api/v1/tasks/{id}", h_task, AUTH_ANY, BODY_NONE, NULL},
	{"GET", "/api/v1/events", h_events, AUTH_ANY, BODY_NONE, P_EVENTS},
	{"GET", "/api/v1/events/stream", h_needs_upgrade, AUTH_ANY, BODY_NONE, P_EVENTS},
	{"GET", "/api/v1/nodes", h_nodes, AUTH_ANY, BODY_NONE, P_PAGE},
	{"GET", "/api/v1/nodes/{id}", h_node, AUTH_ANY, BODY_NONE, NULL},
	{"GET", "/api/v1/admin/allocations", h_admin_allocations, AUTH_ADMIN, BODY_NONE, P_ALLOC},
	{"POST", "/api/v1/admin/allocations/{id}/force-release", h_force_release, AUTH_ADMIN, BODY_OPTIONAL, NULL},
	{"POST", "/api/v1/admin/nodes/{id}/scheduling", h_node_scheduling, AUTH_ADMIN, BODY_REQUIRED, NULL},
	{"GET", "/api/v1/admin/audit-logs", h_audit_logs, AUTH_AUDIT, BODY_NONE, P_PAGE},
	{"POST", "/api/v1/admin/faults", h_faults, AUTH_ADMIN, BODY_REQUIRED, NULL},
	{"GET", "/api/v1/terminal", h_needs_upgrade, AUTH_ANY, BODY_NONE, NULL},
};

/* --- matching ------------------------------------------------------------ */

typedef enum { MATCH_NO, MATCH_YES, MATCH_BAD_ID } Match;

/* Segment by segment; "{id}" takes one segment, copied into id. */
static Match match_path(const char *pattern, const char *path, char *id, size_t idsz)
{
	const char *p = pattern, *s = path;
	bool bad_id = false;
	while (*p && *s) {
		if (strncmp(p, "{id}", 4) == 0) {
			const char *end = strchr(s, '/');
			size_t n = end ? (size_t)(end - s) : strlen(s);
			if (n == 0)
				return MATCH_NO;
			if (n >= idsz) {
				bad_id = true;
				id[0] = '\0';
			} else {
				memcpy(id, s, n);
				id[n] = '\0';
				if (!routes_id_valid(id))
					bad_id = true;
			}
			p += 4;
			s += n;
			continue;
		}
		if (*p != *s)
			return MATCH_NO;
		p++;
		s++;
	}
	if (*p || *s)
		return MATCH_NO;
	return bad_id ? MATCH_BAD_ID : MATCH_YES;
}

/* --- rate limiting ---------------------------------------------------------- */

static uint64_t token_key(const char *token)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a: a bucket key, not a credential */
	for (const unsigned char *p = (const unsigned char *)token; *p; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}
	return h;
}

/* True if the request may go; else *retry_after_s says when the next one will. */
static bool rate_take(Routes *r, const char *token, int *retry_after_s)
{
	if (r->rate <= 0)
		return true;
	uint64_t key = token_key(token);
	int64_t now = qd_mono_ms();
	Bucket *b = NULL;
	for (int i = 0; i < r->nbuckets; i++)
		if (r->buckets[i].key == key) {
			b = &r->buckets[i];
			break;
		}
	if (!b) {
		if (r->nbuckets < BUCKETS_MAX) {
			b = &r->buckets[r->nbuckets++];
		} else {
			/* Reuse the longest-idle bucket: its owner has had time to refill anyway. */
			b = &r->buckets[0];
			for (int i = 1; i < r->nbuckets; i++)
				if (r->buckets[i].last_ms < b->last_ms)
					b = &r->buckets[i];
		}
		b->key = key;
		b->tokens = r->burst;
		b->last_ms = now;
	}
	b->tokens += (double)(now - b->last_ms) * r->rate / 1000.0;
	if (b->tokens > r->burst)
		b->tokens = r->burst;
	b->last_ms = now;
	if (b->tokens >= 1.0) {
		b->tokens -= 1.0;
		return true;
	}
	double wait_s = (1.0 - b->tokens) / r->rate;
	*retry_after_s = (int)wait_s + 1;
	return false;
}

/* --- auth -------------------------------------------------------------------- */

/* Extracts the token from "Bearer <token>"; NULL when the header is unusable. */
static const char *bearer_token(const char *authorization)
{
	if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
		return NULL;
	const char *t = authorization + 7;
	while (*t == ' ')
		t++;
	size_t n = strlen(t);
	while (n > 0 && t[n - 1] == ' ')
		n--;
	if (n == 0 || n > TOKEN_MAX_LEN || t[n] != '\0')
		return NULL;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)t[i] <= ' ' || (unsigned char)t[i] >= 0x7f)
			return NULL;
	return t;
}

bool routes_authenticate(Routes *r, const char *authorization, Principal *out)
{
	const char *t = bearer_token(authorization);
	memset(out, 0, sizeof *out);
	return t && db_authenticate(r->db, t, out);
}

/* --- the request ------------------------------------------------------------ */

static void out_value(JsonOut *o, json_t *j)
{
	char num[40];
	switch (json_typeof(j)) {
	case JSON_OBJECT: {
		const char *k;
		json_t *v;
		bool first = true;
		jsonout_raw(o, "{", 1);
		json_object_foreach(j, k, v) {
			if (!first)
				jsonout_raw(o, ",", 1);
			first = false;
			jsonout_string(o, k, strlen(k));
			jsonout_raw(o, ":", 1);
			out_value(o, v);
		}
		jsonout_raw(o, "}", 1);
		break;
	}
	case JSON_ARRAY: {
		size_t i;
		json_t *v;
		jsonout_raw(o, "[", 1);
		json_array_foreach(j, i, v) {
			if (i)
				jsonout_raw(o, ",", 1);
			out_value(o, v);
		}
		jsonout_raw(o, "]", 1);
		break;
	}
	case JSON_STRING:
		jsonout_string(o, json_string_value(j), json_string_length(j));
		break;
	case JSON_INTEGER:
		jsonout_raw(o, num, (size_t)snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(j)));
		break;
	case JSON_REAL: {
		int n = snprintf(num, sizeof num, "%.17g", json_real_value(j));
		if (!strpbrk(num, ".eE"))
			n += snprintf(num + n, sizeof num - (size_t)n, ".0");
		jsonout_raw(o, num, (size_t)n);
		break;
	}
	case JSON_TRUE:
		jsonout_raw(o, "true", 4);
		break;
	case JSON_FALSE:
		jsonout_raw(o, "false", 5);
		break;
	case JSON_NULL:
		jsonout_raw(o, "null", 4);
		break;
	}
}

/* The buffer starts at the size of the largest answer so far (a 500-row page
 * is ~0.5 MB) so a page is written without regrowing. */
static void respond_json(Routes *r, RouteResponse *resp, int status, json_t *j)
{
	JsonOut o;
	jsonout_init(&o, r->dump_hint);
	out_value(&o, j);
	jsonout_raw(&o, "", 1); /* NUL, not counted */
	o.len--;
	if (o.cap > r->dump_hint)
		r->dump_hint = o.cap;
	resp->status = status;
	resp->body = o.p;
	resp->body_len = o.len;
}

static void respond_error(RouteResponse *resp, const ApiError *e, const char *request_id)
{
	resp->status = e->status >= 400 && e->status <= 599 ? e->status : 500;
	resp->retry_after_s = e->retry_after_s;
	resp->body = routes_error_json(e, request_id);
	resp->body_len = strlen(resp->body);
}

static const char *allowed_methods(const char *path)
{
	static char buf[64];
	char id[72];
	buf[0] = '\0';
	for (size_t i = 0; i < QD_ARRAY_LEN(ROUTES); i++)
		if (match_path(ROUTES[i].pattern, path, id, sizeof id) != MATCH_NO &&
		    !strstr(buf, ROUTES[i].method)) {
			if (buf[0])
				qd_strlcpy(buf + strlen(buf), ", ", sizeof buf - strlen(buf));
			qd_strlcpy(buf + strlen(buf), ROUTES[i].method, sizeof buf - strlen(buf));
		}
	return buf;
}

static bool parse_body(Ctx *c, int mode, ApiError *err)
{
	const RouteRequest *req = c->req;
	bool empty = !req->body || req->body_len == 0;
	if (mode == BODY_NONE || (mode == BODY_OPTIONAL && empty))
		return true;
	if (empty) {
		set_err(err, 400, "invalid_json", "send a JSON object with Content-Type: application/json",
		        "this endpoint needs a JSON object body");
		return false;
	}
	json_error_t je;
	json_t *j = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		char q[96];
		set_err(err, 400, "invalid_json", "send a JSON object, e.g. {\"name\": \"...\"}",
		        "request body is not valid JSON (line %d, column %d): %s", je.line, je.column,
		        quote(je.text, q, sizeof q));
		return false;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		set_err(err, 400, "invalid_json", "wrap the fields in a JSON object: {...}",
		        "request body must be a JSON object");
		return false;
	}
	c->body = j;
	return true;
}

void routes_handle(Routes *r, const RouteRequest *req, RouteResponse *resp)
{
	ApiError err;
	Ctx c;
	const Route *route = NULL;
	bool path_known = false, bad_id = false;
	char q[96];

	memset(resp, 0, sizeof *resp);
	memset(&err, 0, sizeof err);
	memset(&c, 0, sizeof c);
	c.r = r;
	c.req = req;
	c.status = 200;

	for (size_t i = 0; i < QD_ARRAY_LEN(ROUTES); i++) {
		char id[72] = "";
		Match m = match_path(ROUTES[i].pattern, req->path, id, sizeof id);
		if (m == MATCH_NO)
			continue;
		path_known = true;
		if (strcmp(ROUTES[i].method, req->method) == 0) {
			route = &ROUTES[i];
			bad_id = m == MATCH_BAD_ID;
			qd_strlcpy(c.id, id, sizeof c.id);
			break;
		}
	}
	if (!route) {
		if (path_known) {
			set_err(&err, 405, "method_not_allowed", "see docs/api/openapi.yaml",
			        "%s is not allowed on %s", req->method, quote(req->path, q, sizeof q));
			resp->allow = allowed_methods(req->path);
		} else {
			set_err(&err, 404, "not_found", "see docs/api/openapi.yaml for the paths this server has",
			        "no such endpoint: %s", quote(req->path, q, sizeof q));
		}
		respond_error(resp, &err, req->request_id);
		return;
	}
	if (req->body_too_large) {
		set_err(&err, 413, "body_too_large", "send a smaller request",
		        "request body is larger than %d bytes", QD_MAX_BODY_BYTES);
		respond_error(resp, &err, req->request_id);
		return;
	}
	if (route->auth != AUTH_NONE) {
		const char *token = bearer_token(req->authorization);
		if (!token || !db_authenticate(r->db, token, &c.p)) {
			set_err(&err, 401, "unauthorized", "create one with: qdeckd token create --user NAME",
			        req->authorization ? "the bearer token is not valid"
			                           : "missing Authorization: Bearer <token> header");
			respond_error(resp, &err, req->request_id);
			return;
		}
		qd_strlcpy(resp->user, c.p.user_name, sizeof resp->user);
		int retry = 0;
		if (!rate_take(r, token, &retry)) {
			set_err(&err, 429, "rate_limited", "slow down and retry after the Retry-After seconds",
			        "too many requests for this token");
			err.retry_after_s = retry;
			respond_error(resp, &err, req->request_id);
			return;
		}
		if ((route->auth == AUTH_ADMIN && !c.p.is_admin) ||
		    (route->auth == AUTH_AUDIT && !c.p.is_admin && !c.p.is_billing)) {
			set_err(&err, 403, "forbidden", "ask an administrator to do this",
			        route->auth == AUTH_ADMIN ? "this endpoint needs the admin role"
			                                  : "this endpoint needs the admin or billing_operator role");
			respond_error(resp, &err, req->request_id);
			return;
		}
	}
	if (bad_id) {
		set_err(&err, 404, "not_found", "ids are 1-64 letters, digits, '_' or '-'",
		        "'%s' is not a valid id", quote(c.id, q, sizeof q));
		respond_error(resp, &err, req->request_id);
		return;
	}
	if (!query_check(req, route->params, &err) || !parse_body(&c, route->body, &err)) {
		respond_error(resp, &err, req->request_id);
		return;
	}

	json_t *j = route->handler(&c, &err);
	if (j) {
		respond_json(r, resp, c.status, j);
		json_decref(j);
	} else if (c.text) {
		resp->status = c.status;
		resp->body = c.text;
		resp->body_len = c.text_len;
	} else {
		if (err.status == 0)
			set_err(&err, 500, "internal", "retry; if it persists, see the server log",
			        "the server could not complete the request");
		respond_error(resp, &err, req->request_id);
	}
	json_decref(c.body);
}

void route_response_done(RouteResponse *resp)
{
	free(resp->body);
	resp->body = NULL;
}

Routes *routes_new(Db *db, Reconciler *rec, double rate, double burst)
{
	Routes *r = xcalloc(1, sizeof *r);
	r->db = db;
	r->rec = rec;
	r->rate = rate;
	r->burst = burst < 1 ? 1 : burst;
	r->buckets = xcalloc(BUCKETS_MAX, sizeof *r->buckets);
	r->dump_hint = 16 * 1024;
	return r;
}

void routes_set_base_url(Routes *r, const char *base_url)
{
	free(r->base_url);
	r->base_url = base_url ? xstrdup(base_url) : NULL;
}

void routes_free(Routes **rp)
{
	Routes *r = *rp;
	if (!r)
		return;
	free(r->buckets);
	free(r->base_url);
	free(r);
	*rp = NULL;
}

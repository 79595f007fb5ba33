/* Integration test for net/session against a real qdeckd on loopback:
 * load to LIVE, see a release arrive through the event stream, lose the server,
 * see RECONNECTING, restart it on the same database and port, and check the
 * stream resumed with nothing missed (every version matches a fresh read) and
 * nothing applied twice (the applied event id never goes backwards).
 *
 * qdeckd comes from $QDECKD_BIN, else bin/qdeckd next to this build's tests
 * (../bin/qdeckd), else ./bin/qdeckd; the test is skipped when none exists.
 * All waits are bounded by generous deadlines; nothing asserts on timing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <dirent.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <sys/stat.h>

#include "common/util.h"
#include "net/events.h"
#include "net/session.h"

#define DEADLINE_MS 60000

static char qdeckd[PATH_MAX];
static char dir[256];
static char db[300], portfile[300], logpath[300];

static bool find_qdeckd(void)
{
	const char *env = getenv("QDECKD_BIN");
	if (env && access(env, X_OK) == 0) {
		snprintf(qdeckd, sizeof qdeckd, "%s", env);
		return true;
	}
	char self[PATH_MAX - 32];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			snprintf(qdeckd, sizeof qdeckd, "%s/../bin/qdeckd", self);
			if (access(qdeckd, X_OK) == 0)
				return true;
		}
	}
	snprintf(qdeckd, sizeof qdeckd, "bin/qdeckd");
	return access(qdeckd, X_OK) == 0;
}

static const char *extra_flag, *extra_value; /* one more qdeckd flag, e.g. --rate 0.5 */

/* Starts qdeckd; listen is "127.0.0.1:0" or a fixed port. */
static pid_t start_qdeckd(const char *listen)
{
	unlink(portfile);
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(qdeckd, qdeckd, "--db", db, "--seed", "demo", "--speed", "50", "--listen", listen,
		      "--port-file", portfile, extra_flag, extra_value, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* Waits (bounded) for the port file; 0 if it never came. */
static int wait_port(pid_t pid)
{
	for (int i = 0; i < 1500; i++) {
		FILE *f = fopen(portfile, "r");
		if (f) {
			int port = 0;
			int ok = fscanf(f, "%d", &port);
			fclose(f);
			if (ok == 1 && port > 0)
				return port;
		}
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return 0;
		usleep(20000);
	}
	return 0;
}

/* `qdeckd --db DB token create --user USER`, the token read from stdout. */
static char *mint_token(const char *user)
{
	int p[2];
	if (pipe(p) < 0)
		return NULL;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execl(qdeckd, qdeckd, "--db", db, "token", "create", "--user", user, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	char buf[1024];
	size_t len = 0;
	ssize_t n;
	while (len < sizeof buf - 1 && (n = read(p[0], buf + len, sizeof buf - 1 - len)) > 0)
		len += (size_t)n;
	close(p[0]);
	int status = 0;
	waitpid(pid, &status, 0);
	buf[len] = '\0';
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		buf[--len] = '\0';
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 && len ? xstrdup(buf) : NULL;
}

typedef struct {
	uv_loop_t *loop;
	Store *store;
	Session *session;
	int64_t max_applied;  /* highest last_event_id seen by the listener */
	bool went_back;       /* the applied id ever decreased */
	int states_seen[SESSION_ERROR + 1];
	/* request results */
	const char *url, *token;
	json_t *body;
} Ctx;

static void on_store(void *ud, StoreKind kind, const char *id)
{
	Ctx *c = ud;
	int64_t last = store_last_event_id(c->store);
	(void)kind;
	(void)id;
	if (last < c->max_applied && last != 0)
		c->went_back = true;
	if (last > c->max_applied)
		c->max_applied = last;
}

static void on_session(void *ud, SessionState st, const char *msg)
{
	Ctx *c = ud;
	(void)msg;
	if ((int)st >= 0 && st <= SESSION_ERROR)
		c->states_seen[st]++;
}

static void on_tick(uv_timer_t *t)
{
	(void)t; /* only wakes uv_run(ONCE) so the deadline is checked */
}

/* Runs the loop until pred holds or the (generous) deadline passes. */
static bool run_until(Ctx *c, bool (*pred)(Ctx *, const void *), const void *arg)
{
	int64_t end = qd_mono_ms() + DEADLINE_MS;
	uv_timer_t tick;
	uv_timer_init(c->loop, &tick);
	uv_timer_start(&tick, on_tick, 50, 50);
	bool ok = false;
	while (qd_mono_ms() < end) {
		if (pred(c, arg)) {
			ok = true;
			break;
		}
		uv_run(c->loop, UV_RUN_ONCE);
	}
	uv_close((uv_handle_t *)&tick, NULL);
	uv_run(c->loop, UV_RUN_NOWAIT);
	return ok;
}

static bool is_state(Ctx *c, const void *arg)
{
	return session_state(c->session) == *(const SessionState *)arg;
}

typedef struct {
	const char *id;
	AllocState not_state;
} AllocWait;

static bool alloc_left(Ctx *c, const void *arg)
{
	const AllocWait *w = arg;
	const Allocation *a = store_allocation(c->store, w->id);
	return a && a->state != w->not_state;
}

static bool alloc_is(Ctx *c, const void *arg)
{
	const AllocWait *w = arg; /* not_state used as "is" here */
	const Allocation *a = store_allocation(c->store, w->id);
	return a && a->state == w->not_state;
}

static size_t collect(char *p, size_t size, size_t n, void *ud)
{
	qdbuf_append(ud, p, size * n);
	return size * n;
}

/* The test's own checks use a plain blocking curl request (the session's loop
 * simply waits meanwhile); net/api's api_request is not called directly here
 * because tests/api/apitest.c exports a helper of the same name. */
static long request(Ctx *c, const char *method, const char *path, json_t *body)
{
	(void)body;
	CURL *e = curl_easy_init();
	assert_non_null(e);
	char url[1400];
	snprintf(url, sizeof url, "%s%s", c->url, path);
	QdBuf buf;
	qdbuf_init(&buf);
	char *auth = xasprintf("Authorization: Bearer %s", c->token);
	struct curl_slist *h = curl_slist_append(NULL, auth);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &buf);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, 30L);
	if (strcmp(method, "POST") == 0)
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, "{}");
	long status = 0;
	if (curl_easy_perform(e) == CURLE_OK)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	json_decref(c->body);
	c->body = buf.len ? json_loadb(buf.data, buf.len, 0, NULL) : NULL;
	qdbuf_done(&buf);
	curl_slist_free_all(h);
	free(auth);
	curl_easy_cleanup(e);
	return status;
}

static bool has_task(Ctx *c, const void *arg)
{
	return store_task(c->store, arg) != NULL;
}

static const char *find_active(Ctx *c, const char *skip)
{
	for (size_t i = 0; i < store_allocation_count(c->store); i++) {
		const Allocation *a = store_allocation_at(c->store, i);
		if (a->state == ALLOC_ACTIVE && (!skip || strcmp(a->id, skip) != 0))
			return a->id;
	}
	return NULL;
}

/* Every allocation the server has now matches the store's version: nothing was
 * missed. Retried a few times because the reconciler keeps moving things. */
static bool store_matches_server(Ctx *c)
{
	for (int attempt = 0; attempt < 20; attempt++) {
		bool all = true;
		size_t seen = 0;
		char path[1200] = "/api/v1/admin/allocations?limit=500";
		for (;;) {
			assert_int_equal(request(c, "GET", path, NULL), 200);
			json_t *items = json_object_get(c->body, "items");
			size_t i;
			json_t *it;
			json_array_foreach(items, i, it) {
				const char *id = json_string_value(json_object_get(it, "id"));
				json_int_t v = json_integer_value(json_object_get(it, "version"));
				const Allocation *a = store_allocation(c->store, id);
				seen++;
				if (!a || a->version != v)
					all = false;
			}
			json_t *next = json_object_get(c->body, "next_cursor");
			if (!json_is_string(next))
				break;
			char *e = api_escape(json_string_value(next));
			snprintf(path, sizeof path, "/api/v1/admin/allocations?limit=500&cursor=%s", e);
			free(e);
		}
		if (all && seen == store_allocation_count(c->store))
			return true;
		/* Let in-flight events land, then look again. */
		uv_timer_t t;
		uv_timer_init(c->loop, &t);
		int64_t until = qd_mono_ms() + 300;
		uv_timer_start(&t, on_tick, 50, 50);
		while (qd_mono_ms() < until)
			uv_run(c->loop, UV_RUN_ONCE);
		uv_close((uv_handle_t *)&t, NULL);
		uv_run(c->loop, UV_RUN_NOWAIT);
	}
	return false;
}

/* Events the server has with since < id <= until. */
static unsigned long long count_events(Ctx *c, int64_t since, int64_t until)
{
	unsigned long long n = 0;
	int64_t from = since;
	for (;;) {
		char path[128];
		snprintf(path, sizeof path, "/api/v1/events?since=%lld&limit=500", (long long)from);
		assert_int_equal(request(c, "GET", path, NULL), 200);
		json_t *items = json_object_get(c->body, "items");
		if (json_array_size(items) == 0)
			return n;
		size_t i;
		json_t *ev;
		json_array_foreach(items, i, ev) {
			int64_t id = json_integer_value(json_object_get(ev, "id"));
			if (id > until)
				return n;
			n++;
			from = id;
		}
	}
}

static pid_t live_pid;

static int live_teardown(void **state)
{
	(void)state;
	if (live_pid > 0) {
		kill(live_pid, SIGKILL);
		waitpid(live_pid, NULL, 0);
		live_pid = 0;
	}
	if (dir[0]) {
		char cmd[300];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		dir[0] = '\0';
		return system(cmd) == 0 ? 0 : -1;
	}
	return 0;
}

/* Skips the test when there is no qdeckd binary to run. */
static void need_qdeckd(void)
{
	if (!find_qdeckd()) {
		print_message("qdeckd not built: skipping (set QDECKD_BIN)\n");
		skip();
	}
}

/* A fresh temporary directory for the database, port file and log, and
 * qdeckd in it on a free loopback port, with `flag value` added when flag is
 * set. Returns the port; live_teardown stops the server and removes the
 * directory. */
static int live_start(const char *flag, const char *value)
{
	snprintf(dir, sizeof dir, "/tmp/qd-live-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(db, sizeof db, "%s/q.db", dir);
	snprintf(portfile, sizeof portfile, "%s/port", dir);
	snprintf(logpath, sizeof logpath, "%s/qdeckd.log", dir);
	extra_flag = flag;
	extra_value = value;
	live_pid = start_qdeckd("127.0.0.1:0");
	extra_flag = extra_value = NULL;
	assert_true(live_pid > 0);
	int port = wait_port(live_pid);
	if (!port)
		fail_msg("qdeckd did not start; see %s", logpath);
	return port;
}

static void test_live_resume(void **state)
{
	(void)state;
	need_qdeckd();
	int port = live_start(NULL, NULL);
	pid_t pid = live_pid;
	char *token = mint_token("ops");
	assert_non_null(token);

	uv_loop_t loop;
	uv_loop_init(&loop);
	Ctx c = {.loop = &loop, .token = token};
	c.store = store_new();
	store_listen(c.store, on_store, &c);
	char url[64];
	/* A host name, not a literal: the event stream looks it up off the loop
	 * (net/resolve.h) on every connect, including the reconnects below. */
	snprintf(url, sizeof url, "http://localhost:%d", port);
	c.url = url;
	SessionTarget target = {.api_url = url, .token = token};
	c.session = session_new(&loop, &target, c.store, on_session, &c);
	session_start(c.session);

	SessionState live = SESSION_LIVE, reconnecting = SESSION_RECONNECTING;
	if (!run_until(&c, is_state, &live))
		fail_msg("never LIVE: %s", session_message(c.session));
	assert_true(session_fully_loaded(c.session));
	int64_t live_from = store_last_event_id(c.store);
	unsigned long long applied_from = session_events_applied(c.session);
	assert_true(session_profile(c.session)->is_admin);
	assert_true(store_allocation_count(c.store) >= 60); /* the demo seed */
	assert_true(store_node_count(c.store) >= 20);

	/* A release made through the API arrives through the stream. */
	const char *first = find_active(&c, NULL);
	assert_non_null(first);
	char *id1 = xstrdup(first);
	char path[256];
	snprintf(path, sizeof path, "/api/v1/allocations/%s/release", id1);
	assert_int_equal(request(&c, "POST", path, NULL), 202);
	AllocWait w1 = {id1, ALLOC_ACTIVE};
	if (!run_until(&c, alloc_left, &w1))
		fail_msg("release of %s never arrived through the stream", id1);
	/* An explicit refresh brings the allocation's task into the store. */
	session_refresh_allocation(c.session, id1);
	const char *tid = store_allocation(c.store, id1)->task_id;
	assert_true(tid && tid[0]);
	char *task_id = xstrdup(tid);
	if (!run_until(&c, has_task, task_id))
		fail_msg("task %s never arrived after session_refresh_allocation", task_id);
	assert_string_equal(store_task(c.store, task_id)->allocation_id, id1);
	free(task_id);
	int64_t before_kill = store_last_event_id(c.store);
	assert_true(before_kill > 0);

	/* Lose the server. */
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	if (!run_until(&c, is_state, &reconnecting))
		fail_msg("never RECONNECTING after kill: %s", session_message(c.session));

	/* Same database, same port: the session comes back by itself. */
	char listen[32];
	snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
	pid = live_pid = start_qdeckd(listen);
	if (!wait_port(pid))
		fail_msg("qdeckd did not restart on port %d; see %s", port, logpath);
	if (!run_until(&c, is_state, &live))
		fail_msg("never LIVE again: %s", session_message(c.session));
	assert_true(store_last_event_id(c.store) >= before_kill);

	/* Events flow again after the resume. */
	const char *second = find_active(&c, id1);
	assert_non_null(second);
	char *id2 = xstrdup(second);
	snprintf(path, sizeof path, "/api/v1/allocations/%s/release", id2);
	assert_int_equal(request(&c, "POST", path, NULL), 202);
	AllocWait w2 = {id2, ALLOC_RELEASED};
	if (!run_until(&c, alloc_is, &w2))
		fail_msg("second release never reached released in the store");
	AllocWait w1done = {id1, ALLOC_RELEASED};
	assert_true(run_until(&c, alloc_is, &w1done));

	assert_true(store_matches_server(&c));
	/* ops is an admin and sees every event: what the stream applied between
	 * the first LIVE and now is exactly the server's events in that range —
	 * across the kill and the resume, none missed and none applied twice. */
	int64_t last = store_last_event_id(c.store);
	unsigned long long want = count_events(&c, live_from, last);
	assert_int_equal(session_events_applied(c.session) - applied_from, want);
	assert_false(c.went_back);
	assert_true(c.states_seen[SESSION_RECONNECTING] > 0);

	session_free(&c.session);
	store_free(&c.store);
	json_decref(c.body);
	uv_run(&loop, UV_RUN_DEFAULT); /* let closed handles finish */
	events_reap();
	assert_int_equal(uv_loop_close(&loop), 0);
	free(id1);
	free(id2);
	memset(token, 0, strlen(token));
	free(token);
}

/* 401 stops the session; 429 waits Retry-After and then goes on; a plain
 * user loads their own org through /allocations. */
static void test_refusals(void **state)
{
	(void)state;
	need_qdeckd();
	int port = live_start("--rate", "1"); /* burst 2: the third request of a load is refused */
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d", port);

	uv_loop_t loop;
	uv_loop_init(&loop);
	Ctx c = {.loop = &loop, .url = url};
	SessionState live = SESSION_LIVE, unauth = SESSION_UNAUTHORIZED;

	/* Unknown token: UNAUTHORIZED, and it stays there. */
	c.store = store_new();
	SessionTarget bad = {.api_url = url, .token = "qdt_wrong"};
	c.session = session_new(&loop, &bad, c.store, on_session, &c);
	session_start(c.session);
	if (!run_until(&c, is_state, &unauth))
		fail_msg("bad token never UNAUTHORIZED: %s", session_message(c.session));
	assert_non_null(strstr(session_message(c.session), "401"));
	assert_null(strstr(session_message(c.session), "qdt_wrong"));
	session_free(&c.session);
	store_free(&c.store);

	/* acme-dev: not an admin; rate limited on the way, then live. */
	char *dev = mint_token("acme-dev");
	assert_non_null(dev);
	memset(c.states_seen, 0, sizeof c.states_seen);
	c.store = store_new();
	SessionTarget t = {.api_url = url, .token = dev};
	c.session = session_new(&loop, &t, c.store, on_session, &c);
	session_start(c.session);
	if (!run_until(&c, is_state, &live))
		fail_msg("acme-dev never LIVE: %s", session_message(c.session));
	assert_true(c.states_seen[SESSION_RATE_LIMITED] > 0);
	assert_false(session_profile(c.session)->is_admin);
	assert_true(store_allocation_count(c.store) > 0);
	for (size_t i = 0; i < store_allocation_count(c.store); i++)
		assert_string_equal(store_allocation_at(c.store, i)->org_id, "org_acme");
	session_free(&c.session);
	store_free(&c.store);
	uv_run(&loop, UV_RUN_DEFAULT);
	events_reap();
	assert_int_equal(uv_loop_close(&loop), 0);
	free(dev);
}

/* ---- net/api against an in-process canned HTTP server on the same loop ---- */

typedef struct {
	uv_tcp_t tcp;
	QdBuf in;
	bool answered;
} Conn;

typedef struct {
	uv_loop_t *loop;
	uv_tcp_t server;
	int port;
	char last_auth[256];
	int connections;
} Canned;

static Canned canned;

static void conn_closed(uv_handle_t *h)
{
	Conn *c = h->data;
	qdbuf_done(&c->in);
	free(c);
}

static void write_done(uv_write_t *w, int status)
{
	(void)status;
	free(w->data);
	/* The client may have hung up first (it drops /big at 8 MiB): the read
	 * side then closed the handle already. */
	if (!uv_is_closing((uv_handle_t *)w->handle))
		uv_close((uv_handle_t *)w->handle, conn_closed);
	free(w);
}

static void respond(Conn *c, const char *head, const char *body, size_t blen)
{
	char *msg = xasprintf("%sContent-Length: %zu\r\nConnection: close\r\n\r\n", head, blen);
	size_t hl = strlen(msg);
	char *all = xmalloc(hl + blen);
	memcpy(all, msg, hl);
	memcpy(all + hl, body, blen);
	free(msg);
	uv_write_t *w = xcalloc(1, sizeof *w);
	w->data = all;
	uv_buf_t b = uv_buf_init(all, (unsigned)(hl + blen));
	uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, write_done);
}

static void conn_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
	(void)h;
	b->base = xmalloc(sz);
	b->len = sz;
}

static void conn_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *rb)
{
	Conn *c = st->data;
	if (nread > 0)
		qdbuf_append(&c->in, rb->base, (size_t)nread);
	free(rb->base);
	if (nread < 0) {
		if (!uv_is_closing((uv_handle_t *)st))
			uv_close((uv_handle_t *)st, conn_closed);
		return;
	}
	const char *req = qdbuf_cstr(&c->in);
	if (c->answered || !strstr(req, "\r\n\r\n"))
		return;
	c->answered = true;
	const char *auth = strcasestr(req, "\r\nAuthorization: ");
	if (auth) {
		auth += 2;
		size_t l = strcspn(auth, "\r");
		snprintf(canned.last_auth, sizeof canned.last_auth, "%.*s", (int)l, auth);
	}
	if (strncmp(req, "GET /ok ", 8) == 0) {
		respond(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n", "{\"a\": 1}", 8);
	} else if (strncmp(req, "GET /limited ", 13) == 0) {
		const char *b = "{\"error\": {\"code\": \"rate_limited\", \"message\": \"slow \\u001b[31m down\","
		                " \"suggestion\": \"wait\", \"request_id\": \"req_1\"}}";
		respond(c, "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\n", b, strlen(b));
	} else if (strncmp(req, "GET /plain500 ", 14) == 0) {
		respond(c, "HTTP/1.1 502 Bad Gateway\r\n", "<html>", 6);
	} else if (strncmp(req, "GET /notjson ", 13) == 0) {
		respond(c, "HTTP/1.1 200 OK\r\n", "hello", 5);
	} else if (strncmp(req, "GET /array ", 11) == 0) {
		respond(c, "HTTP/1.1 200 OK\r\n", "[1,2]", 5);
	} else if (strncmp(req, "GET /big ", 9) == 0) {
		size_t n = 9u * 1024 * 1024;
		char *big = xmalloc(n);
		memset(big, ' ', n);
		big[0] = '{';
		big[n - 1] = '}';
		respond(c, "HTTP/1.1 200 OK\r\n", big, n);
		free(big);
	}
	/* anything else (/slow) never gets an answer */
}

static void on_conn(uv_stream_t *server, int status)
{
	if (status < 0)
		return;
	Conn *c = xcalloc(1, sizeof *c);
	qdbuf_init(&c->in);
	uv_tcp_init(canned.loop, &c->tcp);
	c->tcp.data = c;
	if (uv_accept(server, (uv_stream_t *)&c->tcp) == 0) {
		canned.connections++;
		uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, conn_read);
	} else {
		uv_close((uv_handle_t *)&c->tcp, conn_closed);
	}
}

static void canned_start(uv_loop_t *loop)
{
	memset(&canned, 0, sizeof canned);
	canned.loop = loop;
	uv_tcp_init(loop, &canned.server);
	struct sockaddr_in a;
	uv_ip4_addr("127.0.0.1", 0, &a);
	assert_int_equal(uv_tcp_bind(&canned.server, (const struct sockaddr *)&a, 0), 0);
	assert_int_equal(uv_listen((uv_stream_t *)&canned.server, 16, on_conn), 0);
	struct sockaddr_in got;
	int len = sizeof got;
	uv_tcp_getsockname(&canned.server, (struct sockaddr *)&got, &len);
	canned.port = ntohs(got.sin_port);
}

typedef struct {
	int calls;
	ApiOutcome outcome;
	long status;
	char msg[256], code[64];
	int retry_after;
	bool had_body;
} Got;

static void on_got(void *ud, const ApiResponse *r)
{
	Got *g = ud;
	g->calls++;
	g->outcome = r->outcome;
	g->status = r->status;
	snprintf(g->msg, sizeof g->msg, "%s", r->err_message);
	snprintf(g->code, sizeof g->code, "%s", r->err_code);
	g->retry_after = r->retry_after_s;
	g->had_body = r->outcome == API_OK && json_is_object(r->body);
}

static bool all_called(Ctx *c, const void *arg)
{
	(void)c;
	const Got *g = arg;
	for (int i = 0; i < 7; i++)
		if (g[i].calls == 0)
			return false;
	return true;
}

static void test_api_outcomes(void **state)
{
	(void)state;
	uv_loop_t loop;
	uv_loop_init(&loop);
	canned_start(&loop);
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d", canned.port);
	ApiConfig cfg = {.base_url = url, .token = "tok-123"};
	Api *api = api_new(&loop, &cfg);

	Got g[8];
	memset(g, 0, sizeof g);
	const char *paths[] = {"/ok", "/limited", "/plain500", "/notjson", "/array", "/big"};
	for (int i = 0; i < 6; i++)
		assert_non_null(api_request(api, "GET", paths[i], NULL, on_got, &g[i]));
	/* A refused connection: a port nobody listens on (the canned one, closed below). */
	uv_tcp_t probe;
	uv_tcp_init(&loop, &probe);
	struct sockaddr_in a;
	uv_ip4_addr("127.0.0.1", 0, &a);
	uv_tcp_bind(&probe, (const struct sockaddr *)&a, 0);
	struct sockaddr_in got;
	int len = sizeof got;
	uv_tcp_getsockname(&probe, (struct sockaddr *)&got, &len);
	char dead[64];
	snprintf(dead, sizeof dead, "http://127.0.0.1:%d", ntohs(got.sin_port));
	ApiConfig dcfg = {.base_url = dead};
	Api *dapi = api_new(&loop, &dcfg);
	api_request(dapi, "GET", "/x", NULL, on_got, &g[6]);
	assert_int_equal(api_in_flight(api), 6);

	/* Cancel: the callback runs once, right away, and never again. */
	ApiRequest *slow = api_request(api, "GET", "/slow", NULL, on_got, &g[7]);
	api_cancel(slow);
	assert_int_equal(g[7].calls, 1);
	assert_int_equal(g[7].outcome, API_CANCELLED);

	Ctx c = {.loop = &loop};
	assert_true(run_until(&c, all_called, g));

	assert_int_equal(g[0].outcome, API_OK);
	assert_true(g[0].had_body);
	assert_int_equal(g[0].status, 200);
	assert_string_equal(canned.last_auth[0] ? "seen" : "", "seen");
	assert_string_equal(canned.last_auth, "Authorization: Bearer tok-123");

	assert_int_equal(g[1].outcome, API_HTTP_ERROR);
	assert_int_equal(g[1].status, 429);
	assert_int_equal(g[1].retry_after, 7);
	assert_string_equal(g[1].code, "rate_limited");
	assert_string_equal(g[1].msg, "slow ^[[31m down"); /* sanitized */

	assert_int_equal(g[2].outcome, API_HTTP_ERROR);
	assert_string_equal(g[2].msg, "HTTP 502");
	assert_int_equal(g[3].outcome, API_BAD_RESPONSE);
	assert_int_equal(g[4].outcome, API_BAD_RESPONSE);
	assert_int_equal(g[5].outcome, API_BAD_RESPONSE);
	assert_string_equal(g[5].msg, "response larger than 8 MiB");
	assert_int_equal(g[6].outcome, API_TRANSPORT);
	assert_true(g[6].msg[0] != '\0');
	for (int i = 0; i < 8; i++)
		assert_int_equal(g[i].calls, 1);
	assert_int_equal(api_in_flight(api), 0);

	/* api_free cancels what is pending, once. */
	Got pending = {0};
	api_request(api, "GET", "/slow", NULL, on_got, &pending);
	api_free(&api);
	assert_null(api);
	assert_int_equal(pending.calls, 1);
	assert_int_equal(pending.outcome, API_CANCELLED);
	api_free(&dapi);

	char *e = api_escape("a b/c?d=é");
	assert_string_equal(e, "a%20b%2Fc%3Fd%3D%C3%A9");
	free(e);

	uv_close((uv_handle_t *)&probe, NULL);
	uv_close((uv_handle_t *)&canned.server, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
}

/* ---- net/events against an in-process minimal WebSocket server ---- */

typedef struct {
	uv_tcp_t tcp;
	QdBuf in;
	bool upgraded;
} WsConn;

static struct {
	uv_tcp_t server;
	int port;
	char request[2048];   /* the last handshake, for header checks */
} ws;

static void ws_closed(uv_handle_t *h)
{
	WsConn *c = h->data;
	qdbuf_done(&c->in);
	free(c);
}

static void ws_written(uv_write_t *w, int status)
{
	(void)status;
	free(w->data);
	free(w);
}

static void ws_send_raw(WsConn *c, const void *p, size_t n)
{
	uv_write_t *w = xcalloc(1, sizeof *w);
	w->data = xmalloc(n ? n : 1);
	memcpy(w->data, p, n);
	uv_buf_t b = uv_buf_init(w->data, (unsigned)n);
	uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, ws_written);
}

static void ws_frame(WsConn *c, int opcode, bool fin, const void *p, size_t n)
{
	unsigned char h[10];
	size_t hl = 2;
	h[0] = (unsigned char)((fin ? 0x80 : 0) | opcode);
	if (n < 126) {
		h[1] = (unsigned char)n;
	} else if (n < 65536) {
		h[1] = 126;
		h[2] = (unsigned char)(n >> 8);
		h[3] = (unsigned char)n;
		hl = 4;
	} else {
		h[1] = 127;
		for (int k = 0; k < 8; k++)
			h[2 + k] = (unsigned char)((uint64_t)n >> (56 - 8 * k));
		hl = 10;
	}
	QdBuf b;
	qdbuf_init(&b);
	qdbuf_append(&b, h, hl);
	qdbuf_append(&b, p, n);
	ws_send_raw(c, b.data, b.len);
	qdbuf_done(&b);
}

static void ws_accept_key(const char *key, char *out)
{
	char cat[128];
	snprintf(cat, sizeof cat, "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
	unsigned char sha[SHA_DIGEST_LENGTH];
	SHA1((const unsigned char *)cat, strlen(cat), sha);
	EVP_EncodeBlock((unsigned char *)out, sha, SHA_DIGEST_LENGTH);
}

static void ws_after_upgrade(WsConn *c, int mode)
{
	if (mode == 1) {
		/* One event in three fragments, then a second whole one, then close 1001. */
		const char *ev = "{\"id\": 43, \"type\": \"allocation.updated\", \"allocation\": null}";
		size_t n = strlen(ev);
		ws_frame(c, 0x1, false, ev, 10);
		ws_frame(c, 0x0, false, ev + 10, 20);
		ws_frame(c, 0x0, true, ev + 30, n - 30);
		const char *ev2 = "{\"id\": 44, \"type\": \"node.updated\", \"node\": null}";
		ws_frame(c, 0x1, true, ev2, strlen(ev2));
		unsigned char cl[] = {0x03, 0xE9, 'b', 'y', 'e'};
		ws_frame(c, 0x8, true, cl, sizeof cl);
	} else if (mode == 2) {
		size_t n = 600 * 1024;
		char *big = xmalloc(n);
		memset(big, ' ', n);
		big[0] = '{';
		ws_frame(c, 0x1, false, big, n);
		ws_frame(c, 0x0, true, big, n);
		free(big);
	}
}

static void ws_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *rb)
{
	WsConn *c = st->data;
	if (nread > 0 && !c->upgraded)
		qdbuf_append(&c->in, rb->base, (size_t)nread);
	free(rb->base);
	if (nread < 0) {
		if (!uv_is_closing((uv_handle_t *)st))
			uv_close((uv_handle_t *)st, ws_closed);
		return;
	}
	if (c->upgraded)
		return; /* client frames (pong, close) are not needed here */
	const char *req = qdbuf_cstr(&c->in);
	if (!strstr(req, "\r\n\r\n"))
		return;
	snprintf(ws.request, sizeof ws.request, "%s", req);
	c->upgraded = true;
	int mode = strstr(req, "since=1 ") ? 1 : strstr(req, "since=2 ") ? 2 : 3;
	if (mode == 3) {
		const char *r = "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
		ws_send_raw(c, r, strlen(r));
		return;
	}
	const char *k = strcasestr(req, "\r\nSec-WebSocket-Key: ");
	char key[64] = "", accept[64];
	if (k)
		sscanf(k + 21, "%63[^\r]", key);
	ws_accept_key(key, accept);
	char *resp = xasprintf("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	                       "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n"
	                       "Sec-WebSocket-Protocol: qd-events\r\n\r\n", accept);
	ws_send_raw(c, resp, strlen(resp));
	free(resp);
	ws_after_upgrade(c, mode);
}

static void ws_on_conn(uv_stream_t *server, int status)
{
	if (status < 0)
		return;
	WsConn *c = xcalloc(1, sizeof *c);
	qdbuf_init(&c->in);
	uv_tcp_init(server->loop, &c->tcp);
	c->tcp.data = c;
	if (uv_accept(server, (uv_stream_t *)&c->tcp) == 0)
		uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, ws_read);
	else
		uv_close((uv_handle_t *)&c->tcp, ws_closed);
}

typedef struct {
	int events;
	int64_t ids[8];
	int ups, downs;
	EventsStatus last;
	char msg[256];
} EvSeen;

static void ev_msg(void *ud, json_t *ev)
{
	EvSeen *e = ud;
	if (e->events < 8)
		e->ids[e->events] = json_integer_value(json_object_get(ev, "id"));
	e->events++;
}

static void ev_state(void *ud, const EventsStatus *st)
{
	EvSeen *e = ud;
	if (st->connected)
		e->ups++;
	else
		e->downs++;
	e->last = *st;
	snprintf(e->msg, sizeof e->msg, "%s", st->message);
	e->last.message = e->msg;
}

static bool ev_down(Ctx *c, const void *arg)
{
	(void)c;
	return ((const EvSeen *)arg)->downs > 0;
}

static void test_events_client(void **state)
{
	(void)state;
	uv_loop_t loop;
	uv_loop_init(&loop);
	memset(&ws, 0, sizeof ws);
	uv_tcp_init(&loop, &ws.server);
	struct sockaddr_in a;
	uv_ip4_addr("127.0.0.1", 0, &a);
	assert_int_equal(uv_tcp_bind(&ws.server, (const struct sockaddr *)&a, 0), 0);
	assert_int_equal(uv_listen((uv_stream_t *)&ws.server, 8, ws_on_conn), 0);
	struct sockaddr_in got;
	int len = sizeof got;
	uv_tcp_getsockname(&ws.server, (struct sockaddr *)&got, &len);
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d", ntohs(got.sin_port));

	EvSeen seen = {0};
	char err[256];
	EventsConfig cfg = {.base_url = url, .token = "tok-ws"};
	EventStream *es = events_new(&loop, &cfg, ev_msg, ev_state, &seen, err, sizeof err);
	assert_non_null(es);
	Ctx c = {.loop = &loop};

	/* Fragments reassembled, headers right, server close reported once with its code. */
	assert_int_equal(events_connect(es, 1, err, sizeof err), 0);
	assert_true(run_until(&c, ev_down, &seen));
	assert_non_null(strstr(ws.request, "GET /api/v1/events/stream?since=1 HTTP/1.1"));
	assert_non_null(strcasestr(ws.request, "\r\nAuthorization: Bearer tok-ws\r\n"));
	assert_non_null(strcasestr(ws.request, "\r\nSec-WebSocket-Protocol: qd-events\r\n"));
	assert_int_equal(seen.ups, 1);
	assert_int_equal(seen.events, 2);
	assert_int_equal(seen.ids[0], 43);
	assert_int_equal(seen.ids[1], 44);
	assert_int_equal(seen.downs, 1);
	assert_int_equal(seen.last.close_code, 1001);
	assert_non_null(strstr(seen.msg, "closed by server (1001: bye)"));
	assert_int_equal(events_received(es), 2);

	/* Oversized message: dropped with a clear reason, nothing delivered. */
	memset(&seen, 0, sizeof seen);
	assert_int_equal(events_connect(es, 2, err, sizeof err), 0);
	assert_true(run_until(&c, ev_down, &seen));
	assert_int_equal(seen.events, 0);
	assert_int_equal(seen.downs, 1);
	assert_non_null(strstr(seen.msg, "larger than 1 MiB"));

	/* Handshake refused: the HTTP status is reported. */
	memset(&seen, 0, sizeof seen);
	assert_int_equal(events_connect(es, 3, err, sizeof err), 0);
	assert_true(run_until(&c, ev_down, &seen));
	assert_int_equal(seen.ups, 0);
	assert_int_equal(seen.downs, 1);
	assert_int_equal(seen.last.http_status, 401);

	events_free(&es);
	assert_null(es);

	/* Nobody listening: one failure report. */
	uv_close((uv_handle_t *)&ws.server, NULL);
	uv_run(&loop, UV_RUN_NOWAIT);
	memset(&seen, 0, sizeof seen);
	es = events_new(&loop, &cfg, ev_msg, ev_state, &seen, err, sizeof err);
	assert_non_null(es);
	if (events_connect(es, 1, err, sizeof err) == 0)
		assert_true(run_until(&c, ev_down, &seen));
	else
		assert_true(err[0] != '\0');
	assert_true(seen.downs <= 1);
	assert_int_equal(seen.ups, 0);
	events_free(&es);

	uv_run(&loop, UV_RUN_DEFAULT);
	events_reap();
	assert_int_equal(uv_loop_close(&loop), 0);
}

/* ---- the local control plane: started on demand, token minted and cached ---- */

/* Pids of processes whose command line mentions `needle` (our temp socket). */
static int find_pids(const char *needle, pid_t *out, int max)
{
	int n = 0;
	DIR *d = opendir("/proc");
	if (!d)
		return 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < max) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (*end || pid <= 0)
			continue;
		char path[64], buf[4096];
		snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
		int fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		ssize_t len = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (len <= 0)
			continue;
		for (ssize_t k = 0; k < len; k++)
			if (!buf[k])
				buf[k] = ' ';
		buf[len] = '\0';
		if (strstr(buf, needle))
			out[n++] = (pid_t)pid;
	}
	closedir(d);
	return n;
}

static char local_root[64];

/* The detached qdeckd outlives a failed test: stop it and remove its tree. */
static int local_teardown(void **state)
{
	(void)state;
	if (!local_root[0])
		return 0;
	pid_t pids[8];
	int n = find_pids(local_root, pids, 8);
	for (int k = 0; k < n; k++)
		kill(pids[k], SIGTERM);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "sleep 0.3; rm -rf '%s'", local_root);
	int rc = system(cmd);
	local_root[0] = '\0';
	return rc == 0 ? 0 : -1;
}

static Session *local_session(Ctx *c, SessionTarget *t)
{
	char err[512];
	if (session_resolve_target(NULL, t, err, sizeof err) < 0)
		fail_msg("resolve: %s", err);
	assert_true(t->local);
	c->session = session_new(c->loop, t, c->store, on_session, c);
	session_start(c->session);
	return c->session;
}

static void test_local_plane(void **state)
{
	(void)state;
	need_qdeckd();
	char real[PATH_MAX];
	assert_non_null(realpath(qdeckd, real));
	setenv("QDECKD_BIN", real, 1);
	snprintf(local_root, sizeof local_root, "/tmp/qd-local-XXXXXX");
	assert_non_null(mkdtemp(local_root));
	const char *root = local_root;
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/run", root);
	mkdir(p, 0700);
	setenv("XDG_RUNTIME_DIR", p, 1);
	snprintf(p, sizeof p, "%s/state", root);
	setenv("XDG_STATE_HOME", p, 1);
	snprintf(p, sizeof p, "%s/config", root);
	setenv("XDG_CONFIG_HOME", p, 1);
	unsetenv("QDECK_API_URL");
	unsetenv("QDECK_TOKEN");

	uv_loop_t loop;
	uv_loop_init(&loop);
	Ctx c = {.loop = &loop};
	c.store = store_new();
	SessionState live = SESSION_LIVE;

	/* First console: nothing answers, so it starts qdeckd and mints a token. */
	SessionTarget t1;
	local_session(&c, &t1);
	assert_int_equal(session_state(c.session), SESSION_CONNECTING);
	assert_non_null(strstr(session_message(c.session), "local control plane"));
	if (!run_until(&c, is_state, &live))
		fail_msg("local session never LIVE: %s", session_message(c.session));
	assert_true(session_target(c.session)->started_local);
	assert_true(store_allocation_count(c.store) >= 60);
	char tokpath[PATH_MAX];
	snprintf(tokpath, sizeof tokpath, "%s/state/quarterdeck/local-token", root);
	struct stat st;
	assert_int_equal(stat(tokpath, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	session_free(&c.session);
	session_target_done(&t1);

	/* Second console: reuses the running qdeckd and the cached token. */
	store_free(&c.store);
	c.store = store_new();
	SessionTarget t2;
	local_session(&c, &t2);
	if (!run_until(&c, is_state, &live))
		fail_msg("second local session never LIVE: %s", session_message(c.session));
	assert_false(session_target(c.session)->started_local);
	session_free(&c.session);
	session_target_done(&t2);

	/* A stale cached token (401) is replaced by a freshly minted one. */
	FILE *f = fopen(tokpath, "w");
	assert_non_null(f);
	fputs("qdt_not_a_real_token\n", f);
	fclose(f);
	chmod(tokpath, 0600);
	store_free(&c.store);
	c.store = store_new();
	SessionTarget t3;
	local_session(&c, &t3);
	if (!run_until(&c, is_state, &live))
		fail_msg("session with a stale token never LIVE: %s", session_message(c.session));
	f = fopen(tokpath, "r");
	char line[600] = "";
	assert_non_null(fgets(line, sizeof line, f));
	fclose(f);
	assert_null(strstr(line, "qdt_not_a_real_token"));

	/* qdeckd dies under a live console: it is started again and the stream resumes. */
	pid_t pids[8];
	int n = find_pids(root, pids, 8);
	assert_true(n >= 1);
	for (int k = 0; k < n; k++)
		kill(pids[k], SIGKILL);
	SessionState reconnecting = SESSION_RECONNECTING;
	if (!run_until(&c, is_state, &reconnecting))
		fail_msg("never RECONNECTING after killing qdeckd: %s", session_message(c.session));
	if (!run_until(&c, is_state, &live))
		fail_msg("never LIVE after killing qdeckd: %s", session_message(c.session));
	assert_true(session_target(c.session)->started_local);
	session_free(&c.session);
	session_target_done(&t3);

	store_free(&c.store);
	uv_run(&loop, UV_RUN_DEFAULT);
	events_reap();
	assert_int_equal(uv_loop_close(&loop), 0);

	assert_true(find_pids(root, pids, 8) >= 1); /* the detached qdeckd started again */
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_api_outcomes),
		cmocka_unit_test(test_events_client),
		cmocka_unit_test_teardown(test_live_resume, live_teardown),
		cmocka_unit_test_teardown(test_refusals, live_teardown),
		cmocka_unit_test_teardown(test_local_plane, local_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The scriptable CLI against a real qdeckd: every verb runs the real qdeck
 * binary (QDECK_BIN, default bin/qdeck) as a child with QDECK_TOKEN in its
 * environment and --api pointing at a qdeckd on an ephemeral loopback port
 * (--speed 50, demo seed). Outcomes are checked through the exit code, the
 * output, and the API itself. Every child run is bounded (killed and failed
 * past RUN_BOUND_MS); nothing asserts on elapsed time. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/util.h"
#include "tests/api/fixture.h"

#define RUN_BOUND_MS 60000
#define MAX_ARGS 40

static ApiServer *const S = &apifx_srv;
static const char *const fake_token = "qd_cli_test_not_a_real_token_5f1e2d";

static const char *qdeck_bin(void)
{
	const char *b = getenv("QDECK_BIN");
	return b && *b ? b : "bin/qdeck";
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct {
	pid_t pid;
	int out_fd, err_fd;
	QdBuf out, err;
} Child;

/* Starts qdeck with --api base (NULL: none) and args; token goes into the
 * environment only (NULL: no QDECK_TOKEN at all). */
static void child_start(Child *ch, const char *token, const char *api, const char *const *args)
{
	const char *argv[MAX_ARGS + 4];
	int n = 0;
	argv[n++] = "qdeck";
	if (api) {
		argv[n++] = "--api";
		argv[n++] = api;
	}
	for (int i = 0; args[i] && n < MAX_ARGS; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	int po[2], pe[2];
	assert_int_equal(pipe(po), 0);
	assert_int_equal(pipe(pe), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int nf = open("/dev/null", O_RDONLY);
		if (nf >= 0)
			dup2(nf, 0);
		dup2(po[1], 1);
		dup2(pe[1], 2);
		close(po[0]);
		close(po[1]);
		close(pe[0]);
		close(pe[1]);
		/* Hermetic: no config file, token file or local control plane of the
		 * person running the tests is consulted. */
		setenv("XDG_CONFIG_HOME", S->dir, 1);
		setenv("XDG_STATE_HOME", S->dir, 1);
		setenv("XDG_RUNTIME_DIR", S->dir, 1);
		unsetenv("QDECK_API_URL");
		if (token)
			setenv("QDECK_TOKEN", token, 1);
		else
			unsetenv("QDECK_TOKEN");
		execv(qdeck_bin(), (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", qdeck_bin(), strerror(errno));
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	ch->pid = pid;
	ch->out_fd = po[0];
	ch->err_fd = pe[0];
	fcntl(ch->out_fd, F_SETFL, O_NONBLOCK);
	fcntl(ch->err_fd, F_SETFL, O_NONBLOCK);
	qdbuf_init(&ch->out);
	qdbuf_init(&ch->err);
}

/* Reads what is there, waiting up to wait_ms; false once both pipes are at EOF. */
static bool child_pump(Child *ch, int wait_ms)
{
	struct pollfd p[2] = { { ch->out_fd, POLLIN, 0 }, { ch->err_fd, POLLIN, 0 } };
	int n = 0;
	for (int i = 0; i < 2; i++)
		if (p[i].fd >= 0)
			n++;
	if (n == 0)
		return false;
	if (poll(p, 2, wait_ms) <= 0)
		return true;
	for (int i = 0; i < 2; i++) {
		if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		char buf[4096];
		ssize_t r = read(p[i].fd, buf, sizeof buf);
		if (r > 0) {
			qdbuf_append(i == 0 ? &ch->out : &ch->err, buf, (size_t)r);
		} else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
			close(p[i].fd);
			if (i == 0)
				ch->out_fd = -1;
			else
				ch->err_fd = -1;
		}
	}
	return true;
}

static void check_no_token(const char *text)
{
	const char *toks[] = { S->tok_acme, S->tok_globex, S->tok_ops, S->tok_billing, fake_token };
	for (size_t i = 0; i < QD_ARRAY_LEN(toks); i++)
		if (toks[i][0] && strstr(text, toks[i]))
			fail_msg("a token appeared in qdeck's output:\n%s", text);
}

/* Reads to EOF and reaps; the exit code. Fails (after SIGKILL) past the bound. */
static int child_finish(Child *ch)
{
	int64_t deadline = mono_ms() + RUN_BOUND_MS;
	while (child_pump(ch, 200))
		if (mono_ms() > deadline) {
			kill(ch->pid, SIGKILL);
			waitpid(ch->pid, NULL, 0);
			fail_msg("qdeck did not finish within %d ms; stdout:\n%s\nstderr:\n%s", RUN_BOUND_MS,
			         qdbuf_cstr(&ch->out), qdbuf_cstr(&ch->err));
		}
	int st = 0;
	assert_int_equal(waitpid(ch->pid, &st, 0), ch->pid);
	check_no_token(qdbuf_cstr(&ch->out));
	check_no_token(qdbuf_cstr(&ch->err));
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

typedef struct {
	int rc;
	char *out, *err;
} Run;

static void run_done(Run *r)
{
	free(r->out);
	free(r->err);
}

/* qdeck --api <base> ARGS... (NULL-terminated) with token in the environment. */
static Run run_api(const char *token, const char *api, ...)
{
	const char *args[MAX_ARGS + 1];
	int n = 0;
	va_list ap;
	va_start(ap, api);
	for (const char *a; (a = va_arg(ap, const char *)) && n < MAX_ARGS;)
		args[n++] = a;
	va_end(ap);
	args[n] = NULL;
	Child ch;
	child_start(&ch, token, api, args);
	Run r;
	r.rc = child_finish(&ch);
	r.out = xstrdup(qdbuf_cstr(&ch.out));
	r.err = xstrdup(qdbuf_cstr(&ch.err));
	qdbuf_done(&ch.out);
	qdbuf_done(&ch.err);
	return r;
}

#define RUN(token, ...) run_api(token, S->base, __VA_ARGS__, (const char *)NULL)

static void expect_rc(const Run *r, int want)
{
	if (r->rc != want)
		fail_msg("qdeck exited %d, want %d\nstdout:\n%s\nstderr:\n%s", r->rc, want, r->out, r->err);
}

/* --- API-side helpers --------------------------------------------------------- */

/* Ids of allocations the tests have already used up (released, restarted...). */
static char *used[64];
static int used_count;

static bool is_used(const char *id)
{
	for (int i = 0; i < used_count; i++)
		if (strcmp(used[i], id) == 0)
			return true;
	return false;
}

/* An allocation of `owner` in `state` (acme org) no other test has taken. */
static char *take(const char *token, const char *state, const char *owner)
{
	json_t *ids = apifx_alloc_ids(token, state, owner), *it;
	size_t i;
	char *id = NULL;
	json_array_foreach(ids, i, it) {
		if (!is_used(json_string_value(it))) {
			id = xstrdup(json_string_value(it));
			break;
		}
	}
	json_decref(ids);
	if (!id)
		fail_msg("the seed has no unused %s allocation", state);
	assert_true(used_count < (int)QD_ARRAY_LEN(used));
	used[used_count++] = xstrdup(id);
	return id;
}

static const char *state_of(const char *id, const char *token)
{
	static char st[32];
	char path[128];
	snprintf(path, sizeof path, "/api/v1/allocations/%s", id);
	json_t *j = apifx_get_ok(path, token);
	qd_strlcpy(st, json_string_value(json_object_get(j, "state")) ? json_string_value(json_object_get(j, "state")) : "",
	           sizeof st);
	json_decref(j);
	return st;
}

static long long newest_event_id(void)
{
	json_t *j = apifx_get_ok("/api/v1/images", S->tok_acme);
	json_t *n = json_object_get(j, "as_of_event_id");
	assert_true(json_is_integer(n));
	long long v = json_integer_value(n);
	json_decref(j);
	return v;
}

/* "task tk_..." out of a receipt line; heap string. */
static char *task_in(const char *text)
{
	const char *t = strstr(text, "tk_");
	assert_non_null(t);
	size_t n = strspn(t, "abcdefghijklmnopqrstuvwxyz0123456789_");
	return xstrndup(t, n);
}

/* The receipt's task exists on the server, for this allocation, of this kind. */
static void check_task(const char *task, const char *kind, const char *alloc)
{
	char path[128];
	snprintf(path, sizeof path, "/api/v1/tasks/%s", task);
	json_t *t = apifx_get_ok(path, S->tok_acme);
	assert_string_equal(json_string_value(json_object_get(t, "kind")), kind);
	assert_string_equal(json_string_value(json_object_get(t, "allocation_id")), alloc);
	json_decref(t);
}

/* --- setup ---------------------------------------------------------------------- */

static int teardown(void **state)
{
	for (int i = 0; i < used_count; i++)
		free(used[i]);
	used_count = 0;
	return apifx_teardown(state);
}

/* --- ls / show ------------------------------------------------------------------- */

static void test_ls_views(void **state)
{
	(void)state;
	char *released = take(S->tok_acme, "released", NULL);
	char *active = take(S->tok_acme, "active", NULL);

	Run r = RUN(S->tok_acme, "ls");
	expect_rc(&r, 0);
	assert_non_null(strstr(r.out, "ID"));
	assert_non_null(strstr(r.out, active));
	assert_null(strstr(r.out, released));
	assert_null(strstr(r.out, " released "));
	run_done(&r);

	r = RUN(S->tok_acme, "ls", "--all");
	expect_rc(&r, 0);
	assert_non_null(strstr(r.out, released));
	assert_non_null(strstr(r.out, active));
	run_done(&r);

	r = RUN(S->tok_acme, "ls", "--state", "released");
	expect_rc(&r, 0);
	assert_non_null(strstr(r.out, released));
	assert_null(strstr(r.out, active));
	/* Every data row is a released one. */
	int rows = 0;
	for (char *line = strchr(r.out, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
		rows++;
		char *end = strchr(line + 1, '\n');
		char save = end ? *end : 0;
		if (end)
			*end = 0;
		if (!strstr(line + 1, "released"))
			fail_msg("row without released: %s", line + 1);
		if (end)
			*end = save;
	}
	assert_true(rows >= 1);
	run_done(&r);

	r = RUN(S->tok_acme, "ls", "--json");
	expect_rc(&r, 0);
	json_error_t jerr;
	json_t *arr = json_loads(r.out, 0, &jerr);
	if (!arr)
		fail_msg("ls --json is not JSON: %s\n%s", jerr.text, r.out);
	assert_true(json_is_array(arr));
	assert_true(json_array_size(arr) > 0);
	bool saw_active = false;
	size_t i;
	json_t *it;
	json_array_foreach(arr, i, it) {
		const char *id = json_string_value(json_object_get(it, "id"));
		assert_non_null(id);
		assert_int_equal(strncmp(id, "al_", 3), 0);
		assert_string_not_equal(id, released);
		saw_active = saw_active || strcmp(id, active) == 0;
	}
	assert_true(saw_active);
	json_decref(arr);
	run_done(&r);
	free(released);
	free(active);
}

/* The server log's bytes from offset on; caller frees. */
static char *log_since(long offset)
{
	FILE *f = fopen(S->log, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long end = ftell(f);
	char *text = xcalloc(1, (size_t)(end > offset ? end - offset : 0) + 1);
	fseek(f, offset, SEEK_SET);
	size_t n = fread(text, 1, (size_t)(end > offset ? end - offset : 0), f);
	text[n] = '\0';
	fclose(f);
	return text;
}

static long log_size(void)
{
	struct stat st;
	return stat(S->log, &st) == 0 ? (long)st.st_size : 0;
}

static void test_show(void **state)
{
	(void)state;
	char *id = take(S->tok_acme, "active", NULL);
	long before = log_size();
	Run r = RUN(S->tok_acme, "show", id);
	expect_rc(&r, 0);
	assert_non_null(strstr(r.out, id));
	assert_non_null(strstr(r.out, "active"));
	assert_non_null(strstr(r.out, "ssh"));
	run_done(&r);
	/* A verb signs in and asks for what it needs: no fleet load, no stream. */
	char *log = log_since(before);
	assert_non_null(strstr(log, "GET /api/v1/me "));
	assert_non_null(strstr(log, id));
	assert_null(strstr(log, "GET /api/v1/allocations "));
	assert_null(strstr(log, "GET /api/v1/nodes "));
	assert_null(strstr(log, "/events/stream"));
	free(log);

	r = RUN(S->tok_acme, "show", id, "--json");
	expect_rc(&r, 0);
	json_t *j = json_loads(r.out, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "id")), id);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "active");
	json_decref(j);
	run_done(&r);
	free(id);
}

static void test_show_other_org(void **state)
{
	(void)state;
	char *theirs = take(S->tok_globex, "active", NULL);
	Run r = RUN(S->tok_acme, "show", theirs);
	expect_rc(&r, 1);
	assert_non_null(strcasestr(r.err, "not found"));
	assert_null(strstr(r.out, theirs));
	run_done(&r);
	free(theirs);
}

/* --- release / restart / force-release ------------------------------------------- */

static void test_release(void **state)
{
	(void)state;
	char *id = take(S->tok_acme, "active", "acme-dev");
	Run r = RUN(S->tok_acme, "release", id, "--yes");
	expect_rc(&r, 0);
	assert_non_null(strstr(r.out, "accepted"));
	char *task = task_in(r.out);
	run_done(&r);
	const char *st = state_of(id, S->tok_acme);
	if (strcmp(st, "releasing") != 0 && strcmp(st, "released") != 0)
		fail_msg("after release the allocation is %s", st);
	check_task(task, "release", id);
	free(task);

	apifx_wait_state(id, S->tok_acme, "released");
	r = RUN(S->tok_acme, "release", id, "--yes");
	expect_rc(&r, 1);
	/* The server's 409 and its message naming the current state. */
	assert_non_null(strstr(r.err, "409"));
	assert_non_null(strstr(r.err, "released"));
	run_done(&r);
	free(id);
}

static void test_restart(void **state)
{
	(void)state;
	char *id = take(S->tok_acme, "active", "acme-dev");
	Run r = RUN(S->tok_acme, "restart", id, "--yes");
	expect_rc(&r, 0);
	assert_non_null(strstr(r.out, "restart accepted"));
	char *task = task_in(r.out);
	check_task(task, "restart", id);
	free(task);
	run_done(&r);
	apifx_wait_state(id, S->tok_acme, "active,restart_failed");
	free(id);
}

static bool audit_has(const char *target, const char *reason)
{
	json_t *j = apifx_get_ok("/api/v1/admin/audit-logs?limit=500", S->tok_ops), *it;
	size_t i;
	bool found = false;
	json_array_foreach(json_object_get(j, "items"), i, it) {
		const char *t = json_string_value(json_object_get(it, "target_id"));
		const char *why = json_string_value(json_object_get(it, "reason"));
		const char *act = json_string_value(json_object_get(it, "action"));
		if (t && why && act && strcmp(t, target) == 0 && strcmp(why, reason) == 0 &&
		    strcmp(act, "allocation.force_release") == 0)
			found = true;
	}
	json_decref(j);
	return found;
}

static void test_force_release(void **state)
{
	(void)state;
	const char *reason = "cli test: storage detach confirmed by hand";
	char *id = take(S->tok_acme, "release_failed", "acme-dev");

	/* A plain user: the server's 403, nothing changes. */
	Run r = RUN(S->tok_acme, "force-release", id, "--reason", reason);
	expect_rc(&r, 1);
	assert_non_null(strstr(r.err, "403"));
	run_done(&r);
	assert_string_equal(state_of(id, S->tok_acme), "release_failed");
	assert_false(audit_has(id, reason));

	r = RUN(S->tok_ops, "force-release", id, "--reason", reason);
	expect_rc(&r, 0);
	assert_non_null(strstr(r.out, "force-release accepted"));
	run_done(&r);
	assert_true(audit_has(id, reason));
	apifx_wait_state(id, S->tok_acme, "released");
	free(id);
}

/* --- events ------------------------------------------------------------------------ */

static void test_events_since_json(void **state)
{
	(void)state;
	long long since = newest_event_id() - 5;
	if (since < 0)
		since = 0;
	char arg[32];
	snprintf(arg, sizeof arg, "%lld", since);
	Run r = RUN(S->tok_acme, "events", "--since", arg, "--json");
	expect_rc(&r, 0);
	int lines = 0;
	long long prev = since;
	for (char *save = NULL, *line = strtok_r(r.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *ev = json_loads(line, 0, NULL);
		if (!ev)
			fail_msg("events --json line is not JSON: %s", line);
		json_t *id = json_object_get(ev, "id");
		assert_true(json_is_integer(id));
		assert_true(json_integer_value(id) > prev);
		prev = json_integer_value(id);
		assert_non_null(json_string_value(json_object_get(ev, "type")));
		json_decref(ev);
		lines++;
	}
	assert_true(lines >= 1);
	run_done(&r);
}

/* Reads the child's stdout until a complete line contains all of `needles`
 * (NULL-terminated); fails past the bound. */
static void await_line(Child *ch, const char *const *needles)
{
	int64_t deadline = mono_ms() + RUN_BOUND_MS;
	for (;;) {
		const char *buf = qdbuf_cstr(&ch->out);
		for (const char *line = buf; *line;) {
			const char *nl = strchr(line, '\n');
			if (!nl)
				break;
			bool all = true;
			for (int i = 0; needles[i] && all; i++) {
				const char *hit = strstr(line, needles[i]);
				all = hit && hit < nl;
			}
			if (all)
				return;
			line = nl + 1;
		}
		if (!child_pump(ch, 200) || mono_ms() > deadline) {
			kill(ch->pid, SIGKILL);
			waitpid(ch->pid, NULL, 0);
			fail_msg("no line with %s came; stdout:\n%s\nstderr:\n%s", needles[0], buf,
			         qdbuf_cstr(&ch->err));
		}
	}
}

static void test_events_follow(void **state)
{
	(void)state;
	char *id = take(S->tok_acme, "active", "acme-dev");
	char since[32];
	snprintf(since, sizeof since, "%lld", newest_event_id());
	const char *args[] = { "events", "--since", since, "--follow", "--json", NULL };
	Child ch;
	child_start(&ch, S->tok_acme, S->base, args);

	/* Released through the API, not the CLI: the event has to come over the stream
	 * (or the backlog, if the release wins the race: --since covers both). */
	char path[128];
	snprintf(path, sizeof path, "/api/v1/allocations/%s/release", id);
	ApiResp resp;
	assert_int_equal(api_post(S, path, S->tok_acme, "{}", &resp), 0);
	assert_int_equal(resp.status, 202);
	api_resp_done(&resp);
	char want_id[64];
	snprintf(want_id, sizeof want_id, "\"allocation_id\":\"%s\"", id);
	const char *needles[] = { want_id, "\"type\":\"allocation.state_changed\"", "released", NULL };
	await_line(&ch, needles);

	kill(ch.pid, SIGTERM);
	int rc = child_finish(&ch);
	if (rc != 0)
		fail_msg("events --follow exited %d after SIGTERM; stderr:\n%s", rc, qdbuf_cstr(&ch.err));
	/* Every line it printed is one JSON event. */
	char *out = xstrdup(qdbuf_cstr(&ch.out));
	for (char *save = NULL, *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *ev = json_loads(line, 0, NULL);
		if (!ev)
			fail_msg("events --follow --json line is not JSON: %s", line);
		json_decref(ev);
	}
	free(out);
	qdbuf_done(&ch.out);
	qdbuf_done(&ch.err);
	free(id);
}

/* --- failures: auth, reachability, usage, secrets ------------------------------------ */

static void test_bad_token(void **state)
{
	(void)state;
	Run r = RUN(fake_token, "ls");
	expect_rc(&r, 4);
	assert_non_null(strstr(r.err, "token"));
	run_done(&r);
	r = RUN(NULL, "ls");
	expect_rc(&r, 4);
	run_done(&r);
}

static void test_unreachable(void **state)
{
	(void)state;
	/* A port that was free a moment ago and has nothing listening now. */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	socklen_t len = sizeof sa;
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d", ntohs(sa.sin_port));
	/* run_api bounds the run: hanging fails the test. */
	Run r = run_api(S->tok_acme, url, "ls", (const char *)NULL);
	expect_rc(&r, 3);
	assert_non_null(strstr(r.err, "cannot reach"));
	run_done(&r);
	r = run_api(S->tok_acme, url, "events", "--follow", (const char *)NULL);
	expect_rc(&r, 3);
	run_done(&r);
}

static void test_usage_errors(void **state)
{
	(void)state;
	static const char *const cases[][20] = {
		{ "show" },
		{ "frobnicate" },
		{ "ls", "--bogus" },
		{ "ls", "--state", "sideways" },
		{ "release" },
		{ "force-release", "al_x" },
		{ "events", "--since", "-1" },
		{ "events", "--wait" },
		{ "nodes", "extra" },
		{ "launch", "--name", "x" },
		{ "launch", "--name", "bad name", "--sku", "s", "--gpus", "1", "--image", "i" },
		{ "launch", "--name", "x", "--sku", "s", "--gpus", "0", "--image", "i", "--network", "n", "--key", "k" },
		{ "launch", "--name", "x", "--sku", "s", "--gpus", "1", "--image", "i", "--network", "n", "--key", "k",
		  "--storage", "data:big:/mnt" },
		{ "launch", "--name", "x", "--sku", "s", "--gpus", "1", "--image", "i", "--network", "n", "--key", "k",
		  "--runtime", "pytorch:" },
		{ "launch", "--name", "x", "--sku", "s", "--gpus", "1", "--image", "i", "--network", "n", "--key", "k",
		  "--runtime", ":2.4" },
	};
	for (size_t i = 0; i < QD_ARRAY_LEN(cases); i++) {
		const char *args[MAX_ARGS + 1];
		int n = 0;
		for (int k = 0; k < 20 && cases[i][k]; k++)
			args[n++] = cases[i][k];
		args[n] = NULL;
		Child ch;
		child_start(&ch, S->tok_acme, S->base, args);
		int rc = child_finish(&ch);
		if (rc != 2)
			fail_msg("case %zu (%s %s): exit %d, want 2; stderr:\n%s", i, args[0], args[1] ? args[1] : "", rc,
			         qdbuf_cstr(&ch.err));
		assert_true(qdbuf_cstr(&ch.err)[0] != '\0');
		qdbuf_done(&ch.out);
		qdbuf_done(&ch.err);
	}
	/* A token on the command line is refused, and not echoed back. */
	Run r = RUN(NULL, "--token", fake_token, "ls");
	expect_rc(&r, 2);
	run_done(&r);
}

/* Every run already passes check_no_token (child_finish); this one drives the
 * paths where a token is most likely to leak: refusals of that very token, an
 * unreachable server, the event stream's handshake, and --token on argv. */
static void test_no_token_in_output(void **state)
{
	(void)state;
	Run r = RUN(fake_token, "events", "--follow");
	expect_rc(&r, 4);
	check_no_token(r.out);
	check_no_token(r.err);
	run_done(&r);
	r = run_api(fake_token, "http://127.0.0.1:1", "ls", (const char *)NULL);
	expect_rc(&r, 3);
	check_no_token(r.err);
	run_done(&r);
	r = RUN(S->tok_acme, "force-release", "al_nope", "--reason", "x");
	expect_rc(&r, 1);
	check_no_token(r.err);
	run_done(&r);
	r = RUN(NULL, "--token", fake_token, "ls");
	expect_rc(&r, 2);
	check_no_token(r.err);
	run_done(&r);
}

/* --- launch ---------------------------------------------------------------------- */

static json_t *alloc_json(const char *id)
{
	char path[128];
	snprintf(path, sizeof path, "/api/v1/allocations/%s", id);
	return apifx_get_ok(path, S->tok_acme);
}

/* "allocation   al_..." out of launch's receipt; heap string. */
static char *alloc_in(const char *text)
{
	const char *t = strstr(text, "allocation ");
	assert_non_null(t);
	t = strstr(t, "al_");
	assert_non_null(t);
	return xstrndup(t, strspn(t, "abcdefghijklmnopqrstuvwxyz0123456789_"));
}

static void test_launch_by_names(void **state)
{
	(void)state;
	Run r = RUN(S->tok_acme, "launch", "--name", "cli-names-1", "--sku", "A100 80GB slice", "--gpus", "2",
	            "--image", "Ubuntu 22.04 + CUDA 12.4", "--network", "default", "--key", "laptop,key_acme_dev_ci",
	            "--storage", "data:100:/mnt/data", "--runtime", "pytorch");
	expect_rc(&r, 0);
	char *id = alloc_in(r.out);
	assert_non_null(strstr(r.out, "task"));
	assert_non_null(strstr(r.out, "$5.78/h")); /* 2 x $2.89 */
	char *task = task_in(r.out);
	check_task(task, "provision", id);
	free(task);
	run_done(&r);

	json_t *a = alloc_json(id);
	assert_string_equal(json_string_value(json_object_get(a, "name")), "cli-names-1");
	assert_string_equal(json_string_value(json_object_get(json_object_get(a, "sku"), "id")), "sku_a100_slice");
	assert_string_equal(json_string_value(json_object_get(json_object_get(a, "image"), "id")),
	                    "img_ubuntu2204_cuda124");
	assert_string_equal(json_string_value(json_object_get(json_object_get(a, "network"), "id")), "net_default");
	assert_int_equal(json_integer_value(json_object_get(a, "gpu_count")), 2);
	json_t *keys = json_object_get(a, "ssh_key_ids");
	assert_int_equal(json_array_size(keys), 2);
	assert_string_equal(json_string_value(json_array_get(keys, 0)), "key_acme_dev_laptop");
	assert_string_equal(json_string_value(json_array_get(keys, 1)), "key_acme_dev_ci");
	assert_string_equal(json_string_value(json_object_get(json_object_get(a, "runtime"), "bundle")), "pytorch");
	/* A bare bundle is its newest version. */
	assert_string_equal(json_string_value(json_object_get(json_object_get(a, "runtime"), "version")), "2.4");
	json_t *vol = json_array_get(json_object_get(a, "storage"), 0);
	assert_string_equal(json_string_value(json_object_get(vol, "mount_path")), "/mnt/data");
	assert_int_equal(json_integer_value(json_object_get(vol, "size_gb")), 100);
	json_decref(a);
	free(id);

	/* --json: the receipt as one JSON object. */
	r = RUN(S->tok_acme, "launch", "--name", "cli-json-1", "--sku", "sku_l40s_slice", "--gpus", "1", "--image",
	        "img_ngc_pytorch_2409", "--network", "acme-private", "--key", "ci-runner", "--json");
	expect_rc(&r, 0);
	json_t *rc = json_loads(r.out, 0, NULL);
	assert_non_null(rc);
	assert_string_equal(json_string_value(json_object_get(rc, "operation")), "allocation.create");
	assert_int_equal(strncmp(json_string_value(json_object_get(rc, "allocation_id")), "al_", 3), 0);
	json_decref(rc);
	run_done(&r);
}

static void test_launch_sold_out(void **state)
{
	(void)state;
	json_t *before = apifx_snapshot();
	Run r = RUN(S->tok_acme, "launch", "--name", "cli-soldout", "--sku", "L40S node", "--gpus", "8", "--image",
	            "img_ubuntu2204_cuda124", "--network", "default", "--key", "laptop");
	expect_rc(&r, 1);
	assert_non_null(strstr(r.err, "sold out"));
	assert_non_null(strstr(r.err, "pick another SKU")); /* the server's suggestion */
	assert_non_null(strstr(r.err, "sold_out"));
	run_done(&r);
	apifx_check_unchanged(before, "a refused launch");

	/* Another precheck: a GPU count the SKU does not offer. */
	r = RUN(S->tok_acme, "launch", "--name", "cli-count", "--sku", "sku_a100_slice", "--gpus", "3", "--image",
	        "img_ubuntu2204_cuda124", "--network", "default", "--key", "laptop");
	expect_rc(&r, 1);
	assert_non_null(strstr(r.err, "invalid_gpu_count"));
	run_done(&r);
}

static void test_launch_unknown_names(void **state)
{
	(void)state;
	json_t *before = apifx_snapshot();
	Run r = RUN(S->tok_acme, "launch", "--name", "cli-unknown", "--sku", "A100 80GB slice", "--gpus", "1",
	            "--image", "Windows 95", "--network", "globex-lab", "--key", "laptop");
	expect_rc(&r, 2);
	/* What exists is listed, by id and name; another org's network is not. */
	assert_non_null(strstr(r.err, "Windows 95"));
	assert_non_null(strstr(r.err, "img_ubuntu2204_cuda124"));
	assert_non_null(strstr(r.err, "NGC PyTorch 24.09"));
	assert_non_null(strstr(r.err, "globex-lab"));
	assert_non_null(strstr(r.err, "net_acme_private"));
	assert_null(strstr(r.err, "net_globex_lab"));
	run_done(&r);
	apifx_check_unchanged(before, "a refused launch");
}

/* --runtime names what GET /runtimes lists: an older version of a bundle by
 * BUNDLE:VERSION; a runtime the server does not offer is a usage error that
 * lists the ones it does, and nothing is created. */
static void test_launch_runtime(void **state)
{
	(void)state;
	Run r = RUN(S->tok_acme, "launch", "--name", "cli-rt-23", "--sku", "A100 80GB slice", "--gpus", "1",
	            "--image", "img_ubuntu2204_cuda124", "--network", "default", "--key", "laptop", "--runtime",
	            "pytorch:2.3");
	expect_rc(&r, 0);
	char *id = alloc_in(r.out);
	run_done(&r);
	json_t *a = alloc_json(id);
	json_t *rt = json_object_get(a, "runtime");
	assert_string_equal(json_string_value(json_object_get(rt, "bundle")), "pytorch");
	assert_string_equal(json_string_value(json_object_get(rt, "version")), "2.3");
	json_decref(a);
	free(id);

	static const char *const unknown[] = { "nosuch", "pytorch:9.9" };
	for (size_t i = 0; i < QD_ARRAY_LEN(unknown); i++) {
		json_t *before = apifx_snapshot();
		r = RUN(S->tok_acme, "launch", "--name", "cli-rt-nosuch", "--sku", "A100 80GB slice", "--gpus", "1",
		        "--image", "img_ubuntu2204_cuda124", "--network", "default", "--key", "laptop", "--runtime",
		        unknown[i]);
		expect_rc(&r, 2);
		assert_non_null(strstr(r.err, unknown[i]));
		/* Every runtime the server lists, as --runtime takes it and by label,
		 * including those no client ever hard-coded. */
		static const char *const listed[] = { "pytorch:2.4", "pytorch:2.3", "vllm:0.6", "jax:0.4",
		                                      "triton:24.09", "jupyter:4.2", "PyTorch 2.3", "vLLM 0.6" };
		for (size_t k = 0; k < QD_ARRAY_LEN(listed); k++)
			if (!strstr(r.err, listed[k]))
				fail_msg("--runtime %s: '%s' is not in the list:\n%s", unknown[i], listed[k], r.err);
		run_done(&r);
		apifx_check_unchanged(before, "a refused launch");
	}
}

static void test_launch_wait(void **state)
{
	(void)state;
	Run r = RUN(S->tok_acme, "launch", "--name", "cli-wait-1", "--sku", "H100 SXM slice", "--gpus", "1", "--image",
	            "Ubuntu 24.04 + CUDA 12.6", "--network", "default", "--key", "laptop", "--wait");
	expect_rc(&r, 0);
	char *id = alloc_in(r.out);
	assert_non_null(strstr(r.out, "provisioning"));
	assert_non_null(strstr(r.out, "active"));
	run_done(&r);
	assert_string_equal(state_of(id, S->tok_acme), "active");
	free(id);
}

static void test_launch_wait_failed(void **state)
{
	(void)state;
	ApiResp resp;
	assert_int_equal(api_post(S, "/api/v1/admin/faults", S->tok_ops,
	                          "{\"kind\":\"provision_fail\",\"reason_code\":\"image_pull_failed\","
	                          "\"message\":\"registry said no\",\"count\":1}",
	                          &resp),
	                 0);
	if (resp.status < 200 || resp.status > 299)
		fail_msg("fault injection: %ld %s", resp.status, resp.raw ? resp.raw : "");
	api_resp_done(&resp);
	Run r = RUN(S->tok_acme, "launch", "--name", "cli-wait-fail", "--sku", "sku_a100_slice", "--gpus", "1",
	            "--image", "img_ubuntu2204_cuda124", "--network", "net_default", "--key", "laptop", "--wait");
	expect_rc(&r, 1);
	assert_non_null(strstr(r.out, "failed"));
	assert_non_null(strstr(r.err, "image_pull_failed"));
	char *id = alloc_in(r.out);
	assert_string_equal(state_of(id, S->tok_acme), "failed");
	free(id);
	run_done(&r);
}

/* --- nodes ------------------------------------------------------------------------ */

static size_t api_node_count(const char *token)
{
	json_t *j = apifx_get_ok("/api/v1/nodes?limit=500", token);
	size_t n = json_array_size(json_object_get(j, "items"));
	json_decref(j);
	return n;
}

static void test_nodes(void **state)
{
	(void)state;
	const char *tokens[] = { S->tok_acme, S->tok_ops };
	for (size_t t = 0; t < QD_ARRAY_LEN(tokens); t++) {
		size_t want = api_node_count(tokens[t]);
		assert_true(want > 0);
		Run r = RUN(tokens[t], "nodes");
		expect_rc(&r, 0);
		size_t lines = 0;
		for (const char *p = r.out; (p = strchr(p, '\n')); p++)
			lines++;
		assert_int_equal(lines, want + 1); /* header + one per node */
		assert_non_null(strstr(r.out, "nd_use1_h100_03"));
		assert_non_null(strstr(r.out, "online"));
		run_done(&r);

		r = RUN(tokens[t], "nodes", "--json");
		expect_rc(&r, 0);
		json_t *arr = json_loads(r.out, 0, NULL);
		assert_true(json_is_array(arr));
		assert_int_equal(json_array_size(arr), want);
		assert_non_null(json_string_value(json_object_get(json_array_get(arr, 0), "id")));
		json_decref(arr);
		run_done(&r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_ls_views),
		cmocka_unit_test(test_show),
		cmocka_unit_test(test_show_other_org),
		cmocka_unit_test(test_release),
		cmocka_unit_test(test_restart),
		cmocka_unit_test(test_force_release),
		cmocka_unit_test(test_events_since_json),
		cmocka_unit_test(test_events_follow),
		cmocka_unit_test(test_bad_token),
		cmocka_unit_test(test_unreachable),
		cmocka_unit_test(test_no_token_in_output),
		cmocka_unit_test(test_launch_by_names),
		cmocka_unit_test(test_launch_sold_out),
		cmocka_unit_test(test_launch_unknown_names),
		cmocka_unit_test(test_launch_runtime),
		cmocka_unit_test(test_launch_wait),
		cmocka_unit_test(test_launch_wait_failed),
		cmocka_unit_test(test_nodes),
	};
	return cmocka_run_group_tests(tests, apifx_setup, teardown);
}

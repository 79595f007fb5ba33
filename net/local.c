/* local — start or reuse the local control plane (see local.h).
 *
 * A small state machine on the loop:
 *   PROBE   uv_pipe_connect to the socket; answers → TOKEN, refused/missing → SPAWN
 *   SPAWN   uv_spawn qdeckd detached, then WAIT
 *   WAIT    probe every 100..500 ms for up to 15 s
 *   TOKEN   cached token file, else MINT
 *   MINT    uv_spawn `qdeckd token create --user ops`, stdout through a pipe
 * Every uv handle is its own allocation closed with free, so freeing the
 * LocalPlane mid-flight only detaches (the handle's data is cleared). */
#include "net/local.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"

#define WAIT_TOTAL_MS 15000
#define TOKEN_MAX 512
#define LOCAL_USER "ops"

typedef enum { L_IDLE, L_PROBE, L_WAIT, L_MINT } LState;

struct LocalPlane {
	uv_loop_t *loop;
	char *socket_path;
	LState st;
	bool spawned;
	bool waiting_after_spawn;
	int64_t wait_started;
	int wait_delay;
	uv_timer_t *timer;
	uv_pipe_t *probe;          /* in flight probe, data = this or NULL */
	uv_process_t *mint;        /* in flight token create */
	uv_process_t *server;      /* the qdeckd we spawned, while it runs */
	uv_pipe_t *mint_out;
	QdBuf mint_buf;
	bool mint_overflow;
	int mint_exit;             /* -1 until exited */
	bool mint_eof;
	LocalReady ready;
	LocalProgress progress;
	void *ud;
};

static void on_closed_free(uv_handle_t *h)
{
	free(h);
}

static int mkdir_p(const char *dir)
{
	char tmp[PATH_MAX];
	if (qd_strlcpy(tmp, dir, sizeof tmp) >= sizeof tmp)
		return -1;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

int local_socket_path(char *buf, size_t sz, char *errbuf, size_t errsz)
{
	const char *rt = getenv("XDG_RUNTIME_DIR");
	char dir[PATH_MAX];
	if (rt && rt[0] == '/')
		snprintf(dir, sizeof dir, "%s/quarterdeck", rt);
	else
		snprintf(dir, sizeof dir, "/tmp/quarterdeck-%u", (unsigned)getuid());
	if (mkdir_p(dir) < 0) {
		snprintf(errbuf, errsz, "cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	/* In /tmp someone else could have made the directory first: it must be ours. */
	struct stat st;
	if (stat(dir, &st) < 0 || st.st_uid != getuid() || (st.st_mode & 077)) {
		snprintf(errbuf, errsz, "%s is not a private directory owned by you", dir);
		return -1;
	}
	if ((size_t)snprintf(buf, sz, "%s/qdeckd.sock", dir) >= sz || strlen(buf) >= 108) {
		snprintf(errbuf, errsz, "socket path %s/qdeckd.sock is too long", dir);
		return -1;
	}
	return 0;
}

int local_state_dir(char *buf, size_t sz, char *errbuf, size_t errsz)
{
	if (qd_xdg_dir("XDG_STATE_HOME", ".local/state", buf, sz) < 0) {
		snprintf(errbuf, errsz, "neither XDG_STATE_HOME nor HOME is set (as an absolute path)");
		return -1;
	}
	if (mkdir_p(buf) < 0) {
		snprintf(errbuf, errsz, "cannot create %s", buf);
		return -1;
	}
	return 0;
}

char *local_qdeckd_path(void)
{
	const char *env = getenv("QDECKD_BIN");
	if (env && env[0])
		return xstrdup(env);
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			slash[1] = '\0';
			char *cand = xasprintf("%sqdeckd", self);
			if (access(cand, X_OK) == 0)
				return cand;
			free(cand);
		}
	}
	return xstrdup("qdeckd"); /* uv_spawn searches PATH */
}

/* ---- token cache -------------------------------------------------------- */

static char *token_path(void)
{
	char dir[PATH_MAX], err[256];
	if (local_state_dir(dir, sizeof dir, err, sizeof err) < 0)
		return NULL;
	return xasprintf("%s/local-token", dir);
}

static bool token_ok(const char *t, size_t n)
{
	if (n == 0 || n > TOKEN_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (t[i] <= 0x20 || t[i] >= 0x7f)
			return false;
	return true;
}

/* The cached token, or NULL when absent, unsafe (group/other bits, not ours,
 * not a regular file) or garbled. */
static char *token_read_cache(void)
{
	char *path = token_path();
	if (!path)
		return NULL;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return NULL;
	struct stat st;
	char buf[TOKEN_MAX + 2];
	ssize_t n = -1;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == getuid() &&
	    !(st.st_mode & 077))
		n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	char *tok = token_ok(buf, (size_t)n) ? xstrndup(buf, (size_t)n) : NULL;
	memset(buf, 0, sizeof buf);
	return tok;
}

static void token_write_cache(const char *tok)
{
	char *path = token_path();
	if (!path)
		return;
	char *tmp = xasprintf("%s.%d", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0) {
		size_t len = strlen(tok);
		bool ok = fchmod(fd, 0600) == 0 && write(fd, tok, len) == (ssize_t)len &&
		          write(fd, "\n", 1) == 1;
		ok = close(fd) == 0 && ok;
		if (!ok || rename(tmp, path) < 0)
			unlink(tmp);
	}
	free(tmp);
	free(path);
}

/* ---- state machine ------------------------------------------------------ */

static void probe_start(LocalPlane *lp);
static void on_wait_timer(uv_timer_t *t);
static void mint_start(LocalPlane *lp);

static void progress(LocalPlane *lp, const char *msg)
{
	if (lp->progress)
		lp->progress(lp->ud, msg);
}

static void finish(LocalPlane *lp, bool ok, const char *token, const char *msg)
{
	lp->st = L_IDLE;
	lp->ready(lp->ud, ok, token, msg);
}

static void have_server(LocalPlane *lp)
{
	char *tok = token_read_cache();
	if (tok) {
		finish(lp, true, tok, "");
		memset(tok, 0, strlen(tok));
		free(tok);
		return;
	}
	mint_start(lp);
}

static void server_exited(uv_process_t *p, int64_t status, int sig)
{
	LocalPlane *lp = p->data;
	(void)status;
	(void)sig;
	if (lp && lp->server == p)
		lp->server = NULL;
	uv_close((uv_handle_t *)p, on_closed_free);
}

static void spawn_server(LocalPlane *lp)
{
	char dir[PATH_MAX], err[256];
	if (local_state_dir(dir, sizeof dir, err, sizeof err) < 0) {
		finish(lp, false, NULL, err);
		return;
	}
	char *log = xasprintf("%s/qdeckd.log", dir);
	int logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	free(log);
	char *bin = local_qdeckd_path();
	char *args[] = {bin, "--seed", "demo", "--socket", lp->socket_path, NULL};
	uv_stdio_container_t stdio[3] = {
		{.flags = UV_IGNORE},
		{.flags = UV_IGNORE},
		{.flags = logfd >= 0 ? UV_INHERIT_FD : UV_IGNORE, .data.fd = logfd},
	};
	uv_process_options_t opts = {
		.file = bin,
		.args = args,
		.exit_cb = server_exited,
		.flags = UV_PROCESS_DETACHED,
		.stdio_count = 3,
		.stdio = stdio,
	};
	uv_process_t *proc = xcalloc(1, sizeof *proc);
	int rc = uv_spawn(lp->loop, proc, &opts);
	if (logfd >= 0)
		close(logfd);
	if (rc < 0) {
		char msg[PATH_MAX + 128];
		snprintf(msg, sizeof msg, "cannot start %s: %s (set QDECKD_BIN or use --api URL)", bin,
		         uv_strerror(rc));
		free(bin);
		free(proc);
		finish(lp, false, NULL, msg);
		return;
	}
	free(bin);
	/* Detached: it outlives this console. While we run we still reap it if it
	 * dies (no zombie); the handle does not keep the loop alive. */
	uv_unref((uv_handle_t *)proc);
	if (lp->server)
		uv_close((uv_handle_t *)lp->server, on_closed_free); /* an earlier one */
	proc->data = lp;
	lp->server = proc;
	lp->spawned = true;
	lp->waiting_after_spawn = true;
	lp->wait_started = qd_mono_ms();
	lp->wait_delay = 100;
	lp->st = L_WAIT;
	progress(lp, "starting local control plane");
	uv_timer_start(lp->timer, on_wait_timer, (uint64_t)lp->wait_delay, 0);
}

static void on_probe(uv_connect_t *req, int status)
{
	uv_pipe_t *pipe = (uv_pipe_t *)req->handle;
	LocalPlane *lp = pipe->data;
	free(req);
	uv_close((uv_handle_t *)pipe, on_closed_free);
	if (!lp)
		return; /* freed meanwhile */
	lp->probe = NULL;
	if (status == 0) {
		lp->waiting_after_spawn = false;
		have_server(lp);
		return;
	}
	if (lp->waiting_after_spawn) {
		if (qd_mono_ms() - lp->wait_started > WAIT_TOTAL_MS) {
			lp->waiting_after_spawn = false;
			finish(lp, false, NULL,
			       "local control plane did not start: see $XDG_STATE_HOME/quarterdeck/qdeckd.log");
			return;
		}
		lp->wait_delay = QD_MIN(lp->wait_delay * 2, 500);
		uv_timer_start(lp->timer, on_wait_timer, (uint64_t)lp->wait_delay, 0);
		return;
	}
	/* Nothing answers. A socket file left by a dead qdeckd would make the new
	 * one fail to bind: nobody listens on it (refused), so it is safe to remove. */
	if (status == UV_ECONNREFUSED) {
		struct stat st;
		if (lstat(lp->socket_path, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_uid == getuid())
			unlink(lp->socket_path);
	}
	spawn_server(lp);
}

static void probe_start(LocalPlane *lp)
{
	lp->st = lp->waiting_after_spawn ? L_WAIT : L_PROBE;
	uv_pipe_t *pipe = xcalloc(1, sizeof *pipe);
	uv_pipe_init(lp->loop, pipe, 0);
	pipe->data = lp;
	lp->probe = pipe;
	uv_connect_t *req = xcalloc(1, sizeof *req);
	uv_pipe_connect(req, pipe, lp->socket_path, on_probe);
}

static void on_wait_timer(uv_timer_t *t)
{
	probe_start(t->data);
}

/* ---- token create ------------------------------------------------------- */

static void mint_maybe_done(LocalPlane *lp)
{
	if (lp->mint_exit < 0 || !lp->mint_eof)
		return;
	char *data = lp->mint_buf.data;
	size_t n = lp->mint_buf.len;
	while (n > 0 && (data[n - 1] == '\n' || data[n - 1] == '\r' || data[n - 1] == ' '))
		n--;
	bool ok = lp->mint_exit == 0 && !lp->mint_overflow && token_ok(data ? data : "", n);
	char *tok = ok ? xstrndup(data, n) : NULL;
	if (lp->mint_buf.data)
		memset(lp->mint_buf.data, 0, lp->mint_buf.len);
	qdbuf_reset(&lp->mint_buf);
	if (!ok) {
		char msg[200];
		snprintf(msg, sizeof msg, "could not get a token from the local control plane "
		         "(qdeckd token create exited %d)", lp->mint_exit);
		finish(lp, false, NULL, msg);
		return;
	}
	token_write_cache(tok);
	finish(lp, true, tok, "");
	memset(tok, 0, strlen(tok));
	free(tok);
}

static void mint_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static char chunk[1024];
	(void)h;
	(void)suggested;
	*buf = uv_buf_init(chunk, sizeof chunk);
}

static void mint_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	LocalPlane *lp = s->data;
	if (n > 0 && lp) {
		if (lp->mint_buf.len + (size_t)n > TOKEN_MAX + 2)
			lp->mint_overflow = true;
		else
			qdbuf_append(&lp->mint_buf, buf->base, (size_t)n);
		memset(buf->base, 0, (size_t)n);
	}
	if (n < 0) {
		uv_close((uv_handle_t *)s, on_closed_free);
		if (!lp)
			return;
		lp->mint_out = NULL;
		lp->mint_eof = true;
		mint_maybe_done(lp);
	}
}

static void mint_exit(uv_process_t *p, int64_t status, int sig)
{
	LocalPlane *lp = p->data;
	uv_close((uv_handle_t *)p, on_closed_free);
	if (!lp)
		return;
	lp->mint = NULL;
	lp->mint_exit = sig ? 128 + sig : (int)status;
	mint_maybe_done(lp);
}

static void mint_start(LocalPlane *lp)
{
	lp->st = L_MINT;
	progress(lp, "signing in to the local control plane");
	char *bin = local_qdeckd_path();
	char *args[] = {bin, "token", "create", "--user", LOCAL_USER, NULL};
	lp->mint_out = xcalloc(1, sizeof *lp->mint_out);
	uv_pipe_init(lp->loop, lp->mint_out, 0);
	lp->mint_out->data = lp;
	uv_stdio_container_t stdio[3] = {
		{.flags = UV_IGNORE},
		{.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)lp->mint_out},
		{.flags = UV_IGNORE},
	};
	uv_process_options_t opts = {
		.file = bin, .args = args, .exit_cb = mint_exit, .stdio_count = 3, .stdio = stdio,
	};
	lp->mint = xcalloc(1, sizeof *lp->mint);
	lp->mint_exit = -1;
	lp->mint_eof = false;
	lp->mint_overflow = false;
	qdbuf_reset(&lp->mint_buf);
	int rc = uv_spawn(lp->loop, lp->mint, &opts);
	free(bin);
	if (rc < 0) {
		free(lp->mint);
		lp->mint = NULL;
		uv_close((uv_handle_t *)lp->mint_out, on_closed_free);
		lp->mint_out = NULL;
		char msg[200];
		snprintf(msg, sizeof msg, "cannot run qdeckd token create: %s", uv_strerror(rc));
		finish(lp, false, NULL, msg);
		return;
	}
	lp->mint->data = lp;
	uv_read_start((uv_stream_t *)lp->mint_out, mint_alloc, mint_read);
}

/* ---- public ------------------------------------------------------------- */

LocalPlane *local_new(uv_loop_t *loop, const char *socket_path, LocalReady ready,
                      LocalProgress prog, void *ud)
{
	LocalPlane *lp = xcalloc(1, sizeof *lp);
	lp->loop = loop;
	lp->socket_path = xstrdup(socket_path);
	lp->ready = ready;
	lp->progress = prog;
	lp->ud = ud;
	lp->mint_exit = -1;
	qdbuf_init(&lp->mint_buf);
	lp->timer = xcalloc(1, sizeof *lp->timer);
	uv_timer_init(loop, lp->timer);
	lp->timer->data = lp;
	return lp;
}

void local_free(LocalPlane **lpp)
{
	if (!lpp || !*lpp)
		return;
	LocalPlane *lp = *lpp;
	*lpp = NULL;
	uv_timer_stop(lp->timer);
	uv_close((uv_handle_t *)lp->timer, on_closed_free);
	if (lp->probe)
		lp->probe->data = NULL; /* its connect callback closes it */
	if (lp->mint) {
		lp->mint->data = NULL;
		uv_process_kill(lp->mint, SIGTERM);
	}
	if (lp->mint_out)
		lp->mint_out->data = NULL;
	if (lp->server)
		uv_close((uv_handle_t *)lp->server, on_closed_free); /* it keeps running */
	if (lp->mint_buf.data)
		memset(lp->mint_buf.data, 0, lp->mint_buf.len);
	qdbuf_done(&lp->mint_buf);
	free(lp->socket_path);
	free(lp);
}

void local_ensure(LocalPlane *lp)
{
	if (lp->st != L_IDLE)
		return;
	lp->waiting_after_spawn = false;
	probe_start(lp);
}

void local_renew_token(LocalPlane *lp)
{
	if (lp->st != L_IDLE)
		return;
	mint_start(lp);
}

bool local_spawned(const LocalPlane *lp)
{
	return lp && lp->spawned;
}

/* harness — qdeckd + qdeck under a PTY + libvterm, for screen tests and the
 * console benchmark. See harness.h for the contract. */
#include "tests/screen/harness.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <vterm.h>

#include "common/util.h"

/* Generous: a loaded CI machine running the sanitizer build is slow, and a
 * wait only ever costs this long when the test is already failing. */
#define HS_START_TIMEOUT_MS 15000
/* Within one pump, reading stops once the PTY was quiet this long. */
#define HS_PUMP_SETTLE_MS 5
/* Raw output kept by hs_record_output: plenty for a scenario, bounded. */
#define HS_RAW_MAX (32u << 20)

/* The dark background and foreground of the SVG screenshots and of libvterm's
 * default colours. */
#define HS_DEFAULT_FG 0xd0d0d0
#define HS_DEFAULT_BG 0x1c1c1c

struct Hs {
	char dir[1024]; /* short enough that every path built from it fits */
	char db[PATH_MAX];
	char portfile[PATH_MAX];
	char log[PATH_MAX];
	char qdeckd_bin[PATH_MAX];
	char *token;
	char user[64];
	int speed;
	bool seed;
	int port;
	pid_t qdeckd;
	pid_t qdeck;
	int master;
	bool exited;
	int exit_status;
	VTerm *vt;
	VTermScreen *screen;
	int rows, cols;
	uint64_t bytes;
	int64_t spawn_ms;
	int64_t first_byte_ms;
	int64_t last_output_ms;
	char title[512];
	int bells;
	QdBuf text;
	QdBuf rowbuf;
	bool recording;  /* keep qdeck's raw output in `raw` (hs_record_output) */
	bool raw_full;   /* stopped recording at HS_RAW_MAX */
	QdBuf raw;
	/* hs_watch_cell: one cell's reverse attribute, checked on every change
	 * libvterm reports, so a state that lasts only between two reads counts. */
	bool watching, watch_base, watch_flipped;
	int watch_row, watch_col;
};

static const char *env_or(const char *name, const char *fallback)
{
	const char *v = getenv(name);
	return v && *v ? v : fallback;
}

/* ---- children ------------------------------------------------------------ */

/* What every child does before exec: die with the test process, start with a
 * clean signal state, inherit no descriptor beyond 0..2 (dvtm's vt_forkpty). */
static void child_prepare(void)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int s = 1; s < NSIG; s++)
		if (s != SIGKILL && s != SIGSTOP)
			signal(s, SIG_DFL);
	long maxfd = sysconf(_SC_OPEN_MAX);
	if (maxfd < 0 || maxfd > 4096)
		maxfd = 4096;
	for (int fd = 3; fd < maxfd; fd++)
		close(fd);
}

/* fork + exec argv with stdout/stderr redirected (fd -1 keeps them). */
static pid_t spawn(const char *const *argv, int out_fd, int err_fd)
{
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "harness: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0)
			dup2(devnull, 0);
		if (out_fd >= 0)
			dup2(out_fd, 1);
		if (err_fd >= 0)
			dup2(err_fd, 2);
		child_prepare();
		execv(argv[0], (char *const *)argv);
		fprintf(stderr, "harness: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

/* Waits up to timeout_ms for pid; true (and *status) once it was reaped. */
static bool reap(pid_t pid, int timeout_ms, int *status)
{
	int64_t end = qd_mono_ms() + timeout_ms;
	for (;;) {
		int st;
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid || (r < 0 && errno == ECHILD)) {
			if (status)
				*status = r == pid ? st : 0;
			return true;
		}
		if (qd_mono_ms() >= end)
			return false;
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
}

static void stop_pid(pid_t pid, int term_ms)
{
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	if (!reap(pid, term_ms, NULL)) {
		kill(pid, SIGKILL);
		reap(pid, 5000, NULL);
	}
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

/* ---- qdeckd ---------------------------------------------------------------- */

/* The end of qdeckd's log, so a start failure explains itself before hs_stop
 * removes the directory. */
static void log_tail(const Hs *h)
{
	FILE *f = fopen(h->log, "r");
	if (!f)
		return;
	char buf[2048];
	if (fseek(f, 0, SEEK_END) == 0) {
		long size = ftell(f);
		fseek(f, size > (long)sizeof buf - 1 ? size - (long)sizeof buf + 1 : 0, SEEK_SET);
	}
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	fprintf(stderr, "---- qdeckd log (end) ----\n%s---- end of log ----\n", buf);
}

static bool server_spawn(Hs *h, int port)
{
	char listen[64];
	snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
	char speed[16];
	snprintf(speed, sizeof speed, "%d", h->speed);
	const char *argv[16];
	int n = 0;
	argv[n++] = h->qdeckd_bin;
	argv[n++] = "--db";
	argv[n++] = h->db;
	if (h->seed) {
		argv[n++] = "--seed";
		argv[n++] = "demo";
	}
	argv[n++] = "--speed";
	argv[n++] = speed;
	argv[n++] = "--listen";
	argv[n++] = listen;
	argv[n++] = "--port-file";
	argv[n++] = h->portfile;
	argv[n] = NULL;

	unlink(h->portfile);
	int logfd = open(h->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	h->qdeckd = spawn(argv, logfd, logfd);
	if (logfd >= 0)
		close(logfd);
	if (h->qdeckd < 0)
		return false;

	/* qdeckd writes the port file once it listens. */
	int64_t end = qd_mono_ms() + HS_START_TIMEOUT_MS;
	while (qd_mono_ms() < end) {
		FILE *f = fopen(h->portfile, "r");
		if (f) {
			int p = 0;
			int got = fscanf(f, "%d", &p);
			fclose(f);
			if (got == 1 && p > 0 && p < 65536) {
				h->port = p;
				return true;
			}
		}
		int st;
		if (waitpid(h->qdeckd, &st, WNOHANG) == h->qdeckd) {
			fprintf(stderr, "harness: qdeckd exited before listening (status %d)\n", st);
			log_tail(h);
			h->qdeckd = 0;
			return false;
		}
		struct timespec ts = {0, 20 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	fprintf(stderr, "harness: qdeckd wrote no port file within %d ms\n", HS_START_TIMEOUT_MS);
	stop_pid(h->qdeckd, 1000);
	h->qdeckd = 0;
	return false;
}

/* `qdeckd --db DB token create --user USER`; the token comes back on stdout,
 * so it never appears in any argv. */
char *hs_token_create(Hs *h, const char *user)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return NULL;
	const char *argv[] = {h->qdeckd_bin, "--db", h->db, "token", "create", "--user", user, NULL};
	int logfd = open(h->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	pid_t pid = spawn(argv, fds[1], logfd);
	close(fds[1]);
	if (logfd >= 0)
		close(logfd);
	if (pid < 0) {
		close(fds[0]);
		return NULL;
	}
	char buf[512];
	size_t len = 0;
	struct pollfd pfd = {fds[0], POLLIN, 0};
	int64_t end = qd_mono_ms() + HS_START_TIMEOUT_MS;
	while (len < sizeof buf - 1) {
		int left = (int)(end - qd_mono_ms());
		if (left <= 0 || poll(&pfd, 1, left) <= 0)
			break;
		ssize_t r = read(fds[0], buf + len, sizeof buf - 1 - len);
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(fds[0]);
	buf[len] = '\0';
	int st = 0;
	if (!reap(pid, 5000, &st)) {
		kill(pid, SIGKILL);
		reap(pid, 1000, NULL);
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
		buf[--len] = '\0';
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || len == 0 || strchr(buf, '\n')) {
		fprintf(stderr, "harness: `qdeckd token create --user %s` failed\n", user);
		log_tail(h);
		return NULL;
	}
	return xstrdup(buf);
}

/* ---- the terminal ------------------------------------------------------------ */

static void vt_output(const char *s, size_t len, void *user)
{
	/* What libvterm "types" (key sequences, replies to queries) goes to qdeck. */
	Hs *h = user;
	while (len > 0 && h->master >= 0) {
		ssize_t w = write(h->master, s, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pollfd pfd = {h->master, POLLOUT, 0};
				poll(&pfd, 1, 100);
				continue;
			}
			return;
		}
		s += w;
		len -= (size_t)w;
	}
}

static int vt_settermprop(VTermProp prop, VTermValue *val, void *user)
{
	Hs *h = user;
	if (prop == VTERM_PROP_TITLE && val->string)
		qd_strlcpy(h->title, val->string, sizeof h->title);
	return 1;
}

static int vt_bell(void *user)
{
	Hs *h = user;
	h->bells++;
	return 1;
}

/* libvterm's default damage merge (per cell) reports each change as it is
 * parsed, with the screen already holding the new cell. */
static int vt_damage(VTermRect r, void *user)
{
	Hs *h = user;
	if (!h->watching || h->watch_flipped || h->watch_row < r.start_row || h->watch_row >= r.end_row ||
	    h->watch_col < r.start_col || h->watch_col >= r.end_col)
		return 1;
	VTermScreenCell c;
	memset(&c, 0, sizeof c);
	vterm_screen_get_cell(h->screen, (VTermPos){h->watch_row, h->watch_col}, &c);
	if ((bool)c.attrs.reverse != h->watch_base)
		h->watch_flipped = true;
	return 1;
}

static const VTermScreenCallbacks vt_callbacks = {
	.damage = vt_damage,
	.settermprop = vt_settermprop,
	.bell = vt_bell,
};

static void term_init(Hs *h, int rows, int cols)
{
	h->rows = rows;
	h->cols = cols;
	h->vt = vterm_new(rows, cols);
	vterm_set_utf8(h->vt, 1);
	vterm_output_set_callback(h->vt, vt_output, h);
	h->screen = vterm_obtain_screen(h->vt);
	vterm_screen_enable_altscreen(h->screen, 1);
	vterm_screen_set_callbacks(h->screen, &vt_callbacks, h);
	VTermColor fg, bg;
	vterm_color_rgb(&fg, (HS_DEFAULT_FG >> 16) & 0xff, (HS_DEFAULT_FG >> 8) & 0xff, HS_DEFAULT_FG & 0xff);
	vterm_color_rgb(&bg, (HS_DEFAULT_BG >> 16) & 0xff, (HS_DEFAULT_BG >> 8) & 0xff, HS_DEFAULT_BG & 0xff);
	vterm_state_set_default_colors(vterm_obtain_state(h->vt), &fg, &bg);
	vterm_screen_reset(h->screen, 1);
}

static Hs *hs_alloc(void)
{
	Hs *h = xcalloc(1, sizeof *h);
	h->master = -1;
	h->first_byte_ms = -1;
	h->last_output_ms = -1;
	qdbuf_init(&h->text);
	qdbuf_init(&h->rowbuf);
	qdbuf_init(&h->raw);
	const char *tmp = env_or("TMPDIR", "/tmp");
	snprintf(h->dir, sizeof h->dir, "%s/qdeck-hs-XXXXXX", tmp);
	if (!mkdtemp(h->dir)) {
		fprintf(stderr, "harness: mkdtemp %s: %s\n", h->dir, strerror(errno));
		h->dir[0] = '\0';
	}
	return h;
}

static bool pty_spawn(Hs *h, const char *const *argv, const char *const *env_set, bool no_color)
{
	struct winsize ws = {.ws_row = (unsigned short)h->rows, .ws_col = (unsigned short)h->cols};
	int master = -1;
	h->spawn_ms = qd_mono_ms();
	pid_t pid = forkpty(&master, NULL, NULL, &ws);
	if (pid < 0) {
		fprintf(stderr, "harness: forkpty: %s\n", strerror(errno));
		return false;
	}
	if (pid == 0) {
		child_prepare();
		setenv("TERM", "xterm-256color", 1);
		setenv("LANG", "C.UTF-8", 1);
		setenv("LC_ALL", "C.UTF-8", 1);
		unsetenv("COLUMNS");
		unsetenv("LINES");
		unsetenv("TMUX");
		unsetenv("QDECK_API_URL");
		if (no_color)
			setenv("NO_COLOR", "1", 1);
		else
			unsetenv("NO_COLOR");
		for (int i = 0; env_set && env_set[i] && env_set[i + 1]; i += 2)
			setenv(env_set[i], env_set[i + 1], 1);
		execvp(argv[0], (char *const *)argv);
		fprintf(stderr, "harness: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
	fcntl(master, F_SETFD, FD_CLOEXEC);
	h->master = master;
	h->qdeck = pid;
	return true;
}

Hs *hs_spawn_program(const char *const *argv, int rows, int cols)
{
	Hs *h = hs_alloc();
	term_init(h, rows > 0 ? rows : 24, cols > 0 ? cols : 80);
	if (!pty_spawn(h, argv, NULL, false)) {
		hs_stop(&h);
		return NULL;
	}
	return h;
}

Hs *hs_start(const HsOpts *opts)
{
	static bool curl_ready;
	if (!curl_ready) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		curl_ready = true;
	}
	HsOpts o = opts ? *opts : (HsOpts){0};
	Hs *h = hs_alloc();
	if (!h->dir[0]) {
		hs_stop(&h);
		return NULL;
	}
	term_init(h, o.rows > 0 ? o.rows : 40, o.cols > 0 ? o.cols : 120);
	qd_strlcpy(h->user, o.user ? o.user : "ops", sizeof h->user);
	h->speed = o.speed > 0 ? o.speed : 20;
	h->seed = !o.no_seed;
	qd_strlcpy(h->qdeckd_bin, env_or("QDECKD_BIN", "bin/qdeckd"), sizeof h->qdeckd_bin);
	if (o.db_path)
		qd_strlcpy(h->db, o.db_path, sizeof h->db);
	else
		snprintf(h->db, sizeof h->db, "%s/q.db", h->dir);
	snprintf(h->portfile, sizeof h->portfile, "%s/port", h->dir);
	snprintf(h->log, sizeof h->log, "%s/qdeckd.log", h->dir);

	if (access(h->qdeckd_bin, X_OK) != 0) {
		fprintf(stderr, "harness: no qdeckd at %s (set QDECKD_BIN)\n", h->qdeckd_bin);
		hs_stop(&h);
		return NULL;
	}
	if (!server_spawn(h, 0)) {
		hs_stop(&h);
		return NULL;
	}
	h->token = hs_token_create(h, h->user);
	if (!h->token) {
		hs_stop(&h);
		return NULL;
	}
	if (o.no_qdeck)
		return h;

	const char *qdeck_bin = env_or("QDECK_BIN", "bin/qdeck");
	if (access(qdeck_bin, X_OK) != 0) {
		fprintf(stderr, "harness: no qdeck at %s (set QDECK_BIN)\n", qdeck_bin);
		hs_stop(&h);
		return NULL;
	}
	char api[64];
	snprintf(api, sizeof api, "http://127.0.0.1:%d", h->port);
	const char *argv[32];
	int n = 0;
	argv[n++] = qdeck_bin;
	argv[n++] = "--api";
	argv[n++] = api;
	for (int i = 0; o.qdeck_args && o.qdeck_args[i] && n < 31; i++)
		argv[n++] = o.qdeck_args[i];
	argv[n] = NULL;

	/* A private home so no user config, key file or token file leaks in. */
	char home[PATH_MAX + 16], cfg[PATH_MAX + 16], run[PATH_MAX + 16], state[PATH_MAX + 16];
	snprintf(home, sizeof home, "%s/home", h->dir);
	snprintf(cfg, sizeof cfg, "%s/home/.config", h->dir);
	snprintf(run, sizeof run, "%s/run", h->dir);
	snprintf(state, sizeof state, "%s/home/.state", h->dir);
	mkdir(home, 0700);
	mkdir(cfg, 0700);
	mkdir(run, 0700);
	mkdir(state, 0700);
	const char *env_set[] = {"HOME", home, "XDG_CONFIG_HOME", cfg, "XDG_RUNTIME_DIR", run,
	                         "XDG_STATE_HOME", state, "QDECK_TOKEN", h->token, NULL};
	if (!pty_spawn(h, argv, env_set, o.no_color)) {
		hs_stop(&h);
		return NULL;
	}
	return h;
}

void hs_stop(Hs **hp)
{
	Hs *h = *hp;
	if (!h)
		return;
	if (h->qdeck > 0 && !h->exited) {
		/* Ask nicely first so qdeck restores the terminal, then insist. */
		if (h->master >= 0 && write(h->master, "q", 1) == 1) {
			int64_t end = qd_mono_ms() + 1500;
			while (!h->exited && qd_mono_ms() < end)
				if (hs_pump(h, 50) < 0)
					break;
		}
		if (!h->exited)
			stop_pid(h->qdeck, 1000);
		else
			reap(h->qdeck, 1000, NULL);
	} else if (h->qdeck > 0) {
		reap(h->qdeck, 1000, NULL);
	}
	if (h->master >= 0)
		close(h->master);
	if (h->qdeckd > 0)
		stop_pid(h->qdeckd, 3000);
	if (getenv("QD_HARNESS_KEEP") && h->dir[0])
		fprintf(stderr, "harness: kept %s\n", h->dir);
	else if (h->dir[0])
		nftw(h->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	if (h->vt)
		vterm_free(h->vt);
	if (h->token) {
		memset(h->token, 0, strlen(h->token));
		free(h->token);
	}
	qdbuf_done(&h->text);
	qdbuf_done(&h->rowbuf);
	qdbuf_done(&h->raw);
	free(h);
	*hp = NULL;
}

/* ---- reading the PTY ---------------------------------------------------------- */

static void note_exit(Hs *h)
{
	if (h->exited)
		return;
	int st = 0;
	if (reap(h->qdeck, 2000, &st)) {
		h->exited = true;
		h->exit_status = st;
	}
}

/* One poll of up to wait_ms, then read everything available. Returns bytes
 * read, 0 on timeout, -1 once the child is gone. */
static long pump_once(Hs *h, int wait_ms)
{
	if (h->master < 0 || h->exited)
		return -1;
	struct pollfd pfd = {h->master, POLLIN, 0};
	int r = poll(&pfd, 1, wait_ms < 0 ? 0 : wait_ms);
	if (r < 0)
		return errno == EINTR ? 0 : -1;
	if (r == 0)
		return 0;
	long total = 0;
	char buf[65536];
	for (;;) {
		ssize_t n = read(h->master, buf, sizeof buf);
		if (n > 0) {
			if (h->first_byte_ms < 0)
				h->first_byte_ms = qd_mono_ms() - h->spawn_ms;
			h->bytes += (uint64_t)n;
			h->last_output_ms = qd_mono_ms();
			if (h->recording && !h->raw_full) {
				if (h->raw.len + (size_t)n <= HS_RAW_MAX)
					qdbuf_append(&h->raw, buf, (size_t)n);
				else
					h->raw_full = true;
			}
			vterm_input_write(h->vt, buf, (size_t)n);
			total += n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		/* EOF or EIO: the slave side is closed, the child has exited. */
		vterm_screen_flush_damage(h->screen);
		note_exit(h);
		return total > 0 ? total : -1;
	}
	vterm_screen_flush_damage(h->screen);
	return total;
}

long hs_pump(Hs *h, int timeout_ms)
{
	int64_t end = qd_mono_ms() + timeout_ms;
	long total = 0;
	for (;;) {
		int left = (int)(end - qd_mono_ms());
		if (left < 0)
			left = 0;
		/* Once something arrived, only wait for the rest of the burst. */
		long n = pump_once(h, total > 0 ? QD_MIN(left, HS_PUMP_SETTLE_MS) : left);
		if (n < 0)
			return total > 0 ? total : -1;
		if (n == 0 && (total > 0 || left == 0))
			return total;
		total += n;
	}
}

typedef bool (*Cond)(Hs *h, const void *arg);

static bool wait_for(Hs *h, Cond cond, const void *arg, int timeout_ms)
{
	int64_t end = qd_mono_ms() + timeout_ms;
	for (;;) {
		if (cond(h, arg))
			return true;
		int left = (int)(end - qd_mono_ms());
		if (left <= 0)
			return false;
		if (pump_once(h, QD_MIN(left, 50)) < 0) {
			/* Child gone: the screen will not change any more. */
			return cond(h, arg);
		}
	}
}

static bool cond_contains(Hs *h, const void *arg)
{
	return hs_contains(h, arg);
}

static bool cond_gone(Hs *h, const void *arg)
{
	return !hs_contains(h, arg);
}

bool hs_wait_text(Hs *h, const char *text, int timeout_ms)
{
	if (wait_for(h, cond_contains, text, timeout_ms))
		return true;
	char why[256];
	snprintf(why, sizeof why, "waited %d ms for \"%s\"%s", timeout_ms, text,
	         h->exited ? " (qdeck has exited)" : "");
	hs_dump(h, why);
	return false;
}

bool hs_wait_gone(Hs *h, const char *text, int timeout_ms)
{
	if (wait_for(h, cond_gone, text, timeout_ms))
		return true;
	char why[256];
	snprintf(why, sizeof why, "waited %d ms for \"%s\" to go away", timeout_ms, text);
	hs_dump(h, why);
	return false;
}

bool hs_wait_row_text(Hs *h, int row, const char *text, int timeout_ms)
{
	int64_t end = qd_mono_ms() + timeout_ms;
	for (;;) {
		if (strstr(hs_row(h, row), text))
			return true;
		int left = (int)(end - qd_mono_ms());
		if (left <= 0 || pump_once(h, QD_MIN(left, 50)) < 0)
			break;
	}
	if (strstr(hs_row(h, row), text))
		return true;
	char why[256];
	snprintf(why, sizeof why, "waited %d ms for row %d to contain \"%s\"", timeout_ms, row, text);
	hs_dump(h, why);
	return false;
}

bool hs_wait_idle(Hs *h, int quiet_ms, int max_ms)
{
	int64_t end = qd_mono_ms() + max_ms;
	int64_t last = qd_mono_ms();
	for (;;) {
		int64_t now = qd_mono_ms();
		if (now - last >= quiet_ms)
			return true;
		if (now >= end)
			return false;
		int wait = (int)QD_MIN(last + quiet_ms - now, end - now);
		long n = pump_once(h, wait);
		if (n < 0)
			return true; /* exited: nothing more will come */
		if (n > 0)
			last = qd_mono_ms();
	}
}

bool hs_wait_exit(Hs *h, int timeout_ms, int *status)
{
	int64_t end = qd_mono_ms() + timeout_ms;
	while (!h->exited && qd_mono_ms() < end) {
		long n = pump_once(h, 50);
		if (n < 0 && !h->exited) {
			note_exit(h);
			break;
		}
		if (n == 0 && !h->exited) {
			int st;
			if (waitpid(h->qdeck, &st, WNOHANG) == h->qdeck) {
				h->exited = true;
				h->exit_status = st;
			}
		}
	}
	if (h->exited && status)
		*status = h->exit_status;
	return h->exited;
}

/* ---- keys -------------------------------------------------------------------- */

bool hs_send_keys(Hs *h, const char *text)
{
	if (h->master < 0 || h->exited)
		return false;
	vt_output(text, strlen(text), h);
	return true;
}

static const struct {
	const char *name;
	VTermKey key;
	VTermModifier mod;
} key_names[] = {
	{"Enter", VTERM_KEY_ENTER, VTERM_MOD_NONE},
	{"Esc", VTERM_KEY_ESCAPE, VTERM_MOD_NONE},
	{"Tab", VTERM_KEY_TAB, VTERM_MOD_NONE},
	{"BTab", VTERM_KEY_TAB, VTERM_MOD_SHIFT},
	{"Up", VTERM_KEY_UP, VTERM_MOD_NONE},
	{"Down", VTERM_KEY_DOWN, VTERM_MOD_NONE},
	{"Left", VTERM_KEY_LEFT, VTERM_MOD_NONE},
	{"Right", VTERM_KEY_RIGHT, VTERM_MOD_NONE},
	{"PageUp", VTERM_KEY_PAGEUP, VTERM_MOD_NONE},
	{"PageDown", VTERM_KEY_PAGEDOWN, VTERM_MOD_NONE},
	{"Home", VTERM_KEY_HOME, VTERM_MOD_NONE},
	{"End", VTERM_KEY_END, VTERM_MOD_NONE},
	{"Backspace", VTERM_KEY_BACKSPACE, VTERM_MOD_NONE},
	{"Delete", VTERM_KEY_DEL, VTERM_MOD_NONE},
	{"Insert", VTERM_KEY_INS, VTERM_MOD_NONE},
};

bool hs_send_key(Hs *h, const char *name)
{
	if (h->master < 0 || h->exited)
		return false;
	/* libvterm produces the bytes a real xterm would, honouring the cursor-key
	 * mode ncurses switched on (ESC O A rather than ESC [ A). */
	for (size_t i = 0; i < QD_ARRAY_LEN(key_names); i++) {
		if (strcmp(name, key_names[i].name) == 0) {
			vterm_keyboard_key(h->vt, key_names[i].key, key_names[i].mod);
			return true;
		}
	}
	if (strcmp(name, "Space") == 0) {
		vterm_keyboard_unichar(h->vt, ' ', VTERM_MOD_NONE);
		return true;
	}
	if (name[0] == 'F' && name[1] >= '1' && name[1] <= '9') {
		int n = atoi(name + 1);
		if (n >= 1 && n <= 12) {
			vterm_keyboard_key(h->vt, VTERM_KEY_FUNCTION(n), VTERM_MOD_NONE);
			return true;
		}
	}
	if (name[0] == 'C' && name[1] == '-' && name[2] && !name[3]) {
		char c = name[2];
		/* C-] (the terminal pane's prefix), C-\ , C-^ and C-[ are control bytes too. */
		if (c == ']' || c == '\\' || c == '^' || c == '[') {
			char b = (char)(c & 0x1f);
			vt_output(&b, 1, h);
			return true;
		}
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c >= 'a' && c <= 'z') {
			char b = (char)(c - 'a' + 1);
			vt_output(&b, 1, h);
			return true;
		}
	}
	if (name[0] && !name[1]) {
		vt_output(name, 1, h);
		return true;
	}
	fprintf(stderr, "harness: unknown key name \"%s\"\n", name);
	return false;
}

/* ---- the screen ---------------------------------------------------------------- */

static void put_utf8(QdBuf *b, uint32_t c)
{
	char u[4];
	size_t n;
	if (c < 0x80) {
		u[0] = (char)c;
		n = 1;
	} else if (c < 0x800) {
		u[0] = (char)(0xc0 | (c >> 6));
		u[1] = (char)(0x80 | (c & 0x3f));
		n = 2;
	} else if (c < 0x10000) {
		u[0] = (char)(0xe0 | (c >> 12));
		u[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		u[2] = (char)(0x80 | (c & 0x3f));
		n = 3;
	} else if (c < 0x110000) {
		u[0] = (char)(0xf0 | (c >> 18));
		u[1] = (char)(0x80 | ((c >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((c >> 6) & 0x3f));
		u[3] = (char)(0x80 | (c & 0x3f));
		n = 4;
	} else {
		u[0] = '?';
		n = 1;
	}
	qdbuf_append(b, u, n);
}

/* Appends one screen row, trailing spaces trimmed. */
static void row_append(Hs *h, QdBuf *b, int row)
{
	size_t start = b->len;
	size_t keep = b->len;
	for (int col = 0; col < h->cols;) {
		VTermScreenCell c;
		memset(&c, 0, sizeof c);
		vterm_screen_get_cell(h->screen, (VTermPos){row, col}, &c);
		if (c.chars[0] == 0 || c.chars[0] == (uint32_t)-1) {
			qdbuf_append(b, " ", 1);
		} else {
			for (int i = 0; i < VTERM_MAX_CHARS_PER_CELL && c.chars[i]; i++)
				put_utf8(b, c.chars[i]);
			if (c.chars[0] != ' ')
				keep = b->len;
		}
		col += c.width > 0 ? c.width : 1;
	}
	(void)start;
	/* qdbuf keeps its NUL at len only on append: terminate the cut by hand. */
	b->len = keep;
	qdbuf_cstr(b);
	b->data[b->len] = '\0';
}

const char *hs_screen_text(Hs *h)
{
	qdbuf_reset(&h->text);
	for (int r = 0; r < h->rows; r++) {
		if (r > 0)
			qdbuf_append(&h->text, "\n", 1);
		row_append(h, &h->text, r);
	}
	return qdbuf_cstr(&h->text);
}

const char *hs_row(Hs *h, int row)
{
	qdbuf_reset(&h->rowbuf);
	if (row >= 0 && row < h->rows)
		row_append(h, &h->rowbuf, row);
	return qdbuf_cstr(&h->rowbuf);
}

int hs_find_row(Hs *h, const char *text)
{
	for (int r = 0; r < h->rows; r++)
		if (strstr(hs_row(h, r), text))
			return r;
	return -1;
}

bool hs_contains(Hs *h, const char *text)
{
	return strstr(hs_screen_text(h), text) != NULL;
}

void hs_dump(Hs *h, const char *why)
{
	fprintf(stderr, "---- screen %dx%d: %s ----\n", h->rows, h->cols, why);
	for (int r = 0; r < h->rows; r++)
		fprintf(stderr, "%02d|%s\n", r, hs_row(h, r));
	fprintf(stderr, "---- end of screen ----\n");
}

bool hs_resize(Hs *h, int rows, int cols)
{
	if (rows <= 0 || cols <= 0 || h->master < 0)
		return false;
	vterm_set_size(h->vt, rows, cols);
	h->rows = rows;
	h->cols = cols;
	struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
	/* The kernel sends SIGWINCH to the PTY's foreground process group. */
	return ioctl(h->master, TIOCSWINSZ, &ws) == 0;
}

int hs_rows(const Hs *h)
{
	return h->rows;
}

int hs_cols(const Hs *h)
{
	return h->cols;
}

uint64_t hs_bytes_written(const Hs *h)
{
	return h->bytes;
}

int64_t hs_first_byte_ms(const Hs *h)
{
	return h->first_byte_ms;
}

int64_t hs_spawn_mono_ms(const Hs *h)
{
	return h->spawn_ms;
}

int64_t hs_last_output_mono_ms(const Hs *h)
{
	return h->last_output_ms;
}

static int color_code(const VTermColor *c, bool fg)
{
	if (fg ? VTERM_COLOR_IS_DEFAULT_FG(c) : VTERM_COLOR_IS_DEFAULT_BG(c))
		return -1;
	if (VTERM_COLOR_IS_INDEXED(c))
		return c->indexed.idx;
	return 0x1000000 | (c->rgb.red << 16) | (c->rgb.green << 8) | c->rgb.blue;
}

HsAttrs hs_cell_attrs(Hs *h, int row, int col)
{
	HsAttrs a = {.fg = -1, .bg = -1};
	VTermScreenCell c;
	memset(&c, 0, sizeof c);
	if (row < 0 || row >= h->rows || col < 0 || col >= h->cols)
		return a;
	vterm_screen_get_cell(h->screen, (VTermPos){row, col}, &c);
	a.bold = c.attrs.bold;
	a.underline = c.attrs.underline != 0;
	a.italic = c.attrs.italic;
	a.reverse = c.attrs.reverse;
	a.fg = color_code(&c.fg, true);
	a.bg = color_code(&c.bg, false);
	return a;
}

int hs_cell_width(Hs *h, int row, int col)
{
	VTermScreenCell c;
	memset(&c, 0, sizeof c);
	if (row < 0 || row >= h->rows || col < 0 || col >= h->cols)
		return 0;
	vterm_screen_get_cell(h->screen, (VTermPos){row, col}, &c);
	/* libvterm marks the right half of a wide character with chars[0] = -1. */
	if (c.chars[0] == (uint32_t)-1)
		return 0;
	return c.width > 0 ? c.width : 1;
}

uint32_t hs_cell_char(Hs *h, int row, int col)
{
	VTermScreenCell c;
	memset(&c, 0, sizeof c);
	if (row < 0 || row >= h->rows || col < 0 || col >= h->cols)
		return 0;
	vterm_screen_get_cell(h->screen, (VTermPos){row, col}, &c);
	return c.chars[0] == (uint32_t)-1 ? 0 : c.chars[0];
}

void hs_watch_cell(Hs *h, int row, int col)
{
	h->watching = true;
	h->watch_row = row;
	h->watch_col = col;
	h->watch_base = hs_cell_attrs(h, row, col).reverse;
	h->watch_flipped = false;
}

bool hs_watch_flipped(const Hs *h)
{
	return h->watching && h->watch_flipped;
}

void hs_record_output(Hs *h, bool on)
{
	h->recording = on;
}

bool hs_output_has(const Hs *h, const void *needle, size_t len)
{
	return len > 0 && h->raw.len >= len && memmem(h->raw.data, h->raw.len, needle, len) != NULL;
}

bool hs_any_color(Hs *h)
{
	for (int r = 0; r < h->rows; r++)
		for (int c = 0; c < h->cols; c++) {
			HsAttrs a = hs_cell_attrs(h, r, c);
			if (a.fg != -1 || a.bg != -1)
				return true;
		}
	return false;
}

const char *hs_title(const Hs *h)
{
	return h->title;
}

int hs_bells(const Hs *h)
{
	return h->bells;
}

pid_t hs_qdeck_pid(const Hs *h)
{
	return h->qdeck;
}

pid_t hs_qdeckd_pid(const Hs *h)
{
	return h->qdeckd;
}

int hs_port(const Hs *h)
{
	return h->port;
}

const char *hs_dir(const Hs *h)
{
	return h->dir;
}

/* ---- qdeckd outages -------------------------------------------------------------- */

bool hs_server_kill(Hs *h)
{
	if (h->qdeckd <= 0)
		return false;
	kill(h->qdeckd, SIGKILL);
	bool ok = reap(h->qdeckd, 5000, NULL);
	h->qdeckd = 0;
	return ok;
}

bool hs_server_restart(Hs *h)
{
	if (h->qdeckd > 0 || h->port <= 0)
		return false;
	int port = h->port;
	/* The old socket may linger briefly; a few attempts cover TIME_WAIT races. */
	for (int attempt = 0; attempt < 5; attempt++) {
		if (server_spawn(h, port))
			return h->port == port;
		struct timespec ts = {0, 200 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	return false;
}

/* ---- the API ------------------------------------------------------------------------ */

static size_t curl_sink(char *p, size_t size, size_t n, void *ud)
{
	qdbuf_append(ud, p, size * n);
	return size * n;
}

char *hs_api(Hs *h, const char *method, const char *path, const char *body, long *status)
{
	*status = 0;
	if (h->port <= 0 || !h->token)
		return NULL;
	CURL *c = curl_easy_init();
	if (!c)
		return NULL;
	char url[1024];
	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", h->port, path);
	char *auth = xasprintf("Authorization: Bearer %s", h->token);
	struct curl_slist *hdrs = curl_slist_append(NULL, auth);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	QdBuf out;
	qdbuf_init(&out);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, curl_sink);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	/* No body means no body at all (no "Content-Length: 0"). */
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	CURLcode rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	else
		fprintf(stderr, "harness: %s %s: %s\n", method, path, curl_easy_strerror(rc));
	curl_slist_free_all(hdrs);
	memset(auth, 0, strlen(auth));
	free(auth);
	curl_easy_cleanup(c);
	char *res = xstrdup(qdbuf_cstr(&out));
	qdbuf_done(&out);
	return res;
}

/* ---- screenshots ---------------------------------------------------------------------- */

bool hs_write_txt(Hs *h, const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "harness: %s: %s\n", path, strerror(errno));
		return false;
	}
	fputs(hs_screen_text(h), f);
	fputc('\n', f);
	return fclose(f) == 0;
}

static uint32_t cell_rgb(Hs *h, VTermColor c, bool fg)
{
	if (fg ? VTERM_COLOR_IS_DEFAULT_FG(&c) : VTERM_COLOR_IS_DEFAULT_BG(&c))
		return fg ? HS_DEFAULT_FG : HS_DEFAULT_BG;
	vterm_screen_convert_color_to_rgb(h->screen, &c);
	return ((uint32_t)c.rgb.red << 16) | ((uint32_t)c.rgb.green << 8) | c.rgb.blue;
}

typedef struct {
	uint32_t fg, bg;
	bool bold, underline, italic;
	int width;
	uint32_t chars[VTERM_MAX_CHARS_PER_CELL];
} SvgCell;

static SvgCell svg_cell(Hs *h, int row, int col)
{
	VTermScreenCell c;
	memset(&c, 0, sizeof c);
	vterm_screen_get_cell(h->screen, (VTermPos){row, col}, &c);
	SvgCell s = {0};
	s.fg = cell_rgb(h, c.fg, true);
	s.bg = cell_rgb(h, c.bg, false);
	if (c.attrs.reverse) {
		uint32_t t = s.fg;
		s.fg = s.bg;
		s.bg = t;
	}
	s.bold = c.attrs.bold;
	s.underline = c.attrs.underline != 0;
	s.italic = c.attrs.italic;
	s.width = c.width > 0 ? c.width : 1;
	memcpy(s.chars, c.chars, sizeof s.chars);
	if (s.chars[0] == (uint32_t)-1)
		s.chars[0] = 0;
	return s;
}

static void svg_escape(FILE *f, const QdBuf *b)
{
	for (size_t i = 0; i < b->len; i++) {
		char ch = b->data[i];
		switch (ch) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		default: fputc(ch, f); break;
		}
	}
}

bool hs_write_svg(Hs *h, const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "harness: %s: %s\n", path, strerror(errno));
		return false;
	}
	/* Cell metrics for a 14px monospace font; text runs are placed per cell
	 * run so a font of slightly different advance cannot drift far. */
	const double cw = 8.4, ch = 18.0, pad = 8.0;
	double w = h->cols * cw + 2 * pad, ht = h->rows * ch + 2 * pad;
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
	           "viewBox=\"0 0 %.0f %.0f\" font-family=\"'DejaVu Sans Mono','Menlo','Consolas',monospace\" "
	           "font-size=\"14\">\n", w, ht, w, ht);
	fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"#%06x\"/>\n", HS_DEFAULT_BG);
	for (int r = 0; r < h->rows; r++) {
		/* Backgrounds: one rect per run of equal non-default colour. */
		for (int c = 0; c < h->cols;) {
			SvgCell s = svg_cell(h, r, c);
			int start = c;
			c += s.width;
			while (c < h->cols) {
				SvgCell n = svg_cell(h, r, c);
				if (n.bg != s.bg)
					break;
				c += n.width;
			}
			if (s.bg != HS_DEFAULT_BG)
				fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#%06x\"/>\n",
				        pad + start * cw, pad + r * ch, (c - start) * cw, ch, s.bg);
		}
		/* Text: one element per run of equal style; wide glyphs end a run so
		 * each starts on its own cell. */
		QdBuf run;
		qdbuf_init(&run);
		for (int c = 0; c < h->cols;) {
			SvgCell s = svg_cell(h, r, c);
			int start = c;
			qdbuf_reset(&run);
			bool ink = false;
			for (;;) {
				SvgCell n = svg_cell(h, r, c);
				if (c != start && (n.fg != s.fg || n.bold != s.bold || n.underline != s.underline ||
				                   n.italic != s.italic || n.width != 1))
					break;
				if (n.chars[0] == 0) {
					qdbuf_append(&run, " ", 1);
				} else {
					ink = ink || n.chars[0] != ' ';
					for (int i = 0; i < VTERM_MAX_CHARS_PER_CELL && n.chars[i]; i++)
						put_utf8(&run, n.chars[i]);
				}
				c += n.width;
				if (n.width != 1 || c >= h->cols)
					break;
			}
			if (!ink)
				continue;
			while (run.len > 0 && run.data[run.len - 1] == ' ')
				run.len--;
			fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#%06x\" xml:space=\"preserve\"%s%s%s>",
			        pad + start * cw, pad + r * ch + ch * 0.78, s.fg,
			        s.bold ? " font-weight=\"bold\"" : "",
			        s.underline ? " text-decoration=\"underline\"" : "",
			        s.italic ? " font-style=\"italic\"" : "");
			svg_escape(f, &run);
			fputs("</text>\n", f);
		}
		qdbuf_done(&run);
	}
	fputs("</svg>\n", f);
	return fclose(f) == 0;
}

bool hs_screenshot(Hs *h, const char *name)
{
	const char *dir = getenv("QD_SCREENSHOTS");
	if (!dir || !*dir)
		return true;
	mkdir(dir, 0755);
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s.txt", dir, name);
	bool ok = hs_write_txt(h, path);
	snprintf(path, sizeof path, "%s/%s.svg", dir, name);
	return hs_write_svg(h, path) && ok;
}

/* terminal — allocation shells for qdeckd: PTY sessions over WebSocket.
 *
 * A session is a heap object of its own (not lws's per-session data), because
 * its child process and its uv_poll outlive the socket: lws frees the
 * per-session data before a uv_close completes, and a hung-up shell still has
 * to be reaped. A session is freed once the socket is gone, the child reaped
 * and the poll handle closed.
 *
 * Flow: handshake (exact path, token consumed) → ESTABLISHED → first resize
 * starts the shell in a PTY → PTY output goes out one chunk at a time (the
 * poll stops reading while a chunk is in flight or the socket is choked, so a
 * flood backs up into the child) → child exit (SIGCHLD) and PTY drained →
 * status message → close. */
#include "server/terminal.h"

#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/termproto.h"
#include "common/util.h"

#define TOKEN_MAX 256
#define STDIN_HIGH (256 * 1024) /* stop reading the socket above this much unwritten input */
#define STDIN_LOW (64 * 1024)   /* and resume below this */
#define TICK_MS 250
#define PING_EVERY_MS 20000
#define IDLE_LIMIT_MS 65000    /* nothing (not even a pong) from the client for this long */
#define DRAIN_GRACE_MS 300     /* after exit, wait this long for PTY output held by grandchildren */
#define KILL_AFTER_MS 2000     /* SIGHUP first, SIGKILL if the shell ignores it */

typedef struct TermSession TermSession;

struct TermSession {
	TermSession *next;
	struct lws *wsi; /* NULL once the socket closed */
	char alloc_id[64];
	char user_id[64];

	pid_t pid; /* 0 = no child, or reaped */
	int master;
	uv_poll_t *poll; /* own allocation: freed in its close callback */
	int poll_events;
	bool started, child_exited, pty_eof, choked;
	int wstatus;
	int64_t exit_ms, hup_ms;

	uint8_t *rx; /* message reassembly, capped at TP_MAX_MESSAGE */
	size_t rx_len;

	uint8_t out[LWS_PRE + 1 + TP_CHUNK]; /* the one stdout chunk in flight */
	size_t out_len;
	QdBuf in; /* stdin waiting for the PTY */
	bool rx_paused;

	bool status_pending, status_sent;
	TpStatus status;
	bool close_pending;
	int close_code;
	char close_reason[124];
	bool ping_pending;
	int64_t last_rx_ms, last_ping_ms;
};

typedef struct {
	TermSession *s;
	char alloc_id[64];
	char user_id[64];
} Pss;

static struct {
	uv_loop_t *loop;
	Db *db;
	TermSession *sessions;
	uv_signal_t *sigchld;
	uv_timer_t *tick;
	bool up;
} g;

static void handle_free_cb(uv_handle_t *h) { free(h); }

static void session_log(const TermSession *s, const char *what)
{
	fprintf(stderr, "qdeckd: terminal %s alloc=%s user=%s pid=%d\n", what, s->alloc_id,
	        s->user_id, (int)s->pid);
}

static void session_maybe_free(TermSession *s)
{
	TermSession **pp;

	if (s->wsi || s->pid > 0 || s->poll)
		return;
	for (pp = &g.sessions; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	if (s->master >= 0)
		close(s->master);
	qdbuf_done(&s->in);
	free(s->rx);
	free(s);
}

static void poll_close(TermSession *s)
{
	if (!s->poll)
		return;
	uv_close((uv_handle_t *)s->poll, handle_free_cb);
	s->poll = NULL;
	if (s->master >= 0) {
		close(s->master);
		s->master = -1;
	}
}

static void hang_up(TermSession *s)
{
	if (s->pid > 0 && !s->child_exited && !s->hup_ms) {
		/* The shell leads its own session (forkpty → setsid), so its pid is the
		 * process group: hang up the whole job, like a closed terminal would. */
		kill(-s->pid, SIGHUP);
		kill(s->pid, SIGHUP);
		s->hup_ms = qd_mono_ms();
	}
}

static void want_write(TermSession *s)
{
	if (s->wsi)
		lws_callback_on_writable(s->wsi);
}

/* Ends the session with a status message (sent before the close). */
static void session_end_status(TermSession *s, const TpStatus *st)
{
	if (s->status_pending || s->status_sent)
		return;
	s->status = *st;
	s->status_pending = true;
	want_write(s);
}

static void session_fail(TermSession *s, const char *reason, const char *fmt, const char *arg)
{
	TpStatus st;

	memset(&st, 0, sizeof(st));
	qd_strlcpy(st.reason, reason, sizeof(st.reason));
	snprintf(st.message, sizeof(st.message), fmt, arg ? arg : "");
	session_end_status(s, &st);
}

/* Closes the socket with a code and one-line reason (never containing input). */
static int close_now(struct lws *wsi, enum lws_close_status code, const char *reason)
{
	lws_close_reason(wsi, code, (unsigned char *)reason, strlen(reason));
	return -1;
}

static void pty_cb(uv_poll_t *h, int status, int events);

static void update_poll(TermSession *s)
{
	int ev = 0;

	if (!s->poll)
		return;
	if (s->wsi && s->started && !s->pty_eof && !s->out_len && !s->choked && !s->status_sent &&
	    !s->status_pending)
		ev |= UV_READABLE;
	if (s->in.len && !s->child_exited)
		ev |= UV_WRITABLE;
	if (ev == s->poll_events)
		return;
	s->poll_events = ev;
	if (ev)
		uv_poll_start(s->poll, ev, pty_cb);
	else
		uv_poll_stop(s->poll);
}

/* Once the child is gone and its output drained, say how it ended. */
static void maybe_finish(TermSession *s)
{
	TpStatus st;

	if (!s->child_exited || !s->pty_eof || s->out_len)
		return;
	termproto_status_from_wait(&st, s->wstatus);
	session_end_status(s, &st);
	update_poll(s);
}

static void flush_stdin(TermSession *s)
{
	while (s->in.len && s->master >= 0) {
		ssize_t n = write(s->master, s->in.data, s->in.len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				s->in.len = 0; /* the shell is gone; input has nowhere to go */
			break;
		}
		memmove(s->in.data, s->in.data + n, s->in.len - (size_t)n);
		s->in.len -= (size_t)n;
	}
	if (s->rx_paused && s->in.len < STDIN_LOW && s->wsi) {
		s->rx_paused = false;
		lws_rx_flow_control(s->wsi, 1);
	}
}

static void pty_cb(uv_poll_t *h, int status, int events)
{
	TermSession *s = h->data;

	if (status < 0) {
		/* EBADF/EIO on a master whose slave side is gone: treat as EOF. */
		s->pty_eof = true;
		update_poll(s);
		maybe_finish(s);
		return;
	}
	if (events & UV_WRITABLE)
		flush_stdin(s);
	if ((events & UV_READABLE) && !s->out_len && s->wsi) {
		ssize_t n = read(s->master, s->out + LWS_PRE + 1, TP_CHUNK);

		if (n > 0) {
			s->out[LWS_PRE] = TP_CH_STDOUT;
			s->out_len = (size_t)n + 1;
			want_write(s);
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			s->pty_eof = true; /* EIO: every slave fd is closed */
		}
	}
	update_poll(s);
	maybe_finish(s);
}

/* Everything the child needs is prepared before fork: after it, only
 * async-signal-safe calls. */
static int session_spawn(TermSession *s, int cols, int rows)
{
	struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
	static const char *keep[] = {"PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LC_ALL",
	                             "LC_CTYPE", "TZ", "TMPDIR"};
	const char *shell = getenv("SHELL");
	char *workdir, *envp[QD_ARRAY_LEN(keep) + 4], *argv[2];
	const char *base;
	size_t ne = 0, i;
	int master;
	pid_t pid;

	if (!shell || shell[0] != '/' || access(shell, X_OK) != 0)
		shell = access("/bin/bash", X_OK) == 0 ? "/bin/bash" : "/bin/sh";
	workdir = model_allocation_workdir(g.db, s->alloc_id);
	if (!workdir) {
		session_fail(s, "NoWorkdir", "allocation %s has no scratch directory on this host",
		             s->alloc_id);
		return -1;
	}
	/* A clean environment: the server's own variables (tokens, config) stay out. */
	for (i = 0; i < QD_ARRAY_LEN(keep); i++) {
		const char *v = getenv(keep[i]);

		if (v)
			envp[ne++] = xasprintf("%s=%s", keep[i], v);
	}
	envp[ne++] = xstrdup("TERM=xterm-256color");
	envp[ne++] = xasprintf("QD_ALLOCATION_ID=%s", s->alloc_id);
	envp[ne] = NULL;
	base = strrchr(shell, '/');
	argv[0] = (char *)(base ? base + 1 : shell);
	argv[1] = NULL;

	pid = forkpty(&master, NULL, NULL, &ws);
	if (pid == 0) {
		sigset_t none;
		int sig;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		for (sig = 1; sig < NSIG; sig++)
			signal(sig, SIG_DFL);
		close_range(3, ~0U, 0);
		if (chdir(workdir) != 0) {
			static const char msg[] = "qdeckd: cannot enter the allocation's directory\r\n";

			if (write(2, msg, sizeof(msg) - 1) < 0) {
				/* nothing more to say */
			}
			_exit(126);
		}
		execve(shell, argv, envp);
		_exit(127);
	}
	for (i = 0; i < ne; i++)
		free(envp[i]);
	free(workdir);
	if (pid < 0) {
		session_fail(s, "SpawnFailed", "cannot start a shell: %s", strerror(errno));
		return -1;
	}
	fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
	fcntl(master, F_SETFD, FD_CLOEXEC);
	s->master = master;
	s->pid = pid;
	s->started = true;
	s->poll = xcalloc(1, sizeof(*s->poll));
	if (uv_poll_init(g.loop, s->poll, master) != 0) {
		free(s->poll);
		s->poll = NULL;
		hang_up(s);
		session_fail(s, "SpawnFailed", "cannot watch the shell's terminal%s", "");
		return -1;
	}
	s->poll->data = s;
	session_log(s, "started");
	flush_stdin(s);
	update_poll(s);
	return 0;
}

static void handle_resize(TermSession *s, const TpFrame *f)
{
	int w, h;
	TpError e = termproto_resize_parse(f->data, f->len, &w, &h);

	if (e != TP_OK) {
		s->close_pending = true;
		s->close_code = LWS_CLOSE_STATUS_POLICY_VIOLATION;
		snprintf(s->close_reason, sizeof(s->close_reason), "bad resize: %s",
		         termproto_strerror(e));
		want_write(s);
		return;
	}
	if (!s->started) {
		if (!s->status_pending && !s->status_sent)
			session_spawn(s, w, h);
		return;
	}
	if (s->master >= 0) {
		struct winsize ws = {.ws_row = (unsigned short)h, .ws_col = (unsigned short)w};

		ioctl(s->master, TIOCSWINSZ, &ws); /* the kernel sends SIGWINCH to the job */
	}
}

/* Dispatches one complete client message; returns non-zero to close. */
static int handle_message(struct lws *wsi, TermSession *s)
{
	TpFrame f;
	TpError e = termproto_decode(s->rx, s->rx_len, &f);
	char reason[120];

	if (e != TP_OK) {
		snprintf(reason, sizeof(reason), "%s", termproto_strerror(e));
		return close_now(wsi,
		                 e == TP_ERR_TOO_BIG ? LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE
		                                     : LWS_CLOSE_STATUS_PROTOCOL_ERR,
		                 reason);
	}
	switch (f.channel) {
	case TP_CH_STDIN:
		if (s->status_pending || s->status_sent)
			return 0;
		qdbuf_append(&s->in, f.data, f.len);
		if (s->in.len > STDIN_HIGH && !s->rx_paused) {
			s->rx_paused = true;
			lws_rx_flow_control(wsi, 0);
		}
		if (s->started) {
			flush_stdin(s);
			update_poll(s);
		}
		return 0;
	case TP_CH_RESIZE:
		handle_resize(s, &f);
		return 0;
	case TP_CH_CLOSE:
		/* The client closed stdin: hang up, the exit status follows. */
		if (!s->started)
			return close_now(wsi, LWS_CLOSE_STATUS_NORMAL, "closed before the shell started");
		hang_up(s);
		return 0;
	default:
		snprintf(reason, sizeof(reason), "channel %u is server-to-client only",
		         (unsigned)f.channel);
		return close_now(wsi, LWS_CLOSE_STATUS_PROTOCOL_ERR, reason);
	}
}

static int on_receive(struct lws *wsi, TermSession *s, const void *in, size_t len)
{
	s->last_rx_ms = qd_mono_ms();
	if (lws_is_first_fragment(wsi))
		s->rx_len = 0;
	if (!lws_frame_is_binary(wsi))
		return close_now(wsi, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE,
		                 "text frames are not part of v5.channel.k8s.io: send binary");
	if (s->rx_len + len > TP_MAX_MESSAGE)
		return close_now(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
		                 "message exceeds the 65536-byte cap");
	if (!s->rx)
		s->rx = xmalloc(TP_MAX_MESSAGE);
	if (len)
		memcpy(s->rx + s->rx_len, in, len);
	s->rx_len += len;
	if (!lws_is_final_fragment(wsi))
		return 0;
	return handle_message(wsi, s);
}

static int on_writeable(struct lws *wsi, TermSession *s)
{
	if (s->close_pending)
		return close_now(wsi, (enum lws_close_status)s->close_code, s->close_reason);
	if (s->ping_pending) {
		uint8_t buf[LWS_PRE + 1];

		s->ping_pending = false;
		if (lws_write(wsi, buf + LWS_PRE, 0, LWS_WRITE_PING) < 0)
			return -1;
		lws_callback_on_writable(wsi);
		return 0;
	}
	if (s->out_len && !(s->status_pending && !s->status.has_code)) {
		if (lws_write(wsi, s->out + LWS_PRE, s->out_len, LWS_WRITE_BINARY) < (int)s->out_len)
			return -1;
		s->out_len = 0;
		/* One chunk in flight: if lws had to buffer part of it, wait for the
		 * next WRITEABLE before reading the PTY again. */
		s->choked = lws_send_pipe_choked(wsi);
		if (s->choked || s->status_pending)
			lws_callback_on_writable(wsi);
		update_poll(s);
		maybe_finish(s);
		return 0;
	}
	if (s->choked) {
		s->choked = false;
		update_poll(s);
	}
	if (s->status_pending) {
		uint8_t buf[LWS_PRE + 1 + TP_MAX_CONTROL];
		size_t n = termproto_status_format((char *)buf + LWS_PRE + 1, TP_MAX_CONTROL, &s->status);

		buf[LWS_PRE] = TP_CH_STATUS;
		s->status_pending = false;
		s->status_sent = true;
		if (n && lws_write(wsi, buf + LWS_PRE, n + 1, LWS_WRITE_BINARY) < (int)n + 1)
			return -1;
		s->close_pending = true;
		s->close_code = LWS_CLOSE_STATUS_NORMAL;
		qd_strlcpy(s->close_reason, "session ended", sizeof(s->close_reason));
		hang_up(s);
		update_poll(s);
		lws_callback_on_writable(wsi);
	}
	return 0;
}

/* Writes a small HTTP error before the upgrade is refused, so the client can
 * tell "bad token" from a network failure. */
static void refuse(struct lws *wsi, unsigned status, const char *code, const char *message)
{
	uint8_t buf[LWS_PRE + 1024], *p = buf + LWS_PRE, *end = buf + sizeof(buf);
	char body[384];
	int n = snprintf(body, sizeof(body), "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}", code,
	                 message);

	if (lws_add_http_header_status(wsi, status, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
	                                 (const unsigned char *)"application/json", 16, &p, end) ||
	    lws_add_http_header_content_length(wsi, (lws_filepos_t)n, &p, end) ||
	    lws_finalize_http_header(wsi, &p, end))
		return;
	if (end - p < n)
		return;
	memcpy(p, body, (size_t)n);
	p += n;
	lws_write(wsi, buf + LWS_PRE, (size_t)(p - (buf + LWS_PRE)), LWS_WRITE_HTTP_HEADERS);
}

/* The handshake: exact path, no query, a single-use token. Non-zero refuses
 * the upgrade; no session or process exists yet. */
static int filter(struct lws *wsi, Pss *pss)
{
	char uri[128], auth[TOKEN_MAX + 16];
	int ulen = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI);
	int alen;

	if (ulen <= 0 || ulen >= (int)sizeof(uri) ||
	    lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) != ulen ||
	    strcmp(uri, TERMINAL_PATH) != 0 || lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS) > 0) {
		refuse(wsi, 404, "not_found", "the terminal endpoint is exactly " TERMINAL_PATH);
		return 1;
	}
	alen = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
	if (alen <= 7 || alen >= (int)sizeof(auth) ||
	    lws_hdr_copy(wsi, auth, sizeof(auth), WSI_TOKEN_HTTP_AUTHORIZATION) != alen ||
	    strncmp(auth, "Bearer ", 7) != 0 ||
	    !model_terminal_token_consume(g.db, auth + 7, pss->alloc_id, sizeof(pss->alloc_id),
	                                  pss->user_id, sizeof(pss->user_id))) {
		explicit_bzero(auth, sizeof(auth));
		refuse(wsi, 401, "unauthorized",
		       "terminal token missing, unknown, expired or already used: mint a new one");
		return 1;
	}
	explicit_bzero(auth, sizeof(auth));
	return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                    size_t len)
{
	Pss *pss = user;
	TermSession *s = pss ? pss->s : NULL;

	switch (reason) {
	case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
		if (!g.up || !pss)
			return 1;
		memset(pss, 0, sizeof(*pss));
		return filter(wsi, pss);
	case LWS_CALLBACK_ESTABLISHED:
		if (!g.up || !pss || !pss->alloc_id[0])
			return -1;
		s = xcalloc(1, sizeof(*s));
		s->wsi = wsi;
		s->master = -1;
		qd_strlcpy(s->alloc_id, pss->alloc_id, sizeof(s->alloc_id));
		qd_strlcpy(s->user_id, pss->user_id, sizeof(s->user_id));
		qdbuf_init(&s->in);
		s->last_rx_ms = s->last_ping_ms = qd_mono_ms();
		s->next = g.sessions;
		g.sessions = s;
		pss->s = s;
		session_log(s, "connected");
		return 0;
	case LWS_CALLBACK_RECEIVE:
		return s ? on_receive(wsi, s, in, len) : -1;
	case LWS_CALLBACK_RECEIVE_PONG:
		if (s)
			s->last_rx_ms = qd_mono_ms();
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return s ? on_writeable(wsi, s) : 0;
	case LWS_CALLBACK_CLOSED:
		if (!s)
			return 0;
		pss->s = NULL;
		s->wsi = NULL;
		session_log(s, "closed");
		hang_up(s);
		poll_close(s);
		session_maybe_free(s);
		return 0;
	default:
		return 0;
	}
}

static void sigchld_cb(uv_signal_t *h, int signum)
{
	TermSession *s, *next;

	for (s = g.sessions; s; s = next) {
		int st;

		next = s->next;
		if (s->pid <= 0 || s->child_exited)
			continue;
		if (waitpid(s->pid, &st, WNOHANG) != s->pid)
			continue;
		s->child_exited = true;
		s->wstatus = st;
		s->exit_ms = qd_mono_ms();
		session_log(s, "exited");
		if (!s->wsi) {
			s->pid = 0;
			session_maybe_free(s);
			continue;
		}
		s->pid = 0;
		update_poll(s);
		maybe_finish(s);
	}
}

static void tick_cb(uv_timer_t *h)
{
	int64_t now = qd_mono_ms();
	TermSession *s, *next;

	for (s = g.sessions; s; s = next) {
		next = s->next;
		if (s->child_exited && !s->pty_eof && now - s->exit_ms >= DRAIN_GRACE_MS) {
			/* A background job still holds the PTY open: do not wait for it. */
			s->pty_eof = true;
			maybe_finish(s);
		}
		if (s->pid > 0 && s->hup_ms && now - s->hup_ms >= KILL_AFTER_MS) {
			kill(-s->pid, SIGKILL);
			kill(s->pid, SIGKILL);
		}
		if (!s->wsi)
			continue;
		if (now - s->last_rx_ms >= IDLE_LIMIT_MS && !s->close_pending) {
			s->close_pending = true;
			s->close_code = LWS_CLOSE_STATUS_GOINGAWAY;
			qd_strlcpy(s->close_reason, "keepalive: no pong from the client",
			           sizeof(s->close_reason));
			want_write(s);
		} else if (now - s->last_ping_ms >= PING_EVERY_MS) {
			s->last_ping_ms = now;
			s->ping_pending = true;
			want_write(s);
		}
	}
}

static const char *leaving_reason(AllocState st)
{
	switch (st) {
	case ALLOC_RESTARTING: return "allocation is restarting";
	case ALLOC_RELEASING: return "allocation is being released";
	case ALLOC_RELEASED: return "allocation was released";
	case ALLOC_FAILED:
	case ALLOC_RESTART_FAILED:
	case ALLOC_RELEASE_FAILED: return "allocation failed";
	default: return "allocation is no longer active";
	}
}

static void state_hook(void *ud, const char *alloc_id, AllocState state)
{
	TermSession *s;

	if (state == ALLOC_ACTIVE || !alloc_id)
		return;
	for (s = g.sessions; s; s = s->next) {
		if (!s->wsi || strcmp(s->alloc_id, alloc_id) != 0)
			continue;
		session_fail(s, "AllocationNotActive", "%s", leaving_reason(state));
		/* Output still queued is dropped: the status goes out now. */
		s->out_len = 0;
		hang_up(s);
		update_poll(s);
	}
}

int terminal_init(uv_loop_t *loop, Db *db)
{
	g.loop = loop;
	g.db = db;
	g.sigchld = xcalloc(1, sizeof(*g.sigchld));
	g.tick = xcalloc(1, sizeof(*g.tick));
	if (uv_signal_init(loop, g.sigchld) != 0 || uv_timer_init(loop, g.tick) != 0) {
		free(g.sigchld);
		free(g.tick);
		g.sigchld = NULL;
		g.tick = NULL;
		return -1;
	}
	uv_signal_start(g.sigchld, sigchld_cb, SIGCHLD);
	uv_timer_start(g.tick, tick_cb, TICK_MS, TICK_MS);
	/* Neither handle should keep the loop alive on its own. */
	uv_unref((uv_handle_t *)g.sigchld);
	uv_unref((uv_handle_t *)g.tick);
	model_set_state_hook(db, state_hook, NULL);
	g.up = true;
	return 0;
}

void terminal_shutdown(void)
{
	TermSession *s, *next;

	if (!g.up)
		return;
	g.up = false;
	for (s = g.sessions; s; s = next) {
		next = s->next;
		if (s->pid > 0) {
			int st;

			kill(-s->pid, SIGKILL);
			kill(s->pid, SIGKILL);
			/* SIGKILL cannot be caught: this wait is immediate in practice. */
			waitpid(s->pid, &st, 0);
			s->pid = 0;
		}
		poll_close(s);
		session_maybe_free(s);
	}
	if (g.sigchld)
		uv_close((uv_handle_t *)g.sigchld, handle_free_cb);
	if (g.tick)
		uv_close((uv_handle_t *)g.tick, handle_free_cb);
	g.sigchld = NULL;
	g.tick = NULL;
}

struct lws_protocols terminal_protocol(void)
{
	struct lws_protocols p = {
	    .name = TERMINAL_SUBPROTOCOL,
	    .callback = callback,
	    .per_session_data_size = sizeof(Pss),
	    .rx_buffer_size = 0,
	    .tx_packet_size = 0,
	};
	return p;
}

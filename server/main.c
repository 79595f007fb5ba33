/* qdeckd — the local control plane: flags, the token subcommand, the one libuv
 * loop (lws, reconciler, signals) and the clean shutdown. */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <uv.h>

#include "common/util.h"
#include "server/http.h"
#include "server/model.h"
#include "server/reconciler.h"

#define SHUTDOWN_GRACE_MS 150 /* time for WebSocket close frames to leave */

static const char USAGE[] =
	"usage: qdeckd [options]\n"
	"       qdeckd [--db PATH] token create --user NAME\n"
	"\n"
	"The local quarterdeck control plane: the v1 API over HTTP and WebSocket.\n"
	"\n"
	"  --db PATH           database (default $XDG_STATE_HOME/quarterdeck/qdeckd.db)\n"
	"  --socket PATH       unix socket to listen on (default $XDG_RUNTIME_DIR/quarterdeck/qdeckd.sock)\n"
	"  --listen HOST:PORT  listen on TCP instead (port 0 picks a free port)\n"
	"  --port-file PATH    write the TCP port there once listening\n"
	"  --public            allow a non-loopback HOST\n"
	"  --seed demo         create the demo fleet on an empty database\n"
	"  --speed N           reconciler speed factor (> 0, default 1)\n"
	"  --rate N            requests per second per token (default 200, burst 2N)\n"
	"  --help, --version\n"
	"\n"
	"token create --user NAME prints a new bearer token for NAME on stdout.\n";

typedef struct {
	const char *db_path;
	const char *socket_path;
	const char *listen;
	const char *port_file;
	bool public_ok;
	bool seed_demo;
	double speed;
	double rate;
	bool token_create;
	const char *token_user;
} Options;

static struct {
	uv_loop_t loop;
	uv_signal_t sigterm, sigint;
	uv_timer_t grace;
	HttpServer *http;
	Reconciler *rec;
	Db *db;
	bool stopping;
} M;

static _Noreturn void bad_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "qdeckd: ");
	fprintf(stderr, fmt, arg ? arg : "");
	fprintf(stderr, "\nqdeckd: try 'qdeckd --help'\n");
	exit(2);
}

static bool parse_double(const char *s, double *out)
{
	char *end = NULL;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v > 0) || v > 1e6)
		return false;
	*out = v;
	return true;
}

static void parse_args(int argc, char **argv, Options *o)
{
	const char *words[3] = {0};
	int nwords = 0;
	memset(o, 0, sizeof *o);
	o->speed = 1;
	o->rate = 200;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *next = i + 1 < argc ? argv[i + 1] : NULL;
#define NEED_VALUE()                                              \
	do {                                                      \
		if (!next)                                        \
			bad_usage("%s needs a value", a);         \
		i++;                                              \
	} while (0)
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(USAGE, stdout);
			exit(0);
		} else if (strcmp(a, "--version") == 0) {
			printf("qdeckd %s\n", QD_VERSION);
			exit(0);
		} else if (strcmp(a, "--db") == 0) {
			NEED_VALUE();
			o->db_path = next;
		} else if (strcmp(a, "--socket") == 0) {
			NEED_VALUE();
			o->socket_path = next;
		} else if (strcmp(a, "--listen") == 0) {
			NEED_VALUE();
			o->listen = next;
		} else if (strcmp(a, "--port-file") == 0) {
			NEED_VALUE();
			o->port_file = next;
		} else if (strcmp(a, "--public") == 0) {
			o->public_ok = true;
		} else if (strcmp(a, "--seed") == 0) {
			NEED_VALUE();
			if (strcmp(next, "demo") != 0)
				bad_usage("unknown seed '%s' (the only one is 'demo')", next);
			o->seed_demo = true;
		} else if (strcmp(a, "--speed") == 0) {
			NEED_VALUE();
			if (!parse_double(next, &o->speed))
				bad_usage("--speed needs a number greater than 0, got '%s'", next);
		} else if (strcmp(a, "--rate") == 0) {
			NEED_VALUE();
			if (!parse_double(next, &o->rate))
				bad_usage("--rate needs a number greater than 0, got '%s'", next);
		} else if (strcmp(a, "--user") == 0) {
			NEED_VALUE();
			o->token_user = next;
		} else if (a[0] == '-') {
			bad_usage("unknown option '%s'", a);
		} else {
			if (nwords >= 2)
				bad_usage("unexpected argument '%s'", a);
			words[nwords++] = a;
		}
#undef NEED_VALUE
	}
	if (nwords > 0) {
		if (strcmp(words[0], "token") != 0)
			bad_usage("unknown command '%s' (the only one is 'token create')", words[0]);
		if (nwords < 2 || strcmp(words[1], "create") != 0)
			bad_usage("%s", "usage: qdeckd token create --user NAME");
		if (!o->token_user || !*o->token_user)
			bad_usage("%s", "token create needs --user NAME");
		o->token_create = true;
	} else if (o->token_user) {
		bad_usage("%s", "--user only goes with 'token create'");
	}
	if (o->listen && o->socket_path)
		bad_usage("%s", "give either --listen or --socket, not both");
	if (o->port_file && !o->listen)
		bad_usage("%s", "--port-file needs --listen");
}

/* mkdir -p for the parent directories of path, each 0700 when created. */
static int make_parents(const char *path)
{
	char *dir = xstrdup(path);
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			free(dir);
			return -1;
		}
		*p = '/';
	}
	free(dir);
	return 0;
}

static char *default_db_path(void)
{
	char dir[4096];
	if (qd_xdg_dir("XDG_STATE_HOME", ".local/state", dir, sizeof dir) < 0)
		return NULL;
	return xasprintf("%s/qdeckd.db", dir);
}

static char *default_socket_path(void)
{
	const char *rt = getenv("XDG_RUNTIME_DIR");
	if (rt && rt[0] == '/')
		return xasprintf("%s/quarterdeck/qdeckd.sock", rt);
	return xasprintf("/tmp/quarterdeck-%u/qdeckd.sock", (unsigned)getuid());
}

/* The socket's directory must be ours and closed to others: a shared /tmp
 * directory made by someone else could hand our clients a fake server. */
static int prepare_socket_dir(const char *sock)
{
	char *dir = xstrdup(sock);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir)
		*slash = '\0';
	if (make_parents(sock) != 0) {
		fprintf(stderr, "qdeckd: cannot create %s: %s\n", dir, strerror(errno));
		free(dir);
		return -1;
	}
	struct stat st;
	if (stat(dir, &st) != 0 || st.st_uid != getuid() || (st.st_mode & 0077)) {
		if (stat(dir, &st) == 0 && st.st_uid == getuid() && chmod(dir, 0700) == 0) {
			free(dir);
			return 0;
		}
		fprintf(stderr, "qdeckd: %s must be a directory owned by you with mode 0700\n", dir);
		free(dir);
		return -1;
	}
	free(dir);
	return 0;
}

/* 1: another server answers there; 0: free (a stale socket was removed); -1 error. */
static int claim_socket(const char *path)
{
	struct sockaddr_un sa;
	if (strlen(path) >= sizeof sa.sun_path) {
		fprintf(stderr, "qdeckd: socket path too long: %s\n", path);
		return -1;
	}
	struct stat st;
	if (lstat(path, &st) != 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		fprintf(stderr, "qdeckd: %s exists and is not a socket\n", path);
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
	close(fd);
	if (rc == 0)
		return 1;
	unlink(path);
	return 0;
}

static bool host_is_loopback(const char *h)
{
	return strncmp(h, "127.", 4) == 0 || strcmp(h, "::1") == 0;
}

/* "HOST:PORT" or "[V6]:PORT"; HOST "localhost" means 127.0.0.1. */
static void parse_listen(const char *spec, char *host, size_t hostsz, int *port)
{
	const char *colon;
	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');
		if (!close || close[1] != ':')
			bad_usage("--listen wants HOST:PORT or [V6ADDR]:PORT, got '%s'", spec);
		size_t n = (size_t)(close - spec - 1);
		if (n == 0 || n >= hostsz)
			bad_usage("bad address in --listen '%s'", spec);
		memcpy(host, spec + 1, n);
		host[n] = '\0';
		colon = close + 1;
	} else {
		colon = strrchr(spec, ':');
		if (!colon || colon == spec || (size_t)(colon - spec) >= hostsz)
			bad_usage("--listen wants HOST:PORT, got '%s'", spec);
		memcpy(host, spec, (size_t)(colon - spec));
		host[colon - spec] = '\0';
	}
	char *end = NULL;
	errno = 0;
	long p = strtol(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || p < 0 || p > 65535)
		bad_usage("--listen port must be 0..65535, got '%s'", colon + 1);
	*port = (int)p;
	if (strcmp(host, "localhost") == 0)
		qd_strlcpy(host, "127.0.0.1", hostsz);
	for (const char *c = host; *c; c++)
		if (!strchr("0123456789abcdefABCDEF.:", *c))
			bad_usage("--listen wants a numeric address (or localhost), got '%s'", host);
}

static int write_port_file(const char *path, int port)
{
	char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
	FILE *f = fopen(tmp, "w");
	if (!f) {
		free(tmp);
		return -1;
	}
	fprintf(f, "%d\n", port);
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}

static int token_create(Db *db, const char *user)
{
	ApiError err;
	char *tok = db_token_create(db, user, &err);
	if (!tok) {
		fprintf(stderr, "qdeckd: token create: %s\n", err.message);
		return 1;
	}
	printf("%s\n", tok);
	fflush(stdout);
	/* The plaintext exists nowhere else: wipe our copy. */
	memset(tok, 0, strlen(tok));
	free(tok);
	return 0;
}

static void on_grace(uv_timer_t *t)
{
	/* Step 2 of the shutdown dance: destroy from a uv callback, close our handles. */
	http_shutdown_in_loop(M.http);
	reconciler_free(&M.rec);
	uv_close((uv_handle_t *)&M.sigterm, NULL);
	uv_close((uv_handle_t *)&M.sigint, NULL);
	uv_close((uv_handle_t *)t, NULL);
}

static void on_signal(uv_signal_t *h, int signum)
{
	(void)h;
	if (M.stopping)
		return;
	M.stopping = true;
	fprintf(stderr, "qdeckd: %s: shutting down\n", signum == SIGTERM ? "SIGTERM" : "SIGINT");
	http_shutdown_begin(M.http);
	uv_timer_init(&M.loop, &M.grace);
	uv_timer_start(&M.grace, on_grace, SHUTDOWN_GRACE_MS, 0);
}

int main(int argc, char **argv)
{
	Options o;
	parse_args(argc, argv, &o);
	signal(SIGPIPE, SIG_IGN);
	/* A 500-row page is ~0.5 MB of JSON built and freed per request: keep such
	 * blocks on the heap instead of a fresh mmap (and its page faults) each time. */
	mallopt(M_MMAP_THRESHOLD, 8 << 20);
	mallopt(M_TRIM_THRESHOLD, 32 << 20);

	char *db_path = o.db_path ? xstrdup(o.db_path) : default_db_path();
	if (!db_path) {
		fprintf(stderr, "qdeckd: no --db given and neither XDG_STATE_HOME nor HOME is set\n");
		return 2;
	}
	if (!o.db_path && make_parents(db_path) != 0) {
		fprintf(stderr, "qdeckd: cannot create the directory for %s: %s\n", db_path,
		        strerror(errno));
		return 1;
	}

	char host[64] = "";
	int port = 0;
	char *sock = NULL;
	if (!o.token_create) {
		if (o.listen) {
			parse_listen(o.listen, host, sizeof host, &port);
			if (!host_is_loopback(host) && !o.public_ok)
				bad_usage("refusing to listen on non-loopback address '%s' without --public", host);
		} else {
			sock = o.socket_path ? xstrdup(o.socket_path) : default_socket_path();
			if (prepare_socket_dir(sock) != 0)
				return 1;
			int claimed = claim_socket(sock);
			if (claimed != 0) {
				if (claimed > 0)
					fprintf(stderr, "qdeckd: another qdeckd is already listening on %s\n", sock);
				return 1;
			}
		}
	}

	ApiError err;
	M.db = db_open(db_path, &err);
	if (!M.db) {
		fprintf(stderr, "qdeckd: cannot open database %s: %s\n", db_path, err.message);
		return 1;
	}
	if (o.token_create) {
		int rc = token_create(M.db, o.token_user);
		db_close(&M.db);
		free(db_path);
		return rc;
	}
	if (o.seed_demo) {
		int seeded = db_seed_demo(M.db, &err);
		if (seeded < 0) {
			fprintf(stderr, "qdeckd: demo seed failed: %s\n", err.message);
			db_close(&M.db);
			return 1;
		}
		fprintf(stderr, "qdeckd: %s\n", seeded ? "seeded the demo fleet"
		                                       : "database already has data; demo seed skipped");
	}

	uv_loop_init(&M.loop);
	M.rec = reconciler_new(&M.loop, M.db, o.speed);
	HttpConfig cfg = {
		.host = o.listen ? host : NULL,
		.port = port,
		.unix_path = sock,
		.db = M.db,
		.rec = M.rec,
		.rate = o.rate,
	};
	char why[256];
	M.http = http_new(&M.loop, &cfg, why, sizeof why);
	if (!M.http) {
		fprintf(stderr, "qdeckd: %s\n", why);
		reconciler_free(&M.rec);
		uv_run(&M.loop, UV_RUN_NOWAIT);
		db_close(&M.db);
		return 1;
	}
	if (o.listen) {
		fprintf(stderr, strchr(host, ':') ? "listening on [%s]:%d\n" : "listening on %s:%d\n",
		        host, http_port(M.http));
		if (o.port_file && write_port_file(o.port_file, http_port(M.http)) != 0) {
			fprintf(stderr, "qdeckd: cannot write %s: %s\n", o.port_file, strerror(errno));
			return 1;
		}
	} else {
		chmod(sock, 0600);
		fprintf(stderr, "listening on %s\n", sock);
	}

	uv_signal_init(&M.loop, &M.sigterm);
	uv_signal_start(&M.sigterm, on_signal, SIGTERM);
	uv_signal_init(&M.loop, &M.sigint);
	uv_signal_start(&M.sigint, on_signal, SIGINT);

	uv_run(&M.loop, UV_RUN_DEFAULT);

	/* Step 3: uv_run returned; the second destroy frees lws, then the loop closes. */
	http_free(&M.http);
	if (uv_loop_close(&M.loop) != 0) {
		uv_run(&M.loop, UV_RUN_NOWAIT);
		uv_loop_close(&M.loop);
	}
	db_close(&M.db); /* checkpoints the WAL */
	if (sock)
		unlink(sock);
	fprintf(stderr, "qdeckd: stopped\n");
	free(sock);
	free(db_path);
	return 0;
}

/* apitest — spawn qdeckd, talk to it with libcurl and a tiny WebSocket client.
 * See apitest.h. */
#include "tests/api/apitest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/util.h"

#define START_TIMEOUT_MS 30000
#define STOP_TIMEOUT_MS 10000

const char *apitest_qdeckd_bin(void)
{
	const char *b = getenv("QDECKD_BIN");
	return b && *b ? b : "bin/qdeckd";
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

void apitest_dump_log(const ApiServer *s)
{
	FILE *f = fopen(s->log, "r");
	char line[1024];
	if (!f)
		return;
	fprintf(stderr, "---- qdeckd log (%s) ----\n", s->log);
	while (fgets(line, sizeof line, f))
		fputs(line, stderr);
	fprintf(stderr, "---- end of log ----\n");
	fclose(f);
}

int apitest_token(const char *db, const char *user, char *out, size_t outsz)
{
	int pfd[2];
	if (pipe(pfd) != 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		execl(apitest_qdeckd_bin(), "qdeckd", "--db", db, "token", "create", "--user", user,
		      (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	size_t n = 0;
	ssize_t r;
	while (n + 1 < outsz && (r = read(pfd[0], out + n, outsz - 1 - n)) > 0)
		n += (size_t)r;
	close(pfd[0]);
	out[n] = '\0';
	int st = 0;
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return -1;
	/* Exactly the token and a newline: nothing else on stdout. */
	if (n < 2 || out[n - 1] != '\n' || strchr(out, '\n') != out + n - 1)
		return -1;
	out[n - 1] = '\0';
	return 0;
}

static int spawn(ApiServer *s, bool seed, const char *const *extra)
{
	char portfile[256];
	snprintf(portfile, sizeof portfile, "%s/port", s->dir);
	unlink(portfile);
	const char *argv[40];
	int n = 0;
	argv[n++] = "qdeckd";
	argv[n++] = "--db";
	argv[n++] = s->db;
	argv[n++] = "--listen";
	argv[n++] = "127.0.0.1:0";
	argv[n++] = "--port-file";
	argv[n++] = portfile;
	argv[n++] = "--speed";
	argv[n++] = "50";
	if (seed) {
		argv[n++] = "--seed";
		argv[n++] = "demo";
	}
	for (int i = 0; extra && extra[i] && n < 38; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;

	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int lf = open(s->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		int nf = open("/dev/null", O_RDWR);
		if (lf >= 0)
			dup2(lf, 2);
		if (nf >= 0) {
			dup2(nf, 0);
			dup2(nf, 1);
		}
		execv(apitest_qdeckd_bin(), (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", apitest_qdeckd_bin(), strerror(errno));
		_exit(127);
	}
	s->pid = pid;
	for (int waited = 0; waited < START_TIMEOUT_MS; waited += 20) {
		FILE *f = fopen(portfile, "r");
		if (f) {
			int port = 0;
			int ok = fscanf(f, "%d", &port);
			fclose(f);
			if (ok == 1 && port > 0) {
				s->port = port;
				snprintf(s->base, sizeof s->base, "http://127.0.0.1:%d", port);
				return 0;
			}
		}
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			fprintf(stderr, "apitest: qdeckd exited during start (status %d)\n", st);
			s->pid = 0;
			apitest_dump_log(s);
			return -1;
		}
		sleep_ms(20);
	}
	fprintf(stderr, "apitest: qdeckd did not write its port file in time\n");
	apitest_dump_log(s);
	apitest_kill9(s);
	return -1;
}

int apitest_start(ApiServer *s, const char *const *extra)
{
	memset(s, 0, sizeof *s);
	snprintf(s->dir, sizeof s->dir, "/tmp/qdapi.XXXXXX");
	if (!mkdtemp(s->dir))
		return -1;
	snprintf(s->db, sizeof s->db, "%s/qdeckd.db", s->dir);
	snprintf(s->log, sizeof s->log, "%s/qdeckd.log", s->dir);
	if (spawn(s, true, extra) != 0)
		return -1;
	struct {
		const char *user;
		char *out;
	} want[] = {{"acme-dev", s->tok_acme}, {"globex-dev", s->tok_globex},
	            {"ops", s->tok_ops}, {"billing", s->tok_billing}};
	for (size_t i = 0; i < QD_ARRAY_LEN(want); i++)
		if (apitest_token(s->db, want[i].user, want[i].out, sizeof s->tok_acme) != 0) {
			fprintf(stderr, "apitest: token create --user %s failed\n", want[i].user);
			apitest_dump_log(s);
			return -1;
		}
	return 0;
}

int apitest_restart(ApiServer *s, const char *const *extra)
{
	if (s->curl) {
		curl_easy_cleanup(s->curl);
		s->curl = NULL;
	}
	return spawn(s, false, extra);
}

int apitest_stop(ApiServer *s)
{
	if (s->pid <= 0)
		return -1;
	kill(s->pid, SIGTERM);
	for (int waited = 0; waited < STOP_TIMEOUT_MS; waited += 10) {
		int st;
		if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
			s->pid = 0;
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
		sleep_ms(10);
	}
	apitest_kill9(s);
	return -1;
}

void apitest_kill9(ApiServer *s)
{
	if (s->pid <= 0)
		return;
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	s->pid = 0;
}

void apitest_cleanup(ApiServer *s)
{
	if (s->pid > 0)
		apitest_stop(s);
	if (s->curl) {
		curl_easy_cleanup(s->curl);
		s->curl = NULL;
	}
	if (s->dir[0] && !getenv("QD_KEEP_TMP")) {
		const char *files[] = {"qdeckd.db", "qdeckd.db-wal", "qdeckd.db-shm", "port", "qdeckd.log"};
		char p[256];
		for (size_t i = 0; i < QD_ARRAY_LEN(files); i++) {
			snprintf(p, sizeof p, "%s/%s", s->dir, files[i]);
			unlink(p);
		}
		rmdir(s->dir);
	}
}

/* --- HTTP ------------------------------------------------------------------ */

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	qdbuf_append(ud, p, size * n);
	return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	ApiResp *r = ud;
	size_t len = size * n;
	char line[256];
	size_t l = QD_MIN(len, sizeof line - 1);
	memcpy(line, p, l);
	line[l] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	if (strncasecmp(line, "x-request-id:", 13) == 0) {
		const char *v = line + 13;
		while (*v == ' ')
			v++;
		qd_strlcpy(r->request_id, v, sizeof r->request_id);
	} else if (strncasecmp(line, "retry-after:", 12) == 0) {
		r->retry_after = atoi(line + 12);
	}
	return len;
}

int apitest_request(ApiServer *s, const char *method, const char *path, const char *token,
                const char *body, size_t body_len, ApiResp *out)
{
	memset(out, 0, sizeof *out);
	out->retry_after = -1;
	if (!s->curl)
		s->curl = curl_easy_init();
	CURL *c = s->curl;
	curl_easy_reset(c);
	char url[2048];
	snprintf(url, sizeof url, "%s%s", s->base, path);
	QdBuf buf;
	qdbuf_init(&buf);
	struct curl_slist *h = NULL;
	char auth[256];
	if (token) {
		snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
		h = curl_slist_append(h, auth);
	}
	h = curl_slist_append(h, "Expect:");
	if (body)
		h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	} else if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &buf);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	CURLcode rc = curl_easy_perform(c);
	curl_slist_free_all(h);
	if (rc != CURLE_OK) {
		qdbuf_done(&buf);
		return -1;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	out->raw = xstrdup(qdbuf_cstr(&buf));
	out->json = json_loads(out->raw, 0, NULL);
	qdbuf_done(&buf);
	return 0;
}

int api_get(ApiServer *s, const char *path, const char *token, ApiResp *out)
{
	return apitest_request(s, "GET", path, token, NULL, 0, out);
}

int api_post(ApiServer *s, const char *path, const char *token, const char *body, ApiResp *out)
{
	return apitest_request(s, "POST", path, token, body, body ? strlen(body) : 0, out);
}

void api_resp_done(ApiResp *r)
{
	json_decref(r->json);
	free(r->raw);
	memset(r, 0, sizeof *r);
}

bool api_is_error(const ApiResp *r, long status, const char *code)
{
	if (r->status != status || !r->json)
		return false;
	json_t *e = json_object_get(r->json, "error");
	const char *c = json_string_value(json_object_get(e, "code"));
	const char *m = json_string_value(json_object_get(e, "message"));
	const char *rid = json_string_value(json_object_get(e, "request_id"));
	if (!c || !m || !*m || !rid || !json_is_string(json_object_get(e, "suggestion")))
		return false;
	if (strncmp(rid, "req_", 4) != 0 || strlen(rid) != 12 || strcmp(rid, r->request_id) != 0)
		return false;
	return !code || strcmp(code, c) == 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The page's next_cursor escaped for a URL (caller frees); NULL on the last page. */
static char *next_cursor(json_t *page)
{
	const char *next = json_string_value(json_object_get(page, "next_cursor"));
	if (!next)
		return NULL;
	/* Cursors are opaque: escape them for the URL. */
	char *esc = curl_easy_escape(NULL, next, 0);
	char *cursor = xstrdup(esc);
	curl_free(esc);
	return cursor;
}

json_t *api_collect_ids(ApiServer *s, const char *path, const char *token, int page_limit)
{
	json_t *ids = json_array();
	char *cursor = NULL;
	for (int pages = 0; pages < 10000; pages++) {
		char url[2048];
		const char *sep = strchr(path, '?') ? "&" : "?";
		if (cursor)
			snprintf(url, sizeof url, "%s%slimit=%d&cursor=%s", path, sep, page_limit, cursor);
		else
			snprintf(url, sizeof url, "%s%slimit=%d", path, sep, page_limit);
		free(cursor);
		cursor = NULL;
		ApiResp r;
		if (api_get(s, url, token, &r) != 0 || r.status != 200 ||
		    !json_is_array(json_object_get(r.json, "items"))) {
			api_resp_done(&r);
			json_decref(ids);
			return NULL;
		}
		json_t *items = json_object_get(r.json, "items"), *it;
		size_t i;
		if (json_array_size(items) > (size_t)page_limit) {
			api_resp_done(&r);
			json_decref(ids);
			return NULL;
		}
		json_array_foreach(items, i, it)
			json_array_append(ids, json_object_get(it, "id"));
		cursor = next_cursor(r.json);
		api_resp_done(&r);
		if (!cursor)
			break;
	}
	free(cursor);
	/* Sort for comparisons. */
	size_t n = json_array_size(ids);
	const char **v = xcalloc(n ? n : 1, sizeof *v);
	for (size_t i = 0; i < n; i++)
		v[i] = json_string_value(json_array_get(ids, i));
	qsort(v, n, sizeof *v, cmp_str);
	json_t *sorted = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(sorted, json_string(v[i] ? v[i] : ""));
	free(v);
	json_decref(ids);
	return sorted;
}

json_t *api_snapshot(ApiServer *s)
{
	json_t *allocs = json_object();
	char *cursor = NULL;
	for (int pages = 0; pages < 1000; pages++) {
		char url[1024];
		if (cursor)
			snprintf(url, sizeof url, "/api/v1/admin/allocations?limit=500&cursor=%s", cursor);
		else
			snprintf(url, sizeof url, "/api/v1/admin/allocations?limit=500");
		free(cursor);
		cursor = NULL;
		ApiResp r;
		if (api_get(s, url, s->tok_ops, &r) != 0 || r.status != 200) {
			api_resp_done(&r);
			json_decref(allocs);
			return NULL;
		}
		json_t *it;
		size_t i;
		json_array_foreach(json_object_get(r.json, "items"), i, it)
			json_object_set_new(allocs, json_string_value(json_object_get(it, "id")),
			                    json_pack("[O,O]", json_object_get(it, "state"),
			                              json_object_get(it, "version")));
		cursor = next_cursor(r.json);
		api_resp_done(&r);
		if (!cursor)
			break;
	}
	json_t *ids = api_collect_ids(s, "/api/v1/admin/audit-logs", s->tok_ops, 500);
	json_t *snap = json_pack("{s:o, s:I}", "allocations", allocs, "audit_count",
	                         (json_int_t)(ids ? (json_int_t)json_array_size(ids) : -1));
	json_decref(ids);
	return snap;
}

static bool settled(const char *state)
{
	return state && (strcmp(state, "active") == 0 || strcmp(state, "released") == 0 ||
	                 strcmp(state, "failed") == 0 || strcmp(state, "restart_failed") == 0 ||
	                 strcmp(state, "release_failed") == 0);
}

bool api_snapshot_unchanged(json_t *before, json_t *after, char *why, size_t whysz)
{
	if (!before || !after) {
		snprintf(why, whysz, "snapshot failed");
		return false;
	}
	json_t *a = json_object_get(before, "allocations"), *b = json_object_get(after, "allocations");
	const char *id;
	json_t *v;
	if (json_object_size(a) != json_object_size(b)) {
		snprintf(why, whysz, "allocation count %zu -> %zu", json_object_size(a), json_object_size(b));
		return false;
	}
	json_object_foreach(a, id, v) {
		json_t *w = json_object_get(b, id);
		if (!w) {
			snprintf(why, whysz, "allocation %s vanished", id);
			return false;
		}
		const char *st = json_string_value(json_array_get(v, 0));
		if (settled(st) && !json_equal(v, w)) {
			snprintf(why, whysz, "settled allocation %s changed (%s v%lld -> %s v%lld)", id, st,
			         (long long)json_integer_value(json_array_get(v, 1)),
			         json_string_value(json_array_get(w, 0)),
			         (long long)json_integer_value(json_array_get(w, 1)));
			return false;
		}
	}
	if (!json_equal(json_object_get(before, "audit_count"), json_object_get(after, "audit_count"))) {
		snprintf(why, whysz, "audit log grew");
		return false;
	}
	return true;
}

const char *api_wait_state(ApiServer *s, const char *id, const char *token, const char *states,
                           int timeout_ms)
{
	static char last[40];
	char path[256];
	snprintf(path, sizeof path, "/api/v1/allocations/%s", id);
	int64_t until = qd_mono_ms() + timeout_ms;
	last[0] = '\0';
	while (qd_mono_ms() < until) {
		ApiResp r;
		if (api_get(s, path, token, &r) == 0 && r.status == 200) {
			const char *st = json_string_value(json_object_get(r.json, "state"));
			qd_strlcpy(last, st ? st : "", sizeof last);
			api_resp_done(&r);
			/* match as a whole word in the comma list */
			size_t n = strlen(last);
			for (const char *p = states; n && (p = strstr(p, last)); p += n)
				if ((p == states || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
					return last;
		} else {
			api_resp_done(&r);
		}
		sleep_ms(50);
	}
	return NULL;
}

/* --- WebSocket client ----------------------------------------------------- */

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int ws_fill(WsClient *ws)
{
	if (ws->cap - ws->len < 65536) {
		ws->cap = ws->cap ? ws->cap * 2 : 131072;
		ws->buf = xrealloc(ws->buf, ws->cap);
	}
	ssize_t r = read(ws->fd, ws->buf + ws->len, ws->cap - ws->len);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (r <= 0)
		return -1;
	ws->len += (size_t)r;
	return (int)r;
}

int ws_connect(WsClient *ws, int port, const char *path, const char *token,
               const char *subprotocol)
{
	memset(ws, 0, sizeof *ws);
	ws->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ws->fd < 0)
		return -1;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(ws->fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		ws_close(ws);
		return -1;
	}
	int one = 1;
	setsockopt(ws->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	char req[1024];
	int n = snprintf(req, sizeof req,
	                 "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
	                 "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	                 "Sec-WebSocket-Version: 13\r\n%s%s%s%s%s%s\r\n",
	                 path, port, token ? "Authorization: Bearer " : "", token ? token : "",
	                 token ? "\r\n" : "", subprotocol ? "Sec-WebSocket-Protocol: " : "",
	                 subprotocol ? subprotocol : "", subprotocol ? "\r\n" : "");
	if (write_all(ws->fd, req, (size_t)n) != 0) {
		ws_close(ws);
		return -1;
	}
	/* Read the response head. */
	char *end = NULL;
	for (int i = 0; i < 200 && !end; i++) {
		struct pollfd pfd = {ws->fd, POLLIN, 0};
		if (poll(&pfd, 1, 5000) <= 0 || ws_fill(ws) < 0)
			break;
		ws->buf[ws->len < ws->cap ? ws->len : ws->cap - 1] = '\0';
		end = memmem(ws->buf, ws->len, "\r\n\r\n", 4);
	}
	if (ws->len > 12 && strncmp(ws->buf, "HTTP/1.", 7) == 0)
		ws->status = atoi(ws->buf + 9);
	if (!end || ws->status != 101) {
		int st = ws->status;
		ws_close(ws);
		ws->status = st;
		return -1;
	}
	size_t head = (size_t)(end + 4 - ws->buf);
	memmove(ws->buf, ws->buf + head, ws->len - head);
	ws->len -= head;
	return 0;
}

static void send_frame(WsClient *ws, int opcode, const unsigned char *p, size_t n)
{
	unsigned char hdr[8] = {(unsigned char)(0x80 | opcode), (unsigned char)(0x80 | n), 0, 0, 0, 0};
	if (n > 125)
		return;
	write_all(ws->fd, hdr, 6); /* mask key 0: payload unchanged */
	if (n)
		write_all(ws->fd, p, n);
}

int ws_parse_one(WsClient *ws, char **out, int *close_code)
{
	for (;;) {
		if (ws->len < 2)
			return 0;
		const unsigned char *b = (const unsigned char *)ws->buf;
		int opcode = b[0] & 0x0f;
		bool masked = b[1] & 0x80;
		uint64_t plen = b[1] & 0x7f;
		size_t off = 2;
		if (plen == 126) {
			if (ws->len < 4)
				return 0;
			plen = ((uint64_t)b[2] << 8) | b[3];
			off = 4;
		} else if (plen == 127) {
			if (ws->len < 10)
				return 0;
			plen = 0;
			for (int i = 0; i < 8; i++)
				plen = (plen << 8) | b[2 + i];
			off = 10;
		}
		if (masked || plen > (64u << 20))
			return -1; /* a server never masks */
		if (ws->len < off + plen)
			return 0;
		const unsigned char *payload = b + off;
		int rc = 0;
		if (opcode == 0x1 || opcode == 0x0) {
			*out = xstrndup((const char *)payload, (size_t)plen);
			rc = 1;
		} else if (opcode == 0x9) {
			send_frame(ws, 0xA, payload, (size_t)plen);
		} else if (opcode == 0x8) {
			if (close_code)
				*close_code = plen >= 2 ? (payload[0] << 8) | payload[1] : 1005;
			rc = -1;
		}
		memmove(ws->buf, ws->buf + off + plen, ws->len - off - plen);
		ws->len -= off + (size_t)plen;
		if (rc)
			return rc;
	}
}

int ws_read_text(WsClient *ws, int timeout_ms, char **out, int *close_code)
{
	int64_t until = qd_mono_ms() + timeout_ms;
	*out = NULL;
	for (;;) {
		int rc = ws_parse_one(ws, out, close_code);
		if (rc != 0)
			return rc;
		int left = (int)(until - qd_mono_ms());
		if (left <= 0)
			return 0;
		struct pollfd pfd = {ws->fd, POLLIN, 0};
		int pr = poll(&pfd, 1, left);
		if (pr == 0)
			return 0;
		if (pr < 0 || ws_fill(ws) < 0)
			return -1;
	}
}

void ws_close(WsClient *ws)
{
	if (ws->fd >= 0)
		close(ws->fd);
	ws->fd = -1;
	free(ws->buf);
	ws->buf = NULL;
	ws->len = ws->cap = 0;
}

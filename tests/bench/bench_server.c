/* bench_server — qdeckd holding 100k allocations, driven over loopback.
 *
 * Seeds a temp database directly through the server library (db_seed_bulk),
 * starts bin/qdeckd on it (QDECKD_BIN), then prints:
 *   - median and p99 latency of a 500-row page: the first page, a cursor in
 *     the middle of the list, and a filtered query;
 *   - events per second delivered to 50 concurrent event-stream clients while
 *     a burst of mutations generates events.
 * Figures only; nothing here asserts on time. QD_BENCH_ALLOCS overrides 100000. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "common/util.h"
#include "server/model.h"
#include "tests/api/apitest.h"

#define PAGE_RUNS 200
#define STREAM_CLIENTS 50
#define BURST_MUTATIONS 300

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static size_t count_bytes(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	*(size_t *)ud += size * n;
	return size * n;
}

/* Runs GET path PAGE_RUNS times on one keep-alive connection, timing the
 * round trip only (the body is counted, not parsed); prints median and p99.
 * Returns 0 if all were 200. */
static int measure(ApiServer *s, const char *label, const char *path, const char *token)
{
	double *t = xcalloc(PAGE_RUNS, sizeof *t);
	size_t bytes = 0;
	ApiResp r;
	if (api_get(s, path, token, &r) != 0 || r.status != 200) {
		fprintf(stderr, "bench: GET %s failed: %ld %s\n", path, r.status, r.raw ? r.raw : "");
		api_resp_done(&r);
		free(t);
		return -1;
	}
	size_t rows = json_array_size(json_object_get(r.json, "items"));
	api_resp_done(&r);
	CURL *c = curl_easy_init();
	char url[1024], auth[256];
	snprintf(url, sizeof url, "%s%s", s->base, path);
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
	struct curl_slist *h = curl_slist_append(NULL, auth);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, count_bytes);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &bytes);
	for (int i = 0; i < PAGE_RUNS; i++) {
		long status = 0;
		bytes = 0;
		double t0 = now_ms();
		CURLcode rc = curl_easy_perform(c);
		t[i] = now_ms() - t0;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		if (rc != CURLE_OK || status != 200) {
			fprintf(stderr, "bench: GET %s failed: %ld\n", path, status);
			curl_slist_free_all(h);
			curl_easy_cleanup(c);
			free(t);
			return -1;
		}
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	qsort(t, PAGE_RUNS, sizeof *t, cmp_double);
	printf("page %-24s rows=%zu bytes=%zu  median %.2f ms  p99 %.2f ms%s\n", label, rows, bytes,
	       t[PAGE_RUNS / 2], t[PAGE_RUNS * 99 / 100],
	       t[PAGE_RUNS / 2] <= 5.0 ? "" : "  (target <= 5 ms)");
	free(t);
	return 0;
}

typedef struct {
	ApiServer srv; /* a copy with its own curl handle */
	json_t *ids;
	int done;
	int accepted;
} Burst;

static void *burst_run(void *arg)
{
	Burst *b = arg;
	size_t n = json_array_size(b->ids);
	for (size_t i = 0; i < n; i++) {
		char path[256];
		snprintf(path, sizeof path, "/api/v1/allocations/%s/%s",
		         json_string_value(json_array_get(b->ids, i)), i % 2 ? "restart" : "release");
		ApiResp r;
		if (api_post(&b->srv, path, b->srv.tok_ops, NULL, &r) == 0 && r.status == 202)
			b->accepted++;
		api_resp_done(&r);
	}
	if (b->srv.curl)
		curl_easy_cleanup(b->srv.curl);
	__atomic_store_n(&b->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static int64_t newest_event(ApiServer *s)
{
	ApiResp r;
	int64_t id = -1;
	if (api_get(s, "/api/v1/allocations?limit=1", s->tok_ops, &r) == 0 && r.status == 200)
		id = json_integer_value(json_object_get(r.json, "as_of_event_id"));
	api_resp_done(&r);
	return id;
}

static int stream_bench(ApiServer *s)
{
	/* Active allocations to mutate. */
	ApiResp r;
	if (api_get(s, "/api/v1/admin/allocations?state=active&limit=500", s->tok_ops, &r) != 0 ||
	    r.status != 200) {
		api_resp_done(&r);
		return -1;
	}
	json_t *ids = json_array(), *it;
	size_t i;
	json_array_foreach(json_object_get(r.json, "items"), i, it)
		if (json_array_size(ids) < BURST_MUTATIONS)
			json_array_append(ids, json_object_get(it, "id"));
	api_resp_done(&r);

	int64_t since = newest_event(s);
	WsClient *ws = xcalloc(STREAM_CLIENTS, sizeof *ws);
	int64_t *last = xcalloc(STREAM_CLIENTS, sizeof *last);
	char path[128];
	snprintf(path, sizeof path, "/api/v1/events/stream?since=%lld", (long long)since);
	for (int c = 0; c < STREAM_CLIENTS; c++) {
		if (ws_connect(&ws[c], s->port, path, s->tok_ops, "qd-events") != 0) {
			fprintf(stderr, "bench: stream client %d could not connect (%d)\n", c, ws[c].status);
			return -1;
		}
		last[c] = since;
	}

	Burst b = {.srv = *s, .ids = ids};
	b.srv.curl = NULL;
	pthread_t th;
	double t0 = now_ms();
	pthread_create(&th, NULL, burst_run, &b);
	long delivered = 0;
	int64_t target = -1;
	double deadline = t0 + 120000;
	struct pollfd *pfd = xcalloc(STREAM_CLIENTS, sizeof *pfd);
	for (;;) {
		if (target < 0 && __atomic_load_n(&b.done, __ATOMIC_SEQ_CST)) {
			/* The reconciler keeps adding events; measure up to what exists now. */
			target = newest_event(s);
		}
		if (target >= 0) {
			int behind = 0;
			for (int c = 0; c < STREAM_CLIENTS; c++)
				behind += last[c] < target;
			if (!behind)
				break;
		}
		if (now_ms() > deadline) {
			fprintf(stderr, "bench: stream clients did not catch up in time\n");
			break;
		}
		for (int c = 0; c < STREAM_CLIENTS; c++)
			pfd[c] = (struct pollfd){ws[c].fd, POLLIN, 0};
		if (poll(pfd, STREAM_CLIENTS, 100) < 0 && errno != EINTR)
			break;
		for (int c = 0; c < STREAM_CLIENTS; c++) {
			if (!(pfd[c].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (ws_fill(&ws[c]) < 0) {
				fprintf(stderr, "bench: stream client %d lost its connection\n", c);
				last[c] = INT64_MAX;
				continue;
			}
			char *m;
			int cc;
			while (ws_parse_one(&ws[c], &m, &cc) == 1) {
				json_t *e = json_loads(m, 0, NULL);
				int64_t id = json_integer_value(json_object_get(e, "id"));
				if (id <= last[c])
					fprintf(stderr, "bench: client %d got event %lld after %lld\n", c,
					        (long long)id, (long long)last[c]);
				last[c] = id;
				delivered++;
				json_decref(e);
				free(m);
			}
		}
	}
	double secs = (now_ms() - t0) / 1000.0;
	pthread_join(th, NULL);
	printf("stream: %d clients, %d mutations accepted, %ld event messages delivered in %.2f s"
	       " = %.0f events/s (%.0f per client)\n",
	       STREAM_CLIENTS, b.accepted, delivered, secs, (double)delivered / secs,
	       (double)delivered / secs / STREAM_CLIENTS);
	for (int c = 0; c < STREAM_CLIENTS; c++)
		ws_close(&ws[c]);
	free(ws);
	free(last);
	free(pfd);
	json_decref(ids);
	return 0;
}

int main(void)
{
	int n = 100000;
	const char *env = getenv("QD_BENCH_ALLOCS");
	if (env && atoi(env) > 0)
		n = atoi(env);
	curl_global_init(CURL_GLOBAL_DEFAULT);

	ApiServer s;
	memset(&s, 0, sizeof s);
	snprintf(s.dir, sizeof s.dir, "/tmp/qdbench.XXXXXX");
	if (!mkdtemp(s.dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(s.db, sizeof s.db, "%s/qdeckd.db", s.dir);
	snprintf(s.log, sizeof s.log, "%s/qdeckd.log", s.dir);

	double t0 = now_ms();
	ApiError err;
	Db *db = db_open(s.db, &err);
	if (!db || db_seed_bulk(db, n, &err) < 0) {
		fprintf(stderr, "bench: seeding failed: %s\n", err.message);
		return 1;
	}
	db_close(&db);
	printf("seeded %d allocations in %.1f s\n", n, (now_ms() - t0) / 1000.0);

	const char *extra[] = {"--rate", "1000000", NULL};
	if (apitest_restart(&s, extra) != 0)
		return 1;
	if (apitest_token(s.db, "acme-dev", s.tok_acme, sizeof s.tok_acme) != 0 ||
	    apitest_token(s.db, "ops", s.tok_ops, sizeof s.tok_ops) != 0) {
		fprintf(stderr, "bench: token create failed\n");
		apitest_cleanup(&s);
		return 1;
	}

	int rc = 0;
	rc |= measure(&s, "first (user)", "/api/v1/allocations?limit=500", s.tok_acme);

	/* Walk to the middle of the admin list for a mid cursor. */
	char *cursor = NULL;
	for (int pages = 0; pages < n / 500 / 2; pages++) {
		char path[512];
		snprintf(path, sizeof path, "/api/v1/admin/allocations?limit=500%s%s",
		         cursor ? "&cursor=" : "", cursor ? cursor : "");
		ApiResp r;
		if (api_get(&s, path, s.tok_ops, &r) != 0 || r.status != 200) {
			api_resp_done(&r);
			rc = -1;
			break;
		}
		const char *next = json_string_value(json_object_get(r.json, "next_cursor"));
		free(cursor);
		cursor = next ? xstrdup(next) : NULL;
		api_resp_done(&r);
		if (!cursor)
			break;
	}
	if (cursor) {
		char path[512];
		snprintf(path, sizeof path, "/api/v1/admin/allocations?limit=500&cursor=%s", cursor);
		rc |= measure(&s, "middle cursor (admin)", path, s.tok_ops);
		free(cursor);
	}
	rc |= measure(&s, "filtered (admin)", "/api/v1/admin/allocations?state=failed,release_failed&archived=false&limit=500", s.tok_ops);
	rc |= measure(&s, "text query (user)", "/api/v1/allocations?q=llama&limit=500", s.tok_acme);
	/* Filters that match few rows: the page must not cost a walk of the list. */
	rc |= measure(&s, "sparse state (admin)", "/api/v1/admin/allocations?state=provisioning,restarting&limit=500", s.tok_ops);
	rc |= measure(&s, "sparse state (user)", "/api/v1/allocations?state=release_failed&actionable=true&limit=500", s.tok_acme);

	rc |= stream_bench(&s);

	int st = apitest_stop(&s);
	if (st != 0) {
		fprintf(stderr, "bench: qdeckd exited with %d\n", st);
		apitest_dump_log(&s);
		rc = -1;
	}
	apitest_cleanup(&s);
	return rc ? 1 : 0;
}

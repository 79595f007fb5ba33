/* API tests of what happens around the server's life: kill -9 in the middle of
 * a burst of writes and a restart on the same database with every
 * acknowledged write present; per-token rate limiting (429 + Retry-After); a
 * clean SIGTERM that closes event streams with "going away" and exits 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>

#include "common/util.h"
#include "tests/api/fixture.h"

#define BURST 200
#define KILL_AFTER_ACKS 40

static ApiServer *const S = &apifx_srv;

/* A syntactically real ed25519 public key line, unique per n. */
static char *ssh_key_line(int n)
{
	unsigned char blob[4 + 11 + 4 + 32];
	memcpy(blob, "\0\0\0\x0bssh-ed25519\0\0\0\x20", 19);
	for (int i = 0; i < 32; i++)
		blob[19 + i] = (unsigned char)(n * 7 + i * 13 + (int)getpid());
	blob[19] = (unsigned char)n;
	blob[20] = (unsigned char)(n >> 8);
	unsigned char b64[128];
	EVP_EncodeBlock(b64, blob, sizeof blob);
	return xasprintf("ssh-ed25519 %s burst-%d", b64, n);
}

static atomic_int acks;
static atomic_bool killed;

static void *killer(void *arg)
{
	(void)arg;
	while (atomic_load(&acks) < KILL_AFTER_ACKS) {
		struct timespec ts = {0, 1000000L};
		nanosleep(&ts, NULL);
	}
	/* Mid-burst: the next writes are in flight or about to be. */
	kill(S->pid, SIGKILL);
	atomic_store(&killed, true);
	return NULL;
}

static void test_kill9_keeps_acknowledged_writes(void **state)
{
	(void)state;
	/* What we will release: active allocations of acme-dev. */
	json_t *to_release = apifx_alloc_ids(S->tok_acme, "active", "acme-dev"), *it;
	size_t i;
	json_t *skus = apifx_get_ok("/api/v1/skus", S->tok_acme);
	json_t *net = apifx_get_ok("/api/v1/networks", S->tok_acme);
	json_t *img = apifx_get_ok("/api/v1/images", S->tok_acme);
	const char *sku = NULL;
	int gpus = 1;
	json_array_foreach(json_object_get(skus, "items"), i, it)
		if (!sku && json_is_true(json_object_get(it, "available")) &&
		    strcmp(json_string_value(json_object_get(it, "kind")), "slice") == 0) {
			sku = json_string_value(json_object_get(it, "id"));
			gpus = (int)json_integer_value(json_array_get(json_object_get(it, "gpu_counts"), 0));
		}
	assert_non_null(sku);
	const char *net_id = json_string_value(json_object_get(json_array_get(json_object_get(net, "items"), 0), "id"));
	const char *img_id = json_string_value(json_object_get(json_array_get(json_object_get(img, "items"), 0), "id"));

	json_t *acked_allocs = json_array(), *acked_keys = json_array(), *acked_releases = json_array();
	size_t next_release = 0;
	pid_t victim = S->pid;
	pthread_t th;
	atomic_store(&acks, 0);
	atomic_store(&killed, false);
	assert_int_equal(pthread_create(&th, NULL, killer, NULL), 0);
	int sent = 0, failed = 0;
	for (int n = 0; n < BURST && failed < 3; n++) {
		ApiResp r;
		sent++;
		int kind = n % 3;
		if (kind == 2 && next_release >= json_array_size(to_release))
			kind = 1;
		if (kind == 0) {
			char *body = xasprintf("{\"name\":\"burst-%d\",\"sku_id\":\"%s\",\"gpu_count\":%d,"
			                       "\"image_id\":\"%s\",\"network_id\":\"%s\",\"ssh_key_ids\":[]}",
			                       n, sku, gpus, img_id, net_id);
			int rc = api_post(S, "/api/v1/allocations", S->tok_acme, body, &r);
			free(body);
			if (rc == 0 && r.status == 202) {
				json_array_append(acked_allocs, json_object_get(r.json, "allocation_id"));
				atomic_fetch_add(&acks, 1);
			}
			failed += rc != 0;
		} else if (kind == 1) {
			char *key = ssh_key_line(n);
			json_t *b = json_pack("{s:s, s:s}", "name", "burst", "public_key", key);
			char *body = json_dumps(b, JSON_COMPACT);
			int rc = api_post(S, "/api/v1/ssh-keys", S->tok_acme, body, &r);
			if (rc == 0 && r.status >= 200 && r.status < 300) {
				json_array_append(acked_keys, json_object_get(r.json, "id"));
				atomic_fetch_add(&acks, 1);
			}
			failed += rc != 0;
			free(body);
			json_decref(b);
			free(key);
		} else {
			const char *id = json_string_value(json_array_get(to_release, next_release++));
			char path[256];
			snprintf(path, sizeof path, "/api/v1/allocations/%s/release", id);
			int rc = api_post(S, path, S->tok_acme, NULL, &r);
			if (rc == 0 && r.status == 202) {
				json_array_append_new(acked_releases, json_string(id));
				atomic_fetch_add(&acks, 1);
			}
			failed += rc != 0;
		}
		api_resp_done(&r);
	}
	if (!atomic_load(&killed))
		atomic_store(&acks, KILL_AFTER_ACKS); /* never reached: let the thread finish */
	pthread_join(th, NULL);
	S->pid = victim;
	apitest_kill9(S); /* reaps it */
	fprintf(stderr, "# burst: %d sent, %zu creates + %zu keys + %zu releases acknowledged before kill -9\n",
	        sent, json_array_size(acked_allocs), json_array_size(acked_keys),
	        json_array_size(acked_releases));
	assert_true(json_array_size(acked_allocs) + json_array_size(acked_keys) +
	            json_array_size(acked_releases) >= KILL_AFTER_ACKS);

	assert_int_equal(apitest_restart(S, NULL), 0);
	json_t *v;
	json_array_foreach(acked_allocs, i, v) {
		char path[256];
		snprintf(path, sizeof path, "/api/v1/allocations/%s", json_string_value(v));
		json_t *a = apifx_get_ok(path, S->tok_acme);
		json_decref(a);
	}
	json_t *keys = apifx_get_ok("/api/v1/ssh-keys", S->tok_acme);
	json_array_foreach(acked_keys, i, v) {
		bool found = false;
		size_t k;
		json_t *key;
		json_array_foreach(json_object_get(keys, "items"), k, key)
			found = found || json_equal(json_object_get(key, "id"), v);
		if (!found)
			fail_msg("acknowledged ssh key %s missing after kill -9", json_string_value(v));
	}
	json_decref(keys);
	json_array_foreach(acked_releases, i, v) {
		char path[256];
		snprintf(path, sizeof path, "/api/v1/allocations/%s", json_string_value(v));
		json_t *a = apifx_get_ok(path, S->tok_acme);
		const char *st = json_string_value(json_object_get(a, "state"));
		if (strcmp(st, "releasing") != 0 && strcmp(st, "released") != 0 &&
		    strcmp(st, "release_failed") != 0)
			fail_msg("acknowledged release of %s lost: state %s", json_string_value(v), st);
		json_decref(a);
	}
	json_decref(acked_allocs);
	json_decref(acked_keys);
	json_decref(acked_releases);
	json_decref(to_release);
	json_decref(skus);
	json_decref(net);
	json_decref(img);
}

static void test_rate_limit(void **state)
{
	(void)state;
	assert_int_equal(apitest_stop(S), 0);
	const char *slow[] = {"--rate", "0.5", NULL};
	assert_int_equal(apitest_restart(S, slow), 0);
	/* Burst 1, refill every 2 s: twenty quick requests cannot all pass. */
	int limited = 0;
	for (int i = 0; i < 20 && !limited; i++) {
		ApiResp r;
		assert_int_equal(api_get(S, "/api/v1/me", S->tok_acme, &r), 0);
		if (r.status == 429) {
			assert_true(api_is_error(&r, 429, "rate_limited"));
			assert_true(r.retry_after >= 1);
			limited++;
		} else {
			assert_int_equal(r.status, 200);
		}
		api_resp_done(&r);
	}
	assert_int_equal(limited, 1);
	/* Another token has its own bucket. */
	ApiResp r;
	assert_int_equal(api_get(S, "/api/v1/me", S->tok_globex, &r), 0);
	assert_int_equal(r.status, 200);
	api_resp_done(&r);
}

static void test_sigterm_closes_streams_and_exits_0(void **state)
{
	(void)state;
	WsClient ws;
	assert_int_equal(ws_connect(&ws, S->port, "/api/v1/events/stream?since=0", S->tok_ops, "qd-events"), 0);
	char *m = NULL;
	int cc = 0;
	assert_int_equal(ws_read_text(&ws, 10000, &m, &cc), 1); /* the stream is live */
	free(m);
	pid_t pid = S->pid;
	kill(pid, SIGTERM);
	int rc;
	int64_t until = qd_mono_ms() + 15000;
	do {
		m = NULL;
		rc = ws_read_text(&ws, 1000, &m, &cc);
		free(m);
	} while (rc >= 0 && qd_mono_ms() < until);
	assert_int_equal(rc, -1);
	assert_int_equal(cc, 1001); /* going away */
	ws_close(&ws);
	assert_int_equal(apitest_stop(S), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kill9_keeps_acknowledged_writes),
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_sigterm_closes_streams_and_exits_0),
	};
	return cmocka_run_group_tests_name("api_durability", tests, apifx_setup, apifx_cleanup);
}

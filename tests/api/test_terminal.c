/* API tests for allocation terminals against a spawned qdeckd: mint a token,
 * attach with the console's own client (net/termclient) on a private libuv
 * loop, run a command, see its output and exit code; and every refusal:
 * token reuse, missing or garbled token, another org's allocation, a
 * non-active allocation, an oversized frame; release ends the session. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "common/util.h"
#include "net/termclient.h"
#include "tests/api/fixture.h"

static ApiServer *const S = &apifx_srv;

typedef struct {
	TermClient *c;
	const char *input;
	const char *release_id; /* POST release once open */
	bool open, done, got_status;
	TermClientState final;
	int http;
	TpStatus st;
	QdBuf out;
	uv_timer_t timer, later;
} Run;

static void later_cb(uv_timer_t *t);

/* lws on a foreign loop: destroy its context from a uv callback, not from
 * inside its own callback, so the loop can drain and uv_run return. */
static void stop_loop(Run *r)
{
	if (r->done)
		return;
	r->done = true;
	termclient_close(&r->c);
	uv_timer_stop(&r->timer);
	uv_timer_start(&r->later, later_cb, 50, 0);
}

static void later_cb(uv_timer_t *t)
{
	(void)t;
	termclient_shutdown();
	uv_close((uv_handle_t *)&((Run *)t->data)->timer, NULL);
	uv_close((uv_handle_t *)t, NULL);
}

static void on_output(void *ud, const char *b, size_t n) { qdbuf_append(&((Run *)ud)->out, b, n); }
static void on_status(void *ud, const TpStatus *st)
{
	Run *r = ud;

	r->got_status = true;
	r->st = *st;
}

static void on_state(void *ud, TermClientState st, int http, const char *why)
{
	Run *r = ud;

	(void)why;
	if (st == TERMCLIENT_OPEN) {
		r->open = true;
		if (r->input)
			termclient_send(r->c, r->input, strlen(r->input));
		if (r->release_id) {
			char path[160];
			ApiResp resp;

			/* Let the shell start before the allocation goes away. */
			usleep(200 * 1000);
			snprintf(path, sizeof(path), "/api/v1/allocations/%s/release", r->release_id);
			api_post(S, path, S->tok_acme, NULL, &resp);
			api_resp_done(&resp);
		}
		return;
	}
	r->final = st;
	r->http = http;
	stop_loop(r);
}

static void timeout_cb(uv_timer_t *t) { stop_loop(t->data); }

/* One session, bounded to 10 s. */
static void run(Run *r, const char *url, const char *token)
{
	uv_loop_t loop;
	char err[160];
	TermClientConfig cfg = {.url = url, .token = token, .rows = 24, .cols = 80};
	TermClientCallbacks cb = {on_output, on_status, on_state};

	qdbuf_init(&r->out);
	assert_int_equal(uv_loop_init(&loop), 0);
	assert_int_equal(termclient_init(&loop, err, sizeof(err)), 0);
	uv_timer_init(&loop, &r->timer);
	uv_timer_init(&loop, &r->later);
	r->timer.data = r->later.data = r;
	uv_timer_start(&r->timer, timeout_cb, 10000, 0);
	r->c = termclient_open(&cfg, &cb, r, err, sizeof(err));
	assert_non_null(r->c);
	while (uv_run(&loop, UV_RUN_DEFAULT)) {
	}
	termclient_reap();
	uv_loop_close(&loop);
	qdbuf_cstr(&r->out);
}

/* Only the owner (or an admin) may open a shell: the first allocation in
 * `state` that acme-dev owns, NULL when none. */
static char *acme_alloc(const char *state)
{
	return apifx_alloc(S->tok_acme, state, "acme-dev");
}

static long mint(const char *id, const char *token, char *tok, size_t toksz, char *url, size_t urlsz)
{
	char path[160];
	ApiResp resp;
	long status;

	snprintf(path, sizeof(path), "/api/v1/allocations/%s/terminal-token", id);
	api_post(S, path, token, NULL, &resp);
	status = resp.status;
	if (status == 201) {
		qd_strlcpy(tok, json_string_value(json_object_get(resp.json, "token")) ?: "", toksz);
		qd_strlcpy(url, json_string_value(json_object_get(resp.json, "url")) ?: "", urlsz);
	}
	api_resp_done(&resp);
	return status;
}

static void test_run_command_and_reuse(void **state)
{
	char *id = acme_alloc("active"), tok[256], url[256];
	Run r = {.input = "echo hi; exit 3\r"}, again = {0};
	(void)state;

	assert_non_null(id);
	assert_int_equal(mint(id, S->tok_acme, tok, sizeof(tok), url, sizeof(url)), 201);
	run(&r, url, tok);
	assert_true(r.open);
	assert_int_equal(r.final, TERMCLIENT_ENDED);
	assert_true(r.got_status);
	assert_true(r.st.has_code);
	assert_int_equal(r.st.code, 3);
	assert_non_null(strstr(r.out.data, "hi\r\n"));
	qdbuf_done(&r.out);

	run(&again, url, tok); /* single use */
	assert_false(again.open);
	assert_int_equal(again.final, TERMCLIENT_LOST);
	assert_int_equal(again.http, 401);
	qdbuf_done(&again.out);
	free(id);
}

static void test_refusals(void **state)
{
	char *id = acme_alloc("active"), *gone = acme_alloc("released"), tok[256], url[256];
	WsClient ws;
	Run r = {0};
	(void)state;

	assert_non_null(id);
	/* Another org's allocation does not exist for them. */
	assert_int_equal(mint(id, S->tok_globex, tok, sizeof(tok), url, sizeof(url)), 404);
	if (gone)
		assert_int_equal(mint(gone, S->tok_acme, tok, sizeof(tok), url, sizeof(url)), 409);
	/* Missing and garbled tokens are refused before the upgrade. */
	assert_int_equal(ws_connect(&ws, S->port, "/api/v1/terminal", NULL, "v5.channel.k8s.io"), -1);
	assert_int_equal(ws.status, 401);
	ws_close(&ws);
	snprintf(url, sizeof(url), "ws://127.0.0.1:%d/api/v1/terminal", S->port);
	run(&r, url, "not-a-real-token");
	assert_int_equal(r.final, TERMCLIENT_LOST);
	assert_int_equal(r.http, 401);
	qdbuf_done(&r.out);
	/* The path is matched exactly: a valid token on another path is not consumed. */
	assert_int_equal(mint(id, S->tok_acme, tok, sizeof(tok), url, sizeof(url)), 201);
	assert_int_equal(ws_connect(&ws, S->port, "/api/v1/terminal?x=1", tok, "v5.channel.k8s.io"),
	                 -1);
	assert_int_equal(ws.status, 404);
	ws_close(&ws);
	free(id);
	free(gone);
}

/* Sends one masked binary frame by hand: the console's client cannot. */
static void send_frame(int fd, const uint8_t *data, size_t len)
{
	uint8_t hdr[14] = {0x82}, mask[4] = {1, 2, 3, 4};
	size_t h = 2;
	uint8_t *buf = xmalloc(len);

	hdr[1] = 0x80 | 127;
	for (int i = 0; i < 8; i++)
		hdr[h++] = (uint8_t)(len >> (56 - 8 * i));
	memcpy(hdr + h, mask, 4);
	h += 4;
	for (size_t i = 0; i < len; i++)
		buf[i] = data[i] ^ mask[i % 4];
	assert_int_equal(write(fd, hdr, h), (ssize_t)h);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	free(buf);
}

static void test_oversized_frame_closes(void **state)
{
	char *id = acme_alloc("active"), tok[256], url[256], *msg = NULL;
	static uint8_t big[70000];
	WsClient ws;
	int code = 0, rc;
	(void)state;

	assert_int_equal(mint(id, S->tok_acme, tok, sizeof(tok), url, sizeof(url)), 201);
	assert_int_equal(ws_connect(&ws, S->port, "/api/v1/terminal", tok, "v5.channel.k8s.io"), 0);
	send_frame(ws.fd, big, sizeof(big)); /* channel 0 + 69999 bytes: over the 64 KiB cap */
	do {
		free(msg);
		msg = NULL;
		rc = ws_read_text(&ws, 5000, &msg, &code);
	} while (rc == 1);
	assert_int_equal(rc, -1);
	assert_int_equal(code, 1009);
	ws_close(&ws);
	free(id);
}

static void test_release_ends_session(void **state)
{
	char *id = acme_alloc("active"), tok[256], url[256];
	Run r = {0};
	(void)state;

	assert_int_equal(mint(id, S->tok_acme, tok, sizeof(tok), url, sizeof(url)), 201);
	r.release_id = id;
	run(&r, url, tok);
	assert_true(r.open);
	assert_true(r.got_status);
	assert_false(r.st.success);
	assert_string_equal(r.st.reason, "AllocationNotActive");
	assert_non_null(strstr(r.st.message, "releas"));
	assert_int_equal(r.final, TERMCLIENT_ENDED);
	qdbuf_done(&r.out);
	free(id);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_run_command_and_reuse),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_oversized_frame_closes),
	    cmocka_unit_test(test_release_ends_session),
	};
	return cmocka_run_group_tests(tests, apifx_setup, apifx_cleanup);
}

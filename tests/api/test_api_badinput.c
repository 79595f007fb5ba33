/* API tests for hostile request framing against a real qdeckd: chunked
 * request bodies (decoded by http.c, since lws 4.1 hands them over raw),
 * Content-Length values that are not plain decimal numbers, and chunked
 * bodies that are malformed or over the cap. Requests go over a raw loopback
 * socket so the bytes on the wire are exactly the test's. Every refusal must
 * leave the database unchanged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/contract.h"
#include "common/util.h"
#include "tests/api/fixture.h"

static ApiServer *const S = &apifx_srv;

/* --- a raw HTTP/1.1 exchange ------------------------------------------------- */

typedef struct {
	int status;          /* 0: no parsable response */
	json_t *json;        /* body, NULL if not JSON */
	bool closed;         /* the server closed the connection after answering */
	char *raw;           /* everything received */
} RawResp;

static void raw_resp_done(RawResp *r)
{
	json_decref(r->json);
	free(r->raw);
	memset(r, 0, sizeof *r);
}

/* Sends each of the nparts byte strings (a short pause between them so they
 * arrive as separate reads), then reads until the server closes or 5 s pass.
 * Loopback only. */
static void raw_exchange(const char *const *parts, const size_t *lens, int nparts, RawResp *out)
{
	memset(out, 0, sizeof *out);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)S->port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	for (int i = 0; i < nparts; i++) {
		size_t off = 0;
		while (off < lens[i]) {
			ssize_t n = send(fd, parts[i] + off, lens[i] - off, MSG_NOSIGNAL);
			if (n <= 0)
				break; /* the server may refuse early; read what it said */
			off += (size_t)n;
		}
		if (i + 1 < nparts)
			usleep(50 * 1000);
	}
	QdBuf in;
	qdbuf_init(&in);
	char buf[8192];
	for (int waited = 0; waited < 50;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int pr = poll(&p, 1, 100);
		if (pr == 0) {
			waited++;
			continue;
		}
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		if (n <= 0) {
			out->closed = true;
			break;
		}
		qdbuf_append(&in, buf, (size_t)n);
	}
	close(fd);
	out->raw = xstrdup(qdbuf_cstr(&in));
	qdbuf_done(&in);
	if (sscanf(out->raw, "HTTP/1.1 %d", &out->status) != 1)
		out->status = 0;
	const char *body = strstr(out->raw, "\r\n\r\n");
	if (body)
		out->json = json_loads(body + 4, JSON_DISABLE_EOF_CHECK, NULL);
}

static void raw_one(const char *req, RawResp *out)
{
	size_t len = strlen(req);
	raw_exchange(&req, &len, 1, out);
}

/* The contract's error shape with this status and code. */
static void assert_error(const RawResp *r, int status, const char *code)
{
	if (r->status != status)
		fprintf(stderr, "expected %d %s, got:\n%s\n", status, code, r->raw);
	assert_int_equal(r->status, status);
	json_t *e = json_object_get(r->json, "error");
	assert_non_null(e);
	assert_string_equal(json_string_value(json_object_get(e, "code")), code);
	assert_non_null(json_string_value(json_object_get(e, "message")));
	assert_non_null(json_string_value(json_object_get(e, "suggestion")));
	const char *rid = json_string_value(json_object_get(e, "request_id"));
	assert_non_null(rid);
	assert_int_equal(strncmp(rid, "req_", 4), 0);
}

static char *head(const char *method, const char *path, const char *token, const char *extra)
{
	QdBuf b;
	qdbuf_init(&b);
	qdbuf_appendf(&b, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n%s\r\n",
	              method, path, token, extra ? extra : "");
	char *s = xstrdup(qdbuf_cstr(&b));
	qdbuf_done(&b);
	return s;
}

static const char CREATE_FMT[] =
	"{\"name\":\"%s\",\"sku_id\":\"sku_h100_slice\",\"gpu_count\":1,"
	"\"image_id\":\"img_ubuntu2204_cuda124\",\"network_id\":\"net_default\",\"ssh_key_ids\":[]}";

static size_t count_allocations(void)
{
	json_t *ids = api_collect_ids(S, "/api/v1/admin/allocations", S->tok_ops, 500);
	assert_non_null(ids);
	size_t n = json_array_size(ids);
	json_decref(ids);
	return n;
}

/* Releases before. */
static void assert_unchanged(json_t *before, size_t count_before)
{
	apifx_check_unchanged(before, "a refused request");
	assert_int_equal(count_allocations(), count_before);
}

/* --- tests ------------------------------------------------------------------- */

/* A create whose JSON body comes chunked (in several reads, with a chunk
 * extension and a trailer) is accepted like a Content-Length one. */
static void test_chunked_create_accepted(void **state)
{
	(void)state;
	size_t before = count_allocations();
	char body[512];
	snprintf(body, sizeof body, CREATE_FMT, "chunked-create");
	size_t blen = strlen(body), half = blen / 2;
	char *h = head("POST", "/api/v1/allocations", S->tok_acme,
	               "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n");
	char c1[512], c2[512];
	/* leading zeros are legal in a chunk size */
	snprintf(c1, sizeof c1, "0000000000%zx;note=first\r\n%.*s\r\n", half, (int)half, body);
	snprintf(c2, sizeof c2, "%zX\r\n%s\r\n0\r\nX-Trailer: yes\r\n\r\n", blen - half, body + half);
	const char *parts[] = {h, c1, c2};
	size_t lens[] = {strlen(h), strlen(c1), strlen(c2)};
	RawResp r;
	raw_exchange(parts, lens, 3, &r);
	if (r.status != 202)
		fprintf(stderr, "%s\n", r.raw);
	assert_int_equal(r.status, 202);
	const char *id = json_string_value(json_object_get(r.json, "allocation_id"));
	assert_non_null(id);
	assert_true(r.closed); /* lws's framing is off after a chunked body: we close */
	assert_int_equal(count_allocations(), before + 1);

	char path[128];
	snprintf(path, sizeof path, "/api/v1/allocations/%s", id);
	ApiResp g;
	assert_int_equal(api_get(S, path, S->tok_acme, &g), 0);
	assert_int_equal(g.status, 200);
	assert_string_equal(json_string_value(json_object_get(g.json, "name")), "chunked-create");
	api_resp_done(&g);
	raw_resp_done(&r);
	free(h);
}

/* Content-Length values atoll() would guess at are refused with 400. */
static void test_bad_content_length(void **state)
{
	(void)state;
	json_t *snap = apifx_snapshot();
	size_t before = count_allocations();
	char body[512];
	snprintf(body, sizeof body, CREATE_FMT, "bad-cl");
	const char *values[] = {"abc", "-5", "1e3", "+12", "12abc", " 0x10", "99999999999999999999",
	                        "18446744073709551617", "5, 5",
	                        "00000000000000000000000000000000000000000000000000000000000000000000000012"};
	for (size_t i = 0; i < QD_ARRAY_LEN(values); i++) {
		char extra[256];
		snprintf(extra, sizeof extra, "Content-Type: application/json\r\nContent-Length: %s\r\n",
		         values[i]);
		char *h = head("POST", "/api/v1/allocations", S->tok_acme, extra);
		char *req = xmalloc(strlen(h) + strlen(body) + 1);
		strcpy(req, h);
		strcat(req, body);
		RawResp r;
		raw_one(req, &r);
		assert_error(&r, 400, "invalid_content_length");
		assert_true(r.closed);
		const char *msg = json_string_value(json_object_get(json_object_get(r.json, "error"), "message"));
		assert_non_null(strstr(msg, "Content-Length"));
		raw_resp_done(&r);
		free(req);
		free(h);
	}
	assert_unchanged(snap, before);
}

/* A chunked body past the 64 KiB cap is 413, even when each chunk is small. */
static void test_chunked_over_cap(void **state)
{
	(void)state;
	json_t *snap = apifx_snapshot();
	size_t before = count_allocations();
	char *h = head("POST", "/api/v1/allocations", S->tok_acme, "Transfer-Encoding: chunked\r\n");
	/* 70 chunks of 1 KiB of spaces inside a JSON object: valid JSON, too big */
	QdBuf b;
	qdbuf_init(&b);
	qdbuf_appendf(&b, "1\r\n{\r\n");
	char kb[1024];
	memset(kb, ' ', sizeof kb);
	for (int i = 0; i < 70; i++) {
		qdbuf_appendf(&b, "400\r\n");
		qdbuf_append(&b, kb, sizeof kb);
		qdbuf_appendf(&b, "\r\n");
	}
	qdbuf_appendf(&b, "1\r\n}\r\n0\r\n\r\n");
	assert_true(b.len > QD_MAX_BODY_BYTES);
	const char *parts[] = {h, qdbuf_cstr(&b)};
	size_t lens[] = {strlen(h), b.len};
	RawResp r;
	raw_exchange(parts, lens, 2, &r);
	assert_error(&r, 413, "body_too_large");
	raw_resp_done(&r);
	qdbuf_done(&b);
	free(h);
	assert_unchanged(snap, before);
}

/* Broken chunk framing, unknown codings and ambiguous framing are refused
 * with a message that says what was wrong; nothing is created. */
static void test_bad_chunked_framing(void **state)
{
	(void)state;
	json_t *snap = apifx_snapshot();
	size_t before = count_allocations();
	char body[512];
	snprintf(body, sizeof body, CREATE_FMT, "bad-chunks");
	size_t blen = strlen(body);
	char good_chunk[600];
	snprintf(good_chunk, sizeof good_chunk, "%zx\r\n%s\r\n", blen, body);

	static const struct {
		const char *chunks; /* after a valid first chunk holding the whole JSON */
		const char *what;   /* expected in the message */
	} cases[] = {
		{"zz\r\n\r\n", "hexadecimal"},
		{"fffffffff\r\n", "large"},
		{"0\r\nX: y\n\r\n", "CRLF"},
	};
	for (size_t i = 0; i < QD_ARRAY_LEN(cases); i++) {
		char *h = head("POST", "/api/v1/allocations", S->tok_acme, "Transfer-Encoding: chunked\r\n");
		const char *parts[] = {h, good_chunk, cases[i].chunks};
		size_t lens[] = {strlen(h), strlen(good_chunk), strlen(cases[i].chunks)};
		RawResp r;
		raw_exchange(parts, lens, 3, &r);
		assert_error(&r, 400, "invalid_chunked_body");
		const char *msg = json_string_value(json_object_get(json_object_get(r.json, "error"), "message"));
		if (!strstr(msg, cases[i].what))
			fail_msg("case %zu: message \"%s\" does not mention \"%s\"", i, msg, cases[i].what);
		raw_resp_done(&r);
		free(h);
	}

	/* payload longer than its chunk size says */
	{
		char *h = head("POST", "/api/v1/allocations", S->tok_acme, "Transfer-Encoding: chunked\r\n");
		char bad[600];
		snprintf(bad, sizeof bad, "%zx\r\n%s\r\n0\r\n\r\n", blen - 3, body);
		char *req = xmalloc(strlen(h) + strlen(bad) + 1);
		strcpy(req, h);
		strcat(req, bad);
		RawResp r;
		raw_one(req, &r);
		assert_error(&r, 400, "invalid_chunked_body");
		raw_resp_done(&r);
		free(req);
		free(h);
	}

	/* an unknown transfer coding, both framings at once, a chunked GET */
	struct {
		const char *method, *extra;
		int status;
		const char *code;
	} refusals[] = {
		{"POST", "Transfer-Encoding: gzip, chunked\r\n", 501, "unsupported_transfer_encoding"},
		{"POST", "Transfer-Encoding: chunked\r\nContent-Length: 10\r\n", 400, "invalid_framing"},
		{"GET", "Transfer-Encoding: chunked\r\n", 400, "invalid_framing"},
	};
	for (size_t i = 0; i < QD_ARRAY_LEN(refusals); i++) {
		char *h = head(refusals[i].method, "/api/v1/allocations", S->tok_acme, refusals[i].extra);
		char *req = xmalloc(strlen(h) + strlen(good_chunk) + 8);
		strcpy(req, h);
		strcat(req, good_chunk);
		strcat(req, "0\r\n\r\n");
		RawResp r;
		raw_one(req, &r);
		assert_error(&r, refusals[i].status, refusals[i].code);
		assert_true(r.closed);
		raw_resp_done(&r);
		free(req);
		free(h);
	}
	assert_unchanged(snap, before);

	/* and the server is still answering */
	ApiResp ok;
	assert_int_equal(api_get(S, "/api/v1/healthz", NULL, &ok), 0);
	assert_int_equal(ok.status, 200);
	api_resp_done(&ok);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chunked_create_accepted),
		cmocka_unit_test(test_bad_content_length),
		cmocka_unit_test(test_chunked_over_cap),
		cmocka_unit_test(test_bad_chunked_framing),
	};
	return cmocka_run_group_tests_name("api_badinput", tests, apifx_setup, apifx_teardown);
}

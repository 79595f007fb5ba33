/* Unit tests for server/chunked: every body is decoded in one piece, split in
 * two at every byte boundary and fed byte by byte, and all three must agree,
 * because lws cuts a chunked body wherever the socket read ended. Each piece
 * is copied into its own exact-size allocation so ASan sees any read past it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common/contract.h"
#include "common/util.h"
#include "server/chunked.h"

typedef struct {
	ChunkedStatus st;
	QdBuf out;
	bool over;
	const char *why;
} Result;

static ChunkedStatus feed_copy(ChunkDecoder *d, const char *p, size_t n, QdBuf *out, size_t cap)
{
	char *piece = xmalloc(n ? n : 1);
	memcpy(piece, p, n);
	ChunkedStatus st = chunked_feed(d, piece, n, out, cap);
	free(piece);
	return st;
}

/* Feeds `first` bytes, then pieces of `step` bytes (0: all the rest). */
static void decode(const char *in, size_t len, size_t cap, size_t first, size_t step, Result *r)
{
	ChunkDecoder d;
	chunked_init(&d);
	qdbuf_init(&r->out);
	first = QD_MIN(first, len);
	r->st = feed_copy(&d, in, first, &r->out, cap);
	for (size_t i = first; i < len;) {
		size_t n = step ? QD_MIN(step, len - i) : len - i;
		ChunkedStatus st = feed_copy(&d, in + i, n, &r->out, cap);
		r->st = st;
		i += n;
	}
	assert_int_equal(r->st, chunked_status(&d));
	r->over = chunked_over_cap(&d);
	r->why = chunked_error(&d);
	if (r->st != CHUNKED_BAD)
		assert_null(r->why);
}

static void expect_one(const Result *r, ChunkedStatus st, const char *payload, size_t plen, bool over,
                       const char *why)
{
	assert_int_equal(r->st, st);
	assert_int_equal(r->over, over);
	assert_int_equal(r->out.len, plen);
	if (plen)
		assert_memory_equal(r->out.data, payload, plen);
	if (why)
		assert_string_equal(r->why, why);
	else
		assert_null(r->why);
	if (over)
		assert_null(r->out.data); /* dropped, not kept around */
}

/* Whole, every two-piece split, and byte by byte must all give the same. */
static void expect_n(const char *in, size_t len, size_t cap, ChunkedStatus st, const char *payload,
                     size_t plen, bool over, const char *why)
{
	Result r;
	decode(in, len, cap, len, 0, &r);
	expect_one(&r, st, payload, plen, over, why);
	qdbuf_done(&r.out);
	for (size_t k = 0; k <= len; k++) {
		decode(in, len, cap, k, 0, &r);
		expect_one(&r, st, payload, plen, over, why);
		qdbuf_done(&r.out);
	}
	decode(in, len, cap, 1, 1, &r);
	expect_one(&r, st, payload, plen, over, why);
	qdbuf_done(&r.out);
	decode(in, len, cap, 0, 3, &r);
	expect_one(&r, st, payload, plen, over, why);
	qdbuf_done(&r.out);
}

static void expect_ok(const char *in, const char *payload)
{
	expect_n(in, strlen(in), QD_MAX_BODY_BYTES, CHUNKED_DONE, payload, strlen(payload), false, NULL);
}

/* payload: what was decoded before the framing broke (http.c drops it) */
static void expect_bad(const char *in, const char *payload, const char *why)
{
	expect_n(in, strlen(in), QD_MAX_BODY_BYTES, CHUNKED_BAD, payload, strlen(payload), false, why);
}

static void expect_more(const char *in, const char *payload)
{
	expect_n(in, strlen(in), QD_MAX_BODY_BYTES, CHUNKED_MORE, payload, strlen(payload), false, NULL);
}

static void test_well_formed(void **state)
{
	(void)state;
	expect_ok("5\r\nhello\r\n0\r\n\r\n", "hello");
	expect_ok("3\r\nabc\r\n1\r\nd\r\nA\r\n0123456789\r\n0\r\n\r\n", "abcd0123456789");
	expect_ok("1a\r\nabcdefghijklmnopqrstuvwxyz\r\n1A\r\nABCDEFGHIJKLMNOPQRSTUVWXYZ\r\n0\r\n\r\n",
	          "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
	/* extensions, also after whitespace, are skipped whatever they say */
	expect_ok("5;name=val\r\nhello\r\n3 ; q=\"a;b\"\r\nabc\r\n2\t;x\r\n!!\r\n0;last\r\n\r\n",
	          "helloabc!!");
	/* trailer fields are skipped */
	expect_ok("5\r\nhello\r\n0\r\nX-Sum: 1\r\nX-Other: two\r\n\r\n", "hello");
	/* leading zeros are legal, however many */
	expect_ok("0005\r\nhello\r\n00000000000000000000000000000000000003\r\nabc\r\n000\r\n\r\n",
	          "helloabc");
	/* a zero-length body */
	expect_ok("0\r\n\r\n", "");
	/* CRLF inside the payload is payload */
	expect_ok("4\r\n\r\n\r\n\r\n0\r\n\r\n", "\r\n\r\n");
}

static void test_binary_payload(void **state)
{
	(void)state;
	static const char in[] = "3\r\n\0\xff\n\r\n0\r\n\r\n";
	expect_n(in, sizeof in - 1, QD_MAX_BODY_BYTES, CHUNKED_DONE, "\0\xff\n", 3, false, NULL);
}

static void test_incomplete(void **state)
{
	(void)state;
	expect_more("", "");
	expect_more("5\r\nhel", "hel");
	expect_more("5\r\nhello\r\n0\r\n", "hello");
	expect_more("5\r\nhello\r\n0\r\nX-T: 1\r\n", "hello");
	/* the largest size accepted: still waiting for its data */
	expect_more("FFFFFFF\r\nab", "ab");
	expect_more("0000000000FFFFFFF\r\n", "");
}

/* What follows the terminating chunk is not ours (the connection closes). */
static void test_after_done_ignored(void **state)
{
	(void)state;
	expect_ok("2\r\nhi\r\n0\r\n\r\nGARBAGE\r\n5\r\nmore!\r\n", "hi");

	ChunkDecoder d;
	QdBuf out;
	chunked_init(&d);
	qdbuf_init(&out);
	assert_int_equal(chunked_feed(&d, "0\r\n\r\n", 5, &out, 16), CHUNKED_DONE);
	assert_int_equal(chunked_feed(&d, "1\r\nx\r\n", 6, &out, 16), CHUNKED_DONE);
	assert_int_equal(out.len, 0);
	qdbuf_done(&out);
}

static void test_refusals(void **state)
{
	(void)state;
	const char *nothex = "chunk size is not a hexadecimal number";
	expect_bad("g\r\nxxxxxxxxxxxxxxxx\r\n0\r\n\r\n", "", nothex);
	expect_bad("5x\r\nhello\r\n0\r\n\r\n", "", nothex);
	expect_bad("\r\n", "", nothex);
	expect_bad(";ext\r\n", "", nothex);
	expect_bad("-1\r\n", "", nothex);
	expect_bad("0x5\r\nhello\r\n0\r\n\r\n", "", nothex);
	expect_bad("5\n", "", nothex); /* a bare LF is not a size line's end */
	expect_bad("5\r\nhello\r\nzz\r\n", "hello", nothex);
	/* each size line needs its own digits */
	expect_bad("5\r\nhello\r\n\r\n0\r\n\r\n", "hello", nothex);
	expect_bad("5\r\nhello\r\n;x\r\n", "hello", nothex);

	expect_bad("10000000\r\n", "", "chunk size is absurdly large");
	expect_bad("00010000000\r\n", "", "chunk size is absurdly large");
	expect_bad("FFFFFFFFFFFFFFFFFFFFFFFF\r\n", "", "chunk size is absurdly large");

	expect_bad("5\rX", "", "chunk size line does not end in CRLF");
	expect_bad("5\r\r\n", "", "chunk size line does not end in CRLF");
	expect_bad("5;ext\n", "", "chunk size line does not end in CRLF");

	expect_bad("5\r\nhelloX", "hello", "chunk data is longer than its size says");
	expect_bad("5\r\nhello\rX", "hello", "chunk data is longer than its size says");
	expect_bad("5\r\nhello\n", "hello", "chunk data is longer than its size says");
	expect_bad("3\r\nhello\r\n0\r\n\r\n", "hel", "chunk data is longer than its size says");

	expect_bad("0\r\nX-T: 1\n", "", "chunked trailer line does not end in CRLF");
	expect_bad("0\r\n\n", "", "chunked trailer line does not end in CRLF");
	expect_bad("0\r\nX-T: 1\rY", "", "chunked body does not end in CRLF");
	expect_bad("0\r\n\rX", "", "chunked body does not end in CRLF");
	expect_bad("0\r\n\r\r", "", "chunked body does not end in CRLF");
}

/* A refusal keeps its status and message; later bytes change nothing. */
static void test_bad_is_final(void **state)
{
	(void)state;
	ChunkDecoder d;
	QdBuf out;
	chunked_init(&d);
	qdbuf_init(&out);
	assert_null(chunked_error(&d));
	assert_int_equal(chunked_feed(&d, "2\r\nab", 5, &out, 16), CHUNKED_MORE);
	assert_int_equal(chunked_feed(&d, "X", 1, &out, 16), CHUNKED_BAD);
	assert_string_equal(chunked_error(&d), "chunk data is longer than its size says");
	assert_int_equal(chunked_feed(&d, "\r\n0\r\n\r\n", 7, &out, 16), CHUNKED_BAD);
	assert_string_equal(chunked_error(&d), "chunk data is longer than its size says");
	assert_int_equal(out.len, 2);
	/* init makes a used decoder new again */
	chunked_init(&d);
	qdbuf_reset(&out);
	assert_int_equal(chunked_status(&d), CHUNKED_MORE);
	assert_null(chunked_error(&d));
	assert_int_equal(chunked_feed(&d, "0\r\n\r\n", 5, &out, 16), CHUNKED_DONE);
	qdbuf_done(&out);
}

/* Builds "0\r\n" + a trailer field of n bytes + "\r\n\r\n". */
static char *trailer_body(size_t n)
{
	char *s = xmalloc(n + 8);
	memcpy(s, "0\r\n", 3);
	memset(s + 3, 'a', n);
	memcpy(s + 3 + n, "\r\n\r\n", 5);
	return s;
}

static void test_trailer_limit(void **state)
{
	(void)state;
	/* the budget counts every trailer byte including each line's CR */
	char *s = trailer_body(CHUNKED_SKIP_MAX - 1);
	expect_ok(s, "");
	free(s);
	s = trailer_body(CHUNKED_SKIP_MAX);
	expect_bad(s, "", "chunked trailer is too long");
	free(s);
	s = trailer_body(3 * CHUNKED_SKIP_MAX); /* refused before its end arrives */
	s[3 * CHUNKED_SKIP_MAX + 3] = '\0';
	expect_bad(s, "", "chunked trailer is too long");
	free(s);
}

/* Builds "1" + sep + n bytes of extension + "\r\nx\r\n0\r\n\r\n". */
static char *ext_body(size_t n)
{
	char *s = xmalloc(n + 16);
	memcpy(s, "1;", 2);
	memset(s + 2, 'e', n);
	memcpy(s + 2 + n, "\r\nx\r\n0\r\n\r\n", 11);
	return s;
}

static void test_extension_limit(void **state)
{
	(void)state;
	/* the ';' that starts it and the CR that ends it are not counted */
	char *s = ext_body(CHUNKED_SKIP_MAX);
	expect_ok(s, "x");
	free(s);
	s = ext_body(CHUNKED_SKIP_MAX + 1);
	expect_bad(s, "", "chunk extension is too long");
	free(s);

	/* One budget for the whole body, shared with the trailer: many small
	 * extensions add up, so a sender cannot make us skip without end. */
	char *many = xmalloc(3 * 3000 + 64);
	size_t n = 0;
	for (int i = 0; i < 2; i++) {
		memcpy(many + n, "1;", 2);
		memset(many + n + 2, 'e', 3000);
		memcpy(many + n + 3002, "\r\nx\r\n", 5);
		n += 3007;
	}
	memcpy(many + n, "0\r\n\r\n", 6);
	expect_bad(many, "x", "chunk extension is too long");
	free(many);

	s = xmalloc(3000 + 1300);
	memcpy(s, "1;", 2);
	memset(s + 2, 'e', 3000);
	memcpy(s + 3002, "\r\nx\r\n0\r\n", 8);
	memset(s + 3010, 't', 1200); /* 3000 + 1200 > 4096 */
	memcpy(s + 4210, "\r\n\r\n", 5);
	expect_bad(s, "x", "chunked trailer is too long");
	free(s);
}

/* n chunks of `each` bytes of 'p', then the last chunk. */
static char *body_of(size_t n, size_t each, size_t *len)
{
	QdBuf b;
	qdbuf_init(&b);
	char *data = xmalloc(each);
	memset(data, 'p', each);
	for (size_t i = 0; i < n; i++) {
		qdbuf_appendf(&b, "%zx\r\n", each);
		qdbuf_append(&b, data, each);
		qdbuf_append(&b, "\r\n", 2);
	}
	qdbuf_append(&b, "0\r\n\r\n", 5);
	free(data);
	*len = b.len;
	return b.data;
}

static void test_cap(void **state)
{
	(void)state;
	size_t len;
	/* exactly the cap is fine */
	char *s = body_of(4, 4, &len);
	expect_n(s, len, 16, CHUNKED_DONE, "pppppppppppppppp", 16, false, NULL);
	/* one byte past it: payload dropped, framing still decoded to the end,
	 * so http.c answers 413 and not 400 */
	expect_n(s, len, 15, CHUNKED_DONE, "", 0, true, NULL);
	expect_n(s, len, 0, CHUNKED_DONE, "", 0, true, NULL);
	/* past the cap, broken framing is still reported as broken */
	s[len - 1] = 'X';
	expect_n(s, len, 15, CHUNKED_BAD, "", 0, true, "chunked body does not end in CRLF");
	/* and a body cut short is still waiting */
	expect_n(s, len - 5, 15, CHUNKED_MORE, "", 0, true, NULL);
	free(s);

	/* the real cap, with chunks far smaller than it (as the API test does) */
	s = body_of(70, 1024, &len);
	Result r;
	decode(s, len, QD_MAX_BODY_BYTES, len, 0, &r);
	expect_one(&r, CHUNKED_DONE, "", 0, true, NULL);
	decode(s, len, QD_MAX_BODY_BYTES, 1, 1, &r);
	expect_one(&r, CHUNKED_DONE, "", 0, true, NULL);
	decode(s, len, QD_MAX_BODY_BYTES, 0, 4093, &r);
	expect_one(&r, CHUNKED_DONE, "", 0, true, NULL);
	free(s);
	s = body_of(64, 1024, &len);
	decode(s, len, QD_MAX_BODY_BYTES, 0, 777, &r);
	assert_int_equal(r.st, CHUNKED_DONE);
	assert_false(r.over);
	assert_int_equal(r.out.len, QD_MAX_BODY_BYTES);
	qdbuf_done(&r.out);
	free(s);

	/* one huge declared chunk: only the bytes that came count */
	static const char big[] = "FFFFFFF\r\n0123456789";
	expect_n(big, sizeof big - 1, 8, CHUNKED_MORE, "", 0, true, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_well_formed),
		cmocka_unit_test(test_binary_payload),
		cmocka_unit_test(test_incomplete),
		cmocka_unit_test(test_after_done_ignored),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_bad_is_final),
		cmocka_unit_test(test_trailer_limit),
		cmocka_unit_test(test_extension_limit),
		cmocka_unit_test(test_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* libFuzzer target: the chunked body decoder, differentially. lws cuts a body
 * wherever a socket read ended, so the same bytes fed whole, cut where the
 * fuzzer chooses and fed byte by byte must give the same status, payload,
 * cap flag and message. Each piece is copied to the very end of one
 * body-sized allocation, so ASan catches a read past what was handed over
 * (one allocation per run, not per piece: ASan's quarantine of thousands of
 * tiny freed pieces per input grew the fuzzer past 1 GB RSS).
 *
 * Input layout: byte 0 picks the cap (high bit set: a tiny cap 0..127 so the
 * cap path is reached within -max_len; else the real 64 KiB), byte 1 says how
 * many of the following bytes are piece lengths (0..15), the rest is the body.
 *
 * Random bytes rarely form valid framing, so the body is also wrapped in
 * well-formed chunks (sizes from the same length bytes) and must decode back
 * to itself, or to nothing with the cap flag when it is longer than the cap. */
#include <stddef.h>
#include <stdint.h>
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
} Run;

static void feed(ChunkDecoder *d, const uint8_t *p, size_t n, QdBuf *out, size_t cap, char *scratch,
                 size_t body_len)
{
	char *piece = scratch + body_len - n;
	memmove(piece, p, n);
	ChunkedStatus st = chunked_feed(d, piece, n, out, cap);
	/* the cap holds after every read, not just at the end */
	if (out->len > cap || out->len > body_len)
		abort();
	if (chunked_over_cap(d) && out->len != 0)
		abort();
	if (st != chunked_status(d) || (st == CHUNKED_BAD) != (chunked_error(d) != NULL))
		abort();
}

/* lens == NULL: byte by byte; nlens == 0: in one piece. */
static void run(const uint8_t *body, size_t len, size_t cap, const uint8_t *lens, size_t nlens, Run *r)
{
	ChunkDecoder d;
	chunked_init(&d);
	qdbuf_init(&r->out);
	char *scratch = malloc(len ? len : 1);
	if (!scratch)
		abort();
	size_t i = 0, k = 0;
	if (lens && nlens == 0) {
		feed(&d, body, len, &r->out, cap, scratch, len);
		i = len;
	}
	while (i < len) {
		size_t n = 1;
		if (lens) {
			n = lens[k++ % nlens] % 64;
			if (n == 0) /* an empty read must be harmless too */
				feed(&d, body + i, 0, &r->out, cap, scratch, len);
			n = QD_MIN(QD_MAX(n, (size_t)1), len - i);
		}
		feed(&d, body + i, n, &r->out, cap, scratch, len);
		i += n;
	}
	free(scratch);
	r->st = chunked_status(&d);
	r->over = chunked_over_cap(&d);
	r->why = chunked_error(&d);
}

static void same(const Run *a, const Run *b)
{
	if (a->st != b->st || a->over != b->over || a->out.len != b->out.len)
		abort();
	if (a->out.len && memcmp(a->out.data, b->out.data, a->out.len) != 0)
		abort();
	if ((a->why == NULL) != (b->why == NULL) || (a->why && strcmp(a->why, b->why) != 0))
		abort();
}

/* Frames body as chunks of lens[k] % 64 + 1 bytes; bit 6 adds an extension,
 * bit 7 a trailer field at the end. Extensions stop before the body-wide
 * CHUNKED_SKIP_MAX budget would run out: past it the refusal is intended. */
static void frame(const uint8_t *body, size_t len, const uint8_t *lens, size_t nlens, QdBuf *out)
{
	qdbuf_init(out);
	size_t i = 0, k = 0, skipped = 0;
	while (i < len) {
		uint8_t b = lens[k++ % nlens];
		size_t n = QD_MIN((size_t)(b % 64) + 1, len - i);
		if ((b & 0x40) && skipped + 8 <= CHUNKED_SKIP_MAX - 16) {
			/* counted: "e=" and three digits at most (the ';' is not) */
			qdbuf_appendf(out, "%03zX;e=%u\r\n", n, (unsigned)b);
			skipped += 5;
		} else
			qdbuf_appendf(out, "%zx\r\n", n);
		qdbuf_append(out, body + i, n);
		qdbuf_append(out, "\r\n", 2);
		i += n;
	}
	const char *end = (lens[0] & 0x80) ? "0\r\nX-T: 1\r\n\r\n" : "0\r\n\r\n";
	qdbuf_append(out, end, strlen(end));
}

static void round_trip(const uint8_t *body, size_t len, size_t cap, const uint8_t *lens, size_t nlens)
{
	QdBuf framed;
	frame(body, len, lens, nlens, &framed);
	const uint8_t *f = (const uint8_t *)framed.data;
	Run whole, cut;
	run(f, framed.len, cap, lens, 0, &whole);
	run(f, framed.len, cap, lens, nlens, &cut);
	same(&whole, &cut);
	if (whole.st != CHUNKED_DONE || whole.over != (len > cap))
		abort();
	if (!whole.over && (whole.out.len != len || (len && memcmp(whole.out.data, body, len) != 0)))
		abort();
	qdbuf_done(&whole.out);
	qdbuf_done(&cut.out);
	qdbuf_done(&framed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t cap = (data[0] & 0x80) ? (size_t)(data[0] & 0x7f) : (size_t)QD_MAX_BODY_BYTES;
	size_t nlens = QD_MIN((size_t)(data[1] % 16), size - 2);
	const uint8_t *lens = data + 2;
	const uint8_t *body = lens + nlens;
	size_t len = size - 2 - nlens;

	/* no lengths given: cut near the middle instead */
	uint8_t half = (uint8_t)QD_MIN(len / 2 + 1, (size_t)63);
	if (nlens == 0) {
		lens = &half;
		nlens = 1;
	}

	Run whole, cut, bytes;
	run(body, len, cap, lens, 0, &whole);
	run(body, len, cap, lens, nlens, &cut);
	run(body, len, cap, NULL, 0, &bytes);
	same(&whole, &cut);
	same(&whole, &bytes);
	qdbuf_done(&whole.out);
	qdbuf_done(&cut.out);
	qdbuf_done(&bytes.out);

	round_trip(body, len, cap, lens, nlens);
	return 0;
}

/* chunked — Transfer-Encoding: chunked body decoder. See chunked.h. */
#include "server/chunked.h"

enum {
	ST_SIZE,         /* hex digits of the chunk size */
	ST_EXT,          /* ";ext" (or whitespace) after the size, skipped up to CR */
	ST_SIZE_LF,      /* LF after the size line */
	ST_DATA,         /* chunk payload */
	ST_DATA_CR,      /* CR after the payload */
	ST_DATA_LF,      /* LF after the payload */
	ST_TRAILER,      /* start of a trailer line, or the final CRLF */
	ST_TRAILER_LINE, /* inside a trailer field, skipped up to CR */
	ST_TRAILER_LF,   /* LF ending a trailer field */
	ST_END_LF,       /* LF of the final empty line */
	ST_DONE,
	ST_BAD,
};

void chunked_init(ChunkDecoder *d)
{
	d->state = ST_SIZE;
	d->left = 0;
	d->have_digit = false;
	d->skipped = 0;
	d->over_cap = false;
	d->why = NULL;
}

static void fail(ChunkDecoder *d, const char *why)
{
	d->state = ST_BAD;
	d->why = why;
}

/* Same policy as a Content-Length body in http.c: the moment the payload
 * would pass the cap it is freed and everything after is dropped, so a
 * hostile sender cannot make us hold more than the cap. */
static void take(ChunkDecoder *d, const char *p, size_t n, QdBuf *payload, size_t cap)
{
	if (d->over_cap || n == 0)
		return;
	if (payload->len + n > cap) {
		d->over_cap = true;
		qdbuf_done(payload);
		return;
	}
	qdbuf_append(payload, p, n);
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

ChunkedStatus chunked_status(const ChunkDecoder *d)
{
	return d->state == ST_DONE ? CHUNKED_DONE : d->state == ST_BAD ? CHUNKED_BAD : CHUNKED_MORE;
}

bool chunked_over_cap(const ChunkDecoder *d)
{
	return d->over_cap;
}

const char *chunked_error(const ChunkDecoder *d)
{
	return d->state == ST_BAD ? d->why : NULL;
}

ChunkedStatus chunked_feed(ChunkDecoder *d, const char *in, size_t len, QdBuf *payload,
                           size_t payload_cap)
{
	size_t i = 0;
	while (i < len && d->state != ST_DONE && d->state != ST_BAD) {
		char ch = in[i];
		switch (d->state) {
		case ST_SIZE: {
			int v = hexval(ch);
			if (v >= 0) {
				/* checked before the shift so it cannot wrap; leading
				 * zeros keep left at 0 and cost nothing */
				if (d->left > CHUNKED_SIZE_MAX / 16) {
					fail(d, "chunk size is absurdly large");
					break;
				}
				d->have_digit = true;
				d->left = d->left * 16 + (size_t)v;
			} else if (!d->have_digit) {
				fail(d, "chunk size is not a hexadecimal number");
				break;
			} else if (ch == ';' || ch == ' ' || ch == '\t') {
				d->state = ST_EXT;
			} else if (ch == '\r') {
				d->state = ST_SIZE_LF;
			} else {
				fail(d, "chunk size is not a hexadecimal number");
				break;
			}
			i++;
			break;
		}
		case ST_EXT:
			/* extensions mean nothing to us; only their length matters,
			 * and it shares one budget with the trailer */
			if (ch == '\r')
				d->state = ST_SIZE_LF;
			else if (ch == '\n')
				fail(d, "chunk size line does not end in CRLF");
			else if (++d->skipped > CHUNKED_SKIP_MAX)
				fail(d, "chunk extension is too long");
			i++;
			break;
		case ST_SIZE_LF:
			if (ch != '\n') {
				fail(d, "chunk size line does not end in CRLF");
				break;
			}
			d->have_digit = false;
			d->state = d->left ? ST_DATA : ST_TRAILER;
			i++;
			break;
		case ST_DATA: {
			/* payload is taken a run at a time, never a byte at a time */
			size_t n = QD_MIN(d->left, len - i);
			take(d, in + i, n, payload, payload_cap);
			d->left -= n;
			i += n;
			if (!d->left)
				d->state = ST_DATA_CR;
			break;
		}
		case ST_DATA_CR:
		case ST_DATA_LF:
			if (ch != (d->state == ST_DATA_CR ? '\r' : '\n')) {
				fail(d, "chunk data is longer than its size says");
				break;
			}
			d->state = d->state == ST_DATA_CR ? ST_DATA_LF : ST_SIZE;
			i++;
			break;
		case ST_TRAILER:
			d->state = ch == '\r' ? ST_END_LF : ST_TRAILER_LINE;
			if (d->state == ST_TRAILER_LINE)
				continue; /* this byte belongs to the field */
			i++;
			break;
		case ST_TRAILER_LINE:
			if (++d->skipped > CHUNKED_SKIP_MAX) {
				fail(d, "chunked trailer is too long");
				break;
			}
			if (ch == '\r')
				d->state = ST_TRAILER_LF;
			else if (ch == '\n')
				fail(d, "chunked trailer line does not end in CRLF");
			i++;
			break;
		case ST_TRAILER_LF:
		case ST_END_LF:
			if (ch != '\n') {
				fail(d, "chunked body does not end in CRLF");
				break;
			}
			d->state = d->state == ST_TRAILER_LF ? ST_TRAILER : ST_DONE;
			i++;
			break;
		default:
			break;
		}
	}
	return chunked_status(d);
}

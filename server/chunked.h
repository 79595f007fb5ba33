/* chunked — a decoder for Transfer-Encoding: chunked request bodies (RFC 9112
 * 7.1), kept free of lws so it can be unit-tested and fuzzed on its own.
 *
 * lws 4.1 hands a chunked body to qdeckd raw, in reads cut anywhere, so the
 * decoder is a byte-at-a-time state machine that resumes at any boundary and
 * never looks past the bytes it is given. It owns no memory: the payload goes
 * into the caller's QdBuf, which never holds more than the cap. Past the cap
 * the payload is dropped (the buffer is emptied, as for a Content-Length body)
 * but the framing is still decoded to its last chunk, so the caller can answer
 * 413 at the right moment instead of 400. Chunk extensions and trailer fields
 * are skipped; bytes after the final CRLF are ignored (the caller closes). */
#ifndef QD_SERVER_CHUNKED_H
#define QD_SERVER_CHUNKED_H

#include <stdbool.h>
#include <stddef.h>

#include "common/util.h"

/* Extension and trailer bytes skipped at most, counted over the whole body. */
#define CHUNKED_SKIP_MAX 4096
/* Chunk sizes above this (256 MiB - 1) are refused: far past any cap, and a
 * few more hex digits away from overflowing size_t. */
#define CHUNKED_SIZE_MAX 0xFFFFFFFu

typedef enum {
	CHUNKED_MORE, /* framing not finished: feed the next read */
	CHUNKED_DONE, /* last chunk and final CRLF seen */
	CHUNKED_BAD,  /* framing is broken: chunked_error() says how */
} ChunkedStatus;

/* Embedded by value; all fields are the module's, read them through the
 * functions below. */
typedef struct {
	unsigned state;  /* where in the framing (a private enum in chunked.c) */
	size_t left;     /* payload bytes left in this chunk / size being read */
	bool have_digit; /* the size line has at least one hex digit */
	size_t skipped;  /* extension and trailer bytes seen so far */
	bool over_cap;   /* payload went past the cap and was dropped */
	const char *why; /* static message once CHUNKED_BAD */
} ChunkDecoder;

/* Ready for the first byte of a body; also resets a used decoder. */
void chunked_init(ChunkDecoder *d);
/* Decodes len bytes of framing, appending payload to *payload while it stays
 * within payload_cap bytes. Returns the status after these bytes; once DONE
 * or BAD, later calls consume nothing and return the same. */
ChunkedStatus chunked_feed(ChunkDecoder *d, const char *in, size_t len, QdBuf *payload,
                           size_t payload_cap);
ChunkedStatus chunked_status(const ChunkDecoder *d);
/* True once the payload passed the cap (answer 413 at DONE). */
bool chunked_over_cap(const ChunkDecoder *d);
/* What was wrong with the framing, for the 400; NULL unless BAD. */
const char *chunked_error(const ChunkDecoder *d);

#endif

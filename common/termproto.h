/* termproto — the terminal session's wire format, linked by qdeckd (server/terminal.c)
 * and qdeck (net/termclient.c) so the two sides cannot disagree about it.
 *
 * It follows Kubernetes' "v5.channel.k8s.io" WebSocket subprotocol: every
 * message is binary and its first byte names the channel; the rest is the
 * payload. Control payloads (status, resize) are small JSON objects. Every
 * message has a size cap and every JSON field is bounds-checked here, so the
 * transports only move bytes. docs/terminal-protocol.md is the prose version.
 *
 * Nothing here allocates except the JSON helpers' internal jansson use. */
#ifndef QD_TERMPROTO_H
#define QD_TERMPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TERMPROTO_SUBPROTOCOL "v5.channel.k8s.io"

enum {
	TP_CH_STDIN = 0,   /* client → server: keystrokes, pastes */
	TP_CH_STDOUT = 1,  /* server → client: PTY output (not UTF-8 aligned) */
	TP_CH_STDERR = 2,  /* reserved by k8s; a PTY merges it into stdout, never sent */
	TP_CH_STATUS = 3,  /* server → client: JSON, the session's end and why */
	TP_CH_RESIZE = 4,  /* client → server: JSON {"Width":W,"Height":H} */
	TP_CH_CLOSE = 255, /* client → server: optional 1-byte payload = channel closed (0) */
};

/* Largest message either side accepts, channel byte included. */
#define TP_MAX_MESSAGE 65536
/* Largest control (status/resize) payload; real ones are < 300 bytes. */
#define TP_MAX_CONTROL 4096
/* PTY reads and stdin chunks stay well under the message cap. */
#define TP_CHUNK 16384
/* Resize bounds, inclusive. */
#define TP_DIM_MIN 1
#define TP_DIM_MAX 1000
/* Status message text is cut to this many bytes. */
#define TP_STATUS_MSG_MAX 200

typedef enum {
	TP_OK = 0,
	TP_ERR_EMPTY,        /* zero-length message: no channel byte */
	TP_ERR_TOO_BIG,      /* over TP_MAX_MESSAGE (or TP_MAX_CONTROL for JSON) */
	TP_ERR_CHANNEL,      /* channel byte not one of the above */
	TP_ERR_JSON,         /* control payload is not a JSON object */
	TP_ERR_FIELD,        /* required field missing or of the wrong type */
	TP_ERR_BOUNDS,       /* Width/Height outside TP_DIM_MIN..TP_DIM_MAX */
	TP_ERR_CLOSE_ARG,    /* close payload longer than 1 byte */
	TP_ERR_SPACE,        /* output buffer too small */
} TpError;

/* One line saying what was wrong, for close reasons and logs. */
const char *termproto_strerror(TpError e);

typedef struct {
	uint8_t channel;
	const uint8_t *data; /* points into the decoded message */
	size_t len;
} TpFrame;

/* Splits a complete message into channel and payload. Rejects empty, oversize
 * and unknown-channel messages; payloads are not interpreted. */
TpError termproto_decode(const void *msg, size_t len, TpFrame *out);

/* Writes channel + payload into out; returns bytes written, 0 if out is too
 * small or the result would exceed TP_MAX_MESSAGE. */
size_t termproto_encode(uint8_t channel, const void *data, size_t len, uint8_t *out,
                        size_t outsz);

/* Resize payload. parse validates object shape, integer types and bounds. */
TpError termproto_resize_parse(const void *json, size_t len, int *width, int *height);
/* Returns bytes written (no NUL counted), 0 on bad bounds or no space. */
size_t termproto_resize_format(char *out, size_t outsz, int width, int height);

typedef struct {
	bool success;
	bool has_code;        /* the shell's exit code is known */
	int code;             /* exit status, or 128+signal */
	char reason[48];      /* "ExitCode", "AllocationNotActive", "ProtocolError"... */
	char message[TP_STATUS_MSG_MAX + 1];
} TpStatus;

/* Status payload: {"status":"Success"|"Failure","code":N,"reason":..,"message":..,
 * "details":{"causes":[{"reason":"ExitCode","message":"N"}]}} — the details
 * block is what Kubernetes clients read the exit code from. Returns bytes
 * written, 0 if it does not fit. The message is sanitized and cut. */
size_t termproto_status_format(char *out, size_t outsz, const TpStatus *st);
/* Accepts our shape and plain Kubernetes Status objects. Strings are
 * sanitized (no control bytes survive). */
TpError termproto_status_parse(const void *json, size_t len, TpStatus *out);

/* Fills st for a shell that ended with the given waitpid status. */
void termproto_status_from_wait(TpStatus *st, int wstatus);

#endif

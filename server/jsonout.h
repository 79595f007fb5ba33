/* jsonout — the compact JSON text writer of qdeckd's response path.
 *
 * jansson's own dumper goes through a callback per token and took a third of
 * a 500-row page's time, so responses are written here instead: routes.c
 * walks jansson values with it, and model_alloc.c writes list pages straight
 * from sqlite rows with it. One writer means the two paths cannot disagree on
 * a byte (tests/unit/test_list_json.c holds them equal). The output is what
 * json_dumps(JSON_COMPACT) writes, except that \u00XX escapes use lower-case
 * hex. Owns its buffer: the caller frees o.p (or takes it). */
#ifndef QD_SERVER_JSONOUT_H
#define QD_SERVER_JSONOUT_H

#include <stddef.h>
#include <string.h>

typedef struct {
	char *p;
	size_t len, cap;
} JsonOut;

/* Starts with `hint` bytes of room (0 is fine). */
void jsonout_init(JsonOut *o, size_t hint);
void jsonout_reserve(JsonOut *o, size_t extra);
/* A JSON string of n bytes the caller knows is valid UTF-8: only '"', '\\'
 * and control characters are escaped. */
void jsonout_string(JsonOut *o, const char *s, size_t n);

static inline void jsonout_raw(JsonOut *o, const char *s, size_t n)
{
	jsonout_reserve(o, n);
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

#endif

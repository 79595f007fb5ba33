/* util — the one allocation policy and small helpers shared by qdeck and qdeckd.
 *
 * Out of memory is not recoverable here: xmalloc and friends call the hook set
 * with util_set_oom_hook (the console uses it to restore the terminal), print
 * one line and abort. Recoverable errors are return values, never this path. */
#ifndef QD_UTIL_H
#define QD_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define QD_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define QD_MIN(a, b) ((a) < (b) ? (a) : (b))
#define QD_MAX(a, b) ((a) > (b) ? (a) : (b))

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a fresh heap string */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Called once before abort() on out of memory. */
void util_set_oom_hook(void (*hook)(void));
_Noreturn void util_oom(void);

/* Copies at most dstsz-1 bytes and always terminates; returns strlen(src). */
size_t qd_strlcpy(char *dst, const char *src, size_t dstsz);

/* Wall clock in ms / monotonic clock in ms. */
int64_t qd_now_ms(void);
int64_t qd_mono_ms(void);

/* RFC 3339 UTC with milliseconds ("2026-11-23T10:00:00.000Z") into buf (>= 32 bytes). */
void qd_time_format(int64_t ms, char *buf, size_t bufsz);
/* Parses what qd_time_format writes (fraction optional, 'Z' or +00:00); -1 on error. */
int64_t qd_time_parse(const char *s);
/* "4s", "12m", "3h", "5d" — the age column. */
void qd_age_format(int64_t ms, char *buf, size_t bufsz);

/* Growable byte buffer; owns its bytes. */
typedef struct {
	char *data;
	size_t len;
	size_t cap;
} QdBuf;
void qdbuf_init(QdBuf *b);
void qdbuf_done(QdBuf *b);
void qdbuf_append(QdBuf *b, const void *p, size_t n);
void qdbuf_appendf(QdBuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void qdbuf_reset(QdBuf *b);
/* NUL-terminated view of the buffer (the NUL is not counted in len). */
const char *qdbuf_cstr(QdBuf *b);

/* quarterdeck's directory under an XDG base directory: "$ENV/quarterdeck",
 * else "$HOME/<home_rel>/quarterdeck" (home_rel e.g. ".config"). A relative
 * value is ignored, as the XDG spec says. 0, or -1 when neither is usable or
 * the path does not fit buf. */
int qd_xdg_dir(const char *env, const char *home_rel, char *buf, size_t sz);

#endif

/* util — allocation policy, time formatting, growable buffer. */
#include "common/util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void (*oom_hook)(void);

void util_set_oom_hook(void (*hook)(void)) { oom_hook = hook; }

_Noreturn void util_oom(void)
{
	if (oom_hook)
		oom_hook();
	fputs("quarterdeck: out of memory\n", stderr);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		util_oom();
	return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
	if (!p)
		util_oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		util_oom();
	return q;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *out = NULL;
	int n = vasprintf(&out, fmt, ap);
	va_end(ap);
	if (n < 0)
		util_oom();
	return out;
}

size_t qd_strlcpy(char *dst, const char *src, size_t dstsz)
{
	size_t len = strlen(src);
	if (dstsz) {
		size_t n = len < dstsz - 1 ? len : dstsz - 1;
		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

int64_t qd_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t qd_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void qd_time_format(int64_t ms, char *buf, size_t bufsz)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	char base[24];
	strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, bufsz, "%s.%03dZ", base, (int)(ms % 1000));
}

int64_t qd_time_parse(const char *s)
{
	if (!s)
		return -1;
	struct tm tm = {0};
	const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p)
		return -1;
	int64_t frac = 0;
	if (*p == '.') {
		int digits = 0;
		p++;
		while (*p >= '0' && *p <= '9') {
			if (digits < 3) {
				frac = frac * 10 + (*p - '0');
				digits++;
			}
			p++;
		}
		if (digits == 0)
			return -1;
		while (digits++ < 3)
			frac *= 10;
	}
	if (strcmp(p, "Z") != 0 && strcmp(p, "+00:00") != 0)
		return -1;
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	return (int64_t)t * 1000 + frac;
}

void qd_age_format(int64_t ms, char *buf, size_t bufsz)
{
	int64_t s = ms < 0 ? 0 : ms / 1000;
	if (s < 60)
		snprintf(buf, bufsz, "%llds", (long long)s);
	else if (s < 3600)
		snprintf(buf, bufsz, "%lldm", (long long)(s / 60));
	else if (s < 86400)
		snprintf(buf, bufsz, "%lldh", (long long)(s / 3600));
	else
		snprintf(buf, bufsz, "%lldd", (long long)(s / 86400));
}

void qdbuf_init(QdBuf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void qdbuf_done(QdBuf *b)
{
	free(b->data);
	qdbuf_init(b);
}

static void qdbuf_reserve(QdBuf *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + extra + 1)
		cap *= 2;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
}

void qdbuf_append(QdBuf *b, const void *p, size_t n)
{
	qdbuf_reserve(b, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void qdbuf_appendf(QdBuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		va_end(ap2);
		return;
	}
	qdbuf_reserve(b, (size_t)n);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
	va_end(ap2);
	b->len += (size_t)n;
}

void qdbuf_reset(QdBuf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

const char *qdbuf_cstr(QdBuf *b)
{
	/* Callers may shorten len directly (trimming): terminate at len again. */
	qdbuf_reserve(b, 0);
	b->data[b->len] = '\0';
	return b->data;
}

int qd_xdg_dir(const char *env, const char *home_rel, char *buf, size_t sz)
{
	const char *base = getenv(env);
	const char *home = getenv("HOME");
	int n;
	if (base && base[0] == '/')
		n = snprintf(buf, sz, "%s/quarterdeck", base);
	else if (home && home[0] == '/')
		n = snprintf(buf, sz, "%s/%s/quarterdeck", home, home_rel);
	else
		return -1;
	return n > 0 && (size_t)n < sz ? 0 : -1;
}

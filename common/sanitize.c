/* sanitize — visible rendering of control bytes, UTF-8 validation, width fitting. */
#include "common/sanitize.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

/* Decodes one UTF-8 sequence; returns its length, or 0 when malformed
 * (overlong, surrogate, out of range, truncated). */
static size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	if (len == 0)
		return 0;
	unsigned char c = s[0];
	size_t n;
	uint32_t v, min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xe0) == 0xc0) {
		n = 2, v = c & 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3, v = c & 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4, v = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

static size_t put(char *out, size_t outsz, size_t pos, const char *piece, size_t n)
{
	if (pos + n + 1 > outsz)
		return 0; /* does not fit: caller stops */
	memcpy(out + pos, piece, n);
	return n;
}

size_t sanitize_str(const char *in, size_t inlen, char *out, size_t outsz, bool keep_newlines)
{
	if (outsz == 0)
		return 0;
	const unsigned char *s = (const unsigned char *)in;
	size_t pos = 0, i = 0;
	while (i < inlen && s[i]) {
		char tmp[8];
		size_t tn;
		uint32_t cp;
		size_t n = utf8_decode(s + i, inlen - i, &cp);
		if (n == 0) {
			memcpy(tmp, "\xef\xbf\xbd", 3); /* U+FFFD */
			tn = 3;
			n = 1;
		} else if (cp == '\n' && keep_newlines) {
			tmp[0] = '\n', tn = 1;
		} else if (cp == '\t' && keep_newlines) {
			tmp[0] = ' ', tn = 1;
		} else if (cp < 0x20) {
			tmp[0] = '^', tmp[1] = (char)(cp + 0x40), tn = 2;
		} else if (cp == 0x7f) {
			memcpy(tmp, "^?", 2), tn = 2;
		} else if (cp >= 0x80 && cp < 0xa0) {
			tn = (size_t)snprintf(tmp, sizeof tmp, "<%02x>", (unsigned)cp);
		} else if (cp == 0x2028 || cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) ||
		           (cp >= 0x2066 && cp <= 0x2069)) {
			/* line separators and bidi overrides reorder what the operator reads */
			tn = (size_t)snprintf(tmp, sizeof tmp, "<%04x>", (unsigned)cp);
		} else {
			memcpy(tmp, s + i, n);
			tn = n;
		}
		size_t w = put(out, outsz, pos, tmp, tn);
		if (w == 0)
			break;
		pos += w;
		i += n;
	}
	out[pos] = '\0';
	return pos;
}

static int cp_width(uint32_t cp)
{
	int w = wcwidth((wchar_t)cp);
	return w < 0 ? 1 : w;
}

int sanitize_width(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t len = strlen(str), i = 0;
	int cols = 0;
	while (i < len) {
		uint32_t cp;
		size_t n = utf8_decode(s + i, len - i, &cp);
		if (n == 0)
			n = 1, cp = 0xfffd;
		cols += cp_width(cp);
		i += n;
	}
	return cols;
}

int sanitize_fit(const char *in, char *out, size_t outsz, int max_cols, bool ascii)
{
	if (outsz == 0)
		return 0;
	char clean[4096];
	size_t len = sanitize_str(in ? in : "", in ? strlen(in) : 0, clean, sizeof clean, false);
	if (max_cols <= 0) {
		out[0] = '\0';
		return 0;
	}
	const char *ell = ascii ? "~" : "\xe2\x80\xa6";
	size_t ell_len = strlen(ell);
	int total = sanitize_width(clean);
	bool cut = total > max_cols;
	int budget = cut ? max_cols - 1 : max_cols;
	const unsigned char *s = (const unsigned char *)clean;
	size_t i = 0, pos = 0;
	int cols = 0;
	while (i < len) {
		uint32_t cp;
		size_t n = utf8_decode(s + i, len - i, &cp);
		if (n == 0)
			n = 1, cp = 0xfffd;
		int w = cp_width(cp);
		if (cols + w > budget || pos + n + (cut ? ell_len : 0) + 1 > outsz)
			break;
		memcpy(out + pos, s + i, n);
		pos += n, i += n, cols += w;
	}
	if (cut && pos + ell_len + 1 <= outsz) {
		memcpy(out + pos, ell, ell_len);
		pos += ell_len;
		cols += 1;
	}
	out[pos] = '\0';
	return cols;
}

bool sanitize_is_clean(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	while (i < len) {
		uint32_t cp;
		size_t n = utf8_decode(s + i, len - i, &cp);
		if (n == 0 || cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0))
			return false;
		i += n;
	}
	return true;
}

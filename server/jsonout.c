/* jsonout — compact JSON text writer shared by the response paths. */
#include "server/jsonout.h"

#include "common/util.h"

void jsonout_init(JsonOut *o, size_t hint)
{
	o->cap = hint ? hint : 4096;
	o->p = xmalloc(o->cap);
	o->len = 0;
}

void jsonout_reserve(JsonOut *o, size_t extra)
{
	if (o->len + extra <= o->cap)
		return;
	size_t cap = o->cap ? o->cap * 2 : 4096;
	while (cap < o->len + extra)
		cap *= 2;
	o->p = xrealloc(o->p, cap);
	o->cap = cap;
}

void jsonout_string(JsonOut *o, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	jsonout_reserve(o, n + 2);
	o->p[o->len++] = '"';
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch >= 0x20 && ch != '"' && ch != '\\')
			continue;
		jsonout_raw(o, s + start, i - start);
		char esc[6] = {'\\', 0, 0, 0, 0, 0};
		size_t en = 2;
		switch (ch) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		default:
			esc[1] = 'u', esc[2] = '0', esc[3] = '0', esc[4] = hex[ch >> 4], esc[5] = hex[ch & 15];
			en = 6;
		}
		jsonout_raw(o, esc, en);
		start = i + 1;
	}
	jsonout_raw(o, s + start, n - start);
	jsonout_raw(o, "\"", 1);
}

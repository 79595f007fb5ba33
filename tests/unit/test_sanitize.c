/* Unit tests for common/sanitize: nothing that could steer a terminal gets
 * through (ESC, CSI, OSC, C0, C1, DEL, bidi overrides), malformed UTF-8
 * becomes U+FFFD, widths follow wcwidth, and fitting cuts with an ellipsis
 * without ever splitting a character. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <locale.h>
#include <string.h>

#include "common/sanitize.h"

#define FFFD "\xef\xbf\xbd"

static const char *clean(const char *in)
{
	static char out[512];
	sanitize_str(in, strlen(in), out, sizeof out, false);
	return out;
}

static void test_escape_sequences_visible(void **state)
{
	(void)state;
	assert_string_equal(clean("a\x1b" "b"), "a^[b");
	assert_string_equal(clean("\x1b[31mred\x1b[0m"), "^[[31mred^[[0m");
	assert_string_equal(clean("\x1b]0;title\x07"), "^[]0;title^G");
	assert_string_equal(clean("\x1b]52;c;ZXZpbA==\x1b\\"), "^[]52;c;ZXZpbA==^[\\");
	assert_string_equal(clean("bell\x07nul"), "bell^Gnul");
	assert_string_equal(clean("del\x7f"), "del^?");
	assert_string_equal(clean("tab\there\nline\r"), "tab^Ihere^Jline^M");
	/* C1 controls encoded as UTF-8 (U+009B is a one-character CSI) */
	assert_string_equal(clean("x\xc2\x9b" "31m"), "x<9b>31m");
	assert_string_equal(clean("\xc2\x90\xc2\x9d\xc2\x9c"), "<90><9d><9c>");
	/* the same bytes raw are not UTF-8 at all */
	assert_string_equal(clean("x\x9b" "31m"), "x" FFFD "31m");
	/* bidi overrides and line separators reorder text: shown as code points */
	assert_string_equal(clean("a\xe2\x80\xae" "b"), "a<202e>b");
	assert_string_equal(clean("a\xe2\x80\xa8" "b"), "a<2028>b");
	/* nothing left that a terminal would act on */
	const char *evil = "\x1b[2J\x1b[H\x9b\xc2\x9b\x1bP+q\x1b\\\x7f";
	const char *c = clean(evil);
	assert_true(sanitize_is_clean(c, strlen(c)));
	assert_null(strchr(c, 0x1b));
	assert_false(sanitize_is_clean(evil, strlen(evil)));
}

static void test_keep_newlines(void **state)
{
	(void)state;
	char out[64];
	sanitize_str("a\nb\tc\x1b", 7, out, sizeof out, true);
	assert_string_equal(out, "a\nb c^[");
}

static void test_bad_utf8(void **state)
{
	(void)state;
	assert_string_equal(clean("\xc0\xaf"), FFFD FFFD);             /* overlong '/' */
	assert_string_equal(clean("\xed\xa0\x80"), FFFD FFFD FFFD);     /* surrogate */
	assert_string_equal(clean("\xf4\x90\x80\x80"), FFFD FFFD FFFD FFFD); /* > U+10FFFF */
	assert_string_equal(clean("ok\xe2\x82"), "ok" FFFD FFFD);      /* truncated */
	assert_string_equal(clean("\xff"), FFFD);
	assert_string_equal(clean("caf\xc3\xa9 \xe2\x82\xac"), "caf\xc3\xa9 \xe2\x82\xac"); /* valid stays */
	assert_true(sanitize_is_clean("caf\xc3\xa9", 5));
	assert_false(sanitize_is_clean("\xc0\xaf", 2));
}

static void test_output_bounds(void **state)
{
	(void)state;
	char out[5];
	/* "日" is 3 bytes; a second one would not fit with the NUL: never split */
	size_t n = sanitize_str("\xe6\x97\xa5\xe6\x97\xa5", 6, out, sizeof out, false);
	assert_int_equal(n, 3);
	assert_string_equal(out, "\xe6\x97\xa5");
	/* a ^X pair is never split either */
	char small[3];
	sanitize_str("a\x1b", 2, small, sizeof small, false);
	assert_string_equal(small, "a");
	/* inlen is respected, embedded NUL ends */
	char o2[16];
	sanitize_str("abcdef", 3, o2, sizeof o2, false);
	assert_string_equal(o2, "abc");
	assert_int_equal(sanitize_str("x", 1, o2, 0, false), 0);
}

static void test_width(void **state)
{
	(void)state;
	assert_int_equal(sanitize_width("abc"), 3);
	assert_int_equal(sanitize_width("\xe6\x97\xa5\xe6\x9c\xac"), 4);     /* 日本: wide */
	assert_int_equal(sanitize_width("e\xcc\x81"), 1);                    /* e + combining acute */
	assert_int_equal(sanitize_width("\xe2\x97\x8f active"), 8);
}

static void test_fit(void **state)
{
	(void)state;
	char out[64];
	assert_int_equal(sanitize_fit("abc", out, sizeof out, 3, false), 3);
	assert_string_equal(out, "abc");
	assert_int_equal(sanitize_fit("abcd", out, sizeof out, 3, false), 3);
	assert_string_equal(out, "ab\xe2\x80\xa6");
	assert_int_equal(sanitize_fit("abcd", out, sizeof out, 3, true), 3);
	assert_string_equal(out, "ab~");
	assert_int_equal(sanitize_fit("abcd", out, sizeof out, 1, false), 1);
	assert_string_equal(out, "\xe2\x80\xa6");
	assert_int_equal(sanitize_fit("abcd", out, sizeof out, 0, false), 0);
	assert_string_equal(out, "");
	assert_int_equal(sanitize_fit(NULL, out, sizeof out, 5, false), 0);
	assert_string_equal(out, "");
	/* wide characters: never half a character; the result may be narrower */
	assert_int_equal(sanitize_fit("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", out, sizeof out, 5, false), 5);
	assert_string_equal(out, "\xe6\x97\xa5\xe6\x9c\xac\xe2\x80\xa6");
	assert_int_equal(sanitize_fit("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", out, sizeof out, 4, false), 3);
	assert_string_equal(out, "\xe6\x97\xa5\xe2\x80\xa6");
	/* fitting happens after sanitizing: the visible form is what is counted */
	assert_int_equal(sanitize_fit("\x1b[31m", out, sizeof out, 4, false), 4);
	assert_string_equal(out, "^[[\xe2\x80\xa6");
	/* a small output buffer: still terminated, still whole characters */
	char tiny[6];
	int cols = sanitize_fit("abcdefghij", tiny, sizeof tiny, 8, false);
	assert_true(strlen(tiny) < sizeof tiny);
	assert_int_equal(cols, sanitize_width(tiny));
	assert_true(sanitize_is_clean(tiny, strlen(tiny)));
}

int main(void)
{
	setlocale(LC_ALL, "C.UTF-8");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_sequences_visible),
		cmocka_unit_test(test_keep_newlines),
		cmocka_unit_test(test_bad_utf8),
		cmocka_unit_test(test_output_bounds),
		cmocka_unit_test(test_width),
		cmocka_unit_test(test_fit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

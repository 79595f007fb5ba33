/* Unit tests for common/util: time formatting/parsing, ages, the growable buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "common/util.h"

static void test_time_round_trip(void **state)
{
	(void)state;
	char buf[40];
	int64_t ms = 1795000000123LL;
	qd_time_format(ms, buf, sizeof buf);
	assert_string_equal(buf, "2026-11-18T11:06:40.123Z");
	assert_int_equal(qd_time_parse(buf), ms);
}

static void test_time_parse_variants(void **state)
{
	(void)state;
	assert_int_equal(qd_time_parse("2026-11-23T10:00:00Z"), 1795428000000LL);
	assert_int_equal(qd_time_parse("2026-11-23T10:00:00.5Z"), 1795428000500LL);
	assert_int_equal(qd_time_parse("2026-11-23T10:00:00+00:00"), 1795428000000LL);
	assert_int_equal(qd_time_parse("2026-11-23T10:00:00.123456Z"), 1795428000123LL);
}

static void test_time_parse_rejects(void **state)
{
	(void)state;
	assert_int_equal(qd_time_parse(NULL), -1);
	assert_int_equal(qd_time_parse(""), -1);
	assert_int_equal(qd_time_parse("yesterday"), -1);
	assert_int_equal(qd_time_parse("2026-11-23T10:00:00"), -1);      /* no zone */
	assert_int_equal(qd_time_parse("2026-11-23T10:00:00+02:00"), -1); /* not UTC */
	assert_int_equal(qd_time_parse("2026-11-23T10:00:00.Z"), -1);
	assert_int_equal(qd_time_parse("2026-11-23T10:00:00Zjunk"), -1);
}

static void test_age_format(void **state)
{
	(void)state;
	char buf[16];
	qd_age_format(-5, buf, sizeof buf);
	assert_string_equal(buf, "0s");
	qd_age_format(59 * 1000, buf, sizeof buf);
	assert_string_equal(buf, "59s");
	qd_age_format(60 * 1000, buf, sizeof buf);
	assert_string_equal(buf, "1m");
	qd_age_format(3 * 3600 * 1000, buf, sizeof buf);
	assert_string_equal(buf, "3h");
	qd_age_format(9LL * 86400 * 1000, buf, sizeof buf);
	assert_string_equal(buf, "9d");
}

static void test_buf(void **state)
{
	(void)state;
	QdBuf b;
	qdbuf_init(&b);
	assert_string_equal(qdbuf_cstr(&b), "");
	for (int i = 0; i < 1000; i++)
		qdbuf_appendf(&b, "%d,", i);
	assert_true(b.len > 2000);
	assert_memory_equal(b.data, "0,1,2,", 6);
	qdbuf_append(&b, "x", 1);
	assert_int_equal(b.data[b.len - 1], 'x');
	assert_int_equal(b.data[b.len], '\0');
	b.len = 3; /* a caller trimming in place */
	assert_string_equal(qdbuf_cstr(&b), "0,1");
	qdbuf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(qdbuf_cstr(&b), "");
	qdbuf_done(&b);
	assert_null(b.data);
}

static void test_strlcpy(void **state)
{
	(void)state;
	char small[4];
	assert_int_equal(qd_strlcpy(small, "abcdef", sizeof small), 6);
	assert_string_equal(small, "abc");
	assert_int_equal(qd_strlcpy(small, "ab", sizeof small), 2);
	assert_string_equal(small, "ab");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time_round_trip),
		cmocka_unit_test(test_time_parse_variants),
		cmocka_unit_test(test_time_parse_rejects),
		cmocka_unit_test(test_age_format),
		cmocka_unit_test(test_buf),
		cmocka_unit_test(test_strlcpy),
	};
	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}

/* Unit tests for common/termproto: channel framing, caps, resize and status JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <sys/wait.h>

#include "common/termproto.h"

static void test_decode_every_channel(void **state)
{
	static const uint8_t chans[] = {TP_CH_STDIN, TP_CH_STDOUT, TP_CH_STDERR, TP_CH_STATUS,
	                                TP_CH_RESIZE, TP_CH_CLOSE};
	(void)state;
	for (size_t i = 0; i < sizeof(chans); i++) {
		uint8_t msg[2] = {chans[i], 0};
		TpFrame f;

		assert_int_equal(termproto_decode(msg, 2, &f), TP_OK);
		assert_int_equal(f.channel, chans[i]);
		assert_int_equal(f.len, 1);
		assert_ptr_equal(f.data, msg + 1);
	}
}

static void test_decode_rejects(void **state)
{
	static uint8_t big[TP_MAX_MESSAGE + 1];
	uint8_t bad[3] = {5, 'x', 'y'}, close2[3] = {TP_CH_CLOSE, 0, 1};
	TpFrame f;
	(void)state;

	assert_int_equal(termproto_decode(bad, 0, &f), TP_ERR_EMPTY);
	assert_int_equal(termproto_decode(bad, 3, &f), TP_ERR_CHANNEL);
	for (int ch = 6; ch < 255; ch++) {
		bad[0] = (uint8_t)ch;
		assert_int_equal(termproto_decode(bad, 1, &f), TP_ERR_CHANNEL);
	}
	assert_int_equal(termproto_decode(big, sizeof(big), &f), TP_ERR_TOO_BIG);
	assert_int_equal(termproto_decode(big, TP_MAX_MESSAGE, &f), TP_OK); /* stdin at the cap */
	big[0] = TP_CH_RESIZE;
	assert_int_equal(termproto_decode(big, TP_MAX_CONTROL + 2, &f), TP_ERR_TOO_BIG);
	assert_int_equal(termproto_decode(close2, 3, &f), TP_ERR_CLOSE_ARG);
	assert_int_equal(termproto_decode(close2, 2, &f), TP_OK);
	assert_non_null(termproto_strerror(TP_ERR_CHANNEL));
}

static void test_encode(void **state)
{
	uint8_t out[8];
	(void)state;
	assert_int_equal(termproto_encode(TP_CH_STDIN, "abc", 3, out, sizeof(out)), 4);
	assert_int_equal(out[0], 0);
	assert_memory_equal(out + 1, "abc", 3);
	assert_int_equal(termproto_encode(TP_CH_STDIN, "abcdefgh", 8, out, sizeof(out)), 0);
	assert_int_equal(termproto_encode(TP_CH_CLOSE, NULL, 0, out, 1), 1);
	assert_int_equal(out[0], 255);
}

static void test_resize(void **state)
{
	char buf[64];
	int w = 0, h = 0;
	size_t n;
	(void)state;

	n = termproto_resize_format(buf, sizeof(buf), 120, 40);
	assert_string_equal(buf, "{\"Width\":120,\"Height\":40}");
	assert_int_equal(termproto_resize_parse(buf, n, &w, &h), TP_OK);
	assert_int_equal(w, 120);
	assert_int_equal(h, 40);
	assert_int_equal(termproto_resize_format(buf, sizeof(buf), 0, 40), 0);
	assert_int_equal(termproto_resize_format(buf, sizeof(buf), 1001, 40), 0);
	assert_int_equal(termproto_resize_format(buf, 8, 80, 24), 0);

#define BAD(s, e) assert_int_equal(termproto_resize_parse(s, strlen(s), &w, &h), e)
	BAD("", TP_ERR_JSON);
	BAD("[1,2]", TP_ERR_JSON);
	BAD("{\"Width\":80", TP_ERR_JSON);
	BAD("{\"Width\":80,\"Width\":81,\"Height\":24}", TP_ERR_JSON);
	BAD("{\"Width\":80}", TP_ERR_FIELD);
	BAD("{\"Width\":\"80\",\"Height\":24}", TP_ERR_FIELD);
	BAD("{\"Width\":80.5,\"Height\":24}", TP_ERR_FIELD);
	BAD("{\"width\":80,\"height\":24}", TP_ERR_FIELD);
	BAD("{\"Width\":0,\"Height\":24}", TP_ERR_BOUNDS);
	BAD("{\"Width\":80,\"Height\":1001}", TP_ERR_BOUNDS);
	BAD("{\"Width\":-5,\"Height\":24}", TP_ERR_BOUNDS);
	BAD("{\"Width\":99999999999999999,\"Height\":24}", TP_ERR_BOUNDS);
	BAD("{\"Width\":1,\"Height\":1}", TP_OK);
	BAD("{\"Width\":1000,\"Height\":1000}", TP_OK);
#undef BAD
}

static void test_status_round_trip(void **state)
{
	TpStatus in, out;
	char buf[1024];
	size_t n;
	(void)state;

	termproto_status_from_wait(&in, 3 << 8); /* exited with 3 */
	assert_true(in.has_code);
	assert_int_equal(in.code, 3);
	assert_false(in.success);
	n = termproto_status_format(buf, sizeof(buf), &in);
	assert_true(n > 0);
	assert_non_null(strstr(buf, "\"code\":3"));
	assert_non_null(strstr(buf, "\"ExitCode\""));
	assert_int_equal(termproto_status_parse(buf, n, &out), TP_OK);
	assert_false(out.success);
	assert_true(out.has_code);
	assert_int_equal(out.code, 3);
	assert_string_equal(out.message, "shell exited with code 3");

	termproto_status_from_wait(&in, 0);
	assert_true(in.success);
	assert_int_equal(in.code, 0);
	termproto_status_from_wait(&in, SIGKILL); /* killed */
	assert_int_equal(in.code, 128 + SIGKILL);
}

static void test_status_sanitizes_and_reads_k8s(void **state)
{
	const char *evil = "{\"status\":\"Failure\",\"message\":\"a\\u001b]0;pwn\\u0007b\"}";
	const char *k8s = "{\"metadata\":{},\"status\":\"Failure\",\"reason\":\"NonZeroExitCode\","
	                  "\"details\":{\"causes\":[{\"reason\":\"ExitCode\",\"message\":\"42\"}]}}";
	TpStatus st;
	char buf[64];
	(void)state;

	assert_int_equal(termproto_status_parse(evil, strlen(evil), &st), TP_OK);
	assert_null(strchr(st.message, 0x1b));
	assert_null(strchr(st.message, 0x07));
	assert_false(st.has_code);
	assert_int_equal(termproto_status_parse(k8s, strlen(k8s), &st), TP_OK);
	assert_true(st.has_code);
	assert_int_equal(st.code, 42);
	assert_string_equal(st.reason, "NonZeroExitCode");
	assert_int_equal(termproto_status_parse("{\"status\":\"Success\"}", 20, &st), TP_OK);
	assert_true(st.success && st.has_code && st.code == 0);
	assert_int_equal(termproto_status_parse("{\"status\":\"Maybe\"}", 18, &st), TP_ERR_FIELD);
	assert_int_equal(termproto_status_parse("{}", 2, &st), TP_ERR_FIELD);
	assert_int_equal(termproto_status_parse("nope", 4, &st), TP_ERR_JSON);
	/* A status that does not fit is refused, not cut mid-JSON. */
	termproto_status_from_wait(&st, 0);
	assert_int_equal(termproto_status_format(buf, 10, &st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_decode_every_channel),
	    cmocka_unit_test(test_decode_rejects),
	    cmocka_unit_test(test_encode),
	    cmocka_unit_test(test_resize),
	    cmocka_unit_test(test_status_round_trip),
	    cmocka_unit_test(test_status_sanitizes_and_reads_k8s),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for the model's keyset cursors and base64url coding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "server/db_internal.h"

static void test_b64url_round_trip(void **state)
{
	(void)state;
	unsigned char in[64], out[64];
	for (size_t i = 0; i < sizeof in; i++)
		in[i] = (unsigned char)(i * 37 + 11);
	for (size_t n = 0; n <= sizeof in; n++) {
		char *enc = db_b64url_encode(in, n);
		assert_null(strchr(enc, '='));
		assert_null(strchr(enc, '+'));
		assert_null(strchr(enc, '/'));
		ssize_t got = db_b64url_decode(enc, out, sizeof out);
		assert_int_equal(got, (ssize_t)n);
		assert_memory_equal(in, out, n);
		free(enc);
	}
	char *e = db_b64url_encode((const unsigned char *)"\xfb\xff", 2);
	assert_string_equal(e, "-_8");
	free(e);
}

static void test_b64url_rejects(void **state)
{
	(void)state;
	unsigned char out[16];
	assert_int_equal(db_b64url_decode("a", out, sizeof out), -1);      /* impossible length */
	assert_int_equal(db_b64url_decode("ab=c", out, sizeof out), -1);   /* padding char */
	assert_int_equal(db_b64url_decode("ab+c", out, sizeof out), -1);   /* standard alphabet */
	assert_int_equal(db_b64url_decode("ab c", out, sizeof out), -1);
	assert_int_equal(db_b64url_decode("-_9", out, sizeof out), -1);    /* non-zero spare bits */
	assert_int_equal(db_b64url_decode("AAAAAAAAAAAAAAAAAAAAAAAA", out, 4), -1); /* too long */
}

static void test_cursor_round_trip(void **state)
{
	(void)state;
	char *c = db_cursor_encode("a", 1795428000123LL, "al_0123456789ab");
	int64_t key = 0;
	char id[DB_ID_MAX];
	assert_true(db_cursor_decode(c, "a", &key, id, sizeof id));
	assert_int_equal(key, 1795428000123LL);
	assert_string_equal(id, "al_0123456789ab");
	/* a cursor from one list is not accepted by another */
	assert_false(db_cursor_decode(c, "n", &key, id, sizeof id));
	assert_false(db_cursor_decode(c, "l", &key, id, sizeof id));
	free(c);
	c = db_cursor_encode("n", 0, "nd_use1_h100_01");
	assert_true(db_cursor_decode(c, "n", &key, id, sizeof id));
	assert_int_equal(key, 0);
	assert_string_equal(id, "nd_use1_h100_01");
	free(c);
}

static char *enc(const char *raw)
{
	return db_b64url_encode((const unsigned char *)raw, strlen(raw));
}

static void test_cursor_garbled(void **state)
{
	(void)state;
	int64_t key = 0;
	char id[DB_ID_MAX];
	const char *bad_raw[] = {
		"a1|123",                   /* no id */
		"a1||al_x",                 /* no key */
		"a1|-5|al_x",               /* negative */
		"a1|12x|al_x",              /* not a number */
		"a1|99999999999999999999|al_x", /* overflow */
		"a2|123|al_x",              /* unknown version */
		"a1|123|AL_X",              /* id charset */
		"a1|123|al_x/../y",
		"a1|123|al_x|extra",
		"x1|123|al_x",
	};
	for (size_t i = 0; i < sizeof bad_raw / sizeof bad_raw[0]; i++) {
		char *c = enc(bad_raw[i]);
		assert_false(db_cursor_decode(c, "a", &key, id, sizeof id));
		free(c);
	}
	assert_false(db_cursor_decode("", "a", &key, id, sizeof id));
	assert_false(db_cursor_decode(NULL, "a", &key, id, sizeof id));
	assert_false(db_cursor_decode("not a cursor!", "a", &key, id, sizeof id));
	assert_false(db_cursor_decode("%%%%", "a", &key, id, sizeof id));
	char longc[400];
	memset(longc, 'A', sizeof longc - 1);
	longc[sizeof longc - 1] = '\0';
	assert_false(db_cursor_decode(longc, "a", &key, id, sizeof id));
	/* an embedded NUL must not truncate into something valid */
	char *c = db_b64url_encode((const unsigned char *)"a1|5|al_x\0zz", 12);
	assert_false(db_cursor_decode(c, "a", &key, id, sizeof id));
	free(c);
	/* the id must fit the caller's buffer */
	c = enc("a1|5|al_0123456789");
	char small[8];
	assert_false(db_cursor_decode(c, "a", &key, small, sizeof small));
	free(c);
}

static void test_id_valid(void **state)
{
	(void)state;
	assert_true(db_id_valid("al_7f3a91c2"));
	assert_true(db_id_valid("nd_use1-h100_03"));
	assert_false(db_id_valid(""));
	assert_false(db_id_valid(NULL));
	assert_false(db_id_valid("al_X"));
	assert_false(db_id_valid("../etc"));
	assert_false(db_id_valid("al 1"));
	char longid[64];
	memset(longid, 'a', sizeof longid - 1);
	longid[sizeof longid - 1] = '\0';
	assert_false(db_id_valid(longid));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_b64url_round_trip),
		cmocka_unit_test(test_b64url_rejects),
		cmocka_unit_test(test_cursor_round_trip),
		cmocka_unit_test(test_cursor_garbled),
		cmocka_unit_test(test_id_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for bearer and terminal tokens: hashing, storage as hashes only,
 * authentication, single use, expiry and reach. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "server/db_internal.h"
#include "tests/unit/db_fixture.h"

typedef struct {
	DbFx fix; /* first: dbfx_new and dbfx_teardown rely on it */
} Fx;

static int setup(void **state)
{
	Fx *fx = dbfx_new(sizeof *fx, "qdauth");
	ApiError err;
	if (!fx || db_seed_demo(fx->fix.db, &err) != 1)
		return -1;
	*state = fx;
	return 0;
}

static Principal principal(Db *db, const char *user)
{
	ApiError err;
	char *tok = db_token_create(db, user, &err);
	assert_non_null(tok);
	Principal p;
	assert_true(db_authenticate(db, tok, &p));
	free(tok);
	return p;
}

static void test_sha256_vector(void **state)
{
	(void)state;
	unsigned char h[32];
	db_token_hash("abc", h);
	static const unsigned char want[32] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
		0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
	assert_memory_equal(h, want, 32);
	char *a = db_token_new("qdt_"), *b = db_token_new("qdt_");
	assert_int_equal(strlen(a), 4 + 43); /* 32 random bytes, base64url */
	assert_string_not_equal(a, b);
	free(a);
	free(b);
}

static void test_token_create_and_authenticate(void **state)
{
	Fx *fx = *state;
	ApiError err;
	char *tok = db_token_create(fx->fix.db, "ops", &err);
	assert_non_null(tok);
	assert_int_equal(strncmp(tok, "qdt_", 4), 0);
	Principal p;
	assert_true(db_authenticate(fx->fix.db, tok, &p));
	assert_string_equal(p.user_name, "ops");
	assert_string_equal(p.user_id, "usr_ops");
	assert_true(p.is_admin);
	assert_false(p.is_billing);

	/* the database holds only the hash, never the text */
	sqlite3_stmt *st = db_prep(fx->fix.db, "SELECT hash FROM auth_tokens");
	int rows = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		assert_int_equal(sqlite3_column_bytes(st, 0), 32);
		assert_null(memmem(sqlite3_column_blob(st, 0), 32, tok + 4, 8));
		rows++;
	}
	sqlite3_reset(st);
	assert_int_equal(rows, 1);

	/* one changed character, a prefix, a suffix: all unknown */
	char *bad = xstrdup(tok);
	bad[10] = bad[10] == 'A' ? 'B' : 'A';
	assert_false(db_authenticate(fx->fix.db, bad, &p));
	bad[10] = tok[10];
	bad[strlen(bad) - 1] = '\0';
	assert_false(db_authenticate(fx->fix.db, bad, &p));
	char *longer = xasprintf("%sx", tok);
	assert_false(db_authenticate(fx->fix.db, longer, &p));
	assert_false(db_authenticate(fx->fix.db, tok + 4, &p)); /* without its prefix */
	assert_false(db_authenticate(fx->fix.db, "", &p));
	assert_false(db_authenticate(fx->fix.db, NULL, &p));
	assert_false(db_authenticate(fx->fix.db, "qdt_", &p));
	free(longer);
	free(bad);
	free(tok);

	Principal b = principal(fx->fix.db, "billing");
	assert_true(b.is_billing);
	assert_false(b.is_admin);
	Principal g = principal(fx->fix.db, "globex-dev");
	assert_string_equal(g.org_id, "org_globex");
	assert_false(g.is_admin);

	assert_null(db_token_create(fx->fix.db, "nobody", &err));
	assert_int_equal(err.status, 404);
}

static const char *first_alloc(Db *db, const char *org, const char *state, const char *owner)
{
	static char id[DB_ID_MAX];
	sqlite3_stmt *st = db_prep(db, "SELECT id FROM allocations WHERE org_id = ? AND state = ?"
	                               " AND owner_id = ? ORDER BY id LIMIT 1");
	sqlite3_bind_text(st, 1, org, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, owner, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	qd_strlcpy(id, (const char *)sqlite3_column_text(st, 0), sizeof id);
	sqlite3_reset(st);
	return id;
}

static void test_terminal_token_single_use(void **state)
{
	Fx *fx = *state;
	Principal p = principal(fx->fix.db, "acme-dev");
	char alloc[DB_ID_MAX];
	qd_strlcpy(alloc, first_alloc(fx->fix.db, "org_acme", "active", "usr_acme_dev"), sizeof alloc);
	ApiError err;
	json_t *j = model_terminal_token_mint(fx->fix.db, &p, alloc, "http://127.0.0.1:9", &err);
	assert_non_null(j);
	const char *tok = json_string_value(json_object_get(j, "token"));
	assert_non_null(tok);
	assert_string_equal(json_string_value(json_object_get(j, "url")),
	                    "http://127.0.0.1:9/api/v1/terminal");
	int64_t exp = qd_time_parse(json_string_value(json_object_get(j, "expires_at")));
	int64_t now = db_now_ms(fx->fix.db);
	assert_true(exp > now && exp <= now + 60000);

	char a[DB_ID_MAX], u[DB_ID_MAX];
	char *wrong = xstrdup(tok);
	wrong[8] = wrong[8] == 'x' ? 'y' : 'x';
	assert_false(model_terminal_token_consume(fx->fix.db, wrong, a, sizeof a, u, sizeof u));
	free(wrong);
	assert_true(model_terminal_token_consume(fx->fix.db, tok, a, sizeof a, u, sizeof u));
	assert_string_equal(a, alloc);
	assert_string_equal(u, "usr_acme_dev");
	/* single use */
	assert_false(model_terminal_token_consume(fx->fix.db, tok, a, sizeof a, u, sizeof u));
	json_decref(j);

	/* expiry is checked against the server clock */
	j = model_terminal_token_mint(fx->fix.db, &p, alloc, "http://h", &err);
	assert_non_null(j);
	db_set_clock_offset_ms(fx->fix.db, 61000);
	assert_false(model_terminal_token_consume(fx->fix.db, json_string_value(json_object_get(j, "token")),
	                                          a, sizeof a, u, sizeof u));
	db_set_clock_offset_ms(fx->fix.db, 0);
	json_decref(j);
	assert_false(model_terminal_token_consume(fx->fix.db, "qtt_unknown", a, sizeof a, u, sizeof u));
	assert_false(model_terminal_token_consume(fx->fix.db, NULL, a, sizeof a, u, sizeof u));
}

static void test_terminal_token_reach(void **state)
{
	Fx *fx = *state;
	Principal g = principal(fx->fix.db, "globex-dev");
	Principal lee = principal(fx->fix.db, "acme-lee");
	Principal dev = principal(fx->fix.db, "acme-dev");
	char alloc[DB_ID_MAX];
	qd_strlcpy(alloc, first_alloc(fx->fix.db, "org_acme", "active", "usr_acme_dev"), sizeof alloc);
	ApiError err;
	assert_null(model_terminal_token_mint(fx->fix.db, &g, alloc, "http://h", &err));
	assert_int_equal(err.status, 404);
	assert_string_equal(err.code, "not_found");
	assert_null(model_terminal_token_mint(fx->fix.db, &lee, alloc, "http://h", &err));
	assert_int_equal(err.status, 403);
	const char *rel = first_alloc(fx->fix.db, "org_acme", "released", "usr_acme_dev");
	assert_null(model_terminal_token_mint(fx->fix.db, &dev, rel, "http://h", &err));
	assert_int_equal(err.status, 409);
	assert_non_null(strstr(err.message, "released"));
	assert_null(model_terminal_token_mint(fx->fix.db, &dev, "al_nope", "http://h", &err));
	assert_int_equal(err.status, 404);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_vector),
		cmocka_unit_test_setup_teardown(test_token_create_and_authenticate, setup, dbfx_teardown),
		cmocka_unit_test_setup_teardown(test_terminal_token_single_use, setup, dbfx_teardown),
		cmocka_unit_test_setup_teardown(test_terminal_token_reach, setup, dbfx_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

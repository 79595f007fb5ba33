/* db_fixture — temporary databases for the model unit tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/util.h"
#include "tests/unit/db_fixture.h"

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(p);
}

void *dbfx_new(size_t size, const char *tag)
{
	char path[96];
	ApiError err;
	assert_true(size >= sizeof(DbFx));
	DbFx *f = xcalloc(1, size);
	snprintf(f->dir, sizeof f->dir, "/tmp/%s.XXXXXX", tag);
	if (!mkdtemp(f->dir)) {
		free(f);
		return NULL;
	}
	snprintf(path, sizeof path, "%s/q.db", f->dir);
	f->db = db_open(path, &err);
	if (!f->db) {
		fprintf(stderr, "db_fixture: %s: %s\n", path, err.message);
		nftw(f->dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
		free(f);
		return NULL;
	}
	return f;
}

int dbfx_teardown(void **state)
{
	DbFx *f = *state;
	db_close(&f->db);
	nftw(f->dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	*state = NULL;
	return 0;
}

bool dbfx_principal(Db *db, const char *user, Principal *p)
{
	ApiError err;
	char *tok = db_token_create(db, user, &err);
	bool ok = tok && db_authenticate(db, tok, p);
	free(tok);
	return ok;
}

int64_t dbfx_count(Db *db, const char *sql)
{
	sqlite3_stmt *st = db_prep(db, sql);
	assert_non_null(st);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return n;
}

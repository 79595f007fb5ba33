/* db_fixture — a fresh, empty database in its own temporary directory for the
 * model unit tests, and the small queries they share. Each test seeds it the
 * way it needs (demo fleet, bulk rows, doctored rows). */
#ifndef QD_TESTS_UNIT_DB_FIXTURE_H
#define QD_TESTS_UNIT_DB_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "server/db_internal.h"

typedef struct {
	char dir[64]; /* /tmp/<tag>.XXXXXX; holds q.db and whatever the test adds */
	Db *db;
} DbFx;

/* A zeroed test context of `size` bytes whose first member is a DbFx, with
 * /tmp/<tag>.XXXXXX made and <dir>/q.db opened in it. NULL (nothing left
 * behind) when either fails. */
void *dbfx_new(size_t size, const char *tag);
/* cmocka teardown for dbfx_new's context in *state: closes the database,
 * removes the directory with everything in it, frees the context. */
int dbfx_teardown(void **state);

/* Signs `user` in through a fresh bearer token: the principal the API would see. */
bool dbfx_principal(Db *db, const char *user, Principal *p);
/* The integer a one-row, one-column query answers (asserts that it answers). */
int64_t dbfx_count(Db *db, const char *sql);

#endif

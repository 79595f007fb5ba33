/* fixture — what the API test binaries repeat on top of apitest: the one
 * qdeckd a binary runs (group setup and teardown), GETs that must answer 200,
 * picking allocations in a given state, waiting for a state, and proving
 * that a refused request changed nothing.
 *
 * Unlike apitest.c these assert (cmocka) when something is wrong, so only the
 * test binaries use them; the server benchmark links apitest alone. */
#ifndef QD_TESTS_API_FIXTURE_H
#define QD_TESTS_API_FIXTURE_H

#include <jansson.h>

#include "tests/api/apitest.h"

/* Generous: a wait only takes this long when the test is failing anyway. */
#define APIFX_SETTLE_MS 60000

/* The binary's server: demo seed, --speed 50, the four tokens minted. */
extern ApiServer apifx_srv;

/* cmocka group setup: starts apifx_srv. */
int apifx_setup(void **state);
/* cmocka group teardown: the server must exit 0 on SIGTERM (otherwise its
 * log goes to stderr and the group fails); then its temp dir goes. */
int apifx_teardown(void **state);
/* Group teardown for binaries whose tests kill the server or leave sessions
 * open: stops it if it still runs and removes the temp dir, whatever the exit. */
int apifx_cleanup(void **state);

/* GET that must answer 200 with a JSON body; the body (caller decrefs). */
json_t *apifx_get_ok(const char *path, const char *token);
/* A string member, "" when absent or not a string. */
const char *apifx_jstr(json_t *o, const char *key);

/* Ids (JSON strings, list order) of the allocations in `state` that token
 * sees on its first page of 500, owned by `owner` (NULL: any owner). */
json_t *apifx_alloc_ids(const char *token, const char *state, const char *owner);
/* The first of those (caller frees), NULL when there is none. */
char *apifx_alloc(const char *token, const char *state, const char *owner);
/* Waits until allocation id is in one of the comma-separated states; fails
 * the test (with the server's log) after APIFX_SETTLE_MS. */
void apifx_wait_state(const char *id, const char *token, const char *states);

/* api_snapshot of apifx_srv; fails the test when it cannot be taken. */
json_t *apifx_snapshot(void);
/* Takes a snapshot now and fails the test when it differs from before
 * (which it releases), saying how, after "<what> changed the database: ";
 * what is printf-style. */
void apifx_check_unchanged(json_t *before, const char *what, ...) __attribute__((format(printf, 2, 3)));

#endif

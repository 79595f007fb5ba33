/* scenario — what the screen scenarios repeat on top of the harness: starting
 * a console and waiting until it is live, the cmocka teardowns, API calls
 * that must answer a given status, allocation rows on screen, the workbench
 * filter, and the terminal dock's shell helpers.
 *
 * Unlike harness.c these assert (cmocka) when something is wrong, so only the
 * test binaries use them; the benchmark links the harness alone. */
#ifndef QD_TESTS_SCREEN_SCENARIO_H
#define QD_TESTS_SCREEN_SCENARIO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "tests/screen/harness.h"

/* Generous: a wait only takes this long when the test is failing anyway. */
#define SC_WAIT_MS 15000

/* "● live" on the status line: the first load is in and the stream is up. */
#define SC_LIVE "\xe2\x97\x8f live"
/* "● active": an allocation row's state. */
#define SC_ACTIVE "\xe2\x97\x8f active"

/* Starts qdeck (and qdeckd) with o, stores the Hs in *state for
 * sc_teardown, and waits until the console is live. */
Hs *sc_console(void **state, const HsOpts *o);
/* The same for a test context: callocs `size` bytes whose first member must
 * be the `Hs *` (stored there), puts the context in *state for
 * sc_teardown_ctx, and waits until live. */
void *sc_ctx_start(void **state, size_t size, const HsOpts *o);
/* Waits until an active allocation is on screen and qdeck went quiet: the
 * workbench's first page is drawn. */
void sc_wait_loaded(Hs *h);
/* Teardown for sc_console's state: stops the Hs. */
int sc_teardown(void **state);
/* Teardown for sc_ctx_start's state: stops the Hs and frees the context. */
int sc_teardown_ctx(void **state);

/* One API call as the harness user that must answer `expect`; the parsed
 * body (caller decrefs). body may be NULL. */
json_t *sc_api(Hs *h, const char *method, const char *path, const char *body, long expect);
/* A string member, "" when absent or not a string. */
const char *sc_jstr(json_t *o, const char *key);

/* Rows that show an allocation: they carry a state as glyph + word. */
bool sc_is_state_row(const char *row);
int sc_count_state_rows(Hs *h);
/* An active allocation whose name (4+ characters) no other allocation
 * contains, so the filter leaves exactly its row; on screen now when
 * on_screen, and not named `not` (may be NULL). Fails the test when there is
 * none. */
void sc_pick_active(Hs *h, bool on_screen, const char *not, char *name, size_t nsz, char *id, size_t isz);
/* `/` and the text typed one key at a time; true once the screen settled. */
bool sc_type_filter(Hs *h, const char *text);
/* sc_pick_active (on screen) and the workbench filtered to its one row
 * (applied with Enter). */
void sc_filter_to_active(Hs *h, char *name, size_t nsz, char *id, size_t isz);

/* The terminal dock's frame line, or -1. */
int sc_frame_row(Hs *h);
/* True when the frame line is there and contains text. */
bool sc_frame_has(Hs *h, const char *text);
/* Waits until the frame line contains (want) or lacks (!want) text; the
 * screen goes to stderr when it times out. */
bool sc_wait_frame(Hs *h, const char *text, bool want, int timeout_ms);
/* One shell command line, typed, then Enter. */
void sc_sh(Hs *h, const char *line);
/* Prints "@@tag" from the shell and waits for it: the shell has run
 * everything typed before. (Typed, the line shows `"@@""tag"`, which does not
 * contain "@@tag".) */
void sc_sync_shell(Hs *h, const char *tag);

#endif

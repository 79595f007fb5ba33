/* harness — runs qdeck headless for screen tests and the console benchmark.
 *
 * One Hs owns a temporary directory, a qdeckd child on a loopback port with a
 * demo-seeded database in that directory, and a qdeck child under a PTY whose
 * output is fed into a libvterm screen of the same size. Tests send keys, wait
 * for text, and read the screen back as text or as cells with attributes.
 *
 * Everything is bounded in time: a wait that does not see what it waits for
 * returns false after its timeout and prints the screen to stderr, so a test
 * fails with the picture in its log instead of hanging. No function here calls
 * cmocka (the benchmark links this too); tests wrap results in assert_true.
 *
 * Children get PR_SET_PDEATHSIG so a crashed test leaves no process behind.
 * The token is read from `qdeckd token create`'s stdout and given to qdeck in
 * its environment, never on a command line. */
#ifndef QD_TESTS_SCREEN_HARNESS_H
#define QD_TESTS_SCREEN_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct Hs Hs;

typedef struct {
	int rows, cols;             /* PTY size; 0 means 40x120 */
	const char *user;           /* who qdeck signs in as: "ops" (admin, default) or "acme-dev" */
	bool no_color;              /* NO_COLOR=1 in qdeck's environment */
	const char *db_path;        /* use this existing database instead of a fresh demo one */
	bool no_seed;               /* do not pass --seed demo (with db_path) */
	int speed;                  /* qdeckd --speed; 0 means 20 */
	bool no_qdeck;              /* start only qdeckd (API-only use) */
	const char *const *qdeck_args; /* extra arguments for qdeck, NULL-terminated, or NULL */
} HsOpts;

/* Attributes of one screen cell. Colours: -1 is the terminal default, 0..255 an
 * indexed colour, 0x1000000|0xRRGGBB a direct colour. */
typedef struct {
	bool bold, underline, italic, reverse;
	int fg, bg;
} HsAttrs;

/* Starts qdeckd and (unless no_qdeck) qdeck. NULL with a message on stderr
 * when anything could not be started (missing binary, no port, no token). */
Hs *hs_start(const HsOpts *opts);
/* Quits qdeck (q, then signals), stops qdeckd, removes the temp dir; *h = NULL. */
void hs_stop(Hs **h);

/* Sends bytes as typed. */
bool hs_send_keys(Hs *h, const char *text);
/* Sends one named key: Enter Esc Tab BTab Up Down Left Right PageUp PageDown
 * Home End Backspace Delete Space F1..F12, C-a..C-z, C-] C-\ C-^ C-[; any other single
 * character is sent as itself. False (and a message) for an unknown name. */
bool hs_send_key(Hs *h, const char *name);

/* Reads whatever qdeck has written for up to timeout_ms (returns early once
 * something arrived and nothing more came for a moment). Returns bytes read,
 * -1 once qdeck has exited. */
long hs_pump(Hs *h, int timeout_ms);
/* Pumps until the screen contains `text` (true) or timeout_ms passes (false,
 * and the screen goes to stderr). */
bool hs_wait_text(Hs *h, const char *text, int timeout_ms);
/* Pumps until the screen does not contain `text`. */
bool hs_wait_gone(Hs *h, const char *text, int timeout_ms);
/* Pumps until row `row` contains `text`. */
bool hs_wait_row_text(Hs *h, int row, const char *text, int timeout_ms);
/* Pumps until qdeck wrote nothing for quiet_ms (true) or max_ms passes (false). */
bool hs_wait_idle(Hs *h, int quiet_ms, int max_ms);
/* Waits up to timeout_ms for qdeck to exit; its wait status in *status. */
bool hs_wait_exit(Hs *h, int timeout_ms, int *status);

/* The whole screen: rows joined with '\n', trailing spaces trimmed. The
 * returned string belongs to h and is valid until the next harness call. */
const char *hs_screen_text(Hs *h);
/* One row (0-based), trailing spaces trimmed; same lifetime rule. */
const char *hs_row(Hs *h, int row);
/* First row containing text, or -1. */
int hs_find_row(Hs *h, const char *text);
/* True if the screen contains text now (no pumping). */
bool hs_contains(Hs *h, const char *text);
/* Prints the screen to stderr with a heading. */
void hs_dump(Hs *h, const char *why);

/* Resizes the PTY (qdeck gets SIGWINCH) and the libvterm screen. */
bool hs_resize(Hs *h, int rows, int cols);
int hs_rows(const Hs *h);
int hs_cols(const Hs *h);

/* Total bytes qdeck has written to the terminal since it started. */
uint64_t hs_bytes_written(const Hs *h);
/* Milliseconds (monotonic) between spawning qdeck and its first output byte;
 * -1 if none yet. */
int64_t hs_first_byte_ms(const Hs *h);
/* Monotonic time qdeck was spawned / its latest output byte arrived (-1: none). */
int64_t hs_spawn_mono_ms(const Hs *h);
int64_t hs_last_output_mono_ms(const Hs *h);
HsAttrs hs_cell_attrs(Hs *h, int row, int col);
/* Cell width: 2 for the left half of a wide character, 0 for its right
 * half, 1 otherwise (0 off screen). */
int hs_cell_width(Hs *h, int row, int col);
/* The cell's first code point (0 for an empty cell or a wide char's right half). */
uint32_t hs_cell_char(Hs *h, int row, int col);
/* From now on (on) keep every byte qdeck writes, up to 32 MB, so a test can
 * check that some sequence never reached the terminal raw. Off by default. */
void hs_record_output(Hs *h, bool on);
/* True when the recorded output contains the bytes. */
bool hs_output_has(const Hs *h, const void *needle, size_t len);
/* Watches one cell: hs_watch_flipped() is true once any output since this
 * call drew it with the reverse attribute other than it has now, even if a
 * later write put it back (a flash that came and went within one read). */
void hs_watch_cell(Hs *h, int row, int col);
bool hs_watch_flipped(const Hs *h);
/* True when any cell on screen has a non-default colour. */
bool hs_any_color(Hs *h);
/* The window title qdeck's output set through OSC 0/2 ("" if never). */
const char *hs_title(const Hs *h);
/* Times the output rang the bell. */
int hs_bells(const Hs *h);

pid_t hs_qdeck_pid(const Hs *h);
pid_t hs_qdeckd_pid(const Hs *h);
int hs_port(const Hs *h);
/* The temp dir (for tests that need a file next to the database). */
const char *hs_dir(const Hs *h);

/* A fresh bearer token for `user` on h's database, minted through
 * `qdeckd token create` (it comes back on stdout, never through an argv).
 * Caller wipes and frees it; NULL with a message on stderr on failure. */
char *hs_token_create(Hs *h, const char *user);

/* kill -9 qdeckd and reap it. */
bool hs_server_kill(Hs *h);
/* Starts qdeckd again on the same database and port. */
bool hs_server_restart(Hs *h);

/* One API request as the harness user (the same token qdeck holds). body may
 * be NULL. Returns the response body (caller frees) and the HTTP status in
 * *status (0 when the request itself failed). */
char *hs_api(Hs *h, const char *method, const char *path, const char *body, long *status);

/* Writes $QD_SCREENSHOTS/name.txt and name.svg when QD_SCREENSHOTS is set;
 * does nothing (true) otherwise. */
bool hs_screenshot(Hs *h, const char *name);
/* Writes the screen as text and SVG to explicit paths (either may be NULL). */
bool hs_write_txt(Hs *h, const char *path);
bool hs_write_svg(Hs *h, const char *path);

/* Spawns a plain program under a PTY without any server (to test the harness
 * itself). argv[0] is run via execvp. Same API afterwards; hs_stop kills it. */
Hs *hs_spawn_program(const char *const *argv, int rows, int cols);

#endif

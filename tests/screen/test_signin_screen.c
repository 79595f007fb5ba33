/* Screen scenario for the sign-in dialog: qdeck against a real qdeckd
 * (--api), QDECK_TOKEN unset, a token file (0600) holding a token the server
 * does not know. The dialog names the server; a wrong token is refused
 * inline and the dialog stays; Cancel leaves the signed-out screen and F5
 * brings the dialog back; a valid token (minted with `qdeckd token create`,
 * read from its stdout) makes the workbench live. The valid token never
 * reaches the terminal (neither the screen nor the raw output), and the
 * token file then holds it with mode 0600.
 *
 * With QD_SCREENSHOTS=dir the dialog is written as dir/signin.{txt,svg}. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/screen/harness.h"

#define T 15000
#define LIVE "\xe2\x97\x8f live"
#define ACTIVE "\xe2\x97\x8f active"

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* The screen shows `text` now (the picture goes to stderr if not). */
static bool shows(Hs *h, const char *text)
{
	if (hs_contains(h, text))
		return true;
	hs_dump(h, text);
	return false;
}

/* The screen as it is now must not show `secret`. */
static void assert_hidden(Hs *h, const char *secret)
{
	if (hs_contains(h, secret)) {
		hs_dump(h, "the token is on screen");
		fail_msg("the token's text is on screen");
	}
}

typedef struct {
	Hs *srv, *h;
	char *token;
} Ctx;

static int teardown(void **state)
{
	Ctx *c = *state;
	if (!c)
		return 0;
	hs_stop(&c->h);
	hs_stop(&c->srv);
	if (c->token) {
		explicit_bzero(c->token, strlen(c->token));
		free(c->token);
	}
	free(c);
	return 0;
}

/* qdeckd alone: each test starts qdeck itself, in the environment it set up. */
static Ctx *start_server(void **state)
{
	Ctx *c = calloc(1, sizeof *c);
	*state = c;
	HsOpts o = {.no_qdeck = true};
	c->srv = hs_start(&o);
	assert_non_null(c->srv);
	return c;
}

/* qdeck at 80x24 pointed at c->srv with --api. */
static Hs *spawn_qdeck(Ctx *c)
{
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d", hs_port(c->srv));
	const char *qdeck = getenv("QDECK_BIN") ? getenv("QDECK_BIN") : "bin/qdeck";
	const char *argv[] = {qdeck, "--api", url, NULL};
	return hs_spawn_program(argv, 24, 80);
}

static void test_signin(void **state)
{
	Ctx *c = start_server(state);
	const char *dir = hs_dir(c->srv);

	/* A private home: config dir with a token file the server does not know. */
	char home[512], cfg[600], qd[700], tokpath[800], run[512], st[600], lookfor[80];
	snprintf(home, sizeof home, "%s/signin-home", dir);
	snprintf(cfg, sizeof cfg, "%s/.config", home);
	snprintf(qd, sizeof qd, "%s/quarterdeck", cfg);
	snprintf(tokpath, sizeof tokpath, "%s/token", qd);
	snprintf(run, sizeof run, "%s/signin-run", dir);
	snprintf(st, sizeof st, "%s/.state", home);
	assert_int_equal(mkdir(home, 0700), 0);
	assert_int_equal(mkdir(cfg, 0700), 0);
	assert_int_equal(mkdir(qd, 0700), 0);
	assert_int_equal(mkdir(run, 0700), 0);
	assert_int_equal(mkdir(st, 0700), 0);
	write_file(tokpath, "qdt_not_known_here\n", 0600);
	setenv("HOME", home, 1);
	setenv("XDG_CONFIG_HOME", cfg, 1);
	setenv("XDG_RUNTIME_DIR", run, 1);
	setenv("XDG_STATE_HOME", st, 1);
	unsetenv("QDECK_TOKEN");
	unsetenv("QDECK_API_URL");
	snprintf(lookfor, sizeof lookfor, "127.0.0.1:%d", hs_port(c->srv));

	c->token = hs_token_create(c->srv, "ops");
	assert_non_null(c->token);
	assert_true(strlen(c->token) >= 8);

	c->h = spawn_qdeck(c);
	assert_non_null(c->h);
	Hs *h = c->h;
	hs_record_output(h, true);

	/* The dialog opens by itself, naming the server and the reason. */
	assert_true(hs_wait_text(h, "Sign in", T));
	assert_true(hs_wait_text(h, "refused the token", T));
	assert_true(hs_wait_text(h, "Save to the token file", T));
	assert_true(hs_wait_idle(h, 200, 3000)); /* the whole frame is in */
	assert_true(shows(h, lookfor));
	assert_true(shows(h, "401"));
	assert_true(shows(h, "Cancel"));
	assert_false(hs_contains(h, "QDECK_TOKEN is set"));
	assert_true(hs_wait_idle(h, 200, 3000));
	assert_true(hs_screenshot(h, "signin"));

	/* A wrong token: refused inline, the dialog stays, the text never shows. */
	assert_true(hs_send_keys(h, "qdt_wrong_guess"));
	assert_true(hs_wait_text(h, "\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2", T)); /* bullets */
	assert_false(hs_contains(h, "qdt_wrong_guess"));
	assert_true(hs_send_key(h, "Enter"));
	assert_true(hs_wait_text(h, "refused by the server too", T));
	assert_true(shows(h, "Sign in"));
	assert_false(hs_contains(h, "qdt_wrong_guess"));

	/* A malformed one is refused before it goes anywhere. */
	assert_true(hs_send_keys(h, "two words"));
	assert_true(hs_send_key(h, "Enter"));
	assert_true(hs_wait_text(h, "contains a space", T));
	assert_true(hs_send_key(h, "C-u"));

	/* Cancel: the signed-out screen stays; F5 opens the dialog again. */
	assert_true(hs_send_key(h, "Esc"));
	assert_true(hs_wait_gone(h, "Save to the token file", T));
	assert_true(shows(h, "to sign in: the server at"));
	assert_true(hs_wait_text(h, "sign-in cancelled", T));
	assert_true(hs_send_key(h, "F5"));
	assert_true(hs_wait_text(h, "Save to the token file", T));

	/* The valid token, pasted with the newline a copy often brings. */
	char paste[600];
	snprintf(paste, sizeof paste, "%s", c->token);
	assert_true(hs_send_keys(h, paste));
	assert_true(hs_wait_idle(h, 100, 3000));
	assert_hidden(h, c->token);
	assert_true(hs_send_key(h, "Enter"));
	assert_true(hs_wait_text(h, LIVE, T));
	assert_true(hs_wait_text(h, ACTIVE, T));
	assert_false(hs_contains(h, "Save to the token file"));
	assert_true(hs_wait_text(h, "token saved", T));
	assert_hidden(h, c->token);
	/* Not on any screen ever drawn: the raw bytes never carried it. */
	assert_false(hs_output_has(h, c->token, strlen(c->token)));
	assert_false(hs_output_has(h, "qdt_wrong_guess", strlen("qdt_wrong_guess")));

	/* The token file now holds the new token, 0600. */
	struct stat sb;
	assert_int_equal(lstat(tokpath, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0600);
	char buf[1024] = "";
	FILE *f = fopen(tokpath, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof buf, f));
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	assert_string_equal(buf, c->token);
	explicit_bzero(buf, sizeof buf);
	explicit_bzero(paste, sizeof paste);
}

/* QDECK_TOKEN refused: the dialog says the variable wins at the next start. */
static void test_env_token_note(void **state)
{
	Ctx *c = start_server(state);
	char home[512], run[512];
	snprintf(home, sizeof home, "%s/env-home", hs_dir(c->srv));
	snprintf(run, sizeof run, "%s/env-run", hs_dir(c->srv));
	assert_int_equal(mkdir(home, 0700), 0);
	assert_int_equal(mkdir(run, 0700), 0);
	setenv("HOME", home, 1);
	unsetenv("XDG_CONFIG_HOME");
	setenv("XDG_RUNTIME_DIR", run, 1);
	setenv("QDECK_TOKEN", "qdt_env_not_known", 1);
	unsetenv("QDECK_API_URL");
	c->h = spawn_qdeck(c);
	unsetenv("QDECK_TOKEN");
	assert_non_null(c->h);
	assert_true(hs_wait_text(c->h, "QDECK_TOKEN is set", T));
	assert_true(hs_wait_text(c->h, "takes precedence at the next start", T));
	assert_false(hs_contains(c->h, "qdt_env_not_known"));
	assert_true(hs_send_key(c->h, "Esc"));
	assert_true(hs_wait_gone(c->h, "QDECK_TOKEN is set", T));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_signin, teardown),
		cmocka_unit_test_teardown(test_env_token_note, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

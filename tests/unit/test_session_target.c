/* Unit tests for session_resolve_target: flag > env > config > local, and the
 * token file's permission check. Runs in a temporary XDG tree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "net/local.h"
#include "net/session.h"

static char root[256];
static char cfgdir[512];

static void write_file(const char *name, const char *text, mode_t mode)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof path, "%s/%s", cfgdir, name);
	unlink(path);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static void remove_file(const char *name)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof path, "%s/%s", cfgdir, name);
	unlink(path);
}

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof root, "/tmp/qd-target-XXXXXX");
	if (!mkdtemp(root))
		return -1;
	char p[PATH_MAX + 32];
	snprintf(p, sizeof p, "%s/config", root);
	mkdir(p, 0700);
	snprintf(cfgdir, sizeof cfgdir, "%s/config/quarterdeck", root);
	mkdir(cfgdir, 0700);
	snprintf(p, sizeof p, "%s/run", root);
	mkdir(p, 0700);
	setenv("XDG_RUNTIME_DIR", p, 1);
	snprintf(p, sizeof p, "%s/state", root);
	setenv("XDG_STATE_HOME", p, 1);
	snprintf(p, sizeof p, "%s/config", root);
	setenv("XDG_CONFIG_HOME", p, 1);
	unsetenv("QDECK_API_URL");
	unsetenv("QDECK_TOKEN");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static void reset(void)
{
	unsetenv("QDECK_API_URL");
	unsetenv("QDECK_TOKEN");
	remove_file("config");
	remove_file("token");
}

static void test_order(void **state)
{
	(void)state;
	reset();
	SessionTarget t;
	char err[512];
	write_file("config", "# comment\n  api = http://config.example:8080  \n", 0644);
	setenv("QDECK_API_URL", "http://env.example", 1);
	setenv("QDECK_TOKEN", "tok-env", 1);

	assert_int_equal(session_resolve_target("https://flag.example", &t, err, sizeof err), 0);
	assert_string_equal(t.api_url, "https://flag.example");
	assert_string_equal(t.token, "tok-env");
	assert_false(t.local);
	session_target_done(&t);

	assert_int_equal(session_resolve_target(NULL, &t, err, sizeof err), 0);
	assert_string_equal(t.api_url, "http://env.example");
	session_target_done(&t);

	unsetenv("QDECK_API_URL");
	assert_int_equal(session_resolve_target(NULL, &t, err, sizeof err), 0);
	assert_string_equal(t.api_url, "http://config.example:8080");
	session_target_done(&t);

	remove_file("config");
	assert_int_equal(session_resolve_target(NULL, &t, err, sizeof err), 0);
	assert_null(t.api_url);
	assert_true(t.local);
	char want[PATH_MAX + 64];
	snprintf(want, sizeof want, "%s/run/quarterdeck/qdeckd.sock", root);
	assert_string_equal(t.unix_socket, want);
	assert_null(t.token); /* the local plane mints its own admin token */
	struct stat st;
	snprintf(want, sizeof want, "%s/run/quarterdeck", root);
	assert_int_equal(stat(want, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	session_target_done(&t);
}

static void test_bad_urls(void **state)
{
	(void)state;
	reset();
	SessionTarget t;
	char err[512];
	assert_int_equal(session_resolve_target("ftp://x", &t, err, sizeof err), -1);
	assert_string_equal(err, "--api must be an http:// or https:// URL");
	setenv("QDECK_API_URL", "localhost:8080", 1);
	assert_int_equal(session_resolve_target(NULL, &t, err, sizeof err), -1);
	assert_string_equal(err, "QDECK_API_URL must be an http:// or https:// URL");
	unsetenv("QDECK_API_URL");
	write_file("config", "api = not a url\n", 0600);
	assert_int_equal(session_resolve_target(NULL, &t, err, sizeof err), -1);
	assert_non_null(strstr(err, "config:1: api must be an http:// or https:// URL"));
}

static void test_token_file(void **state)
{
	(void)state;
	reset();
	SessionTarget t;
	char err[512];
	char path[600];
	snprintf(path, sizeof path, "%s/token", cfgdir);

	/* Missing: fine, no token. */
	assert_int_equal(session_resolve_target("http://h", &t, err, sizeof err), 0);
	assert_null(t.token);
	session_target_done(&t);

	/* 0644: refused with the fix in the message. */
	write_file("token", "secret-token-1\n", 0644);
	assert_int_equal(session_resolve_target("http://h", &t, err, sizeof err), -1);
	char want[2048];
	snprintf(want, sizeof want, "%s is readable by others (mode 0644): run chmod 600 %s", path, path);
	assert_string_equal(err, want);
	assert_null(strstr(err, "secret-token-1"));
	assert_null(t.api_url); /* nothing leaked out of a failed resolve */

	/* 0640 is refused too (group). */
	write_file("token", "secret-token-1\n", 0640);
	assert_int_equal(session_resolve_target("http://h", &t, err, sizeof err), -1);
	assert_non_null(strstr(err, "mode 0640"));

	/* 0600: accepted, trimmed. */
	write_file("token", "secret-token-1\n", 0600);
	assert_int_equal(session_resolve_target("http://h", &t, err, sizeof err), 0);
	assert_string_equal(t.token, "secret-token-1");
	session_target_done(&t);

	/* QDECK_TOKEN wins over the file (even a bad file is not read). */
	write_file("token", "x\n", 0644);
	setenv("QDECK_TOKEN", "tok-env", 1);
	assert_int_equal(session_resolve_target("http://h", &t, err, sizeof err), 0);
	assert_string_equal(t.token, "tok-env");
	session_target_done(&t);
	unsetenv("QDECK_TOKEN");

	/* Not a regular file. */
	remove_file("token");
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(session_resolve_target("http://h", &t, err, sizeof err), -1);
	assert_non_null(strstr(err, "is not a regular file"));
	rmdir(path);

	/* A symlink is refused. */
	assert_int_equal(symlink("/etc/hostname", path), 0);
	assert_int_equal(session_resolve_target("http://h", &t, err, sizeof err), -1);
	assert_non_null(strstr(err, "symlink"));
	unlink(path);

	/* Garbage (spaces, empty). */
	write_file("token", "two words\n", 0600);
	assert_int_equal(session_resolve_target("http://h", &t, err, sizeof err), -1);
	assert_non_null(strstr(err, "does not hold a token"));
	write_file("token", "\n", 0600);
	assert_int_equal(session_resolve_target("http://h", &t, err, sizeof err), -1);
}

static void test_paths(void **state)
{
	(void)state;
	char buf[PATH_MAX], err[256], want[PATH_MAX + 64];
	assert_int_equal(local_state_dir(buf, sizeof buf, err, sizeof err), 0);
	snprintf(want, sizeof want, "%s/state/quarterdeck", root);
	assert_string_equal(buf, want);

	char *old = getenv("XDG_RUNTIME_DIR") ? xstrdup(getenv("XDG_RUNTIME_DIR")) : NULL;
	unsetenv("XDG_RUNTIME_DIR");
	if (local_socket_path(buf, sizeof buf, err, sizeof err) == 0) {
		snprintf(want, sizeof want, "/tmp/quarterdeck-%u/qdeckd.sock", (unsigned)getuid());
		assert_string_equal(buf, want);
	}
	if (old) {
		setenv("XDG_RUNTIME_DIR", old, 1);
		free(old);
	}

	setenv("QDECKD_BIN", "/opt/x/qdeckd", 1);
	char *bin = local_qdeckd_path();
	assert_string_equal(bin, "/opt/x/qdeckd");
	free(bin);
	unsetenv("QDECKD_BIN");
	bin = local_qdeckd_path();
	assert_non_null(bin);
	free(bin);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_bad_urls),
		cmocka_unit_test(test_token_file),
		cmocka_unit_test(test_paths),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

/* Unit tests for net/tokenfile: what a token may look like (each refusal
 * with its message, none quoting the token), trimming a paste, and the
 * atomic write (mode 0600, directories created 0700, an existing file
 * replaced, a symlink at the target refused, the reader taking what the
 * writer wrote). Runs in a temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/tokenfile.h"

static char root[1024];

static int rm_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return 0;
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			char sub[PATH_MAX];
			snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
			rm_tree(sub);
		}
		if (d)
			closedir(d);
		return rmdir(path);
	}
	return unlink(path);
}

static int setup(void **state)
{
	(void)state;
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(root, sizeof root, "%s/qd-tokenfile-XXXXXX", tmp);
	assert_non_null(mkdtemp(root));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rm_tree(root);
	return 0;
}

static void test_check(void **state)
{
	(void)state;
	assert_null(tokenfile_check("qdt_abc-123.XYZ~!"));
	const char *m;
	m = tokenfile_check("");
	assert_non_null(m);
	assert_non_null(strstr(m, "empty"));
	m = tokenfile_check("two words");
	assert_non_null(m);
	assert_non_null(strstr(m, "space"));
	m = tokenfile_check("tab\there");
	assert_non_null(strstr(m, "space"));
	m = tokenfile_check("line\nbreak");
	assert_non_null(m);
	assert_non_null(strstr(m, "control character"));
	m = tokenfile_check("esc\x1b[31m");
	assert_non_null(strstr(m, "control character"));
	m = tokenfile_check("del\x7f");
	assert_non_null(strstr(m, "control character"));
	m = tokenfile_check("caf\xc3\xa9");
	assert_non_null(m);
	assert_non_null(strstr(m, "non-ASCII"));
	char big[TOKENFILE_MAX + 2];
	memset(big, 'a', TOKENFILE_MAX);
	big[TOKENFILE_MAX] = '\0';
	assert_null(tokenfile_check(big)); /* exactly the limit is fine */
	big[TOKENFILE_MAX] = 'a';
	big[TOKENFILE_MAX + 1] = '\0';
	m = tokenfile_check(big);
	assert_non_null(m);
	assert_non_null(strstr(m, "at most 4096 bytes"));
	/* No message ever quotes what it checked. */
	assert_null(strstr(tokenfile_check("secret words"), "secret"));
}

static void test_trim(void **state)
{
	(void)state;
	char a[] = "  \tqdt_tok\r\n";
	assert_string_equal(tokenfile_trim(a), "qdt_tok");
	char b[] = "\n\n";
	assert_string_equal(tokenfile_trim(b), "");
	char c[] = "in side";
	assert_string_equal(tokenfile_trim(c), "in side");
}

static mode_t mode_of(const char *path)
{
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	return st.st_mode & 07777;
}

static int entries(const char *dir)
{
	int n = 0;
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	if (d)
		closedir(d);
	return n;
}

static void test_write_read(void **state)
{
	(void)state;
	char cfg[2048], dir[PATH_MAX], path[PATH_MAX + 8], err[PATH_MAX + 200];
	/* Neither the config home nor quarterdeck/ exists yet. */
	snprintf(cfg, sizeof cfg, "%s/cfg", root);
	snprintf(dir, sizeof dir, "%s/quarterdeck", cfg);
	snprintf(path, sizeof path, "%s/token", dir);
	mode_t old = umask(022);
	assert_int_equal(tokenfile_write(dir, "qdt_first", err, sizeof err), 0);
	assert_int_equal(mode_of(cfg), 0700);
	assert_int_equal(mode_of(dir), 0700);
	assert_int_equal(mode_of(path), 0600);
	char *back = NULL;
	assert_int_equal(tokenfile_read(dir, &back, err, sizeof err), 1);
	assert_string_equal(back, "qdt_first");
	tokenfile_wipe_free(&back);
	assert_null(back);

	/* Replacing: a new inode renamed over the old one, nothing left behind;
	 * a strict umask does not make it unreadable to its owner. */
	struct stat before, after;
	assert_int_equal(stat(path, &before), 0);
	umask(0277);
	char big[TOKENFILE_MAX + 1];
	memset(big, 'Z', TOKENFILE_MAX);
	big[TOKENFILE_MAX] = '\0';
	assert_int_equal(tokenfile_write(dir, big, err, sizeof err), 0);
	umask(022);
	assert_int_equal(stat(path, &after), 0);
	assert_true(before.st_ino != after.st_ino);
	assert_int_equal(mode_of(path), 0600);
	assert_int_equal(entries(dir), 1);
	assert_int_equal(tokenfile_read(dir, &back, err, sizeof err), 1);
	assert_string_equal(back, big); /* the longest token round-trips */
	tokenfile_wipe_free(&back);

	/* A token the check refuses is not written, and the message says why
	 * without quoting it. */
	assert_int_equal(tokenfile_write(dir, "bad token", err, sizeof err), -1);
	assert_non_null(strstr(err, "space"));
	assert_null(strstr(err, "bad token"));
	assert_int_equal(tokenfile_read(dir, &back, err, sizeof err), 1);
	assert_string_equal(back, big);
	tokenfile_wipe_free(&back);
	umask(old);
}

static void test_symlink_refused(void **state)
{
	(void)state;
	char dir[PATH_MAX], path[PATH_MAX + 8], target[PATH_MAX + 8], err[PATH_MAX + 200];
	snprintf(dir, sizeof dir, "%s/link/quarterdeck", root);
	snprintf(path, sizeof path, "%s/token", dir);
	snprintf(target, sizeof target, "%s/elsewhere", root);
	char parent[PATH_MAX];
	snprintf(parent, sizeof parent, "%s/link", root);
	assert_int_equal(mkdir(parent, 0700), 0);
	assert_int_equal(mkdir(dir, 0700), 0);
	FILE *f = fopen(target, "w");
	assert_non_null(f);
	fputs("original\n", f);
	fclose(f);
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(tokenfile_write(dir, "qdt_new", err, sizeof err), -1);
	assert_non_null(strstr(err, "symlink"));
	assert_null(strstr(err, "qdt_new"));
	/* Neither the link nor what it points at changed; no temp file left. */
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	char buf[64] = "";
	f = fopen(target, "r");
	assert_non_null(fgets(buf, sizeof buf, f));
	fclose(f);
	assert_string_equal(buf, "original\n");
	assert_int_equal(entries(dir), 1);
	/* The reader refuses it as well. */
	char *back = NULL;
	assert_int_equal(tokenfile_read(dir, &back, err, sizeof err), -1);
	assert_non_null(strstr(err, "symlink"));
	assert_null(back);
}

static void test_reader_rules(void **state)
{
	(void)state;
	char dir[PATH_MAX], path[PATH_MAX + 8], err[PATH_MAX + 200];
	snprintf(dir, sizeof dir, "%s/reader", root);
	snprintf(path, sizeof path, "%s/token", dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	char *back = NULL;
	assert_int_equal(tokenfile_read(dir, &back, err, sizeof err), 0); /* none: fine */
	int fd = open(path, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "qdt_x\n", 6), 6);
	fchmod(fd, 0644);
	close(fd);
	assert_int_equal(tokenfile_read(dir, &back, err, sizeof err), -1);
	assert_non_null(strstr(err, "readable by others"));
	assert_non_null(strstr(err, "chmod 600"));
	assert_null(strstr(err, "qdt_x"));
	chmod(path, 0600);
	assert_int_equal(tokenfile_read(dir, &back, err, sizeof err), 1);
	assert_string_equal(back, "qdt_x");
	tokenfile_wipe_free(&back);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_trim),
		cmocka_unit_test(test_write_read),
		cmocka_unit_test(test_symlink_refused),
		cmocka_unit_test(test_reader_rules),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

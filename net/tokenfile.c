/* tokenfile — reading and writing the token file (tokenfile.h).
 *
 * The write is the classic atomic replace: a temp file next to the target
 * (same filesystem, so rename() is atomic), created exclusively and never
 * through a symlink, mode 0600 from birth (fchmod too, so a strict umask
 * cannot leave it unreadable), fsync'd before the rename and the directory
 * fsync'd after it, so a crash leaves the old token or the new one, never half
 * of one. */
#include "net/tokenfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"

int tokenfile_config_dir(char *buf, size_t sz)
{
	return qd_xdg_dir("XDG_CONFIG_HOME", ".config", buf, sz);
}

static bool space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

char *tokenfile_trim(char *s)
{
	while (space(*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && space(s[n - 1]))
		s[--n] = '\0';
	return s;
}

const char *tokenfile_check(const char *t)
{
	/* Messages are fixed strings: a position would be enough to find the
	 * bad character, but the character itself never goes into one. */
	if (!t || !*t)
		return "the token is empty: paste the whole token";
	size_t n = 0;
	bool sp = false, ctl = false, high = false;
	for (const unsigned char *p = (const unsigned char *)t; *p; p++, n++) {
		if (*p == ' ' || *p == '\t')
			sp = true;
		else if (*p < 0x20 || *p == 0x7f)
			ctl = true;
		else if (*p > 0x7f)
			high = true;
	}
	if (n > TOKENFILE_MAX)
		return "the token is too long (at most 4096 bytes): was more than the token pasted?";
	if (sp)
		return "the token contains a space: a token is one word";
	if (ctl)
		return "the token contains a control character (a line break?): paste one line";
	if (high)
		return "the token contains a non-ASCII character: tokens are printable ASCII";
	return NULL;
}

void tokenfile_wipe_free(char **p)
{
	if (p && *p) {
		explicit_bzero(*p, strlen(*p));
		free(*p);
		*p = NULL;
	}
}

int tokenfile_read(const char *dir, char **out, char *errbuf, size_t errsz)
{
	char *path = xasprintf("%s/token", dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT) {
			free(path);
			return 0;
		}
		snprintf(errbuf, errsz, "%s: %s", path, e == ELOOP ? "is a symlink: use a regular file"
		         : strerror(e));
		free(path);
		return -1;
	}
	struct stat st;
	int rc = -1;
	if (fstat(fd, &st) < 0) {
		snprintf(errbuf, errsz, "%s: %s", path, strerror(errno));
	} else if (!S_ISREG(st.st_mode)) {
		snprintf(errbuf, errsz, "%s is not a regular file", path);
	} else if (st.st_mode & 077) {
		snprintf(errbuf, errsz, "%s is readable by others (mode %04o): run chmod 600 %s", path,
		         (unsigned)(st.st_mode & 07777), path);
	} else if (st.st_uid != getuid()) {
		snprintf(errbuf, errsz, "%s is not owned by you", path);
	} else {
		/* Room for the longest token plus surrounding blank lines; a bigger
		 * file is not a token file. */
		char buf[TOKENFILE_MAX + 256];
		size_t len = 0;
		ssize_t n = 0;
		while (len < sizeof buf - 1 && (n = read(fd, buf + len, sizeof buf - 1 - len)) > 0)
			len += (size_t)n;
		if (n < 0) {
			snprintf(errbuf, errsz, "%s: %s", path, strerror(errno));
		} else {
			buf[len] = '\0';
			char *t = tokenfile_trim(buf);
			const char *why = len == sizeof buf - 1 ? "the file is too long" : tokenfile_check(t);
			if (!why) {
				*out = xstrdup(t);
				rc = 1;
			} else {
				snprintf(errbuf, errsz, "%s does not hold a token (one line, no spaces): %s", path, why);
			}
		}
		explicit_bzero(buf, sizeof buf);
	}
	close(fd);
	free(path);
	return rc;
}

/* mkdir 0700 unless it exists as a directory. */
static int ensure_dir(const char *dir, char *errbuf, size_t errsz)
{
	struct stat st;
	if (stat(dir, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		snprintf(errbuf, errsz, "%s is not a directory", dir);
		return -1;
	}
	if (mkdir(dir, 0700) == 0 || errno == EEXIST)
		return 0;
	snprintf(errbuf, errsz, "cannot create %s: %s", dir, strerror(errno));
	return -1;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int tokenfile_write(const char *dir, const char *token, char *errbuf, size_t errsz)
{
	const char *why = tokenfile_check(token);
	if (why) {
		snprintf(errbuf, errsz, "not saved: %s", why);
		return -1;
	}
	/* The parent (~/.config or $XDG_CONFIG_HOME) may be missing on a fresh
	 * account too; the levels above it are the user's business. */
	char parent[PATH_MAX];
	snprintf(parent, sizeof parent, "%s", dir);
	char *slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = '\0';
		if (ensure_dir(parent, errbuf, errsz) < 0)
			return -1;
	}
	if (ensure_dir(dir, errbuf, errsz) < 0)
		return -1;

	char *path = xasprintf("%s/token", dir);
	struct stat st;
	if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		snprintf(errbuf, errsz, "%s %s: not replaced (remove it and sign in again)", path,
		         S_ISLNK(st.st_mode) ? "is a symlink" : "is not a regular file");
		free(path);
		return -1;
	}

	char *tmp = NULL;
	int fd = -1;
	for (int i = 0; i < 100 && fd < 0; i++) {
		free(tmp);
		tmp = xasprintf("%s/.token.%ld.%d.%lx", dir, (long)getpid(), i, (unsigned long)time(NULL));
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0) {
		snprintf(errbuf, errsz, "cannot create a file in %s: %s", dir, strerror(errno));
		free(tmp);
		free(path);
		return -1;
	}
	int rc = -1;
	size_t n = strlen(token);
	if (fchmod(fd, 0600) < 0 || write_all(fd, token, n) < 0 || write_all(fd, "\n", 1) < 0 || fsync(fd) < 0) {
		snprintf(errbuf, errsz, "cannot write %s: %s", tmp, strerror(errno));
	} else if (close(fd) < 0) {
		fd = -1;
		snprintf(errbuf, errsz, "cannot write %s: %s", tmp, strerror(errno));
	} else {
		fd = -1;
		/* Once more just before the swap: a symlink planted meanwhile is
		 * still refused (rename would replace the link, not follow it, but
		 * someone put it there for a reason worth a look). */
		if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode))
			snprintf(errbuf, errsz, "%s is a symlink or not a regular file: not replaced", path);
		else if (rename(tmp, path) < 0)
			snprintf(errbuf, errsz, "cannot replace %s: %s", path, strerror(errno));
		else
			rc = 0;
	}
	if (fd >= 0)
		close(fd);
	if (rc < 0) {
		unlink(tmp);
	} else {
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			fsync(dfd); /* the rename itself is durable */
			close(dfd);
		}
	}
	free(tmp);
	free(path);
	return rc;
}

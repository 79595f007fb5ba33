/* tokenfile — the platform token at rest: $XDG_CONFIG_HOME/quarterdeck/token
 * (else ~/.config/quarterdeck/token), read at start and written by the
 * sign-in dialog. One rule decides what a token may look like, for both the
 * file and a pasted one, so the reader always accepts what the writer wrote.
 *
 * Nothing here puts a token into a message: errors name the path and what is
 * wrong, never the bytes. */
#ifndef QD_NET_TOKENFILE_H
#define QD_NET_TOKENFILE_H

#include <stdbool.h>
#include <stddef.h>

#define TOKENFILE_MAX 4096 /* bytes in a token */

/* "$XDG_CONFIG_HOME/quarterdeck" (absolute XDG only), else
 * "$HOME/.config/quarterdeck". -1 when neither is usable or it does not fit. */
int tokenfile_config_dir(char *buf, size_t sz);

/* Strips surrounding spaces, tabs, CR and LF in place (a pasted token often
 * brings a newline); returns the first kept byte. */
char *tokenfile_trim(char *s);

/* NULL when `token` (already trimmed) is a usable token: 1..TOKENFILE_MAX
 * bytes of printable ASCII without spaces. Otherwise a constant message
 * saying what is wrong ("the token is empty", "the token has a space at
 * character 5", ...), which never quotes the token. */
const char *tokenfile_check(const char *token);

/* Reads dir/token. 0: no file; 1: *out = the token (heap; free it with
 * tokenfile_wipe_free); -1: refused, errbuf says why and how to fix it (a
 * file readable by others, a symlink, not yours, not a token). */
int tokenfile_read(const char *dir, char **out, char *errbuf, size_t errsz);

/* Writes the token to dir/token atomically: dir (and its parent) created 0700
 * if missing; a temp file in dir created O_CREAT|O_EXCL|O_NOFOLLOW mode 0600,
 * written, fsync'd and renamed over the old file. A symlink (or anything not
 * a regular file) at dir/token is refused, as is a token tokenfile_check
 * refuses. 0, or -1 with errbuf. Nothing is left behind on failure. */
int tokenfile_write(const char *dir, const char *token, char *errbuf, size_t errsz);

/* explicit_bzero the string and free it; *p = NULL. */
void tokenfile_wipe_free(char **p);

#endif

/* sanitize — makes untrusted strings (server JSON, key files, log input) safe to
 * put on a terminal or in a log line.
 *
 * Nothing that could steer a terminal survives: C0 controls, ESC, DEL and C1
 * controls become visible caret/hex notation ("^[", "^?", "<9b>"), malformed
 * UTF-8 becomes U+FFFD. Display width is measured with wcwidth(), so callers
 * must have called setlocale(LC_CTYPE, "") for wide characters to count as two. */
#ifndef QD_SANITIZE_H
#define QD_SANITIZE_H

#include <stdbool.h>
#include <stddef.h>

/* Sanitizes at most `inlen` bytes of `in` into `out` (always NUL-terminated,
 * never more than outsz-1 bytes, never a split UTF-8 sequence). Returns the
 * number of bytes written. Tabs and newlines are made visible too unless
 * `keep_newlines` is set, in which case '\n' passes and '\t' becomes a space. */
size_t sanitize_str(const char *in, size_t inlen, char *out, size_t outsz, bool keep_newlines);

/* Like sanitize_str, then cuts to at most `max_cols` terminal columns, ending
 * with "…" (or "~" when `ascii`) if anything was cut. Returns columns used. */
int sanitize_fit(const char *in, char *out, size_t outsz, int max_cols, bool ascii);

/* Display columns of an already-sanitized UTF-8 string. */
int sanitize_width(const char *s);

/* True when every byte is printable ASCII or valid printable UTF-8. */
bool sanitize_is_clean(const char *s, size_t len);

#endif

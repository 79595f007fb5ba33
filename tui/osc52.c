/* osc52 — clipboard copy via the terminal's OSC 52 sequence. */
#include "tui/osc52.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void base64_append(QdBuf *out, const unsigned char *p, size_t n)
{
	/* OpenSSL's encoder: 4 output bytes per 3 input, plus the NUL it writes. */
	size_t need = 4 * ((n + 2) / 3) + 1;
	char *tmp = xmalloc(need);
	int w = EVP_EncodeBlock((unsigned char *)tmp, p, (int)n);
	qdbuf_append(out, tmp, w > 0 ? (size_t)w : 0);
	free(tmp);
}

int osc52_encode(const char *text, size_t len, bool tmux, QdBuf *out)
{
	if (len > OSC52_MAX_TEXT)
		return -1;
	/* tmux passthrough: every ESC inside the payload is doubled. */
	static const char plain[] = "\033]52;c;", wrapped[] = "\033Ptmux;\033\033]52;c;";
	if (tmux)
		qdbuf_append(out, wrapped, sizeof wrapped - 1);
	else
		qdbuf_append(out, plain, sizeof plain - 1);
	base64_append(out, (const unsigned char *)text, len);
	qdbuf_append(out, "\a", 1);
	if (tmux)
		qdbuf_append(out, "\033\\", 2);
	return 0;
}

int osc52_copy(int fd, const char *text)
{
	const char *t = getenv("TMUX");
	QdBuf b;
	qdbuf_init(&b);
	if (osc52_encode(text, strlen(text), t && *t, &b) < 0) {
		qdbuf_done(&b);
		return -1;
	}
	size_t off = 0;
	int rc = 0;
	while (off < b.len) {
		ssize_t n = write(fd, b.data + off, b.len - off);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			rc = -1;
			break;
		}
		off += (size_t)n;
	}
	qdbuf_done(&b);
	return rc;
}

/* osc52 — copy text to the operator's clipboard with the OSC 52 escape.
 *
 * The sequence travels with the terminal output, so it reaches the clipboard
 * of the machine the operator sits at even over SSH. Inside tmux the sequence
 * must be wrapped in tmux's DCS passthrough or tmux swallows it. */
#ifndef QD_TUI_OSC52_H
#define QD_TUI_OSC52_H

#include <stdbool.h>
#include <stddef.h>

#include "common/util.h"

/* Largest payload we send: terminals cap OSC 52 (xterm ~74 kB of base64). */
#define OSC52_MAX_TEXT 32768

/* Appends the full escape sequence for `text` to `out`. `tmux` wraps it in the
 * DCS passthrough. Returns -1 (out untouched) when text is too long. */
int osc52_encode(const char *text, size_t len, bool tmux, QdBuf *out);

/* Writes the sequence straight to fd (the terminal), bypassing curses: the
 * screen does not change. tmux is detected from $TMUX. 0 or -1. */
int osc52_copy(int fd, const char *text);

#endif

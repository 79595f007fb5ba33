/* statusline — the bottom line: mode/context on the left, a transient
 * message in the middle (its level shown as glyph + word, e.g. "✗ error:"),
 * the connection state on the right ("● live · local control plane").
 * With no message, key hints ("r release  ? help") fill the middle.
 *
 * Messages expire: the owner calls statusline_tick() from its timer and
 * redraws when it returns true. Strings are copied and sanitized on draw.
 * The struct begins with a Widget; it handles no keys. */
#ifndef QD_WIDGETS_STATUSLINE_H
#define QD_WIDGETS_STATUSLINE_H

#include <stdbool.h>
#include <stdint.h>

#include "widgets/draw.h"
#include "widgets/widget.h"

typedef struct Statusline Statusline;

Statusline *statusline_new(WINDOW *win);
void statusline_free(Statusline **s);
Widget *statusline_widget(Statusline *s);
void statusline_set_window(Statusline *s, WINDOW *win);

void statusline_set_mode(Statusline *s, const char *text);
void statusline_set_hints(Statusline *s, const char *text);
/* Shows `text` until now_ms + ttl_ms (monotonic ms; ttl 0 = until replaced). */
void statusline_set_message(Statusline *s, DrawLevel level, const char *text, int64_t now_ms, int64_t ttl_ms);
void statusline_clear_message(Statusline *s);
/* Connection text and the role to draw it in (ROLE_STATE_OK when live,
 * ROLE_STATUS_ERROR when down, ...). The text carries its own glyph. */
void statusline_set_connection(Statusline *s, const char *text, ThemeRole role);
/* Expires the message; true when something changed (redraw). */
bool statusline_tick(Statusline *s, int64_t now_ms);
/* The message being shown, "" when none (for tests and screen readers). */
const char *statusline_message(const Statusline *s);

#endif

/* toast — short notices stacked in the top-right corner ("✓ ok: release
 * accepted · receipt 7f3a"), each shown for a while then gone.
 *
 * Owns a small WINDOW it creates and resizes as notices come and go; when
 * none is visible toast_visible() is false and the owner skips it (and
 * must redraw what was under it: toast_tick() returns true then). At most
 * four notices are kept; the oldest goes first. The struct begins with a
 * Widget; it handles no keys. */
#ifndef QD_WIDGETS_TOAST_H
#define QD_WIDGETS_TOAST_H

#include <stdbool.h>
#include <stdint.h>

#include "widgets/draw.h"
#include "widgets/widget.h"

typedef struct Toast Toast;

Toast *toast_new(void);
void toast_free(Toast **t);
Widget *toast_widget(Toast *t);
/* Adds a notice shown until now_ms + ttl_ms (monotonic; ttl 0 = 4 s). */
void toast_show(Toast *t, DrawLevel level, const char *text, int64_t now_ms, int64_t ttl_ms);
/* Drops expired notices; true when the set changed (redraw screen + toast). */
bool toast_tick(Toast *t, int64_t now_ms);
bool toast_visible(const Toast *t);
int toast_count(const Toast *t);
/* Text of notice i (0 = oldest). */
const char *toast_text(const Toast *t, int i);

#endif

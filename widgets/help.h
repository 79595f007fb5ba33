/* help — the "?" overlay, generated from the keymap: the bindings of the
 * current context, then the global ones it does not shadow, as
 * "key  action-name  help text", scrollable.
 *
 * Owns its centered WINDOW (most of the screen); resize re-centers it.
 * Keys: movement scrolls; back/cancel/help/quit ("q", Esc, "?") close it
 * with W_CLOSE. The struct begins with a Widget. */
#ifndef QD_WIDGETS_HELP_H
#define QD_WIDGETS_HELP_H

#include "widgets/widget.h"

typedef struct Help Help;

/* `context` is a keymap context ("table", ...; NULL = global); `title`
 * names the screen ("Workloads"). Both copied. */
Help *help_new(const char *context, const char *title);
void help_free(Help **h);
Widget *help_widget(Help *h);
/* Rebuilds the lines (after the keymap changed). */
void help_rebuild(Help *h);
/* Number of lines of the generated text, and line i (for tests). */
size_t help_line_count(const Help *h);
const char *help_line(const Help *h, size_t i);

#endif

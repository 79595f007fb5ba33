/* help — the "?" overlay, generated from the keymap: the bindings of the
 * current context, then the global ones it does not shadow, as
 * "key  action-name  help text" columns, scrollable.
 *
 * Long help text wraps at word boundaries (widths by wcwidth) with a hanging
 * indent under the description column; a key column too long for its width
 * wraps after a "/" between keys. The text is re-flowed for the window's
 * width whenever it changes, keeping the entry at the top in view.
 *
 * Owns its centered WINDOW (most of the screen); resize re-centers it.
 * Keys arrive as actions looked up in the "help" context (falling back to
 * global, like every layer): the movement actions scroll, back/cancel/help/
 * quit close it with W_CLOSE. Everything else is swallowed so nothing acts on
 * the screen below. When the text does not fit, the bottom edge shows which
 * lines are on screen ("12-30/41") and which way there is more.
 * The struct begins with a Widget. */
#ifndef QD_WIDGETS_HELP_H
#define QD_WIDGETS_HELP_H

#include <stddef.h>

#include "widgets/widget.h"

typedef struct Help Help;

/* `context` is a keymap context ("table", ...; NULL = global); `title`
 * names the screen ("Workloads"). Both copied. */
Help *help_new(const char *context, const char *title);
void help_free(Help **h);
Widget *help_widget(Help *h);
/* Rebuilds the lines (after the keymap changed). */
void help_rebuild(Help *h);
/* Number of screen lines of the generated text at the current width, and
 * line i (for tests). */
size_t help_line_count(const Help *h);
const char *help_line(const Help *h, size_t i);
/* The first line on screen, and how many lines the window shows. */
size_t help_top(const Help *h);
size_t help_page(const Help *h);
/* "12-30/41" when the text does not fit the window, else "" (into buf). */
const char *help_position(const Help *h, char *buf, size_t sz);

/* Word wrap of sanitized UTF-8 `text` into lines of at most `width` columns
 * (width >= 1): breaks at spaces (dropped at the break) or after a '/'; a
 * word wider than a line is cut between characters (a wide character never
 * straddles a break). Returns the number of lines (at least 1), each a
 * malloc'd string in (*lines)[i]; free with help_wrap_free. */
size_t help_wrap(const char *text, int width, char ***lines);
void help_wrap_free(char ***lines, size_t n);

#endif

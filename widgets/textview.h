/* textview — scrollable read-only lines, each with a theme role: detail
 * tabs, the activity log, the help overlay.
 *
 * Text is sanitized when added (control bytes visible), split on '\n';
 * lines longer than the window are cut with an ellipsis (no wrapping unless
 * textview_set_wrap). Follow mode keeps the last line in view as lines are
 * appended (a live log) until the user scrolls up. Keys: move-up/down,
 * page-up/down, move-first/last. The struct begins with a Widget. */
#ifndef QD_WIDGETS_TEXTVIEW_H
#define QD_WIDGETS_TEXTVIEW_H

#include <stdbool.h>
#include <stddef.h>

#include "widgets/theme.h"
#include "widgets/widget.h"

typedef struct Textview Textview;

Textview *textview_new(WINDOW *win);
void textview_free(Textview **tv);
Widget *textview_widget(Textview *tv);
void textview_set_window(Textview *tv, WINDOW *win);

void textview_clear(Textview *tv);
/* Appends text (may hold '\n': one line each) in `role`. */
void textview_add(Textview *tv, const char *text, ThemeRole role);
/* printf into one or more lines. */
void textview_addf(Textview *tv, ThemeRole role, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* "label: value" with the label padded to `label_cols`, label in ROLE_DIM. */
void textview_add_pair(Textview *tv, const char *label, const char *value, int label_cols, ThemeRole value_role);
size_t textview_line_count(const Textview *tv);
const char *textview_line(const Textview *tv, size_t i);

void textview_set_follow(Textview *tv, bool follow);
/* Wrap long lines at the window width instead of cutting them. */
void textview_set_wrap(Textview *tv, bool wrap);
void textview_scroll_to(Textview *tv, size_t top);
size_t textview_top(const Textview *tv);

#endif

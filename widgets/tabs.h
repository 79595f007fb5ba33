/* tabs — one line of labelled tabs; the active one is shown as "[Label]" in
 * ROLE_TAB_ACTIVE (reverse/bold), so it reads without colour too.
 *
 * Handles next-tab / prev-tab (wrapping); the owner reads tabs_active()
 * after a W_REDRAW. Labels are copied. The owner sizes the one-line WINDOW.
 * The struct begins with a Widget. */
#ifndef QD_WIDGETS_TABS_H
#define QD_WIDGETS_TABS_H

#include "widgets/widget.h"

typedef struct Tabs Tabs;

Tabs *tabs_new(WINDOW *win, const char *const *labels, int n);
void tabs_free(Tabs **t);
Widget *tabs_widget(Tabs *t);
void tabs_set_window(Tabs *t, WINDOW *win);
int tabs_active(const Tabs *t);
void tabs_set_active(Tabs *t, int i); /* clamped */
int tabs_count(const Tabs *t);
/* Moves by delta (wrapping); returns the new active index. */
int tabs_step(Tabs *t, int delta);

#endif

/* widget — the base every widget and screen embeds as its first member.
 *
 * A widget is a value of a small constant class table (htop's Object/Panel
 * pattern): draw into its window, handle an action or a raw key, resize, free.
 * Handlers never act on the loop themselves: they return WidgetResult flags and
 * the loop decides (redraw, pop the layer, quit). Input goes to the top layer
 * first and falls down until one handles it; drawing goes bottom to top, so a
 * modal draws the screen below it, then itself. */
#ifndef QD_WIDGETS_WIDGET_H
#define QD_WIDGETS_WIDGET_H

#include <curses.h>
#include <stdbool.h>

#include "keymaps/actions.h"

typedef enum {
	W_IGNORED = 0,      /* not mine: offer it to the layer below */
	W_HANDLED = 1 << 0, /* consumed */
	W_REDRAW = 1 << 1,  /* something on screen changed */
	W_CLOSE = 1 << 2,   /* pop this layer */
	W_QUIT = 1 << 3,    /* leave the program */
} WidgetResult;

typedef struct Widget Widget;

/* One key as the loop saw it: the action the active keymap context bound to
 * it (ACTION_NONE if unbound) and the raw key, so text inputs can take
 * printable characters the keymap does not bind. */
typedef struct {
	Action action;
	int key;         /* wint_t from wget_wch, or KEY_* */
	bool is_keycode; /* true for KEY_* values */
} KeyEvent;

typedef struct {
	const char *name;
	/* Draws into w->win (which the owner created and sized). */
	void (*draw)(Widget *w);
	WidgetResult (*key)(Widget *w, const KeyEvent *ev);
	/* Called after the owner moved/resized w->win. May be NULL. */
	void (*resize)(Widget *w);
	/* Frees what the widget owns (not the WINDOW, which the owner manages). */
	void (*destroy)(Widget *w);
	/* Keymap context for this widget ("table", "form", ...); NULL = global. */
	const char *keymap_context;
} WidgetClass;

struct Widget {
	const WidgetClass *klass;
	WINDOW *win;
	bool dirty;
};

static inline void widget_draw(Widget *w) { if (w && w->klass->draw) w->klass->draw(w); }
static inline WidgetResult widget_key(Widget *w, const KeyEvent *ev)
{
	return w && w->klass->key ? w->klass->key(w, ev) : W_IGNORED;
}
static inline void widget_mark_dirty(Widget *w) { if (w) w->dirty = true; }

#endif

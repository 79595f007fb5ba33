/* theme — colours are roles, never raw colour numbers in a widget.
 *
 * One enum-indexed table maps each role to an attribute for the terminal's
 * capability: 256 colours, 8 colours, or monochrome (NO_COLOR / --no-color,
 * or a terminal without colour), where roles fall back to bold/underline/
 * reverse. State is never shown by colour alone: callers always draw a glyph
 * and a word too. */
#ifndef QD_WIDGETS_THEME_H
#define QD_WIDGETS_THEME_H

#include <curses.h>
#include <stdbool.h>

#define THEME_ROLES(X)          \
	X(DEFAULT)              \
	X(HEADER)               \
	X(HEADER_SORTED)        \
	X(SELECTED)             \
	X(SELECTED_UNFOCUSED)   \
	X(DIM)                  \
	X(STATUS_BAR)           \
	X(STATUS_WARN)          \
	X(STATUS_ERROR)         \
	X(TAB_ACTIVE)           \
	X(TAB_INACTIVE)         \
	X(STATE_OK)             \
	X(STATE_PROGRESS)       \
	X(STATE_FAILED)         \
	X(STATE_GONE)           \
	X(MODAL_BORDER)         \
	X(MODAL_DANGER)         \
	X(BUTTON)               \
	X(BUTTON_FOCUSED)       \
	X(INPUT)                \
	X(TOAST)                \
	X(KEY_HINT)             \
	X(FILTER_MATCH)

typedef enum {
#define X(r) ROLE_##r,
	THEME_ROLES(X)
#undef X
	ROLE_COUNT
} ThemeRole;

typedef enum { THEME_MONO, THEME_8, THEME_256 } ThemeDepth;

/* Call after initscr(). force_mono: --no-color given (a non-empty NO_COLOR
 * in the environment is honoured here too). */
void theme_init(bool force_mono);
ThemeDepth theme_depth(void);
attr_t theme_attr(ThemeRole role);
/* True when the terminal locale is not UTF-8: use ASCII glyphs. */
bool theme_ascii(void);
void theme_set_ascii(bool ascii);

#endif

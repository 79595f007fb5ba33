/* theme — the role → attribute table for 256 colours, 8 colours and mono. */
#include "widgets/theme.h"

#include <langinfo.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* One row per role: a 256-colour pair, an 8-colour pair, and the attributes
 * each depth adds. -1 = the terminal's default colour. Mono gets only
 * attributes, chosen so every role stays distinguishable without colour. */
typedef struct {
	short fg256, bg256;
	attr_t a256;
	short fg8, bg8;
	attr_t a8;
	attr_t mono;
} RoleSpec;

/* Row colours that repeat on every line (states) use the 16-colour range
 * even at 256 colours: xterm selects those with 5-byte sequences instead of
 * 11, which is a sixth of what a page-down writes. */
static const RoleSpec specs[ROLE_COUNT] = {
	[ROLE_DEFAULT] = {-1, -1, A_NORMAL, -1, -1, A_NORMAL, A_NORMAL},
	[ROLE_HEADER] = {252, 236, A_BOLD, COLOR_WHITE, COLOR_BLUE, A_BOLD, A_BOLD | A_UNDERLINE},
	[ROLE_HEADER_SORTED] = {229, 238, A_BOLD, COLOR_YELLOW, COLOR_BLUE, A_BOLD, A_BOLD | A_UNDERLINE},
	/* Reverse video rather than a colour pair: readable on any palette, and
	 * the cheapest to switch (4 bytes on, 6 off), which is most of what a
	 * selection move writes. */
	[ROLE_SELECTED] = {-1, -1, A_REVERSE, -1, -1, A_REVERSE, A_REVERSE},
	[ROLE_SELECTED_UNFOCUSED] = {252, 240, A_NORMAL, COLOR_BLACK, COLOR_WHITE, A_NORMAL, A_UNDERLINE},
	[ROLE_DIM] = {245, -1, A_NORMAL, -1, -1, A_DIM, A_DIM},
	[ROLE_STATUS_BAR] = {252, 236, A_NORMAL, COLOR_BLACK, COLOR_WHITE, A_NORMAL, A_REVERSE},
	[ROLE_STATUS_WARN] = {16, 214, A_BOLD, COLOR_BLACK, COLOR_YELLOW, A_BOLD, A_REVERSE | A_BOLD},
	[ROLE_STATUS_ERROR] = {231, 160, A_BOLD, COLOR_WHITE, COLOR_RED, A_BOLD, A_REVERSE | A_BOLD | A_UNDERLINE},
	[ROLE_TAB_ACTIVE] = {231, 25, A_BOLD, COLOR_BLACK, COLOR_CYAN, A_BOLD, A_REVERSE | A_BOLD},
	[ROLE_TAB_INACTIVE] = {250, -1, A_NORMAL, -1, -1, A_NORMAL, A_NORMAL},
	[ROLE_STATE_OK] = {10, -1, A_NORMAL, COLOR_GREEN, -1, A_NORMAL, A_NORMAL},
	[ROLE_STATE_PROGRESS] = {14, -1, A_NORMAL, COLOR_CYAN, -1, A_NORMAL, A_NORMAL},
	[ROLE_STATE_FAILED] = {9, -1, A_BOLD, COLOR_RED, -1, A_BOLD, A_BOLD},
	[ROLE_STATE_GONE] = {8, -1, A_NORMAL, -1, -1, A_DIM, A_DIM},
	[ROLE_MODAL_BORDER] = {75, -1, A_NORMAL, COLOR_CYAN, -1, A_NORMAL, A_NORMAL},
	[ROLE_MODAL_DANGER] = {203, -1, A_BOLD, COLOR_RED, -1, A_BOLD, A_BOLD},
	[ROLE_BUTTON] = {252, 238, A_NORMAL, -1, -1, A_NORMAL, A_NORMAL},
	[ROLE_BUTTON_FOCUSED] = {231, 25, A_BOLD, COLOR_BLACK, COLOR_CYAN, A_BOLD, A_REVERSE | A_BOLD},
	[ROLE_INPUT] = {231, 237, A_NORMAL, -1, -1, A_UNDERLINE, A_UNDERLINE},
	[ROLE_TOAST] = {231, 238, A_NORMAL, COLOR_WHITE, COLOR_BLUE, A_NORMAL, A_REVERSE},
	[ROLE_KEY_HINT] = {223, -1, A_BOLD, COLOR_YELLOW, -1, A_BOLD, A_BOLD},
	[ROLE_FILTER_MATCH] = {16, 222, A_NORMAL, COLOR_BLACK, COLOR_YELLOW, A_NORMAL, A_BOLD | A_UNDERLINE},
};

static attr_t attrs[ROLE_COUNT];
static ThemeDepth depth = THEME_MONO;
static int ascii = -1; /* -1 = not decided yet: ask the locale */

void theme_init(bool force_mono)
{
	depth = THEME_MONO;
	/* no-color.org: present and not empty means no colour, whoever calls us */
	const char *nc = getenv("NO_COLOR");
	if (nc && *nc)
		force_mono = true;
	if (!force_mono && has_colors() && start_color() == OK) {
		use_default_colors();
		depth = COLORS >= 256 && COLOR_PAIRS >= ROLE_COUNT + 1 ? THEME_256
		        : COLOR_PAIRS >= ROLE_COUNT + 1                ? THEME_8
		                                                       : THEME_MONO;
	}
	for (int r = 0; r < ROLE_COUNT; r++) {
		const RoleSpec *s = &specs[r];
		if (depth == THEME_MONO) {
			attrs[r] = s->mono;
			continue;
		}
		short fg = depth == THEME_256 ? s->fg256 : s->fg8;
		short bg = depth == THEME_256 ? s->bg256 : s->bg8;
		attr_t a = depth == THEME_256 ? s->a256 : s->a8;
		if (fg == -1 && bg == -1) {
			attrs[r] = a;
			continue;
		}
		init_pair((short)(r + 1), fg, bg);
		attrs[r] = a | COLOR_PAIR(r + 1);
	}
}

ThemeDepth theme_depth(void)
{
	return depth;
}

attr_t theme_attr(ThemeRole role)
{
	return (unsigned)role < ROLE_COUNT ? attrs[role] : A_NORMAL;
}

bool theme_ascii(void)
{
	if (ascii < 0) {
		const char *cs = nl_langinfo(CODESET);
		ascii = !(cs && (strcasecmp(cs, "UTF-8") == 0 || strcasecmp(cs, "utf8") == 0));
	}
	return ascii;
}

void theme_set_ascii(bool on)
{
	ascii = on;
}

/* curses_fixture — group setup/teardown for unit tests that draw with curses.
 *
 * A 24x80 xterm-256color screen that writes to /dev/null and reads from it, so
 * widgets can draw and tests read the cells back with mvwinnstr and friends;
 * the locale is C.UTF-8 (wide glyphs) and the theme is initialised with the
 * Unicode glyph set. Pass these to cmocka_run_group_tests. */
#ifndef QD_TESTS_UNIT_CURSES_FIXTURE_H
#define QD_TESTS_UNIT_CURSES_FIXTURE_H

/* Screen and theme only. */
int curses_fixture_up(void **state);
/* Screen and theme, plus keymap_load_defaults() for widgets that look keys up. */
int curses_fixture_up_keymap(void **state);
/* Ends curses and frees the screen. */
int curses_fixture_down(void **state);

#endif

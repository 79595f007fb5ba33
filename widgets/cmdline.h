/* cmdline — a one-line text editor: the ":" command line, the "/" filter
 * input, and the text fields of forms and dialogs.
 *
 * Edits: printable characters insert at the cursor; Backspace, Delete,
 * Left/Right, Home/End (and Ctrl-A/Ctrl-E), Ctrl-U (kill to start), Ctrl-W
 * (kill word), Up/Down walk the history. Enter submits; Esc, Ctrl-G and
 * Backspace on an empty line cancel (as vim's ":" line does); either sets
 * the outcome and returns W_CLOSE, and the owner reads cmdline_text().
 * An on-change callback runs after every edit (the live filter).
 *
 * Raw keys are interpreted here rather than through the keymap, because
 * while editing every printable key is text. The struct begins with a
 * Widget; its draw puts the cursor at the edit point, so refreshing the
 * cmdline window last (with curs_set(1)) shows the terminal cursor there. */
#ifndef QD_WIDGETS_CMDLINE_H
#define QD_WIDGETS_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>

#include "widgets/theme.h"
#include "widgets/widget.h"

typedef enum { CMDLINE_EDITING, CMDLINE_SUBMITTED, CMDLINE_CANCELLED } CmdlineOutcome;

typedef struct Cmdline Cmdline;
typedef void (*CmdlineChangeFn)(void *ud, const char *text);

/* `prompt` (":", "/", or NULL) is copied. max_chars 0 = 1024. */
Cmdline *cmdline_new(WINDOW *win, const char *prompt, size_t max_chars);
void cmdline_free(Cmdline **c);
Widget *cmdline_widget(Cmdline *c);
void cmdline_set_window(Cmdline *c, WINDOW *win);

/* Starts a new edit: text = initial (NULL = ""), outcome = EDITING,
 * history position reset. */
void cmdline_open(Cmdline *c, const char *prompt, const char *initial);
void cmdline_set_on_change(Cmdline *c, CmdlineChangeFn fn, void *ud);
/* Handles one key; the same as widget_key(cmdline_widget(c), ev). */
WidgetResult cmdline_key(Cmdline *c, const KeyEvent *ev);
CmdlineOutcome cmdline_outcome(const Cmdline *c);
/* The text as UTF-8 (valid until the next edit). */
const char *cmdline_text(const Cmdline *c);
/* Replaces the text, cursor at the end; does not call on-change. */
void cmdline_set_text(Cmdline *c, const char *text);
/* Characters in the text / cursor position in characters. */
size_t cmdline_length(const Cmdline *c);
size_t cmdline_cursor(const Cmdline *c);

/* History: submitted non-empty texts are added automatically (no repeats). */
void cmdline_history_add(Cmdline *c, const char *text);

/* Draws prompt + text into `cols` columns of `win` at y,x in `role`, scrolled
 * so the cursor is visible; leaves the window cursor at the edit point when
 * show_cursor. Returns the cursor column. Used by forms and dialogs. */
int cmdline_draw_at(Cmdline *c, WINDOW *win, int y, int x, int cols, ThemeRole role, bool show_cursor);

#endif

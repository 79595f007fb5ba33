/* form — a vertical list of labelled fields (text input, select list,
 * checkbox) followed by Submit / Cancel buttons, for wizards such as
 * "launch an allocation".
 *
 * Keys: next-field/prev-field (Tab/Shift-Tab) and Up/Down move the focus;
 * in a text field printable keys edit (see cmdline.h); in a select,
 * Left/Right (or h/l, Space) change the option; Space toggles a checkbox;
 * Enter on Cancel cancels, anywhere else submits; Esc cancels. Submitting
 * checks required text fields first and focuses the first empty one with
 * an error shown under it. The outcome is a result field plus an optional
 * callback, like modal.h; the key handler returns W_CLOSE when decided.
 *
 * When the fields do not fit the window they scroll: the focused field, with
 * the error under it, is always on screen (after focus moves either way, an
 * error appearing, or a resize), and "more above" / "more below" lines say
 * how many fields are out of view in words and arrows, not by colour. The
 * title, note and buttons stay put.
 *
 * The owner gives the WINDOW (the form draws a frame and lays out inside).
 * The struct begins with a Widget. */
#ifndef QD_WIDGETS_FORM_H
#define QD_WIDGETS_FORM_H

#include <stdbool.h>
#include <stddef.h>

#include "widgets/widget.h"

typedef enum { FORM_PENDING, FORM_SUBMITTED, FORM_CANCELLED } FormOutcome;

typedef struct Form Form;
typedef void (*FormDoneFn)(void *ud, Form *f, FormOutcome outcome);

/* title copied; NULL = no frame title. */
Form *form_new(WINDOW *win, const char *title);
void form_free(Form **f);
Widget *form_widget(Form *f);
void form_set_window(Form *f, WINDOW *win);

/* Each returns the new field's index. Strings are copied. */
int form_add_text(Form *f, const char *label, const char *initial, size_t max_chars, bool required);
int form_add_select(Form *f, const char *label, const char *const *options, int n, int selected);
int form_add_checkbox(Form *f, const char *label, bool checked);
/* A masked input (a token, a password): up to max_bytes bytes typed or
 * pasted at the end, Backspace and Ctrl-U edit. It is drawn only as
 * form_secret_mask() of its length, never as its characters. form_text()
 * gives the bytes to the owner; form_set_text() replaces them; both the
 * replaced text and, at form_free, the buffer are wiped (explicit_bzero). */
int form_add_secret(Form *f, const char *label, size_t max_bytes, bool required);
/* What a secret field of nchars characters shows in `cols` columns: one
 * bullet ('*' when ascii) per character when they fit, else
 * "(hidden, N chars)"; "" when empty. */
void form_secret_mask(size_t nchars, int cols, bool ascii, char *buf, size_t sz);
/* Button labels (defaults "Submit" / "Cancel"). */
void form_set_buttons(Form *f, const char *submit_label, const char *cancel_label);
/* Help under the title (e.g. "Tab next field · Enter launch"); '\n' starts
 * another line, as many as leave room for a field. */
void form_set_note(Form *f, const char *note);

int form_field_count(const Form *f);
const char *form_text(const Form *f, int field);       /* "" for non-text; a secret's bytes */
int form_selected(const Form *f, int field);           /* -1 for non-select */
const char *form_selected_label(const Form *f, int field);
bool form_checked(const Form *f, int field);
void form_set_text(Form *f, int field, const char *text);
void form_set_selected(Form *f, int field, int option);
/* Replaces a select's options (e.g. after the SKU list loaded). */
void form_set_options(Form *f, int field, const char *const *options, int n, int selected);
/* Shows an error under a field (NULL clears) and focuses it, e.g. after
 * the server rejected the value. */
void form_set_error(Form *f, int field, const char *msg);

/* Field index with focus; form_field_count() = Submit, +1 = Cancel. */
int form_focus(const Form *f);
void form_set_focus(Form *f, int index);
FormOutcome form_outcome(const Form *f);
/* The first row of the fields shown (0 unless they do not fit the window)
 * and whether field i (label, value and any error) is wholly on screen. */
int form_scroll(const Form *f);
bool form_field_visible(const Form *f, int field);
/* Back to PENDING (e.g. the server rejected the submit: keep editing). */
void form_reopen(Form *f);
void form_set_callback(Form *f, FormDoneFn fn, void *ud);

#endif

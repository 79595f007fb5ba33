/* modal — a centered dialog: title, wrapped body text, an optional one-line
 * text input (e.g. a required reason), and one or two buttons.
 *
 * No nested loop: the modal is a layer on the owner's stack. Keys: Tab /
 * Shift-Tab / Left / Right move the focus between input and buttons, Enter
 * presses the focused button (or submits from the input), Esc cancels. When
 * the user decides, the outcome is set, the callback (if any) runs once, and
 * the key handler returns W_CLOSE; the owner may also poll modal_outcome().
 *
 * A destructive confirm (spec.danger) is drawn in ROLE_MODAL_DANGER and
 * focuses Cancel first, so a stray Enter never destroys anything. A required
 * input keeps the accept button refusing (with a visible note) until text is
 * entered.
 *
 * The modal owns its WINDOW, sized from the text and centered on LINES x
 * COLS; the resize callback re-centers it. The owner draws the layer below
 * first, then the modal, and wnoutrefreshes modal_widget(m)->win. */
#ifndef QD_WIDGETS_MODAL_H
#define QD_WIDGETS_MODAL_H

#include <stdbool.h>
#include <stddef.h>

#include "widgets/widget.h"

typedef enum { MODAL_PENDING, MODAL_ACCEPTED, MODAL_CANCELLED } ModalOutcome;

typedef struct Modal Modal;
typedef void (*ModalDoneFn)(void *ud, Modal *m, ModalOutcome outcome);

typedef struct {
	const char *title;        /* "Release allocation" */
	const char *body;         /* may contain '\n'; wrapped; untrusted ok */
	const char *accept_label; /* "Release"; NULL = "OK" */
	const char *cancel_label; /* "Cancel"; NULL = no cancel button (info box) */
	bool danger;              /* destructive: danger colours, Cancel focused */
	const char *input_label;  /* NULL = no input; e.g. "Reason" */
	const char *input_initial;
	bool input_required;      /* accept refuses while the input is blank */
	size_t input_max;         /* characters; 0 = 256 */
} ModalSpec;

/* Strings in spec are copied. */
Modal *modal_new(const ModalSpec *spec);
/* Confirm dialog shorthand: Cancel is the default focus when danger. */
Modal *modal_confirm_new(const char *title, const char *body, const char *accept_label, bool danger);
void modal_free(Modal **m);
Widget *modal_widget(Modal *m);

void modal_set_callback(Modal *m, ModalDoneFn fn, void *ud);
/* Opaque pointer for the owner (e.g. the allocation id being confirmed). */
void modal_set_userdata(Modal *m, void *data);
void *modal_userdata(const Modal *m);
ModalOutcome modal_outcome(const Modal *m);
/* The input's text ("" when none). */
const char *modal_input(const Modal *m);
/* 0 = input, 1 = accept, 2 = cancel: which element has the focus. */
int modal_focus(const Modal *m);

#endif

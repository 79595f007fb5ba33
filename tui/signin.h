/* signin — the re-authenticate prompt for a platform that refused the token
 * (401): a dialog layer naming the server and its reason, a masked token
 * field, "Save to the token file" and Sign in / Cancel.
 *
 * Sign in checks the pasted token (tokenfile_check), hands it to
 * session_sign_in and wipes the dialog's copies; the session's answer comes
 * back through signin_on_session: refused → said inline, the dialog stays;
 * accepted → the dialog closes, the screens carry on where they were and, if
 * asked, the token is written to the token file (tokenfile_write), failures
 * going to the status line. The local control plane signs itself in, so the
 * dialog is for a remote API only. One console per process: the open dialog
 * is module state. */
#ifndef QD_TUI_SIGNIN_H
#define QD_TUI_SIGNIN_H

#include <stdbool.h>

#include "net/session.h"
#include "tui/app.h"

/* The app's session listener passes every state change on: opens the dialog
 * when the session becomes signed out, and settles a sign-in in progress. */
void signin_on_session(App *app, SessionState state, const char *message);
/* Opens the dialog (the refresh key on the signed-out screen) when the
 * session is signed out from a remote API; false (nothing done) otherwise. */
bool signin_open(App *app);
/* Whether the signed-out state can be fixed from the console (remote API). */
bool signin_possible(App *app);

#endif

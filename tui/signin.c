/* signin — the sign-in dialog (signin.h): a layer wrapping one widgets/form
 * in a window centered over the signed-out screen.
 *
 * The pasted token lives in the form's secret field only until Sign in: it
 * is trimmed into a local buffer, the field is wiped, the buffer goes to
 * session_sign_in (which keeps its own copy) and is wiped in turn. Saving to
 * the token file after the server accepted it uses the session's copy, so no
 * other copy is kept while the answer is awaited. */
#include "tui/signin.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "net/tokenfile.h"
#include "tui/views_common.h"
#include "widgets/draw.h"
#include "widgets/form.h"

typedef struct SignIn {
	Widget base;        /* base.win: the dialog's window, shared with the form */
	App *app;
	Form *form;
	int f_token, f_save;
	bool pending;       /* a token went to the session; its answer is awaited */
	bool save;          /* "Save to the token file" as it was at Sign in */
	bool closing;       /* signed in while not on top: closes at its next key */
	char status[300];   /* last line of the note: what is happening */
} SignIn;

/* The one open dialog (NULL: none); the console has one App. */
static SignIn *open_dialog;
/* The session state last seen: the dialog opens on the change into
 * UNAUTHORIZED, not again on each report while it lasts (Cancel sticks). */
static SessionState last_state = SESSION_CONNECTING;

bool signin_possible(App *app)
{
	Session *s = app_session(app);
	const SessionTarget *t = session_target(s);
	return session_state(s) == SESSION_UNAUTHORIZED && t && !t->local && t->api_url;
}

/* --- the note: which server, why, what to do -------------------------------------- */

/* Appends `text` to buf word-wrapped at `width` bytes per line (the texts are
 * sanitized and mostly ASCII; a line cut short is harmless). */
static void wrap_into(char *buf, size_t sz, const char *text, int width)
{
	size_t len = strlen(buf);
	int col = 0;
	if (len > 0 && len + 1 < sz)
		buf[len++] = '\n', buf[len] = '\0';
	const char *p = text;
	while (*p && len + 1 < sz) {
		while (*p == ' ')
			p++;
		size_t w = strcspn(p, " ");
		if (w == 0)
			break;
		if (col > 0 && col + 1 + (int)w > width) {
			buf[len++] = '\n';
			col = 0;
		} else if (col > 0) {
			buf[len++] = ' ';
			col++;
		}
		size_t n = QD_MIN(w, sz - 1 - len);
		memcpy(buf + len, p, n);
		len += n;
		col += (int)n;
		p += w;
		buf[len] = '\0';
	}
	buf[len] = '\0';
}

static int dialog_width(void)
{
	int w = COLS - 4 < 78 ? COLS - 4 : 78;
	return w < 30 ? COLS : w;
}

/* Rebuilds the note for the current width; returns its line count. */
static int update_note(SignIn *si)
{
	Session *s = app_session(si->app);
	const SessionTarget *t = session_target(s);
	bool ascii = app_ascii(si->app);
	const char *sep = ascii ? "|" : "·";
	int width = dialog_width() - 4;
	char url[300], note[2048] = "", line[600];
	views_clean(t->api_url ? t->api_url : "the local control plane", 0, ascii, url, sizeof url);
	snprintf(line, sizeof line, "The server at %s refused the token:", url);
	wrap_into(note, sizeof note, line, width);
	/* The session's message is sanitized already. */
	const char *why = session_message(s);
	wrap_into(note, sizeof note,
	          session_state(s) == SESSION_UNAUTHORIZED && why && *why ? why : "signed out (401)", width);
	snprintf(line, sizeof line, "Paste a new token (it is never shown). Tab next %s Space ticks %s "
	         "Enter signs in %s Esc cancels", sep, sep, sep);
	wrap_into(note, sizeof note, line, width);
	const char *env = getenv("QDECK_TOKEN");
	if (env && *env)
		wrap_into(note, sizeof note,
		          "QDECK_TOKEN is set: it takes precedence at the next start, so a token saved to the "
		          "file is used only once QDECK_TOKEN is unset.",
		          width);
	if (si->status[0])
		wrap_into(note, sizeof note, si->status, width);
	form_set_note(si->form, note);
	int lines = 1;
	for (const char *p = note; *p; p++)
		lines += *p == '\n';
	return lines;
}

static void place(SignIn *si)
{
	int lines = update_note(si);
	/* frame, note, spacer, token + its error line, checkbox, spacer, buttons,
	 * frame: the form's layout (form.c) with room for one error */
	int h = lines + 8;
	int avail = app_content_rows(si->app);
	if (h > avail)
		h = avail; /* the form scrolls its fields */
	int w = dialog_width();
	WINDOW *win = si->base.win;
	if (win) {
		wresize(win, h, w);
		mvwin(win, QD_MAX(0, (avail - h) / 2), QD_MAX(0, (COLS - w) / 2));
	} else {
		win = newwin(h, w, QD_MAX(0, (avail - h) / 2), QD_MAX(0, (COLS - w) / 2));
	}
	si->base.win = win;
	form_set_window(si->form, win);
	si->base.dirty = true;
}

static void set_status(SignIn *si, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_status(SignIn *si, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(si->status, sizeof si->status, fmt, ap);
	va_end(ap);
	place(si);
	app_invalidate(si->app);
}

/* --- sign in ------------------------------------------------------------------------ */

static void submit(SignIn *si)
{
	if (si->pending) {
		set_status(si, "Still waiting for the server's answer%s", app_ascii(si->app) ? "..." : "…");
		return;
	}
	/* The field's bytes, trimmed, into our buffer; the field is wiped at once. */
	char tok[TOKENFILE_MAX + 64];
	/* the field holds at most TOKENFILE_MAX + 32 bytes: it fits */
	snprintf(tok, sizeof tok, "%s", form_text(si->form, si->f_token));
	char *t = tokenfile_trim(tok);
	const char *why = tokenfile_check(t);
	if (why) {
		explicit_bzero(tok, sizeof tok);
		form_set_error(si->form, si->f_token, why);
		return;
	}
	form_set_text(si->form, si->f_token, "");
	form_set_error(si->form, si->f_token, NULL);
	si->save = form_checked(si->form, si->f_save);
	si->pending = true;
	snprintf(si->status, sizeof si->status, "Signing in%s", app_ascii(si->app) ? "..." : "…");
	place(si);
	session_sign_in(app_session(si->app), t);
	explicit_bzero(tok, sizeof tok);
	app_invalidate(si->app);
}

/* The server took the token: save it if asked, report, close. */
static void signed_in(SignIn *si)
{
	App *app = si->app;
	bool save = si->save;
	si->pending = false;
	si->closing = true;
	app_pop(app, si); /* frees si unless something is above it */
	if (!save) {
		app_message(app, false, "signed in; the token file was left as it was");
		return;
	}
	char dir[PATH_MAX], err[PATH_MAX + 200];
	const SessionTarget *t = session_target(app_session(app));
	const char *env = getenv("QDECK_TOKEN");
	const char *later = env && *env ? " (QDECK_TOKEN still takes precedence at the next start)" : "";
	if (tokenfile_config_dir(dir, sizeof dir) < 0) {
		app_message(app, true, "signed in, but the token was not saved: neither XDG_CONFIG_HOME nor HOME is set");
	} else if (!t->token || tokenfile_write(dir, t->token, err, sizeof err) < 0) {
		app_message(app, true, "signed in, but the token was not saved: %s", t->token ? err : "no token");
	} else {
		app_message(app, false, "signed in; token saved to %s/token (mode 0600)%s", dir, later);
	}
}

void signin_on_session(App *app, SessionState state, const char *message)
{
	(void)message;
	SessionState before = last_state;
	last_state = state;
	SignIn *si = open_dialog;
	if (!si) {
		if (state == SESSION_UNAUTHORIZED && before != SESSION_UNAUTHORIZED && signin_possible(app))
			signin_open(app);
		return;
	}
	if (!si->pending) {
		place(si); /* a newer reason */
		app_invalidate(app);
		return;
	}
	switch (state) {
	case SESSION_CONNECTING:
	case SESSION_RECONNECTING:
	case SESSION_RATE_LIMITED:
		/* Still on the way (the session retries by itself): say where it is. */
		set_status(si, "Signing in: %s", message && *message ? message : "waiting for the server");
		return;
	case SESSION_LOADING:
	case SESSION_LIVE:
		signed_in(si);
		return;
	case SESSION_UNAUTHORIZED:
		si->pending = false;
		si->status[0] = '\0';
		place(si);
		form_set_error(si->form, si->f_token, "refused by the server too (401)");
		app_invalidate(app);
		return;
	case SESSION_FORBIDDEN:
	case SESSION_ERROR:
		si->pending = false;
		set_status(si, "The sign-in failed: %s", message && *message ? message : "the server answered with an error");
		form_set_focus(si->form, si->f_token);
		return;
	}
}

/* --- the layer --------------------------------------------------------------------- */

static void si_draw(Widget *w)
{
	SignIn *si = (SignIn *)w;
	widget_draw(form_widget(si->form));
	w->dirty = false;
}

static WidgetResult si_key(Widget *w, const KeyEvent *ev)
{
	SignIn *si = (SignIn *)w;
	if (si->closing)
		return W_HANDLED | W_CLOSE;
	WidgetResult r = widget_key(form_widget(si->form), ev);
	FormOutcome o = form_outcome(si->form);
	if (!(r & W_CLOSE) || o == FORM_PENDING)
		return W_HANDLED | W_REDRAW;
	form_reopen(si->form);
	if (o == FORM_CANCELLED) {
		/* A sign-in already sent still settles the session; the dialog just
		 * stops waiting for it. */
		app_message(si->app, false, "sign-in cancelled: still signed out (F5 opens the sign-in again)");
		return W_HANDLED | W_CLOSE;
	}
	submit(si);
	return W_HANDLED | W_REDRAW;
}

static void si_resize(Widget *w) { place((SignIn *)w); }

static void si_destroy(Widget *w)
{
	SignIn *si = (SignIn *)w;
	form_free(&si->form); /* wipes the secret field */
	if (si->base.win)
		delwin(si->base.win);
	si->base.win = NULL;
	if (open_dialog == si)
		open_dialog = NULL;
}

static const WidgetClass signin_class = {
	.name = "signin", .draw = si_draw, .key = si_key, .resize = si_resize,
	.destroy = si_destroy, .keymap_context = "form",
};

static void si_free(void *obj)
{
	SignIn *si = obj;
	si_destroy(&si->base);
	free(si);
}

static void si_describe(void *obj, char *mode, size_t msz, char *hints, size_t hsz)
{
	SignIn *si = obj;
	static const ViewHint h[] = {
		{ACTION_NEXT_FIELD, "next field"}, {ACTION_SUBMIT, "sign in"}, {ACTION_CANCEL, "cancel"},
	};
	snprintf(mode, msz, "Sign in");
	views_hints(si->app, "form", h, QD_ARRAY_LEN(h), hints, hsz);
}

static bool si_cursor(void *obj, int *y, int *x)
{
	SignIn *si = obj;
	if (form_focus(si->form) != si->f_token || !si->base.win)
		return false;
	getyx(si->base.win, *y, *x);
	return true;
}

bool signin_open(App *app)
{
	if (open_dialog || !signin_possible(app))
		return open_dialog != NULL;
	SignIn *si = xcalloc(1, sizeof *si);
	si->base.klass = &signin_class;
	si->app = app;
	si->form = form_new(NULL, "Sign in");
	si->f_token = form_add_secret(si->form, "Token", TOKENFILE_MAX + 32, false);
	si->f_save = form_add_checkbox(si->form, "Save to the token file", true);
	form_set_buttons(si->form, "Sign in", "Cancel");
	place(si);
	open_dialog = si;
	AppLayer layer = { .w = &si->base, .obj = si, .free_obj = si_free, .describe = si_describe,
	                   .cursor = si_cursor, .full = false };
	app_push(app, &layer);
	return true;
}

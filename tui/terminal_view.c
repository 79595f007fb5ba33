/* terminal_view — shell pane on an allocation (issue 4's pane in the console).
 *
 * The view owns one TermPane (the screen, which survives a reconnect) and at
 * most one TermClient (one connection made with one token). Network callbacks
 * only feed the pane and mark the app dirty; the frame timer draws the rows
 * the pane reports damaged. */
#include "tui/terminal_view.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "keymaps/keymap.h"
#include "net/termclient.h"
#include "tui/views_common.h"
#include "widgets/draw.h"
#include "widgets/help.h"
#include "widgets/termpane.h"

static bool client_ready;   /* termclient_init done on the app's loop */

typedef struct {
	Widget base;
	App *app;
	char *id;
	char *label;
	TermPane *pane;
	TermClient *client;
	ApiRequest *mint;
	bool prefix;          /* the prefix key was pressed: next key is a command */
	bool scrolling;       /* scroll-back mode: movement keys scroll */
	char state_text[160];
	bool ended;
} TermView;

static void pane_size(int *rows, int *cols)
{
	*rows = LINES - 2 > 1 ? LINES - 2 : 1;
	*cols = COLS > 1 ? COLS : 1;
}

static void set_state_text(TermView *tv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_state_text(TermView *tv, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tv->state_text, sizeof tv->state_text, fmt, ap);
	va_end(ap);
	app_invalidate(tv->app);
}

/* --- termclient callbacks (record and mark dirty only) ---------------------- */

static void on_output(void *ud, const char *bytes, size_t len)
{
	TermView *tv = ud;
	termpane_write(tv->pane, bytes, len);
	app_invalidate(tv->app);
}

static void on_status(void *ud, const TpStatus *st)
{
	TermView *tv = ud;
	if (st->has_code)
		set_state_text(tv, "shell exited with code %d; any key returns", st->code);
	else
		set_state_text(tv, "session ended: %s", st->message[0] ? st->message : st->reason);
	tv->ended = true;
}

static void on_state(void *ud, TermClientState state, int http_status, const char *why)
{
	TermView *tv = ud;
	switch (state) {
	case TERMCLIENT_CONNECTING:
		set_state_text(tv, "connecting%s", app_ascii(tv->app) ? "..." : "…");
		break;
	case TERMCLIENT_OPEN:
		set_state_text(tv, "connected");
		break;
	case TERMCLIENT_ENDED:
		tv->ended = true;
		if (!tv->state_text[0])
			set_state_text(tv, "session ended");
		break;
	case TERMCLIENT_LOST:
		tv->ended = true;
		set_state_text(tv, "connection lost: %s", why && *why ? why : "closed");
		break;
	}
}

static void on_reply(void *ud, const char *bytes, size_t len)
{
	TermView *tv = ud;
	if (tv->client)
		termclient_send(tv->client, bytes, len);
}

/* --- token ------------------------------------------------------------------ */

static void mint_done(void *ud, const ApiResponse *r)
{
	TermView *tv = ud;
	tv->mint = NULL;
	if (r->outcome == API_CANCELLED)
		return;
	if (r->outcome != API_OK) {
		set_state_text(tv, "no terminal: %s%s%s", r->err_message, r->err_suggestion[0] ? "; " : "",
		               r->err_suggestion);
		tv->ended = true;
		return;
	}
	const char *token = json_string_value(json_object_get(r->body, "token"));
	const char *url = json_string_value(json_object_get(r->body, "url"));
	if (!token || !*token || !url || !*url) {
		set_state_text(tv, "no terminal: the server's token answer has no token or url");
		tv->ended = true;
		return;
	}
	int rows, cols;
	pane_size(&rows, &cols);
	const SessionTarget *t = session_target(app_session(tv->app));
	TermClientConfig cfg = { .url = url, .token = token, .unix_socket = t ? t->unix_socket : NULL,
	                         .rows = rows, .cols = cols };
	TermClientCallbacks cb = { .output = on_output, .status = on_status, .state = on_state };
	char err[256];
	tv->client = termclient_open(&cfg, &cb, tv, err, sizeof err);
	if (!tv->client) {
		set_state_text(tv, "no terminal: %s", err);
		tv->ended = true;
	}
}

/* --- widget ------------------------------------------------------------------- */

static void free_help(void *obj)
{
	Help *h = obj;
	help_free(&h);
}

static void tv_layout(TermView *tv)
{
	int rows = LINES > 2 ? LINES - 1 : 1;
	if (!tv->base.win)
		tv->base.win = newwin(rows, COLS, 0, 0);
	else {
		wresize(tv->base.win, rows, COLS);
		mvwin(tv->base.win, 0, 0);
	}
	int pr, pc;
	pane_size(&pr, &pc);
	if (tv->pane) {
		termpane_resize(tv->pane, pr, pc);
		termpane_invalidate(tv->pane);
	}
	if (tv->client)
		termclient_resize(tv->client, pr, pc);
}

static void tv_draw(Widget *w)
{
	TermView *tv = (TermView *)w;
	const char *sep = app_ascii(tv->app) ? "|" : "·";
	char title[1024];
	const char *mode = tv->scrolling ? "SCROLL (Esc ends)" : tv->prefix ? "PREFIX: q leave [ scroll ? help" : "";
	snprintf(title, sizeof title, " Terminal %s %s %s %s%s%s", sep, tv->label, sep, tv->state_text,
	         mode[0] ? "  " : "", mode);
	draw_text_pad(w->win, 0, 0, COLS, title, tv->prefix || tv->scrolling ? ROLE_STATUS_WARN : ROLE_HEADER, false);
	termpane_draw(tv->pane, w->win, 1, 0);
}

static WidgetResult tv_key(Widget *w, const KeyEvent *ev)
{
	TermView *tv = (TermView *)w;
	if (tv->scrolling) {
		int page = LINES - 3 > 1 ? LINES - 3 : 1;
		switch (ev->action) {
		case ACTION_MOVE_UP: termpane_scroll(tv->pane, 1); break;
		case ACTION_MOVE_DOWN: termpane_scroll(tv->pane, -1); break;
		case ACTION_PAGE_UP: termpane_scroll(tv->pane, page); break;
		case ACTION_PAGE_DOWN: termpane_scroll(tv->pane, -page); break;
		case ACTION_MOVE_FIRST: termpane_scroll(tv->pane, 1 << 20); break;
		default:
			termpane_scroll(tv->pane, -(1 << 20));
			tv->scrolling = false;
			break;
		}
		return W_HANDLED | W_REDRAW;
	}
	if (tv->prefix) {
		tv->prefix = false;
		Action a = keymap_lookup("terminal", ev->key, ev->is_keycode);
		switch (a) {
		case ACTION_TERM_LEAVE:
		case ACTION_TERM_DETACH:
			return W_CLOSE;
		case ACTION_TERM_SEND_PREFIX: {
			char b = 0x1d;
			if (tv->client)
				termclient_send(tv->client, &b, 1);
			return W_HANDLED | W_REDRAW;
		}
		case ACTION_TERM_SCROLL:
			tv->scrolling = true;
			return W_HANDLED | W_REDRAW;
		case ACTION_HELP: {
			Help *h = help_new("terminal", "Terminal (after the prefix key)");
			AppLayer l = { .w = help_widget(h), .obj = h, .free_obj = free_help, .full = false };
			app_push(tv->app, &l);
			return W_HANDLED | W_REDRAW;
		}
		default:
			app_message(tv->app, true, "that key does nothing after the prefix; ? lists what does");
			return W_HANDLED | W_REDRAW;
		}
	}
	if (ev->action == ACTION_TERM_PREFIX) {
		tv->prefix = true;
		return W_HANDLED | W_REDRAW;
	}
	if (tv->ended) {
		/* Nothing to type into: any key returns to the console. */
		return W_CLOSE;
	}
	char out[64];
	size_t n = termpane_key(tv->pane, ev->key, ev->is_keycode, out, sizeof out);
	if (n > 0 && tv->client)
		termclient_send(tv->client, out, n);
	return W_HANDLED;
}

static void tv_resize(Widget *w) { tv_layout((TermView *)w); }

static void tv_destroy(Widget *w)
{
	TermView *tv = (TermView *)w;
	if (tv->mint)
		api_cancel(tv->mint);
	termclient_close(&tv->client);
	termpane_free(&tv->pane);
	if (tv->base.win)
		delwin(tv->base.win);
	free(tv->id);
	free(tv->label);
}

/* Keys resolve in "global" so only the prefix is special; the pane takes the rest. */
static const WidgetClass tv_class = {
	.name = "terminal", .draw = tv_draw, .key = tv_key, .resize = tv_resize,
	.destroy = tv_destroy, .keymap_context = NULL,
};

static void tv_free(void *obj)
{
	TermView *tv = obj;
	tv_destroy(&tv->base);
	free(tv);
}

static void tv_describe(void *obj, char *mode, size_t msz, char *hints, size_t hsz)
{
	TermView *tv = obj;
	char prefix[32];
	keymap_keys_for("global", ACTION_TERM_PREFIX, prefix, sizeof prefix);
	snprintf(mode, msz, "Terminal");
	snprintf(hints, hsz, "keys go to the shell %s %s then q: back to the console", app_ascii(tv->app) ? "|" : "·",
	         prefix[0] ? prefix : "<C-]>");
}

static bool tv_cursor(void *obj, int *y, int *x)
{
	TermView *tv = obj;
	int r, c;
	if (tv->scrolling || !termpane_cursor(tv->pane, &r, &c))
		return false;
	*y = r + 1;
	*x = c;
	return true;
}

void terminal_view_open(App *app, const char *alloc_id)
{
	const Allocation *a = alloc_id ? store_allocation(app_store(app), alloc_id) : NULL;
	if (!a) {
		app_message(app, true, "select an allocation first");
		return;
	}
	if (!alloc_action_allowed(ALLOC_ACTION_TERMINAL, a->state)) {
		app_message(app, true, "no terminal: the allocation is %s (a shell needs it active)",
		            alloc_state_name(a->state));
		return;
	}
	if (!client_ready) {
		char err[256];
		if (termclient_init(app_loop(app), err, sizeof err) < 0) {
			app_message(app, true, "no terminal: %s", err);
			return;
		}
		client_ready = true;
	}
	TermView *tv = xcalloc(1, sizeof *tv);
	tv->base.klass = &tv_class;
	tv->app = app;
	tv->id = xstrdup(a->id);
	char name[96], id[64];
	views_clean(a->name, 40, app_ascii(app), name, sizeof name);
	views_clean(a->id, 40, app_ascii(app), id, sizeof id);
	tv->label = xasprintf("%s (%s)", name, id);
	int rows, cols;
	pane_size(&rows, &cols);
	tv->pane = termpane_new(rows, cols);
	termpane_set_reply(tv->pane, on_reply, tv);
	tv_layout(tv);
	snprintf(tv->state_text, sizeof tv->state_text, "asking for a terminal token%s", app_ascii(app) ? "..." : "…");
	char *e = api_escape(tv->id);
	char *path = xasprintf("/api/v1/allocations/%s/terminal-token", e);
	tv->mint = api_request(app_api(app), "POST", path, NULL, mint_done, tv);
	free(path);
	free(e);
	AppLayer l = { .w = &tv->base, .obj = tv, .free_obj = tv_free, .describe = tv_describe,
	               .cursor = tv_cursor, .full = true };
	app_push(app, &l);
}

void terminal_view_shutdown(void)
{
	if (client_ready)
		termclient_shutdown();
}

void terminal_view_reap(void)
{
	if (client_ready)
		termclient_reap();
	client_ready = false;
}

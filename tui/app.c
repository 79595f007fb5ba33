/* app — the console's loop, layer stack, status line and command line.
 *
 * Everything runs on one libuv loop: stdin (uv_poll; keys drained with
 * wget_wch until ERR because ncurses buffers what it read), SIGWINCH and the
 * quit signals (uv_signal), the session's HTTP and WebSocket I/O, and a
 * one-shot frame timer. Callbacks only mark the app dirty; the frame timer
 * draws at most once per 16 ms, layers bottom to top with wnoutrefresh, then
 * one doupdate(). Idle means no timer armed and nothing written. */
#include "tui/app.h"

#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common/util.h"
#include "keymaps/keymap.h"
#include "net/events.h"
#include "tui/alloc_detail.h"
#include "tui/launch.h"
#include "tui/nodes.h"
#include "tui/osc52.h"
#include "tui/signin.h"
#include "tui/terminal_view.h"
#include "tui/triage.h"
#include "tui/views_common.h"
#include "tui/workbench.h"
#include "widgets/cmdline.h"
#include "widgets/draw.h"
#include "widgets/help.h"
#include "widgets/modal.h"
#include "widgets/statusline.h"
#include "widgets/theme.h"
#include "widgets/toast.h"

#define APP_MAX_LAYERS 16
#define FRAME_MS 16
#define MESSAGE_TTL_MS 6000

typedef enum { CMD_NONE, CMD_COMMAND, CMD_PROMPT } CmdMode;

struct App {
	uv_loop_t loop;
	uv_poll_t in_poll;
	uv_signal_t sig_winch, sig_term, sig_hup, sig_int;
	uv_timer_t frame_timer, tick_timer;
	bool in_poll_active;
	bool frame_armed, tick_armed;
	int64_t last_frame_ms;
	bool dirty;
	bool quit;
	bool ascii;

	SessionTarget target;
	Store *store;
	Session *session;

	AppLayer layers[APP_MAX_LAYERS];
	int nlayers;

	WINDOW *status_win;
	Statusline *status;
	Toast *toast;

	Cmdline *cmd;
	CmdMode cmd_mode;
	AppPromptChange prompt_change;
	AppPromptDone prompt_done;
	void *prompt_ud;

	struct OpCtx *ops;  /* release/restart contexts alive (dialog open or request in flight) */

	AppDock dock;       /* .obj NULL: none */
	WINDOW *dock_win;
	int dock_rows;      /* rows the dock has now (0 = hidden) */
	bool dock_full;     /* covers every screen */
	bool dock_focus;
	bool dock_dirty;    /* the dock alone needs drawing */
	bool dock_all;      /* the dock must repaint everything */
};

static App *oom_app;

static void free_layers(App *app)
{
	while (app->nlayers > 0) {
		AppLayer l = app->layers[--app->nlayers];
		if (l.free_obj)
			l.free_obj(l.obj);
	}
}

/* Quitting is done from its own uv callback: the screens (and their terminal
 * connections) are freed there, then the lws terminal context is destroyed
 * from a uv callback as libwebsockets on a foreign loop requires. */
static void quit_cb(uv_timer_t *t)
{
	App *app = t->data;
	free_layers(app);
	terminal_view_shutdown();
	app->dock.obj = NULL; /* its sessions are gone */
	uv_stop(&app->loop);
}

static void request_quit(App *app)
{
	if (app->quit)
		return;
	app->quit = true;
	if (app->frame_armed)
		uv_timer_stop(&app->frame_timer);
	app->frame_armed = false;
	uv_timer_start(&app->frame_timer, quit_cb, 0, 0);
}

/* --- small accessors ------------------------------------------------------ */

uv_loop_t *app_loop(App *app) { return &app->loop; }
Store *app_store(App *app) { return app->store; }
Session *app_session(App *app) { return app->session; }
Api *app_api(App *app) { return session_api(app->session); }
bool app_ascii(const App *app) { return app->ascii; }

int app_content_rows(const App *app)
{
	int avail = LINES > 1 ? LINES - 1 : 1;
	if (app->dock_full || app->dock_rows <= 0)
		return avail;
	return avail - app->dock_rows > 1 ? avail - app->dock_rows : 1;
}

bool app_is_admin(const App *app)
{
	const SessionProfile *p = session_profile(app->session);
	return p && p->is_admin;
}

/* --- frames ------------------------------------------------------------------ */

static void draw_frame_now(App *app);

static void frame_cb(uv_timer_t *t)
{
	App *app = t->data;
	app->frame_armed = false;
	draw_frame_now(app);
}

/* Schedules the next frame (at most one per FRAME_MS) unless one is due. */
static void arm_frame(App *app)
{
	if (app->frame_armed || app->quit)
		return;
	int64_t wait = app->last_frame_ms + FRAME_MS - qd_mono_ms();
	uv_timer_start(&app->frame_timer, frame_cb, wait > 0 ? (uint64_t)wait : 0, 0);
	app->frame_armed = true;
}

void app_invalidate(App *app)
{
	app->dirty = true;
	arm_frame(app);
}

void app_invalidate_dock(App *app)
{
	app->dock_dirty = true;
	arm_frame(app);
}

/* Message and toast expiry: armed only while one is showing, so an idle
 * console has no timer at all. */
static void tick_cb(uv_timer_t *t);

static void arm_tick(App *app, int64_t in_ms)
{
	if (app->tick_armed)
		uv_timer_stop(&app->tick_timer);
	uv_timer_start(&app->tick_timer, tick_cb, in_ms > 0 ? (uint64_t)in_ms : 0, 0);
	app->tick_armed = true;
}

static void tick_cb(uv_timer_t *t)
{
	App *app = t->data;
	app->tick_armed = false;
	int64_t now = qd_mono_ms();
	bool changed = statusline_tick(app->status, now);
	changed |= toast_tick(app->toast, now);
	if (changed)
		app_invalidate(app);
	if (statusline_message(app->status)[0] || toast_visible(app->toast))
		arm_tick(app, 500);
}

void app_message(App *app, bool error, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	statusline_set_message(app->status, error ? LEVEL_ERROR : LEVEL_INFO, buf, qd_mono_ms(),
	                       error ? MESSAGE_TTL_MS * 2 : MESSAGE_TTL_MS);
	arm_tick(app, 500);
	app_invalidate(app);
}

static void app_toast(App *app, DrawLevel level, const char *text)
{
	toast_show(app->toast, level, text, qd_mono_ms(), 5000);
	arm_tick(app, 500);
	app_invalidate(app);
}

/* --- layers ------------------------------------------------------------------- */

void app_push(App *app, const AppLayer *layer)
{
	if (app->nlayers == APP_MAX_LAYERS) {
		/* A stack this deep is a bug in a screen; refuse rather than crash. */
		if (layer->free_obj)
			layer->free_obj(layer->obj);
		app_message(app, true, "too many open views; close one with Esc");
		return;
	}
	app->layers[app->nlayers++] = *layer;
	if (layer->w->klass->resize)
		layer->w->klass->resize(layer->w);
	app_invalidate(app);
}

static void free_help(void *obj)
{
	Help *h = obj;
	help_free(&h);
}

/* The status line under the help overlay names the overlay's own keys, as
 * the keymap has them, not the screen's under it. */
static void describe_help(void *obj, char *mode, size_t msz, char *hints, size_t hsz)
{
	char down[24], up[24], pgdn[24], back[24];
	(void)obj;
	snprintf(mode, msz, "Help");
	snprintf(hints, hsz, "%s/%s scroll, %s page, %s close",
	         keymap_first_key("help", ACTION_MOVE_DOWN, down, sizeof down),
	         keymap_first_key("help", ACTION_MOVE_UP, up, sizeof up),
	         keymap_first_key("help", ACTION_PAGE_DOWN, pgdn, sizeof pgdn),
	         keymap_first_key("help", ACTION_BACK, back, sizeof back));
}

static void free_modal(void *obj)
{
	Modal *m = obj;
	modal_free(&m);
}

void app_push_modal(App *app, Modal *m)
{
	AppLayer l = { .w = modal_widget(m), .obj = m, .free_obj = free_modal, .full = false };
	app_push(app, &l);
}

static void pop_at(App *app, int i)
{
	AppLayer l = app->layers[i];
	memmove(&app->layers[i], &app->layers[i + 1], sizeof(AppLayer) * (size_t)(app->nlayers - i - 1));
	app->nlayers--;
	if (l.free_obj)
		l.free_obj(l.obj);
	/* What was under a dialog must be repainted. (Never touch stdscr: keys
	 * are read through it, and wget_wch refreshes a touched stdscr, which
	 * would blank the terminal.) */
	for (int k = 0; k < app->nlayers; k++)
		if (app->layers[k].w->win)
			touchwin(app->layers[k].w->win);
	app_invalidate(app);
}

void app_pop(App *app, void *obj)
{
	if (app->nlayers > 0 && app->layers[app->nlayers - 1].obj == obj)
		pop_at(app, app->nlayers - 1);
}

static AppLayer *top_layer(App *app)
{
	return app->nlayers ? &app->layers[app->nlayers - 1] : NULL;
}

/* The topmost full-screen layer: drawing starts there. */
static AppLayer *top_full(App *app)
{
	for (int i = app->nlayers - 1; i >= 0; i--)
		if (app->layers[i].full)
			return &app->layers[i];
	return NULL;
}

/* --- status line ----------------------------------------------------------------- */

/* How each session state reads on the status line. With `where`, the text is
 * "glyph text · where"; without, the session's own message ("glyph message"),
 * `text` standing in when there is none. */
static const struct {
	const char *ascii, *glyph, *text;
	bool where;
	ThemeRole role;
} connection_looks[] = {
	[SESSION_CONNECTING] = { "o", "◌", "connecting", true, ROLE_STATUS_WARN },
	[SESSION_LOADING] = { "~", "◐", "loading", true, ROLE_STATUS_BAR },
	[SESSION_LIVE] = { "*", "●", "live", true, ROLE_STATE_OK },
	[SESSION_RECONNECTING] = { "o", "◌", "reconnecting", false, ROLE_STATUS_WARN },
	[SESSION_UNAUTHORIZED] = { "!", "⚠", "signed out (401)", false,
	                           ROLE_STATUS_ERROR },
	[SESSION_FORBIDDEN] = { "!", "⚠", "restricted (403)", true, ROLE_STATUS_ERROR },
	[SESSION_RATE_LIMITED] = { "o", "◌", "rate limited", false, ROLE_STATUS_WARN },
	[SESSION_ERROR] = { "x", "✖", "error", false, ROLE_STATUS_ERROR },
};

static void update_connection(App *app)
{
	SessionState st = session_state(app->session);
	if ((size_t)st >= QD_ARRAY_LEN(connection_looks) || !connection_looks[st].text)
		st = SESSION_ERROR;
	const char *msg = session_message(app->session);
	const char *where = app->target.local ? "local control plane" : "remote";
	char text[320];
	bool a = app->ascii;
	const char *glyph = a ? connection_looks[st].ascii : connection_looks[st].glyph;
	if (connection_looks[st].where)
		snprintf(text, sizeof text, "%s %s %s %s", glyph, connection_looks[st].text, a ? "|" : "·", where);
	else
		snprintf(text, sizeof text, "%s %s", glyph, msg && *msg ? msg : connection_looks[st].text);
	statusline_set_connection(app->status, text, connection_looks[st].role);
}

static bool dock_shown(const App *app) { return app->dock.obj && app->dock_rows > 0 && app->dock_win; }

static void update_mode(App *app)
{
	char mode[128] = "", hints[256] = "";
	AppLayer *l = top_layer(app);
	/* A dialog has no describe hook: show the screen under it. */
	if (app->dock_focus && dock_shown(app) && app->dock.describe && l && l->full) {
		app->dock.describe(app->dock.obj, mode, sizeof mode, hints, sizeof hints);
	} else {
		for (int i = app->nlayers - 1; i >= 0; i--) {
			if (app->layers[i].describe) {
				app->layers[i].describe(app->layers[i].obj, mode, sizeof mode, hints, sizeof hints);
				break;
			}
		}
	}
	if (l && !l->describe)
		snprintf(hints, sizeof hints, "Tab next %s Enter choose %s Esc closes", app->ascii ? "|" : "·",
		         app->ascii ? "|" : "·");
	const SessionProfile *p = session_profile(app->session);
	if (p && p->user_name && p->user_name[0]) {
		char user[96];
		snprintf(user, sizeof user, " %s %s%s", app->ascii ? "|" : "·", p->user_name,
		         p->is_admin ? " (admin)" : p->is_billing ? " (billing)" : "");
		size_t n = strlen(mode);
		snprintf(mode + n, sizeof mode - n, "%s", user);
	}
	statusline_set_mode(app->status, mode);
	statusline_set_hints(app->status, hints);
}

/* --- drawing --------------------------------------------------------------------- */

/* Only the dock changed (a shell's output): draw it alone, so a flood costs
 * the pane's damaged rows and nothing else. Dialogs above it are re-copied
 * where it may have drawn over them. */
static void draw_dock_only(App *app)
{
	app->dock_dirty = false;
	if (!dock_shown(app))
		return;
	app->last_frame_ms = qd_mono_ms();
	app->dock.draw(app->dock.obj, app->dock_win, app->dock_all);
	app->dock_all = false;
	wnoutrefresh(app->dock_win);
	AppLayer *full = top_full(app);
	for (int i = full ? (int)(full - app->layers) + 1 : 0; i < app->nlayers; i++) {
		Widget *w = app->layers[i].w;
		if (w->win) {
			touchwin(w->win);
			wnoutrefresh(w->win);
		}
	}
	if (toast_visible(app->toast) && toast_widget(app->toast)->win) {
		touchwin(toast_widget(app->toast)->win);
		wnoutrefresh(toast_widget(app->toast)->win);
	}
	int cy, cx;
	if (app->cmd_mode == CMD_NONE && app->dock_focus && app->nlayers &&
	    app->layers[app->nlayers - 1].full && app->dock.cursor &&
	    app->dock.cursor(app->dock.obj, &cy, &cx)) {
		wmove(app->dock_win, cy, cx);
		wnoutrefresh(app->dock_win);
		curs_set(1);
	} else if (app->cmd_mode == CMD_NONE) {
		curs_set(0);
	}
	doupdate();
}

static void draw_frame_now(App *app)
{
	if (app->quit)
		return;
	if (!app->dirty) {
		if (app->dock_dirty)
			draw_dock_only(app);
		return;
	}
	app->dirty = false;
	app->dock_dirty = false;
	app->last_frame_ms = qd_mono_ms();

	AppLayer *full = top_full(app);
	int start = full ? (int)(full - app->layers) : 0;
	bool dock = dock_shown(app);
	for (int i = start; i < app->nlayers; i++) {
		Widget *w = app->layers[i].w;
		/* Under a full-screen dock the screens stay undrawn; dialogs show. */
		if (!(dock && app->dock_full && app->layers[i].full)) {
			widget_draw(w);
			if (w->win)
				wnoutrefresh(w->win);
		}
		w->dirty = false;
		/* The dock sits between the screen and the dialogs above it. */
		if (dock && i == start) {
			app->dock.draw(app->dock.obj, app->dock_win, app->dock_all);
			app->dock_all = false;
			touchwin(app->dock_win);
			wnoutrefresh(app->dock_win);
		}
	}
	if (toast_visible(app->toast)) {
		Widget *tw = toast_widget(app->toast);
		widget_draw(tw);
		if (tw->win)
			wnoutrefresh(tw->win);
	}
	if (app->cmd_mode != CMD_NONE) {
		Widget *cw = cmdline_widget(app->cmd);
		werase(app->status_win);
		widget_draw(cw);
		curs_set(1);
		wnoutrefresh(app->status_win);
	} else {
		update_connection(app);
		update_mode(app);
		widget_draw(statusline_widget(app->status));
		wnoutrefresh(app->status_win);
		/* The top layer may want the terminal cursor (the shell pane). */
		AppLayer *top = top_layer(app);
		int cy, cx;
		if (dock && app->dock_focus && top && top->full && app->dock.cursor &&
		    app->dock.cursor(app->dock.obj, &cy, &cx)) {
			wmove(app->dock_win, cy, cx);
			wnoutrefresh(app->dock_win);
			curs_set(1);
		} else if (top && top->cursor && top->w->win && top->cursor(top->obj, &cy, &cx)) {
			wmove(top->w->win, cy, cx);
			wnoutrefresh(top->w->win);
			curs_set(1);
		} else {
			curs_set(0);
		}
	}
	doupdate();
}

/* --- resize ------------------------------------------------------------------------ */

static void layout_status(App *app)
{
	int rows = LINES > 1 ? LINES : 1;
	if (app->status_win) {
		wresize(app->status_win, 1, COLS);
		mvwin(app->status_win, rows - 1, 0);
	} else {
		app->status_win = newwin(1, COLS, rows - 1, 0);
	}
	statusline_set_window(app->status, app->status_win);
	cmdline_set_window(app->cmd, app->status_win);
}

/* Sizes the dock's window from what its owner wants now. */
static void layout_dock(App *app)
{
	int avail = LINES > 1 ? LINES - 1 : 1;
	int want = app->dock.obj && app->dock.rows ? app->dock.rows(app->dock.obj, avail) : 0;
	if (want <= 0) {
		app->dock_rows = 0;
		app->dock_full = false;
		app->dock_focus = false;
		if (app->dock_win) {
			delwin(app->dock_win);
			app->dock_win = NULL;
		}
		return;
	}
	/* A split keeps at least a few rows of the screen above it. */
	app->dock_full = want >= avail || avail - want < 4;
	app->dock_rows = app->dock_full ? avail : want;
	int y = avail - app->dock_rows;
	if (app->dock_win) {
		wresize(app->dock_win, app->dock_rows, COLS);
		mvwin(app->dock_win, y, 0);
	} else {
		app->dock_win = newwin(app->dock_rows, COLS, y, 0);
	}
	if (app->dock_full)
		app->dock_focus = true;
	app->dock_all = true;
}

static void relayout_all(App *app)
{
	layout_dock(app);
	for (int i = 0; i < app->nlayers; i++) {
		if (app->layers[i].w->klass->resize)
			app->layers[i].w->klass->resize(app->layers[i].w);
		if (app->layers[i].w->win)
			touchwin(app->layers[i].w->win);
	}
}

void app_set_dock(App *app, const AppDock *dock)
{
	app->dock = *dock;
	app_dock_layout(app);
}

void app_dock_layout(App *app)
{
	relayout_all(app);
	app_invalidate(app);
}

void app_dock_focus(App *app, bool focus)
{
	app->dock_focus = dock_shown(app) && (focus || app->dock_full);
	app->dock_all = true;
	app_invalidate(app);
}

bool app_dock_focused(const App *app) { return app->dock_focus && app->dock_rows > 0; }

static void on_winch(uv_signal_t *h, int signum)
{
	App *app = h->data;
	struct winsize ws;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
		resizeterm(ws.ws_row, ws.ws_col);
	layout_status(app);
	relayout_all(app);
	Widget *tw = toast_widget(app->toast);
	if (tw->klass->resize)
		tw->klass->resize(tw);
	/* Everything moved: repaint from scratch rather than trust the old screen. */
	clearok(curscr, TRUE);
	app_invalidate(app);
}

static void request_quit(App *app);

static void on_quit_signal(uv_signal_t *h, int signum)
{
	request_quit(h->data);
}

/* --- command line and prompt ------------------------------------------------------ */

static void dispatch_action(App *app, Action a, const char *arg);

void app_prompt(App *app, const char *prompt, const char *initial, AppPromptChange on_change,
                AppPromptDone on_done, void *ud)
{
	app->cmd_mode = CMD_PROMPT;
	app->prompt_change = on_change;
	app->prompt_done = on_done;
	app->prompt_ud = ud;
	cmdline_open(app->cmd, prompt, initial);
	app_invalidate(app);
}

static void prompt_changed(void *ud, const char *text)
{
	App *app = ud;
	if (app->cmd_mode == CMD_PROMPT && app->prompt_change)
		app->prompt_change(app->prompt_ud, text);
}

/* `:name arg` → an action by name (plus a few short aliases). */
static void run_command(App *app, const char *line)
{
	while (*line == ' ')
		line++;
	if (!*line)
		return;
	char name[64];
	size_t n = strcspn(line, " ");
	if (n >= sizeof name) {
		app_message(app, true, "unknown command (too long); ? lists the commands of this screen");
		return;
	}
	memcpy(name, line, n);
	name[n] = '\0';
	const char *arg = line + n;
	while (*arg == ' ')
		arg++;
	static const struct { const char *alias, *name; } aliases[] = {
		{ "q", "quit" },          { "history", "view-history" }, { "needs-action", "view-needs-action" },
		{ "triage", "view-needs-action" }, { "workbench", "view-workbench" }, { "nodes", "view-nodes" },
		{ "copy", "copy-ssh" },   { "sort", "sort-next" },
	};
	for (size_t i = 0; i < QD_ARRAY_LEN(aliases); i++)
		if (strcmp(name, aliases[i].alias) == 0)
			snprintf(name, sizeof name, "%s", aliases[i].name);
	Action a = action_from_name(name);
	if (a == ACTION_NONE) {
		char clean[80];
		views_clean(name, 40, app->ascii, clean, sizeof clean);
		app_message(app, true, "unknown command '%s'; ? lists this screen's commands", clean);
		return;
	}
	dispatch_action(app, a, arg);
}

static void finish_cmd(App *app)
{
	CmdMode mode = app->cmd_mode;
	app->cmd_mode = CMD_NONE;
	bool ok = cmdline_outcome(app->cmd) == CMDLINE_SUBMITTED;
	char *text = xstrdup(cmdline_text(app->cmd));
	if (mode == CMD_COMMAND && ok)
		run_command(app, text);
	else if (mode == CMD_PROMPT && app->prompt_done)
		app->prompt_done(app->prompt_ud, ok, text);
	free(text);
	app_invalidate(app);
}

/* --- actions --------------------------------------------------------------------- */

static void act_on(App *app, int layer, WidgetResult r)
{
	if (r & W_QUIT) {
		request_quit(app);
		return;
	}
	if ((r & W_CLOSE) && layer >= 0 && layer < app->nlayers)
		pop_at(app, layer);
	app_invalidate(app);
}

/* What the app itself does with an action no layer took. */
static void global_action(App *app, Action a, const char *arg)
{
	AppLayer *top = top_layer(app);
	switch (a) {
	case ACTION_QUIT:
		request_quit(app);
		break;
	case ACTION_HELP: {
		const char *ctx = top ? top->w->klass->keymap_context : NULL;
		char mode[128] = "", hints[8];
		if (top && top->describe)
			top->describe(top->obj, mode, sizeof mode, hints, sizeof hints);
		Help *h = help_new(ctx, mode[0] ? mode : "quarterdeck");
		AppLayer l = { .w = help_widget(h), .obj = h, .free_obj = free_help, .full = false,
		               .describe = describe_help };
		app_push(app, &l);
		break;
	}
	case ACTION_COMMAND:
		app->cmd_mode = CMD_COMMAND;
		cmdline_open(app->cmd, ":", arg && *arg ? arg : NULL);
		app_invalidate(app);
		break;
	case ACTION_REDRAW:
		clearok(curscr, TRUE);
		app_invalidate(app);
		break;
	case ACTION_VIEW_NEEDS_ACTION:
		app_open_triage(app);
		break;
	case ACTION_VIEW_WORKBENCH:
		/* Back to the landing screen: close everything above it. */
		while (app->nlayers > 1)
			pop_at(app, app->nlayers - 1);
		break;
	case ACTION_LAUNCH:
		launch_open(app);
		break;
	case ACTION_VIEW_NODES:
		nodes_open(app);
		break;
	case ACTION_REFRESH:
		if (signin_open(app))
			break; /* signed out: the key reopens the sign-in dialog */
		app_message(app, false, "the list is live: changes arrive from the event stream");
		break;
	case ACTION_TERM_PREFIX:
		/* With a terminal in the split, the prefix gives it the keys back. */
		if (dock_shown(app)) {
			app_dock_focus(app, true);
			break;
		}
		app_message(app, true, "no terminal is open: c on an active allocation opens one");
		break;
	case ACTION_BACK:
	case ACTION_CANCEL:
	case ACTION_NONE:
		break;
	default:
		app_message(app, true, "%s: not available on this screen", action_name(a));
		break;
	}
}

/* Offers an action (from the command line) or a key to the layers, top
 * first, falling through dialogs only as far as the first full-screen layer
 * (a screen hidden under another takes nothing). For a key, each layer's
 * keymap says which action it is; an action goes to a layer's command()
 * first, with its argument. True when a layer took it. */
static bool offer_to_layers(App *app, bool is_key, Action a, const char *arg, int key, bool is_keycode)
{
	for (int i = app->nlayers - 1; i >= 0; i--) {
		AppLayer *l = &app->layers[i];
		if (!is_key && l->command && l->command(l->obj, a, arg)) {
			app_invalidate(app);
			return true;
		}
		KeyEvent ev = { is_key ? keymap_lookup(l->w->klass->keymap_context, key, is_keycode) : a, key,
		                is_keycode };
		WidgetResult r = widget_key(l->w, &ev);
		if (r != W_IGNORED) {
			act_on(app, i, r);
			return true;
		}
		if (l->full)
			break;
	}
	return false;
}

static void dispatch_action(App *app, Action a, const char *arg)
{
	if (!offer_to_layers(app, false, a, arg, 0, false))
		global_action(app, a, arg);
}

static void dispatch_key(App *app, int key, bool is_keycode)
{
	if (app->cmd_mode != CMD_NONE) {
		KeyEvent ev = { keymap_lookup(app->cmd_mode == CMD_PROMPT ? "filter" : "cmdline", key, is_keycode),
		                 key, is_keycode };
		WidgetResult r = cmdline_key(app->cmd, &ev);
		if (r & W_CLOSE)
			finish_cmd(app);
		else
			app_invalidate(app);
		return;
	}
	/* The focused dock (the shell) takes every key unless a dialog is on top. */
	AppLayer *tl = top_layer(app);
	if (app->dock_focus && dock_shown(app) && app->dock.key && (!tl || tl->full)) {
		WidgetResult r = app->dock.key(app->dock.obj, key, is_keycode);
		if (r & W_QUIT)
			request_quit(app);
		return;
	}
	if (offer_to_layers(app, true, ACTION_NONE, NULL, key, is_keycode))
		return;
	AppLayer *top = top_layer(app);
	Action a = keymap_lookup(top ? top->w->klass->keymap_context : NULL, key, is_keycode);
	/* The prefix from the console side: the terminal takes the keys and the
	 * next key is its command (so Ctrl-] d detaches from anywhere). */
	if (a == ACTION_TERM_PREFIX && dock_shown(app) && app->dock.key) {
		app_dock_focus(app, true);
		app->dock.key(app->dock.obj, key, is_keycode);
		return;
	}
	if (a != ACTION_NONE)
		global_action(app, a, NULL);
}

/* --- input ------------------------------------------------------------------------ */

static void on_stdin(uv_poll_t *h, int status, int events)
{
	App *app = h->data;
	if (status < 0 || (events & UV_DISCONNECT)) {
		/* The terminal went away: nobody to draw for. */
		uv_poll_stop(&app->in_poll);
		request_quit(app);
		return;
	}
	wint_t ch;
	int rc;
	/* ncurses reads ahead into its own buffer: drain until ERR or the poll
	 * would not fire again for bytes ncurses already holds. */
	while ((rc = wget_wch(stdscr, &ch)) != ERR) {
		if (rc == KEY_CODE_YES && ch == KEY_RESIZE)
			continue; /* SIGWINCH is handled by uv_signal */
		dispatch_key(app, (int)ch, rc == KEY_CODE_YES);
		if (app->quit)
			return;
	}
}

/* --- session ---------------------------------------------------------------------- */

static void on_session(void *ud, SessionState state, const char *message)
{
	App *app = ud;
	/* Signed out from a platform: the sign-in dialog opens (or settles). */
	signin_on_session(app, state, message);
	app_invalidate(app);
}

/* --- routes ------------------------------------------------------------------------ */

void app_open_detail(App *app, const char *alloc_id) { alloc_detail_open(app, alloc_id); }
void app_open_terminal(App *app, const char *alloc_id) { terminal_view_open(app, alloc_id); }

void app_open_triage(App *app)
{
	if (!app_is_admin(app)) {
		app_message(app, true, "Needs action is for admins: your role cannot force release");
		return;
	}
	triage_open(app);
}

void app_notify(App *app, const char *text)
{
	app_toast(app, LEVEL_OK, text);
	statusline_set_message(app->status, LEVEL_OK, text, qd_mono_ms(), MESSAGE_TTL_MS);
}

void app_open_launch(App *app) { launch_open(app); }

void app_copy(App *app, const char *text, const char *what)
{
	if (!text || !*text) {
		app_message(app, true, "nothing to copy: no %s yet", what);
		return;
	}
	if (osc52_copy(STDOUT_FILENO, text) < 0) {
		app_message(app, true, "could not copy the %s (too long or terminal write failed)", what);
		return;
	}
	app_message(app, false, "copied %s", what);
}

/* --- release / force release / restart flows ----------------------------------- */

typedef enum { OP_RELEASE, OP_FORCE_RELEASE, OP_RESTART } OpKind;

/* One confirmed-or-pending operation. It lives from the dialog's opening to
 * the request's answer; the app keeps every live one on a list so quitting
 * with a dialog open (the modal is freed without its callback) or with a
 * request in flight frees it. */
typedef struct OpCtx {
	App *app;
	struct OpCtx *next;
	char *id;
	char *label;
	OpKind kind;
} OpCtx;

static const char *op_word(OpKind k)
{
	return k == OP_FORCE_RELEASE ? "force release" : k == OP_RESTART ? "restart" : "release";
}

static OpCtx *op_new(App *app, OpKind kind, const char *id, const char *label)
{
	OpCtx *oc = xcalloc(1, sizeof *oc);
	oc->app = app;
	oc->kind = kind;
	oc->id = xstrdup(id);
	oc->label = xstrdup(label);
	oc->next = app->ops;
	app->ops = oc;
	return oc;
}

static void op_free(OpCtx *oc)
{
	for (OpCtx **pp = &oc->app->ops; *pp; pp = &(*pp)->next) {
		if (*pp == oc) {
			*pp = oc->next;
			break;
		}
	}
	free(oc->id);
	free(oc->label);
	free(oc);
}

static void op_done(void *ud, const ApiResponse *r)
{
	OpCtx *oc = ud;
	App *app = oc->app;
	const char *what = op_word(oc->kind);
	if (r->outcome == API_CANCELLED) {
		op_free(oc);
		return;
	}
	if (r->outcome != API_OK) {
		if (r->outcome == API_TRANSPORT)
			app_message(app, true, "%s of %s failed: cannot reach the server (%s)", what, oc->label,
			            r->err_message);
		else
			app_message(app, true, "%s of %s refused: %s%s%s", what, oc->label, r->err_message,
			            r->err_suggestion[0] ? "; " : "", r->err_suggestion);
		op_free(oc);
		return;
	}
	char task[64] = "";
	json_t *t = json_object_get(r->body, "task_id");
	if (json_is_string(t))
		views_clean(json_string_value(t), 40, app->ascii, task, sizeof task);
	char msg[256];
	snprintf(msg, sizeof msg, "%s accepted %s task %s %s %s", what, app->ascii ? "|" : "·",
	         task[0] ? task : "(none)", app->ascii ? "|" : "·", oc->label);
	app_toast(app, LEVEL_OK, msg);
	statusline_set_message(app->status, LEVEL_OK, msg, qd_mono_ms(), MESSAGE_TTL_MS);
	session_refresh_allocation(app->session, oc->id);
	op_free(oc);
}

static void confirm_done(void *ud, Modal *m, ModalOutcome outcome)
{
	OpCtx *oc = ud;
	App *app = oc->app;
	if (outcome != MODAL_ACCEPTED) {
		app_message(app, false, "%s cancelled: %s unchanged", op_word(oc->kind), oc->label);
		op_free(oc);
		return;
	}
	char *e = api_escape(oc->id);
	char *path;
	json_t *body = NULL;
	switch (oc->kind) {
	case OP_FORCE_RELEASE:
		path = xasprintf("/api/v1/admin/allocations/%s/force-release", e);
		body = json_pack("{s:s}", "reason", modal_input(m));
		break;
	case OP_RESTART:
		path = xasprintf("/api/v1/allocations/%s/restart", e);
		body = json_object();
		break;
	case OP_RELEASE:
	default:
		path = xasprintf("/api/v1/allocations/%s/release", e);
		/* An empty object rather than no body: qdeckd (at the time of writing)
		 * cut the response short for a POST with Content-Length 0. */
		body = json_object();
		break;
	}
	api_request(app_api(app), "POST", path, body, op_done, oc);
	app_message(app, false, "%s of %s sent%s", op_word(oc->kind), oc->label, app->ascii ? "..." : "…");
	json_decref(body);
	free(path);
	free(e);
}

/* Why `kind` is not possible on an allocation in this state ("" if it is). */
static void op_refusal(OpKind kind, AllocState st, char *buf, size_t sz)
{
	buf[0] = '\0';
	AllocAction act = kind == OP_FORCE_RELEASE ? ALLOC_ACTION_FORCE_RELEASE
	                  : kind == OP_RESTART     ? ALLOC_ACTION_RESTART
	                                           : ALLOC_ACTION_RELEASE;
	if (alloc_action_allowed(act, st))
		return;
	const char *hint = "";
	if (kind == OP_FORCE_RELEASE)
		hint = " (only release_failed rows can be forced)";
	else if (kind == OP_RELEASE && st == ALLOC_RELEASE_FAILED)
		hint = " (an admin can force release it: A)";
	else if (kind == OP_RESTART)
		hint = " (a restart needs it active or restart_failed)";
	snprintf(buf, sz, "it is %s%s", alloc_state_name(st), hint);
}

bool app_action_allowed(Action action, AllocState st, char *why, size_t wsz)
{
	OpKind k = action == ACTION_RESTART         ? OP_RESTART
	           : action == ACTION_FORCE_RELEASE ? OP_FORCE_RELEASE
	                                            : OP_RELEASE;
	op_refusal(k, st, why, wsz);
	return why[0] == '\0';
}

static void start_op(App *app, const char *alloc_id, OpKind kind)
{
	const Allocation *a = alloc_id ? store_allocation(app->store, alloc_id) : NULL;
	if (!a) {
		app_message(app, true, "select an allocation first");
		return;
	}
	char name[96], id[64];
	views_clean(a->name, 40, app->ascii, name, sizeof name);
	views_clean(a->id, 40, app->ascii, id, sizeof id);
	if (kind == OP_FORCE_RELEASE && !app_is_admin(app)) {
		app_message(app, true, "force release needs the admin role");
		return;
	}
	char why[160];
	op_refusal(kind, a->state, why, sizeof why);
	if (why[0]) {
		app_message(app, true, "cannot %s %s: %s", op_word(kind), name, why);
		return;
	}
	char label[192];
	snprintf(label, sizeof label, "%s (%s)", name, id);
	OpCtx *oc = op_new(app, kind, a->id, label);
	char node[96];
	views_node(a, app->ascii, node, sizeof node);
	char *body;
	Modal *m;
	if (kind == OP_FORCE_RELEASE) {
		char reason[256];
		views_reason(a, reason, sizeof reason);
		body = xasprintf("Force release %s on %s?\n\nThe release failed: %s\n\nThis marks it released "
		                 "without the node's confirmation. Your reason goes into the audit log.",
		                 oc->label, node, reason[0] ? reason : "no reason recorded");
		ModalSpec spec = { .title = "Force release", .body = body, .accept_label = "Force release",
		                   .cancel_label = "Cancel", .danger = true, .input_label = "Reason",
		                   .input_required = true, .input_max = 500 };
		m = modal_new(&spec);
	} else if (kind == OP_RESTART) {
		/* Seed 000 §7: say what a restart interrupts before it happens. */
		body = xasprintf("Restart %s on %s?\n\nThe machine reboots: SSH and terminal sessions are "
		                 "disconnected and running processes are stopped (unsaved work in them is lost). "
		                 "Attached storage, SSH access and the managed runtime are kept. Billing continues."
		                 "\n\nIt shows restarting, then active again (or restart_failed).",
		                 oc->label, node);
		m = modal_confirm_new("Restart allocation", body, "Restart", true);
	} else {
		body = xasprintf("Release %s on %s?\n\nThe machine stops, its local scratch disk is deleted and "
		                 "billing stops. Attached project storage persists.",
		                 oc->label, node);
		m = modal_confirm_new("Release allocation", body, "Release", true);
	}
	free(body);
	modal_set_callback(m, confirm_done, oc);
	app_push_modal(app, m);
}

void app_release(App *app, const char *alloc_id) { start_op(app, alloc_id, OP_RELEASE); }
void app_force_release(App *app, const char *alloc_id) { start_op(app, alloc_id, OP_FORCE_RELEASE); }
void app_restart(App *app, const char *alloc_id) { start_op(app, alloc_id, OP_RESTART); }

/* --- setup / teardown --------------------------------------------------------------- */

static void restore_terminal(void)
{
	if (!isendwin())
		endwin();
}

static void oom_hook(void)
{
	restore_terminal();
}

static void key_file_error(void *ud, const char *msg)
{
	App *app = ud;
	/* The first error is what the operator needs to see; the rest follow on fix. */
	if (!statusline_message(app->status)[0])
		app_message(app, true, "%s", msg);
}

static void load_keys(App *app)
{
	int bad = keymap_load_defaults();
	if (bad > 0)
		app_message(app, true, "the built-in key bindings have %d bad lines", bad);
	char dir[4096];
	if (qd_xdg_dir("XDG_CONFIG_HOME", ".config", dir, sizeof dir) == 0) {
		char *path = xasprintf("%s/keys", dir);
		keymap_load_file(path, key_file_error, app);
		free(path);
	}
}

static bool locale_is_utf8(void)
{
	const char *cs = nl_langinfo(CODESET);
	return cs && (strcasecmp(cs, "UTF-8") == 0 || strcasecmp(cs, "utf8") == 0);
}

int app_run(const AppOptions *opt)
{
	/* main() has called setlocale(LC_ALL, "") already. */
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		fprintf(stderr, "qdeck: the console needs a terminal; for scripts use a verb (qdeck --help)\n");
		return 2;
	}
	App *app = xcalloc(1, sizeof *app);
	char err[512];
	if (session_resolve_target(opt->api_flag, &app->target, err, sizeof err) < 0) {
		fprintf(stderr, "qdeck: %s\n", err);
		free(app);
		return strstr(err, "token") ? 4 : 3;
	}

	uv_loop_init(&app->loop);
	app->store = store_new();
	app->session = session_new(&app->loop, &app->target, app->store, on_session, app);

	oom_app = app;
	util_set_oom_hook(oom_hook);
	set_escdelay(25);
	if (!initscr()) {
		fprintf(stderr, "qdeck: cannot initialise the terminal (TERM=%s)\n", getenv("TERM"));
		return 2;
	}
	raw();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	curs_set(0);
	/* Settle stdscr once now: wget_wch(stdscr) refreshes it whenever it is
	 * touched, and the first such refresh would repaint the whole screen. */
	refresh();
	theme_init(opt->no_color);
	app->ascii = !locale_is_utf8();
	theme_set_ascii(app->ascii);

	app->status = statusline_new(NULL);
	app->cmd = cmdline_new(NULL, ":", 0);
	cmdline_set_on_change(app->cmd, prompt_changed, app);
	app->toast = toast_new();
	layout_status(app);

	uv_timer_init(&app->loop, &app->frame_timer);
	app->frame_timer.data = app;
	uv_timer_init(&app->loop, &app->tick_timer);
	app->tick_timer.data = app;
	uv_signal_t *sigs[] = { &app->sig_winch, &app->sig_term, &app->sig_hup, &app->sig_int };
	int signums[] = { SIGWINCH, SIGTERM, SIGHUP, SIGINT };
	for (size_t i = 0; i < QD_ARRAY_LEN(sigs); i++) {
		uv_signal_init(&app->loop, sigs[i]);
		sigs[i]->data = app;
		uv_signal_start(sigs[i], i == 0 ? on_winch : on_quit_signal, signums[i]);
	}
	if (uv_poll_init(&app->loop, &app->in_poll, STDIN_FILENO) == 0) {
		/* libuv made the tty non-blocking; stdout shares that file description
		 * and ncurses must not see EAGAIN on write. nodelay() already makes
		 * reads return at once. */
		int fl = fcntl(STDIN_FILENO, F_GETFL);
		if (fl >= 0)
			fcntl(STDIN_FILENO, F_SETFL, fl & ~O_NONBLOCK);
		app->in_poll.data = app;
		uv_poll_start(&app->in_poll, UV_READABLE | UV_DISCONNECT, on_stdin);
		app->in_poll_active = true;
	}

	/* The first frame goes out now, before anything slow: the key file, and
	 * the HTTP client's start-up in session_start. The rest streams in. */
	workbench_open(app);
	app->dirty = true;
	draw_frame_now(app);
	load_keys(app);
	session_start(app->session);
	app_invalidate(app);

	uv_run(&app->loop, UV_RUN_DEFAULT);

	/* Leave the screen first so nothing below can leave the terminal raw. */
	restore_terminal();
	free_layers(app);
	/* Cancels requests in flight: their callbacks free their contexts. */
	session_free(&app->session);
	/* What is left belonged to dialogs freed without an answer. */
	while (app->ops)
		op_free(app->ops);
	store_free(&app->store);
	if (app->in_poll_active)
		uv_close((uv_handle_t *)&app->in_poll, NULL);
	for (size_t i = 0; i < QD_ARRAY_LEN(sigs); i++)
		uv_close((uv_handle_t *)sigs[i], NULL);
	uv_close((uv_handle_t *)&app->frame_timer, NULL);
	uv_close((uv_handle_t *)&app->tick_timer, NULL);
	for (int i = 0; i < 100 && uv_loop_alive(&app->loop); i++)
		uv_run(&app->loop, UV_RUN_NOWAIT);
	events_reap();
	terminal_view_reap();
	uv_loop_close(&app->loop);
	statusline_free(&app->status);
	cmdline_free(&app->cmd);
	toast_free(&app->toast);
	if (app->status_win)
		delwin(app->status_win);
	if (app->dock_win)
		delwin(app->dock_win);
	session_target_done(&app->target);
	oom_app = NULL;
	free(app);
	return 0;
}

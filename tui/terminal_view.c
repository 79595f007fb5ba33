/* terminal_view — shells on allocations (issue 4's pane in the console).
 *
 * One manager per console holds up to TV_MAX_SESSIONS sessions, one per
 * allocation. A session owns a TermPane (the screen, which survives
 * reconnects) and at most one TermClient (one connection made with one
 * single-use token). The manager shows the current session in the app's dock:
 * split below the screen or full screen, with a frame line listing the
 * sessions, the state and the shell's window title.
 *
 * Network callbacks only feed the pane and mark the dock dirty; the app's
 * frame timer (≤ 60 Hz) draws the rows the pane reports damaged, so a flood
 * of output never queues drawing work in front of a key.
 *
 * Keys all go to the shell while the dock has the focus, except the prefix
 * (Ctrl-] by default); after it the "terminal" keymap applies: d detach
 * (the session keeps running; `c` on the allocation reattaches), q leave
 * (keys back to the console, pane stays in the split), z / s split or full,
 * n / Tab next session, [ scroll back, v copy mode, ? help.
 *
 * A dropped connection is retried with a freshly minted token (tokens are
 * single use) after a backoff of 0.25 s doubling to 8 s; an exit status ends
 * the session for good and shows the code until Enter closes it.
 *
 * Bell: the shell's BEL never reaches the outer terminal (the pane only
 * records it). A session out of sight gets a "bell" flag next to its name in
 * the frame's session list until it is shown; the session in view flashes
 * its frame line in reverse for FLASH_MS. Not curses beep()/flash(): beep()
 * writes BEL to the operator's terminal, so a shell printing binary junk or
 * a tab-completing operator rings it at link speed, and flash() toggles the
 * whole screen's reverse mode with padding delays that block the loop. One
 * frame line in reverse is a few dozen bytes over SSH, and bells during a
 * flash coalesce into it. */
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

#define TV_MAX_SESSIONS 8
#define RETRY_FIRST_MS 250
#define RETRY_MAX_MS 8000
#define FLASH_MS 200

typedef enum {
	TS_MINTING,       /* asking for a token (first time) */
	TS_CONNECTING,    /* handshake under way */
	TS_OPEN,
	TS_RECONNECTING,  /* lost; waiting to mint again */
	TS_ENDED,         /* exited / ended / refused: Enter closes */
} TsState;

typedef struct Term Term;

typedef struct {
	Term *term;
	char *id;
	char *name;        /* short, sanitized: for the session list */
	char *label;       /* "name (id)" */
	TermPane *pane;
	TermClient *client;
	ApiRequest *mint;
	TsState state;
	int attempts;      /* failed connects since the last open */
	int64_t retry_at;  /* monotonic ms; 0 = none */
	char why[160];     /* the last reason (lost, refused) */
	char status[200];  /* what the frame says */
	bool bell;         /* rang while out of sight: flagged in the session list */
} TermSession;

struct Term {
	App *app;
	TermSession *s[TV_MAX_SESSIONS];
	int n, cur;
	bool visible;      /* shown in the dock */
	bool full;         /* full screen rather than split */
	bool prefix;       /* the prefix key was pressed: next key is a command */
	bool scrolling;    /* scroll-back mode */
	bool copying;      /* copy mode */
	int copy_row;      /* copy mode's cursor (view row) */
	bool copy_anchored;
	long copy_anchor;  /* anchor as view row - scroll offset (moves with the text) */
	int rows, cols;    /* the pane's size now */
	uv_timer_t retry;
	bool retry_armed;
	uv_timer_t flash;  /* ends the frame line's bell flash */
	bool flashing;
	int handles_open;  /* timers not yet closed: the last close frees the Term */
};

static bool client_ready;  /* termclient_init done on the app's loop */
static Term *term;         /* one console per process */

static TermSession *cur_session(Term *t) { return t->n > 0 ? t->s[t->cur] : NULL; }

static void mark(Term *t, TermSession *s)
{
	/* A hidden session's output only updates its pane. */
	if (t->visible && s == cur_session(t))
		app_invalidate_dock(t->app);
}

static void set_status(TermSession *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_status(TermSession *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->status, sizeof s->status, fmt, ap);
	va_end(ap);
	mark(s->term, s);
}

static const char *sep(const Term *t) { return app_ascii(t->app) ? "|" : "·"; }

/* --- sizes ----------------------------------------------------------------- */

static int split_rows(int avail)
{
	int r = avail * 45 / 100;
	return r < 7 ? 7 : r;
}

/* Rows the pane gets (the dock minus its frame line) for the present mode. */
static void expected_size(const Term *t, int *rows, int *cols)
{
	int avail = LINES > 2 ? LINES - 1 : 2;
	int dock = t->full ? avail : split_rows(avail);
	if (!t->full && avail - dock < 4)
		dock = avail; /* the app makes a too-small split full screen */
	*rows = dock - 1 > 1 ? dock - 1 : 1;
	*cols = COLS > 1 ? COLS : 1;
}

/* Every session follows the dock's size, sending a resize when it changed. */
static void sync_size(Term *t, int rows, int cols)
{
	if (rows == t->rows && cols == t->cols)
		return;
	t->rows = rows;
	t->cols = cols;
	for (int i = 0; i < t->n; i++) {
		termpane_resize(t->s[i]->pane, rows, cols);
		termpane_invalidate(t->s[i]->pane);
		if (t->s[i]->client)
			termclient_resize(t->s[i]->client, rows, cols);
	}
}

/* --- connecting ------------------------------------------------------------------ */

static void start_mint(TermSession *s);

static void retry_cb(uv_timer_t *h);

static void arm_retry(Term *t)
{
	int64_t next = 0;
	for (int i = 0; i < t->n; i++)
		if (t->s[i]->state == TS_RECONNECTING && t->s[i]->retry_at &&
		    (!next || t->s[i]->retry_at < next))
			next = t->s[i]->retry_at;
	if (t->retry_armed)
		uv_timer_stop(&t->retry);
	t->retry_armed = false;
	if (!next)
		return;
	int64_t in = next - qd_mono_ms();
	uv_timer_start(&t->retry, retry_cb, in > 0 ? (uint64_t)in : 0, 0);
	t->retry_armed = true;
}

static void end_session(TermSession *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void end_session(TermSession *s, const char *fmt, ...)
{
	char text[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	s->state = TS_ENDED;
	s->retry_at = 0;
	termclient_close(&s->client);
	set_status(s, "%s %s Enter closes", text, sep(s->term));
	/* A session out of sight still says how it ended. */
	Term *t = s->term;
	if (!t->visible || s != cur_session(t))
		app_message(t->app, false, "terminal on %s: %s (c on it shows it)", s->label, text);
}

/* Lost without an exit status: try again with a new token after a backoff. */
static void schedule_reconnect(TermSession *s, const char *why)
{
	Term *t = s->term;
	termclient_close(&s->client);
	snprintf(s->why, sizeof s->why, "%s", why && *why ? why : "connection closed");
	int64_t delay = RETRY_FIRST_MS;
	for (int i = 0; i < s->attempts && delay < RETRY_MAX_MS; i++)
		delay *= 2;
	if (delay > RETRY_MAX_MS)
		delay = RETRY_MAX_MS;
	s->attempts++;
	s->state = TS_RECONNECTING;
	s->retry_at = qd_mono_ms() + delay;
	set_status(s, "reconnecting in %.1fs (%s)", (double)delay / 1000.0, s->why);
	arm_retry(t);
}

static void retry_cb(uv_timer_t *h)
{
	Term *t = h->data;
	t->retry_armed = false;
	int64_t now = qd_mono_ms();
	for (int i = 0; i < t->n; i++) {
		TermSession *s = t->s[i];
		if (s->state != TS_RECONNECTING || !s->retry_at || s->retry_at > now)
			continue;
		s->retry_at = 0;
		/* Only an active allocation gets a token: say why instead of asking. */
		const Allocation *a = store_allocation(app_store(t->app), s->id);
		if (a && !alloc_action_allowed(ALLOC_ACTION_TERMINAL, a->state)) {
			end_session(s, "session ended: the allocation is %s", alloc_state_name(a->state));
			continue;
		}
		start_mint(s);
	}
	arm_retry(t);
}

static void flash_cb(uv_timer_t *h)
{
	Term *t = h->data;
	t->flashing = false;
	app_invalidate_dock(t->app);
}

/* The session's bell rang: flash the frame when it is in view, else flag it.
 * The flash ends from a timer rather than by comparing clocks at draw time,
 * so it is drawn at least once even when the loop was busy. */
static void ring(Term *t, TermSession *s)
{
	if (!t->visible || s != cur_session(t)) {
		if (!s->bell) {
			s->bell = true;
			/* The list is on the frame line: redraw it if it shows. */
			if (t->visible)
				app_invalidate_dock(t->app);
		}
		return;
	}
	if (t->flashing)
		return; /* bells during a flash coalesce into it */
	t->flashing = true;
	uv_timer_start(&t->flash, flash_cb, FLASH_MS, 0);
	app_invalidate_dock(t->app);
}

static void on_output(void *ud, const char *bytes, size_t len)
{
	TermSession *s = ud;
	termpane_write(s->pane, bytes, len);
	if (termpane_take_bell(s->pane))
		ring(s->term, s);
	mark(s->term, s);
}

static void on_status(void *ud, const TpStatus *st)
{
	TermSession *s = ud;
	if (st->has_code)
		end_session(s, "exited with code %d", st->code);
	else
		end_session(s, "session ended: %s", st->message[0] ? st->message : st->reason);
}

static void on_state(void *ud, TermClientState state, int http_status, const char *why)
{
	TermSession *s = ud;
	if (s->state == TS_ENDED)
		return;
	switch (state) {
	case TERMCLIENT_CONNECTING:
		s->state = TS_CONNECTING;
		set_status(s, "connecting%s", app_ascii(s->term->app) ? "..." : "…");
		break;
	case TERMCLIENT_OPEN:
		s->state = TS_OPEN;
		s->attempts = 0;
		set_status(s, "connected");
		break;
	case TERMCLIENT_ENDED:
		end_session(s, "session ended");
		break;
	case TERMCLIENT_LOST:
		/* A refused token (401) is the same cure: mint another. */
		schedule_reconnect(s, why);
		break;
	}
}

static void on_reply(void *ud, const char *bytes, size_t len)
{
	TermSession *s = ud;
	if (s->client)
		termclient_send(s->client, bytes, len);
}

static void mint_done(void *ud, const ApiResponse *r)
{
	TermSession *s = ud;
	s->mint = NULL;
	if (r->outcome == API_CANCELLED)
		return;
	if (r->outcome == API_TRANSPORT) {
		schedule_reconnect(s, r->err_message);
		return;
	}
	if (r->outcome != API_OK) {
		/* 404/409/403: the allocation is gone, not active or not ours. */
		if (r->status == 429 || r->status >= 500)
			schedule_reconnect(s, r->err_message);
		else
			end_session(s, "no terminal: %s%s%s", r->err_message, r->err_suggestion[0] ? "; " : "",
			            r->err_suggestion);
		return;
	}
	const char *token = json_string_value(json_object_get(r->body, "token"));
	const char *url = json_string_value(json_object_get(r->body, "url"));
	if (!token || !*token || !url || !*url) {
		end_session(s, "no terminal: the server's token answer has no token or url");
		return;
	}
	Term *t = s->term;
	const SessionTarget *tg = session_target(app_session(t->app));
	TermClientConfig cfg = { .url = url, .token = token, .unix_socket = tg ? tg->unix_socket : NULL,
	                         .rows = t->rows, .cols = t->cols };
	TermClientCallbacks cb = { .output = on_output, .status = on_status, .state = on_state };
	char err[256];
	s->client = termclient_open(&cfg, &cb, s, err, sizeof err);
	if (!s->client) {
		end_session(s, "no terminal: %s", err);
		return;
	}
	s->state = TS_CONNECTING;
	set_status(s, "connecting%s", app_ascii(t->app) ? "..." : "…");
}

/* Every connection needs a fresh token: they are single use. */
static void start_mint(TermSession *s)
{
	Term *t = s->term;
	if (s->attempts == 0)
		s->state = TS_MINTING;
	set_status(s, s->attempts ? "reconnecting: asking for a new terminal token%s"
	                          : "asking for a terminal token%s",
	           app_ascii(t->app) ? "..." : "…");
	char *e = api_escape(s->id);
	char *path = xasprintf("/api/v1/allocations/%s/terminal-token", e);
	/* An empty object rather than no body (see app.c's release). */
	json_t *body = json_object();
	s->mint = api_request(app_api(t->app), "POST", path, body, mint_done, s);
	json_decref(body);
	free(path);
	free(e);
}

/* --- sessions ----------------------------------------------------------------------- */

static void tsession_free(TermSession *s)
{
	if (s->mint)
		api_cancel(s->mint);
	s->mint = NULL;
	termclient_close(&s->client);
	termpane_free(&s->pane);
	free(s->id);
	free(s->name);
	free(s->label);
	free(s);
}

static void leave_modes(Term *t)
{
	TermSession *s = cur_session(t);
	t->prefix = false;
	if ((t->scrolling || t->copying) && s) {
		termpane_select_clear(s->pane);
		termpane_scroll(s->pane, -(1 << 20));
	}
	t->scrolling = t->copying = false;
}

static void close_current(Term *t)
{
	TermSession *s = cur_session(t);
	if (!s)
		return;
	leave_modes(t);
	tsession_free(s);
	memmove(&t->s[t->cur], &t->s[t->cur + 1], sizeof t->s[0] * (size_t)(t->n - t->cur - 1));
	t->n--;
	if (t->cur >= t->n)
		t->cur = t->n > 0 ? t->n - 1 : 0;
	if (t->n > 0)
		t->s[t->cur]->bell = false; /* in view now */
	if (t->n == 0)
		t->visible = false;
	arm_retry(t);
	app_dock_layout(t->app);
	if (t->n == 0)
		app_dock_focus(t->app, false);
}

static void detach(Term *t)
{
	TermSession *s = cur_session(t);
	leave_modes(t);
	t->visible = false;
	app_dock_layout(t->app);
	app_dock_focus(t->app, false);
	if (s)
		app_message(t->app, false, "detached from %s: the session keeps running; c on it reattaches",
		            s->label);
}

/* --- the dock --------------------------------------------------------------------------- */

static int dock_rows(void *obj, int avail)
{
	Term *t = obj;
	if (!t->visible || t->n == 0)
		return 0;
	return t->full ? avail : split_rows(avail);
}

static void draw_frame_line(Term *t, WINDOW *win, int cols)
{
	TermSession *s = cur_session(t);
	const char *sp = sep(t);
	bool focused = app_dock_focused(t->app);
	QdBuf b;
	qdbuf_init(&b);
	qdbuf_appendf(&b, " Terminal");
	/* The sessions, the current one in brackets. */
	if (t->n > 1) {
		qdbuf_appendf(&b, " %s", sp);
		for (int i = 0; i < t->n; i++)
			qdbuf_appendf(&b, i == t->cur ? " [%d %s%s]" : " %d %s%s", i + 1, t->s[i]->name,
			              t->s[i]->bell ? " (bell)" : "");
	}
	qdbuf_appendf(&b, " %s %s %s %s", sp, s->label, sp, s->status);
	const char *title = termpane_title(s->pane);
	if (title[0])
		qdbuf_appendf(&b, " %s \"%s\"", sp, title);
	if (t->scrolling)
		qdbuf_appendf(&b, "  SCROLL (Esc ends)");
	else if (t->copying) {
		char k[3][24];
		qdbuf_appendf(&b, "  COPY: arrows move %s %s marks %s %s copies %s %s leaves", sp,
		              keymap_first_key("copy", ACTION_COPY_MARK, k[0], sizeof k[0]), sp,
		              keymap_first_key("copy", ACTION_COPY_YANK, k[1], sizeof k[1]), sp,
		              keymap_first_key("copy", ACTION_BACK, k[2], sizeof k[2]));
	} else if (t->prefix) {
		/* The keys as the user's keymap has them. */
		static const struct { Action a; const char *what; } cmds[] = {
			{ACTION_TERM_DETACH, "detach"}, {ACTION_TERM_LEAVE, "leave"},
			{ACTION_TERM_TOGGLE_SPLIT, "split"}, {ACTION_TERM_NEXT_SESSION, "next"},
			{ACTION_TERM_SCROLL, "scroll"}, {ACTION_TERM_COPY_MODE, "copy"}, {ACTION_HELP, "help"},
		};
		bool first = true;
		for (size_t i = 0; i < QD_ARRAY_LEN(cmds); i++) {
			char k[24];
			if (!keymap_first_key("terminal", cmds[i].a, k, sizeof k)[0])
				continue; /* unbound by the user */
			qdbuf_appendf(&b, "%s%s %s %s", first ? "  PREFIX:" : " ", first ? "" : sp, k,
			              cmds[i].what);
			first = false;
		}
	}
	else if (!focused)
		qdbuf_appendf(&b, "  (keys go to the console %s c on it types here)", sp);
	ThemeRole role = t->prefix || t->scrolling || t->copying ? ROLE_STATUS_WARN
	                 : s->state == TS_ENDED || s->state == TS_RECONNECTING ? ROLE_STATUS_ERROR
	                 : focused ? ROLE_HEADER : ROLE_DIM;
	/* The bell's flash: the same line in reverse (visible in monochrome too). */
	if (t->flashing)
		draw_text_attr(win, 0, 0, cols, qdbuf_cstr(&b), theme_attr(role) ^ A_REVERSE, false);
	else
		draw_text_pad(win, 0, 0, cols, qdbuf_cstr(&b), role, false);
	qdbuf_done(&b);
}

static void dock_draw(void *obj, WINDOW *win, bool all)
{
	Term *t = obj;
	TermSession *s = cur_session(t);
	int rows, cols;
	getmaxyx(win, rows, cols);
	if (!s || rows < 2)
		return;
	sync_size(t, rows - 1, cols);
	if (all)
		termpane_invalidate(s->pane);
	draw_frame_line(t, win, cols);
	termpane_draw(s->pane, win, 1, 0);
}

static bool dock_cursor(void *obj, int *y, int *x)
{
	Term *t = obj;
	TermSession *s = cur_session(t);
	int r, c;
	if (!s || t->scrolling || t->copying || s->state == TS_ENDED || !termpane_cursor(s->pane, &r, &c))
		return false;
	*y = r + 1;
	*x = c;
	return true;
}

static void dock_describe(void *obj, char *mode, size_t msz, char *hints, size_t hsz)
{
	Term *t = obj;
	char prefix[32], k[4][24];
	keymap_first_key("global", ACTION_TERM_PREFIX, prefix, sizeof prefix);
	snprintf(mode, msz, "Terminal");
	snprintf(hints, hsz, "keys go to the shell %s %s then %s detach, %s leave, %s split, %s help", sep(t),
	         prefix[0] ? prefix : "(no prefix key bound)",
	         keymap_first_key("terminal", ACTION_TERM_DETACH, k[0], sizeof k[0]),
	         keymap_first_key("terminal", ACTION_TERM_LEAVE, k[1], sizeof k[1]),
	         keymap_first_key("terminal", ACTION_TERM_TOGGLE_SPLIT, k[2], sizeof k[2]),
	         keymap_first_key("terminal", ACTION_HELP, k[3], sizeof k[3]));
}

static void free_help(void *obj)
{
	Help *h = obj;
	help_free(&h);
}

static void copy_select(Term *t, TermSession *s)
{
	int off = termpane_scroll_offset(s->pane);
	int a = t->copy_anchored ? (int)(t->copy_anchor + off) : t->copy_row;
	termpane_select(s->pane, a, t->copy_row);
}

static WidgetResult copy_key(Term *t, TermSession *s, Action a, int key, bool is_keycode)
{
	int page = t->rows > 2 ? t->rows - 1 : 1;
	int step = 0;
	switch (a) {
	case ACTION_MOVE_UP: step = -1; break;
	case ACTION_MOVE_DOWN: step = 1; break;
	case ACTION_PAGE_UP: step = -page; break;
	case ACTION_PAGE_DOWN: step = page; break;
	default: break;
	}
	if (step) {
		int row = t->copy_row + step;
		/* Past the edge the view scrolls, and the anchor moves with the text. */
		if (row < 0) {
			termpane_scroll(s->pane, -row);
			row = 0;
		} else if (row > t->rows - 1) {
			termpane_scroll(s->pane, -(row - (t->rows - 1)));
			row = t->rows - 1;
		}
		t->copy_row = row;
		copy_select(t, s);
		return W_HANDLED;
	}
	if (a == ACTION_COPY_MARK) {
		t->copy_anchored = true;
		t->copy_anchor = t->copy_row - termpane_scroll_offset(s->pane);
		copy_select(t, s);
		return W_HANDLED;
	}
	if (a == ACTION_COPY_YANK) {
		char *text = termpane_selection_text(s->pane);
		leave_modes(t);
		app_copy(t->app, text, "terminal lines");
		free(text);
		return W_HANDLED;
	}
	if (a == ACTION_BACK) {
		leave_modes(t);
		return W_HANDLED;
	}
	return W_HANDLED;
}

static WidgetResult prefix_key(Term *t, TermSession *s, int key, bool is_keycode)
{
	t->prefix = false;
	Action a = keymap_lookup("terminal", key, is_keycode);
	switch (a) {
	case ACTION_TERM_DETACH:
		detach(t);
		break;
	case ACTION_TERM_LEAVE:
		if (t->full) {
			t->full = false;
			app_dock_layout(t->app);
		}
		app_dock_focus(t->app, false);
		app_message(t->app, false, "keys go to the console; c on %s types in its shell again", s->name);
		break;
	case ACTION_TERM_SEND_PREFIX: {
		char b = 0x1d;
		if (s->client)
			termclient_send(s->client, &b, 1);
		break;
	}
	case ACTION_TERM_SCROLL:
		t->scrolling = true;
		break;
	case ACTION_TERM_COPY_MODE: {
		t->copying = true;
		t->copy_anchored = false;
		t->copy_row = t->rows - 1;
		int r, c;
		if (termpane_cursor(s->pane, &r, &c))
			t->copy_row = r;
		copy_select(t, s);
		break;
	}
	case ACTION_TERM_TOGGLE_SPLIT:
		t->full = !t->full;
		app_dock_layout(t->app);
		break;
	case ACTION_TERM_NEXT_SESSION:
		if (t->n > 1) {
			leave_modes(t);
			t->cur = (t->cur + 1) % t->n;
			t->s[t->cur]->bell = false; /* seen now */
			app_dock_layout(t->app);
		} else {
			app_message(t->app, false, "only one terminal session is open; c on another allocation opens one");
		}
		break;
	case ACTION_HELP: {
		Help *h = help_new("terminal", "Terminal (after the prefix key)");
		AppLayer l = { .w = help_widget(h), .obj = h, .free_obj = free_help, .full = false };
		app_push(t->app, &l);
		break;
	}
	default:
		app_message(t->app, true, "that key does nothing after the prefix; ? lists what does");
		break;
	}
	app_invalidate(t->app);
	return W_HANDLED | W_REDRAW;
}

static WidgetResult dock_key(void *obj, int key, bool is_keycode)
{
	Term *t = obj;
	TermSession *s = cur_session(t);
	if (!s)
		return W_IGNORED;
	if (t->prefix)
		return prefix_key(t, s, key, is_keycode);
	Action a = keymap_lookup(NULL, key, is_keycode);
	if (a == ACTION_TERM_PREFIX) {
		t->prefix = true;
		app_invalidate_dock(t->app);
		return W_HANDLED;
	}
	if (t->copying) {
		WidgetResult r = copy_key(t, s, keymap_lookup("copy", key, is_keycode), key, is_keycode);
		app_invalidate_dock(t->app);
		return r;
	}
	if (t->scrolling) {
		int page = t->rows > 2 ? t->rows - 1 : 1;
		switch (a) {
		case ACTION_MOVE_UP: termpane_scroll(s->pane, 1); break;
		case ACTION_MOVE_DOWN: termpane_scroll(s->pane, -1); break;
		case ACTION_PAGE_UP: termpane_scroll(s->pane, page); break;
		case ACTION_PAGE_DOWN: termpane_scroll(s->pane, -page); break;
		case ACTION_MOVE_FIRST: termpane_scroll(s->pane, 1 << 20); break;
		case ACTION_MOVE_LAST: termpane_scroll(s->pane, -(1 << 20)); break;
		default:
			leave_modes(t);
			break;
		}
		app_invalidate_dock(t->app);
		return W_HANDLED;
	}
	if (s->state == TS_ENDED) {
		/* Nothing to type into: Enter closes the session, other keys wait. */
		if ((!is_keycode && (key == '\r' || key == '\n')) || (is_keycode && key == KEY_ENTER))
			close_current(t);
		return W_HANDLED;
	}
	char out[64];
	size_t n = termpane_key(s->pane, key, is_keycode, out, sizeof out);
	if (n > 0 && s->client)
		termclient_send(s->client, out, n);
	/* Typing returns a scrolled-back view to the live screen. */
	if (termpane_scroll_offset(s->pane) > 0) {
		termpane_scroll(s->pane, -(1 << 20));
		app_invalidate_dock(t->app);
	}
	return W_HANDLED;
}

/* --- entry points -------------------------------------------------------------------------- */

static Term *term_get(App *app)
{
	if (term)
		return term;
	term = xcalloc(1, sizeof *term);
	term->app = app;
	uv_timer_init(app_loop(app), &term->retry);
	term->retry.data = term;
	uv_timer_init(app_loop(app), &term->flash);
	term->flash.data = term;
	term->handles_open = 2;
	AppDock d = { .obj = term, .rows = dock_rows, .draw = dock_draw, .key = dock_key,
	              .cursor = dock_cursor, .describe = dock_describe };
	app_set_dock(app, &d);
	return term;
}

static void show(Term *t, int index)
{
	if (t->cur != index)
		leave_modes(t);
	t->cur = index;
	t->visible = true;
	t->s[index]->bell = false; /* seen now */
	app_dock_layout(t->app);
	app_dock_focus(t->app, true);
}

void terminal_view_open(App *app, const char *alloc_id)
{
	const Allocation *a = alloc_id ? store_allocation(app_store(app), alloc_id) : NULL;
	if (!a) {
		app_message(app, true, "select an allocation first");
		return;
	}
	/* An existing session (running, reconnecting or showing its exit code) is
	 * reattached whatever the allocation's state is now. */
	if (term) {
		for (int i = 0; i < term->n; i++) {
			if (strcmp(term->s[i]->id, a->id) == 0) {
				bool rang = term->s[i]->bell;
				show(term, i);
				app_message(app, false, "reattached to %s%s", term->s[i]->label,
				            rang ? " (its bell rang while detached)" : "");
				return;
			}
		}
	}
	if (!alloc_action_allowed(ALLOC_ACTION_TERMINAL, a->state)) {
		app_message(app, true, "no terminal: the allocation is %s (a shell needs it active)",
		            alloc_state_name(a->state));
		return;
	}
	if (term && term->n == TV_MAX_SESSIONS) {
		app_message(app, true, "%d terminal sessions are open: close one (its shell's exit, then Enter)",
		            TV_MAX_SESSIONS);
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
	Term *t = term_get(app);
	TermSession *s = xcalloc(1, sizeof *s);
	s->term = t;
	s->id = xstrdup(a->id);
	char name[96], id[64];
	views_clean(a->name[0] ? a->name : a->id, 24, app_ascii(app), name, sizeof name);
	views_clean(a->id, 40, app_ascii(app), id, sizeof id);
	s->name = xstrdup(name);
	views_clean(a->name, 40, app_ascii(app), name, sizeof name);
	s->label = xasprintf("%s (%s)", name, id);
	if (t->n == 0) {
		/* The first session: start from the size the dock will have. */
		expected_size(t, &t->rows, &t->cols);
	}
	s->pane = termpane_new(t->rows, t->cols);
	termpane_set_reply(s->pane, on_reply, s);
	t->s[t->n++] = s;
	start_mint(s);
	show(t, t->n - 1);
}

static void timer_closed(uv_handle_t *h)
{
	Term *t = h->data;
	if (--t->handles_open == 0)
		free(t);
}

void terminal_view_shutdown(void)
{
	if (term) {
		while (term->n > 0)
			tsession_free(term->s[--term->n]);
		if (term->retry_armed)
			uv_timer_stop(&term->retry);
		uv_timer_stop(&term->flash);
		/* Freed in the last close callback, after uv_run has let them run. */
		uv_close((uv_handle_t *)&term->retry, timer_closed);
		uv_close((uv_handle_t *)&term->flash, timer_closed);
		term = NULL;
	}
	if (client_ready)
		termclient_shutdown();
}

void terminal_view_reap(void)
{
	if (client_ready)
		termclient_reap();
	client_ready = false;
}

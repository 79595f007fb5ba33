/* app — the console's shell: one libuv loop driving stdin, SIGWINCH, the
 * session's network I/O and a frame timer; a stack of layers (screens and
 * dialogs, each a Widget); the status line and the `:` command line.
 *
 * Callbacks only mark things dirty; a frame is drawn at most every 16 ms, each
 * layer bottom to top with wnoutrefresh, then one doupdate(). When nothing is
 * dirty nothing is written. Keys go to the top layer first and fall down until
 * handled; only the loop acts on W_CLOSE / W_QUIT. Screens reach the loop and
 * the session through the functions below. */
#ifndef QD_TUI_APP_H
#define QD_TUI_APP_H

#include <stdbool.h>
#include <stddef.h>

#include "net/session.h"
#include "net/store.h"
#include "widgets/widget.h"

typedef struct App App;
struct Modal;

typedef struct {
	const char *api_flag;  /* --api URL or NULL */
	bool no_color;         /* --no-color or NO_COLOR */
} AppOptions;

/* Runs the console until the operator quits. Returns the process exit code. */
int app_run(const AppOptions *opt);

/* A layer: a screen (full = true: covers everything above the status line
 * and hides the layers below) or a dialog drawn above what is below. Every
 * layer's widget owns and sizes its own WINDOW (its resize hook is called
 * after SIGWINCH). The app owns pushed layers: W_CLOSE from the widget, or
 * app_pop, calls free_obj(obj). */
typedef struct {
	Widget *w;
	void *obj;
	void (*free_obj)(void *obj);
	/* Optional: the status line's mode ("Workloads") and key hints. */
	void (*describe)(void *obj, char *mode, size_t msz, char *hints, size_t hsz);
	/* Optional: run a `:` command with an argument (":filter text"); true if taken. */
	bool (*command)(void *obj, Action a, const char *arg);
	/* Optional: where the terminal cursor should show (window coordinates of
	 * w->win); false keeps it hidden. */
	bool (*cursor)(void *obj, int *y, int *x);
	bool full;
} AppLayer;

void app_push(App *app, const AppLayer *layer);
/* Pushes a modal (the app frees it when it closes). */
void app_push_modal(App *app, struct Modal *m);
/* Pops the top layer if its object is obj. */
void app_pop(App *app, void *obj);

/* One-line input on the bottom line (the "/" filter): on_change after every
 * edit, on_done once with submitted true (Enter) or false (Esc). */
typedef void (*AppPromptChange)(void *ud, const char *text);
typedef void (*AppPromptDone)(void *ud, bool submitted, const char *text);
void app_prompt(App *app, const char *prompt, const char *initial, AppPromptChange on_change,
                AppPromptDone on_done, void *ud);

uv_loop_t *app_loop(App *app);
Store *app_store(App *app);
Session *app_session(App *app);
Api *app_api(App *app);
bool app_ascii(const App *app);
bool app_is_admin(const App *app);

/* Transient status-line message, replaced by the next one; error ones stand out. */
void app_message(App *app, bool error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Something on screen must be drawn in the next frame. */
void app_invalidate(App *app);

/* Routes: open allocation detail on top of the current screen / the admin
 * Needs-action view. */
void app_open_detail(App *app, const char *alloc_id);
void app_open_triage(App *app);
/* Release (with the confirm dialog) and force release (with the reason form)
 * shared by every screen that shows an allocation. */
void app_release(App *app, const char *alloc_id);
void app_force_release(App *app, const char *alloc_id);
/* Restart with a confirm dialog that says what a restart interrupts (seed 000
 * §7); Cancel is the default. Refused in the status line, with the reason,
 * when the allocation's state does not allow it. */
void app_restart(App *app, const char *alloc_id);
/* Whether ACTION_RELEASE / ACTION_RESTART / ACTION_FORCE_RELEASE may start
 * from state st; when not, why says so ("it is releasing ..."). */
bool app_action_allowed(Action action, AllocState st, char *why, size_t wsz);
/* A success worth a toast (and the status line): "launch accepted · ...". */
void app_notify(App *app, const char *text);
/* Opens the launch wizard. */
void app_open_launch(App *app);
/* Copies text to the clipboard with OSC 52 and says "copied <what>". */
void app_copy(App *app, const char *text, const char *what);
/* Opens a shell on the allocation (terminal pane), or says why not. */
void app_open_terminal(App *app, const char *alloc_id);

/* The dock: one region below the screens and above the status line (the
 * terminal pane), split below the current screen or covering all of it.
 * The app owns its WINDOW; the owner says how many rows it wants. */
typedef struct {
	void *obj;
	/* Rows wanted out of `avail` (the rows above the status line): 0 hides
	 * the dock, avail (or more) makes it full screen. */
	int (*rows)(void *obj, int avail);
	/* Draws into win (rows x COLS); `all` after a resize or uncovering. */
	void (*draw)(void *obj, WINDOW *win, bool all);
	/* A key while the dock has the focus. */
	WidgetResult (*key)(void *obj, int key, bool is_keycode);
	/* Terminal cursor position in win, false = hidden. */
	bool (*cursor)(void *obj, int *y, int *x);
	void (*describe)(void *obj, char *mode, size_t msz, char *hints, size_t hsz);
} AppDock;

void app_set_dock(App *app, const AppDock *dock);
/* The dock's wanted rows changed (shown, hidden, split toggled): lays out
 * every screen again. */
void app_dock_layout(App *app);
/* Keys go to the dock (true) or the screens (false). Full screen forces it. */
void app_dock_focus(App *app, bool focus);
bool app_dock_focused(const App *app);
/* Only the dock changed: the next frame draws the dock alone. */
void app_invalidate_dock(App *app);
/* Rows screens may use (above the dock and the status line). */
int app_content_rows(const App *app);

#endif

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
/* Copies text to the clipboard with OSC 52 and says "copied <what>". */
void app_copy(App *app, const char *text, const char *what);
/* Opens a shell on the allocation (terminal pane), or says why not. */
void app_open_terminal(App *app, const char *alloc_id);

#endif

/* views_common — how an allocation's fields read on screen, shared by the
 * workbench, the triage view, allocation detail and the CLI, so one value
 * never reads two ways. All output is sanitized and fits the given buffer. */
#ifndef QD_TUI_VIEWS_COMMON_H
#define QD_TUI_VIEWS_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keymaps/actions.h"
#include "net/model.h"
#include "tui/app.h"
#include "widgets/table.h"

/* "● active" / "* active". */
void views_state(const Allocation *a, bool ascii, char *buf, size_t sz);
/* "H100 SXM slice ×2" ("x2" in ASCII). */
void views_sku(const Allocation *a, bool ascii, char *buf, size_t sz);
/* "pytorch 2.4 (ready)" or "—"; for failed rows the failure code instead. */
void views_runtime(const Allocation *a, bool ascii, char *buf, size_t sz);
/* The reason a failed row failed: "storage_detach_timeout: message", "" if none. */
void views_reason(const Allocation *a, char *buf, size_t sz);
/* "datasets 500G" / "2 volumes 1.5T" / "scratch only". */
void views_storage(const Allocation *a, char *buf, size_t sz);
/* Minute-granularity age of the current state or creation: "<1m", "12m", "3h", "5d". */
void views_age(int64_t since_ms, int64_t now_ms, char *buf, size_t sz);
/* "$4.98". */
void views_price(int cents, char *buf, size_t sz);
/* Node name, or "—" while unplaced. */
void views_node(const Allocation *a, bool ascii, char *buf, size_t sz);
/* A theme role index (ThemeRole) for the state: ok, progress, failed, gone. */
int views_state_role(AllocState s);
/* Sanitized copy of an untrusted string, cut to `cols` columns (0 = buffer only). */
void views_clean(const char *in, int cols, bool ascii, char *buf, size_t sz);

/* --- plumbing shared by the full-screen views ------------------------------------- */

/* Creates *win (rows lines, full width, at the top) or fits it after a
 * resize, erased: cells a narrower layout no longer draws keep old text
 * otherwise. */
void views_screen_window(WINDOW **win, int rows);
/* (Re)creates *sub, the part of `parent` below its first `top` lines (the
 * whole of it when nothing is left below). */
void views_sub_window(WINDOW *parent, WINDOW **sub, int top);

/* One responsive column set of a table screen: the logical columns (indexes
 * into the screen's TableColumn list, whose keys they are) it shows from
 * min_width terminal columns up. */
typedef struct {
	int min_width;
	const int *ids;
	int n;
} ViewsColumnSet;

/* Fits a screen's table to `width`: picks the first of `sets` (widest first,
 * the last one whatever the width) and, when that is not *current, points
 * *current at it (the source's callbacks read it: before the table asks) and
 * gives the table those columns of `all`: table_new() (focused) when *t is
 * NULL, else table_set_columns(), which keeps filter, sort, selection and
 * scroll. Set the table's window first. True when the set changed. */
bool views_fit_columns(Table **t, WINDOW *win, const TableSourceClass *src, void *ctx, const TableColumn *all,
                       const ViewsColumnSet *sets, int nsets, const ViewsColumnSet **current, int width);

/* The "/" filter line of a table screen, kept in the screen's struct: the
 * table filters live while the operator types, Esc puts back the filter it
 * had. `sync` (may be NULL) brings the screen's rows up to date before a
 * filter applies; it gets `ud`. */
typedef struct {
	App *app;
	Table *table;
	void (*sync)(void *ud);
	void *ud;
	char *before; /* the filter when "/" was pressed */
} ViewsFilter;

/* Once the screen's table exists (it must live as long as the screen). */
void views_filter_init(ViewsFilter *f, App *app, Table *t, void (*sync)(void *ud), void *ud);
/* Opens the filter line ("/"), building the table's haystacks now so the
 * first keystroke does not. */
void views_filter_open(ViewsFilter *f);
/* Syncs the rows and filters by text (also what ":filter text" does). */
void views_filter_set(ViewsFilter *f, const char *text);
/* An AppLayer.command's part for ":filter text": true when it was that. */
bool views_filter_command(ViewsFilter *f, Action a, const char *arg);
/* Frees what the filter line kept (the screen is going away). */
void views_filter_done(ViewsFilter *f);

/* Frees a table screen's table, its window and the screen window, in the
 * order curses needs (a subwindow before its parent). */
void views_screen_free_windows(Table **t, WINDOW **sub, WINDOW **win);

/* AppLayer.free_obj for a view whose struct begins with its Widget: the
 * widget class's destroy, then the struct itself. */
void views_free_screen(void *obj);

/* One status-line hint: an action and what it does here. */
typedef struct {
	Action action;
	const char *what;
} ViewHint;

/* "Enter open · / filter · ? help" into out: each action's first key in the
 * keymap context (as the user's keymap has it; global ones reach every
 * context), joined with the app's separator. An action the user unbound is
 * left out rather than shown with a key that no longer does it. */
void views_hints(const App *app, const char *context, const ViewHint *hints, size_t n, char *out,
                 size_t sz);

#endif

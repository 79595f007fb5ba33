/* launch — the launch wizard: one full-screen layer holding the choices,
 * the catalog it loaded, and one widgets/form for the step on screen.
 *
 * The form is rebuilt from the wizard's state whenever the step changes (or
 * the catalog the step shows arrives); the step's values go back into the
 * state before it is left, so Back, a refusal or a late catalog answer never
 * loses what was typed. Everything is callbacks on the app's loop: loads,
 * adding a key and the launch itself are requests whose answers only update
 * the state and mark the screen dirty. */
#include "tui/launch.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "tui/views_common.h"
#include "tui/workbench.h"
#include "widgets/draw.h"
#include "widgets/form.h"

enum { ST_HW, ST_IMAGE, ST_NET, ST_ACCESS, ST_STORAGE, ST_RUNTIME, ST_REVIEW, ST_COUNT };

static const char *const step_names[ST_COUNT] = {
	"Hardware", "Image", "Network", "Access", "Storage", "Runtime", "Review",
};

enum { LOAD_SKUS, LOAD_IMAGES, LOAD_NETS, LOAD_KEYS, LOAD_RUNTIMES, LOAD_COUNT };

static const char *const load_paths[LOAD_COUNT] = {
	"/api/v1/skus", "/api/v1/images", "/api/v1/networks", "/api/v1/ssh-keys", "/api/v1/runtimes",
};
static const char *const load_what[LOAD_COUNT] = { "SKUs", "images", "networks", "SSH keys", "runtimes" };

/* The Runtime step's first option: a runtime is an optional overlay (seed 000
 * §2.3); the others are what GET /runtimes offers. */
#define NO_RUNTIME "none (plain machine)"

#define MAX_COUNTS 16
#define MAX_ITEMS 200

typedef struct {
	char *id, *label;      /* label: the option text */
	bool available;
	int price;             /* cents per GPU-hour */
	int counts[MAX_COUNTS];
	int ncounts;
	char *name;
} Sku;

/* Runtimes: id is the bundle, version its version, name the server's label. */
typedef struct {
	char *id, *name, *label, *version;
	bool chosen;
} Item;

typedef struct Launch Launch;

typedef struct {
	Launch *l;
	int which;
} LoadCtx;

struct Launch {
	Widget base;
	App *app;
	int step;
	Form *form;
	WINDOW *form_win;
	int info_rows;          /* rows of text between the header and the form */

	ApiRequest *load[LOAD_COUNT];
	bool loaded[LOAD_COUNT];
	char load_err[LOAD_COUNT][256];
	Sku *skus;
	int nskus;
	Item *items[LOAD_COUNT]; /* images, networks, keys (skus apart) */
	int nitems[LOAD_COUNT];

	/* choices */
	char name[64];
	int sku;                /* index in skus, -1 none */
	int gpu_count;
	int image, net;         /* indices, -1 none */
	bool storage_on;
	char st_name[64], st_size[16], st_mount[128];
	int runtime;            /* 0 none, else 1 + index in items[LOAD_RUNTIMES] */
	char new_key_name[64];
	char *new_key_pub;

	/* the fields of the form on screen (-1 when the step has none) */
	int f_name, f_sku, f_gpu, f_image, f_net, f_key0, f_new_name, f_new_pub;
	int f_st_on, f_st_name, f_st_size, f_st_mount, f_rt;

	ApiRequest *post;       /* adding a key or the launch */
	bool launching;
	char banner[600];
	bool banner_error;
	int field_error_step;   /* a refusal's field error waits for its step's form */
	int field_error_field;
	char field_error[400];
	LoadCtx load_ctx[LOAD_COUNT];
};

/* --- pure helpers (unit-tested) ---------------------------------------------------- */

int launch_estimate_cents(int price_per_gpu_hour_cents, int gpu_count)
{
	if (price_per_gpu_hour_cents <= 0 || gpu_count <= 0)
		return 0;
	return price_per_gpu_hour_cents * gpu_count;
}

const char *launch_check_storage(const char *name, const char *size_text, const char *mount)
{
	size_t n = strlen(name);
	if (n == 0 || n > 63)
		return "the volume name needs 1-63 characters";
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
			return "the volume name may use letters, digits, '-', '_' and '.'";
	char *end;
	errno = 0;
	long gb = strtol(size_text, &end, 10);
	if (end == size_text || *end || errno || gb < 1 || gb > 100000)
		return "the size is a whole number of GB from 1 to 100000";
	if (mount[0] != '/')
		return "the mount path must be absolute, like /mnt/data";
	if (strstr(mount, ".."))
		return "the mount path must not contain '..'";
	if (strlen(mount) > 120)
		return "the mount path is too long (120 characters at most)";
	return NULL;
}

/* --- state <-> form ------------------------------------------------------------------ */

static void set_banner(Launch *l, bool error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void set_banner(Launch *l, bool error, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(l->banner, sizeof l->banner, fmt, ap);
	va_end(ap);
	l->banner_error = error;
	app_invalidate(l->app);
}

static const Sku *cur_sku(const Launch *l)
{
	return l->sku >= 0 && l->sku < l->nskus ? &l->skus[l->sku] : NULL;
}

/* The chosen runtime, NULL for none (or while the list is still loading). */
static const Item *cur_runtime(const Launch *l)
{
	int i = l->runtime - 1;
	return l->loaded[LOAD_RUNTIMES] && i >= 0 && i < l->nitems[LOAD_RUNTIMES] ? &l->items[LOAD_RUNTIMES][i]
	                                                                          : NULL;
}

static void copy_text(char *dst, size_t sz, const char *src) { snprintf(dst, sz, "%s", src ? src : ""); }

/* The values of the step on screen go back into the wizard's state. */
static void sync_from_form(Launch *l)
{
	Form *f = l->form;
	if (!f)
		return;
	if (l->f_name >= 0)
		copy_text(l->name, sizeof l->name, form_text(f, l->f_name));
	if (l->f_sku >= 0 && l->nskus > 0)
		l->sku = form_selected(f, l->f_sku);
	if (l->f_gpu >= 0) {
		const Sku *s = cur_sku(l);
		int i = form_selected(f, l->f_gpu);
		if (s && i >= 0 && i < s->ncounts)
			l->gpu_count = s->counts[i];
	}
	if (l->f_image >= 0 && l->nitems[LOAD_IMAGES] > 0)
		l->image = form_selected(f, l->f_image);
	if (l->f_net >= 0 && l->nitems[LOAD_NETS] > 0)
		l->net = form_selected(f, l->f_net);
	if (l->f_key0 >= 0)
		for (int i = 0; i < l->nitems[LOAD_KEYS]; i++)
			l->items[LOAD_KEYS][i].chosen = form_checked(f, l->f_key0 + i);
	if (l->f_new_name >= 0)
		copy_text(l->new_key_name, sizeof l->new_key_name, form_text(f, l->f_new_name));
	if (l->f_new_pub >= 0) {
		free(l->new_key_pub);
		l->new_key_pub = xstrdup(form_text(f, l->f_new_pub));
	}
	if (l->f_st_on >= 0)
		l->storage_on = form_checked(f, l->f_st_on);
	if (l->f_st_name >= 0)
		copy_text(l->st_name, sizeof l->st_name, form_text(f, l->f_st_name));
	if (l->f_st_size >= 0)
		copy_text(l->st_size, sizeof l->st_size, form_text(f, l->f_st_size));
	if (l->f_st_mount >= 0)
		copy_text(l->st_mount, sizeof l->st_mount, form_text(f, l->f_st_mount));
	if (l->f_rt >= 0)
		l->runtime = form_selected(f, l->f_rt);
}

static void form_done_cb(void *ud, Form *f, FormOutcome outcome);

/* The GPU counts the SKU offers, as options; sel: the index of gpu_count. */
static void gpu_options(const Launch *l, char opts[][16], const char **ptrs, int *n, int *sel)
{
	const Sku *s = cur_sku(l);
	*n = 0;
	*sel = 0;
	if (!s || s->ncounts == 0) {
		snprintf(opts[0], 16, "%s", "-");
		ptrs[0] = opts[0];
		*n = 1;
		return;
	}
	for (int i = 0; i < s->ncounts; i++) {
		snprintf(opts[i], 16, "%d", s->counts[i]);
		ptrs[i] = opts[i];
		if (s->counts[i] == l->gpu_count)
			*sel = i;
	}
	*n = s->ncounts;
}

static void layout_form(Launch *l);

/* (Re)builds the form of the current step from the state. */
static void build_form(Launch *l)
{
	int focus = l->form ? form_focus(l->form) : 0;
	form_free(&l->form);
	l->f_name = l->f_sku = l->f_gpu = l->f_image = l->f_net = l->f_key0 = -1;
	l->f_new_name = l->f_new_pub = l->f_st_on = l->f_st_name = l->f_st_size = l->f_st_mount = l->f_rt = -1;
	char title[96];
	snprintf(title, sizeof title, "Step %d of %d: %s", l->step + 1, ST_COUNT, step_names[l->step]);
	Form *f = form_new(l->form_win, title);
	l->form = f;
	const char *ell = app_ascii(l->app) ? "..." : "…";
	char loading[32];
	snprintf(loading, sizeof loading, "loading%s", ell);
	const char *loading_opt[] = { loading };
	switch (l->step) {
	case ST_HW: {
		l->f_name = form_add_text(f, "Name", l->name, 63, true);
		if (l->nskus > 0) {
			const char **opts = xcalloc((size_t)l->nskus, sizeof *opts);
			for (int i = 0; i < l->nskus; i++)
				opts[i] = l->skus[i].label;
			l->f_sku = form_add_select(f, "SKU", opts, l->nskus, l->sku >= 0 ? l->sku : 0);
			free(opts);
		} else {
			l->f_sku = form_add_select(f, "SKU", loading_opt, 1, 0);
		}
		char opts[MAX_COUNTS][16];
		const char *ptrs[MAX_COUNTS];
		int n, sel;
		gpu_options(l, opts, ptrs, &n, &sel);
		l->f_gpu = form_add_select(f, "GPUs", ptrs, n, sel);
		form_set_note(f, "Tab next field · ←/→ change · Enter next step · Esc leaves the wizard");
		break;
	}
	case ST_IMAGE:
	case ST_NET: {
		int which = l->step == ST_IMAGE ? LOAD_IMAGES : LOAD_NETS;
		int *cur = l->step == ST_IMAGE ? &l->image : &l->net;
		int n = l->nitems[which];
		int fi;
		if (n > 0) {
			const char **opts = xcalloc((size_t)n, sizeof *opts);
			for (int i = 0; i < n; i++)
				opts[i] = l->items[which][i].label;
			fi = form_add_select(f, l->step == ST_IMAGE ? "Image" : "Network", opts, n, *cur >= 0 ? *cur : 0);
			free(opts);
		} else {
			fi = form_add_select(f, l->step == ST_IMAGE ? "Image" : "Network", loading_opt, 1, 0);
		}
		if (l->step == ST_IMAGE)
			l->f_image = fi;
		else
			l->f_net = fi;
		form_set_note(f, "←/→ change · Enter next step · Esc back");
		break;
	}
	case ST_ACCESS: {
		int n = l->nitems[LOAD_KEYS];
		for (int i = 0; i < n; i++) {
			int fi = form_add_checkbox(f, l->items[LOAD_KEYS][i].name, l->items[LOAD_KEYS][i].chosen);
			if (i == 0)
				l->f_key0 = fi;
		}
		l->f_new_name = form_add_text(f, "New key name", l->new_key_name, 63, false);
		l->f_new_pub = form_add_text(f, "New public key", l->new_key_pub ? l->new_key_pub : "", 8192, false);
		form_set_note(f, "Space ticks a key · fill both New key lines and Enter to add one · Esc back");
		break;
	}
	case ST_STORAGE:
		l->f_st_on = form_add_checkbox(f, "Attach project storage", l->storage_on);
		l->f_st_name = form_add_text(f, "Volume name", l->st_name, 63, false);
		l->f_st_size = form_add_text(f, "Size (GB)", l->st_size, 6, false);
		l->f_st_mount = form_add_text(f, "Mount path", l->st_mount, 120, false);
		form_set_note(f, "Optional: project storage persists across releases · Space ticks · Esc back");
		break;
	case ST_RUNTIME: {
		/* Until the list is here the second option says so; going on is
		 * refused on it, and "none" never needs the list. */
		int n = l->nitems[LOAD_RUNTIMES];
		int nopts = 1 + (l->loaded[LOAD_RUNTIMES] ? n : 1);
		const char **opts = xcalloc((size_t)nopts, sizeof *opts);
		opts[0] = NO_RUNTIME;
		if (!l->loaded[LOAD_RUNTIMES])
			opts[1] = loading;
		for (int i = 0; l->loaded[LOAD_RUNTIMES] && i < n; i++)
			opts[1 + i] = l->items[LOAD_RUNTIMES][i].label;
		l->f_rt = form_add_select(f, "Managed runtime", opts, nopts,
		                          l->runtime >= 0 && l->runtime < nopts ? l->runtime : 0);
		free(opts);
		form_set_note(f, "Optional: a supported environment on top of the machine · Esc back");
		break;
	}
	case ST_REVIEW:
		form_set_note(f, "Check the summary above · Enter launches · Esc back");
		break;
	}
	form_set_buttons(f, l->step == ST_REVIEW ? "Launch" : "Next", l->step == ST_HW ? "Cancel" : "Back");
	form_set_callback(f, form_done_cb, l);
	if (focus >= 0 && focus < form_field_count(f) + 2)
		form_set_focus(f, focus);
	if (l->field_error_step == l->step && l->field_error_field >= 0) {
		int fi = l->field_error_field == 0 ? l->f_sku : l->field_error_field == 1 ? l->f_gpu
		         : l->field_error_field == 2 ? l->f_name : l->field_error_field == 3 ? l->f_st_name
		         : l->field_error_field == 4 ? l->f_rt : -1;
		if (fi >= 0)
			form_set_error(f, fi, l->field_error);
		l->field_error_step = -1;
	}
	layout_form(l);
}

static void go_step(Launch *l, int step)
{
	sync_from_form(l);
	l->step = step;
	form_free(&l->form); /* focus starts at the first field */
	build_form(l);
	app_invalidate(l->app);
}

/* --- the catalog ----------------------------------------------------------------------- */

static void load_start(Launch *l, int which);

static void decode_sku(Launch *l, json_t *it)
{
	const char *id = json_string_value(json_object_get(it, "id"));
	const char *name = json_string_value(json_object_get(it, "name"));
	json_t *counts = json_object_get(it, "gpu_counts");
	json_t *price = json_object_get(it, "price_per_gpu_hour_cents");
	if (!id || !*id || !json_is_array(counts) || !json_is_integer(price))
		return; /* not usable: skip rather than offer something the server refuses */
	Sku *s = &l->skus[l->nskus++];
	memset(s, 0, sizeof *s);
	s->id = xstrdup(id);
	char nm[96], region[64];
	bool ascii = app_ascii(l->app);
	views_clean(name && *name ? name : id, 32, ascii, nm, sizeof nm);
	const char *rg = json_string_value(json_object_get(it, "region"));
	views_clean(rg ? rg : "", 16, ascii, region, sizeof region);
	s->name = xstrdup(nm);
	json_int_t p = json_integer_value(price);
	s->price = p > 0 && p < 100000000 ? (int)p : 0;
	size_t i;
	json_t *c;
	json_array_foreach(counts, i, c) {
		if (s->ncounts < MAX_COUNTS && json_is_integer(c) && json_integer_value(c) > 0 &&
		    json_integer_value(c) <= 1024)
			s->counts[s->ncounts++] = (int)json_integer_value(c);
	}
	json_t *av = json_object_get(it, "available");
	json_t *ac = json_object_get(it, "available_count");
	s->available = json_is_true(av) && s->ncounts > 0;
	char price_s[24];
	views_price(s->price, price_s, sizeof price_s);
	const char *sp = ascii ? "|" : "·";
	if (s->available)
		s->label = xasprintf("%s %s %s %s %s/GPU-h %s %lld available", nm, sp, region[0] ? region : "-", sp,
		                     price_s, sp, json_is_integer(ac) ? (long long)json_integer_value(ac) : 0LL);
	else
		s->label = xasprintf("%s %s %s %s %s/GPU-h %s Unavailable (sold out)", nm, sp,
		                     region[0] ? region : "-", sp, price_s, sp);
}

static void add_item(Launch *l, int which, json_t *it)
{
	const char *id = json_string_value(json_object_get(it, "id"));
	const char *name = json_string_value(json_object_get(it, "name"));
	if (!id || !*id || l->nitems[which] >= MAX_ITEMS)
		return;
	l->items[which] = xrealloc(l->items[which], sizeof(Item) * (size_t)(l->nitems[which] + 1));
	Item *x = &l->items[which][l->nitems[which]++];
	memset(x, 0, sizeof *x);
	x->id = xstrdup(id);
	char nm[96];
	views_clean(name && *name ? name : id, 40, app_ascii(l->app), nm, sizeof nm);
	x->name = xstrdup(nm);
	if (which == LOAD_KEYS) {
		const char *fp = json_string_value(json_object_get(it, "fingerprint"));
		char f[80];
		views_clean(fp ? fp : "", 60, app_ascii(l->app), f, sizeof f);
		x->label = xstrdup(f[0] ? f : "(no fingerprint)");
	} else {
		x->label = xstrdup(nm);
	}
}

/* A runtime is usable only with both halves of its key: bundle goes in id,
 * the server's label (or "bundle version") in name, and the option text
 * shows the pair too, as --runtime and the API spell it. */
static void add_runtime(Launch *l, json_t *it)
{
	const char *bundle = json_string_value(json_object_get(it, "bundle"));
	const char *ver = json_string_value(json_object_get(it, "version"));
	const char *label = json_string_value(json_object_get(it, "label"));
	if (!bundle || !*bundle || !ver || !*ver || l->nitems[LOAD_RUNTIMES] >= MAX_ITEMS)
		return;
	l->items[LOAD_RUNTIMES] = xrealloc(l->items[LOAD_RUNTIMES],
	                                   sizeof(Item) * (size_t)(l->nitems[LOAD_RUNTIMES] + 1));
	Item *x = &l->items[LOAD_RUNTIMES][l->nitems[LOAD_RUNTIMES]++];
	memset(x, 0, sizeof *x);
	x->id = xstrdup(bundle);
	x->version = xstrdup(ver);
	bool ascii = app_ascii(l->app);
	char pair[160], nm[96], key[96];
	snprintf(pair, sizeof pair, "%s %s", bundle, ver);
	views_clean(label && *label ? label : pair, 40, ascii, nm, sizeof nm);
	views_clean(pair, 40, ascii, key, sizeof key);
	x->name = xstrdup(nm);
	x->label = strcmp(nm, key) ? xasprintf("%s (%s)", nm, key) : xstrdup(nm);
}

static void load_done(void *ud, const ApiResponse *r);

static void load_done(void *ud, const ApiResponse *r)
{
	LoadCtx *c = ud;
	Launch *l = c->l;
	int which = c->which;
	l->load[which] = NULL;
	if (r->outcome == API_CANCELLED)
		return;
	json_t *items = r->outcome == API_OK ? json_object_get(r->body, "items") : NULL;
	if (!json_is_array(items)) {
		snprintf(l->load_err[which], sizeof l->load_err[which], "could not load the %s: %s (Ctrl-R retries)",
		         load_what[which], r->outcome == API_OK ? "the answer has no items" : r->err_message);
		app_invalidate(l->app);
		return;
	}
	sync_from_form(l);
	size_t i;
	json_t *it;
	if (which == LOAD_SKUS) {
		size_t n = QD_MIN(json_array_size(items), (size_t)MAX_ITEMS);
		l->skus = xcalloc(n ? n : 1, sizeof *l->skus);
		json_array_foreach(items, i, it) {
			if (i >= n)
				break;
			if (json_is_object(it))
				decode_sku(l, it);
		}
		/* Start on the first SKU that can be had. */
		l->sku = -1;
		for (int k = 0; k < l->nskus && l->sku < 0; k++)
			if (l->skus[k].available)
				l->sku = k;
		if (l->sku < 0 && l->nskus > 0)
			l->sku = 0;
		if (cur_sku(l) && cur_sku(l)->ncounts)
			l->gpu_count = cur_sku(l)->counts[0];
	} else {
		json_array_foreach(items, i, it) {
			if (json_is_object(it) && which == LOAD_RUNTIMES)
				add_runtime(l, it);
			else if (json_is_object(it))
				add_item(l, which, it);
		}
		/* The option after "none" was the loading placeholder. */
		if (which == LOAD_RUNTIMES)
			l->runtime = 0;
		if (which == LOAD_IMAGES && l->nitems[which] > 0)
			l->image = 0;
		if (which == LOAD_NETS && l->nitems[which] > 0)
			l->net = 0;
		/* With one account key, it is the one to use. */
		if (which == LOAD_KEYS && l->nitems[which] == 1)
			l->items[which][0].chosen = true;
	}
	l->loaded[which] = true;
	l->load_err[which][0] = '\0';
	build_form(l);
	app_invalidate(l->app);
}

static void load_start(Launch *l, int which)
{
	l->load_ctx[which].l = l;
	l->load_ctx[which].which = which;
	l->load_err[which][0] = '\0';
	l->load[which] = api_request(app_api(l->app), "GET", load_paths[which], NULL, load_done, &l->load_ctx[which]);
}

/* --- adding a key ------------------------------------------------------------------------ */

static void key_added(void *ud, const ApiResponse *r)
{
	Launch *l = ud;
	l->post = NULL;
	if (r->outcome == API_CANCELLED)
		return;
	if (r->outcome != API_OK) {
		char msg[400];
		snprintf(msg, sizeof msg, "%s%s%s", r->err_message, r->err_suggestion[0] ? "; " : "", r->err_suggestion);
		if (l->step == ST_ACCESS && l->form)
			form_set_error(l->form, l->f_new_pub, msg);
		set_banner(l, true, "the key was not added: %s", msg);
		return;
	}
	sync_from_form(l);
	add_item(l, LOAD_KEYS, r->body);
	int n = l->nitems[LOAD_KEYS];
	if (n > 0)
		l->items[LOAD_KEYS][n - 1].chosen = true;
	l->new_key_name[0] = '\0';
	free(l->new_key_pub);
	l->new_key_pub = NULL;
	if (l->step == ST_ACCESS) {
		form_free(&l->form);
		build_form(l);
	}
	set_banner(l, false, "added the key %s to your account and ticked it", n > 0 ? l->items[LOAD_KEYS][n - 1].name : "");
}

static void add_key(Launch *l)
{
	if (!l->new_key_name[0]) {
		form_set_error(l->form, l->f_new_name, "give the new key a name (e.g. laptop)");
		return;
	}
	json_t *body = json_pack("{s:s, s:s}", "name", l->new_key_name, "public_key", l->new_key_pub);
	l->post = api_request(app_api(l->app), "POST", "/api/v1/ssh-keys", body, key_added, l);
	json_decref(body);
	set_banner(l, false, "adding the key %s%s", l->new_key_name, app_ascii(l->app) ? "..." : "…");
}

/* --- the launch -------------------------------------------------------------------------- */

static void launched(void *ud, const ApiResponse *r)
{
	Launch *l = ud;
	l->post = NULL;
	l->launching = false;
	if (r->outcome == API_CANCELLED)
		return;
	if (r->outcome == API_TRANSPORT) {
		set_banner(l, true, "cannot reach the server: %s. Nothing was launched; Enter on Launch tries again.",
		           r->err_message);
		return;
	}
	if (r->outcome != API_OK) {
		/* A precheck refusal: say it, and open the step that can fix it. */
		const char *code = r->err_code;
		set_banner(l, true, "Launch refused (%s): %s%s%s", code[0] ? code : "error", r->err_message,
		           r->err_suggestion[0] ? ". " : "", r->err_suggestion);
		int step = ST_REVIEW, field = -1;
		if (!strcmp(code, "sold_out") || !strcmp(code, "node_offline") || !strcmp(code, "topology_unsatisfiable")) {
			step = ST_HW;
			field = 0;
		} else if (!strcmp(code, "invalid_gpu_count")) {
			step = ST_HW;
			field = 1;
		} else if (strstr(r->err_message, "storage")) {
			step = ST_STORAGE;
			field = 3;
		} else if (strstr(r->err_message, "runtime")) {
			step = ST_RUNTIME;
			field = 4;
		} else if (strstr(r->err_message, "name")) {
			step = ST_HW;
			field = 2;
		}
		l->field_error_step = step;
		l->field_error_field = field;
		snprintf(l->field_error, sizeof l->field_error, "%s", r->err_message);
		go_step(l, step);
		return;
	}
	const char *id = json_string_value(json_object_get(r->body, "allocation_id"));
	const char *task = json_string_value(json_object_get(r->body, "task_id"));
	App *app = l->app;
	char cid[64], ctask[64], msg[256];
	views_clean(id ? id : "", 40, app_ascii(app), cid, sizeof cid);
	views_clean(task ? task : "", 40, app_ascii(app), ctask, sizeof ctask);
	const char *sp = app_ascii(app) ? "|" : "·";
	snprintf(msg, sizeof msg, "launch accepted %s task %s %s %s (%s) provisioning", sp, ctask[0] ? ctask : "(none)",
	         sp, l->name, cid);
	app_notify(app, msg);
	if (id && *id) {
		workbench_select_later(app, id);
		session_refresh_allocation(app_session(app), id);
	}
	app_pop(app, l); /* frees l */
}

static void launch_now(Launch *l)
{
	const Sku *s = cur_sku(l);
	json_t *keys = json_array();
	for (int i = 0; i < l->nitems[LOAD_KEYS]; i++)
		if (l->items[LOAD_KEYS][i].chosen)
			json_array_append_new(keys, json_string(l->items[LOAD_KEYS][i].id));
	json_t *body = json_pack("{s:s, s:s, s:i, s:s, s:s, s:o}", "name", l->name, "sku_id", s->id, "gpu_count",
	                         l->gpu_count, "image_id", l->items[LOAD_IMAGES][l->image].id, "network_id",
	                         l->items[LOAD_NETS][l->net].id, "ssh_key_ids", keys);
	if (l->storage_on)
		json_object_set_new(body, "storage",
		                    json_pack("[{s:s, s:i, s:s}]", "name", l->st_name, "size_gb", atoi(l->st_size),
		                              "mount_path", l->st_mount));
	const Item *rt = cur_runtime(l);
	if (rt)
		json_object_set_new(body, "runtime", json_pack("{s:s, s:s}", "bundle", rt->id, "version", rt->version));
	l->launching = true;
	l->post = api_request(app_api(l->app), "POST", "/api/v1/allocations", body, launched, l);
	json_decref(body);
	set_banner(l, false, "launching %s%s", l->name, app_ascii(l->app) ? "..." : "…");
}

/* --- step validation ------------------------------------------------------------------------ */

static bool name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
			return false;
	return true;
}

/* True when the step's values allow going on; otherwise an error is shown. */
static bool step_valid(Launch *l)
{
	Form *f = l->form;
	switch (l->step) {
	case ST_HW: {
		if (!name_ok(l->name)) {
			form_set_error(f, l->f_name, "1-63 letters, digits, '-', '_' or '.'");
			return false;
		}
		const Sku *s = cur_sku(l);
		if (!s) {
			form_set_error(f, l->f_sku, l->load_err[LOAD_SKUS][0] ? l->load_err[LOAD_SKUS] : "the SKU list is still loading");
			return false;
		}
		if (!s->available) {
			form_set_error(f, l->f_sku, "Unavailable: this SKU is sold out; pick another");
			return false;
		}
		bool ok = false;
		for (int i = 0; i < s->ncounts; i++)
			ok |= s->counts[i] == l->gpu_count;
		if (!ok) {
			form_set_error(f, l->f_gpu, "this SKU does not offer that GPU count");
			return false;
		}
		return true;
	}
	case ST_IMAGE:
	case ST_NET: {
		int which = l->step == ST_IMAGE ? LOAD_IMAGES : LOAD_NETS;
		int cur = l->step == ST_IMAGE ? l->image : l->net;
		if (cur < 0 || cur >= l->nitems[which]) {
			form_set_error(f, l->step == ST_IMAGE ? l->f_image : l->f_net,
			               l->load_err[which][0] ? l->load_err[which] : "still loading");
			return false;
		}
		return true;
	}
	case ST_ACCESS: {
		if (l->new_key_pub && l->new_key_pub[0]) {
			add_key(l);
			return false; /* stay: the new key shows up ticked */
		}
		int chosen = 0;
		for (int i = 0; i < l->nitems[LOAD_KEYS]; i++)
			chosen += l->items[LOAD_KEYS][i].chosen;
		if (chosen == 0) {
			form_set_error(f, l->f_key0 >= 0 ? l->f_key0 : l->f_new_pub,
			               l->f_key0 >= 0 ? "tick at least one key (Space), or add one below"
			                              : "add a public key: you need one to SSH in");
			return false;
		}
		return true;
	}
	case ST_STORAGE: {
		if (!l->storage_on)
			return true;
		const char *why = launch_check_storage(l->st_name, l->st_size, l->st_mount);
		if (why) {
			form_set_error(f, strstr(why, "name") ? l->f_st_name : strstr(why, "size") ? l->f_st_size : l->f_st_mount, why);
			return false;
		}
		return true;
	}
	case ST_RUNTIME:
		if (l->runtime > 0 && !cur_runtime(l)) {
			form_set_error(f, l->f_rt, l->load_err[LOAD_RUNTIMES][0] ? l->load_err[LOAD_RUNTIMES]
			                                                         : "the runtime list is still loading");
			return false;
		}
		return true;
	default:
		return true;
	}
}

static void form_done_cb(void *ud, Form *f, FormOutcome outcome)
{
	/* Acted on in l_key once the form has returned (it may be rebuilt). */
	(void)ud;
	(void)f;
	(void)outcome;
}

/* --- widget ------------------------------------------------------------------------------------- */

#define INFO_MAX 14

typedef struct {
	char text[INFO_MAX][300];
	ThemeRole role[INFO_MAX];
	int n;
} Info;

static void info_add(Info *in, ThemeRole role, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void info_add(Info *in, ThemeRole role, const char *fmt, ...)
{
	if (in->n == INFO_MAX)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(in->text[in->n], sizeof in->text[0], fmt, ap);
	va_end(ap);
	in->role[in->n++] = role;
}

/* Long text (a refusal with its suggestion) over several lines, cut at spaces. */
static void info_wrap(Info *in, ThemeRole role, const char *text, int width)
{
	if (width < 20)
		width = 20;
	const char *p = text;
	while (*p && in->n < INFO_MAX) {
		size_t len = strlen(p);
		/* Columns ~ bytes here: server text is mostly ASCII, and the
		 * drawing cuts with an ellipsis whatever is still too wide. */
		size_t cut = len;
		if ((int)len > width) {
			cut = (size_t)width;
			while (cut > (size_t)width / 2 && p[cut] != ' ')
				cut--;
			if (p[cut] != ' ')
				cut = (size_t)width;
		}
		info_add(in, role, " %.*s", (int)cut, p);
		p += cut;
		while (*p == ' ')
			p++;
	}
}

/* The lines between the header and the form: banner, cost, review. */
static void build_info(Launch *l, Info *in)
{
	in->n = 0;
	if (l->banner[0])
		info_wrap(in, l->banner_error ? ROLE_STATUS_ERROR : ROLE_STATUS_WARN, l->banner, COLS - 2);
	for (int w = 0; w < LOAD_COUNT; w++)
		if (l->load_err[w][0])
			info_add(in, ROLE_STATUS_ERROR, " %s", l->load_err[w]);
	const Sku *s = cur_sku(l);
	char price[24], total[24];
	int est = s ? launch_estimate_cents(s->price, l->gpu_count) : 0;
	views_price(s ? s->price : 0, price, sizeof price);
	views_price(est, total, sizeof total);
	if (l->step == ST_ACCESS && l->form) {
		/* One line whatever the number of keys, so the form keeps its room:
		 * the focused key's fingerprint, else how many are ticked. */
		int nk = l->nitems[LOAD_KEYS], k = form_focus(l->form) - l->f_key0, ticked = 0;
		for (int i = 0; i < nk; i++)
			ticked += form_checked(l->form, l->f_key0 + i);
		if (nk > 0 && l->f_key0 >= 0 && k >= 0 && k < nk)
			info_add(in, ROLE_DIM, " %s  %s", l->items[LOAD_KEYS][k].name, l->items[LOAD_KEYS][k].label);
		else
			info_add(in, ROLE_DIM, " %d SSH key%s on the account, %d ticked", nk, nk == 1 ? "" : "s", ticked);
	}
	if (l->step == ST_HW && s)
		info_add(in, ROLE_DEFAULT, " Estimated cost: %s per hour (%d GPU%s at %s per GPU-hour)", total, l->gpu_count,
		         l->gpu_count == 1 ? "" : "s", price);
	if (l->step != ST_REVIEW)
		return;
	const char *dash = app_ascii(l->app) ? "-" : "—";
	info_add(in, ROLE_HEADER, " Review");
	info_add(in, ROLE_DEFAULT, "   Name        %s", l->name);
	info_add(in, ROLE_DEFAULT, "   Hardware    %s %s %d GPU%s", s ? s->name : dash, app_ascii(l->app) ? "x" : "×",
	         l->gpu_count, l->gpu_count == 1 ? "" : "s");
	info_add(in, ROLE_DEFAULT, "   Image       %s",
	         l->image >= 0 && l->image < l->nitems[LOAD_IMAGES] ? l->items[LOAD_IMAGES][l->image].name : dash);
	info_add(in, ROLE_DEFAULT, "   Network     %s",
	         l->net >= 0 && l->net < l->nitems[LOAD_NETS] ? l->items[LOAD_NETS][l->net].name : dash);
	char keys[256] = "";
	size_t kn = 0;
	for (int i = 0; i < l->nitems[LOAD_KEYS]; i++)
		if (l->items[LOAD_KEYS][i].chosen && kn < sizeof keys)
			kn += (size_t)snprintf(keys + kn, sizeof keys - kn, "%s%s", kn ? ", " : "", l->items[LOAD_KEYS][i].name);
	info_add(in, ROLE_DEFAULT, "   SSH keys    %s", keys[0] ? keys : dash);
	if (l->storage_on)
		info_add(in, ROLE_DEFAULT, "   Storage     %s, %s GB at %s (persists)", l->st_name, l->st_size, l->st_mount);
	else
		info_add(in, ROLE_DEFAULT, "   Storage     scratch disk only (deleted on release)");
	const Item *rt = cur_runtime(l);
	info_add(in, ROLE_DEFAULT, "   Runtime     %s", rt ? rt->label : NO_RUNTIME);
	info_add(in, ROLE_STATE_OK, "   Estimated   %s per hour, billed while it runs", total);
}

static void layout_form(Launch *l)
{
	int rows = app_content_rows(l->app);
	int top = 2 + l->info_rows;
	int fh = rows - top;
	if (fh < 6) { /* small terminals: the form wins over the info lines */
		top = rows - 6 > 2 ? rows - 6 : 2;
		fh = rows - top;
	}
	if (l->form_win)
		delwin(l->form_win);
	l->form_win = derwin(l->base.win, fh > 1 ? fh : 1, COLS, top, 0);
	if (l->form)
		form_set_window(l->form, l->form_win);
}

static void l_layout(Launch *l)
{
	int rows = app_content_rows(l->app);
	if (!l->base.win)
		l->base.win = newwin(rows, COLS, 0, 0);
	else {
		wresize(l->base.win, rows, COLS);
		mvwin(l->base.win, 0, 0);
		werase(l->base.win);
	}
	layout_form(l);
}

static void l_draw(Widget *w)
{
	Launch *l = (Launch *)w;
	Info in;
	build_info(l, &in);
	if (in.n != l->info_rows) {
		l->info_rows = in.n;
		layout_form(l);
	}
	bool ascii = app_ascii(l->app);
	char title[256];
	snprintf(title, sizeof title, " Launch workload %s step %d of %d: %s", ascii ? "|" : "·", l->step + 1, ST_COUNT,
	         step_names[l->step]);
	draw_text_pad(w->win, 0, 0, COLS, title, ROLE_HEADER, false);
	/* The steps, the current one in brackets, like the detail tabs. */
	char steps[256];
	size_t n = 0;
	for (int i = 0; i < ST_COUNT && n < sizeof steps; i++)
		n += (size_t)snprintf(steps + n, sizeof steps - n, i == l->step ? "%s[%s]" : "%s %s ", i ? " " : "",
		                      step_names[i]);
	draw_text_pad(w->win, 1, 0, COLS, steps, ROLE_DIM, false);
	int top = getpary(l->form_win);
	for (int i = 0; i < in.n && 2 + i < top; i++)
		draw_text_pad(w->win, 2 + i, 0, COLS, in.text[i], in.role[i], false);
	widget_draw(form_widget(l->form));
	touchwin(w->win);
}

/* After a key moved the SKU select: the GPU counts follow the SKU. A sold-out
 * SKU stays selectable to look at (it reads "Unavailable (sold out)", seed
 * 001); step_valid() refuses to go on with it. */
static void sku_changed(Launch *l, int before)
{
	if (l->f_sku < 0 || l->nskus == 0)
		return;
	int now = form_selected(l->form, l->f_sku);
	if (now == before)
		return;
	l->sku = now;
	const Sku *s = cur_sku(l);
	char opts[MAX_COUNTS][16];
	const char *ptrs[MAX_COUNTS];
	int n, sel;
	bool kept = false;
	for (int i = 0; s && i < s->ncounts; i++)
		kept |= s->counts[i] == l->gpu_count;
	if (!kept && s && s->ncounts)
		l->gpu_count = s->counts[0];
	gpu_options(l, opts, ptrs, &n, &sel);
	form_set_options(l->form, l->f_gpu, ptrs, n, sel);
}

static WidgetResult l_key(Widget *w, const KeyEvent *ev)
{
	Launch *l = (Launch *)w;
	if (ev->action == ACTION_REFRESH) {
		for (int i = 0; i < LOAD_COUNT; i++)
			if (!l->loaded[i] && !l->load[i])
				load_start(l, i);
		return W_HANDLED | W_REDRAW;
	}
	int sku_before = l->f_sku >= 0 ? form_selected(l->form, l->f_sku) : -1;
	WidgetResult r = widget_key(form_widget(l->form), ev);
	if (l->f_sku >= 0 && form_focus(l->form) == l->f_sku)
		sku_changed(l, sku_before);
	sync_from_form(l);
	FormOutcome o = form_outcome(l->form);
	if (!(r & W_CLOSE) || o == FORM_PENDING) {
		app_invalidate(l->app);
		return W_HANDLED | W_REDRAW;
	}
	form_reopen(l->form);
	if (o == FORM_CANCELLED) {
		if (l->step == ST_HW)
			return W_CLOSE;
		l->banner[0] = '\0';
		go_step(l, l->step - 1);
		return W_HANDLED | W_REDRAW;
	}
	if (l->post) {
		set_banner(l, false, "%s", l->launching ? "already launching: waiting for the server's answer"
		                                        : "adding the key: waiting for the server's answer");
		return W_HANDLED | W_REDRAW;
	}
	if (!step_valid(l))
		return W_HANDLED | W_REDRAW;
	if (l->step == ST_REVIEW) {
		if (!cur_sku(l) || l->image < 0 || l->net < 0) {
			set_banner(l, true, "the catalog is not loaded yet (Ctrl-R retries)");
			return W_HANDLED | W_REDRAW;
		}
		launch_now(l);
		return W_HANDLED | W_REDRAW;
	}
	l->banner[0] = '\0';
	go_step(l, l->step + 1);
	return W_HANDLED | W_REDRAW;
}

static void l_resize(Widget *w) { l_layout((Launch *)w); }

static void l_destroy(Widget *w)
{
	Launch *l = (Launch *)w;
	for (int i = 0; i < LOAD_COUNT; i++)
		if (l->load[i])
			api_cancel(l->load[i]);
	if (l->post)
		api_cancel(l->post);
	form_free(&l->form);
	if (l->form_win)
		delwin(l->form_win);
	if (l->base.win)
		delwin(l->base.win);
	for (int i = 0; i < l->nskus; i++) {
		free(l->skus[i].id);
		free(l->skus[i].label);
		free(l->skus[i].name);
	}
	free(l->skus);
	for (int w2 = 0; w2 < LOAD_COUNT; w2++) {
		for (int i = 0; i < l->nitems[w2]; i++) {
			free(l->items[w2][i].id);
			free(l->items[w2][i].name);
			free(l->items[w2][i].label);
			free(l->items[w2][i].version);
		}
		free(l->items[w2]);
	}
	free(l->new_key_pub);
}

static const WidgetClass launch_class = {
	.name = "launch", .draw = l_draw, .key = l_key, .resize = l_resize,
	.destroy = l_destroy, .keymap_context = "form",
};

static void l_free(void *obj)
{
	Launch *l = obj;
	l_destroy(&l->base);
	free(l);
}

static void l_describe(void *obj, char *mode, size_t msz, char *hints, size_t hsz)
{
	Launch *l = obj;
	const ViewHint h[] = {
		{ACTION_NEXT_FIELD, "next field"},
		{ACTION_SUBMIT, l->step == ST_REVIEW ? "launch" : "next"},
		{ACTION_CANCEL, l->step == ST_HW ? "leave" : "back"},
	};
	snprintf(mode, msz, "Launch");
	views_hints(l->app, "form", h, QD_ARRAY_LEN(h), hints, hsz);
	/* Choices move with the arrow keys inside the select field itself. */
	size_t n = strlen(hints);
	snprintf(hints + n, hsz - n, " %s %s change", app_ascii(l->app) ? "|" : "·",
	         app_ascii(l->app) ? "Left/Right" : "←/→");
}

static bool l_cursor(void *obj, int *y, int *x)
{
	Launch *l = obj;
	int f = form_focus(l->form);
	bool text = f == l->f_name || f == l->f_new_name || f == l->f_new_pub || f == l->f_st_name ||
	            f == l->f_st_size || f == l->f_st_mount;
	if (!text || f < 0)
		return false;
	int cy, cx;
	getyx(l->form_win, cy, cx);
	*y = cy + getpary(l->form_win);
	*x = cx + getparx(l->form_win);
	return true;
}

void launch_open(App *app)
{
	Launch *l = xcalloc(1, sizeof *l);
	l->base.klass = &launch_class;
	l->app = app;
	l->sku = l->image = l->net = -1;
	l->field_error_step = -1;
	l->runtime = 0;
	/* A name the operator can keep: launch-<4 hex>. */
	snprintf(l->name, sizeof l->name, "launch-%04x", (unsigned)(qd_mono_ms() & 0xffff));
	snprintf(l->st_name, sizeof l->st_name, "data");
	snprintf(l->st_size, sizeof l->st_size, "100");
	snprintf(l->st_mount, sizeof l->st_mount, "/mnt/data");
	l_layout(l);
	build_form(l);
	for (int i = 0; i < LOAD_COUNT; i++)
		load_start(l, i);
	AppLayer layer = { .w = &l->base, .obj = l, .free_obj = l_free, .describe = l_describe,
	                   .cursor = l_cursor, .full = true };
	app_push(app, &layer);
}

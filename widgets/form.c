/* form — labelled text / secret / select / checkbox fields plus Submit and
 * Cancel.
 *
 * A secret field keeps its bytes in one buffer allocated once at its full
 * size (no realloc leaving copies behind), edited only at the end, wiped with
 * explicit_bzero whenever its text is replaced or the form is freed, and
 * drawn only as a mask (form_secret_mask). */
#include "widgets/form.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sanitize.h"
#include "common/util.h"
#include "widgets/cmdline.h"
#include "widgets/draw.h"

typedef enum { FIELD_TEXT, FIELD_SELECT, FIELD_CHECK, FIELD_SECRET } FieldKind;

typedef struct {
	FieldKind kind;
	char *label;
	bool required;
	Cmdline *text;   /* FIELD_TEXT */
	char **options;  /* FIELD_SELECT */
	int noptions;
	int selected;
	bool checked;    /* FIELD_CHECK */
	char *secret;    /* FIELD_SECRET: scap + 1 bytes, NUL-terminated */
	size_t slen, scap;
	char *error;     /* shown under the field; NULL = none */
} Field;

struct Form {
	Widget w;
	char *title;
	char *note;
	char *submit;
	char *cancel;
	Field *f;
	int n, cap;
	int focus; /* 0..n-1 fields, n submit, n+1 cancel */
	int scroll; /* first row of the fields on screen (rows: a field's line, then its error) */
	FormOutcome outcome;
	FormDoneFn done;
	void *ud;
};

static const WidgetClass form_class;

/* Where things go in the window. The fields scroll inside [area_y, area_y +
 * area_h); the "more" lines use the spacer rows around them, or the frame's
 * edges when the window is too short for spacers. */
typedef struct {
	int note_y;         /* -1: no room for the note */
	int note_h;         /* its lines shown (one per '\n'-separated line) */
	int up_y, down_y;   /* rows of the "more above" / "more below" lines */
	int area_y, area_h; /* the rows the fields scroll in */
	int buttons_y;
} Layout;

static Layout layout(const Form *f)
{
	int h = f->w.win ? getmaxy(f->w.win) : 0;
	Layout L = {.note_y = -1, .up_y = 0, .down_y = h - 1, .buttons_y = h - 2};
	int y = 1, rows = h - 3; /* between the top edge and the buttons */
	if (f->note && rows >= 2) { /* the note, as far as a field still has a row */
		int lines = 1;
		for (const char *p = f->note; *p; p++)
			lines += *p == '\n';
		L.note_y = y;
		L.note_h = QD_MIN(lines, rows - 1);
		y += L.note_h;
		rows -= L.note_h;
	}
	if (rows >= 4) { /* spacers above and below the fields, the "more" lines in them */
		L.up_y = y++;
		rows -= 2;
		L.down_y = y + rows;
	}
	L.area_y = y;
	L.area_h = rows > 0 ? rows : 0;
	return L;
}

static int field_rows(const Form *f, int i) { return f->f[i].error ? 2 : 1; }

static int field_row(const Form *f, int i)
{
	int r = 0;
	for (int k = 0; k < i && k < f->n; k++)
		r += field_rows(f, k);
	return r;
}

/* Scrolls so the focused field and its error are in view (when on a button,
 * the fields stay where they are), within the bounds of the content. */
static void keep_focus_visible(Form *f)
{
	int area = layout(f).area_h, total = field_row(f, f->n);
	if (f->focus >= 0 && f->focus < f->n && area > 0) {
		int a = field_row(f, f->focus), b = a + field_rows(f, f->focus);
		if (b - a > area || a < f->scroll)
			f->scroll = a; /* taller than the room: its label first */
		else if (b > f->scroll + area)
			f->scroll = b - area;
	}
	int max = total > area ? total - area : 0;
	f->scroll = f->scroll > max ? max : f->scroll < 0 ? 0 : f->scroll;
	/* the top row is always a field's first: never an error without its label */
	for (int i = 0, r = 0; i < f->n; r += field_rows(f, i), i++)
		if (r >= f->scroll) {
			f->scroll = r;
			break;
		}
}

int form_scroll(const Form *f) { return f->scroll; }

bool form_field_visible(const Form *f, int i)
{
	if (i < 0 || i >= f->n)
		return false;
	int a = field_row(f, i), b = a + field_rows(f, i);
	return a >= f->scroll && b <= f->scroll + layout(f).area_h;
}

Form *form_new(WINDOW *win, const char *title)
{
	Form *f = xcalloc(1, sizeof *f);
	f->w.klass = &form_class;
	f->w.win = win;
	f->w.dirty = true;
	f->title = title ? xstrdup(title) : NULL;
	f->submit = xstrdup("Submit");
	f->cancel = xstrdup("Cancel");
	return f;
}

static void free_options(Field *fd)
{
	for (int i = 0; i < fd->noptions; i++)
		free(fd->options[i]);
	free(fd->options);
	fd->options = NULL;
	fd->noptions = 0;
}

static void form_destroy(Widget *w)
{
	Form *f = (Form *)w;
	for (int i = 0; i < f->n; i++) {
		free(f->f[i].label);
		free(f->f[i].error);
		cmdline_free(&f->f[i].text);
		free_options(&f->f[i]);
		if (f->f[i].secret) {
			explicit_bzero(f->f[i].secret, f->f[i].scap + 1);
			free(f->f[i].secret);
		}
	}
	free(f->f);
	free(f->title);
	free(f->note);
	free(f->submit);
	free(f->cancel);
	free(f);
}

void form_free(Form **f)
{
	if (!f || !*f)
		return;
	form_destroy(&(*f)->w);
	*f = NULL;
}

Widget *form_widget(Form *f) { return &f->w; }
void form_set_window(Form *f, WINDOW *win)
{
	f->w.win = win;
	f->w.dirty = true;
	keep_focus_visible(f);
}
int form_field_count(const Form *f) { return f->n; }
int form_focus(const Form *f) { return f->focus; }
FormOutcome form_outcome(const Form *f) { return f->outcome; }
void form_reopen(Form *f) { f->outcome = FORM_PENDING; f->w.dirty = true; }
void form_set_callback(Form *f, FormDoneFn fn, void *ud) { f->done = fn, f->ud = ud; }

static Field *add(Form *f, FieldKind kind, const char *label)
{
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 8;
		f->f = xrealloc(f->f, (size_t)f->cap * sizeof *f->f);
	}
	Field *fd = &f->f[f->n++];
	*fd = (Field){.kind = kind, .label = xstrdup(label ? label : "")};
	f->w.dirty = true;
	return fd;
}

int form_add_text(Form *f, const char *label, const char *initial, size_t max_chars, bool required)
{
	Field *fd = add(f, FIELD_TEXT, label);
	fd->required = required;
	fd->text = cmdline_new(NULL, NULL, max_chars);
	cmdline_open(fd->text, NULL, initial);
	return f->n - 1;
}

int form_add_secret(Form *f, const char *label, size_t max_bytes, bool required)
{
	Field *fd = add(f, FIELD_SECRET, label);
	fd->required = required;
	fd->scap = max_bytes ? max_bytes : 1024;
	fd->secret = xcalloc(1, fd->scap + 1);
	return f->n - 1;
}

static void secret_set(Field *fd, const char *text)
{
	explicit_bzero(fd->secret, fd->scap + 1);
	size_t n = text ? strlen(text) : 0;
	fd->slen = n < fd->scap ? n : fd->scap;
	if (fd->slen)
		memcpy(fd->secret, text, fd->slen);
}

/* Characters (not bytes) in a UTF-8 string: what the mask counts. */
static size_t utf8_chars(const char *s, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xc0) != 0x80;
	return c;
}

void form_secret_mask(size_t nchars, int cols, bool ascii, char *buf, size_t sz)
{
	if (sz == 0)
		return;
	buf[0] = '\0';
	if (nchars == 0)
		return;
	const char *dot = ascii ? "*" : "\xe2\x80\xa2"; /* • */
	size_t dl = strlen(dot);
	if (cols > 0 && nchars < (size_t)cols && nchars * dl < sz) {
		for (size_t i = 0; i < nchars; i++)
			memcpy(buf + i * dl, dot, dl);
		buf[nchars * dl] = '\0';
		return;
	}
	/* Too long to show one mark each: a count says as much. */
	snprintf(buf, sz, "(hidden, %zu chars)", nchars);
}

static void set_options(Field *fd, const char *const *options, int n, int selected)
{
	free_options(fd);
	fd->noptions = n > 0 ? n : 0;
	fd->options = xcalloc((size_t)fd->noptions + 1, sizeof *fd->options);
	for (int i = 0; i < fd->noptions; i++)
		fd->options[i] = xstrdup(options[i] ? options[i] : "");
	fd->selected = fd->noptions == 0 ? -1 : selected < 0 ? 0 : selected >= fd->noptions ? fd->noptions - 1 : selected;
}

int form_add_select(Form *f, const char *label, const char *const *options, int n, int selected)
{
	Field *fd = add(f, FIELD_SELECT, label);
	set_options(fd, options, n, selected);
	return f->n - 1;
}

int form_add_checkbox(Form *f, const char *label, bool checked)
{
	Field *fd = add(f, FIELD_CHECK, label);
	fd->checked = checked;
	return f->n - 1;
}

void form_set_buttons(Form *f, const char *submit_label, const char *cancel_label)
{
	free(f->submit);
	free(f->cancel);
	f->submit = xstrdup(submit_label ? submit_label : "Submit");
	f->cancel = xstrdup(cancel_label ? cancel_label : "Cancel");
	f->w.dirty = true;
}

void form_set_note(Form *f, const char *note)
{
	free(f->note);
	f->note = note ? xstrdup(note) : NULL;
	f->w.dirty = true;
}

static Field *field(const Form *f, int i)
{
	return i >= 0 && i < f->n ? &f->f[i] : NULL;
}

const char *form_text(const Form *f, int i)
{
	Field *fd = field(f, i);
	if (fd && fd->kind == FIELD_SECRET)
		return fd->secret;
	return fd && fd->kind == FIELD_TEXT ? cmdline_text(fd->text) : "";
}

int form_selected(const Form *f, int i)
{
	Field *fd = field(f, i);
	return fd && fd->kind == FIELD_SELECT ? fd->selected : -1;
}

const char *form_selected_label(const Form *f, int i)
{
	Field *fd = field(f, i);
	return fd && fd->kind == FIELD_SELECT && fd->selected >= 0 ? fd->options[fd->selected] : "";
}

bool form_checked(const Form *f, int i)
{
	Field *fd = field(f, i);
	return fd && fd->kind == FIELD_CHECK && fd->checked;
}

void form_set_text(Form *f, int i, const char *text)
{
	Field *fd = field(f, i);
	if (fd && fd->kind == FIELD_TEXT)
		cmdline_set_text(fd->text, text);
	else if (fd && fd->kind == FIELD_SECRET)
		secret_set(fd, text);
	f->w.dirty = true;
}

void form_set_selected(Form *f, int i, int option)
{
	Field *fd = field(f, i);
	if (fd && fd->kind == FIELD_SELECT && fd->noptions)
		fd->selected = option < 0 ? 0 : option >= fd->noptions ? fd->noptions - 1 : option;
	f->w.dirty = true;
}

void form_set_options(Form *f, int i, const char *const *options, int n, int selected)
{
	Field *fd = field(f, i);
	if (fd && fd->kind == FIELD_SELECT)
		set_options(fd, options, n, selected);
	f->w.dirty = true;
}

void form_set_error(Form *f, int i, const char *msg)
{
	Field *fd = field(f, i);
	if (!fd)
		return;
	free(fd->error);
	fd->error = msg ? xstrdup(msg) : NULL;
	if (msg)
		f->focus = i;
	f->w.dirty = true;
	keep_focus_visible(f);
}

void form_set_focus(Form *f, int index)
{
	f->focus = index < 0 ? 0 : index > f->n + 1 ? f->n + 1 : index;
	f->w.dirty = true;
	keep_focus_visible(f);
}

static bool blank(const char *s)
{
	for (; *s; s++)
		if (*s != ' ')
			return false;
	return true;
}

static WidgetResult decide(Form *f, FormOutcome o)
{
	if (o == FORM_SUBMITTED) {
		for (int i = 0; i < f->n; i++) {
			Field *fd = &f->f[i];
			bool empty = fd->kind == FIELD_TEXT ? blank(cmdline_text(fd->text))
			           : fd->kind == FIELD_SECRET ? fd->slen == 0 : false;
			if (fd->required && empty) {
				char *msg = xasprintf("%s is required", fd->label);
				form_set_error(f, i, msg);
				free(msg);
				return W_HANDLED | W_REDRAW;
			}
		}
	}
	if (f->outcome != FORM_PENDING)
		return W_HANDLED;
	f->outcome = o;
	if (f->done)
		f->done(f->ud, f, o);
	return W_HANDLED | W_REDRAW | W_CLOSE;
}

static WidgetResult form_key_inner(Form *f, const KeyEvent *ev);

/* Editing a secret: type or paste at the end, Backspace, Ctrl-U clears. No
 * cursor movement: what is not shown cannot be edited in the middle. */
static WidgetResult secret_key(Form *f, Field *fd, const KeyEvent *ev)
{
	int k = ev->key;
	bool changed = false;
	if ((ev->is_keycode && k == KEY_BACKSPACE) || (!ev->is_keycode && (k == 127 || k == 8))) {
		while (fd->slen > 0) {
			unsigned char c = (unsigned char)fd->secret[--fd->slen];
			fd->secret[fd->slen] = '\0';
			if ((c & 0xc0) != 0x80)
				break; /* a whole character gone */
		}
		changed = true;
	} else if (!ev->is_keycode && k == 21) { /* Ctrl-U */
		secret_set(fd, NULL);
		changed = true;
	} else if (!ev->is_keycode && k >= 0x20 && k != 0x7f && k <= 0x10ffff) {
		/* Kept as UTF-8 so the owner's check can say "not ASCII" rather
		 * than see a different character. */
		unsigned char u[4];
		size_t n;
		unsigned c = (unsigned)k;
		if (c < 0x80)
			u[0] = (unsigned char)c, n = 1;
		else if (c < 0x800)
			u[0] = (unsigned char)(0xc0 | c >> 6), u[1] = (unsigned char)(0x80 | (c & 0x3f)), n = 2;
		else if (c < 0x10000)
			u[0] = (unsigned char)(0xe0 | c >> 12), u[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3f)),
			u[2] = (unsigned char)(0x80 | (c & 0x3f)), n = 3;
		else
			u[0] = (unsigned char)(0xf0 | c >> 18), u[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3f)),
			u[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3f)), u[3] = (unsigned char)(0x80 | (c & 0x3f)), n = 4;
		if (fd->slen + n <= fd->scap) {
			memcpy(fd->secret + fd->slen, u, n);
			fd->slen += n;
			changed = true;
		}
		explicit_bzero(u, sizeof u);
	}
	if (changed && fd->error) {
		free(fd->error);
		fd->error = NULL;
	}
	if (changed)
		f->w.dirty = true;
	return W_HANDLED | (changed ? W_REDRAW : 0);
}

static WidgetResult form_key(Widget *w, const KeyEvent *ev)
{
	Form *f = (Form *)w;
	WidgetResult r = form_key_inner(f, ev);
	keep_focus_visible(f); /* focus moves and errors come and go: keep it in view */
	return r;
}

static WidgetResult form_key_inner(Form *f, const KeyEvent *ev)
{
	const WidgetResult redraw = W_HANDLED | W_REDRAW;
	int k = ev->key;
	bool raw = !ev->is_keycode;
	Field *fd = field(f, f->focus);
	if (ev->action == ACTION_CANCEL || (raw && k == 27))
		return decide(f, FORM_CANCELLED);
	bool enter = ev->action == ACTION_SUBMIT || (raw && (k == '\n' || k == '\r')) ||
	             (ev->is_keycode && k == KEY_ENTER);
	if (enter)
		return decide(f, f->focus == f->n + 1 ? FORM_CANCELLED : FORM_SUBMITTED);
	bool next = ev->action == ACTION_NEXT_FIELD || (raw && k == '\t') || (ev->is_keycode && k == KEY_DOWN);
	bool prev = ev->action == ACTION_PREV_FIELD || (ev->is_keycode && (k == KEY_BTAB || k == KEY_UP));
	if (next || prev) {
		int total = f->n + 2;
		f->focus = ((f->focus + (next ? 1 : -1)) % total + total) % total;
		f->w.dirty = true;
		return redraw;
	}
	if (!fd) { /* on a button: arrows move between the two */
		if (ev->is_keycode && (k == KEY_LEFT || k == KEY_RIGHT)) {
			f->focus = k == KEY_LEFT ? f->n : f->n + 1;
			f->w.dirty = true;
			return redraw;
		}
		return W_HANDLED;
	}
	switch (fd->kind) {
	case FIELD_TEXT: {
		WidgetResult r = cmdline_key(fd->text, ev);
		if (r & W_CLOSE) /* Enter/Esc are handled above; an empty backspace is no exit here */
			cmdline_open(fd->text, NULL, cmdline_text(fd->text));
		if (fd->error) {
			free(fd->error);
			fd->error = NULL;
		}
		f->w.dirty = true;
		return redraw;
	}
	case FIELD_SECRET:
		return secret_key(f, fd, ev);
	case FIELD_SELECT: {
		int d = 0;
		if ((ev->is_keycode && k == KEY_RIGHT) || (raw && (k == 'l' || k == ' ')))
			d = 1;
		else if ((ev->is_keycode && k == KEY_LEFT) || (raw && k == 'h'))
			d = -1;
		if (d && fd->noptions) {
			fd->selected = ((fd->selected + d) % fd->noptions + fd->noptions) % fd->noptions;
			f->w.dirty = true;
			return redraw;
		}
		return W_HANDLED;
	}
	case FIELD_CHECK:
		if (raw && (k == ' ' || k == 'x')) {
			fd->checked = !fd->checked;
			f->w.dirty = true;
			return redraw;
		}
		return W_HANDLED;
	}
	return W_HANDLED;
}

/* "↑ 2 more" / "↓ 1 more" (ASCII "^"/"v"): fields out of view that way. */
static void draw_more(WINDOW *win, int y, int x, int cols, DrawGlyph g, int fields)
{
	char buf[64];
	snprintf(buf, sizeof buf, " %s %d more ", draw_glyph(g), fields);
	draw_text(win, y, x, cols, buf, ROLE_KEY_HINT);
}

static void form_draw(Widget *w)
{
	Form *f = (Form *)w;
	WINDOW *win = w->win;
	if (!win)
		return;
	int h = getmaxy(win), width = getmaxx(win);
	for (int y = 0; y < h; y++)
		draw_fill(win, y, 0, width, ROLE_DEFAULT);
	draw_frame(win, ROLE_MODAL_BORDER, f->title);
	keep_focus_visible(f);
	Layout L = layout(f);
	int inner = width - 4;
	if (L.note_y >= 0) {
		const char *p = f->note;
		for (int i = 0; i < L.note_h && p; i++) {
			const char *nl = strchr(p, '\n');
			char line[512];
			size_t n = nl ? (size_t)(nl - p) : strlen(p);
			snprintf(line, sizeof line, "%.*s", (int)QD_MIN(n, sizeof line - 1), p);
			draw_text(win, L.note_y + i, 2, inner, line, ROLE_DIM);
			p = nl ? nl + 1 : NULL;
		}
	}
	int labw = 0;
	for (int i = 0; i < f->n; i++)
		labw = QD_MAX(labw, sanitize_width(f->f[i].label));
	labw = QD_MIN(labw + 2, inner / 3);
	int cur_y = -1, cur_x = -1, above = 0, below = 0;
	int row = 0; /* content row of the field being laid out */
	for (int i = 0; i < f->n; row += field_rows(f, i), i++) {
		Field *fd = &f->f[i];
		int y = L.area_y + row - f->scroll;
		if (row < f->scroll) {
			above++;
			continue;
		}
		if (row >= f->scroll + L.area_h) {
			below++;
			continue;
		}
		bool on = f->focus == i;
		char label[256];
		snprintf(label, sizeof label, "%s%s", fd->label, fd->required ? "*" : "");
		draw_text_pad(win, y, 2, labw, label, on ? ROLE_KEY_HINT : ROLE_DEFAULT, false);
		int vx = 2 + labw, vw = inner - labw;
		char buf[512];
		switch (fd->kind) {
		case FIELD_TEXT:
			cur_x = cmdline_draw_at(fd->text, win, y, vx, vw, on ? ROLE_INPUT : ROLE_BUTTON, false);
			if (on)
				cur_y = y;
			break;
		case FIELD_SELECT:
			/* arrows say it can change, and the text shows which of how many */
			snprintf(buf, sizeof buf, "%s %s %s  (%d/%d)", theme_ascii() ? "<" : "\xe2\x97\x80",
			         fd->selected >= 0 ? fd->options[fd->selected] : "(none)", theme_ascii() ? ">" : "\xe2\x96\xb6",
			         fd->selected + 1, fd->noptions);
			draw_text_pad(win, y, vx, vw, buf, on ? ROLE_BUTTON_FOCUSED : ROLE_DEFAULT, false);
			break;
		case FIELD_SECRET: {
			/* Only the mask is ever drawn: the characters never reach curses. */
			form_secret_mask(utf8_chars(fd->secret, fd->slen), vw - 1, theme_ascii(), buf, sizeof buf);
			draw_text_pad(win, y, vx, vw, buf, on ? ROLE_INPUT : ROLE_BUTTON, false);
			if (on) {
				cur_y = y;
				cur_x = vx + QD_MIN(sanitize_width(buf), vw - 1);
			}
			break;
		}
		case FIELD_CHECK:
			snprintf(buf, sizeof buf, "%s %s", draw_glyph(fd->checked ? GLYPH_CHECK_ON : GLYPH_CHECK_OFF),
			         fd->checked ? "yes" : "no");
			draw_text_pad(win, y, vx, vw, buf, on ? ROLE_BUTTON_FOCUSED : ROLE_DEFAULT, false);
			break;
		}
		/* the error scrolls with its field; a field cut at the bottom edge
		 * (only when it is taller than the room) loses its error line */
		if (fd->error && row + 1 < f->scroll + L.area_h) {
			char err[512];
			snprintf(err, sizeof err, "%s error: %s", draw_glyph(GLYPH_ERROR), fd->error);
			draw_text(win, y + 1, vx, vw, err, ROLE_STATUS_ERROR);
		}
	}
	if (above)
		draw_more(win, L.up_y, 2, inner, GLYPH_MORE_UP, above);
	if (below)
		draw_more(win, L.down_y, 2, inner, GLYPH_MORE_DOWN, below);
	char sb[128], cb[128];
	snprintf(sb, sizeof sb, f->focus == f->n ? "[ %s ]" : "  %s  ", f->submit);
	snprintf(cb, sizeof cb, f->focus == f->n + 1 ? "[ %s ]" : "  %s  ", f->cancel);
	int cw = sanitize_width(cb), sw = sanitize_width(sb);
	int x = QD_MAX(2, width - 2 - cw - 2 - sw);
	if (L.buttons_y > 0) {
		draw_text(win, L.buttons_y, x, width - x - 1, sb, f->focus == f->n ? ROLE_BUTTON_FOCUSED : ROLE_BUTTON);
		draw_text(win, L.buttons_y, x + sw + 2, width - x - sw - 3, cb,
		          f->focus == f->n + 1 ? ROLE_BUTTON_FOCUSED : ROLE_BUTTON);
	}
	if (cur_y >= 0)
		wmove(win, cur_y, cur_x);
	wattrset(win, A_NORMAL);
	w->dirty = false;
}

static void form_resize(Widget *w)
{
	keep_focus_visible((Form *)w);
	w->dirty = true;
}

static const WidgetClass form_class = {
	.name = "form",
	.draw = form_draw,
	.key = form_key,
	.resize = form_resize,
	.destroy = form_destroy,
	.keymap_context = "form",
};

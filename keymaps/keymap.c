/* keymap — per-context bindings, the key-file parser and key names. */
#include "keymaps/keymap.h"

#include <curses.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "common/sanitize.h"
#include "common/util.h"

static const char *const context_names[] = {
	"global", "table", "detail", "form", "modal", "filter", "cmdline", "help", "text", "terminal", "copy", NULL,
};
#define NCONTEXTS (QD_ARRAY_LEN(context_names) - 1)

typedef struct {
	KeyBinding *b;
	size_t n, cap;
} Map;

static Map maps[NCONTEXTS];

/* Named keys; single characters are parsed separately. */
static const struct {
	const char *name;
	int key;
	bool is_keycode;
} named_keys[] = {
	{"Up", KEY_UP, true},         {"Down", KEY_DOWN, true},       {"Left", KEY_LEFT, true},
	{"Right", KEY_RIGHT, true},   {"PageUp", KEY_PPAGE, true},    {"PageDown", KEY_NPAGE, true},
	{"Home", KEY_HOME, true},     {"End", KEY_END, true},         {"Enter", '\n', false},
	{"Esc", 27, false},           {"Tab", '\t', false},           {"S-Tab", KEY_BTAB, true},
	{"Backspace", KEY_BACKSPACE, true}, {"Delete", KEY_DC, true}, {"Insert", KEY_IC, true},
	{"Space", ' ', false},        {"lt", '<', false},
};

static int context_index(const char *context)
{
	if (!context)
		return 0;
	for (size_t i = 0; i < NCONTEXTS; i++)
		if (strcmp(context_names[i], context) == 0)
			return (int)i;
	return -1;
}

bool keymap_context_known(const char *context)
{
	return context && context_index(context) >= 0;
}

const char *const *keymap_contexts(void)
{
	return context_names;
}

/* Terminals deliver Enter and Backspace in several spellings: one each. */
static void normalize(int *key, bool *is_keycode)
{
	if (*is_keycode && *key == KEY_ENTER)
		*key = '\n', *is_keycode = false;
	else if (!*is_keycode && *key == '\r')
		*key = '\n';
	else if (!*is_keycode && (*key == 127 || *key == 8))
		*key = KEY_BACKSPACE, *is_keycode = true;
}

static KeyBinding *find(Map *m, int key, bool is_keycode)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->b[i].key == key && m->b[i].is_keycode == is_keycode)
			return &m->b[i];
	return NULL;
}

static void set_binding(Map *m, int key, bool is_keycode, Action a)
{
	KeyBinding *kb = find(m, key, is_keycode);
	if (kb) {
		kb->action = a;
		return;
	}
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 32;
		m->b = xrealloc(m->b, m->cap * sizeof *m->b);
	}
	m->b[m->n++] = (KeyBinding){.key = key, .is_keycode = is_keycode, .action = a};
}

void keymap_reset(void)
{
	for (size_t i = 0; i < NCONTEXTS; i++) {
		free(maps[i].b);
		maps[i] = (Map){0};
	}
}

Action keymap_lookup(const char *context, int key, bool is_keycode)
{
	normalize(&key, &is_keycode);
	int ci = context_index(context);
	if (ci > 0) {
		KeyBinding *kb = find(&maps[ci], key, is_keycode);
		if (kb)
			return kb->action; /* an unbind (NONE) deliberately hides global */
	}
	KeyBinding *kb = find(&maps[0], key, is_keycode);
	return kb ? kb->action : ACTION_NONE;
}

size_t keymap_bindings(const char *context, KeyBinding *out, size_t max)
{
	int ci = context_index(context);
	if (ci < 0)
		return 0;
	for (size_t i = 0; i < maps[ci].n && i < max; i++)
		out[i] = maps[ci].b[i];
	return maps[ci].n;
}

bool keymap_parse_key(const char *name, int *key, bool *is_keycode)
{
	size_t len = strlen(name);
	if (len == 0)
		return false;
	if (name[0] != '<' || len == 1) {
		/* exactly one printable character (UTF-8 allowed) */
		mbstate_t st = {0};
		wchar_t wc;
		size_t n = mbrtowc(&wc, name, len, &st);
		if (n == (size_t)-1 || n == (size_t)-2 || n != len || wc <= 32 || wc == 127)
			return false;
		*key = (int)wc, *is_keycode = false;
		return true;
	}
	if (name[len - 1] != '>')
		return false;
	char inner[32];
	if (len - 2 >= sizeof inner)
		return false;
	memcpy(inner, name + 1, len - 2);
	inner[len - 2] = '\0';
	for (size_t i = 0; i < QD_ARRAY_LEN(named_keys); i++) {
		if (strcasecmp(inner, named_keys[i].name) == 0) {
			*key = named_keys[i].key, *is_keycode = named_keys[i].is_keycode;
			return true;
		}
	}
	if ((inner[0] == 'F' || inner[0] == 'f') && inner[1]) {
		char *end;
		long n = strtol(inner + 1, &end, 10);
		if (*end == '\0' && n >= 1 && n <= 12) {
			*key = KEY_F((int)n), *is_keycode = true;
			return true;
		}
		return false;
	}
	if ((inner[0] == 'C' || inner[0] == 'c') && inner[1] == '-' && inner[2] && !inner[3]) {
		char c = inner[2];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c >= 'a' && c <= 'z') {
			*key = c - 'a' + 1, *is_keycode = false;
			return true;
		}
		if (c == ']' || c == '\\' || c == '^' || c == '_') {
			*key = (c & 0x1f), *is_keycode = false;
			return true;
		}
		if (c == '[') { /* Ctrl-[ is Esc */
			*key = 27, *is_keycode = false;
			return true;
		}
	}
	return false;
}

const char *keymap_key_name(int key, bool is_keycode, char *buf, size_t sz)
{
	normalize(&key, &is_keycode);
	for (size_t i = 0; i < QD_ARRAY_LEN(named_keys); i++) {
		if (named_keys[i].key == key && named_keys[i].is_keycode == is_keycode) {
			snprintf(buf, sz, "<%s>", named_keys[i].name);
			return buf;
		}
	}
	if (is_keycode) {
		if (key >= KEY_F(1) && key <= KEY_F(12))
			snprintf(buf, sz, "<F%d>", key - KEY_F0);
		else
			snprintf(buf, sz, "<key %d>", key);
		return buf;
	}
	if (key >= 1 && key <= 26) {
		snprintf(buf, sz, "<C-%c>", 'a' + key - 1);
		return buf;
	}
	if (key >= 28 && key <= 31) {
		snprintf(buf, sz, "<C-%c>", "\\]^_"[key - 28]);
		return buf;
	}
	char mb[MB_LEN_MAX + 1];
	mbstate_t st = {0};
	size_t n = wcrtomb(mb, (wchar_t)key, &st);
	if (n == (size_t)-1 || key < 32) {
		snprintf(buf, sz, "<U+%04X>", (unsigned)key);
		return buf;
	}
	mb[n] = '\0';
	sanitize_str(mb, n, buf, sz, false);
	return buf;
}

/* The keys that reach a in context, at most max of them, "/"-joined. */
static int keys_for(const char *context, Action a, char *buf, size_t sz, int max)
{
	int ci = context_index(context);
	if (sz)
		buf[0] = '\0';
	if (ci < 0)
		ci = 0;
	int count = 0;
	size_t len = 0;
	for (int pass = 0; pass < 2; pass++) {
		int mi = pass == 0 ? ci : 0;
		if (pass == 1 && ci == 0)
			break;
		for (size_t i = 0; i < maps[mi].n; i++) {
			KeyBinding *kb = &maps[mi].b[i];
			if (kb->action != a || a == ACTION_NONE)
				continue;
			/* a global binding counts only if the context does not shadow it */
			if (pass == 1 && find(&maps[ci], kb->key, kb->is_keycode))
				continue;
			if (count == max)
				return count;
			char name[32];
			keymap_key_name(kb->key, kb->is_keycode, name, sizeof name);
			int w = snprintf(buf + len, sz > len ? sz - len : 0, "%s%s", count ? "/" : "", name);
			if (w > 0 && len + (size_t)w < sz)
				len += (size_t)w;
			else if (len < sz)
				buf[len] = '\0'; /* keep what fitted whole */
			count++;
		}
	}
	return count;
}

int keymap_keys_for(const char *context, Action a, char *buf, size_t sz)
{
	return keys_for(context, a, buf, sz, INT_MAX);
}

const char *keymap_first_key(const char *context, Action a, char *buf, size_t sz)
{
	char name[48];
	keys_for(context, a, name, sizeof name, 1);
	size_t n = strlen(name);
	if (n < 3 || name[0] != '<' || name[n - 1] != '>') {
		snprintf(buf, sz, "%s", name); /* a plain character, or "" */
		return buf;
	}
	/* A status line speaks to people, not to the keys file: "<C-]>" reads
	 * "Ctrl-]", "<Enter>" reads "Enter", "<lt>" reads "<". */
	name[n - 1] = '\0';
	const char *inner = name + 1;
	if (strcmp(inner, "lt") == 0)
		snprintf(buf, sz, "<");
	else if (strncmp(inner, "C-", 2) == 0)
		snprintf(buf, sz, "Ctrl-%s", inner + 2);
	else if (strncmp(inner, "S-", 2) == 0)
		snprintf(buf, sz, "Shift-%s", inner + 2);
	else
		snprintf(buf, sz, "%s", inner);
	return buf;
}

/* --- parser ------------------------------------------------------------------ */

static void report(KeymapErrorFn cb, void *ud, const char *name, int line, const char *fmt, const char *arg)
{
	if (!cb)
		return;
	char what[256], clean[128];
	sanitize_fit(arg ? arg : "", clean, sizeof clean, 40, false);
	snprintf(what, sizeof what, fmt, clean);
	char *msg = xasprintf("%s:%d: %s", name, line, what);
	cb(ud, msg);
	free(msg);
}

/* Splits off the next blank-separated word; NULL when none. */
static char *next_word(char **p)
{
	char *s = *p;
	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s)
		return NULL;
	char *w = s;
	while (*s && *s != ' ' && *s != '\t')
		s++;
	if (*s)
		*s++ = '\0';
	*p = s;
	return w;
}

/* Returns true when the line was good. */
static bool parse_line(char *line, const char *name, int lineno, KeymapErrorFn cb, void *ud)
{
	char *p = line;
	char *cmd = next_word(&p);
	if (!cmd || cmd[0] == '#')
		return true;
	bool bind = strcmp(cmd, "bind") == 0;
	if (!bind && strcmp(cmd, "unbind") != 0) {
		report(cb, ud, name, lineno, "unknown command '%s' (expected bind or unbind)", cmd);
		return false;
	}
	char *ctx = next_word(&p);
	char *key = next_word(&p);
	char *act = bind ? next_word(&p) : NULL;
	if (!ctx || !key || (bind && !act)) {
		report(cb, ud, name, lineno,
		       bind ? "missing argument: expected 'bind <context> <key> <action>'%s"
		            : "missing argument: expected 'unbind <context> <key>'%s",
		       "");
		return false;
	}
	char *extra = next_word(&p);
	if (extra && extra[0] != '#') {
		report(cb, ud, name, lineno, "unexpected argument '%s'", extra);
		return false;
	}
	int ci = context_index(ctx);
	if (ci < 0) {
		report(cb, ud, name, lineno, "unknown context '%s'", ctx);
		return false;
	}
	int k;
	bool kc;
	if (!keymap_parse_key(key, &k, &kc)) {
		report(cb, ud, name, lineno, "unknown key '%s'", key);
		return false;
	}
	Action a = ACTION_NONE;
	if (bind) {
		a = action_from_name(act);
		if (a == ACTION_NONE) {
			report(cb, ud, name, lineno, "unknown action '%s'", act);
			return false;
		}
	}
	normalize(&k, &kc);
	set_binding(&maps[ci], k, kc, a);
	return true;
}

int keymap_load_text(const char *text, const char *name, KeymapErrorFn cb, void *ud)
{
	int bad = 0, lineno = 0;
	const char *p = text;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		lineno++;
		char line[512];
		if (len >= sizeof line) {
			report(cb, ud, name, lineno, "line too long%s", "");
			bad++;
		} else {
			memcpy(line, p, len);
			line[len] = '\0';
			if (len && line[len - 1] == '\r')
				line[len - 1] = '\0';
			if (!parse_line(line, name, lineno, cb, ud))
				bad++;
		}
		p += len;
		if (*p == '\n')
			p++;
	}
	return bad;
}

int keymap_load_defaults(void)
{
	keymap_reset();
	return keymap_load_text(keymap_default_text, "default.keys", NULL, NULL);
}

int keymap_load_file(const char *path, KeymapErrorFn cb, void *ud)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		int e = errno;
		if (e != ENOENT && cb) {
			char *msg = xasprintf("%s: cannot read: %s", path, strerror(e));
			cb(ud, msg);
			free(msg);
		}
		errno = e;
		return -1;
	}
	QdBuf b;
	qdbuf_init(&b);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		qdbuf_append(&b, chunk, n);
		if (b.len > (1u << 20))
			break; /* a key file is small: do not read a runaway one whole */
	}
	bool err = ferror(f);
	fclose(f);
	int bad;
	if (err) {
		if (cb) {
			char *msg = xasprintf("%s: read error", path);
			cb(ud, msg);
			free(msg);
		}
		bad = -1;
	} else if (memchr(b.data ? b.data : "", '\0', b.len)) {
		if (cb) {
			char *msg = xasprintf("%s: not a text file (NUL byte)", path);
			cb(ud, msg);
			free(msg);
		}
		bad = -1;
	} else {
		bad = keymap_load_text(qdbuf_cstr(&b), path, cb, ud);
	}
	qdbuf_done(&b);
	return bad;
}

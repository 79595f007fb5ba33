/* scenario — shared steps of the screen scenarios (see scenario.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/screen/scenario.h"

Hs *sc_console(void **state, const HsOpts *o)
{
	Hs *h = hs_start(o);
	assert_non_null(h);
	*state = h;
	assert_true(hs_wait_text(h, SC_LIVE, SC_WAIT_MS));
	return h;
}

void *sc_ctx_start(void **state, size_t size, const HsOpts *o)
{
	assert_true(size >= sizeof(Hs *));
	Hs **c = calloc(1, size);
	assert_non_null(c);
	*state = c;
	*c = hs_start(o);
	assert_non_null(*c);
	assert_true(hs_wait_text(*c, SC_LIVE, SC_WAIT_MS));
	return c;
}

void sc_wait_loaded(Hs *h)
{
	assert_true(hs_wait_text(h, SC_ACTIVE, SC_WAIT_MS));
	assert_true(hs_wait_idle(h, 300, SC_WAIT_MS));
}

int sc_teardown(void **state)
{
	Hs *h = *state;
	hs_stop(&h);
	*state = NULL;
	return 0;
}

int sc_teardown_ctx(void **state)
{
	Hs **c = *state;
	if (c) {
		hs_stop(c);
		free(c);
	}
	*state = NULL;
	return 0;
}

json_t *sc_api(Hs *h, const char *method, const char *path, const char *body, long expect)
{
	long status = 0;
	char *text = hs_api(h, method, path, body, &status);
	if (status != expect)
		fprintf(stderr, "%s %s: status %ld, wanted %ld: %s\n", method, path, status, expect,
		        text ? text : "(no body)");
	assert_int_equal(status, expect);
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);
	free(text);
	assert_non_null(j);
	return j;
}

const char *sc_jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

bool sc_is_state_row(const char *row)
{
	static const char *const states[] = {"active", "provisioning", "restarting", "restart_failed",
	                                     "releasing", "release_failed", "released", "failed"};
	for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
		const char *p = strstr(row, states[i]);
		/* glyph, space, word: the byte before the word is the space after a glyph */
		if (p && p - row >= 4 && p[-1] == ' ' && (unsigned char)p[-2] >= 0x80)
			return true;
	}
	return false;
}

int sc_count_state_rows(Hs *h)
{
	int n = 0;
	for (int r = 0; r < hs_rows(h); r++)
		if (sc_is_state_row(hs_row(h, r)))
			n++;
	return n;
}

void sc_pick_active(Hs *h, bool on_screen, const char *not, char *name, size_t nsz, char *id, size_t isz)
{
	json_t *all = sc_api(h, "GET", "/api/v1/admin/allocations?limit=500", NULL, 200);
	json_t *items = json_object_get(all, "items");
	size_t i;
	json_t *a;
	name[0] = '\0';
	json_array_foreach(items, i, a) {
		const char *n = sc_jstr(a, "name");
		if (strcmp(sc_jstr(a, "state"), "active") != 0 || strlen(n) < 4 || (on_screen && !hs_contains(h, n)) ||
		    (not && strcmp(n, not) == 0))
			continue;
		bool unique = true;
		size_t k;
		json_t *b;
		json_array_foreach(items, k, b) {
			if (k != i && strstr(sc_jstr(b, "name"), n))
				unique = false;
		}
		if (unique) {
			snprintf(name, nsz, "%s", n);
			snprintf(id, isz, "%s", sc_jstr(a, "id"));
			break;
		}
	}
	json_decref(all);
	if (!name[0]) {
		hs_dump(h, "no active allocation with a unique name");
		fail_msg("no active allocation with a unique name to work with");
	}
}

bool sc_type_filter(Hs *h, const char *text)
{
	if (!hs_send_keys(h, "/"))
		return false;
	for (const char *p = text; *p; p++) {
		char c[2] = {*p, 0};
		hs_send_keys(h, c);
	}
	return hs_wait_idle(h, 150, SC_WAIT_MS);
}

void sc_filter_to_active(Hs *h, char *name, size_t nsz, char *id, size_t isz)
{
	sc_pick_active(h, true, NULL, name, nsz, id, isz);
	assert_true(sc_type_filter(h, name));
	assert_true(hs_send_key(h, "Enter"));
	assert_true(hs_wait_idle(h, 150, SC_WAIT_MS));
	assert_int_equal(sc_count_state_rows(h), 1);
}

int sc_frame_row(Hs *h)
{
	for (int r = 0; r < hs_rows(h); r++)
		if (strncmp(hs_row(h, r), " Terminal ", 10) == 0)
			return r;
	return -1;
}

bool sc_frame_has(Hs *h, const char *text)
{
	int fr = sc_frame_row(h);
	return fr >= 0 && strstr(hs_row(h, fr), text) != NULL;
}

bool sc_wait_frame(Hs *h, const char *text, bool want, int timeout_ms)
{
	for (int waited = 0; waited < timeout_ms; waited += 50) {
		if (sc_frame_has(h, text) == want)
			return true;
		if (hs_pump(h, 50) < 0)
			break;
	}
	if (sc_frame_has(h, text) == want)
		return true;
	char why[200];
	snprintf(why, sizeof why, "waited %d ms for the terminal frame to %s \"%s\"", timeout_ms,
	         want ? "say" : "stop saying", text);
	hs_dump(h, why);
	return false;
}

void sc_sh(Hs *h, const char *line)
{
	assert_true(hs_send_keys(h, line));
	assert_true(hs_send_keys(h, "\r"));
}

void sc_sync_shell(Hs *h, const char *tag)
{
	char line[160], want[96];
	snprintf(line, sizeof line, "echo \"@@\"\"%s\"", tag);
	snprintf(want, sizeof want, "@@%s", tag);
	sc_sh(h, line);
	assert_true(hs_wait_text(h, want, SC_WAIT_MS));
}

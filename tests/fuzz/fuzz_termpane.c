/* libFuzzer target: arbitrary shell output through the pane, then drawn into
 * a curses screen whose output is captured. Asserts no crash (ASan/UBSan) and
 * that the shell's bytes never reach the outer terminal: a marker planted in
 * OSC, DCS, APC, PM and SOS payloads must never appear in curses' output
 * (libvterm 0.1.4 would show APC/PM/SOS as text: the pane filters them). */
#include <locale.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "widgets/termpane.h"

static SCREEN *scr;
static FILE *sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint64_t iter;
	char tag[20], marker[160];
	TermPane *p;
	char key[16];
	long before, after;
	char *buf;

	if (!scr) {
		setlocale(LC_CTYPE, "C.UTF-8");
		sink = tmpfile();
		scr = newterm("xterm-256color", sink, stdin);
		if (!scr)
			abort();
		set_term(scr);
		start_color();
		use_default_colors();
	}
	/* A tag that changes every run, so the input cannot spell it as plain text. */
	iter = iter * 6364136223846793005ULL + 1442695040888963407ULL;
	snprintf(tag, sizeof(tag), "Q%016llx", (unsigned long long)iter);
	snprintf(marker, sizeof(marker), "\x1b]0;%s\x07\x1bP+q%s\x1b\\\x1b_%s\x1b\\\x1b^%s\x1b\\\x1bX%s\x1b\\",
	         tag, tag, tag, tag, tag);
	p = termpane_new(24, 80);
	termpane_set_depth(p, (ThemeDepth)(size % 3));
	termpane_write(p, marker, strlen(marker));
	/* The first byte picks a size; the rest is the stream. */
	if (size > 0) {
		termpane_resize(p, 1 + data[0] % 60, 1 + (data[0] * 7) % 200);
		termpane_write(p, data + 1, size - 1);
	}
	termpane_write(p, marker, strlen(marker));
	termpane_key(p, 'a', false, key, sizeof(key));
	termpane_scroll(p, 5);
	termpane_select(p, 0, 3);
	free(termpane_selection_text(p));
	fflush(sink);
	before = ftell(sink);
	erase();
	termpane_invalidate(p);
	termpane_draw(p, stdscr, 0, 0);
	refresh();
	fflush(sink);
	after = ftell(sink);
	if (after > before) {
		buf = malloc((size_t)(after - before));
		fseek(sink, before, SEEK_SET);
		if (fread(buf, 1, (size_t)(after - before), sink) == (size_t)(after - before) &&
		    memmem(buf, (size_t)(after - before), tag, strlen(tag)))
			abort();
		free(buf);
		fseek(sink, 0, SEEK_END);
	}
	termpane_free(&p);
	return 0;
}

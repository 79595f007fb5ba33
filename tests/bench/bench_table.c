/* bench_table — the table widget alone, at the workbench's shape: 100k rows,
 * 8 columns, a 120x40 terminal. Prints the bytes curses writes for one
 * selection move and one page down, and the time per filter keystroke
 * (typing a needle, then deleting it), so regressions show as figures.
 * Targets (issue 3): move <= 300 B, page down <= 4.7 kB, filter <= 10 ms. */
#include <curses.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "widgets/table.h"
#include "widgets/theme.h"

#define NROWS 100000

static const char *states[] = {"\xe2\x97\x8f active", "\xe2\x97\x8c provisioning", "\xe2\x86\xbb restarting",
                               "\xe2\x9c\x97 failed"};

static size_t count(void *ctx) { (void)ctx; return NROWS; }

static const char *row_id(void *ctx, size_t r)
{
	static char buf[32];
	(void)ctx;
	snprintf(buf, sizeof buf, "alloc-%06zu", r);
	return buf;
}

static const char *cell(void *ctx, size_t r, int col, char *buf, size_t sz)
{
	(void)ctx;
	switch (col) {
	case 0: snprintf(buf, sz, "%s-%zu", r % 3 ? "train-llama" : "eval-mistral", r * 7919 % 100000); break;
	case 1: return states[r % 4];
	case 2: snprintf(buf, sz, "H100 SXM slice \xc3\x97%zu", 1 + r % 8); break;
	case 3: snprintf(buf, sz, "node-%03zu", r % 512); break;
	case 4: return r % 4 == 3 ? "storage_detach_timeout" : "pytorch 2.4 (ready)";
	case 5: snprintf(buf, sz, "datasets %zuG", 100 + r % 900); break;
	case 6: snprintf(buf, sz, "%zum", r % 59 + 1); break;
	default: snprintf(buf, sz, "$%zu.%02zu", 2 + r % 30, r % 100); break;
	}
	return buf;
}

static ThemeRole row_role(void *ctx, size_t r) { (void)ctx; return r % 4 == 3 ? ROLE_STATE_FAILED : ROLE_DEFAULT; }

static ThemeRole cell_role(void *ctx, size_t r, int col)
{
	(void)ctx;
	if (col != 1)
		return ROLE_DEFAULT;
	return r % 4 == 0 ? ROLE_STATE_OK : r % 4 == 3 ? ROLE_STATE_FAILED : ROLE_STATE_PROGRESS;
}

static int compare(void *ctx, size_t a, size_t b, int col)
{
	(void)ctx;
	(void)col;
	return (a * 7919 % 100000 > b * 7919 % 100000) - (a * 7919 % 100000 < b * 7919 % 100000);
}

static const TableSourceClass src = {
	.count = count, .row_id = row_id, .cell = cell, .compare = compare, .row_role = row_role, .cell_role = cell_role,
};

static const TableColumn cols[] = {
	{"NAME", 16, 2, false}, {"STATE", 15, 0, false}, {"SKU", 18, 0, false}, {"NODE", 8, 0, false},
	{"RUNTIME", 12, 1, false}, {"STORAGE", 13, 0, false}, {"AGE", 4, 0, true}, {"$/H", 6, 0, true},
};

/* curses writes to the descriptor itself: measure the file's growth */
static FILE *out;
static long out_size(void)
{
	fflush(out);
	return lseek(fileno(out), 0, SEEK_END);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static size_t frame(Table *t)
{
	widget_draw(table_widget(t));
	wnoutrefresh(table_widget(t)->win);
	long before = out_size();
	doupdate();
	return (size_t)(out_size() - before);
}

int main(void)
{
	setlocale(LC_ALL, "C.UTF-8");
	out = tmpfile();
	FILE *in = fopen("/dev/null", "r");
	SCREEN *scr = newterm("xterm-256color", out, in);
	if (!scr) {
		fprintf(stderr, "bench_table: no xterm-256color terminfo\n");
		return 1;
	}
	resizeterm(40, 120);
	theme_init(false);
	WINDOW *win = newwin(38, 120, 1, 0); /* tabs above, status line below */

	double t0 = now_ms();
	Table *t = table_new(win, &src, NULL, cols, 8);
	table_set_sort(t, 0, false);
	double t_build = now_ms() - t0;
	size_t first = frame(t);

	KeyEvent down = {.action = ACTION_MOVE_DOWN}, page = {.action = ACTION_PAGE_DOWN};
	widget_key(table_widget(t), &down);
	size_t move = frame(t);
	if (getenv("BENCH_DUMP")) {
		long end = lseek(fileno(out), 0, SEEK_END);
		char buf[8192];
		ssize_t n = pread(fileno(out), buf, move < sizeof buf ? move : sizeof buf, end - (long)move);
		FILE *d = fopen(getenv("BENCH_DUMP"), "w");
		fwrite(buf, 1, n > 0 ? (size_t)n : 0, d);
		fclose(d);
	}
	size_t worst_move = move;
	for (int i = 0; i < 20; i++) {
		widget_key(table_widget(t), &down);
		size_t b = frame(t);
		worst_move = b > worst_move ? b : worst_move;
	}
	/* one row further at the bottom edge: the whole page shifts by a line */
	table_move_to(t, (size_t)table_page_rows(t) - 1);
	frame(t);
	widget_key(table_widget(t), &down);
	size_t edge = frame(t);

	widget_key(table_widget(t), &page);
	size_t pgdn = frame(t);
	size_t worst_page = pgdn;
	for (int i = 0; i < 10; i++) {
		widget_key(table_widget(t), &page);
		size_t b = frame(t);
		worst_page = b > worst_page ? b : worst_page;
	}
	size_t idle = frame(t);

	/* what "/" opening the filter line does: build the haystack cache */
	double w0 = now_ms();
	table_prepare_filter(t, SIZE_MAX);
	double t_warm = now_ms() - w0;

	/* type "llama-4", then delete it again, one keystroke at a time */
	const char *needle = "llama-4";
	char typed[16] = "";
	double worst = 0, total = 0, first_key = 0;
	int keys = 0;
	for (size_t i = 1; i <= strlen(needle); i++) {
		memcpy(typed, needle, i);
		typed[i] = '\0';
		double s = now_ms();
		table_set_filter(t, typed);
		double d = now_ms() - s;
		printf("  key '%s': %.2f ms, %zu rows\n", typed, d, table_view_count(t));
		if (i == 1)
			first_key = d;
		else
			worst = d > worst ? d : worst;
		total += d;
		keys++;
	}
	size_t matches = table_view_count(t);
	for (size_t i = strlen(needle); i-- > 0;) {
		typed[i] = '\0';
		double s = now_ms();
		table_set_filter(t, typed);
		double d = now_ms() - s;
		printf("  key '%s': %.2f ms, %zu rows\n", typed, d, table_view_count(t));
		worst = d > worst ? d : worst;
		total += d;
		keys++;
	}
	printf("table: %d rows, 120x40, 8 columns\n", NROWS);
	printf("  build + sort:            %8.1f ms\n", t_build);
	printf("  first frame:             %8zu bytes\n", first);
	printf("  selection move:          %8zu bytes (worst of 21: %zu; target <= 300)\n", move, worst_move);
	printf("  move past the bottom:    %8zu bytes (the page scrolls one line)\n", edge);
	printf("  page down:               %8zu bytes (worst of 11: %zu; target <= 4700)\n", pgdn, worst_page);
	printf("  idle frame:              %8zu bytes (target 0)\n", idle);
	printf("  filter cache warm-up:    %8.2f ms (once, when / opens the filter)\n", t_warm);
	printf("  filter, first keystroke: %8.2f ms (scans all rows)\n", first_key);
	printf("  filter, other keystrokes:%8.2f ms worst, %.2f ms mean over %d (target <= 10)\n", worst,
	       (total - first_key) / (keys - 1), keys - 1);
	printf("  matches for '%s':   %8zu\n", needle, matches);
	table_free(&t);
	delwin(win);
	endwin();
	delscreen(scr);
	fclose(out);
	fclose(in);
	return 0;
}

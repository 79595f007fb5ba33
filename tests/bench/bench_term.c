/* bench_term — the terminal pane's throughput, alone and end to end against
 * tmux, dvtm and a raw PTY.
 *
 * Workloads are generated here, deterministically, after the method of
 * ../shared/bench/gen_corpus.py (same kinds of stream, re-implemented in C so
 * `make bench` needs nothing else): a mixed log stream (ASCII lines, SGR
 * 16/256/truecolor, CJK, emoji, accented latin, box drawing, tabs) and
 * vtebench-style workloads (dense cells, light cells, cursor motion, a `yes`
 * flood, full-width scrolling, a scroll region, unicode at random positions,
 * a table app's page redraws). Streams end lines with "\n"; a PTY adds "\r".
 *
 * Part 1, the pane alone: bytes through termpane_write(), then the same with
 * drawing paced at 60 Hz into a curses screen whose output is captured. CPU
 * time of this process, so other load on the machine does not skew it.
 *
 * Part 2, end to end, wall time: the same command (this program's own `cat`,
 * which reports when it started and finished writing) runs
 *   raw   on a 120x40 PTY that the bench drains;
 *   tmux  in a fresh tmux server (-f /dev/null, status line off so the pane
 *         is 120x40 too) attached under a 120x40 outer PTY;
 *   dvtm  with the command as its only window under a 120x40 outer PTY (one
 *         window and no status fifo: dvtm hides its bar and draws no border,
 *         so the window is 120x40 too);
 *   pane  under a small driver that forkpty()s the command, feeds a TermPane
 *         and draws it with curses at <= 60 Hz into the outer PTY. It models
 *         qdeck's terminal pane without the network hop (no WebSocket, no
 *         qdeckd). Its output is non-blocking: a frame is drawn only when the
 *         last one has been written, so a slow link drops frames instead of
 *         stalling the command.
 * The outer PTY is drained at full speed and through a 1 MB/s token bucket
 * (an SSH link). Figures: the command's completion time (its own start to
 * end), ratios to tmux and to the raw PTY, bytes written to the outer
 * terminal, and the time from the command's end to the last outer byte (the
 * final screen; a run ends when the outer output has been quiet for 300 ms
 * and then 1 s more, so a frame from a process starved for a moment on a
 * busy machine is still counted, and such runs are flagged "late"). The final screen is checked by
 * replaying the outer bytes into a TermPane and comparing its text with the
 * stream's own final screen. Runs are interleaved (raw, tmux, dvtm, pane,
 * raw, ...) and figures are medians. The raw PTY at 1 MB/s is link-bound by
 * construction (size / rate) and not run.
 *
 * Environment: QD_BENCH_MB (mixed stream, MiB, default 50), QD_BENCH_VTE_MB
 * (each vte workload end to end, default 20), QD_BENCH_RUNS (default 3),
 * QD_BENCH_RATE (slow link, bytes/s, default 1000000), QD_BENCH_ONLY (comma-separated
 * workload names, default all), QD_BENCH_SETUPS (comma-separated among raw PTY,
 * tmux, dvtm, pane; default all). Debugging: QD_BENCH_DEBUG prints differing rows,
 * QD_BENCH_SAVE=DIR keeps each run's outer bytes there.
 *
 * Internal modes: `bench_term --cat FILE REPORT` (the measured command) and
 * `bench_term --drive CMD ARGS...` (the pane driver). */
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <math.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "widgets/termpane.h"

#define ROWS 40
#define COLS 120
#define BENCH_STR2(x) #x
#define BENCH_STR(x) BENCH_STR2(x)
#define QUIET_MS 300     /* outer output this long silent = final screen */
/* ...confirmed by this much more silence: output after a 300 ms gap (a
 * starved process on a busy machine) is counted, and the run flagged. */
#define CONFIRM_MS 1000
#define RUN_TIMEOUT_S 90 /* a run that takes longer is reported as such */

/* --- deterministic generation ------------------------------------------------ */

static uint64_t rng_state = 1;

static uint32_t rnd32(void)
{
	/* PCG-XSH-RR */
	uint64_t old = rng_state;
	uint32_t x, rot;

	rng_state = old * 6364136223846793005ULL + 1442695040888963407ULL;
	x = (uint32_t)(((old >> 18) ^ old) >> 27);
	rot = (uint32_t)(old >> 59);
	return (x >> rot) | (x << ((32 - rot) & 31));
}

static unsigned rnd(unsigned n) { return n ? rnd32() % n : 0; }
static double rndf(void) { return rnd32() / 4294967296.0; }
static int rnd_range(int lo, int hi) { return lo + (int)rnd((unsigned)(hi - lo)); } /* [lo, hi) */

static double triangular(double lo, double hi, double mode)
{
	double u = rndf(), c = (mode - lo) / (hi - lo);

	if (u > c)
		return hi + (lo - hi) * sqrt((1 - u) * (1 - c));
	return lo + (hi - lo) * sqrt(u * c);
}

static void put_utf8(QdBuf *b, uint32_t cp)
{
	char s[4];
	size_t n;

	if (cp < 0x80) {
		s[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		s[0] = (char)(0xC0 | (cp >> 6));
		s[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		s[0] = (char)(0xE0 | (cp >> 12));
		s[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		s[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		s[0] = (char)(0xF0 | (cp >> 18));
		s[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		s[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		s[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
	qdbuf_append(b, s, n);
}

static const char *const words_list[] = {
    "the",    "quick",   "brown",   "fox",   "jumps",  "over",     "lazy",  "dog",    "error",
    "warn",   "info",    "debug",   "request", "response", "latency", "bytes", "packet", "session",
    "user",   "admin",   "node",    "cluster", "queue", "timeout",  "retry", "commit", "rollback",
    "index",  "table",   "row",     "column",  "value", "status",   "ok",    "failed", "pending",
    "running", "stopped", "host",   "port",  "socket", "tcp",      "udp",   "http",   "grpc"};
static const uint32_t latin[] = {0xE9, 0xE8, 0xE0, 0xE7, 0xFC, 0xF6, 0xE4, 0xF1,
                                 0xDF, 0xF8, 0xE5, 0xC9, 0xC0, 0xDC, 0xD6};
static const uint32_t box_chars[] = {0x2500, 0x2502, 0x250C, 0x2510, 0x2514, 0x2518, 0x251C,
                               0x2524, 0x252C, 0x2534, 0x253C, 0x2550, 0x2551};

/* Words (some numbers) joined by spaces, cut to exactly ncols columns. */
static void add_words(QdBuf *b, int ncols)
{
	char line[512];
	int n = 0;

	if (ncols > 400)
		ncols = 400;
	while (n < ncols) {
		char w[16];

		if (rndf() < 0.15)
			snprintf(w, sizeof(w), "%u", rnd32() % 100000000u / (1u + rnd(1000)));
		else
			snprintf(w, sizeof(w), "%s", words_list[rnd(QD_ARRAY_LEN(words_list))]);
		n += snprintf(line + n, sizeof(line) - (size_t)n, n ? " %s" : "%s", w);
	}
	qdbuf_append(b, line, (size_t)ncols);
}

static void add_sgr(QdBuf *b)
{
	static const int c16[] = {31, 32, 33, 34, 35, 36, 91, 92, 93};
	static const char *const mods[] = {"1;", "4;", "7;", "1;4;"};
	double k = rndf();

	if (k < 0.4)
		qdbuf_appendf(b, "\x1b[%dm", c16[rnd(QD_ARRAY_LEN(c16))]);
	else if (k < 0.7)
		qdbuf_appendf(b, "\x1b[38;5;%dm", rnd_range(16, 256));
	else if (k < 0.85)
		qdbuf_appendf(b, "\x1b[38;2;%u;%u;%um", rnd(256), rnd(256), rnd(256));
	else
		qdbuf_appendf(b, "\x1b[%s%dm", mods[rnd(4)], 31 + (int)rnd(4));
}

static void mixed_line(QdBuf *b)
{
	double r = rndf();
	int ln = (int)triangular(10, 160, 70);

	if (r < 0.62) {
		add_words(b, ln);
	} else if (r < 0.84) {
		for (int i = 0, n = rnd_range(1, 5); i < n; i++) {
			add_sgr(b);
			add_words(b, rnd_range(4, 30));
			qdbuf_append(b, "\x1b[0m ", 5);
			add_words(b, rnd_range(3, 20));
			qdbuf_append(b, " ", 1);
		}
	} else if (r < 0.96) {
		for (int i = 0, n = rnd_range(3, 12); i < n; i++) {
			double k = rndf();

			if (i)
				qdbuf_append(b, " ", 1);
			if (k < 0.45) {
				for (int j = 0, m = rnd_range(1, 8); j < m; j++)
					put_utf8(b, 0x4E00 + rnd(400));
			} else if (k < 0.6) {
				for (int j = 0, m = rnd_range(1, 3); j < m; j++)
					put_utf8(b, 0x1F600 + rnd(64));
			} else if (k < 0.75) {
				add_words(b, 8);
				put_utf8(b, latin[rnd(QD_ARRAY_LEN(latin))]);
				add_words(b, 5);
			} else if (k < 0.85) {
				for (int j = 0, m = rnd_range(2, 10); j < m; j++)
					put_utf8(b, box_chars[rnd(QD_ARRAY_LEN(box_chars))]);
			} else {
				add_words(b, rnd_range(4, 20));
			}
		}
	} else {
		for (int i = 0, n = rnd_range(3, 8); i < n; i++) {
			if (i)
				qdbuf_append(b, "\t", 1);
			add_words(b, rnd_range(3, 14));
		}
	}
	qdbuf_append(b, "\n", 1);
}

static void gen_mixed(QdBuf *b, size_t target)
{
	rng_state = 1;
	while (b->len < target)
		mixed_line(b);
}

static void cup(QdBuf *b, int r, int c) { qdbuf_appendf(b, "\x1b[%d;%dH", r, c); }
static void cup_ch(QdBuf *b, int r, int c, char ch) { qdbuf_appendf(b, "\x1b[%d;%dH%c", r, c, ch); }

static void blk_dense(QdBuf *s)
{
	int off = 0;

	for (char ch = 'A'; ch <= 'Z'; ch++, off++) {
		qdbuf_append(s, "\x1b[H", 3);
		for (int r = 1; r <= ROWS; r++)
			for (int c = 1; c <= COLS; c++) {
				int i = r + c + off;

				qdbuf_appendf(s, "\x1b[38;5;%d;48;5;%d;1;3;4m%c", i % 156 + 100, 255 - i % 156,
				              ch);
			}
	}
	qdbuf_append(s, "\x1b[0m", 4);
}

static void blk_light(QdBuf *s)
{
	for (char ch = 'A'; ch <= 'Z'; ch++) {
		qdbuf_append(s, "\x1b[H", 3);
		for (int i = 0; i < ROWS * COLS; i++)
			qdbuf_append(s, &ch, 1);
	}
}

static void blk_cursor_motion(QdBuf *s)
{
	for (char ch = 'A'; ch <= 'Z'; ch++) {
		int c0 = 1, c1 = COLS, l0 = 1, l1 = ROWS;

		while (c0 <= c1 && l0 <= l1) {
			for (int c = c0; c < c1; c++)
				cup_ch(s, l0, c, ch);
			for (int l = l0; l < l1; l++)
				cup_ch(s, l, c1, ch);
			for (int c = c1; c > c0; c--)
				cup_ch(s, l1, c, ch);
			for (int l = l1; l > l0; l--)
				cup_ch(s, l, c0, ch);
			c0++;
			c1--;
			l0++;
			l1--;
		}
	}
}

static void blk_scrolling(QdBuf *s)
{
	for (int i = 0; i < 4096; i++)
		qdbuf_append(s, "y\n", 2);
}

static void blk_scrolling_full(QdBuf *s)
{
	for (char ch = 'A'; ch <= 'Z'; ch++) {
		for (int i = 0; i < COLS - 1; i++)
			qdbuf_append(s, &ch, 1);
		qdbuf_append(s, "\n", 1);
	}
}

static void blk_scroll_region(QdBuf *s)
{
	qdbuf_appendf(s, "\x1b[1;%dr", ROWS - 1);
	cup(s, ROWS, 1);
	qdbuf_appendf(s, "STATUS BAR");
	cup(s, 1, 1);
	for (int i = 0; i < 2000; i++) {
		add_words(s, rnd_range(20, COLS - 1));
		qdbuf_append(s, "\n", 1);
	}
	qdbuf_append(s, "\x1b[r", 3);
}

static uint32_t unicode_pick(void)
{
	static const uint32_t ranges[][2] = {{0x20, 0x7F},     {0xA1, 0x2000},   {0x2500, 0x2600},
	                                     {0x3041, 0x3097}, {0x4E00, 0x55D0}, {0xAC00, 0xADF4}};
	uint32_t total = 0, k;

	for (size_t i = 0; i < QD_ARRAY_LEN(ranges); i++)
		total += ranges[i][1] - ranges[i][0];
	k = rnd(total);
	for (size_t i = 0; i < QD_ARRAY_LEN(ranges); i++) {
		uint32_t n = ranges[i][1] - ranges[i][0];

		if (k < n)
			return ranges[i][0] + k;
		k -= n;
	}
	return '?';
}

static void blk_unicode(QdBuf *s)
{
	for (int i = 0; i < 20000; i++) {
		cup(s, rnd_range(1, ROWS + 1), rnd_range(1, COLS));
		put_utf8(s, unicode_pick());
		put_utf8(s, unicode_pick());
	}
}

static void blk_table_redraw(QdBuf *s)
{
	static const char *const st[] = {"ok", "failed", "pending", "running"};
	static const int col[] = {32, 31, 33, 36};
	int row_id = 0;

	for (int page = 0; page < 50; page++) {
		qdbuf_appendf(s, "\x1b[H\x1b[7m%-*s\x1b[0m", COLS,
		              " ID      NAME                 STATUS    LATENCY   BYTES        HOST");
		for (int r = 2; r < ROWS; r++) {
			QdBuf name;
			unsigned k = rnd(4);

			qdbuf_init(&name);
			add_words(&name, 20);
			cup(s, r, 1);
			qdbuf_appendf(s, " %-7d %-20.20s \x1b[%dm%-9s\x1b[0m %7.2fms %12u  ", ++row_id,
			              qdbuf_cstr(&name), col[k], st[k], rndf() * 900, rnd(1000000000));
			add_words(s, 30);
			qdbuf_append(s, "\x1b[K", 3);
			qdbuf_done(&name);
		}
		cup(s, ROWS, 1);
		qdbuf_appendf(s, "\x1b[7m rows %-*d\x1b[0m", COLS - 7, row_id);
	}
}

typedef struct {
	const char *name;
	void (*block)(QdBuf *);
	bool e2e; /* also run end to end */
} VteWork;

static const VteWork vte_works[] = {
    {"dense_cells", blk_dense, true},          {"light_cells", blk_light, false},
    {"cursor_motion", blk_cursor_motion, false}, {"scrolling", blk_scrolling, true},
    {"scrolling_full", blk_scrolling_full, true}, {"scroll_region", blk_scroll_region, false},
    {"unicode", blk_unicode, true},            {"table_redraw", blk_table_redraw, false},
};

/* One iteration block repeated to at least target bytes, as vtebench does. */
static void gen_vte(const VteWork *w, QdBuf *b, size_t target)
{
	QdBuf blk;

	rng_state = 1;
	qdbuf_init(&blk);
	w->block(&blk);
	while (b->len < target)
		qdbuf_append(b, blk.data, blk.len);
	qdbuf_done(&blk);
}

/* What a PTY in its default (cooked) mode does to the stream: "\n" → "\r\n". */
static void onlcr(const QdBuf *in, QdBuf *out)
{
	const char *s = in->data, *end = in->data + in->len;

	qdbuf_reset(out);
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));

		if (!nl) {
			qdbuf_append(out, s, (size_t)(end - s));
			break;
		}
		qdbuf_append(out, s, (size_t)(nl - s));
		qdbuf_append(out, "\r\n", 2);
		s = nl + 1;
	}
}

/* --- clocks ---------------------------------------------------------------------- */

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(double), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static const char *only; /* QD_BENCH_ONLY: comma-separated workload names */

/* Whether a comma-separated filter (unset or empty = everything) names name. */
static bool in_list(const char *list, const char *name)
{
	size_t n = strlen(name);

	if (!list || !*list)
		return true;
	for (const char *s = list; *s;) {
		const char *e = strchr(s, ',');
		size_t len = e ? (size_t)(e - s) : strlen(s);

		if (len == n && memcmp(s, name, n) == 0)
			return true;
		if (!e)
			break;
		s = e + 1;
	}
	return false;
}

static bool selected(const char *name) { return in_list(only, name); }

/* Every item of a comma-separated filter must be one of names[]: a typo
 * would otherwise silently select nothing. */
static bool list_valid(const char *var, const char *list, const char *const *names, size_t n)
{
	for (const char *s = list; s && *s;) {
		const char *e = strchr(s, ',');
		size_t len = e ? (size_t)(e - s) : strlen(s);
		bool known = false;

		for (size_t i = 0; i < n && !known; i++)
			known = strlen(names[i]) == len && memcmp(names[i], s, len) == 0;
		if (!known) {
			fprintf(stderr, "bench_term: %s: unknown name \"%.*s\"; known:", var, (int)len, s);
			for (size_t i = 0; i < n; i++)
				fprintf(stderr, "%s%s", i ? ", " : " ", names[i]);
			fprintf(stderr, "\n");
			return false;
		}
		if (!e)
			break;
		s = e + 1;
	}
	return true;
}

/* --- part 1: the pane alone -------------------------------------------------------- */

static void pane_alone(const char *name, const QdBuf *stream, FILE *sink)
{
	TermPane *p = termpane_new(ROWS, COLS);
	const size_t chunk = 16384;
	double t0, t_parse, t_total, t_draw = 0, last_draw;
	long bytes0;
	int frames = 0;

	termpane_set_depth(p, THEME_256);
	t0 = cpu_s();
	for (size_t off = 0; off < stream->len; off += chunk)
		termpane_write(p, stream->data + off, QD_MIN(chunk, stream->len - off));
	t_parse = cpu_s() - t0;
	termpane_free(&p);

	/* Parse plus drawing at most every 1/60 s of wall time, like the
	 * console's frame timer; every frame is a full curses update. */
	p = termpane_new(ROWS, COLS);
	termpane_set_depth(p, THEME_256);
	clear();
	refresh();
	fflush(sink);
	bytes0 = ftell(sink);
	t0 = cpu_s();
	last_draw = mono_s();
	for (size_t off = 0; off <= stream->len; off += chunk) {
		double t = mono_s();

		if (off < stream->len)
			termpane_write(p, stream->data + off, QD_MIN(chunk, stream->len - off));
		if (t - last_draw >= 1.0 / 60 || off + chunk > stream->len) {
			double d0 = cpu_s();

			termpane_draw(p, stdscr, 0, 0);
			wnoutrefresh(stdscr);
			doupdate();
			t_draw += cpu_s() - d0;
			last_draw = t;
			frames++;
		}
	}
	t_total = cpu_s() - t0;
	fflush(sink);
	printf("  %-15s %6.1f MB  %8.1f MB/s  %8.1f MB/s  %5d  %7.3f ms  %8.2f MB\n", name,
	       stream->len / 1e6, stream->len / 1e6 / t_parse, stream->len / 1e6 / t_total, frames,
	       t_draw * 1e3 / frames, (ftell(sink) - bytes0) / 1e6);
	termpane_free(&p);
}

static int part1(size_t mixed_bytes, size_t vte_bytes)
{
	FILE *sink = tmpfile(), *in = fopen("/dev/null", "r");
	SCREEN *scr;
	QdBuf raw, cooked;

	if (!sink || !in) {
		fprintf(stderr, "bench_term: cannot open a temporary file or /dev/null\n");
		return 1;
	}
	/* A file has no size to ask: without these curses assumes 80x24 and
	 * starts by setting a 24-line scroll region. */
	setenv("LINES", BENCH_STR(ROWS), 1);
	setenv("COLUMNS", BENCH_STR(COLS), 1);
	scr = newterm("xterm-256color", sink, in);
	unsetenv("LINES");
	unsetenv("COLUMNS");
	if (!scr) {
		fprintf(stderr, "bench_term: cannot start curses for xterm-256color\n");
		return 1;
	}
	set_term(scr);
	/* /dev/null always polls readable: curses would take that for
	 * typeahead and abandon frames halfway. */
	typeahead(-1);
	start_color();
	use_default_colors();
	printf("Part 1: the pane alone, %dx%d, 16 KiB writes, CPU time of this process.\n", COLS,
	       ROWS);
	printf("  draw: a curses frame at most every 1/60 s (wall), output to a file.\n");
	printf("  %-15s %9s  %13s  %13s  %5s  %10s  %11s\n", "workload", "size", "parse",
	       "parse+draw", "frames", "CPU/frame", "outer bytes");
	qdbuf_init(&raw);
	qdbuf_init(&cooked);
	if (selected("mixed"))
		gen_mixed(&raw, mixed_bytes);
	onlcr(&raw, &cooked);
	if (selected("mixed"))
		pane_alone("mixed", &cooked, sink);
	for (size_t i = 0; i < QD_ARRAY_LEN(vte_works); i++) {
		if (!selected(vte_works[i].name))
			continue;
		qdbuf_reset(&raw);
		gen_vte(&vte_works[i], &raw, vte_bytes);
		onlcr(&raw, &cooked);
		pane_alone(vte_works[i].name, &cooked, sink);
	}
	qdbuf_done(&raw);
	qdbuf_done(&cooked);
	endwin();
	delscreen(scr);
	fclose(sink);
	fclose(in);
	return 0;
}

/* --- the measured command: `cat` that reports its own start and end ------------------ */

static int mode_cat(const char *file, const char *report)
{
	static char buf[131072];
	int fd = open(file, O_RDONLY);
	double t0, t1;
	ssize_t n;
	char tmp[4096], line[64];
	FILE *f;

	if (fd < 0) {
		fprintf(stderr, "bench_term --cat: %s: %s\n", file, strerror(errno));
		return 1;
	}
	t0 = mono_s();
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(1, buf + off, (size_t)(n - off));

			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return 1;
			off += w;
		}
	}
	t1 = mono_s();
	close(fd);
	/* Written under a temporary name and renamed: the bench never sees half a report. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", report);
	snprintf(line, sizeof(line), "%.9f %.9f\n", t0, t1);
	f = fopen(tmp, "w");
	if (!f || fputs(line, f) < 0 || fclose(f) != 0 || rename(tmp, report) != 0)
		return 1;
	/* Stay, like a shell prompt would: the screen must not change after this. */
	for (;;)
		pause();
}

/* --- the pane driver ------------------------------------------------------------------ */

static volatile sig_atomic_t drive_stop;
static void on_term(int sig)
{
	(void)sig;
	drive_stop = 1;
}

static int drive_master = -1;
static void drive_reply(void *ud, const char *bytes, size_t len)
{
	(void)ud;
	if (write(drive_master, bytes, len) < 0) {
		/* the command does not read its terminal; a lost reply is harmless */
	}
}

static void set_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static int mode_drive(char **argv)
{
	struct winsize ws = {.ws_row = ROWS, .ws_col = COLS};
	struct termios tio;
	int cpipe[2], outfd = 1;
	FILE *cout;
	SCREEN *scr;
	TermPane *p;
	QdBuf out;
	size_t out_off = 0;
	pid_t child;
	double next_frame = 0;
	bool child_open = true;
	static char buf[65536];

	setlocale(LC_ALL, "C.UTF-8");
	ioctl(0, TIOCGWINSZ, &ws);
	if (tcgetattr(0, &tio) == 0) {
		cfmakeraw(&tio);
		tcsetattr(0, TCSANOW, &tio);
	}
	/* curses writes into a pipe we empty ourselves, so that a slow outer
	 * terminal never blocks the loop that reads the command. */
	if (pipe(cpipe) != 0)
		return 1;
	fcntl(cpipe[0], F_SETPIPE_SZ, 1 << 20);
	set_nonblock(cpipe[0]);
	cout = fdopen(cpipe[1], "w");
	/* curses cannot ask a pipe for the size: without these it assumes
	 * terminfo's 80x24 and sets a 24-line scroll region it never resets. */
	snprintf((char *)buf, sizeof(buf), "%d", ws.ws_row);
	setenv("LINES", (char *)buf, 1);
	snprintf((char *)buf, sizeof(buf), "%d", ws.ws_col);
	setenv("COLUMNS", (char *)buf, 1);
	scr = newterm("xterm-256color", cout, stdin);
	if (!scr)
		return 1;
	set_term(scr);
	unsetenv("LINES");
	unsetenv("COLUMNS");
	nonl();          /* the outer tty is raw: "\n" is a bare line feed */
	typeahead(-1);   /* never abandon a frame halfway for pending input */
	if (getenv("QD_BENCH_NOIDL"))
		idlok(stdscr, FALSE);
	else if (getenv("QD_BENCH_IDL"))
		idlok(stdscr, TRUE);
	start_color();
	use_default_colors();
	p = termpane_new(ws.ws_row, ws.ws_col);
	child = forkpty(&drive_master, NULL, NULL, &ws);
	if (child < 0)
		return 1;
	if (child == 0) {
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		setenv("TERM", "xterm-256color", 1);
		execv(argv[0], argv);
		_exit(127);
	}
	signal(SIGTERM, on_term);
	signal(SIGHUP, on_term);
	set_nonblock(drive_master);
	set_nonblock(outfd);
	termpane_set_reply(p, drive_reply, NULL);
	qdbuf_init(&out);
	while (!drive_stop) {
		struct pollfd pf[2] = {{.fd = drive_master, .events = child_open ? POLLIN : 0},
		                       {.fd = outfd, .events = out.len > out_off ? POLLOUT : 0}};
		double now = mono_s();
		int timeout = -1;

		if (termpane_dirty(p) && out.len == out_off)
			timeout = next_frame > now ? (int)((next_frame - now) * 1000) + 1 : 0;
		if (poll(pf, 2, timeout) < 0 && errno != EINTR)
			break;
		/* Read what the command wrote, but at most 1 MB before looking at
		 * the clock again, so a flood cannot starve the frame. */
		for (size_t got = 0; child_open && got < (1u << 20);) {
			ssize_t n = read(drive_master, buf, sizeof(buf));

			if (n > 0) {
				termpane_write(p, buf, (size_t)n);
				got += (size_t)n;
			} else {
				if (n == 0 || (errno != EAGAIN && errno != EINTR))
					child_open = false;
				break;
			}
		}
		if (out.len > out_off) {
			ssize_t n = write(outfd, out.data + out_off, out.len - out_off);

			if (n > 0)
				out_off += (size_t)n;
			if (out_off == out.len)
				out.len = out_off = 0;
		}
		now = mono_s();
		if (out.len == out_off && termpane_dirty(p) && now >= next_frame) {
			ssize_t n;

			termpane_draw(p, stdscr, 0, 0);
			wnoutrefresh(stdscr);
			doupdate();
			fflush(cout);
			while ((n = read(cpipe[0], buf, sizeof(buf))) > 0)
				qdbuf_append(&out, buf, (size_t)n);
			next_frame = now + 1.0 / 60;
		}
	}
	kill(child, SIGTERM);
	waitpid(child, NULL, 0);
	if (getenv("QD_BENCH_GRID")) {
		/* The driver's own grid, to tell a pane fault from a drawing fault. */
		FILE *f = fopen(getenv("QD_BENCH_GRID"), "w");

		for (int r = 0; f && r < ws.ws_row; r++) {
			termpane_row_text(p, r, (char *)buf, sizeof(buf));
			fprintf(f, "%s\n", (char *)buf);
		}
		if (f)
			fclose(f);
	}
	termpane_free(&p);
	qdbuf_done(&out);
	return 0;
}

/* --- part 2: end to end ------------------------------------------------------------------ */

typedef enum { SETUP_RAW, SETUP_TMUX, SETUP_DVTM, SETUP_PANE, SETUP_N } Setup;
static const char *const setup_names[] = {"raw PTY", "tmux", "dvtm", "pane"};

typedef struct {
	bool ok;
	double cmd_s;    /* the command's own start to end */
	double final_ms; /* command end to the last outer byte */
	size_t bytes;    /* written to the outer terminal */
	int bad_rows;    /* final screen rows that differ from the stream's; -1 not checked */
	bool late;       /* output came after QUIET_MS of silence */
} RunResult;

static char self_path[4096];
static char tmpdir[256];
static char tmux_sock[64];
static bool have_tmux, have_dvtm;

static const char *only_setups; /* QD_BENCH_SETUPS: comma-separated, e.g. "tmux,pane" */

static bool setup_skipped(int s, int d)
{
	if (!in_list(only_setups, setup_names[s]))
		return true;
	return (s == SETUP_TMUX && !have_tmux) || (s == SETUP_DVTM && !have_dvtm) ||
	       (d == 1 && s == SETUP_RAW);
}

static bool read_report(const char *path, double *t0, double *t1)
{
	FILE *f = fopen(path, "r");
	bool ok;

	if (!f)
		return false;
	ok = fscanf(f, "%lf %lf", t0, t1) == 2;
	fclose(f);
	return ok;
}

static void run_tmux_cmd(const char *const *args)
{
	pid_t pid = fork();

	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);

		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
		execvp("tmux", (char *const *)args);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

/* Counts rows of the outer terminal's final screen (outer bytes replayed
 * into a TermPane) whose text differs from the stream's own final screen. */
static int screen_diff(const QdBuf *outer, const TermPane *expect)
{
	TermPane *got = termpane_new(ROWS, COLS);
	char a[2048], b[2048];
	int bad = 0;

	termpane_write(got, outer->data, outer->len);
	for (int r = 0; r < ROWS; r++) {
		termpane_row_text(got, r, a, sizeof(a));
		termpane_row_text(expect, r, b, sizeof(b));
		if (strcmp(a, b) != 0) {
			bad++;
			if (getenv("QD_BENCH_DEBUG"))
				fprintf(stderr, "row %2d got    |%s|\n       expect |%s|\n", r, a, b);
		}
	}
	termpane_free(&got);
	return bad;
}

static RunResult run_one(Setup setup, const char *file, double rate, const TermPane *expect)
{
	RunResult res = {.bad_rows = -1};
	struct winsize ws = {.ws_row = ROWS, .ws_col = COLS};
	char report[512], cmdline[8192], save[600] = "";
	int master;
	pid_t pid;
	double t_start = mono_s(), tokens = 0, last_fill, last_byte = 0, c0 = 0, c1 = 0;
	double quiet_byte = 0; /* last_byte when QUIET_MS of silence was first seen */
	const double burst = rate > 0 ? QD_MAX(rate / 20, 16384) : 0;
	bool ended = false, keep = setup != SETUP_RAW;
	QdBuf outer;
	static char buf[65536];

	snprintf(report, sizeof(report), "%s/report", tmpdir);
	unlink(report);
	if (getenv("QD_BENCH_SAVE") && keep) {
		static int seq;

		snprintf(save, sizeof(save), "%s/%s-%s-%d-%02d", getenv("QD_BENCH_SAVE"),
		         strrchr(file, '/') + 1, setup_names[setup], (int)(rate > 0), seq++);
	}
	pid = forkpty(&master, NULL, NULL, &ws);
	if (pid < 0) {
		fprintf(stderr, "bench_term: forkpty: %s\n", strerror(errno));
		return res;
	}
	if (pid == 0) {
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		setenv("TERM", "xterm-256color", 1);
		unsetenv("TMUX");
		if (setup == SETUP_RAW) {
			execl(self_path, self_path, "--cat", file, report, (char *)NULL);
		} else if (setup == SETUP_PANE) {
			if (*save) {
				snprintf(cmdline, sizeof(cmdline), "%s.grid", save);
				setenv("QD_BENCH_GRID", cmdline, 1);
			}
			execl(self_path, self_path, "--drive", self_path, "--cat", file, report,
			      (char *)NULL);
		} else if (setup == SETUP_DVTM) {
			/* One window and no status fifo: dvtm hides its bar and
			 * draws no border, so the window is the whole 120x40. */
			snprintf(cmdline, sizeof(cmdline), "exec '%s' --cat '%s' '%s'", self_path, file,
			         report);
			setenv("SHELL", "/bin/sh", 1); /* dvtm runs the command with $SHELL -c */
			execlp("dvtm", "dvtm", cmdline, (char *)NULL);
		} else {
			snprintf(cmdline, sizeof(cmdline), "exec '%s' --cat '%s' '%s'", self_path, file,
			         report);
			execlp("tmux", "tmux", "-L", tmux_sock, "-f", "/dev/null", "start-server", ";",
			       "set", "-g", "status", "off", ";", "new-session", "-x", "120", "-y", "40",
			       cmdline, (char *)NULL);
		}
		_exit(127);
	}
	set_nonblock(master);
	qdbuf_init(&outer);
	last_fill = mono_s();
	for (;;) {
		struct pollfd pf = {.fd = master, .events = POLLIN};
		double now = mono_s();
		int timeout = 10;
		size_t want = sizeof(buf);

		if (rate > 0) {
			tokens = QD_MIN(burst, tokens + (now - last_fill) * rate);
			last_fill = now;
			if (tokens < 4096) {
				/* wait for the bucket rather than for data */
				struct timespec ts = {0, (long)((4096 - tokens) / rate * 1e9)};

				nanosleep(&ts, NULL);
				continue;
			}
			want = QD_MIN(want, (size_t)tokens);
		}
		if (poll(&pf, 1, timeout) > 0) {
			ssize_t n = read(master, buf, want);

			if (n > 0) {
				res.bytes += (size_t)n;
				last_byte = mono_s();
				if (keep)
					qdbuf_append(&outer, buf, (size_t)n);
				if (rate > 0)
					tokens -= (double)n;
			} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
				break; /* the outer side went away */
			}
		}
		now = mono_s();
		if (!ended && read_report(report, &c0, &c1))
			ended = true;
		if (quiet_byte > 0 && last_byte > quiet_byte) {
			res.late = true;
			if (getenv("QD_BENCH_DEBUG"))
				fprintf(stderr, "%s: output %.0f ms after %d ms of quiet\n", setup_names[setup],
				        (last_byte - quiet_byte) * 1e3, QUIET_MS);
			quiet_byte = 0;
		}
		if (ended && quiet_byte == 0 && now - last_byte >= QUIET_MS / 1e3)
			quiet_byte = last_byte;
		if (ended && now - last_byte >= (QUIET_MS + CONFIRM_MS) / 1e3) {
			struct pollfd q = {.fd = master, .events = POLLIN};

			if (poll(&q, 1, 0) == 0) {
				res.ok = true;
				break;
			}
		}
		if (now - t_start > RUN_TIMEOUT_S)
			break;
	}
	if (setup == SETUP_TMUX) {
		const char *const kill_args[] = {"tmux", "-L", tmux_sock, "kill-server", NULL};

		run_tmux_cmd(kill_args);
	}
	kill(pid, SIGTERM);
	kill(pid, SIGHUP);
	{
		/* Drain whatever the exit prints so the child is not stuck writing. */
		double t = mono_s();

		while (waitpid(pid, NULL, WNOHANG) == 0 && mono_s() - t < 5) {
			if (read(master, buf, sizeof(buf)) <= 0) {
				struct timespec ts = {0, 2000000};

				nanosleep(&ts, NULL);
			}
		}
		if (waitpid(pid, NULL, WNOHANG) == 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
	}
	close(master);
	if (ended) {
		res.cmd_s = c1 - c0;
		res.final_ms = QD_MAX(0, (last_byte - c1) * 1e3);
	}
	if (res.ok && keep && expect)
		res.bad_rows = screen_diff(&outer, expect);
	if (*save) {
		char path[700];
		FILE *f;

		snprintf(path, sizeof(path), "%s.out", save);
		f = fopen(path, "wb");
		if (f) {
			fwrite(outer.data, 1, outer.len, f);
			fclose(f);
		}
	}
	qdbuf_done(&outer);
	unlink(report);
	return res;
}

typedef struct {
	const char *name;
	char path[512];
	size_t size;
	TermPane *expect; /* the stream's own final screen */
} Corpus;

static void corpus_make(Corpus *c, const char *name, const QdBuf *raw)
{
	FILE *f;
	QdBuf cooked;

	c->name = name;
	c->size = raw->len;
	snprintf(c->path, sizeof(c->path), "%s/%s.vt", tmpdir, name);
	f = fopen(c->path, "wb");
	if (!f || fwrite(raw->data, 1, raw->len, f) != raw->len || fclose(f) != 0) {
		fprintf(stderr, "bench_term: cannot write %s\n", c->path);
		exit(1);
	}
	qdbuf_init(&cooked);
	onlcr(raw, &cooked);
	c->expect = termpane_new(ROWS, COLS);
	termpane_write(c->expect, cooked.data, cooked.len);
	qdbuf_done(&cooked);
	if (getenv("QD_BENCH_SAVE")) {
		char path[700], row[2048];

		snprintf(path, sizeof(path), "%s/%s.expect", getenv("QD_BENCH_SAVE"), name);
		f = fopen(path, "w");
		for (int r = 0; f && r < ROWS; r++) {
			termpane_row_text(c->expect, r, row, sizeof(row));
			fprintf(f, "%s\n", row);
		}
		if (f)
			fclose(f);
	}
}

#define MAX_RUNS 15

static void e2e_workload(Corpus *c, int runs, double rate)
{
	/* [drain][setup][run] */
	RunResult r[2][SETUP_N][MAX_RUNS];
	double med_cmd[2][SETUP_N] = {{0}};
	bool gave_up[2][SETUP_N] = {{false}};

	memset(r, 0, sizeof(r));
	for (int i = 0; i < runs; i++)
		for (int d = 0; d < 2; d++)
			for (int s = 0; s < SETUP_N; s++) {
				/* A setup that could not finish once within RUN_TIMEOUT_S
				 * (dvtm on the slow link) will not the next time either. */
				if (setup_skipped(s, d) || gave_up[d][s])
					continue;
				r[d][s][i] = run_one((Setup)s, c->path, d ? rate : 0, c->expect);
				gave_up[d][s] = !r[d][s][i].ok;
			}
	for (int d = 0; d < 2; d++)
		for (int s = 0; s < SETUP_N; s++) {
			double cmd[MAX_RUNS], fin[MAX_RUNS], bytes[MAX_RUNS];
			int n = 0, bad = -1, late = 0;
			char ratio_tmux[16] = "-", ratio_raw[16] = "-", check[40] = "-";

			if (setup_skipped(s, d)) {
				if (d == 1 && s == SETUP_RAW)
					printf("  %-14s %-8s %-8s  link-bound: >= %.1f s, not run\n", c->name,
					       d ? "1 MB/s" : "full", setup_names[s], c->size / rate);
				continue;
			}
			for (int i = 0; i < runs; i++) {
				if (!r[d][s][i].ok)
					continue;
				cmd[n] = r[d][s][i].cmd_s;
				fin[n] = r[d][s][i].final_ms;
				bytes[n] = (double)r[d][s][i].bytes;
				late += r[d][s][i].late;
				if (r[d][s][i].bad_rows > bad)
					bad = r[d][s][i].bad_rows;
				n++;
			}
			if (n == 0) {
				printf("  %-14s %-8s %-8s  FAILED (did not finish within %d s; not rerun)\n",
				       c->name, d ? "1 MB/s" : "full", setup_names[s], RUN_TIMEOUT_S);
				continue;
			}
			med_cmd[d][s] = median(cmd, n);
			if (med_cmd[d][SETUP_TMUX] > 0)
				snprintf(ratio_tmux, sizeof(ratio_tmux), "%.2f",
				         med_cmd[d][s] / med_cmd[d][SETUP_TMUX]);
			if (med_cmd[0][SETUP_RAW] > 0)
				snprintf(ratio_raw, sizeof(ratio_raw), "%.2f",
				         med_cmd[d][s] / med_cmd[0][SETUP_RAW]);
			if (bad == 0)
				snprintf(check, sizeof(check), "ok");
			else if (bad > 0)
				snprintf(check, sizeof(check), "%d rows differ", bad);
			if (late)
				snprintf(check + strlen(check), sizeof(check) - strlen(check), ", %d late", late);
			printf("  %-14s %-8s %-8s %8.3f s %8.1f MB/s %7s %7s %10.2f MB %8.0f ms  %s%s\n",
			       c->name, d ? "1 MB/s" : "full", setup_names[s], med_cmd[d][s],
			       c->size / 1e6 / med_cmd[d][s], ratio_tmux, ratio_raw, median(bytes, n) / 1e6,
			       median(fin, n), check, n < runs ? " (some runs failed)" : "");
			fflush(stdout);
		}
}

static int part2(size_t mixed_bytes, size_t vte_bytes, int runs, double rate)
{
	const char *td = getenv("TMPDIR");
	Corpus corp[1 + QD_ARRAY_LEN(vte_works)];
	int nc = 0;
	QdBuf raw;
	ssize_t n;
	double t0 = mono_s();

	n = readlink("/proc/self/exe", self_path, sizeof(self_path) - 1);
	if (n <= 0) {
		fprintf(stderr, "bench_term: cannot find its own executable\n");
		return 1;
	}
	self_path[n] = '\0';
	snprintf(tmpdir, sizeof(tmpdir), "%s/qdbench.XXXXXX", td && *td ? td : "/tmp");
	if (!mkdtemp(tmpdir)) {
		fprintf(stderr, "bench_term: mkdtemp %s: %s\n", tmpdir, strerror(errno));
		return 1;
	}
	snprintf(tmux_sock, sizeof(tmux_sock), "qdbench-%d", (int)getpid());
	have_tmux = system("tmux -V >/dev/null 2>&1") == 0;
	have_dvtm = system("command -v dvtm >/dev/null 2>&1") == 0;
	qdbuf_init(&raw);
	if (selected("mixed")) {
		gen_mixed(&raw, mixed_bytes);
		corpus_make(&corp[nc++], "mixed", &raw);
	}
	for (size_t i = 0; i < QD_ARRAY_LEN(vte_works); i++) {
		if (!vte_works[i].e2e || !selected(vte_works[i].name))
			continue;
		qdbuf_reset(&raw);
		gen_vte(&vte_works[i], &raw, vte_bytes);
		corpus_make(&corp[nc++], vte_works[i].name, &raw);
	}
	qdbuf_done(&raw);

	printf("\nPart 2: end to end, %dx%d, TERM=xterm-256color, wall time, medians of %d "
	       "interleaved runs.\n",
	       COLS, ROWS, runs);
	printf("  command: this program's own cat of the stream, reporting its start and end.\n");
	printf("  raw PTY: the bench drains the command's PTY. tmux: %s, fresh server -f /dev/null,\n"
	       "  status off, attached under an outer PTY. pane: a driver forkpty()s the command,\n"
	       "  feeds a TermPane and draws it with curses at <= 60 Hz into the outer PTY; this\n"
	       "  models qdeck's terminal pane WITHOUT the network (no WebSocket, no qdeckd).\n",
	       have_tmux ? "tmux" : "NOT INSTALLED (skipped)");
	printf("  Sizes: mixed %.1f MB, vte workloads %.1f MB each. Slow link: token bucket at %.0f "
	       "kB/s.\n",
	       mixed_bytes / 1e6, vte_bytes / 1e6, rate / 1e3);
	printf("  final = command end to the last outer byte (a run ends after %d ms of silence\n"
	       "  confirmed by %d ms more; \"N late\" = N runs wrote after a %d ms gap); screen =\n"
	       "  the outer terminal's final text vs the stream's own final screen.\n",
	       QUIET_MS, CONFIRM_MS, QUIET_MS);
	printf("  unicode holds random code points (unassigned, combining): libvterm, glibc and tmux\n"
	       "  disagree on their widths, so its screen check differs for every setup.\n");
	printf("  dvtm: %s\n",
	       have_dvtm ? "dvtm with the command as its only window, under the same 120x40 outer\n"
	                   "  PTY: with one window and no status fifo dvtm hides its bar and draws no\n"
	                   "  border, so its window is 120x40 too and the whole screen is checked."
	                 : "NOT INSTALLED (skipped)");
	printf("  %-14s %-8s %-8s %10s %13s %7s %7s %13s %11s  %s\n", "workload", "drain", "setup",
	       "cmd time", "throughput", "x tmux", "x raw", "outer bytes", "final", "screen");
	for (int i = 0; i < nc; i++) {
		e2e_workload(&corp[i], runs, rate);
		unlink(corp[i].path);
		termpane_free(&corp[i].expect);
	}
	rmdir(tmpdir);
	printf("  (part 2 took %.0f s)\n", mono_s() - t0);
	return 0;
}

static size_t env_size(const char *name, size_t def, size_t lo, size_t hi)
{
	const char *v = getenv(name);
	char *end;
	unsigned long n;

	if (!v || !*v)
		return def;
	n = strtoul(v, &end, 10);
	if (*end || n < lo || n > hi) {
		fprintf(stderr, "bench_term: %s=%s: want a number from %zu to %zu; using %zu\n", name, v,
		        lo, hi, def);
		return def;
	}
	return n;
}

int main(int argc, char **argv)
{
	size_t mixed_mb, vte_mb;
	int runs;
	double rate;

	if (argc == 4 && strcmp(argv[1], "--cat") == 0)
		return mode_cat(argv[2], argv[3]);
	if (argc >= 3 && strcmp(argv[1], "--drive") == 0)
		return mode_drive(argv + 2);
	if (argc != 1) {
		fprintf(stderr, "usage: bench_term (see QD_BENCH_* in the source header)\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	setlocale(LC_ALL, "C.UTF-8");
	mixed_mb = env_size("QD_BENCH_MB", 50, 1, 1024);
	vte_mb = env_size("QD_BENCH_VTE_MB", 20, 1, 1024);
	runs = (int)env_size("QD_BENCH_RUNS", 3, 1, MAX_RUNS);
	rate = (double)env_size("QD_BENCH_RATE", 1000000, 10000, 1000000000);
	only = getenv("QD_BENCH_ONLY");
	only_setups = getenv("QD_BENCH_SETUPS");
	{
		const char *works[1 + QD_ARRAY_LEN(vte_works)] = {"mixed"};

		for (size_t i = 0; i < QD_ARRAY_LEN(vte_works); i++)
			works[i + 1] = vte_works[i].name;
		if (!list_valid("QD_BENCH_ONLY", only, works, QD_ARRAY_LEN(works)) ||
		    !list_valid("QD_BENCH_SETUPS", only_setups, setup_names, SETUP_N))
			return 2;
	}
	if (part1(QD_MIN(mixed_mb, 16) << 20, 8u << 20) != 0)
		return 1;
	return part2(mixed_mb << 20, vte_mb << 20, runs, rate);
}

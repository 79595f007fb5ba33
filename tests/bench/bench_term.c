/* bench_term — throughput of the terminal pane on a 120x40 screen: bytes
 * through termpane_write() plus drawing paced at 60 Hz into a real curses
 * screen (output captured to count the bytes the outer terminal would get).
 * Workloads are generated here, deterministically, in the spirit of
 * ../shared/bench/gen_corpus.py: a mixed log stream (ASCII, SGR 16/256/
 * truecolor, CJK and emoji), dense cells, a `yes` flood, unicode at random
 * positions. Prints figures; asserts nothing. (tmux comparison: not yet.) */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"
#include "widgets/termpane.h"

static uint64_t rng = 1;
static unsigned rnd(unsigned n)
{
	rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned)(rng >> 33) % n;
}

static const char *words[] = {"the", "quick", "brown", "fox", "error", "warn", "info", "debug",
                              "request", "latency", "node", "cluster", "timeout", "retry", "ok",
                              "failed", "pending", "socket", "http", "grpc"};

static void add_words(QdBuf *b, int cols)
{
	int n = 0;

	while (n < cols) {
		const char *w = words[rnd(QD_ARRAY_LEN(words))];

		qdbuf_appendf(b, "%s ", w);
		n += (int)strlen(w) + 1;
	}
}

static void gen_mixed(QdBuf *b, size_t target)
{
	while (b->len < target) {
		unsigned r = rnd(100);

		if (r < 62) {
			add_words(b, 10 + (int)rnd(150));
		} else if (r < 84) {
			unsigned k = rnd(4);

			if (k == 0)
				qdbuf_appendf(b, "\x1b[%um", 31 + rnd(7));
			else if (k == 1)
				qdbuf_appendf(b, "\x1b[38;5;%um", 16 + rnd(240));
			else if (k == 2)
				qdbuf_appendf(b, "\x1b[38;2;%u;%u;%um", rnd(256), rnd(256), rnd(256));
			else
				qdbuf_appendf(b, "\x1b[1;4;%um", 31 + rnd(4));
			add_words(b, 4 + (int)rnd(30));
			qdbuf_appendf(b, "\x1b[0m ");
			add_words(b, 3 + (int)rnd(20));
		} else if (r < 96) {
			for (unsigned i = 0, n = 3 + rnd(10); i < n; i++) {
				unsigned k = rnd(3);

				if (k == 0)
					qdbuf_appendf(b, "%lc", (wint_t)(0x4E00 + rnd(400)));
				else if (k == 1)
					qdbuf_appendf(b, "%lc", (wint_t)(0x1F600 + rnd(64)));
				else
					qdbuf_appendf(b, "%lc ", (wint_t)0x2500);
			}
		} else {
			for (int i = 0; i < 6; i++)
				qdbuf_appendf(b, "%s\t", words[rnd(QD_ARRAY_LEN(words))]);
		}
		qdbuf_append(b, "\r\n", 2);
	}
}

static void gen_dense(QdBuf *b, size_t target)
{
	while (b->len < target) {
		qdbuf_appendf(b, "\x1b[H");
		for (int r = 0; r < 40; r++)
			for (int c = 0; c < 120; c++)
				qdbuf_appendf(b, "\x1b[38;5;%u;48;5;%u%sm%c", rnd(256), rnd(256),
				              rnd(2) ? ";1" : "", 'A' + rnd(26));
	}
}

static void gen_yes(QdBuf *b, size_t target)
{
	while (b->len < target)
		qdbuf_append(b, "y\r\n", 3);
}

static void gen_unicode(QdBuf *b, size_t target)
{
	while (b->len < target)
		qdbuf_appendf(b, "\x1b[%u;%uH%lc", 1 + rnd(40), 1 + rnd(119),
		              (wint_t)(rnd(2) ? 0x4E00 + rnd(2000) : 0x100 + rnd(0x2000)));
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void run(const char *name, QdBuf *b, FILE *sink)
{
	TermPane *p = termpane_new(40, 120);
	double t0, t1, last_draw, t_parse;
	size_t chunk = 16384, off;
	long bytes0;
	int frames = 0;

	termpane_set_depth(p, THEME_256);
	/* Parse only. */
	t0 = now_s();
	for (off = 0; off < b->len; off += chunk)
		termpane_write(p, b->data + off, QD_MIN(chunk, b->len - off));
	t_parse = now_s() - t0;
	termpane_free(&p);

	/* Parse plus drawing at most every 1/60 s, like the console's frame timer. */
	p = termpane_new(40, 120);
	termpane_set_depth(p, THEME_256);
	fflush(sink);
	bytes0 = ftell(sink);
	t0 = last_draw = now_s();
	for (off = 0; off < b->len; off += chunk) {
		double t;

		termpane_write(p, b->data + off, QD_MIN(chunk, b->len - off));
		t = now_s();
		if (t - last_draw >= 1.0 / 60) {
			termpane_draw(p, stdscr, 0, 0);
			wnoutrefresh(stdscr);
			doupdate();
			last_draw = t;
			frames++;
		}
	}
	termpane_draw(p, stdscr, 0, 0);
	wnoutrefresh(stdscr);
	doupdate();
	t1 = now_s();
	fflush(sink);
	printf("%-10s %6.1f MB  parse %7.1f MB/s  parse+draw %7.1f MB/s  %4d frames  %6.2f MB to the outer terminal\n",
	       name, b->len / 1e6, b->len / 1e6 / t_parse, b->len / 1e6 / (t1 - t0), frames + 1,
	       (ftell(sink) - bytes0) / 1e6);
	termpane_free(&p);
}

int main(void)
{
	FILE *sink = tmpfile(), *in = fopen("/dev/null", "r");
	SCREEN *scr;
	QdBuf b;
	size_t mb = getenv("QD_BENCH_MB") ? (size_t)atoi(getenv("QD_BENCH_MB")) : 50;

	setlocale(LC_ALL, "C.UTF-8");
	scr = newterm("xterm-256color", sink, in);
	if (!scr) {
		fprintf(stderr, "bench_term: cannot start curses for xterm-256color\n");
		return 1;
	}
	set_term(scr);
	resizeterm(40, 120);
	start_color();
	use_default_colors();
	printf("terminal pane, 120x40, 16 KiB writes, draw <= 60 Hz\n");
	qdbuf_init(&b);
	gen_mixed(&b, mb << 20);
	run("mixed", &b, sink);
	qdbuf_reset(&b);
	gen_dense(&b, 8u << 20);
	run("dense", &b, sink);
	qdbuf_reset(&b);
	gen_yes(&b, 8u << 20);
	run("yes", &b, sink);
	qdbuf_reset(&b);
	gen_unicode(&b, 8u << 20);
	run("unicode", &b, sink);
	qdbuf_done(&b);
	endwin();
	delscreen(scr);
	fclose(sink);
	fclose(in);
	return 0;
}

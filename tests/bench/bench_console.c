/* bench_console — qdeck against qdeckd holding 100k allocations, measured
 * through the screen harness at 120x40: time to first paint and to fully
 * loaded, time per filter keystroke, RSS, and the bytes written to the
 * terminal for idle, one row's state change, a selection move and a page
 * down. Prints figures next to the targets of issue 3; asserts nothing.
 *
 *   QD_BENCH_ROWS=N       allocations to bulk-seed (default 100000)
 *   QD_BENCH_FILTER=TEXT  what is typed into the / filter (default "ft-b12")
 *   QD_BENCH_IDLE_S=N     idle window in seconds (default 10) */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "server/model.h"
#include "tests/screen/harness.h"

/* db_seed_bulk comes from the domain module; weak so the bench still links
 * (and says so) in a tree where it has not landed yet. */
int db_seed_bulk(Db *db, int n, ApiError *err);
#pragma weak db_seed_bulk

#define LOAD_TIMEOUT_MS 180000
#define QUIET_MS 150

static void remove_db(const char *dir)
{
	char path[160];
	static const char *const files[] = {"q.db", "q.db-wal", "q.db-shm"};
	for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
		snprintf(path, sizeof path, "%s/%s", dir, files[k]);
		unlink(path);
	}
	rmdir(dir);
}

static int env_int(const char *name, int dflt)
{
	const char *v = getenv(name);
	if (!v || !*v)
		return dflt;
	char *end;
	long n = strtol(v, &end, 10);
	if (*end || n <= 0 || n > 10000000) {
		fprintf(stderr, "bench_console: %s must be a positive number, got '%s'\n", name, v);
		exit(2);
	}
	return (int)n;
}

static long rss_kb(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	long kb = -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* The workbench title says " Workloads (live & actionable) N of M" and adds
 * "loading" until the session has every page; the status line says live. */
static bool fully_loaded(Hs *h, long *shown, long *total)
{
	const char *title = hs_row(h, 0);
	const char *p = strstr(title, "Workloads");
	if (!p || strstr(title, "loading"))
		return false;
	p = strchr(p, ')');
	if (!p || sscanf(p + 1, " %ld of %ld", shown, total) != 2)
		return false;
	return strstr(hs_row(h, hs_rows(h) - 1), "live") != NULL;
}

/* Bytes qdeck writes from now until it has been quiet for QUIET_MS. */
static uint64_t bytes_until_idle(Hs *h, uint64_t before)
{
	hs_wait_idle(h, QUIET_MS, 30000);
	return hs_bytes_written(h) - before;
}

static json_t *api_json(Hs *h, const char *method, const char *path, const char *body, long *status)
{
	char *text = hs_api(h, method, path, body, status);
	json_t *j = text ? json_loads(text, 0, NULL) : NULL;
	free(text);
	return j;
}

int main(void)
{
	int nrows = env_int("QD_BENCH_ROWS", 100000);
	int idle_s = env_int("QD_BENCH_IDLE_S", 10);
	const char *filter = getenv("QD_BENCH_FILTER");
	if (!filter || !*filter)
		filter = "ft-b12";

	if (!db_seed_bulk) {
		fprintf(stderr, "bench_console: this build has no db_seed_bulk (server/model.c): cannot seed %d rows\n",
		        nrows);
		return 1;
	}
	char dir[] = "/tmp/qdeck-bench-XXXXXX";
	if (!mkdtemp(dir)) {
		fprintf(stderr, "bench_console: mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	char db_path[128];
	snprintf(db_path, sizeof db_path, "%s/q.db", dir);
	ApiError err = {0};
	int64_t t0 = qd_mono_ms();
	Db *db = db_open(db_path, &err);
	if (!db || db_seed_demo(db, &err) < 0 || db_seed_bulk(db, nrows, &err) < 0) {
		fprintf(stderr, "bench_console: seeding %s failed: %s\n", db_path, err.message);
		if (db)
			db_close(&db);
		remove_db(dir);
		return 1;
	}
	db_close(&db);
	printf("seeded demo + %d allocations in %lld ms\n", nrows, (long long)(qd_mono_ms() - t0));
	fflush(stdout);

	/* Speed 1: a release stays in "releasing" for seconds, so one row change
	 * is measured alone. */
	HsOpts o = {.rows = 40, .cols = 120, .user = "ops", .db_path = db_path, .no_seed = true, .speed = 1};
	Hs *h = hs_start(&o);
	if (!h) {
		fprintf(stderr, "bench_console: could not start qdeckd + qdeck\n");
		remove_db(dir);
		return 1;
	}

	/* First paint: the first byte, and the status line on screen. */
	int64_t status_ms = -1;
	int64_t end = qd_mono_ms() + 30000;
	while (qd_mono_ms() < end && status_ms < 0) {
		if (hs_pump(h, 20) < 0)
			break;
		if (hs_row(h, hs_rows(h) - 1)[0])
			status_ms = qd_mono_ms() - hs_spawn_mono_ms(h);
	}
	long shown = 0, total = 0;
	int64_t loaded_ms = -1;
	end = qd_mono_ms() + LOAD_TIMEOUT_MS;
	while (qd_mono_ms() < end) {
		if (fully_loaded(h, &shown, &total)) {
			loaded_ms = qd_mono_ms() - hs_spawn_mono_ms(h);
			break;
		}
		if (hs_pump(h, 50) < 0)
			break;
	}
	if (loaded_ms < 0)
		hs_dump(h, "not fully loaded");
	hs_wait_idle(h, 500, 30000);
	long rss = rss_kb(hs_qdeck_pid(h));

	/* (a) idle */
	uint64_t b0 = hs_bytes_written(h);
	hs_pump(h, 0);
	int64_t idle_end = qd_mono_ms() + idle_s * 1000LL;
	while (qd_mono_ms() < idle_end)
		if (hs_pump(h, (int)(idle_end - qd_mono_ms())) < 0)
			break;
	uint64_t idle_bytes = hs_bytes_written(h) - b0;

	/* (c) selection move, (d) page down */
	b0 = hs_bytes_written(h);
	hs_send_key(h, "Down");
	uint64_t move_bytes = bytes_until_idle(h, b0);
	b0 = hs_bytes_written(h);
	hs_send_key(h, "PageDown");
	uint64_t page_bytes = bytes_until_idle(h, b0);
	hs_send_key(h, "Home");
	hs_wait_idle(h, 300, 30000);

	/* (b) one visible row's state change, made through the API */
	long st = 0;
	uint64_t row_bytes = 0;
	bool row_ok = false;
	json_t *list = api_json(h, "GET", "/api/v1/admin/allocations?state=active&limit=100", NULL, &st);
	size_t i;
	json_t *a;
	json_array_foreach(json_object_get(list, "items"), i, a) {
		const char *name = json_string_value(json_object_get(a, "name"));
		const char *id = json_string_value(json_object_get(a, "id"));
		if (!name || !id || strlen(name) < 4 || hs_find_row(h, name) < 0)
			continue;
		char path[160];
		snprintf(path, sizeof path, "/api/v1/allocations/%s/release", id);
		hs_wait_idle(h, 300, 30000);
		b0 = hs_bytes_written(h);
		char *r = hs_api(h, "POST", path, NULL, &st);
		free(r);
		if (st != 202)
			continue;
		hs_wait_text(h, "releasing", 30000);
		row_bytes = bytes_until_idle(h, b0);
		row_ok = true;
		break;
	}
	json_decref(list);

	/* Filter: typed one character at a time; each keystroke's time is from
	 * sending it to the last byte of the redraw it caused. */
	double filter_total = 0;
	int filter_n = 0;
	hs_send_keys(h, "/");
	hs_wait_idle(h, 300, 30000);
	for (const char *p = filter; *p; p++) {
		char c[2] = {*p, 0};
		int64_t ts = qd_mono_ms();
		hs_send_keys(h, c);
		hs_wait_idle(h, QUIET_MS, 30000);
		int64_t last = hs_last_output_mono_ms(h);
		if (last >= ts) {
			filter_total += (double)(last - ts);
			filter_n++;
		}
	}
	long fshown = 0, ftotal = 0;
	const char *title = hs_row(h, 0);
	const char *p = strchr(title, ')');
	if (p)
		sscanf(p + 1, " %ld of %ld", &fshown, &ftotal);
	hs_send_key(h, "Esc");
	long rss_after = rss_kb(hs_qdeck_pid(h));

	printf("\nqdeck console benchmark: %d bulk allocations + demo seed, 120x40, ops (admin)\n", nrows);
	printf("workbench rows: %ld shown of %ld (live & actionable); filter \"%s\" leaves %ld\n\n", shown, total,
	       filter, fshown);
	printf("%-44s %14s %14s\n", "measure", "result", "target");
	printf("%-44s %11lld ms %14s\n", "first byte to the terminal", (long long)hs_first_byte_ms(h), "");
	printf("%-44s %11lld ms %14s\n", "first paint (status line visible)", (long long)status_ms, "<= 50 ms");
	printf("%-44s %11lld ms %14s\n", "fully loaded (live, no longer loading)", (long long)loaded_ms, "");
	if (filter_n > 0)
		printf("%-44s %11.1f ms %14s\n", "filter, per keystroke (mean)", filter_total / filter_n, "<= 10 ms");
	else
		printf("%-44s %14s %14s\n", "filter, per keystroke (mean)", "n/a", "<= 10 ms");
	printf("%-44s %11.1f MB %14s\n", "RSS when loaded", rss / 1024.0, "<= 150 MB");
	printf("%-44s %11.1f MB %14s\n", "RSS after the run", rss_after / 1024.0, "");
	printf("%-44s %12llu B %14s\n", "bytes: idle", (unsigned long long)idle_bytes, "0 B");
	char label[64];
	snprintf(label, sizeof label, "bytes: idle window (s)");
	printf("%-44s %14d %14s\n", label, idle_s, "");
	if (row_ok)
		printf("%-44s %12llu B %14s\n", "bytes: one row's state change", (unsigned long long)row_bytes, "<= 200 B");
	else
		printf("%-44s %14s %14s\n", "bytes: one row's state change", "n/a", "<= 200 B");
	printf("%-44s %12llu B %14s\n", "bytes: selection move (Down)", (unsigned long long)move_bytes, "<= 300 B");
	printf("%-44s %12llu B %14s\n", "bytes: page down", (unsigned long long)page_bytes, "<= 4700 B");

	hs_stop(&h);
	remove_db(dir);
	return 0;
}

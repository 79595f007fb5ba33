/* Unit tests for the console's own formatting: OSC 52 encoding (plain and
 * tmux passthrough) and the shared row formatting of allocations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <locale.h>
#include <string.h>

#include "common/util.h"
#include "net/model.h"
#include "tui/cli.h"
#include "tui/launch.h"
#include "tui/osc52.h"
#include "tui/views_common.h"

static void test_osc52_plain(void **state)
{
	(void)state;
	QdBuf b;
	qdbuf_init(&b);
	assert_int_equal(osc52_encode("ssh -p 22", 9, false, &b), 0);
	assert_string_equal(qdbuf_cstr(&b), "\033]52;c;c3NoIC1wIDIy\a");
	qdbuf_reset(&b);
	/* Padding: 1 and 2 trailing bytes. */
	assert_int_equal(osc52_encode("a", 1, false, &b), 0);
	assert_string_equal(qdbuf_cstr(&b), "\033]52;c;YQ==\a");
	qdbuf_reset(&b);
	assert_int_equal(osc52_encode("ab", 2, false, &b), 0);
	assert_string_equal(qdbuf_cstr(&b), "\033]52;c;YWI=\a");
	qdbuf_done(&b);
}

static void test_osc52_tmux(void **state)
{
	(void)state;
	QdBuf b;
	qdbuf_init(&b);
	assert_int_equal(osc52_encode("abc", 3, true, &b), 0);
	assert_string_equal(qdbuf_cstr(&b), "\033Ptmux;\033\033]52;c;YWJj\a\033\\");
	qdbuf_done(&b);
}

static void test_osc52_too_long(void **state)
{
	(void)state;
	QdBuf b;
	qdbuf_init(&b);
	static char big[OSC52_MAX_TEXT + 2];
	memset(big, 'x', sizeof big - 1);
	assert_int_equal(osc52_encode(big, sizeof big - 1, false, &b), -1);
	assert_int_equal(b.len, 0);
	qdbuf_done(&b);
}

static Allocation sample(void)
{
	Allocation a;
	memset(&a, 0, sizeof a);
	static char empty[] = "";
	char **strs[] = { &a.id, &a.name, &a.org_id, &a.project_id, &a.project_name, &a.owner_id,
	                  &a.owner_name, &a.failure_code, &a.failure_message, &a.release_failed_code,
	                  &a.release_failed_message, &a.node_id, &a.node_name, &a.region, &a.sku_id,
	                  &a.sku_name, &a.gpu_model, &a.image_name, &a.network_name, &a.runtime_bundle,
	                  &a.runtime_version, &a.runtime_state, &a.ssh_command, &a.task_id,
	                  &a.action_required };
	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
		*strs[i] = empty;
	return a;
}

static void test_views_cells(void **state)
{
	(void)state;
	Allocation a = sample();
	char buf[256];
	a.state = ALLOC_ACTIVE;
	a.sku_name = "H100 SXM slice";
	a.gpu_count = 2;
	views_state(&a, false, buf, sizeof buf);
	assert_string_equal(buf, "● active");
	views_state(&a, true, buf, sizeof buf);
	assert_string_equal(buf, "* active");
	views_sku(&a, false, buf, sizeof buf);
	assert_string_equal(buf, "H100 SXM slice ×2");
	views_sku(&a, true, buf, sizeof buf);
	assert_string_equal(buf, "H100 SXM slice x2");
	views_price(498, buf, sizeof buf);
	assert_string_equal(buf, "$4.98");
	views_runtime(&a, true, buf, sizeof buf);
	assert_string_equal(buf, "-");
	views_storage(&a, buf, sizeof buf);
	assert_string_equal(buf, "scratch only");
}

static void test_views_failed_row_shows_reason(void **state)
{
	(void)state;
	Allocation a = sample();
	char buf[256];
	a.state = ALLOC_RELEASE_FAILED;
	a.release_failed_code = "storage_detach_timeout";
	a.release_failed_message = "volume busy\033[31m";
	a.runtime_bundle = "pytorch";
	views_runtime(&a, false, buf, sizeof buf);
	/* The reason replaces the runtime, and the ESC from the server is made visible. */
	assert_non_null(strstr(buf, "storage_detach_timeout: volume busy"));
	assert_null(strchr(buf, '\033'));
}

static void test_views_age_minutes(void **state)
{
	(void)state;
	char buf[16];
	views_age(1000, 1000 + 59 * 1000, buf, sizeof buf);
	assert_string_equal(buf, "<1m");
	views_age(0, 5000, buf, sizeof buf);
	assert_string_equal(buf, "<1m");
	views_age(1000, 1000 + 12 * 60000, buf, sizeof buf);
	assert_string_equal(buf, "12m");
	views_age(1000, 1000 + 3 * 3600000LL, buf, sizeof buf);
	assert_string_equal(buf, "3h");
	views_age(1000, 1000 + 5 * 86400000LL, buf, sizeof buf);
	assert_string_equal(buf, "5d");
}

/* Usage errors are caught before any connection is attempted: exit code 2. */
static void test_cli_usage_errors(void **state)
{
	(void)state;
	assert_true(cli_is_verb("ls"));
	assert_true(cli_is_verb("force-release"));
	assert_false(cli_is_verb("rm"));
	char *show[] = { "show", NULL };
	assert_int_equal(cli_run(1, show, NULL), CLI_USAGE);
	char *bad_state[] = { "ls", "--state", "active,bogus", NULL };
	assert_int_equal(cli_run(3, bad_state, NULL), CLI_USAGE);
	char *no_reason[] = { "force-release", "al_1", NULL };
	assert_int_equal(cli_run(2, no_reason, NULL), CLI_USAGE);
	char *empty_reason[] = { "force-release", "al_1", "--reason", "", NULL };
	assert_int_equal(cli_run(4, empty_reason, NULL), CLI_USAGE);
	char *bad_since[] = { "events", "--since", "-3", NULL };
	assert_int_equal(cli_run(3, bad_since, NULL), CLI_USAGE);
	char *yes_on_ls[] = { "ls", "--yes", NULL };
	assert_int_equal(cli_run(2, yes_on_ls, NULL), CLI_USAGE);
	char *two_ids[] = { "show", "al_1", "al_2", NULL };
	assert_int_equal(cli_run(3, two_ids, NULL), CLI_USAGE);
	/* restart: a verb with an id and --yes, nothing else */
	assert_true(cli_is_verb("restart"));
	char *restart_no_id[] = { "restart", NULL };
	assert_int_equal(cli_run(1, restart_no_id, NULL), CLI_USAGE);
	char *restart_json[] = { "restart", "al_1", "--json", NULL };
	assert_int_equal(cli_run(3, restart_json, NULL), CLI_USAGE);
	char *restart_reason[] = { "restart", "al_1", "--reason", "x", NULL };
	assert_int_equal(cli_run(4, restart_reason, NULL), CLI_USAGE);
}

/* The launch wizard's estimate and its storage checks (the server checks
 * again; these keep the operator on the step with the mistake). */
static void test_launch_estimate(void **state)
{
	(void)state;
	assert_int_equal(launch_estimate_cents(498, 2), 996);
	assert_int_equal(launch_estimate_cents(498, 8), 3984);
	assert_int_equal(launch_estimate_cents(0, 2), 0);
	assert_int_equal(launch_estimate_cents(498, 0), 0);
	assert_int_equal(launch_estimate_cents(-5, 3), 0);
}

static void test_launch_storage_checks(void **state)
{
	(void)state;
	assert_null(launch_check_storage("data", "100", "/mnt/data"));
	assert_null(launch_check_storage("ds_v1.2-a", "100000", "/data"));
	assert_non_null(launch_check_storage("", "100", "/mnt/data"));
	assert_non_null(launch_check_storage("my data", "100", "/mnt/data"));
	assert_non_null(launch_check_storage("data", "0", "/mnt/data"));
	assert_non_null(launch_check_storage("data", "100001", "/mnt/data"));
	assert_non_null(launch_check_storage("data", "12GB", "/mnt/data"));
	assert_non_null(launch_check_storage("data", "", "/mnt/data"));
	assert_non_null(launch_check_storage("data", "100", "mnt/data"));
	assert_non_null(launch_check_storage("data", "100", "/mnt/../etc"));
	assert_string_equal(launch_check_storage("data", "100", "relative"),
	                    "the mount path must be absolute, like /mnt/data");
}

/* ssh_key_ids (SSH Access tab): decoded, deep-copied, and a wrong type is refused. */
static void test_decode_ssh_key_ids(void **state)
{
	(void)state;
	const char *js = "{\"id\": \"al_1\", \"state\": \"active\", \"version\": 3,"
	                 " \"ssh_key_ids\": [\"key_a\", \"key_b\"]}";
	json_error_t je;
	json_t *o = json_loads(js, 0, &je);
	assert_non_null(o);
	Allocation a, b;
	char err[256];
	assert_int_equal(decode_allocation(o, &a, err, sizeof err), 0);
	assert_int_equal(a.ssh_key_count, 2);
	assert_string_equal(a.ssh_key_ids[0], "key_a");
	assert_string_equal(a.ssh_key_ids[1], "key_b");
	allocation_copy(&b, &a);
	allocation_done(&a);
	assert_int_equal(b.ssh_key_count, 2);
	assert_string_equal(b.ssh_key_ids[1], "key_b");
	allocation_done(&b);
	json_decref(o);

	o = json_loads("{\"id\": \"al_1\", \"state\": \"active\", \"version\": 3, \"ssh_key_ids\": [7]}", 0, &je);
	assert_non_null(o);
	assert_int_equal(decode_allocation(o, &a, err, sizeof err), -1);
	assert_non_null(strstr(err, "ssh_key_ids[0]"));
	json_decref(o);

	o = json_loads("{\"id\": \"al_1\", \"state\": \"active\", \"version\": 3}", 0, &je);
	assert_int_equal(decode_allocation(o, &a, err, sizeof err), 0);
	assert_int_equal(a.ssh_key_count, 0);
	assert_null(a.ssh_key_ids);
	allocation_done(&a);
	json_decref(o);
}

int main(void)
{
	setlocale(LC_ALL, "C.UTF-8");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_osc52_plain),
		cmocka_unit_test(test_osc52_tmux),
		cmocka_unit_test(test_osc52_too_long),
		cmocka_unit_test(test_views_cells),
		cmocka_unit_test(test_views_failed_row_shows_reason),
		cmocka_unit_test(test_views_age_minutes),
		cmocka_unit_test(test_cli_usage_errors),
		cmocka_unit_test(test_launch_estimate),
		cmocka_unit_test(test_launch_storage_checks),
		cmocka_unit_test(test_decode_ssh_key_ids),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Screen scenarios for the launch wizard (`n`) and restart (`R`) through the
 * real console: qdeck under a PTY fed into libvterm, qdeckd on loopback with
 * the demo seed at --speed 20. What the wizard sent is checked against the
 * API with the same token.
 *
 * Demo users: acme-dev (acme, $12,500 balance, keys laptop and ci-runner),
 * globex-dev (globex, $25: less than one hour of a whole H100 node), ops
 * (admin).
 *
 * With QD_SCREENSHOTS=dir the runs write launch_hardware, launch_review and
 * restart_confirm. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/screen/scenario.h"

#define T SC_WAIT_MS

#define ACTIVE SC_ACTIVE
#define SEP "\xc2\xb7"

static Hs *console(void **state, const char *user)
{
	HsOpts o = {.rows = 40, .cols = 120, .user = user};
	Hs *h = sc_console(state, &o);
	assert_true(hs_wait_idle(h, 300, T));
	return h;
}

/* o.outer.id ("" when absent or null). */
static const char *jid(json_t *o, const char *outer)
{
	return sc_jstr(json_object_get(o, outer), "id");
}

/* The caller's allocation called `name` (a new reference), or NULL. */
static json_t *find_alloc(Hs *h, const char *name)
{
	json_t *all = sc_api(h, "GET", "/api/v1/allocations?limit=500", NULL, 200);
	json_t *found = NULL, *a;
	size_t i;
	json_array_foreach(json_object_get(all, "items"), i, a) {
		if (strcmp(sc_jstr(a, "name"), name) == 0) {
			found = json_incref(a);
			break;
		}
	}
	json_decref(all);
	return found;
}

/* The workbench row of allocation `name`: the name starts the row (after
 * the selection marker) and a state follows as glyph + word. -1: none. */
static int alloc_row(Hs *h, const char *name)
{
	for (int r = 0; r < hs_rows(h); r++) {
		const char *row = hs_row(h, r);
		const char *p = strstr(row, name);
		if (p && p - row <= 4 && sc_is_state_row(row))
			return r;
	}
	return -1;
}

/* The row of the focused/only form field whose label is `label`. */
static int field_row(Hs *h, const char *label)
{
	for (int r = 0; r < hs_rows(h); r++) {
		const char *row = hs_row(h, r);
		const char *p = strstr(row, label);
		/* Field labels sit just inside the form's frame. */
		if (p && p - row <= 8)
			return r;
	}
	return -1;
}

static bool type_text(Hs *h, const char *text)
{
	for (const char *p = text; *p; p++) {
		char c[2] = {*p, 0};
		if (!hs_send_keys(h, c))
			return false;
	}
	return hs_wait_idle(h, 100, T);
}

/* Opens the wizard and waits until the whole catalog has loaded. */
static void open_wizard(Hs *h)
{
	assert_true(hs_send_keys(h, "n"));
	assert_true(hs_wait_text(h, "Launch workload", T));
	assert_true(hs_wait_text(h, "Step 1 of 7: Hardware", T));
	assert_true(hs_wait_text(h, "/GPU-h", T));
	assert_true(hs_wait_text(h, "Estimated cost:", T));
	assert_true(hs_wait_idle(h, 200, T));
}

/* Enter on the form: the next step (named) appears. */
static void next_step(Hs *h, const char *step)
{
	assert_true(hs_send_key(h, "Enter"));
	assert_true(hs_wait_text(h, step, T));
	assert_true(hs_wait_idle(h, 150, T));
}

/* ---- launch ------------------------------------------------------------------------ */

static void test_launch_every_step(void **state)
{
	Hs *h = console(state, "acme-dev");
	assert_true(hs_wait_text(h, ACTIVE, T));
	char name[64];
	snprintf(name, sizeof name, "scr2-launch-%d", (int)getpid() % 100000);
	open_wizard(h);

	/* Step 1: name, an available slice SKU, two GPUs; the estimate follows. */
	assert_true(hs_send_key(h, "C-u"));
	assert_true(type_text(h, name));
	assert_true(hs_send_key(h, "Tab"));
	int sku = field_row(h, "SKU");
	assert_true(sku >= 0);
	assert_true(strstr(hs_row(h, sku), "H100 SXM node") != NULL);
	assert_true(hs_send_key(h, "Right"));
	assert_true(hs_wait_row_text(h, sku, "H100 SXM slice " SEP " us-east-1 " SEP " $4.98/GPU-h", T));
	assert_true(strstr(hs_row(h, sku), "available") != NULL);
	assert_true(hs_wait_text(h, "Estimated cost: $4.98 per hour (1 GPU at $4.98 per GPU-hour)", T));
	assert_true(hs_send_key(h, "Tab"));
	assert_true(hs_send_key(h, "Right"));
	assert_true(hs_wait_text(h, "Estimated cost: $9.96 per hour (2 GPUs at $4.98 per GPU-hour)", T));
	assert_true(hs_wait_idle(h, 150, T));
	hs_screenshot(h, "launch_hardware");

	/* Steps 2 and 3: the second image and the org's private network. */
	next_step(h, "Step 2 of 7: Image");
	assert_true(hs_send_key(h, "Right"));
	assert_true(hs_wait_text(h, "Ubuntu 24.04 + CUDA 12.6", T));
	next_step(h, "Step 3 of 7: Network");
	int net = field_row(h, "Network");
	assert_true(net >= 0);
	for (int i = 0; i < 4 && !strstr(hs_row(h, net), "acme-private"); i++) {
		assert_true(hs_send_key(h, "Right"));
		assert_true(hs_wait_idle(h, 100, T));
	}
	assert_true(strstr(hs_row(h, net), "acme-private") != NULL);

	/* Step 4: no key ticked is refused; Space ticks the first (laptop). */
	next_step(h, "Step 4 of 7: Access");
	assert_true(hs_contains(h, "laptop"));
	assert_true(hs_contains(h, "ci-runner"));
	assert_true(hs_send_key(h, "Enter"));
	assert_true(hs_wait_text(h, "tick at least one key", T));
	assert_true(hs_contains(h, "Step 4 of 7: Access"));
	assert_true(hs_send_key(h, "Space"));
	assert_true(hs_wait_idle(h, 150, T));

	/* Step 5: no storage (the default). Step 6: the runtimes are the
	 * server's list (GET /runtimes): "none" first, then vLLM, which no
	 * client ever hard-coded, is there to pick. */
	next_step(h, "Step 5 of 7: Storage");
	int st = field_row(h, "Attach project storage");
	assert_true(st >= 0);
	assert_true(strstr(hs_row(h, st), "no") != NULL);
	next_step(h, "Step 6 of 7: Runtime");
	int rt = field_row(h, "Managed runtime");
	assert_true(rt >= 0);
	assert_true(hs_wait_row_text(h, rt, "none (plain machine)", T));
	assert_true(strstr(hs_row(h, rt), "(1/7)") != NULL); /* none + the demo's six */
	for (int i = 0; i < 7 && !strstr(hs_row(h, rt), "vLLM 0.6"); i++) {
		assert_true(hs_send_key(h, "Right"));
		assert_true(hs_wait_idle(h, 100, T));
	}
	if (!strstr(hs_row(h, rt), "vLLM 0.6 (vllm 0.6)")) {
		hs_dump(h, "the Runtime step does not offer the server's vLLM 0.6");
		fail_msg("vLLM 0.6 is not offered");
	}

	/* Step 7: the review says everything that will be asked for. */
	next_step(h, "Step 7 of 7: Review");
	char want[160];
	snprintf(want, sizeof want, "Name        %s", name);
	assert_true(hs_contains(h, want));
	assert_true(hs_contains(h, "Hardware    H100 SXM slice \xc3\x97 2 GPUs"));
	assert_true(hs_contains(h, "Image       Ubuntu 24.04 + CUDA 12.6"));
	assert_true(hs_contains(h, "Network     acme-private"));
	assert_true(hs_contains(h, "SSH keys    laptop"));
	assert_false(hs_contains(h, "ci-runner"));
	assert_true(hs_contains(h, "Storage     scratch disk only"));
	assert_true(hs_contains(h, "Runtime     vLLM 0.6 (vllm 0.6)"));
	assert_true(hs_contains(h, "Estimated   $9.96 per hour"));
	hs_screenshot(h, "launch_review");
	/* Nothing is created before the confirmation. */
	json_t *a = find_alloc(h, name);
	assert_null(a);

	/* Enter launches: the receipt, the wizard closes, the row is there. */
	assert_true(hs_send_key(h, "Enter"));
	assert_true(hs_wait_text(h, "launch accepted", T));
	assert_true(hs_wait_gone(h, "Launch workload", T));
	int r = -1;
	for (int tries = 0; r < 0; tries++) {
		assert_true(tries < 150);
		hs_pump(h, 100);
		r = alloc_row(h, name);
	}
	/* Newest first, as the server lists them: the launch lands on top. */
	int first = -1;
	for (int k = 0; k < hs_rows(h) && first < 0; k++)
		if (sc_is_state_row(hs_row(h, k)))
			first = k;
	if (r != first) {
		hs_dump(h, "the new allocation is not the first row");
		fail_msg("%s is on row %d, the first allocation row is %d", name, r, first);
	}
	/* provisioning first, unless the fast reconciler already finished. */
	const char *row = hs_row(h, r);
	if (!strstr(row, ACTIVE)) {
		if (!strstr(row, "provisioning"))
			fail_msg("the new row is neither provisioning nor active: %s", row);
	}
	/* Then active, live. */
	int64_t tries = 0;
	for (;;) {
		r = alloc_row(h, name);
		if (r >= 0 && strstr(hs_row(h, r), ACTIVE))
			break;
		assert_true(++tries < 300);
		hs_pump(h, 100);
	}

	/* What was asked for is what the server holds. */
	a = find_alloc(h, name);
	assert_non_null(a);
	assert_string_equal(sc_jstr(a, "state"), "active");
	assert_string_equal(jid(a, "sku"), "sku_h100_slice");
	assert_int_equal(json_integer_value(json_object_get(a, "gpu_count")), 2);
	assert_string_equal(jid(a, "image"), "img_ubuntu2404_cuda126");
	assert_string_equal(jid(a, "network"), "net_acme_private");
	json_t *keys = json_object_get(a, "ssh_key_ids");
	assert_true(json_is_array(keys));
	assert_int_equal(json_array_size(keys), 1);
	assert_string_equal(json_string_value(json_array_get(keys, 0)), "key_acme_dev_laptop");
	assert_int_equal(json_integer_value(json_object_get(a, "price_per_hour_cents")), 996);
	json_t *storage = json_object_get(a, "storage");
	assert_true(!storage || json_is_null(storage) || json_array_size(storage) == 0);
	json_t *runtime = json_object_get(a, "runtime");
	assert_string_equal(sc_jstr(runtime, "bundle"), "vllm");
	assert_string_equal(sc_jstr(runtime, "version"), "0.6");
	json_decref(a);
}

/* Sold-out SKUs are listed and can be looked at: the one the demo has reads
 * "Unavailable (sold out)" and Enter refuses it; with every SKU sold out the
 * wizard cannot go past Hardware. */
static void test_sold_out_cannot_be_chosen(void **state)
{
	Hs *h = console(state, "ops");
	json_t *skus = sc_api(h, "GET", "/api/v1/skus", NULL, 200);
	size_t nsku = json_array_size(json_object_get(skus, "items"));
	int sold_out = -1;
	json_t *s;
	size_t i;
	json_array_foreach(json_object_get(skus, "items"), i, s) {
		if (!json_is_true(json_object_get(s, "available")) && sold_out < 0)
			sold_out = (int)i;
	}
	assert_true(sold_out >= 0); /* the demo has one: the L40S node */
	char sold_name[64];
	snprintf(sold_name, sizeof sold_name, "%s " SEP, sc_jstr(json_array_get(json_object_get(skus, "items"), (size_t)sold_out), "name"));
	json_decref(skus);

	open_wizard(h);
	assert_true(hs_send_key(h, "Tab"));
	int sku = field_row(h, "SKU");
	assert_true(sku >= 0);
	char counter[32];
	snprintf(counter, sizeof counter, "(%d/%zu)", sold_out + 1, nsku);
	bool shown = false;
	for (size_t k = 0; k < nsku && !shown; k++) {
		const char *row = hs_row(h, sku);
		if (strstr(row, counter)) {
			/* On the sold-out SKU: it says so, and Enter does not go on. */
			if (!strstr(row, "Unavailable (sold out)")) {
				hs_dump(h, "the sold-out SKU is not marked Unavailable");
				fail_msg("the sold-out SKU %s is not shown as Unavailable", sold_name);
			}
			assert_true(hs_send_key(h, "Enter"));
			assert_true(hs_wait_text(h, "this SKU is sold out; pick another", T));
			assert_true(hs_contains(h, "Step 1 of 7: Hardware"));
			shown = true;
			break;
		}
		assert_true(hs_send_key(h, "Right"));
		assert_true(hs_wait_idle(h, 100, T));
	}
	assert_true(shown);
	assert_true(hs_send_key(h, "Esc"));
	assert_true(hs_wait_gone(h, "Launch workload", T));

	/* Every node stops taking work: every SKU is sold out. */
	json_t *nodes = sc_api(h, "GET", "/api/v1/nodes?limit=500", NULL, 200);
	json_t *n;
	json_array_foreach(json_object_get(nodes, "items"), i, n) {
		if (strcmp(sc_jstr(n, "state"), "retired") == 0)
			continue;
		char path[160];
		snprintf(path, sizeof path, "/api/v1/admin/nodes/%s/scheduling", sc_jstr(n, "id"));
		json_t *r = sc_api(h, "POST", path, "{\"enabled\": false, \"reason\": \"sold-out screen test\"}", 200);
		json_decref(r);
	}
	json_decref(nodes);
	skus = sc_api(h, "GET", "/api/v1/skus", NULL, 200);
	json_array_foreach(json_object_get(skus, "items"), i, s)
		assert_false(json_is_true(json_object_get(s, "available")));
	json_decref(skus);

	assert_true(hs_send_keys(h, "n"));
	assert_true(hs_wait_text(h, "Unavailable (sold out)", T));
	assert_true(hs_wait_idle(h, 150, T));
	assert_true(hs_send_key(h, "Enter"));
	assert_true(hs_wait_text(h, "this SKU is sold out; pick another", T));
	assert_true(hs_contains(h, "Step 1 of 7: Hardware"));
	assert_false(hs_contains(h, "Step 2 of 7"));
}

/* The server refuses (globex has $25, a whole H100 node costs $39.84 an
 * hour): its message is shown and everything entered is still there. */
static void test_refusal_keeps_values(void **state)
{
	Hs *h = console(state, "globex-dev");
	open_wizard(h);
	assert_true(hs_send_key(h, "C-u"));
	assert_true(type_text(h, "scr2-broke"));
	assert_true(hs_send_key(h, "Tab"));
	int sku = field_row(h, "SKU");
	assert_true(sku >= 0);
	assert_true(strstr(hs_row(h, sku), "H100 SXM node " SEP " us-east-1") != NULL);
	assert_true(hs_contains(h, "Estimated cost: $39.84 per hour (8 GPUs at $4.98 per GPU-hour)"));
	next_step(h, "Step 2 of 7: Image");
	next_step(h, "Step 3 of 7: Network");
	next_step(h, "Step 4 of 7: Access");
	/* The only account key is ticked already. */
	next_step(h, "Step 5 of 7: Storage");
	next_step(h, "Step 6 of 7: Runtime");
	next_step(h, "Step 7 of 7: Review");
	assert_true(hs_contains(h, "Estimated   $39.84 per hour"));
	assert_true(hs_contains(h, "Runtime     none (plain machine)"));
	assert_true(hs_send_key(h, "Enter"));
	assert_true(hs_wait_text(h, "insufficient_balance", T));
	assert_true(hs_wait_text(h, "does not cover one hour at $39.84/h", T));
	assert_true(hs_wait_idle(h, 150, T));
	/* Still in the wizard, with every value. */
	assert_true(hs_contains(h, "Launch workload"));
	assert_true(hs_contains(h, "Name        scr2-broke"));
	assert_true(hs_contains(h, "Hardware    H100 SXM node \xc3\x97 8 GPUs"));
	assert_true(hs_contains(h, "SSH keys    laptop"));
	json_t *a = find_alloc(h, "scr2-broke");
	assert_null(a);

	/* Back to the first step: the name and the SKU are as entered. */
	for (int i = 0; i < 6; i++) {
		assert_true(hs_send_key(h, "Esc"));
		assert_true(hs_wait_idle(h, 100, T));
	}
	assert_true(hs_wait_text(h, "Step 1 of 7: Hardware", T));
	int nr = field_row(h, "Name");
	assert_true(nr >= 0);
	assert_true(strstr(hs_row(h, nr), "scr2-broke") != NULL);
	sku = field_row(h, "SKU");
	assert_true(strstr(hs_row(h, sku), "H100 SXM node " SEP " us-east-1") != NULL);
	/* Fewer GPUs would do: a slice of one fits the balance and launches. */
	assert_true(hs_send_key(h, "Tab"));
	assert_true(hs_send_key(h, "Right"));
	assert_true(hs_wait_text(h, "Estimated cost: $4.98 per hour", T));
	for (int i = 0; i < 6; i++)
		assert_true(hs_send_key(h, "Enter"));
	assert_true(hs_wait_text(h, "Step 7 of 7: Review", T));
	assert_true(hs_wait_idle(h, 150, T));
	assert_true(hs_send_key(h, "Enter"));
	assert_true(hs_wait_text(h, "launch accepted", T));
	assert_true(hs_wait_text(h, "scr2-broke", T));
	a = find_alloc(h, "scr2-broke");
	assert_non_null(a);
	assert_string_equal(jid(a, "sku"), "sku_h100_slice");
	/* The default runtime is none: the create named none. */
	assert_true(json_is_null(json_object_get(a, "runtime")));
	json_decref(a);
}

/* ---- restart ------------------------------------------------------------------------- */

static void test_restart_confirm_and_live(void **state)
{
	Hs *h = console(state, "acme-dev");
	assert_true(hs_wait_text(h, ACTIVE, T));
	/* One of acme-dev's own active allocations, with a name unique enough
	 * for the filter to leave its row alone. */
	json_t *all = sc_api(h, "GET", "/api/v1/allocations?limit=500", NULL, 200);
	char name[128] = "", id[64] = "", me[64] = "";
	json_t *who = sc_api(h, "GET", "/api/v1/me", NULL, 200);
	snprintf(me, sizeof me, "%s", sc_jstr(json_object_get(who, "user"), "id"));
	json_decref(who);
	size_t i, k;
	json_t *a, *b;
	json_array_foreach(json_object_get(all, "items"), i, a) {
		const char *n = sc_jstr(a, "name");
		if (strcmp(sc_jstr(a, "state"), "active") || strlen(n) < 4)
			continue;
		if (strcmp(jid(a, "owner"), me) != 0)
			continue;
		bool unique = true;
		json_array_foreach(json_object_get(all, "items"), k, b) {
			if (k != i && strstr(sc_jstr(b, "name"), n))
				unique = false;
		}
		if (unique) {
			snprintf(name, sizeof name, "%s", n);
			snprintf(id, sizeof id, "%s", sc_jstr(a, "id"));
			break;
		}
	}
	json_decref(all);
	assert_true(name[0]);
	assert_true(hs_send_keys(h, "/"));
	assert_true(type_text(h, name));
	assert_true(hs_send_key(h, "Enter"));
	assert_true(hs_wait_idle(h, 150, T));
	int r = alloc_row(h, name);
	assert_true(r >= 0);
	assert_true(strstr(hs_row(h, r), ACTIVE) != NULL);

	/* The dialog names it and says what a restart interrupts; Enter first
	 * presses Cancel. */
	assert_true(hs_send_keys(h, "R"));
	assert_true(hs_wait_text(h, "Restart allocation", T));
	assert_true(hs_wait_idle(h, 150, T));
	assert_true(hs_contains(h, id));
	hs_screenshot(h, "restart_confirm");
	assert_true(hs_send_key(h, "Enter"));
	assert_true(hs_wait_gone(h, "Restart allocation", T));
	assert_true(hs_wait_text(h, "restart cancelled", T));
	char path[160];
	snprintf(path, sizeof path, "/api/v1/allocations/%s", id);
	a = sc_api(h, "GET", path, NULL, 200);
	assert_string_equal(sc_jstr(a, "state"), "active");
	json_decref(a);

	/* Again, onto Restart: restarting, then active again, live. */
	assert_true(hs_send_keys(h, "R"));
	assert_true(hs_wait_text(h, "Restart allocation", T));
	assert_true(hs_send_key(h, "Tab"));
	assert_true(hs_wait_idle(h, 100, T));
	assert_true(hs_send_key(h, "Enter"));
	assert_true(hs_wait_gone(h, "Restart allocation", T));
	assert_true(hs_wait_text(h, "restart accepted", T));
	bool saw_restarting = false;
	for (int tries = 0;; tries++) {
		r = alloc_row(h, name);
		const char *row = r >= 0 ? hs_row(h, r) : "";
		if (strstr(row, "restarting"))
			saw_restarting = true;
		if (saw_restarting && strstr(row, ACTIVE))
			break;
		if (tries > 300) {
			hs_dump(h, "restart never went restarting -> active on screen");
			fail_msg("restart not followed live (saw restarting: %d)", saw_restarting);
		}
		hs_pump(h, 100);
	}
	a = sc_api(h, "GET", path, NULL, 200);
	assert_string_equal(sc_jstr(a, "state"), "active");
	json_decref(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_launch_every_step, sc_teardown),
		cmocka_unit_test_teardown(test_sold_out_cannot_be_chosen, sc_teardown),
		cmocka_unit_test_teardown(test_refusal_keeps_values, sc_teardown),
		cmocka_unit_test_teardown(test_restart_confirm_and_live, sc_teardown),
	};
	/* QD_TEST_FILTER=test_refusal_keeps_values runs one scenario (a glob). */
	const char *only = getenv("QD_TEST_FILTER");
	if (only && *only)
		cmocka_set_test_filter(only);
	return cmocka_run_group_tests_name("launch wizard screens", tests, NULL, NULL);
}

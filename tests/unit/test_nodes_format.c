/* Unit tests of how a node's fields read on the Nodes screens (tui/nodes.h):
 * state glyph + word, certificate flags in words, heartbeat ages, GPUs, and
 * when the scheduling operations may run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tui/nodes.h"
#include "widgets/theme.h"

#define SEC 1000LL
#define MINUTE (60 * SEC)
#define HOUR (60 * MINUTE)
#define DAY (24 * HOUR)

static const int64_t NOW = 1795000000000LL;

static void test_state_text_has_glyph_and_word(void **state)
{
	(void)state;
	char buf[64];
	nodes_state_text(NODE_ONLINE, false, buf, sizeof buf);
	assert_string_equal(buf, "● online");
	nodes_state_text(NODE_DRAINING, true, buf, sizeof buf);
	assert_string_equal(buf, "~ draining");
	nodes_state_text(NODE_RETIRED, true, buf, sizeof buf);
	assert_string_equal(buf, "x retired");
	nodes_state_text(NODE_STATE_INVALID, true, buf, sizeof buf);
	assert_string_equal(buf, "? unknown");
	/* Every state reads as a word (never colour alone), in both glyph sets. */
	for (int s = 0; s < NODE_STATE_COUNT; s++) {
		nodes_state_text((NodeState)s, false, buf, sizeof buf);
		assert_non_null(strstr(buf, node_state_name((NodeState)s)));
		nodes_state_text((NodeState)s, true, buf, sizeof buf);
		assert_non_null(strstr(buf, node_state_name((NodeState)s)));
		for (const char *p = buf; *p; p++)
			assert_true((unsigned char)*p < 0x80);
	}
	assert_int_equal(nodes_state_role(NODE_ONLINE), ROLE_STATE_OK);
	assert_int_equal(nodes_state_role(NODE_OFFLINE), ROLE_STATE_FAILED);
	assert_int_equal(nodes_state_role(NODE_RETIRED), ROLE_STATE_GONE);
}

static void test_cert_words(void **state)
{
	(void)state;
	char buf[64];
	nodes_cert_text(NOW + 3 * DAY + HOUR, NOW, buf, sizeof buf);
	assert_string_equal(buf, "expires in 3d");
	assert_int_equal(nodes_cert_level(NOW + 3 * DAY, NOW), NODES_CERT_SOON);
	nodes_cert_text(NOW + 5 * HOUR, NOW, buf, sizeof buf);
	assert_string_equal(buf, "expires in 5h");
	nodes_cert_text(NOW + 20 * MINUTE, NOW, buf, sizeof buf);
	assert_string_equal(buf, "expires in 20m");
	nodes_cert_text(NOW, NOW, buf, sizeof buf);
	assert_string_equal(buf, "EXPIRED");
	nodes_cert_text(NOW - 2 * DAY, NOW, buf, sizeof buf);
	assert_string_equal(buf, "EXPIRED");
	assert_int_equal(nodes_cert_level(NOW - 1, NOW), NODES_CERT_EXPIRED);
	nodes_cert_text(NOW + 45 * DAY, NOW, buf, sizeof buf);
	assert_string_equal(buf, "ok (45d)");
	assert_int_equal(nodes_cert_level(NOW + 45 * DAY, NOW), NODES_CERT_OK);
	/* The warning boundary: 14 days. */
	assert_int_equal(nodes_cert_level(NOW + NODES_CERT_WARN_MS - 1, NOW), NODES_CERT_SOON);
	assert_int_equal(nodes_cert_level(NOW + NODES_CERT_WARN_MS, NOW), NODES_CERT_OK);
	nodes_cert_text(0, NOW, buf, sizeof buf);
	assert_string_equal(buf, "unknown");
	/* A small buffer truncates, never overflows. */
	char tiny[6];
	nodes_cert_text(NOW + 3 * DAY, NOW, tiny, sizeof tiny);
	assert_string_equal(tiny, "expir");
}

static void test_heartbeat_ages(void **state)
{
	(void)state;
	char buf[32];
	nodes_heartbeat_text(NOW - 12 * SEC, NOW, buf, sizeof buf);
	assert_string_equal(buf, "12s ago");
	nodes_heartbeat_text(NOW - 5 * MINUTE - 10 * SEC, NOW, buf, sizeof buf);
	assert_string_equal(buf, "5m ago");
	nodes_heartbeat_text(NOW - 3 * HOUR, NOW, buf, sizeof buf);
	assert_string_equal(buf, "3h ago");
	nodes_heartbeat_text(NOW - 2 * DAY - 5 * HOUR, NOW, buf, sizeof buf);
	assert_string_equal(buf, "2d ago");
	nodes_heartbeat_text(0, NOW, buf, sizeof buf);
	assert_string_equal(buf, "never");
	/* Clock skew: a heartbeat "from the future" is not a negative age. */
	nodes_heartbeat_text(NOW + 4 * SEC, NOW, buf, sizeof buf);
	assert_string_equal(buf, "just now");
}

static void test_gpus(void **state)
{
	(void)state;
	Node n = { .gpu_free = 3, .gpu_total = 8 };
	char buf[16];
	nodes_gpus_text(&n, buf, sizeof buf);
	assert_string_equal(buf, "3/8");
}

static void test_sched_allowed(void **state)
{
	(void)state;
	char why[96];
	Node on = { .state = NODE_ONLINE, .scheduling = true };
	Node draining = { .state = NODE_DRAINING, .scheduling = false };
	Node cordoned = { .state = NODE_ONLINE, .scheduling = false };
	Node retired = { .state = NODE_RETIRED, .scheduling = false };
	/* A draining node that somehow kept scheduling on may still be resumed. */
	Node odd = { .state = NODE_DRAINING, .scheduling = true };

	assert_true(nodes_sched_allowed(NODES_OP_DISABLE_SCHEDULING, &on, true, why, sizeof why));
	assert_string_equal(why, "");
	assert_false(nodes_sched_allowed(NODES_OP_ENABLE_SCHEDULING, &on, true, why, sizeof why));
	assert_string_equal(why, "scheduling is already on");

	assert_false(nodes_sched_allowed(NODES_OP_DISABLE_SCHEDULING, &draining, true, why, sizeof why));
	assert_string_equal(why, "scheduling is already off");
	assert_true(nodes_sched_allowed(NODES_OP_ENABLE_SCHEDULING, &draining, true, why, sizeof why));
	assert_true(nodes_sched_allowed(NODES_OP_ENABLE_SCHEDULING, &cordoned, true, why, sizeof why));
	assert_true(nodes_sched_allowed(NODES_OP_ENABLE_SCHEDULING, &odd, true, why, sizeof why));

	assert_false(nodes_sched_allowed(NODES_OP_ENABLE_SCHEDULING, &retired, true, why, sizeof why));
	assert_string_equal(why, "the node is retired");
	assert_false(nodes_sched_allowed(NODES_OP_DISABLE_SCHEDULING, &retired, true, why, sizeof why));

	assert_false(nodes_sched_allowed(NODES_OP_DISABLE_SCHEDULING, &on, false, why, sizeof why));
	assert_string_equal(why, "needs the admin role");
	assert_false(nodes_sched_allowed(NODES_OP_DISABLE_SCHEDULING, NULL, true, why, sizeof why));
	assert_string_equal(why, "the node is not loaded");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_text_has_glyph_and_word),
		cmocka_unit_test(test_cert_words),
		cmocka_unit_test(test_heartbeat_ages),
		cmocka_unit_test(test_gpus),
		cmocka_unit_test(test_sched_allowed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for common/contract: the transition table, action gating and the
 * server-derived actionability, including the clock edges. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "common/contract.h"

#define DAY_MS (24LL * 3600 * 1000)

static void test_state_names_round_trip(void **state)
{
	(void)state;
	for (int s = 0; s < ALLOC_STATE_COUNT; s++)
		assert_int_equal(alloc_state_from_name(alloc_state_name((AllocState)s)), s);
	assert_int_equal(alloc_state_from_name("Active"), ALLOC_STATE_INVALID);
	assert_int_equal(alloc_state_from_name(""), ALLOC_STATE_INVALID);
	assert_int_equal(alloc_state_from_name(NULL), ALLOC_STATE_INVALID);
	assert_string_equal(alloc_state_name(ALLOC_STATE_INVALID), "unknown");
	assert_string_equal(alloc_state_name(ALLOC_RELEASE_FAILED), "release_failed");
}

static void test_in_progress_states_have_deadline_and_twin(void **state)
{
	(void)state;
	int in_progress = 0;
	for (int s = 0; s < ALLOC_STATE_COUNT; s++) {
		const AllocStateInfo *i = alloc_state_info((AllocState)s);
		assert_non_null(i);
		assert_int_equal(i->state, s);
		if (!i->in_progress) {
			assert_int_equal(i->deadline_s, 0);
			continue;
		}
		in_progress++;
		assert_true(i->deadline_s > 0);
		assert_true(alloc_state_is_failure(i->on_failure));
		assert_false(alloc_state_is_failure(i->on_success));
		assert_true(alloc_transition_allowed((AllocState)s, i->on_success));
		assert_true(alloc_transition_allowed((AllocState)s, i->on_failure));
	}
	assert_int_equal(in_progress, 3);
	assert_int_equal(alloc_state_info(ALLOC_PROVISIONING)->on_failure, ALLOC_FAILED);
	assert_int_equal(alloc_state_info(ALLOC_RESTARTING)->on_failure, ALLOC_RESTART_FAILED);
	assert_int_equal(alloc_state_info(ALLOC_RELEASING)->on_failure, ALLOC_RELEASE_FAILED);
	assert_int_equal(alloc_state_info(ALLOC_RELEASING)->on_success, ALLOC_RELEASED);
	assert_null(alloc_state_info(ALLOC_STATE_INVALID));
	assert_null(alloc_state_info(ALLOC_STATE_COUNT));
}

static void test_transitions(void **state)
{
	(void)state;
	/* released is terminal: nothing leaves it */
	for (int s = 0; s < ALLOC_STATE_COUNT; s++)
		assert_false(alloc_transition_allowed(ALLOC_RELEASED, (AllocState)s));
	assert_true(alloc_transition_allowed(ALLOC_ACTIVE, ALLOC_RELEASING));
	assert_true(alloc_transition_allowed(ALLOC_ACTIVE, ALLOC_RESTARTING));
	assert_true(alloc_transition_allowed(ALLOC_RELEASE_FAILED, ALLOC_RELEASED)); /* force */
	assert_true(alloc_transition_allowed(ALLOC_RELEASING, ALLOC_RELEASED));
	assert_true(alloc_transition_allowed(ALLOC_FAILED, ALLOC_RELEASING));
	assert_false(alloc_transition_allowed(ALLOC_PROVISIONING, ALLOC_RELEASING));
	assert_false(alloc_transition_allowed(ALLOC_ACTIVE, ALLOC_RELEASED));
	assert_false(alloc_transition_allowed(ALLOC_ACTIVE, ALLOC_FAILED));
	assert_false(alloc_transition_allowed(ALLOC_ACTIVE, ALLOC_ACTIVE));
	assert_false(alloc_transition_allowed(ALLOC_STATE_INVALID, ALLOC_ACTIVE));
	assert_false(alloc_transition_allowed(ALLOC_ACTIVE, ALLOC_STATE_COUNT));
}

static void test_actions(void **state)
{
	(void)state;
	assert_true(alloc_action_allowed(ALLOC_ACTION_RELEASE, ALLOC_ACTIVE));
	assert_true(alloc_action_allowed(ALLOC_ACTION_RELEASE, ALLOC_RELEASE_FAILED));
	assert_false(alloc_action_allowed(ALLOC_ACTION_RELEASE, ALLOC_RELEASED));
	assert_false(alloc_action_allowed(ALLOC_ACTION_RELEASE, ALLOC_PROVISIONING));
	assert_false(alloc_action_allowed(ALLOC_ACTION_RELEASE, ALLOC_RELEASING));
	assert_true(alloc_action_allowed(ALLOC_ACTION_RESTART, ALLOC_RESTART_FAILED));
	assert_false(alloc_action_allowed(ALLOC_ACTION_RESTART, ALLOC_FAILED));
	assert_true(alloc_action_allowed(ALLOC_ACTION_FORCE_RELEASE, ALLOC_RELEASE_FAILED));
	assert_false(alloc_action_allowed(ALLOC_ACTION_FORCE_RELEASE, ALLOC_ACTIVE));
	assert_false(alloc_action_allowed(ALLOC_ACTION_FORCE_RELEASE, ALLOC_RELEASED));
	assert_true(alloc_action_allowed(ALLOC_ACTION_TERMINAL, ALLOC_ACTIVE));
	assert_false(alloc_action_allowed(ALLOC_ACTION_TERMINAL, ALLOC_RESTARTING));
	assert_false(alloc_action_allowed(ALLOC_ACTION_COUNT, ALLOC_ACTIVE));
	assert_false(alloc_action_allowed(ALLOC_ACTION_RELEASE, ALLOC_STATE_INVALID));
	/* Every action that is allowed leads somewhere the table allows. */
	for (int s = 0; s < ALLOC_STATE_COUNT; s++) {
		if (alloc_action_allowed(ALLOC_ACTION_RELEASE, (AllocState)s))
			assert_true(alloc_transition_allowed((AllocState)s, ALLOC_RELEASING));
		if (alloc_action_allowed(ALLOC_ACTION_RESTART, (AllocState)s))
			assert_true(alloc_transition_allowed((AllocState)s, ALLOC_RESTARTING));
		if (alloc_action_allowed(ALLOC_ACTION_FORCE_RELEASE, (AllocState)s))
			assert_true(alloc_transition_allowed((AllocState)s, ALLOC_RELEASED));
	}
	for (int a = 0; a < ALLOC_ACTION_COUNT; a++)
		assert_int_equal(alloc_action_from_name(alloc_action_name((AllocAction)a)), a);
	assert_int_equal(alloc_action_from_name("delete"), -1);
}

static void test_actionability_live_states(void **state)
{
	(void)state;
	int64_t now = 1795428000000LL;
	AllocState live[] = {ALLOC_PROVISIONING, ALLOC_ACTIVE, ALLOC_RESTARTING, ALLOC_RELEASING};
	for (size_t i = 0; i < sizeof live / sizeof live[0]; i++) {
		AllocActionability a = alloc_actionability(live[i], now - 400 * DAY_MS, now, false);
		assert_true(a.is_actionable);
		assert_null(a.action_required);
		assert_int_equal(a.actionable_until_ms, 0);
		assert_int_equal(a.archived_at_ms, 0);
	}
	/* release_failed never ages out: billing may still run */
	AllocActionability rf = alloc_actionability(ALLOC_RELEASE_FAILED, now - 400 * DAY_MS, now, false);
	assert_true(rf.is_actionable);
	assert_string_equal(rf.action_required, "force_release");
	assert_int_equal(rf.archived_at_ms, 0);
}

static void test_actionability_clock_edge(void **state)
{
	(void)state;
	int64_t since = 1795428000000LL;
	int64_t until = since + ACTIONABLE_WINDOW_MS;
	AllocActionability a = alloc_actionability(ALLOC_FAILED, since, until - 1, false);
	assert_true(a.is_actionable);
	assert_int_equal(a.actionable_until_ms, until);
	assert_int_equal(a.archived_at_ms, 0);
	assert_string_equal(a.action_required, "release_or_retry");
	/* exactly at actionable_until it is no longer actionable, and archived then */
	a = alloc_actionability(ALLOC_FAILED, since, until, false);
	assert_false(a.is_actionable);
	assert_int_equal(a.archived_at_ms, until);
	a = alloc_actionability(ALLOC_RESTART_FAILED, since, until + 1, false);
	assert_false(a.is_actionable);
	assert_string_equal(a.action_required, "restart_or_release");
	assert_int_equal(a.archived_at_ms, until);
}

static void test_actionability_released_archive_edge(void **state)
{
	(void)state;
	int64_t since = 1795428000000LL;
	int64_t at = since + ARCHIVE_AFTER_MS;
	AllocActionability a = alloc_actionability(ALLOC_RELEASED, since, at - 1, true);
	assert_false(a.is_actionable);
	assert_int_equal(a.archived_at_ms, 0);
	a = alloc_actionability(ALLOC_RELEASED, since, at, true);
	assert_false(a.is_actionable);
	assert_int_equal(a.archived_at_ms, at);
	assert_null(a.action_required);
}

static void test_node_states(void **state)
{
	(void)state;
	for (int s = 0; s < NODE_STATE_COUNT; s++)
		assert_int_equal(node_state_from_name(node_state_name((NodeState)s)), s);
	assert_int_equal(node_state_from_name("up"), NODE_STATE_INVALID);
	assert_int_equal(node_state_from_name(NULL), NODE_STATE_INVALID);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_names_round_trip),
		cmocka_unit_test(test_in_progress_states_have_deadline_and_twin),
		cmocka_unit_test(test_transitions),
		cmocka_unit_test(test_actions),
		cmocka_unit_test(test_actionability_live_states),
		cmocka_unit_test(test_actionability_clock_edge),
		cmocka_unit_test(test_actionability_released_archive_edge),
		cmocka_unit_test(test_node_states),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

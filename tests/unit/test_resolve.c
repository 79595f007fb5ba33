/* resolve: literals skip the lookup; names are looked up on the loop's
 * thread pool, once, and a cancelled lookup never calls back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "net/resolve.h"

static void test_literals(void **state)
{
	(void)state;
	assert_true(resolve_is_literal("127.0.0.1"));
	assert_true(resolve_is_literal("10.1.2.3"));
	assert_true(resolve_is_literal("::1"));
	assert_true(resolve_is_literal("[::1]"));
	assert_true(resolve_is_literal("fe80::1"));
	assert_false(resolve_is_literal("localhost"));
	assert_false(resolve_is_literal("api.example.com"));
	assert_false(resolve_is_literal("127.0.0.1.example"));
	assert_false(resolve_is_literal("[127.0.0.1]"));
	assert_false(resolve_is_literal("["));
	assert_false(resolve_is_literal(""));
}

typedef struct {
	int calls;
	char numeric[RESOLVE_ADDR_MAX];
	char err[320];
} Outcome;

static void on_done(void *ud, const char *numeric, const char *err)
{
	Outcome *o = ud;
	o->calls++;
	snprintf(o->numeric, sizeof o->numeric, "%s", numeric ? numeric : "");
	snprintf(o->err, sizeof o->err, "%s", err ? err : "");
}

static Resolve *start_localhost(uv_loop_t *loop, Outcome *o)
{
	char err[128];
	uv_loop_init(loop);
	Resolve *r = resolve_start(loop, "localhost", on_done, o, err, sizeof err);
	assert_non_null(r);
	return r;
}

static void test_localhost_prefers_ipv4(void **state)
{
	(void)state;
	uv_loop_t loop;
	Outcome o = {0};
	start_localhost(&loop, &o);
	assert_int_equal(o.calls, 0); /* never synchronous */
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(o.calls, 1);
	assert_string_equal(o.err, "");
	assert_string_equal(o.numeric, "127.0.0.1");
	assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_cancel_means_no_callback(void **state)
{
	(void)state;
	uv_loop_t loop;
	Outcome o = {0};
	Resolve *r = start_localhost(&loop, &o);
	resolve_cancel(&r);
	assert_null(r);
	resolve_cancel(&r); /* twice is harmless */
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(o.calls, 0);
	assert_int_equal(uv_loop_close(&loop), 0);
}

static void test_refuses_overlong_name(void **state)
{
	(void)state;
	uv_loop_t loop;
	uv_loop_init(&loop);
	char name[400], err[128];
	memset(name, 'a', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	Outcome o = {0};
	assert_null(resolve_start(&loop, name, on_done, &o, err, sizeof err));
	assert_non_null(strstr(err, "too long"));
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(o.calls, 0);
	assert_int_equal(uv_loop_close(&loop), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_literals),
		cmocka_unit_test(test_localhost_prefers_ipv4),
		cmocka_unit_test(test_cancel_means_no_callback),
		cmocka_unit_test(test_refuses_overlong_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

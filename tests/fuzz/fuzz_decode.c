/* libFuzzer target for the console's decoders of untrusted server JSON:
 * decode_allocation, decode_node, decode_task and store_apply_event. The first
 * byte picks the decoder; the rest is the JSON. Built by `make fuzz`. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "net/model.h"
#include "net/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t which = data[0] % 4;
	json_error_t jerr;
	json_t *j = json_loadb((const char *)data + 1, size - 1, JSON_DECODE_ANY, &jerr);
	if (!j)
		return 0;
	char err[256];
	switch (which) {
	case 0: {
		Allocation a, c;
		if (decode_allocation(j, &a, err, sizeof err) == 0) {
			allocation_copy(&c, &a);
			allocation_done(&a);
			allocation_done(&c);
		}
		break;
	}
	case 1: {
		Node n;
		if (decode_node(j, &n, err, sizeof err) == 0)
			node_done(&n);
		break;
	}
	case 2: {
		Task t;
		if (decode_task(j, &t, err, sizeof err) == 0)
			task_done(&t);
		break;
	}
	default: {
		Store *s = store_new();
		/* Apply twice: the second must be a duplicate (0) or malformed (-1). */
		int first = store_apply_event(s, j, err, sizeof err);
		int second = store_apply_event(s, j, err, sizeof err);
		if (first == 1 && second != 0)
			__builtin_trap();
		/* Arrays of events, as a resumed stream would deliver them. */
		if (json_is_array(j)) {
			size_t i;
			json_t *ev;
			json_array_foreach(j, i, ev)
				store_apply_event(s, ev, err, sizeof err);
		}
		store_free(&s);
		break;
	}
	}
	json_decref(j);
	return 0;
}

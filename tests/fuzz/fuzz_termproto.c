/* libFuzzer target: the terminal frame decoder and its JSON payload parsers,
 * fed arbitrary bytes as a client or server could send them. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/termproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	TpFrame f;
	TpStatus st;
	int w, h;
	char out[TP_MAX_CONTROL + 1];

	if (termproto_decode(data, size, &f) != TP_OK)
		return 0;
	if (f.channel == TP_CH_RESIZE && termproto_resize_parse(f.data, f.len, &w, &h) == TP_OK) {
		if (w < TP_DIM_MIN || w > TP_DIM_MAX || h < TP_DIM_MIN || h > TP_DIM_MAX)
			abort();
		if (!termproto_resize_format(out, sizeof(out), w, h))
			abort();
	}
	if (f.channel == TP_CH_STATUS && termproto_status_parse(f.data, f.len, &st) == TP_OK) {
		/* What was parsed must never carry a control byte to a terminal. */
		for (const char *p = st.message; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				abort();
		termproto_status_format(out, sizeof(out), &st);
	}
	return 0;
}

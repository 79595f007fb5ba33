/* termproto — v5.channel.k8s.io framing and its control payloads. */
#include "common/termproto.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "common/sanitize.h"
#include "common/util.h"

const char *termproto_strerror(TpError e)
{
	switch (e) {
	case TP_OK: return "ok";
	case TP_ERR_EMPTY: return "empty message (no channel byte)";
	case TP_ERR_TOO_BIG: return "message exceeds the size cap";
	case TP_ERR_CHANNEL: return "unknown channel";
	case TP_ERR_JSON: return "control payload is not a JSON object";
	case TP_ERR_FIELD: return "control payload lacks a required integer or string field";
	case TP_ERR_BOUNDS: return "Width/Height must be integers in 1..1000";
	case TP_ERR_CLOSE_ARG: return "close payload must be at most one byte";
	case TP_ERR_SPACE: return "output buffer too small";
	}
	return "unknown error";
}

static bool channel_known(uint8_t ch)
{
	return ch == TP_CH_STDIN || ch == TP_CH_STDOUT || ch == TP_CH_STDERR || ch == TP_CH_STATUS ||
	       ch == TP_CH_RESIZE || ch == TP_CH_CLOSE;
}

TpError termproto_decode(const void *msg, size_t len, TpFrame *out)
{
	const uint8_t *p = msg;

	memset(out, 0, sizeof(*out));
	if (len == 0 || !msg)
		return TP_ERR_EMPTY;
	if (len > TP_MAX_MESSAGE)
		return TP_ERR_TOO_BIG;
	if (!channel_known(p[0]))
		return TP_ERR_CHANNEL;
	out->channel = p[0];
	out->data = p + 1;
	out->len = len - 1;
	if ((out->channel == TP_CH_STATUS || out->channel == TP_CH_RESIZE) &&
	    out->len > TP_MAX_CONTROL)
		return TP_ERR_TOO_BIG;
	if (out->channel == TP_CH_CLOSE && out->len > 1)
		return TP_ERR_CLOSE_ARG;
	return TP_OK;
}

size_t termproto_encode(uint8_t channel, const void *data, size_t len, uint8_t *out,
                        size_t outsz)
{
	if (len >= TP_MAX_MESSAGE || len + 1 > outsz)
		return 0;
	out[0] = channel;
	if (len)
		memcpy(out + 1, data, len);
	return len + 1;
}

/* json_loadb with the decode flags we want for untrusted control payloads. */
static json_t *load_object(const void *json, size_t len)
{
	json_error_t jerr;
	json_t *root;

	if (!json || len == 0 || len > TP_MAX_CONTROL)
		return NULL;
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root && !json_is_object(root)) {
		json_decref(root);
		return NULL;
	}
	return root;
}

TpError termproto_resize_parse(const void *json, size_t len, int *width, int *height)
{
	json_t *root, *w, *h;
	json_int_t wv, hv;

	if (len > TP_MAX_CONTROL)
		return TP_ERR_TOO_BIG;
	root = load_object(json, len);
	if (!root)
		return TP_ERR_JSON;
	w = json_object_get(root, "Width");
	h = json_object_get(root, "Height");
	if (!json_is_integer(w) || !json_is_integer(h)) {
		json_decref(root);
		return TP_ERR_FIELD;
	}
	wv = json_integer_value(w);
	hv = json_integer_value(h);
	json_decref(root);
	if (wv < TP_DIM_MIN || wv > TP_DIM_MAX || hv < TP_DIM_MIN || hv > TP_DIM_MAX)
		return TP_ERR_BOUNDS;
	*width = (int)wv;
	*height = (int)hv;
	return TP_OK;
}

size_t termproto_resize_format(char *out, size_t outsz, int width, int height)
{
	int n;

	if (width < TP_DIM_MIN || width > TP_DIM_MAX || height < TP_DIM_MIN || height > TP_DIM_MAX)
		return 0;
	n = snprintf(out, outsz, "{\"Width\":%d,\"Height\":%d}", width, height);
	if (n < 0 || (size_t)n >= outsz)
		return 0;
	return (size_t)n;
}

size_t termproto_status_format(char *out, size_t outsz, const TpStatus *st)
{
	char msg[TP_STATUS_MSG_MAX * 4 + 1], reason[sizeof(st->reason) * 4];
	json_t *root;
	char *text;
	size_t n;

	sanitize_str(st->message, strnlen(st->message, sizeof(st->message)), msg,
	             TP_STATUS_MSG_MAX + 1, false);
	sanitize_str(st->reason, strnlen(st->reason, sizeof(st->reason)), reason,
	             sizeof(st->reason), false);
	root = json_object();
	json_object_set_new(root, "status", json_string(st->success ? "Success" : "Failure"));
	if (st->has_code) {
		char code[16];

		snprintf(code, sizeof(code), "%d", st->code);
		json_object_set_new(root, "code", json_integer(st->code));
		json_object_set_new(
		    root, "details",
		    json_pack("{s:[{s:s,s:s}]}", "causes", "reason", "ExitCode", "message", code));
	}
	if (reason[0])
		json_object_set_new(root, "reason", json_string(reason));
	json_object_set_new(root, "message", json_string(msg));
	text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (!text)
		return 0;
	n = strlen(text);
	if (n >= outsz || n > TP_MAX_CONTROL) {
		free(text);
		return 0;
	}
	memcpy(out, text, n + 1);
	free(text);
	return n;
}

static void copy_clean(char *dst, size_t dstsz, json_t *v)
{
	const char *s = json_string_value(v);

	dst[0] = '\0';
	if (s)
		sanitize_str(s, json_string_length(v), dst, dstsz, false);
}

/* Kubernetes puts the exit code in details.causes[{reason:"ExitCode",message:"N"}]. */
static bool k8s_exit_code(json_t *root, int *code)
{
	json_t *causes = json_object_get(json_object_get(root, "details"), "causes");
	size_t i;
	json_t *c;

	json_array_foreach(causes, i, c) {
		const char *r = json_string_value(json_object_get(c, "reason"));
		const char *m = json_string_value(json_object_get(c, "message"));
		char *end;
		long v;

		if (!r || !m || strcmp(r, "ExitCode") != 0)
			continue;
		v = strtol(m, &end, 10);
		if (end == m || *end || v < 0 || v > 255)
			return false;
		*code = (int)v;
		return true;
	}
	return false;
}

TpError termproto_status_parse(const void *json, size_t len, TpStatus *out)
{
	json_t *root, *status, *code;
	const char *s;

	memset(out, 0, sizeof(*out));
	if (len > TP_MAX_CONTROL)
		return TP_ERR_TOO_BIG;
	root = load_object(json, len);
	if (!root)
		return TP_ERR_JSON;
	status = json_object_get(root, "status");
	s = json_string_value(status);
	if (!s || (strcmp(s, "Success") != 0 && strcmp(s, "Failure") != 0)) {
		json_decref(root);
		return TP_ERR_FIELD;
	}
	out->success = strcmp(s, "Success") == 0;
	code = json_object_get(root, "code");
	if (json_is_integer(code)) {
		json_int_t v = json_integer_value(code);

		if (v < -1000000 || v > 1000000) {
			json_decref(root);
			return TP_ERR_BOUNDS;
		}
		out->code = (int)v;
		out->has_code = true;
	} else if (k8s_exit_code(root, &out->code)) {
		out->has_code = true;
	} else if (out->success) {
		/* Kubernetes sends a bare Success for exit code 0. */
		out->code = 0;
		out->has_code = true;
	}
	copy_clean(out->reason, sizeof(out->reason), json_object_get(root, "reason"));
	copy_clean(out->message, sizeof(out->message), json_object_get(root, "message"));
	json_decref(root);
	return TP_OK;
}

void termproto_status_from_wait(TpStatus *st, int wstatus)
{
	memset(st, 0, sizeof(*st));
	st->has_code = true;
	if (WIFEXITED(wstatus)) {
		st->code = WEXITSTATUS(wstatus);
		st->success = st->code == 0;
		qd_strlcpy(st->reason, st->success ? "" : "NonZeroExitCode", sizeof(st->reason));
		snprintf(st->message, sizeof(st->message), "shell exited with code %d", st->code);
	} else if (WIFSIGNALED(wstatus)) {
		st->code = 128 + WTERMSIG(wstatus);
		st->success = false;
		qd_strlcpy(st->reason, "Signaled", sizeof(st->reason));
		snprintf(st->message, sizeof(st->message), "shell killed by signal %d",
		         WTERMSIG(wstatus));
	} else {
		st->code = -1;
		st->has_code = false;
		qd_strlcpy(st->reason, "Unknown", sizeof(st->reason));
		qd_strlcpy(st->message, "shell ended", sizeof(st->message));
	}
}

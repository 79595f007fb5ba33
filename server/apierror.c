/* apierror — filling the ApiError every model function reports failures in. */
#include "server/model.h"

#include <stdarg.h>
#include <stdio.h>

#include "common/util.h"

void api_error_set(ApiError *e, int status, const char *code, const char *suggestion,
                   const char *fmt, ...)
{
	if (!e)
		return;
	e->status = status;
	qd_strlcpy(e->code, code ? code : "internal", sizeof e->code);
	qd_strlcpy(e->suggestion, suggestion ? suggestion : "", sizeof e->suggestion);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof e->message, fmt, ap);
	va_end(ap);
	e->retry_after_s = 0;
}

/* views_common — how an allocation's fields read on screen, shared by the
 * workbench, the triage view, allocation detail and the CLI, so one value
 * never reads two ways. All output is sanitized and fits the given buffer. */
#ifndef QD_TUI_VIEWS_COMMON_H
#define QD_TUI_VIEWS_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/model.h"

/* "● active" / "* active". */
void views_state(const Allocation *a, bool ascii, char *buf, size_t sz);
/* "H100 SXM slice ×2" ("x2" in ASCII). */
void views_sku(const Allocation *a, bool ascii, char *buf, size_t sz);
/* "pytorch 2.4 (ready)" or "—"; for failed rows the failure code instead. */
void views_runtime(const Allocation *a, bool ascii, char *buf, size_t sz);
/* The reason a failed row failed: "storage_detach_timeout: message", "" if none. */
void views_reason(const Allocation *a, char *buf, size_t sz);
/* "datasets 500G" / "2 volumes 1.5T" / "scratch only". */
void views_storage(const Allocation *a, char *buf, size_t sz);
/* Minute-granularity age of the current state or creation: "<1m", "12m", "3h", "5d". */
void views_age(int64_t since_ms, int64_t now_ms, char *buf, size_t sz);
/* "$4.98". */
void views_price(int cents, char *buf, size_t sz);
/* Node name, or "—" while unplaced. */
void views_node(const Allocation *a, bool ascii, char *buf, size_t sz);
/* A theme role index (ThemeRole) for the state: ok, progress, failed, gone. */
int views_state_role(AllocState s);
/* Sanitized copy of an untrusted string, cut to `cols` columns (0 = buffer only). */
void views_clean(const char *in, int cols, bool ascii, char *buf, size_t sz);

#endif

/* resolve — host names to addresses off the loop thread, for the lws clients.
 *
 * libwebsockets 4.1 (Debian's build has no async DNS) resolves a client's
 * address with a blocking getaddrinfo() inside lws_client_connect_via_info():
 * a slow resolver would freeze the console. So the event stream and the
 * terminal client resolve a host name first with uv_getaddrinfo (libuv's
 * thread pool) and hand lws the numeric address; the name still goes in the
 * Host header and TLS SNI. Literal addresses skip the lookup. */
#ifndef QD_NET_RESOLVE_H
#define QD_NET_RESOLVE_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#define RESOLVE_ADDR_MAX 64 /* INET6_ADDRSTRLEN and then some */

typedef struct Resolve Resolve;

/* numeric is the first address found (NULL on failure); err is one line
 * (NULL on success). Both are borrowed for the call. */
typedef void (*ResolveDone)(void *ud, const char *numeric, const char *err);

/* True when host is an IPv4 or IPv6 literal (brackets allowed): no lookup. */
bool resolve_is_literal(const char *host);

/* Starts looking host up; done runs later on the loop, exactly once, unless
 * resolve_cancel() comes first. NULL (errbuf says why) when it cannot start. */
Resolve *resolve_start(uv_loop_t *loop, const char *host, ResolveDone done, void *ud,
                       char *errbuf, size_t errsz);
/* No callback follows; the lookup's thread finishes on its own. */
void resolve_cancel(Resolve **r);

#endif

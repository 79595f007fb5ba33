/* resolve — see resolve.h. */
#include "net/resolve.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

struct Resolve {
	uv_getaddrinfo_t req;
	ResolveDone done;   /* NULL once cancelled */
	void *ud;
	char host[256];
};

bool resolve_is_literal(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];
	char tmp[64];
	size_t n = strlen(host);

	if (inet_pton(AF_INET, host, buf) == 1)
		return true;
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof tmp) {
		memcpy(tmp, host + 1, n - 2);
		tmp[n - 2] = '\0';
		host = tmp;
	}
	return inet_pton(AF_INET6, host, buf) == 1;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	Resolve *r = req->data;
	char addr[RESOLVE_ADDR_MAX] = "", err[320];
	const char *numeric = NULL;

	if (status == 0 && res) {
		/* IPv4 first: one address is all lws tries, and a "localhost" that
		 * answers ::1 first must still reach a server on 127.0.0.1 only. */
		for (int pass = 0; pass < 2 && !numeric; pass++)
			for (struct addrinfo *ai = res; ai && !numeric; ai = ai->ai_next)
				if (ai->ai_family == (pass == 0 ? AF_INET : AF_INET6) &&
				    uv_ip_name(ai->ai_addr, addr, sizeof addr) == 0)
					numeric = addr;
	}
	if (!numeric)
		snprintf(err, sizeof err, "cannot resolve %s: %s", r->host,
		         status ? uv_strerror(status) : "no IPv4 or IPv6 address");
	uv_freeaddrinfo(res);
	if (r->done)
		r->done(r->ud, numeric, numeric ? NULL : err);
	free(r);
}

Resolve *resolve_start(uv_loop_t *loop, const char *host, ResolveDone done, void *ud,
                       char *errbuf, size_t errsz)
{
	struct addrinfo hints;
	Resolve *r;
	int rc;

	if (strlen(host) >= sizeof r->host) {
		snprintf(errbuf, errsz, "host name too long");
		return NULL;
	}
	r = xcalloc(1, sizeof *r);
	r->done = done;
	r->ud = ud;
	snprintf(r->host, sizeof r->host, "%s", host);
	r->req.data = r;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_ADDRCONFIG;
	rc = uv_getaddrinfo(loop, &r->req, on_resolved, r->host, NULL, &hints);
	if (rc) {
		snprintf(errbuf, errsz, "cannot resolve %s: %s", host, uv_strerror(rc));
		free(r);
		return NULL;
	}
	return r;
}

void resolve_cancel(Resolve **rp)
{
	Resolve *r = rp ? *rp : NULL;

	if (!r)
		return;
	*rp = NULL;
	/* uv_cancel succeeds only while the request is still queued; either way
	 * on_resolved runs once more and frees r, with nobody to tell. */
	r->done = NULL;
	uv_cancel((uv_req_t *)&r->req);
}

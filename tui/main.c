/* qdeck — the operator console: with no verb the full-screen TUI, with a verb
 * (ls, show, release, restart, force-release, events) the scriptable CLI. */
#include <locale.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tui/app.h"
#include "tui/cli.h"

#ifndef QD_VERSION
#define QD_VERSION "0.0.0"
#endif

int main(int argc, char **argv)
{
	setlocale(LC_ALL, "");
	const char *api = NULL;
	bool no_color = false;
	int i = 1;
	/* Global options come before the verb. */
	for (; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			cli_usage(stdout);
			return 0;
		} else if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
			printf("qdeck %s\n", QD_VERSION);
			return 0;
		} else if (strcmp(a, "--no-color") == 0) {
			no_color = true;
		} else if (strcmp(a, "--api") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "qdeck: --api needs a URL (e.g. --api http://127.0.0.1:8080)\n");
				return 2;
			}
			api = argv[++i];
		} else if (strncmp(a, "--api=", 6) == 0) {
			api = a + 6;
		} else if (strcmp(a, "--token") == 0 || strncmp(a, "--token=", 8) == 0) {
			/* Command lines are visible to every user of the machine (ps). */
			fprintf(stderr, "qdeck: tokens are not taken on the command line; set QDECK_TOKEN or "
			                "write $XDG_CONFIG_HOME/quarterdeck/token (mode 0600)\n");
			return 2;
		} else if (a[0] == '-') {
			fprintf(stderr, "qdeck: unknown option '%s'\nrun 'qdeck --help' for usage\n", a);
			return 2;
		} else {
			break;
		}
	}
	if (api && strncmp(api, "http://", 7) != 0 && strncmp(api, "https://", 8) != 0) {
		fprintf(stderr, "qdeck: --api wants an http:// or https:// URL\n");
		return 2;
	}
	if (i < argc) {
		if (!cli_is_verb(argv[i])) {
			fprintf(stderr, "qdeck: unknown verb '%s'\nrun 'qdeck --help' for usage\n", argv[i]);
			return 2;
		}
		return cli_run(argc - i, argv + i, api);
	}
	const char *nc = getenv("NO_COLOR");
	AppOptions opt = { .api_flag = api, .no_color = no_color || (nc && *nc) };
	return app_run(&opt);
}

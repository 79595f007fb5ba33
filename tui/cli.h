/* cli — the console's verbs as a scriptable command line: ls, show, release,
 * restart, force-release, events, launch, nodes. Each verb runs the same Session
 * and Api as the TUI on its own libuv loop until done; nothing blocks on the network.
 *
 * Exit codes: 0 ok, 1 operation refused or failed, 2 usage, 3 cannot reach the
 * server, 4 not signed in / token refused. */
#ifndef QD_TUI_CLI_H
#define QD_TUI_CLI_H

#include <stdbool.h>
#include <stdio.h>

enum { CLI_OK = 0, CLI_FAILED = 1, CLI_USAGE = 2, CLI_UNREACHABLE = 3, CLI_AUTH = 4 };

/* True when `word` names a CLI verb. */
bool cli_is_verb(const char *word);
/* Runs verb argv[0] with its arguments; api_flag is --api (or NULL). */
int cli_run(int argc, char **argv, const char *api_flag);
/* The full --help text. */
void cli_usage(FILE *f);

#endif

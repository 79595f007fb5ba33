/* launch — the full-screen "Launch workload" wizard (seed 001 "Launch
 * Workload", seed 000 §3): Hardware (SKU with price and availability, GPU
 * count from the SKU's gpu_counts), Image, Network, Access (account SSH keys,
 * several at once, and adding a key inline), optional Storage, optional
 * Runtime, then Review with the estimated hourly cost and one confirm that
 * sends POST /api/v1/allocations.
 *
 * A screen, not a dialog: Esc goes back a step (and leaves from the first);
 * everything entered is kept when going back or when the server refuses the
 * launch (the refusal's message and suggestion show in the wizard, on the
 * step that can fix it). On success the wizard closes, a toast shows the
 * receipt and the workbench selects the new row as it provisions. */
#ifndef QD_TUI_LAUNCH_H
#define QD_TUI_LAUNCH_H

#include "tui/app.h"

/* Pushes the wizard; it loads the catalog (SKUs, images, networks, keys). */
void launch_open(App *app);

/* The estimated price per hour in cents of gpu_count GPUs at the SKU's per
 * GPU-hour price (0 when either is not positive). */
int launch_estimate_cents(int price_per_gpu_hour_cents, int gpu_count);

/* Checks the optional storage fields; NULL when fine, else what is wrong.
 * size_text must be a whole number of GB in 1..100000, mount an absolute
 * path without "..", name 1-63 of [A-Za-z0-9._-]. */
const char *launch_check_storage(const char *name, const char *size_text, const char *mount);

#endif

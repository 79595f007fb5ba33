/* model — the console's view of the v1 resources (docs/api/v1.md), decoded from
 * untrusted JSON into bounded, owned C structs.
 *
 * Every string here came from the network: decode_* bounds its length and
 * rejects wrong types, but display code must still pass it through
 * sanitize_fit() before it reaches the terminal. Strings are heap-owned by the
 * struct; *_done() frees them. Absent optional strings are "" (never NULL).
 * All strings of one record share one heap block (lean at 100k rows): never
 * free or replace a single field; allocation_copy() makes an independent copy. */
#ifndef QD_NET_MODEL_H
#define QD_NET_MODEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/contract.h"

typedef struct {
	char *id, *name, *mount_path;
	int size_gb;
	bool persistent;
} StorageItem;

typedef struct {
	char *id;
	char *name;
	char *org_id;
	char *project_id, *project_name;
	char *owner_id, *owner_name;
	AllocState state;
	int64_t state_since_ms;
	int64_t deadline_ms;           /* 0 when none */
	char *failure_code, *failure_message;           /* failure_reason */
	char *release_failed_code, *release_failed_message;
	bool billing_stopped;
	char *node_id, *node_name, *region;
	char *sku_id, *sku_name, *gpu_model;
	bool sku_slice;
	int gpu_count;
	char *image_name, *network_name;
	char *runtime_bundle, *runtime_version, *runtime_state;
	StorageItem *storage;
	int storage_count;
	char *ssh_command;
	char **ssh_key_ids;            /* ids of the account keys it authorizes (strings in the block) */
	int ssh_key_count;
	int price_per_hour_cents;
	char *task_id;
	int64_t created_ms, updated_ms;
	int64_t version;
	bool is_actionable;
	char *action_required;
	int64_t actionable_until_ms;   /* 0 when none */
	int64_t archived_at_ms;        /* 0 when not archived */
} Allocation;

typedef struct {
	char *id, *name, *region, *gpu_model, *agent_version;
	NodeState state;
	int gpu_total, gpu_free, allocation_count;
	bool scheduling;
	int64_t cert_expires_ms, last_heartbeat_ms;
} Node;

typedef struct {
	char *name;
	char *state;  /* pending running done failed */
	int64_t started_ms, finished_ms;
} TaskStep;

typedef struct {
	int64_t at_ms;
	char *message;
} TaskActivity;

typedef struct {
	char *id, *kind, *allocation_id, *state, *current_step;
	TaskStep *steps;
	int step_count;
	TaskActivity *activity;
	int activity_count;
	int64_t created_ms, updated_ms;
} Task;

/* Decoders: 0 on success; -1 with a one-line reason in errbuf (which field,
 * what was wrong) when the JSON does not match the contract. On failure the
 * output is left zeroed and owns nothing. */
int decode_allocation(json_t *obj, Allocation *out, char *errbuf, size_t errsz);
int decode_node(json_t *obj, Node *out, char *errbuf, size_t errsz);
int decode_task(json_t *obj, Task *out, char *errbuf, size_t errsz);

void allocation_done(Allocation *a);
void node_done(Node *n);
void task_done(Task *t);
/* Deep copy (dst is overwritten, not freed first). */
void allocation_copy(Allocation *dst, const Allocation *src);

#endif

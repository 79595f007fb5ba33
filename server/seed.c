/* seed — the demo fleet of issue 2 and bulk rows for benchmarks.
 *
 * Deterministic: every id, name and choice comes from a fixed-seed PRNG, and
 * every timestamp is an offset from "now", so two seeded databases differ only
 * in when they were seeded. One transaction: a failed seed leaves nothing. */
#include "server/db_internal.h"

#include <ctype.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

#define SEC 1000LL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)

typedef struct {
	uint64_t s;
} Rng;

static uint64_t rng_next(Rng *r)
{
	/* splitmix64: tiny, good enough, and the same everywhere */
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int64_t rng_range(Rng *r, int64_t lo, int64_t hi)
{
	if (hi <= lo)
		return lo;
	return lo + (int64_t)(rng_next(r) % (uint64_t)(hi - lo + 1));
}

static void rng_id(Rng *r, char *out, size_t sz, const char *prefix)
{
	snprintf(out, sz, "%s%012" PRIx64, prefix, (uint64_t)(rng_next(r) & 0xffffffffffffULL));
}

/* Binds a format of 's' (text, NULL pointer = NULL), 'i' (int64), 'n' (NULL)
 * to ?1.. and steps. */
static bool run(Db *db, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st = db_prep(db, sql);
	if (!st)
		return false;
	va_list ap;
	va_start(ap, fmt);
	for (int i = 0; fmt[i]; i++) {
		if (fmt[i] == 's') {
			const char *s = va_arg(ap, const char *);
			if (s)
				sqlite3_bind_text(st, i + 1, s, -1, SQLITE_TRANSIENT);
		} else if (fmt[i] == 'i') {
			sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
		} else {
			(void)va_arg(ap, const char *); /* 'n': an explicit NULL */
		}
	}
	va_end(ap);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		fprintf(stderr, "qdeckd: seed: %s\n", sqlite3_errmsg(db->h));
	return rc == SQLITE_DONE;
}

/* --- the catalog ------------------------------------------------------------------------ */

typedef struct {
	const char *id, *name, *region, *model;
	int gpus;
	const char *state;
	bool scheduling;
	const char *agent;
} NodeDef;

static NodeDef nodes[24];
static int n_nodes;

static void define_nodes(void)
{
	static char ids[24][32], names[24][32];
	struct {
		const char *prefix, *region, *model;
		int count;
	} groups[] = {
		{"use1-h100", "us-east-1", "H100 SXM", 8},
		{"usw2-a100", "us-west-2", "A100 80GB", 6},
		{"euc1-l40s", "eu-central-1", "L40S", 6},
		{"euc1-h100", "eu-central-1", "H100 SXM", 4},
	};
	n_nodes = 0;
	for (size_t g = 0; g < QD_ARRAY_LEN(groups); g++)
		for (int i = 1; i <= groups[g].count; i++) {
			int k = n_nodes++;
			snprintf(names[k], sizeof names[k], "%s-%02d", groups[g].prefix, i);
			snprintf(ids[k], sizeof ids[k], "nd_%s", names[k]);
			for (char *c = ids[k]; *c; c++)
				if (*c == '-')
					*c = '_';
			nodes[k] = (NodeDef){ids[k], names[k], groups[g].region, groups[g].model, 8,
			                     "online", true, "1.14.2"};
		}
	/* The parts of a real fleet that need an operator. */
	nodes[7].state = "offline", nodes[7].scheduling = false;           /* use1-h100-08 */
	nodes[6].state = "draining", nodes[6].scheduling = false;          /* use1-h100-07 */
	nodes[13].state = "draining", nodes[13].scheduling = false;        /* usw2-a100-06 */
	nodes[19].state = "maintenance", nodes[19].scheduling = false;     /* euc1-l40s-06 */
	nodes[23].state = "offline", nodes[23].scheduling = false;         /* euc1-h100-04 */
	nodes[12].agent = "1.13.0";                                         /* usw2-a100-05 */
	nodes[22].agent = "1.13.0";                                         /* euc1-h100-03 */
}

typedef struct {
	const char *id, *name, *model, *kind, *counts, *region;
	int price;
} SkuDef;

static const SkuDef skus[] = {
	{"sku_h100_node", "H100 SXM node", "H100 SXM", "node", "8", "us-east-1", 498},
	{"sku_h100_slice", "H100 SXM slice", "H100 SXM", "slice", "1,2,4", "us-east-1", 498},
	{"sku_a100_node", "A100 80GB node", "A100 80GB", "node", "8", "us-west-2", 289},
	{"sku_a100_slice", "A100 80GB slice", "A100 80GB", "slice", "1,2,4", "us-west-2", 289},
	{"sku_l40s_node", "L40S node", "L40S", "node", "8", "eu-central-1", 149},
	{"sku_l40s_slice", "L40S slice", "L40S", "slice", "1,2,4", "eu-central-1", 149},
	{"sku_h100_fra_node", "H100 SXM node (Frankfurt)", "H100 SXM", "node", "8", "eu-central-1", 529},
	{"sku_h100_fra_slice", "H100 SXM slice (Frankfurt)", "H100 SXM", "slice", "1,2,4", "eu-central-1", 529},
};

typedef struct {
	const char *id, *name, *org, *email, *roles;
} UserDef;

static const UserDef users[] = {
	{"usr_acme_dev", "acme-dev", "org_acme", "acme-dev@acme.example", "user"},
	{"usr_acme_lee", "acme-lee", "org_acme", "lee@acme.example", "user"},
	{"usr_globex_dev", "globex-dev", "org_globex", "dev@globex.example", "user"},
	{"usr_ops", "ops", "org_platform", "ops@platform.example", "admin"},
	{"usr_billing", "billing", "org_platform", "billing@platform.example", "billing_operator"},
};

static bool seed_key(Db *db, Rng *r, const char *id, const char *user, const char *org,
                     const char *name, const char *comment, int64_t at)
{
	/* A well-formed ed25519 public key blob: string "ssh-ed25519", string key. */
	unsigned char blob[51] = {0, 0, 0, 11, 's', 's', 'h', '-', 'e', 'd', '2', '5', '5', '1', '9', 0, 0, 0, 32};
	for (int i = 19; i < 51; i++)
		blob[i] = (unsigned char)rng_next(r);
	unsigned char b64[80];
	EVP_EncodeBlock(b64, blob, sizeof blob);
	char pub[200];
	snprintf(pub, sizeof pub, "ssh-ed25519 %s %s", b64, comment);
	unsigned char md[32];
	unsigned int mdlen;
	EVP_Digest(blob, sizeof blob, md, &mdlen, EVP_sha256(), NULL);
	unsigned char enc[64];
	int en = EVP_EncodeBlock(enc, md, 32);
	while (en > 0 && enc[en - 1] == '=')
		en--;
	char fp[80];
	snprintf(fp, sizeof fp, "SHA256:%.*s", en, enc);
	return run(db, "INSERT INTO ssh_keys VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)", "ssssssi", id,
	           user, org, name, pub, fp, at);
}

static bool seed_catalog(Db *db, Rng *r, int64_t now)
{
	bool ok = true;
	ok = ok && run(db, "INSERT INTO orgs VALUES(?1, ?2, ?3, ?4, ?5)", "sssii", "org_acme", "acme",
	               "acme", (int64_t)1250000, now - 400 * DAY);
	ok = ok && run(db, "INSERT INTO orgs VALUES(?1, ?2, ?3, ?4, ?5)", "sssii", "org_globex",
	               "globex", "globex", (int64_t)2500, now - 200 * DAY);
	ok = ok && run(db, "INSERT INTO orgs VALUES(?1, ?2, ?3, ?4, ?5)", "sssii", "org_platform",
	               "platform", "platform", (int64_t)500000, now - 500 * DAY);
	for (size_t i = 0; ok && i < QD_ARRAY_LEN(users); i++)
		ok = run(db, "INSERT INTO users VALUES(?1, ?2, ?3, ?4, ?5, ?6)", "sssssi", users[i].id,
		         users[i].name, users[i].email, users[i].org, users[i].roles, now - 100 * DAY);
	static const char *const projects[][3] = {
		{"prj_acme_ml", "org_acme", "ml-research"},
		{"prj_acme_infer", "org_acme", "inference"},
		{"prj_globex_sim", "org_globex", "simulation"},
		{"prj_globex_vision", "org_globex", "vision"},
		{"prj_platform_ops", "org_platform", "fleet-ops"},
	};
	for (size_t i = 0; ok && i < QD_ARRAY_LEN(projects); i++)
		ok = run(db, "INSERT INTO projects VALUES(?1, ?2, ?3)", "sss", projects[i][0],
		         projects[i][1], projects[i][2]);
	static const char *const members[][2] = {
		{"prj_acme_ml", "usr_acme_dev"},      {"prj_acme_infer", "usr_acme_dev"},
		{"prj_acme_ml", "usr_acme_lee"},      {"prj_globex_sim", "usr_globex_dev"},
		{"prj_globex_vision", "usr_globex_dev"}, {"prj_platform_ops", "usr_ops"},
		{"prj_platform_ops", "usr_billing"},
	};
	for (size_t i = 0; ok && i < QD_ARRAY_LEN(members); i++)
		ok = run(db, "INSERT INTO project_members VALUES(?1, ?2)", "ss", members[i][0],
		         members[i][1]);
	ok = ok && run(db, "INSERT INTO regions VALUES(?1, ?2)", "ss", "us-east-1", "US East (Virginia)");
	ok = ok && run(db, "INSERT INTO regions VALUES(?1, ?2)", "ss", "us-west-2", "US West (Oregon)");
	ok = ok && run(db, "INSERT INTO regions VALUES(?1, ?2)", "ss", "eu-central-1",
	               "EU Central (Frankfurt)");
	define_nodes();
	for (int i = 0; ok && i < n_nodes; i++) {
		const NodeDef *n = &nodes[i];
		char host[64];
		snprintf(host, sizeof host, "%s.gpu.example", n->name);
		int64_t hb = strcmp(n->state, "online") == 0 || strcmp(n->state, "draining") == 0
		                     ? now - rng_range(r, 1, 9) * SEC
		             : strcmp(n->state, "offline") == 0 ? now - rng_range(r, 2, 6) * HOUR
		                                                : now - rng_range(r, 20, 40) * HOUR;
		/* One certificate about to lapse: the cert-recovery flow has something to show. */
		int64_t cert = i == 4 ? now + 3 * DAY : now + rng_range(r, 30, 300) * DAY;
		ok = run(db, "INSERT INTO nodes(id, name, region_id, host, gpu_model, gpu_total, gpu_free,"
		             " state, scheduling, agent_version, cert_expires_at, last_heartbeat_at,"
		             " next_ssh_port) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
		         "sssssisisiii", n->id, n->name, n->region, host, n->model, (int64_t)n->gpus,
		         n->state, (int64_t)n->scheduling, n->agent, cert, hb,
		         (int64_t)(22000 + rng_range(r, 0, 40) * 10));
	}
	for (size_t i = 0; ok && i < QD_ARRAY_LEN(skus); i++)
		ok = run(db, "INSERT INTO skus VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", "sssssisi",
		         skus[i].id, skus[i].name, skus[i].model, skus[i].kind, skus[i].counts,
		         (int64_t)skus[i].price, skus[i].region, (int64_t)i);
	static const char *const images[][2] = {
		{"img_ubuntu2204_cuda124", "Ubuntu 22.04 + CUDA 12.4"},
		{"img_ubuntu2404_cuda126", "Ubuntu 24.04 + CUDA 12.6"},
		{"img_rocky9_cuda123", "Rocky Linux 9 + CUDA 12.3"},
		{"img_ngc_pytorch_2409", "NGC PyTorch 24.09"},
	};
	for (size_t i = 0; ok && i < QD_ARRAY_LEN(images); i++)
		ok = run(db, "INSERT INTO images VALUES(?1, ?2, ?3)", "ssi", images[i][0], images[i][1],
		         (int64_t)i);
	ok = ok && run(db, "INSERT INTO networks VALUES(?1, ?2, ?3, ?4)", "ssns", "net_default",
	               "default", NULL, "10.0.0.0/16");
	ok = ok && run(db, "INSERT INTO networks VALUES(?1, ?2, ?3, ?4)", "ssss", "net_acme_private",
	               "acme-private", "org_acme", "10.20.0.0/16");
	ok = ok && run(db, "INSERT INTO networks VALUES(?1, ?2, ?3, ?4)", "ssss", "net_globex_lab",
	               "globex-lab", "org_globex", "10.30.0.0/16");
	static const char *const runtimes[][3] = {
		{"pytorch", "2.4", "PyTorch 2.4"}, {"pytorch", "2.3", "PyTorch 2.3"},
		{"vllm", "0.6", "vLLM 0.6"}, {"jax", "0.4", "JAX 0.4"},
		{"triton", "24.09", "Triton Inference Server 24.09"}, {"jupyter", "4.2", "JupyterLab 4.2"},
	};
	for (size_t i = 0; ok && i < QD_ARRAY_LEN(runtimes); i++)
		ok = run(db, "INSERT INTO runtimes(bundle, version, label) VALUES(?1, ?2, ?3)", "sss",
		         runtimes[i][0], runtimes[i][1], runtimes[i][2]);
	ok = ok && seed_key(db, r, "key_acme_dev_laptop", "usr_acme_dev", "org_acme", "laptop",
	                    "dev@acme-laptop", now - 90 * DAY);
	ok = ok && seed_key(db, r, "key_acme_dev_ci", "usr_acme_dev", "org_acme", "ci-runner",
	                    "ci@acme-build", now - 60 * DAY);
	ok = ok && seed_key(db, r, "key_acme_lee", "usr_acme_lee", "org_acme", "workstation",
	                    "lee@acme-ws", now - 50 * DAY);
	ok = ok && seed_key(db, r, "key_globex_dev", "usr_globex_dev", "org_globex", "laptop",
	                    "dev@globex", now - 40 * DAY);
	ok = ok && seed_key(db, r, "key_ops", "usr_ops", "org_platform", "ops-bastion",
	                    "ops@bastion", now - 300 * DAY);
	return ok;
}

/* --- allocations ------------------------------------------------------------------------ */

typedef struct {
	char id[DB_ID_MAX];
	const char *name, *org, *project, *owner, *owner_name, *keys;
	AllocState state;
	int64_t created, since;
	const char *fcode, *fmsg, *rfcode, *rfmsg;
	const SkuDef *sku;
	int gpus;
	const NodeDef *node;
	bool held;
	const char *image, *network, *rt_bundle, *rt_version;
	int version;
} SeedAlloc;

static int node_free[24];

static const NodeDef *find_node(const char *id)
{
	for (int i = 0; i < n_nodes; i++)
		if (strcmp(nodes[i].id, id) == 0)
			return &nodes[i];
	return NULL;
}

/* Best fit among online, scheduling nodes; NULL if nothing fits. */
static const NodeDef *place(const SkuDef *sku, int gpus)
{
	int best = -1;
	for (int i = 0; i < n_nodes; i++) {
		const NodeDef *n = &nodes[i];
		if (strcmp(n->model, sku->model) || strcmp(n->region, sku->region) ||
		    strcmp(n->state, "online") || !n->scheduling)
			continue;
		if (node_free[i] < gpus || (strcmp(sku->kind, "node") == 0 && node_free[i] != n->gpus))
			continue;
		if (best < 0 || node_free[i] < node_free[best])
			best = i;
	}
	return best < 0 ? NULL : &nodes[best];
}

static const NodeDef *any_node(Rng *r, const SkuDef *sku)
{
	int cand[24], n = 0;
	for (int i = 0; i < n_nodes; i++)
		if (!strcmp(nodes[i].model, sku->model) && !strcmp(nodes[i].region, sku->region))
			cand[n++] = i;
	return n ? &nodes[cand[rng_range(r, 0, n - 1)]] : NULL;
}

static bool insert_alloc(Db *db, SeedAlloc *a, int64_t now, int64_t *port)
{
	int64_t price = (int64_t)a->sku->price * a->gpus;
	char search[256];
	snprintf(search, sizeof search, "%s %s %s %s", a->name, a->id, a->node ? a->node->name : "",
	         a->owner_name);
	for (char *c = search; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	const AllocStateInfo *info = alloc_state_info(a->state);
	int64_t deadline = info->in_progress ? a->since + (int64_t)info->deadline_s * SEC : 0;
	const char *rt_state = !a->rt_bundle ? NULL
	                       : a->state == ALLOC_RELEASED ? "stopped"
	                       : a->state == ALLOC_FAILED || a->state == ALLOC_RESTART_FAILED ? "error"
	                       : a->state == ALLOC_PROVISIONING ? "installing"
	                                                        : "ready";
	sqlite3_stmt *st = db_prep(db, "INSERT INTO allocations(id, name, org_id, project_id, owner_id,"
	                               " state, state_since, deadline_at, failure_code, failure_message,"
	                               " rf_code, rf_message, billing_stopped, node_id, sku_id, gpu_count,"
	                               " gpus_held, image_id, network_id, runtime_bundle, runtime_version,"
	                               " runtime_state, ssh_key_ids, ssh_port, price_per_hour_cents,"
	                               " version, created_at, updated_at, search) VALUES(?1, ?2, ?3, ?4,"
	                               " ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,"
	                               " ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29)");
	if (!st)
		return false;
	sqlite3_bind_text(st, 1, a->id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, a->name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, a->org, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, a->project, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, a->owner, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, alloc_state_name(a->state), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, a->since);
	if (deadline)
		sqlite3_bind_int64(st, 8, deadline);
	if (a->fcode) {
		sqlite3_bind_text(st, 9, a->fcode, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 10, a->fmsg, -1, SQLITE_TRANSIENT);
	}
	if (a->rfcode) {
		sqlite3_bind_text(st, 11, a->rfcode, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 12, a->rfmsg, -1, SQLITE_TRANSIENT);
	}
	sqlite3_bind_int(st, 13, a->state == ALLOC_RELEASED);
	if (a->node)
		sqlite3_bind_text(st, 14, a->node->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 15, a->sku->id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 16, a->gpus);
	sqlite3_bind_int(st, 17, a->held);
	sqlite3_bind_text(st, 18, a->image, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 19, a->network, -1, SQLITE_STATIC);
	if (a->rt_bundle) {
		sqlite3_bind_text(st, 20, a->rt_bundle, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 21, a->rt_version, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 22, rt_state, -1, SQLITE_STATIC);
	}
	sqlite3_bind_text(st, 23, a->keys, -1, SQLITE_STATIC);
	if (a->node)
		sqlite3_bind_int64(st, 24, (*port)++);
	sqlite3_bind_int64(st, 25, price);
	sqlite3_bind_int(st, 26, a->version);
	sqlite3_bind_int64(st, 27, a->created);
	sqlite3_bind_int64(st, 28, a->since > a->created ? a->since : a->created);
	sqlite3_bind_text(st, 29, search, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		fprintf(stderr, "qdeckd: seed: %s\n", sqlite3_errmsg(db->h));
		return false;
	}
	(void)now;
	return true;
}

static const char *const base_names[] = {
	"llama-ft",     "mixtral-eval",  "sdxl-train",   "whisper-batch", "rl-sim",      "vision-pretrain",
	"bert-distill", "qwen-sft",      "embed-index",  "diffusion-abl", "protein-fold", "tts-finetune",
	"mamba-scan",   "ray-head",      "jupyter-ana",  "gemma-lora",    "nerf-city",   "asr-eval",
	"clip-retrain", "dpo-sweep",     "vllm-serve",   "triton-bench",  "moe-router",  "ocr-train",
};

typedef struct {
	const char *code, *msg;
} Reason;

static const Reason provision_failures[] = {
	{"image_pull_failed", "pulling nvcr.io/nvidia/pytorch:24.09 timed out after 300 s"},
	{"gpu_health_check_failed", "GPU 3 reported Xid 79 (fallen off the bus) during burn-in"},
	{"deadline_exceeded", "provisioning did not finish within its 120 s deadline (at speed 1)"},
	{"node_unreachable", "the node agent stopped heartbeating while booting the image"},
};
static const Reason restart_failures[] = {
	{"health_check_timeout", "the runtime health check did not pass within 90 s"},
	{"driver_mismatch", "NVIDIA driver 535.161 is older than the image's CUDA 12.6 needs"},
};
static const Reason release_failures[] = {
	{"storage_detach_timeout", "volume datasets did not detach within 45 s; the mount is busy"},
	{"node_unreachable", "node use1-h100-08 stopped answering during release"},
	{"billing_ledger_conflict", "the billing ledger already closed a different interval for this allocation"},
	{"scratch_wipe_failed", "secure wipe of /scratch returned an I/O error on nvme1n1"},
	{"agent_version_unsupported", "node agent 1.13.0 cannot run release step wipe_scratch; upgrade to 1.14 or later"},
};

typedef struct {
	AllocState state;
	int count;
} Mix;

int db_seed_demo(Db *db, ApiError *err)
{
	sqlite3_stmt *st = db_prep(db, "SELECT (SELECT COUNT(*) FROM orgs) + (SELECT COUNT(*) FROM users)"
	                               " + (SELECT COUNT(*) FROM allocations)");
	int64_t have = -1;
	if (st && sqlite3_step(st) == SQLITE_ROW)
		have = sqlite3_column_int64(st, 0);
	if (st)
		sqlite3_reset(st);
	if (have < 0) {
		db_fail(db, err, "inspect the database");
		return -1;
	}
	if (have > 0)
		return 0;
	if (!db_begin(db)) {
		db_fail(db, err, "start the seed transaction");
		return -1;
	}
	Rng rng = {0x5eedda7aULL};
	Rng *r = &rng;
	int64_t now = db_now_ms(db);
	bool ok = seed_catalog(db, r, now);
	for (int i = 0; i < n_nodes; i++)
		node_free[i] = nodes[i].gpus;

	static const Mix mix[] = {
		{ALLOC_ACTIVE, 22},       {ALLOC_PROVISIONING, 4}, {ALLOC_RESTARTING, 2},
		{ALLOC_RESTART_FAILED, 3}, {ALLOC_RELEASING, 3},    {ALLOC_RELEASE_FAILED, 5},
		{ALLOC_RELEASED, 15},     {ALLOC_FAILED, 12},
	};
	int64_t port = 22022;
	int seq = 0, rf_i = 0, pf_i = 0, rsf_i = 0;
	for (size_t m = 0; ok && m < QD_ARRAY_LEN(mix); m++) {
		for (int k = 0; ok && k < mix[m].count; k++, seq++) {
			SeedAlloc a = {0};
			a.state = mix[m].state;
			rng_id(r, a.id, sizeof a.id, "al_");
			bool acme = seq % 5 != 2 && seq % 5 != 4; /* three in five belong to acme */
			a.org = acme ? "org_acme" : "org_globex";
			if (acme) {
				bool lee = seq % 4 == 3;
				a.owner = lee ? "usr_acme_lee" : "usr_acme_dev";
				a.owner_name = lee ? "acme-lee" : "acme-dev";
				a.keys = lee ? "key_acme_lee" : seq % 3 ? "key_acme_dev_laptop"
				                                          : "key_acme_dev_laptop,key_acme_dev_ci";
				a.project = seq % 3 == 1 ? "prj_acme_infer" : "prj_acme_ml";
				a.network = seq % 2 ? "net_acme_private" : "net_default";
			} else {
				a.owner = "usr_globex_dev";
				a.owner_name = "globex-dev";
				a.keys = "key_globex_dev";
				a.project = seq % 2 ? "prj_globex_vision" : "prj_globex_sim";
				a.network = seq % 3 ? "net_globex_lab" : "net_default";
			}
			static char names[80][48];
			snprintf(names[seq], sizeof names[seq], "%s-%d",
			         base_names[seq % QD_ARRAY_LEN(base_names)],
			         (int)rng_range(r, 1, 19));
			a.name = names[seq];
			a.image = seq % 4 == 0 ? "img_ngc_pytorch_2409"
			          : seq % 4 == 1 ? "img_ubuntu2204_cuda124"
			          : seq % 4 == 2 ? "img_ubuntu2404_cuda126"
			                         : "img_rocky9_cuda123";
			if (seq % 3 == 0) {
				a.rt_bundle = seq % 2 ? "vllm" : "pytorch";
				a.rt_version = seq % 2 ? "0.6" : "2.4";
			}
			a.version = (int)rng_range(r, 1, 9);
			a.held = a.state != ALLOC_RELEASED && a.state != ALLOC_FAILED;
			/* The first active ones fill every online L40S node a little, so the
			 * whole-node L40S SKU is the sold-out one. */
			const SkuDef *sku;
			int gpus;
			if (a.state == ALLOC_ACTIVE && k < 5) {
				sku = &skus[5];
				gpus = 2;
			} else if (a.state == ALLOC_ACTIVE && k == 5) {
				sku = &skus[0];
				gpus = 8;
			} else {
				static const int slice_skus[] = {1, 3, 5, 1, 3, 5, 7, 1};
				sku = &skus[slice_skus[rng_range(r, 0, 7)]];
				static const int counts[] = {1, 2, 2, 4};
				gpus = counts[rng_range(r, 0, 3)];
			}
			a.sku = sku;
			a.gpus = gpus;
			if (a.state == ALLOC_RELEASE_FAILED && rf_i % 5 == 1) {
				a.sku = &skus[1];
				a.node = find_node("nd_use1_h100_08"); /* the offline one it lost */
			} else if (a.state == ALLOC_RELEASE_FAILED && rf_i % 5 == 4) {
				a.sku = &skus[3];
				a.node = find_node("nd_usw2_a100_05"); /* the old agent */
			} else if (a.state == ALLOC_ACTIVE && k < 5) {
				char nid[32];
				snprintf(nid, sizeof nid, "nd_euc1_l40s_%02d", k + 1);
				a.node = find_node(nid);
			} else if (a.held) {
				a.node = place(a.sku, a.gpus);
				if (!a.node) { /* full: fall back to the smallest L40S slice */
					a.sku = &skus[5];
					a.gpus = 1;
					a.node = place(a.sku, 1);
				}
			} else
				a.node = any_node(r, a.sku);
			if (a.held && a.node)
				node_free[a.node - nodes] -= a.gpus;
			if (a.held && !a.node) {
				ok = false;
				break;
			}
			/* Ages: in-progress ones just started; failures split recent and
			 * older than the actionable window; released ones recent and archived. */
			int64_t age_since;
			switch (a.state) {
			case ALLOC_PROVISIONING:
				a.created = now - rng_range(r, 500, 2500);
				a.since = a.created;
				break;
			case ALLOC_RESTARTING:
			case ALLOC_RELEASING:
				a.created = now - rng_range(r, 1, 20) * DAY - rng_range(r, 0, 23) * HOUR;
				a.since = now - rng_range(r, 500, 2500);
				break;
			case ALLOC_ACTIVE:
				a.created = now - rng_range(r, 1, 480) * HOUR - rng_range(r, 0, 59) * MIN;
				a.since = a.created + rng_range(r, 60, 300) * SEC;
				break;
			case ALLOC_RELEASED:
				age_since = k < 5 ? rng_range(r, 1, 60) * HOUR : rng_range(r, 4, 60) * DAY;
				a.since = now - age_since;
				a.created = a.since - rng_range(r, 2, 200) * HOUR;
				break;
			case ALLOC_FAILED:
			case ALLOC_RESTART_FAILED:
				age_since = k % 2 == 0 ? rng_range(r, 1, 100) * HOUR
				                       : rng_range(r, 8, 60) * DAY;
				a.since = now - age_since;
				a.created = a.since - rng_range(r, 1, 100) * HOUR;
				break;
			default: /* release_failed: needs an admin however old */
				a.since = now - rng_range(r, 20, 60 * 24 * 10) * MIN;
				a.created = a.since - rng_range(r, 5, 300) * HOUR;
				break;
			}
			if (a.state == ALLOC_FAILED) {
				const Reason *f = &provision_failures[pf_i++ % QD_ARRAY_LEN(provision_failures)];
				a.fcode = f->code, a.fmsg = f->msg;
			} else if (a.state == ALLOC_RESTART_FAILED) {
				const Reason *f = &restart_failures[rsf_i++ % QD_ARRAY_LEN(restart_failures)];
				a.fcode = f->code, a.fmsg = f->msg;
			} else if (a.state == ALLOC_RELEASE_FAILED) {
				const Reason *f = &release_failures[rf_i++ % QD_ARRAY_LEN(release_failures)];
				a.rfcode = f->code, a.rfmsg = f->msg;
			}
			ok = insert_alloc(db, &a, now, &port);
			/* Volumes on about a third. */
			if (ok && seq % 3 == 1) {
				char vid[DB_ID_MAX];
				rng_id(r, vid, sizeof vid, "vol_");
				ok = run(db, "INSERT INTO volumes VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
				         "ssssssii", vid, a.id, a.org, "datasets", "/mnt/datasets", "500",
				         (int64_t)1, a.created);
				if (ok && seq % 2) {
					rng_id(r, vid, sizeof vid, "vol_");
					ok = run(db, "INSERT INTO volumes VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
					         "ssssssii", vid, a.id, a.org, "checkpoints", "/mnt/ckpt", "2000",
					         (int64_t)1, a.created + 1);
				}
				ok = ok && run(db, "UPDATE allocations SET volume_count = (SELECT COUNT(*) FROM volumes"
				                   " WHERE allocation_id = ?1) WHERE id = ?1", "s", a.id);
			}
			/* The task that brought it here. */
			char tid[DB_ID_MAX];
			rng_id(r, tid, sizeof tid, "tk_");
			if (!ok)
				break;
			switch (a.state) {
			case ALLOC_PROVISIONING:
				ok = db_task_seed(db, TASK_PROVISION, tid, a.id, a.org, "running", k % 2, NULL,
				                  NULL, a.since, now, now + rng_range(r, 400, 1500));
				break;
			case ALLOC_RESTARTING:
				ok = db_task_seed(db, TASK_RESTART, tid, a.id, a.org, "running", 0, NULL, NULL,
				                  a.since, now, now + rng_range(r, 400, 1500));
				break;
			case ALLOC_RELEASING:
				ok = db_task_seed(db, TASK_RELEASE, tid, a.id, a.org, "running", k % 3, NULL, NULL,
				                  a.since, now, now + rng_range(r, 400, 1500));
				break;
			case ALLOC_ACTIVE:
				ok = db_task_seed(db, TASK_PROVISION, tid, a.id, a.org, "succeeded", 0, NULL, NULL,
				                  a.created, a.since, 0);
				break;
			case ALLOC_RELEASED:
				ok = db_task_seed(db, TASK_RELEASE, tid, a.id, a.org, "succeeded", 0, NULL, NULL,
				                  a.since - 3 * SEC, a.since, 0);
				break;
			case ALLOC_FAILED:
				ok = db_task_seed(db, TASK_PROVISION, tid, a.id, a.org, "failed", 2, a.fcode,
				                  a.fmsg, a.created, a.since, 0);
				break;
			case ALLOC_RESTART_FAILED:
				ok = db_task_seed(db, TASK_RESTART, tid, a.id, a.org, "failed", 2, a.fcode, a.fmsg,
				                  a.since - 90 * SEC, a.since, 0);
				break;
			case ALLOC_RELEASE_FAILED:
				ok = db_task_seed(db, TASK_RELEASE, tid, a.id, a.org, "failed", 1, a.rfcode,
				                  a.rfmsg, a.since - 45 * SEC, a.since, 0);
				break;
			default:
				break;
			}
			if (ok) {
				char msg[160];
				snprintf(msg, sizeof msg, "%s is %s", a.name, alloc_state_name(a.state));
				ok = db_event_alloc(db, "allocation.created", a.id, tid, msg) > 0;
			}
		}
	}
	for (int i = 0; ok && i < n_nodes; i++)
		ok = run(db, "UPDATE nodes SET gpu_free = ?1 WHERE id = ?2", "is", (int64_t)node_free[i],
		         nodes[i].id);
	if (!ok) {
		db_rollback(db);
		db_fail(db, err, "seed the demo fleet");
		return -1;
	}
	if (!db_commit(db)) {
		db_fail(db, err, "commit the demo seed");
		return -1;
	}
	return 1;
}

int db_seed_bulk(Db *db, int n_allocations, ApiError *err)
{
	if (n_allocations < 0 || n_allocations > 10000000) {
		api_error_set(err, 400, "invalid_value", "ask for 0..10000000", "bad allocation count %d",
		              n_allocations);
		return -1;
	}
	if (db_seed_demo(db, err) < 0)
		return -1;
	define_nodes();
	int64_t existing = 0;
	sqlite3_stmt *st = db_prep(db, "SELECT COUNT(*) FROM allocations");
	if (st && sqlite3_step(st) == SQLITE_ROW)
		existing = sqlite3_column_int64(st, 0);
	if (st)
		sqlite3_reset(st);
	if (!db_begin(db)) {
		db_fail(db, err, "start the bulk transaction");
		return -1;
	}
	Rng rng = {0xb01cULL ^ (uint64_t)existing * 0x9e3779b97f4a7c15ULL};
	Rng *r = &rng;
	int64_t now = db_now_ms(db);
	int64_t port = 30000;
	bool ok = true;
	static const Mix mix[] = {
		{ALLOC_RELEASED, 55}, {ALLOC_ACTIVE, 25}, {ALLOC_FAILED, 12},
		{ALLOC_RESTART_FAILED, 5}, {ALLOC_RELEASE_FAILED, 3},
	};
	char name[48];
	for (int i = 0; ok && i < n_allocations; i++) {
		SeedAlloc a = {0};
		rng_id(r, a.id, sizeof a.id, "al_");
		int pick = (int)rng_range(r, 0, 99), acc = 0;
		a.state = ALLOC_RELEASED;
		for (size_t m = 0; m < QD_ARRAY_LEN(mix); m++) {
			acc += mix[m].count;
			if (pick < acc) {
				a.state = mix[m].state;
				break;
			}
		}
		bool acme = rng_range(r, 0, 9) < 6;
		a.org = acme ? "org_acme" : "org_globex";
		a.owner = acme ? "usr_acme_dev" : "usr_globex_dev";
		a.owner_name = acme ? "acme-dev" : "globex-dev";
		a.project = acme ? "prj_acme_ml" : "prj_globex_sim";
		a.keys = acme ? "key_acme_dev_laptop" : "key_globex_dev";
		a.network = "net_default";
		a.image = "img_ubuntu2204_cuda124";
		snprintf(name, sizeof name, "%s-b%d", base_names[i % QD_ARRAY_LEN(base_names)], i);
		a.name = name;
		a.sku = &skus[rng_range(r, 0, QD_ARRAY_LEN(skus) - 1)];
		a.gpus = strcmp(a.sku->kind, "node") == 0 ? 8 : 1 << rng_range(r, 0, 2);
		a.node = any_node(r, a.sku);
		a.held = false; /* history for benchmarks: holds no capacity */
		a.version = (int)rng_range(r, 1, 12);
		a.since = now - rng_range(r, 1, 180 * 24 * 60) * MIN;
		a.created = a.since - rng_range(r, 1, 72 * 60) * MIN;
		if (a.state == ALLOC_FAILED || a.state == ALLOC_RESTART_FAILED)
			a.fcode = "node_unreachable", a.fmsg = "the node agent stopped heartbeating";
		if (a.state == ALLOC_RELEASE_FAILED)
			a.rfcode = "storage_detach_timeout", a.rfmsg = "a volume did not detach within 45 s";
		ok = insert_alloc(db, &a, now, &port);
	}
	if (!ok) {
		db_rollback(db);
		db_fail(db, err, "insert bulk allocations");
		return -1;
	}
	if (!db_commit(db)) {
		db_fail(db, err, "commit bulk allocations");
		return -1;
	}
	return n_allocations;
}

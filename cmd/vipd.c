/* vipd: watches the sources, keeps the model, reconciles it into nftables. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>

#include "bstate.h"
#include "conntrack.h"
#include "config.h"
#include "datapath.h"
#include "instance.h"
#include "log.h"
#include "loop.h"
#include "model.h"
#include "publish.h"
#include "reconcile.h"
#include "source.h"
#include "state_cache.h"
#include "status.h"
#include "version.h"	/* generated: build/version.h */

/* After a failed commit, retry after this, doubling up to the cap. */
#define RETRY_MIN_MS	500
#define RETRY_MAX_MS	30000
/* Foreign writers: the ruleset generation is polled this often (one tiny
 * netlink round trip); when it moved, the tables are read back and
 * repaired, but after a read-back that found nothing of ours changed, not
 * again for VERIFY_QUIET_MS (other tables may change often). */
#define VERIFY_POLL_MS	1000
#define VERIFY_QUIET_MS	10000
/* --once and --dry-run wait this long for the sources' first full read. */
#define ONESHOT_WAIT_MS	30000
/* -v: at most this many lines of a commit's changes, one each (a full
 * sync of 10,000 services has over 100,000). */
#define CHANGES_LOGGED	1000
#define SOURCES_MAX	3

struct daemon {
	struct vipd_config cfg;
	struct dp_opts dp_opts;	/* what of cfg shapes the rules */
	struct loop *loop;
	struct model *model;
	struct reconciler *rec;
	struct bstate *bs;	/* what takes traffic, and why */
	struct bs_conf bs_conf;
	struct publisher *pub;	/* this node's verdicts in etcd; NULL: none */
	struct register_conf pub_conf;
	struct dp *dp;
	struct ct *ct;		/* NULL: conntrack cleanup unavailable (logged once) */
	struct changes aff_pending;	/* affinity purges that failed: retried */
	struct source sources[SOURCES_MAX];
	size_t n_sources;
	struct state_cache *cache;	/* NULL: --state-dir off, or a one-shot run */
	/* The kernel routes the state cache, not the sources (a boot with a
	 * source down, --source-wait): until every source is ready and a full
	 * plan of theirs is committed. For /status and /healthz. */
	bool stale;
	uint64_t stale_since_ms;	/* loop_now_ms() when the cache was programmed */
	struct model *boot;	/* while stale: the cache, as the kernel has it */
	uint64_t boot_counts[BS_MAX];	/* its endpoints by state, for /metrics */
	int exit_code;
	bool bad_input;		/* the services file could not be read at start: exit 2 */
	bool full;		/* next reconcile plans every service */
	bool base;		/* next commit re-asserts tables and chains */
	bool failed;		/* waiting for the retry timer */
	bool verifying;		/* this reconcile repairs foreign edits */
	uint64_t retry_ms;
	uint32_t genid;		/* ruleset generation after our last commit */
	uint64_t shape;		/* dp_struct_digest after our last commit */
	uint64_t verify_after;
	int sig_fd;
	int claim_fd;		/* holds this table in this network namespace */
	struct status_counters ctr;	/* what /metrics and /healthz say */
	struct status_server *status;	/* NULL: --metrics off */
};


/* EPERM from the kernel means no privilege, unless vipd has it: then
 * another process owns a table of that name (nft's "flags owner"), which
 * a retry mends once that process is gone. */
static bool has_net_admin(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct c[2];

	if (syscall(SYS_capget, &h, c) < 0)
		return false;
	return c[CAP_NET_ADMIN / 32].effective & (1U << (CAP_NET_ADMIN % 32));
}

/* The one failure that no retry mends: say what is missing. */
static const char *needs_cap(int err)
{
	return err == -EPERM || err == -EACCES ? " (vipd needs CAP_NET_ADMIN)" : "";
}

/* Reads the kernel state back, logging a failure (the datapath does not). */
static int read_back(struct daemon *d, bool rewrite_rules)
{
	int ret = rec_load(d->rec, d->dp, rewrite_rules);

	if (ret < 0)
		log_err("reading back table %s: %s%s%s%s", d->cfg.table, strerror(-ret),
			*dp_error(d->dp) ? ": " : "", dp_error(d->dp), needs_cap(ret));
	return ret;
}

/* Reads the kernel state back; without both tables, recreate them. */
static void load(struct daemon *d, bool rewrite_rules)
{
	char names[256];

	read_back(d, rewrite_rules);
	d->full = true;
	d->base = d->base || rewrite_rules || !rec_tables_present(d->rec);
	if (dp_foreign_chains(d->dp, names, sizeof(names))) {
		log_warn("table %s holds chains vipd does not make (%s); removing them",
			 d->cfg.table, names);
		d->base = true;
	}
}

/* Chains and rules change only with a base commit or a class chain added
 * or removed: learn their shape then, to tell a foreign edit later. */
static void learn_shape(struct daemon *d, const struct changes *c, bool base)
{
	bool moved = base;

	for (size_t i = 0; i < c->n && !moved; i++)
		moved = c->v[i].op == CH_CLASS_ADD || c->v[i].op == CH_CLASS_DEL;
	if (moved && dp_struct_digest(d->dp, &d->shape) < 0)
		d->shape = 0;	/* unknown: the next check repairs */
}

/* After a commit: the conntrack entries its UDP changes made stale, in
 * one call (one dump) for the whole commit. */
static void ct_cleanup(struct daemon *d, const struct changes *c)
{
	struct ct_match *m;
	size_t n = 0;
	uint64_t t0;
	int ret;

	for (size_t i = 0; i < c->n; i++)
		n += c->v[i].op == CH_CT_BACKEND || c->v[i].op == CH_CT_UNNATED;
	if (!n || !d->ct)
		return;
	if (!(m = calloc(n, sizeof(*m)))) {
		log_err("conntrack: out of memory; stale UDP entries stay");
		return;
	}
	n = 0;
	for (size_t i = 0; i < c->n; i++) {
		const struct change *ch = &c->v[i];

		if (ch->op != CH_CT_BACKEND && ch->op != CH_CT_UNNATED)
			continue;
		m[n] = (struct ct_match){
			.family = ch->fe.family, .proto = ch->fe.proto, .port = ch->fe.port,
			.kind = ch->op == CH_CT_BACKEND ? CT_TO_BACKEND : CT_UNNATED,
			.any_dst = ch->fe.kind == FE_NODEPORT, .be_port = ch->be.port,
		};
		memcpy(m[n].dst, ch->fe.addr, 16);
		memcpy(m[n].be, ch->be.addr, 16);
		n++;
	}
	t0 = loop_now_ms();
	ret = ct_delete(d->ct, m, n);
	if (ret < 0) {
		log_err("conntrack: %s; stale UDP entries stay", ct_error(d->ct));
	} else {
		d->ctr.ct_deleted += (uint64_t)ret;
		log_debug("conntrack: %d stale UDP entries deleted (%zu matches) in %llu ms", ret, n,
			  (unsigned long long)(loop_now_ms() - t0));
	}
	free(m);
}

/* drain_seconds after a TCP backend left: its established connections
 * are cut (DESIGN.md "drain_seconds"). */
static void drain(void *arg, const char *service, const char *id, const struct ct_match *m,
		  size_t n)
{
	struct daemon *d = arg;
	int ret;

	if (!d->ct)
		return;		/* said once at start */
	ret = ct_delete(d->ct, m, n);
	if (ret < 0) {
		log_err("service \"%s\" backend %s: conntrack: %s; its connections stay", service, id,
			ct_error(d->ct));
		return;
	}
	d->ctr.ct_deleted += (uint64_t)ret;
	log_info("service \"%s\" backend %s: drain over: %d connection%s cut", service, id,
		 ret, ret == 1 ? "" : "s");
}

/* After a commit: affinity entries of backends that left, so their
 * clients move now rather than when the timeout runs out. */
static void aff_cleanup(struct daemon *d, const struct changes *c)
{
	struct changes *p = &d->aff_pending;
	int ret = 0;

	/* an entry not purged keeps its client on the dead backend for as
	 * long as it reconnects: a failed purge is kept and tried again */
	for (size_t i = 0; i < c->n && !ret; i++)
		if (c->v[i].op == CH_AFF_PURGE)
			ret = changes_push(p, &c->v[i], NULL);
	if (!p->n)
		return;
	ret = ret ?: dp_affinity_purge(d->dp, p);
	if (ret < 0) {
		log_err("%s: %s; retried at the next change", dp_error(d->dp), strerror(-ret));
		return;
	}
	log_debug("affinity: %d entries of backends that left deleted", ret);
	changes_free(p);
	memset(p, 0, sizeof(*p));
}

/* -v: what a commit did, change by change, as nft commands. */
static void log_changes(const struct daemon *d, const struct changes *c)
{
	char line[512];
	size_t n = 0;

	if (vlog_threshold < VLOG_DEBUG)
		return;
	for (size_t i = 0; i < c->n; i++) {
		bool show = n < CHANGES_LOGGED;

		/* past the cap, only counted, not rendered */
		if (dp_change_text(d->cfg.table, &c->v[i], line, show ? sizeof(line) : 0) < 0)
			continue;
		if (show)
			log_debug("%s", line);
		n++;
	}
	if (n > CHANGES_LOGGED)
		log_debug("... and %zu more changes", n - CHANGES_LOGGED);
}

static int reconcile(struct daemon *d)
{
	struct name_list dirty = { 0 };
	struct changes c = { 0 };
	uint64_t t0 = loop_now_us();
	uint64_t since = model_dirty_since(d->model);
	bool full = d->full;
	int ret;

	if (model_dirty_take(d->model, &dirty))
		full = true;
	ret = bs_update(d->bs, &dirty, full);
	ret = ret ?: rec_plan(d->rec, d->model, &dirty, full, &c);
	if (ret < 0)
		log_err("planning %s%zu services: %s", full ? "all " : "",
			full ? model_service_count(d->model) : dirty.n, strerror(-ret));
	if (ret == 0)
		ret = dp_commit(d->dp, &c, d->base);
	if (ret == 0) {
		struct rec_stats st;

		rec_stats(d->rec, &st);
		log_changes(d, &c);
		if (d->verifying && c.n)
			log_warn("table %s was changed by another writer: %zu element or chain changes repaired",
				 d->cfg.table, c.n);
		if (d->verifying && !c.n)
			d->verify_after = loop_now_ms() + VERIFY_QUIET_MS;
		vlog(!d->verifying && (full || c.n > 1000) ? VLOG_INFO : VLOG_DEBUG,
		     "reconciled %s%zu services: %zu changes in %llu ms (%zu frontends, %zu slots, %zu class chains)",
		     full ? "all " : "", full ? model_service_count(d->model) : dirty.n,
		     c.n, (unsigned long long)(loop_now_us() - t0) / 1000, st.frontends,
		     st.slots, st.classes);
		learn_shape(d, &c, d->base);
		if (c.n || full)
			sc_changed(d->cache);
		if (d->stale && full) {
			d->stale = false;
			model_free(d->boot);
			d->boot = NULL;
			log_info("every source answered: the kernel holds their state, no longer the cached one (stale for %llu s)",
				 (unsigned long long)(loop_now_ms() - d->stale_since_ms) / 1000);
		}
		/* affinity first: until its entries go, a new flow of an affine
		 * client may still be DNATed to the backend that left */
		aff_cleanup(d, &c);
		ct_cleanup(d, &c);
		d->full = d->base = d->verifying = false;
		d->retry_ms = 0;
		dp_genid(d->dp, &d->genid);
	}
	status_account(&d->ctr, ret, full, t0, since);
	model_names_free(&dirty);
	changes_free(&c);
	return ret;
}

static void retry(struct loop *l, void *arg)
{
	struct daemon *d = arg;

	d->failed = false;
}

/* A refused commit left the kernel as it was (a split one: as its last
 * good transaction left it): learn it again and plan everything at the
 * next attempt. */
static void recover(struct daemon *d)
{
	d->retry_ms = d->retry_ms ? d->retry_ms * 2 : RETRY_MIN_MS;
	if (d->retry_ms > RETRY_MAX_MS)
		d->retry_ms = RETRY_MAX_MS;
	log_warn("kernel state not converged; reading it back, retrying in %llu ms",
		 (unsigned long long)d->retry_ms);
	d->base = true;
	load(d, true);
	/* Without the timer, failed would hold every reconcile for ever:
	 * retry at the next pass of the loop instead (verify_tick wakes it). */
	d->failed = loop_timer_add(d->loop, d->retry_ms, retry, d) != 0;
	if (!d->failed)
		log_err("out of memory arming the retry timer; retrying at the next event");
}

static bool sources_ready(const struct daemon *d)
{
	for (size_t i = 0; i < d->n_sources; i++)
		if (!d->sources[i].ready)
			return false;
	return true;
}

static int dry_run(struct daemon *d);

/* --once and --dry-run: act once every source has read everything. */
static void oneshot(struct daemon *d)
{
	int ret = d->cfg.dry_run ? dry_run(d) : reconcile(d);

	d->exit_code = ret < 0 ? 1 : 0;
	loop_stop(d->loop);
}

static void before_sleep(struct loop *l, void *arg)
{
	struct daemon *d = arg;
	int ret;

	/* Until every source has its full state, the kernel keeps what it
	 * has: a plan from half the registry would delete the other half. */
	if (!sources_ready(d))
		return;
	if (d->cfg.once || d->cfg.dry_run) {
		oneshot(d);
		return;
	}
	if (d->failed || (!d->full && !model_dirty(d->model)))
		return;
	ret = reconcile(d);
	if (ret == -EPERM && has_net_admin()) {
		log_err("programming table %s: %s although vipd has CAP_NET_ADMIN: another process holds a table of this name (nft flags owner)?",
			d->cfg.table, strerror(-ret));
		recover(d);
	} else if (ret == -EPERM || ret == -EACCES) {
		log_err("programming table %s: %s%s; exiting", d->cfg.table, strerror(-ret),
			needs_cap(ret));
		d->exit_code = 1;
		loop_stop(l);
	} else if (ret < 0) {
		recover(d);
	}
}

/* A boot (no tables) with a source late: route what vipd last applied
 * rather than nothing, until every source answers. */
/* The cache's endpoints take the state their ready flags give (it has
 * no checks or verdicts), so /status and /metrics show what the kernel
 * routes while stale. */
static void boot_states(struct daemon *d)
{
	const char *name;

	memset(d->boot_counts, 0, sizeof(d->boot_counts));
	for (size_t it = 0; (name = model_service_next(d->boot, &it));) {
		struct endpoint *const *eps;
		size_t n = model_endpoints_get(d->boot, name, &eps);

		for (size_t i = 0; i < n; i++) {
			struct endpoint *ep = eps[i];
			enum bs_state st = ep->terminating ? BS_TERMINATING :
					   ep->ready ? BS_HEALTHY : BS_NOT_READY;

			ep->bs_state = st + 1;
			ep->bs_weight = ep->ready ? ep->weight : 0;
			ep->bs_since = loop_now_ms();
			d->boot_counts[st]++;
		}
	}
}

/* The cache into the kernel (again, after a foreign edit or SIGHUP). */
static int program_boot(struct daemon *d)
{
	struct changes c = { 0 };
	int ret;

	/* the backend states know the sources' endpoints, not these: the
	 * cache's ready flags say which took traffic */
	rec_set_weigh(d->rec, NULL, NULL);
	ret = rec_plan(d->rec, d->boot, NULL, true, &c);
	rec_set_weigh(d->rec, bs_weight, d->bs);
	ret = ret ?: dp_commit(d->dp, &c, true);
	if (ret == 0)
		dp_genid(d->dp, &d->genid);
	else
		log_err("programming the state cache: %s%s%s", strerror(-ret),
			*dp_error(d->dp) ? ": " : "", dp_error(d->dp));
	changes_free(&c);
	return ret;
}

static void boot_from_cache(struct loop *l, void *arg)
{
	struct daemon *d = arg;
	struct sc_header h;

	if (sources_ready(d) || !(d->boot = sc_boot_model(d->cache, &h)))
		return;
	if (program_boot(d) == 0) {
		d->stale = true;
		d->stale_since_ms = loop_now_ms();
		boot_states(d);
		log_warn("sources not read within %ld s: programmed the state cached at %s (%zu services); stale until every source answers",
			 d->cfg.source_wait, h.written_at, h.services);
		return;
	}
	log_err("the state cache is not routed; waiting for every source");
	load(d, true);
	model_free(d->boot);
	d->boot = NULL;
}

/* While stale the kernel must keep the cache: a foreign edit or a flushed
 * ruleset (a firewall reload) during the outage is mended from it. */
static void stale_repair(struct daemon *d, const char *why)
{
	log_warn("%s while the kernel routes the state cache: programming it again", why);
	read_back(d, true);
	program_boot(d);
}

static void oneshot_timeout(struct loop *l, void *arg)
{
	struct daemon *d = arg;

	for (size_t i = 0; i < d->n_sources; i++)
		if (!d->sources[i].ready)
			log_err("%s: no complete state within %d s; nothing done",
				d->sources[i].ops->name, ONESHOT_WAIT_MS / 1000);
	d->exit_code = 1;
	loop_stop(l);
}

static void on_signal(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct daemon *d = arg;
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			log_info("SIGHUP: reading sources and kernel state again");
			for (size_t i = 0; i < d->n_sources; i++)
				d->sources[i].ops->resync(&d->sources[i]);
			load(d, true);
			if (d->stale)
				stale_repair(d, "SIGHUP");
		} else {
			log_info("signal %d: exiting, kernel state stays in place",
				 (int)si.ssi_signo);
			loop_stop(l);
		}
	}
}

static void verify_tick(struct loop *l, void *arg)
{
	struct daemon *d = arg;
	uint32_t id;

	uint64_t shape;

	loop_timer_add(l, VERIFY_POLL_MS, verify_tick, d);	/* a re-arm: cannot fail */
	if (d->stale && dp_genid(d->dp, &id) == 0 && id != d->genid) {
		stale_repair(d, "the ruleset changed");
		return;
	}
	if (d->failed || d->full || dp_genid(d->dp, &id) < 0 || id == d->genid)
		return;
	/* chains and rules at every move (a few dozen rules: cheap); the
	 * elements at most every VERIFY_QUIET_MS when nothing of ours moved */
	if (dp_struct_digest(d->dp, &shape) == 0 && shape != d->shape) {
		log_warn("table %s: its chains or rules were changed by another writer; rewriting them",
			 d->cfg.table);
		load(d, true);
		d->verifying = true;
		return;
	}
	if (loop_now_ms() < d->verify_after)
		return;
	load(d, false);
	d->verifying = true;
}

static int signals_start(struct daemon *d)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (d->sig_fd < 0)
		return -errno;
	return loop_fd_add(d->loop, d->sig_fd, EPOLLIN, on_signal, d);
}

static void dp_opts_of(const struct vipd_config *cfg, struct dp_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->masq_all = cfg->masquerade_all;
	for (int f = 0; f < 2; f++) {
		o->has_cidr[f] = cfg->has_cluster_cidr[f];
		memcpy(o->cidr[f], cfg->cluster_cidr[f].addr.bytes, 16);
		o->cidr_len[f] = cfg->cluster_cidr[f].len;
	}
}

static int dry_run(struct daemon *d)
{
	struct changes c = { 0 };
	int ret = bs_update(d->bs, NULL, true);

	ret = ret ?: rec_plan(d->rec, d->model, NULL, true, &c);
	if (ret == 0)
		dp_print(stdout, d->cfg.table, &d->dp_opts, &c);
	else
		log_err("planning all %zu services: %s", model_service_count(d->model), strerror(-ret));
	changes_free(&c);
	return ret;
}

static int cleanup(struct daemon *d)
{
	int ret = dp_cleanup(d->dp);

	if (ret > 0)
		log_info("removed %d table%s named %s", ret, ret > 1 ? "s" : "", d->cfg.table);
	else if (ret == 0)
		log_info("no table named %s to remove", d->cfg.table);
	else
		log_err("removing table %s: %s%s%s%s", d->cfg.table, strerror(-ret),
			*dp_error(d->dp) ? ": " : "", dp_error(d->dp), needs_cap(ret));
	if (ret < 0 || !d->cfg.state_dir)
		return ret < 0 ? ret : 0;
	/* a stop for good: no later boot may route these services again */
	if ((ret = sc_remove(d->cfg.state_dir)) > 0)
		log_info("removed the state cache %s/" SC_FILE, d->cfg.state_dir);
	else if (ret < 0)
		log_err("removing the state cache %s/" SC_FILE ": %s", d->cfg.state_dir, strerror(-ret));
	return ret < 0 ? ret : 0;
}

static int sources_start(struct daemon *d)
{
	bool oneshot = d->cfg.once || d->cfg.dry_run;
	int ret;

	if (d->cfg.services_file)
		d->sources[d->n_sources++] = (struct source){
			.ops = &source_file_ops, .model = d->model,
			.conf.file = &d->cfg.file_src,
			.loop = oneshot ? NULL : d->loop, .ready = true,
		};
	if (d->cfg.etcd_flags.endpoints)
		d->sources[d->n_sources++] = (struct source){
			.ops = &source_etcd_ops, .model = d->model,
			.conf.etcd = &d->cfg.etcd_src,
			.loop = d->loop,
		};
	if (d->cfg.docker != DOCKER_OFF)
		d->sources[d->n_sources++] = (struct source){
			.ops = &source_docker_ops, .model = d->model,
			.conf.docker = &d->cfg.docker_src,
			.loop = d->loop,
		};
	for (size_t i = 0; i < d->n_sources; i++)
		if ((ret = d->sources[i].ops->start(&d->sources[i])) < 0) {
			/* a file that cannot be read is the operator's input */
			d->bad_input = d->sources[i].ops == &source_file_ops && ret != -ENOMEM;
			return ret;
		}
	return 0;
}

/* Two vipds on one table would each "repair" the other's changes forever:
 * the table is claimed for this process in this network namespace. */
static int claim_table(struct daemon *d)
{
	char name[64];
	pid_t holder;

	snprintf(name, sizeof(name), "vipd/table/%s", d->cfg.table);
	d->claim_fd = instance_claim(name, &holder);
	if (d->claim_fd >= 0)
		return 0;
	if (d->claim_fd == -EADDRINUSE && holder)
		log_err("table %s is held by another vipd (pid %d) in this network namespace; not starting (use --table for a second one)",
			d->cfg.table, (int)holder);
	else if (d->claim_fd == -EADDRINUSE)
		log_err("table %s is held by another vipd in this network namespace; not starting (use --table for a second one)",
			d->cfg.table);
	else
		log_err("claiming table %s: %s", d->cfg.table, strerror(-d->claim_fd));
	return d->claim_fd;
}

static void on_claimant(struct loop *l, int fd, uint32_t events, void *arg)
{
	instance_drain(fd);
}

/* ---- what /metrics, /healthz and /status are told --------------------------- */

static int vip_chain(void *arg, const struct vaddr *vip, const struct svc_port *sp, char *buf,
		     size_t len)
{
	return rec_vip_chain(arg, vip, sp, buf, len);
}

static void facts(void *arg, struct status_facts *s)
{
	struct daemon *d = arg;
	uint64_t pending = status_pending_since(&d->ctr, model_dirty_since(d->model));

	*s = (struct status_facts){
		.version = VIPD_VERSION, .node = d->cfg.node_name,
		.last_sync_ms = d->ctr.last_sync_us / 1000, .pending_since_ms = pending / 1000,
		.kernel_differs = d->ctr.kernel_differs, .stale = d->stale,
		.state_counts = d->stale ? d->boot_counts : NULL,
		.sources = d->sources, .n_sources = d->n_sources, .counters = &d->ctr,
		.model = d->stale ? d->boot : d->model, .bs = d->bs, .chain = vip_chain, .chain_arg = d->rec,
	};
}

static int run(struct daemon *d)
{
	bool oneshot = d->cfg.once || d->cfg.dry_run;
	int ret;

	if ((ret = sources_start(d)) < 0)
		return ret;
	if (!d->cfg.dry_run) {
		if ((ret = read_back(d, true)) < 0)
			return ret;
	}
	d->full = d->base = true;
	d->ctr.started_us = loop_now_us();
	if (d->claim_fd >= 0 && (ret = loop_fd_add(d->loop, d->claim_fd, EPOLLIN, on_claimant, d)) < 0)
		return ret;
	loop_before_sleep(d->loop, before_sleep, d);
	if (oneshot) {
		if (!loop_timer_add(d->loop, ONESHOT_WAIT_MS, oneshot_timeout, d))
			goto nomem;
	} else {
		if ((ret = signals_start(d)) < 0)
			return ret;
		if (d->cfg.metrics_len &&
		    !(d->status = status_server_open(d->loop, (const struct sockaddr *)&d->cfg.metrics_addr,
						     d->cfg.metrics_len, d->cfg.metrics, facts, d)))
			goto nomem;
		if (!loop_timer_add(d->loop, VERIFY_POLL_MS, verify_tick, d))
			goto nomem;
		if (!sources_ready(d))
			log_info("waiting for every source's full state before touching the kernel");
		/* tables present: a restart, and the kernel's state is the best */
		if (!sources_ready(d) && d->cache && d->cfg.source_wait && !rec_tables_present(d->rec) &&
		    !loop_timer_add(d->loop, (uint64_t)d->cfg.source_wait * 1000, boot_from_cache, d))
			goto nomem;
	}
	ret = loop_run(d->loop);
	return ret < 0 ? ret : -d->exit_code;
nomem:
	log_err("out of memory arming a timer or the --metrics listener");
	return -ENOMEM;
}

static void publish(void *arg, const char *service, const char *id, uint8_t source,
		    bool healthy, const char *reason, bool gone)
{
	struct daemon *d = arg;

	publisher_verdict(d->pub, service, id, source, healthy, reason, gone);
}

/* Backend states: checks run only in a daemon that keeps running (not
 * --once, --dry-run or --cleanup); the planner asks them every weight. */
static int backends_open(struct daemon *d)
{
	bool daemon = !d->cfg.once && !d->cfg.dry_run && !d->cfg.cleanup;
	bool etcd = d->cfg.etcd_flags.endpoints != NULL;
	struct bs_hooks hooks = { .drain = drain, .arg = d };
	int ret;

	d->bs_conf = (struct bs_conf){ .node = d->cfg.node_name, .follow_verdicts = etcd };
	/* with a registry and a name, this node's verdicts are others' */
	if (daemon && etcd && d->cfg.node_name) {
		d->pub_conf = (struct register_conf){
			.etcd = &d->cfg.etcd, .node = d->cfg.node_name, .ttl = d->cfg.register_ttl,
			.what = "health",
		};
		ret = publisher_open(d->loop, &d->pub_conf, d->cfg.docker == DOCKER_REGISTER, &d->pub);
		if (ret < 0)
			return ret;
		hooks.publish = publish;
	}
	if (!(d->bs = bs_alloc(daemon ? d->loop : NULL, d->model, &d->bs_conf, &hooks)))
		return -ENOMEM;
	rec_set_weigh(d->rec, bs_weight, d->bs);
	return 0;
}

int main(int argc, char **argv)
{
	struct daemon d = { .sig_fd = -1, .claim_fd = -1 };
	int ret = config_parse(&d.cfg, argc, argv);

	if (ret)
		return ret > 0 ? 0 : 2;
	vlog_threshold = d.cfg.verbose ? VLOG_DEBUG : VLOG_INFO;
	vlog_set_ident("vipd");
	vlog_set_format(d.cfg.log_format < 0 ? vlog_detect_format() : (enum vlog_format)d.cfg.log_format);
	dp_opts_of(&d.cfg, &d.dp_opts);
	d.loop = loop_alloc();
	d.model = model_alloc();
	d.rec = rec_alloc(d.cfg.node_name);
	if (!d.loop || !d.model || !d.rec) {
		log_err("out of memory");
		return 1;
	}
	rec_set_masq(d.rec, d.dp_opts.masq_all || d.dp_opts.has_cidr[0] || d.dp_opts.has_cidr[1]);
	if (!d.cfg.dry_run && claim_table(&d) < 0)
		return 1;
	if ((ret = backends_open(&d)) < 0) {
		log_err("backend states: %s", strerror(-ret));
		return 1;
	}
	if (!d.cfg.dry_run && (ret = ct_open(&d.ct)) < 0)
		log_warn("conntrack: %s: stale UDP flows will not be cleaned up", strerror(-ret));
	if (!d.cfg.dry_run && (ret = dp_open(d.cfg.table, &d.dp_opts, &d.dp)) < 0) {
		log_err("netlink: %s (vipd needs CAP_NET_ADMIN)", strerror(-ret));
		return 1;
	}
	if (d.cfg.state_dir && !d.cfg.cleanup && !(d.cache = sc_alloc(d.loop, d.cfg.state_dir, d.cfg.node_name,
						     d.model, bs_weight, d.bs))) {
		log_err("out of memory");
		return 1;
	}
	ret = d.cfg.cleanup ? cleanup(&d) : run(&d);
	status_server_close(d.status);
	sc_free(d.cache);
	for (size_t i = 0; i < d.n_sources; i++)
		d.sources[i].ops->stop(&d.sources[i]);
	if (d.sig_fd >= 0)
		close(d.sig_fd);
	if (d.claim_fd >= 0)
		close(d.claim_fd);
	dp_close(d.dp);
	ct_close(d.ct);
	changes_free(&d.aff_pending);
	bs_free(d.bs);
	publisher_close(d.pub);
	rec_free(d.rec);
	model_free(d.boot);
	model_free(d.model);
	loop_free(d.loop);
	config_fini(&d.cfg);
	return d.bad_input ? 2 : ret < 0 ? 1 : 0;
}

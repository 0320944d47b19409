/* fuse_server.c: request framing, the table-driven opcode dispatch, and reply encoding. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "fuse_internal.h"
#include "passthrough.h"

#define FUSE_DEFAULT_MAX_WRITE (1U << 20)
#define FUSE_MIN_MAX_WRITE 4096U
#define FUSE_LIMIT_MAX_WRITE (16U << 20)

enum {
	OP_MODIFIES = 1 << 0, /* refused with EROFS on a read-only share */
	OP_PRE_INIT = 1 << 1, /* allowed before INIT */
	OP_NO_REPLY = 1 << 2, /* the guest expects no reply, even for errors */
	/*
	 * Answered from the host's caches in microseconds, never waiting on a lock, another
	 * request or the guest: fit to be served on the vCPU thread that sent it.
	 */
	OP_QUICK = 1 << 3,
};

struct fuse_op {
	fuse_handler_fn fn;
	const char *name;
	uint32_t min_in; /* fixed argument bytes that must follow the header */
	uint32_t flags;
};

#define OP(code, handler, in_size, fl) [FUSE_##code] = { handler, #code, in_size, fl }

/* Every opcode Linux's virtiofs driver sends; the rest answer ENOSYS. */
static const struct fuse_op fuse_ops[] = {
	OP(LOOKUP, fuse_do_lookup, 0, OP_QUICK),
	OP(FORGET, fuse_do_forget, sizeof(struct fuse_forget_in), OP_NO_REPLY),
	OP(GETATTR, fuse_do_getattr, sizeof(struct fuse_getattr_in), OP_QUICK),
	OP(SETATTR, fuse_do_setattr, sizeof(struct fuse_setattr_in), OP_MODIFIES),
	OP(READLINK, fuse_do_readlink, 0, OP_QUICK),
	OP(SYMLINK, fuse_do_symlink, 0, OP_MODIFIES),
	OP(MKNOD, fuse_do_mknod, sizeof(struct fuse_mknod_in), OP_MODIFIES),
	OP(MKDIR, fuse_do_mkdir, sizeof(struct fuse_mkdir_in), OP_MODIFIES),
	OP(UNLINK, fuse_do_unlink, 0, OP_MODIFIES),
	OP(RMDIR, fuse_do_rmdir, 0, OP_MODIFIES),
	OP(RENAME, fuse_do_rename, sizeof(struct fuse_rename_in), OP_MODIFIES),
	OP(LINK, fuse_do_link, sizeof(struct fuse_link_in), OP_MODIFIES),
	OP(OPEN, fuse_do_open, sizeof(struct fuse_open_in), OP_QUICK),
	OP(READ, fuse_do_read, sizeof(struct fuse_read_in), OP_QUICK),
	OP(WRITE, fuse_do_write, sizeof(struct fuse_write_in), OP_MODIFIES),
	OP(STATFS, fuse_do_statfs, 0, OP_QUICK),
	OP(RELEASE, fuse_do_release, sizeof(struct fuse_release_in), OP_QUICK),
	OP(FSYNC, fuse_do_fsync, sizeof(struct fuse_fsync_in), 0),
	/* Without FUSE_SETXATTR_EXT (never offered) the guest sends the 8-byte form. */
	OP(SETXATTR, fuse_do_setxattr, FUSE_COMPAT_SETXATTR_IN_SIZE, OP_MODIFIES),
	OP(GETXATTR, fuse_do_getxattr, sizeof(struct fuse_getxattr_in), OP_QUICK),
	OP(LISTXATTR, fuse_do_listxattr, sizeof(struct fuse_getxattr_in), OP_QUICK),
	OP(REMOVEXATTR, fuse_do_removexattr, 0, OP_MODIFIES),
	OP(FLUSH, fuse_do_flush, sizeof(struct fuse_flush_in), OP_QUICK),
	/* Kernels before 7.36 send only major, minor, max_readahead and flags. */
	OP(INIT, fuse_do_init, offsetof(struct fuse_init_in, flags2), OP_PRE_INIT),
	OP(OPENDIR, fuse_do_opendir, sizeof(struct fuse_open_in), OP_QUICK),
	OP(READDIR, fuse_do_readdir, sizeof(struct fuse_read_in), OP_QUICK),
	OP(RELEASEDIR, fuse_do_releasedir, sizeof(struct fuse_release_in), OP_QUICK),
	OP(FSYNCDIR, fuse_do_fsyncdir, sizeof(struct fuse_fsync_in), 0),
	OP(GETLK, fuse_do_getlk, sizeof(struct fuse_lk_in), 0),
	OP(SETLK, fuse_do_setlk, sizeof(struct fuse_lk_in), 0),
	OP(SETLKW, fuse_do_setlkw, sizeof(struct fuse_lk_in), 0),
	OP(ACCESS, fuse_do_access, sizeof(struct fuse_access_in), 0),
	OP(CREATE, fuse_do_create, sizeof(struct fuse_create_in), OP_MODIFIES),
	OP(INTERRUPT, fuse_do_interrupt, sizeof(struct fuse_interrupt_in), OP_NO_REPLY),
	OP(DESTROY, fuse_do_destroy, 0, 0),
	OP(BATCH_FORGET, fuse_do_batch_forget, sizeof(struct fuse_batch_forget_in), OP_NO_REPLY),
	OP(FALLOCATE, fuse_do_fallocate, sizeof(struct fuse_fallocate_in), OP_MODIFIES),
	OP(READDIRPLUS, fuse_do_readdirplus, sizeof(struct fuse_read_in), OP_QUICK),
	OP(RENAME2, fuse_do_rename2, sizeof(struct fuse_rename2_in), OP_MODIFIES),
	OP(LSEEK, fuse_do_lseek, sizeof(struct fuse_lseek_in), OP_QUICK),
	OP(COPY_FILE_RANGE, fuse_do_copy_file_range, sizeof(struct fuse_copy_file_range_in),
	   OP_MODIFIES),
	OP(SETUPMAPPING, fuse_do_setupmapping, sizeof(struct fuse_setupmapping_in), 0),
	OP(REMOVEMAPPING, fuse_do_removemapping, sizeof(struct fuse_removemapping_in), 0),
	OP(SYNCFS, fuse_do_syncfs, sizeof(struct fuse_syncfs_in), 0),
};

static void count(_Atomic unsigned long long *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

void fuse_count_malformed(struct fuse_server *srv)
{
	count(&srv->st_malformed);
}

static int server_start_backend(struct fuse_server *srv, const struct fuse_server_config *cfg)
{
	struct pt_config pc = {
		.root = cfg->shared_dir,
		.readonly = cfg->readonly,
		.unchanging = cfg->cache == CACHE_IMMUTABLE,
		.max_lock_waiters = cfg->max_lock_waiters,
		.fd_budget = cfg->fd_budget,
	};
	int err;

	if (cfg->backend_ops) {
		srv->ops = cfg->backend_ops;
		srv->be = cfg->backend;
		return 0;
	}
	if (!cfg->shared_dir)
		return -EINVAL;
	err = pt_create(&pc, &srv->pt);
	if (err)
		return err;
	srv->ops = &pt_backend_ops;
	srv->be = srv->pt;
	return 0;
}

int fuse_server_create(const struct fuse_server_config *cfg, struct fuse_server **out)
{
	const char *name = cfg->tag ? cfg->tag : cfg->shared_dir;
	struct fuse_server *srv;
	int err;

	/* The config refuses it too; a tree the guest can change is not immutable. */
	if (cfg->cache == CACHE_IMMUTABLE && !cfg->readonly)
		return -EINVAL;
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	if (name)
		snprintf(srv->name, sizeof(srv->name), "%s", name);
	srv->readonly = cfg->readonly;
	srv->cache = cfg->cache;
	srv->writeback_offer = cfg->writeback;
	srv->max_write = cfg->max_write ? cfg->max_write : FUSE_DEFAULT_MAX_WRITE;
	if (srv->max_write < FUSE_MIN_MAX_WRITE)
		srv->max_write = FUSE_MIN_MAX_WRITE;
	if (srv->max_write > FUSE_LIMIT_MAX_WRITE)
		srv->max_write = FUSE_LIMIT_MAX_WRITE;
	srv->dax = cfg->dax;
	srv->dax_opaque = cfg->dax_opaque;
	err = pthread_mutex_init(&srv->init_lock, NULL);
	if (err) {
		free(srv);
		return -err;
	}
	err = server_start_backend(srv, cfg);
	if (err) {
		pthread_mutex_destroy(&srv->init_lock);
		free(srv);
		return err;
	}
	*out = srv;
	return 0;
}

void fuse_server_destroy(struct fuse_server *srv)
{
	char line[1024];

	if (!srv)
		return;
	if (srv->name[0]) {
		fuse_server_format_counts(srv, line, sizeof(line));
		log_info("virtio-fs %s: %s", srv->name, line);
		fuse_server_format_times(srv, line, sizeof(line));
		log_info("virtio-fs %s: %s", srv->name, line);
	}
	if (srv->pt)
		pt_destroy(srv->pt);
	pthread_mutex_destroy(&srv->init_lock);
	free(srv);
}

void fuse_server_cancel_waits(struct fuse_server *srv)
{
	if (srv->ops->interrupt)
		srv->ops->interrupt(srv->be, 0);
}

static unsigned op_slot(uint32_t opcode)
{
	return opcode < FUSE_OP_SLOTS ? opcode : 0;
}

/* Requests with a readable header: the sum of the per-opcode counts. */
static uint64_t requests_total(struct fuse_server *srv)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < FUSE_OP_SLOTS; i++)
		n += atomic_load_explicit(&srv->st_op[i], memory_order_relaxed);
	return n;
}

void fuse_server_get_stats(struct fuse_server *srv, struct fuse_server_stats *st)
{
	st->requests = requests_total(srv);
	st->malformed = atomic_load_explicit(&srv->st_malformed, memory_order_relaxed);
	st->enosys = atomic_load_explicit(&srv->st_enosys, memory_order_relaxed);
	st->errors = atomic_load_explicit(&srv->st_errors, memory_order_relaxed);
}

uint64_t fuse_server_op_count(struct fuse_server *srv, uint32_t opcode)
{
	return atomic_load_explicit(&srv->st_op[op_slot(opcode)], memory_order_relaxed);
}

/* Appends " NAME=n" at buf + used, within size; returns the length wanted so far. */
static size_t counts_add(char *buf, size_t size, size_t used, const char *name,
			 unsigned long long n)
{
	size_t at = used < size ? used : size;
	int k = snprintf(buf + at, size - at, " %s=%llu", name, n);

	return used + (k > 0 ? (size_t)k : 0);
}

/* Opcodes the guest may send that have no handler (answered ENOSYS), for the counts. */
static const char *unhandled_name(unsigned opcode)
{
	switch (opcode) {
	case FUSE_BMAP:
		return "BMAP";
	case FUSE_IOCTL:
		return "IOCTL";
	case FUSE_POLL:
		return "POLL";
	case FUSE_NOTIFY_REPLY:
		return "NOTIFY_REPLY";
	case FUSE_TMPFILE:
		return "TMPFILE";
	case 52:
		return "STATX"; /* 7.39, newer than our headers */
	default:
		return NULL;
	}
}

/* One figure per opcode for a report line; 0 leaves the opcode out. */
typedef unsigned long long (*op_figure_fn)(struct fuse_server *srv, unsigned slot);

static unsigned long long op_figure_count(struct fuse_server *srv, unsigned slot)
{
	return fuse_server_op_count(srv, slot);
}

/* Mean microseconds in the server (decode, backend, reply) per request of the opcode. */
static unsigned long long op_figure_mean_us(struct fuse_server *srv, unsigned slot)
{
	unsigned long long n = fuse_server_op_count(srv, slot);
	unsigned long long ns = atomic_load_explicit(&srv->st_ns[slot], memory_order_relaxed);

	return n ? (ns / n + 999) / 1000 : 0;
}

static const char *op_name(unsigned slot, char num[16])
{
	const char *name = slot < ARRAY_SIZE(fuse_ops) ? fuse_ops[slot].name : NULL;

	if (!name)
		name = unhandled_name(slot);
	if (!name) {
		snprintf(num, 16, "OP%u", slot);
		name = num;
	}
	return name;
}

/* "HEAD NAME=v ..." for every opcode with a figure, then OTHER (slot 0). */
static size_t format_ops(struct fuse_server *srv, char *buf, size_t size, const char *head,
			 op_figure_fn figure)
{
	size_t used = (size_t)snprintf(buf, size, "%s", head);
	unsigned long long other = figure(srv, 0);
	char num[16];

	for (unsigned i = 1; i < FUSE_OP_SLOTS; i++) {
		unsigned long long v = figure(srv, i);

		if (v)
			used = counts_add(buf, size, used, op_name(i, num), v);
	}
	if (other)
		used = counts_add(buf, size, used, "OTHER", other);
	return used;
}

size_t fuse_server_format_counts(struct fuse_server *srv, char *buf, size_t size)
{
	size_t used = format_ops(srv, buf, size, "requests", op_figure_count);

	return counts_add(buf, size, used, "total", requests_total(srv));
}

size_t fuse_server_format_times(struct fuse_server *srv, char *buf, size_t size)
{
	return format_ops(srv, buf, size, "microseconds in the server per request",
			  op_figure_mean_us);
}

uint64_t fuse_server_flags(struct fuse_server *srv)
{
	return atomic_load(&srv->flags);
}

/* Writes the reply header; returns the reply's total length. */
static size_t reply_finish(struct fuse_req *r, const struct iovec *out, unsigned nout, int err)
{
	struct fuse_out_header oh = { .unique = r->hdr.unique };
	struct fuse_cur c;

	if (err > 0 || err < -4095)
		err = -EIO; /* only negated errnos travel */
	if (err)
		count(&r->srv->st_errors);
	oh.error = err;
	oh.len = (uint32_t)(sizeof(oh) + (err ? 0 : r->out_len));
	fuse_cur_init(&c, out, nout, sizeof(oh));
	if (fuse_cur_write(&c, &oh, sizeof(oh)))
		return 0;
	return oh.len;
}

/* Checks the header against the bytes supplied and sets up the argument cursor. */
static int req_frame(struct fuse_req *r, const struct iovec *in, unsigned nin, size_t in_total)
{
	size_t ext = (size_t)r->hdr.total_extlen * 8;

	if (r->hdr.len < sizeof(r->hdr) || r->hdr.len > in_total)
		return -EINVAL;
	if (ext > r->hdr.len - sizeof(r->hdr))
		return -EINVAL;
	/* Extensions (never negotiated) sit at the end; arguments stop before them. */
	fuse_cur_init(&r->in, in, nin, r->hdr.len - ext);
	return fuse_cur_skip(&r->in, sizeof(r->hdr));
}

static const struct fuse_op *op_find(uint32_t opcode)
{
	if (opcode >= ARRAY_SIZE(fuse_ops) || !fuse_ops[opcode].fn)
		return NULL;
	return &fuse_ops[opcode];
}

/* Runs the checks every opcode shares, then the handler. */
static int req_dispatch(struct fuse_req *r, const struct fuse_op *op)
{
	struct fuse_server *srv = r->srv;

	if (!op) {
		count(&srv->st_enosys);
		return -ENOSYS;
	}
	if (!(op->flags & OP_PRE_INIT) && !atomic_load(&srv->initialized))
		return -EIO;
	if (r->in.left < op->min_in) {
		fuse_count_malformed(srv);
		return -EINVAL;
	}
	if ((op->flags & OP_MODIFIES) && srv->readonly)
		return -EROFS;
	return op->fn(r);
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* req_dispatch, adding its time to the opcode's total (vDSO clock: no system call). */
static int req_dispatch_timed(struct fuse_req *r, const struct fuse_op *op)
{
	uint64_t start = monotonic_ns();
	int err = req_dispatch(r, op);

	atomic_fetch_add_explicit(&r->srv->st_ns[op_slot(r->hdr.opcode)], monotonic_ns() - start,
				  memory_order_relaxed);
	return err;
}

size_t fuse_server_handle(struct fuse_server *srv, const struct iovec *in, unsigned nin,
			  const struct iovec *out, unsigned nout)
{
	struct fuse_req r = { .srv = srv };
	size_t in_total = fuse_iov_total(in, nin);
	const struct fuse_op *op;
	struct fuse_cur hc;
	int err;

	fuse_cur_init(&hc, in, nin, sizeof(r.hdr));
	if (fuse_cur_read(&hc, &r.hdr, sizeof(r.hdr))) {
		fuse_count_malformed(srv);
		return 0; /* no header, no unique to answer to */
	}
	count(&srv->st_op[op_slot(r.hdr.opcode)]); /* one atomic per request: they sum up */
	op = op_find(r.hdr.opcode);
	r.no_reply = op && (op->flags & OP_NO_REPLY);
	if (!r.no_reply && fuse_iov_total(out, nout) < sizeof(struct fuse_out_header)) {
		fuse_count_malformed(srv);
		return 0; /* nowhere to put a reply: do not act on it either */
	}
	r.ctx = (struct fuse_ctx){ r.hdr.uid, r.hdr.gid, r.hdr.pid, r.hdr.unique };
	fuse_cur_init(&r.out, out, nout, SIZE_MAX);
	/* FORGETs come without any writable buffer at all (virtio-fs gives them none). */
	err = r.no_reply ? 0 : fuse_cur_skip(&r.out, sizeof(struct fuse_out_header));
	if (!err)
		err = req_frame(&r, in, nin, in_total);
	if (err)
		fuse_count_malformed(srv);
	else
		err = req_dispatch_timed(&r, op);
	if (r.no_reply)
		return 0;
	return reply_finish(&r, out, nout, err);
}

bool fuse_request_is_quick(const struct iovec *in, unsigned nin)
{
	struct fuse_in_header hdr;
	const struct fuse_op *op;
	struct fuse_cur c;

	fuse_cur_init(&c, in, nin, sizeof(hdr));
	if (fuse_cur_read(&c, &hdr, sizeof(hdr)))
		return true; /* no header: dropped at once */
	op = op_find(hdr.opcode);
	return !op || (op->flags & OP_QUICK); /* unknown: ENOSYS at once */
}

/* --- argument and reply helpers shared by the ops_*.c files --- */

int fuse_req_fixed(struct fuse_req *r, void *dst, size_t len)
{
	int err = fuse_cur_read(&r->in, dst, len);

	if (err)
		fuse_count_malformed(r->srv);
	return err;
}

int fuse_req_name(struct fuse_req *r, char buf[FUSE_NAME_MAX + 1])
{
	size_t len;
	int err = fuse_cur_string(&r->in, buf, FUSE_NAME_MAX + 1, &len);

	if (!err)
		err = fuse_name_check(buf, len);
	if (err)
		fuse_count_malformed(r->srv);
	return err;
}

int fuse_req_end(struct fuse_req *r)
{
	if (r->in.left == 0)
		return 0;
	fuse_count_malformed(r->srv);
	return -EINVAL;
}

int fuse_req_last_name(struct fuse_req *r, char buf[FUSE_NAME_MAX + 1])
{
	int err = fuse_req_name(r, buf);

	return err ? err : fuse_req_end(r);
}

int fuse_reply_bytes(struct fuse_req *r, const void *body, size_t len)
{
	int err = fuse_cur_write(&r->out, body, len);

	if (!err)
		r->out_len += len;
	return err;
}

/*
 * Entry and attribute validity per cache mode. never: revalidate every time; auto: a
 * second; always: a day; immutable: a year, which is "until the guest evicts it" in
 * practice. (The guest reads the seconds as a signed 64-bit count and caps the jiffies,
 * so anything this size is safe; a wrapped negative one would mean "already expired".)
 */
uint64_t fuse_cache_timeout(const struct fuse_server *srv)
{
	switch (srv->cache) {
	case CACHE_NEVER:
		return 0;
	case CACHE_ALWAYS:
		return 86400;
	case CACHE_IMMUTABLE:
		return 365ULL * 86400;
	case CACHE_AUTO:
	default:
		return 1;
	}
}

static void fill_attr(const struct stat *st, struct fuse_attr *a)
{
	*a = (struct fuse_attr){
		.ino = st->st_ino,
		.size = (uint64_t)st->st_size,
		.blocks = (uint64_t)st->st_blocks,
		.atime = (uint64_t)st->st_atim.tv_sec,
		.mtime = (uint64_t)st->st_mtim.tv_sec,
		.ctime = (uint64_t)st->st_ctim.tv_sec,
		.atimensec = (uint32_t)st->st_atim.tv_nsec,
		.mtimensec = (uint32_t)st->st_mtim.tv_nsec,
		.ctimensec = (uint32_t)st->st_ctim.tv_nsec,
		.mode = st->st_mode,
		.nlink = (uint32_t)st->st_nlink,
		.uid = st->st_uid,
		.gid = st->st_gid,
		.rdev = (uint32_t)st->st_rdev,
		.blksize = (uint32_t)st->st_blksize,
	};
}

void fuse_fill_entry_out(struct fuse_server *srv, const struct fuse_entry *e,
			 struct fuse_entry_out *o)
{
	uint64_t t = fuse_cache_timeout(srv);

	memset(o, 0, sizeof(*o));
	o->nodeid = e->nodeid;
	o->generation = e->generation;
	o->entry_valid = t;
	if (e->nodeid) {
		o->attr_valid = t;
		fill_attr(&e->attr, &o->attr);
	}
}

int fuse_reply_entry(struct fuse_req *r, const struct fuse_entry *e)
{
	struct fuse_entry_out o;

	fuse_fill_entry_out(r->srv, e, &o);
	return fuse_reply_bytes(r, &o, sizeof(o));
}

int fuse_reply_attr(struct fuse_req *r, const struct stat *st)
{
	struct fuse_attr_out o = { .attr_valid = fuse_cache_timeout(r->srv) };

	fill_attr(st, &o.attr);
	return fuse_reply_bytes(r, &o, sizeof(o));
}

/*
 * FOPEN_* per cache mode. `never` wants FOPEN_DIRECT_IO, but before protocol 7.39
 * (Linux < 6.6, so Debian 12's 6.1) a direct-I/O file refuses shared mmap with ENODEV.
 * There we fall back to the page cache with zero timeouts and FUSE_AUTO_INVAL_DATA, which
 * revalidates attributes on every read and drops stale pages when mtime or size move.
 * `auto` keeps pages (and directory listings) across opens: FUSE_AUTO_INVAL_DATA drops
 * them when a refresh of the attributes, at most a second old, shows mtime or size moved,
 * so data is as fresh as the attributes are; reopening no longer rereads unchanged files.
 * `always` and `immutable` keep them; `immutable` also skips the FLUSH of every close
 * (its locks are the guest's own, fuse_session.c). With an open-less session the guest
 * never sends OPEN and applies these same defaults itself.
 */
int fuse_reply_open(struct fuse_req *r, uint64_t fh, bool dir)
{
	struct fuse_open_out o = { .fh = fh };
	uint64_t flags = atomic_load(&r->srv->flags);

	switch (r->srv->cache) {
	case CACHE_NEVER:
		if (!dir && (flags & FUSE_DIRECT_IO_ALLOW_MMAP))
			o.open_flags = FOPEN_DIRECT_IO | FOPEN_PARALLEL_DIRECT_WRITES;
		break;
	case CACHE_IMMUTABLE:
		o.open_flags = FOPEN_KEEP_CACHE | (dir ? FOPEN_CACHE_DIR : FOPEN_NOFLUSH);
		break;
	case CACHE_AUTO:
	case CACHE_ALWAYS:
	default:
		o.open_flags = FOPEN_KEEP_CACHE | (dir ? FOPEN_CACHE_DIR : 0);
		break;
	}
	return fuse_reply_bytes(r, &o, sizeof(o));
}

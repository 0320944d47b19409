/* fuse_session.c: session opcodes: INIT negotiation, DESTROY, INTERRUPT, SYNCFS and the DAX hook. */
#include <errno.h>
#include "fuse_internal.h"

#define FUSE_MIN_MINOR 31 /* SETUPMAPPING, REMOVEMAPPING and map_alignment arrived in 7.31 */
#define FUSE_MAX_BACKGROUND 64
#define FUSE_CONGESTION_THRESHOLD 48
#define FUSE_PAGE_SIZE 4096U
#define FUSE_DAX_MAX_ALIGNMENT 21 /* the guest fails the connection above 2 MiB */

/*
 * INIT flags, decided one by one against what Linux 6.1 (protocol 7.38, Debian 12) reads
 * in fs/fuse/inode.c process_init_reply, and what fs/fuse/virtio_fs.c changes about it.
 * The goal for the caching modes is the fewest round trips the promise allows.
 *
 * Offered in every mode:
 *   ASYNC_READ       readahead and concurrent READs of one file.
 *   BIG_WRITES, MAX_PAGES  READ/WRITE up to max_write (1 MiB, 256 pages); virtio_fs caps
 *                    max_pages at the queue size less headers, 1024 here, so 256 holds.
 *   ASYNC_DIO        direct I/O split into concurrent requests.
 *   PARALLEL_DIROPS  LOOKUP and READDIR of one directory need not wait for each other
 *                    (the backend has no per-directory state they share but the handle).
 *   HANDLE_KILLPRIV_V2  the guest says when to clear suid/sgid; it also sets SB_NOSEC,
 *                    which spares a security.capability GETXATTR before each write.
 *   INIT_EXT         flags2 (the bits above 31).
 * Per mode (never / auto / always / immutable):
 *   POSIX_LOCKS, FLOCK_LOCKS  y y y -: locks the host and other guests see. Immutable
 *                    leaves locks to the guest kernel (nobody can change the tree, so a
 *                    host-wide lock protects nothing), which is what lets it skip FLUSH.
 *   ATOMIC_O_TRUNC   y y y -: immutable may run open-less (below), where an O_TRUNC open
 *                    would only shrink the guest's idea of the file; without the flag the
 *                    VFS sends SETATTR, which answers EROFS as it should.
 *   AUTO_INVAL_DATA  y y - -: drop cached pages when refreshed attributes show a new mtime
 *                    or size; with `always` and `immutable` attributes are not refreshed.
 *   DO_READDIRPLUS   - y y y: a listing returns each entry's attributes and node ID too,
 *                    filling the guest's dentry and inode caches in the same round trip
 *                    (with `never` they would be stale at once).
 *   READDIRPLUS_AUTO - y - -: the guest picks plain READDIR when it sees nobody stat the
 *                    entries. Each READDIR reply is one page, so a large directory takes
 *                    several; with AUTO only the first is PLUS unless a lookup meanwhile
 *                    advised it. The caching modes always want the entries: `ls -l` then
 *                    sends no LOOKUP at all.
 *   CACHE_SYMLINKS   - y y y: symlink targets in the page cache, no READLINK each time.
 *   DIRECT_IO_ALLOW_MMAP (7.39, not in 6.1)  y - - -: see fuse_reply_open.
 * Not flags, but the kernel offers them and they save the most for `immutable`:
 *   NO_OPEN_SUPPORT, NO_OPENDIR_SUPPORT: answered ENOSYS once, OPEN and OPENDIR are never
 *                    sent again, nor RELEASE/RELEASEDIR; files get FOPEN_KEEP_CACHE and
 *                    directories FOPEN_CACHE_DIR. READ and READDIR then carry fh 0, and
 *                    the server opens the node for that one request (ops_file.c).
 *                    FLUSH and FSYNC answer ENOSYS too, so the guest stops sending them.
 *                    Reading a cached-name file costs one round trip: READ.
 * Otherwise:
 *   WRITEBACK_CACHE  only when configured and writable.
 *   MAP_ALIGNMENT    with a DAX window (SETUPMAPPING/REMOVEMAPPING).
 * Never offered: SPLICE_* (no pipes here), DONT_MASK (the guest applies the umask),
 * EXPORT_SUPPORT (no LOOKUP of "." / ".."), POSIX_ACL (it adds GETXATTR round trips to
 * permission checks; and so never ALLOW_IDMAP), SETXATTR_EXT, SECURITY_CTX, SUBMOUNTS,
 * HAS_INODE_DAX (per-inode DAX: the mount option decides), IOCTL_DIR, ABORT_ERROR
 * (/dev/fuse only), HANDLE_KILLPRIV (v1: v2 is the one where the guest says when),
 * EXPLICIT_INVAL_DATA (AUTO_INVAL_DATA or nothing), HAS_EXPIRE_ONLY (no notifications:
 * virtio-fs has no notification queue here). BATCH_FORGET needs no flag: Linux's virtiofs
 * sends single FORGETs on the hiprio queue, and both are handled (ops_inode.c).
 * The guest mounts with default_permissions (virtio_fs.c), so permission checks use the
 * cached attributes and never send ACCESS. A read-only share should be mounted read-only
 * in the guest too (microvm-init does): on a writable mount every READ and READDIR marks
 * the atime stale, and the next stat of that inode sends a GETATTR for it.
 */
static uint64_t init_wanted(const struct fuse_server *srv)
{
	uint64_t f = FUSE_ASYNC_READ | FUSE_BIG_WRITES | FUSE_ASYNC_DIO | FUSE_PARALLEL_DIROPS |
		     FUSE_HANDLE_KILLPRIV_V2 | FUSE_MAX_PAGES | FUSE_INIT_EXT;

	if (srv->cache != CACHE_IMMUTABLE)
		f |= FUSE_POSIX_LOCKS | FUSE_FLOCK_LOCKS | FUSE_ATOMIC_O_TRUNC;
	if (srv->cache == CACHE_NEVER || srv->cache == CACHE_AUTO)
		f |= FUSE_AUTO_INVAL_DATA;
	if (srv->cache != CACHE_NEVER)
		f |= FUSE_DO_READDIRPLUS | FUSE_CACHE_SYMLINKS;
	if (srv->cache == CACHE_AUTO)
		f |= FUSE_READDIRPLUS_AUTO;
	if (srv->cache == CACHE_NEVER)
		f |= FUSE_DIRECT_IO_ALLOW_MMAP; /* see fuse_reply_open */
	if (srv->writeback_offer && !srv->readonly)
		f |= FUSE_WRITEBACK_CACHE;
	if (srv->dax)
		f |= FUSE_MAP_ALIGNMENT;
	return f;
}

static void init_fill_reply(const struct fuse_server *srv, const struct fuse_init_in *in,
			    uint64_t agreed, struct fuse_init_out *o)
{
	*o = (struct fuse_init_out){
		.major = FUSE_KERNEL_VERSION,
		.minor = in->minor < FUSE_KERNEL_MINOR_VERSION ? in->minor
							       : FUSE_KERNEL_MINOR_VERSION,
		.max_readahead = in->max_readahead,
		.flags = (uint32_t)agreed,
		.max_background = FUSE_MAX_BACKGROUND,
		.congestion_threshold = FUSE_CONGESTION_THRESHOLD,
		.max_write = srv->max_write,
		.time_gran = 1,
		.max_pages = (uint16_t)(srv->max_write / FUSE_PAGE_SIZE),
	};
	if (agreed & FUSE_INIT_EXT)
		o->flags2 = (uint32_t)(agreed >> 32);
	if (agreed & FUSE_MAP_ALIGNMENT)
		o->map_alignment = srv->dax->map_alignment;
}

/* Starts (or restarts, after a guest that re-INITs without DESTROY) the backend session. */
static int init_session(struct fuse_server *srv, uint64_t agreed, uint64_t offered)
{
	bool immutable = srv->cache == CACHE_IMMUTABLE;
	struct fuse_conn_params cp = {
		.writeback = agreed & FUSE_WRITEBACK_CACHE,
		.killpriv_v2 = agreed & FUSE_HANDLE_KILLPRIV_V2,
		.flock = agreed & FUSE_FLOCK_LOCKS,
		.posix_locks = agreed & FUSE_POSIX_LOCKS,
	};
	int err = 0;

	pthread_mutex_lock(&srv->init_lock);
	if (atomic_load(&srv->initialized) && srv->ops->destroy)
		srv->ops->destroy(srv->be);
	atomic_store(&srv->initialized, false);
	if (srv->ops->init)
		err = srv->ops->init(srv->be, &cp);
	if (!err) {
		atomic_store(&srv->flags, agreed);
		atomic_store(&srv->open_less, immutable && (offered & FUSE_NO_OPEN_SUPPORT));
		atomic_store(&srv->opendir_less, immutable && (offered & FUSE_NO_OPENDIR_SUPPORT));
		atomic_store(&srv->initialized, true);
	}
	pthread_mutex_unlock(&srv->init_lock);
	return err;
}

int fuse_do_init(struct fuse_req *r)
{
	struct fuse_server *srv = r->srv;
	struct fuse_init_in in = { 0 };
	struct fuse_init_out o;
	size_t n = r->in.left < sizeof(in) ? r->in.left : sizeof(in);
	uint64_t offered;
	int err;

	if (fuse_req_fixed(r, &in, n))
		return -EINVAL;
	if (in.major < FUSE_KERNEL_VERSION)
		return -EPROTO;
	if (in.major > FUSE_KERNEL_VERSION) {
		/* Tell a newer client our version and let it decide; no session starts. */
		struct fuse_init_out v = { .major = FUSE_KERNEL_VERSION,
					   .minor = FUSE_KERNEL_MINOR_VERSION };
		return fuse_reply_bytes(r, &v, sizeof(v));
	}
	if (in.minor < FUSE_MIN_MINOR)
		return -EPROTO;
	offered = in.flags;
	if ((in.flags & FUSE_INIT_EXT) && n >= offsetof(struct fuse_init_in, unused))
		offered |= (uint64_t)in.flags2 << 32;
	if (srv->dax && srv->dax->map_alignment > FUSE_DAX_MAX_ALIGNMENT)
		offered &= ~(uint64_t)FUSE_MAP_ALIGNMENT;
	uint64_t agreed = offered & init_wanted(srv);
	err = init_session(srv, agreed, offered);
	if (err)
		return err;
	init_fill_reply(srv, &in, agreed, &o);
	return fuse_reply_bytes(r, &o, sizeof(o));
}

int fuse_do_destroy(struct fuse_req *r)
{
	struct fuse_server *srv = r->srv;

	pthread_mutex_lock(&srv->init_lock);
	if (atomic_load(&srv->initialized) && srv->ops->destroy)
		srv->ops->destroy(srv->be);
	atomic_store(&srv->initialized, false);
	atomic_store(&srv->flags, 0);
	atomic_store(&srv->open_less, false);
	atomic_store(&srv->opendir_less, false);
	pthread_mutex_unlock(&srv->init_lock);
	return 0;
}

/* Linux's virtiofs never sends INTERRUPT (see fs/fuse/virtio_fs.c); /dev/fuse does. */
int fuse_do_interrupt(struct fuse_req *r)
{
	struct fuse_interrupt_in in;

	if (fuse_req_fixed(r, &in, sizeof(in)))
		return -EINVAL;
	/* unique 0 is never a request; the backend reads it as "everyone". */
	if (in.unique != 0 && r->srv->ops->interrupt)
		r->srv->ops->interrupt(r->srv->be, in.unique);
	return 0;
}

int fuse_do_syncfs(struct fuse_req *r)
{
	struct fuse_server *srv = r->srv;
	int err = srv->dax && srv->dax->sync ? srv->dax->sync(srv->dax_opaque, 0) : 0;

	/* msync of every DAX mapping first: stores the guest made through the window. */
	return err ? err : FUSE_CALL(r, syncfs, &r->ctx, r->hdr.nodeid);
}

int fuse_server_map_open(struct fuse_server *srv, uint64_t nodeid, bool writable, int *fd)
{
	if (!srv->ops->map_open)
		return -ENOSYS;
	return srv->ops->map_open(srv->be, nodeid, writable, fd);
}

int fuse_do_setupmapping(struct fuse_req *r)
{
	struct fuse_setupmapping_in in;
	struct fuse_server *srv = r->srv;

	if (!srv->dax || !srv->dax->setup)
		return -ENOSYS;
	if (fuse_req_fixed(r, &in, sizeof(in)))
		return -EINVAL;
	if ((in.flags & FUSE_SETUPMAPPING_FLAG_WRITE) && srv->readonly)
		return -EROFS;
	return srv->dax->setup(srv->dax_opaque, &r->ctx, r->hdr.nodeid, &in);
}

int fuse_do_removemapping(struct fuse_req *r)
{
	struct fuse_removemapping_one v[FUSE_REMOVEMAPPING_MAX];
	struct fuse_removemapping_in in;
	struct fuse_server *srv = r->srv;

	if (!srv->dax || !srv->dax->remove)
		return -ENOSYS;
	if (fuse_req_fixed(r, &in, sizeof(in)))
		return -EINVAL;
	if (in.count == 0 || in.count > FUSE_REMOVEMAPPING_MAX)
		return -EINVAL;
	if (fuse_req_fixed(r, v, in.count * sizeof(v[0])))
		return -EINVAL;
	return srv->dax->remove(srv->dax_opaque, &r->ctx, v, in.count);
}

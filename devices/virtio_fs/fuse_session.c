/* fuse_session.c: session opcodes: INIT negotiation, DESTROY, INTERRUPT, SYNCFS and the DAX hook. */
#include <errno.h>
#include "fuse_internal.h"

#define FUSE_MIN_MINOR 31 /* SETUPMAPPING, REMOVEMAPPING and map_alignment arrived in 7.31 */
#define FUSE_MAX_BACKGROUND 64
#define FUSE_CONGESTION_THRESHOLD 48
#define FUSE_PAGE_SIZE 4096U
#define FUSE_DAX_MAX_ALIGNMENT 21 /* the guest fails the connection above 2 MiB */

/*
 * Only what is implemented. Never offered: SPLICE_* (no pipes here), DONT_MASK (the guest
 * applies the umask), EXPORT_SUPPORT (no LOOKUP of "." / ".."), POSIX_ACL and so never
 * ALLOW_IDMAP, SETXATTR_EXT, SECURITY_CTX, SUBMOUNTS, HAS_INODE_DAX, IOCTL_DIR,
 * HANDLE_KILLPRIV (v1: v2 is the one where the guest says when to kill).
 */
static uint64_t init_wanted(const struct fuse_server *srv)
{
	uint64_t f = FUSE_ASYNC_READ | FUSE_POSIX_LOCKS | FUSE_FLOCK_LOCKS | FUSE_ATOMIC_O_TRUNC |
		     FUSE_BIG_WRITES | FUSE_ASYNC_DIO | FUSE_PARALLEL_DIROPS |
		     FUSE_HANDLE_KILLPRIV_V2 | FUSE_MAX_PAGES | FUSE_INIT_EXT;

	if (srv->cache != CACHE_ALWAYS)
		f |= FUSE_AUTO_INVAL_DATA; /* drop cached pages when host mtime/size change */
	if (srv->cache != CACHE_NEVER)
		f |= FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO | FUSE_CACHE_SYMLINKS;
	else
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
static int init_session(struct fuse_server *srv, uint64_t agreed)
{
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
	err = init_session(srv, agreed);
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

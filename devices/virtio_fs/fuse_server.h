/* fuse_server.h: the FUSE protocol server: raw request bytes in, reply bytes out, no virtqueues. */
#ifndef MICROVM_FUSE_SERVER_H
#define MICROVM_FUSE_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include "../../vmm/config.h"
#include "../../vmm/util.h"
#include "fuse_backend.h"

struct fuse_server;

/*
 * The DAX mapper hook (the DAX issue fills it in). With it set and the guest asking for
 * FUSE_MAP_ALIGNMENT, INIT answers map_alignment; SETUPMAPPING/REMOVEMAPPING are decoded,
 * bounded and handed over. Without it those opcodes answer ENOSYS.
 */
#define FUSE_REMOVEMAPPING_MAX 256U /* <linux/fuse.h> spells this with PAGE_SIZE (4096/16) */
struct fuse_dax_ops {
	uint16_t map_alignment; /* log2 of the mapping granule the mapper needs, at most 21 */
	int (*setup)(void *dax, const struct fuse_ctx *c, uint64_t nodeid,
		     const struct fuse_setupmapping_in *in);
	int (*remove)(void *dax, const struct fuse_ctx *c, const struct fuse_removemapping_one *v,
		      uint32_t count);
	/* Optional: flush (msync) what is mapped of nodeid, or of every file when nodeid is 0;
	 * FSYNC and SYNCFS call it before the backend's own sync. */
	int (*sync)(void *dax, uint64_t nodeid);
};

struct fuse_server_config {
	const char *shared_dir; /* passthrough root; unused when backend_ops is set */
	/* The share's name in the request counts logged at destroy (log_info, so with -v);
	 * NULL: shared_dir; neither: not logged. */
	const char *tag;
	bool readonly;		/* every modifying opcode answers EROFS */
	/* Timeouts, INIT and FOPEN_* flags (fuse_session.c, fuse_server.c). CACHE_IMMUTABLE
	 * needs readonly: fuse_server_create answers EINVAL otherwise. */
	enum cache_mode cache;
	bool writeback;		/* offer FUSE_WRITEBACK_CACHE (guest-side write caching) */
	uint32_t max_write;	/* largest READ/WRITE payload the caller's buffers carry; 0: 1 MiB */
	/* SETLKW requests allowed to wait at once; keep it below the workers serving one queue,
	 * or waiters can occupy them all while the unlock queues behind. 0: 2. */
	unsigned max_lock_waiters;
	unsigned fd_budget;	/* inode descriptors kept open; 0: 3/4 of RLIMIT_NOFILE */
	const struct fuse_backend_ops *backend_ops; /* NULL: passthrough on shared_dir */
	void *backend;
	const struct fuse_dax_ops *dax; /* NULL: no DAX */
	void *dax_opaque;
};

/* Counters, readable at any time (relaxed atomics). */
struct fuse_server_stats {
	uint64_t requests;  /* requests with a readable header */
	uint64_t malformed; /* header or argument lengths that lied, bad names */
	uint64_t enosys;    /* unknown or unimplemented opcodes */
	uint64_t errors;    /* error replies of any kind */
};

/* Creates the server (and, without backend_ops, the passthrough backend on shared_dir). */
MUST_CHECK int fuse_server_create(const struct fuse_server_config *cfg, struct fuse_server **out);
/*
 * Is this request (its driver-readable iovecs) answered without waiting: a lookup, stat,
 * open, read, listing or release, never a lock wait, a write or an fsync? Such requests
 * may be served on the guest's vCPU thread (devices/virtio_fs/vcpu_serve.c).
 */
bool fuse_request_is_quick(const struct iovec *in, unsigned nin);
/* Only once no thread is inside fuse_server_handle any more. */
void fuse_server_destroy(struct fuse_server *srv);

/*
 * in: the request's driver-readable iovecs; out: the device-writable iovecs. Returns
 * bytes written into out (0 for FORGET/BATCH_FORGET/no-reply), never fails outright:
 * malformed input -> an error reply when a header is readable, else 0.
 * Safe to call from several threads at once.
 */
size_t fuse_server_handle(struct fuse_server *srv, const struct iovec *in, unsigned nin,
			  const struct iovec *out, unsigned nout);

/* Wakes every request waiting for a lock (they answer EINTR); call before joining workers. */
void fuse_server_cancel_waits(struct fuse_server *srv);

void fuse_server_get_stats(struct fuse_server *srv, struct fuse_server_stats *st);

/* Requests with this opcode so far (those with a readable header); for tests. */
uint64_t fuse_server_op_count(struct fuse_server *srv, uint32_t opcode);
/*
 * The request counts as one line, "requests LOOKUP=3 GETATTR=1 ... total=N", opcodes in
 * numeric order, those never seen left out (unknown opcodes as OTHER=n). Truncated to
 * size; returns the length it wanted, as snprintf does.
 */
size_t fuse_server_format_counts(struct fuse_server *srv, char *buf, size_t size);
/* Same layout: mean microseconds each opcode's requests spent in the server (-v report). */
size_t fuse_server_format_times(struct fuse_server *srv, char *buf, size_t size);

/*
 * For the DAX mapper's setup hook: a new descriptor of regular file nodeid through the
 * backend's map_open (ENOSYS without one); the caller mmaps and closes it.
 */
MUST_CHECK int fuse_server_map_open(struct fuse_server *srv, uint64_t nodeid, bool writable,
				    int *fd);

/* The FUSE flags INIT agreed (0 before INIT); for tests and diagnostics. */
uint64_t fuse_server_flags(struct fuse_server *srv);

#endif

/* fuse_internal.h: what the FUSE server's files share: the request, the iovec cursor, reply helpers. */
#ifndef MICROVM_FUSE_INTERNAL_H
#define MICROVM_FUSE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include "fuse_server.h"

struct pt;

#ifndef FUSE_DIRECT_IO_ALLOW_MMAP
#define FUSE_DIRECT_IO_ALLOW_MMAP (1ULL << 36) /* protocol 7.39, newer than our headers */
#endif

/* A bounded cursor over iovecs: never reads or writes past `left` bytes. */
struct fuse_cur {
	const struct iovec *iov;
	unsigned niov;
	size_t off;  /* offset into iov[0] */
	size_t left; /* bytes still allowed */
};

/* Saturating sum of iovec lengths. */
size_t fuse_iov_total(const struct iovec *iov, unsigned n);
/* Starts a cursor over at most `bound` bytes of the iovecs (fewer if they hold fewer). */
void fuse_cur_init(struct fuse_cur *c, const struct iovec *iov, unsigned n, size_t bound);
/* Copies len bytes out; -EINVAL (nothing consumed) when fewer are left. */
MUST_CHECK int fuse_cur_read(struct fuse_cur *c, void *dst, size_t len);
/* Copies len bytes in; -EOVERFLOW (nothing written) when fewer are left. */
MUST_CHECK int fuse_cur_write(struct fuse_cur *c, const void *src, size_t len);
MUST_CHECK int fuse_cur_skip(struct fuse_cur *c, size_t len);
/*
 * Reads a NUL-terminated string into buf (size bytes, terminator included); *len gets the
 * length without NUL. -EINVAL when the bytes end before a NUL, -ENAMETOOLONG when buf is
 * too small.
 */
MUST_CHECK int fuse_cur_string(struct fuse_cur *c, char *buf, size_t size, size_t *len);
/*
 * Describes the next len bytes as at most max iovec slices in dst (*count set), and
 * consumes what it described. Returns the bytes described: less than len when the cursor
 * ends or max slices are used up.
 */
size_t fuse_cur_slices(struct fuse_cur *c, size_t len, struct iovec *dst, unsigned max,
		       unsigned *count);

/* Requests counted per opcode: FUSE opcodes below this, everything else in slot 0. */
#define FUSE_OP_SLOTS 64U

struct fuse_server {
	const struct fuse_backend_ops *ops;
	void *be;
	struct pt *pt; /* the passthrough backend we own, or NULL */
	const struct fuse_dax_ops *dax;
	void *dax_opaque;
	bool readonly;
	enum cache_mode cache;
	bool writeback_offer;
	uint32_t max_write;
	char name[64]; /* for the request counts at destroy; empty: not logged */
	pthread_mutex_t init_lock; /* serialises INIT and DESTROY against each other */
	/* Written by INIT/DESTROY under init_lock, read lock-free by every request. */
	_Atomic bool initialized;
	_Atomic uint64_t flags; /* FUSE_* flags agreed at INIT */
	/* Open-less session (cache: immutable, see fuse_session.c): the guest sends no
	 * OPEN/OPENDIR and its requests carry fh 0. Written with `flags`. */
	_Atomic bool open_less, opendir_less;
	_Atomic unsigned long long st_malformed, st_enosys, st_errors;
	_Atomic unsigned long long st_op[FUSE_OP_SLOTS]; /* requests by opcode, see op_slot */
	_Atomic unsigned long long st_ns[FUSE_OP_SLOTS]; /* their time in req_dispatch, ns */
};

struct fuse_req {
	struct fuse_server *srv;
	struct fuse_in_header hdr;
	struct fuse_ctx ctx;
	struct fuse_cur in;  /* the arguments after the header, bounded by hdr.len */
	struct fuse_cur out; /* the reply body, after room for struct fuse_out_header */
	size_t out_len;	     /* body bytes written so far */
	bool no_reply;	     /* FORGET & co: the guest expects no reply */
};

typedef int (*fuse_handler_fn)(struct fuse_req *r);

/* Calls a backend op, or answers ENOSYS when the backend leaves it NULL. */
#define FUSE_CALL(r, op, ...) \
	((r)->srv->ops->op ? (r)->srv->ops->op((r)->srv->be, __VA_ARGS__) : -ENOSYS)

/* Reply body helpers: each appends to r->out; -EOVERFLOW when the guest gave too little room. */
MUST_CHECK int fuse_reply_bytes(struct fuse_req *r, const void *body, size_t len);
MUST_CHECK int fuse_reply_entry(struct fuse_req *r, const struct fuse_entry *e);
MUST_CHECK int fuse_reply_attr(struct fuse_req *r, const struct stat *st);
MUST_CHECK int fuse_reply_open(struct fuse_req *r, uint64_t fh, bool dir);
void fuse_fill_entry_out(struct fuse_server *srv, const struct fuse_entry *e,
			 struct fuse_entry_out *o);
/* Entry and attribute validity in seconds for the server's cache mode (fuse_server.c). */
uint64_t fuse_cache_timeout(const struct fuse_server *srv);

/*
 * Open-less sessions: a handle of the node for one request (files read-only), opened
 * through the backend and released by fuse_temp_close. Only for requests that carry fh 0.
 */
MUST_CHECK int fuse_temp_open(struct fuse_req *r, bool dir, uint64_t *fh);
void fuse_temp_close(struct fuse_req *r, bool dir, uint64_t fh);

/* Argument helpers: the next name (one safe component) or bounded string from r->in. */
MUST_CHECK int fuse_req_name(struct fuse_req *r, char buf[FUSE_NAME_MAX + 1]);
MUST_CHECK int fuse_req_fixed(struct fuse_req *r, void *dst, size_t len);
/*
 * Like fuse_req_name for a name that ends the arguments: bytes after its NUL mean the name
 * had a NUL inside (FUSE strings carry no length of their own), and answer EINVAL.
 */
MUST_CHECK int fuse_req_last_name(struct fuse_req *r, char buf[FUSE_NAME_MAX + 1]);
/* EINVAL when argument bytes are left over. */
MUST_CHECK int fuse_req_end(struct fuse_req *r);

/* Counts a malformed request (bad lengths or names). */
void fuse_count_malformed(struct fuse_server *srv);

/* Handlers, one per opcode, grouped by file. */
int fuse_do_init(struct fuse_req *r);
int fuse_do_destroy(struct fuse_req *r);
int fuse_do_interrupt(struct fuse_req *r);
int fuse_do_syncfs(struct fuse_req *r);
int fuse_do_setupmapping(struct fuse_req *r);
int fuse_do_removemapping(struct fuse_req *r);

int fuse_do_lookup(struct fuse_req *r);
int fuse_do_forget(struct fuse_req *r);
int fuse_do_batch_forget(struct fuse_req *r);
int fuse_do_getattr(struct fuse_req *r);
int fuse_do_setattr(struct fuse_req *r);
int fuse_do_readlink(struct fuse_req *r);
int fuse_do_symlink(struct fuse_req *r);
int fuse_do_mknod(struct fuse_req *r);
int fuse_do_mkdir(struct fuse_req *r);
int fuse_do_unlink(struct fuse_req *r);
int fuse_do_rmdir(struct fuse_req *r);
int fuse_do_rename(struct fuse_req *r);
int fuse_do_rename2(struct fuse_req *r);
int fuse_do_link(struct fuse_req *r);
int fuse_do_statfs(struct fuse_req *r);
int fuse_do_access(struct fuse_req *r);

int fuse_do_open(struct fuse_req *r);
int fuse_do_create(struct fuse_req *r);
int fuse_do_read(struct fuse_req *r);
int fuse_do_write(struct fuse_req *r);
int fuse_do_flush(struct fuse_req *r);
int fuse_do_release(struct fuse_req *r);
int fuse_do_fsync(struct fuse_req *r);
int fuse_do_fallocate(struct fuse_req *r);
int fuse_do_lseek(struct fuse_req *r);
int fuse_do_copy_file_range(struct fuse_req *r);
int fuse_do_getlk(struct fuse_req *r);
int fuse_do_setlk(struct fuse_req *r);
int fuse_do_setlkw(struct fuse_req *r);

int fuse_do_opendir(struct fuse_req *r);
int fuse_do_readdir(struct fuse_req *r);
int fuse_do_readdirplus(struct fuse_req *r);
int fuse_do_releasedir(struct fuse_req *r);
int fuse_do_fsyncdir(struct fuse_req *r);

int fuse_do_setxattr(struct fuse_req *r);
int fuse_do_getxattr(struct fuse_req *r);
int fuse_do_listxattr(struct fuse_req *r);
int fuse_do_removexattr(struct fuse_req *r);

#endif

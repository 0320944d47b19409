/* fuzz_fuse.c: libFuzzer target: FUSE requests as chains, through the server to the passthrough. */
/*
 * Input: a 10-byte header, then records.
 *   [0]     bits 0-1 cache mode, bit 2 read-only share (implied by CACHE_IMMUTABLE),
 *           bit 3 offer writeback, bit 4 a DAX hook, bit 5 a 16-descriptor inode budget
 *           (eviction), bit 6 max_write 4 KiB, bit 7 no INIT from the harness (the input
 *           may send its own)
 *   [1..8]  the INIT flags the harness offers (flags | flags2 << 32)
 *   [9]     the DAX hook's map_alignment
 *   record: u16 request bytes, u16 reply room, u8 segments (bits 0-1: request iovecs - 1,
 *           bits 2-3: reply iovecs - 1), then the request bytes, header included: its
 *           lengths may lie. Each iovec is its own heap block, so AddressSanitizer sees
 *           an access one byte past any of them.
 * Each input gets a fresh server on a share that holds a few files, a directory, a FIFO
 * and symlinks that point out of it, into a sibling directory with a canary file. After
 * each input: no descriptor may be left open, the canary and the parent must be untouched
 * (the backend must stay beneath the share), and a share the input may have modified is
 * rebuilt, so every input starts from the same tree and a crash replays from its file.
 * Host safety: CAP_MKNOD is dropped (no device nodes) and RLIMIT_FSIZE caps file sizes.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>
#include "../../devices/virtio_fs/fuse_server.h"

#define FZ_HDR 10U
#define FZ_REC 5U
#define FZ_MAX_REQUESTS 64U
#define FZ_MAX_SEGS 4U
#define FZ_FILE_LIMIT (8UL << 20)
#define FZ_CANCEL_NS 5000000L /* a SETLKW that blocks is cancelled after 5 ms */
#define FZ_CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

/* The directory tree, made once per process. */
struct fz_tree {
	char base[256], share[300], outside[300], canary[320];
	struct stat canary_st, outside_st, base_st;
};

/* A SETLKW blocks for a lock another guest owner holds; one thread cannot release it. */
struct fz_canceller {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct fuse_server *srv; /* protected by lock: non-NULL while a SETLKW runs */
};

static struct fz_tree tree;
static struct fz_canceller canceller = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
					 NULL };

/* ---- the share ---- */

static void fz_write_file(const char *dir, const char *name, size_t len, unsigned char seed)
{
	char path[400];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	FZ_CHECK(f != NULL);
	for (size_t i = 0; i < len; i++)
		fputc((unsigned char)(seed + i * 7), f);
	FZ_CHECK(fclose(f) == 0);
}

static void fz_at(char *out, size_t len, const char *dir, const char *name)
{
	snprintf(out, len, "%s/%s", dir, name);
}

/* Regular files, a directory, a FIFO, and symlinks that lead out of the share. */
static void fz_populate(void)
{
	char p[400];

	FZ_CHECK(mkdir(tree.share, 0755) == 0);
	fz_write_file(tree.share, "a", 5000, 1);
	fz_write_file(tree.share, "empty", 0, 0);
	fz_at(p, sizeof(p), tree.share, "dir");
	FZ_CHECK(mkdir(p, 0755) == 0);
	fz_write_file(p, "b", 100, 2);
	fz_at(p, sizeof(p), tree.share, "fifo");
	FZ_CHECK(mkfifo(p, 0644) == 0);
	fz_at(p, sizeof(p), tree.share, "link_out");
	FZ_CHECK(symlink("../outside/canary", p) == 0);
	fz_at(p, sizeof(p), tree.share, "link_dir");
	FZ_CHECK(symlink("../outside", p) == 0);
	fz_at(p, sizeof(p), tree.share, "link_abs");
	FZ_CHECK(symlink(tree.canary, p) == 0);
	fz_at(p, sizeof(p), tree.share, "a");
	(void)setxattr(p, "user.fuzz", "v", 1, 0); /* not every file system has user xattrs */
	FZ_CHECK(lstat(tree.base, &tree.base_st) == 0);
}

static int fz_remove_at(int dirfd, const char *name);

/* One pass over a directory's entries; returns how many it removed. */
static int fz_empty_dir(DIR *d)
{
	struct dirent *e;
	int removed = 0;

	rewinddir(d);
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (fz_remove_at(dirfd(d), e->d_name) == 0)
			removed++;
	}
	return removed;
}

/*
 * rm -rf relative to descriptors, so no path length limit applies (the guest may nest
 * long names deeply), making each directory owner-accessible first (it may have chmod'ed
 * one to 0). 0, or -1 when something stayed.
 */
static int fz_remove_at(int dirfd, const char *name)
{
	struct stat st;
	DIR *d;
	int fd;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return -1;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dirfd, name, 0) == 0 ? 0 : -1;
	(void)fchmodat(dirfd, name, 0700, 0);
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while (fz_empty_dir(d) > 0)
		;
	closedir(d);
	return unlinkat(dirfd, name, AT_REMOVEDIR) == 0 ? 0 : -1;
}

static void fz_rebuild_share(void)
{
	FZ_CHECK(fz_remove_at(AT_FDCWD, tree.share) == 0);
	fz_populate();
}

static bool fz_same_stat(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_mode == b->st_mode && a->st_nlink == b->st_nlink &&
	       a->st_uid == b->st_uid && a->st_gid == b->st_gid && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Nothing outside the share changed: the canary, its directory, the share's parent. */
static void fz_check_outside(void)
{
	struct stat st;

	FZ_CHECK(lstat(tree.canary, &st) == 0 && fz_same_stat(&st, &tree.canary_st));
	FZ_CHECK(lstat(tree.outside, &st) == 0 && fz_same_stat(&st, &tree.outside_st));
	FZ_CHECK(lstat(tree.base, &st) == 0 && fz_same_stat(&st, &tree.base_st));
}

static void fz_remove_tree(void)
{
	if (tree.base[0])
		(void)fz_remove_at(AT_FDCWD, tree.base);
}

static void fz_make_tree(void)
{
	const char *dirs[] = { "/dev/shm", getenv("TMPDIR"), "/tmp" };
	unsigned i;

	for (i = 0; i < ARRAY_SIZE(dirs) && !tree.base[0]; i++) {
		if (!dirs[i] || access(dirs[i], W_OK) != 0)
			continue;
		snprintf(tree.base, sizeof(tree.base), "%s/fuzz_fuse.XXXXXX", dirs[i]);
		if (!mkdtemp(tree.base))
			tree.base[0] = '\0';
	}
	FZ_CHECK(tree.base[0] != '\0');
	fz_at(tree.share, sizeof(tree.share), tree.base, "share");
	fz_at(tree.outside, sizeof(tree.outside), tree.base, "outside");
	fz_at(tree.canary, sizeof(tree.canary), tree.outside, "canary");
	FZ_CHECK(mkdir(tree.outside, 0755) == 0);
	fz_write_file(tree.outside, "canary", 64, 9);
	FZ_CHECK(lstat(tree.canary, &tree.canary_st) == 0);
	FZ_CHECK(lstat(tree.outside, &tree.outside_st) == 0);
	fz_populate();
	atexit(fz_remove_tree);
}

/* ---- process set-up ---- */

/* No device nodes, even as root: a backend bug must not reach a host disk. */
static void fz_drop_mknod(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	FZ_CHECK(syscall(SYS_capget, &h, d) == 0);
	d[CAP_MKNOD / 32].effective &= ~(1U << (CAP_MKNOD % 32));
	d[CAP_MKNOD / 32].permitted &= ~(1U << (CAP_MKNOD % 32));
	FZ_CHECK(syscall(SYS_capset, &h, d) == 0);
}

static void fz_limit_files(void)
{
	struct rlimit rl = { FZ_FILE_LIMIT, FZ_FILE_LIMIT };

	FZ_CHECK(setrlimit(RLIMIT_FSIZE, &rl) == 0);
}

static void *fz_cancel_loop(void *arg)
{
	struct timespec t;

	pthread_mutex_lock(&canceller.lock);
	for (;;) {
		while (!canceller.srv)
			pthread_cond_wait(&canceller.cond, &canceller.lock);
		clock_gettime(CLOCK_REALTIME, &t);
		t.tv_nsec += FZ_CANCEL_NS;
		t.tv_sec += t.tv_nsec / 1000000000L;
		t.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&canceller.cond, &canceller.lock, &t);
		if (canceller.srv)
			fuse_server_cancel_waits(canceller.srv);
	}
	return NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	pthread_t t;

	fz_drop_mknod();
	fz_limit_files();
	fz_make_tree();
	FZ_CHECK(pthread_create(&t, NULL, fz_cancel_loop, NULL) == 0);
	FZ_CHECK(pthread_detach(t) == 0);
	return 0;
}

/* ---- the DAX hook: decode-level checks, then the backend's map_open for real ---- */

struct fz_dax {
	struct fuse_server *srv;
};

static int fz_dax_setup(void *opaque, const struct fuse_ctx *c, uint64_t nodeid,
			const struct fuse_setupmapping_in *in)
{
	struct fz_dax *d = opaque;
	int fd, err;

	err = fuse_server_map_open(d->srv, nodeid, in->flags & FUSE_SETUPMAPPING_FLAG_WRITE, &fd);
	if (err)
		return err;
	FZ_CHECK(fd >= 0);
	close(fd);
	return 0;
}

static int fz_dax_remove(void *opaque, const struct fuse_ctx *c,
			 const struct fuse_removemapping_one *v, uint32_t count)
{
	FZ_CHECK(count >= 1 && count <= FUSE_REMOVEMAPPING_MAX);
	for (uint32_t i = 0; i < count; i++)
		if (v[i].len == 0)
			return -EINVAL;
	return 0;
}

static int fz_dax_sync(void *opaque, uint64_t nodeid)
{
	return 0;
}

/* ---- requests ---- */

/* One chain: request and reply each split into separately allocated iovecs. */
struct fz_chain {
	struct iovec in[FZ_MAX_SEGS], out[FZ_MAX_SEGS];
	unsigned nin, nout;
	size_t in_len, out_len;
};

/* Cuts len bytes into n nearly equal non-empty pieces (fewer if len < n). */
static unsigned fz_split(struct iovec *v, unsigned n, const uint8_t *src, size_t len)
{
	size_t off = 0;
	unsigned i, k = len < n ? (unsigned)len : n;

	for (i = 0; i < k; i++) {
		size_t piece = len / k + (i < len % k ? 1 : 0);

		v[i].iov_base = malloc(piece);
		FZ_CHECK(v[i].iov_base != NULL);
		v[i].iov_len = piece;
		if (src)
			memcpy(v[i].iov_base, src + off, piece);
		else
			memset(v[i].iov_base, 0xee, piece);
		off += piece;
	}
	return k;
}

static void fz_chain_free(struct fz_chain *c)
{
	for (unsigned i = 0; i < c->nin; i++)
		free(c->in[i].iov_base);
	for (unsigned i = 0; i < c->nout; i++)
		free(c->out[i].iov_base);
}

static void fz_gather(const struct iovec *v, unsigned n, void *dst, size_t len)
{
	uint8_t *p = dst;

	for (unsigned i = 0; i < n && len > 0; i++) {
		size_t k = v[i].iov_len < len ? v[i].iov_len : len;

		memcpy(p, v[i].iov_base, k);
		p += k;
		len -= k;
	}
}

/* What every reply must look like, whatever the request was. */
static void fz_check_reply(const struct fz_chain *c, const uint8_t *req, size_t reply)
{
	struct fuse_in_header ih;
	struct fuse_out_header oh;

	FZ_CHECK(reply <= c->out_len);
	if (reply == 0)
		return;
	FZ_CHECK(reply >= sizeof(oh) && c->in_len >= sizeof(ih));
	memcpy(&ih, req, sizeof(ih));
	fz_gather(c->out, c->nout, &oh, sizeof(oh));
	FZ_CHECK(oh.len == reply && oh.unique == ih.unique);
	FZ_CHECK(oh.error <= 0 && oh.error >= -4095);
	FZ_CHECK(oh.error == 0 || reply == sizeof(oh));
	if (ih.opcode == FUSE_FORGET || ih.opcode == FUSE_BATCH_FORGET ||
	    ih.opcode == FUSE_INTERRUPT)
		__builtin_trap(); /* the guest waits for no reply to these */
}

static size_t fz_handle(struct fuse_server *srv, struct fz_chain *c, uint32_t opcode)
{
	size_t reply;

	if (opcode == FUSE_SETLKW) {
		pthread_mutex_lock(&canceller.lock);
		canceller.srv = srv;
		pthread_cond_signal(&canceller.cond);
		pthread_mutex_unlock(&canceller.lock);
	}
	reply = fuse_server_handle(srv, c->in, c->nin, c->out, c->nout);
	if (opcode == FUSE_SETLKW) {
		pthread_mutex_lock(&canceller.lock);
		canceller.srv = NULL;
		pthread_mutex_unlock(&canceller.lock);
	}
	return reply;
}

/* Opcodes that leave the share as it was (OPEN can truncate, so it is not one of them). */
static bool fz_read_only_op(uint32_t op)
{
	static const uint32_t ro[] = {
		FUSE_LOOKUP, FUSE_FORGET, FUSE_GETATTR, FUSE_READLINK, FUSE_READ, FUSE_STATFS,
		FUSE_RELEASE, FUSE_FSYNC, FUSE_GETXATTR, FUSE_LISTXATTR, FUSE_FLUSH, FUSE_INIT,
		FUSE_OPENDIR, FUSE_READDIR, FUSE_RELEASEDIR, FUSE_FSYNCDIR, FUSE_GETLK, FUSE_SETLK,
		FUSE_SETLKW, FUSE_ACCESS, FUSE_INTERRUPT, FUSE_DESTROY, FUSE_BATCH_FORGET,
		FUSE_READDIRPLUS, FUSE_LSEEK, FUSE_SYNCFS, FUSE_REMOVEMAPPING,
	};

	for (unsigned i = 0; i < ARRAY_SIZE(ro); i++)
		if (ro[i] == op)
			return true;
	return false;
}

/* Sends one request; returns the bytes of input it used. Sets *dirty if it may modify. */
static size_t fz_request(struct fuse_server *srv, const uint8_t *p, size_t left, bool *dirty)
{
	struct fz_chain c = { 0 };
	uint32_t opcode = UINT32_MAX;
	size_t reply;

	if (left < FZ_REC)
		return left;
	c.in_len = (size_t)p[0] | (size_t)p[1] << 8;
	c.out_len = (size_t)p[2] | (size_t)p[3] << 8;
	if (c.in_len > left - FZ_REC)
		c.in_len = left - FZ_REC;
	if (c.in_len >= offsetof(struct fuse_in_header, unique))
		memcpy(&opcode, p + FZ_REC + offsetof(struct fuse_in_header, opcode), 4);
	*dirty |= !fz_read_only_op(opcode);
	c.nin = fz_split(c.in, (p[4] & 3) + 1, p + FZ_REC, c.in_len);
	c.nout = fz_split(c.out, ((p[4] >> 2) & 3) + 1, NULL, c.out_len);
	reply = fz_handle(srv, &c, opcode);
	fz_check_reply(&c, p + FZ_REC, reply);
	fz_chain_free(&c);
	return FZ_REC + c.in_len;
}

/* The harness's own INIT, as Linux's virtiofs driver sends it. */
static void fz_init(struct fuse_server *srv, uint64_t flags)
{
	struct {
		struct fuse_in_header h;
		struct fuse_init_in in;
	} rq = { .h = { .len = sizeof(rq), .opcode = FUSE_INIT, .unique = 1 },
		 .in = { .major = FUSE_KERNEL_VERSION, .minor = FUSE_KERNEL_MINOR_VERSION,
			 .max_readahead = 1U << 17, .flags = (uint32_t)flags,
			 .flags2 = (uint32_t)(flags >> 32) } };
	uint8_t reply[sizeof(struct fuse_out_header) + sizeof(struct fuse_init_out)];
	struct iovec iv = { &rq, sizeof(rq) }, ov = { reply, sizeof(reply) };

	FZ_CHECK(fuse_server_handle(srv, &iv, 1, &ov, 1) == sizeof(reply));
}

static struct fuse_server *fz_server(const uint8_t *hdr, struct fz_dax *dax,
				     struct fuse_dax_ops *dops)
{
	/* Like config validation: the immutable cache mode only on a read-only share. */
	struct fuse_server_config cfg = {
		.shared_dir = tree.share,
		.readonly = (hdr[0] & 4) || (hdr[0] & 3) == CACHE_IMMUTABLE,
		.cache = (enum cache_mode)(hdr[0] & 3),
		.writeback = hdr[0] & 8,
		.fd_budget = (hdr[0] & 0x20) ? 16 : 0,
		.max_write = (hdr[0] & 0x40) ? 4096 : 0,
	};
	struct fuse_server *srv;

	*dops = (struct fuse_dax_ops){ .map_alignment = hdr[9], .setup = fz_dax_setup,
				       .remove = fz_dax_remove, .sync = fz_dax_sync };
	if (hdr[0] & 0x10) {
		cfg.dax = dops;
		cfg.dax_opaque = dax;
	}
	FZ_CHECK(fuse_server_create(&cfg, &srv) == 0);
	dax->srv = srv;
	return srv;
}

static uint64_t fz_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuse_dax_ops dops;
	struct fz_dax dax;
	struct fuse_server *srv;
	size_t off = FZ_HDR;
	bool dirty = false;
	unsigned n;
	int fd0;

	if (size < FZ_HDR)
		return 0;
	/* Writes past RLIMIT_FSIZE fail with EFBIG; libFuzzer's own handler, set after
	 * LLVMFuzzerInitialize, would call the signal a crash. */
	signal(SIGXFSZ, SIG_IGN);
	fd0 = dup(2);
	close(fd0);
	srv = fz_server(data, &dax, &dops);
	if (!(data[0] & 0x80))
		fz_init(srv, fz_le64(data + 1));
	for (n = 0; n < FZ_MAX_REQUESTS && off < size; n++)
		off += fz_request(srv, data + off, size - off, &dirty);
	fuse_server_destroy(srv);
	FZ_CHECK(dup(2) == fd0); /* every descriptor the server opened is closed */
	close(fd0);
	fz_check_outside();
	if (dirty)
		fz_rebuild_share();
	return 0;
}

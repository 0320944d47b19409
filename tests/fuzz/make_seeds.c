/* make_seeds.c: writes the seed corpus, tests/fuzz/corpus/<target>/, reaching deep paths. */
/*
 * Regenerate (from the source tree; the output is committed):
 *   cc -Wall -Wextra -o /tmp/make_seeds tests/fuzz/make_seeds.c &&
 *   (cd configs && /tmp/make_seeds ../tests/fuzz/corpus *.yaml)
 * The input formats are described at the top of each tests/fuzz/fuzz_<target>.c. Node IDs
 * and file handles in the FUSE seeds are what a fresh passthrough server hands out:
 * node (generation 1 << 32 | slot), slots from 2 in lookup order (1 is the root),
 * handles likewise from slot 1.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <asm/bootparam.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <linux/virtio_ring.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define NODE(slot) ((1ULL << 32) | (slot))
#define FH(slot) ((1ULL << 32) | (slot))
#define FH2(slot) ((2ULL << 32) | (slot))
#define ROOT 1ULL

static const char *outdir;

/* A growing byte buffer: one seed file. */
struct seed {
	uint8_t b[1 << 16];
	size_t len;
	uint64_t unique;
};

static void put(struct seed *s, const void *p, size_t n)
{
	if (s->len + n > sizeof(s->b)) {
		fprintf(stderr, "make_seeds: seed too large\n");
		exit(1);
	}
	memcpy(s->b + s->len, p, n);
	s->len += n;
}

static void put8(struct seed *s, uint8_t v)
{
	put(s, &v, 1);
}

static void put16(struct seed *s, uint16_t v)
{
	put(s, &v, 2);
}

static void put32(struct seed *s, uint32_t v)
{
	put(s, &v, 4);
}

static void put64(struct seed *s, uint64_t v)
{
	put(s, &v, 8);
}

static void save(const char *target, const char *name, const struct seed *s)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, target);
	if (mkdir(path, 0755) && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s/%s", outdir, target, name);
	f = fopen(path, "wb");
	if (!f || fwrite(s->b, 1, s->len, f) != s->len || fclose(f)) {
		perror(path);
		exit(1);
	}
}

/* ---- fuzz_fuse: a header, then records (u16 request bytes, u16 reply room, u8 segments) ---- */

#define ALL_FLAGS 0xffffffffULL /* offer everything; the server keeps what it implements */

static void fuse_start(struct seed *s, uint8_t cfg, uint64_t init_flags, uint8_t map_alignment)
{
	s->len = 0;
	s->unique = 2;
	put8(s, cfg);
	put64(s, init_flags);
	put8(s, map_alignment);
}

/* One request: header (len may be told to lie), fixed argument, up to two strings, data. */
struct rq {
	uint32_t opcode;
	uint64_t nodeid;
	const void *arg;
	size_t arglen;
	const char *s1, *s2;
	const void *data;
	size_t datalen;
	uint16_t out;	 /* reply room; 0: header + 4 KiB */
	uint8_t segs;	 /* iovec split */
	int32_t lie;	 /* added to the header's len */
};

static void fuse_req(struct seed *s, const struct rq *q)
{
	size_t len = sizeof(struct fuse_in_header) + q->arglen + q->datalen;
	struct fuse_in_header h = { .opcode = q->opcode, .unique = s->unique, .nodeid = q->nodeid,
				    .uid = 0, .gid = 0, .pid = 100 };

	s->unique += 2;
	len += q->s1 ? strlen(q->s1) + 1 : 0;
	len += q->s2 ? strlen(q->s2) + 1 : 0;
	h.len = (uint32_t)((int64_t)len + q->lie);
	put16(s, (uint16_t)len);
	put16(s, q->out ? q->out : sizeof(struct fuse_out_header) + 4096);
	put8(s, q->segs);
	put(s, &h, sizeof(h));
	put(s, q->arg, q->arglen);
	if (q->s1)
		put(s, q->s1, strlen(q->s1) + 1);
	if (q->s2)
		put(s, q->s2, strlen(q->s2) + 1);
	put(s, q->data, q->datalen);
}

#define REQ(s, ...) fuse_req((s), &(struct rq){ __VA_ARGS__ })
#define ARG(x) .arg = &(x), .arglen = sizeof(x)

static void f_lookup(struct seed *s, uint64_t parent, const char *name)
{
	REQ(s, .opcode = FUSE_LOOKUP, .nodeid = parent, .s1 = name);
}

static void f_open(struct seed *s, uint32_t op, uint64_t node, uint32_t flags)
{
	struct fuse_open_in in = { .flags = flags };

	REQ(s, .opcode = op, .nodeid = node, ARG(in));
}

static void f_read(struct seed *s, uint32_t op, uint64_t node, uint64_t fh, uint64_t off,
		   uint32_t size, uint8_t segs)
{
	struct fuse_read_in in = { .fh = fh, .offset = off, .size = size };

	REQ(s, .opcode = op, .nodeid = node, ARG(in), .segs = segs,
	    .out = (uint16_t)(sizeof(struct fuse_out_header) + size));
}

static void f_release(struct seed *s, uint32_t op, uint64_t node, uint64_t fh, uint64_t owner)
{
	struct fuse_release_in in = { .fh = fh, .lock_owner = owner,
				      .release_flags = owner ? FUSE_RELEASE_FLOCK_UNLOCK : 0 };

	REQ(s, .opcode = op, .nodeid = node, ARG(in));
}

static void f_forget(struct seed *s, uint64_t node, uint64_t n)
{
	struct fuse_forget_in in = { .nlookup = n };

	REQ(s, .opcode = FUSE_FORGET, .nodeid = node, ARG(in), .out = 0);
}

static void f_getattr(struct seed *s, uint64_t node)
{
	struct fuse_getattr_in in = { 0 };

	REQ(s, .opcode = FUSE_GETATTR, .nodeid = node, ARG(in));
}

/* LOOKUP, OPEN, two READs (one split over four iovecs), FLUSH, RELEASE, FORGET. */
static void seed_fuse_read(void)
{
	struct fuse_flush_in fl = { .fh = FH(1), .lock_owner = 7 };
	struct seed s;

	fuse_start(&s, 0x01, ALL_FLAGS, 0);
	f_lookup(&s, ROOT, "a");
	f_open(&s, FUSE_OPEN, NODE(2), O_RDONLY);
	f_read(&s, FUSE_READ, NODE(2), FH(1), 0, 4096, 0);
	f_read(&s, FUSE_READ, NODE(2), FH(1), 4000, 2000, 0x0f);
	REQ(&s, .opcode = FUSE_FLUSH, .nodeid = NODE(2), ARG(fl));
	f_release(&s, FUSE_RELEASE, NODE(2), FH(1), 0);
	f_forget(&s, NODE(2), 1);
	save("fuzz_fuse", "read", &s);
}

static void seed_fuse_readdir(void)
{
	struct seed s;

	fuse_start(&s, 0x02, ALL_FLAGS, 0);
	f_lookup(&s, ROOT, "dir");
	f_open(&s, FUSE_OPENDIR, ROOT, O_RDONLY | O_DIRECTORY);
	f_read(&s, FUSE_READDIRPLUS, ROOT, FH(1), 0, 4096, 0x05);
	f_read(&s, FUSE_READDIR, ROOT, FH(1), 0, 200, 0);
	f_read(&s, FUSE_READDIR, ROOT, FH(1), 3, 4096, 0);
	f_release(&s, FUSE_RELEASEDIR, ROOT, FH(1), 0);
	f_open(&s, FUSE_OPENDIR, NODE(2), O_RDONLY);
	f_read(&s, FUSE_READDIRPLUS, NODE(2), FH2(1), 0, 4096, 0); /* slot 1 reused: generation 2 */
	save("fuzz_fuse", "readdir", &s);
}

static void seed_fuse_write(void)
{
	struct fuse_create_in cr = { .flags = O_RDWR | O_CREAT, .mode = S_IFREG | 0644 };
	struct fuse_write_in wr = { .fh = FH(1), .offset = 0, .size = 100 };
	struct fuse_setattr_in sa = { .valid = FATTR_SIZE | FATTR_MODE | FATTR_MTIME | FATTR_ATIME,
				      .size = 10, .mode = 0600, .mtime = 1000, .atime = 2000 };
	struct fuse_fsync_in fs = { .fh = FH(1), .fsync_flags = FUSE_FSYNC_FDATASYNC };
	struct fuse_lseek_in ls = { .fh = FH(1), .offset = 0, .whence = 3 /* SEEK_DATA */ };
	struct fuse_fallocate_in fa = { .fh = FH(1), .offset = 0, .length = 8192 };
	struct fuse_copy_file_range_in cf = { .fh_in = FH(1), .nodeid_out = NODE(2),
					      .fh_out = FH(1), .off_out = 1000, .len = 50 };
	uint8_t data[100];
	struct seed s;

	memset(data, 'w', sizeof(data));
	fuse_start(&s, 0x09, ALL_FLAGS, 0);
	REQ(&s, .opcode = FUSE_CREATE, .nodeid = ROOT, ARG(cr), .s1 = "new");
	REQ(&s, .opcode = FUSE_WRITE, .nodeid = NODE(2), ARG(wr), .data = data, .datalen = 100,
	    .segs = 0x03);
	f_getattr(&s, NODE(2));
	REQ(&s, .opcode = FUSE_FALLOCATE, .nodeid = NODE(2), ARG(fa));
	REQ(&s, .opcode = FUSE_COPY_FILE_RANGE, .nodeid = NODE(2), ARG(cf));
	REQ(&s, .opcode = FUSE_LSEEK, .nodeid = NODE(2), ARG(ls));
	REQ(&s, .opcode = FUSE_FSYNC, .nodeid = NODE(2), ARG(fs));
	REQ(&s, .opcode = FUSE_SETATTR, .nodeid = NODE(2), ARG(sa));
	f_open(&s, FUSE_OPEN, NODE(2), O_WRONLY | O_TRUNC | O_APPEND);
	f_release(&s, FUSE_RELEASE, NODE(2), FH(1), 0);
	save("fuzz_fuse", "write", &s);
}

static void seed_fuse_namespace(void)
{
	struct fuse_mkdir_in md = { .mode = 0755 };
	struct fuse_mknod_in mn = { .mode = S_IFIFO | 0644 };
	struct fuse_link_in ln = { .oldnodeid = NODE(2) };
	struct fuse_rename_in rn = { .newdir = ROOT };
	struct fuse_rename2_in r2 = { .newdir = ROOT, .flags = 1 /* RENAME_NOREPLACE */ };
	struct seed s;

	fuse_start(&s, 0x01, ALL_FLAGS, 0);
	f_lookup(&s, ROOT, "a");
	REQ(&s, .opcode = FUSE_MKDIR, .nodeid = ROOT, ARG(md), .s1 = "d");
	REQ(&s, .opcode = FUSE_SYMLINK, .nodeid = ROOT, .s1 = "s", .s2 = "a");
	REQ(&s, .opcode = FUSE_READLINK, .nodeid = NODE(4));
	REQ(&s, .opcode = FUSE_MKNOD, .nodeid = ROOT, ARG(mn), .s1 = "p");
	REQ(&s, .opcode = FUSE_LINK, .nodeid = NODE(3), ARG(ln), .s1 = "hard");
	REQ(&s, .opcode = FUSE_RENAME, .nodeid = ROOT, ARG(rn), .s1 = "d", .s2 = "d2");
	REQ(&s, .opcode = FUSE_RENAME2, .nodeid = ROOT, ARG(r2), .s1 = "s", .s2 = "a");
	REQ(&s, .opcode = FUSE_UNLINK, .nodeid = ROOT, .s1 = "s");
	REQ(&s, .opcode = FUSE_UNLINK, .nodeid = NODE(3), .s1 = "hard");
	REQ(&s, .opcode = FUSE_RMDIR, .nodeid = ROOT, .s1 = "d2");
	save("fuzz_fuse", "namespace", &s);
}

static void seed_fuse_xattr(void)
{
	struct fuse_setxattr_in sx = { .size = 5, .flags = 0 };
	struct fuse_getxattr_in probe = { .size = 0 }, get = { .size = 64 };
	struct seed s;

	fuse_start(&s, 0x01, ALL_FLAGS, 0);
	f_lookup(&s, ROOT, "a");
	REQ(&s, .opcode = FUSE_SETXATTR, .nodeid = NODE(2), .arg = &sx,
	    .arglen = FUSE_COMPAT_SETXATTR_IN_SIZE, .s1 = "user.t", .data = "hello", .datalen = 5);
	REQ(&s, .opcode = FUSE_GETXATTR, .nodeid = NODE(2), ARG(probe), .s1 = "user.t");
	REQ(&s, .opcode = FUSE_GETXATTR, .nodeid = NODE(2), ARG(get), .s1 = "user.fuzz");
	REQ(&s, .opcode = FUSE_LISTXATTR, .nodeid = NODE(2), ARG(probe));
	REQ(&s, .opcode = FUSE_LISTXATTR, .nodeid = NODE(2), ARG(get));
	REQ(&s, .opcode = FUSE_REMOVEXATTR, .nodeid = NODE(2), .s1 = "user.t");
	save("fuzz_fuse", "xattr", &s);
}

static void f_lock(struct seed *s, uint32_t op, uint64_t fh, uint64_t owner, uint32_t type,
		   uint32_t flags)
{
	struct fuse_lk_in lk = { .fh = fh, .owner = owner, .lk_flags = flags,
				 .lk = { .start = 0, .end = 99, .type = type, .pid = 5 } };

	REQ(s, .opcode = op, .nodeid = NODE(2), ARG(lk));
}

/* Two owners on one file: the second's SETLKW blocks until the harness cancels it. */
static void seed_fuse_locks(void)
{
	struct fuse_flush_in fl = { .fh = FH(1), .lock_owner = 1 };
	struct seed s;

	fuse_start(&s, 0x01, ALL_FLAGS, 0);
	f_lookup(&s, ROOT, "a");
	f_open(&s, FUSE_OPEN, NODE(2), O_RDWR);
	f_open(&s, FUSE_OPEN, NODE(2), O_RDWR);
	f_lock(&s, FUSE_SETLK, FH(1), 1, F_WRLCK, 0);
	f_lock(&s, FUSE_GETLK, FH(2), 2, F_WRLCK, 0);
	f_lock(&s, FUSE_SETLKW, FH(2), 2, F_WRLCK, 0);
	f_lock(&s, FUSE_SETLK, FH(1), 1, F_WRLCK, FUSE_LK_FLOCK);
	f_lock(&s, FUSE_SETLK, FH(2), 2, F_RDLCK, FUSE_LK_FLOCK);
	REQ(&s, .opcode = FUSE_FLUSH, .nodeid = NODE(2), ARG(fl));
	f_lock(&s, FUSE_SETLKW, FH(2), 2, F_WRLCK, 0);
	f_release(&s, FUSE_RELEASE, NODE(2), FH(1), 1);
	f_release(&s, FUSE_RELEASE, NODE(2), FH(2), 2);
	save("fuzz_fuse", "locks", &s);
}

/* Symlinks out of the share, "..", a FIFO, and headers whose lengths lie. */
static void seed_fuse_escape(void)
{
	struct fuse_create_in cr = { .flags = O_RDWR | O_CREAT, .mode = S_IFREG | 0644 };
	struct fuse_write_in wr = { .fh = FH(1), .size = 4000 };
	struct seed s;

	fuse_start(&s, 0x01, ALL_FLAGS, 0);
	f_lookup(&s, ROOT, "link_dir");
	f_lookup(&s, NODE(2), "canary");
	f_lookup(&s, ROOT, "link_out");
	REQ(&s, .opcode = FUSE_READLINK, .nodeid = NODE(3));
	f_open(&s, FUSE_OPEN, NODE(3), O_RDWR);
	f_lookup(&s, ROOT, "..");
	f_lookup(&s, ROOT, "fifo");
	f_open(&s, FUSE_OPEN, NODE(4), O_RDONLY);
	REQ(&s, .opcode = FUSE_CREATE, .nodeid = ROOT, ARG(cr), .s1 = "fifo");
	REQ(&s, .opcode = FUSE_CREATE, .nodeid = ROOT, ARG(cr), .s1 = "link_abs");
	REQ(&s, .opcode = FUSE_LOOKUP, .nodeid = ROOT, .s1 = "a", .lie = 100);
	REQ(&s, .opcode = FUSE_LOOKUP, .nodeid = ROOT, .s1 = "a", .lie = -3);
	REQ(&s, .opcode = FUSE_WRITE, .nodeid = NODE(3), ARG(wr), .data = "x", .datalen = 1);
	REQ(&s, .opcode = FUSE_LOOKUP, .nodeid = ROOT, .s1 = "a/../../outside");
	save("fuzz_fuse", "escape", &s);
}

static void seed_fuse_dax(void)
{
	struct fuse_setupmapping_in sm = { .fh = ~0ULL, .foffset = 0, .len = 4096,
					   .flags = FUSE_SETUPMAPPING_FLAG_READ |
						    FUSE_SETUPMAPPING_FLAG_WRITE };
	struct {
		struct fuse_removemapping_in in;
		struct fuse_removemapping_one one[2];
	} rm = { { .count = 2 }, { { 0, 4096 }, { 2 << 20, 4096 } } };
	struct fuse_fsync_in fs = { .fh = FH(1) };
	struct fuse_syncfs_in sf = { 0 };
	struct seed s;

	fuse_start(&s, 0x11, ALL_FLAGS | FUSE_MAP_ALIGNMENT, 12);
	f_lookup(&s, ROOT, "a");
	REQ(&s, .opcode = FUSE_SETUPMAPPING, .nodeid = NODE(2), ARG(sm));
	REQ(&s, .opcode = FUSE_REMOVEMAPPING, .nodeid = NODE(2), ARG(rm));
	f_open(&s, FUSE_OPEN, NODE(2), O_RDONLY);
	REQ(&s, .opcode = FUSE_FSYNC, .nodeid = NODE(2), ARG(fs));
	REQ(&s, .opcode = FUSE_SYNCFS, .nodeid = ROOT, ARG(sf));
	save("fuzz_fuse", "dax", &s);
}

/* Session opcodes: a guest INIT of its own, DESTROY, requests before and after. */
static void seed_fuse_session(void)
{
	struct fuse_init_in old = { .major = 7, .minor = 20 }, newer = { .major = 8 };
	struct fuse_init_in ok = { .major = 7, .minor = 38, .max_readahead = 65536,
				   .flags = FUSE_INIT_EXT | FUSE_POSIX_LOCKS, .flags2 = 1 };
	struct fuse_access_in ac = { .mask = 4 };
	struct fuse_interrupt_in it = { .unique = 99 };
	struct {
		struct fuse_batch_forget_in in;
		struct fuse_forget_one one[2];
	} bf = { { .count = 2 }, { { NODE(2), 1 }, { NODE(9), 5 } } };
	struct seed s;

	fuse_start(&s, 0x80, 0, 0);
	f_getattr(&s, ROOT);
	REQ(&s, .opcode = FUSE_INIT, ARG(old));
	REQ(&s, .opcode = FUSE_INIT, ARG(newer));
	REQ(&s, .opcode = FUSE_INIT, ARG(ok));
	REQ(&s, .opcode = FUSE_STATFS, .nodeid = ROOT);
	REQ(&s, .opcode = FUSE_ACCESS, .nodeid = ROOT, ARG(ac));
	f_lookup(&s, ROOT, "a");
	REQ(&s, .opcode = FUSE_INTERRUPT, ARG(it), .out = 0);
	REQ(&s, .opcode = FUSE_BATCH_FORGET, ARG(bf), .out = 0);
	REQ(&s, .opcode = FUSE_DESTROY);
	f_lookup(&s, ROOT, "a");
	REQ(&s, .opcode = FUSE_INIT, ARG(ok));
	f_getattr(&s, ROOT);
	save("fuzz_fuse", "session", &s);
}

static void seed_fuse_readonly(void)
{
	struct fuse_write_in wr = { .fh = FH(1), .size = 1 };
	struct fuse_access_in ac = { .mask = 2 };
	struct seed s;

	fuse_start(&s, 0x07, ALL_FLAGS, 0);
	f_lookup(&s, ROOT, "a");
	f_open(&s, FUSE_OPEN, NODE(2), O_RDWR);
	f_open(&s, FUSE_OPEN, NODE(2), O_RDONLY);
	REQ(&s, .opcode = FUSE_WRITE, .nodeid = NODE(2), ARG(wr), .data = "x", .datalen = 1);
	REQ(&s, .opcode = FUSE_ACCESS, .nodeid = NODE(2), ARG(ac));
	REQ(&s, .opcode = FUSE_UNLINK, .nodeid = ROOT, .s1 = "a");
	save("fuzz_fuse", "readonly", &s);
}

/* Names and targets at their length limits and one past: the bounds of every string copy. */
static void seed_fuse_limits(void)
{
	static char n255[256], n256[257], t4095[4096], t4096[4097];
	struct fuse_create_in cr = { .flags = O_RDWR | O_CREAT, .mode = S_IFREG | 0644 };
	struct fuse_setxattr_in sx = { .size = 1 };
	struct seed s;

	memset(n255, 'n', 255);
	memset(n256, 'm', 256);
	memset(t4095, 't', 4095);
	memset(t4096, 'u', 4096);
	memcpy(n255, "user.", 5);
	fuse_start(&s, 0x01, ALL_FLAGS, 0);
	f_lookup(&s, ROOT, n255);
	f_lookup(&s, ROOT, n256);
	REQ(&s, .opcode = FUSE_CREATE, .nodeid = ROOT, ARG(cr), .s1 = n255);
	REQ(&s, .opcode = FUSE_SYMLINK, .nodeid = ROOT, .s1 = "l1", .s2 = t4095);
	REQ(&s, .opcode = FUSE_SYMLINK, .nodeid = ROOT, .s1 = "l2", .s2 = t4096);
	REQ(&s, .opcode = FUSE_READLINK, .nodeid = NODE(3));
	REQ(&s, .opcode = FUSE_SETXATTR, .nodeid = ROOT, .arg = &sx,
	    .arglen = FUSE_COMPAT_SETXATTR_IN_SIZE, .s1 = n255, .data = "v", .datalen = 1);
	REQ(&s, .opcode = FUSE_SETXATTR, .nodeid = ROOT, .arg = &sx,
	    .arglen = FUSE_COMPAT_SETXATTR_IN_SIZE, .s1 = n256, .data = "v", .datalen = 1);
	save("fuzz_fuse", "limits", &s);
}

/* Twenty nested directories with 255-byte names (deeper than PATH_MAX), the top one chmod 0. */
static void seed_fuse_deep_tree(void)
{
	struct fuse_mkdir_in md = { .mode = 0700 };
	struct fuse_setattr_in sa = { .valid = FATTR_MODE, .mode = 0 };
	uint64_t parent = ROOT;
	char name[256];
	struct seed s;

	fuse_start(&s, 0x01, ALL_FLAGS, 0);
	for (unsigned i = 0; i < 20; i++) {
		memset(name, 'x', 255);
		name[255] = '\0';
		name[0] = (char)('a' + i);
		REQ(&s, .opcode = FUSE_MKDIR, .nodeid = parent, ARG(md), .s1 = name);
		parent = NODE(i + 2);
	}
	REQ(&s, .opcode = FUSE_SETATTR, .nodeid = NODE(2), ARG(sa));
	save("fuzz_fuse", "deep_tree", &s);
}

/* A 16-descriptor budget: later lookups evict earlier inodes, which reopen by handle. */
static void seed_fuse_evict(void)
{
	static const char *const names[] = { "a", "empty", "dir", "fifo", "link_out",
					      "link_dir", "link_abs" };
	struct fuse_create_in cr = { .flags = O_RDWR | O_CREAT, .mode = S_IFREG | 0644 };
	char name[8];
	struct seed s;
	unsigned i;

	fuse_start(&s, 0x21, ALL_FLAGS, 0);
	for (i = 0; i < 7; i++)
		f_lookup(&s, ROOT, names[i]);
	for (i = 0; i < 16; i++) {
		snprintf(name, sizeof(name), "n%u", i);
		REQ(&s, .opcode = FUSE_CREATE, .nodeid = ROOT, ARG(cr), .s1 = name);
	}
	f_getattr(&s, NODE(2));
	f_open(&s, FUSE_OPEN, NODE(2), O_RDONLY);
	f_lookup(&s, NODE(4), "b");
	save("fuzz_fuse", "evict", &s);
}

/* ---- fuzz_virtqueue: header, then guest RAM ---- */

#define VQ_RAM 4096U

struct vq_image {
	uint8_t hdr[16];
	uint8_t ram[VQ_RAM];
};

static void vq_desc(struct vq_image *m, uint32_t table, unsigned i, uint64_t addr, uint32_t len,
		    uint16_t flags, uint16_t next)
{
	struct vring_desc d = { .addr = addr, .len = len, .flags = flags, .next = next };

	memcpy(m->ram + table + i * sizeof(d), &d, sizeof(d));
}

/* Queue of `size` at desc 0, avail 0x400, used 0x800; heads published in avail. */
static void vq_layout(struct vq_image *m, unsigned log2size, uint8_t bits, const uint16_t *heads,
		      unsigned n)
{
	uint32_t desc = 0, avail = 0x400, used = 0x800;
	uint16_t idx = (uint16_t)n;

	memset(m, 0, sizeof(*m));
	m->hdr[0] = (uint8_t)(log2size | bits);
	m->hdr[3] = 1;
	memcpy(m->hdr + 4, &desc, 4);
	memcpy(m->hdr + 8, &avail, 4);
	memcpy(m->hdr + 12, &used, 4);
	memcpy(m->ram + avail + 2, &idx, 2);
	for (unsigned i = 0; i < n; i++)
		memcpy(m->ram + avail + 4 + 2 * i, &heads[i], 2);
}

static void vq_save(const char *name, const struct vq_image *m)
{
	struct seed s = { .len = 0 };

	put(&s, m, sizeof(*m));
	save("fuzz_virtqueue", name, &s);
}

/* Split layout, queue of 8: descriptor table, avail ring, used ring, then 2 KiB of data. */
static void vq_split_seed(const char *name, uint8_t bits, const struct vring_desc *d, unsigned nd,
			  const uint8_t *data, size_t dlen)
{
	uint8_t hdr[16] = { (uint8_t)(3 | 0x80 | bits), 0, 0, 1 };
	uint8_t desc[8 * 16] = { 0 }, avail[6 + 2 * 8] = { 0 }, used[6 + 8 * 8] = { 0 };
	uint8_t ram[2048] = { 0 };
	struct seed s = { .len = 0 };

	memcpy(desc, d, nd * sizeof(*d));
	avail[2] = 1; /* idx 1: head 0 is available */
	if (dlen)
		memcpy(ram, data, dlen);
	put(&s, hdr, sizeof(hdr));
	put(&s, desc, sizeof(desc));
	put(&s, avail, sizeof(avail));
	put(&s, used, sizeof(used));
	put(&s, ram, sizeof(ram));
	save("fuzz_virtqueue", name, &s);
}

static void seeds_virtqueue_split(void)
{
	const struct vring_desc plain[2] = {
		{ 0x100, 64, VRING_DESC_F_NEXT, 1 }, { 0x200, 100, VRING_DESC_F_WRITE, 0 } };
	const struct vring_desc ind[1] = { { 0x400, 32, VRING_DESC_F_INDIRECT, 0 } };
	const struct vring_desc table[2] = {
		{ 0x100, 8, VRING_DESC_F_NEXT, 1 }, { 0x200, 8, VRING_DESC_F_WRITE, 0 } };
	uint8_t data[0x420] = { 0 };

	vq_split_seed("split", 0, plain, 2, NULL, 0);
	memcpy(data + 0x400, table, sizeof(table));
	vq_split_seed("split_indirect", 0x30, ind, 1, data, sizeof(data));
}

static void seeds_virtqueue(void)
{
	static const uint16_t one[] = { 0 }, two[] = { 0, 3 }, loop[] = { 2 };
	struct vq_image m;

	/* A request: one readable, two writable buffers. */
	vq_layout(&m, 3, 0, one, 1);
	vq_desc(&m, 0, 0, 0xc00, 64, VRING_DESC_F_NEXT, 1);
	vq_desc(&m, 0, 1, 0xd00, 100, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2);
	vq_desc(&m, 0, 2, 0xe00, 200, VRING_DESC_F_WRITE, 0);
	vq_save("chain", &m);
	/* Indirect table of three at 0x300, and a second plain chain; EVENT_IDX on. */
	vq_layout(&m, 3, 0x30, two, 2);
	vq_desc(&m, 0, 0, 0x300, 48, VRING_DESC_F_INDIRECT, 0);
	vq_desc(&m, 0x300, 0, 0xc00, 16, VRING_DESC_F_NEXT, 1);
	vq_desc(&m, 0x300, 1, 0xc10, 16, VRING_DESC_F_NEXT, 2);
	vq_desc(&m, 0x300, 2, 0xd00, 256, VRING_DESC_F_WRITE, 0);
	vq_desc(&m, 0, 3, 0xf00, 32, 0, 0);
	vq_save("indirect", &m);
	/* A chain that loops back on itself (2 -> 3 -> 2). */
	vq_layout(&m, 3, 0, loop, 1);
	vq_desc(&m, 0, 2, 0xc00, 8, VRING_DESC_F_NEXT, 3);
	vq_desc(&m, 0, 3, 0xc08, 8, VRING_DESC_F_NEXT, 2);
	vq_save("loop", &m);
	/* A buffer that points past RAM, and one that overlaps the rings. */
	vq_layout(&m, 3, 0, two, 2);
	vq_desc(&m, 0, 0, VQ_RAM - 8, 64, 0, 0);
	vq_desc(&m, 0, 3, 0x3f0, 0x20, VRING_DESC_F_WRITE, 0);
	vq_save("outside", &m);
	seeds_virtqueue_split();
}

/* ---- fuzz_boot: header, ACPI device records, kernel image ---- */

#define BZ_SETUP 1024U
#define BZ_PAYLOAD 8192U
#define BZ_HDR_AT 0x1f1U

static void boot_hdr(struct seed *s, uint8_t mem, uint8_t flags, uint16_t cmdlen,
		     uint32_t initrd, uint8_t vcpus, uint8_t nvirtio, uint8_t acpi_flags)
{
	s->len = 0;
	put8(s, mem);
	put8(s, flags);
	put16(s, cmdlen);
	put32(s, initrd);
	put32(s, 0xe0000);
	put8(s, vcpus);
	put8(s, nvirtio);
	put8(s, acpi_flags);
	put8(s, 0);
	put32(s, 128U << 10);
	put32(s, 0);
}

/* The smallest bzImage the loader takes: protocol 2.15, 64-bit, relocatable, at 4 MiB. */
static void boot_bzimage(struct seed *s)
{
	uint8_t img[BZ_SETUP + BZ_PAYLOAD];
	struct setup_header h;

	memset(img, 0, sizeof(img));
	memset(&h, 0, sizeof(h));
	h.setup_sects = BZ_SETUP / 512 - 1;
	h.boot_flag = 0xaa55;
	h.jump = (uint16_t)(0xeb | ((BZ_HDR_AT + sizeof(h) - 0x202) << 8));
	memcpy(&h.header, "HdrS", 4);
	h.version = 0x020f;
	h.loadflags = LOADED_HIGH;
	h.initrd_addr_max = 0x7fffffff;
	h.kernel_alignment = 0x200000;
	h.relocatable_kernel = 1;
	h.xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G;
	h.cmdline_size = 2047;
	h.pref_address = 4U << 20;
	h.init_size = 1U << 20;
	h.syssize = BZ_PAYLOAD / 16;
	memcpy(img + BZ_HDR_AT, &h, sizeof(h));
	memset(img + BZ_SETUP, 0x90, BZ_PAYLOAD);
	put(s, img, sizeof(img));
}

static void put_note(uint8_t *p, const char *name, uint32_t type, const void *desc, uint32_t dlen)
{
	Elf64_Nhdr nh = { .n_namesz = 4, .n_descsz = dlen, .n_type = type };

	memcpy(p, &nh, sizeof(nh));
	memcpy(p + sizeof(nh), name, 4);
	memcpy(p + sizeof(nh) + 4, desc, dlen);
}

/* A vmlinux with one PT_LOAD at 2 MiB and a PT_NOTE holding the PVH entry. */
static void boot_elf(struct seed *s)
{
	uint8_t img[0x2000];
	Elf64_Ehdr e = { .e_type = ET_EXEC, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
			 .e_entry = 0x200000, .e_phoff = sizeof(Elf64_Ehdr),
			 .e_ehsize = sizeof(Elf64_Ehdr), .e_phentsize = sizeof(Elf64_Phdr),
			 .e_phnum = 2 };
	Elf64_Phdr ph[2] = {
		{ .p_type = PT_LOAD, .p_offset = 0x1000, .p_paddr = 0x200000, .p_filesz = 0x1000,
		  .p_memsz = 0x3000, .p_align = 0x1000 },
		{ .p_type = PT_NOTE, .p_offset = 0x100, .p_filesz = 24 + 24, .p_align = 4 },
	};
	uint64_t entry = 0x200010;

	memset(img, 0, sizeof(img));
	memcpy(e.e_ident, ELFMAG, SELFMAG);
	e.e_ident[EI_CLASS] = ELFCLASS64;
	e.e_ident[EI_DATA] = ELFDATA2LSB;
	e.e_ident[EI_VERSION] = EV_CURRENT;
	memcpy(img, &e, sizeof(e));
	memcpy(img + sizeof(e), ph, sizeof(ph));
	put_note(img + 0x100, "Xen", 6, "linux", 6);
	put_note(img + 0x100 + 24, "Xen", 18 /* XEN_ELFNOTE_PHYS32_ENTRY */, &entry, 8);
	memset(img + 0x1000, 0x90, 0x1000);
	put(s, img, sizeof(img));
}

static void seeds_boot(void)
{
	struct seed s;

	boot_hdr(&s, 3, 1, 40, 64U << 10, 2, 3, 0);
	boot_bzimage(&s);
	save("fuzz_boot", "bzimage", &s);
	boot_hdr(&s, 2 | 4, 1, 0, 4096, 1, 0, 0);
	boot_elf(&s);
	save("fuzz_boot", "pvh", &s);
	/* ACPI with raw device records: one above 4 GiB, one with a GSI past the IOAPIC. */
	boot_hdr(&s, 1, 2, 0, 0, 64, 2, 1);
	put64(&s, 0x100000000ULL);
	put32(&s, 0x1000);
	put32(&s, 17);
	put64(&s, 0xd0000000ULL);
	put32(&s, 0x200);
	put32(&s, 30);
	boot_bzimage(&s);
	save("fuzz_boot", "acpi_raw", &s);
	boot_hdr(&s, 0, 0, 3000, 0, 255, 100, 0);
	put(&s, "\x7f" "ELF", 4);
	save("fuzz_boot", "tiny", &s);
}

/* ---- fuzz_config: YAML text ---- */

static const char *const configs[] = {
	"kernel: /proc/self/exe\nvcpus: 2\nmemory: 512M\ncmdline: \"console=ttyS0 quiet\"\n"
	"console: stdio\n",
	"kernel: /proc/self/exe\ninitrd: /proc/self/exe\nconsole: {file: /tmp/fuzz.log}\n"
	"memory: 262144K\n",
	"kernel: /proc/self/exe\nconsole: none\nshares:\n"
	"  - tag: root\n    path: /tmp\n    queues: 2\n    readonly: yes\n    cache: always\n"
	"    dax_window: 256M\n"
	"  - {tag: work, path: /tmp, readonly: false, cache: never, mount: /work}\n"
	"command: [/bin/sh, -c, \"exit 42\"]\nenv: {LANG: C.UTF-8, DEBUG: 1}\n"
	"workdir: /work\ntimeout: 90s\nroot: root\n",
	"kernel: /proc/self/exe\ncommand: /usr/bin/true\nenv: [A=1, B=]\ntimeout: 250ms\n",
	"kernel: &k /proc/self/exe\ninitrd: *k\n# comment\n---\n",
	"{kernel: /proc/self/exe, vcpus: 65, memory: 1.5G}\n",
	"kernel: /proc/self/exe\nshares:\n  - tag: a\n    path: /nonexistent\n",
	"vcpus: [1, 2\n",
	"kernel: \"/no\\tpe\\0x\"\n",
	"? [a]\n: 1\n",
	/* limits and one past them */
	"kernel: /proc/self/exe\nvcpus: 64\nmemory: 1T\ntimeout: 8760h\nshares:\n"
	"  - {tag: 0123456789abcdef0123456789abcdef0123, path: /tmp, queues: 16, dax_window: 64G}\n",
	"kernel: /proc/self/exe\nvcpus: 65\nmemory: 32767K\ntimeout: 8761h\nshares:\n"
	"  - {tag: 0123456789abcdef0123456789abcdef01234, path: /tmp, queues: 17,\n"
	"     dax_window: 3M}\n",
};

/* Files named on the command line (the configs/ examples) join the config corpus as they are. */
static void copy_config(const char *path)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	struct seed s = { .len = 0 };
	FILE *f = fopen(path, "rb");

	if (!f) {
		perror(path);
		exit(1);
	}
	s.len = fread(s.b, 1, sizeof(s.b), f);
	fclose(f);
	save("fuzz_config", base, &s);
}

static void seeds_config(void)
{
	char name[32];
	struct seed s;
	unsigned i;

	for (i = 0; i < sizeof(configs) / sizeof(configs[0]); i++) {
		s.len = 0;
		put(&s, configs[i], strlen(configs[i]));
		snprintf(name, sizeof(name), "config%02u.yaml", i);
		save("fuzz_config", name, &s);
	}
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR [CONFIG.yaml...]\n", argv[0]);
		return 2;
	}
	outdir = argv[1];
	if (mkdir(outdir, 0755) && errno != EEXIST) {
		perror(outdir);
		return 1;
	}
	seed_fuse_read();
	seed_fuse_readdir();
	seed_fuse_write();
	seed_fuse_namespace();
	seed_fuse_xattr();
	seed_fuse_locks();
	seed_fuse_escape();
	seed_fuse_dax();
	seed_fuse_session();
	seed_fuse_readonly();
	seed_fuse_evict();
	seed_fuse_limits();
	seed_fuse_deep_tree();
	seeds_virtqueue();
	seeds_boot();
	seeds_config();
	for (int i = 2; i < argc; i++)
		copy_config(argv[i]);
	return 0;
}

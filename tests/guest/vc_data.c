/* vc_data.c: vfs_check's file data checks: read/write, truncate, mmap, fallocate, holes, copies. */
#include "vfs_check.h"
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#define KIB 1024
#define MIB (1024 * 1024)
#define FUSE_SUPER_MAGIC_ 0x65735546 /* <linux/magic.h> FUSE_SUPER_MAGIC */

/* Three writes, then a fresh open reads the concatenation; mode and size as created. */
static int check_create_write_read(struct vc *v)
{
	static const char a[] = "hello, ", b[] = "virtio-fs", c[] = "\nsecond line\n";
	static const char all[] = "hello, virtio-fs\nsecond line\n";
	struct stat st;
	int fd;

	VC_SYS(v, fd = open("cwr.txt", O_CREAT | O_EXCL | O_WRONLY, 0640));
	if (vc_write_all(v, fd, a, strlen(a)) || vc_write_all(v, fd, b, strlen(b)) ||
	    vc_write_all(v, fd, c, strlen(c)))
		return -1;
	VC_SYS(v, fstat(fd, &st));
	VC_REQUIRE(v, st.st_size == (off_t)strlen(all), "st_size %lld after the writes, expected %zu",
		   (long long)st.st_size, strlen(all));
	VC_REQUIRE(v, st.st_mode == (S_IFREG | 0640), "st_mode 0%o, expected 0100640", st.st_mode);
	VC_SYS(v, close(fd));
	return vc_expect_file(v, "cwr.txt", all, strlen(all));
}

/* pwrite at three offsets leaves zeros between them, pread returns each piece and a short
 * read at EOF, and neither moves the file offset. */
static int check_pread_pwrite(struct vc *v)
{
	char a[100], b[100], c[50], got[16];
	int fd;

	memset(a, 'A', sizeof(a));
	memset(b, 'B', sizeof(b));
	memset(c, 'C', sizeof(c));
	VC_SYS(v, fd = open("prw.bin", O_CREAT | O_EXCL | O_RDWR, 0644));
	if (vc_pwrite_all(v, fd, a, sizeof(a), 0) || vc_pwrite_all(v, fd, b, sizeof(b), 4096) ||
	    vc_pwrite_all(v, fd, c, sizeof(c), 10000) || vc_pwrite_all(v, fd, "xyz", 3, 4098))
		return -1;
	VC_REQUIRE(v, lseek(fd, 0, SEEK_CUR) == 0, "pwrite moved the file offset");
	vc_drop_caches();
	if (vc_expect_size(v, "prw.bin", 10050) || vc_expect_fd(v, fd, 0, a, sizeof(a)) ||
	    vc_expect_zeros(v, fd, 100, 4096 - 100) || vc_expect_fd(v, fd, 4096, "BBxyzBBB", 8) ||
	    vc_expect_fd(v, fd, 4104, b, 92) || vc_expect_zeros(v, fd, 4196, 10000 - 4196))
		return -1;
	VC_REQUIRE(v, pread(fd, got, sizeof(got), 10040) == 10, "pread across EOF is not 10 bytes");
	VC_REQUIRE(v, memcmp(got, c, 10) == 0, "pread across EOF returned wrong bytes");
	VC_REQUIRE(v, pread(fd, got, sizeof(got), 20000) == 0, "pread beyond EOF is not 0");
	VC_REQUIRE(v, lseek(fd, 0, SEEK_CUR) == 0, "pread moved the file offset");
	VC_SYS(v, close(fd));
	return 0;
}

/* O_APPEND writes land at the end whatever the offset, through two descriptors. */
static int check_append(struct vc *v)
{
	static const char want[] = "base++AABBCC";
	int fd, fd2;

	if (vc_make_file(v, "append.txt", "base", 4))
		return -1;
	VC_SYS(v, fd = open("append.txt", O_WRONLY | O_APPEND));
	VC_SYS(v, fd2 = open("append.txt", O_WRONLY | O_APPEND));
	VC_SYS(v, lseek(fd, 0, SEEK_SET));
	if (vc_write_all(v, fd, "++", 2) || vc_write_all(v, fd, "AA", 2) ||
	    vc_write_all(v, fd2, "BB", 2) || vc_write_all(v, fd, "CC", 2))
		return -1;
	VC_REQUIRE(v, lseek(fd, 0, SEEK_CUR) == 12, "offset after the append is %lld, expected 12",
		   (long long)lseek(fd, 0, SEEK_CUR));
	VC_SYS(v, close(fd));
	VC_SYS(v, close(fd2));
	return vc_expect_file(v, "append.txt", want, strlen(want));
}

/* Grow, shrink, grow again (by PATH or through FD): new bytes read as zeros, never as the
 * data cut off before. FD is open read-write; it writes the first data and reads back. */
static int truncate_steps(struct vc *v, const char *path, int fd, bool by_path)
{
	static const off_t sizes[] = { 100000, 10, 5000 };
	char x[1000];
	size_t i;

	memset(x, 'x', sizeof(x));
	if (vc_pwrite_all(v, fd, x, sizeof(x), 0))
		return -1;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t keep = i == 0 ? sizeof(x) : 10;

		VC_SYS(v, by_path ? truncate(path, sizes[i]) : ftruncate(fd, sizes[i]));
		vc_drop_caches();
		if (vc_expect_size(v, path, sizes[i]) || vc_expect_fd(v, fd, 0, x, keep))
			return -1;
		/* 1000 bytes of x survive the first grow; after the shrink to 10, only 10. */
		if (i == 0 && vc_expect_zeros(v, fd, 1000, 99000))
			return -1;
		if (i == 2 && vc_expect_zeros(v, fd, 10, 4990))
			return -1;
	}
	return 0;
}

/* truncate(2) by path. */
static int check_truncate(struct vc *v)
{
	int fd;

	VC_SYS(v, fd = open("trunc.bin", O_CREAT | O_EXCL | O_RDWR, 0644));
	if (truncate_steps(v, "trunc.bin", fd, true))
		return -1;
	VC_SYS(v, close(fd));
	return 0;
}

/* The same through ftruncate(2), and O_TRUNC empties a file on open. */
static int check_ftruncate(struct vc *v)
{
	int fd;

	VC_SYS(v, fd = open("ftrunc.bin", O_CREAT | O_EXCL | O_RDWR, 0644));
	if (truncate_steps(v, "ftrunc.bin", fd, false))
		return -1;
	VC_SYS(v, close(fd));
	VC_SYS(v, fd = open("ftrunc.bin", O_WRONLY | O_TRUNC));
	VC_SYS(v, close(fd));
	return vc_expect_size(v, "ftrunc.bin", 0);
}

/* Stores through a MAP_SHARED mapping reach the file: msync, then read(2) sees them. */
static int check_mmap_shared_write(struct vc *v)
{
	const size_t len = 3 * 4096 + 100;
	unsigned char *p, *want;
	int fd, rc;

	VC_SYS(v, fd = open("mmap-write.bin", O_CREAT | O_EXCL | O_RDWR, 0644));
	VC_SYS(v, ftruncate(fd, (off_t)len));
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	VC_REQUIRE(v, p != MAP_FAILED, "mmap MAP_SHARED: %s", vc_errname(errno));
	vc_pattern(p, len, 0, vc_seed("mmap-write.bin"));
	VC_SYS(v, msync(p, len, MS_SYNC));
	VC_SYS(v, munmap(p, len));
	VC_SYS(v, close(fd));
	want = malloc(len);
	VC_REQUIRE(v, want, "out of memory");
	vc_pattern(want, len, 0, vc_seed("mmap-write.bin"));
	rc = vc_expect_file(v, "mmap-write.bin", want, len);
	free(want);
	return rc;
}

/* A file written with write(2) reads the same through a mapping, and a later pwrite shows
 * in the mapping; stores to a MAP_PRIVATE mapping stay out of the file. */
static int check_mmap_read(struct vc *v)
{
	const size_t len = 20000;
	unsigned char buf[20000], *p, *q;
	int fd;

	vc_pattern(buf, len, 0, vc_seed("mmap-read.bin"));
	if (vc_make_file(v, "mmap-read.bin", buf, len))
		return -1;
	vc_drop_caches();
	VC_SYS(v, fd = open("mmap-read.bin", O_RDWR));
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	VC_REQUIRE(v, p != MAP_FAILED, "mmap MAP_SHARED PROT_READ: %s", vc_errname(errno));
	VC_REQUIRE(v, memcmp(p, buf, len) == 0, "mapping differs from what write(2) wrote");
	if (vc_pwrite_all(v, fd, "NEW!", 4, 5000))
		return -1;
	VC_REQUIRE(v, memcmp(p + 5000, "NEW!", 4) == 0, "a pwrite does not show in the mapping");
	q = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	VC_REQUIRE(v, q != MAP_FAILED, "mmap MAP_PRIVATE: %s", vc_errname(errno));
	memcpy(q, "PRIVATE", 7);
	VC_SYS(v, munmap(q, len));
	VC_SYS(v, munmap(p, len));
	VC_SYS(v, close(fd));
	memcpy(buf + 5000, "NEW!", 4);
	return vc_expect_file(v, "mmap-read.bin", buf, len);
}

/* fallocate: mode 0 grows the file with zeros, KEEP_SIZE does not grow it, PUNCH_HOLE
 * zeroes exactly the punched range. */
static int check_fallocate(struct vc *v)
{
	char d[8192];
	struct stat st;
	int fd;

	memset(d, 'D', sizeof(d));
	VC_SYS(v, fd = open("falloc.bin", O_CREAT | O_EXCL | O_RDWR, 0644));
	VC_SYS(v, fallocate(fd, 0, 0, MIB));
	VC_SYS(v, fstat(fd, &st));
	VC_REQUIRE(v, st.st_size == MIB, "st_size %lld after fallocate of 1 MiB",
		   (long long)st.st_size);
	VC_REQUIRE(v, st.st_blocks * 512 >= MIB, "only %lld blocks allocated",
		   (long long)st.st_blocks);
	if (vc_expect_zeros(v, fd, 0, MIB) || vc_pwrite_all(v, fd, d, sizeof(d), 64 * KIB))
		return -1;
	VC_SYS(v, fallocate(fd, FALLOC_FL_KEEP_SIZE, MIB, MIB));
	if (vc_expect_size(v, "falloc.bin", MIB))
		return -1;
	VC_SYS(v, fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 64 * KIB, 4 * KIB));
	vc_drop_caches();
	if (vc_expect_size(v, "falloc.bin", MIB) || vc_expect_zeros(v, fd, 64 * KIB, 4 * KIB) ||
	    vc_expect_fd(v, fd, 68 * KIB, d, 4 * KIB))
		return -1;
	VC_SYS(v, close(fd));
	return 0;
}

/* Data at 0 and at 1 MiB with a hole between: SEEK_DATA/SEEK_HOLE answers must agree with
 * each other and with the data, whether or not the host reports the hole. */
static int check_seek_hole(struct vc *v)
{
	char s[4096];
	off_t size = MIB + 4096, h0, d1;
	int fd;

	memset(s, 'S', sizeof(s));
	VC_SYS(v, fd = open("sparse.bin", O_CREAT | O_EXCL | O_RDWR, 0644));
	if (vc_pwrite_all(v, fd, s, sizeof(s), 0) || vc_pwrite_all(v, fd, s, sizeof(s), MIB))
		return -1;
	VC_REQUIRE(v, lseek(fd, 0, SEEK_DATA) == 0, "SEEK_DATA from 0 is not 0");
	VC_SYS(v, h0 = lseek(fd, 0, SEEK_HOLE));
	VC_REQUIRE(v, h0 >= 4096 && (h0 <= MIB || h0 == size), "first hole at %lld", (long long)h0);
	if (h0 < MIB) {
		VC_SYS(v, d1 = lseek(fd, h0, SEEK_DATA));
		VC_REQUIRE(v, d1 > h0 && d1 <= MIB, "data after the hole at %lld, hole at %lld",
			   (long long)d1, (long long)h0);
	}
	VC_REQUIRE(v, lseek(fd, MIB + 100, SEEK_DATA) == MIB + 100, "SEEK_DATA inside data moved");
	VC_REQUIRE(v, lseek(fd, MIB + 100, SEEK_HOLE) == size, "SEEK_HOLE in the last data is not EOF");
	VC_ERRNO(v, lseek(fd, size, SEEK_DATA), ENXIO);
	VC_ERRNO(v, lseek(fd, size + 10, SEEK_HOLE), ENXIO);
	vc_info("seek_hole: first hole at %lld of %lld (%s)", (long long)h0, (long long)size,
		h0 < MIB ? "the host reports holes" : "no holes reported");
	if (vc_expect_zeros(v, fd, 4096, MIB - 4096))
		return -1;
	VC_SYS(v, close(fd));
	return 0;
}

/* copy_file_range from an offset of one file into another: same bytes, exact size. */
static int check_copy_file_range(struct vc *v)
{
	const size_t srclen = 200000, n = 150000;
	loff_t in = 1000, out = 0;
	unsigned char *want;
	size_t done = 0;
	int src, dst, rc;

	want = malloc(srclen);
	VC_REQUIRE(v, want, "out of memory");
	vc_pattern(want, srclen, 0, 77);
	rc = vc_make_file(v, "cfr-src.bin", want, srclen);
	free(want);
	if (rc)
		return -1;
	VC_SYS(v, src = open("cfr-src.bin", O_RDONLY));
	VC_SYS(v, dst = open("cfr-dst.bin", O_CREAT | O_EXCL | O_WRONLY, 0644));
	while (done < n) {
		ssize_t got = copy_file_range(src, &in, dst, &out, n - done, 0);

		VC_REQUIRE(v, got > 0, "copy_file_range after %zu bytes: %zd (%s)", done, got,
			   got < 0 ? vc_errname(errno) : "no progress");
		done += (size_t)got;
	}
	VC_REQUIRE(v, in == 1000 + (loff_t)n && out == (loff_t)n, "offsets %lld/%lld after the copy",
		   (long long)in, (long long)out);
	VC_SYS(v, close(src));
	VC_SYS(v, close(dst));
	want = malloc(n);
	VC_REQUIRE(v, want, "out of memory");
	vc_pattern(want, n, 1000, 77);
	rc = vc_expect_file(v, "cfr-dst.bin", want, n);
	free(want);
	return rc;
}

static int check_statfs(struct vc *v)
{
	struct statfs a, b;
	int fd;

	VC_SYS(v, statfs(".", &a));
	VC_REQUIRE(v, a.f_type == FUSE_SUPER_MAGIC_, "f_type 0x%lx is not FUSE's",
		   (unsigned long)a.f_type);
	VC_REQUIRE(v, a.f_bsize > 0 && a.f_blocks > 0 && a.f_namelen > 0,
		   "f_bsize %ld f_blocks %llu f_namelen %ld", (long)a.f_bsize,
		   (unsigned long long)a.f_blocks, (long)a.f_namelen);
	VC_REQUIRE(v, a.f_bfree <= a.f_blocks && a.f_bavail <= a.f_bfree,
		   "f_bfree %llu f_bavail %llu f_blocks %llu", (unsigned long long)a.f_bfree,
		   (unsigned long long)a.f_bavail, (unsigned long long)a.f_blocks);
	VC_SYS(v, fd = open(".", O_RDONLY | O_DIRECTORY));
	VC_SYS(v, fstatfs(fd, &b));
	VC_SYS(v, close(fd));
	VC_REQUIRE(v, b.f_type == a.f_type && b.f_blocks == a.f_blocks && b.f_bsize == a.f_bsize,
		   "fstatfs and statfs disagree");
	return 0;
}

/* fsync, fdatasync, fsync of a directory (FSYNCDIR) and syncfs (SYNCFS) all succeed. */
static int check_fsync(struct vc *v)
{
	int fd, dfd;

	VC_SYS(v, fd = open("fsync.txt", O_CREAT | O_EXCL | O_WRONLY, 0644));
	if (vc_write_all(v, fd, "durable\n", 8))
		return -1;
	VC_SYS(v, fsync(fd));
	if (vc_write_all(v, fd, "again\n", 6))
		return -1;
	VC_SYS(v, fdatasync(fd));
	VC_SYS(v, dfd = open(".", O_RDONLY | O_DIRECTORY));
	VC_SYS(v, fsync(dfd));
	VC_SYS(v, syncfs(fd));
	VC_SYS(v, close(dfd));
	VC_SYS(v, close(fd));
	return vc_expect_file(v, "fsync.txt", "durable\nagain\n", 14);
}

/* 8 MiB in 1 MiB write(2)s, read back (caches dropped) in odd-sized reads, checksummed. */
static int check_large_file(struct vc *v)
{
	long t0 = vc_now_ms(), t1;

	if (vc_write_pattern_file(v, "large.bin", 8 * MIB, MIB))
		return -1;
	t1 = vc_now_ms();
	vc_drop_caches();
	if (vc_verify_pattern_file(v, "large.bin", 8 * MIB, 300000))
		return -1;
	vc_info("large_file: 8 MiB written in %ld ms, read in %ld ms", t1 - t0, vc_now_ms() - t1);
	return 0;
}

/* One of the parallel readers: its own descriptor, every 64 KiB block twice, verified. */
struct reader {
	const char *path;
	int flags;
	bool backward;
	pthread_barrier_t *start;
	char why[200];
};

static void *reader_main(void *arg)
{
	const size_t block = 64 * KIB, nblocks = 4 * MIB / block;
	struct reader *r = arg;
	void *buf = NULL;
	size_t i;
	int fd = open(r->path, O_RDONLY | r->flags);

	if (fd < 0 || posix_memalign(&buf, 4096, block) != 0)
		snprintf(r->why, sizeof(r->why), "open/alloc: %s", vc_errname(errno));
	pthread_barrier_wait(r->start);
	for (i = 0; i < 2 * nblocks && !r->why[0]; i++) {
		size_t b = r->backward ? nblocks - 1 - i % nblocks : i % nblocks;
		ssize_t n = pread(fd, buf, block, (off_t)(b * block));
		long bad = n == (ssize_t)block ?
			vc_pattern_mismatch(buf, block, b * block, vc_seed(r->path)) : -1;

		if (n != (ssize_t)block)
			snprintf(r->why, sizeof(r->why), "pread of block %zu: %zd (%s)", b, n,
				 n < 0 ? vc_errname(errno) : "short");
		else if (bad >= 0)
			snprintf(r->why, sizeof(r->why), "wrong data at offset %ld", bad);
	}
	free(buf);
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* Two threads read one file at once, one through the page cache forwards, one with
 * O_DIRECT backwards (every read a server round trip), each checking every byte. */
static int check_parallel_read(struct vc *v)
{
	pthread_barrier_t start;
	struct reader r[2] = {
		{ .path = "parallel.bin", .flags = 0, .backward = false, .start = &start },
		{ .path = "parallel.bin", .flags = O_DIRECT, .backward = true, .start = &start },
	};
	pthread_t t[2];
	int i, err;

	if (vc_write_pattern_file(v, "parallel.bin", 4 * MIB, MIB))
		return -1;
	vc_drop_caches();
	pthread_barrier_init(&start, NULL, 2);
	for (i = 0; i < 2; i++) {
		err = pthread_create(&t[i], NULL, reader_main, &r[i]);
		VC_REQUIRE(v, err == 0, "pthread_create: %s", vc_errname(err));
	}
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&start);
	for (i = 0; i < 2; i++)
		VC_REQUIRE(v, !r[i].why[0], "reader %d (%s): %s", i, i ? "O_DIRECT" : "cached",
			   r[i].why);
	return 0;
}

/* For the host: fixed content the end-to-end case compares on its side of the share. */
static int check_host_visible(struct vc *v)
{
	static const char text[] = "written by the guest through virtio-fs\n";

	VC_SYS(v, mkdir("visible.d", 0755));
	if (vc_make_file(v, "visible.txt", text, strlen(text)) ||
	    vc_make_file(v, "visible.d/inner.txt", "inner\n", 6))
		return -1;
	return vc_expect_file(v, "visible.txt", text, strlen(text));
}

const struct vc_check vc_data_checks[] = {
	{ "create_write_read", check_create_write_read },
	{ "pread_pwrite", check_pread_pwrite },
	{ "append", check_append },
	{ "truncate", check_truncate },
	{ "ftruncate", check_ftruncate },
	{ "mmap_shared_write", check_mmap_shared_write },
	{ "mmap_read", check_mmap_read },
	{ "fallocate", check_fallocate },
	{ "seek_data_hole", check_seek_hole },
	{ "copy_file_range", check_copy_file_range },
	{ "statfs", check_statfs },
	{ "fsync", check_fsync },
	{ "large_file", check_large_file },
	{ "parallel_read", check_parallel_read },
	{ "host_visible", check_host_visible },
	{ NULL, NULL },
};

/*
 * dax_check.c: guest-side DAX checks for tests/e2e/cases_dax.sh. Static, no libmicrovm.
 * Each command prints "DAXCHECK ok NAME" or "DAXCHECK not ok NAME: why" and exits 0/1.
 *   dax_check mounted MNT                     /proc/mounts shows MNT with a dax option
 *   dax_check rw FILE                         shared RW mapping: sees the host's bytes,
 *                                             stores "GUEST-STORE" at 4096+10, msync, fsync
 *   dax_check wait FILE OFF TEXT SECS         the mapping shows TEXT at OFF within SECS
 *   dax_check truncate FILE                   sizes follow ftruncate; SIGBUS past EOF
 *   dax_check readinto DAXFILE SRC DST        read() SRC into a DAX-mapped buffer, write()
 *                                             it to DST (virtqueue buffers in the window)
 *   dax_check readonly FILE                   write mapping refused, read mapping works
 *   dax_check pingpong FILE MYOFF MYTEXT PEEROFF PEERTEXT SECS   two VMs, one file
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PG 4096L

static const char *check_name = "?";

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;

	printf("DAXCHECK not ok %s: ", check_name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(" (errno %s)\n", strerror(errno));
	return 1;
}

static int ok(void)
{
	printf("DAXCHECK ok %s\n", check_name);
	return 0;
}

static void *map(const char *path, int oflags, int prot, size_t len, int *fdp)
{
	int fd = open(path, oflags | O_CLOEXEC);
	void *p;

	if (fd < 0)
		return NULL;
	p = mmap(NULL, len, prot, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		close(fd);
		return NULL;
	}
	*fdp = fd;
	return p;
}

static int cmd_mounted(const char *mnt)
{
	char line[1024], dev[256], dir[512], type[64], opts[512];
	FILE *f = fopen("/proc/mounts", "r");

	if (!f)
		return fail("no /proc/mounts");
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%255s %511s %63s %511s", dev, dir, type, opts) != 4)
			continue;
		if (strcmp(dir, mnt) == 0 && strcmp(type, "virtiofs") == 0) {
			printf("DAXINFO mount: %s", line);
			fclose(f);
			return strstr(opts, "dax") ? ok() : fail("options '%s' lack dax", opts);
		}
	}
	fclose(f);
	return fail("%s is not a virtiofs mount", mnt);
}

static int cmd_rw(const char *path)
{
	int fd;
	char *p = map(path, O_RDWR, PROT_READ | PROT_WRITE, 3 * PG, &fd);

	if (!p)
		return fail("mmap %s", path);
	if (memcmp(p, "HOST-DATA-0", 11) != 0 || memcmp(p + 2 * PG, "HOST-DATA-2", 11) != 0)
		return fail("the mapping does not show the host's bytes: '%.11s'", p);
	memcpy(p + PG + 10, "GUEST-STORE", 11);
	if (msync(p, 3 * PG, MS_SYNC) != 0 || fsync(fd) != 0)
		return fail("msync/fsync");
	munmap(p, 3 * PG);
	close(fd);
	return ok();
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Polls the mapping (no syscalls in between: the store must arrive by itself). */
static int wait_text(volatile const char *p, const char *text, double secs)
{
	double end = now() + secs;
	size_t n = strlen(text), i;

	while (now() < end) {
		for (i = 0; i < n && p[i] == text[i]; i++)
			;
		if (i == n)
			return 0;
		usleep(10000);
	}
	return -1;
}

static int cmd_wait(const char *path, long off, const char *text, double secs)
{
	int fd;
	char *p = map(path, O_RDONLY, PROT_READ, (size_t)(off + PG), &fd);

	if (!p)
		return fail("mmap %s", path);
	/* The host script waits for this line before it writes. */
	printf("DAXINFO waiting\n");
	fflush(stdout);
	if (wait_text(p + off, text, secs))
		return fail("'%s' did not appear at %ld within %.0f s: '%.16s'", text, off, secs,
			    p + off);
	return ok();
}

static sigjmp_buf bus_jmp;

static void on_sigbus(int sig)
{
	siglongjmp(bus_jmp, sig);
}

/* 1 when reading p raises SIGBUS. */
static int raises_sigbus(volatile const char *p)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	volatile int got = 0;

	sigaction(SIGBUS, &sa, &old);
	if (sigsetjmp(bus_jmp, 1) == 0)
		(void)*p;
	else
		got = 1;
	sigaction(SIGBUS, &old, NULL);
	return got;
}

static int cmd_truncate(const char *path)
{
	int fd;
	char *p = map(path, O_RDWR, PROT_READ | PROT_WRITE, 4 * PG, &fd);
	struct stat st;
	char buf[8];

	if (!p)
		return fail("mmap %s", path);
	memset(p, 'x', 4 * PG);
	if (ftruncate(fd, PG + 100) != 0 || fstat(fd, &st) != 0 || st.st_size != PG + 100)
		return fail("ftruncate down: size %lld", (long long)st.st_size);
	if (p[PG + 99] != 'x' || p[PG + 100] != 0)
		return fail("the kept page changed or its tail is not zero");
	if (!raises_sigbus(p + 3 * PG))
		return fail("no SIGBUS past the new end of file");
	if (ftruncate(fd, 4 * PG) != 0 || fstat(fd, &st) != 0 || st.st_size != 4 * PG)
		return fail("ftruncate up");
	if (raises_sigbus(p + 3 * PG) || p[3 * PG] != 0)
		return fail("the regrown page is not zero-filled and readable");
	if (pread(fd, buf, 1, 2 * PG) != 1 || buf[0] != 0)
		return fail("read() of the regrown part");
	memcpy(p + 3 * PG, "TAIL", 4);
	if (fsync(fd) != 0)
		return fail("fsync");
	munmap(p, 4 * PG);
	close(fd);
	return ok();
}

static int cmd_readinto(const char *dax, const char *src, const char *dst)
{
	int fd, s, d;
	char *p = map(dax, O_RDWR, PROT_READ | PROT_WRITE, 2 * PG, &fd);
	ssize_t n;

	if (!p)
		return fail("mmap %s", dax);
	s = open(src, O_RDONLY | O_CLOEXEC);
	d = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (s < 0 || d < 0)
		return fail("open %s / %s", src, dst);
	n = read(s, p, 2 * PG); /* the device writes straight into the DAX window */
	if (n != 2 * PG)
		return fail("read into the DAX buffer gave %zd", n);
	memcpy(p, "VIA-WINDOW", 10);
	n = write(d, p, 2 * PG); /* and reads out of it */
	if (n != 2 * PG)
		return fail("write from the DAX buffer gave %zd", n);
	if (fsync(fd) != 0 || close(d) != 0)
		return fail("fsync/close");
	munmap(p, 2 * PG);
	close(fd);
	close(s);
	return ok();
}

static int cmd_readonly(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	char *p;

	if (fd >= 0 || errno != EROFS)
		return fail("open O_RDWR on a read-only share gave %d", fd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail("open O_RDONLY");
	p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p != MAP_FAILED || errno != EACCES)
		return fail("a shared write mapping of a read-only file was not refused with EACCES");
	p = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return fail("read mapping");
	if (memcmp(p, "HOST-DATA-0", 11) != 0)
		return fail("read mapping shows '%.11s'", p);
	munmap(p, PG);
	/* A private writable mapping is the guest's own copy: allowed, the host file unchanged. */
	p = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return fail("private mapping");
	memcpy(p, "PRIVATE", 7);
	munmap(p, PG);
	close(fd);
	return ok();
}

static int cmd_pingpong(const char *path, long myoff, const char *mine, long peeroff,
			const char *peer, double secs)
{
	long len = (myoff > peeroff ? myoff : peeroff) + PG;
	int fd;
	char *p = map(path, O_RDWR, PROT_READ | PROT_WRITE, (size_t)len, &fd);

	if (!p)
		return fail("mmap %s", path);
	memcpy(p + myoff, mine, strlen(mine));
	if (wait_text(p + peeroff, peer, secs))
		return fail("the other VM's '%s' did not appear within %.0f s", peer, secs);
	/* Stay mapped a little, so the other VM sees our store even if it started late. */
	sleep(3);
	munmap(p, (size_t)len);
	close(fd);
	return ok();
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3)
		return fprintf(stderr, "usage: see the comment at the top of dax_check.c\n"), 2;
	check_name = argv[1];
	if (strcmp(argv[1], "mounted") == 0)
		return cmd_mounted(argv[2]);
	if (strcmp(argv[1], "rw") == 0)
		return cmd_rw(argv[2]);
	if (strcmp(argv[1], "wait") == 0 && argc == 6)
		return cmd_wait(argv[2], atol(argv[3]), argv[4], atof(argv[5]));
	if (strcmp(argv[1], "truncate") == 0)
		return cmd_truncate(argv[2]);
	if (strcmp(argv[1], "readinto") == 0 && argc == 5)
		return cmd_readinto(argv[2], argv[3], argv[4]);
	if (strcmp(argv[1], "readonly") == 0)
		return cmd_readonly(argv[2]);
	if (strcmp(argv[1], "pingpong") == 0 && argc == 8)
		return cmd_pingpong(argv[2], atol(argv[3]), argv[4], atol(argv[5]), argv[6],
				    atof(argv[7]));
	fprintf(stderr, "dax_check: bad arguments\n");
	return 2;
}

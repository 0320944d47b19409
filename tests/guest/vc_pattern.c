/* vc_pattern.c: the position-dependent byte pattern of vfs_check's data files, and checksums. */
#include "vfs_check.h"
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

uint64_t vc_fnv1a(uint64_t h, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len--) {
		h ^= *p++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* The seed is the base name's hash, so the host can verify a file knowing only its name. */
uint32_t vc_seed(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	return (uint32_t)vc_fnv1a(VC_FNV_INIT, base, strlen(base));
}

/* Each byte depends on its offset, so data written to or read from the wrong place (a
 * shifted chunk, a repeated page) never matches; the seed tells files apart. */
static inline unsigned char vc_pattern_byte(uint64_t off, uint32_t seed)
{
	uint64_t x = ((off >> 3) + 1) * 0x9e3779b97f4a7c15ULL + seed;

	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 32;
	return (unsigned char)(x >> (8 * (off & 7)));
}

void vc_pattern(void *buf, size_t len, uint64_t off, uint32_t seed)
{
	unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = vc_pattern_byte(off + i, seed);
}

long vc_pattern_mismatch(const void *buf, size_t len, uint64_t off, uint32_t seed)
{
	const unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != vc_pattern_byte(off + i, seed))
			return (long)(off + i);
	return -1;
}

/* Write SIZE bytes of PATH's pattern in CHUNK-sized write() calls, then fsync. */
int vc_write_pattern_file(struct vc *v, const char *path, size_t size, size_t chunk)
{
	uint32_t seed = vc_seed(path);
	char *buf = malloc(chunk);
	size_t off;
	int fd, rc = 0;

	VC_REQUIRE(v, buf, "out of memory");
	fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
	if (fd < 0) {
		free(buf);
		return vc_fail(v, "create %s: %s", path, vc_errname(errno));
	}
	for (off = 0; off < size && rc == 0; off += chunk) {
		size_t n = size - off < chunk ? size - off : chunk;

		vc_pattern(buf, n, off, seed);
		rc = vc_write_all(v, fd, buf, n);
	}
	if (rc == 0 && fsync(fd) != 0)
		rc = vc_fail(v, "fsync %s: %s", path, vc_errname(errno));
	if (close(fd) != 0 && rc == 0)
		rc = vc_fail(v, "close %s: %s", path, vc_errname(errno));
	free(buf);
	return rc;
}

/* Check N bytes read at OFF against the pattern and fold both into the checksums. */
static int verify_chunk(struct vc *v, const char *path, const char *buf, char *ref, size_t n,
			size_t off, uint64_t *got, uint64_t *want)
{
	uint32_t seed = vc_seed(path);
	long bad = vc_pattern_mismatch(buf, n, off, seed);

	VC_REQUIRE(v, bad < 0, "%s: wrong data at offset %ld", path, bad);
	vc_pattern(ref, n, off, seed);
	*want = vc_fnv1a(*want, ref, n);
	*got = vc_fnv1a(*got, buf, n);
	return 0;
}

/* Read PATH in CHUNK-sized read() calls: exactly SIZE bytes of its pattern, then EOF. The
 * checksum of what was read must equal the checksum of the pattern. */
int vc_verify_pattern_file(struct vc *v, const char *path, size_t size, size_t chunk)
{
	uint64_t want = VC_FNV_INIT, got = VC_FNV_INIT;
	char *buf = malloc(chunk), *ref = malloc(chunk);
	size_t off = 0;
	ssize_t n = -1;
	int fd = -1, rc = 0;

	if (!buf || !ref)
		rc = vc_fail(v, "out of memory");
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		rc = vc_fail(v, "open %s: %s", path, vc_errname(errno));
	while (rc == 0 && (n = read(fd, buf, chunk)) > 0) {
		if (off + (size_t)n > size)
			rc = vc_fail(v, "%s is longer than %zu bytes", path, size);
		else
			rc = verify_chunk(v, path, buf, ref, (size_t)n, off, &got, &want);
		off += (size_t)n;
	}
	if (rc == 0 && n < 0)
		rc = vc_fail(v, "read %s at %zu: %s", path, off, vc_errname(errno));
	if (rc == 0 && off != size)
		rc = vc_fail(v, "%s: %zu bytes before end of file, expected %zu", path, off, size);
	if (rc == 0 && got != want)
		rc = vc_fail(v, "%s: checksum %016llx, expected %016llx", path,
			     (unsigned long long)got, (unsigned long long)want);
	if (fd >= 0)
		close(fd);
	free(buf);
	free(ref);
	return rc;
}

/* fuse_cursor.c: a bounded cursor over a request's iovecs: copy in/out, strings, data slices. */
#include <errno.h>
#include <string.h>
#include "fuse_internal.h"

size_t fuse_iov_total(const struct iovec *iov, unsigned n)
{
	size_t total = 0;

	for (unsigned i = 0; i < n; i++) {
		if (iov[i].iov_len > SIZE_MAX - total)
			return SIZE_MAX;
		total += iov[i].iov_len;
	}
	return total;
}

void fuse_cur_init(struct fuse_cur *c, const struct iovec *iov, unsigned n, size_t bound)
{
	size_t total = fuse_iov_total(iov, n);

	c->iov = iov;
	c->niov = n;
	c->off = 0;
	c->left = total < bound ? total : bound;
}

/* Steps past empty or finished iovecs so iov[0] has bytes at off (when left > 0). */
static void cur_settle(struct fuse_cur *c)
{
	while (c->niov > 0 && c->off >= c->iov[0].iov_len) {
		c->iov++;
		c->niov--;
		c->off = 0;
	}
}

/* Moves up to len bytes between the cursor and buf (to_cur: buf -> iovecs). */
static void cur_copy(struct fuse_cur *c, void *buf, size_t len, bool to_cur)
{
	char *p = buf;

	while (len > 0) {
		cur_settle(c);
		size_t chunk = c->iov[0].iov_len - c->off;
		char *base = (char *)c->iov[0].iov_base + c->off;

		if (chunk > len)
			chunk = len;
		if (to_cur)
			memcpy(base, p, chunk);
		else if (p)
			memcpy(p, base, chunk);
		if (p)
			p += chunk;
		c->off += chunk;
		c->left -= chunk;
		len -= chunk;
	}
}

int fuse_cur_read(struct fuse_cur *c, void *dst, size_t len)
{
	if (len > c->left)
		return -EINVAL;
	cur_copy(c, dst, len, false);
	return 0;
}

int fuse_cur_skip(struct fuse_cur *c, size_t len)
{
	if (len > c->left)
		return -EINVAL;
	cur_copy(c, NULL, len, false);
	return 0;
}

int fuse_cur_write(struct fuse_cur *c, const void *src, size_t len)
{
	if (len > c->left)
		return -EOVERFLOW;
	cur_copy(c, (void *)src, len, true);
	return 0;
}

int fuse_cur_string(struct fuse_cur *c, char *buf, size_t size, size_t *len)
{
	struct fuse_cur probe = *c;
	size_t n = 0;

	/* Find the NUL first, so a failure consumes nothing. */
	while (probe.left > 0) {
		cur_settle(&probe);
		size_t chunk = probe.iov[0].iov_len - probe.off;
		const char *base = (const char *)probe.iov[0].iov_base + probe.off;

		if (chunk > probe.left)
			chunk = probe.left;
		const char *nul = memchr(base, '\0', chunk);
		if (nul) {
			n += (size_t)(nul - base);
			if (n + 1 > size)
				return -ENAMETOOLONG;
			cur_copy(c, buf, n + 1, false);
			*len = n;
			return 0;
		}
		n += chunk;
		probe.off += chunk;
		probe.left -= chunk;
	}
	return -EINVAL;
}

size_t fuse_cur_slices(struct fuse_cur *c, size_t len, struct iovec *dst, unsigned max,
		       unsigned *count)
{
	size_t done = 0;
	unsigned k = 0;

	if (len > c->left)
		len = c->left;
	while (done < len && k < max) {
		cur_settle(c);
		size_t chunk = c->iov[0].iov_len - c->off;

		if (chunk > len - done)
			chunk = len - done;
		dst[k].iov_base = (char *)c->iov[0].iov_base + c->off;
		dst[k].iov_len = chunk;
		k++;
		c->off += chunk;
		c->left -= chunk;
		done += chunk;
	}
	*count = k;
	return done;
}

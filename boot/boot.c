/* boot.c: open the kernel file, tell a bzImage from an ELF vmlinux, and hand it to its loader. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "boot_internal.h"

/* The setup header's "HdrS" magic, at this offset in every bzImage since protocol 2.00. */
#define BZ_MAGIC_OFFSET 0x202
#define BZ_MAGIC "HdrS"

int boot_fail(struct boot_ctx *ctx, int rc, const char *fmt, ...)
{
	va_list ap;

	if (ctx->err && ctx->errlen) {
		va_start(ap, fmt);
		vsnprintf(ctx->err, ctx->errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

int boot_pread(int fd, void *buf, uint64_t len, uint64_t off)
{
	uint8_t *p = buf;
	ssize_t n;

	while (len) {
		/* Bounded chunks: pread may return less than asked on large requests anyway. */
		n = pread(fd, p, len > (1U << 30) ? (1U << 30) : len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO; /* the file shrank after we checked its size */
		p += n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

int boot_file_to_guest(struct boot_ctx *ctx, int fd, uint64_t off, uint64_t gpa,
		       uint64_t len, const char *what)
{
	void *host = gm_translate(ctx->mem, gpa, len);
	int ret;

	if (!host)
		return boot_fail(ctx, -E2BIG, "%s at [0x%llx, 0x%llx) is not inside guest RAM", what,
				 (unsigned long long)gpa, (unsigned long long)(gpa + len));
	ret = boot_pread(fd, host, len, off);
	if (ret)
		return boot_fail(ctx, ret, "reading %s: %s", what, strerror(-ret));
	return 0;
}

static int boot_open_kernel(struct boot_ctx *ctx)
{
	struct stat st;
	int ret;

	ctx->fd = open(ctx->req->kernel_path, O_RDONLY | O_CLOEXEC);
	if (ctx->fd < 0)
		return boot_fail(ctx, -errno, "cannot open kernel %s: %s", ctx->req->kernel_path,
				 strerror(errno));
	if (fstat(ctx->fd, &st) < 0) {
		ret = -errno;
		return boot_fail(ctx, ret, "cannot stat kernel %s: %s", ctx->req->kernel_path,
				 strerror(-ret));
	}
	if (!S_ISREG(st.st_mode))
		return boot_fail(ctx, -ENOEXEC, "kernel %s is not a regular file",
				 ctx->req->kernel_path);
	ctx->file_size = (uint64_t)st.st_size;
	return 0;
}

/*
 * The loaders' format errors (-ENOEXEC) describe the image ("bzImage truncated: ...")
 * without its name; the user needs to know which file was refused.
 */
static int boot_name_kernel(struct boot_ctx *ctx, int rc)
{
	char msg[256];

	if (rc != -ENOEXEC || !ctx->err || !ctx->errlen || strstr(ctx->err, ctx->req->kernel_path))
		return rc;
	snprintf(msg, sizeof(msg), "%s", ctx->err);
	return boot_fail(ctx, rc, "kernel %s: %s", ctx->req->kernel_path, msg);
}

static int boot_dispatch(struct boot_ctx *ctx, struct boot_cpu_state *entry)
{
	uint8_t head[BOOT_HEAD_BYTES];
	size_t len = ctx->file_size < sizeof(head) ? (size_t)ctx->file_size : sizeof(head);
	int ret;

	ret = boot_pread(ctx->fd, head, len, 0);
	if (ret)
		return boot_fail(ctx, ret, "reading kernel %s: %s", ctx->req->kernel_path,
				 strerror(-ret));
	if (len >= SELFMAG && memcmp(head, ELFMAG, SELFMAG) == 0)
		return boot_name_kernel(ctx, boot_elf_load(ctx, head, len, entry));
	if (len >= BZ_MAGIC_OFFSET + 4 && memcmp(head + BZ_MAGIC_OFFSET, BZ_MAGIC, 4) == 0)
		return boot_name_kernel(ctx, boot_bzimage_load(ctx, head, len, entry));
	return boot_fail(ctx, -ENOEXEC, "%s is neither a bzImage nor an ELF kernel",
			 ctx->req->kernel_path);
}

int boot_load(struct guest_memory *mem, const struct boot_request *req,
	      struct boot_cpu_state *entry, char *err, size_t errlen)
{
	struct boot_ctx ctx = {
		.mem = mem, .req = req, .fd = -1, .err = err, .errlen = errlen,
	};
	int ret;

	if (err && errlen)
		err[0] = '\0';
	memset(entry, 0, sizeof(*entry));
	if (!req->kernel_path)
		return boot_fail(&ctx, -EINVAL, "no kernel given");
	ret = boot_open_kernel(&ctx);
	if (ret == 0)
		ret = boot_dispatch(&ctx, entry);
	if (ctx.fd >= 0)
		close(ctx.fd);
	if (ret == 0)
		entry->rsp = LAYOUT_BOOT_STACK_ADDR;
	return ret;
}

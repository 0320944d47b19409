/* memory.c: guest RAM allocation around the 32-bit MMIO hole and checked address translation. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include "layout.h"
#include "memory.h"

static int gm_add_region(struct guest_memory *mem, uint64_t gpa, uint64_t size)
{
	struct guest_region *r = &mem->region[mem->nregions];
	void *host;

	/* NORESERVE: guest RAM is touched lazily; a 4 GiB guest that uses 100 MiB costs 100 MiB. */
	host = mmap(NULL, size, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (host == MAP_FAILED)
		return -errno;
	r->gpa = gpa;
	r->size = size;
	r->host = host;
	mem->nregions++;
	return 0;
}

int gm_create(struct guest_memory *mem, uint64_t ram_bytes)
{
	uint64_t low = ram_bytes;
	int ret;

	memset(mem, 0, sizeof(*mem));
	if (ram_bytes == 0 || (ram_bytes & 0xfff))
		return -EINVAL;
	if (low > LAYOUT_MMIO_HOLE_START)
		low = LAYOUT_MMIO_HOLE_START;
	ret = gm_add_region(mem, 0, low);
	if (ret == 0 && ram_bytes > low)
		ret = gm_add_region(mem, LAYOUT_MMIO_HOLE_END, ram_bytes - low);
	if (ret) {
		gm_destroy(mem);
		return ret;
	}
	mem->ram_bytes = ram_bytes;
	return 0;
}

void gm_init_from_buffer(struct guest_memory *mem, void *buf, uint64_t size)
{
	memset(mem, 0, sizeof(*mem));
	mem->nregions = 1;
	mem->region[0].gpa = 0;
	mem->region[0].size = size;
	mem->region[0].host = buf;
	mem->ram_bytes = size;
}

void gm_destroy(struct guest_memory *mem)
{
	unsigned i;

	for (i = 0; i < mem->nregions; i++)
		munmap(mem->region[i].host, mem->region[i].size);
	memset(mem, 0, sizeof(*mem));
}

void *gm_translate(const struct guest_memory *mem, uint64_t gpa, uint64_t len)
{
	unsigned i;

	for (i = 0; i < mem->nregions; i++) {
		const struct guest_region *r = &mem->region[i];

		/* Written so that no expression can overflow for any gpa and len. */
		if (gpa < r->gpa || gpa - r->gpa >= r->size)
			continue;
		if (len > r->size - (gpa - r->gpa))
			return NULL;
		return r->host + (gpa - r->gpa);
	}
	return NULL;
}

int gm_write(const struct guest_memory *mem, uint64_t gpa, const void *src, uint64_t len)
{
	void *dst = gm_translate(mem, gpa, len);

	if (!dst)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

int gm_read(const struct guest_memory *mem, uint64_t gpa, void *dst, uint64_t len)
{
	const void *src = gm_translate(mem, gpa, len);

	if (!src)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

uint64_t gm_low_ram_end(const struct guest_memory *mem)
{
	uint64_t end = 0;
	unsigned i;

	for (i = 0; i < mem->nregions; i++) {
		const struct guest_region *r = &mem->region[i];

		if (r->gpa < LAYOUT_MMIO_HOLE_END && r->gpa + r->size > end)
			end = r->gpa + r->size;
	}
	return end;
}

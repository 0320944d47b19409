/* shares.c: building the virtio-fs devices of the configured shares and naming them to the guest. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "layout.h"
#include "shares.h"

static int shares_create_one(struct shares *s, const struct share_config *sc, struct vm *vm,
			     char *err, size_t errlen)
{
	unsigned i = s->n;
	struct fuse_server_config fcfg = {
		.shared_dir = sc->path,
		.readonly = sc->readonly,
		.cache = sc->cache,
	};
	struct vfs_device_config dcfg = { .tag = sc->tag, .request_queues = sc->queues };
	struct acpi_mmio_device *a = &s->acpi[i];
	int ret;

	if (sc->dax_window) {
		/* Refused rather than ignored: a guest mounting with -o dax would fail oddly. */
		snprintf(err, errlen, "share %s: dax_window: the DAX window is not implemented yet",
			 sc->tag);
		return -ENOTSUP;
	}
	a->base = LAYOUT_VIRTIO_MMIO_BASE + i * LAYOUT_VIRTIO_MMIO_SIZE;
	a->size = LAYOUT_VIRTIO_MMIO_SIZE;
	a->gsi = LAYOUT_VIRTIO_GSI_BASE + i;
	ret = fuse_server_create(&fcfg, &s->server[i]);
	if (ret) {
		snprintf(err, errlen, "share %s: cannot serve %s: %s", sc->tag, sc->path,
			 strerror(-ret));
		return ret;
	}
	dcfg.server = s->server[i];
	ret = vfs_device_init(&s->dev[i], &dcfg, &vm->mem, a->base, a->gsi);
	s->n++; /* from here on shares_destroy cleans this one up */
	if (ret == 0)
		ret = vmmio_register(&s->dev[i].transport, &vm->mmio);
	if (ret == 0)
		ret = vmmio_kvm_attach(&s->dev[i].transport, vm->vm_fd);
	if (ret)
		snprintf(err, errlen, "share %s: cannot create its virtio-fs device: %s", sc->tag,
			 strerror(-ret));
	return ret;
}

int shares_create(struct shares *s, const struct vm_config *cfg, struct vm *vm,
		  char *err, size_t errlen)
{
	unsigned i;
	int ret = 0;

	memset(s, 0, sizeof(*s));
	if (cfg->nshares > LAYOUT_VIRTIO_MAX_DEVICES)
		return -E2BIG;
	for (i = 0; i < cfg->nshares && ret == 0; i++)
		ret = shares_create_one(s, &cfg->shares[i], vm, err, errlen);
	return ret;
}

/* Where the kernel's own parameters end: at a "--" word, after which words go to init. */
static size_t cmdline_params_end(const char *cmdline)
{
	size_t len = strlen(cmdline);
	const char *p;

	for (p = cmdline; (p = strstr(p, "--")) != NULL; p += 2) {
		bool word_start = p == cmdline || p[-1] == ' ';
		bool word_end = p[2] == '\0' || p[2] == ' ';

		if (word_start && word_end)
			return (size_t)(p - cmdline);
	}
	return len;
}

char *shares_kernel_cmdline(const struct shares *s, const char *cmdline)
{
	size_t params = cmdline_params_end(cmdline);
	size_t len = strlen(cmdline) + 2 + s->n * 64;
	char *out = malloc(len);
	size_t used;
	unsigned i;

	if (!out)
		return NULL;
	/* Kernel parameters; the entries go before any "--" so init never sees them. */
	used = (size_t)snprintf(out, len, "%.*s", (int)params, cmdline);
	while (used > 0 && out[used - 1] == ' ')
		out[--used] = '\0';
	for (i = 0; i < s->n; i++)
		used += (size_t)snprintf(out + used, len - used, "%svirtio_mmio.device=4K@0x%llx:%u",
					 used ? " " : "", (unsigned long long)s->acpi[i].base,
					 s->acpi[i].gsi);
	if (cmdline[params])
		snprintf(out + used, len - used, "%s%s", used ? " " : "", cmdline + params);
	return out;
}

void shares_destroy(struct shares *s)
{
	unsigned i;

	for (i = 0; i < s->n; i++) {
		vfs_device_destroy(&s->dev[i]);
		fuse_server_destroy(s->server[i]);
	}
	s->n = 0;
}

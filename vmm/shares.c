/* shares.c: building the virtio-fs devices of the configured shares and naming them to the guest. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "layout.h"
#include "shares.h"

static uint64_t shares_align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* Where DAX windows start: above all RAM, never below 4 GiB, on a LAYOUT_DAX_ALIGN boundary. */
static uint64_t shares_dax_start(const struct guest_memory *mem)
{
	uint64_t end = LAYOUT_MMIO_HOLE_END;
	unsigned i;

	for (i = 0; i < mem->nregions; i++)
		if (mem->region[i].gpa + mem->region[i].size > end)
			end = mem->region[i].gpa + mem->region[i].size;
	return shares_align_up(end, LAYOUT_DAX_ALIGN);
}

/* The share's DAX window: reserved, a KVM memory slot of its own, faults handled (dax.c). */
static int shares_create_dax(struct shares *s, const struct share_config *sc, struct vm *vm,
			     char *err, size_t errlen)
{
	unsigned i = s->n;
	struct dax_window *w = &s->dax[i];
	int ret = dax_window_create(w, s->next_dax_gpa, sc->dax_window, sc->readonly);

	if (ret == 0) {
		ret = dax_window_attach_kvm(w, vm->vm_fd, LAYOUT_DAX_FIRST_SLOT + i);
		if (ret)
			dax_window_destroy(w);
	}
	if (ret) {
		snprintf(err, errlen, "share %s: cannot set up its %llu-byte DAX window: %s",
			 sc->tag, (unsigned long long)sc->dax_window, strerror(-ret));
		return ret;
	}
	s->next_dax_gpa = shares_align_up(w->gpa + w->len, LAYOUT_DAX_ALIGN);
	s->space.w[s->space.n++] = w;
	return 0;
}

static int shares_create_one(struct shares *s, const struct share_config *sc, const char *dir,
			     struct vm *vm, char *err, size_t errlen)
{
	unsigned i = s->n;
	struct fuse_server_config fcfg = {
		.shared_dir = dir,
		.tag = sc->tag,
		.readonly = sc->readonly,
		.cache = sc->cache,
	};
	struct vfs_device_config dcfg = { .tag = sc->tag, .request_queues = sc->queues,
					  .seccomp = s->seccomp,
					  .serve_on_vcpu = sc->serve_on_vcpu };
	struct acpi_mmio_device *a = &s->acpi[i];
	int ret;

	if (sc->dax_window) {
		ret = shares_create_dax(s, sc, vm, err, errlen);
		if (ret)
			return ret;
		fcfg.dax = &dax_fuse_ops;
		fcfg.dax_opaque = &s->dax[i];
		dcfg.dax = (struct vmmio_shm_region){ .base = s->dax[i].gpa, .len = s->dax[i].len };
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
	s->dax[i].server = s->server[i]; /* SETUPMAPPING opens files through it */
	ret = vfs_device_init(&s->dev[i], &dcfg, &vm->mem, a->base, a->gsi);
	s->n++; /* from here on shares_destroy cleans this one up */
	if (ret == 0)
		ret = vmmio_register(&s->dev[i].transport, &vm->mmio);
	if (ret == 0)
		ret = vmmio_kvm_attach(&s->dev[i].transport, vm->vm_fd, &vm->coalesced);
	if (ret)
		snprintf(err, errlen, "share %s: cannot create its virtio-fs device: %s", sc->tag,
			 strerror(-ret));
	return ret;
}

/*
 * Any queue's buffers may point into any window (a read() on one share into a user buffer
 * DAX-mapped from another), so every queue translates over the whole space; and a vCPU
 * that faults on a window gets it repaired rather than the VM stopped.
 */
static void shares_use_windows(struct shares *s, struct vm *vm)
{
	unsigned i, q;
	struct vq *vq;

	for (i = 0; i < s->n; i++)
		for (q = 0; (vq = vmmio_queue(&s->dev[i].transport, q)) != NULL; q++)
			vq_set_translator(vq, dax_translate, &s->space);
	vm->efault_repair = dax_space_repair;
	vm->efault_ctx = &s->space;
}

int shares_create(struct shares *s, const struct vm_config *cfg, const char *const *dirs,
		  struct vm *vm, char *err, size_t errlen)
{
	unsigned i;
	int ret = 0;

	memset(s, 0, sizeof(*s));
	s->seccomp = !cfg->seccomp_off;
	if (cfg->nshares > LAYOUT_VIRTIO_MAX_DEVICES)
		return -E2BIG;
	s->space.mem = &vm->mem;
	s->next_dax_gpa = shares_dax_start(&vm->mem);
	for (i = 0; i < cfg->nshares && ret == 0; i++)
		ret = shares_create_one(s, &cfg->shares[i], dirs ? dirs[i] : cfg->shares[i].path,
					vm, err, errlen);
	if (ret == 0 && s->space.n)
		shares_use_windows(s, vm);
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

char *shares_kernel_cmdline(const struct acpi_mmio_device *devs, unsigned n, const char *cmdline)
{
	size_t params = cmdline_params_end(cmdline);
	size_t len = strlen(cmdline) + 2 + n * 64;
	char *out = malloc(len);
	size_t used;
	unsigned i;

	if (!out)
		return NULL;
	/* Kernel parameters; the entries go before any "--" so init never sees them. */
	used = (size_t)snprintf(out, len, "%.*s", (int)params, cmdline);
	while (used > 0 && out[used - 1] == ' ')
		out[--used] = '\0';
	for (i = 0; i < n; i++)
		used += (size_t)snprintf(out + used, len - used, "%svirtio_mmio.device=4K@0x%llx:%u",
					 used ? " " : "", (unsigned long long)devs[i].base,
					 devs[i].gsi);
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
	/* After the workers are gone; mapped file pages stay in the host page cache. */
	for (i = 0; i < CONFIG_MAX_SHARES; i++)
		dax_window_destroy(&s->dax[i]);
	s->space.n = 0;
	s->n = 0;
}

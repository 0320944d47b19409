/* shares.h: one virtio-fs device (FUSE server + passthrough backend) per configured share. */
#ifndef MICROVM_SHARES_H
#define MICROVM_SHARES_H

#include <stddef.h>
#include "../boot/acpi.h"
#include "../devices/virtio_fs/dax.h"
#include "../devices/virtio_fs/device.h"
#include "config.h"
#include "vm.h"

struct shares {
	unsigned n;
	struct fuse_server *server[CONFIG_MAX_SHARES];
	struct vfs_device dev[CONFIG_MAX_SHARES];
	struct acpi_mmio_device acpi[CONFIG_MAX_SHARES]; /* what the DSDT describes */
	struct dax_window dax[CONFIG_MAX_SHARES];	 /* host == NULL: that share has none */
	struct dax_space space; /* RAM + every window: the queues' buffer translation */
	uint64_t next_dax_gpa;	/* where the next share's window goes (vmm/layout.h) */
	bool seccomp;		/* the devices' workers load their seccomp filter */
};

/*
 * Create the devices on vm's MMIO bus, wired to KVM ioeventfds and irqfds. dirs[i]: the
 * path to serve share i from (inside the sandbox: /shares/i); NULL: the configured paths.
 */
int shares_create(struct shares *s, const struct vm_config *cfg, const char *const *dirs,
		  struct vm *vm, char *err, size_t errlen) MUST_CHECK;
/*
 * cmdline plus a virtio_mmio.device= entry for each of the n devices (for kernels without
 * ACPI discovery), placed before any " -- " so that init never sees them.
 */
char *shares_kernel_cmdline(const struct acpi_mmio_device *devs, unsigned n, const char *cmdline);
void shares_destroy(struct shares *s);

#endif

/* dax.h: the virtio-fs DAX window: host file ranges mmapped into a KVM memory slot (shared memory region 0). */
#ifndef MICROVM_DAX_H
#define MICROVM_DAX_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/fuse.h>
#include "../../vmm/memory.h"
#include "../../vmm/util.h"
#include "dax_table.h"
#include "fuse_server.h"

/* Mapping granule: 4 KiB host pages. INIT answers map_alignment = log2 of it. */
#define DAX_PAGE_SHIFT 12U
#define DAX_PAGE_SIZE (1ULL << DAX_PAGE_SHIFT)
/* At most this many windows are live in one process (the fault handler's registry). */
#define DAX_MAX_WINDOWS 64U

/*
 * Lock order: `lock` is a leaf. The setup hook opens the file (backend locks) before
 * taking it; nothing else is called with it held.
 */
struct dax_window {
	uint64_t gpa, len;	  /* guest-physical base and size; fixed at create */
	uint8_t *host;		  /* the reservation: len bytes, never unmapped until destroy */
	bool readonly;		  /* refuse write mappings (a read-only share) */
	struct fuse_server *server; /* opens files for SETUPMAPPING; set before the guest runs */
	int registry;		  /* slot in the fault handler's registry, -1 none */
	pthread_mutex_t lock;
	struct dax_table table;	  /* protected by lock, and so are the host mappings */
	_Atomic unsigned long long setups, removes, repairs;
};

/* Every window a VM has plus its RAM: what a virtqueue buffer may point at. */
struct dax_space {
	const struct guest_memory *mem;
	unsigned n;
	struct dax_window *w[DAX_MAX_WINDOWS];
};

/* Reserve len bytes (a multiple of DAX_PAGE_SIZE) as PROT_NONE, for guest-physical gpa. */
MUST_CHECK int dax_window_create(struct dax_window *w, uint64_t gpa, uint64_t len, bool readonly);
/* Register the whole window as KVM memory slot `slot` once; mappings never touch it again. */
MUST_CHECK int dax_window_attach_kvm(struct dax_window *w, int vm_fd, unsigned slot);
/* Unmaps everything (the VM must be stopped: no vCPU or worker inside the window). */
void dax_window_destroy(struct dax_window *w);

/*
 * SETUPMAPPING with an open descriptor of the file: checks flags, alignment and bounds,
 * then mmap(MAP_SHARED|MAP_FIXED) replaces whatever the range held.
 * -EINVAL bad flags/alignment/length, -EROFS write mapping on a read-only window,
 * -ENXIO past the end of the window (or a file offset past what off_t holds).
 */
MUST_CHECK int dax_setup_fd(struct dax_window *w, int fd, uint64_t nodeid,
			    const struct fuse_setupmapping_in *in);
/* REMOVEMAPPING: every range checked first, then each becomes PROT_NONE anonymous memory. */
MUST_CHECK int dax_remove(struct dax_window *w, const struct fuse_removemapping_one *v,
			  uint32_t count);
/* msync(MS_SYNC) the writable mappings of nodeid (0: of every file). */
MUST_CHECK int dax_sync(struct dax_window *w, uint64_t nodeid);
/*
 * After KVM_RUN failed with EFAULT: a vCPU touched a part of the window with no valid host
 * page (a hole, or a file page past a host-side truncation). Each such part becomes
 * private zero memory. Returns the number of ranges changed (0: the fault was not ours).
 */
unsigned dax_repair(struct dax_window *w);

/* The fuse_dax_ops for the FUSE server; its opaque pointer is the struct dax_window. */
extern const struct fuse_dax_ops dax_fuse_ops;

/* vq_translate_fn over a struct dax_space: RAM first, then the windows (see dax.c). */
void *dax_translate(void *space, uint64_t gpa, uint64_t len);
/* dax_repair over every window of the space; the vCPU loop's EFAULT hook. */
unsigned dax_space_repair(void *space);

/* Pages the fault handler replaced under a VMM thread's access (all windows, process-wide). */
unsigned long long dax_fault_pages(void);

#endif

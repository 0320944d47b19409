/*
 * dax.c: the virtio-fs DAX window. The window is one host reservation (anonymous PROT_NONE,
 * MAP_NORESERVE) registered once as a KVM memory slot; SETUPMAPPING mmaps a host file range
 * over part of it with MAP_FIXED|MAP_SHARED, REMOVEMAPPING maps PROT_NONE anonymous memory
 * back, so the window never has a hole in the host address space and KVM follows every
 * change through its MMU notifier (crosvm's memory-mapping arena, libkrun's DAX).
 *
 * Faults. Nothing in the window is guaranteed to be readable: a hole is PROT_NONE, a file
 * page past a host-side truncation raises SIGBUS, a read-only mapping refuses stores.
 *  - vCPU: KVM_RUN fails with EFAULT (6.1 reports no address). The vCPU loop calls
 *    dax_space_repair, which turns every hole and every dead file tail into private zero
 *    memory and lets the guest carry on: stale reads see zeros, stores there are lost
 *    (the next SETUP/REMOVEMAPPING of the range replaces them). A fault nothing explains
 *    (repair changed nothing) still stops the VM, as any other KVM_RUN error does.
 *  - virtqueue buffers in the window (a guest read() into a DAX-mapped user buffer):
 *    dax_translate vouches for bounds only. File data moves with preadv/pwritev, where
 *    the kernel turns any of those faults into EFAULT, i.e. an error reply. A VMM thread
 *    that copies with memcpy (headers a hostile driver placed in the window) would take
 *    SIGSEGV/SIGBUS: the handler below maps a private zero page over the faulting page
 *    and lets the copy finish, instead of killing the VMM.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/kvm.h>
#include "dax.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22 /* Linux 5.14 */
#endif

#define DAX_NONE_FLAGS (MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE)

/*
 * The one piece of process-wide state: a signal handler cannot reach a struct vm, so
 * live windows are listed here (lock-free: the handler only reads).
 */
static struct {
	_Atomic uintptr_t start, end;
} dax_registry[DAX_MAX_WINDOWS];
static pthread_mutex_t dax_registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sigaction dax_old_segv, dax_old_bus;
static bool dax_handler_installed; /* protected by dax_registry_lock */
static _Atomic unsigned long long dax_fault_count;

unsigned long long dax_fault_pages(void)
{
	return atomic_load(&dax_fault_count);
}

static bool dax_registry_has(uintptr_t a)
{
	unsigned i;

	for (i = 0; i < DAX_MAX_WINDOWS; i++)
		if (a >= atomic_load(&dax_registry[i].start) && a < atomic_load(&dax_registry[i].end))
			return true;
	return false;
}

static void dax_fault_handler(int sig, siginfo_t *si, void *uc)
{
	uintptr_t a = (uintptr_t)si->si_addr;
	void *page = (void *)(a & ~(uintptr_t)(DAX_PAGE_SIZE - 1));

	(void)uc;
	/* A real fault (si_code > 0, not kill()) inside a window: zero page, retry the access. */
	if (si->si_code > 0 && dax_registry_has(a) &&
	    mmap(page, DAX_PAGE_SIZE, PROT_READ | PROT_WRITE, DAX_NONE_FLAGS, -1, 0) != MAP_FAILED) {
		atomic_fetch_add(&dax_fault_count, 1);
		return;
	}
	/* Not ours: whoever handled it before (or the default, a core dump) gets the re-fault. */
	sigaction(sig, sig == SIGBUS ? &dax_old_bus : &dax_old_segv, NULL);
	if (si->si_code <= 0)
		raise(sig);
}

static int dax_register(struct dax_window *w)
{
	struct sigaction sa = { .sa_sigaction = dax_fault_handler,
				.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK };
	unsigned i;
	int ret = -ENOSPC;

	sigemptyset(&sa.sa_mask);
	pthread_mutex_lock(&dax_registry_lock);
	if (!dax_handler_installed && (sigaction(SIGSEGV, &sa, &dax_old_segv) != 0 ||
				       sigaction(SIGBUS, &sa, &dax_old_bus) != 0)) {
		ret = -errno;
		goto out;
	}
	dax_handler_installed = true;
	for (i = 0; i < DAX_MAX_WINDOWS; i++) {
		if (atomic_load(&dax_registry[i].end) != 0)
			continue;
		atomic_store(&dax_registry[i].start, (uintptr_t)w->host);
		atomic_store(&dax_registry[i].end, (uintptr_t)w->host + w->len);
		w->registry = (int)i;
		ret = 0;
		break;
	}
out:
	pthread_mutex_unlock(&dax_registry_lock);
	return ret;
}

static void dax_unregister(struct dax_window *w)
{
	if (w->registry < 0)
		return;
	pthread_mutex_lock(&dax_registry_lock);
	atomic_store(&dax_registry[w->registry].end, 0);
	atomic_store(&dax_registry[w->registry].start, 0);
	pthread_mutex_unlock(&dax_registry_lock);
	w->registry = -1;
}

int dax_window_create(struct dax_window *w, uint64_t gpa, uint64_t len, bool readonly)
{
	void *p;
	int ret;

	memset(w, 0, sizeof(*w));
	w->registry = -1;
	if (len == 0 || len % DAX_PAGE_SIZE || gpa % DAX_PAGE_SIZE || len > SIZE_MAX)
		return -EINVAL;
	p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	w->host = p;
	w->gpa = gpa;
	w->len = len;
	w->readonly = readonly;
	dax_table_init(&w->table);
	pthread_mutex_init(&w->lock, NULL);
	/* Guest RAM is dumped; a window of host files and holes must not be (nor forked). */
	(void)madvise(p, len, MADV_DONTDUMP);
	(void)madvise(p, len, MADV_DONTFORK);
	ret = dax_register(w);
	if (ret)
		dax_window_destroy(w);
	return ret;
}

int dax_window_attach_kvm(struct dax_window *w, int vm_fd, unsigned slot)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.guest_phys_addr = w->gpa,
		.memory_size = w->len,
		.userspace_addr = (uintptr_t)w->host,
	};

	return ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0 ? -errno : 0;
}

void dax_window_destroy(struct dax_window *w)
{
	if (!w->host)
		return;
	dax_unregister(w);
	/* Dirty MAP_SHARED pages stay in the host page cache: munmap loses no data. */
	munmap(w->host, w->len);
	w->host = NULL;
	dax_table_free(&w->table);
	pthread_mutex_destroy(&w->lock);
}

/* PROT_NONE anonymous memory over [off, off + len): what an unmapped range is. */
static int dax_overlay_none(struct dax_window *w, uint64_t off, uint64_t len)
{
	return mmap(w->host + off, len, PROT_NONE, DAX_NONE_FLAGS, -1, 0) == MAP_FAILED ? -errno
											  : 0;
}

/* Checked [off, off + len) inside the window, page-aligned, not empty. */
static int dax_range_check(const struct dax_window *w, uint64_t off, uint64_t len)
{
	if (len == 0 || off % DAX_PAGE_SIZE || len % DAX_PAGE_SIZE)
		return -EINVAL;
	if (off > w->len || len > w->len - off)
		return -ENXIO;
	return 0;
}

static int dax_setup_check(const struct dax_window *w, const struct fuse_setupmapping_in *in)
{
	const uint64_t known = FUSE_SETUPMAPPING_FLAG_READ | FUSE_SETUPMAPPING_FLAG_WRITE;
	int err = dax_range_check(w, in->moffset, in->len);

	if (err)
		return err;
	if ((in->flags & ~known) || !(in->flags & known))
		return -EINVAL;
	if (in->foffset % DAX_PAGE_SIZE || in->foffset > (uint64_t)INT64_MAX - in->len)
		return -EINVAL;
	if ((in->flags & FUSE_SETUPMAPPING_FLAG_WRITE) && w->readonly)
		return -EROFS;
	return 0;
}

int dax_setup_fd(struct dax_window *w, int fd, uint64_t nodeid,
		 const struct fuse_setupmapping_in *in)
{
	bool wr = in->flags & FUSE_SETUPMAPPING_FLAG_WRITE;
	struct dax_map m = { .start = in->moffset, .end = in->moffset + in->len,
			     .foffset = in->foffset, .nodeid = nodeid, .kind = DAX_FILE,
			     .writable = wr };
	int err = dax_setup_check(w, in);

	if (err)
		return err;
	pthread_mutex_lock(&w->lock);
	err = dax_table_reserve(&w->table, 2);
	if (!err && mmap(w->host + m.start, in->len, PROT_READ | (wr ? PROT_WRITE : 0),
			 MAP_SHARED | MAP_FIXED, fd, (off_t)in->foffset) == MAP_FAILED) {
		err = -errno;
		/* MAP_FIXED may have dropped the old mapping already: make the range a hole. */
		if (dax_overlay_none(w, m.start, in->len) == 0 &&
		    dax_table_clear(&w->table, m.start, m.end) != 0) {
			/* Cannot fail: room was reserved. */
		}
	} else if (!err) {
		err = dax_table_set(&w->table, &m); /* cannot fail: reserved */
		atomic_fetch_add(&w->setups, 1);
	}
	pthread_mutex_unlock(&w->lock);
	return err;
}

int dax_remove(struct dax_window *w, const struct fuse_removemapping_one *v, uint32_t count)
{
	uint32_t i;
	int err = 0;

	/* All or nothing: a bad entry changes nothing. */
	for (i = 0; i < count; i++) {
		err = dax_range_check(w, v[i].moffset, v[i].len);
		if (err)
			return err;
	}
	pthread_mutex_lock(&w->lock);
	for (i = 0; i < count && !err; i++) {
		err = dax_table_reserve(&w->table, 1);
		if (!err)
			err = dax_overlay_none(w, v[i].moffset, v[i].len);
		if (!err)
			err = dax_table_clear(&w->table, v[i].moffset, v[i].moffset + v[i].len);
	}
	atomic_fetch_add(&w->removes, count);
	pthread_mutex_unlock(&w->lock);
	return err;
}

int dax_sync(struct dax_window *w, uint64_t nodeid)
{
	size_t i;
	int err = 0;

	pthread_mutex_lock(&w->lock);
	for (i = 0; i < w->table.n; i++) {
		const struct dax_map *m = &w->table.v[i];

		if (m->kind != DAX_FILE || !m->writable || (nodeid && m->nodeid != nodeid))
			continue;
		if (msync(w->host + m->start, m->end - m->start, MS_SYNC) != 0 && !err)
			err = -errno;
	}
	pthread_mutex_unlock(&w->lock);
	return err;
}

/* Private zero memory over [start, end), recorded as scratch. Lock held, 2 entries reserved. */
static unsigned dax_scratch(struct dax_window *w, uint64_t start, uint64_t end)
{
	struct dax_map m = { .start = start, .end = end, .kind = DAX_SCRATCH, .writable = true };

	if (mmap(w->host + start, end - start, PROT_READ | PROT_WRITE, DAX_NONE_FLAGS, -1, 0) ==
	    MAP_FAILED)
		return 0;
	return dax_table_set(&w->table, &m) == 0;
}

/*
 * First page of a file mapping that cannot be read (past a host-side truncation), or m->end.
 * MADV_POPULATE_READ reports EFAULT where an access would raise SIGBUS, without a signal.
 * Truncation kills a tail, so a binary search over pages finds where it starts.
 */
static uint64_t dax_dead_tail(struct dax_window *w, const struct dax_map *m)
{
	uint64_t lo = m->start, hi = m->end;

	if (madvise(w->host + m->start, m->end - m->start, MADV_POPULATE_READ) == 0 ||
	    errno != EFAULT)
		return m->end;
	while (hi - lo > DAX_PAGE_SIZE) {
		uint64_t mid = lo + ((hi - lo) / 2 & ~(DAX_PAGE_SIZE - 1));

		if (madvise(w->host + lo, mid - lo, MADV_POPULATE_READ) == 0)
			lo = mid;
		else
			hi = mid;
	}
	return madvise(w->host + lo, DAX_PAGE_SIZE, MADV_POPULATE_READ) == 0 ? hi : lo;
}

unsigned dax_repair(struct dax_window *w)
{
	uint64_t off = 0;
	unsigned changed = 0;

	pthread_mutex_lock(&w->lock);
	while (off < w->len && dax_table_reserve(&w->table, 2) == 0) {
		size_t i = dax_table_lookup(&w->table, off);
		struct dax_map m;
		uint64_t dead;

		if (i == w->table.n || w->table.v[i].start > off) {
			uint64_t end = i == w->table.n ? w->len : w->table.v[i].start;

			changed += dax_scratch(w, off, end);
			off = end;
			continue;
		}
		m = w->table.v[i];
		dead = m.kind == DAX_FILE ? dax_dead_tail(w, &m) : m.end;
		if (dead < m.end)
			changed += dax_scratch(w, dead, m.end);
		off = m.end;
	}
	if (changed)
		atomic_fetch_add(&w->repairs, 1);
	pthread_mutex_unlock(&w->lock);
	return changed;
}

/* --- the FUSE server's hook --- */

static int dax_op_setup(void *opaque, const struct fuse_ctx *c, uint64_t nodeid,
			const struct fuse_setupmapping_in *in)
{
	struct dax_window *w = opaque;
	int err = dax_setup_check(w, in), fd = -1;

	(void)c;
	if (err)
		return err;
	if (!w->server)
		return -ENOSYS;
	/* fh is -1 from Linux: a mapping has its own descriptor, closed once mmap holds the file. */
	err = fuse_server_map_open(w->server, nodeid, in->flags & FUSE_SETUPMAPPING_FLAG_WRITE, &fd);
	if (err)
		return err;
	err = dax_setup_fd(w, fd, nodeid, in);
	close(fd);
	return err;
}

static int dax_op_remove(void *opaque, const struct fuse_ctx *c,
			 const struct fuse_removemapping_one *v, uint32_t count)
{
	(void)c;
	return dax_remove(opaque, v, count);
}

static int dax_op_sync(void *opaque, uint64_t nodeid)
{
	return dax_sync(opaque, nodeid);
}

const struct fuse_dax_ops dax_fuse_ops = {
	.map_alignment = DAX_PAGE_SHIFT,
	.setup = dax_op_setup,
	.remove = dax_op_remove,
	.sync = dax_op_sync,
};

/* --- guest-physical translation and repair over every window of a VM --- */

void *dax_translate(void *space, uint64_t gpa, uint64_t len)
{
	struct dax_space *s = space;
	void *host = gm_translate(s->mem, gpa, len);
	unsigned i;

	if (host)
		return host;
	for (i = 0; i < s->n; i++) {
		struct dax_window *w = s->w[i];

		/* Bounds only: see the file comment for what catches a fault inside. */
		if (gpa >= w->gpa && len <= w->len && gpa - w->gpa <= w->len - len)
			return w->host + (gpa - w->gpa);
	}
	return NULL;
}

unsigned dax_space_repair(void *space)
{
	struct dax_space *s = space;
	unsigned i, changed = 0;

	for (i = 0; i < s->n; i++)
		changed += dax_repair(s->w[i]);
	return changed;
}

/* pt_creds.c: per-thread credentials for creating ops: the caller's fsuid/fsgid, umask 0, no extra groups. */
/*
 * The choice (virtiofsd's, with fsuid instead of euid): MKNOD, MKDIR, SYMLINK, CREATE and
 * ACCESS run with the calling thread's filesystem uid/gid switched to the guest caller's,
 * so the host kernel itself sets ownership (including setgid-directory inheritance) and
 * checks permissions as a local file system would. Everything else runs as the VMM.
 * - Raw syscalls only: glibc's setresuid/setgroups wrappers change every thread of the
 *   process (they broadcast with SIGSETXID); setfsuid/setfsgid/setgroups as system calls
 *   act on the calling thread alone. fsuid leaves signals, ptrace and resource limits
 *   alone; leaving uid 0 drops CAP_CHOWN, CAP_DAC_*, CAP_FOWNER, CAP_FSETID, CAP_MKNOD from
 *   the effective set, and returning restores them.
 * - Each thread, on its first creating op, unshares its fs_struct to set umask 0 (the
 *   guest has already applied its umask: FUSE_DONT_MASK is not negotiated) and drops its
 *   supplementary groups, so root's groups never grant a guest user access (CVE-2022-0358).
 *   Consequence: a guest user's own supplementary groups are unknown here too, so the
 *   host-side check for creating in a directory writable only through one fails (EACCES).
 * - Without root (tests, unprivileged use) nothing is switched: objects belong to us.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "pt_internal.h"

static __thread bool thread_ready; /* this thread's fs_struct and groups are set up */

static void thread_prepare(void)
{
	if (thread_ready)
		return;
	thread_ready = true;
	if (syscall(SYS_unshare, CLONE_FS) == 0)
		umask(0);
	else
		log_error("virtio-fs: unshare(CLONE_FS) failed: created modes follow our umask");
	if (geteuid() == 0 && syscall(SYS_setgroups, 0, NULL) != 0)
		log_error("virtio-fs: cannot drop supplementary groups on a worker thread");
}

static uint32_t fsuid_now(void)
{
	return (uint32_t)syscall(SYS_setfsuid, -1); /* an invalid id changes nothing */
}

static uint32_t fsgid_now(void)
{
	return (uint32_t)syscall(SYS_setfsgid, -1);
}

int pt_creds_enter(const struct fuse_ctx *c, struct pt_creds *saved)
{
	thread_prepare();
	saved->switched = false;
	if (geteuid() != 0)
		return 0;
	syscall(SYS_setfsgid, c->gid);
	syscall(SYS_setfsuid, c->uid);
	saved->switched = true;
	if (fsuid_now() != c->uid || fsgid_now() != c->gid) {
		pt_creds_leave(saved);
		return -EPERM; /* e.g. uid (uint32_t)-1 */
	}
	return 0;
}

void pt_creds_leave(const struct pt_creds *saved)
{
	if (!saved->switched)
		return;
	syscall(SYS_setfsuid, geteuid());
	syscall(SYS_setfsgid, getegid());
}

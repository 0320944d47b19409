/* seccomp.h: per-thread-role system call allow-lists (libseccomp) and the SIGSYS report. */
#ifndef MICROVM_SECCOMP_H
#define MICROVM_SECCOMP_H

#include "util.h"

/*
 * The roles of the VMM's threads once the guest runs. Each thread loads its own filter
 * (no TSYNC) before it touches guest-controlled data; see seccomp.c for the lists and for
 * why no thread is created after a filter is loaded.
 */
enum seccomp_role {
	SECCOMP_ROLE_MAIN,       /* machine_wait: signals, console input, stop; then teardown */
	SECCOMP_ROLE_VCPU,       /* KVM_RUN loop and the device emulation it dispatches to */
	/* vCPU of a VM with a share that serves on the vCPU: also the virtio-fs worker's list */
	SECCOMP_ROLE_VCPU_VFS,
	SECCOMP_ROLE_VFS_WORKER, /* virtio-fs queue worker: the whole passthrough backend */
	SECCOMP_ROLE_CONSOLE,    /* virtio-console thread: relays the guest command's stdio */
	SECCOMP_ROLE_COUNT,
};

/*
 * Exit status after a forbidden system call: 128 + SIGSYS, what a shell reports for a
 * process killed by SIGSYS. The SIGSYS handler writes
 * "microvm: seccomp: thread NAME made forbidden syscall NR" to stderr first.
 */
#define SECCOMP_EXIT_STATUS 159

/*
 * Load the filter of role on the calling thread only; thread_name (cut to 15 bytes)
 * names the thread in the report. Also installs the process's SIGSYS handler. Threads
 * this one creates afterwards inherit the filter. 0 or -errno.
 */
int seccomp_install(enum seccomp_role role, const char *thread_name) MUST_CHECK;
/* "main", "vcpu", "vcpu+vfs", "vfs-worker", "console". */
const char *seccomp_role_name(enum seccomp_role role);
/* How many distinct system calls role allows (some only with restricted arguments). */
unsigned seccomp_role_syscalls(enum seccomp_role role);

#endif

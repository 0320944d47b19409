/* seccomp.c: the system call allow-list of each thread role, loaded per thread, and the SIGSYS report. */
/*
 * Design.
 * - One allow-list per role (main, vCPU, virtio-fs worker, virtio-console): a shared list
 *   of what the C library itself needs on any thread, plus the role's own. Lists come from
 *   reading the code and from strace -f of the end-to-end boot and virtio-fs cases
 *   (vfs_check drives every FUSE op); the comment on each entry says who makes the call.
 * - Each thread loads its own filter (seccomp_load, no TSYNC) before it touches guest
 *   data: vCPU threads before the first KVM_RUN, workers before their first pop, the main
 *   thread after start-up, before machine_wait. Filters stack and a new thread inherits
 *   its creator's, so a thread created by a filtered thread could only do what both
 *   lists allow. Hence no thread is created once a filter is loaded: the virtio-fs
 *   workers are created at start-up by the unfiltered main thread and park until
 *   DRIVER_OK (devices/virtio_fs/worker.c), and no role allows clone, clone3 or fork.
 * - Action for anything else: SCMP_ACT_TRAP, not KILL_PROCESS, so the user learns which
 *   thread made which call. The syscall is never executed either way. The handler writes
 *   "microvm: seccomp: thread NAME made forbidden syscall NR" (write(2) only, async-signal
 *   safe) and exit_group(SECCOMP_EXIT_STATUS) ends the whole process. No role may
 *   call rt_sigaction, so a compromised thread cannot swap the handler for one that
 *   returns; and if SIGSYS is blocked or the handler itself traps, the kernel's forced
 *   SIGSYS falls back to the default action, which kills the process. Other
 *   architectures' calling conventions (int 0x80, x32) kill the process outright.
 * - Arguments are matched where it is cheap and meaningful: ioctl request numbers,
 *   tgkill only to our own process with the vCPU kick signal, no PROT_EXEC in mmap or
 *   mprotect (no new code at run time), unshare(CLONE_FS) and setgroups(0, ...) only,
 *   the fcntl commands the lock backend uses. Descriptors are not matched: the
 *   workers' come and go with the guest's requests.
 * - --seccomp=off skips all of this, for debugging only.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>
#include "seccomp.h"
#include "vcpu.h"

/* One argument comparison; arg_is_pid takes getpid() at load time as the datum. */
struct seccomp_cmp {
	unsigned arg;
	enum scmp_compare op;
	uint64_t datum_a;
	uint64_t datum_b;
	bool arg_is_pid;
};

/* One allowed call; with ncmp > 0 only when every comparison holds. Entries OR. */
struct seccomp_rule {
	int nr;
	unsigned ncmp;
	struct seccomp_cmp cmp[2];
};

#define SC_ALLOW(sys) { SCMP_SYS(sys), 0, { { 0 } } }
#define SC_ALLOW_EQ(sys, a, v) { SCMP_SYS(sys), 1, { { (a), SCMP_CMP_EQ, (v), 0, false } } }
#define SC_ALLOW_IOCTL(req) SC_ALLOW_EQ(ioctl, 1, (req))
/* prot (argument 2 of mmap and mprotect) without PROT_EXEC. */
#define SC_ALLOW_NOEXEC(sys) \
	{ SCMP_SYS(sys), 1, { { 2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0, false } } }

/* What glibc does on any thread: locks, memory, signals, thread exit. */
static const struct seccomp_rule seccomp_common[] = {
	SC_ALLOW(futex),           /* mutexes, condition variables, pthread_join */
	SC_ALLOW_NOEXEC(mmap),     /* malloc arenas and large blocks; DAX file mappings */
	SC_ALLOW_NOEXEC(mprotect), /* malloc grows an arena reserved PROT_NONE */
	SC_ALLOW(munmap),          /* free, arena trimming, vcpu/guest RAM teardown */
	SC_ALLOW(mremap),          /* realloc of an mmap-backed block */
	SC_ALLOW(madvise),         /* free() trimming; glibc drops a dead thread's stack */
	SC_ALLOW(brk),             /* malloc on the main arena */
	SC_ALLOW(write),           /* log lines to stderr, eventfd signals, the SIGSYS report */
	SC_ALLOW(clock_gettime),   /* vDSO fallback (timed waits of the lock backend) */
	SC_ALLOW(rt_sigprocmask),  /* glibc blocks signals around thread exit */
	SC_ALLOW(rt_sigreturn),    /* return from the vCPU kick handler */
	SC_ALLOW(restart_syscall), /* a wait interrupted by that handler resumes */
	SC_ALLOW(exit),            /* a thread ends (teardown) */
	SC_ALLOW(exit_group),      /* the process ends, also from the SIGSYS handler */
};

#if defined(__SANITIZE_ADDRESS__)
#define SECCOMP_SANITIZERS 1
/*
 * --enable-sanitizers only: ASan's signal path asks for the alternate stack whenever a
 * handler runs (the vCPU kick), and a thread that ends takes its alternate stack down.
 * LeakSanitizer's end-of-run check needs ptrace and a thread, which stay forbidden: run
 * a sanitizer build's VM with ASAN_OPTIONS=detect_leaks=0 (or --seccomp=off to look for
 * leaks).
 */
static const struct seccomp_rule seccomp_sanitizer[] = {
	SC_ALLOW(sigaltstack),
};
#else
#define SECCOMP_SANITIZERS 0
#endif

/* The main thread after start-up: machine_wait, then machine_teardown. */
static const struct seccomp_rule seccomp_main[] = {
	SC_ALLOW(poll),  /* machine_wait: stop eventfd, signalfd, console input */
	SC_ALLOW(read),  /* signalfd, console input */
	SC_ALLOW(close), /* teardown */
	SC_ALLOW(getpid), /* pthread_kill: vm_request_stop kicks the vCPUs */
	SC_ALLOW(gettid),
	{ SCMP_SYS(tgkill), 2,
	  { { 0, SCMP_CMP_EQ, 0, 0, true }, { 2, SCMP_CMP_EQ, VCPU_KICK_SIGNAL, 0, false } } },
	SC_ALLOW_IOCTL(KVM_IRQ_LINE), /* console input raises the UART interrupt */
	SC_ALLOW_IOCTL(KVM_IOEVENTFD), /* teardown: vmmio_kvm_detach deassigns */
	SC_ALLOW_IOCTL(KVM_IRQFD),
	SC_ALLOW_IOCTL(TCSETS), /* terminal_restore: tcsetattr(TCSANOW) */
	SC_ALLOW_IOCTL(TCGETS), /* terminal_restore: glibc's tcsetattr reads the mode first */
	SC_ALLOW_IOCTL(TIOCGWINSZ), /* SIGWINCH: the terminal's new size; an exec's terminal */
	/* Runtime mode's exec socket (vmm/run_exec.c, oci/exec_wire.c): one connection per
	 * exec, its request with SCM_RIGHTS descriptors, signals and the final status. */
	SC_ALLOW_EQ(accept4, 3, SOCK_CLOEXEC | SOCK_NONBLOCK),
	SC_ALLOW_EQ(recvmsg, 2, MSG_CMSG_CLOEXEC),
	SC_ALLOW_EQ(recvmsg, 2, MSG_CMSG_CLOEXEC | MSG_DONTWAIT),
	SC_ALLOW_EQ(sendmsg, 2, MSG_NOSIGNAL),
	SC_ALLOW_IOCTL(FIONREAD), /* exec: the control pipe's room for a whole request */
};

/* A vCPU thread: KVM_RUN and the devices it runs (UART, i8042, ACPI PM, virtio-mmio). */
static const struct seccomp_rule seccomp_vcpu[] = {
	SC_ALLOW_IOCTL(KVM_RUN),
	SC_ALLOW_IOCTL(KVM_GET_REGS), /* -vv: where a stopped vCPU was */
	SC_ALLOW_IOCTL(KVM_IRQ_LINE), /* UART interrupt */
	SC_ALLOW(read),   /* virtio-fs activate clears the device's stop eventfd */
	SC_ALLOW(getpid), /* pthread_kill: a vCPU that stops the VM kicks the others */
	SC_ALLOW(gettid),
	{ SCMP_SYS(tgkill), 2,
	  { { 0, SCMP_CMP_EQ, 0, 0, true }, { 2, SCMP_CMP_EQ, VCPU_KICK_SIGNAL, 0, false } } },
};

/*
 * A virtio-fs worker: its queue's eventfds, then the passthrough backend (devices/virtio_fs
 * pt_*.c, passthrough.c, inode_table.c) serving whatever FUSE op the guest sends.
 */
static const struct seccomp_rule seccomp_vfs_worker[] = {
	SC_ALLOW(epoll_wait), SC_ALLOW(epoll_pwait), /* idle: queue ioeventfd, stop eventfd */
	SC_ALLOW(read),  /* eventfd counters */
	SC_ALLOW(close), /* RELEASE, FORGET, every temporary descriptor */
	SC_ALLOW(dup),   /* FLUSH closes a duplicate to drop POSIX locks like close(2) */
	/* Looking up and opening: beneath the share, via /proc/self/fd, or by handle. */
	SC_ALLOW(openat), SC_ALLOW(openat2), SC_ALLOW(open_by_handle_at),
	SC_ALLOW(name_to_handle_at), /* inode eviction keys */
	SC_ALLOW(newfstatat), SC_ALLOW(fstat), SC_ALLOW(statx), /* GETATTR, LOOKUP */
	SC_ALLOW(fstatfs),   /* STATFS (fstatvfs) */
	SC_ALLOW(readlinkat), SC_ALLOW(getdents64), SC_ALLOW(lseek), /* READLINK, READDIR, LSEEK */
	SC_ALLOW(faccessat), SC_ALLOW(faccessat2), /* ACCESS */
	/* Data: READ, WRITE, FSYNC, FALLOCATE, COPY_FILE_RANGE, SYNCFS. */
	SC_ALLOW(preadv), SC_ALLOW(pwritev), SC_ALLOW(pread64), SC_ALLOW(pwrite64),
	SC_ALLOW(fsync), SC_ALLOW(fdatasync), SC_ALLOW(syncfs), SC_ALLOW(fallocate),
	SC_ALLOW(copy_file_range), SC_ALLOW(ftruncate),
	SC_ALLOW(msync), /* DAX: REMOVEMAPPING with a sync of the file range */
	/* Namespace changes: CREATE, MKNOD, MKDIR, SYMLINK, LINK, UNLINK, RMDIR, RENAME(2). */
	SC_ALLOW(mknodat), SC_ALLOW(mkdirat), SC_ALLOW(symlinkat), SC_ALLOW(linkat),
	SC_ALLOW(unlinkat), SC_ALLOW(renameat), SC_ALLOW(renameat2),
	/* SETATTR: mode, owner, times, size (ftruncate above). */
	SC_ALLOW(fchmod), SC_ALLOW(fchmodat), SC_ALLOW(fchownat), SC_ALLOW(utimensat),
	/* xattrs: on a reopened descriptor, or by /proc/self/fd path for special files. */
	SC_ALLOW(fgetxattr), SC_ALLOW(fsetxattr), SC_ALLOW(flistxattr), SC_ALLOW(fremovexattr),
	SC_ALLOW(getxattr), SC_ALLOW(setxattr), SC_ALLOW(listxattr), SC_ALLOW(removexattr),
	/* Locks: OFD byte-range locks (GETLK/SETLK, SETLKW retried) and whole-file flock. */
	SC_ALLOW_EQ(fcntl, 1, F_OFD_GETLK), SC_ALLOW_EQ(fcntl, 1, F_OFD_SETLK),
	SC_ALLOW_EQ(fcntl, 1, F_OFD_SETLKW), SC_ALLOW_EQ(fcntl, 1, F_GETFL),
	SC_ALLOW_EQ(fcntl, 1, F_GETFD), SC_ALLOW_EQ(fcntl, 1, F_SETFD),
	SC_ALLOW(flock),
	/* pt_creds.c: the guest caller's fsuid/fsgid for creating ops, on this thread only. */
	SC_ALLOW(setfsuid), SC_ALLOW(setfsgid), SC_ALLOW(geteuid), SC_ALLOW(getegid),
	SC_ALLOW_EQ(setgroups, 0, 0),      /* drop supplementary groups, nothing else */
	SC_ALLOW_EQ(unshare, 0, CLONE_FS), /* a private umask for this thread */
	SC_ALLOW(umask),
};

/*
 * The virtio-console thread (devices/virtio_console/thread.c, port_io.c): it polls its
 * queues' eventfds and the host input descriptors, reads input into guest buffers and
 * writes guest output with write(2) from the common list. It opens and closes nothing.
 */
static const struct seccomp_rule seccomp_console[] = {
	SC_ALLOW(poll), /* idle: eventfds and input; a full non-blocking output descriptor */
	SC_ALLOW(read), /* eventfd counters, the command's stdin */
};

/*
 * A role is one or two lists. vcpu+vfs: a vCPU thread that serves quick virtio-fs requests
 * itself (devices/virtio_fs/vcpu_serve.c) runs the worker's backend code, so it gets the
 * worker's list; it shares the address space with the workers anyway, so a separate,
 * smaller list would keep little out.
 */
static const struct {
	const char *name;
	const struct seccomp_rule *rules, *more;
	size_t nrules, nmore;
} seccomp_roles[SECCOMP_ROLE_COUNT] = {
	[SECCOMP_ROLE_MAIN] = { "main", seccomp_main, NULL, ARRAY_SIZE(seccomp_main), 0 },
	[SECCOMP_ROLE_VCPU] = { "vcpu", seccomp_vcpu, NULL, ARRAY_SIZE(seccomp_vcpu), 0 },
	[SECCOMP_ROLE_VCPU_VFS] = { "vcpu+vfs", seccomp_vcpu, seccomp_vfs_worker,
				    ARRAY_SIZE(seccomp_vcpu), ARRAY_SIZE(seccomp_vfs_worker) },
	[SECCOMP_ROLE_VFS_WORKER] = { "vfs-worker", seccomp_vfs_worker, NULL,
				      ARRAY_SIZE(seccomp_vfs_worker), 0 },
	[SECCOMP_ROLE_CONSOLE] = { "console", seccomp_console, NULL, ARRAY_SIZE(seccomp_console),
				   0 },
};

/* This thread's name for the report: a signal handler can read TLS, not a lock. */
static __thread char seccomp_thread_name[16];

/* Decimal digits of v into buf (room for 20), returns the length. */
static size_t seccomp_format_uint(char *buf, unsigned long v)
{
	char tmp[20];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v && n < sizeof(tmp));
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	return n;
}

static size_t seccomp_append(char *buf, size_t len, size_t cap, const char *s)
{
	while (*s && len < cap)
		buf[len++] = *s++;
	return len;
}

/* Async-signal-safe: no stdio, no locks; one write, then the whole process exits. */
static void seccomp_sigsys(int sig, siginfo_t *info, void *uctx)
{
	char msg[128];
	size_t len = 0;
	int nr = info->si_syscall;

	(void)sig;
	(void)uctx;
	len = seccomp_append(msg, len, sizeof(msg), "microvm: seccomp: thread ");
	len = seccomp_append(msg, len, sizeof(msg),
			     seccomp_thread_name[0] ? seccomp_thread_name : "?");
	len = seccomp_append(msg, len, sizeof(msg) - 24, " made forbidden syscall ");
	if (nr < 0) {
		msg[len++] = '-';
		nr = -nr;
	}
	len += seccomp_format_uint(msg + len, (unsigned long)nr);
	msg[len++] = '\n';
	if (write(STDERR_FILENO, msg, len) < 0) {
		/* Nothing left to tell it to. */
	}
	/* exit_group itself: sanitizer runtimes hook _exit and make calls of their own. */
	syscall(SYS_exit_group, SECCOMP_EXIT_STATUS);
}

static int seccomp_install_handler(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = seccomp_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigfillset(&sa.sa_mask); /* nothing interrupts the report */
	return sigaction(SIGSYS, &sa, NULL) < 0 ? -errno : 0;
}

static int seccomp_add_rule(scmp_filter_ctx ctx, const struct seccomp_rule *r)
{
	struct scmp_arg_cmp cmp[2];
	unsigned i;

	for (i = 0; i < r->ncmp; i++) {
		cmp[i].arg = r->cmp[i].arg;
		cmp[i].op = r->cmp[i].op;
		cmp[i].datum_a = r->cmp[i].arg_is_pid ? (uint64_t)getpid() : r->cmp[i].datum_a;
		cmp[i].datum_b = r->cmp[i].datum_b;
	}
	return seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, r->nr, r->ncmp, cmp);
}

static int seccomp_add_rules(scmp_filter_ctx ctx, const struct seccomp_rule *rules, size_t n)
{
	size_t i;
	int ret;

	for (i = 0; i < n; i++) {
		ret = seccomp_add_rule(ctx, &rules[i]);
		if (ret)
			return ret;
	}
	return 0;
}

int seccomp_install(enum seccomp_role role, const char *thread_name)
{
	scmp_filter_ctx ctx;
	int ret;

	if ((unsigned)role >= SECCOMP_ROLE_COUNT)
		return -EINVAL;
	snprintf(seccomp_thread_name, sizeof(seccomp_thread_name), "%s", thread_name);
	ret = seccomp_install_handler();
	if (ret)
		return ret;
	ctx = seccomp_init(SCMP_ACT_TRAP);
	if (!ctx)
		return -ENOMEM;
	/* int 0x80 or x32 calls would bypass a list written for x86-64 numbers. */
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (ret == 0)
		ret = seccomp_add_rules(ctx, seccomp_common, ARRAY_SIZE(seccomp_common));
	if (ret == 0)
		ret = seccomp_add_rules(ctx, seccomp_roles[role].rules, seccomp_roles[role].nrules);
	if (ret == 0) /* libseccomp takes a rule it already has without complaint */
		ret = seccomp_add_rules(ctx, seccomp_roles[role].more, seccomp_roles[role].nmore);
#if SECCOMP_SANITIZERS
	if (ret == 0)
		ret = seccomp_add_rules(ctx, seccomp_sanitizer, ARRAY_SIZE(seccomp_sanitizer));
#endif
	if (ret == 0)
		ret = seccomp_load(ctx); /* this thread only: TSYNC is off by default */
	seccomp_release(ctx);
	return ret;
}

const char *seccomp_role_name(enum seccomp_role role)
{
	return (unsigned)role < SECCOMP_ROLE_COUNT ? seccomp_roles[role].name : "?";
}

static bool seccomp_listed(const struct seccomp_rule *rules, size_t n, int nr)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (rules[i].nr == nr)
			return true;
	return false;
}

/* Distinct numbers: several rules for one call (ioctl requests) count once. */
unsigned seccomp_role_syscalls(enum seccomp_role role)
{
	const struct seccomp_rule *rules, *more;
	size_t i, n, nmore;
	unsigned count = 0;

	if ((unsigned)role >= SECCOMP_ROLE_COUNT)
		return 0;
	rules = seccomp_roles[role].rules;
	n = seccomp_roles[role].nrules;
	more = seccomp_roles[role].more;
	nmore = seccomp_roles[role].nmore;
	for (i = 0; i < ARRAY_SIZE(seccomp_common); i++)
		count += !seccomp_listed(rules, n, seccomp_common[i].nr) &&
			 !seccomp_listed(more, nmore, seccomp_common[i].nr);
	for (i = 0; i < n; i++)
		count += !seccomp_listed(rules, i, rules[i].nr);
	for (i = 0; i < nmore; i++)
		count += !seccomp_listed(rules, n, more[i].nr) &&
			 !seccomp_listed(more, i, more[i].nr);
	return count;
}

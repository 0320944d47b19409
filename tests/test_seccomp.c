/* test_seccomp.c: each role's filter lets its own calls through and stops forbidden ones with the report. */
/*
 * Every case forks its own child (besides Check's fork), loads a filter there and makes
 * the calls; the parent checks the exit status and what the child wrote to stderr. The
 * child always leaves through a raw exit_group, so no atexit handler and no sanitizer
 * hook (ASan's _exit interceptor calls sigaltstack; LeakSanitizer's end-of-run check
 * spawns a tracer thread) runs under a filter that was not written for it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/kvm.h>
#include <linux/sched.h>
#include "../vmm/cli.h"
#include "../vmm/seccomp.h"
#include "../vmm/vcpu.h"

static void child_exit(int status)
{
	syscall(SYS_exit_group, status);
	for (;;)
		;
}

/* What a child did: 0 = the calls behaved as expected; other small numbers say which not. */
typedef int (*child_fn)(void);

struct outcome {
	int status;
	char err[1024];
};

static void read_all(int fd, char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t n;

	while (len + 1 < cap && (n = read(fd, buf + len, cap - 1 - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
}

static void run_child(enum seccomp_role role, child_fn fn, struct outcome *o)
{
	int p[2];
	pid_t pid;

	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(p[0]);
		dup2(p[1], STDERR_FILENO);
		if (seccomp_install(role, seccomp_role_name(role)) != 0)
			child_exit(100);
		child_exit(fn());
	}
	close(p[1]);
	read_all(p[0], o->err, sizeof(o->err));
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &o->status, 0), pid);
}

static void expect_allowed(enum seccomp_role role, child_fn fn)
{
	struct outcome o;

	run_child(role, fn, &o);
	ck_assert_msg(WIFEXITED(o.status) && WEXITSTATUS(o.status) == 0,
		      "role %s: status 0x%x, stderr: %s", seccomp_role_name(role), o.status, o.err);
}

/* Stopped: status SECCOMP_EXIT_STATUS and the one-line report naming the thread and nr. */
static void expect_stopped(enum seccomp_role role, child_fn fn, long nr)
{
	char want[128];
	struct outcome o;

	run_child(role, fn, &o);
	snprintf(want, sizeof(want), "microvm: seccomp: thread %s made forbidden syscall %ld\n",
		 seccomp_role_name(role), nr);
	ck_assert_msg(WIFEXITED(o.status) && WEXITSTATUS(o.status) == SECCOMP_EXIT_STATUS,
		      "role %s, syscall %ld: status 0x%x (exit %d), stderr: %s",
		      seccomp_role_name(role), nr, o.status,
		      WIFEXITED(o.status) ? WEXITSTATUS(o.status) : -1, o.err);
	ck_assert_str_eq(o.err, want);
}

/* ---- forbidden everywhere: each returns 0 only if the call came back ---- */

static int do_execve(void)
{
	char *argv[] = { "/bin/true", NULL };

	syscall(SYS_execve, "/bin/true", argv, environ);
	return 0;
}

static int do_socket(void)
{
	syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
	return 0;
}

static int do_ptrace(void)
{
	syscall(SYS_ptrace, PTRACE_TRACEME, 0, NULL, NULL);
	return 0;
}

static int do_fork(void)
{
	if (syscall(SYS_fork) == 0)
		child_exit(0);
	return 0;
}

/* New threads would inherit this thread's filter: no role may create one (fork-like here). */
static int do_clone(void)
{
	if (syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0) == 0)
		child_exit(0);
	return 0;
}

static int do_clone3(void)
{
	struct clone_args args;

	memset(&args, 0, sizeof(args));
	args.exit_signal = SIGCHLD;
	if (syscall(SYS_clone3, &args, sizeof(args)) == 0)
		child_exit(0);
	return 0;
}

static int do_mmap_exec(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? 1 : 0;
}

static int do_rt_sigaction(void)
{
	struct sigaction sa;

	/* The report's handler must stay: swapping SIGSYS's handler is itself forbidden. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGSYS, &sa, NULL);
	return 0;
}

static const struct {
	const char *what;
	child_fn fn;
	long nr;
} forbidden_everywhere[] = {
	{ "execve", do_execve, SYS_execve },
	{ "socket", do_socket, SYS_socket },
	{ "ptrace", do_ptrace, SYS_ptrace },
	{ "fork", do_fork, SYS_fork },
	{ "clone", do_clone, SYS_clone },
	{ "clone3", do_clone3, SYS_clone3 },
	{ "mmap PROT_EXEC", do_mmap_exec, SYS_mmap },
	{ "rt_sigaction", do_rt_sigaction, SYS_rt_sigaction },
};

START_TEST(every_role_stops_execve_socket_ptrace_fork_threads_exec_memory_sigaction)
{
	enum seccomp_role role = (enum seccomp_role)(_i / (int)ARRAY_SIZE(forbidden_everywhere));
	unsigned k = (unsigned)_i % ARRAY_SIZE(forbidden_everywhere);

	expect_stopped(role, forbidden_everywhere[k].fn, forbidden_everywhere[k].nr);
}
END_TEST

/* Made before the child loads its filter, as start-up makes the VMM's eventfds. */
static int test_efd = -1;

/* ---- main: machine_wait and teardown ---- */

static int main_allowed(void)
{
	int efd = test_efd;
	struct pollfd pfd = { .fd = efd, .events = POLLIN };
	struct kvm_irq_level irq = { .irq = 4, .level = 1 };
	uint64_t v;
	void *big;

	if (efd < 0 || poll(&pfd, 1, 0) != 1 || read(efd, &v, sizeof(v)) != sizeof(v) || v != 1)
		return 1;
	if (ioctl(-1, KVM_IRQ_LINE, &irq) != -1 || errno != EBADF)
		return 2; /* allowed through the filter, refused by the kernel */
	if (syscall(SYS_tgkill, getpid(), gettid(), VCPU_KICK_SIGNAL) != 0)
		return 3; /* ignored in this child (see main_allowed_setup) */
	big = malloc(8 << 20); /* mmap and munmap */
	if (!big)
		return 4;
	memset(big, 1, 8 << 20);
	free(big);
	return close(efd) == 0 ? 0 : 5;
}

START_TEST(main_allows_its_wait_and_kick_calls)
{
	signal(VCPU_KICK_SIGNAL, SIG_IGN); /* inherited by the child, before its filter */
	test_efd = eventfd(1, EFD_NONBLOCK);
	ck_assert_int_ge(test_efd, 0);
	expect_allowed(SECCOMP_ROLE_MAIN, main_allowed);
}
END_TEST

static int main_tgkill_other_signal(void)
{
	syscall(SYS_tgkill, getpid(), gettid(), SIGUSR2);
	return 0;
}

static int main_kvm_run(void)
{
	ioctl(-1, KVM_RUN, 0);
	return 0;
}

static int openat_root(void)
{
	int fd = openat(AT_FDCWD, "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	close(fd);
	return 0;
}

START_TEST(main_stops_other_signals_kvm_run_and_opening_files)
{
	expect_stopped(SECCOMP_ROLE_MAIN, main_tgkill_other_signal, SYS_tgkill);
	expect_stopped(SECCOMP_ROLE_MAIN, main_kvm_run, SYS_ioctl);
	expect_stopped(SECCOMP_ROLE_MAIN, openat_root, SYS_openat);
}
END_TEST

/* ---- vCPU: KVM_RUN and the devices it emulates ---- */

static int vcpu_allowed(void)
{
	struct kvm_regs regs;
	int efd = test_efd;
	uint64_t one = 1;

	if (ioctl(-1, KVM_RUN, 0) != -1 || errno != EBADF)
		return 1;
	if (ioctl(-1, KVM_GET_REGS, &regs) != -1 || errno != EBADF)
		return 2;
	if (efd < 0 || write(efd, &one, sizeof(one)) != sizeof(one))
		return 3;
	/* No close: a vCPU thread never closes a descriptor (the main thread tears down). */
	return read(efd, &one, sizeof(one)) == sizeof(one) && one == 1 ? 0 : 4;
}

START_TEST(vcpu_allows_kvm_run_get_regs_and_eventfds)
{
	test_efd = eventfd(0, EFD_NONBLOCK);
	ck_assert_int_ge(test_efd, 0);
	expect_allowed(SECCOMP_ROLE_VCPU, vcpu_allowed);
}
END_TEST

static int vcpu_set_regs(void)
{
	struct kvm_regs regs;

	memset(&regs, 0, sizeof(regs));
	ioctl(-1, KVM_SET_REGS, &regs); /* only start-up sets registers */
	return 0;
}

static int vcpu_create_vm(void)
{
	ioctl(-1, KVM_CREATE_VM, 0);
	return 0;
}

START_TEST(vcpu_stops_other_ioctls_and_file_access)
{
	expect_stopped(SECCOMP_ROLE_VCPU, vcpu_set_regs, SYS_ioctl);
	expect_stopped(SECCOMP_ROLE_VCPU, vcpu_create_vm, SYS_ioctl);
	expect_stopped(SECCOMP_ROLE_VCPU, openat_root, SYS_openat);
}
END_TEST

/* ---- virtio-fs worker: the passthrough backend ---- */

static int worker_allowed(void)
{
	char buf[4096];
	struct stat st;
	int fd = openat(AT_FDCWD, "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0)
		return 1;
	if (!S_ISDIR(st.st_mode) || syscall(SYS_getdents64, fd, buf, sizeof(buf)) <= 0)
		return 2;
	if (fcntl(fd, F_GETFL) < 0 || lseek(fd, 0, SEEK_SET) != 0)
		return 3;
	/* pt_creds.c: the per-thread credential calls, and a private umask. */
	syscall(SYS_setfsuid, -1);
	syscall(SYS_setfsgid, -1);
	if (syscall(SYS_unshare, CLONE_FS) != 0)
		return 4;
	umask(0);
	return close(fd) == 0 ? 0 : 5;
}

START_TEST(worker_allows_the_backend_calls)
{
	expect_allowed(SECCOMP_ROLE_VFS_WORKER, worker_allowed);
}
END_TEST

/* A vCPU that serves quick virtio-fs requests: both lists, and still no other ioctl. */
static int vcpu_vfs_allowed(void)
{
	return vcpu_allowed() ? 10 : worker_allowed();
}

START_TEST(vcpu_vfs_allows_the_vcpu_and_the_backend_calls_only)
{
	test_efd = eventfd(0, EFD_NONBLOCK);
	ck_assert_int_ge(test_efd, 0);
	expect_allowed(SECCOMP_ROLE_VCPU_VFS, vcpu_vfs_allowed);
	expect_stopped(SECCOMP_ROLE_VCPU_VFS, vcpu_create_vm, SYS_ioctl);
	expect_stopped(SECCOMP_ROLE_VCPU_VFS, vcpu_set_regs, SYS_ioctl);
}
END_TEST

static int worker_ioctl(void)
{
	ioctl(-1, KVM_RUN, 0);
	return 0;
}

static int worker_unshare_mount_ns(void)
{
	syscall(SYS_unshare, CLONE_NEWNS);
	return 0;
}

static int worker_setgroups_some(void)
{
	gid_t g = 0;

	syscall(SYS_setgroups, 1, &g);
	return 0;
}

static int worker_fcntl_setown(void)
{
	fcntl(0, F_SETOWN, 1);
	return 0;
}

START_TEST(worker_stops_ioctls_and_argument_mismatches)
{
	expect_stopped(SECCOMP_ROLE_VFS_WORKER, worker_ioctl, SYS_ioctl);
	expect_stopped(SECCOMP_ROLE_VFS_WORKER, worker_unshare_mount_ns, SYS_unshare);
	expect_stopped(SECCOMP_ROLE_VFS_WORKER, worker_setgroups_some, SYS_setgroups);
	expect_stopped(SECCOMP_ROLE_VFS_WORKER, worker_fcntl_setown, SYS_fcntl);
}
END_TEST

/* ---- virtio-console thread: eventfds, the host stdio descriptors, nothing else ---- */

static int console_allowed(void)
{
	struct pollfd p = { .fd = test_efd, .events = POLLIN };
	uint64_t one = 1;

	if (test_efd < 0 || write(test_efd, &one, sizeof(one)) != sizeof(one))
		return 1;
	if (poll(&p, 1, 0) != 1)
		return 2;
	return read(test_efd, &one, sizeof(one)) == sizeof(one) && one == 1 ? 0 : 3;
}

START_TEST(console_allows_poll_read_and_write)
{
	test_efd = eventfd(0, EFD_NONBLOCK);
	ck_assert_int_ge(test_efd, 0);
	expect_allowed(SECCOMP_ROLE_CONSOLE, console_allowed);
}
END_TEST

static int console_close(void)
{
	close(0); /* the descriptors it relays belong to the main thread */
	return 0;
}

START_TEST(console_stops_opening_closing_and_ioctls)
{
	expect_stopped(SECCOMP_ROLE_CONSOLE, openat_root, SYS_openat);
	expect_stopped(SECCOMP_ROLE_CONSOLE, console_close, SYS_close);
	expect_stopped(SECCOMP_ROLE_CONSOLE, vcpu_set_regs, SYS_ioctl);
}
END_TEST

/* ---- per thread, not per process ---- */

static void *filter_thread(void *arg)
{
	*(int *)arg = seccomp_install(SECCOMP_ROLE_VCPU, "vcpu");
	return NULL;
}

/* A vCPU thread's filter leaves the thread that created it alone (no TSYNC). */
static int other_thread_unfiltered(void)
{
	pthread_t t;
	int ret = -1, fd;

	if (pthread_create(&t, NULL, filter_thread, &ret) != 0 || pthread_join(t, NULL) != 0)
		return 1;
	if (ret != 0)
		return 2;
	fd = (int)syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		return 3;
	close(fd);
	return 0;
}

START_TEST(a_filter_binds_only_the_thread_that_loads_it)
{
	struct outcome o;
	pid_t pid;
	int p[2];

	/* No filter in this child's main thread: run_child would load one. */
	ck_assert_int_eq(pipe(p), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(p[1], STDERR_FILENO);
		child_exit(other_thread_unfiltered());
	}
	close(p[1]);
	read_all(p[0], o.err, sizeof(o.err));
	close(p[0]);
	ck_assert_int_eq(waitpid(pid, &o.status, 0), pid);
	ck_assert_msg(WIFEXITED(o.status) && WEXITSTATUS(o.status) == 0, "status 0x%x: %s",
		      o.status, o.err);
}
END_TEST

/* ---- metadata and the command line ---- */

START_TEST(roles_have_names_and_sizes)
{
	ck_assert_str_eq(seccomp_role_name(SECCOMP_ROLE_MAIN), "main");
	ck_assert_str_eq(seccomp_role_name(SECCOMP_ROLE_VCPU), "vcpu");
	ck_assert_str_eq(seccomp_role_name(SECCOMP_ROLE_VCPU_VFS), "vcpu+vfs");
	ck_assert_str_eq(seccomp_role_name(SECCOMP_ROLE_VFS_WORKER), "vfs-worker");
	ck_assert_str_eq(seccomp_role_name(SECCOMP_ROLE_CONSOLE), "console");
	/*
	 * The console thread's list is the shortest (poll, read, write), then the vCPU's;
	 * the worker's (the whole backend) is the longest.
	 */
	ck_assert_uint_lt(seccomp_role_syscalls(SECCOMP_ROLE_CONSOLE),
			  seccomp_role_syscalls(SECCOMP_ROLE_VCPU));
	ck_assert_uint_lt(seccomp_role_syscalls(SECCOMP_ROLE_VCPU),
			  seccomp_role_syscalls(SECCOMP_ROLE_MAIN));
	ck_assert_uint_lt(seccomp_role_syscalls(SECCOMP_ROLE_MAIN),
			  seccomp_role_syscalls(SECCOMP_ROLE_VFS_WORKER));
	/* vcpu+vfs is the union: more than either, less than both (they share read). */
	ck_assert_uint_lt(seccomp_role_syscalls(SECCOMP_ROLE_VFS_WORKER),
			  seccomp_role_syscalls(SECCOMP_ROLE_VCPU_VFS));
	ck_assert_uint_lt(seccomp_role_syscalls(SECCOMP_ROLE_VCPU_VFS),
			  seccomp_role_syscalls(SECCOMP_ROLE_VFS_WORKER) +
				  seccomp_role_syscalls(SECCOMP_ROLE_VCPU));
	ck_assert_uint_eq(seccomp_role_syscalls(SECCOMP_ROLE_COUNT), 0);
	ck_assert_int_eq(seccomp_install(SECCOMP_ROLE_COUNT, "x"), -EINVAL);
}
END_TEST

static int parse_seccomp(const char *word, struct vm_config *cfg, struct config_error *err)
{
	char *argv[] = { "microvm", "run", "--kernel", "/dev/null", (char *)word, NULL };
	struct cli_options opts;
	char msg[256];

	ck_assert_int_eq(cli_parse(5, argv, &opts, msg, sizeof(msg)), 0);
	config_init(cfg);
	return cli_apply_overrides(&opts, cfg, err);
}

START_TEST(seccomp_option_is_on_by_default_and_off_on_request)
{
	struct config_error err;
	struct vm_config cfg;

	ck_assert_int_eq(parse_seccomp("--vcpus=1", &cfg, &err), 0);
	ck_assert(!cfg.seccomp_off);
	config_free(&cfg);
	ck_assert_int_eq(parse_seccomp("--seccomp=off", &cfg, &err), 0);
	ck_assert(cfg.seccomp_off);
	config_free(&cfg);
	ck_assert_int_eq(parse_seccomp("--seccomp=on", &cfg, &err), 0);
	ck_assert(!cfg.seccomp_off);
	config_free(&cfg);
	ck_assert_int_eq(parse_seccomp("--seccomp=maybe", &cfg, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "--seccomp: expected on or off");
	config_free(&cfg);
}
END_TEST

static Suite *seccomp_suite(void)
{
	Suite *s = suite_create("seccomp");
	TCase *stop = tcase_create("stopped");
	TCase *allow = tcase_create("allowed");
	TCase *misc = tcase_create("misc");

	tcase_add_loop_test(stop, every_role_stops_execve_socket_ptrace_fork_threads_exec_memory_sigaction,
			    0, SECCOMP_ROLE_COUNT * (int)ARRAY_SIZE(forbidden_everywhere));
	tcase_add_test(stop, main_stops_other_signals_kvm_run_and_opening_files);
	tcase_add_test(stop, vcpu_stops_other_ioctls_and_file_access);
	tcase_add_test(stop, worker_stops_ioctls_and_argument_mismatches);
	tcase_add_test(stop, console_stops_opening_closing_and_ioctls);
	tcase_add_test(allow, main_allows_its_wait_and_kick_calls);
	tcase_add_test(allow, vcpu_allows_kvm_run_get_regs_and_eventfds);
	tcase_add_test(allow, worker_allows_the_backend_calls);
	tcase_add_test(allow, vcpu_vfs_allows_the_vcpu_and_the_backend_calls_only);
	tcase_add_test(allow, console_allows_poll_read_and_write);
	tcase_add_test(allow, a_filter_binds_only_the_thread_that_loads_it);
	tcase_add_test(misc, roles_have_names_and_sizes);
	tcase_add_test(misc, seccomp_option_is_on_by_default_and_off_on_request);
	suite_add_tcase(s, stop);
	suite_add_tcase(s, allow);
	suite_add_tcase(s, misc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(seccomp_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

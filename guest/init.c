/* init.c: microvm's guest init (PID 1): set up, run the job's command, report, power off. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "init.h"
#include "protocol.h"

/*
 * Step 1: /dev /proc /sys, then the status port. Without the port's magic this is not
 * microvm (another VMM such as QEMU with the same initrd, as the benchmark runs it, or a
 * kernel booted by hand): the job still runs, and its status goes to the console.
 */
static void init_start(struct init *in)
{
	int err;

	if (mounts_early(in))
		init_fail(in);
	err = status_probe();
	if (err) {
		init_error(in, "not running under microvm (status port: %s): the status goes "
			    "to the console", err == -ENODEV ? "no magic" : strerror(-err));
		return;
	}
	in->under_microvm = true;
	status_report(in, STATUS_READY, 0);
}

/* Steps 2 and 3: the job is read first, so that its verbose flag covers module loading. */
static void init_prepare(struct init *in)
{
	if (job_load(&in->job, MICROVM_JOB_PATH)) {
		init_error(in, "bad job %s: %s", MICROVM_JOB_PATH, in->job.error);
		init_fail(in);
	}
	init_say(in, "job: %s, %zu argument(s), %zu environment entries, %zu share(s)%s",
		 in->job.argv[0], in->job.argc - 1, in->job.nenv, in->job.nmounts,
		 in->job.has_root ? " and a root share" : "");
	if (in->job.user_set)
		init_say(in, "user %u, group %u, %zu supplementary group(s)",
			 (unsigned)in->job.uid, (unsigned)in->job.gid, in->job.ngroups);
	init_say(in, "%zu rlimit(s), %s terminal", in->job.nrlimits,
		 in->job.terminal ? "a" : "no");
	if (modules_load(in, INIT_MODULE_LIST))
		init_fail(in);
}

/* Steps 4 and 5: the file systems the command sees, its stdio, then the hostname. */
static void init_environment(struct init *in)
{
	if (in->job.has_root && mounts_switch_root(in))
		init_fail(in);
	if (mounts_shares(in))
		init_fail(in);
	if (stdio_open(in))
		init_fail(in);
	if (creds_hostname(in))
		init_fail(in);
}

/*
 * Steps 6 and 7. microvm stops the VM as soon as the final status arrives, so the
 * command's output and its files are flushed (sync) before the report.
 */
static noreturn void init_run(struct init *in)
{
	int wstatus = 0;

	if (command_run(in, &wstatus))
		init_fail(in);
	stdio_close(in);
	sync();
	if (!in->under_microvm)
		init_error(in, "status %d", WIFSIGNALED(wstatus) ? 128 + WTERMSIG(wstatus) :
								WEXITSTATUS(wstatus));
	if (WIFSIGNALED(wstatus)) {
		init_say(in, "the command was killed by signal %d", WTERMSIG(wstatus));
		status_report(in, STATUS_KILLED, (unsigned)WTERMSIG(wstatus));
	} else {
		init_say(in, "the command exited with status %d", WEXITSTATUS(wstatus));
		status_report(in, STATUS_EXITED, (unsigned)WEXITSTATUS(wstatus));
	}
	init_power_off(in);
}

int main(void)
{
	/* fd 2 is the console when the initramfs has /dev/console; mounts_early() reopens it. */
	struct init in = {
		.console = fcntl(2, F_GETFD) >= 0 ? 2 : -1,
		.stdio = { -1, -1, -1 },
		.control = -1,
		.events = -1,
	};

	if (getpid() != 1) {
		init_error(&in, "must run as PID 1 (the guest's init)");
		return 1;
	}
	init_start(&in);
	init_prepare(&in);
	init_environment(&in);
	init_run(&in);
}

/* init.h: microvm's guest init (PID 1): its state and the steps main() runs in order. */
#ifndef MICROVM_GUEST_INIT_H
#define MICROVM_GUEST_INIT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdnoreturn.h>
#include <sys/types.h>
#include "../vmm/util.h"
#include "control.h"
#include "job.h"

struct pollfd;

/* Where init finds the module list the initramfs script writes (one path a line). */
#define INIT_MODULE_LIST "/etc/microvm/modules"
/* Where the root share is mounted before it becomes "/". */
#define INIT_NEWROOT "/newroot"
/* How long the virtio-console driver gets to announce the stdio ports. */
#define INIT_PORT_WAIT_MS 2000
/* The command's PATH when the job gives none (the usual root PATH). */
#define INIT_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
/*
 * Status of the command when init cannot enter its working directory: 126, "could not be
 * invoked", as for a command that is not executable (env -C says 125, but microvm exits
 * 125 for its own errors, so a guest 125 would be ambiguous).
 */
#define INIT_STATUS_NO_WORKDIR 126
/* Status of the command when its rlimits, groups or ids cannot be set: also "not invoked". */
#define INIT_STATUS_NO_SETUP 126
/* The terminal's size until the host sends one (the VT100's, as most tools assume). */
#define PTY_DEFAULT_ROWS 24
#define PTY_DEFAULT_COLS 80
/* How long a terminal command's start waits for the host's first "winsize" line. */
#define INIT_WINSIZE_WAIT_MS 100
/*
 * After a command with a terminal exits, its terminal's last output is relayed until the
 * slave side is closed everywhere (the master reads EIO, after the kernel flushed what
 * was in flight), or, when orphans keep the slave open, until it is quiet for
 * INIT_DRAIN_QUIET_MS, and in no case longer than INIT_DRAIN_MAX_MS (orphans that keep
 * writing). The same for an exec'd process with a terminal.
 */
#define INIT_DRAIN_QUIET_MS 200
#define INIT_DRAIN_MAX_MS 5000

struct init {
	int console;        /* /dev/console for messages, -1 while there is none */
	int stdio[3];       /* the command's stdin, stdout, stderr; -1 until stdio_open() */
	int control;        /* the control port (host to guest), -1: none */
	int events;         /* the events port (guest to host), -1: none */
	bool stderr_is_console; /* stdio[2] fell back to /dev/console: say things once */
	bool under_microvm; /* the status port answered with the magic */
	/* Where the ports are found: NULL for /sys/class/virtio-ports and /dev (tests). */
	const char *ports_dir, *dev_dir;
	struct job job;     /* job.verbose: say each step on the console */
};

/* log.c: "microvm-init: " lines. */
/* Only when the job asked for verbose: on the console. */
void init_say(struct init *in, const char *fmt, ...) PRINTF_LIKE(2, 3);
/* Always: on the console and, once stdio exists, on the command's stderr. */
void init_error(struct init *in, const char *fmt, ...) PRINTF_LIKE(2, 3);

/* status.c: the status port and power-off. */
/* 0: the port answered with the magic (ioperm granted); -ENODEV: not microvm; -errno. */
int status_probe(void) MUST_CHECK;
/* Report kind/value when under microvm; a final kind makes microvm stop the VM. */
void status_report(struct init *in, unsigned kind, unsigned value);
/* Report STATUS_INIT_FAILED (the caller already said why) and power off. */
noreturn void init_fail(struct init *in);
noreturn void init_power_off(struct init *in);

/* mounts.c */
/* devtmpfs on /dev, proc, sysfs; then fds 0-2 and the console are made to exist. */
int mounts_early(struct init *in) MUST_CHECK;
/* The job's root share becomes "/" with /dev /proc /sys moved in; init stays PID 1. */
int mounts_switch_root(struct init *in) MUST_CHECK;
/* The job's other shares, each on its directory (created when the root allows it). */
int mounts_shares(struct init *in) MUST_CHECK;

/* modules.c: finit_module() each path listed in list; a missing list means none. */
int modules_load(struct init *in, const char *list) MUST_CHECK;

/* stdio.c: open the stdin/stdout/stderr virtio-console ports, or /dev/console; and the
 * control port when the host has one. */
int stdio_open(struct init *in) MUST_CHECK;
void stdio_close(struct init *in);
/* The /dev path of the port the host named name: 0, or -ENOENT while there is none. */
int stdio_find_port(const struct init *in, const char *name, char *dev, size_t size) MUST_CHECK;

/* creds.c: the job's process settings. */
/* In init, before the command starts: the job's hostname, if any. */
int creds_hostname(struct init *in) MUST_CHECK;
/* In the command's process, in this order; failures are said on fd 2. */
int creds_rlimits(const struct job *job) MUST_CHECK;
int creds_identity(const struct job *job) MUST_CHECK; /* groups, gid, uid */

/* pty.c: the command's terminal. */
struct pty {
	int master; /* init's side, non-blocking; -1 without a terminal */
	int slave;  /* the command's side; init closes its copy once the command runs */
};
/* Open, unlock and size (24x80) a pair; the slave is given to job's user. */
int pty_open(struct init *in, const struct job *job, struct pty *pty) MUST_CHECK;
int pty_resize(int master, unsigned short rows, unsigned short cols) MUST_CHECK;
/* In the command's process, after setsid(): the slave as controlling terminal and fds 0-2. */
int pty_child(int slave) MUST_CHECK;
void pty_close(struct pty *pty);

/* relay.c: one direction of a byte stream between non-blocking descriptors. */
struct relay {
	int from, to; /* not owned; to becomes -1 after a write error (then bytes are dropped) */
	bool eof;     /* from gave 0 or an error: nothing more will be read */
	size_t off, len; /* buf[off..len) waits for to */
	char buf[4096];
};
void relay_init(struct relay *r, int from, int to);
/* The two pollfds this relay needs now (fd -1: not polled). */
void relay_poll(const struct relay *r, struct pollfd *from, struct pollfd *to);
/* Read if the buffer is empty and from polled ready; write what is buffered. */
void relay_run(struct relay *r, short from_revents, short to_revents);

/* Exec'd processes (runc exec) running at once: the host refuses more. */
#define INIT_MAX_EXECS 16
/* Descriptors exec_poll may ask for: a terminal's two relays per process. */
#define EXEC_MAX_POLL (4 * INIT_MAX_EXECS)

struct exec_proc {
	pid_t pid; /* 0: a free slot */
	unsigned serial;
	/* With a terminal: init relays its ports to the pty until the last output is out. */
	struct pty pty;         /* master -1: no terminal */
	int port[2];            /* the stdin and stdout ports (non-blocking), or -1 */
	struct relay input;     /* stdin port -> pty master */
	struct relay output;    /* pty master -> stdout port */
	bool reaped;            /* it ended with wstatus; the status waits for the drain */
	int wstatus;
	long long drain_end, quiet_end; /* CLOCK_MONOTONIC ms: when the drain stops */
};

/* The command and everything init keeps for it while it runs. */
struct cmd {
	struct init *in;
	pid_t pid;          /* 0 until forked */
	int sigfd;          /* signalfd of SIGCHLD, SIGTERM, SIGINT (blocked in init) */
	struct pty pty;     /* with JOB_TERMINAL */
	struct relay input;  /* terminal: stdin port -> pty master */
	struct relay output; /* terminal: pty master -> stdout port */
	struct ctl_reader ctl;
	uint64_t early;     /* bit N-1: "signal N" came before the command existed */
	bool got_winsize;   /* a "winsize" line was applied */
	struct exec_proc execs[INIT_MAX_EXECS];
};

/*
 * command.c, also for exec'd processes: in a forked child, its set-up (the signals init
 * blocks back to default and mask, stdio from a terminal's slave or the three
 * descriptors, rlimits, working directory, identity, environment); a status to exit with
 * when it fails (said on fd 2). Then exec the job's argv; on failure say why, write errno
 * to report_fd (-1: none) and exit 127 or 126, as a shell does.
 */
int cmd_child_setup(const struct job *job, int slave, const int stdio[3], const sigset_t *mask);
noreturn void cmd_child_exec(const struct job *job, int report_fd);
long long cmd_now_ms(void);

/* exec.c: second processes (guest/protocol.h "exec", "kill", "resize", events "exit"). */
/* Start msg->serial's process from its job records; failures are reported as INIT_FAILED. */
void exec_start(struct cmd *c, const struct ctl_msg *msg);
void exec_kill(struct cmd *c, unsigned serial, int sig);
void exec_resize(struct cmd *c, unsigned serial, unsigned short rows, unsigned short cols);
/* A reaped child: true when it was an exec'd process (its status reported, or drained). */
bool exec_reaped(struct cmd *c, pid_t pid, int wstatus);
/* The terminals' relays: what to poll (EXEC_MAX_POLL entries), the poll timeout (ms, -1:
 * none), then the work, which reports the processes whose terminal is drained. */
void exec_poll(const struct cmd *c, struct pollfd *pfd);
int exec_timeout(const struct cmd *c);
void exec_run(struct cmd *c, const struct pollfd *pfd);

/* command.c: run the job's command, reaping every child until it ends; *wstatus as wait(). */
int command_run(struct init *in, int *wstatus) MUST_CHECK;

/* supervise.c: init's loop while the command runs. */
/* Apply what the control port holds now (non-blocking); EOF closes in->control. */
void supervise_control(struct cmd *c);
/* Until the command ends: reap, forward signals, serve control, relay the terminal; then
 * drain the terminal's last output. */
int supervise(struct cmd *c, int *wstatus) MUST_CHECK;

#endif

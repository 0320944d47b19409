/* protocol.h: what microvm and its guest init (guest/init) agree on: the job file and the status port. */
#ifndef MICROVM_GUEST_PROTOCOL_H
#define MICROVM_GUEST_PROTOCOL_H

/*
 * The job: in command mode microvm appends a small uncompressed newc cpio archive to the
 * initrd (Linux unpacks concatenated archives, compressed or not), holding one file,
 * MICROVM_JOB_PATH. It starts with MICROVM_JOB_MAGIC; then records, each one tag byte,
 * the value, and a NUL. Values never contain NUL; order matters only for JOB_ARG and
 * JOB_ENV (kept in order). A file that does not start with the magic, or a record without
 * its NUL, is refused whole.
 */
#define MICROVM_JOB_PATH "/microvm/job"
#define MICROVM_JOB_MAGIC "MICROVM-JOB 1\n"
#define MICROVM_JOB_MAX_BYTES (1U << 20)

enum microvm_job_tag {
	JOB_ARG = 'a',     /* one argv word; argv[0] is looked up in PATH when it has no '/' */
	JOB_ENV = 'e',     /* one environment entry, NAME=VALUE */
	JOB_WORKDIR = 'w', /* the command's working directory (after the root switch) */
	/* A share to mount: "ro<TAB>TAG<TAB>DIR" or "rw<TAB>TAG<TAB>DIR", DIR absolute, inside
	 * the final root (mounted after the root switch). Tags and dirs hold no TAB. */
	JOB_MOUNT = 'm',
	/* The root share: "ro<TAB>TAG" or "rw<TAB>TAG": mounted, /dev /proc /sys moved into it,
	 * then it becomes / (switch_root). At most one. */
	JOB_ROOT = 'r',
	JOB_VERBOSE = 'v', /* value "1": init says what it does on the kernel console */
	/* The OCI runtime's process settings (absent: root, no groups, no terminal). */
	JOB_USER = 'u',	    /* "UID:GID" the command runs as (setgid, setgroups, setuid) */
	JOB_GROUPS = 'G',   /* additional groups: "GID,GID,..." (empty: none) */
	JOB_TERMINAL = 't', /* "1": the command gets a pseudo-terminal as its controlling
			     * terminal; the stdin/stdout ports carry the terminal's stream and
			     * stderr is unused */
	/* One resource limit: "NAME<TAB>SOFT<TAB>HARD", NAME as in OCI ("RLIMIT_NOFILE"),
	 * SOFT/HARD decimal, 18446744073709551615 for unlimited. */
	JOB_RLIMIT = 'l',
	JOB_HOSTNAME = 'h', /* the guest's hostname */
};

/*
 * The status port: a 32-bit I/O port only microvm's init uses, so a status can never be
 * confused with program output. Reads give MICROVM_STATUS_MAGIC (init checks it to know
 * it runs under microvm). Writes are (kind << 24) | value; the first EXITED, KILLED or
 * INIT_FAILED report is final and microvm stops the VM at once, so init reports only
 * after the command's output is written and sync() returned.
 */
#define MICROVM_STATUS_PORT 0x610U
#define MICROVM_STATUS_PORT_SPAN 4U
#define MICROVM_STATUS_MAGIC 0x314d564dU /* "MVM1" little-endian */
#define MICROVM_STATUS(kind, value) (((unsigned)(kind) << 24) | ((unsigned)(value) & 0xffffffU))

enum microvm_status_kind {
	STATUS_READY = 1,       /* init runs (value 0); after this a reset means a guest crash */
	STATUS_EXITED = 2,      /* the command exited; value: its status 0..255 (126/127:
				 * init could not execute it, like a shell) */
	STATUS_KILLED = 3,      /* the command was killed; value: the signal number */
	STATUS_INIT_FAILED = 4, /* init could not set up (mount, root switch, job); value 0.
				 * init wrote why to the stderr port or the console first. */
};

/* Names of the virtio-console ports (VIRTIO_CONSOLE_PORT_NAME) that carry the command's stdio. */
#define MICROVM_PORT_STDIN "stdin"
#define MICROVM_PORT_STDOUT "stdout"
#define MICROVM_PORT_STDERR "stderr"
/*
 * Host to guest control messages, one text line each, on the port of this name:
 *   "signal N\n"          send signal N to the command (its process group when it has
 *                          a terminal, else the command's pid)
 *   "winsize ROWS COLS\n" the terminal's new size (JOB_TERMINAL only): TIOCSWINSZ
 *   "exec S LEN\n" + LEN bytes, or "exec S LEN ROWS COLS\n" + LEN bytes
 *                         start a second process (runc exec) numbered S (1..2^31-1):
 *                          the LEN bytes (1..MICROVM_EXEC_MAX_BYTES) are a job file with
 *                          process records only (JOB_ARG, JOB_ENV, JOB_WORKDIR, JOB_USER,
 *                          JOB_GROUPS, JOB_TERMINAL, JOB_RLIMIT); its stdin, stdout and
 *                          stderr are the ports named MICROVM_EXEC_PORT_FMT with S and
 *                          "stdin", "stdout", "stderr", which the host adds before the
 *                          line. With JOB_TERMINAL the process gets a pseudo-terminal of
 *                          ROWS x COLS (24x80 without them) as its controlling terminal,
 *                          relayed to the stdin and stdout ports (stderr is unused).
 *   "kill S N\n"          send signal N to the exec'd process S (if it still runs)
 *   "resize S ROWS COLS\n" the exec'd process S's terminal's new size
 * Unknown or malformed lines are ignored. The port may be absent (older VMMs).
 */
#define MICROVM_PORT_CONTROL "control"
#define MICROVM_CONTROL_LINE_MAX 64U
#define MICROVM_EXEC_MAX_BYTES (64U << 10)
#define MICROVM_EXEC_PORT_FMT "exec%u-%s"
/*
 * Guest to host events, one text line each, on the port of this name (optional):
 *   "exit S KIND VALUE\n"  the exec'd process S ended (or could not start): KIND and
 *                          VALUE as on the status port (EXITED, KILLED, INIT_FAILED),
 *                          written after the process's output was queued on its ports
 *                          (with a terminal: once the terminal's last output was relayed).
 *                          The host then removes the process's ports.
 */
#define MICROVM_PORT_EVENTS "events"

/* The pvpanic device (ACPI QEMU0001): the guest kernel writes 1 here when it panics. */
#define MICROVM_PVPANIC_PORT 0x505U

#endif

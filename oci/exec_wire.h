/* exec_wire.h: the exec socket between `microvm exec`'s helper and a running VMM (request with stdio fds, status reply). */
#ifndef MICROVM_OCI_EXEC_WIRE_H
#define MICROVM_OCI_EXEC_WIRE_H
/*
 * The VMM of a container listens on a SOCK_SEQPACKET unix socket (<root>/<id>/exec.sock).
 * An exec helper connects and sends ONE request message:
 *   struct oci_exec_hdr { magic = OCI_EXEC_MAGIC, len, flags } then len bytes of blob
 *   (1..OCI_EXEC_MAX_BLOB), with SCM_RIGHTS carrying exactly 3 fds: the process's stdin,
 *   stdout, stderr. With OCI_EXEC_F_TERMINAL all three are the same host terminal (a pty
 *   slave in raw mode): the VMM relays its first two and reads its size from the third.
 * The blob is a guest job file (guest/protocol.h: MICROVM_JOB_MAGIC then tag/value/NUL
 * records) holding only process records (JOB_ARG, JOB_ENV, JOB_WORKDIR, JOB_USER,
 * JOB_GROUPS, JOB_TERMINAL, JOB_RLIMIT), so the VMM can hand it to the guest unchanged.
 * The VMM answers with ONE message { magic = OCI_EXEC_MAGIC, status, 0 } when the process
 * ends, status being MICROVM_STATUS(kind, value) with kind EXITED, KILLED or INIT_FAILED.
 * A request with a bad header, a length that does not match, unknown flags, other than
 * 3 fds, or a truncated message is refused (its fds closed).
 */
#include <stddef.h>
#include <stdint.h>
#include "../guest/protocol.h"
#include "internal.h"

#define OCI_EXEC_MAGIC 0x31584d4dU /* "MMX1" little-endian */
#define OCI_EXEC_MAX_BLOB MICROVM_EXEC_MAX_BYTES /* what the guest takes in one "exec" */
#define OCI_EXEC_NFDS 3U
#define OCI_EXEC_F_TERMINAL 1U /* the fds are one terminal; SIGWINCH means "resized" */

struct oci_exec_hdr {
	uint32_t magic;
	uint32_t len;   /* request: blob bytes; reply: the status word; signal: its number */
	uint32_t flags; /* request: OCI_EXEC_F_*; 0 in the other messages */
};

/* The VMM's listening socket <dir>/exec.sock (mode 0700), and a helper's connection. */
int oci_exec_listen(const char *dir) MUST_CHECK;
int oci_exec_connect(const char *dir) MUST_CHECK;
/* Build the request blob from a process (args, env, cwd, user, groups, terminal, rlimits). */
int oci_exec_blob(const struct oci_spec *p, char **blob, size_t *len) MUST_CHECK;
/* Helper side: send the request. 0 or -errno. */
int oci_exec_send(int sock, const char *blob, size_t len, uint32_t flags,
		  const int fds[OCI_EXEC_NFDS]) MUST_CHECK;
/*
 * VMM side: receive one request; *blob is malloc'd, fds are close-on-exec. 0, -EPROTO
 * (refused: nothing is kept), -errno (-EAGAIN: nothing yet).
 */
int oci_exec_recv(int sock, char **blob, size_t *len, uint32_t *flags,
		  int fds[OCI_EXEC_NFDS]) MUST_CHECK;
/*
 * While the process runs the helper may send { magic, signal, 0 } messages (a signal it
 * caught, for the process; with a terminal, SIGWINCH says the terminal was resized).
 * VMM side, non-blocking: 0 and *sig; -EAGAIN; -ECONNRESET when the helper hung up;
 * -EPROTO. Helper side: oci_exec_send_status sends one.
 */
int oci_exec_recv_signal(int sock, int *sig) MUST_CHECK;
/*
 * VMM side: the final status. Helper side: wait for it (-EPROTO when the VMM went away
 * without one, -EINTR when a signal came first); a status the VMM sent before it closed
 * with a message of ours unread is still read.
 */
int oci_exec_send_status(int sock, uint32_t status) MUST_CHECK;
int oci_exec_recv_status(int sock, uint32_t *status) MUST_CHECK;
/* The helper's exit status for a reported status (runc's shell-like convention). */
int oci_exec_exit_code(uint32_t status);

#endif

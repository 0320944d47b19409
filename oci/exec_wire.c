/* exec_wire.c: encode, send and receive exec requests and their status on a VMM's exec socket (see exec_wire.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "../guest/protocol.h"
#include "exec_wire.h"

/* One record: tag, up to three TAB-joined parts, NUL (the job file's layout). */
static void wire_record(FILE *f, char tag, const char *a, const char *b, const char *c)
{
	fputc(tag, f);
	fputs(a, f);
	if (b)
		fprintf(f, "\t%s", b);
	if (c)
		fprintf(f, "\t%s", c);
	fputc('\0', f);
}

static void wire_user(FILE *f, const struct oci_spec *p)
{
	unsigned i;

	if (p->user_set)
		fprintf(f, "%c%u:%u%c", JOB_USER, p->uid, p->gid, '\0');
	if (p->ngroups) {
		fputc(JOB_GROUPS, f);
		for (i = 0; i < p->ngroups; i++)
			fprintf(f, "%s%u", i ? "," : "", p->groups[i]);
		fputc('\0', f);
	}
}

static void wire_process(FILE *f, const struct oci_spec *p)
{
	char soft[24], hard[24];
	unsigned i;

	fputs(MICROVM_JOB_MAGIC, f);
	for (i = 0; i < p->args.n; i++)
		wire_record(f, JOB_ARG, p->args.v[i], NULL, NULL);
	for (i = 0; i < p->env.n; i++)
		wire_record(f, JOB_ENV, p->env.v[i], NULL, NULL);
	if (p->cwd)
		wire_record(f, JOB_WORKDIR, p->cwd, NULL, NULL);
	wire_user(f, p);
	if (p->terminal)
		wire_record(f, JOB_TERMINAL, "1", NULL, NULL);
	for (i = 0; i < p->nrlimits; i++) {
		snprintf(soft, sizeof(soft), "%llu", (unsigned long long)p->rlimits[i].soft);
		snprintf(hard, sizeof(hard), "%llu", (unsigned long long)p->rlimits[i].hard);
		wire_record(f, JOB_RLIMIT, p->rlimits[i].name, soft, hard);
	}
}

int oci_exec_blob(const struct oci_spec *p, char **blob, size_t *len)
{
	FILE *f;
	int bad;

	*blob = NULL;
	*len = 0;
	if (p->args.n == 0)
		return -EINVAL;
	f = open_memstream(blob, len);
	if (!f)
		return -ENOMEM;
	wire_process(f, p);
	bad = ferror(f);
	if (fclose(f) != 0 || bad) {
		free(*blob);
		*blob = NULL;
		return -ENOMEM;
	}
	if (*len > OCI_EXEC_MAX_BLOB) {
		free(*blob);
		*blob = NULL;
		return -E2BIG;
	}
	return 0;
}

int oci_exec_send(int sock, const char *blob, size_t len, uint32_t flags,
		  const int fds[OCI_EXEC_NFDS])
{
	struct oci_exec_hdr h = { .magic = OCI_EXEC_MAGIC, .len = (uint32_t)len, .flags = flags };
	union {
		char buf[CMSG_SPACE(sizeof(int) * OCI_EXEC_NFDS)];
		struct cmsghdr align;
	} u = { { 0 } };
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)blob, len } };
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2, .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	ssize_t n;

	if (len == 0 || len > OCI_EXEC_MAX_BLOB)
		return -E2BIG;
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * OCI_EXEC_NFDS);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * OCI_EXEC_NFDS);
	do
		n = sendmsg(sock, &m, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == sizeof(h) + len ? 0 : -EPROTO;
}

/* Take the SCM_RIGHTS fds of a received message; -EPROTO unless exactly NFDS arrived. */
static int wire_take_fds(struct msghdr *m, int fds[OCI_EXEC_NFDS])
{
	struct cmsghdr *c;
	size_t got = 0, i, n;
	int r = 0, tmp[64];

	for (c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (n > ARRAY_SIZE(tmp)) /* cannot happen: the buffer holds 64 */
			n = ARRAY_SIZE(tmp);
		memcpy(tmp, CMSG_DATA(c), n * sizeof(int));
		for (i = 0; i < n; i++) {
			if (got < OCI_EXEC_NFDS)
				fds[got] = tmp[i];
			else
				close(tmp[i]);
			got++;
		}
	}
	if (got != OCI_EXEC_NFDS || (m->msg_flags & MSG_CTRUNC)) {
		for (i = 0; i < got && i < OCI_EXEC_NFDS; i++)
			close(fds[i]);
		r = -EPROTO;
	}
	return r;
}

/*
 * The payload is checked after the fds are taken, so a bad request never leaks them. The
 * guest takes at most OCI_EXEC_MAX_BLOB (guest/protocol.h's MICROVM_EXEC_MAX_BYTES): a
 * longer blob would be read as control lines there, so it never gets that far.
 */
static int wire_check(const char *buf, size_t n, int msg_flags, size_t *len, uint32_t *flags)
{
	struct oci_exec_hdr h;

	if ((msg_flags & MSG_TRUNC) || n < sizeof(h))
		return -EPROTO;
	memcpy(&h, buf, sizeof(h));
	if (h.magic != OCI_EXEC_MAGIC || h.len != n - sizeof(h) || h.len == 0 ||
	    h.len > OCI_EXEC_MAX_BLOB || (h.flags & ~OCI_EXEC_F_TERMINAL))
		return -EPROTO;
	*len = h.len;
	*flags = h.flags;
	return 0;
}

int oci_exec_recv(int sock, char **blob, size_t *len, uint32_t *flags, int fds[OCI_EXEC_NFDS])
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * 64)];
		struct cmsghdr align;
	} u;
	size_t cap = sizeof(struct oci_exec_hdr) + OCI_EXEC_MAX_BLOB + 1;
	char *buf = malloc(cap);
	struct iovec iov = { buf, cap };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf) };
	ssize_t n;
	int r;

	*blob = NULL;
	*len = 0;
	*flags = 0;
	if (!buf)
		return -ENOMEM;
	do
		n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		r = -errno;
		free(buf);
		return r;
	}
	r = wire_take_fds(&m, fds);
	if (r == 0 && wire_check(buf, (size_t)n, m.msg_flags, len, flags) < 0) {
		for (size_t i = 0; i < OCI_EXEC_NFDS; i++)
			close(fds[i]);
		r = -EPROTO;
	}
	if (r == 0) {
		memmove(buf, buf + sizeof(struct oci_exec_hdr), *len);
		*blob = buf;
		return 0;
	}
	free(buf);
	*len = 0;
	return r;
}

int oci_exec_send_status(int sock, uint32_t status)
{
	struct oci_exec_hdr h = { .magic = OCI_EXEC_MAGIC, .len = status };
	struct iovec iov = { &h, sizeof(h) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	/* sendmsg, MSG_NOSIGNAL: what the VMM's main filter allows (vmm/seccomp.c). */
	do
		n = sendmsg(sock, &m, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == sizeof(h) ? 0 : -EPROTO;
}

int oci_exec_recv_signal(int sock, int *sig)
{
	struct oci_exec_hdr h;
	struct iovec iov = { &h, sizeof(h) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	do
		n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ECONNRESET; /* the helper is gone */
	if (n != sizeof(h) || h.magic != OCI_EXEC_MAGIC || h.len == 0 || h.len >= NSIG ||
	    h.flags != 0 || (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
		return -EPROTO;
	*sig = (int)h.len;
	return 0;
}

int oci_exec_recv_status(int sock, uint32_t *status)
{
	struct oci_exec_hdr h;
	/* One try: -EINTR lets the helper forward the signal that interrupted it. */
	ssize_t n = recv(sock, &h, sizeof(h), 0);

	/* The VMM closed with a message of ours unread: the error comes first, the status next. */
	if (n < 0 && errno == ECONNRESET)
		n = recv(sock, &h, sizeof(h), MSG_DONTWAIT);
	if (n < 0)
		return -errno;
	if (n != sizeof(h) || h.magic != OCI_EXEC_MAGIC)
		return -EPROTO;
	*status = h.len;
	return 0;
}

int oci_exec_exit_code(uint32_t status)
{
	unsigned kind = status >> 24, value = status & 0xffffffU;

	if (kind == STATUS_EXITED && value <= 255)
		return (int)value;
	if (kind == STATUS_KILLED && value > 0 && value < 128)
		return 128 + (int)value;
	return 255;
}

/*
 * <dir>/exec.sock by way of /proc/self/fd: a state directory under a long --root with a
 * 64-character id does not fit in sun_path (108 bytes), the descriptor's name does.
 */
static int wire_address(const char *dir, int *dirfd, struct sockaddr_un *sa)
{
	*dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (*dirfd < 0)
		return -errno;
	*sa = (struct sockaddr_un){ .sun_family = AF_UNIX };
	snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d/%s", *dirfd,
		 OCI_EXEC_SOCK_FILE);
	return 0;
}

int oci_exec_listen(const char *dir)
{
	struct sockaddr_un sa;
	int dirfd, fd, r = wire_address(dir, &dirfd, &sa);
	mode_t old;

	if (r)
		return r;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	old = umask(0077); /* only the runtime's user (root) may exec in the container */
	r = fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0 ?
		    -errno : 0;
	umask(old);
	close(dirfd);
	if (r && fd >= 0)
		close(fd);
	return r ? r : fd;
}

int oci_exec_connect(const char *dir)
{
	struct sockaddr_un sa;
	int dirfd, fd, r = wire_address(dir, &dirfd, &sa);

	if (r)
		return r;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	r = fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	close(dirfd);
	if (r && fd >= 0)
		close(fd);
	return r ? r : fd;
}

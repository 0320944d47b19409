/* relay.c: copy a byte stream between two non-blocking descriptors through a small buffer. */
#include <errno.h>
#include <poll.h>
#include <unistd.h>
#include "init.h"

void relay_init(struct relay *r, int from, int to)
{
	r->from = from;
	r->to = to;
	r->off = r->len = 0;
	r->eof = from < 0;
}

/* Read while the buffer is empty, write while it is not: a stuck side stops only its stream. */
void relay_poll(const struct relay *r, struct pollfd *from, struct pollfd *to)
{
	from->fd = !r->eof && r->len == 0 ? r->from : -1;
	from->events = POLLIN;
	from->revents = 0;
	to->fd = r->len > 0 && r->to >= 0 ? r->to : -1;
	to->events = POLLOUT;
	to->revents = 0;
}

static void relay_read(struct relay *r)
{
	ssize_t n = read(r->from, r->buf, sizeof(r->buf));

	if (n > 0) {
		r->off = 0;
		r->len = (size_t)n;
		return;
	}
	/* 0 or an error such as EIO (a pty master whose slave is closed): nothing more. */
	if (n == 0 || (errno != EAGAIN && errno != EINTR))
		r->eof = true;
}

static void relay_write(struct relay *r)
{
	ssize_t n;

	if (r->to < 0) { /* the destination failed earlier: what comes is dropped */
		r->off = r->len = 0;
		return;
	}
	n = write(r->to, r->buf + r->off, r->len - r->off);
	if (n > 0)
		r->off += (size_t)n;
	else if (n < 0 && errno != EAGAIN && errno != EINTR)
		r->to = -1; /* not ours to close; the reader must not block on us */
	if (r->to < 0 || r->off == r->len)
		r->off = r->len = 0;
}

void relay_run(struct relay *r, short from_revents, short to_revents)
{
	bool got = false;

	if (from_revents && r->len == 0 && !r->eof) {
		relay_read(r);
		got = r->len > 0;
	}
	/* Fresh bytes are tried at once: a writable destination needs no extra poll round. */
	if (r->len > 0 && (got || to_revents))
		relay_write(r);
}

/* control.c: the control port's text lines: reassembled from the byte stream, then parsed. */
#include "control.h"

#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A decimal at *p (digits only, at least one, at most max); *p moves past it. */
static bool ctl_number(const char **p, const char *end, unsigned max, unsigned *out)
{
	const char *s = *p;
	unsigned v = 0;

	if (s == end || *s < '0' || *s > '9')
		return false;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (max - d) / 10) /* v * 10 + d > max, without overflowing */
			return false;
		v = v * 10 + d;
	}
	*p = s;
	*out = v;
	return true;
}

/* Whether line starts with word and a space; *p then points after the space. */
static bool ctl_word(const char *line, const char *end, const char *word, const char **p)
{
	size_t n = strlen(word);

	if ((size_t)(end - line) <= n || memcmp(line, word, n) || line[n] != ' ')
		return false;
	*p = line + n + 1;
	return true;
}

/* Exactly n numbers from p to end, one space apart, the i-th at most max[i]. */
static bool ctl_numbers(const char *p, const char *end, unsigned n, const unsigned *max,
			unsigned *out)
{
	for (unsigned i = 0; i < n; i++) {
		if (i > 0 && (p == end || *p++ != ' '))
			return false;
		if (!ctl_number(&p, end, max[i], &out[i]))
			return false;
	}
	return p == end;
}

/* "WORD" and exactly n numbers, each within its max (a serial's range is the caller's). */
static bool ctl_line(const char *line, const char *end, const char *word, unsigned n,
		     const unsigned *max, unsigned *out)
{
	const char *p;

	return ctl_word(line, end, word, &p) && ctl_numbers(p, end, n, max, out);
}

enum ctl_kind ctl_parse(const char *line, size_t len, struct ctl_msg *msg)
{
	static const unsigned sig_max[] = { NSIG - 1 }, size_max[] = { 0xffff, 0xffff },
		exec_max[] = { INT32_MAX, MICROVM_EXEC_MAX_BYTES, 0xffff, 0xffff },
		kill_max[] = { INT32_MAX, NSIG - 1 }, resize_max[] = { INT32_MAX, 0xffff, 0xffff };
	const char *end = line + len;
	unsigned v[4] = { 0 };

	memset(msg, 0, sizeof(*msg));
	if (ctl_line(line, end, "signal", 1, sig_max, v) && v[0] > 0) {
		msg->kind = CTL_SIGNAL;
		msg->signal = (int)v[0];
	} else if (ctl_line(line, end, "winsize", 2, size_max, v)) {
		msg->kind = CTL_WINSIZE;
		msg->rows = (unsigned short)v[0];
		msg->cols = (unsigned short)v[1];
	} else if ((ctl_line(line, end, "exec", 2, exec_max, v) ||
		    ctl_line(line, end, "exec", 4, exec_max, v)) && v[0] > 0 && v[1] > 0) {
		msg->kind = CTL_EXEC;
		msg->serial = v[0];
		msg->len = v[1];
		msg->rows = (unsigned short)v[2];
		msg->cols = (unsigned short)v[3];
	} else if (ctl_line(line, end, "kill", 2, kill_max, v) && v[0] > 0 && v[1] > 0) {
		msg->kind = CTL_KILL;
		msg->serial = v[0];
		msg->signal = (int)v[1];
	} else if (ctl_line(line, end, "resize", 3, resize_max, v) && v[0] > 0) {
		msg->kind = CTL_RESIZE;
		msg->serial = v[0];
		msg->rows = (unsigned short)v[1];
		msg->cols = (unsigned short)v[2];
	}
	return msg->kind;
}

/* Collect an exec blob's bytes; true once it is complete (or skipped whole). */
static bool ctl_blob(struct ctl_reader *r, const char *data, size_t len, size_t *used)
{
	size_t n = r->want - r->got < len ? r->want - r->got : len;

	if (r->blob)
		memcpy(r->blob + r->got, data, n);
	r->got += n;
	*used = n;
	return r->got == r->want;
}

static void ctl_blob_done(struct ctl_reader *r, ctl_handler *fn, void *ctx)
{
	struct ctl_msg msg = { .kind = CTL_EXEC, .serial = r->serial, .data = r->blob,
			       .len = r->want, .rows = r->rows, .cols = r->cols };

	if (r->blob)
		fn(ctx, &msg);
	ctl_reader_free(r);
}

void ctl_reader_free(struct ctl_reader *r)
{
	free(r->blob);
	r->blob = NULL;
	r->want = r->got = 0;
}

void ctl_feed(struct ctl_reader *r, const char *data, size_t len, ctl_handler *fn, void *ctx)
{
	struct ctl_msg msg;
	size_t used;

	for (size_t i = 0; i < len; i++) {
		if (r->want) {
			if (ctl_blob(r, data + i, len - i, &used))
				ctl_blob_done(r, fn, ctx);
			i += used - 1;
			continue;
		}
		if (data[i] != '\n') {
			if (r->len == sizeof(r->line))
				r->overlong = true;
			else
				r->line[r->len++] = data[i];
			continue;
		}
		if (r->overlong || ctl_parse(r->line, r->len, &msg) == CTL_IGNORED) {
			/* nothing: the protocol ignores it */
		} else if (msg.kind == CTL_EXEC) {
			/* Out of memory: the blob is skipped, so the stream stays in step. */
			r->want = msg.len;
			r->serial = msg.serial;
			r->rows = msg.rows;
			r->cols = msg.cols;
			r->blob = malloc(msg.len);
		} else {
			fn(ctx, &msg);
		}
		r->len = 0;
		r->overlong = false;
	}
}

/* control.c: the control port's text lines: reassembled from the byte stream, then parsed. */
#include "control.h"

#include <signal.h>
#include <string.h>

/* A decimal at *p (digits only, at least one, at most max); *p moves past it. */
static bool ctl_number(const char **p, const char *end, unsigned max, unsigned *out)
{
	const char *s = *p;
	unsigned v = 0;

	if (s == end || *s < '0' || *s > '9')
		return false;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (unsigned)(*s - '0');
		if (v > max)
			return false;
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

enum ctl_kind ctl_parse(const char *line, size_t len, struct ctl_msg *msg)
{
	const char *end = line + len, *p;
	unsigned a, b;

	memset(msg, 0, sizeof(*msg));
	if (ctl_word(line, end, "signal", &p) && ctl_number(&p, end, NSIG - 1, &a) &&
	    p == end && a > 0) {
		msg->kind = CTL_SIGNAL;
		msg->signal = (int)a;
	} else if (ctl_word(line, end, "winsize", &p) && ctl_number(&p, end, 0xffff, &a) &&
		   p < end && *p++ == ' ' && ctl_number(&p, end, 0xffff, &b) && p == end) {
		msg->kind = CTL_WINSIZE;
		msg->rows = (unsigned short)a;
		msg->cols = (unsigned short)b;
	}
	return msg->kind;
}

void ctl_feed(struct ctl_reader *r, const char *data, size_t len, ctl_handler *fn, void *ctx)
{
	struct ctl_msg msg;

	for (size_t i = 0; i < len; i++) {
		if (data[i] != '\n') {
			if (r->len == sizeof(r->line))
				r->overlong = true;
			else
				r->line[r->len++] = data[i];
			continue;
		}
		if (!r->overlong && ctl_parse(r->line, r->len, &msg) != CTL_IGNORED)
			fn(ctx, &msg);
		r->len = 0;
		r->overlong = false;
	}
}

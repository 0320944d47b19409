/* control.h: the control port's text lines (guest/protocol.h): line assembly and parsing. */
#ifndef MICROVM_GUEST_CONTROL_H
#define MICROVM_GUEST_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include "protocol.h"

enum ctl_kind {
	CTL_IGNORED, /* unknown or malformed: the protocol says to ignore it */
	CTL_SIGNAL,  /* "signal N", 1 <= N < NSIG */
	CTL_WINSIZE, /* "winsize ROWS COLS", each 0..65535 */
};

struct ctl_msg {
	enum ctl_kind kind;
	int signal;
	unsigned short rows, cols;
};

/* Parse one line, without its '\n' (it may hold NULs: they make it malformed). */
enum ctl_kind ctl_parse(const char *line, size_t len, struct ctl_msg *msg);

typedef void ctl_handler(void *ctx, const struct ctl_msg *msg);

/*
 * Bytes in, lines out: the port is a byte stream, so a line may come in pieces. A line
 * longer than the protocol's maximum is dropped whole, up to its '\n'.
 */
struct ctl_reader {
	char line[MICROVM_CONTROL_LINE_MAX];
	size_t len;
	bool overlong;
};

/* Feed len bytes; fn(ctx, msg) runs for each complete line that is not CTL_IGNORED. */
void ctl_feed(struct ctl_reader *r, const char *data, size_t len, ctl_handler *fn, void *ctx);

#endif

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
	CTL_EXEC,    /* "exec S LEN [ROWS COLS]": ctl_parse gives the header, ctl_feed the
		      * whole blob */
	CTL_KILL,    /* "kill S N", 1 <= N < NSIG */
	CTL_RESIZE,  /* "resize S ROWS COLS" */
};

struct ctl_msg {
	enum ctl_kind kind;
	int signal;
	unsigned short rows, cols; /* CTL_EXEC: 0 0 when the line gave no size */
	unsigned serial;  /* CTL_EXEC, CTL_KILL, CTL_RESIZE: the exec'd process, >= 1 */
	const char *data; /* CTL_EXEC from ctl_feed: len bytes, valid during the call */
	size_t len;
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
	/* After an "exec" line: its blob is being collected (or skipped, blob NULL). */
	size_t want, got;
	char *blob;
	unsigned serial;
	unsigned short rows, cols;
};

/*
 * Feed len bytes; fn(ctx, msg) runs for each complete line that is not CTL_IGNORED; an
 * "exec" line's handler runs once its blob is complete (not when memory ran out).
 */
void ctl_feed(struct ctl_reader *r, const char *data, size_t len, ctl_handler *fn, void *ctx);
/* Free a blob still being collected. */
void ctl_reader_free(struct ctl_reader *r);

#endif

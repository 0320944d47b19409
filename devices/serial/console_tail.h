/* console_tail.h: the last bytes the guest wrote to its console, kept to explain a failed boot. */
#ifndef MICROVM_CONSOLE_TAIL_H
#define MICROVM_CONSOLE_TAIL_H

#include <stdbool.h>
#include <stddef.h>

#define CONSOLE_TAIL_BYTES 16384U

/* A ring; the writer (the UART, under its lock) and the reader (after the vCPUs stopped) never overlap. */
struct console_tail {
	char buf[CONSOLE_TAIL_BYTES];
	size_t next;  /* where the next byte goes */
	bool wrapped; /* buf is full: the oldest byte is at next */
};

void console_tail_put(struct console_tail *t, char c);
/* Copy the kept bytes, oldest first, into out (NUL-terminated); returns their count. */
size_t console_tail_copy(const struct console_tail *t, char *out, size_t cap);
/* Does the kept output contain s? */
bool console_tail_contains(const struct console_tail *t, const char *s);

#endif

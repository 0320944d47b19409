/* terminal.h: raw mode for an interactive console, restored on every exit path. */
#ifndef MICROVM_TERMINAL_H
#define MICROVM_TERMINAL_H

#include "util.h"

/* Put tty fd in raw mode if it is a terminal (else do nothing); restored at exit. */
int terminal_enter_raw(int fd) MUST_CHECK;
/* Restore the saved mode; idempotent and async-signal-safe. */
void terminal_restore(void);

#endif

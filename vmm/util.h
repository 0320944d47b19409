/* util.h: small shared helpers: result annotations, logging, array sizes. */
#ifndef MICROVM_UTIL_H
#define MICROVM_UTIL_H

#include <stddef.h>

/* Every fallible function returns 0 or a negative errno and is marked so. */
#define MUST_CHECK __attribute__((warn_unused_result))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))

/* Messages go to stderr prefixed with "microvm: ". */
void log_error(const char *fmt, ...) PRINTF_LIKE(1, 2);
void log_info(const char *fmt, ...) PRINTF_LIKE(1, 2);
/* Only with -vv: per-exit diagnostics a user needs only when a guest misbehaves. */
void log_debug(const char *fmt, ...) PRINTF_LIKE(1, 2);
int log_debug_enabled(void);
int log_verbosity(void); /* how many -v were given */
/* Set once at start-up from --verbose; read-only afterwards. */
void log_set_verbose(int verbose);

#endif

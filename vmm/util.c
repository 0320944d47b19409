/* util.c: logging to stderr with a fixed prefix. */
#include <stdarg.h>
#include <stdio.h>
#include "util.h"

static int log_verbose; /* written once before threads start */

void log_set_verbose(int verbose)
{
	log_verbose = verbose;
}

PRINTF_LIKE(1, 0) static void log_vprint(const char *fmt, va_list ap)
{
	char line[1024];

	/* One write per message so lines from different threads do not interleave. */
	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "microvm: %s\n", line);
}

void log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vprint(fmt, ap);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	log_vprint(fmt, ap);
	va_end(ap);
}

int log_verbosity(void)
{
	return log_verbose;
}

int log_debug_enabled(void)
{
	return log_verbose > 1;
}

void log_debug(const char *fmt, ...)
{
	va_list ap;

	if (log_verbose < 2)
		return;
	va_start(ap, fmt);
	log_vprint(fmt, ap);
	va_end(ap);
}

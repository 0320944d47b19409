/* log.c: init's "microvm-init: " messages on the console and the command's stderr. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "init.h"

/* One write per line, so lines from init and the kernel do not interleave mid-line. */
static void log_line(int fd, const char *fmt, va_list ap)
{
	char line[768];
	int n = snprintf(line, sizeof(line), "microvm-init: ");

	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* Nothing to do when a console write fails: there is nowhere else to say it. */
	if (write(fd, line, (size_t)n) < 0)
		return;
}

void init_say(struct init *in, const char *fmt, ...)
{
	va_list ap;

	if (!in->job.verbose || in->console < 0)
		return;
	va_start(ap, fmt);
	log_line(in->console, fmt, ap);
	va_end(ap);
}

void init_error(struct init *in, const char *fmt, ...)
{
	va_list ap;

	if (in->console >= 0) {
		va_start(ap, fmt);
		log_line(in->console, fmt, ap);
		va_end(ap);
	}
	/* The user sees stderr; the console is shown only with microvm's verbose option. */
	if (in->stdio[2] >= 0 && !in->stderr_is_console) {
		va_start(ap, fmt);
		log_line(in->stdio[2], fmt, ap);
		va_end(ap);
	}
}

/* log.c: runtime-mode messages: stderr and the --log file, in runc's text or JSON line format. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "internal.h"

/*
 * One runtime command per process, and messages come from deep inside it: so the log
 * file is process state, set once by oci_log_open before anything can fail.
 */
static FILE *oci_log_file;
static bool oci_log_json;
static bool oci_log_debug;

int oci_log_open(const struct oci_globals *g)
{
	int fd;

	oci_log_json = g->log_json;
	oci_log_debug = g->debug;
	if (!g->log_path)
		return 0;
	fd = open(g->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	oci_log_file = fdopen(fd, "a");
	if (!oci_log_file) {
		close(fd);
		return -ENOMEM;
	}
	return 0;
}

void oci_log_close(void)
{
	if (oci_log_file)
		fclose(oci_log_file);
	oci_log_file = NULL;
}

/*
 * containerd's shim reads the last line whose level is "error" and shows its msg in
 * "OCI runtime create failed: ...": one JSON object per line, as logrus writes them.
 */
static void oci_log_line(const char *level, const char *msg)
{
	char now[48];

	if (!oci_log_file)
		return;
	oci_now_rfc3339(now, sizeof(now));
	if (oci_log_json) {
		fputs("{\"level\":", oci_log_file);
		oci_json_write_string(oci_log_file, level);
		fputs(",\"msg\":", oci_log_file);
		oci_json_write_string(oci_log_file, msg);
		fputs(",\"time\":", oci_log_file);
		oci_json_write_string(oci_log_file, now);
		fputs("}\n", oci_log_file);
	} else {
		fprintf(oci_log_file, "time=\"%s\" level=%s msg=\"%s\"\n", now, level, msg);
	}
	fflush(oci_log_file);
}

void oci_error(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	oci_log_line("error", msg);
	/* runc prints fatal errors on stderr too; containerd's kill checks read them there. */
	fprintf(stderr, "microvm: %s\n", msg);
}

void oci_debug(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!oci_log_debug)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (oci_log_file)
		oci_log_line("debug", msg);
	else
		fprintf(stderr, "microvm: %s\n", msg);
}

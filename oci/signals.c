/* signals.c: signal names and numbers as `runc kill` accepts them ("9", "KILL", "SIGKILL", "kill"). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "internal.h"

static const struct {
	const char *name; /* without "SIG" */
	int sig;
} oci_signals[] = {
	{ "HUP", SIGHUP },   { "INT", SIGINT },	    { "QUIT", SIGQUIT },     { "ILL", SIGILL },
	{ "TRAP", SIGTRAP }, { "ABRT", SIGABRT },   { "IOT", SIGIOT },	     { "BUS", SIGBUS },
	{ "FPE", SIGFPE },   { "KILL", SIGKILL },   { "USR1", SIGUSR1 },     { "SEGV", SIGSEGV },
	{ "USR2", SIGUSR2 }, { "PIPE", SIGPIPE },   { "ALRM", SIGALRM },     { "TERM", SIGTERM },
	{ "STKFLT", SIGSTKFLT }, { "CHLD", SIGCHLD }, { "CLD", SIGCHLD },   { "CONT", SIGCONT },
	{ "STOP", SIGSTOP }, { "TSTP", SIGTSTP },   { "TTIN", SIGTTIN },     { "TTOU", SIGTTOU },
	{ "URG", SIGURG },   { "XCPU", SIGXCPU },   { "XFSZ", SIGXFSZ },     { "VTALRM", SIGVTALRM },
	{ "PROF", SIGPROF }, { "WINCH", SIGWINCH }, { "IO", SIGIO },	     { "POLL", SIGPOLL },
	{ "PWR", SIGPWR },   { "SYS", SIGSYS },
};

int oci_parse_signal(const char *text, int *sig)
{
	const char *name = text;
	unsigned long n;
	char *end;
	size_t i;

	if (*text >= '0' && *text <= '9') {
		n = strtoul(text, &end, 10);
		if (*end || n >= (unsigned long)_NSIG)
			return -EINVAL;
		*sig = (int)n;
		return 0;
	}
	if (strncasecmp(name, "SIG", 3) == 0)
		name += 3;
	for (i = 0; i < ARRAY_SIZE(oci_signals); i++) {
		if (strcasecmp(name, oci_signals[i].name) == 0) {
			*sig = oci_signals[i].sig;
			return 0;
		}
	}
	return -EINVAL;
}

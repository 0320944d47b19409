/* terminal.c: saving, changing and restoring the controlling terminal's mode. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>
#include "terminal.h"

/*
 * The terminal is a property of the process, not of a VM, and atexit handlers take no
 * argument: so this one piece of state is file-global on purpose.
 */
static struct termios terminal_saved;
static int terminal_fd = -1;
static bool terminal_atexit_registered;

void terminal_restore(void)
{
	if (terminal_fd >= 0) {
		tcsetattr(terminal_fd, TCSANOW, &terminal_saved);
		terminal_fd = -1;
	}
}

int terminal_enter_raw(int fd)
{
	struct termios raw;

	if (!isatty(fd))
		return 0;
	if (tcgetattr(fd, &terminal_saved) < 0)
		return -errno;
	raw = terminal_saved;
	/* The guest's line discipline does echo, line editing and signals, not ours. */
	cfmakeraw(&raw);
	if (tcsetattr(fd, TCSANOW, &raw) < 0)
		return -errno;
	if (!terminal_atexit_registered) {
		if (atexit(terminal_restore) != 0) {
			tcsetattr(fd, TCSANOW, &terminal_saved);
			return -ENOMEM;
		}
		terminal_atexit_registered = true;
	}
	terminal_fd = fd;
	return 0;
}

/* console_tail.c: a ring of the guest's last console bytes. */
#include <stdlib.h>
#include <string.h>
#include "console_tail.h"

void console_tail_put(struct console_tail *t, char c)
{
	t->buf[t->next++] = c;
	if (t->next == CONSOLE_TAIL_BYTES) {
		t->next = 0;
		t->wrapped = true;
	}
}

size_t console_tail_copy(const struct console_tail *t, char *out, size_t cap)
{
	size_t old = t->wrapped ? CONSOLE_TAIL_BYTES - t->next : 0;
	size_t n = old + t->next;

	if (cap == 0)
		return 0;
	if (n > cap - 1) /* keep the newest bytes */
		n = cap - 1;
	if (n <= t->next) {
		memcpy(out, t->buf + t->next - n, n);
	} else {
		size_t from_old = n - t->next;

		memcpy(out, t->buf + CONSOLE_TAIL_BYTES - from_old, from_old);
		memcpy(out + from_old, t->buf, t->next);
	}
	out[n] = '\0';
	return n;
}

bool console_tail_contains(const struct console_tail *t, const char *s)
{
	char *copy = malloc(CONSOLE_TAIL_BYTES + 1);
	bool found;

	if (!copy)
		return false;
	console_tail_copy(t, copy, CONSOLE_TAIL_BYTES + 1);
	found = strstr(copy, s) != NULL;
	free(copy);
	return found;
}

/* handle_table.h: file handles (FUSE "fh") for open files and directories: opaque, generation-checked. */
#ifndef MICROVM_HANDLE_TABLE_H
#define MICROVM_HANDLE_TABLE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../../vmm/util.h"

#define PT_DIRBUF_SIZE (32U << 10)

/* Directory stream state of an OPENDIR handle; lock serialises READDIRs on one handle. */
struct pt_dir {
	pthread_mutex_t lock;
	uint64_t off;	 /* protected by lock: cookie after the last entry handed out */
	size_t pos, len; /* protected by lock: unread part of buf */
	char buf[PT_DIRBUF_SIZE];
};

/* A pinned handle: fd and dir stay valid until pt_htab_put. */
struct pt_href {
	uint32_t idx;
	int fd;
	uint64_t nodeid;
	struct pt_dir *dir; /* NULL for files */
};

struct pt_htab;

MUST_CHECK int pt_htab_create(struct pt_htab **out);
void pt_htab_destroy(struct pt_htab *h);
/* Takes ownership of fd (closed on failure too). */
MUST_CHECK int pt_htab_add(struct pt_htab *h, int fd, uint64_t nodeid, bool dir, uint64_t *fh);
/* -EBADF for unknown or released handles, or a file handle used as a directory one. */
MUST_CHECK int pt_htab_get(struct pt_htab *h, uint64_t fh, bool dir, struct pt_href *ref);
void pt_htab_put(struct pt_htab *h, const struct pt_href *ref);
/* Releases fh; its descriptor closes once no request pins it. */
MUST_CHECK int pt_htab_remove(struct pt_htab *h, uint64_t fh, bool dir);
/* Releases every handle (DESTROY). */
void pt_htab_clear(struct pt_htab *h);
unsigned pt_htab_count(struct pt_htab *h);

#endif

/* fusehost.c: microvm-fusehost: the virtio-fs FUSE server on /dev/fuse, so the host kernel can drive it. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "../devices/virtio_fs/fuse_server.h"

#define HOST_MAX_WRITE (1U << 20)
#define HOST_BUF_SIZE (HOST_MAX_WRITE + 4096U) /* the kernel wants max_write + headers */
#define HOST_MAX_THREADS 64U

struct host {
	struct fuse_server *srv;
	int fd; /* /dev/fuse */
	const char *mountpoint;
	pthread_t thread[HOST_MAX_THREADS];
	unsigned nthreads;
	unsigned running; /* protected by lock */
	pthread_mutex_t lock;
	pthread_cond_t done;
};

static void usage(void)
{
	fprintf(stderr, "usage: microvm-fusehost [--readonly] [--cache never|auto|always] "
			"[--writeback] [--threads N (16)] SHARED_DIR MOUNTPOINT\n");
}

/* One request per read(), one reply per write(), as /dev/fuse wants. */
static void *host_worker(void *arg)
{
	struct host *h = arg;
	char *in = malloc(HOST_BUF_SIZE), *out = malloc(HOST_BUF_SIZE);

	while (in && out) {
		ssize_t n = read(h->fd, in, HOST_BUF_SIZE);

		if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == ENOENT))
			continue; /* ENOENT: the request was interrupted before we read it */
		if (n < 0)
			break; /* ENODEV: unmounted */
		struct iovec iv = { in, (size_t)n }, ov = { out, HOST_BUF_SIZE };
		size_t len = fuse_server_handle(h->srv, &iv, 1, &ov, 1);
		/* ENOENT here: the kernel gave up on the request (interrupted); not an error. */
		if (len > 0 && write(h->fd, out, len) < 0 && errno != ENOENT && errno != EINTR)
			break;
	}
	free(in);
	free(out);
	pthread_mutex_lock(&h->lock);
	h->running--;
	pthread_cond_signal(&h->done);
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

static int host_mount(struct host *h, const char *mountpoint)
{
	char opts[256];

	h->fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (h->fd < 0) {
		fprintf(stderr, "microvm-fusehost: /dev/fuse: %s\n", strerror(errno));
		return -1;
	}
	snprintf(opts, sizeof(opts),
		 "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other,default_permissions",
		 h->fd);
	if (mount("microvm-fusehost", mountpoint, "fuse.microvm", MS_NOSUID | MS_NODEV, opts)) {
		fprintf(stderr, "microvm-fusehost: mount %s: %s\n", mountpoint, strerror(errno));
		return -1;
	}
	h->mountpoint = mountpoint;
	return 0;
}

static int parse_cache(const char *s, enum cache_mode *c)
{
	if (strcmp(s, "never") == 0)
		*c = CACHE_NEVER;
	else if (strcmp(s, "auto") == 0)
		*c = CACHE_AUTO;
	else if (strcmp(s, "always") == 0)
		*c = CACHE_ALWAYS;
	else
		return -1;
	return 0;
}

static int parse_args(int argc, char **argv, struct fuse_server_config *cfg, unsigned *threads,
		      const char **mnt)
{
	static const struct option opts[] = {
		{ "readonly", no_argument, NULL, 'r' }, { "cache", required_argument, NULL, 'c' },
		{ "writeback", no_argument, NULL, 'w' }, { "threads", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'r')
			cfg->readonly = true;
		else if (c == 'w')
			cfg->writeback = true;
		else if (c == 'c' && parse_cache(optarg, &cfg->cache) == 0)
			continue;
		else if (c == 't' && (*threads = (unsigned)atoi(optarg)) >= 1 &&
			 *threads <= HOST_MAX_THREADS)
			continue;
		else
			return -1;
	}
	if (argc - optind != 2)
		return -1;
	cfg->shared_dir = argv[optind];
	*mnt = argv[optind + 1];
	return 0;
}

/* Waits for SIGINT/SIGTERM, or for every worker to end (someone else unmounted us). */
static void host_wait(struct host *h, const sigset_t *sigs)
{
	struct timespec tick = { .tv_sec = 0, .tv_nsec = 200000000L };

	for (;;) {
		if (sigtimedwait(sigs, NULL, &tick) > 0)
			return;
		pthread_mutex_lock(&h->lock);
		unsigned running = h->running;
		pthread_mutex_unlock(&h->lock);
		if (running == 0)
			return;
	}
}

/* Lets the workers see ENODEV; gives up after two seconds if the file system stays busy. */
static bool host_stop(struct host *h)
{
	struct timespec until;
	bool all = true;

	umount2(h->mountpoint, MNT_DETACH);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 2;
	pthread_mutex_lock(&h->lock);
	while (h->running > 0 && all)
		all = pthread_cond_timedwait(&h->done, &h->lock, &until) == 0;
	all = h->running == 0;
	pthread_mutex_unlock(&h->lock);
	return all;
}

int main(int argc, char **argv)
{
	struct fuse_server_config cfg = { .cache = CACHE_AUTO, .max_write = HOST_MAX_WRITE };
	struct host h = { .fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER,
			  .done = PTHREAD_COND_INITIALIZER };
	unsigned threads = 16;
	const char *mnt;
	sigset_t sigs;
	int err;

	if (parse_args(argc, argv, &cfg, &threads, &mnt) != 0) {
		usage();
		return 2;
	}
	/* Lock waiters must leave threads free to serve the unlocks they wait for. */
	cfg.max_lock_waiters = threads > 2 ? threads - 2 : 1;
	err = fuse_server_create(&cfg, &h.srv);
	if (err) {
		fprintf(stderr, "microvm-fusehost: %s: %s\n", cfg.shared_dir, strerror(-err));
		return 1;
	}
	if (host_mount(&h, mnt) != 0)
		return 1;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL); /* the workers inherit the mask */
	for (h.nthreads = 0; h.nthreads < threads; h.nthreads++) {
		h.running++;
		if (pthread_create(&h.thread[h.nthreads], NULL, host_worker, &h) != 0) {
			h.running--;
			break;
		}
	}
	host_wait(&h, &sigs);
	if (!host_stop(&h))
		return 0; /* still busy: exiting closes /dev/fuse, which aborts the connection */
	for (unsigned i = 0; i < h.nthreads; i++)
		pthread_join(h.thread[i], NULL);
	fuse_server_destroy(h.srv);
	close(h.fd);
	return 0;
}

/* parked_thread.h: a device thread made at start-up and parked except while its device runs. */
#ifndef MICROVM_PARKED_THREAD_H
#define MICROVM_PARKED_THREAD_H

#include <pthread.h>
#include <stdbool.h>
#include "seccomp.h"
#include "util.h"

/*
 * Device threads are created by the unfiltered start-up thread, because a thread created
 * once seccomp filters are loaded would inherit its creator's filter on top of its own
 * (vmm/seccomp.c). The thread blocks asynchronous signals and loads its role's filter
 * before it parks, so before it ever sees guest data; then it runs `serve` from each
 * resume (the device's activation) until serve returns (the device stopping), and parks
 * again, until destroyed.
 */
struct parked_thread {
	pthread_t thread;
	bool started; /* between a successful parked_thread_create and destroy */
	char name[16];
	enum seccomp_role role;
	bool seccomp; /* load the role's filter */
	void (*serve)(void *arg);
	void *arg;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* protected by lock */
	bool ready; /* the thread has set itself up; setup_err says how */
	int setup_err;
	bool run;  /* set by resume; the thread clears it when serve returns */
	bool quit; /* set by destroy */
};

/*
 * Start the thread, named `name` (cut to 15 bytes), and wait until it has set itself up
 * and parked; its setup error (a filter that would not load) is returned.
 */
int parked_thread_create(struct parked_thread *t, const char *name, enum seccomp_role role,
			 bool seccomp, void (*serve)(void *arg), void *arg) MUST_CHECK;
/* Run serve (once) from now on. */
void parked_thread_resume(struct parked_thread *t);
/* After the device told serve to return: wait until it has, and the thread parked. */
void parked_thread_park(struct parked_thread *t);
/* End a parked (or never resumed) thread; harmless on one that was never started. */
void parked_thread_destroy(struct parked_thread *t);

#endif

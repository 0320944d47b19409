/* parked_thread.c: the life of a device thread: set-up, park, serve, park, ..., quit. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include "parked_thread.h"

/*
 * No asynchronous signals here (the main thread reads them from a signalfd; this thread
 * may exist before it blocks them), then the role's filter. SIGSYS and the fault signals
 * stay deliverable: the filter's report needs SIGSYS.
 */
static int parked_thread_setup(struct parked_thread *t)
{
	sigset_t set;

	sigfillset(&set);
	sigdelset(&set, SIGSYS);
	sigdelset(&set, SIGSEGV);
	sigdelset(&set, SIGBUS);
	sigdelset(&set, SIGILL);
	sigdelset(&set, SIGFPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	return t->seccomp ? seccomp_install(t->role, t->name) : 0;
}

static void *parked_thread_main(void *arg)
{
	struct parked_thread *t = arg;
	int err = parked_thread_setup(t);

	pthread_mutex_lock(&t->lock);
	t->setup_err = err;
	t->ready = true;
	pthread_cond_broadcast(&t->cond);
	while (err == 0) {
		while (!t->run && !t->quit)
			pthread_cond_wait(&t->cond, &t->lock);
		if (t->quit)
			break;
		pthread_mutex_unlock(&t->lock);
		t->serve(t->arg);
		pthread_mutex_lock(&t->lock);
		t->run = false;
		pthread_cond_broadcast(&t->cond);
	}
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

int parked_thread_create(struct parked_thread *t, const char *name, enum seccomp_role role,
			 bool seccomp, void (*serve)(void *arg), void *arg)
{
	int ret;

	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->role = role;
	t->seccomp = seccomp;
	t->serve = serve;
	t->arg = arg;
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->cond, NULL);
	ret = pthread_create(&t->thread, NULL, parked_thread_main, t);
	if (ret) {
		pthread_cond_destroy(&t->cond);
		pthread_mutex_destroy(&t->lock);
		return -ret;
	}
	pthread_setname_np(t->thread, t->name);
	t->started = true;
	pthread_mutex_lock(&t->lock);
	while (!t->ready)
		pthread_cond_wait(&t->cond, &t->lock);
	ret = t->setup_err;
	pthread_mutex_unlock(&t->lock);
	if (ret)
		parked_thread_destroy(t); /* the thread has returned already */
	return ret;
}

void parked_thread_resume(struct parked_thread *t)
{
	if (!t->started)
		return;
	pthread_mutex_lock(&t->lock);
	t->run = true;
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->lock);
}

void parked_thread_park(struct parked_thread *t)
{
	if (!t->started)
		return;
	pthread_mutex_lock(&t->lock);
	while (t->run)
		pthread_cond_wait(&t->cond, &t->lock);
	pthread_mutex_unlock(&t->lock);
}

void parked_thread_destroy(struct parked_thread *t)
{
	if (!t->started)
		return;
	pthread_mutex_lock(&t->lock);
	t->quit = true;
	pthread_cond_broadcast(&t->cond);
	pthread_mutex_unlock(&t->lock);
	pthread_join(t->thread, NULL);
	pthread_cond_destroy(&t->cond);
	pthread_mutex_destroy(&t->lock);
	t->started = false;
}

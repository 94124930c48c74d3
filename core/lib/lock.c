/*
 * lock.c - duo_lock: a test-and-test-and-set spinlock that yields to the host while
 * contended (host_relax), shared by both builds.
 */
#include <duo/host.h>
#include <duo/lib.h>

void duo_lock(struct duo_lock *l)
{
	for (;;) {
		if (!__atomic_exchange_n(&l->v, 1, __ATOMIC_ACQUIRE))
			return;
		for (int spins = 0; __atomic_load_n(&l->v, __ATOMIC_RELAXED); spins++)
			if (spins > 64)
				host_relax();
	}
}

void duo_unlock(struct duo_lock *l)
{
	__atomic_store_n(&l->v, 0, __ATOMIC_RELEASE);
}

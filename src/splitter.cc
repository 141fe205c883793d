/*
 * splitter.cc: the mode's splitter, chosen once at start (mode is not
 * changed by a reload). NiceHash shares one pool connection among up to
 * 256 miners; simple mode gives each miner its own.
 */
#include "sluice.h"

static time_t	 splitter_last_gc;

#define SPLITTER_GC_INTERVAL	60

/* Connect the first upstream(s). */
void
splitter_start(void)
{
	splitter_last_gc = sl.now;
	nicehash_start();
}

/* Find an upstream for a logged-in miner; -1 when the proxy is full. */
int
splitter_login(struct miner *m)
{
	return nicehash_login(m);
}

/* Route a share that passed the protocol checks. */
void
splitter_submit(struct miner *m, struct share *s, const char *job_id,
    const char *algo)
{
	nicehash_submit(m, s, job_id, algo);
}

/* Release a closing miner's upstream slot. */
void
splitter_close(struct miner *m)
{
	nicehash_close(m);
}

/* Once a second: pool timeouts; every 60 s: garbage collection. */
void
splitter_tick(time_t now)
{
	struct mapper	*mp;

	TAILQ_FOREACH(mp, &nicehash_mappers, entry)
		strategy_tick(mp->strategy, now);
	if (now - splitter_last_gc >= SPLITTER_GC_INTERVAL) {
		splitter_last_gc = now;
		nicehash_gc();
	}
}

/* The pool list changed. */
void
splitter_reload(void)
{
	nicehash_reload();
}

/* Disconnect every upstream (shutdown). */
void
splitter_stop(void)
{
	nicehash_stop();
}

/* Upstream counts for the API and the summary line. */
void
splitter_upstreams(uint64_t *active, uint64_t *sleep, uint64_t *error,
    uint64_t *total)
{
	struct mapper	*mp;

	*active = *sleep = *error = *total = 0;
	TAILQ_FOREACH(mp, &nicehash_mappers, entry) {
		(*total)++;
		if (mp->suspended)
			(*sleep)++;
		else if (strategy_is_up(mp->strategy))
			(*active)++;
		else
			(*error)++;
	}
}

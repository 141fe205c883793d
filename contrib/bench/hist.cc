/*
 * hist.cc: a log-linear histogram of nanosecond latencies, in the manner
 * of HdrHistogram: values below 256 are exact, above that each power of
 * two is split into 128 buckets, so a percentile is within 0.4% of the
 * truth. Histograms from several processes merge by adding counts, which
 * is how the coordinator computes exact-enough percentiles over 19,000
 * miners spread across processes. The maximum is kept exactly.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static int	 hist_index(uint64_t);
static uint64_t	 hist_value(int);

/* Bucket of a value. */
static int
hist_index(uint64_t v)
{
	int	 msb, shift;

	if (v < 2 * HIST_SUB)
		return (int)v;
	msb = 63 - __builtin_clzll(v);
	shift = msb - HIST_SUB_BITS;
	return shift * HIST_SUB + (int)(v >> shift);
}

/* The middle of a bucket. */
static uint64_t
hist_value(int idx)
{
	int		 shift;
	uint64_t	 sub;

	if (idx < 2 * HIST_SUB)
		return (uint64_t)idx;
	shift = idx / HIST_SUB - 1;
	sub = (uint64_t)(idx - shift * HIST_SUB);
	return (sub << shift) + ((1ull << shift) >> 1);
}

/* An empty histogram. */
struct hist *
hist_new(void)
{
	return XCALLOC(struct hist, 1);
}

/* Free a histogram. */
void
hist_free(struct hist *h)
{
	free(h);
}

/* Record one value. */
void
hist_add(struct hist *h, uint64_t v)
{
	h->c[hist_index(v)]++;
	if (h->n == 0 || v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	h->n++;
	h->sum += (double)v;
}

/* Add b's counts to a. */
void
hist_merge(struct hist *a, const struct hist *b)
{
	int	 i;

	if (b->n == 0)
		return;
	for (i = 0; i < HIST_N; i++)
		a->c[i] += b->c[i];
	if (a->n == 0 || b->min < a->min)
		a->min = b->min;
	if (b->max > a->max)
		a->max = b->max;
	a->n += b->n;
	a->sum += b->sum;
}

/* The q-quantile (0 < q <= 1), never above the exact maximum. */
uint64_t
hist_pct(const struct hist *h, double q)
{
	uint64_t	 rank, seen = 0, v;
	int		 i;

	if (h->n == 0)
		return 0;
	rank = (uint64_t)ceil(q * (double)h->n);
	if (rank < 1)
		rank = 1;
	for (i = 0; i < HIST_N; i++) {
		seen += h->c[i];
		if (seen >= rank) {
			v = hist_value(i);
			return v > h->max ? h->max : v;
		}
	}
	return h->max;
}

/* Nanoseconds as microseconds, one decimal. */
double
hist_us(uint64_t ns)
{
	return round((double)ns / 100.0) / 10.0;
}

/* The whole histogram as sparse JSON: {n,min,max,sum,b:[[idx,count]...]}. */
json_t *
hist_json(const struct hist *h)
{
	json_t	*b = json_array();
	int	 i;

	for (i = 0; i < HIST_N; i++) {
		if (h->c[i] != 0)
			json_array_append_new(b, json_pack("[i,I]", i,
			    (json_int_t)h->c[i]));
	}
	return json_pack("{s:I,s:I,s:I,s:f,s:o}", "n", (json_int_t)h->n,
	    "min", (json_int_t)h->min, "max", (json_int_t)h->max,
	    "sum", h->sum, "b", b);
}

/* Merge a histogram in hist_json() form into h; -1 if malformed. */
int
hist_load(struct hist *h, json_t *o)
{
	struct hist	*t;
	json_t		*b, *e;
	size_t		 i;
	json_int_t	 idx, cnt;

	if (!json_is_object(o) || !json_is_array(b = json_object_get(o, "b")))
		return -1;
	t = hist_new();
	t->n = (uint64_t)json_integer_value(json_object_get(o, "n"));
	t->min = (uint64_t)json_integer_value(json_object_get(o, "min"));
	t->max = (uint64_t)json_integer_value(json_object_get(o, "max"));
	t->sum = json_number_value(json_object_get(o, "sum"));
	json_array_foreach(b, i, e) {
		idx = json_integer_value(json_array_get(e, 0));
		cnt = json_integer_value(json_array_get(e, 1));
		if (idx < 0 || idx >= HIST_N || cnt < 0) {
			hist_free(t);
			return -1;
		}
		t->c[idx] += (uint32_t)cnt;
	}
	hist_merge(h, t);
	hist_free(t);
	return 0;
}

/* {n, p50_us, p90_us, p99_us, max_us, mean_us} of a histogram. */
json_t *
hist_summary(const struct hist *h)
{
	json_t	*o = json_object();

	json_object_set_new(o, "n", json_integer((json_int_t)h->n));
	json_object_set_new(o, "p50_us", json_real(hist_us(hist_pct(h, 0.50))));
	json_object_set_new(o, "p90_us", json_real(hist_us(hist_pct(h, 0.90))));
	json_object_set_new(o, "p99_us", json_real(hist_us(hist_pct(h, 0.99))));
	json_object_set_new(o, "max_us", json_real(hist_us(h->max)));
	json_object_set_new(o, "mean_us", json_real(h->n == 0 ? 0 :
	    hist_us((uint64_t)(h->sum / (double)h->n))));
	return o;
}

/* SPDX-License-Identifier: ISC */
/*
 * Samples, quantiles and per-round medians for the benchmark.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void
samples_add(struct samples *s, uint32_t ns)
{
	uint32_t *nv;
	size_t ncap;

	if (s->n == s->cap) {
		ncap = s->cap ? s->cap * 2 : 1024;
		if ((nv = realloc(s->v, ncap * sizeof(*nv))) == NULL)
			abort();	/* out of memory: nothing to measure */
		s->v = nv;
		s->cap = ncap;
	}
	s->v[s->n++] = ns;
}

void
samples_free(struct samples *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

uint32_t
samples_quantile(struct samples *s, double q)
{
	size_t rank;

	if (s->n == 0)
		return 0;
	qsort(s->v, s->n, sizeof(s->v[0]), cmp_u32);
	/* Nearest rank: the smallest value with at least q of them <= it. */
	rank = (size_t)(q * (double)s->n + 0.999999);
	if (rank == 0)
		rank = 1;
	if (rank > s->n)
		rank = s->n;
	return s->v[rank - 1];
}

uint32_t
samples_max(const struct samples *s)
{
	uint32_t m = 0;
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->v[i] > m)
			m = s->v[i];
	return m;
}

void
rounds_add(struct rounds *r, double v)
{
	if (r->n < BENCH_MAX_ROUNDS)
		r->v[r->n++] = v;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double
rounds_median(const struct rounds *r)
{
	double v[BENCH_MAX_ROUNDS];

	if (r->n == 0)
		return 0;
	memcpy(v, r->v, r->n * sizeof(v[0]));
	qsort(v, r->n, sizeof(v[0]), cmp_double);
	if (r->n % 2)
		return v[r->n / 2];
	return (v[r->n / 2 - 1] + v[r->n / 2]) / 2;
}

double
rounds_min(const struct rounds *r)
{
	double m;
	size_t i;

	if (r->n == 0)
		return 0;
	for (m = r->v[0], i = 1; i < r->n; i++)
		if (r->v[i] < m)
			m = r->v[i];
	return m;
}

double
rounds_max(const struct rounds *r)
{
	double m;
	size_t i;

	if (r->n == 0)
		return 0;
	for (m = r->v[0], i = 1; i < r->n; i++)
		if (r->v[i] > m)
			m = r->v[i];
	return m;
}

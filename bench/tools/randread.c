/* seaweed-randread: random aligned preads on one file, per-operation latency percentiles as JSON.
 *
 *   seaweed-randread FILE [-b BLOCK=4096] [-n OPS] [-t SECONDS] [-j THREADS=1] [-s SEED]
 *                    [--buffered] [--range BYTES]
 *
 * Opens FILE with O_DIRECT (unless --buffered), preads BLOCK bytes at uniformly random BLOCK-aligned
 * offsets in [0, range) until OPS reads were done or SECONDS passed (per thread), and prints
 * {"ops":..,"seconds":..,"iops":..,"p50_us":..,"p99_us":..,"p999_us":..,"mean_us":..,"max_us":..,
 *  "errors":..,"short_reads":..} on stdout. Each thread has its own fd. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct worker {
  pthread_t tid;
  int id;
  const char *path;
  size_t block;
  uint64_t nblocks;
  uint64_t max_ops;
  double seconds;
  uint64_t seed;
  int flags;
  double *lat; /* microseconds */
  uint64_t n;
  uint64_t errors, short_reads;
  int open_errno;
};

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t xorshift(uint64_t *s) {
  uint64_t x = *s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return *s = x;
}

static void *run(void *arg) {
  struct worker *w = arg;
  int fd = open(w->path, O_RDONLY | w->flags);
  if (fd < 0) {
    w->open_errno = errno;
    return NULL;
  }
  void *buf = NULL;
  if (posix_memalign(&buf, 4096, w->block) != 0) {
    w->open_errno = ENOMEM;
    close(fd);
    return NULL;
  }
  uint64_t s = w->seed * 0x9E3779B97F4A7C15ull + (uint64_t)w->id + 1;
  const double start = now_s();
  const double deadline = w->seconds > 0 ? start + w->seconds : 1e300;
  for (uint64_t i = 0; i < w->max_ops; ++i) {
    const off_t off = (off_t)((xorshift(&s) % w->nblocks) * w->block);
    const double t0 = now_s();
    const ssize_t r = pread(fd, buf, w->block, off);
    const double t1 = now_s();
    if (r < 0) {
      w->errors++;
      if (w->errors > 100) break;
      continue;
    }
    if ((size_t)r != w->block) w->short_reads++;
    w->lat[w->n++] = (t1 - t0) * 1e6;
    if (t1 >= deadline) break;
  }
  free(buf);
  close(fd);
  return NULL;
}

static int cmp_double(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double pct(const double *v, uint64_t n, double p) {
  if (n == 0) return 0;
  uint64_t i = (uint64_t)(p / 100.0 * (double)n);
  if (i >= n) i = n - 1;
  return v[i];
}

int main(int argc, char **argv) {
  const char *path = NULL;
  size_t block = 4096;
  uint64_t max_ops = 0;
  double seconds = 0;
  int threads = 1;
  uint64_t seed = 1;
  int flags = O_DIRECT;
  uint64_t range = 0;
  for (int i = 1; i < argc; ++i) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "-b") && v) {
      block = strtoull(v, NULL, 10);
      ++i;
    } else if (!strcmp(a, "-n") && v) {
      max_ops = strtoull(v, NULL, 10);
      ++i;
    } else if (!strcmp(a, "-t") && v) {
      seconds = atof(v);
      ++i;
    } else if (!strcmp(a, "-j") && v) {
      threads = atoi(v);
      ++i;
    } else if (!strcmp(a, "-s") && v) {
      seed = strtoull(v, NULL, 10);
      ++i;
    } else if (!strcmp(a, "--range") && v) {
      range = strtoull(v, NULL, 10);
      ++i;
    } else if (!strcmp(a, "--buffered"))
      flags = 0;
    else if (a[0] == '-') {
      fprintf(stderr, "randread: unknown option %s\n", a);
      return 2;
    } else
      path = a;
  }
  if (!path || block == 0 || threads < 1) {
    fprintf(stderr,
            "usage: seaweed-randread FILE [-b BLOCK] [-n OPS] [-t SECONDS] [-j THREADS] [-s SEED] "
            "[--buffered] [--range BYTES]\n");
    return 2;
  }
  if (max_ops == 0 && seconds <= 0) max_ops = 10000;
  struct stat st;
  if (stat(path, &st) != 0) {
    perror(path);
    return 1;
  }
  if (range == 0 || range > (uint64_t)st.st_size) range = (uint64_t)st.st_size;
  const uint64_t nblocks = range / block;
  if (nblocks == 0) {
    fprintf(stderr, "randread: file smaller than one block\n");
    return 1;
  }
  /* capacity: explicit op count, or a generous bound for time-based runs (1M ops/s) */
  const uint64_t cap = max_ops ? max_ops : (uint64_t)(seconds * 1e6) + 1024;
  if (!max_ops) max_ops = cap;

  struct worker *ws = calloc((size_t)threads, sizeof *ws);
  for (int t = 0; t < threads; ++t) {
    ws[t] = (struct worker){.id = t,
                            .path = path,
                            .block = block,
                            .nblocks = nblocks,
                            .max_ops = max_ops,
                            .seconds = seconds,
                            .seed = seed,
                            .flags = flags};
    ws[t].lat = malloc(cap * sizeof(double));
    if (!ws[t].lat) {
      fprintf(stderr, "randread: out of memory\n");
      return 1;
    }
  }
  const double start = now_s();
  for (int t = 0; t < threads; ++t) pthread_create(&ws[t].tid, NULL, run, &ws[t]);
  for (int t = 0; t < threads; ++t) pthread_join(ws[t].tid, NULL);
  const double elapsed = now_s() - start;

  uint64_t total = 0, errors = 0, shorts = 0;
  for (int t = 0; t < threads; ++t) {
    if (ws[t].open_errno) {
      fprintf(stderr, "randread: open %s: %s\n", path, strerror(ws[t].open_errno));
      return 1;
    }
    total += ws[t].n;
    errors += ws[t].errors;
    shorts += ws[t].short_reads;
  }
  double *all = malloc((total ? total : 1) * sizeof(double));
  uint64_t k = 0;
  double sum = 0;
  for (int t = 0; t < threads; ++t)
    for (uint64_t i = 0; i < ws[t].n; ++i) {
      all[k++] = ws[t].lat[i];
      sum += ws[t].lat[i];
    }
  qsort(all, total, sizeof(double), cmp_double);
  printf(
      "{\"file\":\"%s\",\"block\":%zu,\"threads\":%d,\"direct\":%s,\"ops\":%llu,\"seconds\":%.6f,"
      "\"iops\":%.1f,\"mean_us\":%.3f,\"p50_us\":%.3f,\"p90_us\":%.3f,\"p99_us\":%.3f,\"p999_us\":%.3f,"
      "\"max_us\":%.3f,\"errors\":%llu,\"short_reads\":%llu}\n",
      path, block, threads, flags ? "true" : "false", (unsigned long long)total, elapsed,
      elapsed > 0 ? (double)total / elapsed : 0.0, total ? sum / (double)total : 0.0, pct(all, total, 50),
      pct(all, total, 90), pct(all, total, 99), pct(all, total, 99.9), total ? all[total - 1] : 0.0,
      (unsigned long long)errors, (unsigned long long)shorts);
  return errors && total == 0 ? 1 : 0;
}

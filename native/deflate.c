/*
 * tsbuild-deflate -LEVEL [-p THREADS]: gzip stdin to stdout with libdeflate, in parallel.
 *
 * The input is cut into pieces of exactly PIECE bytes (the last one shorter; empty input gives one empty piece), each
 * compressed on its own into one complete gzip member; the members are written in input order. A concatenation of
 * gzip members is one gzip file (RFC 1952 2.2) that gzip, pigz, zlib and Go's gzip reader read whole. The output
 * depends only on the input and the level: never on the thread count or on how read() splits the input.
 *
 * Memory stays bounded: a ring of THREADS + 2 slots (one being read, THREADS being compressed, one being written),
 * each holding one input piece and its compressed member. Errors: a message on stderr and exit status 1.
 */
#include <errno.h>
#include <libdeflate.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PIECE ((size_t)1 << 20)
#define MAX_THREADS 256

enum state { FREE, FILLED, BUSY, DONE };

struct slot {
  enum state state;
  uint64_t seq;
  size_t in_len;
  size_t out_len;
  unsigned char *in;
  unsigned char *out;
};

static int level = 6;
static size_t nslots;
static size_t out_cap;
static struct slot *slots;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static uint64_t next_compress; /* lowest sequence number no worker has taken */
static uint64_t total;         /* number of pieces, valid once eof is set */
static int eof;

static void die(const char *what, int err) {
  if (err) fprintf(stderr, "tsbuild-deflate: %s: %s\n", what, strerror(err));
  else fprintf(stderr, "tsbuild-deflate: %s\n", what);
  _exit(1);
}

static void usage(void) {
  die("usage: tsbuild-deflate -LEVEL [-p THREADS] (LEVEL 1-12) < input > output.gz", 0);
}

static void lock(void) {
  int e = pthread_mutex_lock(&mu);
  if (e) die("pthread_mutex_lock", e);
}

static void unlock(void) {
  int e = pthread_mutex_unlock(&mu);
  if (e) die("pthread_mutex_unlock", e);
}

static void wait_change(void) {
  int e = pthread_cond_wait(&changed, &mu);
  if (e) die("pthread_cond_wait", e);
}

static void broadcast(void) {
  int e = pthread_cond_broadcast(&changed);
  if (e) die("pthread_cond_broadcast", e);
}

/* Fill buf with up to len bytes; fewer only at end of input. */
static size_t read_full(unsigned char *buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = read(STDIN_FILENO, buf + got, len - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("read from stdin", errno);
    }
    if (n == 0) break;
    got += (size_t)n;
  }
  return got;
}

static void write_full(const unsigned char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(STDOUT_FILENO, buf, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("write to stdout", errno);
    }
    buf += n;
    len -= (size_t)n;
  }
}

/* Reader: fills free slots with consecutive pieces, in order. */
static void *reader(void *arg) {
  (void)arg;
  for (uint64_t seq = 0;; seq++) {
    struct slot *s = &slots[seq % nslots];
    lock();
    while (s->state != FREE) wait_change();
    unlock();
    /* the slot is FREE: no other thread touches it until it is FILLED */
    size_t n = read_full(s->in, PIECE);
    lock();
    if (n > 0 || seq == 0) {
      s->seq = seq;
      s->in_len = n;
      s->state = FILLED;
    }
    if (n < PIECE) {
      total = (n > 0 || seq == 0) ? seq + 1 : seq;
      eof = 1;
    }
    broadcast();
    unlock();
    if (eof) return NULL;
  }
}

/* Worker: takes the lowest-numbered filled piece and compresses it into its slot. */
static void *worker(void *arg) {
  (void)arg;
  struct libdeflate_compressor *c = libdeflate_alloc_compressor(level);
  if (!c) die("libdeflate_alloc_compressor: out of memory", 0);
  for (;;) {
    lock();
    struct slot *s;
    for (;;) {
      if (eof && next_compress >= total) {
        unlock();
        libdeflate_free_compressor(c);
        return NULL;
      }
      s = &slots[next_compress % nslots];
      if (s->state == FILLED && s->seq == next_compress) break;
      wait_change();
    }
    s->state = BUSY;
    next_compress++;
    unlock();
    size_t n = libdeflate_gzip_compress(c, s->in, s->in_len, s->out, out_cap);
    if (n == 0) die("libdeflate_gzip_compress: output buffer too small", 0);
    lock();
    s->out_len = n;
    s->state = DONE;
    broadcast();
    unlock();
  }
}

static long parse_num(const char *s, long lo, long hi) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < lo || v > hi) usage();
  return v;
}

int main(int argc, char **argv) {
  long threads = sysconf(_SC_NPROCESSORS_ONLN);
  if (threads < 1) threads = 1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-p") == 0 && i + 1 < argc) threads = parse_num(argv[++i], 1, MAX_THREADS);
    else if (a[0] == '-' && a[1] >= '0' && a[1] <= '9') level = (int)parse_num(a + 1, 1, 12);
    else usage();
  }
  /* a closed stdout must be a write error (EPIPE), not a silent death by signal */
  signal(SIGPIPE, SIG_IGN);

  /* a compressor only to ask for the bound: the same level gives the same bound in every thread */
  struct libdeflate_compressor *probe = libdeflate_alloc_compressor(level);
  if (!probe) die("libdeflate_alloc_compressor: out of memory", 0);
  out_cap = libdeflate_gzip_compress_bound(probe, PIECE);
  libdeflate_free_compressor(probe);

  nslots = (size_t)threads + 2;
  slots = calloc(nslots, sizeof *slots);
  if (!slots) die("calloc", errno);
  for (size_t i = 0; i < nslots; i++) {
    slots[i].in = malloc(PIECE);
    slots[i].out = malloc(out_cap);
    if (!slots[i].in || !slots[i].out) die("malloc", errno);
  }

  pthread_t rd, *workers = calloc((size_t)threads, sizeof *workers);
  if (!workers) die("calloc", errno);
  int e = pthread_create(&rd, NULL, reader, NULL);
  if (e) die("pthread_create", e);
  for (long i = 0; i < threads; i++) {
    e = pthread_create(&workers[i], NULL, worker, NULL);
    if (e) die("pthread_create", e);
  }

  /* the main thread writes members in input order */
  for (uint64_t seq = 0;; seq++) {
    struct slot *s = &slots[seq % nslots];
    lock();
    while (!(eof && seq >= total) && !(s->state == DONE && s->seq == seq)) wait_change();
    if (eof && seq >= total) {
      unlock();
      break;
    }
    unlock();
    write_full(s->out, s->out_len);
    lock();
    s->state = FREE;
    broadcast();
    unlock();
  }

  if ((e = pthread_join(rd, NULL))) die("pthread_join", e);
  for (long i = 0; i < threads; i++)
    if ((e = pthread_join(workers[i], NULL))) die("pthread_join", e);
  if (close(STDOUT_FILENO) != 0 && errno != EINTR) die("close stdout", errno);
  return 0;
}

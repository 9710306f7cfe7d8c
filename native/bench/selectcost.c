/*
 * selectchat-selectcost: what one select() round costs with 1 ready fd among K idle ones.
 *
 * Method. One end of a socketpair holds 1 unread byte: it is readable on every call and never
 * drained. The K idle fds are listening TCP sockets on 127.0.0.1 port 0 with no connection
 * pending: one fd each, watched for reading, never ready. Every fd is below FD_SETSIZE. A
 * round does what a select() loop's wait does (Redis ae_select.c, the addon's
 * Selector.wait()): copy the master read/write/except sets, call select(maxfd + 1, ...) with a
 * timeout, then scan the copies for the ready fd. The ready fd is the lowest, so the scan
 * stops at once and the figure is the kernel walking nfds bits and polling K + 1 sockets.
 * After a short warm-up, --iterations rounds per K (or fewer when --seconds runs out) are
 * timed with CLOCK_MONOTONIC. The TypeScript benchmark does the same through the addon, so
 * the two are directly comparable: the difference is the cost of crossing into native code.
 *
 * Prints one JSON line: {"points":[{"idle":K,"us_per_call":X,"calls":C}, ...]}.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum {
  MAX_POINTS = 64,           /* K values in one run */
  DEFAULT_ITERATIONS = 20000,
  MAX_ITERATIONS = 100000000,
  WARMUP_CALLS = 200,        /* untimed rounds before each point */
  BUDGET_CHECK_EVERY = 256,  /* rounds between clock reads when --seconds is given */
  TIMEOUT_S = 1,             /* select() timeout; never reached, as one fd is always ready */
};

static const char DEFAULT_IDLE_LIST[] = "0,10,100,500,1000";
static const double MAX_SECONDS = 3600;

/* The fds select() can watch: FD_SETSIZE less stdio and the socketpair. */
static const int MAX_IDLE = FD_SETSIZE - 5;

/* Prints the usage text to the given stream. */
static void usage(FILE *to) {
  fprintf(to,
          "usage: selectchat-selectcost [--idle K,K,...] [--iterations I] [--seconds S]\n"
          "  Times one select() round with 1 ready fd among K idle fds, for each K.\n"
          "  --idle LIST      idle fd counts, comma-separated (default %s; at most %d)\n"
          "  --iterations I   timed select() calls per point (default %d)\n"
          "  --seconds S      time budget per point; stops early when spent (default none)\n"
          "Prints one JSON line: {\"points\":[{\"idle\":K,\"us_per_call\":X,\"calls\":C}, ...]}\n",
          DEFAULT_IDLE_LIST, MAX_IDLE, DEFAULT_ITERATIONS);
}

/* Rejects a bad command line: a message on stderr and exit status 2. */
static void bad_usage(const char *format, ...) {
  va_list args;
  va_start(args, format);
  fputs("selectchat-selectcost: ", stderr);
  vfprintf(stderr, format, args);
  fputs(" (try --help)\n", stderr);
  va_end(args);
  exit(2);
}

/* Reports a failed system call and exits with status 1. */
static void fail(const char *what) {
  fprintf(stderr, "selectchat-selectcost: %s: %s\n", what, strerror(errno));
  exit(1);
}

/* Nanoseconds on CLOCK_MONOTONIC. */
static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Parses "0,10,100" into points; returns how many. */
static int parse_idle_list(const char *text, int *points) {
  int count = 0;
  const char *at = text;
  for (;;) {
    char *end;
    errno = 0;
    long k = strtol(at, &end, 10);
    if (end == at || errno || k < 0 || k > MAX_IDLE || (*end && *end != ',')) {
      bad_usage("bad --idle: %s (counts from 0 to %d, comma-separated)", text, MAX_IDLE);
    }
    if (count == MAX_POINTS) bad_usage("bad --idle: more than %d points", MAX_POINTS);
    points[count++] = (int)k;
    if (!*end) return count;
    at = end + 1;
  }
}

/* Opens one idle fd: a listening socket on 127.0.0.1 that nobody connects to. */
static int open_idle_listener(void) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("socket");
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) fail("bind 127.0.0.1:0");
  if (listen(fd, 1) < 0) fail("listen");
  if (fd >= FD_SETSIZE) {
    fprintf(stderr, "selectchat-selectcost: fd %d is not below FD_SETSIZE\n", fd);
    exit(1);
  }
  return fd;
}

/* Times select() rounds with ready_fd and the first k idle fds watched; returns us per call. */
static double time_point(int ready_fd, const int *idle_fds, int k, long iterations,
                         double budget_s, long *calls) {
  fd_set master_read, master_write, master_except;
  FD_ZERO(&master_read);
  FD_ZERO(&master_write);
  FD_ZERO(&master_except);
  FD_SET(ready_fd, &master_read);
  int max_fd = ready_fd;
  for (int i = 0; i < k; i++) {
    FD_SET(idle_fds[i], &master_read);
    if (idle_fds[i] > max_fd) max_fd = idle_fds[i];
  }
  int64_t budget_ns = budget_s > 0 ? (int64_t)(budget_s * 1e9) : INT64_MAX;
  int64_t start = 0;
  long done = 0;
  for (long round = -WARMUP_CALLS; round < iterations; round++) {
    if (round == 0) start = now_ns();
    if (round > 0 && round % BUDGET_CHECK_EVERY == 0 && now_ns() - start >= budget_ns) break;
    /* select() overwrites its sets with the answer, so each call gets fresh copies. */
    fd_set readable = master_read, writable = master_write, exceptional = master_except;
    struct timeval timeout = {TIMEOUT_S, 0};
    int ready = select(max_fd + 1, &readable, &writable, &exceptional, &timeout);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) fail("select");
    int found = -1;
    for (int fd = 0; fd <= max_fd && ready > 0; fd++) {
      if (FD_ISSET(fd, &readable)) {
        found = fd;
        ready--;
      }
    }
    if (found != ready_fd) {
      fprintf(stderr, "selectchat-selectcost: an idle fd was ready (fd %d)\n", found);
      exit(1);
    }
    if (round >= 0) done++;
  }
  *calls = done;
  return (double)(now_ns() - start) / 1000.0 / (double)done;
}

/* Parses the options, opens the fds, times each point, prints the JSON line. */
int main(int argc, char **argv) {
  int points[MAX_POINTS];
  int point_count = 0;
  long iterations = DEFAULT_ITERATIONS;
  double budget_s = 0;
  const char *idle_list = DEFAULT_IDLE_LIST;
  for (int i = 1; i < argc; i++) {
    const char *flag = argv[i];
    if (!strcmp(flag, "--help") || !strcmp(flag, "-h")) {
      usage(stdout);
      return 0;
    }
    if (i + 1 >= argc) bad_usage("unknown option or missing value: %s", flag);
    const char *value = argv[++i];
    char *end;
    if (!strcmp(flag, "--idle")) {
      idle_list = value;
    } else if (!strcmp(flag, "--iterations")) {
      iterations = strtol(value, &end, 10);
      if (!*value || *end || iterations < 1 || iterations > MAX_ITERATIONS) {
        bad_usage("bad --iterations: %s (1 to %d)", value, MAX_ITERATIONS);
      }
    } else if (!strcmp(flag, "--seconds")) {
      budget_s = strtod(value, &end);
      if (!*value || *end || !(budget_s > 0 && budget_s <= MAX_SECONDS)) {
        bad_usage("bad --seconds: %s (above 0, at most %g)", value, MAX_SECONDS);
      }
    } else {
      bad_usage("unknown option: %s", flag);
    }
  }
  point_count = parse_idle_list(idle_list, points);

  struct rlimit limit;
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);

  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) fail("socketpair");
  if (write(pair[1], "x", 1) != 1) fail("write");
  int most = 0;
  for (int p = 0; p < point_count; p++) most = points[p] > most ? points[p] : most;
  int *idle_fds = calloc((size_t)most + 1, sizeof(int));
  if (!idle_fds) fail("calloc");
  for (int i = 0; i < most; i++) idle_fds[i] = open_idle_listener();

  printf("{\"points\":[");
  for (int p = 0; p < point_count; p++) {
    long calls;
    double us = time_point(pair[0], idle_fds, points[p], iterations, budget_s, &calls);
    printf("%s{\"idle\":%d,\"us_per_call\":%.3f,\"calls\":%ld}", p ? "," : "", points[p], us,
           calls);
  }
  printf("]}\n");
  for (int i = 0; i < most; i++) close(idle_fds[i]);
  close(pair[0]);
  close(pair[1]);
  free(idle_fds);
  return 0;
}

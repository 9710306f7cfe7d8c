/*
 * selectchat-selectcost: what one select() round costs with 1 ready fd among K idle ones, and
 * (--backend) what one poll() or epoll_wait() costs in the same place.
 *
 * Method. One end of a socketpair holds 1 unread byte: it is readable on every call and never
 * drained. The K idle fds are listening TCP sockets on 127.0.0.1 port 0 with no connection
 * pending: one fd each, watched for reading, never ready. A select() round does what a select()
 * loop's wait does (Redis ae_select.c, the addon's Selector.wait()): copy the master
 * read/write/except sets, call select(maxfd + 1, ...) with a timeout, then scan the copies for
 * the ready fd. The ready fd is the lowest, so the scan stops at once and the figure is the
 * kernel walking nfds bits and polling K + 1 sockets; every fd is below FD_SETSIZE.
 * A poll() round hands the kept pollfd array (ready fd first) to poll() and scans it for the
 * one non-zero revents, as the addon's Poller.wait() does: the kernel still polls K + 1
 * sockets, with no bitmaps and no FD_SETSIZE. An epoll round is one epoll_wait() on an
 * instance where the K + 1 fds were added once (level-triggered): the kernel hands back the
 * ready fd from its ready list without looking at the idle ones.
 * After a short warm-up, --iterations rounds per K (or fewer when --seconds runs out) are
 * timed with CLOCK_MONOTONIC. The TypeScript benchmark does the same through the addon's
 * Selector, so the two select() curves are directly comparable: the difference is the cost of
 * crossing into native code.
 *
 * Prints one JSON line, whatever the backend:
 * {"points":[{"idle":K,"us_per_call":X,"calls":C}, ...]}.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
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
  TIMEOUT_S = 1,             /* the wait's timeout; never reached, as one fd is always ready */
  MAX_EVENTS = 64,           /* epoll_wait()'s buffer: room for more than the 1 ready fd */
  INTERRUPTED = -2,          /* what a round returns when a signal ended its wait (EINTR) */
};

static const char DEFAULT_IDLE_LIST[] = "0,10,100,500,1000";
static const double MAX_SECONDS = 3600;

/* The fds select() can watch: FD_SETSIZE less stdio and the socketpair. */
static const int MAX_IDLE_SELECT = FD_SETSIZE - 5;
/* poll() and epoll have no such limit: enough for a server well past FD_SETSIZE. */
static const int MAX_IDLE_POLL = 5000;

/* Prints the usage text to the given stream. */
static void usage(FILE *to) {
  fprintf(to,
          "usage: selectchat-selectcost [--backend B] [--idle K,K,...] [--iterations I]"
          " [--seconds S]\n"
          "  Times one wait with 1 ready fd among K idle fds, for each K.\n"
          "  --backend B      select (default), poll or epoll\n"
          "  --idle LIST      idle fd counts, comma-separated (default %s;\n"
          "                   at most %d for select, %d for poll and epoll)\n"
          "  --iterations I   timed calls per point (default %d)\n"
          "  --seconds S      time budget per point; stops early when spent (default none)\n"
          "Prints one JSON line: {\"points\":[{\"idle\":K,\"us_per_call\":X,\"calls\":C}, ...]}\n",
          DEFAULT_IDLE_LIST, MAX_IDLE_SELECT, MAX_IDLE_POLL, DEFAULT_ITERATIONS);
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

/* Parses "0,10,100" into points, each at most max_idle; returns how many. */
static int parse_idle_list(const char *text, int max_idle, int *points) {
  int count = 0;
  const char *at = text;
  for (;;) {
    char *end;
    errno = 0;
    long k = strtol(at, &end, 10);
    if (end == at || errno || k < 0 || k > max_idle || (*end && *end != ',')) {
      bad_usage("bad --idle: %s (counts from 0 to %d, comma-separated)", text, max_idle);
    }
    if (count == MAX_POINTS) bad_usage("bad --idle: more than %d points", MAX_POINTS);
    points[count++] = (int)k;
    if (!*end) return count;
    at = end + 1;
  }
}

/* Opens one idle fd: a listening socket on 127.0.0.1 that nobody connects to, below fd_limit. */
static int open_idle_listener(int fd_limit) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail("socket");
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) fail("bind 127.0.0.1:0");
  if (listen(fd, 1) < 0) fail("listen");
  if (fd >= fd_limit) {
    fprintf(stderr, "selectchat-selectcost: fd %d is not below FD_SETSIZE\n", fd);
    exit(1);
  }
  return fd;
}

/* What select() is handed: master sets copied into each call, and the highest fd in them. */
static fd_set master_read, master_write, master_except;
static int max_fd;

/* Watches ready_fd and the first k idle fds for reading in the master sets. */
static void select_prepare(int ready_fd, const int *idle_fds, int k) {
  FD_ZERO(&master_read);
  FD_ZERO(&master_write);
  FD_ZERO(&master_except);
  FD_SET(ready_fd, &master_read);
  max_fd = ready_fd;
  for (int i = 0; i < k; i++) {
    FD_SET(idle_fds[i], &master_read);
    if (idle_fds[i] > max_fd) max_fd = idle_fds[i];
  }
}

/* One select() round: returns the ready fd it found, -1 for none, or INTERRUPTED. */
static int select_round(void) {
  /* select() overwrites its sets with the answer, so each call gets fresh copies. */
  fd_set readable = master_read, writable = master_write, exceptional = master_except;
  struct timeval timeout = {TIMEOUT_S, 0};
  int ready = select(max_fd + 1, &readable, &writable, &exceptional, &timeout);
  if (ready < 0 && errno == EINTR) return INTERRUPTED;
  if (ready < 0) fail("select");
  int found = -1;
  for (int fd = 0; fd <= max_fd && ready > 0; fd++) {
    if (FD_ISSET(fd, &readable)) {
      found = fd;
      ready--;
    }
  }
  return found;
}

/* What poll() is handed: kept between calls, the ready fd first. */
static struct pollfd *poll_fds;
static nfds_t poll_count;

/* Builds the pollfd array: ready_fd, then the first k idle fds, all watched for reading. */
static void poll_prepare(int ready_fd, const int *idle_fds, int k) {
  poll_count = (nfds_t)k + 1;
  poll_fds = calloc(poll_count, sizeof(*poll_fds));
  if (!poll_fds) fail("calloc");
  poll_fds[0] = (struct pollfd){.fd = ready_fd, .events = POLLIN};
  for (int i = 0; i < k; i++) {
    poll_fds[i + 1] = (struct pollfd){.fd = idle_fds[i], .events = POLLIN};
  }
}

/* One poll() round: returns the ready fd it found, -1 for none, or INTERRUPTED. */
static int poll_round(void) {
  int ready = poll(poll_fds, poll_count, TIMEOUT_S * 1000);
  if (ready < 0 && errno == EINTR) return INTERRUPTED;
  if (ready < 0) fail("poll");
  int found = -1;
  /* poll() counts the entries with a non-zero revents: the scan stops at the last of them. */
  for (nfds_t i = 0; i < poll_count && ready > 0; i++) {
    if (poll_fds[i].revents) {
      found = poll_fds[i].fd;
      ready--;
    }
  }
  return found;
}

static void poll_finish(void) {
  free(poll_fds);
  poll_fds = NULL;
}

/* The epoll instance of the current point and the buffer epoll_wait() fills. */
static int epoll_fd = -1;
static struct epoll_event epoll_events[MAX_EVENTS];

/* A new epoll instance with ready_fd and the first k idle fds added once, for reading. */
static void epoll_prepare(int ready_fd, const int *idle_fds, int k) {
  epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd < 0) fail("epoll_create1");
  struct epoll_event event = {.events = EPOLLIN, .data.fd = ready_fd};
  if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, ready_fd, &event) < 0) fail("epoll_ctl");
  for (int i = 0; i < k; i++) {
    event.data.fd = idle_fds[i];
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, idle_fds[i], &event) < 0) fail("epoll_ctl");
  }
}

/* One epoll_wait() round: returns the ready fd, -1 for none or several, or INTERRUPTED. */
static int epoll_round(void) {
  int ready = epoll_wait(epoll_fd, epoll_events, MAX_EVENTS, TIMEOUT_S * 1000);
  if (ready < 0 && errno == EINTR) return INTERRUPTED;
  if (ready < 0) fail("epoll_wait");
  return ready == 1 ? epoll_events[0].data.fd : -1;
}

static void epoll_finish(void) {
  close(epoll_fd);
  epoll_fd = -1;
}

/* One way to wait: prepare() watches the fds of a point, round() is one timed wait,
 * finish() (if any) releases what prepare() made. */
struct backend {
  const char *name;
  int max_idle;
  int fd_limit; /* every watched fd must be below it */
  void (*prepare)(int ready_fd, const int *idle_fds, int k);
  int (*round)(void);
  void (*finish)(void);
};

static const struct backend BACKENDS[] = {
    {"select", MAX_IDLE_SELECT, FD_SETSIZE, select_prepare, select_round, NULL},
    {"poll", MAX_IDLE_POLL, INT_MAX, poll_prepare, poll_round, poll_finish},
    {"epoll", MAX_IDLE_POLL, INT_MAX, epoll_prepare, epoll_round, epoll_finish},
};

/* Times rounds of backend with ready_fd and the first k idle fds watched; returns us per call. */
static double time_point(const struct backend *backend, int ready_fd, const int *idle_fds, int k,
                         long iterations, double budget_s, long *calls) {
  backend->prepare(ready_fd, idle_fds, k);
  int64_t budget_ns = budget_s > 0 ? (int64_t)(budget_s * 1e9) : INT64_MAX;
  int64_t start = 0;
  long done = 0;
  for (long round = -WARMUP_CALLS; round < iterations; round++) {
    if (round == 0) start = now_ns();
    if (round > 0 && round % BUDGET_CHECK_EVERY == 0 && now_ns() - start >= budget_ns) break;
    int found = backend->round();
    if (found == INTERRUPTED) continue;
    if (found != ready_fd) {
      fprintf(stderr, "selectchat-selectcost: an idle fd was ready (fd %d)\n", found);
      exit(1);
    }
    if (round >= 0) done++;
  }
  double us = (double)(now_ns() - start) / 1000.0 / (double)done;
  if (backend->finish) backend->finish();
  *calls = done;
  return us;
}

/* Parses the options, opens the fds, times each point, prints the JSON line. */
int main(int argc, char **argv) {
  int points[MAX_POINTS];
  int point_count = 0;
  long iterations = DEFAULT_ITERATIONS;
  double budget_s = 0;
  const char *idle_list = DEFAULT_IDLE_LIST;
  const struct backend *backend = &BACKENDS[0];
  for (int i = 1; i < argc; i++) {
    const char *flag = argv[i];
    if (!strcmp(flag, "--help") || !strcmp(flag, "-h")) {
      usage(stdout);
      return 0;
    }
    if (i + 1 >= argc) bad_usage("unknown option or missing value: %s", flag);
    const char *value = argv[++i];
    char *end;
    if (!strcmp(flag, "--backend")) {
      backend = NULL;
      for (size_t b = 0; b < sizeof(BACKENDS) / sizeof(BACKENDS[0]); b++) {
        if (!strcmp(value, BACKENDS[b].name)) backend = &BACKENDS[b];
      }
      if (!backend) bad_usage("bad --backend: %s (select, poll or epoll)", value);
    } else if (!strcmp(flag, "--idle")) {
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
  point_count = parse_idle_list(idle_list, backend->max_idle, points);

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
  for (int i = 0; i < most; i++) idle_fds[i] = open_idle_listener(backend->fd_limit);

  printf("{\"points\":[");
  for (int p = 0; p < point_count; p++) {
    long calls;
    double us = time_point(backend, pair[0], idle_fds, points[p], iterations, budget_s, &calls);
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

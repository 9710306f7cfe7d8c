/*
 * selectchat-loadgen: the benchmark's load generator — epoll, one thread, non-blocking sockets,
 * so that it is not the bottleneck where that can be avoided.
 *
 * It opens --idle connections that only read, then --connections active ones, runs a workload
 * for --warmup seconds and then for a measured --duration window, closes everything and prints
 * one JSON line. An idle connection counts as open only once the server has answered on it (the
 * echo of one short line, or the chat welcome) and then stays silent: so every idle connection
 * is known to be served, and at most CONNECT_CONCURRENCY connections are ever waiting in the
 * server's accept queue (a connect completes in the kernel before accept(), so bounding connects
 * alone would not keep thousands of them out of a listen backlog). Workloads speak the newline framing of the selectchat servers:
 *   echo  every connection keeps --depth lines of --size bytes in flight; each line carries its
 *         CLOCK_MONOTONIC send time as text, so a returning line gives its round-trip latency.
 *   chat  every connection waits for its welcome, join events settle, then --senders of them
 *         send; each line carries sender, sequence number and send time, the N-1 others must
 *         each receive it in order, and a sender keeps at most --depth messages that not
 *         everyone has seen (closed loop).
 *   idle  the echo workload, beside --idle connections that stay open doing nothing.
 * With --rate R the load is open loop instead: line j of the whole run is due at start + j / R,
 * dealt round-robin to the senders (so each sends R / senders lines per second, evenly phased),
 * and carries its *intended* time, not the time it went out. A line that could not go out on
 * time — the socket refused it, or --depth lines were already outstanding — stays due and goes
 * out as soon as it can, still stamped with its intended time: a stalled server is charged for
 * every line that waited, not for one (coordinated omission). Nothing is buffered for them: a
 * connection's schedule position says which lines are owed.
 * Latencies go into a log-linear histogram (128 linear buckets per power of two: a percentile is
 * within 0.4 % of the true sample, nothing stored per sample unless --samples asks). Each round
 * reads every ready socket once into one 64 KiB buffer and writes each connection once.
 * Lines starting "* " are events and ignored; lines starting "! " and lost connections count
 * as errors. The process always exits within warmup + duration + 10 seconds.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

enum {
  MAX_LINE = 65536,                 /* the servers' longest line, before its '\n' */
  MAX_RECEIVED_LINE = MAX_LINE + 256, /* room for the "[NICK] " a chat relay adds */
  READ_BUFFER_SIZE = 64 * 1024,     /* one read() per ready socket per round */
  MAX_EVENTS = 1024,                /* epoll events taken per round */
  MAX_CONNECTIONS = 100000,
  MAX_DEPTH = 4096,
  CONNECT_CONCURRENCY = 128,        /* connections in setup at once (idle: until answered) */
  SPARE_FDS = 16,                   /* stdio, epoll and slack beside the connections */
  TIME_DIGITS = 19,                 /* CLOCK_MONOTONIC ns as fixed-width decimal */
  SENDER_DIGITS = 6,
  SEQUENCE_DIGITS = 10,
  ECHO_HEADER = TIME_DIGITS,        /* echo payload: "<time>xxxx...\n" */
  CHAT_HEADER = SENDER_DIGITS + 1 + SEQUENCE_DIGITS + 1 + TIME_DIGITS, /* "<s> <seq> <time>" */
  MAX_ERROR_REPORTS = 5,            /* errors described on stderr; the rest only counted */
  HIST_SUB_BITS = 8,                /* 128 linear sub-buckets per power of two: <= 0.4% */
  HIST_SUB = 1 << HIST_SUB_BITS,
  HIST_HALF = HIST_SUB / 2,
  HIST_MAX_SHIFT = 40,              /* 2^48 ns (78 h) and more share the last bucket */
  HIST_BUCKETS = HIST_SUB + HIST_MAX_SHIFT * HIST_HALF,
};

static const double MAX_SECONDS = 3600;
static const int64_t NS_PER_S = 1000000000;
static const int64_t SETUP_TIMEOUT_NS = 5000000000;   /* connect and welcome, all of it */
static const int64_t SETTLE_QUIET_NS = 200000000;     /* chat: join events have settled */
static const int64_t SETTLE_MAX_NS = 1000000000;
static const double HARD_LIMIT_SLACK_S = 9.5;         /* exit by warmup + duration + 10 s */
static const double MAX_RATE = 1e8;                   /* lines/s: far beyond any loopback server */
static const unsigned long OPEN_LOOP_TIMER_SLACK_NS = 1000; /* wake on schedule, not 50 µs late */
static const size_t SAMPLES_BUFFER_SIZE = 1 << 20;   /* --samples is written in 1 MiB blocks */

enum workload { WORKLOAD_ECHO, WORKLOAD_CHAT, WORKLOAD_IDLE };
static const char *const WORKLOAD_NAMES[] = {"echo", "chat", "idle"};

enum conn_state { CONN_WAITING, CONN_CONNECTING, CONN_OPEN, CONN_READY, CONN_DEAD };
enum phase { PHASE_CONNECT, PHASE_WELCOME, PHASE_SETTLE, PHASE_WARMUP, PHASE_MEASURE, PHASE_DONE };

struct options {
  const char *host;
  int port;
  enum workload workload;
  int connections, depth, size, senders, idle;
  double warmup_s, duration_s;
  double rate;                   /* open loop: lines/s over all senders; 0 = closed loop */
  const char *samples_path;      /* every measured latency and its line's stamp, ns, one per line */
};

struct conn {
  int fd;
  uint8_t idle, state, dirty, wants_writable, discarding;
  uint8_t blocked;               /* open loop: a line is due that cannot go out (set_blocked) */
  uint32_t inflight;             /* echo: lines sent and not yet back */
  uint64_t next_line;            /* echo, open loop: index of the next line on its schedule */
  char *carry;                   /* the partial line kept between reads */
  uint32_t carry_len, carry_cap;
  char *out;                     /* bytes not yet taken by the kernel: out[out_off..out_len) */
  uint32_t out_off, out_len, out_cap;
};

struct sender {
  uint32_t next_seq, done_seq;   /* messages [done_seq, next_seq) are not complete yet */
  uint32_t *remaining;           /* receivers still missing each of them, by seq % depth */
};

struct histogram {
  uint64_t buckets[HIST_BUCKETS];
  uint64_t count, max;
};

static struct options opt = {.host = "127.0.0.1", .workload = WORKLOAD_ECHO, .connections = 1,
                             .depth = 1, .size = 64, .senders = 1, .warmup_s = 1, .duration_s = 5};
static struct conn *conns;       /* active ones at [0, connections), idle ones after */
static int total_conns;
static struct sender *senders;
static uint32_t *expected_seq;   /* chat: next seq receiver r expects from sender s, [r*K+s] */
static int epoll_fd = -1;
static struct sockaddr_storage server_addr;
static socklen_t server_addr_len;
static enum phase phase = PHASE_CONNECT;
/* connects_pending: connections holding a setup slot (connecting; idle ones until the server
 * answered). connects_done: connections whose setup ended (open, answered, or lost). */
static int connect_cursor, connects_pending, connects_done, live_active, idle_served;
/* What an idle connection of an echo workload sends once: its echo proves it is served. */
static const char IDLE_HELLO[] = "idle\n";
static int64_t start_ns, settle_start_ns, last_receive_ns, warmup_end_ns, measure_end_ns;
static int64_t window_start_ns, window_end_ns;
static struct rusage usage_start, usage_end;
static uint64_t messages, deliveries, errors;
static struct histogram latency;
static struct histogram send_lag;  /* open loop: how late each line went out, measured window */
static int64_t schedule_start_ns;  /* open loop: line j of the run is due at this + j / rate */
static uint64_t lines_announced;   /* open loop: lines j below this have woken their sender */
static int blocked_senders;        /* open loop: senders with a due line they cannot send */
static uint64_t scheduled, unsent; /* open loop: due in the window; due by its end, never sent */
static FILE *samples_file;
static int *dirty_list, dirty_count;
static char *echo_template, *chat_template; /* a whole outgoing line, header to be filled in */
static char read_buffer[READ_BUFFER_SIZE];

/* Prints the usage text to the given stream. */
static void usage(FILE *to) {
  fputs("usage: selectchat-loadgen --port P [options]\n"
        "  --host H          server address (default 127.0.0.1; ::1 works)\n"
        "  --port P          server port (required)\n"
        "  --workload W      echo | chat | idle (default echo; idle = echo beside --idle)\n"
        "  --connections N   active connections (default 1; chat needs 2 or more)\n"
        "  --depth D         echo: lines in flight per connection; chat: messages per sender\n"
        "                    not yet seen by everyone (default 1)\n"
        "  --size S          bytes per sent line including its \"\\n\" (default 64;\n"
        "                    at least 20 for echo, 38 for chat; at most 65537)\n"
        "  --warmup SEC      load before the measured window (default 1)\n"
        "  --duration SEC    the measured window (default 5)\n"
        "  --senders K       chat: connections that send (default 1)\n"
        "  --idle M          connections opened first that only read (default 0); each\n"
        "                    counts as open once the server answered it (the echo of one\n"
        "                    short line, or the chat welcome), then stays silent\n"
        "  --rate R          open loop: R lines/s over all senders (chat: messages/s), each\n"
        "                    sender on its own evenly phased schedule, latency counted from\n"
        "                    each line's intended send time; --depth caps the lines (chat:\n"
        "                    messages) outstanding per sender (default: closed loop)\n"
        "  --samples FILE    also write every measured latency to FILE, one line each in the\n"
        "                    order measured: the latency and the time the line was stamped\n"
        "                    with (open loop: its intended send time), both in decimal ns,\n"
        "                    the second on CLOCK_MONOTONIC\n"
        "Prints one JSON object on stdout. Exit 0 after a run, 1 when the server cannot be\n"
        "reached or set up, 2 on a bad command line. Always exits by warmup + duration + 10 s.\n",
        to);
}

/* Rejects a bad command line: a message on stderr and exit status 2. */
static void bad_usage(const char *format, ...) {
  va_list args;
  va_start(args, format);
  fputs("selectchat-loadgen: ", stderr);
  vfprintf(stderr, format, args);
  fputs(" (try --help)\n", stderr);
  va_end(args);
  exit(2);
}

/* Gives up on a run that cannot happen: a message on stderr and exit status 1. */
static void fail(const char *format, ...) {
  va_list args;
  va_start(args, format);
  fputs("selectchat-loadgen: ", stderr);
  vfprintf(stderr, format, args);
  fputc('\n', stderr);
  va_end(args);
  exit(1);
}

/* The hard time limit: whatever is happening, leave now. */
static void on_alarm(int signo) {
  static const char message[] = "selectchat-loadgen: hard time limit reached\n";
  (void)signo;
  ssize_t ignored = write(STDERR_FILENO, message, sizeof(message) - 1);
  (void)ignored;
  _exit(1);
}

/* Nanoseconds on CLOCK_MONOTONIC, the clock the payload timestamps use. */
static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * NS_PER_S + t.tv_nsec;
}

/* Allocates or aborts: the generator cannot run short of memory halfway through. */
static void *must_alloc(size_t bytes) {
  void *memory = calloc(1, bytes ? bytes : 1);
  if (!memory) fail("out of memory");
  return memory;
}

/* Grows a connection buffer to hold at least need bytes. */
static void reserve(char **buffer, uint32_t *cap, uint32_t need) {
  if (need <= *cap) return;
  uint32_t grown = *cap ? *cap : 256;
  while (grown < need) grown *= 2;
  char *moved = realloc(*buffer, grown);
  if (!moved) fail("out of memory");
  *buffer = moved;
  *cap = grown;
}

/* Bucket of a value: exact below HIST_SUB, then HIST_HALF linear steps per power of two. */
static int histogram_index(uint64_t value) {
  if (value < HIST_SUB) return (int)value;
  int shift = 63 - __builtin_clzll(value) - (HIST_SUB_BITS - 1);
  if (shift > HIST_MAX_SHIFT) return HIST_BUCKETS - 1;
  return HIST_SUB + (shift - 1) * HIST_HALF + (int)((value >> shift) - HIST_HALF);
}

/* The middle of a bucket, the value a percentile falling in it reports. */
static double histogram_value(int index) {
  if (index < HIST_SUB) return index;
  int shift = (index - HIST_SUB) / HIST_HALF + 1;
  uint64_t low = (uint64_t)((index - HIST_SUB) % HIST_HALF + HIST_HALF) << shift;
  return (double)low + (double)((uint64_t)1 << shift) / 2;
}

/* Counts one sample, in nanoseconds. */
static void histogram_record(struct histogram *h, int64_t value) {
  uint64_t v = value > 0 ? (uint64_t)value : 0;
  h->buckets[histogram_index(v)]++;
  h->count++;
  if (v > h->max) h->max = v;
}

/* Counts one measured latency, and writes it to --samples as the histogram saw it, with the
 * time the line was stamped with (open loop: when it was due). */
static void record_latency(int64_t value, int64_t stamp) {
  histogram_record(&latency, value);
  if (!samples_file) return;
  fprintf(samples_file, "%lld %lld\n", (long long)(value > 0 ? value : 0), (long long)stamp);
}

/* The value below which the given fraction of samples fall, in microseconds. */
static double histogram_percentile_us(const struct histogram *h, double fraction) {
  if (h->count == 0) return 0;
  double exact_rank = fraction * (double)h->count;
  uint64_t rank = (uint64_t)exact_rank, seen = 0;
  if ((double)rank < exact_rank || rank == 0) rank++;
  for (int i = 0; i < HIST_BUCKETS; i++) {
    seen += h->buckets[i];
    if (seen >= rank) {
      double value = histogram_value(i);
      return (value < (double)h->max ? value : (double)h->max) / 1000;
    }
  }
  return (double)h->max / 1000;
}

/* Writes value as exactly width decimal digits, zero-padded. */
static void put_digits(char *to, uint64_t value, int width) {
  for (int i = width - 1; i >= 0; i--) {
    to[i] = (char)('0' + value % 10);
    value /= 10;
  }
}

/* Reads exactly width decimal digits; returns 0 when one is not a digit. */
static int get_digits(const char *from, int width, uint64_t *value) {
  uint64_t v = 0;
  for (int i = 0; i < width; i++) {
    unsigned digit = (unsigned char)from[i] - '0';
    if (digit > 9) return 0;
    v = v * 10 + digit;
  }
  *value = v;
  return 1;
}

/* Counts an error and describes the first few on stderr. */
static void report_error(const struct conn *c, const char *what, const char *detail, size_t len) {
  errors++;
  if (errors > MAX_ERROR_REPORTS) return;
  fprintf(stderr, "selectchat-loadgen: %s connection %d: %s%.*s\n", c->idle ? "idle" : "active",
          (int)(c - conns), what, (int)(len > 120 ? 120 : len), detail);
}

/* Queues a connection for the end-of-round write. */
static void mark_dirty(struct conn *c) {
  if (c->dirty || c->state == CONN_DEAD) return;
  c->dirty = 1;
  dirty_list[dirty_count++] = (int)(c - conns);
}

/* Retires a sender's oldest messages once every receiver has them, opening its window. */
static void complete_messages(int s) {
  struct sender *snd = &senders[s];
  while (snd->done_seq != snd->next_seq && snd->remaining[snd->done_seq % opt.depth] == 0) {
    snd->done_seq++;
    if (phase == PHASE_MEASURE) messages++;
    mark_dirty(&conns[s]);
  }
}

/* Chat: a receiver is gone, so messages it had not received no longer wait for it. */
static void forget_receiver(int r) {
  for (int s = 0; s < opt.senders; s++) {
    if (s == r) continue;
    for (uint32_t seq = expected_seq[(size_t)r * opt.senders + s]; seq != senders[s].next_seq;
         seq++) {
      senders[s].remaining[seq % opt.depth]--;
    }
    complete_messages(s);
  }
}

/*
 * Open loop: whether a sender has a line due that cannot go out — depth already outstanding,
 * or the connection is gone. While every sender is blocked the schedule wakes nobody: only a
 * reply can free a slot, and waking for nothing would take CPU from the server under test.
 */
static void set_blocked(struct conn *c, int blocked) {
  if (opt.rate == 0 || c->blocked == blocked) return;
  c->blocked = (uint8_t)blocked;
  blocked_senders += blocked ? 1 : -1;
}

/* Closes a connection the server dropped or broke, counting it as an error. */
static void lose_connection(struct conn *c, const char *why) {
  report_error(c, why, "", 0);
  close(c->fd);
  int was_active_ready = !c->idle && c->state == CONN_READY;
  int was_idle_in_setup = c->idle && c->state == CONN_OPEN;
  c->state = CONN_DEAD;
  if (was_idle_in_setup) {
    connects_pending--;
    connects_done++;
  }
  if (c->idle) return;
  if (c - conns < opt.senders) set_blocked(c, 1);
  if (was_active_ready) live_active--;
  if (opt.workload == WORKLOAD_CHAT && was_active_ready) forget_receiver((int)(c - conns));
}

/* Echo: one line came back; its timestamp gives the round trip. */
static void on_echo_line(struct conn *c, const char *line, size_t len, int64_t now) {
  uint64_t sent;
  if (len != (size_t)opt.size - 1 || !get_digits(line, TIME_DIGITS, &sent) || c->inflight == 0) {
    report_error(c, "unexpected line: ", line, len);
    return;
  }
  c->inflight--;
  if (phase == PHASE_MEASURE) {
    messages++;
    record_latency(now - (int64_t)sent, (int64_t)sent);
  }
  mark_dirty(c);
}

/* Chat: one relayed "[NICK] payload" line arrived at receiver r. */
static void on_chat_line(struct conn *c, const char *line, size_t len, int64_t now) {
  const char *mark = memmem(line, len, "] ", 2);
  const char *payload = mark ? mark + 2 : NULL;
  size_t payload_len = mark ? len - (size_t)(payload - line) : 0;
  uint64_t s, seq, sent;
  int r = (int)(c - conns);
  if (!payload || line[0] != '[' || payload_len != (size_t)opt.size - 1 ||
      !get_digits(payload, SENDER_DIGITS, &s) ||
      !get_digits(payload + SENDER_DIGITS + 1, SEQUENCE_DIGITS, &seq) ||
      !get_digits(payload + CHAT_HEADER - TIME_DIGITS, TIME_DIGITS, &sent) ||
      s >= (uint64_t)opt.senders || (int)s == r ||
      seq != expected_seq[(size_t)r * opt.senders + s] || seq == senders[s].next_seq) {
    report_error(c, "unexpected line: ", line, len);
    return;
  }
  expected_seq[(size_t)r * opt.senders + s]++;
  senders[s].remaining[seq % opt.depth]--;
  if (phase == PHASE_MEASURE) {
    deliveries++;
    record_latency(now - (int64_t)sent, (int64_t)sent);
  }
  if (seq == senders[s].done_seq) complete_messages((int)s);
}

/* An idle connection was answered by the server: it is served, and its setup slot is free. */
static void idle_answered(struct conn *c) {
  c->state = CONN_READY;
  connects_pending--;
  connects_done++;
  idle_served++;
}

/* Routes one complete line (without "\r\n") by what it is and who received it. */
static void on_line(struct conn *c, const char *line, size_t len, int64_t now) {
  if (len >= 2 && line[1] == ' ' && line[0] == '!') {
    report_error(c, "server said: ", line, len);
  } else if (len >= 2 && line[1] == ' ' && line[0] == '*') {
    if (c->state == CONN_OPEN && len > 10 && !memcmp(line, "* welcome ", 10)) {
      if (c->idle) {
        idle_answered(c);
      } else {
        c->state = CONN_READY;
        live_active++;
      }
    }
  } else if (c->idle) {
    if (c->state != CONN_OPEN || opt.workload == WORKLOAD_CHAT) return;
    if (len == sizeof(IDLE_HELLO) - 2 && !memcmp(line, IDLE_HELLO, len)) idle_answered(c);
    else report_error(c, "unexpected line: ", line, len);
  } else if (c->state != CONN_READY || phase < PHASE_WARMUP) {
    report_error(c, "line before the workload began: ", line, len);
  } else if (opt.workload == WORKLOAD_CHAT) {
    on_chat_line(c, line, len, now);
  } else {
    on_echo_line(c, line, len, now);
  }
}

/* Strips the '\n' and an optional '\r' and hands the line on. */
static void complete_line(struct conn *c, const char *line, size_t len, int64_t now) {
  if (len > 0 && line[len - 1] == '\r') len--;
  on_line(c, line, len, now);
}

/* Splits received bytes into lines, joining them with the connection's carry-over buffer. */
static void consume_input(struct conn *c, const char *bytes, size_t len, int64_t now) {
  const char *end = bytes + len;
  while (bytes < end && c->state != CONN_DEAD) {
    const char *newline = memchr(bytes, '\n', (size_t)(end - bytes));
    if (c->discarding) {
      if (!newline) return;
      c->discarding = 0;
      bytes = newline + 1;
      continue;
    }
    size_t piece = (size_t)((newline ? newline : end) - bytes);
    if (c->carry_len + piece > MAX_RECEIVED_LINE) {
      report_error(c, "received line too long", "", 0);
      c->carry_len = 0;
      if (!newline) {
        c->discarding = 1;
        return;
      }
    } else if (!newline) {
      reserve(&c->carry, &c->carry_cap, c->carry_len + (uint32_t)piece);
      memcpy(c->carry + c->carry_len, bytes, piece);
      c->carry_len += (uint32_t)piece;
      return;
    } else if (c->carry_len) {
      reserve(&c->carry, &c->carry_cap, c->carry_len + (uint32_t)piece);
      memcpy(c->carry + c->carry_len, bytes, piece);
      complete_line(c, c->carry, c->carry_len + piece, now);
      c->carry_len = 0;
    } else {
      complete_line(c, bytes, piece, now);
    }
    bytes = newline + 1;
  }
}

/* Reads once from a ready connection: up to 64 KiB, every line in it handled. */
static void read_connection(struct conn *c) {
  ssize_t got = recv(c->fd, read_buffer, sizeof(read_buffer), 0);
  if (got > 0) {
    int64_t now = now_ns();
    last_receive_ns = now;
    consume_input(c, read_buffer, (size_t)got, now);
  } else if (got == 0) {
    lose_connection(c, "closed by the server");
  } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    lose_connection(c, strerror(errno));
  }
}

/* Changes what epoll reports for a connection: readable, and writable while output waits. */
static void watch(struct conn *c, uint32_t events) {
  struct epoll_event event = {.events = events, .data.u32 = (uint32_t)(c - conns)};
  if (epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c->fd, &event) < 0) fail("epoll_ctl: %s", strerror(errno));
}

/* One send() of the pending output; what the kernel does not take waits for EPOLLOUT. */
static void write_pending(struct conn *c) {
  ssize_t sent = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
  if (sent > 0) {
    c->out_off += (uint32_t)sent;
  } else if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    lose_connection(c, strerror(errno));
    return;
  }
  if (c->out_off == c->out_len) {
    c->out_off = c->out_len = 0;
    if (c->wants_writable) watch(c, EPOLLIN);
    c->wants_writable = 0;
  } else if (!c->wants_writable) {
    watch(c, EPOLLIN | EPOLLOUT);
    c->wants_writable = 1;
  }
}

/* Open loop: when line j of the whole run is due. */
static int64_t due_ns(uint64_t j) {
  return schedule_start_ns + (int64_t)((double)j * (double)NS_PER_S / opt.rate);
}

/* Open loop: how many lines of the whole run are due by time t. */
static uint64_t lines_due_by(int64_t t) {
  if (t < schedule_start_ns) return 0;
  return (uint64_t)((double)(t - schedule_start_ns) * opt.rate / (double)NS_PER_S) + 1;
}

/* Open loop: sender i's own lines among the first `due` of the run (lines i, i + K, i + 2K...). */
static uint64_t sender_share(uint64_t due, int i) {
  uint64_t k = (uint64_t)opt.senders;
  return due > (uint64_t)i ? (due - (uint64_t)i + k - 1) / k : 0;
}

/* The time a sender's line k carries: open loop, when it is due (0 if not yet); closed: now. */
static int64_t line_stamp(int i, uint64_t k, int64_t now) {
  if (opt.rate == 0) return now;
  int64_t due = due_ns(k * (uint64_t)opt.senders + (uint64_t)i);
  return due > now ? 0 : due;
}

/* Open loop: how late a line goes out, over the measured window. */
static void record_send_lag(int64_t stamp, int64_t now) {
  if (opt.rate > 0 && phase == PHASE_MEASURE) histogram_record(&send_lag, now - stamp);
}

/* Room for one more line at the end of a connection's output, unsent bytes moved to the front. */
static char *output_slot(struct conn *c) {
  if (c->out_off > 0) {
    memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
    c->out_len -= c->out_off;
    c->out_off = 0;
  }
  reserve(&c->out, &c->out_cap, c->out_len + (uint32_t)opt.size);
  char *line = c->out + c->out_len;
  c->out_len += (uint32_t)opt.size;
  return line;
}

/* Echo: tops the connection up to depth lines in flight (open loop: only lines already due). */
static void compose_echo(struct conn *c, int64_t now) {
  int i = (int)(c - conns);
  int64_t stamp = line_stamp(i, c->next_line, now);
  while (stamp != 0 && c->inflight < (uint32_t)opt.depth) {
    record_send_lag(stamp, now);
    char *line = output_slot(c);
    memcpy(line, echo_template, (size_t)opt.size);
    put_digits(line, (uint64_t)stamp, TIME_DIGITS);
    c->next_line++;
    c->inflight++;
    stamp = line_stamp(i, c->next_line, now);
  }
  set_blocked(c, stamp != 0);
}

/* Chat: sends messages while fewer than depth are not yet seen by all (open loop: due ones). */
static void compose_chat(struct conn *c, int64_t now) {
  int s = (int)(c - conns);
  if (s >= opt.senders) return;
  struct sender *snd = &senders[s];
  int64_t stamp = line_stamp(s, snd->next_seq, now);
  while (stamp != 0 && snd->next_seq - snd->done_seq < (uint32_t)opt.depth && live_active > 1) {
    record_send_lag(stamp, now);
    char *line = output_slot(c);
    memcpy(line, chat_template, (size_t)opt.size);
    put_digits(line, (uint64_t)s, SENDER_DIGITS);
    put_digits(line + SENDER_DIGITS + 1, snd->next_seq, SEQUENCE_DIGITS);
    put_digits(line + CHAT_HEADER - TIME_DIGITS, (uint64_t)stamp, TIME_DIGITS);
    snd->remaining[snd->next_seq % opt.depth] = (uint32_t)live_active - 1;
    snd->next_seq++;
    stamp = line_stamp(s, snd->next_seq, now);
  }
  set_blocked(c, stamp != 0);
}

/* Open loop: lines due by the end of the window that never went out, over every sender. */
static uint64_t count_unsent(int64_t end) {
  uint64_t due = lines_due_by(end), total = 0;
  for (int i = 0; i < opt.senders; i++) {
    uint64_t sent = opt.workload == WORKLOAD_CHAT ? senders[i].next_seq : conns[i].next_line;
    uint64_t owed = sender_share(due, i);
    if (owed > sent && conns[i].state == CONN_READY) total += owed - sent;
  }
  return total;
}

/* Open loop: wakes each sender whose next line came due since the last round. */
static void announce_due_lines(int64_t now) {
  if (opt.rate == 0 || (phase != PHASE_WARMUP && phase != PHASE_MEASURE)) return;
  uint64_t due = lines_due_by(now);
  if (due - lines_announced >= (uint64_t)opt.senders) {
    for (int i = 0; i < opt.senders; i++) mark_dirty(&conns[i]);
  } else {
    for (uint64_t j = lines_announced; j < due; j++) mark_dirty(&conns[j % (uint64_t)opt.senders]);
  }
  lines_announced = due;
}

/*
 * End of round: each connection that has something to say writes it, once. Closed loop composes
 * only once the last output is gone; open loop composes whatever is due, even behind a full
 * socket, so that those lines keep their intended times (at most depth of them per sender).
 * One clock reading serves the whole round, so lines composed together carry one decision.
 */
static void flush_dirty(int64_t now) {
  for (int i = 0; i < dirty_count; i++) {
    struct conn *c = &conns[dirty_list[i]];
    c->dirty = 0;
    if (c->state != CONN_READY) continue;
    int running = phase == PHASE_WARMUP || phase == PHASE_MEASURE;
    if (running && !c->idle && (opt.rate > 0 || c->out_len == 0)) {
      if (opt.workload == WORKLOAD_CHAT) compose_chat(c, now);
      else compose_echo(c, now);
    }
    if (!c->wants_writable && c->out_len > c->out_off) write_pending(c);
  }
  dirty_count = 0;
}

/* Starts a non-blocking connect for the next connection in order: idle ones first. */
static void start_connect(int i) {
  struct conn *c = &conns[i];
  c->fd = socket(server_addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) fail("socket: %s", strerror(errno));
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (connect(c->fd, (struct sockaddr *)&server_addr, server_addr_len) < 0 &&
      errno != EINPROGRESS) {
    fail("connect to %s:%d: %s", opt.host, opt.port, strerror(errno));
  }
  struct epoll_event event = {.events = EPOLLIN | EPOLLOUT, .data.u32 = (uint32_t)i};
  if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, c->fd, &event) < 0) fail("epoll_ctl: %s", strerror(errno));
  c->state = CONN_CONNECTING;
  connects_pending++;
}

/* A connect finished: fails the run if it was refused, else the connection is open. */
static void finish_connect(struct conn *c) {
  int error = 0;
  socklen_t len = sizeof(error);
  getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &len);
  int reset_after_connecting = error == ECONNRESET || error == EPIPE;
  if (error && !reset_after_connecting) {
    fail("connect to %s:%d: %s", opt.host, opt.port, strerror(error));
  }
  if (c->idle) {
    /* Its setup slot stays taken until the server answers (idle_answered) or drops it. */
    c->state = CONN_OPEN;
    if (reset_after_connecting) {
      lose_connection(c, strerror(error));
      return;
    }
    watch(c, EPOLLIN);
    if (opt.workload != WORKLOAD_CHAT) {
      reserve(&c->out, &c->out_cap, sizeof(IDLE_HELLO) - 1);
      memcpy(c->out, IDLE_HELLO, sizeof(IDLE_HELLO) - 1);
      c->out_off = 0;
      c->out_len = sizeof(IDLE_HELLO) - 1;
      write_pending(c);
    }
    return;
  }
  connects_pending--;
  connects_done++;
  int waits_for_welcome = opt.workload == WORKLOAD_CHAT;
  c->state = waits_for_welcome ? CONN_OPEN : CONN_READY;
  if (!waits_for_welcome) live_active++;
  if (reset_after_connecting) lose_connection(c, strerror(error));
  else watch(c, EPOLLIN);
}

/* Keeps CONNECT_CONCURRENCY connects in flight; active ones start when every idle one is open. */
static void continue_connecting(void) {
  while (connects_pending < CONNECT_CONCURRENCY && connect_cursor < total_conns) {
    if (connect_cursor == opt.idle && connects_done < opt.idle) return;
    int i = connect_cursor < opt.idle ? opt.connections + connect_cursor
                                      : connect_cursor - opt.idle;
    start_connect(i);
    connect_cursor++;
  }
}

/* True while an active connection is still connecting or waiting for its welcome. */
static int active_setup_pending(void) {
  for (int i = 0; i < opt.connections; i++) {
    if (conns[i].state == CONN_WAITING || conns[i].state == CONN_CONNECTING ||
        conns[i].state == CONN_OPEN) {
      return 1;
    }
  }
  return 0;
}

/* Starts the load: warmup now, the measured window after it. */
static void begin_workload(int64_t now) {
  phase = PHASE_WARMUP;
  schedule_start_ns = now;
  warmup_end_ns = now + (int64_t)(opt.warmup_s * NS_PER_S);
  measure_end_ns = warmup_end_ns; /* set again when the window really opens */
  for (int i = 0; i < opt.connections; i++) mark_dirty(&conns[i]);
}

/* Moves the run through its phases as time passes and connections come up. */
static void advance_phase(int64_t now) {
  if (phase <= PHASE_WELCOME && now - start_ns > SETUP_TIMEOUT_NS) {
    fail("timed out setting up: %d of %d connections open (%d of %d idle ones answered)%s",
         connects_done, total_conns, idle_served, opt.idle,
         phase == PHASE_WELCOME ? ", some never welcomed" : "");
  }
  if (phase == PHASE_CONNECT) {
    continue_connecting();
    if (connects_done == total_conns) phase = PHASE_WELCOME;
  }
  if (phase == PHASE_WELCOME && !active_setup_pending()) {
    if (opt.workload != WORKLOAD_CHAT) {
      begin_workload(now);
    } else {
      phase = PHASE_SETTLE;
      settle_start_ns = last_receive_ns = now;
    }
  }
  if (phase == PHASE_SETTLE &&
      (now - last_receive_ns >= SETTLE_QUIET_NS || now - settle_start_ns >= SETTLE_MAX_NS)) {
    begin_workload(now);
  }
  if (phase == PHASE_WARMUP && now >= warmup_end_ns) {
    phase = PHASE_MEASURE;
    window_start_ns = now;
    measure_end_ns = now + (int64_t)(opt.duration_s * NS_PER_S);
    getrusage(RUSAGE_SELF, &usage_start);
  }
  if (phase == PHASE_MEASURE && now >= measure_end_ns) {
    phase = PHASE_DONE;
    window_end_ns = now;
    getrusage(RUSAGE_SELF, &usage_end);
    if (opt.rate > 0) {
      scheduled = lines_due_by(window_end_ns) - lines_due_by(window_start_ns);
      unsent = count_unsent(window_end_ns);
    }
  }
}

/* How long epoll may sleep: until the next phase deadline or, open loop, the next line due. */
static struct timespec wait_timeout(int64_t now) {
  int64_t deadline;
  switch (phase) {
    case PHASE_CONNECT:
    case PHASE_WELCOME: deadline = start_ns + SETUP_TIMEOUT_NS + 1; break;
    case PHASE_SETTLE: deadline = last_receive_ns + SETTLE_QUIET_NS; break;
    case PHASE_WARMUP: deadline = warmup_end_ns; break;
    default: deadline = measure_end_ns; break;
  }
  int running = phase == PHASE_WARMUP || phase == PHASE_MEASURE;
  int schedule_wakes = opt.rate > 0 && running && blocked_senders < opt.senders;
  if (schedule_wakes && due_ns(lines_announced) < deadline) deadline = due_ns(lines_announced);
  int64_t wait = deadline > now ? deadline - now : 0;
  return (struct timespec){.tv_sec = wait / NS_PER_S, .tv_nsec = wait % NS_PER_S};
}

/* The event loop: one epoll wait per round, every ready socket served, then the writes. */
static void run(void) {
  static struct epoll_event events[MAX_EVENTS];
  start_ns = now_ns();
  advance_phase(start_ns);
  while (phase != PHASE_DONE) {
    struct timespec timeout = wait_timeout(now_ns());
    int ready = epoll_pwait2(epoll_fd, events, MAX_EVENTS, &timeout, NULL);
    if (ready < 0 && errno == ENOSYS) {
      fail("epoll_pwait2: %s (Linux 5.11 or later)", strerror(errno));
    }
    if (ready < 0 && errno != EINTR) fail("epoll_pwait2: %s", strerror(errno));
    advance_phase(now_ns());
    if (phase == PHASE_DONE) break;
    for (int i = 0; i < ready; i++) {
      struct conn *c = &conns[events[i].data.u32];
      if (c->state == CONN_DEAD) continue;
      if (c->state == CONN_CONNECTING) {
        finish_connect(c);
        continue;
      }
      if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) read_connection(c);
      if ((events[i].events & EPOLLOUT) && c->state != CONN_DEAD && c->wants_writable) {
        write_pending(c);
        mark_dirty(c);
      }
    }
    int64_t now = now_ns();
    announce_due_lines(now);
    flush_dirty(now);
    advance_phase(now);
  }
}

/* Seconds elapsed between two rusage times. */
static double cpu_seconds(struct timeval end, struct timeval start) {
  return (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_usec - start.tv_usec) / 1e6;
}

/* Writes a string as a JSON string literal. */
static void print_json_string(const char *text) {
  putchar('"');
  for (; *text; text++) {
    unsigned char ch = (unsigned char)*text;
    if (ch == '"' || ch == '\\') printf("\\%c", ch);
    else if (ch < 0x20) printf("\\u%04x", ch);
    else putchar(ch);
  }
  putchar('"');
}

/* Prints the run's one JSON line. */
static void print_report(void) {
  double window_s = (double)(window_end_ns - window_start_ns) / (double)NS_PER_S;
  uint64_t delivered = opt.workload == WORKLOAD_CHAT ? deliveries : messages;
  printf("{\"workload\":\"%s\",\"host\":", WORKLOAD_NAMES[opt.workload]);
  print_json_string(opt.host);
  printf(",\"port\":%d,\"connections\":%d,\"senders\":%d,\"depth\":%d,\"size\":%d,\"idle\":%d,"
         "\"idle_served\":%d,\"warmup_s\":%g,\"duration_s\":%.3f,\"messages\":%llu,\"messages_per_s\":%.1f,"
         "\"deliveries\":%llu,\"deliveries_per_s\":%.1f,",
         opt.port, opt.connections, opt.senders,
         opt.depth, opt.size, opt.idle, idle_served, opt.warmup_s, window_s, (unsigned long long)messages,
         (double)messages / window_s, (unsigned long long)delivered, (double)delivered / window_s);
  printf("\"latency_us\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"p999\":%.3f,\"max\":%.3f,"
         "\"count\":%llu},",
         histogram_percentile_us(&latency, 0.50), histogram_percentile_us(&latency, 0.90),
         histogram_percentile_us(&latency, 0.99), histogram_percentile_us(&latency, 0.999),
         (double)latency.max / 1000, (unsigned long long)latency.count);
  if (opt.rate > 0) {
    printf("\"mode\":\"open\",\"offered_per_s\":%.1f,\"scheduled\":%llu,\"unsent\":%llu,"
           "\"send_lag_us\":{\"p50\":%.3f,\"p99\":%.3f,\"max\":%.3f},",
           opt.rate, (unsigned long long)scheduled, (unsigned long long)unsent,
           histogram_percentile_us(&send_lag, 0.50), histogram_percentile_us(&send_lag, 0.99),
           (double)send_lag.max / 1000);
  } else {
    printf("\"mode\":\"closed\",\"offered_per_s\":null,\"scheduled\":null,\"unsent\":null,"
           "\"send_lag_us\":null,");
  }
  printf("\"cpu_user_s\":%.3f,\"cpu_sys_s\":%.3f,\"errors\":%llu,\"ok\":%s}\n",
         cpu_seconds(usage_end.ru_utime, usage_start.ru_utime),
         cpu_seconds(usage_end.ru_stime, usage_start.ru_stime), (unsigned long long)errors,
         errors == 0 && messages > 0 ? "true" : "false");
  fflush(stdout);
}

/* Parses a whole decimal integer in [min, max] or rejects the command line. */
static int parse_int(const char *flag, const char *value, long min, long max) {
  char *end;
  errno = 0;
  long number = strtol(value, &end, 10);
  if (!*value || *end || errno || number < min || number > max) {
    bad_usage("bad %s: %s (a whole number from %ld to %ld)", flag, value, min, max);
  }
  return (int)number;
}

/* Parses seconds (fractions allowed) in [min, MAX_SECONDS] or rejects the command line. */
static double parse_seconds(const char *flag, const char *value, double min) {
  char *end;
  double number = strtod(value, &end);
  if (!*value || *end || !(number >= min && number <= MAX_SECONDS)) {
    bad_usage("bad %s: %s (seconds from %g to %g)", flag, value, min, MAX_SECONDS);
  }
  return number;
}

/* Parses a rate in lines per second, above 0 and at most MAX_RATE, or rejects the command line. */
static double parse_rate(const char *flag, const char *value) {
  char *end;
  double number = strtod(value, &end);
  if (!*value || *end || !(number > 0 && number <= MAX_RATE)) {
    bad_usage("bad %s: %s (lines per second, above 0 and at most %g)", flag, value, MAX_RATE);
  }
  return number;
}

/* Reads the command line into opt and checks the options against each other. */
static void parse_args(int argc, char **argv) {
  int port_given = 0;
  for (int i = 1; i < argc; i++) {
    const char *flag = argv[i];
    if (!strcmp(flag, "--help") || !strcmp(flag, "-h")) {
      usage(stdout);
      exit(0);
    }
    if (i + 1 >= argc) bad_usage("unknown option or missing value: %s", flag);
    const char *value = argv[++i];
    if (!strcmp(flag, "--host")) {
      opt.host = value;
    } else if (!strcmp(flag, "--port")) {
      opt.port = parse_int(flag, value, 1, 65535);
      port_given = 1;
    } else if (!strcmp(flag, "--connections")) {
      opt.connections = parse_int(flag, value, 1, MAX_CONNECTIONS);
    } else if (!strcmp(flag, "--depth")) {
      opt.depth = parse_int(flag, value, 1, MAX_DEPTH);
    } else if (!strcmp(flag, "--size")) {
      opt.size = parse_int(flag, value, ECHO_HEADER + 1, MAX_LINE + 1);
    } else if (!strcmp(flag, "--senders")) {
      opt.senders = parse_int(flag, value, 1, MAX_CONNECTIONS);
    } else if (!strcmp(flag, "--idle")) {
      opt.idle = parse_int(flag, value, 0, MAX_CONNECTIONS);
    } else if (!strcmp(flag, "--warmup")) {
      opt.warmup_s = parse_seconds(flag, value, 0);
    } else if (!strcmp(flag, "--duration")) {
      opt.duration_s = parse_seconds(flag, value, 0.001);
    } else if (!strcmp(flag, "--rate")) {
      opt.rate = parse_rate(flag, value);
    } else if (!strcmp(flag, "--samples")) {
      opt.samples_path = value;
    } else if (!strcmp(flag, "--workload")) {
      if (!strcmp(value, "echo")) opt.workload = WORKLOAD_ECHO;
      else if (!strcmp(value, "chat")) opt.workload = WORKLOAD_CHAT;
      else if (!strcmp(value, "idle")) opt.workload = WORKLOAD_IDLE;
      else bad_usage("bad --workload: %s (echo, chat or idle)", value);
    } else {
      bad_usage("unknown option: %s", flag);
    }
  }
  if (!port_given) bad_usage("--port is required");
  if (opt.workload == WORKLOAD_IDLE && opt.idle == 0) {
    bad_usage("--workload idle needs --idle M > 0");
  }
  if (opt.workload == WORKLOAD_CHAT) {
    if (opt.connections < 2) bad_usage("chat needs --connections 2 or more");
    if (opt.senders > opt.connections) bad_usage("--senders cannot exceed --connections");
    if (opt.size < CHAT_HEADER + 1) bad_usage("chat needs --size %d or more", CHAT_HEADER + 1);
  }
}

/* Resolves --host/--port once; every connection goes to that address. */
static void resolve_server(void) {
  struct addrinfo hints, *found;
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  char port[8];
  snprintf(port, sizeof(port), "%d", opt.port);
  int status = getaddrinfo(opt.host, port, &hints, &found);
  if (status != 0) fail("%s: %s", opt.host, gai_strerror(status));
  memcpy(&server_addr, found->ai_addr, found->ai_addrlen);
  server_addr_len = found->ai_addrlen;
  freeaddrinfo(found);
}

/* Raises the open-file limit to its hard limit and checks every connection fits. */
static void raise_fd_limit(void) {
  struct rlimit limit;
  getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
  if ((rlim_t)total_conns + SPARE_FDS > limit.rlim_cur) {
    fail("%d connections need more open files than RLIMIT_NOFILE allows (%llu)", total_conns,
         (unsigned long long)limit.rlim_cur);
  }
}

/* Builds a line of the configured size: header room, filler, "\n". */
static char *make_template(int header) {
  char *line = must_alloc((size_t)opt.size);
  memset(line, ' ', (size_t)header);
  for (int i = header; i < opt.size - 1; i++) line[i] = (char)('a' + i % 26);
  line[opt.size - 1] = '\n';
  return line;
}

/* Allocates every table the run needs, before any connection opens. */
static void prepare(void) {
  total_conns = opt.connections + opt.idle;
  conns = must_alloc(sizeof(*conns) * (size_t)total_conns);
  for (int i = 0; i < total_conns; i++) conns[i].idle = i >= opt.connections;
  dirty_list = must_alloc(sizeof(*dirty_list) * (size_t)total_conns);
  if (opt.workload != WORKLOAD_CHAT) {
    echo_template = make_template(ECHO_HEADER);
  } else {
    chat_template = make_template(CHAT_HEADER);
    senders = must_alloc(sizeof(*senders) * (size_t)opt.senders);
    for (int s = 0; s < opt.senders; s++) {
      senders[s].remaining = must_alloc(sizeof(uint32_t) * (size_t)opt.depth);
    }
    expected_seq = must_alloc(sizeof(uint32_t) * (size_t)opt.connections * (size_t)opt.senders);
  }
  epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd < 0) fail("epoll_create1: %s", strerror(errno));
}

/* Opens --samples for writing, fully buffered so that it costs no system call per sample. */
static void open_samples(void) {
  if (!opt.samples_path) return;
  samples_file = fopen(opt.samples_path, "w");
  if (!samples_file) fail("--samples %s: %s", opt.samples_path, strerror(errno));
  setvbuf(samples_file, NULL, _IOFBF, SAMPLES_BUFFER_SIZE);
}

/* Flushes and closes --samples; a short write fails the run rather than leave a partial file. */
static void close_samples(void) {
  if (samples_file && (ferror(samples_file) | fclose(samples_file)) != 0) {
    fail("--samples %s: %s", opt.samples_path, strerror(errno));
  }
}

/* Arms the hard time limit: the process exits by warmup + duration + 10 s, no matter what. */
static void arm_hard_limit(void) {
  double limit = opt.warmup_s + opt.duration_s + HARD_LIMIT_SLACK_S;
  struct itimerval timer = {{0, 0}, {(time_t)limit, (suseconds_t)((limit - (time_t)limit) * 1e6)}};
  signal(SIGALRM, on_alarm);
  setitimer(ITIMER_REAL, &timer, NULL);
}

/* Parses, connects, runs, closes everything, reports. */
int main(int argc, char **argv) {
  parse_args(argc, argv);
  if (opt.workload != WORKLOAD_CHAT) opt.senders = opt.connections; /* every one sends */
  arm_hard_limit();
  signal(SIGPIPE, SIG_IGN);
  resolve_server();
  open_samples();
  if (opt.rate > 0) prctl(PR_SET_TIMERSLACK, OPEN_LOOP_TIMER_SLACK_NS);
  prepare();
  raise_fd_limit();
  run();
  for (int i = 0; i < total_conns; i++) {
    if (conns[i].state != CONN_WAITING && conns[i].state != CONN_DEAD) close(conns[i].fd);
  }
  close(epoll_fd);
  close_samples();
  if (errors > MAX_ERROR_REPORTS) {
    fprintf(stderr, "selectchat-loadgen: %llu errors in all\n", (unsigned long long)errors);
  }
  print_report();
  return 0;
}

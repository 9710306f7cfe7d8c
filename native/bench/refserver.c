/*
 * selectchat-cref: the C reference server of the benchmark — a measuring stick, not a product.
 *
 * It speaks the same newline framing as the TypeScript servers (echo and a minimal chat) on a
 * plain select() loop shaped like Redis' ae_select.c, so the benchmark can show how far the
 * TypeScript select loop and the libuv twin are from what select() itself allows. It has no
 * commands, no nick changes, no flow control beyond a drop limit: chat mode knows only the
 * welcome / joined / left events and "[NICK] text" relays; a line starting with '/' gets
 * "! unknown command" and goes no further.
 *
 * One round: copy the master fd sets, select(), accept newcomers, read each readable client
 * once into a single reused 64 KiB buffer, split lines with a per-client carry-over buffer,
 * append replies to per-client output buffers, then write each client's output once at the
 * end of the round. That batching is what makes chat fan-out cheap: N relays to one client
 * cost one send(). Output the kernel does not take waits for writability.
 *
 * A line is at most MAX_LINE bytes before its '\n' (a '\r' just before the '\n' counts and is
 * then stripped); a longer one gets "! line too long (max 65536 bytes)" and is discarded up
 * to the next '\n'.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

enum {
  MAX_LINE = 65536,               /* longest line, in bytes before its '\n' */
  RECV_BUFFER_SIZE = 64 * 1024,   /* the one receive buffer every client shares */
  MAX_UNSENT_OUTPUT = 1024 * 1024, /* a client holding more unsent output is dropped */
  LISTEN_BACKLOG = 511,           /* Redis' default backlog */
  MAX_ACCEPTS_PER_ROUND = 1000,   /* newcomers taken per round, so clients are not starved */
  NICK_SIZE = 32,                 /* "guest-" and a counter, with room to spare */
  EVENT_SIZE = 160,               /* longest event line the server formats */
};

static const char DEFAULT_HOST[] = "127.0.0.1";
static const char DEFAULT_PORT[] = "7070";
static const char TOO_LONG_LINE[] = "! line too long (max 65536 bytes)\n";
static const char SERVER_FULL_LINE[] = "! server full\n";
static const char UNKNOWN_COMMAND_LINE[] = "! unknown command\n";

enum mode { MODE_ECHO, MODE_CHAT };

struct client {
  int fd;
  char nick[NICK_SIZE];
  char *carry;            /* the partial line kept between reads */
  size_t carry_len, carry_cap;
  int discarding;         /* dropping the rest of an over-long line */
  char *out;              /* output not yet taken by the kernel: out[out_off..out_len) */
  size_t out_off, out_len, out_cap;
  int queued;             /* already listed in the round's flush list */
  const char *drop_reason; /* set once the client must go: "closed", "too slow", ... */
};

static enum mode server_mode = MODE_ECHO;
static struct client *clients[FD_SETSIZE]; /* indexed by fd */
static int listen_fd = -1;
static int max_fd = -1;
static fd_set master_read, master_write;
static int client_count;
static int accept_paused; /* out of fds: the listener waits until a client leaves */
static unsigned next_guest = 1;
static int flush_list[FD_SETSIZE], flush_count; /* clients with output produced this round */
static int drop_list[FD_SETSIZE], drop_count;   /* clients to close at the end of the round */
static volatile sig_atomic_t stop_requested;
static char recv_buffer[RECV_BUFFER_SIZE];

/* Prints the usage text to the given stream. */
static void usage(FILE *to) {
  fprintf(to,
          "usage: selectchat-cref [--host HOST] [--port PORT] [--mode echo|chat]\n"
          "  The C reference server of the selectchat benchmark (a select() loop).\n"
          "  --host HOST   address to listen on (default %s; ::1 works)\n"
          "  --port PORT   port, 0 picks a free one (default %s)\n"
          "  --mode MODE   echo: send each line back; chat: relay lines to everyone else\n"
          "                (default echo)\n"
          "  Prints 'listening on HOST:PORT (engine c-ref, mode MODE)' when ready;\n"
          "  SIGINT/SIGTERM close every connection and exit 0.\n",
          DEFAULT_HOST, DEFAULT_PORT);
}

/* Rejects a bad command line: a message on stderr and exit status 2. */
static void bad_usage(const char *format, ...) {
  va_list args;
  va_start(args, format);
  fputs("selectchat-cref: ", stderr);
  vfprintf(stderr, format, args);
  fputs(" (try --help)\n", stderr);
  va_end(args);
  exit(2);
}

/* Grows a byte buffer to hold at least need bytes; aborts when memory is gone. */
static void reserve(char **buffer, size_t *cap, size_t need) {
  if (need <= *cap) return;
  size_t grown = *cap ? *cap : 256;
  while (grown < need) grown *= 2;
  char *moved = realloc(*buffer, grown);
  if (!moved) {
    perror("selectchat-cref: realloc");
    exit(1);
  }
  *buffer = moved;
  *cap = grown;
}

/* Marks a client for closing at the end of the round; the first reason wins. */
static void drop_client(struct client *c, const char *reason) {
  if (c->drop_reason) return;
  c->drop_reason = reason;
  drop_list[drop_count++] = c->fd;
}

/* Appends bytes to a client's output; they are written at the end of the round. */
static void queue_output(struct client *c, const char *bytes, size_t len) {
  if (c->drop_reason) return;
  if (c->out_len - c->out_off + len > MAX_UNSENT_OUTPUT) {
    drop_client(c, "too slow");
    return;
  }
  reserve(&c->out, &c->out_cap, c->out_len + len);
  memcpy(c->out + c->out_len, bytes, len);
  c->out_len += len;
  if (!c->queued) {
    c->queued = 1;
    flush_list[flush_count++] = c->fd;
  }
}

/* Queues the same bytes to every client except one (NULL: to everyone). */
static void broadcast(const struct client *except, const char *bytes, size_t len) {
  for (int fd = 0; fd <= max_fd; fd++) {
    struct client *c = clients[fd];
    if (c && c != except) queue_output(c, bytes, len);
  }
}

/* Relays one chat line "[NICK] text" to everyone but its author, built once for all. */
static void relay_line(struct client *from, const char *text, size_t len) {
  static char relay[NICK_SIZE + 3 + MAX_LINE + 1];
  int head = snprintf(relay, sizeof(relay), "[%s] ", from->nick);
  memcpy(relay + head, text, len);
  relay[head + len] = '\n';
  broadcast(from, relay, head + len + 1);
}

/* Acts on one complete line, already stripped of "\r\n". */
static void handle_line(struct client *c, const char *line, size_t len) {
  if (server_mode == MODE_ECHO) {
    queue_output(c, line, len);
    queue_output(c, "\n", 1);
    return;
  }
  if (len == 0) return;
  if (line[0] == '/') {
    queue_output(c, UNKNOWN_COMMAND_LINE, sizeof(UNKNOWN_COMMAND_LINE) - 1);
    return;
  }
  relay_line(c, line, len);
}

/* Hands a line ending at its '\n' to handle_line without the '\n' and an optional '\r'. */
static void complete_line(struct client *c, const char *line, size_t len) {
  if (len > 0 && line[len - 1] == '\r') len--;
  handle_line(c, line, len);
}

/* Splits received bytes into lines, joining them with the client's carry-over buffer. */
static void consume_input(struct client *c, const char *bytes, size_t len) {
  const char *end = bytes + len;
  while (bytes < end && !c->drop_reason) {
    const char *newline = memchr(bytes, '\n', end - bytes);
    if (c->discarding) {
      if (!newline) return;
      c->discarding = 0;
      bytes = newline + 1;
      continue;
    }
    size_t piece = (newline ? newline : end) - bytes;
    if (c->carry_len + piece > MAX_LINE) {
      queue_output(c, TOO_LONG_LINE, sizeof(TOO_LONG_LINE) - 1);
      c->carry_len = 0;
      if (!newline) {
        c->discarding = 1;
        return;
      }
    } else if (!newline) {
      reserve(&c->carry, &c->carry_cap, c->carry_len + piece);
      memcpy(c->carry + c->carry_len, bytes, piece);
      c->carry_len += piece;
      return;
    } else if (c->carry_len) {
      reserve(&c->carry, &c->carry_cap, c->carry_len + piece);
      memcpy(c->carry + c->carry_len, bytes, piece);
      complete_line(c, c->carry, c->carry_len + piece);
      c->carry_len = 0;
    } else {
      complete_line(c, bytes, piece);
    }
    bytes = newline + 1;
  }
}

/* Writes as much pending output as the kernel takes; the rest waits for writability. */
static void flush_output(struct client *c) {
  while (c->out_off < c->out_len) {
    ssize_t sent = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
    if (sent > 0) {
      c->out_off += sent;
    } else if (sent < 0 && errno == EINTR) {
      continue;
    } else if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      FD_SET(c->fd, &master_write);
      return;
    } else {
      drop_client(c, "connection reset");
      return;
    }
  }
  c->out_off = c->out_len = 0;
  FD_CLR(c->fd, &master_write);
}

/* Reads once from a readable client; EOF and errors mark it for dropping. */
static void read_client(struct client *c) {
  ssize_t got = recv(c->fd, recv_buffer, sizeof(recv_buffer), 0);
  if (got > 0) {
    consume_input(c, recv_buffer, (size_t)got);
  } else if (got == 0) {
    drop_client(c, "closed");
  } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    drop_client(c, "connection reset");
  }
}

/* Turns Nagle off on an accepted socket: replies leave at once (accept4 made it non-blocking). */
static void tune_socket(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Registers a newcomer; in chat mode greets it and tells the others. */
static void add_client(int fd) {
  struct client *c = calloc(1, sizeof(*c));
  if (!c) {
    perror("selectchat-cref: calloc");
    exit(1);
  }
  c->fd = fd;
  snprintf(c->nick, sizeof(c->nick), "guest-%u", next_guest++);
  clients[fd] = c;
  client_count++;
  if (fd > max_fd) max_fd = fd;
  FD_SET(fd, &master_read);
  if (server_mode != MODE_CHAT) return;
  char event[EVENT_SIZE];
  int len = snprintf(event, sizeof(event), "* welcome %s, %d users online; /help for commands\n",
                     c->nick, client_count);
  queue_output(c, event, len);
  len = snprintf(event, sizeof(event), "* %s joined\n", c->nick);
  broadcast(c, event, len);
}

/* Accepts pending connections; an fd select() cannot watch gets "! server full". */
static void accept_clients(void) {
  for (int taken = 0; taken < MAX_ACCEPTS_PER_ROUND; taken++) {
    int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE) {
        /* A pending connection would keep the listener readable: stop watching it for now. */
        FD_CLR(listen_fd, &master_read);
        accept_paused = 1;
      }
      if (errno != EAGAIN && errno != EWOULDBLOCK) perror("selectchat-cref: accept");
      return;
    }
    if (fd >= FD_SETSIZE) {
      send(fd, SERVER_FULL_LINE, sizeof(SERVER_FULL_LINE) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      close(fd);
      continue;
    }
    tune_socket(fd);
    add_client(fd);
  }
}

/* Closes one marked client, frees it, and in chat mode tells the others why it left. */
static void close_client(struct client *c) {
  int fd = c->fd;
  FD_CLR(fd, &master_read);
  FD_CLR(fd, &master_write);
  close(fd);
  clients[fd] = NULL;
  client_count--;
  if (accept_paused) {
    FD_SET(listen_fd, &master_read);
    accept_paused = 0;
  }
  while (max_fd >= 0 && max_fd != listen_fd && !clients[max_fd]) max_fd--;
  if (server_mode == MODE_CHAT) {
    char event[EVENT_SIZE];
    int len = snprintf(event, sizeof(event), "* %s left (%s)\n", c->nick, c->drop_reason);
    broadcast(NULL, event, len);
  }
  free(c->carry);
  free(c->out);
  free(c);
}

/* Ends a round: closes marked clients and writes each client's output once, until settled. */
static void finish_round(void) {
  while (drop_count || flush_count) {
    while (drop_count) close_client(clients[drop_list[--drop_count]]);
    int count = flush_count;
    flush_count = 0;
    for (int i = 0; i < count; i++) {
      struct client *c = clients[flush_list[i]];
      if (!c) continue;
      c->queued = 0;
      if (!c->drop_reason) flush_output(c);
    }
  }
}

/* Records a stop request; the loop sees it when pselect() returns. */
static void on_stop_signal(int signo) {
  (void)signo;
  stop_requested = 1;
}

/* Blocks SIGINT/SIGTERM outside pselect() so a stop request can never be missed. */
static void install_signals(sigset_t *wait_mask) {
  struct sigaction action;
  memset(&action, 0, sizeof(action));
  action.sa_handler = on_stop_signal;
  sigaction(SIGINT, &action, NULL);
  sigaction(SIGTERM, &action, NULL);
  signal(SIGPIPE, SIG_IGN);
  sigset_t blocked;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGINT);
  sigaddset(&blocked, SIGTERM);
  sigprocmask(SIG_BLOCK, &blocked, wait_mask);
  sigdelset(wait_mask, SIGINT);
  sigdelset(wait_mask, SIGTERM);
}

/* Opens the listening socket on host:port; returns the port actually bound. */
static int open_listener(const char *host, const char *port) {
  struct addrinfo hints, *found;
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  int status = getaddrinfo(host, port, &hints, &found);
  if (status != 0) {
    fprintf(stderr, "selectchat-cref: %s: %s\n", host, gai_strerror(status));
    exit(1);
  }
  listen_fd = socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  if (listen_fd < 0 || setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
      bind(listen_fd, found->ai_addr, found->ai_addrlen) < 0 ||
      listen(listen_fd, LISTEN_BACKLOG) < 0) {
    fprintf(stderr, "selectchat-cref: listen on %s:%s: %s\n", host, port, strerror(errno));
    exit(1);
  }
  freeaddrinfo(found);
  struct sockaddr_storage bound;
  socklen_t bound_len = sizeof(bound);
  getsockname(listen_fd, (struct sockaddr *)&bound, &bound_len);
  return ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                           : ((struct sockaddr_in *)&bound)->sin_port);
}

/* Raises the open-file limit, so newcomers past FD_SETSIZE can still be told "server full". */
static void raise_fd_limit(void) {
  struct rlimit limit;
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

/* Reads the command line into host, port and server_mode. */
static void parse_args(int argc, char **argv, const char **host, const char **port) {
  for (int i = 1; i < argc; i++) {
    const char *flag = argv[i];
    if (!strcmp(flag, "--help") || !strcmp(flag, "-h")) {
      usage(stdout);
      exit(0);
    }
    if (i + 1 >= argc) bad_usage("unknown option or missing value: %s", flag);
    const char *value = argv[++i];
    if (!strcmp(flag, "--host")) {
      *host = value;
    } else if (!strcmp(flag, "--port")) {
      char *end;
      long number = strtol(value, &end, 10);
      if (!*value || *end || number < 0 || number > 65535) bad_usage("bad --port: %s", value);
      *port = value;
    } else if (!strcmp(flag, "--mode")) {
      if (!strcmp(value, "echo")) server_mode = MODE_ECHO;
      else if (!strcmp(value, "chat")) server_mode = MODE_CHAT;
      else bad_usage("bad --mode: %s (echo or chat)", value);
    } else {
      bad_usage("unknown option: %s", flag);
    }
  }
}

/* Runs the select() loop until SIGINT/SIGTERM, then closes every connection. */
int main(int argc, char **argv) {
  const char *host = DEFAULT_HOST, *port = DEFAULT_PORT;
  parse_args(argc, argv, &host, &port);
  sigset_t wait_mask;
  install_signals(&wait_mask);
  raise_fd_limit();
  int bound_port = open_listener(host, port);
  FD_ZERO(&master_read);
  FD_ZERO(&master_write);
  FD_SET(listen_fd, &master_read);
  max_fd = listen_fd;
  printf("listening on %s:%d (engine c-ref, mode %s)\n", host, bound_port,
         server_mode == MODE_CHAT ? "chat" : "echo");
  fflush(stdout);

  while (!stop_requested) {
    /* select() overwrites its sets with the ready fds, so it gets copies of the masters. */
    fd_set readable = master_read, writable = master_write;
    int ready = pselect(max_fd + 1, &readable, &writable, NULL, NULL, &wait_mask);
    if (ready < 0) {
      if (errno == EINTR) continue;
      perror("selectchat-cref: select");
      return 1;
    }
    int last_fd = max_fd; /* newcomers accepted this round wait for the next select() */
    if (FD_ISSET(listen_fd, &readable)) accept_clients();
    for (int fd = 0; fd <= last_fd; fd++) {
      struct client *c = clients[fd];
      if (!c || c->drop_reason) continue;
      if (FD_ISSET(fd, &readable)) read_client(c);
      if (FD_ISSET(fd, &writable) && !c->drop_reason) flush_output(c);
    }
    finish_round();
  }
  for (int fd = 0; fd <= max_fd; fd++) {
    if (clients[fd]) close(fd);
  }
  close(listen_fd);
  return 0;
}

/*
 * loadgen: a WebSocket load generator for bench/echo.mjs.
 *
 * One thread, epoll (edge-triggered), non-blocking sockets. It opens --conns
 * connections, performs the client handshake on each, then keeps --inflight
 * messages of --size bytes in flight per connection: it sends K, then one
 * more for every complete message the server sends back. It is built so that
 * it is never the bottleneck: every client frame is masked once up front and
 * written straight from a shared buffer (several frames per write), server
 * frames are parsed in place without copying payloads, and it measures its
 * own CPU so the caller can tell when it was.
 *
 * Modes:
 *   echo       (default) every connection sends, the server echoes.
 *   broadcast  only connection 0 sends (K in flight); the server sends every
 *              message to every connection, the publisher included. One of
 *              connection 0's messages stops being "in flight" when
 *              connection 0 receives it back. Reports deliveries/s (messages
 *              received over all connections).
 *
 *   storm      connection storm: each of --conns slots cycles through connect,
 *              handshake, one --size message echoed, closing handshake (our
 *              close frame, the server's close frame, then the server's TCP
 *              close), and starts over. Reports completed cycles/s. Waiting
 *              for the server to close TCP first (RFC 6455 7.1.1) keeps
 *              TIME_WAIT off our side, so ephemeral ports do not run out.
 *   idle       opens --conns connections, prints "loadgen: open N of M" on
 *              stderr, then sends nothing and only reads (discarding) until
 *              stdin closes; the driver measures the server meanwhile. With
 *              --deflate every connection first sends the compressed message
 *              once and waits for its (compressed) echo, so both ends have
 *              used their zlib contexts; then it idles. N counts connections
 *              that got their echo.
 *
 * --deflate FILE: offer permessage-deflate with no context takeover both ways
 * and send FILE's bytes as the payload with RSV1 set: FILE holds one message
 * already compressed (raw deflate, sync flush, trailing 00 00 ff ff removed).
 * Without context takeover every message is compressed on its own, so the same
 * precomputed frame can be sent again and again and no zlib is needed here.
 * Server messages must carry RSV1; their (compressed) length is not checked.
 * In every mode the server's 101 must accept permessage-deflate.
 *
 * Output: one JSON line on stdout at the end: rates cover the measured window
 * (after warm-up), error counts cover the whole run. Diagnostics go to
 * stderr, including "loadgen: measuring" when the measured window starts.
 * Exit status: 0 when the run completed (errors are reported in the JSON),
 * 1 when no connection could be opened, 2 on bad usage.
 *
 * Build: cc -O2 -o bench/.build/loadgen bench/loadgen.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- options ------------------------------------------------------------ */

enum mode { MODE_ECHO, MODE_BROADCAST, MODE_STORM, MODE_IDLE };
static const char *mode_names[] = {"echo", "broadcast", "storm", "idle"};

static struct {
  const char *host;
  const char *port;
  const char *path;
  int conns;
  size_t size;
  int inflight;
  int binary;
  double duration;
  double warmup;
  int verify;
  enum mode mode;
  const char *deflate; /* file with the compressed payload, or NULL */
} opt = {"127.0.0.1", NULL, "/", 100, 32, 16, 0, 5.0, 1.0, 0, MODE_ECHO, NULL};

#define CONNECT_TIMEOUT 5.0   /* seconds per connection attempt, handshake included */
#define MAX_PENDING_CONNECTS 256 /* connects in progress at once: stays under listen backlogs */
#define READ_BUF (256 * 1024)
#define BATCH_TARGET (64 * 1024) /* bytes of precomputed frames handed to one send() */
#define HS_BUF 4096
#define CLOSE_WAIT 2.0 /* storm: seconds the server may take to close TCP after its close frame */
#define ECHO_WAIT 30.0 /* idle --deflate: seconds for every connection's one echo to come back */

/* ---- error kinds -------------------------------------------------------- */

enum err {
  E_CONNECT,   /* connect failed or timed out */
  E_HANDSHAKE, /* non-101 answer, or no answer in time */
  E_CLOSED,    /* the server closed (close frame, EOF, reset) during the run */
  E_LENGTH,    /* a message whose length is not --size */
  E_PAYLOAD,   /* --verify: a message whose bytes differ from what was sent */
  E_OPCODE,    /* text where binary was sent (or the reverse), unknown opcode, stray continuation */
  E_PROTOCOL,  /* masked server frame, RSV bits, bad control frame */
  E_STALLED,   /* a connection that received nothing during the measured window */
  E_UNCOMPRESSED, /* --deflate: a server message without RSV1 */
  E_TCP_CLOSE, /* storm: the server sent its close frame but did not close TCP within CLOSE_WAIT */
  E_NO_ECHO,   /* idle --deflate: no echo of the one message within ECHO_WAIT */
  E_COUNT
};
static const char *err_names[E_COUNT] = {"connect", "handshake", "closed", "length", "payload", "opcode", "protocol", "stalled", "uncompressed", "tcp_close", "no_echo"};
static uint64_t errors[E_COUNT];

/* ---- connections -------------------------------------------------------- */

enum state { ST_IDLE, ST_CONNECTING, ST_HANDSHAKE, ST_OPEN, ST_DEAD };

struct conn {
  int fd;
  int id;
  enum state state;
  double started; /* when the connect began (for the timeout) */

  /* handshake: request written so far, response read so far */
  size_t hs_written;
  size_t hs_len;
  char *hs_buf;

  /* sending: frames not yet fully written (the first may be partly written),
   * and how many bytes of that first frame went out already */
  uint64_t owed;
  size_t woff;
  int wblocked; /* the last send filled the socket buffer: wait for EPOLLOUT */

  /* receiving: frame parser state */
  int in_payload;
  uint8_t hdr[14];
  size_t hlen;
  uint64_t payload_left; /* of the current frame */
  uint8_t opcode;        /* of the current frame */
  int fin;
  int masked;
  int msg_active; /* a data message has started and not finished (fragmentation) */
  uint64_t msg_len;
  int msg_bad; /* --verify found a differing byte in this message */

  /* storm: our close frame went out / the server's close frame arrived (when) */
  int closing;
  double got_close;

  uint64_t received;      /* complete messages */
  uint64_t received_warm; /* ... at the end of warm-up */
};

static struct conn *conns;
static int epfd;

/* Precomputed masked frames: `batch_frames` copies of one frame back to back. */
static uint8_t *batch;
static size_t frame_len, batch_frames, batch_len;
/* The payload every server message must carry (what we sent, unmasked). */
static uint8_t *expected;

static char *request;
static size_t request_len;

static uint64_t total_received, total_bytes, total_sent, total_cycles;
static int open_count, dead_count;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CPU seconds this process used; *sys gets the kernel part. */
static double cpu_seconds(double *sys) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  *sys = ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + *sys;
}

static void conn_close(struct conn *c) {
  if (c->fd >= 0) close(c->fd); /* close() also drops it from the epoll set */
  c->fd = -1;
  free(c->hs_buf);
  c->hs_buf = NULL;
  if (c->state == ST_OPEN) open_count--;
  c->state = ST_DEAD;
  dead_count++;
}

static void conn_fail(struct conn *c, enum err e) {
  errors[e]++;
  conn_close(c);
}

/* ---- frames ------------------------------------------------------------- */

/* --deflate: the whole file, which becomes the payload (and sets --size). */
static uint8_t *read_payload(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    exit(2);
  }
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *p = malloc(n > 0 ? (size_t)n : 1);
  if (n <= 0 || fread(p, 1, (size_t)n, f) != (size_t)n) {
    fprintf(stderr, "loadgen: %s: empty or unreadable\n", path);
    exit(2);
  }
  fclose(f);
  *len = (size_t)n;
  return p;
}

static void build_frames(void) {
  if (opt.deflate) {
    expected = read_payload(opt.deflate, &opt.size);
  } else {
    expected = malloc(opt.size ? opt.size : 1);
    /* Text must be valid UTF-8: printable ASCII. Binary covers all byte values. */
    for (size_t i = 0; i < opt.size; i++) expected[i] = opt.binary ? (uint8_t)(i * 131 + 7) : (uint8_t)('a' + i % 26);
  }
  size_t n = opt.size;

  uint8_t head[14];
  size_t h = 0;
  head[h++] = 0x80 | (opt.deflate ? 0x40 : 0) | (opt.binary ? 0x2 : 0x1); /* FIN + RSV1 (compressed) + opcode */
  if (n < 126) {
    head[h++] = 0x80 | (uint8_t)n;
  } else if (n <= 0xffff) {
    head[h++] = 0x80 | 126;
    head[h++] = (uint8_t)(n >> 8);
    head[h++] = (uint8_t)n;
  } else {
    head[h++] = 0x80 | 127;
    for (int s = 56; s >= 0; s -= 8) head[h++] = (uint8_t)((uint64_t)n >> s);
  }
  /* A fixed mask key is fine: the server cannot tell, and it lets us mask once. */
  static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
  memcpy(head + h, key, 4);
  h += 4;

  frame_len = h + n;
  /* Enough copies that one send() carries up to BATCH_TARGET bytes, but never
   * more than can be owed at once (K). */
  batch_frames = BATCH_TARGET / frame_len;
  if (batch_frames < 1) batch_frames = 1;
  if (batch_frames > (size_t)opt.inflight) batch_frames = opt.inflight;
  batch_len = frame_len * batch_frames;
  batch = malloc(batch_len);
  memcpy(batch, head, h);
  for (size_t i = 0; i < n; i++) batch[h + i] = expected[i] ^ key[i & 3];
  for (size_t f = 1; f < batch_frames; f++) memcpy(batch + f * frame_len, batch, frame_len);
}

/* Writes owed frames from the shared buffer until done or the socket is full. */
static void try_write(struct conn *c) {
  while (c->owed > 0 && !c->wblocked) {
    size_t remaining = c->owed * frame_len - c->woff;
    size_t len = batch_len - c->woff;
    if (len > remaining) len = remaining;
    ssize_t w = send(c->fd, batch + c->woff, len, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        c->wblocked = 1;
        return;
      }
      conn_fail(c, E_CLOSED);
      return;
    }
    size_t done = c->woff + (size_t)w;
    c->owed -= done / frame_len;
    total_sent += done / frame_len;
    c->woff = done % frame_len;
    /* A short write means the socket buffer is full; edge-triggered epoll
     * reports EPOLLOUT once there is room again, so skip the EAGAIN call. */
    if ((size_t)w < len) c->wblocked = 1;
  }
}

/* Our close frame: code 1000, masked with the same fixed key as the data frames. */
static const uint8_t close_frame[8] = {0x88, 0x82, 0x37, 0xfa, 0x21, 0x3d, 0x03 ^ 0x37, 0xe8 ^ 0xfa};

static void on_message(struct conn *c) {
  /* Compressed messages: the server's compressor decides their length. */
  if (c->msg_len != opt.size && !opt.deflate) errors[E_LENGTH]++;
  else if (c->msg_bad) errors[E_PAYLOAD]++;
  c->received++;
  total_received++;
  total_bytes += c->msg_len;
  if (opt.mode == MODE_STORM) {
    /* The echo is back: start the closing handshake. 8 bytes into a fresh
     * socket's empty send buffer cannot be short. */
    if (!c->closing && send(c->fd, close_frame, sizeof close_frame, MSG_NOSIGNAL) != (ssize_t)sizeof close_frame)
      errors[E_CLOSED]++;
    c->closing = 1;
    return;
  }
  /* One of ours came back: send another. In broadcast mode only the
   * publisher sends, and its own copies are what free its in-flight slots.
   * Idle mode sends nothing more (with --deflate it sent one message). */
  if (opt.mode == MODE_ECHO || (opt.mode == MODE_BROADCAST && c->id == 0)) c->owed++;
}

static void on_frame_start(struct conn *c, const uint8_t *h) {
  c->fin = h[0] >> 7;
  c->opcode = h[0] & 0x0f;
  c->masked = h[1] >> 7;
  uint64_t len = h[1] & 0x7f;
  const uint8_t *p = h + 2;
  if (len == 126) {
    len = (uint64_t)p[0] << 8 | p[1];
  } else if (len == 127) {
    len = 0;
    for (int i = 0; i < 8; i++) len = len << 8 | p[i];
  }
  c->payload_left = len;
  c->in_payload = 1;

  /* RSV bits: only RSV1, only with --deflate, only on a message's first frame. */
  int rsv1_ok = opt.deflate && (c->opcode == 0x1 || c->opcode == 0x2);
  if (h[0] & (rsv1_ok ? 0x30 : 0x70)) errors[E_PROTOCOL]++;
  if (opt.deflate && (c->opcode == 0x1 || c->opcode == 0x2) && !(h[0] & 0x40)) errors[E_UNCOMPRESSED]++;
  if (c->masked) errors[E_PROTOCOL]++;   /* servers must not mask */
  if (c->opcode & 0x8) {
    if (!c->fin || len > 125) errors[E_PROTOCOL]++;
    return; /* control frame: handled in on_frame_end */
  }
  if (c->opcode == 0x0) {
    if (!c->msg_active) errors[E_OPCODE]++; /* continuation without a start */
  } else if (c->opcode == 0x1 || c->opcode == 0x2) {
    if (c->msg_active) errors[E_PROTOCOL]++; /* new message inside a fragmented one */
    if (c->opcode != (opt.binary ? 0x2 : 0x1)) errors[E_OPCODE]++;
    c->msg_active = 1;
    c->msg_len = 0;
    c->msg_bad = 0;
  } else {
    errors[E_OPCODE]++; /* reserved opcode: skip its payload */
  }
}

/* Payload bytes of the current frame (data frames only reach the checks). */
static void on_payload(struct conn *c, const uint8_t *p, size_t n) {
  if ((c->opcode & 0x8) || !c->msg_active || c->masked) return;
  if (opt.verify && !c->msg_bad && c->msg_len < opt.size) {
    size_t cmp = opt.size - c->msg_len;
    if (cmp > n) cmp = n;
    if (memcmp(p, expected + c->msg_len, cmp) != 0) c->msg_bad = 1;
  }
  c->msg_len += n;
}

/* Returns 0 when the connection was closed. */
static int on_frame_end(struct conn *c) {
  c->in_payload = 0;
  switch (c->opcode) {
  case 0x8: /* close */
    if (opt.mode == MODE_STORM && c->closing) {
      /* The answer to ours: now the server closes TCP (we see EOF). */
      if (!c->got_close) c->got_close = now();
      return 1;
    }
    conn_fail(c, E_CLOSED);
    return 0;
  case 0x9: /* ping: answering would interleave with our frame stream; servers
               here do not ping within a run, so just ignore it */
  case 0xA: /* pong */
    return 1;
  case 0x0:
  case 0x1:
  case 0x2:
    if (c->msg_active && c->fin) {
      c->msg_active = 0;
      on_message(c);
    }
    return 1;
  default:
    return 1;
  }
}

static size_t header_size(const uint8_t *h) {
  size_t n = 2 + ((h[1] >> 7) ? 4 : 0);
  uint8_t len = h[1] & 0x7f;
  return n + (len == 126 ? 2 : len == 127 ? 8 : 0);
}

/* Feeds bytes from the socket: any length form, frames split across reads,
 * many frames per read. Returns 0 when the connection was closed. */
static int parse(struct conn *c, const uint8_t *p, size_t n) {
  while (n > 0) {
    if (!c->in_payload) {
      /* Fast path: the whole header is in this buffer. */
      if (c->hlen == 0 && n >= 2 && n >= header_size(p)) {
        size_t hs = header_size(p);
        on_frame_start(c, p);
        p += hs;
        n -= hs;
      } else {
        /* Slow path: the header straddles reads; collect it in c->hdr. */
        size_t need = c->hlen < 2 ? 2 : header_size(c->hdr);
        size_t take = need - c->hlen;
        if (take > n) take = n;
        memcpy(c->hdr + c->hlen, p, take);
        c->hlen += take;
        p += take;
        n -= take;
        if (c->hlen < 2 || c->hlen < header_size(c->hdr)) continue;
        c->hlen = 0;
        on_frame_start(c, c->hdr);
      }
      if (c->payload_left == 0 && !on_frame_end(c)) return 0;
      continue;
    }
    size_t take = c->payload_left < n ? (size_t)c->payload_left : n;
    on_payload(c, p, take);
    c->payload_left -= take;
    p += take;
    n -= take;
    if (c->payload_left == 0 && !on_frame_end(c)) return 0;
  }
  return 1;
}

/* ---- sockets ------------------------------------------------------------ */

static struct addrinfo *addr;

static void start_connect(struct conn *c) {
  c->started = now();
  c->fd = socket(addr->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) {
    perror("socket");
    conn_fail(c, E_CONNECT);
    return;
  }
  int one = 1;
  /* We batch frames ourselves; Nagle would only add latency to the pipeline. */
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c->state = ST_CONNECTING;
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c};
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
    perror("epoll_ctl");
    conn_fail(c, E_CONNECT);
    return;
  }
  if (connect(c->fd, addr->ai_addr, addr->ai_addrlen) < 0 && errno != EINPROGRESS) conn_fail(c, E_CONNECT);
}

static void became_open(struct conn *c, size_t header_end) {
  c->state = ST_OPEN;
  open_count++;
  size_t extra = c->hs_len - header_end;
  /* Bytes after the response headers are already frames (broadcast traffic). */
  if (extra > 0) {
    uint8_t tmp[HS_BUF];
    memcpy(tmp, c->hs_buf + header_end, extra);
    free(c->hs_buf);
    c->hs_buf = NULL;
    parse(c, tmp, extra);
  } else {
    free(c->hs_buf);
    c->hs_buf = NULL;
  }
}

static void handshake_io(struct conn *c) {
  if (c->state == ST_CONNECTING) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err == EINPROGRESS) return;
    if (err) {
      conn_fail(c, E_CONNECT);
      return;
    }
    c->state = ST_HANDSHAKE;
    c->hs_buf = malloc(HS_BUF);
  }
  while (c->hs_written < request_len) {
    ssize_t w = send(c->fd, request + c->hs_written, request_len - c->hs_written, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return;
      conn_fail(c, E_CONNECT);
      return;
    }
    c->hs_written += w;
  }
  for (;;) {
    if (c->hs_len >= HS_BUF - 1) {
      conn_fail(c, E_HANDSHAKE); /* a response this big is not a plain 101 */
      return;
    }
    ssize_t r = recv(c->fd, c->hs_buf + c->hs_len, HS_BUF - 1 - c->hs_len, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return;
      conn_fail(c, E_HANDSHAKE);
      return;
    }
    if (r == 0) {
      conn_fail(c, E_HANDSHAKE);
      return;
    }
    c->hs_len += r;
    c->hs_buf[c->hs_len] = 0;
    char *end = strstr(c->hs_buf, "\r\n\r\n");
    if (!end) continue;
    /* Only the status line is checked: "HTTP/1.x 101". */
    if (strncmp(c->hs_buf, "HTTP/1.", 7) != 0 || strncmp(c->hs_buf + 8, " 101", 4) != 0) {
      char *eol = strstr(c->hs_buf, "\r\n");
      fprintf(stderr, "loadgen: connection %d: handshake refused: %.*s\n", c->id, (int)(eol - c->hs_buf), c->hs_buf);
      conn_fail(c, E_HANDSHAKE);
      return;
    }
    /* With --deflate a server that did not accept the offer would make the
     * run measure uncompressed echo: refuse it. */
    if (opt.deflate && !strcasestr(c->hs_buf, "permessage-deflate")) {
      fprintf(stderr, "loadgen: connection %d: permessage-deflate not accepted\n", c->id);
      conn_fail(c, E_HANDSHAKE);
      return;
    }
    became_open(c, (size_t)(end + 4 - c->hs_buf));
    if (opt.mode == MODE_STORM && c->state == ST_OPEN) {
      c->owed = 1; /* the one echo of this cycle */
      try_write(c);
    }
    return;
  }
}

static uint8_t rbuf[READ_BUF];

static void open_io(struct conn *c, uint32_t events) {
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
    for (;;) {
      ssize_t r = recv(c->fd, rbuf, sizeof rbuf, 0);
      if (r > 0) {
        if (!parse(c, rbuf, (size_t)r)) return;
        /* Send replacements now rather than after draining everything: keeps
         * the pipeline full when one read loop sees a lot of data. */
        if (c->owed && !c->wblocked) {
          try_write(c);
          if (c->state != ST_OPEN) return;
        }
        /* A short read means drained (edge-triggered) -- unless the peer's FIN
         * came with this event: its EOF is only seen by reading again. */
        if ((size_t)r < sizeof rbuf && !(events & (EPOLLRDHUP | EPOLLHUP)) && !c->got_close) break;
        continue;
      }
      if (r == 0) {
        if (c->got_close) {
          /* storm: the server closed TCP after the closing handshake: a full cycle. */
          total_cycles++;
          conn_close(c);
          dead_count--; /* not a failure: the slot just starts over */
          return;
        }
        conn_fail(c, E_CLOSED);
        return;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      conn_fail(c, E_CLOSED);
      return;
    }
  }
  if (events & EPOLLOUT) c->wblocked = 0;
  if (c->owed) try_write(c);
}

/* ---- main --------------------------------------------------------------- */

static void usage(void) {
  fprintf(stderr,
          "usage: loadgen --port N [--host 127.0.0.1] [--path /] [--conns 100] [--size 32]\n"
          "               [--inflight 16] [--binary|--text] [--duration 5] [--warmup 1]\n"
          "               [--verify] [--mode echo|broadcast|storm|idle] [--deflate FILE]\n");
  exit(2);
}

static void parse_args(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(name) (strcmp(a, name) == 0 && v && (i++, 1))
    if (strcmp(a, "--binary") == 0) opt.binary = 1;
    else if (strcmp(a, "--text") == 0) opt.binary = 0;
    else if (strcmp(a, "--verify") == 0) opt.verify = 1;
    else if (ARG("--host")) opt.host = v;
    else if (ARG("--port")) opt.port = v;
    else if (ARG("--path")) opt.path = v;
    else if (ARG("--conns")) opt.conns = atoi(v);
    else if (ARG("--size")) opt.size = strtoull(v, NULL, 10);
    else if (ARG("--inflight")) opt.inflight = atoi(v);
    else if (ARG("--duration")) opt.duration = atof(v);
    else if (ARG("--warmup")) opt.warmup = atof(v);
    else if (ARG("--mode")) {
      if (strcmp(v, "echo") == 0) opt.mode = MODE_ECHO;
      else if (strcmp(v, "broadcast") == 0) opt.mode = MODE_BROADCAST;
      else if (strcmp(v, "storm") == 0) opt.mode = MODE_STORM;
      else if (strcmp(v, "idle") == 0) opt.mode = MODE_IDLE;
      else usage();
    } else if (ARG("--deflate")) {
      opt.deflate = v;
      opt.binary = 0; /* compressed JSON-like text */
    } else {
      fprintf(stderr, "loadgen: unknown or incomplete option %s\n", a);
      usage();
    }
#undef ARG
  }
  if (!opt.port || opt.conns < 1 || opt.inflight < 1 || opt.duration <= 0 || opt.warmup < 0) usage();
}

enum { MAX_EVENTS = 1024 };
static struct epoll_event evs[MAX_EVENTS];

/* One epoll round: dispatches events to the handshake or the open-connection
 * handler. Each fd appears at most once per round, so a storm slot that ends
 * and reconnects inside a round never sees a stale event. */
static void poll_once(int timeout_ms) {
  int n = epoll_wait(epfd, evs, MAX_EVENTS, timeout_ms);
  for (int i = 0; i < n; i++) {
    struct conn *c = evs[i].data.ptr;
    if (c->state == ST_CONNECTING || c->state == ST_HANDSHAKE) handshake_io(c);
    else if (c->state == ST_OPEN) open_io(c, evs[i].events);
  }
}

/* Fails connects and handshakes older than CONNECT_TIMEOUT; returns how many are still pending. */
static int expire_pending(int upto) {
  double t = now();
  int pending = 0;
  for (int i = 0; i < upto; i++) {
    struct conn *c = &conns[i];
    if (c->state != ST_CONNECTING && c->state != ST_HANDSHAKE) continue;
    if (t - c->started > CONNECT_TIMEOUT) {
      fprintf(stderr, "loadgen: connection %d: %s timed out\n", i, c->state == ST_CONNECTING ? "connect" : "handshake");
      conn_fail(c, c->state == ST_CONNECTING ? E_CONNECT : E_HANDSHAKE);
    } else {
      pending++;
    }
  }
  return pending;
}

/* Phase 1 of echo, broadcast and idle: open every connection (at most
 * MAX_PENDING_CONNECTS at a time) so the measurement starts with all ready. */
static void open_all(void) {
  int next = 0, pending = 0;
  while (open_count + dead_count < opt.conns) {
    while (next < opt.conns && pending < MAX_PENDING_CONNECTS) {
      start_connect(&conns[next++]);
      pending++;
    }
    poll_once(50);
    pending = expire_pending(next);
  }
}

static uint64_t error_total(void) {
  uint64_t n = 0;
  for (int e = 0; e < E_COUNT; e++) n += errors[e];
  return n;
}

static void print_error_kinds(void) {
  printf("\"error_kinds\":{");
  int first = 1;
  for (int e = 0; e < E_COUNT; e++) {
    if (!errors[e]) continue;
    printf("%s\"%s\":%llu", first ? "" : ",", err_names[e], (unsigned long long)errors[e]);
    first = 0;
  }
  printf("}");
}

/* Warm-up, then the measured window: the caller's step() runs the event loop
 * until `end`; counters are snapshot at the end of warm-up. */
struct window {
  double t_warm, cpu_warm, sys_warm, t_end, cpu_end, sys_end;
  uint64_t recv_warm, bytes_warm, cycles_warm;
  int warm;
};

static void window_start(struct window *w) {
  w->t_warm = now();
  w->cpu_warm = cpu_seconds(&w->sys_warm);
  w->recv_warm = total_received;
  w->bytes_warm = total_bytes;
  w->cycles_warm = total_cycles;
  w->warm = 1;
  for (int i = 0; i < opt.conns; i++) conns[i].received_warm = conns[i].received;
  /* Lets a driver sample the server's CPU over the same window. */
  fprintf(stderr, "loadgen: measuring\n");
}

/* Runs `loop_step` (one epoll round with the given timeout) for warm-up plus duration. */
static void run_window(struct window *w, void (*loop_step)(int timeout_ms), int (*keep_going)(void)) {
  double t0 = now();
  double warm_end = t0 + opt.warmup, end = warm_end + opt.duration;
  w->warm = 0;
  if (opt.warmup == 0) window_start(w);
  double t = t0;
  while (t < end && keep_going()) {
    double next_deadline = w->warm ? end : warm_end;
    int timeout = (int)((next_deadline - t) * 1000) + 1;
    loop_step(timeout);
    t = now();
    if (!w->warm && t >= warm_end) window_start(w);
  }
  w->t_end = now();
  w->cpu_end = cpu_seconds(&w->sys_end);
  if (!w->warm) window_start(w); /* every connection died during warm-up: an empty window */
}

static int any_open(void) { return open_count > 0; }

/* ---- echo and broadcast --------------------------------------------------- */

static int run_load(void) {
  open_all();
  int opened = open_count;
  if (opened == 0) {
    fprintf(stderr, "loadgen: no connection could be opened to %s:%s\n", opt.host, opt.port);
    printf("{\"msgs_per_s\":0,\"rate\":0,\"mib_per_s\":0,\"errors\":%llu,\"conns_open\":0,\"fatal\":\"no connection\",",
           (unsigned long long)error_total());
    print_error_kinds();
    printf("}\n");
    return 1;
  }

  /* Phase 2: the load. */
  for (int i = 0; i < opt.conns; i++) {
    struct conn *c = &conns[i];
    if (c->state != ST_OPEN) continue;
    if (opt.mode == MODE_ECHO || i == 0) {
      c->owed = opt.inflight;
      try_write(c);
    }
  }
  if (opt.mode == MODE_BROADCAST && conns[0].state != ST_OPEN)
    fprintf(stderr, "loadgen: the publisher (connection 0) is not open: nothing will be sent\n");

  struct window w;
  run_window(&w, poll_once, any_open);
  double wall = w.t_end - w.t_warm;
  if (wall <= 0) wall = 1e-9;

  /* Per-connection spread over the measured window: a connection that got
   * nothing is stuck (a lost message, a server that stopped reading). */
  uint64_t cmin = UINT64_MAX, cmax = 0;
  for (int i = 0; i < opt.conns; i++) {
    struct conn *c = &conns[i];
    uint64_t got = c->received - c->received_warm;
    if (c->state == ST_OPEN && got == 0) errors[E_STALLED]++;
    if (c->state != ST_OPEN) continue;
    if (got < cmin) cmin = got;
    if (got > cmax) cmax = got;
  }
  if (cmin == UINT64_MAX) cmin = 0;

  uint64_t msgs = total_received - w.recv_warm;
  uint64_t bytes = total_bytes - w.bytes_warm;
  printf("{\"msgs_per_s\":%.1f,\"rate\":%.1f,\"mib_per_s\":%.2f,\"errors\":%llu,\"cpu_pct\":%.1f,\"cpu_sys_pct\":%.1f,"
         "\"conns\":%d,\"size\":%zu,\"inflight\":%d,\"binary\":%s,\"mode\":\"%s\",\"verify\":%s,\"deflate\":%s,"
         "\"conns_open\":%d,\"conns_opened\":%d,\"messages\":%llu,\"seconds\":%.3f,\"sent_total\":%llu,"
         "\"per_conn_min\":%llu,\"per_conn_max\":%llu,",
         msgs / wall, msgs / wall, bytes / wall / (1024.0 * 1024.0), (unsigned long long)error_total(),
         100.0 * (w.cpu_end - w.cpu_warm) / wall, 100.0 * (w.sys_end - w.sys_warm) / wall, opt.conns, opt.size, opt.inflight,
         opt.binary ? "true" : "false", mode_names[opt.mode], opt.verify ? "true" : "false", opt.deflate ? "true" : "false",
         open_count, opened, (unsigned long long)msgs, wall, (unsigned long long)total_sent, (unsigned long long)cmin,
         (unsigned long long)cmax);
  print_error_kinds();
  printf("}\n");
  /* No closing handshakes: the caller kills the server after each run. */
  return 0;
}

/* ---- storm ---------------------------------------------------------------- */

/* Clears a slot's per-connection state and connects again. */
static void slot_restart(struct conn *c) {
  if (c->fd >= 0) conn_close(c);
  int id = c->id;
  memset(c, 0, sizeof *c);
  c->id = id;
  c->fd = -1;
  start_connect(c);
}

static void storm_step(int timeout_ms) {
  poll_once(timeout_ms < 50 ? timeout_ms : 50);
  double t = now();
  expire_pending(opt.conns);
  for (int i = 0; i < opt.conns; i++) {
    struct conn *c = &conns[i];
    if (c->state == ST_OPEN && c->got_close && t - c->got_close > CLOSE_WAIT) {
      fprintf(stderr, "loadgen: connection slot %d: the server did not close TCP after the closing handshake\n", i);
      conn_fail(c, E_TCP_CLOSE);
    }
    /* Ended slots (a full cycle or a failure) start over; dead_count only
     * counts failures (a completed cycle took itself off it). */
    if (c->state == ST_DEAD) slot_restart(c);
  }
}

static int always(void) { return 1; }

static int run_storm(void) {
  for (int i = 0; i < opt.conns; i++) start_connect(&conns[i]);
  struct window w;
  run_window(&w, storm_step, always);
  double wall = w.t_end - w.t_warm;
  if (wall <= 0) wall = 1e-9;
  uint64_t cycles = total_cycles - w.cycles_warm;
  uint64_t msgs = total_received - w.recv_warm;
  printf("{\"cycles_per_s\":%.1f,\"rate\":%.1f,\"msgs_per_s\":%.1f,\"mib_per_s\":0,\"errors\":%llu,\"cpu_pct\":%.1f,"
         "\"cpu_sys_pct\":%.1f,\"conns\":%d,\"size\":%zu,\"mode\":\"storm\",\"cycles\":%llu,\"cycles_total\":%llu,"
         "\"seconds\":%.3f,",
         cycles / wall, cycles / wall, msgs / wall, (unsigned long long)error_total(), 100.0 * (w.cpu_end - w.cpu_warm) / wall,
         100.0 * (w.sys_end - w.sys_warm) / wall, opt.conns, opt.size, (unsigned long long)cycles,
         (unsigned long long)total_cycles, wall);
  print_error_kinds();
  printf("}\n");
  return 0;
}

/* ---- idle ----------------------------------------------------------------- */

/* idle --deflate: one compressed message per connection, echoed compressed.
 * Connections whose echo does not come back within ECHO_WAIT are dropped. */
static void exchange_one(void) {
  for (int i = 0; i < opt.conns; i++) {
    struct conn *c = &conns[i];
    if (c->state != ST_OPEN) continue;
    c->owed = 1;
    try_write(c);
  }
  double end = now() + ECHO_WAIT;
  for (;;) {
    int waiting = 0;
    for (int i = 0; i < opt.conns; i++) waiting += conns[i].state == ST_OPEN && conns[i].received == 0;
    if (!waiting) return;
    if (now() >= end) {
      fprintf(stderr, "loadgen: %d connections got no echo within %.0f s\n", waiting, ECHO_WAIT);
      for (int i = 0; i < opt.conns; i++)
        if (conns[i].state == ST_OPEN && conns[i].received == 0) conn_fail(&conns[i], E_NO_ECHO);
      return;
    }
    poll_once(50);
  }
}

static int run_idle(void) {
  open_all();
  if (opt.deflate) exchange_one();
  fprintf(stderr, "loadgen: open %d of %d\n", open_count, opt.conns);
  int opened = open_count;
  /* Hold the connections until the driver closes our stdin (or --duration). */
  struct epoll_event ev = {.events = EPOLLIN | EPOLLHUP, .data.ptr = NULL};
  epoll_ctl(epfd, EPOLL_CTL_ADD, STDIN_FILENO, &ev);
  double end = now() + opt.duration;
  int done = 0;
  while (!done && now() < end) {
    int n = epoll_wait(epfd, evs, MAX_EVENTS, 100);
    for (int i = 0; i < n; i++) {
      struct conn *c = evs[i].data.ptr;
      if (!c) {
        char b[256];
        if (read(STDIN_FILENO, b, sizeof b) <= 0) done = 1;
      } else if (c->state == ST_OPEN) {
        open_io(c, evs[i].events);
      }
    }
  }
  printf("{\"rate\":0,\"msgs_per_s\":0,\"mib_per_s\":0,\"cpu_pct\":0,\"errors\":%llu,\"conns\":%d,\"mode\":\"idle\","
         "\"deflate\":%s,\"messages\":%llu,\"conns_opened\":%d,\"conns_open\":%d,",
         (unsigned long long)error_total(), opt.conns, opt.deflate ? "true" : "false", (unsigned long long)total_received, opened,
         open_count);
  print_error_kinds();
  printf("}\n");
  return opened == 0;
}

int main(int argc, char **argv) {
  parse_args(argc, argv);

  /* Many connections need many descriptors: lift the soft limit to the hard one. */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }

  struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
  int gai = getaddrinfo(opt.host, opt.port, &hints, &addr);
  if (gai) {
    fprintf(stderr, "loadgen: %s: %s\n", opt.host, gai_strerror(gai));
    return 2;
  }

  build_frames();
  /* The key is fixed: the server only has to echo it back hashed, and we do
   * not check its answer beyond the status line. */
  request_len = (size_t)asprintf(&request,
                                 "GET %s HTTP/1.1\r\nHost: %s:%s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n%s\r\n",
                                 opt.path, opt.host, opt.port,
                                 opt.deflate ? "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
                                               "client_no_context_takeover\r\n"
                                             : "");

  epfd = epoll_create1(EPOLL_CLOEXEC);
  conns = calloc(opt.conns, sizeof *conns);
  for (int i = 0; i < opt.conns; i++) {
    conns[i].fd = -1;
    conns[i].id = i;
  }
  int status = opt.mode == MODE_STORM ? run_storm() : opt.mode == MODE_IDLE ? run_idle() : run_load();
  fflush(stdout);
  return status;
}

/*
 * loadgen: a small epoll load generator for socketmap (netstring) servers.
 *
 * N persistent TCP connections, `depth` requests in flight per connection (1 = as Postfix does),
 * requests "<map> <domain>" cycling through a domain list file. Warm-up, then a measured
 * duration; prints ONE JSON line on stdout:
 *   requests, errors, seconds, lookups_per_s, p50_us, p99_us, max_us,
 *   replies by first word (OK / NOTFOUND / TEMP / PERM / other), one sample reply.
 * With --once every domain of the file is asked exactly once (spread over the connections) and
 * the run ends when all are answered: `seconds` is then the time from the first request to the
 * last reply (the cold-storm figure).
 * With --rate R the load is paced instead of closed-loop: R requests per second in all, each
 * connection asking on its own fixed schedule (every conns/R s, the connections staggered). A
 * request that falls due while its connection still has `depth` requests in flight is sent as soon
 * as a reply frees the slot, and its latency counts from the time it was due, not from when it
 * could be sent (no coordinated omission): a server that falls behind shows its full delay. Every
 * request due in the measured window is counted: after the window nothing new is asked, and the
 * run waits (at most --timeout seconds) for the replies still owed; those that never come are
 * errors.
 *
 * Built by the benchmark harness (bench/run.ts) with `gcc -O2`; never committed as a binary.
 *   loadgen --port P [--host 127.0.0.1] [--conns 32] [--depth 1] --domains FILE
 *           [--map postfix] [--warmup 2] [--seconds 10] [--once] [--timeout 30] [--rate R]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_LAT_US 10000000 /* histogram up to 10 s at 1 µs resolution is too big: use buckets */
#define HIST_FINE 100000    /* 1 µs buckets below 100 ms */
#define HIST_COARSE 10000   /* then 1 ms buckets up to 10 s */

typedef struct {
  int fd;
  char rbuf[65536];
  size_t rlen;
  char wbuf[65536];
  size_t wlen, woff;
  double sent_at[64]; /* FIFO of send times, depth <= 64 */
  int qhead, qlen;
  int dead;
  double next_due; /* --rate: when this connection's next request is due */
} conn_t;

static uint64_t hist_fine[HIST_FINE];
static uint64_t hist_coarse[HIST_COARSE + 1];
static uint64_t max_us = 0;
static uint64_t measured = 0, errors = 0;
static uint64_t n_ok = 0, n_notfound = 0, n_temp = 0, n_perm = 0, n_other = 0;
static char sample[256] = "";
static char **domains;
static size_t ndomains, next_domain = 0, answered_once = 0, sent_once = 0;
static const char *map = "postfix";
static int once = 0;
static double rate = 0;     /* --rate: requests per second in all; 0 = closed loop */
static double interval = 0; /* --rate: seconds between two requests of one connection */

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void record(double lat_s) {
  uint64_t us = (uint64_t)(lat_s * 1e6 + 0.5);
  if (us > max_us) max_us = us;
  if (us < HIST_FINE) hist_fine[us]++;
  else {
    uint64_t b = (us - HIST_FINE) / 1000;
    if (b > HIST_COARSE) b = HIST_COARSE;
    hist_coarse[b]++;
  }
}

static uint64_t percentile(double p) {
  uint64_t total = 0;
  for (size_t i = 0; i < HIST_FINE; i++) total += hist_fine[i];
  for (size_t i = 0; i <= HIST_COARSE; i++) total += hist_coarse[i];
  if (total == 0) return 0;
  uint64_t want = (uint64_t)(p * total);
  if (want >= total) want = total - 1;
  uint64_t seen = 0;
  for (size_t i = 0; i < HIST_FINE; i++) {
    seen += hist_fine[i];
    if (seen > want) return i;
  }
  for (size_t i = 0; i <= HIST_COARSE; i++) {
    seen += hist_coarse[i];
    if (seen > want) return HIST_FINE + i * 1000;
  }
  return max_us;
}

/* Queue one request on c; returns 0 when --once has nothing left to send. */
static int queue_request(conn_t *c, double t) {
  if (once && sent_once >= ndomains) return 0;
  const char *d = domains[next_domain];
  next_domain = (next_domain + 1) % ndomains;
  if (once) sent_once++;
  char payload[600];
  int plen = snprintf(payload, sizeof payload, "%s %s", map, d);
  int n = snprintf(c->wbuf + c->wlen, sizeof c->wbuf - c->wlen, "%d:%s,", plen, payload);
  c->wlen += (size_t)n;
  c->sent_at[(c->qhead + c->qlen) % 64] = t;
  c->qlen++;
  return 1;
}

/* --rate: requests due from this time on are not asked (the end of the measured window). */
static double stop_due = 0;

/* --rate: queue every request of c that is due by t while a slot is free, stamped with its due time. */
static void queue_due(conn_t *c, double t, int depth) {
  while (c->next_due <= t && c->next_due < stop_due && c->qlen < depth) {
    if (!queue_request(c, c->next_due)) return;
    c->next_due += interval;
  }
}

/*
 * epoll_wait with a nanosecond timeout (epoll_pwait2, Linux 5.11) where the kernel has it: a paced
 * request would otherwise go out up to 1 ms late, and its latency counts from when it was due.
 * Elsewhere epoll_wait, the timeout rounded up to whole milliseconds.
 */
static int wait_events(int ep, struct epoll_event *evs, int max, double wait_s) {
#ifdef SYS_epoll_pwait2
  static int have_pwait2 = 1;
  if (have_pwait2) {
    struct timespec ts = {.tv_sec = (time_t)wait_s, .tv_nsec = (long)((wait_s - (double)(time_t)wait_s) * 1e9)};
    int n = (int)syscall(SYS_epoll_pwait2, ep, evs, max, &ts, NULL, (size_t)0);
    if (n >= 0 || errno != ENOSYS) return n;
    have_pwait2 = 0;
  }
#endif
  int ms = (int)(wait_s * 1000);
  if ((double)ms < wait_s * 1000) ms++;
  return epoll_wait(ep, evs, max, ms);
}

/* --rate: true when nothing is owed: every request due before the window's end was answered. */
static int all_answered(const conn_t *conns, int nconns) {
  for (int i = 0; i < nconns; i++) {
    if (conns[i].dead) continue;
    if (conns[i].qlen > 0 || conns[i].next_due < stop_due) return 0;
  }
  return 1;
}

/* --rate: requests due before the window's end that were never answered (a timeout). */
static uint64_t owed(const conn_t *conns, int nconns) {
  uint64_t n = 0;
  for (int i = 0; i < nconns; i++) {
    if (conns[i].dead) continue;
    n += (uint64_t)conns[i].qlen;
    for (double d = conns[i].next_due; d < stop_due; d += interval) n++;
  }
  return n;
}

static void flush_writes(conn_t *c) {
  while (c->woff < c->wlen) {
    ssize_t w = write(c->fd, c->wbuf + c->woff, c->wlen - c->woff);
    if (w < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      c->dead = 1;
      return;
    }
    c->woff += (size_t)w;
  }
  c->wlen = c->woff = 0;
}

/* A dead connection: requests in flight on it are errors; it is not reopened. */
static void drop_conn(conn_t *c, int ep, int *alive) {
  errors += (uint64_t)c->qlen + 1;
  c->qlen = 0;
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  (*alive)--;
}

static void count_reply(const char *p, size_t len) {
  if (sample[0] == '\0') {
    size_t n = len < sizeof sample - 1 ? len : sizeof sample - 1;
    memcpy(sample, p, n);
    sample[n] = '\0';
  }
  size_t w = 0;
  while (w < len && p[w] != ' ') w++;
  if (w == 2 && memcmp(p, "OK", 2) == 0) n_ok++;
  else if (w == 8 && memcmp(p, "NOTFOUND", 8) == 0) n_notfound++;
  else if (w == 4 && memcmp(p, "TEMP", 4) == 0) n_temp++;
  else if (w == 4 && memcmp(p, "PERM", 4) == 0) n_perm++;
  else n_other++;
}

static void usage(void) {
  fprintf(stderr, "usage: loadgen --port P --domains FILE [--host H] [--conns N] [--depth D] [--map M] [--warmup S] [--seconds S] [--once] [--timeout S] [--rate R]\n");
  exit(2);
}

int main(int argc, char **argv) {
  const char *host = "127.0.0.1", *file = NULL;
  int port = 0, nconns = 32, depth = 1;
  double warmup = 2, seconds = 10, timeout = 30;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--once") == 0) { once = 1; continue; }
    if (v == NULL) usage();
    if (strcmp(a, "--host") == 0) host = v;
    else if (strcmp(a, "--port") == 0) port = atoi(v);
    else if (strcmp(a, "--conns") == 0) nconns = atoi(v);
    else if (strcmp(a, "--depth") == 0) depth = atoi(v);
    else if (strcmp(a, "--domains") == 0) file = v;
    else if (strcmp(a, "--map") == 0) map = v;
    else if (strcmp(a, "--warmup") == 0) warmup = atof(v);
    else if (strcmp(a, "--seconds") == 0) seconds = atof(v);
    else if (strcmp(a, "--timeout") == 0) timeout = atof(v);
    else if (strcmp(a, "--rate") == 0) rate = atof(v);
    else usage();
    i++;
  }
  if (port <= 0 || file == NULL || nconns <= 0 || depth <= 0 || depth > 64 || rate < 0 || (rate > 0 && once)) usage();
  if (rate > 0) interval = nconns / rate;

  FILE *f = fopen(file, "r");
  if (!f) { perror(file); return 2; }
  size_t cap = 1024;
  domains = malloc(cap * sizeof *domains);
  char line[512];
  while (fgets(line, sizeof line, f)) {
    size_t l = strcspn(line, "\r\n");
    line[l] = '\0';
    if (l == 0) continue;
    if (ndomains == cap) domains = realloc(domains, (cap *= 2) * sizeof *domains);
    domains[ndomains++] = strdup(line);
  }
  fclose(f);
  if (ndomains == 0) { fprintf(stderr, "no domains in %s\n", file); return 2; }
  if (once) warmup = 0;

  /* Timers fire when asked, not up to 50 µs later (the default slack): paced requests go out on time. */
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  int ep = epoll_create1(0);
  conn_t *conns = calloc((size_t)nconns, sizeof *conns);
  struct sockaddr_in sa = {0};
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  inet_pton(AF_INET, host, &sa.sin_addr);
  for (int i = 0; i < nconns; i++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) { perror("connect"); return 1; }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    conns[i].fd = fd;
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }

  double start = now();
  double measure_from = start + warmup;
  double end = measure_from + seconds;
  double deadline = once ? start + timeout : rate > 0 ? end + timeout : end;
  stop_due = end;
  double last_reply = start;
  int alive = nconns;
  for (int i = 0; i < nconns; i++) {
    if (rate > 0) {
      conns[i].next_due = start + interval * i / nconns;
      queue_due(&conns[i], start, depth);
    } else {
      for (int k = 0; k < depth; k++) queue_request(&conns[i], start);
    }
    flush_writes(&conns[i]);
    if (conns[i].dead) drop_conn(&conns[i], ep, &alive);
  }

  struct epoll_event evs[256];
  for (;;) {
    double t = now();
    if (t >= deadline) break;
    if (rate > 0 && t >= end && all_answered(conns, nconns)) break;
    if (once && answered_once >= ndomains) break;
    if (alive == 0) break;
    double wait_s = deadline - t;
    if (wait_s > 0.1) wait_s = 0.1;
    if (rate > 0) {
      /* Wake for the next request due on a connection with a free slot. */
      for (int i = 0; i < nconns; i++) {
        if (conns[i].dead || conns[i].qlen >= depth || conns[i].next_due >= stop_due) continue;
        double due = conns[i].next_due - t;
        if (due < wait_s) wait_s = due;
      }
    }
    if (wait_s < 0) wait_s = 0;
    int n = wait_events(ep, evs, 256, wait_s);
    if (n < 0) {
      if (errno == EINTR) continue;
      perror("epoll_wait");
      return 1;
    }
    t = now();
    if (rate > 0) {
      for (int i = 0; i < nconns; i++) {
        if (conns[i].dead) continue;
        queue_due(&conns[i], t, depth);
        flush_writes(&conns[i]);
        if (conns[i].dead) drop_conn(&conns[i], ep, &alive);
      }
    }
    for (int e = 0; e < n; e++) {
      conn_t *c = &conns[evs[e].data.u32];
      if (c->dead) continue;
      ssize_t r = read(c->fd, c->rbuf + c->rlen, sizeof c->rbuf - c->rlen);
      if (r <= 0) {
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;
        c->dead = 1;
      } else {
        c->rlen += (size_t)r;
        size_t off = 0;
        for (;;) {
          size_t i = off, len = 0;
          while (i < c->rlen && c->rbuf[i] >= '0' && c->rbuf[i] <= '9') len = len * 10 + (size_t)(c->rbuf[i++] - '0');
          if (i >= c->rlen) break;
          if (c->rbuf[i] != ':' || i == off) { c->dead = 1; break; }
          if (i + 1 + len + 1 > c->rlen) break;
          if (c->rbuf[i + 1 + len] != ',') { c->dead = 1; break; }
          const char *payload = c->rbuf + i + 1;
          off = i + 1 + len + 1;
          if (c->qlen == 0) { c->dead = 1; break; } /* a reply nobody asked for */
          double sent = c->sent_at[c->qhead];
          c->qhead = (c->qhead + 1) % 64;
          c->qlen--;
          last_reply = t;
          if (once) answered_once++;
          /* Paced: every request due in the window, whenever answered; closed loop: those sent
             in the window and answered within it. */
          if (once || (sent >= measure_from && (rate > 0 ? sent < end : t <= end))) {
            measured++;
            record(t - sent);
            count_reply(payload, len);
          }
          if (rate > 0) queue_due(c, t, depth);
          else queue_request(c, t);
        }
        if (off > 0) {
          memmove(c->rbuf, c->rbuf + off, c->rlen - off);
          c->rlen -= off;
        }
        if (!c->dead) flush_writes(c);
      }
      if (c->dead) drop_conn(c, ep, &alive);
    }
  }
  if (once) {
    /* Unanswered --once requests (timeout) are errors. */
    if (answered_once < ndomains) errors += ndomains - answered_once;
  }
  if (rate > 0) errors += owed(conns, nconns); /* due in the window, never answered */
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
  double secs = once ? last_reply - start : seconds;
  printf("{\"requests\":%llu,\"errors\":%llu,\"seconds\":%.3f,\"lookups_per_s\":%.0f,"
         "\"p50_us\":%llu,\"p99_us\":%llu,\"max_us\":%llu,"
         "\"replies\":{\"OK\":%llu,\"NOTFOUND\":%llu,\"TEMP\":%llu,\"PERM\":%llu,\"other\":%llu},"
         "\"conns\":%d,\"depth\":%d,\"rate\":%.0f,\"cpu_s\":%.3f,\"wall_s\":%.3f,\"sample\":\"",
         (unsigned long long)measured, (unsigned long long)errors, secs, secs > 0 ? measured / secs : 0.0,
         (unsigned long long)percentile(0.50), (unsigned long long)percentile(0.99), (unsigned long long)max_us,
         (unsigned long long)n_ok, (unsigned long long)n_notfound, (unsigned long long)n_temp,
         (unsigned long long)n_perm, (unsigned long long)n_other, nconns, depth, rate, cpu, now() - start);
  for (const char *p = sample; *p; p++) {
    if (*p == '"' || *p == '\\') putchar('\\');
    if ((unsigned char)*p >= 0x20) putchar(*p);
  }
  printf("\"}\n");
  for (int i = 0; i < nconns; i++) if (!conns[i].dead) close(conns[i].fd);
  return 0;
}

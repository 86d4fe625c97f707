// netqos-cni: the CNI plugin executable the runtime runs, one process per pod and verb. Node
// cannot start in the few milliseconds a CNI plugin may take, so this small program forwards the
// invocation (its CNI_* variables, standard input, and which network and mount namespace it runs
// in) to the resident netqos process over a unix socket (lib/cni/server.ts; the wire format is in
// lib/cni/protocol.ts) and prints the answer. When no server answers, or the server asks for it,
// it replaces itself with the Node plugin (node dist/lib/cni/main.js), standard input intact.
//
// `netqos cni-install` copies this file into the CNI bin directory and appends a trailer naming
// the Node binary, main.js and the socket (see read_trailer); NETQOS_CNI_SOCKET overrides the
// socket, NETQOS_CNI_TIMEOUT_MS the 30 s bound on the exchange.
//
// Only the C library; nothing is written to standard output or error until the answer is
// complete, so a fallback never follows partial output.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

extern char** environ;

#define DEFAULT_SOCKET "/run/netqos/cni.sock"
#define DEFAULT_TIMEOUT_MS 30000
#define PROTOCOL_VERSION 1
#define HEADER_BYTES 12
#define MAX_BODY (64u * 1024 * 1024)
// lib/cni/limits.ts MAX_STDIN_BYTES: a larger configuration is refused as the Node plugin does.
#define MAX_STDIN (4u * 1024 * 1024)
#define TRAILER_MAGIC "NQCNITR1"
#define MAX_TRAILER 65536
// CNI's well-known codes: 5 I/O failure, 7 invalid network configuration, 11 try again later.
#define CNI_IO_FAILURE 5
#define CNI_INVALID_CONFIG 7
#define CNI_TRY_AGAIN 11

struct buf {
  char* p;
  size_t len, cap;
};

_Noreturn static void oom(void) {
  static const char msg[] = "netqos-cni: out of memory\n";
  (void)!write(2, msg, sizeof msg - 1);
  _exit(1);
}

static void put(struct buf* b, const void* data, size_t n) {
  if (!b->p || b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n) cap *= 2;
    char* p = realloc(b->p, cap);
    if (!p) oom();
    b->p = p;
    b->cap = cap;
  }
  if (n) memcpy(b->p + b->len, data, n);
  b->len += n;
}

static void put_u32(struct buf* b, uint32_t v) {
  unsigned char x[4] = {v, v >> 8, v >> 16, v >> 24};
  put(b, x, 4);
}

static void put_u64(struct buf* b, uint64_t v) {
  put_u32(b, (uint32_t)v);
  put_u32(b, (uint32_t)(v >> 32));
}

static uint32_t get_u32(const char* p) {
  const unsigned char* u = (const unsigned char*)p;
  return (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 | (uint32_t)u[3] << 24;
}

static int write_all(int fd, const char* p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

// A JSON string at *pp (after its opening quote) decoded into out (at most cap-1 bytes, the
// rest dropped: such a key matches nothing netqos looks for); *pp ends after the closing quote.
// Returns the decoded length, or -1 when the string does not end.
static int json_string(const char** pp, const char* end, char* out, size_t cap) {
  const char* p = *pp;
  size_t n = 0;
  while (p < end && *p != '"') {
    unsigned c = (unsigned char)*p++;
    if (c == '\\') {
      if (p >= end) return -1;
      char e = *p++;
      c = e == 'b'   ? '\b'
          : e == 'f' ? '\f'
          : e == 'n' ? '\n'
          : e == 'r' ? '\r'
          : e == 't' ? '\t'
                     : (unsigned char)e;
      if (e == 'u') {
        if (end - p < 4) return -1;
        unsigned u = 0;
        for (int i = 0; i < 4; i++) {
          char h = p[i];
          u = u * 16 + (unsigned)(h >= '0' && h <= '9'   ? h - '0'
                                  : h >= 'a' && h <= 'f' ? h - 'a' + 10
                                  : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                                         : 0);
        }
        p += 4;
        // As UTF-8 (only the code points folding onto ASCII matter: U+017F, U+212A).
        unsigned char enc[3];
        size_t len = u < 0x80 ? 1 : u < 0x800 ? 2 : 3;
        if (len == 1)
          enc[0] = (unsigned char)u;
        else if (len == 2)
          enc[0] = (unsigned char)(0xc0 | u >> 6), enc[1] = (unsigned char)(0x80 | (u & 0x3f));
        else
          enc[0] = (unsigned char)(0xe0 | u >> 12), enc[1] = (unsigned char)(0x80 | ((u >> 6) & 0x3f)),
          enc[2] = (unsigned char)(0x80 | (u & 0x3f));
        for (size_t i = 0; i < len; i++)
          if (n + 1 < cap) out[n++] = (char)enc[i];
        continue;
      }
    }
    if (n + 1 < cap) out[n++] = (char)c;
  }
  if (p >= end) return -1;
  *pp = p + 1;
  out[n] = 0;
  return (int)n;
}

// Whether a key is "cniVersion" as Go's encoding/json matches struct fields: ASCII letters in
// any case, and U+017F LONG S for s (the only other character folding onto its letters).
static int is_cni_version_key(const char* k) {
  const char* want = "cniversion";
  for (; *want; want++) {
    if (*want == 's' && (unsigned char)k[0] == 0xc5 && (unsigned char)k[1] == 0xbf) {
      k += 2;
      continue;
    }
    char c = *k++;
    if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
    if (c != *want) return 0;
  }
  return *k == 0;
}

// The configuration's cniVersion for an error object, read as the Node plugin reads it: the last
// top-level key matching "cniVersion" (see above) whose value is a string of digits and dots,
// else the newest version netqos speaks (also when the text is cut short). A scan, not a
// validating parser.
static void cni_version(const struct buf* in, char out[16]) {
  strcpy(out, "1.1.0");
  if (!in || !in->len) return;
  const char *p = in->p, *end = in->p + in->len;
  int depth = 0, expect_key = 0, closed = 0;
  char key[32], value[16], found[16] = "";
  while (p < end && !closed) {
    char c = *p++;
    if (c == '{' || c == '[') {
      depth++;
      expect_key = c == '{' && depth == 1;
    } else if (c == '}' || c == ']') {
      closed = --depth == 0;
    } else if (c == ',') {
      expect_key = depth == 1;
    } else if (c == '"') {
      if (!expect_key) {
        if (json_string(&p, end, value, sizeof value) < 0) return;
        continue;
      }
      expect_key = 0;
      if (json_string(&p, end, key, sizeof key) < 0) return;
      while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == ':')) p++;
      if (p >= end || *p != '"' || !is_cni_version_key(key)) continue;
      p++;
      int n = json_string(&p, end, value, sizeof value);
      if (n < 0) return;
      size_t ok = n > 0 && (size_t)n < sizeof value - 1;
      for (int i = 0; ok && i < n; i++) ok = (value[i] >= '0' && value[i] <= '9') || value[i] == '.';
      if (ok) strcpy(found, value);
    }
  }
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
  if (closed && p == end && *found) strcpy(out, found);
}

static void put_json_string(struct buf* b, const char* s) {
  put(b, "\"", 1);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      put(b, "\\", 1);
      put(b, s, 1);
    } else if (c < 0x20) {
      char esc[8];
      snprintf(esc, sizeof esc, "\\u%04x", c);
      put(b, esc, 6);
    } else {
      put(b, s, 1);
    }
  }
  put(b, "\"", 1);
}

// A CNI error object on standard output, exit 1 (as the Node plugin reports its own errors).
_Noreturn static void fail(const struct buf* in, int code, const char* msg, const char* details) {
  char version[16];
  cni_version(in, version);
  struct buf out = {0};
  char head[64];
  snprintf(head, sizeof head, "{\"cniVersion\":\"%s\",\"code\":%d,\"msg\":", version, code);
  put(&out, head, strlen(head));
  put_json_string(&out, msg);
  if (details && *details) {
    put(&out, ",\"details\":", 11);
    put_json_string(&out, details);
  }
  put(&out, "}\n", 2);
  write_all(1, out.p, out.len);
  exit(1);
}

// Where the fallback lives and which socket to use, from the end of this executable:
// "<node>\0<main.js>\0<socket>\0" then its length (u32, little-endian) then TRAILER_MAGIC.
// Empty node and main: installed without a fallback (cni-install --no-fallback).
struct trailer {
  char *node, *main, *socket;
};

static int read_trailer(struct trailer* t) {
  int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  struct stat st;
  char tail[12];
  int ok = -1;
  if (fstat(fd, &st) == 0 && st.st_size > (off_t)sizeof tail &&
      pread(fd, tail, sizeof tail, st.st_size - (off_t)sizeof tail) == (ssize_t)sizeof tail &&
      memcmp(tail + 4, TRAILER_MAGIC, 8) == 0) {
    uint32_t n = get_u32(tail);
    char* data = n <= MAX_TRAILER && n + sizeof tail <= (uint64_t)st.st_size ? malloc(n + 1) : NULL;
    if (data && pread(fd, data, n, st.st_size - (off_t)sizeof tail - n) == (ssize_t)n) {
      data[n] = 0;
      // Three NUL-terminated strings, the last NUL inside n.
      char* parts[3];
      char* p = data;
      int i = 0;
      for (; i < 3 && p < data + n; i++) {
        parts[i] = p;
        p += strlen(p) + 1;
      }
      if (i == 3 && p <= data + n) {
        t->node = parts[0];
        t->main = parts[1];
        t->socket = parts[2];
        ok = 0;
      }
    }
    if (ok) free(data);
  }
  close(fd);
  return ok;
}

// Reads fd to its end; 1 when it holds more than `max` bytes (reading stops there).
static int read_all(int fd, struct buf* b, size_t max) {
  char chunk[65536];
  for (;;) {
    ssize_t r = read(fd, chunk, sizeof chunk);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (r == 0) return 0;
    if (b->len + (size_t)r > max) return 1;
    put(b, chunk, (size_t)r);
  }
}

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// Waits for `events` on fd until the deadline: 1 ready, 0 timed out, -1 error.
static int wait_fd(int fd, short events, long long deadline) {
  for (;;) {
    long long left = deadline - now_ms();
    if (left <= 0) return 0;
    struct pollfd p = {.fd = fd, .events = events};
    int r = poll(&p, 1, left > 1000000 ? 1000000 : (int)left);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return -1;
    if (r > 0) return 1;
  }
}

static void identity(const char* path, uint64_t* dev, uint64_t* ino) {
  struct stat st;
  if (stat(path, &st) == 0) {
    *dev = st.st_dev;
    *ino = st.st_ino;
  } else {
    *dev = *ino = 0;
  }
}

static char* socket_path;
static char fallback_reason[256];

// The Node plugin in this process's place: stdin (already consumed) from a memory file,
// NODE_OPTIONS and NODE_EXTRA_CA_CERTS left out (each costs Node tens of milliseconds at start).
_Noreturn static void fallback(const struct trailer* t, const struct buf* in, int have_stdin, char** argv) {
  char details[1024];
  if (!t->node || !*t->node || !t->main || !*t->main) {
    snprintf(details, sizeof details, "%s; this netqos plugin was installed without a fallback (%s)",
             fallback_reason,
             t->node ? "cni-install --no-fallback" : "no install trailer: run `netqos cni-install`");
    fail(in, CNI_TRY_AGAIN, "the netqos CNI server is not available", details);
  }
  if (access(t->node, X_OK) != 0 || access(t->main, R_OK) != 0) {
    int err = errno;
    snprintf(details, sizeof details,
             "%s; the fallback %s %s cannot run: %s (run `netqos cni-install` again)", fallback_reason,
             t->node, t->main, strerror(err));
    fail(in, CNI_TRY_AGAIN, "the netqos CNI server is not available", details);
  }
  if (have_stdin) {
    int fd = memfd_create("netqos-cni-stdin", 0);
    if (fd < 0) fd = open("/tmp", O_TMPFILE | O_RDWR, 0600);
    if (fd < 0 || write_all(fd, in->p, in->len) != 0 || lseek(fd, 0, SEEK_SET) != 0 || dup2(fd, 0) < 0) {
      snprintf(details, sizeof details, "passing standard input to the fallback plugin: %s", strerror(errno));
      fail(in, CNI_IO_FAILURE, "error reading from stdin", details);
    }
    if (fd != 0) close(fd);
  }
  size_t n = 0;
  while (environ[n]) n++;
  char** env = malloc((n + 1) * sizeof *env);
  if (!env) oom();
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (strncmp(environ[i], "NODE_OPTIONS=", 13) == 0 || strncmp(environ[i], "NODE_EXTRA_CA_CERTS=", 20) == 0)
      continue;
    env[k++] = environ[i];
  }
  env[k] = NULL;
  int argc = 0;
  while (argv[argc]) argc++;
  char** args = malloc((size_t)(argc + 2) * sizeof *args);
  if (!args) oom();
  args[0] = t->node;
  args[1] = t->main;
  for (int i = 1; i < argc; i++) args[i + 1] = argv[i];
  args[argc + 1] = NULL;
  execve(t->node, args, env);
  snprintf(details, sizeof details, "%s; exec %s failed: %s", fallback_reason, t->node, strerror(errno));
  fail(in, CNI_TRY_AGAIN, "the netqos CNI server is not available", details);
}

#define FALLBACK(...)                                               \
  do {                                                              \
    snprintf(fallback_reason, sizeof fallback_reason, __VA_ARGS__); \
    goto fall_back;                                                 \
  } while (0)

int main(int argc, char** argv) {
  (void)argc;
  struct trailer t = {0};
  read_trailer(&t);
  const char* env_socket = getenv("NETQOS_CNI_SOCKET");
  socket_path = env_socket && *env_socket ? (char*)env_socket
                : t.socket && *t.socket   ? t.socket
                                          : DEFAULT_SOCKET;
  long long timeout = DEFAULT_TIMEOUT_MS;
  const char* env_timeout = getenv("NETQOS_CNI_TIMEOUT_MS");
  if (env_timeout && atoll(env_timeout) > 0) timeout = atoll(env_timeout);

  // As the Node plugin: no standard input for VERSION or without a command (run by hand).
  const char* command = getenv("CNI_COMMAND");
  int have_stdin = command && *command && strcmp(command, "VERSION") != 0;
  struct buf in = {0};
  if (have_stdin) {
    int r = read_all(0, &in, MAX_STDIN);
    if (r < 0) fail(NULL, CNI_IO_FAILURE, "error reading from stdin", strerror(errno));
    if (r > 0) {
      char details[96];
      snprintf(details, sizeof details, "more than %u bytes on standard input", MAX_STDIN);
      fail(NULL, CNI_INVALID_CONFIG, "network configuration too large", details);
    }
  }

  // The request (protocol.ts), whole before connecting: the server then wakes once, with all
  // of it waiting, instead of once for the connection and again for the data.
  struct buf req = {0};
  uint64_t dev, ino;
  put(&req, "NQCR", 4);
  unsigned char version[4] = {PROTOCOL_VERSION, 0, 0, 0};
  put(&req, version, 4);
  put_u32(&req, 0);  // body length, filled in below
  put_u32(&req, (uint32_t)getpid());
  identity("/proc/self/ns/net", &dev, &ino);
  put_u64(&req, dev);
  put_u64(&req, ino);
  identity("/proc/self/ns/mnt", &dev, &ino);
  put_u64(&req, dev);
  put_u64(&req, ino);
  const char* netns = getenv("CNI_NETNS");
  struct stat st;
  if (!netns || !*netns) {
    put_u32(&req, (uint32_t)-1);
    put_u64(&req, 0);
    put_u64(&req, 0);
  } else if (stat(netns, &st) == 0) {
    put_u32(&req, 0);
    put_u64(&req, st.st_dev);
    put_u64(&req, st.st_ino);
  } else {
    put_u32(&req, (uint32_t)errno);
    put_u64(&req, 0);
    put_u64(&req, 0);
  }
  uint32_t count = 0;
  for (char** e = environ; *e; e++) count += strncmp(*e, "CNI_", 4) == 0;
  put_u32(&req, count);
  for (char** e = environ; *e; e++) {
    if (strncmp(*e, "CNI_", 4) != 0) continue;
    size_t n = strlen(*e);
    put_u32(&req, (uint32_t)n);
    put(&req, *e, n);
  }
  put_u32(&req, (uint32_t)have_stdin);
  put_u32(&req, (uint32_t)in.len);
  put(&req, in.p, in.len);
  uint32_t body = (uint32_t)(req.len - HEADER_BYTES);
  unsigned char len[4] = {body, body >> 8, body >> 16, body >> 24};
  memcpy(req.p + 8, len, 4);

  int fd = -1;
  struct buf resp = {0};
  {
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(socket_path) >= sizeof addr.sun_path) FALLBACK("socket path %s is too long", socket_path);
    strcpy(addr.sun_path, socket_path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) FALLBACK("socket: %s", strerror(errno));
    // A blocking connect waits for a full backlog at most this long.
    struct timeval tv = {.tv_sec = timeout / 1000, .tv_usec = (timeout % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int r;
    do r = connect(fd, (struct sockaddr*)&addr, sizeof addr);
    while (r < 0 && errno == EINTR);
    if (r < 0) FALLBACK("connect %s: %s", socket_path, strerror(errno));
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    long long deadline = now_ms() + timeout;

    // Until the whole request is out the server cannot have acted on it: any failure falls back.
    size_t sent = 0;
    while (sent < req.len) {
      ssize_t w = send(fd, req.p + sent, req.len - sent, MSG_NOSIGNAL);
      if (w > 0) {
        sent += (size_t)w;
        continue;
      }
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && errno == EAGAIN) {
        int ready = wait_fd(fd, POLLOUT, deadline);
        if (ready > 0) continue;
        FALLBACK("sending to %s: %s", socket_path, ready == 0 ? "timed out" : strerror(errno));
      }
      FALLBACK("sending to %s: %s", socket_path, w < 0 ? strerror(errno) : "closed");
    }

    // The answer. A server that dies now may or may not have acted: the verbs are idempotent,
    // so the Node plugin runs them again. One that does not answer in time may still be acting:
    // the runtime is told to try again later instead.
    size_t want = HEADER_BYTES;
    char chunk[65536];
    while (resp.len < want) {
      ssize_t r2 = recv(fd, chunk, sizeof chunk, 0);
      if (r2 > 0) {
        put(&resp, chunk, (size_t)r2);
        if (want == HEADER_BYTES && resp.len >= HEADER_BYTES) {
          if (memcmp(resp.p, "NQCA", 4) != 0 || (unsigned char)resp.p[4] != PROTOCOL_VERSION ||
              resp.p[5] != 0)
            FALLBACK("%s: not a netqos answer (protocol version %u)", socket_path, (unsigned char)resp.p[4]);
          uint32_t n = get_u32(resp.p + 8);
          if (n > MAX_BODY) FALLBACK("%s: answer of %u bytes is too large", socket_path, n);
          want = HEADER_BYTES + n;
        }
        continue;
      }
      if (r2 == 0) FALLBACK("%s closed the connection before answering", socket_path);
      if (errno == EINTR) continue;
      if (errno != EAGAIN) FALLBACK("reading from %s: %s", socket_path, strerror(errno));
      int ready = wait_fd(fd, POLLIN, deadline);
      if (ready < 0) FALLBACK("waiting for %s: %s", socket_path, strerror(errno));
      if (ready == 0) {
        char details[512];
        snprintf(details, sizeof details,
                 "no answer from the netqos CNI server at %s within %lld ms (the request may still be in "
                 "progress)",
                 socket_path, timeout);
        fail(&in, CNI_TRY_AGAIN, "the netqos CNI server did not answer in time", details);
      }
    }
    close(fd);
    fd = -1;

    const char *p = resp.p + HEADER_BYTES, *end = resp.p + want;
    if (end - p < 12) FALLBACK("%s: truncated answer", socket_path);
    uint32_t status = get_u32(p);
    int code = (int)get_u32(p + 4);
    uint32_t out_len = get_u32(p + 8);
    p += 12;
    if (out_len > (size_t)(end - p) || (size_t)(end - p) - out_len < 4)
      FALLBACK("%s: truncated answer", socket_path);
    const char* out = p;
    p += out_len;
    uint32_t err_len = get_u32(p);
    p += 4;
    if (err_len != (size_t)(end - p)) FALLBACK("%s: malformed answer", socket_path);
    if (status == 1)
      FALLBACK("the server asked for the fallback: %.*s", (int)(err_len > 160 ? 160 : err_len), p);
    if (status != 0) FALLBACK("%s: unknown answer status %u", socket_path, status);
    // As the Node plugin: standard error first (its loss is no failure), then the result.
    (void)write_all(2, p, err_len);
    if (write_all(1, out, out_len) != 0) return 1;
    return code;
  }

fall_back:
  if (fd >= 0) close(fd);
  free(req.p);
  free(resp.p);
  fallback(&t, &in, have_stdin, argv);
  return 1;
}

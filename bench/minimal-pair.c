/*
 * The reference ping/echo pair for `npm run bench`'s cadence scenarios: the least a client can do to
 * time an MQTT round trip, in C with blocking sockets and no runtime, so that what our clients add on
 * top of it can be measured. MQTT 3.1.1, QoS 0, TCP_NODELAY, keep-alive off. Also a one-hop TCP echo
 * server and client for the floor under every MQTT figure.
 *
 *   minimal-pair mqtt-echo PORT                  subscribe /ping, republish each payload on /pong
 *   minimal-pair mqtt-ping PORT COUNT INTERVAL_MS  publish a payload every INTERVAL_MS on /ping, time its /pong
 *   minimal-pair tcp-echo PORT                   send every byte straight back (one client at a time)
 *   minimal-pair tcp-ping PORT COUNT INTERVAL_MS   send 16 bytes every INTERVAL_MS, time their return
 *
 * The pingers print one round trip per line in microseconds; the servers print "ready" once they
 * serve. Everything on 127.0.0.1. Build: cc -O2 -o minimal-pair bench/minimal-pair.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what) {
  perror(what);
  exit(1);
}

static int connect_to(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) die("connect");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

static void write_all(int fd, const unsigned char *bytes, size_t length) {
  while (length > 0) {
    ssize_t n = write(fd, bytes, length);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) die("write");
    bytes += n;
    length -= (size_t)n;
  }
}

static void read_all(int fd, unsigned char *bytes, size_t length) {
  while (length > 0) {
    ssize_t n = read(fd, bytes, length);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) {
      fprintf(stderr, "connection closed\n");
      exit(1);
    }
    if (n < 0) die("read");
    bytes += n;
    length -= (size_t)n;
  }
}

/* Reads one MQTT packet: returns its type and fills body (the remaining length's bytes). */
static int read_packet(int fd, unsigned char *body, size_t capacity, size_t *length) {
  unsigned char header;
  read_all(fd, &header, 1);
  size_t remaining = 0;
  int shift = 0;
  unsigned char digit;
  do {
    read_all(fd, &digit, 1);
    remaining |= (size_t)(digit & 0x7f) << shift;
    shift += 7;
  } while (digit & 0x80);
  if (remaining > capacity) {
    fprintf(stderr, "packet of %zu bytes is too big\n", remaining);
    exit(1);
  }
  read_all(fd, body, remaining);
  *length = remaining;
  return header >> 4;
}

static size_t put_string(unsigned char *out, const char *text) {
  size_t length = strlen(text);
  out[0] = (unsigned char)(length >> 8);
  out[1] = (unsigned char)length;
  memcpy(out + 2, text, length);
  return 2 + length;
}

/* CONNECT (3.1.1, clean session, keep-alive 0), then SUBSCRIBE to one topic at QoS 0. */
static int mqtt_session(int port, const char *client_id, const char *topic) {
  int fd = connect_to(port);
  unsigned char packet[256], body[256];
  size_t n = 2;
  n += put_string(packet + n, "MQTT");
  packet[n++] = 4;    /* protocol level 3.1.1 */
  packet[n++] = 0x02; /* clean session */
  packet[n++] = 0;
  packet[n++] = 0; /* keep-alive off */
  n += put_string(packet + n, client_id);
  packet[0] = 0x10;
  packet[1] = (unsigned char)(n - 2);
  write_all(fd, packet, n);
  size_t length;
  if (read_packet(fd, body, sizeof body, &length) != 2 || body[1] != 0) {
    fprintf(stderr, "CONNECT refused\n");
    exit(1);
  }
  n = 2;
  packet[n++] = 0;
  packet[n++] = 1; /* message id */
  n += put_string(packet + n, topic);
  packet[n++] = 0; /* QoS 0 */
  packet[0] = 0x82;
  packet[1] = (unsigned char)(n - 2);
  write_all(fd, packet, n);
  if (read_packet(fd, body, sizeof body, &length) != 9) {
    fprintf(stderr, "no SUBACK\n");
    exit(1);
  }
  return fd;
}

/* A QoS 0 PUBLISH of payload on topic, in one write. */
static void publish(int fd, const char *topic, const unsigned char *payload, size_t payload_length) {
  unsigned char packet[512];
  size_t topic_length = strlen(topic);
  size_t remaining = 2 + topic_length + payload_length;
  if (remaining > 127) {
    fprintf(stderr, "payload too big\n");
    exit(1);
  }
  packet[0] = 0x30;
  packet[1] = (unsigned char)remaining;
  size_t n = 2 + put_string(packet + 2, topic);
  memcpy(packet + n, payload, payload_length);
  write_all(fd, packet, n + payload_length);
}

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* Sleeps until start + index * interval (absolute, so the schedule does not drift). */
static void sleep_until(struct timespec start, long index, long interval_ms) {
  long long ns = (long long)start.tv_sec * 1000000000LL + start.tv_nsec + (long long)index * interval_ms * 1000000LL;
  struct timespec due = {.tv_sec = ns / 1000000000LL, .tv_nsec = ns % 1000000000LL};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL) == EINTR) {
  }
}

static void mqtt_echo(int port) {
  int fd = mqtt_session(port, "minimal-echo", "/ping");
  printf("ready\n");
  fflush(stdout);
  unsigned char body[512];
  for (;;) {
    size_t length;
    if (read_packet(fd, body, sizeof body, &length) != 3) continue;
    size_t topic_length = ((size_t)body[0] << 8) | body[1];
    publish(fd, "/pong", body + 2 + topic_length, length - 2 - topic_length);
  }
}

static void mqtt_ping(int port, long count, long interval_ms) {
  int fd = mqtt_session(port, "minimal-ping", "/pong");
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  unsigned char body[512];
  for (long seq = 0; seq < count; seq++) {
    sleep_until(start, seq, interval_ms);
    char payload[32];
    int payload_length = snprintf(payload, sizeof payload, "%ld", seq);
    double sent = now_us();
    publish(fd, "/ping", (unsigned char *)payload, (size_t)payload_length);
    for (;;) {
      size_t length;
      if (read_packet(fd, body, sizeof body, &length) != 3) continue;
      size_t topic_length = ((size_t)body[0] << 8) | body[1];
      if (length - 2 - topic_length == (size_t)payload_length && memcmp(body + 2 + topic_length, payload, (size_t)payload_length) == 0) break;
    }
    printf("%.1f\n", now_us() - sent);
    fflush(stdout);
  }
}

static void tcp_echo(int port) {
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind");
  if (listen(listener, 16) < 0) die("listen");
  printf("ready\n");
  fflush(stdout);
  for (;;) {
    int fd = accept(listener, NULL, NULL);
    if (fd < 0) continue;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    unsigned char bytes[4096];
    ssize_t n;
    while ((n = read(fd, bytes, sizeof bytes)) > 0) write_all(fd, bytes, (size_t)n);
    close(fd);
  }
}

static void tcp_ping(int port, long count, long interval_ms) {
  int fd = connect_to(port);
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  /* Starts with 0x30 (a PUBLISH's first byte) so the MQTT-aware floor server echoes it too. */
  unsigned char probe[16] = "0123456789abcdef", back[16];
  for (long seq = 0; seq < count; seq++) {
    sleep_until(start, seq, interval_ms);
    double sent = now_us();
    write_all(fd, probe, sizeof probe);
    read_all(fd, back, sizeof back);
    printf("%.1f\n", now_us() - sent);
    fflush(stdout);
  }
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "mqtt-echo") == 0) mqtt_echo(atoi(argv[2]));
  else if (argc == 3 && strcmp(argv[1], "tcp-echo") == 0) tcp_echo(atoi(argv[2]));
  else if (argc == 5 && strcmp(argv[1], "mqtt-ping") == 0) mqtt_ping(atoi(argv[2]), atol(argv[3]), atol(argv[4]));
  else if (argc == 5 && strcmp(argv[1], "tcp-ping") == 0) tcp_ping(atoi(argv[2]), atol(argv[3]), atol(argv[4]));
  else {
    fprintf(stderr, "usage: minimal-pair mqtt-echo|tcp-echo PORT | mqtt-ping|tcp-ping PORT COUNT INTERVAL_MS\n");
    return 2;
  }
  return 0;
}

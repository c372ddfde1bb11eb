/* The floor: the least a hub can do on this machine, for hub_bench.py to measure.
 *
 * A single-threaded epoll relay in C that speaks the hub's wire format (join notice,
 * "('127.0.0.1', PORT) : " + the bytes read, leave notice) with TCP_NODELAY, one send()
 * per recipient and nothing else: no buffering for slow readers, no UTF-8 handling, no
 * room cap, no logging beyond the "listening on" line the benchmark waits for. It is not a
 * server for a class (a client that stops reading blocks it); it answers one question:
 * what latency does a relay to 99 clients have on this machine when the relay itself costs
 * next to nothing?  If the floor misses a latency target too, the machine misses it.
 *
 *     cc -O2 -o /tmp/relay_floor benchmarks/relay_floor.c
 *     python benchmarks/hub_bench.py --rate 10 --no-ncat --hub-program /tmp/relay_floor
 *
 * Arguments: the benchmark passes --host H --port P --quiet --max-clients N; only --port is
 * read (0 picks a free one); it always listens on 127.0.0.1. Linux only (epoll).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_FDS 65536
#define READ_SIZE (256 * 1024)
#define PREFIX_MAX 64

static int online[MAX_FDS];
static int ports[MAX_FDS];
static int order[MAX_FDS];   /* fds in join order */
static int count;
static char buffer[PREFIX_MAX + READ_SIZE];
static volatile sig_atomic_t stopping;

static void on_signal(int sig) { (void)sig; stopping = 1; }

static void send_all(int fd, const char *data, size_t size) {
    while (size > 0) {
        ssize_t sent = send(fd, data, size, MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno == EINTR) continue;
            return;  /* the reader is gone; its EOF will come through epoll */
        }
        data += sent;
        size -= (size_t)sent;
    }
}

static void to_others(int from, const char *data, size_t size) {
    for (int i = 0; i < count; i++)
        if (order[i] != from) send_all(order[i], data, size);
}

static void leave(int epoll, int fd) {
    char notice[PREFIX_MAX];
    epoll_ctl(epoll, EPOLL_CTL_DEL, fd, NULL);
    close(fd);
    online[fd] = 0;
    for (int i = 0; i < count; i++)
        if (order[i] == fd) { memmove(order + i, order + i + 1, sizeof(int) * (count - i - 1)); count--; break; }
    int n = snprintf(notice, sizeof notice, "('127.0.0.1', %d)\xe5\xb7\xb2\xe7\xbb\x8f\xe7\xa6\xbb\xe5\xbc\x80\xe4\xba\x86", ports[fd]);
    to_others(-1, notice, (size_t)n);
}

int main(int argc, char **argv) {
    int port = 0;
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--port") == 0) port = atoi(argv[i + 1]);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in address = {0};
    address.sin_family = AF_INET;
    address.sin_port = htons((unsigned short)port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listener, (struct sockaddr *)&address, sizeof address) < 0 || listen(listener, 4096) < 0) {
        perror("relay_floor: bind/listen");
        return 1;
    }
    socklen_t length = sizeof address;
    getsockname(listener, (struct sockaddr *)&address, &length);
    fprintf(stderr, "relay_floor listening on 127.0.0.1:%d\n", ntohs(address.sin_port));
    fflush(stderr);
    int epoll = epoll_create1(0);
    struct epoll_event event = {.events = EPOLLIN, .data.fd = listener};
    epoll_ctl(epoll, EPOLL_CTL_ADD, listener, &event);
    struct epoll_event ready[256];
    while (!stopping) {
        int n = epoll_wait(epoll, ready, 256, 1000);
        for (int k = 0; k < n; k++) {
            int fd = ready[k].data.fd;
            if (fd == listener) {
                struct sockaddr_in peer;
                socklen_t peer_length = sizeof peer;
                int client = accept(listener, (struct sockaddr *)&peer, &peer_length);
                if (client < 0 || client >= MAX_FDS) { if (client >= 0) close(client); continue; }
                setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                ports[client] = ntohs(peer.sin_port);
                char notice[PREFIX_MAX];
                int size = snprintf(notice, sizeof notice, "('127.0.0.1', %d)\xe5\x8a\xa0\xe5\x85\xa5\xe4\xba\x86\xe8\x81\x8a\xe5\xa4\xa9\xe5\xae\xa4", ports[client]);
                to_others(-1, notice, (size_t)size);
                online[client] = 1;
                order[count++] = client;
                struct epoll_event add = {.events = EPOLLIN, .data.fd = client};
                epoll_ctl(epoll, EPOLL_CTL_ADD, client, &add);
                continue;
            }
            if (!online[fd]) continue;
            int prefix = snprintf(buffer, PREFIX_MAX, "('127.0.0.1', %d) : ", ports[fd]);
            ssize_t got = recv(fd, buffer + prefix, READ_SIZE, 0);
            if (got < 0 && errno == EINTR) continue;
            if (got <= 0) { leave(epoll, fd); continue; }
            to_others(fd, buffer, (size_t)prefix + (size_t)got);
        }
    }
    fprintf(stderr, "relay_floor stopped\n");
    return 0;
}

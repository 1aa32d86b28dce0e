/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

/*
 * MPI check of tcp_zc, every payload verified; exits non-zero on any
 * mismatch. Modes (first argument):
 *
 *   check    ping-pong between ranks 0 and 1 from 1 B to 64 MiB (latency and
 *            bandwidth printed), an allreduce of a vector, an alltoall, and a
 *            large non-blocking exchange between all ranks
 *   threads  MPI_THREAD_MULTIPLE: two threads per rank, each exchanging
 *            messages of 1 B .. 4 MiB with the same thread of the peer rank
 *            at the same time (2 ranks)
 *   bench    <repeats> [max size]: latency of 8 B (ping-pong, half the round
 *            trip) and streaming bandwidth by size (a window of non-blocking
 *            sends, then an acknowledgement), between ranks 0 and 1; one line
 *            per repeat: "bench lat 8 <usec>", "bench bw <size> <MB/s>"
 */

#include <mpi.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#define MAX_SIZE      (64ul << 20)
#define EXCH_SIZE     (8ul << 20)
#define A2A_SIZE      (1ul << 20)
#define RED_COUNT     (1ul << 18)
#define THREAD_MAX    (4ul << 20)
#define NUM_THREADS   2
#define BENCH_WINDOW  32


static unsigned char pattern(size_t i, int seed)
{
    return (unsigned char)(i * 7 + (i >> 13) + seed * 31 + 1);
}

static void fill(unsigned char *buf, size_t len, int seed)
{
    size_t i;

    for (i = 0; i < len; ++i) {
        buf[i] = pattern(i, seed);
    }
}

static int check(const unsigned char *buf, size_t len, int seed,
                 const char *what, size_t size)
{
    size_t i;

    for (i = 0; i < len; ++i) {
        if (buf[i] != pattern(i, seed)) {
            fprintf(stderr, "%s %zu bytes: mismatch at byte %zu of %zu\n",
                    what, size, i, len);
            return 1;
        }
    }
    return 0;
}

static void *xmalloc(size_t size)
{
    void *ptr = malloc(size ? size : 1);

    if (ptr == NULL) {
        fprintf(stderr, "out of memory (%zu bytes)\n", size);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    return ptr;
}

/* MPI_Waitall with statuses (MPICH's MPI_STATUSES_IGNORE trips gcc's
 * -Wstringop-overflow) */
static void waitall(int count, MPI_Request *reqs)
{
    MPI_Status statuses[2 * BENCH_WINDOW];

    if (count > 2 * BENCH_WINDOW) {
        MPI_Abort(MPI_COMM_WORLD, 4);
    }
    MPI_Waitall(count, reqs, statuses);
}

/* One verified round trip of size bytes, then a timed ping-pong; returns
 * usec one way (ranks 0 and 1; other ranks return 0) */
static double pingpong(unsigned char *buf, size_t size, int iters, int rank,
                       int *errors)
{
    double start;
    int i;

    if (rank > 1) {
        return 0;
    }

    if (rank == 0) {
        fill(buf, size, (int)size);
        MPI_Send(buf, size, MPI_BYTE, 1, 1, MPI_COMM_WORLD);
        memset(buf, 0, size);
        MPI_Recv(buf, size, MPI_BYTE, 1, 2, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);
        *errors += check(buf, size, (int)size + 1, "ping-pong back", size);
    } else {
        memset(buf, 0, size);
        MPI_Recv(buf, size, MPI_BYTE, 0, 1, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);
        *errors += check(buf, size, (int)size, "ping-pong", size);
        fill(buf, size, (int)size + 1);
        MPI_Send(buf, size, MPI_BYTE, 0, 2, MPI_COMM_WORLD);
    }

    start = MPI_Wtime();
    for (i = 0; i < iters; ++i) {
        if (rank == 0) {
            MPI_Send(buf, size, MPI_BYTE, 1, 3, MPI_COMM_WORLD);
            MPI_Recv(buf, size, MPI_BYTE, 1, 4, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
        } else {
            MPI_Recv(buf, size, MPI_BYTE, 0, 3, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
            MPI_Send(buf, size, MPI_BYTE, 0, 4, MPI_COMM_WORLD);
        }
    }

    return (MPI_Wtime() - start) * 1e6 / (2.0 * iters);
}

/* The payload bytes this rank received from other ranks, at least: the test
 * compares them with what its host's network device received */
static void report_received(int rank, size_t bytes)
{
    char host[256] = "?";

    gethostname(host, sizeof(host) - 1);
    printf("rank %d on %s received %zu payload bytes from other ranks\n",
           rank, host, bytes);
    fflush(stdout);
}

/* A barrier which the ranks poll with sleeps in between: ranks which wait
 * for others leave the CPU to them (the machine may have fewer cores than
 * ranks) */
static void idle_barrier(void)
{
    MPI_Request req;
    MPI_Status status;
    int done = 0;

    MPI_Ibarrier(MPI_COMM_WORLD, &req);
    for (;;) {
        MPI_Test(&req, &done, &status);
        if (done) {
            break;
        }
        usleep(1000);
    }
}

static int check_mode(int rank, int nranks)
{
    unsigned char *buf, *sendbuf, *recvbuf;
    long long *vec;
    MPI_Request *reqs;
    int errors = 0, total_errors, peer, iters;
    long long expected;
    double usec;
    size_t size, i, received = 0;

    /* latency and bandwidth between ranks 0 and 1, 1 B .. 64 MiB */
    buf = xmalloc(MAX_SIZE);
    for (size = 1; size <= MAX_SIZE; size *= 4) {
        iters = (size >= (1ul << 20)) ? 4 : (size >= 65536) ? 50 : 500;
        usec  = pingpong(buf, size, iters, rank, &errors);
        if (rank < 2) {
            received += size * (iters + 1);
        }
        if (rank == 0) {
            printf("pingpong %9zu bytes: %10.2f usec %10.1f MB/s\n", size,
                   usec, size / usec);
        }
    }
    free(buf);
    idle_barrier();

    /* allreduce of a vector: element i of rank r is r * i + 1 */
    vec = xmalloc(RED_COUNT * sizeof(*vec));
    for (i = 0; i < RED_COUNT; ++i) {
        vec[i] = (long long)rank * i + 1;
    }
    MPI_Allreduce(MPI_IN_PLACE, vec, RED_COUNT, MPI_LONG_LONG, MPI_SUM,
                  MPI_COMM_WORLD);
    for (i = 0; i < RED_COUNT; ++i) {
        expected = (long long)i * nranks * (nranks - 1) / 2 + nranks;
        if (vec[i] != expected) {
            fprintf(stderr, "allreduce: element %zu is %lld, expected %lld\n",
                    i, vec[i], expected);
            ++errors;
            break;
        }
    }
    free(vec);

    /* alltoall: A2A_SIZE bytes from every rank to every rank */
    sendbuf = xmalloc(A2A_SIZE * nranks);
    recvbuf = xmalloc(A2A_SIZE * nranks);
    for (peer = 0; peer < nranks; ++peer) {
        fill(sendbuf + peer * A2A_SIZE, A2A_SIZE, 1000 + rank * nranks + peer);
    }
    memset(recvbuf, 0, A2A_SIZE * nranks);
    MPI_Alltoall(sendbuf, A2A_SIZE, MPI_BYTE, recvbuf, A2A_SIZE, MPI_BYTE,
                 MPI_COMM_WORLD);
    for (peer = 0; peer < nranks; ++peer) {
        errors += check(recvbuf + peer * A2A_SIZE, A2A_SIZE,
                        1000 + peer * nranks + rank, "alltoall", A2A_SIZE);
    }
    received += A2A_SIZE * (nranks - 1);
    free(recvbuf);
    free(sendbuf);

    /* every rank exchanges EXCH_SIZE bytes with every other one at once */
    sendbuf = xmalloc(EXCH_SIZE * nranks);
    recvbuf = xmalloc(EXCH_SIZE * nranks);
    reqs    = xmalloc(sizeof(*reqs) * 2 * nranks);
    memset(recvbuf, 0, EXCH_SIZE * nranks);
    for (peer = 0; peer < nranks; ++peer) {
        fill(sendbuf + peer * EXCH_SIZE, EXCH_SIZE, rank * nranks + peer);
        MPI_Irecv(recvbuf + peer * EXCH_SIZE, EXCH_SIZE, MPI_BYTE, peer, 5,
                  MPI_COMM_WORLD, &reqs[2 * peer]);
        MPI_Isend(sendbuf + peer * EXCH_SIZE, EXCH_SIZE, MPI_BYTE, peer, 5,
                  MPI_COMM_WORLD, &reqs[2 * peer + 1]);
    }
    waitall(2 * nranks, reqs);
    for (peer = 0; peer < nranks; ++peer) {
        errors += check(recvbuf + peer * EXCH_SIZE, EXCH_SIZE,
                        peer * nranks + rank, "exchange", EXCH_SIZE);
    }
    received += EXCH_SIZE * (nranks - 1);
    report_received(rank, received);
    free(reqs);
    free(recvbuf);
    free(sendbuf);

    MPI_Allreduce(&errors, &total_errors, 1, MPI_INT, MPI_SUM,
                  MPI_COMM_WORLD);
    if (rank == 0) {
        printf("%d ranks: ping-pong 1 B..64 MiB, allreduce %zu x 8 B, "
               "alltoall %d x %zu MiB, non-blocking %d x %zu MiB exchange: "
               "%s\n", nranks, RED_COUNT, nranks, A2A_SIZE >> 20, nranks,
               EXCH_SIZE >> 20, total_errors ? "FAILED" : "verified");
    }
    return total_errors;
}

typedef struct {
    int      rank;
    int      index;
    MPI_Comm comm;
    int      errors;
    size_t   bytes;
} thread_arg_t;

/* Exchange messages of every size with the same thread of the peer rank */
static void *thread_exchange(void *p)
{
    thread_arg_t *arg = p;
    int peer          = 1 - arg->rank;
    unsigned char *sbuf, *rbuf;
    MPI_Request reqs[2];
    size_t size;
    int round, seed;

    sbuf = xmalloc(THREAD_MAX);
    rbuf = xmalloc(THREAD_MAX);
    for (round = 0; round < 3; ++round) {
        for (size = 1; size <= THREAD_MAX; size *= 4) {
            seed = arg->index * 100 + round * 10;
            fill(sbuf, size, seed + arg->rank);
            memset(rbuf, 0, size);
            MPI_Irecv(rbuf, size, MPI_BYTE, peer, arg->index, arg->comm,
                      &reqs[0]);
            MPI_Isend(sbuf, size, MPI_BYTE, peer, arg->index, arg->comm,
                      &reqs[1]);
            waitall(2, reqs);
            arg->errors += check(rbuf, size, seed + peer, "thread exchange",
                                 size);
            arg->bytes  += size;
        }
    }
    free(rbuf);
    free(sbuf);
    return NULL;
}

static int threads_mode(int rank, int nranks, int provided)
{
    thread_arg_t args[NUM_THREADS];
    pthread_t threads[NUM_THREADS];
    int errors = 0, total_errors, i;
    size_t bytes = 0;

    if (provided != MPI_THREAD_MULTIPLE) {
        if (rank == 0) {
            printf("threads: MPI_THREAD_MULTIPLE not provided (%d)\n",
                   provided);
        }
        return 1;
    }
    if (nranks != 2) {
        if (rank == 0) {
            printf("threads: needs 2 ranks, not %d\n", nranks);
        }
        return 1;
    }

    /* each thread on its own communicator, and also its own tag */
    for (i = 0; i < NUM_THREADS; ++i) {
        args[i].rank   = rank;
        args[i].index  = i;
        args[i].errors = 0;
        args[i].bytes  = 0;
        MPI_Comm_dup(MPI_COMM_WORLD, &args[i].comm);
    }
    for (i = 0; i < NUM_THREADS; ++i) {
        if (pthread_create(&threads[i], NULL, thread_exchange, &args[i])) {
            MPI_Abort(MPI_COMM_WORLD, 3);
        }
    }
    for (i = 0; i < NUM_THREADS; ++i) {
        pthread_join(threads[i], NULL);
        errors += args[i].errors;
        bytes  += args[i].bytes;
        MPI_Comm_free(&args[i].comm);
    }
    report_received(rank, bytes);

    MPI_Allreduce(&errors, &total_errors, 1, MPI_INT, MPI_SUM,
                  MPI_COMM_WORLD);
    if (rank == 0) {
        printf("MPI_THREAD_MULTIPLE: %d threads per rank, %zu bytes each "
               "way per rank, concurrent exchange: %s\n", NUM_THREADS, bytes,
               total_errors ? "FAILED" : "verified");
    }
    return total_errors;
}

static int bench_mode(int rank, int repeats, size_t max_size)
{
    MPI_Request reqs[BENCH_WINDOW];
    unsigned char *buf, ack = 0;
    double start, usec;
    int rep, i, j, iters, window, errors = 0;
    size_t size, buf_size = 0;

    for (size = 4096; size <= max_size; size *= 4) {
        window   = (size >= (4ul << 20)) ? 4 : BENCH_WINDOW;
        buf_size = (size * window > buf_size) ? size * window : buf_size;
    }
    buf = xmalloc(buf_size);
    memset(buf, 1, buf_size);
    for (rep = 0; rep < repeats; ++rep) {
        MPI_Barrier(MPI_COMM_WORLD);
        usec = pingpong(buf, 8, 2000, rank, &errors);
        if (rank == 0) {
            printf("bench lat 8 %.3f\n", usec);
        }

        for (size = 4096; size <= max_size; size *= 4) {
            window = (size >= (4ul << 20)) ? 4 : BENCH_WINDOW;
            iters  = (size >= (1ul << 20)) ? 5 : 20;
            MPI_Barrier(MPI_COMM_WORLD);
            start = MPI_Wtime();
            for (i = 0; (i < iters + 1) && (rank < 2); ++i) {
                if (i == 1) {
                    start = MPI_Wtime(); /* first window is warm-up */
                }
                for (j = 0; j < window; ++j) {
                    if (rank == 0) {
                        MPI_Isend(buf + j * size, size, MPI_BYTE, 1, 6,
                                  MPI_COMM_WORLD, &reqs[j]);
                    } else {
                        MPI_Irecv(buf + j * size, size, MPI_BYTE, 0, 6,
                                  MPI_COMM_WORLD, &reqs[j]);
                    }
                }
                waitall(window, reqs);
                if (rank == 0) {
                    MPI_Recv(&ack, 1, MPI_BYTE, 1, 7, MPI_COMM_WORLD,
                             MPI_STATUS_IGNORE);
                } else {
                    MPI_Send(&ack, 1, MPI_BYTE, 0, 7, MPI_COMM_WORLD);
                }
            }
            if (rank == 0) {
                printf("bench bw %zu %.1f\n", size,
                       (double)size * window * iters /
                       ((MPI_Wtime() - start) * 1e6));
            }
        }
        fflush(stdout);
    }
    free(buf);
    return errors;
}

int main(int argc, char **argv)
{
    const char *mode = (argc > 1) ? argv[1] : "check";
    int rank, nranks, provided, errors;

    if (!strcmp(mode, "threads")) {
        MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
    } else {
        MPI_Init(&argc, &argv);
        provided = MPI_THREAD_SINGLE;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);

    if (!strcmp(mode, "check")) {
        errors = check_mode(rank, nranks);
    } else if (!strcmp(mode, "threads")) {
        errors = threads_mode(rank, nranks, provided);
    } else if (!strcmp(mode, "bench") && (argc > 2)) {
        errors = bench_mode(rank, atoi(argv[2]),
                            (argc > 3) ? strtoul(argv[3], NULL, 0) :
                                         (16ul << 20));
    } else {
        if (rank == 0) {
            fprintf(stderr, "usage: %s [check|threads|bench <repeats> "
                    "[max size]]\n", argv[0]);
        }
        errors = 1;
    }

    MPI_Finalize();
    return errors ? 1 : 0;
}

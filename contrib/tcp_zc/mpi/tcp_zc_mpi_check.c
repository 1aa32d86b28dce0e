/**
 * Copyright (C) tcp_zc authors, 2026. ALL RIGHTS RESERVED.
 *
 * See file LICENSE for terms.
 */

/*
 * MPI check of tcp_zc: ping-pong latency and bandwidth between ranks 0 and 1
 * (8 B .. 64 MiB), an allreduce, and a large non-blocking exchange between
 * all ranks, every payload verified. Exits non-zero on any mismatch.
 */

#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define MAX_SIZE   (64ul << 20)
#define EXCH_SIZE  (8ul << 20)


static unsigned char pattern(size_t i, int seed)
{
    return (unsigned char)(i * 7 + (i >> 13) + seed * 31);
}

static void fill(unsigned char *buf, size_t len, int seed)
{
    size_t i;

    for (i = 0; i < len; ++i) {
        buf[i] = pattern(i, seed);
    }
}

static int check(const unsigned char *buf, size_t len, int seed,
                 const char *what)
{
    size_t i;

    for (i = 0; i < len; ++i) {
        if (buf[i] != pattern(i, seed)) {
            fprintf(stderr, "%s: mismatch at byte %zu of %zu\n", what, i, len);
            return 1;
        }
    }
    return 0;
}

/* Ping-pong of size bytes between ranks 0 and 1; returns usec one way */
static double pingpong(unsigned char *buf, size_t size, int iters, int rank,
                       int *errors)
{
    double start;
    int i;

    if (rank > 1) {
        return 0;
    }

    start = MPI_Wtime();
    for (i = 0; i < iters; ++i) {
        if (rank == 0) {
            fill(buf, (i == 0) ? size : 0, i);
            MPI_Send(buf, size, MPI_BYTE, 1, 1, MPI_COMM_WORLD);
            MPI_Recv(buf, size, MPI_BYTE, 1, 2, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
        } else {
            MPI_Recv(buf, size, MPI_BYTE, 0, 1, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
            if (i == 0) {
                *errors += check(buf, size, 0, "ping-pong");
            }
            MPI_Send(buf, size, MPI_BYTE, 0, 2, MPI_COMM_WORLD);
        }
    }

    return (MPI_Wtime() - start) * 1e6 / (2.0 * iters);
}

int main(int argc, char **argv)
{
    unsigned char *buf, *sendbuf, *recvbuf;
    MPI_Request *reqs;
    int rank, nranks, errors = 0, total_errors, peer;
    long long sum, expected;
    double usec;
    size_t size;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);

    buf = malloc(MAX_SIZE);
    if (buf == NULL) {
        MPI_Abort(MPI_COMM_WORLD, 2);
    }

    /* latency and bandwidth between ranks 0 and 1 */
    for (size = 8; size <= MAX_SIZE; size *= 8) {
        usec = pingpong(buf, size, (size >= (1ul << 20)) ? 10 : 1000, rank,
                        &errors);
        if (rank == 0) {
            printf("pingpong %9zu bytes: %10.2f usec %10.1f MB/s\n", size,
                   usec, size / usec);
        }
    }
    usec = pingpong(buf, MAX_SIZE, 4, rank, &errors);
    if (rank == 0) {
        printf("pingpong %9zu bytes: %10.2f usec %10.1f MB/s\n", MAX_SIZE,
               usec, MAX_SIZE / usec);
    }

    /* allreduce */
    sum      = rank + 1;
    expected = (long long)nranks * (nranks + 1) / 2;
    MPI_Allreduce(MPI_IN_PLACE, &sum, 1, MPI_LONG_LONG, MPI_SUM,
                  MPI_COMM_WORLD);
    if (sum != expected) {
        fprintf(stderr, "allreduce: %lld, expected %lld\n", sum, expected);
        ++errors;
    }

    /* every rank exchanges EXCH_SIZE bytes with every other one */
    sendbuf = malloc(EXCH_SIZE * nranks);
    recvbuf = malloc(EXCH_SIZE * nranks);
    reqs    = malloc(sizeof(*reqs) * 2 * nranks);
    if ((sendbuf == NULL) || (recvbuf == NULL) || (reqs == NULL)) {
        MPI_Abort(MPI_COMM_WORLD, 2);
    }

    for (peer = 0; peer < nranks; ++peer) {
        fill(sendbuf + peer * EXCH_SIZE, EXCH_SIZE, rank * nranks + peer);
        MPI_Irecv(recvbuf + peer * EXCH_SIZE, EXCH_SIZE, MPI_BYTE, peer, 3,
                  MPI_COMM_WORLD, &reqs[2 * peer]);
        MPI_Isend(sendbuf + peer * EXCH_SIZE, EXCH_SIZE, MPI_BYTE, peer, 3,
                  MPI_COMM_WORLD, &reqs[2 * peer + 1]);
    }
    MPI_Waitall(2 * nranks, reqs, MPI_STATUSES_IGNORE);
    for (peer = 0; peer < nranks; ++peer) {
        errors += check(recvbuf + peer * EXCH_SIZE, EXCH_SIZE,
                        peer * nranks + rank, "exchange");
    }

    MPI_Allreduce(&errors, &total_errors, 1, MPI_INT, MPI_SUM,
                  MPI_COMM_WORLD);
    if (rank == 0) {
        printf("allreduce and %d x %zu MiB exchange: %s\n", nranks,
               EXCH_SIZE >> 20, total_errors ? "FAILED" : "verified");
    }

    free(reqs);
    free(recvbuf);
    free(sendbuf);
    free(buf);
    MPI_Finalize();
    return total_errors ? 1 : 0;
}

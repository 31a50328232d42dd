/*
 * clientset.h: a worker's clients: a list to walk and a hash to find one
 * by id.  Owned by one worker thread; no locks.
 */
#ifndef CHATD_CLIENTSET_H
#define CHATD_CLIENTSET_H

#include <stddef.h>
#include <stdint.h>

struct client;

struct clientset {
    struct client  *first;      /* newest first; c->next links */
    size_t          n;
    struct client **byid;       /* c->hnext chains */
    size_t          cap;        /* power of two */
};

void clientset_init(struct clientset *set);
void clientset_free(struct clientset *set);
void clientset_add(struct clientset *set, struct client *c);
void clientset_remove(struct clientset *set, struct client *c);
struct client *clientset_find(const struct clientset *set, uint64_t id);

#endif

/* fp/idtable.h - a growable table of records kept by workload id.
 *
 * The tools follow many workloads at once, each known by its id: one
 * element per id, found again in constant time, appended on first sight,
 * walked in the order first seen. Elements are plain structs of one size;
 * they are zero-filled when added and may move when the table grows (a
 * pointer to one is good until the next fp_idtable_add or _keep).
 *
 * Ownership: the caller owns the fp_idtable (usually inside its own state)
 * and releases it with fp_idtable_clear; the table owns its storage and a
 * copy of each id. What an element points to stays the caller's to free
 * (walk the table before clearing it).
 */
#ifndef FP_IDTABLE_H
#define FP_IDTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fp_idtable {
    void *items;               /* n elements of `size` bytes, in order added */
    size_t n, cap, size;
    json_t *index;             /* id -> position (read-only for callers) */
} fp_idtable;

/* An empty table of elements of size bytes. -1 when out of memory. */
int fp_idtable_init(fp_idtable *t, size_t size);
/* Free the storage and the index; t is empty (and must be initialised again
 * before use). */
void fp_idtable_clear(fp_idtable *t);
/* The element of id, NULL when there is none. */
void *fp_idtable_find(const fp_idtable *t, const char *id);
/* The element of id: the one there is, or a new zero-filled one appended
 * (then *created, when not NULL, is true). NULL when out of memory (the
 * table is then as it was). */
void *fp_idtable_add(fp_idtable *t, const char *id, bool *created);
/* Element i (0 <= i < n). */
void *fp_idtable_at(const fp_idtable *t, size_t i);
/* Keep the elements i with keep[i] (keep holds n flags), in order; drop
 * the others and their ids. Returns how many were dropped, -1 when out of
 * memory (nothing dropped then). */
long fp_idtable_keep(fp_idtable *t, const bool *keep);

#ifdef __cplusplus
}
#endif

#endif

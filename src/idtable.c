/* idtable.c - a growable table of records kept by workload id (fp/idtable.h). */
#include <stdlib.h>
#include <string.h>
#include "fp/idtable.h"

int fp_idtable_init(fp_idtable *t, size_t size)
{
    memset(t, 0, sizeof *t);
    t->size = size;
    t->index = json_object();
    return t->index ? 0 : -1;
}

void fp_idtable_clear(fp_idtable *t)
{
    free(t->items);
    json_decref(t->index);
    memset(t, 0, sizeof *t);
}

void *fp_idtable_at(const fp_idtable *t, size_t i)
{
    return (char *)t->items + i * t->size;
}

void *fp_idtable_find(const fp_idtable *t, const char *id)
{
    json_t *ix = json_object_get(t->index, id);
    return ix ? fp_idtable_at(t, (size_t)json_integer_value(ix)) : NULL;
}

void *fp_idtable_add(fp_idtable *t, const char *id, bool *created)
{
    if (created) *created = false;
    void *e = fp_idtable_find(t, id);
    if (e) return e;
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 64;
        void *p = realloc(t->items, nc * t->size);
        if (!p) return NULL;
        t->items = p;
        t->cap = nc;
    }
    if (json_object_set_new(t->index, id, json_integer((json_int_t)t->n)) < 0) return NULL;
    e = fp_idtable_at(t, t->n++);
    memset(e, 0, t->size);
    if (created) *created = true;
    return e;
}

long fp_idtable_keep(fp_idtable *t, const bool *keep)
{
    size_t n = t->n, k = 0;
    size_t *to = malloc((n + 1) * sizeof *to);     /* old position -> new */
    if (!to) return -1;
    for (size_t i = 0; i < n; i++) {
        to[i] = k;
        if (!keep[i]) continue;
        if (k != i) memmove(fp_idtable_at(t, k), fp_idtable_at(t, i), t->size);
        k++;
    }
    const char *key;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(t->index, tmp, key, v) {
        size_t i = (size_t)json_integer_value(v);
        if (!keep[i]) json_object_del(t->index, key);
        else json_integer_set(v, (json_int_t)to[i]);
    }
    free(to);
    t->n = k;
    return (long)(n - k);
}

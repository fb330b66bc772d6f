/* test-idtable: fp/idtable.h, records kept by workload id. */
#include <stdio.h>
#include <string.h>
#include "fp/idtable.h"
#include "tap.h"

typedef struct { char name[16]; double v; } elem;

int main(void)
{
    fp_idtable t;
    ok(fp_idtable_init(&t, sizeof(elem)) == 0 && t.n == 0, "an empty table");
    ok(fp_idtable_find(&t, "a") == NULL, "nothing found in it");
    bool created = false;
    char id[32];
    /* 1000 ids: past several growths; each zero-filled when new */
    int fresh = 0, zero = 0;
    for (int i = 0; i < 1000; i++) {
        snprintf(id, sizeof id, "job-%d", i);
        elem *e = fp_idtable_add(&t, id, &created);
        fresh += created;
        zero += e && e->v == 0 && e->name[0] == 0;
        if (e) { snprintf(e->name, sizeof e->name, "%s", id); e->v = i; }
    }
    is_int(fresh, 1000, "1000 new ids: 1000 created");
    is_int(zero, 1000, "each zero-filled");
    is_int((long long)t.n, 1000, "n = 1000");
    elem *e = fp_idtable_add(&t, "job-7", &created);
    ok(e && !created && e->v == 7 && t.n == 1000, "an id seen again: its element, nothing added");
    e = fp_idtable_find(&t, "job-999");
    ok(e && e->v == 999 && e == fp_idtable_at(&t, 999), "find and at agree, in the order added");
    /* keep the even ones */
    bool keep[1000];
    for (int i = 0; i < 1000; i++) keep[i] = i % 2 == 0;
    is_int(fp_idtable_keep(&t, keep), 500, "keep: 500 dropped");
    is_int((long long)t.n, 500, "500 left");
    int right = 0;
    for (int i = 0; i < 1000; i++) {
        snprintf(id, sizeof id, "job-%d", i);
        e = fp_idtable_find(&t, id);
        right += i % 2 ? e == NULL : e && e->v == i && e == fp_idtable_at(&t, (size_t)i / 2);
    }
    is_int(right, 1000, "dropped ids gone, kept ones found at their new places, in order");
    e = fp_idtable_add(&t, "job-1", &created);
    ok(e && created && e->v == 0 && t.n == 501 && e == fp_idtable_at(&t, 500),
       "a dropped id added again starts afresh at the end");
    fp_idtable_clear(&t);
    ok(t.n == 0 && t.items == NULL && t.index == NULL, "clear frees everything");
    return done_testing();
}

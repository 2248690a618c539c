/* test_plan.c: the memory plan's copy-free placements (compiler/plan.h) on small graphs built
 * by hand, where each decision has one right answer:
 *   - an update is computed into its leaf's storage when every read of the old value comes
 *     first (or is the update's own loop), and copied out at the end when a later node reads it;
 *   - a slice of whole rows and a reshape are views (no buffer), a slice that cuts columns is
 *     not; a view's storage lives until the view's last reader;
 *   - an axis-0 concat's input that nothing else reads is computed into its rows, one read
 *     elsewhere is copied;
 *   - a broadcast of one value is fused into every loop that reads it; the value's buffer lives
 *     until the last of them, and an update of a one-value leaf read that way waits for it;
 *   - for every graph, no two buffers live at the same time overlap in the arena (the
 *     invariant the placements must keep), checked over the plan's own live ranges.
 * Whether the native code computes the same values is tests/native.sh's and tests/merge.sh's. */
#include "plan.h"
#include "check.h"

#include <string.h>

static Shape shape2(int rows, int cols) { return (Shape){2, {rows, cols}}; }
static LeafInit zeros(void) { return (LeafInit){.kind = INIT_ZEROS}; }

/* The storage a node's values live in, as (owner with an arena buffer, byte offset in it). */
static int owner_of(const GraphPlan *p, int id, long *offset) {
    *offset = 0;
    while (p->nodes[id].home >= 0) *offset += p->nodes[id].offset, id = p->nodes[id].home;
    return id;
}

static int has_arena_buffer(const NodePlan *np) {
    return (np->kind == PLAN_LOOP || np->kind == PLAN_CALL) && np->home < 0 && np->output < 0;
}

/* When an owner's buffer is first written: itself, or the first node computed into it. */
static int first_write(const GraphPlan *p, int owner) {
    for (int id = 0; id < owner; id++) {
        long offset;
        if (p->nodes[id].kind != PLAN_VIEW && p->nodes[id].home >= 0 && owner_of(p, id, &offset) == owner) return id;
    }
    return owner;
}

/* No two arena buffers whose live ranges [first write, last use] meet share a byte. */
static int no_overlaps(const GraphPlan *p, char *why, size_t n) {
    const IrGraph *g = p->g;
    for (int a = 0; a < g->nnodes; a++)
        for (int b = a + 1; b < g->nnodes; b++) {
            const NodePlan *x = &p->nodes[a], *y = &p->nodes[b];
            if (!has_arena_buffer(x) || !has_arena_buffer(y)) continue;
            int x0 = first_write(p, a), y0 = first_write(p, b);
            int meet = x0 <= y->last_use && y0 <= x->last_use;
            int share = x->offset < y->offset + y->bytes && y->offset < x->offset + x->bytes;
            if (meet && share) {
                snprintf(why, n, "%%%d [%d, %d] @%ld+%ld and %%%d [%d, %d] @%ld+%ld", a, x0, x->last_use, x->offset,
                         x->bytes, b, y0, y->last_use, y->offset, y->bytes);
                return 0;
            }
        }
    return 1;
}

static void check_layout(const GraphPlan *p, const char *name) {
    char why[256] = "";
    char full[128];
    snprintf(full, sizeof full, "%s: no two live buffers overlap", name);
    check(no_overlaps(p, why, sizeof why), full, "%s", why);
}

/* w' = w - 0.1 * g, g = w * x: w's old value is read by g (before) and by w' itself (its own
 * loop): w' goes straight into w's storage. With a read of w after w' (late = w + 1, a value
 * output), it must not. */
static void test_updates(void) {
    for (int late = 0; late < 2; late++) {
        Arena arena = {0};
        IrGraph *g = ir_new_graph(&arena, "step", DT_F64);
        int w = ir_param(g, "w", shape2(4, 3), zeros());
        int x = ir_input(g, "x", shape2(4, 3), zeros());
        int grad = ir_matmul(g, ir_mul(g, w, x), ir_const(g, 1, shape2(3, 3)), 0, 0);
        int next = ir_sub(g, w, ir_mul(g, ir_const_like(g, 0.1, grad), grad));
        ir_add_output(g, OUT_UPDATE, "w", next);
        if (late) ir_add_output(g, OUT_VALUE, "late", ir_sum(g, ir_add(g, w, ir_const_like(g, 1, w)), 3));
        GraphPlan *p = plan_graph(g);
        if (!late)
            check(p->nodes[next].output == 0 && p->ncopies == 0, "update: computed in its leaf's storage when no later node reads the old value",
                  "output %d, %d copied", p->nodes[next].output, p->ncopies);
        else
            check(p->nodes[next].output < 0 && p->ncopies == 1, "update: copied out at the end when a later node reads the old value",
                  "output %d, %d copied", p->nodes[next].output, p->ncopies);
        check_layout(p, late ? "update read late" : "update");
        arena_free(&arena);
    }
}

/* a = x * 2 [6, 4]; rows = a[2:5, :] (a view at 2 rows), cols = a[:, 1:3] (a copy), r = reshape
 * of a (a view); each read by a loop after a second buffer is made, so a's buffer must outlive
 * the views' readers. */
static void test_views(void) {
    Arena arena = {0};
    IrGraph *g = ir_new_graph(&arena, "views", DT_F32);
    int x = ir_input(g, "x", shape2(6, 4), zeros());
    int a = ir_mul(g, x, ir_const_like(g, 2, x));
    int rows = ir_slice(g, a, (int[]){2, 0}, shape2(3, 4));
    int cols = ir_slice(g, a, (int[]){0, 1}, shape2(6, 2));
    int r = ir_reshape(g, a, shape2(4, 6));
    int other = ir_unary(g, OP_EXP, ir_matmul(g, x, ir_const(g, 1, shape2(4, 4)), 0, 0)); /* a buffer between */
    int use_rows = ir_unary(g, OP_EXP, rows);
    int use_r = ir_unary(g, OP_EXP, r);
    ir_add_output(g, OUT_VALUE, "rows", ir_sum(g, use_rows, 3));
    ir_add_output(g, OUT_VALUE, "cols", ir_sum(g, ir_unary(g, OP_EXP, cols), 3));
    ir_add_output(g, OUT_VALUE, "r", ir_sum(g, use_r, 3));
    ir_add_output(g, OUT_VALUE, "other", ir_sum(g, other, 3));
    GraphPlan *p = plan_graph(g);
    const NodePlan *v = &p->nodes[rows];
    check(v->kind == PLAN_VIEW && v->home == a && v->offset == 2 * 4 * 4, "view: a slice of whole rows reads its input at the rows' offset",
          "kind %d home %d offset %ld", v->kind, v->home, v->offset);
    check(p->nodes[cols].kind == PLAN_CALL, "view: a slice that cuts columns is copied", "kind %d", p->nodes[cols].kind);
    check(p->nodes[r].kind == PLAN_VIEW && p->nodes[r].home == a, "view: a reshape reads its input as it is", "kind %d", p->nodes[r].kind);
    int reader = p->nodes[use_r].kind == PLAN_FUSED ? p->nodes[use_r].root : use_r;
    check(p->nodes[a].last_use >= reader, "view: the storage lives until the views' last reader",
          "%%%d live to %%%d, a view read at %%%d", a, p->nodes[a].last_use, reader);
    check(p->nviews == 2, "view: counted", "%d views", p->nviews);
    check_layout(p, "views");
    arena_free(&arena);
}

/* c = concat(a, b) on axis 0 with a read by c alone (computed into c's rows) and b read also by
 * a sum (copied into them); then the same on axis 1 (no rows to compute into). */
static void test_concats(void) {
    for (int axis = 0; axis < 2; axis++) {
        Arena arena = {0};
        IrGraph *g = ir_new_graph(&arena, "concat", DT_F32);
        int x = ir_input(g, "x", shape2(4, 3), zeros());
        int y = ir_input(g, "y", shape2(4, 3), zeros());
        int a = ir_unary(g, OP_EXP, ir_matmul(g, x, ir_const(g, 1, shape2(3, 3)), 0, 0));
        int b = ir_mul(g, y, ir_const_like(g, 3, y));
        int c = ir_concat(g, a, b, axis);
        ir_add_output(g, OUT_VALUE, "c", ir_sum(g, ir_unary(g, OP_EXP, c), 3));
        ir_add_output(g, OUT_VALUE, "b", ir_sum(g, b, 3));
        GraphPlan *p = plan_graph(g);
        if (axis == 0) {
            check(p->nodes[a].home == c && p->nodes[a].offset == 0 && p->nodes[b].home < 0 && p->nplaced == 1,
                  "concat: an input read by the concat alone is computed into its rows, another is copied",
                  "a home %d offset %ld, b home %d", p->nodes[a].home, p->nodes[a].offset, p->nodes[b].home);
        } else {
            check(p->nplaced == 0, "concat: not along axis 0, nothing is computed into it", "%d placed", p->nplaced);
        }
        check_layout(p, axis ? "concat axis 1" : "concat axis 0");
        arena_free(&arena);
    }
}

/* s = sum(x) read as b = broadcast(s) by two loops with a product between them: b is fused into
 * both (root itself) and s lives until the second. Then a one-value leaf t read through a
 * broadcast by a loop after t's update t + 1: the update must not overwrite t before that loop
 * (copied out at the end); with the loop first, it may go into t's storage. */
static void test_scalar_broadcasts(void) {
    Arena arena = {0};
    IrGraph *g = ir_new_graph(&arena, "splat", DT_F32);
    int x = ir_input(g, "x", shape2(4, 3), zeros());
    int sum = ir_sum(g, x, 3);
    int b = ir_broadcast(g, sum, shape2(4, 3), 0);
    int early = ir_unary(g, OP_EXP, ir_mul(g, b, x));
    int m = ir_matmul(g, early, ir_const(g, 1, shape2(3, 3)), 0, 0);
    int late = ir_add(g, b, m);
    ir_add_output(g, OUT_VALUE, "late", ir_sum(g, late, 3));
    GraphPlan *p = plan_graph(g);
    check(p->nodes[b].kind == PLAN_FUSED && p->nodes[b].root == b, "scalar broadcast: fused into each reader's loop",
          "kind %d root %d", p->nodes[b].kind, p->nodes[b].root);
    check(p->nodes[sum].last_use >= late, "scalar broadcast: the value lives until its last reader's loop",
          "%%%d live to %%%d, read at %%%d", sum, p->nodes[sum].last_use, late);
    check_layout(p, "scalar broadcast");
    arena_free(&arena);
    for (int read_late = 0; read_late < 2; read_late++) {
        Arena a2 = {0};
        g = ir_new_graph(&a2, "step", DT_F32);
        int t = ir_param(g, "t", (Shape){0, {0}}, zeros());
        x = ir_input(g, "x", shape2(4, 3), zeros());
        int bt = ir_broadcast(g, t, shape2(4, 3), 0);
        int before = read_late ? -1 : ir_unary(g, OP_EXP, ir_mul(g, bt, x));
        int next = ir_add(g, t, ir_const_like(g, 1, t));
        int after = read_late ? ir_unary(g, OP_EXP, ir_mul(g, bt, x)) : -1;
        ir_add_output(g, OUT_UPDATE, "t", next);
        ir_add_output(g, OUT_VALUE, "y", ir_sum(g, read_late ? after : before, 3));
        p = plan_graph(g);
        if (read_late)
            check(p->nodes[next].output < 0, "scalar broadcast: a leaf read through it after its update is copied out",
                  "output %d", p->nodes[next].output);
        else
            check(p->nodes[next].output == 0, "scalar broadcast: a leaf read through it before its update is updated in place",
                  "output %d", p->nodes[next].output);
        check_layout(p, read_late ? "scalar leaf read late" : "scalar leaf read early");
        arena_free(&a2);
    }
}

int main(void) {
    check_prefix = "plan ";
    test_updates();
    test_views();
    test_concats();
    test_scalar_broadcasts();
    return check_summary();
}

# plan_overlaps.awk: reads `ganc --emit=ir-opt` and prints every pair of arena buffers of one
# graph that are live at the same time and share a byte (none: the plan is sound). A buffer is
# live from its first write (its node, or the first node computed into its rows: plan.h's
# concats) to its last reader ("live to %N", which counts the readers of its views).
function check(   a, b, m, o) {
    for (m in members) { o = owner(m); if (m + 0 < first[o]) first[o] = m + 0 }
    for (a in off) for (b in off) {
        if (a + 0 >= b + 0) continue
        if (first[a] <= last[b] && first[b] <= last[a] && off[a] < off[b] + len[b] && off[b] < off[a] + len[a])
            printf "%s: %%%s [%d, %d] @%d+%d overlaps %%%s [%d, %d] @%d+%d\n", graph, a, first[a], last[a], off[a], len[a], b, first[b], last[b], off[b], len[b]
    }
}
function owner(id) { while (id in home) id = home[id]; return id }
/^plan / {
    if (graph != "") check()
    graph = $2; sub(/:$/, "", graph); delete off; delete len; delete first; delete last; delete home; delete members
    next
}
/^  %[0-9]+ / {
    id = substr($1, 2) + 0
    if (match($0, /(loop|call) @[0-9]+\+[0-9]+ live to %[0-9]+/)) {
        split(substr($0, RSTART, RLENGTH), w, /[ @+%]+/)
        off[id] = w[2] + 0; len[id] = w[3] + 0; last[id] = w[6] + 0
        first[id] = id
    } else if (match($0, /(loop|call) into %[0-9]+'s rows/)) {
        split(substr($0, RSTART, RLENGTH), w, /[ %']+/)
        home[id] = w[3] + 0; members[id] = 1
    }
}
END { if (graph != "") check() }

/* fuzz-policy: a policy file through fp_policy_load (src/policy.c), then
 * the policy at work: fp_policy_decide on a fixed target over a few looks,
 * fp_policy_press and fp_policy_share, so fuzzed parameters reach the
 * arithmetic. Invariant: a policy that loaded is written
 * (fp_policy_to_json) as one that loads again. */
#include "fuzz.h"
#include <fp/policy.h>

static void exercise(const fp_policy *pol)
{
    fp_capacity cap = { 4, 8589934592.0 };
    fp_prediction p;
    memset(&p, 0, sizeof p);
    snprintf(p.target.id, sizeof p.target.id, "w");
    p.has_novelty = true;
    p.novelty = 4;
    p.q[FP_RES_CPU] = (fp_quantiles){ .n = 2, .level = {0.5, 0.9}, .value = {0.5, 1.0} };
    p.q[FP_RES_MEM] = (fp_quantiles){ .n = 1, .level = {0.99}, .value = {104857600} };
    p.q[FP_RES_DISK_READ] = (fp_quantiles){ .n = 1, .level = {0.9}, .value = {1e6} };
    p.q[FP_RES_NET_TX] = (fp_quantiles){ .n = 1, .level = {0.9}, .value = {1e5} };
    fp_observed o;
    memset(&o, 0, sizeof o);
    fp_limits_unset(&o.now);
    o.now.cpu_max_cores = o.now.cpu_weight_cores = FP_UNLIMITED;
    o.now.mem_high_bytes = o.now.mem_max_bytes = FP_UNLIMITED;
    o.mem_bytes = 10485760;
    fp_apply_state st;
    memset(&st, 0, sizeof st);
    fp_decision d;
    for (int i = 0; i < 6; i++) {
        o.oom_kills = i >= 3;
        o.throttled_s = i * 0.5;
        o.cpu_s = i * 1.0;
        o.mem_bytes *= 1.5;
        fp_policy_decide(pol, &cap, i == 2 ? NULL : &p, &o, &st, 100 + i, &d);
        if (strcmp(d.reason, "hold") != 0) {
            fp_apply_state_commit(&st, &d.want, 100 + i);
            o.now = st.granted;
        }
    }
    fp_policy_press(pol, &cap, &o, &st, 110, false, &d);
    fp_policy_press(pol, &cap, &o, &st, 111, true, &d);
    fp_share sh[3];
    memset(sh, 0, sizeof sh);
    for (int i = 0; i < 3; i++) {
        sh[i].want[0] = 1.5 + i;
        sh[i].want[1] = 3e9 + i * 1e9;
        sh[i].floor[0] = 0.1;
        sh[i].floor[1] = 1e8 * (i + 1);
        sh[i].prev[0] = i == 0 ? -1 : 1;
        sh[i].prev[1] = i == 0 ? -1 : 2e9;
        sh[i].priority = i;
    }
    char buf[256];
    fp_policy_share(pol, &cap, sh, 3, buf, sizeof buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fz_input(data, size);
    fp_policy pol;
    fp_policy_default(&pol);
    fp_err err = {0};
    if (fp_policy_load(&pol, path, &err) < 0) return 0;
    json_t *j = fp_policy_to_json(&pol);
    fz_assert(j, "fp_policy_to_json failed");
    fp_policy again;
    fp_policy_default(&again);
    fz_assert(fp_policy_from_json(&again, j, "back", &err) == 0, "written policy does not load: %s",
              err.msg);
    json_decref(j);
    exercise(&pol);
    return 0;
}

/* test-prediction.c - prediction records: parsing, refusals, round trip. */
#include <math.h>
#include <stdlib.h>
#include "fp/prediction.h"
#include "tap.h"

static int parse(const char *text, fp_prediction *p, fp_err *err)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    if (!j) return -2;
    int rc = fp_prediction_from_json(j, p, err);
    json_decref(j);
    return rc;
}

static void refused(const char *text, const char *needle, const char *what)
{
    fp_prediction p;
    fp_err err = {0};
    int rc = parse(text, &p, &err);
    ok(rc == -1 && err.cls == FP_EINPUT && strstr(err.msg, needle),
       "refused: %s (%s)", what, err.msg);
}

int main(void)
{
    char key[16];
    is_near(fp_quantile_level("p90"), 0.9, 1e-12, "p90 is 0.9");
    is_near(fp_quantile_level("p99.9"), 0.999, 1e-12, "p99.9 is 0.999");
    is_near(fp_quantile_level("p5"), 0.05, 1e-12, "p5 is 0.05");
    ok(fp_quantile_level("p100") < 0 && fp_quantile_level("p0") < 0 &&
       fp_quantile_level("q90") < 0 && fp_quantile_level("p9e1") < 0 &&
       fp_quantile_level("p-5") < 0 && fp_quantile_level("p") < 0 &&
       fp_quantile_level("p.5") < 0 && fp_quantile_level("p50.") < 0 &&
       fp_quantile_level("p123") < 0, "malformed quantile keys are refused");
    fp_quantile_key(0.999, key, sizeof key);
    is_str(key, "p99.9", "key of 0.999");
    fp_quantile_key(0.5, key, sizeof key);
    is_str(key, "p50", "key of 0.5");

    const char *good =
        "{\"schema\":1,\"type\":\"prediction\",\"id\":\"w1\",\"t\":5.5,\"ts_ms\":1700000000000,"
        "\"host\":\"h\",\"target\":{\"cgroup\":\"/fp/w1\",\"container\":null,\"pid\":42},"
        "\"model\":\"linear-1\",\"horizon_s\":600,\"priority\":3,"
        "\"quantiles\":{\"cpu_cores\":{\"p99\":1.5,\"p50\":0.5,\"p90\":1.0},"
        "\"mem_bytes\":{\"p90\":1048576},\"io_read_Bps\":null},"
        "\"missing\":{\"io_read_Bps\":\"no disk counters\"}}";
    fp_prediction p;
    fp_err err = {0};
    ok(parse(good, &p, &err) == 0, "a good prediction parses (%s)", err.msg);
    is_str(p.target.id, "w1", "id");
    is_str(p.target.cgroup, "/fp/w1", "cgroup");
    is_int(p.target.pid, 42, "pid");
    is_near(p.t, 5.5, 0, "t");
    is_near(p.ts, 1.7e9, 1e-3, "ts from ts_ms");
    is_near(p.horizon_s, 600, 0, "horizon");
    is_int(p.priority, 3, "priority");
    is_str(p.model, "linear-1", "model");
    is_int(p.q[FP_RES_CPU].n, 3, "three cpu quantiles");
    ok(p.q[FP_RES_CPU].level[0] == 0.5 && p.q[FP_RES_CPU].level[2] == 0.99,
       "levels sorted whatever the key order");
    bool exact;
    is_near(fp_quantile_at(&p.q[FP_RES_CPU], 0.9, &exact), 1.0, 0, "p90 exact");
    ok(exact, "p90 is marked exact");
    is_near(fp_quantile_at(&p.q[FP_RES_CPU], 0.7, &exact), 0.75, 1e-12, "p70 interpolated");
    ok(!exact, "p70 is not exact");
    is_near(fp_quantile_at(&p.q[FP_RES_CPU], 0.999, NULL), 1.5, 0, "beyond the last level: the last");
    is_near(fp_quantile_at(&p.q[FP_RES_MEM], 0.5, NULL), 1048576, 0, "single level");
    is_int(p.q[FP_RES_DISK_READ].n, 0, "null resource not predicted");
    is_str(p.q[FP_RES_DISK_READ].why, "no disk counters", "its reason from missing");
    is_str(p.q[FP_RES_NET_TX].why, "not predicted", "an absent resource");
    ok(isnan(fp_quantile_at(&p.q[FP_RES_NET_TX], 0.9, NULL)), "no value for an absent resource");

    /* round trip */
    json_t *j = fp_prediction_to_json(&p);
    fp_prediction p2;
    ok(fp_prediction_from_json(j, &p2, &err) == 0, "written prediction reads back");
    ok(memcmp(&p.q, &p2.q, sizeof p.q) == 0, "quantiles survive the round trip exactly");
    is_str(json_string_value(json_object_get(json_object_get(j, "missing"), "io_read_Bps")),
           "no disk counters", "missing reason written");
    ok(json_is_null(json_object_get(json_object_get(j, "quantiles"), "io_read_Bps")),
       "unpredicted resource written as null");
    ok(json_is_null(json_object_get(j, "novelty")) &&
       json_is_string(json_object_get(json_object_get(j, "missing"), "novelty")),
       "no novelty: null with a reason");
    json_decref(j);
    p.has_novelty = true;
    p.novelty = 4.5;
    j = fp_prediction_to_json(&p);
    ok(fp_prediction_from_json(j, &p2, &err) == 0 && p2.has_novelty && p2.novelty == 4.5,
       "novelty survives the round trip");
    json_decref(j);

    refused("{\"schema\":1,\"type\":\"prediction\",\"novelty\":-1,\"quantiles\":{}}",
            "novelty", "negative novelty");
    refused("{\"schema\":1,\"type\":\"sample\"}", "not a prediction", "another type");
    refused("{\"schema\":1,\"type\":\"prediction\"}", "no \"quantiles\"", "no quantiles");
    refused("{\"schema\":1,\"type\":\"prediction\",\"quantiles\":{\"cpu_cores\":{\"p90\":-1}}}",
            "quantiles.cpu_cores.p90", "negative value");
    refused("{\"schema\":1,\"type\":\"prediction\",\"quantiles\":{\"cpu_cores\":{\"p90\":\"1\"}}}",
            "not a finite number", "string value");
    refused("{\"schema\":1,\"type\":\"prediction\",\"quantiles\":{\"cpu_cores\":{\"median\":1}}}",
            "not a quantile key", "bad key");
    refused("{\"schema\":1,\"type\":\"prediction\",\"quantiles\":{\"cpu_cores\":{\"p50\":2,\"p90\":1}}}",
            "below", "quantiles decreasing with level");
    refused("{\"schema\":1,\"type\":\"prediction\",\"quantiles\":{\"gpu\":{\"p50\":2}}}",
            "unknown resource", "unknown resource");
    refused("{\"schema\":1,\"type\":\"prediction\",\"horizon_s\":-5,\"quantiles\":{}}",
            "horizon_s", "negative horizon");
    refused("{\"schema\":1,\"type\":\"prediction\",\"target\":{\"pid\":-3},\"quantiles\":{}}",
            "target.pid", "bad pid");
    refused("{\"schema\":1,\"type\":\"prediction\",\"target\":{\"cgroup\":5},\"quantiles\":{}}",
            "\"cgroup\" is not a string", "cgroup not a string");
    return done_testing();
}

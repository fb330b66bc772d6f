/* test-net.c - /proc/PID/net/dev and namespace detection on fixtures. */
#include <string.h>
#include "fp/net.h"
#include "fixture.h"
#include "tap.h"

int main(void)
{
    fp_roots r;
    fixture_roots(&r, "proc-v1", "cgroup-v1");
    fp_err err = {0};
    fp_net_if ifs[4];
    bool own;
    int n = fp_net_read(&r, 100, ifs, 4, &own, &err);
    is_int(n, 2, "two interfaces");
    ok(own, "pid 100 has its own network namespace (ns/net differs from self)");
    is_str(ifs[1].name, "eth0", "interface name without padding");
    is_int(ifs[1].rx_bytes, 123456789, "rx bytes (column 1)");
    is_int(ifs[1].rx_packets, 1000, "rx packets (column 2)");
    is_int(ifs[1].tx_bytes, 98765, "tx bytes (column 9)");
    is_int(ifs[1].tx_packets, 500, "tx packets (column 10)");
    is_int(fp_net_read(&r, 100, ifs, 1, &own, &err), 1, "max bounds the interfaces");

    /* pid 200 shares our namespace; its net/dev is absent: FP_ESYS. */
    err.cls = FP_OK;
    ok(fp_net_read(&r, 200, ifs, 4, &own, &err) < 0 && err.cls == FP_ESYS, "unreadable net/dev: FP_ESYS");
    ok(!own, "pid 200 shares the namespace");
    err.cls = FP_OK;
    ok(fp_net_read(&r, 300, ifs, 4, &own, &err) < 0 && err.cls == FP_EINPUT && strstr(err.msg, ":3:"),
       "malformed net/dev: FP_EINPUT with the line (%s)", err.msg);
    return done_testing();
}

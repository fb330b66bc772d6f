#!/usr/bin/env bats
load helpers

@test "placeholder" { skip "not written yet"; }

# fingerprints.jq - fingerprints as a tab-separated table, one workload a line.
#
#   fp-capture --no-samples -- CMD | jq -r -f share/fp/fingerprints.jq
#   jq -r --arg f "cpu_cores_mean,mem_bytes_max" -f share/fp/fingerprints.jq < records.jsonl
#
# $f (optional) is a comma-separated list of feature names; by default a few
# headline features. Missing features print as "-". Other records are skipped.
(($ARGS.named.f // "cpu_cores_mean,cpu_cores_p99,mem_bytes_max,mem_bytes_slope,io_write_Bps_mean,net_tx_Bps_mean")
  | split(",")) as $names
| select(.type == "fingerprint")
| [.id, (.window_s | tostring)] + [$names[] as $n | (.features[$n] // "-") | tostring]
| @tsv

-- wrk: POST the JSON body in $BENCH_BODY and print one machine-readable line
-- ("BENCH {json}") with counts and latency percentiles in microseconds.
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"

done = function(summary, latency, requests)
	local e = summary.errors
	io.write(string.format(
		'BENCH {"requests":%d,"duration_us":%d,"non2xx":%d,"errors":%d,' ..
		'"p50_us":%d,"p90_us":%d,"p99_us":%d,"p999_us":%d,"max_us":%d}\n',
		summary.requests, summary.duration, e.status,
		e.connect + e.read + e.write + e.timeout,
		latency:percentile(50), latency:percentile(90), latency:percentile(99),
		latency:percentile(99.9), latency.max))
end

-- wrk script: POST /api/v2/alerts bodies of BATCH distinct alerts (Alertmanager API v2 shape).
-- Args (after `--`): BATCH PREFIX MAX_REQUESTS_PER_THREAD PATH [BEARER_TOKEN]
-- Every alert gets a unique `instance` label (prefix-thread-counter-index), so neither
-- Alertmanager nor opsbook can deduplicate them. done() prints one JSON line for bench/intake.py.

local counter = 1
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  batch = tonumber(args[1]) or 1
  prefix = args[2] or "bench"
  max_requests = tonumber(args[3]) or 0
  path = args[4] or "/api/v2/alerts"
  token = args[5]
  sent = 0
  responses = 0
  non2xx = 0
  starts = os.date("!%Y-%m-%dT%H:%M:%SZ")
  ends = os.date("!%Y-%m-%dT%H:%M:%SZ", os.time() + 3600)
  headers = { ["Content-Type"] = "application/json" }
  if token and token ~= "" then headers["Authorization"] = "Bearer " .. token end
end

function request()
  sent = sent + 1
  local parts = {}
  for i = 1, batch do
    parts[i] = string.format(
      '{"labels":{"alertname":"BenchAlert","job":"bench","severity":"warning",' ..
      '"instance":"%s-%d-%d-%d"},"annotations":{"summary":"intake benchmark"},' ..
      '"startsAt":"%s","endsAt":"%s","generatorURL":"http://127.0.0.1/bench"}',
      prefix, tid, sent, i, starts, ends)
  end
  return wrk.format("POST", path, headers, "[" .. table.concat(parts, ",") .. "]")
end

function response(status, headers, body)
  responses = responses + 1
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
  if max_requests > 0 and responses >= max_requests then wrk.thread:stop() end
end

function done(summary, latency, requests)
  local n2 = 0
  for _, t in ipairs(threads) do n2 = n2 + (t:get("non2xx") or 0) end
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"non2xx":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"timeouts":%d,"status_errors":%d,"p50_us":%d,"p90_us":%d,' ..
    '"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, n2, e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean))
end

-- wrk script for `xiangzhu bench pipeline` (closed loop): every request is one REST message.
--
-- Each connection is one sender at a time: a request takes a free sender id, its reply (whose
-- `recipient_id` names the sender) frees it again, so no sender has two messages in flight.
-- Message ids are unique per run, so no request is answered from the dedupe store.
-- After BENCH_QUOTA answers the thread stops and prints BENCH_STOPPED; done() prints one
-- line `BENCH_JSON {...}` with counts and wrk's own latency distribution (microseconds).
--
-- Environment: BENCH_SENDERS (per thread), BENCH_QUOTA (answers per thread), BENCH_RUN (id
-- prefix), BENCH_TOKEN (REST bearer token, optional).

local senders = tonumber(os.getenv("BENCH_SENDERS") or "50")
local quota = tonumber(os.getenv("BENCH_QUOTA") or "1000")
local run = os.getenv("BENCH_RUN") or "bench"
local token = os.getenv("BENCH_TOKEN") or ""
local texts = { "你好", "帮助", "我想问问低保怎么申请", "谢谢", "1", "孩子上学有补助吗" }

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  sent, answered, ok, stopped = 0, 0, 0, false
  free, rr = {}, 0
  for i = senders, 1, -1 do
    free[#free + 1] = i
  end
  headers = { ["Content-Type"] = "application/json" }
  if token ~= "" then
    headers["Authorization"] = "Bearer " .. token
  end
  -- wrk calls request() once on the first thread to check the script, and never sends that
  -- request: answer that call without using a sender or a message id
  verifying = (tid == 1)
  prefix = run .. "-" .. tid .. "-"
  pattern = '"recipient_id"%s*:%s*"' .. prefix:gsub("%-", "%%-") .. "(%d+)\""
end

function request()
  if verifying then
    verifying = false
    return wrk.format("POST", "/webhooks/rest/webhook", headers, "{}")
  end
  local s = table.remove(free)
  if s == nil then -- a reply without a recipient never freed its sender: fall back
    rr = rr % senders + 1
    s = rr
  end
  sent = sent + 1
  local body = string.format(
    '{"sender":"%s%d","message":"%s","metadata":{"message_id":"%sm%d"}}',
    prefix, s, texts[sent % #texts + 1], prefix, sent
  )
  return wrk.format("POST", "/webhooks/rest/webhook", headers, body)
end

function response(status, headers, body)
  answered = answered + 1
  if status == 200 then
    ok = ok + 1
  end
  local s = body and string.match(body, pattern)
  if s then
    free[#free + 1] = tonumber(s)
  end
  if answered >= quota and not stopped then
    stopped = true
    io.write("BENCH_STOPPED\n")
    io.flush()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local s, a, o = 0, 0, 0
  for _, t in ipairs(threads) do
    s = s + t:get("sent")
    a = a + t:get("answered")
    o = o + t:get("ok")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"sent":%d,"answered":%d,"ok":%d,"requests":%d,"duration_us":%d,'
      .. '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
      .. '"p50_us":%d,"p95_us":%d,"p99_us":%d,"max_us":%d}\n',
    s, a, o, summary.requests, summary.duration,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max
  ))
end

-- wrk script: send pre-generated requests, each at most once per thread file.
-- BENCH_REQUESTS names the file prefix; thread n reads PREFIX.n.
-- Lines: METHOD \t PATH \t DPOP \t BODY

local counter = 0
local threads = {}

function setup(thread)
   thread:set("tid", counter)
   counter = counter + 1
   table.insert(threads, thread)
end

function init(args)
   local prefix = os.getenv("BENCH_REQUESTS")
   requests_ = {}
   for line in io.lines(prefix .. "." .. tid) do
      local method, path, dpop, body = line:match("^(%S+)\t(%S+)\t(%S+)\t(.*)$")
      requests_[#requests_ + 1] = wrk.format(method, path,
         {["DPoP"] = dpop, ["Content-Type"] = "application/json"}, body)
   end
   index = 0
   wrapped = 0
end

function request()
   index = index + 1
   if index > #requests_ then
      index = 1
      wrapped = wrapped + 1
   end
   return requests_[index]
end

function done(summary, latency, requests)
   local wraps = 0
   for _, thread in ipairs(threads) do
      wraps = wraps + (thread:get("wrapped") or 0)
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_RESULT {"requests":%d,"duration_us":%d,"non_2xx":%d,"connect_errors":%d,' ..
      '"read_errors":%d,"write_errors":%d,"timeouts":%d,"wrapped":%d,' ..
      '"p50_us":%d,"p90_us":%d,"p99_us":%d,"mean_us":%.1f,"max_us":%d}\n',
      summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
      wraps, latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.mean, latency.max))
end

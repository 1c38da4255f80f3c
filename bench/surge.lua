-- A Surge-like request mix for wrk (Barford & Crovella's SURGE, the paper's
-- workload): most requests are small, a heavy tail is large. The sizes are
-- the files scripts/lib/net.sh's net_nginx serves (/f/N, N bytes); the
-- weights follow a lognormal body with a Pareto tail (mean ≈ 16 KB).
-- done() prints one JSON line so tools/bench.py reads figures, not prose.

local sizes   = { 100,  512, 4096, 16384, 65536, 262144, 1048576 }
local weights = { 0.35, 0.25, 0.20, 0.12, 0.06,  0.015,  0.005 }
local cumulative = {}
local acc = 0
for i, w in ipairs(weights) do acc = acc + w; cumulative[i] = acc end

local counter = 0
function setup(thread)
    counter = counter + 1
    thread:set("id", counter)
end

function init(args)
    -- The same sequence on every run, so configurations compare the same mix.
    math.randomseed(1000 + (id or 0))
end

function request()
    local r = math.random() * acc
    for i, c in ipairs(cumulative) do
        if r <= c then return wrk.format("GET", "/f/" .. sizes[i]) end
    end
    return wrk.format("GET", "/f/" .. sizes[#sizes])
end

function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        '{"requests": %d, "duration_us": %d, "bytes": %d, "errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
        '"latency_us": {"mean": %.1f, "p50": %d, "p90": %d, "p99": %d, "max": %d}}\n',
        summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
        latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end

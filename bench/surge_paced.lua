-- The Surge-like mix of surge.lua at a fixed offered load below saturation:
-- each connection waits THINK_MS (the script's first argument) before each
-- request, so C connections offer about C / (THINK_MS + latency) requests a
-- second whatever the path, and latency is measured on a path that is not
-- queueing. wrk times each request from its send, so the wait is not in it.
dofile("bench/surge.lua")

local surge_init = init
local think = 50

function init(args)
    surge_init(args)
    think = tonumber(args[1]) or think
end

function delay()
    return think
end

-- wrk script for tools/sedaflow/benches/http.sh: `POST /orders` with IOC limit orders, so
-- nothing rests. Sides, prices and symbols vary: against the book http.sh seeds (a sell at
-- 100 and a buy at 99 on each symbol, each for 1e9), about 40% of the orders cross and get
-- ack, fill, done/filled, the others ack, done/expired. Every request is an anonymous
-- account of its own, so ids only need to be valid. Each wrk thread prepares its requests
-- once, so the load generator spends its share of the 2 cores on sending, not formatting.

local symbols = { "S0", "S1", "S2", "S3", "S4", "S5", "S6", "S7" }
local prices = { "98.5", "99", "99.5", "100", "100.5" }
local prepared = 4096

local threads = 0
local requests = {}
local turn = 0

function setup(thread)
   threads = threads + 1
   thread:set("tid", threads)
end

function init(args)
   local me = tid or 1
   math.randomseed(me)
   for i = 1, prepared do
      local side = math.random(2) == 1 and "buy" or "sell"
      local body = string.format(
         '{"op":"limit","id":%d,"symbol":"%s","side":"%s","price":"%s","qty":%d,"tif":"ioc"}',
         me * 1000000 + i, symbols[math.random(#symbols)], side,
         prices[math.random(#prices)], math.random(10))
      requests[i] = wrk.format("POST", "/orders", { ["Content-Type"] = "application/json" }, body)
   end
end

function request()
   turn = turn % prepared + 1
   return requests[turn]
end

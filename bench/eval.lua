-- wrk script: POST /api/v1/evaluation for a random fixture flag and a random entity, with a
-- context that walks past two segments and matches the third (the engine benchmark's shape).
local flags = tonumber(os.getenv("FLAGS") or "1000")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

request = function()
  local body = string.format(
    '{"flagID":%d,"entityID":"user-%d","entityType":"report",' ..
    '"entityContext":{"state":"CA","country":"US","device":"web","age":30,"email":"a@example.com"}}',
    math.random(1, flags), math.random(1, 1000000))
  return wrk.format(nil, nil, nil, body)
end

-- wrk script: GET /j/<key> over the personal links of sessions that are open now (one key per
-- line in $KEYS), each connection walking the list from its own offset.
local keys = {}
for line in io.lines(os.getenv("KEYS")) do
  keys[#keys + 1] = line
end
local i = math.random(#keys)
request = function()
  i = i % #keys + 1
  return wrk.format("GET", "/j/" .. keys[i])
end

-- wrk: POST a Tekton TaskRun event in binary mode, each with its own ce-id and run uid.
local body_template = nil
local counter = 0
local thread_id = 0

function init(args)
  local f = assert(io.open(args[1], "r"))
  body_template = f:read("*a")
  f:close()
  thread_id = math.random(1, 1000000000)
end

function request()
  counter = counter + 1
  local uid = string.format("%08x-0000-4000-8000-%012x", thread_id % 4294967296, counter)
  local body = string.gsub(body_template, "__UID__", uid)
  local headers = {
    ["ce-specversion"] = "1.0",
    ["ce-id"] = uid,
    ["ce-source"] = "/apis///namespaces/default//bench",
    ["ce-type"] = "dev.tekton.event.taskrun.successful.v1",
    ["Content-Type"] = "application/json",
  }
  return wrk.format("POST", "/", headers, body)
end

"""Writes a wrk Lua script that cycles through freshly signed Auth API `auth` requests
(factor=passcode): half with each user's current code, half with a wrong one. Signed with Duo's
own client code (duo_client), so the server sees exactly what an application sends.

Usage: python3 bench/requests_lua.py SETUP.json OUT.lua
"""

import email.utils, json, sys, time, urllib.parse

import duo_client.client as duo

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from totp import totp  # noqa: E402

setup = json.load(open(sys.argv[1]))
lines = ["local specs = {}"]
date = email.utils.formatdate(localtime=False)
for i, (name, secret) in enumerate(sorted(setup["seeds"].items())):
    for wrong in (False, True):
        params = {"username": [name], "factor": ["passcode"], "passcode": ["000000" if wrong else totp(secret)]}
        body = duo.canon_params(params)
        auth = duo.sign(setup["ikey"], setup["skey"], "POST", setup["host"], "/auth/v2/auth", date, 2, params)
        lines.append("specs[#specs+1] = {%s, %s, %s}" % (json.dumps(auth), json.dumps(date), json.dumps(body)))
# Requests are formatted in init(): only then does wrk know the Host header.
lines.append("""local r, i = {}, 0
init = function(args)
  for _, s in ipairs(specs) do
    r[#r+1] = wrk.format('POST', '/auth/v2/auth', {['Authorization']=s[1], ['Date']=s[2],
      ['Content-Type']='application/x-www-form-urlencoded'}, s[3])
  end
end
request = function() i = i % #r + 1; return r[i] end""")
open(sys.argv[2], "w").write("\n".join(lines) + "\n")

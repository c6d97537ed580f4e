"""Schemathesis runs against the API's own schema and the emulator against DigitalOcean's (README.md,
"Development").

`runner.run` is what both the suite (tests/api/test_fuzz.py, tests/emulator/test_fuzz.py) and `make fuzz`
call; `hooks` gives the generator the few values it cannot guess (links to objects that exist, a valid SSH
key) so that creates succeed and the stateful phase reaches the objects they make.
"""

# In the bodies handed to the hooks: put a fresh OpenSSH public key here, made from the body's own bytes.
FRESH_KEY = "<fresh ssh key>"

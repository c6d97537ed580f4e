pytest_plugins = [
    "tests.fixtures.factories",
    "tests.fixtures.emulator",
]

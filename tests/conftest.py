pytest_plugins = [
    "tests.fixtures.factories",
    "tests.fixtures.droplets",
    "tests.fixtures.emulator",
    "tests.fixtures.worker",
    "tests.fixtures.backend",
]

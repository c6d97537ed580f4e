"""Settings from flags, DOEMU_* variables and PUT /_emulator/config share one coercion."""

from __future__ import annotations

from pathlib import Path

import pytest

from droplets.emulator import config


def test_defaults_match_digitalocean():
    emulator_config, server_config = config.load([], environ={})
    assert (emulator_config.rate_limit, emulator_config.burst_limit, emulator_config.max_per_page) == (
        5000,
        250,
        200,
    )
    assert emulator_config.tokens == ()
    assert emulator_config.strict_resize is True
    assert (server_config.host, server_config.port, server_config.state_file) == ("127.0.0.1", 8808, None)


def test_environment_then_flags():
    environ = {
        "DOEMU_TOKENS": "a, b",
        "DOEMU_TIME_SCALE": "0.5",
        "DOEMU_MAX_PER_PAGE": "2",
        "DOEMU_PORT": "9000",
    }
    emulator_config, server_config = config.load(
        ["--port", "9100", "--strict-resize", "false"], environ=environ
    )
    assert emulator_config.tokens == ("a", "b")
    assert emulator_config.time_scale == 0.5
    assert emulator_config.max_per_page == 2
    assert emulator_config.strict_resize is False
    assert server_config.port == 9100


def test_paths_json_and_validation_flags():
    emulator_config, server_config = config.load(
        ["--state-file", "/tmp/doemu.json", "--action-durations", '{"create": 30}'],
        environ={"DOEMU_VALIDATE": "1"},
    )
    assert server_config.state_file == Path("/tmp/doemu.json")
    assert server_config.validate is True
    assert emulator_config.action_durations["create"] == 30.0
    assert emulator_config.action_durations["reboot"] == config.DEFAULT_ACTION_DURATIONS["reboot"]


@pytest.mark.parametrize(
    "argv",
    [
        ["--rate-limit", "many"],
        ["--strict-resize", "perhaps"],
        ["--create-errored-outcome", "explode"],
        ["--action-durations", '{"teleport": 1}'],
    ],
)
def test_bad_values_stop_the_command_line(argv, capsys):
    with pytest.raises(SystemExit):
        config.load(argv, environ={})


def test_runtime_updates_check_names_and_types():
    current = config.EmulatorConfig()
    assert config.updated(current, {"tokens": ["x"], "public_url": ""}).tokens == ("x",)
    for changes in ({"nope": 1}, {"rate_limit": True}, {"time_scale": "fast"}):
        with pytest.raises(ValueError):
            config.updated(current, changes)

"""Safe defaults: nothing listens beyond loopback unauthenticated unless told to."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from services.cli import build_parser
from services.platform import INTERNAL_HOST, Platform, PlatformConfig
from services.security.api_tokens import token_sha256_hex
from services.security.process_security import RefusedToStart, security_from_args

CONTROLLER = ["--metrics", "127.0.0.1:1", "--data-dir", "unused"]
PEERS = ["--controller", "127.0.0.1:1", "--metrics", "127.0.0.1:1"]
COMMANDS = {
    "up": [],
    "controller": CONTROLLER,
    "metrics": [],
    "worker": PEERS,
    "gateway": PEERS,
}


@pytest.fixture(autouse=True)
def no_security_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "WEIR_API_TOKENS",
        "WEIR_API_TOKENS_FILE",
        "WEIR_CLUSTER_SECRET",
        "WEIR_CLUSTER_SECRET_FILE",
        "WEIR_INSECURE",
    ):
        monkeypatch.delenv(name, raising=False)


def parse(command: str, *extra: str) -> object:
    return security_from_args(build_parser().parse_args([command, *COMMANDS[command], *extra]))


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
def test_loopback_needs_no_credentials(command: str, host: str) -> None:
    parse(command, "--host", host)


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "weir.example.com"])
def test_beyond_loopback_without_credentials_refuses_to_start(command: str, host: str) -> None:
    with pytest.raises(RefusedToStart, match="--insecure"):
        parse(command, "--host", host)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_insecure_is_the_explicit_way_out(command: str) -> None:
    parse(command, "--host", "0.0.0.0", "--insecure")


def test_with_tokens_and_a_secret_every_command_may_listen_anywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text(f"admin {token_sha256_hex('t')}\n")
    secret = tmp_path / "secret"
    secret.write_text("s" * 40 + "\n")
    for command in COMMANDS:
        parse(
            command, "--host", "0.0.0.0", "--tokens-file", str(tokens), "--cluster-secret-file", str(secret)
        )
    # The environment twins do the same (how `weir up` configures its children).
    monkeypatch.setenv("WEIR_API_TOKENS", f"read {token_sha256_hex('r')}")
    monkeypatch.setenv("WEIR_CLUSTER_SECRET", "x" * 40)
    for command in COMMANDS:
        parse(command, "--host", "0.0.0.0")


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.1.2.3", "weir.example.com"])
def test_prometheus_beyond_loopback_refuses_to_start_even_with_credentials(
    host: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GET /metrics has no authentication at all: tokens and a secret do not cover it."""
    monkeypatch.setenv("WEIR_API_TOKENS", f"read {token_sha256_hex('r')}")
    monkeypatch.setenv("WEIR_CLUSTER_SECRET", "x" * 40)
    with pytest.raises(RefusedToStart, match=r"refusing to serve GET /metrics on .*--insecure"):
        parse("metrics", "--prometheus-port", "0", "--prometheus-host", host)


def test_prometheus_on_loopback_or_insecure_starts() -> None:
    parse("metrics", "--prometheus-port", "0")
    parse("metrics", "--prometheus-port", "0", "--prometheus-host", "::1")
    parse("metrics", "--prometheus-port", "0", "--prometheus-host", "0.0.0.0", "--insecure")
    parse("metrics", "--prometheus-host", "0.0.0.0")  # without a port nothing listens


def test_weir_up_keeps_its_internal_listeners_on_loopback(tmp_path: Path) -> None:
    """`weir up --host` is where the gateway (public REST and gRPC, TLS if given) listens; the
    metrics service, the controller and the workers are plaintext and stay on loopback."""
    platform = Platform(PlatformConfig(data_dir=tmp_path / "data", host="0.0.0.0"))
    peers = ("127.0.0.1:1", "127.0.0.1:2")
    internal = [platform.metrics.args, platform._controller_args, platform.worker_args(*peers)]
    for args in internal:
        assert args[args.index("--host") + 1] == INTERNAL_HOST == "127.0.0.1", args
        assert "--advertise-host" not in args
    gateway = platform.gateway_args(*peers)
    assert gateway[gateway.index("--host") + 1] == "0.0.0.0"


def test_up_generates_a_cluster_secret_so_it_needs_only_tokens(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens"
    tokens.write_text(f"admin {token_sha256_hex('t')}\n")
    security = parse("up", "--host", "0.0.0.0", "--tokens-file", str(tokens))
    assert security.cluster_secret is not None  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda d: ["--tokens-file", str(d / "absent")], "cannot be read"),
        (lambda d: ["--cluster-secret-file", str(d / "absent")], "No such file"),
        (lambda d: ["--tls-cert", str(d / "cert.pem")], "go together"),
    ],
)
def test_unusable_settings_refuse_to_start(tmp_path: Path, setup: object, message: str) -> None:
    with pytest.raises(RefusedToStart, match=message):
        parse("up", *setup(tmp_path))  # type: ignore[operator]


def test_a_short_cluster_secret_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEIR_CLUSTER_SECRET", "short")
    with pytest.raises(RefusedToStart, match="at least"):
        parse("worker")


@pytest.mark.parametrize("command", ["up", "worker"])
def test_the_real_command_refuses_with_a_clear_message(command: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "services.cli", command, *COMMANDS[command], "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path if command == "up" else None,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert result.returncode == 1
    assert f"weir {command}: refusing to listen on 0.0.0.0" in result.stderr
    assert "--insecure" in result.stderr
    assert not (tmp_path / ".weir").exists()  # refused before doing anything

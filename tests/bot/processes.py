"""Run the real `petclf tcp-server` and `petclf bot` as subprocesses, logs captured to files."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


class PetclfProcess:
    def __init__(self, args: list[str], log_path: Path, env: dict[str, str]):
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - open for the process's lifetime
        full_env = {
            k: v for k, v in os.environ.items() if not k.startswith(("PETCLF_", "TELEGRAM_"))
        }
        # Its stored state beside its log unless the test says where: never the checkout's var/.
        full_env["PETCLF_HOME"] = str(log_path.parent / f"{log_path.stem}-home")
        full_env.update(env)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "petclf", *args],
            cwd=REPO,
            env=full_env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_for_log(self, pattern: str, timeout: float = 120.0) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if match := re.search(pattern, self.log):
                return match
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"exited with {self.proc.returncode} before logging {pattern!r}:\n{self.log}"
                )
            time.sleep(0.05)
        raise AssertionError(f"no {pattern!r} within {timeout}s:\n{self.log}")

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM, then wait for a clean exit."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            self.kill()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


def start_tcp_server(
    model: Path, log_path: Path, *, port: int = 0, extra: list[str] = (), env: dict | None = None
) -> tuple[PetclfProcess, int]:
    server = PetclfProcess(
        ["tcp-server", "--port", str(port), "--model", str(model), "--workers", "2", *extra],
        log_path,
        env or {},  # its store (the predictions it keeps) goes beside its log unless env says
    )
    try:
        match = server.wait_for_log(r"listening on 127\.0\.0\.1:(\d+)")
    except BaseException:
        server.kill()
        raise
    return server, int(match.group(1))


def start_bot(
    api_url: str, token: str, tcp_port: int, log_path: Path, *, env: dict | None = None, args=()
) -> PetclfProcess:
    bot = PetclfProcess(
        ["bot", "--poll-timeout", "2", *args],
        log_path,
        {
            "TELEGRAM_TOKEN": token,
            "TELEGRAM_API_URL": api_url,
            "PETCLF_TCP_ADDR": f"127.0.0.1:{tcp_port}",
            # the spool: a restart that logs beside it finds it
            "PETCLF_HOME": str(log_path.parent / "home"),
            **(env or {}),
        },
    )
    try:
        bot.wait_for_log(r"is polling .* for updates", timeout=60)
    except BaseException:
        bot.kill()
        raise
    return bot

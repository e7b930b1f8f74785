"""Purge a seeded history of old alerts (default 1,000,000) with the retention flow and report
the rate: ``python bench/purge.py [--rows N] [--database-url URL]`` (a temporary SQLite file by
default). The test (tests/integration/test_retention.py) does the same on 50,000 rows with an
intake load beside it."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402
from tests.integration.test_retention import ALERTS_EACH, _alerts, _incident  # noqa: E402
from tests.support.app import TEST_CONFIG  # noqa: E402

from opsbook.config.load import parse_config  # noqa: E402
from opsbook.flows.retention import Retention  # noqa: E402
from opsbook.storage import migrate  # noqa: E402
from opsbook.storage.db import make_engine, make_sessionmaker  # noqa: E402
from opsbook.storage.tables import Alert, Incident  # noqa: E402
from opsbook.testing import FrozenClock  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--batch", type=int, default=2000)
    args = ap.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/purge.db"
    engine = make_engine(url)
    migrate.upgrade(engine)
    sessions = make_sessionmaker(engine)
    clock = FrozenClock()
    from datetime import timedelta

    old = clock.now() - timedelta(days=200)
    t0 = time.perf_counter()
    for i in range(args.rows // ALERTS_EACH):
        with sessions.begin() as s:
            inc = _incident(i, old + timedelta(minutes=i), "resolved")
            s.execute(insert(Incident), [inc])
            s.execute(insert(Alert), _alerts(inc["id"], old))
    seeded = time.perf_counter() - t0
    config = parse_config(TEST_CONFIG + f"retention: {{batch: {args.batch}}}\n")
    t0 = time.perf_counter()
    out = Retention(sessions, lambda: config, clock).purge()
    took = time.perf_counter() - t0
    print(
        f"{engine.dialect.name}: seeded {args.rows:,} alerts in {seeded:.1f} s; purged "
        f"{out.total():,} in {took:.1f} s ({out.total() / took:,.0f} rows/s, {out.batches} "
        f"batches of {args.batch}, resting as long as each batch took)"
    )
    engine.dispose()


if __name__ == "__main__":
    main()

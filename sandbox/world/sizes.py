"""Size presets: how big a company the generator builds. The one place to change them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Size:
    name: str
    initial_accounts: int  # customers on the first simulated day
    months: int  # length of the generated history
    new_logos_per_year: float  # new customers won per year, as a share of the initial base
    csm_book: int  # accounts per Customer Success Manager
    support_agents: int


SIZES: dict[str, Size] = {
    "S": Size("S", initial_accounts=180, months=12, new_logos_per_year=0.11, csm_book=45, support_agents=6),
    "M": Size("M", initial_accounts=1650, months=24, new_logos_per_year=0.105, csm_book=50, support_agents=14),
    "L": Size("L", initial_accounts=16500, months=24, new_logos_per_year=0.105, csm_book=55, support_agents=60),
}


def size_named(name: str) -> Size:
    try:
        return SIZES[name.upper()]
    except KeyError:
        from sandbox.store import StoreError

        raise StoreError(f"unknown size {name!r}: choose one of {', '.join(SIZES)}") from None

"""People's and companies' names, emails and domains, from indices into the vocabularies."""

from __future__ import annotations

import re
import unicodedata

import numpy as np

from sandbox.world import vocab


def _ascii(word: str) -> str:
    return unicodedata.normalize("NFKD", word).encode("ascii", "ignore").decode().lower()


FIRST = np.array(vocab.FIRST_NAMES)
LAST = np.array(vocab.LAST_NAMES)
FIRST_ASCII = np.array([_ascii(w) for w in vocab.FIRST_NAMES])
LAST_ASCII = np.array([_ascii(w) for w in vocab.LAST_NAMES])


def email(first: int, last: int, domain: str, short: bool = False) -> str:
    """john.smith@acme.com, or jsmith@acme.com where the CRM keeps the short form."""
    f, la = FIRST_ASCII[first], LAST_ASCII[last]
    return f"{f[0]}{la}@{domain}" if short else f"{f}.{la}@{domain}"


def company_names(rng: np.random.Generator, n: int, taken: set[str]) -> tuple[list[str], list[str]]:
    """n company names with unique domains (a numeral is added on a clash, as companies do)."""
    names, domains = [], []
    a = rng.integers(0, len(vocab.COMPANY_FIRST), n)
    b = rng.integers(0, len(vocab.COMPANY_SECOND), n)
    s = rng.integers(0, len(vocab.COMPANY_SUFFIX), n)
    t = rng.integers(0, len(vocab.TLDS), n)
    for i in range(n):
        base = f"{vocab.COMPANY_FIRST[a[i]]} {vocab.COMPANY_SECOND[b[i]]}"
        slug = re.sub(r"[^a-z0-9]", "", base.lower())
        domain, k = slug + vocab.TLDS[t[i]], 2
        while domain in taken:
            domain, k = f"{slug}{k}{vocab.TLDS[t[i]]}", k + 1
        if k > 2:
            base = f"{base} {k - 1}"
        taken.add(domain)
        suffix = vocab.COMPANY_SUFFIX[s[i]]
        names.append(f"{base} {suffix}".strip())
        domains.append(domain)
    return names, domains


def website(domain: str, style: int) -> str:
    """CRM websites are typed by hand: mostly https://www., some bare, a few with a path."""
    return (f"https://www.{domain}", f"https://www.{domain}", f"www.{domain}", f"http://{domain}/")[style % 4]

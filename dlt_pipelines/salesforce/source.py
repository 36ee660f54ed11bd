"""Salesforce through the REST query API, declared with dlt's `rest_api_source`.

- One resource per object: `GET /services/data/vNN.N/queryAll?q=SELECT ... WHERE SystemModstamp >=
  <last value> ORDER BY SystemModstamp`, paged by `nextRecordsUrl` (dlt's JSON-link paginator),
  merged on `Id`. `>=` plus dlt's boundary de-duplication means a record stamped in the same
  millisecond as the last one loaded is not skipped.
- Deletes: `queryAll` also returns deleted records still in the recycle bin (about 15 days) with
  `IsDeleted = true`; the merge updates the row, so raw tables keep deleted records flagged and
  staging filters them. A record hard-deleted while the pipeline was off longer than that keeps its
  last state; a periodic full reload of the table (dlt `refresh="drop_resources"`) reconciles it.
- Auth: OAuth 2.0 token endpoint, client-credentials or username-password flow; every request
  then goes to the `instance_url` the token response names (as Salesforce requires). A session
  that ends mid-run (401 `INVALID_SESSION_ID`) is logged into again once and the request re-sent;
  403 `REQUEST_LIMIT_EXCEEDED` is retried with backoff; the org's API usage (`Sforce-Limit-Info`)
  is logged at the end of the run (`core.auth.SalesforceSession`).
- Fields: in a run, each object's describe call lists its fields, so new custom fields arrive as
  columns (the `evolve` contract); without a connection the fields in `tables.py` are used.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import dlt
import requests
from dlt.common.configuration.resolve import resolve_configuration
from dlt.common.configuration.specs import RuntimeConfiguration
from dlt.common.configuration.specs.base_configuration import configspec
from dlt.common.typing import TSecretStrValue
from dlt.sources import DltSource
from dlt.sources.helpers.rest_client.auth import AuthConfigBase
from dlt.sources.helpers.rest_client.paginators import JSONLinkPaginator
from dlt.sources.rest_api import rest_api_resources
from requests import PreparedRequest

from core.auth import SalesforceLogin, SalesforceSession
from dlt_pipelines import contracts, http
from dlt_pipelines.contracts import TableSpec, by_name
from dlt_pipelines.salesforce.tables import DESCRIBE_TYPES, TABLES
from dlt_pipelines.settings import SourceSettings

DEFAULT_API_VERSION = "61.0"
# The served form of SystemModstamp; incremental compares the raw strings, so the initial value
# must have the same shape.
INITIAL_MODSTAMP = "1970-01-01T00:00:00.000+0000"


@configspec
class SalesforceOAuth(AuthConfigBase):
    """Gets a token on the first request and sends every request to the org's instance URL."""

    login_url: str = None
    grant_type: str = "client_credentials"
    client_id: str = None
    client_secret: TSecretStrValue = None
    username: str | None = None
    password: TSecretStrValue | None = None

    def __post_init__(self) -> None:
        self._session: SalesforceSession | None = None

    @property
    def session(self) -> SalesforceSession:
        if self._session is None:
            login = SalesforceLogin(
                self.login_url, self.client_id, self.client_secret, self.grant_type, self.username, self.password
            )
            runtime = resolve_configuration(RuntimeConfiguration())
            self._session = SalesforceSession(
                login,
                http.session(),
                limit_attempts=runtime.request_max_attempts,
                limit_backoff=runtime.request_backoff_factor,
            )
        return self._session

    def attach(self, session: requests.Session) -> requests.Session:
        """A session whose requests re-login once on an expired session and back off on limits."""
        return self.session.attach(session)

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        token = self.session.current()
        instance = urlsplit(token.instance_url)
        parts = urlsplit(request.url or "")
        request.url = urlunsplit((instance.scheme, instance.netloc, parts.path, parts.query, parts.fragment))
        request.headers["Authorization"] = f"Bearer {token.access_token}"
        return request


def salesforce_login(cfg: SourceSettings) -> SalesforceLogin:
    """The configured login (`auth_flow`: client_credentials, or password with the security token)."""
    flow = cfg.get("auth_flow", str, "client_credentials")
    if flow == "password":
        # Salesforce's username-password flow takes the password with the security token appended.
        password = (cfg.secret("password") or "") + (cfg.secret("security_token", required=False) or "")
        return SalesforceLogin(
            cfg.get("login_url", str), cfg.secret("client_id"), cfg.secret("client_secret"), flow,
            cfg.secret("username"), password,
        )  # fmt: skip
    return SalesforceLogin(cfg.get("login_url", str), cfg.secret("client_id"), cfg.secret("client_secret"), flow)


def make_auth(cfg: SourceSettings) -> SalesforceOAuth:
    login = salesforce_login(cfg)
    auth = SalesforceOAuth(
        login_url=login.login_url,
        grant_type=login.flow,
        client_id=login.client_id,
        client_secret=login.client_secret,
        username=login.username,
        password=login.password,
    )
    auth.__post_init__()
    auth.resolve()
    auth.session  # noqa: B018 - created now, so copies of this configuration share it
    return auth


def soql_datetime(value: str) -> str:
    """A SystemModstamp as a SOQL datetime literal, truncated to the second: SOQL literals have no
    fractions, and the few records re-read from that second are dropped by dlt's de-duplication."""
    text = str(value)
    return f"{text[:19]}Z"


def api_base(cfg: SourceSettings, connect: bool = True) -> str:
    version = cfg.get("api_version", str, DEFAULT_API_VERSION)
    return f"{cfg.url('login_url', connect)}/services/data/v{version}/"


def describe_fields(cfg: SourceSettings, auth: SalesforceOAuth, objects: Iterable[str]) -> dict[str, TableSpec]:
    """Each object's spec widened with the fields its describe call lists (types mapped)."""
    session = auth.attach(http.session())
    out: dict[str, TableSpec] = {}
    for name in objects:
        spec = TABLES[name]
        resp = session.get(f"{api_base(cfg)}sobjects/{name}/describe", auth=auth)
        if resp.status_code != 200:
            raise requests.HTTPError(f"describe {name} failed", response=resp)
        fields = dict(spec.fields)
        for f in resp.json().get("fields", []):
            fields.setdefault(f["name"], DESCRIBE_TYPES.get(f.get("type", ""), "str"))
        # Compound fields (BillingAddress, MailingAddress, ...) are kept whole, one JSON column each.
        compound = tuple(n for n, t in fields.items() if t == "json" and n not in spec.json_columns)
        out[name] = TableSpec(**{**spec.__dict__, "fields": fields, "json_columns": spec.json_columns + compound})
    return out


def _resource(spec: TableSpec, endpoint: str) -> dict[str, Any]:
    soql = (
        f"SELECT {', '.join(spec.fields)} FROM {spec.name} "
        f"WHERE {spec.cursor} >= {{incremental.start_value}} ORDER BY {spec.cursor} ASC"
    )
    return {
        **spec.resource_hints(),
        "endpoint": {
            "path": endpoint,
            "params": {"q": soql},
            "data_selector": http.selector("records"),
            "paginator": JSONLinkPaginator(next_url_path="nextRecordsUrl"),
            "incremental": {
                "cursor_path": spec.cursor,
                "initial_value": INITIAL_MODSTAMP,
                "convert": soql_datetime,
                # quarantine rows (no cursor) pass through; records were checked before this step
                "on_cursor_value_missing": "include",
            },
        },
    }


def salesforce_source(cfg: SourceSettings, connect: bool = True) -> DltSource:
    """The Salesforce source. With `connect=False` nothing is fetched (used to declare assets)."""
    objects: list[str] = cfg.get("objects", list, list(TABLES))
    unknown = [o for o in objects if o not in TABLES]
    if unknown:
        raise ValueError(f"sources.salesforce.objects: no contract for {unknown}; known: {list(TABLES)}")
    auth = make_auth(cfg) if connect else None
    specs: Mapping[str, TableSpec] = (
        describe_fields(cfg, auth, objects)
        if connect and auth is not None and cfg.get("describe_fields", bool, True)
        else {o: TABLES[o] for o in objects}
    )
    endpoint = "queryAll" if cfg.get("include_deleted", bool, True) else "query"

    @dlt.source(name="salesforce", max_table_nesting=1)
    def salesforce() -> Any:
        resources = by_name(
            rest_api_resources(
                {
                    "client": {
                        "base_url": api_base(cfg, connect),
                        "auth": auth,
                        "session": auth.attach(http.session()) if auth is not None else http.session(),
                    },
                    "resources": [_resource(specs[o], endpoint) for o in objects],
                }
            )
        )
        return [contracts.attach(resources[specs[o].table], specs[o]) for o in objects]

    return salesforce()

"""`python -m api`: serve the Copilot API, mint a sandbox token, publish a serving snapshot.

python -m api serve [--host H] [--port P] [--workers N]
python -m api token --user edward.morgan@copilot.sandbox      # sandbox only: asks the local issuer
python -m api publish                                         # snapshot of the warehouse, by hand
"""

from __future__ import annotations

import argparse
import sys

import httpx

from core.config import ConfigError


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from api.settings import api_settings

    settings = api_settings()
    host = args.host or settings.host
    port = args.port or settings.port
    print(f"Copilot API on http://{host}:{port} (OpenAPI: /openapi.json, docs: /docs)", flush=True)
    uvicorn.run(
        "api.app:default_app",
        factory=True,
        host=host,
        port=port,
        workers=args.workers,
        log_level="warning",
        access_log=False,  # request lines may carry identifiers; tokens never appear in them
    )
    return 0


def _token(args: argparse.Namespace) -> int:
    from api.settings import auth_settings

    auth = auth_settings()
    discovery = httpx.get(f"{auth.issuer.rstrip('/')}/.well-known/openid-configuration", timeout=10)
    discovery.raise_for_status()
    endpoint = discovery.json().get("token_endpoint")
    if not endpoint:
        print("the issuer mints no tokens here: sign in with your identity provider instead", file=sys.stderr)
        return 2
    resp = httpx.post(
        endpoint, data={"user": args.user, "audience": auth.audience, "expires_in": str(args.expires_in)}, timeout=10
    )
    if resp.status_code != 200:
        print(f"no token for {args.user}: {resp.json().get('error_description', resp.text)}", file=sys.stderr)
        return 1
    print(resp.json()["access_token"])
    return 0


def _publish(_: argparse.Namespace) -> int:
    from api.snapshot import publish
    from core import warehouse

    with warehouse.connect(warehouse.warehouse_path(), read_only=True) as con:
        published = publish(con)
    print(f"published {published.path} (as of {published.as_of_date}, {published.accounts} accounts)")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the API (loopback unless api.host says otherwise)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int, default=1)
    token = sub.add_parser("token", help="a bearer token for a sandbox user, from the sandbox's OIDC issuer")
    token.add_argument("--user", required=True, help="the user's e-mail")
    token.add_argument("--expires-in", type=int, default=3600)
    sub.add_parser("publish", help="publish a serving snapshot of the warehouse now")
    args = parser.parse_args(argv)
    try:
        return {"serve": _serve, "token": _token, "publish": _publish}[args.command](args)
    except ConfigError as exc:
        print(f"configuration: {exc}", file=sys.stderr)
        return 2
    except httpx.HTTPError as exc:
        print(f"the issuer could not be reached: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

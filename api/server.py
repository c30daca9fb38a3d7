"""casepilot-serve: run the API with uvicorn on settings.host:settings.port (CASEPILOT_HOST, CASEPILOT_PORT).

    casepilot-serve                      serve (the embedded vector store is opened by this process only)
    casepilot-serve --port 8080          override the port (or --host)
    casepilot-serve create-key --name N  create an API key in CASEPILOT_API_KEYS_FILE and print it once
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import uvicorn

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# uvicorn's 5 s default closes keep-alive connections that a busy client is about to reuse: the request it sent
# meanwhile meets a reset (seen as ReadErrors under the 50-client load benchmark). 75 s is nginx's default.
KEEP_ALIVE_S = 75


def server_config(app, settings, host: str | None = None, port: int | None = None,
                  log_level: str = "info") -> uvicorn.Config:
    """How casepilot-serve runs uvicorn (tests start a real server with this very configuration).

    - Proxy headers: X-Forwarded-For/-Proto are believed only from ``settings.forwarded_allow_ips`` (uvicorn
      trusts loopback by default, so anyone reaching the port through a local proxy, or on the host, could pick
      a fresh guest identity per request, or burn someone else's quota by naming their address).
    - Slow headers: a client must send its request line and headers within ``settings.header_timeout_s``
      (api.slow_headers); uvicorn has no such limit of its own.
    """
    import uvicorn

    from api.slow_headers import with_header_timeout

    trusted = [ip for ip in settings.forwarded_allow_ips if ip.strip()]
    # access_log=False: uvicorn's access log prints query strings (search text); api.observe logs routes instead.
    return uvicorn.Config(app, host=host or settings.host, port=port or settings.port, log_level=log_level,
                          access_log=False, timeout_graceful_shutdown=5, timeout_keep_alive=KEEP_ALIVE_S,
                          proxy_headers=bool(trusted), forwarded_allow_ips=trusted or None,
                          http=with_header_timeout(settings.header_timeout_s))


def serve(argv: list[str]) -> int:
    import uvicorn

    from api.main import create_app
    from rag.settings import get_settings

    settings = get_settings()
    parser = argparse.ArgumentParser(prog="casepilot-serve", description="Run the CasePilot HTTP API")
    parser.add_argument("--host", default=settings.host)
    parser.add_argument("--port", type=int, default=settings.port)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format=LOG_FORMAT)
    app = create_app(settings)
    uvicorn.Server(server_config(app, settings, args.host, args.port, args.log_level)).run()
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "create-key":
        from api.access import main as keys_main

        return keys_main(argv[1:])
    return serve(argv)


if __name__ == "__main__":
    sys.exit(main())

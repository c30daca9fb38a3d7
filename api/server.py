"""casepilot-serve: run the API with uvicorn on settings.host:settings.port (CASEPILOT_HOST, CASEPILOT_PORT).

    casepilot-serve                      serve (the embedded vector store is opened by this process only)
    casepilot-serve --port 8080          override the port (or --host)
    casepilot-serve create-key --name N  create an API key in CASEPILOT_API_KEYS_FILE and print it once
"""

from __future__ import annotations

import argparse
import logging
import sys

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# uvicorn's 5 s default closes keep-alive connections that a busy client is about to reuse: the request it sent
# meanwhile meets a reset (seen as ReadErrors under the 50-client load benchmark). 75 s is nginx's default.
KEEP_ALIVE_S = 75


def serve(argv: list[str]) -> int:
    import uvicorn

    from rag.settings import get_settings

    from api.main import create_app

    settings = get_settings()
    parser = argparse.ArgumentParser(prog="casepilot-serve", description="Run the CasePilot HTTP API")
    parser.add_argument("--host", default=settings.host)
    parser.add_argument("--port", type=int, default=settings.port)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format=LOG_FORMAT)
    app = create_app(settings)
    # access_log=False: uvicorn's access log prints query strings (search text); api.observe logs routes instead.
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, access_log=False,
                timeout_graceful_shutdown=5, timeout_keep_alive=KEEP_ALIVE_S)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "create-key":
        from api.access import main as keys_main

        return keys_main(argv[1:])
    return serve(argv)


if __name__ == "__main__":
    sys.exit(main())

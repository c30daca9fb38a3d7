"""casepilot-ask "question": answer one question from the command line (JSON with --json)."""

from __future__ import annotations

import argparse
import sys

from rag.app import CasePilot
from rag.service import QuestionError, citation_text
from rag.settings import get_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="casepilot-ask", description=__doc__)
    parser.add_argument("question")
    parser.add_argument("--json", action="store_true", help="print the whole answer as JSON")
    parser.add_argument("--llm", action="store_true", help="use the configured OpenAI-compatible endpoint")
    args = parser.parse_args(argv)
    casepilot = CasePilot.open(get_settings())
    try:
        answer = casepilot.services().query.ask(args.question, generator="llm" if args.llm else "extractive")
    except QuestionError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    finally:
        casepilot.close()
    if args.json:
        print(answer.model_dump_json(indent=2))
        return 0
    print(answer.answer)
    for citation in answer.citations:
        print(citation_text(citation))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`python -m schema` writes the SDL to schema/schema.graphql (tests/test_sdl.py fails when it differs)."""

from __future__ import annotations

from pathlib import Path

from schema import build_schema
from server.settings import Settings

SDL_PATH = Path(__file__).resolve().parent / "schema.graphql"


def sdl() -> str:
    # Development settings: the schema's types do not depend on them (only validation rules do).
    return build_schema(Settings(env="development")).as_str() + "\n"


if __name__ == "__main__":
    SDL_PATH.write_text(sdl())
    print(f"wrote {SDL_PATH}")

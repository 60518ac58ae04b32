# One image for the API, the worker and the migrate job (compose.yaml picks the command).
# The build context is what .dockerignore leaves: no .venv, .git, caches or .env.
FROM python:3.11-slim AS base
# The installer is pinned like the dependencies (uv.lock): the same build tomorrow as today.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=/opt/venv \
    PATH=/opt/venv/bin:$PATH
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY server ./server
COPY schema ./schema
COPY tenants ./tenants
COPY workers ./workers
COPY admin ./admin
RUN uv sync --frozen --no-dev
RUN useradd --system --uid 10001 kaohe
USER kaohe
EXPOSE 8000
CMD ["kaohe", "serve", "--host", "0.0.0.0", "--port", "8000"]

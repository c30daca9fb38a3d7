FROM python:3.11-slim
WORKDIR /app
ENV PIP_NO_CACHE_DIR=1 HF_HUB_OFFLINE=1
# CPU-only torch first, so the project's pin does not pull a CUDA build.
RUN pip install torch==2.13.0
COPY pyproject.toml README.md ./
COPY rag rag
COPY ingest ingest
COPY api api
COPY eval eval
COPY corpora corpora
RUN pip install .
EXPOSE 8000
CMD ["casepilot-serve"]

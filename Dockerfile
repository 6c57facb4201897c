# The worker image: slim, non-root, configured entirely from the environment.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY streams ./streams
COPY schemas ./schemas
RUN pip install --no-cache-dir --prefix=/install ".[rocksdb]"

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 thresholds
COPY --from=build /install /usr/local
USER thresholds
WORKDIR /home/thresholds
ENV PYTHONUNBUFFERED=1 \
    THRESHOLDS_DATA_DIR=/home/thresholds/data
# /health, /ready, /metrics, /accounts (THRESHOLDS_WEB_PORT)
EXPOSE 6066
ENTRYPOINT ["thresholds"]
CMD ["worker"]

# CrateBot: the chat bot, its job runner and the download server in one process
# (or, with CRATEBOT_BROKER_URL, the front-ends or `cratebot worker`: docker-compose.yml).
#   docker build -t cratebot .
#   docker run -v cratebot-data:/data -e CRATEBOT_TELEGRAM_TOKEN=... -e CRATEBOT_SECRET=... \
#              -p 8080:8080 cratebot
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    CRATEBOT_HOME=/data \
    CRATEBOT_HTTP_HOST=0.0.0.0 \
    CRATEBOT_HTTP_PORT=8080

RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg libsndfile1 libportaudio2 \
    && rm -rf /var/lib/apt/lists/*

# CPU-only torch before demucs, or pip pulls the CUDA build (gigabytes); the GPU worker
# of docker-compose.yml builds with TORCH_INDEX_URL=https://download.pytorch.org/whl/cu126.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
RUN pip install torch==2.13.0 --index-url "$TORCH_INDEX_URL" \
    && pip install numpy

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY core ./core
COPY storage ./storage
COPY realtime ./realtime
RUN pip install .

RUN useradd --create-home --uid 1000 cratebot && mkdir -p /data && chown cratebot /data
USER cratebot
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,os; urllib.request.urlopen(f'http://127.0.0.1:{os.environ[\"CRATEBOT_HTTP_PORT\"]}/health', timeout=4)"
ENTRYPOINT ["cratebot"]
CMD ["serve"]

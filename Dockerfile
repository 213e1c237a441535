# The bot, the portal and the one-shot config/bootstrap jobs share this image.
# Their entrypoints are the same modules `make run` and the tests use.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DATA_DIR=/data

WORKDIR /app
COPY requirements.txt .
# The app runs as uid/gid 10001 (Synapse's container runs as the same ids, so it reads
# what `config` renders). docker-compose.yml mounts a named volume on each folder under
# /data; an empty volume takes the owner and mode (0700) of the folder it is mounted on.
RUN pip install --no-cache-dir -r requirements.txt \
    && groupadd --gid 10001 app \
    && useradd --no-log-init --create-home --uid 10001 --gid 10001 app \
    && mkdir -p /data/synapse /data/bot /data/portal \
        /data/secrets/synapse /data/secrets/admin /data/secrets/bot /data/secrets/portal \
    && chown -R 10001:10001 /data \
    && chmod -R 0700 /data

# The code belongs to root: the app can read it, not change it.
COPY . .
USER 10001:10001
CMD ["python", "-m", "bot"]

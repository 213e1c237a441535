# The bot, the portal and the one-shot config/bootstrap jobs share this image.
# Their entrypoints are the same modules `make run` and the tests use.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DATA_DIR=/data

WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt \
    && useradd --create-home --uid 10001 app \
    && mkdir -p /data \
    && chown app:app /data

COPY --chown=app:app . .
USER 10001:10001
VOLUME ["/data"]
CMD ["python", "-m", "bot"]

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /srv/fervlab
COPY pyproject.toml README.md ./
COPY app ./app
COPY workers ./workers
RUN pip install torch==2.14.1 torchvision==0.29.1 \
 && pip install . \
 && pip install --no-deps 'fer==25.10.3' 'facenet-pytorch==2.6.0'
COPY alembic.ini ./
COPY alembic ./alembic
COPY templates ./templates
COPY static ./static
# app/core paths resolve templates/static/alembic relative to the source tree.
RUN pip install --no-deps -e .
EXPOSE 8000
CMD ["fervlab", "serve", "--host", "0.0.0.0", "--port", "8000", "--no-embedded-worker"]

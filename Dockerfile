# LayerLab service. CPU build of torch by default; for CUDA pass a CUDA build, e.g.
#   docker compose build --build-arg TORCH_SPEC="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128"
FROM python:3.11-slim
ARG TORCH_SPEC="torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu"
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 LAYERLAB_DATA_DIR=/data LAYERLAB_FRONTEND_DIR=/app/frontend
WORKDIR /app
RUN pip install $TORCH_SPEC
COPY pyproject.toml README.md ./
COPY backend backend
RUN pip install .
COPY frontend frontend
VOLUME /data
EXPOSE 8000
CMD ["layerlab", "serve", "--host", "0.0.0.0", "--port", "8000"]

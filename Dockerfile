# tidegate server image: the [postgres] extra installed, a non-root user, the data folder on /data.
#
#   docker build -t tidegate .
#   docker run -p 8787:8787 -v tidegate-data:/data tidegate
#
# Any Debian-based image with Python >= 3.11 and its venv module can be the base (PYTHON_IMAGE).
ARG PYTHON_IMAGE=python:3.12-slim-bookworm

# Build the wheel in a throw-away stage: the runtime image holds no sources and no build tools.
FROM ${PYTHON_IMAGE} AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN python3 -m venv /opt/build \
    && /opt/build/bin/pip install --no-cache-dir --disable-pip-version-check build \
    && /opt/build/bin/python -m build --wheel --outdir /dist .

FROM ${PYTHON_IMAGE}
# The dependencies at the versions the test suite ran with (requirements.lock used as constraints). pip stays
# in the venv: the server installs the `requirements` of deployed functions with it.
COPY requirements.lock /tmp/requirements.lock
COPY --from=build /dist/ /tmp/dist/
RUN python3 -m venv /opt/tidegate \
    && /opt/tidegate/bin/pip install --no-cache-dir --disable-pip-version-check \
        --constraint /tmp/requirements.lock "$(ls /tmp/dist/tidegate-*.whl)[postgres]" \
    && rm -rf /tmp/dist /tmp/requirements.lock \
    && useradd --system --user-group --uid 10001 --home-dir /data --no-create-home --shell /usr/sbin/nologin tidegate \
    && mkdir /data && chown tidegate:tidegate /data && chmod 0700 /data

ENV PATH=/opt/tidegate/bin:$PATH \
    PYTHONUNBUFFERED=1
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8787
# /healthz answers 200 once the server accepts requests (the image has no curl; Python's urllib does it).
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8787/healthz', timeout=4)"]
ENTRYPOINT ["tidegate"]
CMD ["server", "--host", "0.0.0.0", "--port", "8787", "--data", "/data"]

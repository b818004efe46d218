# The two commands a newcomer needs: `make up` (set up and run everything), `make test`.
.PHONY: up down status test unit lint format contracts bench test-scale

up:            ## set up (venv, Kafka jars, PostgreSQL), start infrastructure and the 4 services
	bash deploy/setup.sh
	.venv/bin/frontdesk topics >/dev/null
	bash deploy/services.sh start

down:          ## stop the services and the infrastructure (data is kept)
	-bash deploy/services.sh stop
	bash deploy/infra.sh down

status:
	-bash deploy/services.sh status
	bash deploy/infra.sh status

test:          ## the whole suite against real Kafka and PostgreSQL
	bash deploy/test.sh

unit:          ## the fast layer only (no infrastructure)
	.venv/bin/pytest -m unit -q

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy contracts runtime services sandboxes frontends tests bench deploy

format:
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

contracts:     ## re-export JSON Schemas and EVENTS.md after changing an event model
	.venv/bin/frontdesk contracts export

bench:        ## ratios against raw baselines, same run (installs the bench-only group: the peer)
	bash deploy/setup.sh
	.venv/bin/python -c 'import eventsourcing' 2>/dev/null || .venv/bin/pip install -q -e '.[bench]'
	.venv/bin/python -m bench.run

test-scale:    ## 3 brokers, 2 replicas per service, load and kill -9 (minutes; not part of make test)
	.venv/bin/python -m tests.scale.run

# Shortcuts; `python3 run.py ...` works where make is not installed.
.PHONY: demo test bench schemas
demo:
	python3 run.py demo
test:
	python3 run.py test
bench:
	python3 run.py bench
schemas:
	.venv/bin/python -m schemas.export

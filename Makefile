# The two commands of the README, plus helpers. Each target bootstraps what
# it needs (Debian packages, cargo-pgrx 0.18.0) and is safe to run again.
.PHONY: demo test bench stop install regress
demo:      ## build, install, start a throwaway PostgreSQL 15, load the demo warehouse, print the report
	scripts/demo
test:      ## all tests: Rust unit/property, #[pg_test], SQL regression (pg_regress)
	scripts/test
bench:     ## benchmark against hand-written SQL (1 000 000 accounts)
	bench/run
stop:      ## stop the demo cluster
	scripts/cluster stop demo
install:   ## build (release) and install into the system PostgreSQL 15
	scripts/install
regress:   ## only the SQL regression tests (extension must be installed)
	scripts/regress

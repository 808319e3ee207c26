# The two commands of the README, plus helpers. Each target bootstraps what
# it needs (Debian packages, cargo-pgrx 0.18.0) and is safe to run again.
.PHONY: demo test check bench stop install package sql regress
demo:      ## build, install, start a throwaway PostgreSQL 15, load the demo warehouse, print the report
	scripts/demo
test:      ## all tests: Rust unit/property, #[pg_test], release and package, SQL regression and upgrades, reference, integration
	scripts/test
check:     ## the inner loop (minutes): core unit/property tests, a release build installed into 15, the SQL regression schedule but profile_accuracy
	cargo test -q -p health_core
	scripts/install
	scripts/regress $$(bash -c '. scripts/lib.sh && schedule_but_accuracy')
bench:     ## benchmark against hand-written SQL (1 000 000 accounts)
	bench/run
stop:      ## stop the demo cluster
	scripts/cluster stop demo
install:   ## build (release) and install into the system PostgreSQL 15 (atomically: build first, then rename into place)
	scripts/install
package:   ## build the Debian package build/postgresql-15-customer-health_VERSION-1_ARCH.deb
	scripts/package --deb
sql:       ## write the current version's install script, as pgrx generates it from the code, to sql/ (review the diff)
	scripts/package --sql
regress:   ## only the SQL regression tests (extension must be installed)
	scripts/regress

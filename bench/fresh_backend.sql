-- Reconnects (a fresh backend, so its memory starts clean), applies the
-- benchmark's settings again, and tells bench/peak-memory which process to
-- watch. Included by bench/validate.sql before each memory measurement.
\c
SET max_parallel_workers_per_gather = 0;
SET work_mem = '2GB';
SET jit = off;
SELECT pg_backend_pid() AS backend_pid \gset
\setenv BENCH_BACKEND_PID :backend_pid

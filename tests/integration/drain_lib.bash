# Helpers of the drain tests (fault_drain.sh, fault_shrink.sh); sourced after lib.bash.

# The time stamp ("2026-01-01 12:00:00.123") of the first log line of FILE matching PATTERN;
# the nodes share one clock, so stamps of different logs compare as strings.
log_time() { grep -m 1 "$2" "$1" | grep -oE '^\[[0-9: .-]+\]' | tr -d '[]'; }

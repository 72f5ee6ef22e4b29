"""The trigger side: the trigger agent, rulebook, pattern state, message correlation, early
events, schedules and limits. Never imports `streams.executions`."""

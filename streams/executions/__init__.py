"""The execution side: the command processor, catch-up, workflow gates, timers, the state store
and the follow-up policy. Never imports `streams.triggers`."""
